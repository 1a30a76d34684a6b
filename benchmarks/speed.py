"""Per-iteration speed of pyngr's engine against the straightforward reference loop.

Everything is measured in this one run on this one machine; the ratios printed at the end
come from these measurements only.

Variants (``--variants``):

``reference``
    The straightforward PyTorch implementation of the reference configuration, written in
    this file from SPEC sections 2 and 4 (pyngr's solver is not used): three independent
    128-channel, 5-scale DIP skip networks run one after the other, G0 ~ U[0, 0.1) plus fresh
    N(0, 0.03²) noise each iteration, one Adam (lr 0.01) over the three networks, the
    inpainting ADMM (network loss, backward, Adam step, complex-FFT X-solve, auxiliary,
    multiplier and penalty updates), and the reference code's per-iteration habits that SPEC
    section 8 lists as defects: ``loss.item()``, a PSNR against ground truth pulled to the
    host (with keep-the-best bookkeeping) and, on CUDA, ``torch.cuda.empty_cache()``.
``paper``
    ``pyngr.inpaint`` with ``get_settings("inpaint", "paper", channels=C)``.
``paper-fused``
    the same with ``network.fused=True`` (the three networks as grouped convolutions).
``paper-cl``, ``paper-bf16``
    ``paper`` with channels-last activations / bfloat16 autocast in the network.
``paper-graphs``
    ``paper-fused`` compiled with ``torch.compile(mode="reduce-overhead")`` (CUDA graphs).
``paper-best``
    all of them together. (``-graphs`` and ``-best`` run on CPU only when named.)
``fast``
    ``pyngr.inpaint`` with the ``fast`` preset.
``fast-trunk``
    the same with one shared trunk (``network.heads="shared"``), the preset's network for
    images of fewer than 10 channels and, before this version, for all: from 10 channels on
    ``fast`` uses three separate networks, and ``fast_over_fast_trunk`` is their cost
    (only when named with ``--variants``).

``--batch K`` times each engine variant on K images of the size restored together
(``pyngr.inpaint_many``: one launch per layer for all K networks with ``fused``); its
``ms_per_iteration`` is then per image (the batch's time divided by K, i.e. throughput),
``ms_per_batch_iteration`` the batch's, and the 10x target line does not apply (it is
about one run's latency).

The engine variants are monitored every ``--every`` iterations only (a callback records
the time there); the reference loop synchronises every iteration by construction. Time per
iteration is the median over ``--repeats`` blocks of ``--every`` iterations after at least
``--warmup`` warm-up iterations, with ``torch.cuda.synchronize()`` at each block boundary on
CUDA. Peak memory: ``torch.cuda.max_memory_allocated`` (reset per variant) on CUDA; on CPU
each variant runs in a fresh subprocess and the growth of its peak resident set
(``VmHWM``, reset through ``/proc/self/clear_refs``) is reported, or null with a note.
Inputs are random images in [0, 1] with 30% of the entries observed (fixed seed).

On CUDA the script also runs a short sync check: a few iterations of the reference loop and
of the engine (``paper``) under ``torch.cuda.set_sync_debug_mode("warn")``, reporting every
host-device synchronisation and the source line that caused it.

``--time-to-quality`` (meant for a GPU) instead restores Set5 images at SR 10/30/50% and the
Pavia Centre crop at SR 10% (``$PYNGR_SHARED_DATA``, default ``../shared/data``) with the
``paper`` and ``fast`` presets and reports the final-iterate PSNR, the seconds until each run
first comes within 0.1 dB of the paper preset's final PSNR, the fast preset's gap and the
wall-time ratio. Ground truth is used for monitoring and reporting only.

Usage (from the repository root)::

    python benchmarks/speed.py                              # all four sizes on a GPU
    OMP_NUM_THREADS=1 python benchmarks/speed.py --quick    # CPU smoke run (~1 minute)
    python benchmarks/speed.py --sizes 256x256x3 --variants reference,paper
    python benchmarks/speed.py --time-to-quality            # GPU: 16 full paper runs (long)
    python benchmarks/speed.py --time-to-quality --iterations 3000 --images butterfly
    python benchmarks/speed.py --time-to-quality --iterations 20 --quick   # CPU smoke run

On CPU the default sizes are 256x256x3 and 144x176x30 (``--quick``: 256x256x3 only, one
warm-up and one timed iteration per variant); name the larger ones with ``--sizes``.
``--time-to-quality --quick`` crops the images to 64×64 pixels, uses Set5 butterfly at SR
10% and Pavia, and caps both presets at ``--iterations`` (default 20): a smoke run only.

Output: one JSON line per (size, variant), a summary line per size and a target line;
``--save`` also appends them to ``benchmarks/results/speed.jsonl``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.networks import SkipNet
from pyngr.presets import NetworkSettings, Settings, get_settings

from _common import DATA, RESULTS

#: Engine variants of the ``paper`` preset: network options on top of the same model.
PAPER_OPTIONS: dict[str, dict[str, Any]] = {
    "paper": {},
    "paper-fused": {"fused": True},
    "paper-cl": {"channels_last": True},
    "paper-bf16": {"precision": "bfloat16"},
    "paper-graphs": {"fused": True, "compile": "reduce-overhead"},
    "paper-best": {"fused": True, "channels_last": True, "precision": "bfloat16",
                   "compile": "reduce-overhead"},
    # Separate (ungrouped) convolutions under CUDA graphs: once launches cost nothing the
    # grouped convolutions of `fused` may only cost (H100 profile 2026-11-26: convolution
    # kernels ~9 of the 9.2 ms of a paper-graphs iteration).
    "paper-sep-graphs": {"compile": "reduce-overhead"},
    "paper-sep-graphs-cl": {"channels_last": True, "compile": "reduce-overhead"},
    "paper-sep-graphs-cl-bf16": {"channels_last": True, "precision": "bfloat16",
                                 "compile": "reduce-overhead"},
}
VARIANTS: tuple[str, ...] = ("reference", *PAPER_OPTIONS, "fast", "fast-trunk")
#: Variants run only when named with --variants.
ON_REQUEST = ("fast-trunk",)
#: Compiling takes minutes on a CPU and CUDA graphs need CUDA: CPU runs skip these unless
#: named with --variants.
GPU_ONLY = ("paper-graphs", "paper-best", "paper-sep-graphs", "paper-sep-graphs-cl",
            "paper-sep-graphs-cl-bf16")
ALL_SIZES: tuple[str, ...] = ("256x256x3", "321x481x3", "144x176x30", "145x145x224")
CPU_SIZES: tuple[str, ...] = ("256x256x3", "144x176x30")  # the two largest skipped on CPU
SEED = 2333
OBSERVED = 0.3  # fraction of observed entries of the timing inputs
TARGET_RATIO = 10.0  # the target: paper >= 10x faster per iteration than the reference
TARGET_MS = 5.0  # ... i.e. about 5 ms per iteration at 256x256x3 on a GPU
_RECORDS: list[dict[str, Any]] = []


def emit(**kw: object) -> None:
    """Print one JSON line (and keep it for ``--save``)."""
    _RECORDS.append(dict(kw))
    print(json.dumps(kw, default=str), flush=True)




def parse_size(text: str) -> tuple[int, int, int]:
    """``"HxWxC"`` -> ``(H, W, C)``."""
    try:
        h, w, c = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"size {text!r} is not HxWxC (e.g. 256x256x3)") from None
    if min(h, w, c) < 1 or min(h, w) <= 32:
        raise SystemExit(f"size {text!r}: H and W must exceed 32 (5-scale skip network)")
    return h, w, c


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- the reference
def _d(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Forward difference, circular boundary."""
    return torch.roll(x, -1, dims=dim) - x


