"""Where a `paper` iteration spends its GPU time (for the next lent GPU; ~1 minute).

Profiles iterations n+1..2n of a `pyngr.inpaint` run (256x256x3, SR 10%, `paper` preset;
the first n are the warm-up: set-up, cuDNN's search, compilation), for the engine variants
given, and prints
for each: wall ms per iteration, the GPU's busy ms per iteration (sum of kernel times: far
below the wall time means launch-bound), host-device synchronisations per iteration (the
loop should have none between monitoring points), and the top kernels by GPU time, as JSON
lines.

Usage (repository root, GPU machine)::

    python benchmarks/profile_gpu.py --variants fused,fused-compiled --iterations 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

import pyngr
from pyngr.degradations import random_mask
from pyngr.presets import get_settings
from pyngr.solvers import IterationInfo

VARIANTS = {
    "separate": {},
    "fused": {"fused": True},
    "fused-cl": {"fused": True, "channels_last": True},
    "fused-bf16": {"fused": True, "precision": "bfloat16"},
    "fused-compiled": {"fused": True, "compile": "default"},  # no CUDA graphs: kernels seen
    # H100 2026-11-26: with fused grouped convolutions, convolution kernels are ~9 of the
    # 9.2 ms of a CUDA-graph iteration, with cuDNN's NCHW<->NHWC transposes and a
    # non-tensor-core weight-gradient kernel among the top: do ungrouped (separate)
    # convolutions, channels-last or bf16 do better once launches cost nothing?
    "separate-compiled": {"compile": "default"},
    "separate-cl-compiled": {"channels_last": True, "compile": "default"},
    "separate-cl-bf16-compiled": {"channels_last": True, "precision": "bfloat16",
                                  "compile": "default"},
}


def emit(**kw: object) -> None:
    print(json.dumps(kw, default=str), flush=True)


def profiled_run(obs: np.ndarray, mask: np.ndarray, settings: object, dev: str,
                 n: int) -> tuple[profile, float]:
    """Profile iterations n+1..2n of one run; the first n (set-up, parameter copies, cuDNN's
    search, compilation) are the warm-up and stay out of the counts."""
    cuda = dev.startswith("cuda")
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    prof = profile(activities=acts)
    clock: dict[str, float] = {}

    def window(info: IterationInfo) -> None:
        if cuda:
            torch.cuda.synchronize()
        if info.iteration == n:
            prof.start()
            clock["start"] = time.perf_counter()
        elif info.iteration == 2 * n:
            clock["wall"] = time.perf_counter() - clock["start"]
            prof.stop()

    pyngr.inpaint(obs, mask, settings=settings.replace(iterations=2 * n),  # type: ignore[attr-defined]
                  device=dev, monitor_every=n, callback=window)
    return prof, clock["wall"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default="fused,fused-compiled")
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--device", default="cuda", help="cpu for a smoke run of the script")
    args = ap.parse_args()
    img = np.random.default_rng(0).random((args.size, args.size, 3)).astype(np.float32)
    mask = random_mask(img.shape, 0.1, seed=0)
    obs = img * mask
    for name in args.variants.split(","):
        s = get_settings("inpaint", "paper")
        s = s.replace(network=dataclasses.replace(s.network, **VARIANTS[name]))
        dev = args.device
        n = args.iterations
        prof, wall = profiled_run(obs, mask, s, dev, n)
        averages = prof.key_averages()
        syncs = {e.key: round(e.count / n, 2) for e in averages
                 if "Synchronize" in e.key or e.key == "aten::_local_scalar_dense"}
        # Kernels are the device-side events; the framework's operators (aten::...) carry
        # the time of the kernels they launched too, so summing both would count it twice.
        timed = [e for e in averages if e.self_device_time_total > 0]
        kernels = [e for e in timed if e.device_type == DeviceType.CUDA]
        ops = [e for e in timed if e.device_type != DeviceType.CUDA]
        busy = sum(e.self_device_time_total for e in kernels) / 1000 / n  # us -> ms
        emit(variant=name, iterations=n, wall_ms_per_iteration=round(1000 * wall / n, 2),
             gpu_busy_ms_per_iteration=round(busy, 2),
             kernel_launches_per_iteration=round(sum(e.count for e in kernels) / n, 1),
             host_syncs_per_iteration=syncs,
             note="wall includes profiler overhead; the syncs include the one of the "
                  "monitoring point that closes the window")
        for kind, events in (("kernel", kernels), ("op", ops)):
            events.sort(key=lambda e: e.self_device_time_total, reverse=True)
            for e in events[: args.top]:
                emit(variant=name, **{kind: e.key[:120]},
                     ms_per_iteration=round(e.self_device_time_total / 1000 / n, 3),
                     calls_per_iteration=round(e.count / n, 1))


if __name__ == "__main__":
    main()
