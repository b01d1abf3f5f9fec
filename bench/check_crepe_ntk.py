#!/usr/bin/env python3
"""Reference spectrum of the crepe-tiny NTK K_S/N (issue 17): the full parameter Jacobian of each
probe by torch.func.jacrev (float64, the model rebuilt by torch_func_peer.build), stored float32
(8 × 360 × 486,552 = 5.6 GB), K = J Jᵀ / N accumulated in float64 over column blocks (~8 TFlop:
tens of minutes on one core), numpy eigvalsh. Prints λ_min, λ_max, the multiplicity of the bottom
and the output layer's bound λ_min((HHᵀ + 1)/N) that the audit's bracket uses.

Usage: python3 bench/check_crepe_ntk.py [DIR]   (DIR from bench/make_crepe_tiny.py, default /tmp/crepe_tiny)
"""
import os
import sys

import numpy as np
import torch
from torch.func import jacrev

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_func_peer as t  # noqa: E402

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/crepe_tiny"
layers, weights = t.keras_layers(os.path.join(d, "crepe_tiny.h5"))
p, f = t.build(layers, weights)
names = list(p)
X = torch.tensor(np.load(os.path.join(d, "probe8.npy")))
N, C = len(X), 360
P = sum(v.numel() for v in p.values())
J = np.zeros((N * C, P), dtype=np.float32)
for i in range(N):
    jac = jacrev(f)(p, X[i])
    J[i * C:(i + 1) * C] = torch.cat([jac[n].reshape(C, -1) for n in names], 1).numpy()
K = np.zeros((N * C, N * C))
for a in range(0, P, 20000):
    B = J[:, a:a + 20000].astype(np.float64)
    K += B @ B.T
K /= N
ev = np.linalg.eigvalsh(K)
head = [l for l in layers if l["config"]["name"] != "classifier"]
pf, ff = t.build(head, weights)
H = torch.stack([ff(pf, x) for x in X]).numpy()
g = np.linalg.eigvalsh((H @ H.T + 1) / N)
print(f"lambda_max {ev[-1]!r} lambda_min {ev[0]!r} bottom multiplicity {(ev < ev[0] * (1 + 1e-4)).sum()} "
      f"output-layer bound {g[0]!r}")
