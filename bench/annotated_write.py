#!/usr/bin/env python3
"""Write speed of the annotated HDF5 output (issue: 1 GB at no less than half of `cp` speed).

Generates bench/data/big_1g.h5 (h5py, eight 4096×8192 float32 datasets = 1 GiB, seeded), then
times, on a warm cache:
  cp FILE COPY
  spectral-audit FILE --svd topk:1 --quiet --json /dev/null            (audit alone)
  spectral-audit FILE --svd topk:1 --quiet --json /dev/null --output O (audit + annotated copy)
The write cost is the difference of the last two. Usage: python3 bench/annotated_write.py [BINARY]"""
import os
import subprocess
import sys
import time

import h5py
import numpy as np

binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/spectral-audit"
os.makedirs("bench/data", exist_ok=True)
src = "bench/data/big_1g.h5"
if not os.path.exists(src):
    rng = np.random.default_rng(7)
    with h5py.File(src, "w") as f:
        for i in range(8):
            f.create_dataset(f"layer{i}/weight", data=rng.standard_normal((4096, 8192), dtype=np.float32))
size = os.path.getsize(src)
subprocess.run(["cat", src], stdout=subprocess.DEVNULL, check=True)  # warm the cache


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def best(cmd, setup=None, n=3):
    times = []
    for _ in range(n):
        if setup:
            setup()
        times.append(timed(cmd))
    return min(times)


copy = "bench/data/copy.h5"
out = "bench/data/annotated.h5"
rm = lambda p: (lambda: os.path.exists(p) and os.remove(p))
t_cp = best(["cp", src, copy], rm(copy))
t_audit = best([binary, src, "--svd", "topk:1", "--quiet", "--json", "/dev/null"])
t_both = best([binary, src, "--svd", "topk:1", "--quiet", "--json", "/dev/null", "--output", out], rm(out))
t_write = max(t_both - t_audit, 1e-9)
print(f"file: {size / 2**30:.2f} GiB")
print(f"cp:                    {t_cp:.2f} s  ({size / t_cp / 2**20:.0f} MiB/s)")
print(f"audit alone:           {t_audit:.2f} s")
print(f"audit + --output:      {t_both:.2f} s")
print(f"annotated write:       {t_write:.2f} s  ({size / t_write / 2**20:.0f} MiB/s) = {t_cp / t_write:.2f}× cp speed")
for p in (copy, out):
    if os.path.exists(p):
        os.remove(p)
