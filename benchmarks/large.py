"""Large inputs: do a 2048×2048 RGB image and a 512×512×191 cube fit, and at what cost?

For each case and preset, a fresh subprocess restores the input for a few iterations under a
memory budget (``--max-memory`` GiB, default 24, the issue's figure; on CUDA the GPU's free
memory) and reports:

- pyngr's estimate (:func:`pyngr.tiling.estimate_memory`) for the whole input and the plan
  (whole image, or the tile size and number of tiles);
- the measured peak: on CPU the growth of the process's peak resident set (``VmHWM``) over
  the run, on CUDA ``torch.cuda.max_memory_allocated``;
- seconds per iteration (per tile when tiled) and the extrapolated wall time of the preset's
  full iteration count.

``--quality`` instead measures what tiling costs in PSNR: the same inpainting problem (Set5
butterfly, SR 30%, ``fast`` preset) restored whole and in tiles, final iterates.

Inputs: Set5 "baby" (512×512) resized to 2048×2048 (bicubic) with 30% of the entries
observed; the Indian Pines cube (145×145×224) mirrored to 512×512 and cut to 191 bands with
10% observed (``$PYNGR_SHARED_DATA``, default ``../shared/data``; random data when absent).

Usage::

    python benchmarks/large.py                      # both cases, fast and paper, CPU
    python benchmarks/large.py --device cuda        # on a GPU (budget: its free memory)
    python benchmarks/large.py --quality --iterations 600
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import DATA, RESULTS

STORE = RESULTS / "large.jsonl"


def emit(record: dict[str, Any], save: bool) -> None:
    line = json.dumps(record, default=str)
    print(line, flush=True)
    if save:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        with STORE.open("a") as f:
            f.write(line + "\n")


def rgb_2048() -> tuple[np.ndarray, str]:
    from skimage.transform import resize

    path = DATA / "set5" / "baby.png"
    if path.exists():
        from pyngr.io import read_image

        img = read_image(path).data.astype(np.float32) / 255.0
        src = "Set5 baby 512x512 resized to 2048x2048 (bicubic)"
    else:
        img = np.random.default_rng(0).random((512, 512, 3)).astype(np.float32)
        src = "random 512x512x3 resized to 2048x2048 (no data folder)"
    return resize(img, (2048, 2048), order=3).astype(np.float32).clip(0, 1), src


def hsi_512() -> tuple[np.ndarray, str]:
    from pyngr.io import read_image

    path = DATA / "hsi" / "simu_indian_145x145x224.mat"
    if path.exists():
        cube = read_image(path).data.astype(np.float32)
        src = "Indian Pines 145x145x224 mirrored to 512x512, first 191 bands"
    else:
        cube = np.random.default_rng(0).random((145, 145, 224)).astype(np.float32)
        src = "random 145x145x224 mirrored (no data folder)"
    lo, hi = np.percentile(cube, (0.1, 99.9))
    cube = ((cube - lo) / (hi - lo)).clip(0, 1)[..., :191]
    reps = -(-512 // 145)
    tiled = np.concatenate([cube, cube[::-1]] * reps, axis=0)[:512]
    tiled = np.concatenate([tiled, tiled[:, ::-1]] * reps, axis=1)[:, :512]
    return np.ascontiguousarray(tiled), src


CASES = {"rgb2048": (rgb_2048, 0.3), "hsi512x191": (hsi_512, 0.1)}


def _vm(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def child(case: str, preset: str, iterations: int, device: str,
          max_memory: float | None) -> dict[str, Any]:
    import torch

    import pyngr
    from pyngr.degradations import random_mask
    from pyngr.presets import get_settings
    from pyngr.tiling import available_memory, estimate_memory, plan_tile, tiles_needed

    make, rate = CASES[case]
    img, source = make()
    h, w, c = img.shape
    mask = random_mask(img.shape, rate, seed=0)
    obs = np.where(mask, img, 0).astype(np.float32)
    settings = get_settings("inpaint", preset, channels=c)
    full_iterations = settings.iterations
    est = estimate_memory((c, h, w), settings)
    budget = int(max_memory * 2**30) if max_memory else available_memory(device)
    tile = plan_tile((c, h, w), settings, budget) if budget else None
    n_tiles = 1 if tile is None else tiles_needed(h, w, tile, settings.tile_overlap)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    if Path("/proc/self/clear_refs").exists():  # reset VmHWM (Linux)
        Path("/proc/self/clear_refs").write_text("5")
    base = _vm("VmRSS")
    t0 = time.perf_counter()
    res = pyngr.inpaint(obs, mask, settings=settings.replace(iterations=iterations),
                        device=device, max_memory=max_memory, full_output=True)
    wall = time.perf_counter() - t0
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        how = "torch.cuda.max_memory_allocated"
    else:
        peak = _vm("VmHWM") - base
        how = "peak resident set growth over the run (VmHWM reset before it)"
    tiles = res.history.tiles or [{"wall_time": res.history.wall_time}]
    per_iteration = sum(t["wall_time"] for t in tiles) / (iterations * len(tiles))
    return {
        "case": case, "source": source, "shape": [h, w, c], "preset": preset,
        "device": device, "budget_gib": None if budget is None else round(budget / 2**30, 2),
        "estimate_whole_gib": round(est.total / 2**30, 2),
        "plan": "whole image" if tile is None else f"{n_tiles} tiles of {tile}x{tile}",
        "tile": res.settings.tile, "tiles_run": len(res.history.tiles) or 1,
        "estimate_run_gib": round(estimate_memory(
            (c, min(tile or h, h), min(tile or w, w)), settings).total / 2**30, 2),
        "peak_gib": round(peak / 2**30, 2), "peak_is": how,
        "iterations": iterations, "seconds_per_iteration_per_tile": round(per_iteration, 3),
        "wall_s": round(wall, 1), "full_iterations": full_iterations,
        "extrapolated_full_run_h": round(per_iteration * full_iterations * len(tiles) / 3600,
                                         2),
        "torch_threads": torch.get_num_threads(),
    }


def quality(iterations: int, device: str, save: bool) -> None:
    import pyngr
    from pyngr.degradations import random_mask
    from pyngr.io import read_image
    from pyngr.metrics import evaluate
    from pyngr.presets import get_settings

    path = DATA / "set5" / "butterfly.png"
    if not path.exists():
        print(f"skipped: {path} not found", file=sys.stderr)
        return
    img = read_image(path).data
    mask = random_mask(img.shape, 0.3, seed=0)
    obs = np.where(mask, img, 0).astype(np.uint8)
    s = get_settings("inpaint", "fast").replace(iterations=iterations)
    for tile in (None, 160, 128):
        t0 = time.perf_counter()
        out = pyngr.inpaint(obs, mask, settings=s, tile=tile, device=device, max_memory=64)
        psnr = evaluate(out / 255.0, img / 255.0, metrics=("psnr",))["psnr"]
        emit({"quality": "set5 butterfly SR 30%", "preset": "fast", "iterations": iterations,
              "tile": tile, "psnr_final_iterate": round(psnr, 2),
              "wall_s": round(time.perf_counter() - t0, 1), "device": device}, save)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--presets", default="fast,paper")
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-memory", type=float, default=None,
                    help="GiB (default: 24 on CPU, the free memory on CUDA)")
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--save", action="store_true", help=f"append to {STORE}")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    budget = a.max_memory if a.max_memory else (None if a.device.startswith("cuda") else 24.0)
    if a._child:
        print(json.dumps(child(a._child[0], a._child[1], a.iterations, a.device, budget)))
        return
    if a.quality:
        quality(a.iterations, a.device, a.save)
        return
    for case in a.cases.split(","):
        for preset in a.presets.split(","):
            cmd = [sys.executable, __file__, "--_child", case, preset, "--iterations",
                   str(a.iterations), "--device", a.device]
            if a.max_memory:
                cmd += ["--max-memory", str(a.max_memory)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode or not lines:
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                emit({"case": case, "preset": preset, "device": a.device,
                      "failed": tail}, a.save)
                continue
            emit(json.loads(lines[-1]), a.save)


if __name__ == "__main__":
    main()
