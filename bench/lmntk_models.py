#!/usr/bin/env python3
"""lmntk: a 2-layer cut of the GPT-2-small-shaped GPT2LMHeadModel of bench/heads2_models.py (same
wte/wpe, blocks 0 and 1, ln_f; n_layer 2; vocab 50257, tied): the LM-head NTK and Gram at real
vocabulary (n·V = 1.6 M logits per 32-token probe) with a backbone 6× cheaper, for before/after
memory figures in minutes. Usage: python3 bench/lmntk_models.py [SCRATCH=/tmp/heads2]
(writes SCRATCH/gpt2_2l; needs SCRATCH/gpt2_small, safetensors)."""
import json
import os
import sys

from safetensors.numpy import load_file, save_file

S = sys.argv[1] if len(sys.argv) > 1 else "/tmp/heads2"
src, dst = os.path.join(S, "gpt2_small"), os.path.join(S, "gpt2_2l")
os.makedirs(dst, exist_ok=True)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg["n_layer"] = 2
json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=2)
t = load_file(os.path.join(src, "model.safetensors"))
keep = {k: v for k, v in t.items() if ".h." not in k or k.split(".h.")[1].split(".")[0] in ("0", "1")}
save_file(keep, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
print(dst, len(keep), "tensors")
