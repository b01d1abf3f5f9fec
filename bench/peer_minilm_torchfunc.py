#!/usr/bin/env python3
"""Like-for-like torch.func peer of spectral-audit's transformer data mode (issue 18 item 4).

    python3 bench/peer_minilm_torchfunc.py FOLDER r.json tokens.npy mask.npy [--no-slq]

Does with torch.func `jvp` / `vjp` (float64, eval, eager attention, 1 torch thread) the work our
report states it did on the same token probes, by the same algorithms, and checks the numbers:

- per probe σ_max(∂h/∂x): Golub–Kahan–Lanczos with full reorthogonalisation on JVP/VJP products,
  as many steps as `transformer.data.lanczos_iterations` states for the probe (the residual is
  printed); compared with `transformer.data.jacobian_norms` (relative 1e-6);
- per probe ‖J_θ‖₂ = sqrt(λ_max(J_θ J_θᵀ)): symmetric Lanczos (full reorthogonalisation) on
  parameter VJP-then-JVP products, stopped at error estimate min(r, r²/gap) ≤ 1e-10 λ (ours);
  θ = every parameter but the word embeddings (and the pooler, which h does not use); compared with
  `transformer.data.parameter_jacobian_norms` (1e-6);
- the NTK `g_K = λ_max(J_S J_Sᵀ / N)` over all probes at once, symmetric Lanczos, tolerance 1e-6
  (the default `--lanczos-tolerance`); compared with `data.g_K` (1e-6: both are converged to 1e-6);
- `ntk_lambda_min`: the report's bracket [0, hi] says K_S is singular because the output is a
  LayerNorm; here a null vector is built independently (scipy `null_space` of [1 | x̂], x̂ from a
  forward hook on the last LayerNorm) and its Rayleigh quotient under torch's product must be
  ≤ 1e-6 λ_max (one product);
- unless `--no-slq`: per probe SLQ on JᵀJ with the report's budget (8 Rademacher vectors × 15
  steps, batched as one 8-row product like ours), giving the spectral entropy; compared with
  `data.per_sample.jacobian_entropy` within the sum of both stated 2-SE error bars (different
  random vectors, so only statistical agreement is expected).

Prints per phase CPU (process time) and wall, and the products spent. Needs torch, transformers,
scipy, numpy.
"""
import json
import sys
import time

import numpy as np
import scipy.linalg
import torch
import transformers


def ritz_error(theta, res, i):
    """min(r, r²/gap) as Lanczos.symmetricExtremes estimates it."""
    r = res[i]
    others = [abs(theta[i] - theta[j]) - res[j] for j in range(len(theta)) if j != i]
    gap = min(others) if others else np.inf
    return min(r, r * r / gap) if gap > 0 else r


def sym_lanczos_max(apply, n, tol, rng, max_it=300):
    """λ_max by symmetric Lanczos with full reorthogonalisation (two-pass Gram–Schmidt)."""
    q = rng.standard_normal(n)
    q /= np.linalg.norm(q)
    Q, alpha, beta = [], [], []
    for j in range(max_it):
        Q.append(q)
        w = apply(q)
        a = float(w @ q)
        alpha.append(a)
        B = np.array(Q)
        for _ in range(2):
            w -= B.T @ (B @ w)
        b = float(np.linalg.norm(w))
        theta, vec = scipy.linalg.eigh_tridiagonal(np.array(alpha), np.array(beta))
        res = b * np.abs(vec[-1, :])
        if j >= 1 and ritz_error(theta, res, len(theta) - 1) <= tol * max(abs(theta[-1]), abs(theta[0])):
            return float(theta[-1]), j + 1
        beta.append(b)
        q = w / b
    return float(theta[-1]), max_it


def gkl_sigma_max(jvp, vjp, n_in, steps, rng):
    """σ_max by `steps` steps of Golub–Kahan–Lanczos with full reorthogonalisation (the count our
    report states for the probe); returns σ and its residual β_k |x_k| relative to σ."""
    p = rng.standard_normal(n_in)
    p /= np.linalg.norm(p)
    P, U, alphas, betas = [p], [], [], []
    u_prev, b_prev = None, 0.0
    for k in range(steps):
        u = jvp(P[-1])
        if u_prev is not None:
            u -= b_prev * u_prev
        if U:
            Um = np.array(U)
            for _ in range(2):
                u -= Um.T @ (Um @ u)
        a = float(np.linalg.norm(u))
        u /= a
        U.append(u)
        alphas.append(a)
        v = vjp(u) - a * P[-1]
        Pm = np.array(P)
        for _ in range(2):
            v -= Pm.T @ (Pm @ v)
        b = float(np.linalg.norm(v))
        B = np.diag(alphas) + np.diag(betas, 1) if betas else np.array([[a]])
        X, s, _ = np.linalg.svd(B)
        betas.append(b)
        P.append(v / b)
        u_prev, b_prev = u, b
    return float(s[0]), float(b * abs(X[-1, 0]) / s[0])


