#!/usr/bin/env python3
"""Issue 20: where the CPU of one weights-only audit goes, by stage, from `perf record -g`.

Runs `perf record -F <freq> -g` on one spectral-audit process (one BLAS thread) and attributes each
sample to the innermost recognised frame: LAPACK stages (dsyrk Gram, dsytrd, dsterf, other dsyevd,
dgesdd fallback), SHA-256 (OpenSSL), read/decode, the Swift passes, metrics, JSON, graph building,
dynamic loading, page faults; prints the shares, the CPU share of each thread, and (--timeline) what
each thread does per time bin. Cycles under perf are dilated by the sampling; shares are what it
measures, and on a shared machine they are the comparable figures (wall time is not).

    OPENBLAS_NUM_THREADS=1 python3 bench/speed_profile.py BIN FILE [--jobs 2] [--freq 20000] [--timeline 10]

OpenBLAS has no frame pointers: a kernel's caller is often unknown, so packing routines
(dgemm_*copy) and dlaisnan_ land in "other" (the Gram's packing is about 4 % of cycles here).
"""
import argparse
import collections
import os
import re
import subprocess
import tempfile

RULES = [
    ("sha256 (OpenSSL)", r"sha256|EVP_Digest|FileDigest"),
    ("dgesdd fallback", r"dgesdd|dbdsqr|dgebrd|dlabrd|dlasq|dbdsdc"),
    ("dsterf", r"dsterf"),
    ("dsytrd (dsymv/dsyr2k/dlatrd)", r"dsytrd|dsytd2|dlatrd|dsyr2k|dsymv|dsytrd_sy2sb|dsytrd_sb2st|dsb2st"),
    ("dsyevd other (dlansy, dlascl)", r"dsyevd|dlansy|dlascl"),
    ("Gram dsyrk / tiles", r"dsyrk|syrkAccumulate|gramSmallerSide|TiledGram|addColumns"),
    ("read/decode (pread, f32->f64)", r"ElementDecoding|pread|_copy_to_iter|loadFloat64|filemap|vfs_read|ksys_pread"),
    ("Swift passes (scan, copies)", r"streamedGram|NonFinite|finiteMaxAbs|OperatorBuilder|Matrix|prescale|memset|memmove|memcpy"),
    ("metrics", r"SpectrumMetrics|HeavyTail"),
    ("report/JSON", r"JSON|Encod|Report|Writer"),
    ("graph/open/parse", r"ModelFile|Safetensors|NetworkGraph|buildGraph|inferred|RawTensorSource"),
    ("dynamic loader / start-up", r"_dl_|dl_main|do_lookup|swift_conformsToProtocol|gotoblas_|blas_memory|openblas_|__libc_start_main"),
    ("page faults / mm", r"page_fault|do_anonymous|clear_page|munmap|mmap|brk"),
]


def category(frames):
    for fr in frames:
        parts = fr.split(" ", 1)
        sym = parts[1] if len(parts) > 1 else fr
        name, _, dso = sym.rpartition(" (")
        for label, rx in RULES:
            if re.search(rx, name or sym) or ("libcrypto" in dso and label.startswith("sha")) or ("ld-linux" in dso and label.startswith("dynamic")):
                return label
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("file")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--freq", type=int, default=20000)
    ap.add_argument("--timeline", type=float, help="also print per-thread activity in bins of this many ms")
    args = ap.parse_args()
    data = tempfile.mktemp(suffix=".perf")
    out_json = tempfile.mktemp(suffix=".json")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run(["perf", "record", "-q", "-F", str(args.freq), "-g", "-o", data, args.binary, args.file, "--json", out_json,
                    "--no-timestamps", "--quiet", "--force", "--jobs", str(args.jobs)], env=env, check=True, capture_output=True)
    text = subprocess.run(["perf", "script", "-i", data, "-F", "tid,time,period,ip,sym,dso"], capture_output=True, text=True).stdout
    os.unlink(data)
    if os.path.exists(out_json):
        os.unlink(out_json)
    totals, threads = collections.Counter(), collections.Counter()
    bins = collections.defaultdict(collections.Counter)
    head, frames, t0 = None, [], None
    samples = []
    for line in text.splitlines() + [""]:
        if not line.strip():
            if head:
                samples.append((head, category(frames)))
            head, frames = None, []
        elif not line.startswith("\t"):
            p = line.split()
            head = (p[0], float(p[1].rstrip(":")), int(p[2]))
        else:
            frames.append(line.strip())
    for (tid, t, period), cat in samples:
        t0 = t if t0 is None else t0
        totals[cat] += period
        threads[tid] += period
        if args.timeline:
            bins[int((t - t0) * 1000 / args.timeline)][(tid, cat)] += period
    total = sum(totals.values())
    print(f"{args.binary} {os.path.basename(args.file)} --jobs {args.jobs}: {total / 1e6:.0f} M cycles sampled")
    for k, v in totals.most_common():
        print(f"  {k:40s} {100 * v / total:5.1f} %")
    print("  threads (share of samples): " + ", ".join(f"{tid} {100 * v / total:.1f} %" for tid, v in threads.most_common()))
    for b in sorted(bins):
        per = collections.defaultdict(collections.Counter)
        for (tid, cat), v in bins[b].items():
            per[tid][cat] += v
        print(f"  {b * args.timeline:6.0f} ms: " + " | ".join(
            f"{tid} {c.most_common(1)[0][0].split(' ')[0]}" for tid, c in sorted(per.items())))


if __name__ == "__main__":
    main()
