#!/usr/bin/env bash
# One case of each of Tables II-VII (Table IV: one per scene) on a CPU-only machine (what
# the committed benchmarks/results/bench.jsonl holds until a GPU runs the full tables).
#
# Reductions, recorded in every run: NGR uses the `fast` preset (the `paper` preset's 15000
# iterations of three 128-channel networks take hours per case on 2 cores); DIP and S2DIP use
# NGR's `fast` network size (width 48, depth 4) and 1500 iterations instead of their papers'
# 128-channel networks and 3000-7000 iterations. Variational baselines run at their defaults.
#
# Usage: PYNGR_SHARED_DATA=../shared/data benchmarks/cpu_cases.sh [pass]
#   pass = main (NGR + variational + BM3D) or networks (DIP, S2DIP); default both.
set -euo pipefail
STORE=${STORE:-benchmarks/results/bench.jsonl}
PREVIEWS=${PREVIEWS:-benchmarks/results/previews}
common=(--store "$STORE" --previews "$PREVIEWS" --device cpu --preset fast --limit 1)
reduce=(--set dip:network.width=48 --set dip:network.depth=4 --set dip:iterations=1500
        --set s2dip:network.width=48 --set s2dip:network.depth=4 --set s2dip:iterations=1500)
cases=("table2|video/claire random 0.1" "table3|hsi/pavia random 0.1"
       "table4|decloud/s2 cloud large" "table4|decloud/l5 cloud large"
       "table4|decloud/cbers4 cloud large" "table5|video/claire gaussian 0.1"
       "table6|hsi/pavia gaussian 0.1" "table7|hsi/pavia strong")
pass=${1:-all}
for entry in "${cases[@]}"; do
  table=${entry%%|*}; case_=${entry#*|}
  if [[ $pass == all || $pass == main ]]; then
    methods=$(ngr bench list | awk -v t="$table" '$1 == t' | sed 's/.*methods: //' \
              | tr -d ' ' | tr ',' '\n' | grep -vx -e dip -e s2dip | paste -sd,)
    ngr bench run "$table" --cases "$case_" --methods "$methods" "${common[@]}"
  fi
  if [[ $pass == all || $pass == networks ]] && [[ $table != table7 ]]; then
    ngr bench run "$table" --cases "$case_" --methods dip,s2dip "${reduce[@]}" "${common[@]}"
  fi
done
