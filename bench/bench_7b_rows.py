#!/usr/bin/env python3
"""CPU time, peak RSS and report changes of single Llama-7B-shaped rows (issue 20 / #18 item 4):
extracts block 0's q/k/v/o_proj, gate/up/down_proj and the embedding from the generated 7B folder
(bench/bench_transformers.py writes it to /tmp/spectral-audit-llm/llama7b) into one-tensor
safetensors files, audits each with every binary given (one BLAS thread, `--jobs` default), and
compares the reports of the first binary against each other one with bench/compare_refinement.py.

Usage: bench_7b_rows.py BIN_BEFORE [BIN_AFTER ...] [--rows q_proj gate_proj ...]
Extrapolation printed at the end: 32 × (q + k + v + o + gate + up + down) + 2 × embed (lm_head has
the embedding's shape), the norm rows and the transformer section not included.
Never part of `swift test`."""
import argparse, json, os, re, subprocess, sys
from pathlib import Path

D = Path("/tmp/spectral-audit-llm/llama7b")
OUT = Path("/tmp/spectral-audit-7b-rows")
ROWS = {"q_proj": "model.layers.0.self_attn.q_proj.weight", "k_proj": "model.layers.0.self_attn.k_proj.weight",
        "v_proj": "model.layers.0.self_attn.v_proj.weight", "o_proj": "model.layers.0.self_attn.o_proj.weight",
        "gate_proj": "model.layers.0.mlp.gate_proj.weight", "up_proj": "model.layers.0.mlp.up_proj.weight",
        "down_proj": "model.layers.0.mlp.down_proj.weight", "embed": "model.embed_tokens.weight"}


def extract(row):
    from safetensors import safe_open
    from safetensors.torch import save_file
    path = OUT / f"{row}.safetensors"
    if not path.exists():
        idx = json.load(open(D / "model.safetensors.index.json"))["weight_map"]
        with safe_open(D / idx[ROWS[row]], "pt") as f:
            save_file({ROWS[row]: f.get_tensor(ROWS[row]).contiguous()}, str(path))
    return path


def run(binary, src, report):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M %e", binary, str(src), "--json", str(report), "--force",
                        "--quiet", "--no-timestamps"], env=env, capture_output=True, text=True)
    u, s, m, e = r.stderr.strip().splitlines()[-1].split()
    return float(u) + float(s), int(m) / 1024, float(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rows", nargs="+", default=list(ROWS))
    o = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    cpu = {}
    for row in o.rows:
        src = extract(row)
        for k, b in enumerate(o.binaries):
            c, m, e = run(b, src, OUT / f"{row}.{k}.json")
            cpu[(row, k)] = c
            method = json.load(open(OUT / f"{row}.{k}.json"))["layers"][0]["method"]
            print(f"{row:10s} bin{k}: {c:7.2f} CPU-s  {m:6.0f} MB  {e:7.1f} s wall  {method}  load {os.getloadavg()[0]:.1f}", flush=True)
            if k:
                subprocess.run([sys.executable, str(Path(__file__).with_name("compare_refinement.py")),
                                str(OUT / f"{row}.0.json"), str(OUT / f"{row}.{k}.json")])
    if set(ROWS) <= set(o.rows):
        for k in range(len(o.binaries)):
            block = sum(cpu[(r, k)] for r in ROWS if r != "embed")
            total = 32 * block + 2 * cpu[("embed", k)]
            print(f"bin{k}: block {block:.1f} CPU-s; 7B matrices ≈ {total / 60:.1f} CPU-min ≈ {total / 120:.1f} min wall on 2 idle cores")


if __name__ == "__main__":
    main()