def slq_entropy(jtj_block, D, s, steps, rng):
    """SLQ entropy of J's spectrum: H = log T − S/T, T = tr JᵀJ, S = tr f(JᵀJ), f(λ) = λ log λ."""
    Z = rng.choice([-1.0, 1.0], size=(s, D))
    Q = [Z / np.sqrt(D)]
    alpha, beta = [], []
    for j in range(steps):
        W = jtj_block(Q[-1])
        a = np.einsum("ij,ij->i", W, Q[-1])
        alpha.append(a)
        W -= a[:, None] * Q[-1]
        if j > 0:
            W -= beta[-1][:, None] * Q[-2]
        for _ in range(2):
            for qk in Q:
                W -= np.einsum("ij,ij->i", W, qk)[:, None] * qk
        b = np.linalg.norm(W, axis=1)
        beta.append(b)
        Q.append(W / b[:, None])
    traces, fs = [], []
    for t in range(s):
        theta, vec = scipy.linalg.eigh_tridiagonal(np.array([a[t] for a in alpha]), np.array([b[t] for b in beta[:-1]]))
        w = D * vec[0, :] ** 2
        th = np.maximum(theta, 0)
        traces.append(float(w @ th))
        fs.append(float(w @ np.where(th > 0, th * np.log(np.where(th > 0, th, 1)), 0)))
    T, S = np.mean(traces), np.mean(fs)
    H = np.log(T) - S / T
    # 2-SE by the delta method on (T, S).
    C = np.cov(np.array([traces, fs])) / s
    g = np.array([1 / T + S / T ** 2, -1 / T])
    return float(H), float(2 * np.sqrt(max(g @ C @ g, 0)))


class Clock:
    def __init__(self):
        self.rows = []

    def phase(self, name, fn):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        self.rows.append((name, time.process_time() - c0, time.perf_counter() - w0))
        return out