def _dt(y: torch.Tensor, dim: int) -> torch.Tensor:
    """Adjoint of :func:`_d`."""
    return torch.roll(y, 1, dims=dim) - y


def _eigenvalues(n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64)
    return 2.0 - 2.0 * torch.cos(2.0 * math.pi * k / n)


class ReferenceLoop:
    """The reference configuration written plainly (SPEC sections 2 and 4).

    ``y`` is the observation ``(C, H, W)`` (zeros at missing entries), ``mask`` 1 where
    observed, ``gt`` the clean image (the reference computes a PSNR against it every
    iteration; it never changes the iterates here).
    """

    def __init__(self, y: torch.Tensor, mask: torch.Tensor, gt: torch.Tensor, *,
                 seed: int = SEED) -> None:
        c, h, w = y.shape
        dev = y.device
        self.device = dev
        self.shape = (c, h, w)
        self.lambda_t = 0.5 if c == 3 else 5.0  # SPEC section 4: RGB 0.5, video/HSI 5
        self.alpha, self.rho, self.mu_max = 0.1, 1.2, 50.0
        self.noise_std = 0.03
        torch.manual_seed(seed)
        arch = NetworkSettings(width=128, depth=5, skip_channels=4, upsample="nearest",
                               pad="reflection", conv1x1_up=True, fused=False)
        # three independent networks, evaluated one after the other
        self.nets = [SkipNet(c, c, arch).to(dev) for _ in range(3)]
        params = [p for net in self.nets for p in net.parameters()]
        self.opt = torch.optim.Adam(params, lr=0.01)
        self.g0 = 0.1 * torch.rand((1, c, h, w), device=dev)
        self.m = mask.to(y.dtype)
        self.y = y * self.m
        self.gt = gt
        self.x = self.m * self.y + (1 - self.m) * torch.rand(y.shape, device=dev)
        self.k = torch.zeros_like(y)
        unfolded = self.y.reshape(c, -1).double()
        sigma = float(torch.linalg.matrix_norm(unfolded, ord=2))
        d = max(sigma, float(unfolded.abs().max()) / (self.lambda_t + 1e-8)) or 1.0
        self.lam = self.y / d
        self.mu = self.alpha / d
        spec = (_eigenvalues(w).view(1, 1, w) + _eigenvalues(h).view(1, h, 1)
                + self.lambda_t * _eigenvalues(c).view(c, 1, 1))
        self.spectrum = spec.float().to(dev)
        self.best_psnr = -math.inf
        self.best: torch.Tensor | None = None
        self.last_loss = math.nan

    def step(self) -> None:
        _, h, w = self.shape
        lt = self.lambda_t
        g = self.g0 + self.noise_std * torch.randn_like(self.g0)
        fh, fv, ft = (net(g)[0, :, :h, :w] for net in self.nets)
        x = self.x
        loss = (0.5 * (_d(x, -1) - fh).square().sum()
                + 0.5 * (_d(x, -2) - fv).square().sum()
                + lt * 0.5 * (_d(x, -3) - ft).square().sum())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        fh, fv, ft = fh.detach(), fv.detach(), ft.detach()
        mu = self.mu
        rhs = _dt(fh, -1) + _dt(fv, -2) + lt * _dt(ft, -3) + mu * (self.y - self.k) + self.lam
        self.x = torch.fft.ifftn(torch.fft.fftn(rhs) / (mu + self.spectrum)).real
        self.k = (self.y - self.x + self.lam / mu) * (1 - self.m)
        self.lam = self.lam + mu * (self.y - self.x - self.k)
        self.mu = min(self.mu_max, self.rho * mu)
        # the reference's per-iteration habits (SPEC section 8)
        self.last_loss = loss.item()
        out = (self.m * self.y + (1 - self.m) * self.x).clamp(0, 1)
        psnr = float(10 * torch.log10(1 / (out - self.gt).square().mean()))
        if psnr > self.best_psnr:
            self.best_psnr, self.best = psnr, out.clone()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def run(self, iterations: int, every: int, tick: Callable[[int], None]) -> None:
        for k in range(1, iterations + 1):
            self.step()
            if k % every == 0:
                tick(k)


