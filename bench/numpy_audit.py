#!/usr/bin/env python3
"""The peer a user would write: per 2-D weight tensor (conv kernels reshaped to c_out x rest),
numpy.linalg.svd(compute_uv=False) in float64 and the SPEC section 2 metrics (tol, rank,
spectral norm, sigma_min, condition, Frobenius, nuclear, stable rank, spectral entropy, normalized
entropy, effective rank, Roy-Vetterli rank, typical gain, entropy bound). Reads safetensors
(single file or model.safetensors.index.json; F64/F32/F16/BF16) with numpy alone and Keras .h5
with h5py. Prints one JSON object per tensor to --out (or nothing) and a summary line.

    python3 bench/numpy_audit.py MODEL [--out PATH]
"""
import argparse
import json
import math
import os
import sys

import numpy as np


SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": None,
                      "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8}


def safetensors_file(path):
    """(name, array) of one safetensors file, read with numpy alone (memory-mapped). The
    `safetensors` package's numpy backend cannot return bfloat16; here BF16 is widened exactly to
    float32 (the upper 16 bits of an IEEE single)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int(np.frombuffer(raw[:8].tobytes(), "<u8")[0])
    header = json.loads(raw[8:8 + n].tobytes())
    base = 8 + n
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        chunk = raw[base + a:base + b]
        if e["dtype"] == "BF16":
            t = (chunk.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            t = chunk.view(np.dtype(SAFETENSORS_DTYPES[e["dtype"]]).newbyteorder("<"))
        yield name, t.reshape(e["shape"])


def tensors(path):
    if path.endswith(".index.json"):
        folder = os.path.dirname(path)
        with open(path) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        for shard in shards:
            yield from safetensors_file(os.path.join(folder, shard))
    elif path.endswith(".safetensors"):
        yield from safetensors_file(path)
    else:
        import h5py
        with h5py.File(path, "r") as f:
            found = []
            f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
            for name in found:
                yield name, f[name][()]


def metrics(a):
    m, n = a.shape
    s = np.linalg.svd(a.astype(np.float64), compute_uv=False)
    s1 = float(s[0]) if s.size else 0.0
    tol = s1 * max(m, n) * np.finfo(np.float64).eps
    r = int((s > tol).sum())
    out = {"shape": [m, n], "spectral_norm": s1, "tol": tol, "rank": r}
    fro = float(np.sqrt((s ** 2).sum()))
    out.update(frobenius=fro, nuclear=float(s.sum()), stable_rank=(fro / s1) ** 2 if s1 > 0 else 0.0,
               typical_gain=fro / math.sqrt(n))
    if r > 0:
        sr = s[:r]
        p = sr ** 2 / (sr ** 2).sum()
        p = p[p > 0]
        h = float(-(p * np.log(p)).sum())
        q = sr / sr.sum()
        q = q[q > 0]
        out.update(sigma_min=float(sr[-1]), condition=s1 / float(sr[-1]), spectral_entropy=h,
                   normalized_entropy=h / math.log(r) if r > 1 else 0.0, effective_rank=math.exp(h),
                   erank_rv=math.exp(float(-(q * np.log(q)).sum())),
                   entropy_bound=s1 * math.sqrt(math.exp(h) / n))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--out")
    args = ap.parse_args()
    rows = []
    for name, arr in tensors(args.model):
        if arr.ndim < 2 or not np.issubdtype(np.asarray(arr).dtype, np.floating) and arr.dtype.name != "bfloat16":
            continue
        a = np.asarray(arr, dtype=np.float32)
        if a.ndim > 2:  # Keras HWIO conv kernel -> c_out x (k_h k_w c_in)
            a = a.reshape(-1, a.shape[-1]).T
        rows.append({"name": name, **metrics(a)})
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f)
    print(f"numpy_audit: {len(rows)} matrices")


if __name__ == "__main__":
    sys.exit(main())
