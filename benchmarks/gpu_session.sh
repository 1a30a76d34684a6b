#!/usr/bin/env bash
# One prepared command for a lent GPU (device tool), in priority order, each stage capped so
# that the whole fits one 10-minute call. Everything lands in $OUT (at most 8 files):
#   cuda_tests.txt   pytest -m cuda (CPU/CUDA agreement with TF32 off, every task on CUDA)
#   profile.jsonl    where a `paper` iteration spends its GPU time (launch- or kernel-bound)
#   bench.jsonl      Table I Set5 runs with the paper preset (merge into
#                    benchmarks/results/bench.jsonl: `cat $OUT/bench.jsonl >> ...`)
#   log.txt          everything printed
# Session 2026-11-26 (H200) ran the former stages (gpu_check.py, speed.py; results in
# benchmarks/results/gpu/): `paper` fused + compiled (reduce-overhead) runs at 8.3 ms per
# iteration, so one 15000-iteration run takes ~175 s with its ~50 s of compilation; run
# serially (two concurrent eager runs finished nothing in 360 s).
# Data: copy what it needs into .gpudata/ (ignored by git; name it in `carry`):
#   mkdir -p .gpudata/set5 && cp ../shared/data/set5/*.png .gpudata/set5/
# Run: device run, carry [".gpudata"], command "bash benchmarks/gpu_session.sh", timeout 600.
# Stage budgets (seconds) can be changed with TEST_S, PROFILE_S, BENCH_S; CASES, WORKERS.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYNGR_SHARED_DATA=${PYNGR_SHARED_DATA:-$PWD/.gpudata}
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. CUDA tests"
timeout "${TEST_S:-90}" python3 -m pytest -q -m cuda -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/cuda_tests.txt"

echo "== 2. profile of a paper iteration"
timeout "${PROFILE_S:-90}" python3 benchmarks/profile_gpu.py \
  --variants fused,fused-compiled,fused-bf16 | tee "$OUT/profile.jsonl"

echo "== 3. Table I on Set5 with the paper preset (fused + CUDA graphs: the same model)"
# 15000 iterations each, one at a time; a run that does not finish before the stage ends
# leaves no record (rerun next session: the store skips finished runs).
CASES=${CASES:-"bird random 0.1,head random 0.1,woman random 0.1,butterfly random 0.1"}
timeout "${BENCH_S:-380}" python3 -m pyngr bench run table1 --datasets set5 --cases "$CASES" \
  --preset paper --set ngr:network.fused=true --set ngr:network.compile=reduce-overhead \
  --methods ngr --workers "${WORKERS:-1}" --device cuda \
  --store "$OUT/bench.jsonl" || echo "bench stage ended (timeout or error: $?)"
ls -la "$OUT"