# --------------------------------------------------------------------------- measuring
class Ticker:
    """Timestamps at block boundaries (after a device synchronisation)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.ticks: list[tuple[int, float]] = []

    def __call__(self, iteration: int) -> None:
        sync(self.device)
        self.ticks.append((iteration, time.perf_counter()))

    def ms_per_iteration(self, first: int) -> list[float]:
        """Per-iteration milliseconds of each block that starts at or after ``first``."""
        kept = [t for t in self.ticks if t[0] >= first]
        return [1000 * (t1 - t0) / (k1 - k0)
                for (k0, t0), (k1, t1) in itertools.pairwise(kept) if k1 > k0]


def _status_kib(name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class MemoryProbe:
    """Peak memory of one variant: CUDA allocator peak, or peak-RSS growth on CPU."""

    def __init__(self, device: torch.device, isolated: bool) -> None:
        self.device = device
        self.isolated = isolated
        self.base = 0
        self.rss0: int | None = None
        self.hwm0: int | None = None
        self.reset_ok = False

    def start(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        elif self.isolated:
            try:  # "5" resets VmHWM to the current RSS (Linux >= 4.0)
                Path("/proc/self/clear_refs").write_text("5")
                self.reset_ok = True
            except OSError:
                self.reset_ok = False
            self.rss0 = _status_kib("VmRSS")
            self.hwm0 = _status_kib("VmHWM")

    def stop(self) -> dict[str, Any]:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
            return {"peak_mib": round(peak / 2**20, 1),
                    "peak_growth_mib": round((peak - self.base) / 2**20, 1),
                    "peak_reserved_mib": round(torch.cuda.max_memory_reserved(self.device)
                                               / 2**20, 1),
                    "memory": "torch.cuda.max_memory_allocated (reset per variant)"}
        if not self.isolated:
            return {"peak_rss_growth_mib": None,
                    "memory": "not measured in-process (freed memory is reused); "
                              "run without --in-process"}
        hwm = _status_kib("VmHWM")
        if hwm is None or self.rss0 is None or self.hwm0 is None:
            return {"peak_rss_growth_mib": None, "memory": "/proc/self/status unavailable"}
        if not self.reset_ok and hwm <= self.hwm0:
            return {"peak_rss_growth_mib": None,
                    "memory": "VmHWM could not be reset and did not grow past its start"}
        how = "reset" if self.reset_ok else "not reset, grew past its start"
        return {"peak_rss_growth_mib": round((hwm - self.rss0) / 1024, 1),
                "peak_rss_mib": round(hwm / 1024, 1),
                "memory": f"VmHWM minus VmRSS at start, fresh subprocess (VmHWM {how})"}


def make_data(size: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random clean image ``(H, W, C)`` in [0, 1] and a mask with 30% of entries observed."""
    rng = np.random.default_rng(seed)
    clean = rng.random(size, dtype=np.float32)
    mask = rng.random(size) < OBSERVED
    return clean, mask


