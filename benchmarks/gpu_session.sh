#!/usr/bin/env bash
# One prepared command for a lent GPU (device tool), in priority order, each stage capped so
# that the whole fits one 10-minute call. Everything lands in $OUT (at most 8 files):
#   cuda_tests.txt   pytest -m cuda (CPU/CUDA agreement with TF32 off, every task on CUDA)
#   speed_batch.jsonl  ms per iteration per image, three images together against one
#   bench.jsonl      Table I Set5 runs with the paper preset (merge into
#                    benchmarks/results/bench.jsonl: `cat $OUT/bench.jsonl >> ...`)
#   profile.jsonl    where a `paper` iteration spends its GPU time (launch- or kernel-bound)
#   log.txt          everything printed
# Session 2026-11-26 (H200) ran the former stages (gpu_check.py, speed.py; results in
# benchmarks/results/gpu/): `paper` fused + compiled (reduce-overhead) runs at 8.3 ms per
# iteration, so one 15000-iteration run takes ~175 s with its ~50 s of compilation; run
# serially (two concurrent eager runs finished nothing in 360 s).
# Data: copy what it needs into .gpudata/ (ignored by git; name it in `carry`):
#   mkdir -p .gpudata/set5 && cp ../shared/data/set5/*.png .gpudata/set5/
# Run: device run, carry [".gpudata"], command "bash benchmarks/gpu_session.sh", timeout 600.
# Stage budgets (seconds): TEST_S, BENCH_S, PROFILE_S, SPEED_S; also CASES, BATCH.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 PYNGR_SHARED_DATA=${PYNGR_SHARED_DATA:-$PWD/.gpudata}
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. CUDA tests"
timeout "${TEST_S:-45}" python3 -m pytest -q -m cuda -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/cuda_tests.txt"

echo "== 2. one run against three together (paper, fused + CUDA graphs), 256x256x3"
for k in 3 1; do
  timeout "${SPEED_S:-55}" python3 benchmarks/speed.py --sizes 256x256x3 --warmup 20 \
    --repeats 5 --every 20 --no-sync-check --variants paper-graphs --batch $k \
    | tee -a "$OUT/speed_batch.jsonl"
done
# restore the three rates together only if three together cost less than 0.6 of three alone
BATCH=${BATCH:-$(python3 - "$OUT/speed_batch.jsonl" <<'PY'
import json, sys
ms = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("variant") == "paper-graphs" and r.get("ms_per_iteration"):
        ms[r.get("batch", 1)] = r["ms_per_iteration"]  # per image
print(3 if 3 in ms and 1 in ms and ms[3] < 0.6 * ms[1] else 1)
PY
)}
echo "batch for stage 3: $BATCH"

echo "== 3. Table I on Set5 with the paper preset (fused + CUDA graphs: the same model)"
# 15000 iterations per run; with BATCH=3 the three rates of butterfly run together
# (pyngr.inpaint_many), else one after the other. The progress bar (log.txt) gives the
# speed even if the stage ends first; a run or group that does not finish leaves no record
# (rerun next session: the store skips finished runs).
CASES=${CASES:-"butterfly random 0.1,butterfly random 0.3,butterfly random 0.5"}
timeout "${BENCH_S:-330}" python3 -m pyngr bench run table1 --datasets set5 --cases "$CASES" \
  --preset paper --set ngr:network.fused=true --set ngr:network.compile=reduce-overhead \
  --methods ngr --batch "$BATCH" --device cuda \
  --store "$OUT/bench.jsonl" || echo "bench stage ended (timeout or error: $?)"

echo "== 4. profile of a paper iteration"
timeout "${PROFILE_S:-60}" python3 benchmarks/profile_gpu.py \
  --variants fused,fused-compiled | tee "$OUT/profile.jsonl"
ls -la "$OUT"
