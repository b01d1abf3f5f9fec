#!/usr/bin/env python3
"""Read-speed benchmark data for the npz / safetensors readers.

Writes ~500 MB float32 checkpoints under bench/data/ (git-ignored): a stored (uncompressed)
`.npz` and a `.safetensors`, each 25 tensors of 5,000,000 float32. Then times
`cat FILE > /dev/null` on a warm page cache, the yardstick: loading every tensor must run at
no less than half that speed. Prints the command the CLI will run for the reader side:

    spectral-audit inspect --load-all FILE

(no timed unit tests: the Swift side is measured by that command once the CLI exists).
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
    if not (os.path.exists(npz) and os.path.exists(st)):
        t = tensors()
        np.savez(npz, **t)
        save_file(t, st)
    return [npz, st]


def time_cat(path, repeats=5):
    subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)  # warm the cache
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    for path in ensure_files():
        size = os.path.getsize(path)
        best = time_cat(path)
        mbs = size / best / 1e6
        print(f"{os.path.basename(path)}: {size / 1e6:.0f} MB, cat best of 5: {best:.3f} s = {mbs:.0f} MB/s; "
              f"target for loading all tensors: >= {mbs / 2:.0f} MB/s")
        print(f"  reader side: spectral-audit inspect --load-all '{path}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
