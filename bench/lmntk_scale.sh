#!/bin/bash
# lmntk: the GPT-2-small-shaped GPT2LMHeadModel (12 × 768, vocab 50257, tied; bench/heads2_models.py)
# in data mode on 32-token probes at real vocabulary (bench/RESULTS.md, "lmntk"): peak RSS and CPU
# with /usr/bin/time, one BLAS thread, --jobs 1, progress lines on stderr (timestamped), then the
# torch.func check of σ_max(∂logits/∂x) (fixtures/check_real_head.py, 1e-6).
# Usage: bash bench/lmntk_scale.sh BINARY [SCRATCH=/tmp/heads2] [PROBES=2] [labels|-] [MODEL=gpt2_small]
# (MODEL gpt2_2l: the 2-layer cut of bench/lmntk_models.py, same vocabulary and head.)
# BINARY: a release build of spectral-audit (e.g. .build/release/spectral-audit). Needs python3 with
# torch, transformers, scipy for the check; makes the models first when SCRATCH has none.
set -e
B=$1
S=${2:-/tmp/heads2}
N=${3:-2}
L=${4:-}
[ "$L" = "-" ] && L=""
M=${5:-gpt2_small}
export OPENBLAS_NUM_THREADS=1
[ -d "$S/gpt2_small" ] || python3 bench/heads2_models.py "$S"
[ -d "$S/$M" ] || python3 bench/lmntk_models.py "$S"
tag=${M}_n$N${L:+_labels}_$(basename "$(dirname "$(dirname "$(dirname "$B")")")")
echo "== $tag (load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S))"
/usr/bin/time -f "$tag: %e s wall, %U s user, %S s sys, %M KB max RSS" "$B" "$S/$M" --probe "$S/gpt2_tokens.npy" \
  --probe-limit "$N" ${L:+--labels "$S/gpt2_labels.npy"} --json "$S/$tag.json" --force --no-timestamps --jobs 1 \
  2> >(while IFS= read -r line; do echo "$(date -u +%H:%M:%S) $line"; done >&2) > /dev/null || true
echo "== end $(date -u +%H:%M:%S) (load $(cut -d' ' -f1-3 /proc/loadavg))"
ls -l "$S/$tag.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); d=r['data']; t=r['transformer']['data']; print({k: d.get(k) for k in ('g_J','g_theta','g_K','ntk_lambda_min','ntk_condition','g_H')}); print('jacobian_norms', t['jacobian_norms'], 'parameter_jacobian_norms', t['parameter_jacobian_norms']); [print(n) for n in r.get('assumptions', []) if n.startswith('NTK')]" "$S/$tag.json"
