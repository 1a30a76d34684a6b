#!/usr/bin/env bash
# One prepared command for a lent GPU (device tool), in priority order, each stage capped so
# that the whole fits one 10-minute call. Everything lands in $OUT (at most 8 files):
#   gpu_check.jsonl  CPU/CUDA agreement, ms/iteration of paper, paper fused, fast
#   speed.jsonl      reference loop vs engine variants at 256x256x3, CUDA sync check
#   bench.jsonl      Table I Set5 runs with the paper preset (merge into
#                    benchmarks/results/bench.jsonl: `cat $OUT/bench.jsonl >> ...`)
#   log.txt          everything printed
# Data: copy what it needs into .gpudata/ (ignored by git; name it in `carry`):
#   mkdir -p .gpudata/set5 .gpudata/hsi && cp ../shared/data/set5/*.png .gpudata/set5/ &&
#   cp ../shared/data/hsi/pavia_centre_crop_100x100x102.mat .gpudata/hsi/
# Run: device run, carry [".gpudata"], command "bash benchmarks/gpu_session.sh", timeout 600.
# Stage budgets (seconds) can be changed with CHECK_S, SPEED_S, BENCH_S.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYNGR_SHARED_DATA=${PYNGR_SHARED_DATA:-$PWD/.gpudata}
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. agreement and per-iteration timings"
timeout "${CHECK_S:-60}" python3 benchmarks/gpu_check.py | tee "$OUT/gpu_check.jsonl"

echo "== 2. reference loop vs engine variants at 256x256x3"
# compiled variants last: their compilation may not fit (each line prints as it ends)
timeout "${SPEED_S:-180}" python3 benchmarks/speed.py --sizes 256x256x3 --warmup 20 \
  --repeats 5 --every 20 --no-sync-check \
  --variants reference,paper,paper-fused,paper-cl,paper-bf16,fast,paper-graphs,paper-best \
  | tee "$OUT/speed.jsonl"

echo "== 3. Table I on Set5 with the paper preset (fused: same model, fewer launches)"
# 15000 iterations each: SR 10% on the four 256-pixel-class images first, 4 processes
# sharing the GPU (one per image); then the rest. A run that does not finish before the
# stage ends leaves no record (rerun next session: the store skips finished runs).
CASES=${CASES:-"bird random 0.1,butterfly random 0.1,head random 0.1,woman random 0.1"}
timeout "${BENCH_S:-320}" python3 -m pyngr bench run table1 --datasets set5 --cases "$CASES" \
  --preset paper --set ngr:network.fused=true --methods ngr --workers 4 --device cuda \
  --store "$OUT/bench.jsonl" || echo "bench stage ended (timeout or error: $?)"
ls -la "$OUT"