def engine_settings(variant: str, channels: int) -> Settings:
    if variant in ("fast", "fast-trunk"):
        s = get_settings("inpaint", "fast", channels=channels)
        if variant == "fast-trunk":
            s = s.replace(network=dataclasses.replace(s.network, heads="shared"))
        return s
    s = get_settings("inpaint", "paper", channels=channels)
    return s.replace(network=dataclasses.replace(s.network, **PAPER_OPTIONS[variant]))


def plan(warmup: int, repeats: int, every: int) -> tuple[int, int]:
    """(total iterations, first timed block start): warm-up rounded up to whole blocks."""
    start = max(every, -(-warmup // every) * every)
    return start + repeats * every, start


def time_variant(name: str, variant: str, device: torch.device, *, warmup: int,
                 repeats: int, every: int, isolated: bool, batch: int = 1) -> dict[str, Any]:
    """Milliseconds per iteration and peak memory of one variant at one size."""
    size = parse_size(name)
    c = size[2]
    clean, mask = make_data(size)
    obs = np.where(mask, clean, 0).astype(np.float32)
    total, first = plan(warmup, repeats, every)
    ticker = Ticker(device)
    extra: dict[str, Any] = {}
    probe = MemoryProbe(device, isolated)
    probe.start()
    t0 = time.perf_counter()
    if variant == "reference":
        def chw(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 0),
                                                         dtype=np.float32)).to(device)

        loop = ReferenceLoop(chw(obs), chw(mask), chw(clean))
        loop.run(total, every, ticker)
        detail = "3 separate SkipNet modules, complex FFT, per-iteration loss.item() + host " \
                 "PSNR" + (" + empty_cache" if device.type == "cuda" else "")
    else:
        settings = engine_settings(variant, c).replace(iterations=total)
        tiles: set[Any] = set()

        def on_monitor(info: Any) -> None:
            tiles.add(getattr(info, "tile", None))  # a tiled run restarts its count per tile
            ticker(info.iteration)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if batch > 1:
                data = [make_data(size, seed=i) for i in range(batch)]
                pyngr.inpaint_many([np.where(m, x, 0).astype(np.float32) for x, m in data],
                                   [m for _x, m in data], settings=settings, device=device,
                                   monitor_every=every, callback=on_monitor)
            else:
                pyngr.inpaint(obs, mask, settings=settings, device=device,
                              monitor_every=every, callback=on_monitor)
        tiling = [str(w.message) for w in caught if w.category.__name__ == "TilingWarning"]
        for w in caught:  # pass the other warnings on
            if w.category.__name__ != "TilingWarning":
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        net = settings.network
        detail = (f"pyngr.inpaint, preset {settings.preset}, width {net.width}, depth "
                  f"{net.depth}, heads {net.heads}, fused {net.fused}, monitor every {every}")
        if batch > 1:
            detail = (f"{batch} images together (pyngr.inpaint_many), "
                      + detail.removeprefix("pyngr.inpaint, "))
            extra["batch"] = batch
        if tiling or tiles - {None}:
            extra["engine_tiled"] = True
            extra["tiling_note"] = (tiling[0] if tiling else "callbacks saw tiles") + \
                "; not comparable with the whole-image reference"
    sync(device)
    wall = time.perf_counter() - t0
    mem = probe.stop()
    samples = ticker.ms_per_iteration(first)
    if batch > 1 and variant != "reference":
        extra["ms_per_batch_iteration"] = round(statistics.median(samples), 2) \
            if samples else None
        samples = [x / batch for x in samples]
    return {
        "size": name, "variant": variant,
        "ms_per_iteration": round(statistics.median(samples), 2) if samples else None,
        "min_ms": round(min(samples), 2) if samples else None,
        "samples_ms": [round(s, 2) for s in samples],
        "iterations": total, "warmup_iterations": first, "block": every,
        "wall_s_incl_setup": round(wall, 2), **mem, "what": detail, **extra,
    }


