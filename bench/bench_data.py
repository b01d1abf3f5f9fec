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

With --peer (`make bench-data`, called by `make bench`): the data audit against PyTorch torch.func
(bench/torch_func_peer.py) on three models in one run, CPU, one thread, float64 — this MLP with its
first --peer-probes probes, the fixture CNN (fixtures/models/cnn.h5, 8 probes of probe_cnn_256) and
a torchcrepe-tiny-sized CNN (bench/make_crepe_tiny.py, 8 probes) — checking every shared number to
1e-6 and appending a dated section to bench/RESULTS.md (exit 1 when a number disagrees).

Usage: python3 bench/bench_data.py [--run] [--probes N] [--peer [--peer-probes N] [--repeats N] [--no-crepe]]
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


def peer(probes, repeats, crepe):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import time
    import torch_func_peer as tfp
    binary = os.path.join(ROOT, ".build", "release", "spectral-audit")
    x, y = np.load(os.path.join(DATA, "probe784.npy")), np.load(os.path.join(DATA, "labels784.npy"))
    np.save(os.path.join(DATA, f"probe784_{probes}.npy"), x[:probes])
    np.save(os.path.join(DATA, f"labels784_{probes}.npy"), y[:probes])
    fx = os.path.join(ROOT, "fixtures", "models")
    np.save(os.path.join(DATA, "probe_cnn8.npy"), np.load(os.path.join(fx, "probe_cnn_256.npy"))[:8])
    np.save(os.path.join(DATA, "labels_cnn8.npy"), np.load(os.path.join(fx, "probe_cnn_256_labels.npy"))[:8])
    cases = [("MLP 784-512-512-10", os.path.join(DATA, "mlp784.npz"), os.path.join(DATA, f"probe784_{probes}.npy"),
              os.path.join(DATA, f"labels784_{probes}.npy"), repeats),
             ("CNN (fixture)", os.path.join(fx, "cnn.h5"), os.path.join(DATA, "probe_cnn8.npy"),
              os.path.join(DATA, "labels_cnn8.npy"), repeats)]
    if crepe:
        cdir = os.path.join(DATA, "crepe_tiny")
        if not os.path.exists(os.path.join(cdir, "crepe_tiny.h5")):
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_crepe_tiny.py"), cdir], check=True)
        # One run each: the torch.func side alone takes minutes here.
        cases.append(("torchcrepe-tiny-sized CNN", os.path.join(cdir, "crepe_tiny.h5"), os.path.join(cdir, "probe8.npy"),
                      os.path.join(cdir, "labels8.npy"), 1))
    out = [f"## Data mode vs torch.func (`make bench-data`, bench/bench_data.py --peer), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
           "Same models and probes, CPU, one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)), float64. "
           "spectral-audit is timed as a whole process (file reading and the weights-only audit included); "
           "torch.func only for the four numbers it computes. CPU = user + sys.", ""]
    worst = 0.0
    for name, model, p, l, rep in cases:
        lines, w = tfp.compare(name, model, p, l, binary, repeats=rep)
        print("\n".join(lines), flush=True)
        out += lines + [""]
        worst = max(worst, w)
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as fh:
        fh.write("\n" + "\n".join(out))
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--probes", type=int, default=1000)
    ap.add_argument("--peer", action="store_true")
    ap.add_argument("--peer-probes", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-crepe", action="store_true")
    a = ap.parse_args()
    make(a.probes)
    if a.run:
        run()
    if a.peer:
        sys.exit(0 if peer(a.peer_probes, a.repeats, not a.no_crepe) <= 1e-6 else 1)
