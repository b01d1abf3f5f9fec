#!/usr/bin/env python3
"""Benchmark input for the data-dependent audit (SPEC.md §5): a 784-512-512-10 ReLU MLP and
1,000 probes.

Writes (under bench/data/, git-ignored):
  mlp784.npz      PyTorch names and layout: fc1.weight [512, 784], fc1.bias, fc2.weight [512, 512],
                  fc2.bias, fc3.weight [10, 512], fc3.bias; He-normal weights, small biases, float32,
                  seeded (numpy default_rng(SEED)).
  probe784.npy    1000 x 784 float32, uniform [0, 1) (pixel-like), same generator.
  labels784.npy   1000 int64 class labels in [0, 10), same generator.

The structure is inferred from the names (fc1 -> fc2 -> fc3, ReLU assumed between), as the CLI does
for an npz without a manifest. With --run, times the CLI on them (needs a release build with the
data-audit flags, `swift build -c release`):

  /usr/bin/time -v .build/release/spectral-audit bench/data/mlp784.npz \
      --probe bench/data/probe784.npy --labels bench/data/labels784.npy --json /dev/null

and prints the wall time and peak resident memory.

Usage: python3 bench/bench_data.py [--run] [--probes N]
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SEED = 784512
SIZES = [784, 512, 512, 10]


def make(probes):
    os.makedirs(DATA, exist_ok=True)
    rng = np.random.default_rng(SEED)
    tensors = {}
    for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
        tensors[f"fc{i}.weight"] = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        tensors[f"fc{i}.bias"] = (0.01 * rng.standard_normal(fan_out)).astype(np.float32)
    np.savez(os.path.join(DATA, "mlp784.npz"), **tensors)
    x = rng.random((probes, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=probes).astype(np.int64)
    np.save(os.path.join(DATA, "probe784.npy"), x)
    np.save(os.path.join(DATA, "labels784.npy"), y)
    params = sum(int(np.prod(t.shape)) for t in tensors.values())
    print(f"wrote {DATA}/mlp784.npz (P = {params}), probe784.npy ({probes} x 784), labels784.npy")


def run():
    binary = os.path.join(ROOT, ".build", "release", "spectral-audit")
    cmd = ["/usr/bin/time", "-v", binary, os.path.join(DATA, "mlp784.npz"),
           "--probe", os.path.join(DATA, "probe784.npy"), "--labels", os.path.join(DATA, "labels784.npy"),
           "--json", "/dev/null"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    print(" ".join(cmd[2:]))
    print(f"exit {p.returncode}; wall {wall.group(1) if wall else '?'}; "
          f"peak RSS {int(rss.group(1)) / 1024:.0f} MB" if rss else "")
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr[-2000:])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--probes", type=int, default=1000)
    a = ap.parse_args()
    make(a.probes)
    if a.run:
        run()
