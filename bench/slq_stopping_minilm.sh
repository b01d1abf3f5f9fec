#!/bin/sh
# SLQ entropy cost on the real all-MiniLM-L6-v2 with and without the per-probe stopping rule
# (slqmid section of bench/RESULTS.md): the whole transformer data mode (16 probes × 32 tokens of
# bench/tokenprobe_minilm.sh, attention mask, jobs 1, one BLAS thread), alternating
#   before: 15 fixed steps (the old default; same products as before the bracket)
#   after:  the stopping rule (half-width ≤ 0.5 × 2 SE) with a cap of 30 steps (the new default)
# each printing CPU seconds (getrusage), wall seconds, SLQ steps per probe, entropies and errors.
# Usage: sh bench/slq_stopping_minilm.sh MODEL_FOLDER [ROUNDS]   (needs swift build -c release --product spectral-bench)
set -e
M=${1:?model folder}
R=${2:-2}
T=${TMPDIR:-/tmp}/slq-stopping-bench
mkdir -p "$T"
export OPENBLAS_NUM_THREADS=1
python3 fixtures/check_real_transformer.py --make-probes "$M" "$T/tokens.npy" "$T/mask.npy" 16 32
i=1
while [ "$i" -le "$R" ]; do
  echo "round $i load $(cut -d' ' -f1-3 /proc/loadavg)"
  .build/release/spectral-bench --transformer-slq "$M/model.safetensors" "$T/tokens.npy" "$T/mask.npy" 15 none
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  .build/release/spectral-bench --transformer-slq "$M/model.safetensors" "$T/tokens.npy" "$T/mask.npy" 30 0.5
  i=$((i + 1))
done
