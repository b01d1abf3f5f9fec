#!/usr/bin/env python3
"""Benchmark inputs for `bench/run_bench.py` (seeded; written to bench/data/, git-ignored).

- bert_base_f32.safetensors / bert_base_bf16.safetensors: a BERT-base-shaped encoder (12 blocks of
  four 768x768 and two 768x3072 / 3072x768 matrices, biases, LayerNorm vectors, a 30522x768 word
  embedding, position and token-type embeddings), PyTorch names and [out, in] layout.
- vgg11_32.h5: a VGG-11-style Keras CNN for 32x32x3 inputs (keras + jax backend, random init).
- tinyllama/model-0000X-of-00005.safetensors + model.safetensors.index.json: a TinyLlama-1.1B-shaped
  checkpoint in bf16 (hidden 2048, intermediate 5632, 22 blocks, grouped k/v 256x2048, vocab 32000
  embed_tokens + lm_head, RMSNorm vectors), about 2.2 GB.

Weights are Gaussian N(0, 0.02^2) plus a few low-rank spikes (sigma a few times the bulk edge),
like trained transformer matrices: a bulk plus a handful of outliers.

    python3 bench/make_inputs.py [--only bert|vgg|llama] [--force]
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def spiked(rng, rows, cols, std=0.02, spikes=3, dtype=np.float32):
    """Gaussian bulk (std) plus `spikes` rank-one terms with sigma 2-4x the bulk edge."""
    a = rng.standard_normal((rows, cols), dtype=np.float32)
    a *= std
    edge = std * (np.sqrt(rows) + np.sqrt(cols))
    for s in range(spikes):
        u = rng.standard_normal(rows).astype(np.float32)
        v = rng.standard_normal(cols).astype(np.float32)
        u /= np.linalg.norm(u)
        v /= np.linalg.norm(v)
        a += np.float32(edge * (2.0 + s)) * np.outer(u, v).astype(np.float32)
    return a.astype(dtype, copy=False)


def bert_tensors(seed=1):
    rng = np.random.default_rng(seed)
    h, inter, vocab = 768, 3072, 30522
    t = {
        "embeddings.word_embeddings.weight": spiked(rng, vocab, h),
        "embeddings.position_embeddings.weight": spiked(rng, 512, h),
        "embeddings.token_type_embeddings.weight": (rng.standard_normal((2, h)) * 0.02).astype(np.float32),
        "embeddings.LayerNorm.weight": np.ones(h, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(h, np.float32),
    }
    for i in range(12):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t[p + name + ".weight"] = spiked(rng, h, h)
            t[p + name + ".bias"] = np.zeros(h, np.float32)
        t[p + "attention.output.LayerNorm.weight"] = np.ones(h, np.float32)
        t[p + "attention.output.LayerNorm.bias"] = np.zeros(h, np.float32)
        t[p + "intermediate.dense.weight"] = spiked(rng, inter, h)
        t[p + "intermediate.dense.bias"] = np.zeros(inter, np.float32)
        t[p + "output.dense.weight"] = spiked(rng, h, inter)
        t[p + "output.dense.bias"] = np.zeros(h, np.float32)
        t[p + "output.LayerNorm.weight"] = np.ones(h, np.float32)
        t[p + "output.LayerNorm.bias"] = np.zeros(h, np.float32)
    t["pooler.dense.weight"] = spiked(rng, h, h)
    t["pooler.dense.bias"] = np.zeros(h, np.float32)
    return t


def make_bert(force):
    from safetensors.numpy import save_file
    import ml_dtypes
    f32 = os.path.join(DATA, "bert_base_f32.safetensors")
    bf16 = os.path.join(DATA, "bert_base_bf16.safetensors")
    if os.path.exists(f32) and os.path.exists(bf16) and not force:
        return
    t = bert_tensors()
    save_file(t, f32)
    save_file({k: v.astype(ml_dtypes.bfloat16) for k, v in t.items()}, bf16)
    print(f"wrote {f32} ({os.path.getsize(f32) / 1e6:.0f} MB) and {bf16}")


def make_vgg(force):
    path = os.path.join(DATA, "vgg11_32.h5")
    if os.path.exists(path) and not force:
        return
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    keras.utils.set_random_seed(3)
    cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
    layers = [keras.Input((32, 32, 3))]
    for c in cfg:
        if c == "M":
            layers.append(keras.layers.MaxPooling2D(2))
        else:
            layers.append(keras.layers.Conv2D(c, 3, padding="same", activation="relu"))
    layers += [keras.layers.Flatten(), keras.layers.Dense(512, activation="relu"),
               keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)]
    model = keras.Sequential(layers)
    model.save(path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB)")


def llama_shapes():
    h, inter, kv, vocab, blocks = 2048, 5632, 256, 32000, 22
    out = [("model.embed_tokens.weight", (vocab, h))]
    for i in range(blocks):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (h, h)),
                (p + "self_attn.k_proj.weight", (kv, h)),
                (p + "self_attn.v_proj.weight", (kv, h)),
                (p + "self_attn.o_proj.weight", (h, h)),
                (p + "post_attention_layernorm.weight", (h,)),
                (p + "mlp.gate_proj.weight", (inter, h)),
                (p + "mlp.up_proj.weight", (inter, h)),
                (p + "mlp.down_proj.weight", (h, inter))]
    out += [("model.norm.weight", (h,)), ("lm_head.weight", (vocab, h))]
    return out


def make_llama(force, shards=5):
    from safetensors.numpy import save_file
    import ml_dtypes
    folder = os.path.join(DATA, "tinyllama")
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index) and not force:
        return
    os.makedirs(folder, exist_ok=True)
    shapes = llama_shapes()
    total = sum(int(np.prod(s)) * 2 for _, s in shapes)
    per_shard = total / shards
    rng = np.random.default_rng(7)
    weight_map, current, size, k = {}, {}, 0, 1

    def flush():
        nonlocal current, size, k
        name = f"model-{k:05d}-of-{shards:05d}.safetensors"
        save_file(current, os.path.join(folder, name), metadata={"format": "pt"})
        for t in current:
            weight_map[t] = name
        current, size, k = {}, 0, k + 1

    for name, shape in shapes:
        if len(shape) == 1:
            arr = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            arr = spiked(rng, *shape)
        current[name] = arr.astype(ml_dtypes.bfloat16)
        size += arr.size * 2
        if size >= per_shard and k < shards:
            flush()
    if current:
        flush()
    with open(index, "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    print(f"wrote {folder} ({total / 1e9:.2f} GB in {k - 1} shards)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["bert", "vgg", "llama"])
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    if args.only in (None, "bert"):
        make_bert(args.force)
    if args.only in (None, "vgg"):
        make_vgg(args.force)
    if args.only in (None, "llama"):
        make_llama(args.force)


if __name__ == "__main__":
    sys.exit(main())
