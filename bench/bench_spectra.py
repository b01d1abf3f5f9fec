#!/usr/bin/env python3
"""Benchmark of spectral-audit's singular-value paths against scipy/numpy (`make bench`).

Generates seeded matrices (512x512, 2048x2048, 768x3072; float32, N(0,1)/sqrt(n) entries, as
typical weights are stored) as raw little-endian files under bench/data/ (git-ignored), times
scipy.linalg.svdvals and numpy.linalg.svd(compute_uv=False) on them (best of N wall times, in
the file's dtype and in float64), runs the release-built `spectral-bench` on the same files
(default Gram path, gesdd, sigma_max only, top-10), and prints a Markdown table with ratios plus
the GFLOP/s of the Gram path. Everything single-threaded: OPENBLAS_NUM_THREADS=1 is forced
before numpy loads (it must be set before the BLAS library initialises).

Usage: python3 bench/bench_spectra.py [--build] [--repeat N] [--sizes 512,2048,768x3072]
"""
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.linalg  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
BIN = os.path.join(ROOT, ".build", "release", "spectral-bench")
SEED = 424242


def parse_sizes(text):
    out = []
    for tok in text.split(","):
        if "x" in tok:
            m, n = tok.split("x")
            out.append((int(m), int(n)))
        else:
            out.append((int(tok), int(tok)))
    return out


def ensure_matrix(m, n):
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"gauss_{m}x{n}_f32.bin")
    if not os.path.exists(path):
        rng = np.random.default_rng([SEED, m, n])
        a = (rng.standard_normal((m, n)) / np.sqrt(n)).astype("<f4")
        a.tofile(path)
    return path