def run_child(name: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one variant in a fresh interpreter (clean peak-RSS measurement on CPU)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", f"{name}:{variant}",
           "--device", args.device, "--warmup", str(args.warmup), "--repeats",
           str(args.repeats), "--every", str(args.every), "--batch", str(args.batch)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"size": name, "variant": variant, "ms_per_iteration": None,
                "error": f"subprocess exited with {proc.returncode}"}
    rec: dict[str, Any] = json.loads(lines[-1])
    return rec


# --------------------------------------------------------------------------- sync check
def sync_check(device: torch.device, name: str, every: int) -> None:
    """Count host-device synchronisations in a few iterations (CUDA only)."""
    from pyngr.networks import GradientNetwork
    from pyngr.solvers import InpaintingScheme, run_admm

    size = parse_size(name)
    clean, mask = make_data(size)
    yt = torch.from_numpy(np.moveaxis(np.where(mask, clean, 0), -1, 0).copy()).to(device)
    mt = torch.from_numpy(np.moveaxis(mask, -1, 0).astype(np.float32)).to(device)
    gt = torch.from_numpy(np.moveaxis(clean, -1, 0).copy()).to(device)

    def watched(run: Callable[[], None]) -> tuple[int, dict[str, int]]:
        sync(device)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                run()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        hits = [w for w in caught if "synchroniz" in str(w.message).lower()]
        where = Counter(f"{Path(w.filename).name}:{w.lineno}" for w in hits)
        return len(hits), dict(where.most_common())

    ref = ReferenceLoop(yt, mt, gt)
    n_ref = 3
    count, where = watched(lambda: ref.run(n_ref, 1, lambda k: None))
    emit(sync_check="reference", size=name, iterations=n_ref, syncs=count,
         syncs_per_iteration=round(count / n_ref, 2), sources=where)

    settings = get_settings("inpaint", "paper", channels=size[2]).replace(iterations=2 * every)
    gen = torch.Generator().manual_seed(settings.seed)
    net = GradientNetwork(size[2], size[0], size[1], settings.network,
                          seed=settings.seed).to(device)
    scheme = InpaintingScheme(yt, mt, settings.admm, gen)  # type: ignore[arg-type]
    def engine() -> None:
        run_admm(scheme, net, settings, gen, monitor_every=every)

    count, where = watched(engine)
    points = settings.iterations // every
    emit(sync_check="engine paper (run_admm, no monitor, no callback)", size=name,
         iterations=settings.iterations, monitoring_points=points, syncs=count,
         sources=where, per_iteration_sync_suspected=count > points + 1,
         note="expected: one sync per monitoring point (the loss read) and the final "
              "torch.cuda.synchronize; anything more is a sync inside the loop")


# --------------------------------------------------------------------------- time to quality
def _center_crop(a: np.ndarray, side: int) -> np.ndarray:
    h, w = a.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(a[top:top + side, left:left + side])


def _first_within(curve: Sequence[dict[str, float]], target: float) -> float | None:
    for point in curve:
        if point["psnr"] >= target - 0.1:
            return point["t"]
    return None


