"""One short script for a lent GPU: CUDA correctness and timings, printed as JSON lines.

1. The same tiny inpainting and denoising runs on CPU and on CUDA (same seed) agree to
   float32 round-off after a few iterations.
2. Seconds per iteration of the ``paper`` and ``fast`` presets at 256×256×3 (Set5
   butterfly, SR 10%) on the GPU.
3. Optionally (``--full``) the ``paper`` preset on butterfly for ``--iterations`` iterations:
   final-iterate PSNR (the honest number) and the labelled oracle.

Usage (from the repository root on the GPU machine)::

    python benchmarks/gpu_check.py                # checks + timings (~1-2 minutes)
    python benchmarks/gpu_check.py --full --iterations 15000
    python benchmarks/gpu_check.py --skip-timings --full --compile reduce-overhead
    python benchmarks/gpu_check.py --device cpu --skip-timings --full --preset fast \
        --iterations 3000     # the same image and mask with `fast` on a CPU
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

import pyngr
from pyngr.data import demo_image
from pyngr.degradations import random_mask
from pyngr.presets import get_settings
from pyngr.solvers import IterationInfo

from _common import DATA, set5


def emit(**kw: object) -> None:
    print(json.dumps(kw, default=str), flush=True)


def butterfly() -> np.ndarray:
    return set5("butterfly") if (DATA / "set5" / "butterfly.png").exists() else demo_image()


def agreement(device: str) -> None:
    """CPU and ``device`` from one seed: the input, weights and start are drawn on the CPU,
    so with no per-iteration input perturbation (drawn on the device) they agree to float32
    round-off; with it, they are two draws of the same run."""
    img = demo_image()[:48, :48]
    mask = random_mask(img.shape, 0.3, seed=0)
    obs = np.where(mask, img, 0).astype(np.uint8)
    noisy = (img / 255.0 + 0.1 * np.random.default_rng(0).standard_normal(img.shape))
    for perturb in (False, True):
        st = get_settings("inpaint", "fast").replace(iterations=5)
        sd = get_settings("denoise", "fast", noise="gaussian").replace(iterations=5)
        if not perturb:
            st = st.replace(network=dataclasses.replace(st.network, input_noise=0.0))
            sd = sd.replace(network=dataclasses.replace(sd.network, input_noise=0.0))
        a = pyngr.inpaint(obs, mask, settings=st, device="cpu")
        b = pyngr.inpaint(obs, mask, settings=st, device=device)
        emit(check="inpaint cpu vs cuda", input_perturbation=perturb,
             max_abs_diff_uint8=int(np.abs(a.astype(int) - b).max()),
             mean_abs_diff_uint8=float(np.abs(a.astype(int) - b).mean()))
        c = pyngr.denoise(noisy, settings=sd, noise="gaussian", device="cpu")
        d = pyngr.denoise(noisy, settings=sd, noise="gaussian", device=device)
        emit(check="denoise cpu vs cuda", input_perturbation=perturb,
             max_abs_diff=float(np.abs(c - d).max()), mean_abs_diff=float(np.abs(c - d).mean()))


def per_iteration(device: str, preset: str, n: int, fused: bool = False) -> float:
    gt = butterfly()
    mask = random_mask(gt.shape, 0.1, seed=0)
    obs = np.where(mask, gt, 0).astype(gt.dtype)
    s = get_settings("inpaint", preset)
    s = s.replace(network=dataclasses.replace(s.network, fused=fused))
    pyngr.inpaint(obs, mask, settings=s.replace(iterations=5), device=device)  # warm-up
    start = time.perf_counter()
    res = pyngr.inpaint(obs, mask, settings=s.replace(iterations=n), device=device,
                        monitor_every=n, full_output=True)
    wall = time.perf_counter() - start
    emit(timing=preset + (" fused" if fused else ""), shape=list(gt.shape), iterations=n,
         wall_s=round(wall, 2),
         ms_per_iteration=round(1000 * res.history.wall_time / n, 2),
         peak_gpu_mib=round(torch.cuda.max_memory_allocated() / 2**20)
         if device.startswith("cuda") else None)
    return wall / n


def full_run(device: str, iterations: int, compile_mode: str, preset: str = "paper") -> None:
    """Butterfly SR 10% with ``preset`` (fused heads, optionally compiled); prints the
    PSNR of the iterate every 500 iterations as it goes (each is the final iterate of a run
    stopped there), then the final-iterate PSNR and the labelled oracle."""
    gt = butterfly()
    mask = random_mask(gt.shape, 0.1, seed=0)
    s = get_settings("inpaint", preset).replace(iterations=iterations)
    s = s.replace(network=dataclasses.replace(s.network, fused=True, compile=compile_mode))

    def show(info: IterationInfo) -> None:
        if info.iteration % 500 == 0:
            emit(iteration=info.iteration, elapsed_s=round(info.elapsed, 1),
                 psnr=round(info.metrics.get("psnr", float("nan")), 2))
    res = pyngr.inpaint(np.where(mask, gt, 0).astype(gt.dtype), mask, settings=s,
                        device=device, ground_truth=gt, monitor_every=500, callback=show,
                        full_output=True)
    emit(run=f"butterfly SR10% {preset}", fused=True, compile=compile_mode,
         iterations=res.history.iterations, wall_s=round(res.history.wall_time, 1),
         final_iterate_psnr=res.metrics["psnr"],
         final_iterate_psnr_missing=res.metrics["psnr_missing"],
         oracle_monitored=res.history.oracle)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--skip-timings", action="store_true",
                    help="no per-iteration timings (agreement on CUDA, then --full)")
    ap.add_argument("--preset", default="paper", choices=["paper", "fast"],
                    help="preset of the --full run")
    ap.add_argument("--iterations", type=int, default=15000)
    ap.add_argument("--compile", default="none",
                    choices=["none", "default", "reduce-overhead", "max-autotune"])
    args = ap.parse_args()
    emit(device=args.device, name=torch.cuda.get_device_name() if torch.cuda.is_available()
         else "cpu", torch=torch.__version__, pyngr=pyngr.__version__)
    if args.device.startswith("cuda"):
        agreement(args.device)
    if not args.skip_timings:
        n = 50 if args.device != "cpu" else 3
        paper = per_iteration(args.device, "paper", n)
        fused = per_iteration(args.device, "paper", n, fused=True)
        emit(ratio="paper s/it, separate over fused (grouped convolutions)",
             value=round(paper / fused, 2))
        fast = per_iteration(args.device, "fast", 200 if args.device != "cpu" else 10)
        emit(ratio="paper s/it over fast s/it", value=round(paper / fast, 2))
    if args.full:
        full_run(args.device, args.iterations, args.compile, args.preset)


if __name__ == "__main__":
    main()