def best_time(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fmt(x):
    return "exact (dense)" if x is None else f"{x:.1e}"


def cpu_info():
    info = {"model": platform.processor() or "unknown", "flags": set(), "mhz": None}
    try:
        txt = open("/proc/cpuinfo").read()
        m = re.search(r"model name\s*:\s*(.*)", txt)
        if m:
            info["model"] = m.group(1).strip()
        m = re.search(r"flags\s*:\s*(.*)", txt)
        if m:
            info["flags"] = set(m.group(1).split())
        m = re.search(r"cpu MHz\s*:\s*([\d.]+)", txt)
        if m:
            info["mhz"] = float(m.group(1))
    except OSError:
        pass
    return info


def peak_gflops(info):
    """Double-precision peak of ONE core: vector width x 2 (FMA) x FMA ports x clock.
    AVX-512: 8 doubles; AVX2: 4. Two FMA ports assumed (server Xeon); clock = /proc/cpuinfo MHz
    (under KVM this is the TSC/base clock; turbo can be higher)."""
    f = info["flags"]
    lanes = 8 if "avx512f" in f else (4 if "avx2" in f else 2)
    ports = 2
    ghz = (info["mhz"] or 2300.0) / 1000
    return lanes * 2 * ports * ghz, lanes, ports, ghz


def run_swift(path, m, n, repeat, k):
    cmd = [BIN, path, str(m), str(n), "f32", "--repeat", str(repeat), "--paths", "gram,gesdd,norm,topk", "--k", str(k)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = {}
    for line in res.stdout.splitlines():
        o = json.loads(line)
        rows[o["path"]] = o
    return rows, res.stderr.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="store_true", help="swift build -c release --product spectral-bench first")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sizes", default="512,2048,768x3072")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    if args.build or not os.path.exists(BIN):
        subprocess.run(["swift", "build", "-c", "release", "--product", "spectral-bench"], cwd=ROOT, check=True)

    info = cpu_info()
    peak, lanes, ports, ghz = peak_gflops(info)
    # practical dgemm reference through numpy's own OpenBLAS
    g = np.random.default_rng(1).standard_normal((2048, 2048))
    t_mm, _ = best_time(lambda: g @ g, 2)
    numpy_dgemm = 2 * 2048 ** 3 / t_mm / 1e9

    lines = []
    notes = []
    for (m, n) in parse_sizes(args.sizes):
        path = ensure_matrix(m, n)
        a32 = np.fromfile(path, dtype="<f4").reshape(m, n)
        a64 = a32.astype(np.float64)
        t_sp32, s_ref32 = best_time(lambda: scipy.linalg.svdvals(a32), args.repeat)
        t_sp64, s_ref = best_time(lambda: scipy.linalg.svdvals(a64), args.repeat)
        t_np32, _ = best_time(lambda: np.linalg.svd(a32, compute_uv=False), args.repeat)
        t_np64, _ = best_time(lambda: np.linalg.svd(a64, compute_uv=False), args.repeat)
        sw, stderr = run_swift(path, m, n, args.repeat, args.k)
        notes.append(f"{m}x{n}: {stderr}")
        gr, gs, nm, tk = sw["gram"], sw["gesdd"], sw["norm"], sw["topk"]
        s_gram_err = abs(gr["sigma1"] - s_ref[0]) / s_ref[0]
        smin_err = abs(gr["sigma_last"] - s_ref[-1]) / s_ref[-1]
        smin32_err = abs(float(s_ref32[-1]) - s_ref[-1]) / s_ref[-1]
        lines.append({
            "shape": f"{m}×{n}",
            "scipy32": t_sp32, "scipy64": t_sp64, "np32": t_np32, "np64": t_np64,
            "gram": gr["seconds"], "gram_method": gr["method"], "gflops": gr["gflops"],
            "gesdd": gs["seconds"], "norm": nm["seconds"], "norm_it": nm.get("iterations") or nm["method"],
            "topk_method": tk["method"],
            "norm_tol": nm.get("tolerance"), "norm_err": nm.get("rel_err_vs_full"),
            "topk": tk["seconds"], "topk_it": tk.get("iterations") or tk["method"], "topk_err": tk.get("max_rel_err_vs_full"),
            "smin_err": smin_err, "smin32_err": smin32_err, "s1_err": s_gram_err,
            "gram_vs_gesdd": gs.get("max_abs_diff_vs_gram_over_sigma1"),
        })

    print(f"CPU: {info['model']}; one-core FP64 peak ≈ {lanes} lanes × 2 (FMA) × {ports} ports × {ghz:.2f} GHz "
          f"= {peak:.1f} GFLOP/s; numpy dgemm 2048² reaches {numpy_dgemm:.1f} GFLOP/s (1 thread).")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; OPENBLAS_NUM_THREADS=1; best of {args.repeat}.")
    for note in notes:
        print(f"- {note}")
    print()
    print("| shape | scipy svdvals f32 | scipy svdvals f64 | numpy svd f64 | **ours: Gram+syevd** (method) | ours: gesdd "
          "| ours: σ_max (Lanczos iters, or dense) | ours: top-10 (iters) | scipy f32 / ours | scipy f64 / ours | full / σ_max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in lines:
        print(f"| {r['shape']} | {r['scipy32']:.3f} s | {r['scipy64']:.3f} s | {r['np64']:.3f} s "
              f"| **{r['gram']:.3f} s** ({r['gram_method']}) | {r['gesdd']:.3f} s "
              f"| {r['norm']:.4f} s ({r['norm_it']}) | {r['topk']:.4f} s ({r['topk_it']}) "
              f"| {r['scipy32'] / r['gram']:.2f}× | {r['scipy64'] / r['gram']:.2f}× "
              f"| {r['gram'] / r['norm']:.1f}× (gesdd: {r['gesdd'] / r['norm']:.1f}×) |")
    print()
    print("| shape | Gram path GFLOP/s (flops = max(m,n)·q² + 4q³/3) | % of one-core peak | σ_1 rel. err vs scipy f64 "
          "| σ_min rel. err: ours vs scipy f64 | σ_min rel. err: scipy f32 vs f64 | max |Gram−gesdd|/σ_1 "
          "| σ_max path: stated tol / actual err | top-10 max err/σ_1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in lines:
        print(f"| {r['shape']} | {r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f} % | {r['s1_err']:.1e} "
              f"| {r['smin_err']:.1e} | {r['smin32_err']:.1e} | {r['gram_vs_gesdd']:.1e} "
              f"| {fmt(r['norm_tol'])} / {fmt(r['norm_err'])} | {fmt(r['topk_err'])} |")


if __name__ == "__main__":
    sys.exit(main())
