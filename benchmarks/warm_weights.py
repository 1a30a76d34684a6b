"""Fit the `fast` RGB inpainting network on one image and save its weights (warm start).

The weights are a warm start for other images (paper Section III-C5, Fig. 14:
``settings.replace(init_weights=path)``): the network then starts from a state that already
maps its random input to gradient maps of a natural image. The default image, scikit-image's
``chelsea`` (CC0) at half size, is neither a benchmark image nor the demo image (the bundled
astronaut), so a run warm-started from these weights has seen none of its own data. Writes
``<out>`` (a ``state_dict``) and ``<out>.json`` (image, settings, mask rate and seed, time),
so the file can be made again; ``src/pyngr/data/fast_rgb_inpaint.pt`` is this script's
output with its defaults.

Usage::

    python benchmarks/warm_weights.py --out src/pyngr/data/fast_rgb_inpaint.pt
    python benchmarks/warm_weights.py --image astronaut --rate 0.3 --out /tmp/w.pt
    python benchmarks/warm_weights.py --grey --out /tmp/grey.pt   # for grey images (tried)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import pyngr
from pyngr.data import demo_image
from pyngr.degradations import random_mask
from pyngr.presets import get_settings

IMAGES = {"chelsea": "skimage.data.chelsea() resized to half (CC0)",
          "astronaut": "pyngr.data.demo_image() (astronaut 128x128, public domain)"}


def _image(name: str) -> np.ndarray:
    if name == "astronaut":
        return demo_image()
    from skimage import data
    from skimage.transform import resize

    full = data.chelsea()
    half = resize(full, (full.shape[0] // 2, full.shape[1] // 2), anti_aliasing=True)
    return np.round(half * 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--image", choices=("chelsea", "astronaut"), default="chelsea",
                    help="chelsea: scikit-image's cat photo at half size (150x226); "
                         "astronaut: the bundled 128x128 demo image")
    ap.add_argument("--rate", type=float, default=0.3, help="share of observed entries")
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--mask-seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--grey", action="store_true",
                    help="fit on the image's grey version (luminance): weights for grey images")
    args = ap.parse_args()
    img = _image(args.image)
    if args.grey:
        from skimage.color import rgb2gray

        img = np.round(rgb2gray(img) * 255).astype(np.uint8)
    mask = random_mask(img.shape, args.rate, seed=args.mask_seed)
    channels = 1 if img.ndim == 2 else img.shape[2]
    # from random weights: the preset's default would start from the bundled file itself
    settings = get_settings("inpaint", "fast", channels=channels).replace(
        iterations=args.iterations, init_weights=None)
    t0 = time.perf_counter()
    res = pyngr.inpaint(np.where(mask, img, 0).astype(img.dtype), mask, settings=settings,
                        device=args.device, ground_truth=img, full_output=True)
    wall = time.perf_counter() - t0
    torch.save(res.network_state, args.out)
    meta = {"image": IMAGES[args.image] + (", grey (luminance)" if args.grey else ""),
            "shape": list(img.shape), "rate": args.rate,
            "mask_seed": args.mask_seed, "settings": res.settings.to_dict(),
            "wall_time_s": round(wall, 1), "device": args.device,
            "psnr_final": res.metrics.get("psnr"), "torch": torch.__version__,
            "pyngr": pyngr.__version__}
    args.out.with_suffix(args.out.suffix + ".json").write_text(json.dumps(meta, indent=2))
    print(json.dumps({k: meta[k] for k in ("rate", "wall_time_s", "psnr_final")}))


if __name__ == "__main__":
    main()
