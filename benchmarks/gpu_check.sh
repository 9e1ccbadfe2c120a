#!/usr/bin/env bash
# A CUDA machine's checks in one go, for minutes of GPU time (run from the repository root,
# with groklab installed): the CUDA tests (a tiny run memorizes, resume equals uninterrupted bit
# for bit, population equals members, CUDA agrees with the CPU), member-steps per second for
# M = 1, 8, 64, 256 on the Power and Nanda tasks (eager and compiled), 64 members against 64
# runs one after another, and the main job's wall clock. Writes one Markdown file.
#
#   bash benchmarks/gpu_check.sh [OUT.md]          # default gpu_check.md
#   PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-gpu_check.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')" || exit 1

{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  "$PY" -c "import torch; print('Device:', torch.cuda.get_device_name(0), '| torch', torch.__version__, '| CUDA', torch.version.cuda)"
  echo
  echo "## CUDA tests"
  echo
  echo '```'
  "$PY" -m pytest -q tests/test_cuda.py 2>&1 | tail -5
  echo '```'
  echo
  echo "## Throughput"
  echo
} > "$OUT"
(cd benchmarks && "$PY" bench_gpu.py --device cuda --out "$TMP/bench.md") > "$TMP/bench.log" 2>&1
cat "$TMP/bench.md" >> "$OUT" 2>/dev/null || { echo "bench_gpu.py failed:"; tail -20 "$TMP/bench.log"; } >> "$OUT"

# the README's main job, stopping at 99 % validation accuracy
START=$(date +%s)
"$PY" -m groklab train --op div --p 97 --train-fraction 0.5 --model power2022 --optimizer adamw \
  --lr 1e-3 --weight-decay 1 --warmup-steps 10 --batch-size 512 --stop-at-val-acc 0.99 \
  --device cuda --store "$TMP/store" > "$TMP/main.log" 2>&1
STATUS=$?
END=$(date +%s)
{
  echo
  echo "## The main job (README), on CUDA"
  echo
  echo "exit status $STATUS, wall clock $((END - START)) s (whole seconds)"
  echo
  echo '```'
  tail -3 "$TMP/main.log"
  echo '```'
} >> "$OUT"
echo "wrote $OUT"