def main(folder, report_path, tokens_path, mask_path, slq=True):
    torch.set_num_threads(1)
    report = json.load(open(report_path))
    rep, data = report["transformer"]["data"], report["data"]
    model = transformers.AutoModel.from_pretrained(folder, attn_implementation="eager", dtype=torch.float64).eval()
    tokens = torch.from_numpy(np.load(tokens_path))
    mask = torch.from_numpy(np.load(mask_path))
    N, n = tokens.shape
    wte = model.get_input_embeddings().weight
    with torch.no_grad():
        embeds = wte[tokens].detach()
    d = embeds.shape[-1]
    D = n * d
    params = {k: v.detach() for k, v in model.named_parameters() if v is not wte and not k.startswith("pooler.")}
    keys = list(params)

    def h(p, e, m):
        return torch.func.functional_call(model, p, (), {"inputs_embeds": e, "attention_mask": m}).last_hidden_state.reshape(-1)

    def flat(g):
        return torch.cat([g[k].reshape(-1) for k in keys])

    def unflat(v):
        out, o = {}, 0
        for k in keys:
            c = params[k].numel()
            out[k] = v[o:o + c].reshape(params[k].shape)
            o += c
        return out

    clock = Clock()
    ours_iters = rep["lanczos_iterations"]
    sig, sig_it, pn, pn_it, ent, ent_err = [], [], [], [], [], []
    for i in range(N):
        e, m = embeds[i:i + 1], mask[i:i + 1]
        rng = np.random.default_rng(i)

        def jvp_x(v, e=e, m=m):
            return torch.func.jvp(lambda x: h(params, x, m), (e,), (torch.from_numpy(v).reshape(e.shape),))[1].numpy().copy()

        _, vjp_x_fn = clock.phase("forward (input VJP tape)", lambda e=e, m=m: torch.func.vjp(lambda x: h(params, x, m), e))

        def vjp_x(u, f=vjp_x_fn):
            return f(torch.from_numpy(u))[0].reshape(-1).numpy().copy()

        s, res = clock.phase("σ_max(∂h/∂x)", lambda: gkl_sigma_max(jvp_x, vjp_x, D, ours_iters[i], rng))
        sig.append(s)
        sig_it.append(res)
        _, vjp_p_fn = clock.phase("forward (parameter VJP tape)", lambda e=e, m=m: torch.func.vjp(lambda p: h(p, e, m), params))

        def gram(u, f=vjp_p_fn, e=e, m=m):
            g = f(torch.from_numpy(u))[0]
            return torch.func.jvp(lambda p: h(p, e, m), (params,), (g,))[1].numpy().copy()

        lam, it = clock.phase("‖J_θ‖ (Lanczos on J_θ J_θᵀ)", lambda: sym_lanczos_max(gram, D, 1e-10, rng))
        pn.append(np.sqrt(max(lam, 0)))
        pn_it.append(it)
        if slq:
            s_count, steps = 8, 15
            E, M = e.expand(s_count, n, d).contiguous(), m.expand(s_count, n).contiguous()
            _, vjp_b = torch.func.vjp(lambda x: h(params, x, M), E)

            def jtj(V, E=E, M=M, f=vjp_b):
                jv = torch.func.jvp(lambda x: h(params, x, M), (E,), (torch.from_numpy(V.copy()).reshape(E.shape),))[1]
                return f(jv)[0].reshape(s_count, D).numpy().copy()

            H, err = clock.phase("SLQ entropy (8 × 15 block products)", lambda: slq_entropy(jtj, D, s_count, steps, rng))
            ent.append(H)
            ent_err.append(err)
    # NTK over all probes at once.
    inv = 1.0 / N
    _, vjp_S = clock.phase("forward (NTK tape, all probes)", lambda: torch.func.vjp(lambda p: h(p, embeds, mask), params))

    def ntk(v):
        g = vjp_S(torch.from_numpy(v))[0]
        return torch.func.jvp(lambda p: h(p, embeds, mask), (params,), (g,))[1].numpy() * inv

    gk, gk_it = clock.phase("NTK λ_max", lambda: sym_lanczos_max(ntk, N * D, 1e-6, np.random.default_rng(99)))
    # λ_min: an independent null vector of K_S from the last LayerNorm's input.
    ln = [mod for mod in model.modules() if isinstance(mod, torch.nn.LayerNorm)][-1]
    seen = {}
    hook = ln.register_forward_hook(lambda mod, inp, out: seen.__setitem__("z", inp[0].detach()))
    with torch.no_grad():
        model(inputs_embeds=embeds, attention_mask=mask)
    hook.remove()

    def null_quotient():
        z = seen["z"].reshape(-1, d).numpy()
        zc = z - z.mean(axis=1, keepdims=True)
        xh = zc / np.sqrt((zc ** 2).mean(axis=1, keepdims=True) + ln.eps)
        A = np.concatenate([np.ones((z.shape[0], 1)), xh], axis=1)  # R × (d+1)
        ns = scipy.linalg.null_space(A.T)
        if ns.shape[1] == 0:
            return None, 0  # R ≤ d + 1 rows: no structural null vector
        a = ns @ np.random.default_rng(7).standard_normal(ns.shape[1])
        v = (a[:, None] / ln.weight.detach().numpy()[None, :]).reshape(-1)
        return float(v @ ntk(v) / (v @ v)), ns.shape[1]

    rq, nullity = clock.phase("NTK null vector (1 product)", null_quotient)

    def rel(a, b):
        return abs(a - b) / abs(b)

    worst_s = max(rel(a, b) for a, b in zip(rep["jacobian_norms"], sig))
    worst_p = max(rel(a, b) for a, b in zip(rep["parameter_jacobian_norms"], pn))
    ok = worst_s <= 1e-6 and worst_p <= 1e-6 and rel(data["g_K"], gk) <= 1e-6 and (rq is None or rq <= 1e-6 * gk)
    print(f"σ_max(∂h/∂x): {N} probes, largest relative difference {worst_s:.2e}; {sum(ours_iters)} products (JVP+VJP "
          f"pairs, our per-probe counts), largest relative residual {max(sig_it):.1e}")
    print(f"‖J_θ‖₂: largest relative difference {worst_p:.2e}; products torch {sum(pn_it)}")
    print(f"g_K: torch {gk!r} ours {data['g_K']!r} (relative {rel(data['g_K'], gk):.2e}), {gk_it} products")
    if rq is not None:
        print(f"NTK null vector: Rayleigh quotient {rq:.3e} = {rq / gk:.2e} λ_max (null space dimension {nullity}); "
              f"ours: λ_min {data.get('ntk_lambda_min')!r}")
    if slq:
        ours_e, ours_err = data["per_sample"]["jacobian_entropy"], rep.get("jacobian_entropy_errors") or [0] * N
        z = [abs(a - b) / (ea + eb) for a, b, ea, eb in zip(ours_e, ent, ours_err, ent_err)]
        inside = sum(1 for v in z if v <= 1)
        print(f"entropy: {inside}/{N} probes agree within the sum of both 2-SE bars (largest |Δ|/(err₁+err₂) {max(z):.2f})")
    total_c = sum(r[1] for r in clock.rows)
    total_w = sum(r[2] for r in clock.rows)
    for name in dict.fromkeys(r[0] for r in clock.rows):
        c = sum(r[1] for r in clock.rows if r[0] == name)
        w = sum(r[2] for r in clock.rows if r[0] == name)
        print(f"  {name}: {c:.1f} s CPU, {w:.1f} s wall")
    print(f"torch.func work: {total_c:.1f} s CPU, {total_w:.1f} s wall (1 thread); agreement {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sys.exit(main(*args[:4], slq="--no-slq" not in sys.argv))
