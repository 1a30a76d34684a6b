"""`fast`'s multichannel choices (network, λ_t, warm start) probed on clips, bands, photos.

Where `fast` inpainting's rules for images that are neither RGB photographs nor long
stacks were chosen (``pyngr.presets``: ``FAST_SEPARATE_HEADS_MIN_CHANNELS``,
``FAST_ROUGH_CHANNELS_MIN``, ...). Each case is a few-channel image cut from the
benchmark data: the first N frames of a video
(``hall:6``), N evenly spaced bands of a hyperspectral cube (``indian:8``) or of the first
clear date of a cloud-removal scene (``cbers4:4``, a real multispectral image), or an RGB
photograph whole (``bsd100/86016``, ``set5/head``; ``set5/head:1`` in grey). It is
restored at random sampling
(``--rate``, 10% by default; mask seed 0) with `fast` as a user gets it, once with each
network, and the final iterate's whole-image PSNR is printed (ground truth only scores)
with the observation's :func:`pyngr.presets.channel_roughness`. hall, akiyo, Indian Pines
and the Landsat-5 / CBERS-4 / Sentinel-2 scenes are validation data (never a report case of
inpainting); claire, Pavia and the photographs are the report's test data, to run only
after the choice is made. ``--set`` overrides settings of every run (``admm.lambda_t=5``,
``init_weights=null`` for no warm start).

Usage::

    python benchmarks/few_channels.py --cases hall:6               # trunk, then separate
    python benchmarks/few_channels.py --cases akiyo:6,indian:8 --store out.jsonl
    python benchmarks/few_channels.py --cases bsd100/86016 --heads shared --rate 0.3
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

import pyngr
from pyngr.bench.datasets import clear_series, load_clean, unit_float
from pyngr.bench.specs import HSI, SCENES, VIDEOS
from pyngr.degradations import random_mask
from pyngr.metrics import evaluate
from pyngr.presets import channel_roughness, parse_override

from _common import DATA, require_data

TEST = ("claire", "pavia")  # and every photograph (dataset/item)


def cut(item: str, n: int | None) -> tuple[np.ndarray, str]:
    """The first ``n`` frames of a video, ``n`` evenly spaced bands of a cube or of a
    cloud-removal scene's first clear date, or a photograph (``dataset/item``; ``:1`` for
    its grey version), as float32 in [0, 1]."""
    if "/" in item:
        dataset, _, name = item.partition("/")
        a = load_clean(DATA, dataset, name)
        what = f"{dataset} {name}"
        if n == 1:  # the photograph in grey (luminance, ITU-R 601 weights as scikit-image)
            from skimage.color import rgb2gray

            a, what = rgb2gray(unit_float(a))[..., None], what + " grey"
    elif n is None:
        raise SystemExit(f"{item!r} needs a channel count (item:N)")
    elif item in VIDEOS:
        a = load_clean(DATA, "video", item)[..., :n]
        what = f"{item} frames 1-{n}"
    elif item in HSI or item in SCENES:
        a = load_clean(DATA, "hsi", item) if item in HSI else clear_series(DATA, item)[0][0]
        bands = np.unique(np.linspace(0, a.shape[-1] - 1, n).round().astype(int))
        a = a[..., bands]
        what = f"{item} bands {','.join(str(b + 1) for b in bands)}"
    else:
        raise SystemExit(f"unknown item {item!r}; expected one of {VIDEOS + HSI + SCENES} "
                         "or dataset/item")
    return np.ascontiguousarray(unit_float(a)), what


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="hall:6", help="item:channels, comma-separated")
    ap.add_argument("--heads", default="shared,separate")
    ap.add_argument("--rate", type=float, default=0.1, help="sampling rate (observed share)")
    ap.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    ap.add_argument("--set", action="append", default=[], help="dotted.path=VALUE override")
    ap.add_argument("--store", type=Path, default=None, help="append each record here")
    a = ap.parse_args()
    require_data()
    overrides = dict(parse_override(s) for s in a.set)
    for spec in a.cases.split(","):
        item, _, n = spec.strip().partition(":")
        clean, what = cut(item, int(n) if n else None)
        mask = random_mask(clean.shape, a.rate, seed=0)
        observed = np.where(mask, clean, 0).astype(np.float32)
        rough = channel_roughness(observed, mask)
        for heads in a.heads.split(","):
            t = time.time()
            res = pyngr.inpaint(observed, mask, preset="fast", device="cpu", seed=2333,
                                iterations=a.iterations, full_output=True,
                                overrides={**overrides, "network.heads": heads})
            wall = time.time() - t
            m = evaluate(res.image, clean)
            rec = {"split": "test" if "/" in item or item in TEST else "validation",
                   "case": f"{what} {clean.shape}, SR {a.rate:.0%}", "heads": heads,
                   "set": a.set, "psnr": round(m["psnr"], 2),
                   "lambda_t": res.settings.admm.lambda_t,
                   "warm_start": res.history.warm_start is not None,  # what was loaded
                   "iterations": res.settings.iterations, "wall_s": round(wall, 1),
                   "roughness": None if rough is None else round(rough, 3),
                   "date": time.strftime("%Y-%m-%d"),
                   "machine": f"{os.cpu_count()}-core CPU, {torch.get_num_threads()} threads"}
            print(json.dumps(rec), flush=True)
            if a.store is not None:
                with a.store.open("a") as f:
                    f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