def _run_preset(gt: np.ndarray, mask: np.ndarray, preset: str, iterations: int | None,
                device: torch.device, every: int, variant: str | None = None) -> dict[str, Any]:
    """One run of ``preset`` (``variant``: a ``paper`` engine variant's network options)."""
    obs = np.where(mask, gt, 0).astype(gt.dtype)
    settings = None
    if variant is not None:
        settings = engine_settings(variant, 1 if gt.ndim == 2 else gt.shape[2])
        preset = variant
    curve: list[dict[str, float]] = []
    t0 = time.perf_counter()

    def record(info: Any) -> None:
        sync(device)
        curve.append({"iteration": info.iteration, "t": round(time.perf_counter() - t0, 3),
                      "psnr": round(info.metrics["psnr"], 3)})

    res = pyngr.inpaint(obs, mask, preset=None if settings else preset, settings=settings,
                        iterations=iterations, device=device, ground_truth=gt,
                        monitor_every=every, callback=record, full_output=True)
    sync(device)
    wall = time.perf_counter() - t0
    assert isinstance(res, pyngr.Result)
    return {"preset": preset, "iterations": res.history.iterations, "wall_s": round(wall, 2),
            "ms_per_iteration": round(1000 * res.history.wall_time
                                      / max(res.history.iterations, 1), 2),
            "final_psnr": round(res.metrics["psnr"], 3),
            "final_psnr_missing": round(res.metrics.get("psnr_missing", math.nan), 3),
            "curve": curve}


def time_to_quality(args: argparse.Namespace, device: torch.device) -> None:
    from pyngr.bench.datasets import load_clean
    from pyngr.degradations import random_mask
    from pyngr.io import read_image

    data = DATA
    quick = args.quick
    crop = 64 if quick else None
    every = args.monitor_every or (5 if quick else 100)
    paper_its = args.iterations or (20 if quick else None)
    fast_its = args.fast_iterations or (paper_its if quick else None)
    if device.type == "cpu" and not quick:
        print("warning: --time-to-quality runs the paper preset for 15000 iterations per "
              "case unless --iterations is given; it is meant for a GPU", file=sys.stderr)
    cases: list[tuple[str, float, np.ndarray]] = []
    set5 = data / "set5"
    if set5.is_dir():
        names = args.images.split(",") if args.images else sorted(
            p.stem for p in set5.glob("*.png"))
        if quick and not args.images:
            names = ["butterfly"] if (set5 / "butterfly.png").exists() else names[:1]
        rates = [float(r) for r in args.rates.split(",")] if args.rates else (
            [0.1] if quick else [0.1, 0.3, 0.5])
        for nm in names:
            path = set5 / f"{nm}.png"
            if not path.exists():
                emit(skip=f"set5/{nm}", reason=f"{path} not found")
                continue
            img = read_image(path).data
            cases += [(f"set5/{nm}", r, img) for r in rates]
    else:
        emit(skip="set5", reason=f"{set5} not found (set PYNGR_SHARED_DATA)")
    hsi = data / "hsi" / "pavia_centre_crop_100x100x102.mat"
    if hsi.exists():
        cases.append(("hsi/pavia", 0.1, load_clean(data, "hsi", "pavia")))
    else:
        emit(skip="hsi/pavia", reason=f"{hsi} not found (set PYNGR_SHARED_DATA)")
    if not cases:
        emit(skip="time-to-quality", reason="no data found; nothing to run")
        return
    # warm-up (CUDA context, kernels) so that the first case does not pay it
    warm = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    for preset in ("paper", "fast"):
        pyngr.inpaint(warm, warm > 0.5, preset=preset, iterations=3, device=device)
    if args.engine and args.engine != "paper":
        pyngr.inpaint(warm, warm > 0.5, settings=engine_settings(args.engine, 3),
                      iterations=3, device=device)
    summaries: list[dict[str, Any]] = []
    for label, rate, img in cases:
        gt = _center_crop(img, crop) if crop else img
        mask = random_mask(gt.shape, rate, seed=0)
        runs = {p: _run_preset(gt, mask, p, its, device, every)
                for p, its in (("paper", paper_its), ("fast", fast_its))}
        if args.engine and args.engine != "paper":
            runs[args.engine] = _run_preset(gt, mask, "paper", paper_its, device, every,
                                            variant=args.engine)
        for r in runs.values():
            emit(ttq=label, rate=rate, shape=list(gt.shape), **r)
        p, f = runs["paper"], runs["fast"]
        if args.engine in runs and args.engine != "paper":
            e = runs[args.engine]
            emit(ttq_engine=label, rate=rate, variant=args.engine,
                 final_psnr_paper=p["final_psnr"], final_psnr_variant=e["final_psnr"],
                 gap_db=round(p["final_psnr"] - e["final_psnr"], 3),
                 within_0_1_db=abs(p["final_psnr"] - e["final_psnr"]) <= 0.1,
                 wall_ratio_paper_over_variant=round(p["wall_s"] / max(e["wall_s"], 1e-9), 2))
        target = p["final_psnr"]
        summary = {
            "ttq_summary": label, "rate": rate, "shape": list(gt.shape),
            "cropped_for_quick": crop is not None,
            "paper_iterations": p["iterations"], "fast_iterations": f["iterations"],
            "paper_final_psnr": target,
            "paper_s_to_within_0.1db_of_own_final": _first_within(p["curve"], target),
            "fast_final_psnr": f["final_psnr"],
            "gap_db_paper_minus_fast": round(target - f["final_psnr"], 3),
            "fast_s_to_within_0.1db_of_paper_final": _first_within(f["curve"], target),
            "fast_s_to_within_0.1db_of_own_final": _first_within(f["curve"], f["final_psnr"]),
            "paper_wall_s": p["wall_s"], "fast_wall_s": f["wall_s"],
            "wall_ratio_paper_over_fast": round(p["wall_s"] / max(f["wall_s"], 1e-9), 2),
            "note": "PSNR: whole image, 8-bit per channel, final iterate (ground truth for "
                    "reporting only); times: seconds since the pyngr.inpaint call started "
                    "(setup included), read after a device sync at monitoring points every "
                    f"{every} iterations",
        }
        summaries.append(summary)
        emit(**summary)
    gaps = [s["gap_db_paper_minus_fast"] for s in summaries]
    ratios = [s["wall_ratio_paper_over_fast"] for s in summaries]
    emit(ttq_overall=len(summaries), mean_gap_db_paper_minus_fast=round(float(np.mean(gaps)), 3),
         median_wall_ratio_paper_over_fast=round(float(np.median(ratios)), 2))


