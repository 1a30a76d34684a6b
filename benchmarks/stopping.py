"""What the observation-only stopping rule (``Settings.stop_tolerance``) saves and costs.

The rule looks at the estimate every ``selection_window`` iterations and stops once its
relative change since the previous look, ‖X_k − X_{k−w}‖ / ‖X_k‖, falls below the
tolerance. Stopping does not change the iterates before it, so one full run per case gives
the answer for every tolerance: this script records that change and the PSNR against ground
truth (reporting only) at every look, then, for each tolerance, reports where the rule would
stop, the final-iterate PSNR there, and its gap to the full run's final iterate.

``--holdout F`` withholds F of the observed entries from the solver and records their PSNR
at each look: a held-out error estimate from the observation alone. ``--summary`` reads the
store and, for each such trace, reports where "stop once the held-out PSNR gained less than
DELTA dB over LAG iterations" would stop, against the same image and rate traced without a
hold-out (what withholding costs).

Usage::

    python benchmarks/stopping.py                       # bundled image, SR 10/30/50%
    python benchmarks/stopping.py --images demo,butterfly --rates 0.1
    python benchmarks/stopping.py --holdout 0.05 --save  # the hold-out traces
    python benchmarks/stopping.py --summary --lag 200 --delta 0.1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.data import demo_image
from pyngr.degradations import random_mask
from pyngr.metrics import psnr
from pyngr.presets import get_settings

from _common import DATA, RESULTS, set5

STORE = RESULTS / "stopping.jsonl"
TOLERANCES = (1e-2, 5e-3, 3e-3, 2e-3, 1e-3, 5e-4)


def load(name: str) -> np.ndarray:
    if name == "demo":
        return demo_image()
    if "/" in name:  # a benchmark item, e.g. video/claire or hsi/pavia
        from pyngr.bench.datasets import load_clean

        dataset, item = name.split("/", 1)
        return load_clean(DATA, dataset, item)
    return set5(name)


def trace(image: np.ndarray, rate: float, preset: str, device: str,
          iterations: int | None = None, holdout: float = 0.0) -> dict[str, Any]:
    mask = random_mask(image.shape, rate, seed=0)
    obs = np.where(mask, image, 0).astype(image.dtype)
    # Held-out entries: observed, but withheld from the solver; the fit of the estimate to
    # them is an observation-only estimate of its error on the missing entries.
    held = mask & (np.random.default_rng(1).random(mask.shape) < holdout)
    if holdout and image.dtype != np.uint8:
        raise SystemExit("--holdout needs 8-bit images (value / 255 is their [0, 1] scale)")
    reference = image / 255.0
    channels = 1 if image.ndim == 2 else image.shape[2]
    s = get_settings("inpaint", preset, channels=channels)
    if iterations:
        s = s.replace(iterations=iterations)
    window = s.selection_window
    points: list[dict[str, float]] = []
    previous: list[torch.Tensor] = []

    def look(info: Any) -> None:
        est = torch.from_numpy(info.estimate()).double()
        change = float("nan")
        if previous:
            change = float((est - previous[0]).norm() / est.norm().clamp_min(1e-12))
            previous[0] = est
        else:
            previous.append(est)
        point = {"iteration": info.iteration, "change": change,
                 "psnr": info.metrics["psnr"], "psnr_missing": info.metrics["psnr_missing"],
                 "elapsed": info.elapsed}
        if holdout:  # the missing entries of the original mask, and the held-out fit
            result = np.moveaxis(info.estimate(), 0, -1).reshape(image.shape)
            point["psnr_missing"] = psnr(result, reference, region=~mask)
            if held.any():
                point["psnr_holdout"] = psnr(result, reference, region=held)
        points.append(point)

    t0 = time.perf_counter()
    pyngr.inpaint(obs, mask & ~held, settings=s, device=device, ground_truth=image,
                  monitor_every=window, callback=look)
    return {"preset": preset, "window": window, "iterations": s.iterations,
            "holdout": holdout, "held_entries": int(held.sum()),
            "wall_s": round(time.perf_counter() - t0, 1), "points": points}


def summarise(t: dict[str, Any]) -> list[dict[str, Any]]:
    pts = t["points"]
    final = pts[-1]
    out = []
    for tol in TOLERANCES:
        stop = next((p for p in pts[:-1] if p["change"] == p["change"] and p["change"] < tol),
                    final)
        out.append({"tolerance": tol, "stops_at": stop["iteration"],
                    "iterations_saved": round(1 - stop["iteration"] / final["iteration"], 3),
                    "psnr_missing_at_stop": round(stop["psnr_missing"], 2),
                    "gap_db_full_minus_stop": round(final["psnr_missing"]
                                                    - stop["psnr_missing"], 3)})
    return out


def holdout_summary(records: list[dict[str, Any]], lag: int, delta: float) -> None:
    """Print the held-out stopping rule on every hold-out trace of ``records``."""
    plain = {(r["image"], r["rate"]): r for r in records if not r.get("holdout")}
    print(f"held-out rule: stop once the held-out PSNR gained < {delta} dB over {lag} "
          "iterations; PSNR on the missing entries (dB)")
    print("| image | rate | hold-out | stops at | at stop | final of this run | final without "
          "hold-out |")
    print("|---|---|---|---|---|---|---|")
    for r in records:
        if not r.get("holdout"):
            continue
        pts = r["points"]
        by = {p["iteration"]: p for p in pts}
        stop = next((p for p in pts if p["iteration"] - lag in by and p["psnr_holdout"]
                     - by[p["iteration"] - lag]["psnr_holdout"] < delta), pts[-1])
        base = plain.get((r["image"], r["rate"]))
        without = f"{base['points'][-1]['psnr_missing']:.2f}" if base else "–"
        print(f"| {r['image']} | {r['rate']} | {r['holdout']} | {stop['iteration']} | "
              f"{stop['psnr_missing']:.2f} | {pts[-1]['psnr_missing']:.2f} | {without} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", default="demo",
                    help="demo, Set5 names, or benchmark items such as video/claire, hsi/pavia")
    ap.add_argument("--iterations", type=int, default=None, help="instead of the preset's")
    ap.add_argument("--rates", default="0.1,0.3,0.5")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--holdout", type=float, default=0.0,
                    help="fraction of the observed entries withheld from the solver; their "
                         "PSNR is recorded at each look (8-bit images)")
    ap.add_argument("--save", action="store_true", help=f"append to {STORE}")
    ap.add_argument("--store", type=Path, default=STORE, help="the store --save appends to")
    ap.add_argument("--summary", action="store_true",
                    help="print the held-out stopping rule on the store's hold-out traces")
    ap.add_argument("--lag", type=int, default=200, help="--summary: iterations compared")
    ap.add_argument("--delta", type=float, default=0.1, help="--summary: least gain (dB)")
    a = ap.parse_args()
    if a.summary:
        with a.store.open() as f:
            holdout_summary([json.loads(line) for line in f if line.strip()], a.lag, a.delta)
        return
    for name in a.images.split(","):
        image = load(name)
        for rate in (float(r) for r in a.rates.split(",")):
            t = trace(image, rate, a.preset, a.device, a.iterations, a.holdout)
            rec = {"image": name, "shape": list(image.shape), "rate": rate, "device": a.device,
                   "torch_threads": torch.get_num_threads(),
                   "full_psnr_missing": round(t["points"][-1]["psnr_missing"], 2),
                   "rule": summarise(t), **t}
            print(json.dumps({k: v for k, v in rec.items() if k != "points"}), flush=True)
            if a.save:
                a.store.parent.mkdir(parents=True, exist_ok=True)
                with a.store.open("a") as f:
                    f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
