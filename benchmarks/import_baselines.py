"""Carry the Set5 SR 30% runs of the retired ``baselines.py`` into the bench store.

``benchmarks/results/baselines.jsonl`` holds runs made before ``ngr bench`` existed, on
exactly the inputs and settings that ``ngr bench run table1 --datasets set5 --cases
"random 0.3"`` builds (Set5 PNGs, ``random_mask(shape, 0.3, seed=0)``, seed 2333, NGR's
``fast`` preset on CPU, method defaults; DIP/S2DIP with the ``--set`` reductions of
``cpu_cases.sh``). This script rewrites them as bench records with the keys such a run
would have, marked ``imported_from``, so that the runner skips them and the report shows
them. Their metrics are PSNR and SSIM only (no SAM/ERGAS, no PSNR curve).

Usage: python benchmarks/import_baselines.py
"""

from __future__ import annotations

import json
from pathlib import Path

from pyngr.bench import Case, RunSpec, Store
from pyngr.bench.runner import case_key

RESULTS = Path(__file__).resolve().parent / "results"
SOURCE = RESULTS / "baselines.jsonl"
REDUCED = (("network.width", 48), ("network.depth", 4), ("iterations", 1500))


def main() -> None:
    store = Store(RESULTS / "bench.jsonl")
    have = {r["key"] for r in store.records()}
    latest: dict[tuple[str, str], dict] = {}
    for line in SOURCE.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            if r["case"].startswith("set5_"):
                latest[(r["case"], r["method"])] = r  # the last run of a pair counts
    added = 0
    for (name, method), r in sorted(latest.items()):
        reduced = method in ("dip", "s2dip") and r["variant"] == "cpu"
        spec = RunSpec("table1", Case("set5", name[5:], "random", 0.3), method, 2333,
                       "fast" if method == "ngr" else None, None,
                       REDUCED if reduced else ())
        if spec.key in have:
            continue
        store.append({
            "key": spec.key, "case_key": case_key(spec), "spec": spec.to_dict(),
            "data": r["data"],
            "task": r["task"], "result": r["result"], "result_is": r["result_is"],
            "oracle_monitored": r["oracle_monitored"], "curve": [],
            "iterations": r["iterations"], "wall_time_s": r["wall_time_s"],
            "seconds_per_iteration": r["wall_time_s"] / max(r["iterations"], 1),
            "device": r["device"], "device_name": r["machine"], "settings": r["settings"],
            "versions": r["versions"], "imported_from": "benchmarks/results/baselines.jsonl",
        })
        added += 1
    print(f"imported {added} runs into {store.path}")


if __name__ == "__main__":
    main()