# --------------------------------------------------------------------------- main
def summarise(records: list[dict[str, Any]], sizes: Sequence[str], device: torch.device,
              batch: int = 1) -> None:
    by = {(r["size"], r["variant"]): r.get("ms_per_iteration") for r in records}
    target_ratio: float | None = None
    for name in sizes:
        ms = {v: by.get((name, v)) for v in VARIANTS}
        out: dict[str, Any] = {"summary": name, "batch": batch,
                               **{f"{v.replace('-', '_')}_ms": m for v, m in ms.items()
                                  if m is not None}}
        ref = ms["reference"]
        for v in VARIANTS[1:]:
            if ref and ms[v]:
                out[f"reference_over_{v.replace('-', '_')}"] = round(ref / ms[v], 2)
        if ms["fast"] and ms["fast-trunk"]:
            out["fast_over_fast_trunk"] = round(ms["fast"] / ms["fast-trunk"], 2)
        if ms["paper"] and ms["paper-fused"]:
            out["paper_over_paper_fused"] = round(ms["paper"] / ms["paper-fused"], 2)
        engine = {v: m for v, m in ms.items() if v in PAPER_OPTIONS and m}
        if engine:
            best = min(engine, key=lambda v: engine[v])
            out["fastest_paper_variant"] = best
            if ref:
                out["reference_over_fastest_paper_variant"] = round(ref / engine[best], 2)
        same_math = [m for v, m in ms.items()
                     if v in PAPER_OPTIONS and m and "precision" not in PAPER_OPTIONS[v]]
        if name == "256x256x3" and ref and same_math:
            target_ratio = ref / min(same_math)
        emit(**out)
    on_gpu = device.type == "cuda" and batch == 1  # the target is one run's latency
    paper256 = by.get(("256x256x3", "paper"))
    emit(target=f"on a GPU, paper >= {TARGET_RATIO:g}x faster per iteration than the "
                f"reference loop (~{TARGET_MS:g} ms per iteration at 256x256x3)",
         device=str(device), applies=on_gpu,
         measured_ratio_256=round(target_ratio, 2) if target_ratio else None,
         measured_paper_ms_256=paper256,
         met=(target_ratio >= TARGET_RATIO) if (on_gpu and target_ratio) else None)


