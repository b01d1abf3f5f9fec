#!/usr/bin/env python3
"""spectral-audit against its peers on the same files, in one run (`make bench`).

Tools, each timed as a child process with /usr/bin/time -v (wall, user+sys CPU, peak RSS):
  ours      .build/release/spectral-audit MODEL --json OUT --no-timestamps --quiet [--svd fast]
            (jobs = cores, one BLAS thread each)
  numpy     bench/numpy_audit.py MODEL: numpy.linalg.svd(compute_uv=False) in float64 per 2-D
            tensor + the same metrics (numpy's own OpenBLAS, its default thread count)
  ww        WeightWatcher analyze() on a torch module holding the file's weights (needs
            `pip install weightwatcher torch`; skipped with the reason printed otherwise)
Inputs come from bench/make_inputs.py (generated when missing). Results: bench/RESULTS.md.

    python3 bench/run_bench.py [--quick] [--numpy-llama] [--extras]
      --quick        BERT only
      --numpy-llama  also run the numpy script on TinyLlama (about 10 minutes here)
      --ww-llama     also run WeightWatcher on TinyLlama
      --ww-bf16      also run WeightWatcher on BERT bf16 (the same matrices as f32 once widened)
      --extras       also bench/read_speed.py + inspect --load-all, and bench/bench_spectra.py
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "out")
BIN = os.path.join(ROOT, ".build", "release", "spectral-audit")
PY = sys.executable

WW_SCRIPT = r'''
# WeightWatcher analyze() on the same weights: WeightWatcher reads framework models, so the file's
# tensors are put into a torch module (2-D weights as nn.Linear in torch's [out, in] layout,
# Keras conv kernels HWIO as nn.Conv2d OIHW); loading and conversion are inside the timing.
import sys, json, os
path = sys.argv[1]
try:
    import numpy as np
    import torch
    import weightwatcher as ww
except Exception as e:
    print("SKIP weightwatcher or torch not importable (pip install weightwatcher torch): %s" % e); sys.exit(3)
mods = []
def linear(w):
    m = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    m.weight.data = w.float().contiguous()
    return m
if path.endswith(".safetensors") or path.endswith(".index.json"):
    from safetensors import safe_open
    files = [path]
    if path.endswith(".index.json"):
        folder = os.path.dirname(path)
        files = [os.path.join(folder, s) for s in sorted(set(json.load(open(path))["weight_map"].values()))]
    for fp in files:
        with safe_open(fp, framework="pt") as f:
            for k in f.keys():
                t = f.get_tensor(k)
                if t.ndim == 2 and min(t.shape) > 1:
                    mods.append(linear(t))
else:
    import h5py
    with h5py.File(path, "r") as f:
        found = []
        f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in found:
            a = f[n][()]
            if a.ndim == 4:  # Keras HWIO -> torch OIHW
                t = torch.from_numpy(np.ascontiguousarray(a.transpose(3, 2, 0, 1))).float()
                m = torch.nn.Conv2d(t.shape[1], t.shape[0], t.shape[2:], bias=False)
                m.weight.data = t
                mods.append(m)
            elif a.ndim == 2 and min(a.shape) > 1:  # Keras [in, out]
                mods.append(linear(torch.from_numpy(np.ascontiguousarray(a.T))))
model = torch.nn.Sequential(*mods)
details = ww.WeightWatcher(model=model).analyze()
print("WW layers analysed: %d of %d modules" % (len(details), len(mods)))
'''


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, **kw).stdout.strip()


def timed(argv, env=None):
    """Runs argv under /usr/bin/time -v; returns dict(wall, cpu, rss_mb, rc, out)."""
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
    return {"wall": secs, "cpu": cpu, "rss": rss, "rc": p.returncode, "out": (p.stdout + p.stderr)[-2000:]}


def machine():
    model = sh("lscpu | sed -n 's/^Model name:[ ]*//p'")
    cores = os.cpu_count()
    mem = sh("free -g | awk '/Mem:/{print $2}'")
    load = os.getloadavg()
    kernel = "unknown"
    bench_bin = os.path.join(ROOT, ".build", "release", "spectral-bench")
    if os.path.exists(bench_bin):
        import numpy as np
        with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
            f.write(np.eye(4, dtype=np.float32).tobytes())
        m = re.search(r"OpenBLAS core [^\n,]*", sh(f"OPENBLAS_NUM_THREADS=1 '{bench_bin}' {f.name} 4 4 f32 2>&1 || true"))
        os.unlink(f.name)
        if m:
            kernel = m.group(0)
    return model, cores, mem, load, kernel


def ours(model, out, extra=()):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return timed([BIN, model, "--json", out, "--no-timestamps", "--quiet", "--force", *extra], env=env)


def numpy_run(model, out):
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    return timed([PY, os.path.join(HERE, "numpy_audit.py"), model, "--out", out], env=env)


def ww_run(model):
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(WW_SCRIPT)
    r = timed([PY, f.name, model], env=env)
    os.unlink(f.name)
    if r["rc"] != 0:
        m = re.search(r"SKIP (.*)", r["out"])
        r["skip"] = m.group(1) if m else "failed: " + r["out"][-300:].replace("\n", " ")
    return r


def compare_numpy(report_path, numpy_path):
    """max |σ_max − σ_max(numpy)| / σ_max and max |H − H(numpy)| over common tensors."""
    rep = json.load(open(report_path))
    nump = {r["name"]: r for r in json.load(open(numpy_path))}
    ws = wh = 0.0
    n = 0
    for layer in rep["layers"]:
        if layer.get("status") != "analyzed" or not layer.get("metrics") or len(layer["tensors"]) == 0:
            continue
        ref = nump.get(layer["tensors"][0])
        if not ref or "spectral_entropy" not in ref:
            continue
        m = layer["metrics"]
        ws = max(ws, abs(m["spectral_norm"] - ref["spectral_norm"]) / ref["spectral_norm"])
        if m.get("spectral_entropy") is not None:
            wh = max(wh, abs(m["spectral_entropy"] - ref["spectral_entropy"]))
        n += 1
    return n, ws, wh


def compare_fast(exact_path, fast_path):
    ex = {l["name"]: l for l in json.load(open(exact_path))["layers"]}
    ws = wh = wr = 0.0
    covered = slq = 0
    for l in json.load(open(fast_path))["layers"]:
        if l.get("status") != "analyzed":
            continue
        e, m = ex[l["name"]]["metrics"], l["metrics"]
        ws = max(ws, abs(m["spectral_norm"] - e["spectral_norm"]) / e["spectral_norm"])
        d = abs(m["spectral_entropy"] - e["spectral_entropy"])
        wh = max(wh, d / e["spectral_entropy"])
        wr = max(wr, abs(m["erank_rv"] - e["erank_rv"]) / e["erank_rv"])
        if l.get("method") == "lanczos_slq":
            slq += 1
            covered += d <= l["estimate_errors"]["spectral_entropy"]
    return ws, wh, wr, slq, covered


def fmt_row(tool, r, base=None):
    if r.get("skip"):
        return f"| {tool} | skipped: {r['skip']} | | | |"
    ratio = f"{r['wall'] / base['wall']:.1f}×" if base and base["wall"] > 0 else "1.0×"
    return f"| {tool} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {r['rss']:.0f} MB | {ratio} |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--numpy-llama", action="store_true")
    ap.add_argument("--ww-llama", action="store_true")
    ap.add_argument("--ww-bf16", action="store_true")
    ap.add_argument("--extras", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([PY, os.path.join(HERE, "make_inputs.py")] + (["--only", "bert"] if args.quick else []), check=True)
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: swift build -c release --product spectral-audit")
    model, cores, mem, load, kernel = machine()
    import numpy
    np_version = numpy.__version__
    lines = ["# spectral-audit vs numpy / WeightWatcher — LLM-scale benchmark", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} by `bench/run_bench.py` (one run, tools one after another).", "",
             f"- CPU: {model}; {cores} cores; {mem} GiB memory; load average at start {load[0]:.2f} (machine shared with other engineers: ±20 % is noise)",
             f"- ours: release build, `--jobs {cores}` (default), one BLAS thread per job ({kernel}); numpy {np_version} with its own OpenBLAS at its default thread count",
             "- `ratio` = wall time / ours (default exact path) on the same file; CPU = user + system; RSS = peak resident set (`/usr/bin/time -v`)", ""]

    cases = [("BERT-base f32 safetensors (438 MB)", os.path.join(DATA, "bert_base_f32.safetensors"), True, True),
             ("BERT-base bf16 safetensors (219 MB)", os.path.join(DATA, "bert_base_bf16.safetensors"), True, args.ww_bf16)]
    if not args.quick:
        cases.append(("VGG-11 (32×32) Keras .h5 (39 MB)", os.path.join(DATA, "vgg11_32.h5"), True, True))
        cases.append(("TinyLlama-1.1B-shaped bf16, 5 shards (2.2 GB)", os.path.join(DATA, "tinyllama", "model.safetensors.index.json"),
                      args.numpy_llama, args.ww_llama))
    accuracy = []
    for title, path, with_numpy, with_ww in cases:
        tag = os.path.basename(path).split(".")[0] if "tinyllama" not in path else "tinyllama"
        print(f"== {title}", flush=True)
        rows = []
        exact_out = os.path.join(OUT, f"{tag}.ours.json")
        base = ours(path, exact_out)
        rows.append(fmt_row("**spectral-audit** (exact: Gram + dsyevd / dgesdd)", base))
        print("  ours", base["wall"], base["rss"], flush=True)
        fast_out = os.path.join(OUT, f"{tag}.fast.json")
        fast = ours(path, fast_out, ["--svd", "fast"])
        rows.append(fmt_row("spectral-audit `--svd fast`", fast, base))
        print("  fast", fast["wall"], fast["rss"], flush=True)
        ws, wh, wr, slq, covered = compare_fast(exact_out, fast_out)
        accuracy.append(f"- {title}: `--svd fast` vs exact: max rel. σ_max error {ws:.1e}; max rel. spectral_entropy error "
                        f"{wh:.2%}; max rel. erank_rv error {wr:.2%}; {slq} layers by SLQ, stated error covers the "
                        f"true entropy error in {covered}/{slq}")
        if with_numpy:
            np_out = os.path.join(OUT, f"{tag}.numpy.json")
            r = numpy_run(path, np_out)
            if r["rc"] != 0:
                r["skip"] = "failed: " + r["out"][-200:].replace("\n", " ")
            rows.append(fmt_row("numpy script (`np.linalg.svd`, float64)", r, base))
            print("  numpy", r["wall"], r["rss"], flush=True)
            if r["rc"] == 0:
                n, es, eh = compare_numpy(exact_out, np_out)
                accuracy.append(f"- {title}: ours vs numpy on {n} matrices: max rel. σ_max difference {es:.1e}, "
                                f"max |ΔH| {eh:.1e} nats")
        else:
            rows.append("| numpy script | not run (`--numpy-llama`) | | | |")
        if not with_ww:
            rows.append("| WeightWatcher `analyze()` | not run (`--ww-bf16` / `--ww-llama`) | | | |")
        if with_ww:
            r = ww_run(path)
            rows.append(fmt_row("WeightWatcher `analyze()`", r, base))
            print("  ww", r.get("skip") or r["wall"], flush=True)
        lines += [f"## {title}", "", "| tool | wall | CPU | peak RSS | ratio (wall / ours) |",
                  "| --- | --- | --- | --- | --- |"] + rows + [""]
    lines += ["## Accuracy (same run)", ""] + accuracy + [""]
    if args.extras:
        lines += ["## Extras", ""]
        rs = subprocess.run([PY, os.path.join(HERE, "read_speed.py")], capture_output=True, text=True).stdout
        lines += ["```", rs.strip(), "```"]
        for f in ["bench_f32_500mb.safetensors", "bench_f32_500mb.npz"]:
            r = timed([BIN, "inspect", os.path.join(DATA, f), "--load-all"])
            lines.append(f"- `inspect --load-all {f}`: {r['wall']:.2f} s, peak RSS {r['rss']:.0f} MB")
        sp = subprocess.run([PY, os.path.join(HERE, "bench_spectra.py")], capture_output=True, text=True,
                            env=dict(os.environ, OPENBLAS_NUM_THREADS="1")).stdout
        lines += ["", "### bench_spectra.py", "", sp.strip(), ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
