"""How much quality the ``fast`` preset gives up against ``paper``, and at what cost.

Both presets restore the same observation (the bundled demo image, or a Set5 image from
``../shared/data``) at the same sampling rate; the script prints, for each preset, the
final-iterate PSNR on the missing entries at every monitoring point (so a reduced
iteration budget can be read off the curve), the seconds per iteration, and the ratios, all
measured in this one process. Results are appended to ``benchmarks/results/presets.jsonl``.

Usage::

    python benchmarks/presets.py --rate 0.1 --paper-iterations 1500
    python benchmarks/presets.py --image butterfly --paper-iterations 150
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

import pyngr
from pyngr.data import demo_image
from pyngr.degradations import random_mask

from _common import RESULTS, set5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="demo", help="'demo' or a Set5 name (needs shared data)")
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--fast-iterations", type=int, default=None)
    ap.add_argument("--paper-iterations", type=int, default=1500)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--monitor-every", type=int, default=100)
    args = ap.parse_args()
    if args.image == "demo":
        gt = demo_image()
    else:
        gt = set5(args.image)
    mask = random_mask(gt.shape, args.rate, seed=0)
    obs = np.where(mask, gt, 0).astype(gt.dtype)
    out = {}
    for preset, iters in (("fast", args.fast_iterations), ("paper", args.paper_iterations)):
        res = pyngr.inpaint(obs, mask, preset=preset, iterations=iters, device=args.device,
                            ground_truth=gt, monitor_every=args.monitor_every, progress=True,
                            full_output=True)
        h = res.history
        out[preset] = {
            "iterations": h.iterations,
            "seconds_per_iteration": h.wall_time / h.iterations,
            "wall_time_s": h.wall_time,
            "final_psnr_missing": res.metrics["psnr_missing"],
            "final_psnr": res.metrics["psnr"],
            "curve_psnr_missing": [(r["iteration"], round(r["psnr_missing"], 3))
                                   for r in h.records],
            "oracle_monitored": h.oracle,
        }
        print(preset, json.dumps(out[preset]), flush=True)
    f, p = out["fast"], out["paper"]
    summary = {
        "image": args.image, "shape": list(gt.shape), "rate": args.rate,
        "device": args.device if args.device != "cpu" else
        f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)",
        "per_iteration_speedup_fast_vs_paper": p["seconds_per_iteration"]
        / f["seconds_per_iteration"],
        "psnr_missing_fast_final": f["final_psnr_missing"],
        "psnr_missing_paper_final": p["final_psnr_missing"],
        "gap_db_paper_minus_fast": p["final_psnr_missing"] - f["final_psnr_missing"],
        "wall_time_ratio_fast_over_paper": f["wall_time_s"] / p["wall_time_s"],
        "runs": out,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "presets.jsonl", "a") as fh:
        fh.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
