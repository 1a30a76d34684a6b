"""Does a larger ``fast`` network close the gap to ``paper`` where much is observed?

At SR 50% the ``paper`` preset keeps climbing to its 15000th iteration while ``fast``
flattens (README "Speed and quality"). This script runs ``fast`` with settings overrides
(network width, depth, heads, input perturbation, warm start) on a Set5 image or a square
crop of it, records the PSNR against ground truth every 250 iterations (reporting only: the
result is the final iterate) and the wall time, and appends one record per run to
``benchmarks/results/capacity.jsonl``; ``--summary`` prints the stored runs side by side at
equal iterations and at equal time.

Usage::

    python benchmarks/capacity.py --image woman --crop 108,50,128 --tag w96 \\
        --set init_weights=null --set network.input_noise=0 --set network.width=96
    python benchmarks/capacity.py --image woman --iterations 3000 --tag full_w48 \\
        --set init_weights=null --set network.input_noise=0
    python benchmarks/capacity.py --summary
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.degradations import random_mask
from pyngr.presets import parse_override

from _common import RESULTS, require_data, set5

STORE = RESULTS / "capacity.jsonl"
EVERY = 250


def run(args: argparse.Namespace) -> dict[str, Any]:
    gt = set5(args.image)
    if args.crop:
        r, c, n = (int(v) for v in args.crop.split(","))
        gt = np.ascontiguousarray(gt[r:r + n, c:c + n])
    mask = random_mask(gt.shape, args.rate, seed=0)
    obs = np.where(mask, gt, 0).astype(gt.dtype)
    overrides = dict(parse_override(item) for item in args.set)
    start = time.perf_counter()
    res = pyngr.inpaint(obs, mask, preset="fast", iterations=args.iterations, device="cpu",
                        ground_truth=gt, monitor_every=EVERY, full_output=True,
                        overrides=overrides)
    return {
        "tag": args.tag, "image": args.image, "crop": args.crop or None,
        "shape": list(gt.shape), "rate": args.rate, "mask_seed": 0, "overrides": overrides,
        "iterations": args.iterations, "threads": torch.get_num_threads(),
        "cpu": f"{os.cpu_count()} cores", "wall_time_s": time.perf_counter() - start,
        "final_psnr": res.metrics["psnr"], "result_is": "final iterate",
        "curve_psnr": [(r["iteration"], round(r["psnr"], 3)) for r in res.history.records],
    }


def summary() -> None:
    if not STORE.exists():
        raise SystemExit(f"no records yet: {STORE}")
    records = [json.loads(line) for line in STORE.read_text().splitlines() if line.strip()]
    for key in sorted({(r["image"], r["crop"], r["rate"]) for r in records}, key=str):
        group = [r for r in records if (r["image"], r["crop"], r["rate"]) == key]
        base = group[0]
        per_it = base["wall_time_s"] / base["iterations"]
        common = min(r["iterations"] for r in group)
        print(f"{key[0]} crop={key[1]} SR {key[2]:.0%}; 'at equal time' = where each run is "
              f"after {base['tag']}'s {base['wall_time_s']:.0f} s")
        for r in group:
            curve = dict((int(i), p) for i, p in r["curve_psnr"])
            at = max(i for i in curve if i <= common)  # the last look at or before `common`
            s_it = r["wall_time_s"] / r["iterations"]
            same_time = max((i for i in curve if i * s_it <= base["wall_time_s"] * 1.02),
                            default=None)
            at_time = f"{curve[same_time]:.2f} dB at {same_time}" if same_time else "-"
            print(f"  {r['tag']:<14} {r['iterations']} it, {s_it * 1e3:5.0f} ms/it "
                  f"({s_it / per_it:.2f}x): final {r['final_psnr']:.2f} dB; "
                  f"at {at} it {curve[at]:.2f} dB; at equal time {at_time}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default="woman", help="a Set5 name (needs ../shared/data)")
    ap.add_argument("--rate", type=float, default=0.5)
    ap.add_argument("--crop", default="", help="ROW,COL,SIZE: a square crop; empty: whole")
    ap.add_argument("--iterations", type=int, default=6000)
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON")
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args()
    if args.summary:
        summary()
        return
    require_data("set5")
    torch.set_num_threads(args.threads)
    record = run(args)
    print(json.dumps(record), flush=True)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    with STORE.open("a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
