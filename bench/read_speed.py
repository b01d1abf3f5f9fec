#!/usr/bin/env python3
"""Read-speed benchmark data for the npz / safetensors readers.

Writes ~500 MB float32 checkpoints under bench/data/ (git-ignored): a stored (uncompressed)
`.npz`, a `.safetensors` and an HDF5 `.h5` (h5py), each 25 tensors of 5,000,000 float32. Then
times, on a warm page cache, `cat FILE > /dev/null` (the yardstick: loading every tensor must
run at no less than half that speed) and `spectral-audit inspect --load-all FILE` (every tensor
loaded once as Float32), alternated 10 times (medians compared), with its peak memory (target:
< largest tensor × 3 + 100 MB).

Usage: python3 bench/read_speed.py [BINARY]   (default .build/release/spectral-audit)
"""
import os
import statistics
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


def run_once(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def time_pair(binary, path, repeats=10):
    """`cat FILE` (output to /dev/null, as `cat FILE > /dev/null`) and `inspect --load-all FILE`,
    alternated `repeats` times on a warm cache so that both see the same machine load. Returns
    the median times and the tool's peak RSS (one extra run under /usr/bin/time -v)."""
    cat_argv = ["cat", path]
    ours_argv = [binary, "inspect", "--load-all", path]
    run_once(cat_argv)  # warm the cache
    run_once(ours_argv)
    cats, ours = [], []
    for _ in range(repeats):
        cats.append(run_once(cat_argv))
        ours.append(run_once(ours_argv))
    r = subprocess.run(["/usr/bin/time", "-v"] + ours_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, check=True)
    peak = max(int(l.split()[-1]) * 1024 for l in r.stderr.splitlines() if "Maximum resident set size" in l)
    return statistics.median(cats), min(cats), statistics.median(ours), min(ours), peak


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".build", "release", "spectral-audit")
    largest = ELEMENTS * 4
    print("Median of 10 alternated runs (best in brackets); ratio = median cat time / median ours.")
    print()
    print(f"| file | size | cat | spectral-audit inspect --load-all | ratio (ours / cat speed) | peak RSS (limit {3 * largest / 1e6 + 100:.0f} MB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in ensure_files():
        size = os.path.getsize(path)
        cat, cat_best, ours, ours_best, peak = time_pair(binary, path)
        print(f"| {os.path.basename(path)} | {size / 1e6:.0f} MB | {cat:.3f} s [{cat_best:.3f}] ({size / cat / 1e6:.0f} MB/s) | "
              f"{ours:.3f} s [{ours_best:.3f}] ({size / ours / 1e6:.0f} MB/s) | {cat / ours:.2f} | {peak / 1e6:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
