#!/bin/sh
# Issue 18 item 4 (mspeed branch): transformer data mode on the real all-MiniLM-L6-v2, 16 × 32 token
# probes with their mask, `--jobs 2`, against the like-for-like torch.func peer
# (bench/peer_minilm_torchfunc.py), alternated in one run, one BLAS/torch thread per process.
# Usage: sh bench/mspeed_minilm.sh MODEL_FOLDER OURS_BINARY [BASE_BINARY] [ROUNDS]
# BASE_BINARY (optional): an older spectral-audit to compare with (its report goes to base.json;
# bench/compare_reports.py base.json ours.json shows what changed). Needs a release build and
# python3 with torch, transformers, scipy.
set -e
M=${1:?model folder}
OURS=${2:?spectral-audit binary}
BASE=${3:-}
R=${4:-1}
T=${TMPDIR:-/tmp}/tokenprobe-bench
mkdir -p "$T"
export OPENBLAS_NUM_THREADS=1
[ -f "$T/tokens.npy" ] || python3 fixtures/check_real_transformer.py --make-probes "$M" "$T/tokens.npy" "$T/mask.npy" 16 32
i=1
while [ "$i" -le "$R" ]; do
  if [ -n "$BASE" ]; then
    echo "round $i load $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "base: %e s wall, %U s user, %S s sys, %M KB" "$BASE" "$M" --probe "$T/tokens.npy" \
      --attention-mask "$T/mask.npy" --json "$T/base.json" --force --no-timestamps --quiet --jobs 2 > /dev/null || true
  fi
  echo "round $i load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f "ours: %e s wall, %U s user, %S s sys, %M KB" "$OURS" "$M" --probe "$T/tokens.npy" \
    --attention-mask "$T/mask.npy" --json "$T/ours.json" --force --no-timestamps --quiet --jobs 2 > /dev/null || true
  echo "round $i load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f "torch.func peer: %e s wall, %U s user, %S s sys, %M KB" python3 bench/peer_minilm_torchfunc.py "$M" \
    "$T/ours.json" "$T/tokens.npy" "$T/mask.npy" 2>&1 | grep -v Loading
  i=$((i + 1))
done