def header(device: torch.device) -> None:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    emit(device=str(device), name=name, torch=torch.__version__, pyngr=pyngr.__version__,
         cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
         omp_num_threads=os.environ.get("OMP_NUM_THREADS"))


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated HxWxC (default: all four on CUDA; 256x256x3 and "
                         "144x176x30 on CPU; 256x256x3 with --quick on CPU)")
    ap.add_argument("--variants", default=None,
                    help=f"comma-separated subset of {','.join(VARIANTS)} (default: all; "
                         f"on CPU all but {','.join(GPU_ONLY)})")
    ap.add_argument("--warmup", type=int, default=None,
                    help="warm-up iterations (rounded up to whole blocks)")
    ap.add_argument("--repeats", type=int, default=None, help="timed blocks")
    ap.add_argument("--every", type=int, default=None,
                    help="iterations per timed block = engine monitoring interval")
    ap.add_argument("--quick", action="store_true", help="tiny counts (CPU smoke run)")
    ap.add_argument("--in-process", action="store_true",
                    help="on CPU, do not isolate variants in subprocesses (no peak RSS)")
    ap.add_argument("--no-sync-check", action="store_true", help="skip the CUDA sync check")
    ap.add_argument("--batch", type=int, default=1,
                    help="time engine variants on this many images restored together")
    ap.add_argument("--save", action="store_true",
                    help="append the JSON lines to benchmarks/results/speed.jsonl")
    ttq = ap.add_argument_group("time to quality")
    ttq.add_argument("--time-to-quality", action="store_true")
    ttq.add_argument("--iterations", type=int, default=None,
                     help="cap the paper preset's iterations (default: preset's 15000)")
    ttq.add_argument("--fast-iterations", type=int, default=None,
                     help="cap the fast preset's iterations (default: preset's; with "
                          "--quick: as --iterations)")
    ttq.add_argument("--images", default=None, help="comma-separated Set5 names (default all)")
    ttq.add_argument("--rates", default=None, help="sampling rates (default 0.1,0.3,0.5)")
    ttq.add_argument("--engine", default=None,
                     help="also run the paper preset with this engine variant (e.g. "
                          "paper-best) and report its final-PSNR gap to plain paper")
    ttq.add_argument("--monitor-every", type=int, default=None,
                     help="PSNR every k iterations (default 100; 5 with --quick)")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    device = pyngr.resolve_device(args.device)
    cuda = device.type == "cuda"
    if args.warmup is None:
        args.warmup = 1 if not cuda else (5 if args.quick else 10)
    if args.repeats is None:
        args.repeats = (1 if args.quick else 3) if not cuda else (5 if args.quick else 10)
    if args.every is None:
        args.every = 1 if not cuda else (5 if args.quick else 10)
    if min(args.every, args.repeats) < 1 or args.warmup < 0:
        raise SystemExit("--every and --repeats must be >= 1, --warmup >= 0")

    if args._child:
        name, variant = args._child.split(":")
        rec = time_variant(name, variant, device, warmup=args.warmup, repeats=args.repeats,
                           every=args.every, isolated=True, batch=args.batch)
        print(json.dumps(rec), flush=True)
        return

    if args.sizes:
        sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = list(ALL_SIZES if cuda else ("256x256x3",) if args.quick else CPU_SIZES)
    for s in sizes:
        parse_size(s)
    if args.variants is None:
        args.variants = ",".join(v for v in VARIANTS if (cuda or v not in GPU_ONLY)
                                 and v not in ON_REQUEST)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; expected {','.join(VARIANTS)}")

    header(device)
    if args.time_to_quality:
        time_to_quality(args, device)
    else:
        isolate = not cuda and not args.in_process
        records: list[dict[str, Any]] = []
        for name in sizes:
            for variant in variants:
                if isolate:
                    rec = run_child(name, variant, args)
                else:
                    rec = time_variant(name, variant, device, warmup=args.warmup,
                                       repeats=args.repeats, every=args.every, isolated=False,
                                       batch=args.batch)
                records.append(rec)
                emit(**rec)
        summarise(records, sizes, device, batch=args.batch)
        if cuda and not args.no_sync_check:
            sync_check(device, sizes[0], args.every)
    if args.save:
        out = RESULTS / "speed.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as fh:
            for rec in _RECORDS:
                fh.write(json.dumps(rec, default=str) + "\n")


if __name__ == "__main__":
    main()
