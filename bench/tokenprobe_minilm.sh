#!/bin/sh
# Transformer data mode on the real all-MiniLM-L6-v2 (16 probes × 32 tokens, tokenizer-padded,
# with the attention mask) against torch.func (jvp/vjp products + ARPACK svds) on the same probes,
# alternated, one BLAS/torch thread each. Usage: sh bench/tokenprobe_minilm.sh MODEL_FOLDER [ROUNDS]
# Needs a release build (swift build -c release) and python3 with torch, transformers, scipy.
set -e
M=${1:?model folder}
R=${2:-2}
T=${TMPDIR:-/tmp}/tokenprobe-bench
mkdir -p "$T"
export OPENBLAS_NUM_THREADS=1
python3 fixtures/check_real_transformer.py --make-probes "$M" "$T/tokens.npy" "$T/mask.npy" 16 32
i=1
while [ "$i" -le "$R" ]; do
  echo "round $i load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f "ours: %e s wall, %U s user, %S s sys, %M KB" .build/release/spectral-audit "$M" --probe "$T/tokens.npy" \
    --attention-mask "$T/mask.npy" --json "$T/r.json" --force --no-timestamps --quiet --jobs 1 > /dev/null || true
  /usr/bin/time -f "torch.func: %e s wall, %U s user, %S s sys, %M KB" python3 fixtures/check_real_transformer.py --data "$M" \
    "$T/r.json" "$T/tokens.npy" "$T/mask.npy" 2>&1 | grep -v Loading
  i=$((i + 1))
done
