"""Separate networks or the trunk below 10 channels? A probe on a short clip.

`fast` inpainting uses three separate networks from 10 channels on
(``pyngr.presets.FAST_SEPARATE_HEADS_MIN_CHANNELS``); below, the shared trunk, unmeasured
there. This restores the first ``--frames`` frames of the validation video hall (never a
report case) at 10% random sampling (mask seed 0) with `fast` as a user gets it, once with
each network, and prints the final iterate's whole-image PSNR (ground truth only scores).

Usage::

    python benchmarks/few_channels.py --frames 6          # trunk, then separate networks
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import pyngr
from pyngr.bench.datasets import load_clean
from pyngr.degradations import random_mask
from pyngr.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PYNGR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--heads", default="shared,separate")
    ap.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    a = ap.parse_args()
    if not (DATA / "video").is_dir():
        raise SystemExit(f"benchmark data not found at {DATA} (set PYNGR_SHARED_DATA)")
    clean = load_clean(DATA, "video", "hall")[..., :a.frames]
    mask = random_mask(clean.shape, 0.1, seed=0)
    observed = np.where(mask, clean, 0).astype(clean.dtype)
    for heads in a.heads.split(","):
        t = time.time()
        res = pyngr.inpaint(observed, mask, preset="fast", device="cpu", seed=2333,
                            iterations=a.iterations, full_output=True,
                            overrides={"network.heads": heads})
        wall = time.time() - t
        m = evaluate(res.image.astype(np.float32) / 255, clean.astype(np.float32) / 255)
        print(json.dumps({"case": f"hall frames 1-{a.frames} {clean.shape}, SR 10%",
                          "heads": heads, "psnr": round(m["psnr"], 2),
                          "lambda_t": res.settings.admm.lambda_t,
                          "iterations": res.settings.iterations, "wall_s": round(wall, 1)}))


if __name__ == "__main__":
    main()
