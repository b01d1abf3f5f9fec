#!/bin/sh
# heads2 real-scale measurements (bench/RESULTS.md, "heads2"): the loss Hessian of a MiniLM
# classifier (two-pass Lanczos) and LM heads at real vocabularies, each run once with
# /usr/bin/time (CPU, RSS), one BLAS thread, --jobs 1, then the torch.func check of σ_max(∂logits/∂x).
# Usage: sh bench/heads2_scale.sh [SCRATCH=/tmp/heads2] [PROBES=4]
# Needs a release build and python3 with torch, transformers, scipy; makes the models first
# (bench/heads2_models.py) when SCRATCH has none.
set -e
S=${1:-/tmp/heads2}
N=${2:-4}
export OPENBLAS_NUM_THREADS=1
[ -d "$S/minilm_cls" ] || python3 bench/heads2_models.py "$S"
run() { # name folder tokens labels [mask]
  echo "== $1 (load $(cut -d' ' -f1-3 /proc/loadavg))"
  extra=""
  [ -n "$5" ] && extra="--attention-mask $5"
  /usr/bin/time -f "$1: %e s wall, %U s user, %S s sys, %M KB max RSS" .build/release/spectral-audit "$2" --probe "$3" \
    --probe-limit "$N" ${4:+--labels "$4"} $extra --json "$S/$1.json" --force --no-timestamps --quiet --jobs 1 > /dev/null || true
}
/usr/bin/time -f "weights-only gpt2_small: %e s wall, %M KB" .build/release/spectral-audit "$S/gpt2_small" --json "$S/w_gpt2.json" --force --quiet --no-timestamps > /dev/null || true
/usr/bin/time -f "weights-only llama_v32k: %e s wall, %M KB" .build/release/spectral-audit "$S/llama_v32k" --json "$S/w_llama.json" --force --quiet --no-timestamps > /dev/null || true
run minilm_cls "$S/minilm_cls" "$S/minilm_tokens.npy" "$S/minilm_labels.npy" "$S/minilm_mask.npy"
run llama_v32k "$S/llama_v32k" "$S/llama_tokens.npy" "$S/llama_labels.npy"
run gpt2_small "$S/gpt2_small" "$S/gpt2_tokens.npy" "$S/gpt2_labels.npy"
for m in minilm_cls llama_v32k gpt2_small; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['transformer']['data']; l=(d.get('output') or {}).get('labels'); print(sys.argv[2], 'labels:', l and {k: l[k] for k in ('loss','hessian_lambda_max','hessian_lambda_min','hessian_error_max','hessian_error_min','hessian_products','converged')})" "$S/$m.json" "$m" || true
done
