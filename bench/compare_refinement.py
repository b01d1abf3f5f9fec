#!/usr/bin/env python3
"""Before/after of the `gram_qr_inverse` refinement on one audit report pair (same input):
for every layer, each metric's relative change against the error bound that applies to it.

Usage: compare_refinement.py BEFORE.json AFTER.json
Normwise metrics (spectral_norm, frobenius, nuclear, stable_rank, entropies, ranks of the bulk,
typical_gain, alpha fits, bounds) must agree to 1e-12 relative (lead's rule for issue 20);
sigma_min and condition may move by up to the documented error of the value they rest on:
before (dgesdd) c·p·ε·κ relative, after (refinement) p·ε·(κ + 1/2)·(σ_j/σ_min = 1) — both of
order p·ε·κ, so the bound printed is 10·p·ε·κ. The per-value comparison of singular_values uses
|Δσ_i| ≤ 10·p·ε·σ_1 (the dgesdd bound) + the refinement's e_i·σ_i.
Exit status 1 on a violation."""
import json
import sys

EPS = 2.220446049250313e-16
SMALL = {"sigma_min", "condition"}


def main():
    before, after = (json.load(open(p)) for p in sys.argv[1:3])
    bad = 0
    for lb, la in zip(before["layers"], after["layers"]):
        assert lb["name"] == la["name"]
        mb, ma = lb.get("metrics") or {}, la.get("metrics") or {}
        sv_b, sv_a = lb.get("singular_values") or [], la.get("singular_values") or []
        if not sv_b or lb.get("method") == la.get("method"):
            continue
        p = len(sv_b)
        kappa = sv_b[0] / sv_b[-1] if sv_b[-1] > 0 else float("inf")
        print(f"{la['name']} {lb['shape']}: {lb['method']} -> {la['method']}, p = {p}, kappa = {kappa:.3e}")
        worst = 0.0
        for k in sorted(set(mb) | set(ma)):
            vb, va = mb.get(k), ma.get(k)
            if not isinstance(vb, (int, float)) or isinstance(vb, bool) or vb is None or va is None:
                if vb != va:
                    print(f"   {k}: {vb} -> {va}")
                continue
            rel = abs(va - vb) / max(abs(vb), abs(va), 1e-300)
            bound = 10 * p * EPS * kappa if k in SMALL else 1e-12
            ok = rel <= bound
            bad += not ok
            if k in SMALL or not ok:
                print(f"   {k}: {vb!r} -> {va!r}  rel {rel:.2e}  bound {bound:.1e} {'ok' if ok else 'VIOLATION'}")
            else:
                worst = max(worst, rel)
        print(f"   largest change of the normwise metrics: {worst:.2e} (bound 1e-12)")
        worst_sv, at = 0.0, -1
        for i, (b, a) in enumerate(zip(sv_b, sv_a)):
            ratio = b / sv_b[-1] if sv_b[-1] > 0 else float("inf")
            bound = 10 * p * EPS * sv_b[0] + b * p * EPS * (kappa * ratio + ratio * ratio / 2)
            if abs(a - b) > bound:
                bad += 1
                print(f"   sigma[{i}] {b!r} -> {a!r} exceeds {bound:.2e}")
            r = abs(a - b) / b if b else 0.0
            if r > worst_sv:
                worst_sv, at = r, i
        print(f"   singular values: largest relative change {worst_sv:.2e} at index {at} of {p}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
