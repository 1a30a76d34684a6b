"""One NGR run per task on the real benchmark data in ``../shared/data``.

Each case degrades a clean image as SPEC section 5 describes (seeded), restores it with
pyngr's public API, and appends one JSON line to ``benchmarks/results/acceptance.jsonl``
with the final-iterate metrics (whole image and, for inpainting, missing entries only), the
labelled oracle (best monitored PSNR, never the result), iterations, wall time, device and
settings; a side-by-side figure goes to ``benchmarks/results/figures/``.

Usage::

    python benchmarks/acceptance.py --list
    python benchmarks/acceptance.py video_inpainting hsi_deadlines --preset fast
    python benchmarks/acceptance.py butterfly_sr10 --preset paper --iterations 200

Needs ``../shared/data`` (or ``$PYNGR_SHARED_DATA``); exits with a message when it is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.bench.runner import to_unit
from pyngr.degradations import deadline_mask, mixed_noise, random_mask
from pyngr.figures import psnr_curve, side_by_side
from pyngr.io import read_image
from pyngr.metrics import evaluate

from _common import RESULTS, require_data

# Each case returns (task, kwargs for the API call, ground truth, mask or None, note).
Case = Callable[[Path], tuple[str, dict[str, Any], np.ndarray, np.ndarray | None, str]]


def _set5(name: str, rate: float) -> Case:
    def make(data: Path):
        gt = read_image(data / "set5" / f"{name}.png").data
        mask = random_mask(gt.shape, rate, seed=0)
        obs = np.where(mask, gt, 0).astype(gt.dtype)
        return "inpaint", {"image": obs, "mask": mask}, gt, mask, \
            f"Set5 {name}, {gt.shape}, SR {rate:.0%} elementwise"
    return make


def video_inpainting(data: Path):
    gt = read_image(data / "video" / "claire_qcif_gray_10f.mat", key="I").data
    gt = np.ascontiguousarray(gt.transpose(1, 0, 2))  # stored W x H x T (MANIFEST)
    mask = random_mask(gt.shape, 0.1, seed=0)
    return "inpaint", {"image": np.where(mask, gt, 0).astype(gt.dtype), "mask": mask}, gt, mask, \
        f"claire QCIF grey {gt.shape}, SR 10% elementwise"


def hsi_deadlines(data: Path):
    gt = read_image(data / "hsi" / "pavia_centre_crop_100x100x102.mat", key="data").data
    gt = gt.astype(np.float32)
    mask = deadline_mask(gt.shape, n_lines=15, seed=0)
    return "inpaint", {"image": np.where(mask, gt, 0).astype(gt.dtype), "mask": mask}, gt, mask, \
        f"Pavia Centre crop {gt.shape}, 15 dead columns in every band"


def hsi_inpainting(data: Path):
    gt = read_image(data / "hsi" / "pavia_centre_crop_100x100x102.mat", key="data").data
    gt = gt.astype(np.float32)
    mask = random_mask(gt.shape, 0.1, seed=0)
    return "inpaint", {"image": np.where(mask, gt, 0).astype(gt.dtype), "mask": mask}, gt, mask, \
        f"Pavia Centre crop {gt.shape}, SR 10% elementwise"


def decloud_s2(data: Path):
    d = data / "decloud" / "eolearn_s2_101x100"
    scenes = np.load(d / "REFERENCE_SCENES.npy")  # (5, 101, 100, 13); t2, t3, t4 clear
    clm = np.load(d / "CLM.npy")[20, ..., 0].astype(bool)  # real s2cloudless mask, ~25% cover
    series = scenes[[2, 3, 4]].astype(np.float32)
    gt = series[0].copy()
    return "decloud", {"series": series, "cloud_mask": clm}, gt, \
        np.broadcast_to(~clm[..., None], gt.shape), \
        f"Sentinel-2 L1C 13 bands {gt.shape}, 3 clear dates, real cloud mask " \
        f"CLM[20] ({clm.mean():.0%} cover) on date 1"


def video_denoising(data: Path):
    gt = read_image(data / "video" / "hall_qcif_gray_10f.mat").data.astype(np.float32) / 255
    noisy = mixed_noise(gt, "gaussian", seed=0).astype(np.float32)  # sigma 0.1
    return "denoise", {"image": noisy, "noise": "gaussian", "video": True}, gt, None, \
        f"hall QCIF grey {gt.shape}, Gaussian sigma 0.1"


def hsi_mixed_denoising(data: Path):
    gt = read_image(data / "hsi" / "pavia_centre_crop_100x100x102.mat", key="data").data
    gt = gt.astype(np.float32)
    noisy = mixed_noise(gt, "strong", seed=0).astype(np.float32)
    return "denoise", {"image": noisy, "noise": "mixed", "data_range": (0.0, 1.0)}, gt, None, \
        f"Pavia Centre crop {gt.shape}, strong mixed noise (case 3)"


def hsi_mixed_denoising_indian(data: Path):
    gt = read_image(data / "hsi" / "simu_indian_145x145x224.mat").data.astype(np.float32)
    noisy = mixed_noise(gt, "strong", seed=0).astype(np.float32)
    return "denoise", {"image": noisy, "noise": "mixed", "data_range": (0.0, 1.0)}, gt, None, \
        f"simulated Indian Pines {gt.shape}, strong mixed noise (case 3)"


CASES: dict[str, Case] = {
    "butterfly_sr10": _set5("butterfly", 0.1),
    "butterfly_sr30": _set5("butterfly", 0.3),
    "butterfly_sr50": _set5("butterfly", 0.5),
    "video_inpainting": video_inpainting,
    "hsi_deadlines": hsi_deadlines,
    "hsi_inpainting": hsi_inpainting,
    "decloud_s2": decloud_s2,
    "video_denoising": video_denoising,
    "hsi_mixed_denoising": hsi_mixed_denoising,
    "hsi_mixed_denoising_indian": hsi_mixed_denoising_indian,
}


def run_case(name: str, data: Path, preset: str, iterations: int | None, device: str,
             monitor_every: int) -> dict[str, Any]:
    task, kwargs, gt, mask, note = CASES[name](data)
    fn = {"inpaint": pyngr.inpaint, "decloud": pyngr.decloud, "denoise": pyngr.denoise}[task]
    start = time.perf_counter()
    res = fn(**kwargs, preset=preset, iterations=iterations, device=device, progress=True,
             ground_truth=gt, monitor_every=monitor_every, full_output=True)
    wall = time.perf_counter() - start
    out, ref = to_unit(res.image, gt), to_unit(gt, gt)  # as the bench scores
    names = ("psnr", "ssim", "sam", "ergas") if out.ndim == 3 and out.shape[2] > 1 else (
        "psnr", "ssim")
    metrics = {"whole_image": evaluate(out, ref, metrics=names)}
    if mask is not None:
        metrics["missing_entries"] = evaluate(out, ref, region=~mask, metrics=names)
    record = {
        "case": name, "data": note, "task": task, "preset": preset,
        "iterations": res.history.iterations, "wall_time_s": round(wall, 1),
        "seconds_per_iteration": round(res.history.wall_time / res.history.iterations, 4),
        "device": str(res.history.device),
        "device_name": torch.cuda.get_device_name() if torch.cuda.is_available()
        and device != "cpu" else f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} "
                                 "threads)",
        "result": metrics,
        "result_is": res.history.result_is(),
        "final_iterate_psnr": res.history.records[-1].get("psnr"),
        "oracle_monitored_psnr": res.history.oracle,
        "settings": res.settings.to_dict(),
        "versions": {"pyngr": pyngr.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "acceptance.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")
    figs = RESULTS / "figures"
    tag = f"{name}_{preset}_{res.history.iterations}"
    observed = kwargs.get("image", kwargs.get("series", [None])[0])
    if task == "decloud":
        observed = np.where(mask, observed, 0)
    panels = [("observed", observed), (f"NGR ({record['result_is']})", res.image),
              ("ground truth", gt)]
    side_by_side(panels, figs / f"{tag}.png", bands=[0] if "video" in name else None,
                 title=f"{note}; {preset}, {res.history.iterations} it., "
                       f"PSNR {metrics['whole_image']['psnr']:.2f} dB")
    psnr_curve(res.history.records, figs / f"{tag}_psnr.png", title=f"{name} ({preset})")
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--preset", default="fast", choices=["fast", "paper"])
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--monitor-every", type=int, default=50)
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list or not args.cases:
        print("\n".join(CASES))
        return
    data = require_data()
    for name in args.cases:
        if name not in CASES:
            sys.exit(f"unknown case {name!r}; --list shows them")
        rec = run_case(name, data, args.preset, args.iterations, args.device,
                       args.monitor_every)
        fin = rec["result"]
        print(json.dumps({"case": name, "preset": args.preset, "iterations": rec["iterations"],
                          "s/it": rec["seconds_per_iteration"], **{
                              f"{k}_{m}": round(v, 3) for k, d in fin.items()
                              for m, v in d.items()},
                          "result_is": rec["result_is"],
                          "final_iterate_psnr": rec["final_iterate_psnr"],
                          "oracle_psnr": rec["oracle_monitored_psnr"]}), flush=True)


if __name__ == "__main__":
    main()
