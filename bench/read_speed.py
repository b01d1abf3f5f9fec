#!/usr/bin/env python3
"""Read-speed benchmark data for the npz / safetensors readers.

Writes ~500 MB float32 checkpoints under bench/data/ (git-ignored): a stored (uncompressed)
`.npz`, a `.safetensors` and an HDF5 `.h5` (h5py), each 25 tensors of 5,000,000 float32. Then
times, on a warm page cache, `cat FILE > /dev/null` (the yardstick: loading every tensor must
run at no less than half that speed) and `spectral-audit inspect --load-all FILE` (every tensor
loaded once as Float32), with its peak memory (target: < largest tensor × 3 + 100 MB).

Usage: python3 bench/read_speed.py [BINARY]   (default .build/release/spectral-audit)
"""
import os
import subprocess
import sys
import time

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
TENSORS, ELEMENTS = 25, 5_000_000  # 25 × 20 MB = 500 MB


def tensors():
    rng = np.random.default_rng(0)
    return {f"layer{k:02d}.weight": rng.standard_normal(ELEMENTS, dtype=np.float32).reshape(2500, 2000)
            for k in range(TENSORS)}


def ensure_files():
    os.makedirs(DATA, exist_ok=True)
    npz = os.path.join(DATA, "bench_f32_500mb.npz")
    st = os.path.join(DATA, "bench_f32_500mb.safetensors")
    h5 = os.path.join(DATA, "bench_f32_500mb.h5")
    if not all(os.path.exists(p) for p in (npz, st, h5)):
        import h5py
        t = tensors()
        np.savez(npz, **t)
        save_file(t, st)
        with h5py.File(h5, "w") as f:
            for k, v in t.items():
                f.create_dataset(k, data=v)
    return [npz, st, h5]


def time_cat(path, repeats=5):
    subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)  # warm the cache
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def time_tool(binary, path, repeats=3):
    best, peak = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", binary, "inspect", "--load-all", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        best = min(best, time.perf_counter() - t0)
        for line in r.stderr.splitlines():
            if "Maximum resident set size" in line:
                peak = max(peak, int(line.split()[-1]) * 1024)
    return best, peak


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".build", "release", "spectral-audit")
    largest = ELEMENTS * 4
    print(f"| file | size | cat | spectral-audit inspect --load-all | ratio (ours / cat speed) | peak RSS (limit {3 * largest / 1e6 + 100:.0f} MB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in ensure_files():
        size = os.path.getsize(path)
        cat = time_cat(path)
        ours, peak = time_tool(binary, path)
        print(f"| {os.path.basename(path)} | {size / 1e6:.0f} MB | {cat:.3f} s ({size / cat / 1e6:.0f} MB/s) | "
              f"{ours:.3f} s ({size / ours / 1e6:.0f} MB/s) | {cat / ours:.2f} | {peak / 1e6:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
