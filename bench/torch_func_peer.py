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

Times are the second of two runs (the first warms up torch.func's tracing and the page cache).

Usage (from the repository root, after `swift build -c release --product spectral-audit`):
    python3 bench/torch_func_peer.py MODEL.h5 PROBES.npy LABELS.npy [--binary PATH] [--out bench/RESULTS.md]
The Keras model is rebuilt in torch from its config and weights (Conv1D/Conv2D same|valid, Dense,
BatchNormalization, ReLU, MaxPooling valid, Flatten); other layers are refused. Never a unit test.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap, grad, jvp

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


def lanczos_extremes(matvec, dim, iters, seed=0):
    rng = np.random.default_rng(seed)
    q = torch.tensor(rng.normal(size=dim))
    q /= q.norm()
    Q, alpha, beta = [q], [], []
    for j in range(iters):
        w = matvec(Q[-1])
        a = torch.dot(w, Q[-1])
        alpha.append(a.item())
        w = w - a * Q[-1] - (beta[-1] * Q[-2] if beta else 0)
        B = torch.stack(Q)
        for _ in range(2):
            w = w - B.T @ (B @ w)
        b = w.norm().item()
        if b < 1e-12:
            break
        beta.append(b)
        Q.append(w / b)
    T = np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)
    ev = np.linalg.eigvalsh(T)
    return ev[-1], ev[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("probes")
    ap.add_argument("labels")
    ap.add_argument("--binary", default=".build/release/spectral-audit")
    ap.add_argument("--out")
    ap.add_argument("--hessian-iters", type=int, default=30)
    args = ap.parse_args()

    layers, weights = keras_layers(args.model)
    params, f = build(layers, weights)
    X = torch.tensor(np.load(args.probes).astype(np.float64))
    y = torch.tensor(np.load(args.labels).astype(np.int64))
    N = X.shape[0]

    def torch_side():
        rows = {}
        t0 = time.perf_counter()
        J = vmap(jacrev(lambda x: f(params, x)))(X).reshape(N, -1, X[0].numel())
        gJ = torch.linalg.matrix_norm(J, ord=2).max().item()
        rows["per-sample input Jacobians (vmap(jacrev))"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        names = list(params)
        Jt = vmap(jacrev(lambda p, x: f(p, x)), in_dims=(None, 0))(params, X)
        C = Jt[names[0]].shape[1]
        JS = torch.cat([Jt[k].reshape(N, C, -1) for k in names], dim=2)  # N, C, P
        gtheta = max(torch.linalg.eigvalsh(JS[i] @ JS[i].T)[-1].item() for i in range(N)) ** 0.5
        K = torch.einsum("acp,bdp->acbd", JS, JS).reshape(N * C, N * C) / N
        gK = torch.linalg.eigvalsh(K)[-1].item()
        rows["parameter Jacobians + NTK (vmap(jacrev) wrt θ, contraction)"] = time.perf_counter() - t0

        t0 = time.perf_counter()
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
        hmax, hmin = lanczos_extremes(lambda v: jvp(g, (flat,), (v,))[1], flat.numel(), args.hessian_iters)
        rows[f"loss Hessian extremes (HVP + Lanczos, {args.hessian_iters} steps)"] = time.perf_counter() - t0
        return rows, gJ, gtheta, gK, hmax, C, flat

    torch_side()  # warm-up: first calls of vmap/jacrev trace and allocate
    rows, gJ, gtheta, gK, hmax, C, flat = torch_side()
    torch_total = sum(rows.values())

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run([args.binary, args.model, "--probe", args.probes, "--json", "-", "--quiet"], capture_output=True, env=env)
    t0 = time.perf_counter()
    r = subprocess.run([args.binary, args.model, "--probe", args.probes, "--labels", args.labels, "--json", "-", "--quiet",
                        "--no-timestamps", "--jobs", "1"], capture_output=True, env=env)
    ours = time.perf_counter() - t0
    rep = json.loads(r.stdout)["data"]
    lines = [f"model {args.model}, {N} probes, P = {flat.numel()}, C = {C}; CPU, one thread, float64", "",
             "| step | torch.func (s) |", "| --- | --- |"]
    lines += [f"| {k} | {v:.3f} |" for k, v in rows.items()]
    lines += [f"| torch.func total | {torch_total:.3f} |", f"| spectral-audit, whole data audit (incl. attribution, entropies) | {ours:.3f} |", "",
              "| number | torch.func | spectral-audit | rel. diff |", "| --- | --- | --- | --- |"]
    for k, a, b in [("g_J", gJ, rep["g_J"]), ("g_theta", gtheta, rep["g_theta"]), ("g_K", gK, rep["g_K"]),
                    ("hessian_lambda_max", hmax, rep.get("hessian_lambda_max"))]:
        lines.append(f"| {k} | {a:.12g} | {b:.12g} | {abs(a - b) / max(abs(a), 1e-300):.2e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
