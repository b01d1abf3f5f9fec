#!/usr/bin/env python3
"""How far the transformer SLQ entropy's Gauss quadrature is from converged (mspeed section of
bench/RESULTS.md). For the given MiniLM probes of bench/tokenprobe_minilm.sh, runs the same SLQ as
spectral-audit (8 Rademacher vectors, 15 Lanczos steps on JᵀJ, one 8-row block product per step,
torch.func float64, 1 thread) and prints, for k = 2…15 steps, the entropy from the k-step Gauss
rules and from the Gauss–Radau rules with a prescribed node at 0. For f(λ) = λ ln λ the even
derivatives are positive and the odd ones (from the third) negative on (0, ∞), so per vector the
Gauss rule underestimates and the Radau(0) rule overestimates zᵀ f(JᵀJ) z; the trace is exact in
both; hence H ∈ [H_radau, H_gauss] for the same start vectors (the quadrature part of the error).
Usage: python3 bench/slq_quadrature_bracket.py MODEL_FOLDER tokens.npy mask.npy PROBE_INDEX...
"""
import sys, numpy as np, scipy.linalg, torch, transformers
torch.set_num_threads(1)
M, TOKENS, MASK = sys.argv[1:4]
model = transformers.AutoModel.from_pretrained(M, attn_implementation="eager", dtype=torch.float64).eval()
tokens = torch.from_numpy(np.load(TOKENS)); mask = torch.from_numpy(np.load(MASK))
wte = model.get_input_embeddings().weight
params = {k: v.detach() for k, v in model.named_parameters()}
with torch.no_grad(): embeds = wte[tokens].detach()
import os; n, d = tokens.shape[1], embeds.shape[-1]; D = n * d; s = 8; steps = int(os.environ.get("SLQ_STEPS", "15"))  # SLQ_STEPS: more steps to see the decay
def h(x, m): return torch.func.functional_call(model, params, (), {"inputs_embeds": x, "attention_mask": m}).last_hidden_state.reshape(-1)
for i in [int(a) for a in sys.argv[4:]]:
    e, m = embeds[i:i+1], mask[i:i+1]
    E, Mm = e.expand(s, n, d).contiguous(), m.expand(s, n).contiguous()
    _, vjp_b = torch.func.vjp(lambda x: h(x, Mm), E)
    def jtj(V):
        jv = torch.func.jvp(lambda x: h(x, Mm), (E,), (torch.from_numpy(V.copy()).reshape(E.shape),))[1]
        return vjp_b(jv)[0].reshape(s, D).numpy().copy()
    rng = np.random.default_rng(i)
    Z = rng.choice([-1.0, 1.0], size=(s, D)); Q = [Z / np.sqrt(D)]; alpha, beta = [], []
    for j in range(steps):
        W = jtj(Q[-1]); a = np.einsum("ij,ij->i", W, Q[-1]); alpha.append(a); W -= a[:, None] * Q[-1]
        if j > 0: W -= beta[-1][:, None] * Q[-2]
        for _ in range(2):
            for qk in Q: W -= np.einsum("ij,ij->i", W, qk)[:, None] * qk
        b = np.linalg.norm(W, axis=1); beta.append(b); Q.append(W / b[:, None])
    f = lambda th: np.where(th > 0, th * np.log(np.where(th > 0, th, 1)), 0)
    def est(k, radau):
        T, S = [], []
        for t in range(s):
            al = np.array([a[t] for a in alpha[:k]]); be = np.array([b[t] for b in beta[:k]])
            if radau:  # Gauss–Radau, prescribed node 0: extend T_k by α̃ with (T_k − 0 I) δ = β_k² e_k
                Tk = np.diag(al) + np.diag(be[:k-1], 1) + np.diag(be[:k-1], -1)
                rhs = np.zeros(k); rhs[-1] = be[k-1] ** 2
                delta = np.linalg.solve(Tk, rhs)
                al2 = np.append(al, delta[-1]); be2 = be[:k]
                th, vec = scipy.linalg.eigh_tridiagonal(al2, be2)
            else:
                th, vec = scipy.linalg.eigh_tridiagonal(al, be[:k-1])
            w = D * vec[0, :] ** 2; th = np.maximum(th, 0)
            T.append(float(w @ th)); S.append(float(w @ f(th)))
        T, S = np.mean(T), np.mean(S)
        return np.log(T) - S / T
    print(f"probe {i}: k, H_gauss, H_radau0 (H ∈ [H_radau, H_gauss])")
    for k in range(2, steps + 1):
        print(f"  {k:2d} {est(k, False):.6f} {est(k, True):.6f} width {est(k, False) - est(k, True):.2e}")
