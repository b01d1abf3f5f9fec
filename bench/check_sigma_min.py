#!/usr/bin/env python3
"""sigma_min of the layers an audit report computed with `gram_qr_inverse`, against numpy's float64
SVD (`np.linalg.svd`, values only, its own LAPACK) of the same tensor read from the safetensors
folder: relative difference and the dgesdd-class bound 10·p·ε·κ.
Usage: check_sigma_min.py REPORT.json MODEL_FOLDER [--limit N]"""
import argparse, json
import numpy as np
from safetensors import safe_open

ap = argparse.ArgumentParser()
ap.add_argument("report"); ap.add_argument("folder"); ap.add_argument("--limit", type=int, default=3)
o = ap.parse_args()
r = json.load(open(o.report))
idx = json.load(open(f"{o.folder}/model.safetensors.index.json"))["weight_map"]
done = 0
for l in r["layers"]:
    if l.get("method") != "gram_qr_inverse" or done >= o.limit:
        continue
    name = l["name"] + ".weight"
    with safe_open(f"{o.folder}/{idx[name]}", "pt") as f:
        a = f.get_tensor(name).double().numpy()
    s = np.linalg.svd(a, compute_uv=False)
    p, kappa = min(a.shape), s[0] / s[-1]
    ours = l["metrics"]["sigma_min"]
    rel = abs(ours - s[-1]) / s[-1]
    print(f"{l['name']} {a.shape}: ours {ours!r} numpy {s[-1]!r} rel {rel:.2e} (bound 10·p·ε·κ = {10 * p * 2.22e-16 * kappa:.1e}); "
          f"sigma_max rel {abs(l['metrics']['spectral_norm'] - s[0]) / s[0]:.1e}", flush=True)
    done += 1
