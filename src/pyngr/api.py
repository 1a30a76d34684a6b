"""Public functions: numpy in, numpy out, channel-last like scikit-image.

``inpaint``, ``denoise`` and ``decloud`` check and convert their inputs, build the gradient
network and the ADMM scheme of the task, run the shared ADMM loop
(:func:`pyngr.solvers.run_admm`) and convert the answer back to the caller's layout, dtype
and value range.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from .baselines import Problem, default_settings, get_method, run_method
from .baselines.common import MethodSettings
from .checkpoint import Checkpointing, as_checkpointing
from .errors import DeviceError, InputError
from .metrics import channel_mean_psnr
from .networks import GradientNetwork
from .presets import Settings, channel_roughness, get_settings, override
from .solvers import (
    DenoisingScheme,
    History,
    InpaintingScheme,
    IterationInfo,
    Monitor,
    Recorder,
    Scheme,
    run_admm,
    run_admm_batch,
)

__all__ = ["Result", "Scaling", "decloud", "denoise", "inpaint", "inpaint_many",
           "resolve_device"]

Callback = Callable[[IterationInfo], "bool | None"]


# --------------------------------------------------------------------------- devices
def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else CPU. ``"cuda"`` without CUDA is an error.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'") \
            from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but is not available "
                              "(no GPU visible or a CPU-only PyTorch build); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"CUDA device {dev.index} was requested but only "
                              f"{torch.cuda.device_count()} are visible")
    elif dev.type != "cpu":
        raise InputError(f"unsupported device {device!r}; expected 'cpu', 'cuda' or 'auto'")
    return dev


# --------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Scaling:
    """Affine map between the caller's values and the [0, 1] the solver works in.

    uint8 data uses [0, 255]; float data already in [0, 1] is used as is; anything else
    (uint16, int16, floats outside [0, 1]) is stretched from its observed minimum and maximum.
    """

    offset: float
    scale: float
    dtype: np.dtype

    @classmethod
    def infer(cls, values: np.ndarray, dtype: np.dtype,
              data_range: tuple[float, float] | None = None) -> Scaling:
        if data_range is not None:
            lo, hi = float(data_range[0]), float(data_range[1])
            if not hi > lo:
                raise InputError(
                    f"data_range must be (low, high) with high > low, got {data_range}")
            return cls(lo, hi - lo, dtype)
        if dtype == np.uint8:
            return cls(0.0, 255.0, dtype)
        lo = float(values.min()) if values.size else 0.0
        hi = float(values.max()) if values.size else 1.0
        if np.issubdtype(dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
            return cls(0.0, 1.0, dtype)
        if hi == lo:  # constant data: keep results within [0, value] (or a unit interval)
            return cls(0.0, hi, dtype) if hi > 0 else cls(lo - 0.5, 1.0, dtype)
        return cls(lo, hi - lo, dtype)

    def forward(self, a: np.ndarray) -> np.ndarray:
        return ((a.astype(np.float64) - self.offset) / self.scale).astype(np.float32)

    def inverse(self, a: np.ndarray) -> np.ndarray:
        out = np.clip(a.astype(np.float64), 0.0, 1.0) * self.scale + self.offset
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            return np.clip(np.rint(out), info.min, info.max).astype(self.dtype)
        return out.astype(self.dtype)


def _noisy_unit_range(img: np.ndarray) -> tuple[float, float] | None:
    """(0, 1) if noisy float data look like [0, 1] data plus noise, else None (stretch).

    Noise pushes values outside [0, 1], and stretching by the noisy extremes changes the
    scale the model's weights were set for (strong mixed noise on the Pavia crop, whose
    median is 0.04: its 1st percentile is -0.62, the stretch [-1.66, 1.72] cost 4.2 dB at
    600 iterations). So the bulk (1st-99th percentile) may lie up to 0.5 plus three noise
    standard deviations outside [0, 1], the deviation estimated by Donoho's robust rule,
    median(|HH|) / 0.6745 on the Haar diagonal details of each channel, averaged (0.30 on
    that cube, 0.004 on the clean one). Clean data in [-1, 1] stay stretched. Written here
    rather than :func:`skimage.restoration.estimate_sigma`, which needs PyWavelets, not a
    dependency of pyngr.
    """
    lo, hi = np.percentile(img, (1, 99))
    x = img.astype(np.float64).reshape(*img.shape[:2], -1)
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    hh = (x[0:h:2, 0:w:2] - x[1:h:2, 0:w:2] - x[0:h:2, 1:w:2] + x[1:h:2, 1:w:2]) / 2
    sigma = float(np.mean(np.median(np.abs(hh), axis=(0, 1)))) / 0.6745 if hh.size else 0.0
    slack = 0.5 + 3.0 * sigma
    return (0.0, 1.0) if lo > -slack and hi < 1.0 + slack else None


def _check_array(name: str, a: Any, ndims: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer)
                               or np.issubdtype(a.dtype, np.floating)):
        raise InputError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim not in ndims:
        shapes = " or ".join({2: "(H, W)", 3: "(H, W, C)", 4: "(T, H, W, B)"}[n] for n in ndims)
        raise InputError(f"{name} must have shape {shapes}, got {a.shape}")
    if min(a.shape) < 1:
        raise InputError(f"{name} is empty, shape {a.shape}")
    return a


def _check_mask(name: str, mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Binary mask -> bool array broadcast to ``shape`` (channel-last)."""
    m = np.asarray(mask)
    if m.dtype != bool:
        if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
            raise InputError(f"{name} must be boolean or 0/1, got dtype {m.dtype}")
        if not np.all(np.isin(m, (0, 1))):
            raise InputError(f"{name} is not binary: expected values 0/1 (or booleans)")
        m = m.astype(bool)
    if m.shape == shape:
        return m
    if len(shape) == 3 and m.shape == shape[:2]:
        return np.broadcast_to(m[..., None], shape)
    if len(shape) == 3 and m.ndim == 3 and m.shape[:2] == shape[:2] and m.shape[2] == 1:
        return np.broadcast_to(m, shape)
    raise InputError(f"{name} shape {m.shape} does not match image shape {shape}")


def _check_truth(gt: Any, shape: tuple[int, ...], what: str = "image") -> np.ndarray:
    g = _check_array("ground_truth", gt, (2, 3))
    if g.shape != shape:
        raise InputError(f"ground_truth shape {g.shape} does not match {what} shape {shape}")
    if not np.all(np.isfinite(g)):
        raise InputError("ground_truth has NaN or Inf values")
    return g


def _to_chw(a: np.ndarray) -> np.ndarray:
    return a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)


def _from_chw(a: np.ndarray, ndim: int) -> np.ndarray:
    return a[0] if ndim == 2 else np.moveaxis(a, 0, -1)


def _tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)


# --------------------------------------------------------------------------- monitoring
def _psnr_8bit(x: torch.Tensor, ref: torch.Tensor, region: torch.Tensor | None = None) -> float:
    """Paper PSNR: per channel on 8-bit rounded values, averaged (monitoring only)."""
    a = torch.round(x.clamp(0, 1).double() * 255)
    b = torch.round(ref.clamp(0, 1).double() * 255)
    se = (a - b).square()
    if region is None:
        mse = se.mean(dim=(1, 2))
        cnt = torch.full_like(mse, float(se.shape[1] * se.shape[2]))
    else:
        w = region.double()
        cnt = w.sum(dim=(1, 2))
        keep = cnt > 0
        mse = (se * w).sum(dim=(1, 2))[keep] / cnt[keep]
        cnt = cnt[keep]
    return channel_mean_psnr(mse.cpu().numpy(), cnt.cpu().numpy())


def _make_monitor(gt: np.ndarray, scaling: Scaling, missing: torch.Tensor | None,
                  device: torch.device, channels: int | None = None) -> Monitor:
    """PSNR (whole, missing entries) of the first ``channels`` of the estimate against ``gt``.

    Measured in the reference's own [0, 1] (uint8 / 255, floats in [0, 1] as they are,
    anything else from its minimum and maximum: what ``ngr``'s reported metrics use), not in
    the solver's: where the observation was stretched (noisy floats, uint16) the two differ
    by a factor, and an oracle in the solver's units would read several dB above a final
    iterate of the same quality (13.6 dB on a strong-mixed Pavia crop stretched from
    [-1.66, 1.72]).
    """
    unit = Scaling.infer(gt, gt.dtype)  # the reference's own scaling
    a, b = scaling.scale / unit.scale, (scaling.offset - unit.offset) / unit.scale
    same = a == 1.0 and b == 0.0
    reference = _tensor(_to_chw(unit.forward(gt)), device)
    any_missing = missing is not None and bool(missing.any())  # once, not at every point

    def metric(est: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
        est = est[:channels]
        if not same:  # the output's values (clipped as Scaling.inverse does), in ref's units
            est = est.clamp(0, 1) * a + b
        out = {"psnr": _psnr_8bit(est, ref)}
        if any_missing:
            out["psnr_missing"] = _psnr_8bit(est, ref, missing)
        return out

    return Monitor(reference, metric)


# --------------------------------------------------------------------------- results
@dataclass
class Result:
    """Full output of a run (``full_output=True``).

    Attributes
    ----------
    image : the restored image, in the caller's layout, dtype and value range.
    settings : the exact settings used (save them to repeat the run): NGR's
        :class:`~pyngr.presets.Settings`, or a baseline's
        :class:`~pyngr.baselines.MethodSettings`.
    history : loss, timing and monitored metrics per monitoring point
        (:class:`~pyngr.solvers.History`); ``history.oracle`` is the labelled oracle.
    metrics : final-iterate metrics against ``ground_truth`` when it was given (PSNR over
        the whole image and over the missing entries, monitoring definition: 8-bit values
        in the ground truth's own range, as :func:`pyngr.metrics.psnr` on the output).
    network_state : NGR runs: the ``state_dict`` of the gradient network after the last
        iteration, tensors on the CPU; None for the baselines. Save it with
        ``torch.save(result.network_state, path)`` and start another run from it with
        ``settings.replace(init_weights=path)`` (warm start, paper Fig. 14).

    Examples
    --------
    Warm-start a run from the weights an earlier run learned (tiny sizes for speed):

    >>> import os, tempfile, numpy as np, torch, pyngr
    >>> img = np.random.default_rng(0).random((24, 24, 3)).astype(np.float32)
    >>> mask = img > 0.3
    >>> r = pyngr.inpaint(img, mask, iterations=2, device="cpu", full_output=True)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "ngr.pt")
    ...     torch.save(r.network_state, path)
    ...     warm = r.settings.replace(init_weights=path)
    ...     out = pyngr.inpaint(img, mask, settings=warm, device="cpu")
    >>> out.shape
    (24, 24, 3)
    """

    image: np.ndarray
    settings: Settings | MethodSettings
    history: History
    metrics: dict[str, float] = field(default_factory=dict)
    network_state: dict[str, torch.Tensor] | None = None


_S = typing.TypeVar("_S", Settings, MethodSettings)


def _override(settings: _S, iterations: int | None, seed: int | None) -> _S:
    """The settings with the caller's iteration count and seed, if given."""
    if iterations is not None:
        if int(iterations) < 1:
            raise InputError(f"iterations must be >= 1, got {iterations}")
        settings = settings.replace(iterations=int(iterations))
    if seed is not None:
        settings = settings.replace(seed=int(seed))
    return settings


def default_preset(device: torch.device) -> str:
    """The preset used when none is given: ``"paper"`` on CUDA, ``"fast"`` elsewhere."""
    return "paper" if device.type == "cuda" else "fast"


def _settings_for(task: str, preset: str | None, settings: Settings | None,
                  device: torch.device, iterations: int | None, seed: int | None,
                  **kw: Any) -> Settings:
    if settings is None:
        name = preset or default_preset(device)
        # the iteration count goes to the preset, whose rules may depend on it (fast's λ_t)
        return _gpu_engine(_override(get_settings(task, name, iterations=iterations, **kw),
                                     None, seed), device)
    if preset is not None and preset != settings.preset:
        raise InputError("pass either preset= or settings=, not both")
    if settings.task != task:
        raise InputError(f"settings are for task {settings.task!r}, not {task!r}")
    if task == "denoise" and kw.get("noise") != getattr(settings.admm, "noise", None):
        raise InputError(f"settings are for {settings.admm.noise!r} noise, "  # type: ignore[union-attr]
                         f"not {kw.get('noise')!r}")
    return _override(settings, iterations, seed)


#: A preset run on CUDA this long or longer gets the fast engine (below).
GPU_ENGINE_MIN_ITERATIONS = 1000


def _gpu_engine(settings: Settings, device: torch.device) -> Settings:
    """The ``paper`` preset on CUDA runs its three networks fused under CUDA graphs.

    Same model and float32 numbers up to round-off, about 4x faster per iteration (H200:
    31.6 ms eager, 8.2 ms so; README "On a GPU"), after tens of seconds of compilation,
    hence only for runs of ``GPU_ENGINE_MIN_ITERATIONS`` or more. The engine options are
    written in the settings the result reports; ``overrides={"network.compile": "none"}``
    (CLI ``--set network.compile=none``) turns it off. Settings passed by the caller are
    used as they are.
    """
    net = settings.network
    if (device.type != "cuda" or settings.preset != "paper" or net.compile != "none"
            or net.fused or net.heads != "separate" or net.architecture != "skip"
            or settings.iterations < GPU_ENGINE_MIN_ITERATIONS):
        return settings
    return settings.replace(network=dataclasses.replace(net, fused=True,
                                                        compile="reduce-overhead"))


def _baseline_settings(method: str, task: str, preset: str | None,
                       settings: Settings | MethodSettings | None,
                       shape_chw: tuple[int, int, int], noise: str | None,
                       iterations: int | None, seed: int | None) -> MethodSettings:
    name = get_method(method, task).name
    if preset not in (None, "default"):
        raise InputError(f"presets are NGR's; method {name!r} has its documented defaults "
                         "(pass settings= to change them)")
    if settings is None:
        settings = default_settings(name, task, shape_chw, noise)
    elif not isinstance(settings, MethodSettings) or settings.method != name:
        raise InputError(f"settings are not for method {name!r}")
    elif settings.task != task:
        raise InputError(f"settings are for task {settings.task!r}, not {task!r}")
    return _override(settings, iterations, seed)


def _resolve(method: str, task: str, preset: str | None,
             settings: Settings | MethodSettings | None, device: torch.device,
             shape_chw: tuple[int, int, int], iterations: int | None, seed: int | None,
             noise: str | None = None, tile: int | None = None,
             overrides: Mapping[str, Any] | None = None,
             **kw: Any) -> Settings | MethodSettings:
    overrides = dict(overrides or {})
    if settings is None and iterations is None and "iterations" in overrides:
        iterations = overrides.pop("iterations")  # to the preset, as the argument would go
    resolved = _resolve_base(method, task, preset, settings, device, shape_chw, iterations,
                             seed, noise, tile, **kw)
    for path, value in overrides.items():
        resolved = override(resolved, path, value)
    return resolved


def _resolve_base(method: str, task: str, preset: str | None,
                  settings: Settings | MethodSettings | None, device: torch.device,
                  shape_chw: tuple[int, int, int], iterations: int | None, seed: int | None,
                  noise: str | None, tile: int | None, **kw: Any) -> Settings | MethodSettings:
    if not _is_ngr(method):
        if tile is not None:
            raise InputError(f"tile is an NGR option; method {method!r} runs on the whole "
                             "input")
        return _baseline_settings(method, task, preset, settings, shape_chw, noise,
                                  iterations, seed)
    if settings is not None and not isinstance(settings, Settings):
        raise InputError(f"settings are for method {settings.method!r}; pass "
                         f"method={settings.method!r}")
    if noise is not None:
        kw["noise"] = noise
    ngr = _settings_for(task, preset, settings, device, iterations, seed,
                        channels=shape_chw[0], **kw)
    if tile is None:
        return ngr
    if int(tile) < 16:
        raise InputError(f"tile must be at least 16 pixels, got {tile}")
    return ngr.replace(tile=int(tile), tile_overlap=min(ngr.tile_overlap, int(tile) // 4))


def _completion(settings: Settings | MethodSettings) -> SchemeFactory:
    def make(p: Problem, g: torch.Generator) -> Scheme:
        return InpaintingScheme(p.y, p.mask, settings.admm, g)  # type: ignore[union-attr,arg-type]
    return make


def _is_ngr(method: str) -> bool:
    if not isinstance(method, str):
        raise InputError(f"method must be a string such as 'ngr' or 'tv', got {method!r}")
    return method.lower() == "ngr"


_Callbacks = tuple[Callable[[IterationInfo], Any], ...]


def _run(solve: Callable[[_Callbacks], tuple[torch.Tensor, History]], iterations: int, *,
         progress: bool, callback: Callback | None, label: str) -> tuple[torch.Tensor, History]:
    """Call ``solve(callbacks)`` with the user's callback and, if asked, a progress bar."""
    callbacks: list[Callable[[IterationInfo], Any]] = []
    if callback is not None:
        callbacks.append(callback)
    with contextlib.ExitStack() as stack:
        if progress:
            from .progress import progress_bar

            callbacks.append(stack.enter_context(progress_bar(iterations, label)))
        return solve(tuple(callbacks))


SchemeFactory = Callable[[Problem, torch.Generator], Scheme]


def _solve(method: str, task: str, problem: Problem, scheme_factory: SchemeFactory,
           settings: Settings | MethodSettings, device: torch.device, *, progress: bool,
           callback: Callback | None, monitor: Monitor | None, monitor_every: int,
           max_memory: float | None = None,
           checkpoint: str | os.PathLike[str] | Checkpointing | None = None,
           ) -> tuple[torch.Tensor, History, GradientNetwork | None, Settings | MethodSettings]:
    """Run NGR (``scheme_factory``) or baseline ``method`` on ``problem``.

    Returns the estimate, the history, for NGR the trained gradient network (None for
    baselines and tiled runs), and the settings used (with the tile chosen, if any).
    """
    every = max(1, monitor_every)
    ckpt = as_checkpointing(checkpoint)
    if ckpt is not None and not isinstance(settings, Settings):
        raise InputError(f"checkpoint is an NGR option; method {method!r} runs in one go")
    if not isinstance(settings, Settings):
        gen = torch.Generator().manual_seed(settings.seed)  # CPU: same draws on every device
        baseline = settings

        def solve_baseline(cbs: _Callbacks) -> tuple[torch.Tensor, History]:
            recorder = Recorder(baseline.iterations, device=device, monitor=monitor,
                                monitor_every=every, callbacks=cbs)
            return run_method(method, problem, baseline, recorder, gen)
        est, history = _run(solve_baseline, settings.iterations, progress=progress,
                            callback=callback, label=f"{task} ({settings.method})")
        return est, history, None, settings

    ngr = _plan_tiles(problem.shape, settings, device, max_memory)
    _c, h, w = problem.shape
    if ngr.tile is None or ngr.tile >= max(h, w):
        nets: list[GradientNetwork] = []

        def solve(cbs: _Callbacks) -> tuple[torch.Tensor, History]:
            est, history, net = _ngr(problem, scheme_factory, ngr, device, cbs, monitor, every,
                                     ckpt)
            nets.append(net)
            return est, history
        est, history = _run(solve, ngr.iterations, progress=progress, callback=callback,
                            label=task)
        return est, history, nets[0], ngr

    if ckpt is not None:
        raise InputError(f"checkpoint works on untiled runs only; this one is tiled "
                         f"(tile={ngr.tile}): give more max_memory or no checkpoint")

    def solve_tiled(cbs: _Callbacks) -> tuple[torch.Tensor, History]:
        return _ngr_tiled(problem, scheme_factory, ngr, device, cbs, every)
    est, history = _run(solve_tiled, ngr.iterations, progress=progress, callback=callback,
                        label=f"{task} (tiles)")
    return est, history, None, ngr


def _ngr(problem: Problem, scheme_factory: SchemeFactory, settings: Settings,
         device: torch.device, cbs: _Callbacks, monitor: Monitor | None, every: int,
         checkpoint: Checkpointing | None = None,
         ) -> tuple[torch.Tensor, History, GradientNetwork]:
    scheme, net, gen = _ngr_parts(problem, scheme_factory, settings, device)
    est, history = run_admm(scheme, net, settings, gen, monitor_every=every, monitor=monitor,
                            callbacks=cbs, checkpoint=checkpoint)
    return est, history, net


def _ngr_parts(problem: Problem, scheme_factory: SchemeFactory, settings: Settings,
               device: torch.device) -> tuple[Scheme, GradientNetwork, torch.Generator]:
    """The scheme, the network and the generator of one NGR run, from its seed."""
    gen = torch.Generator().manual_seed(settings.seed)  # CPU: same draws on every device
    c, h, w = problem.shape
    net = GradientNetwork(c, h, w, settings.network, seed=settings.seed).to(device)
    return scheme_factory(problem, gen), net, gen


def _plan_tiles(shape: tuple[int, int, int], settings: Settings, device: torch.device,
                max_memory: float | None) -> Settings:
    """The settings with ``tile`` set when the input does not fit in the memory available
    (``max_memory`` GiB, or what the device has free); unchanged otherwise."""
    from .tiling import (
        GiB,
        TilingWarning,
        available_memory,
        estimate_memory,
        plan_tile,
        tiles_needed,
    )

    if max_memory is not None and not max_memory > 0:
        raise InputError(f"max_memory must be a positive number of GiB, got {max_memory}")
    if settings.tile is not None:
        return settings
    budget = int(max_memory * GiB) if max_memory is not None else available_memory(device)
    if budget is None:
        return settings
    tile = plan_tile(shape, settings, budget)
    if tile is None:
        return settings
    c, h, w = shape
    n = tiles_needed(h, w, tile, settings.tile_overlap)
    warnings.warn(
        f"a {h}x{w}x{c} input needs about {estimate_memory(shape, settings)} for NGR at these "
        f"settings and {budget / GiB:.1f} GiB are available on {device}: restoring it in "
        f"{n} overlapping {tile}x{tile} tiles (settings.tile={tile})", TilingWarning,
        stacklevel=4)
    return settings.replace(tile=tile)


def _ngr_tiled(problem: Problem, scheme_factory: SchemeFactory, settings: Settings,
               device: torch.device, cbs: _Callbacks, every: int,
               ) -> tuple[torch.Tensor, History]:
    """Restore each tile of :func:`pyngr.tiling.tile_grid` as an image of its own (same
    settings and seed) and blend the results; no monitoring inside tiles."""
    from .tiling import blend_weights, tile_grid

    assert settings.tile is not None
    _c, h, w = problem.shape
    boxes = tile_grid(h, w, settings.tile, settings.tile_overlap)
    acc = torch.zeros_like(problem.y)
    weight = torch.zeros((h, w), device=device, dtype=problem.y.dtype)
    history = History(device=str(device), selection=settings.selection)
    start = time.perf_counter()
    for i, (ys, xs) in enumerate(boxes):
        def stop(info: IterationInfo, i: int = i) -> bool:
            tagged = dataclasses.replace(info, tile=(i, len(boxes)))
            return any([bool(cb(tagged)) for cb in cbs])  # every callback sees every point
        sub = Problem(problem.y[:, ys, xs].contiguous(),
                      None if problem.mask is None else problem.mask[:, ys, xs].contiguous(),
                      problem.noise)
        est, hist, _net = _ngr(sub, scheme_factory, settings, device, (stop,), None, every)
        wt = blend_weights(boxes, (ys, xs)).to(device=device, dtype=acc.dtype)
        acc[:, ys, xs] += est * wt
        weight[ys, xs] += wt
        history.iterations = max(history.iterations, hist.iterations)
        history.warm_start = hist.warm_start  # the same for every tile (same network)
        history.tiles.append({"box": [ys.start, ys.stop, xs.start, xs.stop],
                              "iterations": hist.iterations, "wall_time": hist.wall_time,
                              # "auto" decides per tile, by its own observed fraction
                              "noise_schedule": hist.noise_schedule,
                              "stop_reason": hist.stop_reason,
                              "selected_iteration": hist.selected_iteration})
        history.records += [{**r, "tile": i} for r in hist.records]
        del est, hist, _net, sub
    history.wall_time = time.perf_counter() - start
    history.selected_iteration = history.iterations
    history.stopped_early = any(t["stop_reason"] for t in history.tiles)
    schedules = {t["noise_schedule"] for t in history.tiles}
    history.noise_schedule = schedules.pop() if len(schedules) == 1 else "per tile"
    return acc / weight, history


# --------------------------------------------------------------------------- inpainting
def inpaint(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    method: str = "ngr",
    preset: str | None = None,
    iterations: int | None = None,
    device: str | torch.device | None = None,
    seed: int | None = None,
    progress: bool = False,
    callback: Callback | None = None,
    ground_truth: np.ndarray | None = None,
    settings: Settings | MethodSettings | None = None,
    overrides: Mapping[str, Any] | None = None,
    data_range: tuple[float, float] | None = None,
    monitor_every: int = 10,
    full_output: bool = False,
    tile: int | None = None,
    max_memory: float | None = None,
    checkpoint: str | os.PathLike[str] | Checkpointing | None = None,
) -> np.ndarray | Result:
    """Fill the missing entries of an image with NGR (paper Algorithm 1).

    Parameters
    ----------
    image : (H, W) or (H, W, C) array: RGB, grey, video frames or bands on the last axis.
        Values at missing entries are ignored (they may be NaN).
    mask : bool or 0/1 array, True/1 where ``image`` is observed; shape (H, W) (shared by all
        channels) or the image's shape.
    method : ``"ngr"`` (default), or a baseline run on the same inputs: ``"tv"``,
        ``"tv3d"``, ``"sstv"``, ``"halrtc"``, ``"tnn-fft"``, ``"tnn-dct"``, ``"tctv"``,
        ``"dip"``, ``"s2dip"`` (see :mod:`pyngr.baselines`; each with its paper's defaults).
    preset : NGR only: ``"fast"`` (default on CPU) or ``"paper"`` (default on CUDA, the
        reference settings: 15000 iterations of three 128-channel networks; on CUDA they
        run fused under CUDA graphs, the same model faster, see ``GPU_ENGINE_MIN_ITERATIONS``).
    iterations, seed : override the preset's.
    device : ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``/None (CUDA when present).
    progress : show a progress bar with ETA on stderr.
    callback : called as ``callback(info)`` every ``monitor_every`` iterations with an
        :class:`~pyngr.solvers.IterationInfo`; returning True stops the run.
    ground_truth : clean image, same shape, for monitoring only (metrics in the history and
        ``Result.metrics``); the result never depends on it.
    settings : a full :class:`~pyngr.presets.Settings` instead of a preset (or, with a
        baseline ``method``, that method's settings object); e.g. another backbone
        (``network.architecture``) or a warm start (``init_weights``, see :class:`Result`).
    overrides : ``{"dotted.path": value}`` changes to the settings, applied after the preset
        or ``settings`` (e.g. ``{"network.deterministic": True}``; CLI ``--set``).
    data_range : (low, high) of the values; by default uint8 is [0, 255], floats in [0, 1] are
        used as they are, and other data are stretched from their observed min and max.
    full_output : return a :class:`Result` (image, settings, history, metrics and, for NGR,
        the trained network's ``network_state``).
    tile : NGR only: restore in overlapping ``tile``×``tile`` tiles (``settings.tile``; the
        overlap is ``settings.tile_overlap``, at most ``tile // 4``). The default None tiles
        only when the input does not fit, see ``max_memory``.
    max_memory : NGR only: GiB the run may use (default: the free memory of ``device``).
        An input whose estimated need (:func:`pyngr.tiling.estimate_memory`) exceeds it is
        restored in overlapping tiles with blended seams, with a
        :class:`~pyngr.tiling.TilingWarning` saying so and the tile written in the result's
        settings; :class:`~pyngr.tiling.ResourceError` when even the smallest tile does not
        fit.
        Tiles have no monitoring (no oracle) and no ``network_state``.
    checkpoint : NGR only, untiled: a file to save the run's state in (every 10 minutes and
        on Ctrl-C), or a :class:`~pyngr.checkpoint.Checkpointing` (how often, a time limit,
        an iteration to stop after). A stopped run raises
        :class:`~pyngr.checkpoint.RunInterrupted`; calling again with the same file resumes
        it where it stopped (the same result as one uninterrupted run); the file is removed
        when the run ends. See :mod:`pyngr.checkpoint`.

    Returns
    -------
    The restored image, same shape, dtype and value range as ``image``; observed entries are
    returned exactly as given.

    Examples
    --------
    >>> import numpy as np, pyngr
    >>> rng = np.random.default_rng(0)
    >>> img = np.tile(np.linspace(0, 1, 24, dtype=np.float32), (24, 1))
    >>> mask = rng.random(img.shape) < 0.5
    >>> out = pyngr.inpaint(img, mask, iterations=5, device="cpu")
    >>> out.shape, out.dtype, bool(np.all(out[mask] == img[mask]))
    ((24, 24), dtype('float32'), True)
    """
    job = _inpaint_job(image, mask, method, preset, iterations, resolve_device(device), seed,
                       ground_truth, settings, data_range, tile, overrides)
    est, history, net, used = _solve(
        method, "inpaint", job.problem, job.factory, job.settings, job.device,
        progress=progress, callback=callback, monitor=job.monitor,
        monitor_every=monitor_every, max_memory=max_memory, checkpoint=checkpoint)
    return job.finish(est, history, net, used, full_output)


@dataclass
class _Job:
    """A checked input ready to solve, and how to turn the estimate into the user's output."""

    problem: Problem
    factory: SchemeFactory
    settings: Settings | MethodSettings
    device: torch.device
    monitor: Monitor | None
    output: Callable[[torch.Tensor], np.ndarray]

    def finish(self, est: torch.Tensor, history: History, net: GradientNetwork | None,
               settings: Settings | MethodSettings, full_output: bool) -> np.ndarray | Result:
        return _finish(self.output(est), settings, history, self.monitor, est,  # type: ignore[arg-type]
                       full_output, net)


def _inpaint_job(image: np.ndarray, mask: np.ndarray, method: str, preset: str | None,
                 iterations: int | None, dev: torch.device, seed: int | None,
                 ground_truth: np.ndarray | None, settings: Settings | MethodSettings | None,
                 data_range: tuple[float, float] | None, tile: int | None,
                 overrides: Mapping[str, Any] | None = None) -> _Job:
    img = _check_array("image", image, (2, 3))
    m = _check_mask("mask", mask, img.shape)
    if not m.any():
        raise InputError("mask observes nothing: every entry is marked missing")
    observed = img[m]
    if not np.all(np.isfinite(observed)):
        raise InputError("image has NaN or Inf values at observed entries")
    chans = 1 if img.ndim == 2 else img.shape[2]
    # the preset's multichannel rules read the observation: its observed fraction (an (H, W)
    # mask: the same) and how much its channels change (fast's λ_t; `paper` ignores it)
    fast = settings is None and _is_ngr(method) and (preset or default_preset(dev)) == "fast"
    rough = channel_roughness(img, m) if fast and chans > 3 else None
    settings = _resolve(method, "inpaint", preset, settings, dev, (chans, *img.shape[:2]),
                        iterations, seed, tile=tile, overrides=overrides,
                        observed=float(m.mean()), roughness=rough)
    scaling = Scaling.infer(observed, img.dtype, data_range)
    clean = np.where(m, img, 0).astype(img.dtype) if not m.all() else img
    y = _tensor(_to_chw(scaling.forward(clean)), dev)
    mt = _tensor(_to_chw(m), dev)
    mon = None
    if ground_truth is not None:
        gt = _check_truth(ground_truth, img.shape)
        mon = _make_monitor(gt, scaling, mt == 0, dev)

    def output(est: torch.Tensor) -> np.ndarray:
        out = scaling.inverse(_from_chw(est.cpu().numpy(), img.ndim))
        return np.where(m, img, out).astype(img.dtype)  # observed entries exactly as given
    return _Job(Problem(y, mt), _completion(settings), settings, dev, mon, output)


def inpaint_many(
    images: typing.Sequence[np.ndarray],
    masks: typing.Sequence[np.ndarray],
    *,
    preset: str | None = None,
    iterations: int | None = None,
    device: str | torch.device | None = None,
    seeds: typing.Sequence[int] | None = None,
    progress: bool = False,
    callback: Callback | None = None,
    ground_truths: typing.Sequence[np.ndarray | None] | None = None,
    settings: Settings | None = None,
    data_range: tuple[float, float] | None = None,
    monitor_every: int = 10,
    full_output: bool = False,
) -> list[np.ndarray] | list[Result]:
    """:func:`inpaint` with NGR for several images of one size, restored together.

    Each image gets the result :func:`inpaint` would give it with the same settings and seed
    (exactly on the CPU; with ``settings.network.fused`` up to the rounding of grouped
    convolutions): its own network, ADMM state and history. What is shared is the work:
    with ``fused`` (and on a GPU, ``compile``) one launch evaluates every layer of all the
    networks. It pays only where one restoration leaves the GPU idle between small kernels:
    at 256×256 with the ``paper`` preset it does not (H100: three together 8.7 ms per image
    per iteration, one alone 9.15; ``benchmarks/speed.py --batch``). On a CPU it is no
    faster than one image after the other.

    Parameters
    ----------
    images, masks : as for :func:`inpaint`, one per image; all images of one shape.
    seeds : one per image (default: the settings' seed for all).
    callback : called with the first image's :class:`~pyngr.solvers.IterationInfo` (the
        batch's progress); returning True stops every image at that iteration.
    ground_truths : one per image (or None), for monitoring only.
    Other parameters as :func:`inpaint` (NGR only; no tiling: the images must fit together).

    Returns
    -------
    One output per image, in order (:class:`Result` with ``full_output``).

    Examples
    --------
    >>> import numpy as np, pyngr
    >>> rng = np.random.default_rng(0)
    >>> imgs = [rng.random((16, 16, 3)).astype(np.float32) for _ in range(2)]
    >>> masks = [rng.random((16, 16)) < 0.5 for _ in range(2)]
    >>> outs = pyngr.inpaint_many(imgs, masks, iterations=3, device="cpu")
    >>> len(outs), outs[0].shape, bool(np.all(outs[1][masks[1]] == imgs[1][masks[1]]))
    (2, (16, 16, 3), True)
    """
    if len(images) == 0 or len(images) != len(masks):
        raise InputError(f"inpaint_many needs as many masks as images (>0), got {len(images)} "
                         f"images and {len(masks)} masks")
    n = len(images)
    seeds = list(seeds) if seeds is not None else [None] * n  # type: ignore[list-item]
    truths = list(ground_truths) if ground_truths is not None else [None] * n
    if len(seeds) != n or len(truths) != n:
        raise InputError("seeds and ground_truths need one entry per image")
    dev = resolve_device(device)
    jobs = [_inpaint_job(images[i], masks[i], "ngr", preset, iterations, dev, seeds[i],
                         truths[i], settings, data_range, None) for i in range(n)]
    shapes = {job.problem.shape for job in jobs}
    if len(shapes) > 1:
        raise InputError(f"inpaint_many restores images of one shape together; got "
                         f"{sorted(shapes)} (call it once per shape)")
    first = typing.cast(Settings, jobs[0].settings)
    _check_batch_fits(first, jobs[0].problem.shape, n, dev)
    stopped: list[bool] = []

    def lead(info: IterationInfo) -> bool:
        if callback is not None and callback(info):
            stopped.append(True)
        return bool(stopped)

    def follow(info: IterationInfo) -> bool:
        return bool(stopped)
    with contextlib.ExitStack() as stack:
        bar: _Callbacks = (lead,)
        if progress:
            from .progress import progress_bar

            bar += (stack.enter_context(progress_bar(first.iterations,
                                                     f"inpaint ({n} images)")),)
        parts = [_ngr_parts(job.problem, job.factory, typing.cast(Settings, job.settings),
                            dev) for job in jobs]
        schemes, nets, gens = (list(x) for x in zip(*parts, strict=True))
        every = max(1, monitor_every)
        runs = run_admm_batch(schemes, nets, first, gens, monitor_every=every,
                              monitors=[job.monitor for job in jobs],
                              callbacks=[bar] + [(follow,)] * (n - 1))
    return [job.finish(est, hist, net, job.settings, full_output)  # type: ignore[misc]
            for job, (est, hist), net in zip(jobs, runs, nets, strict=True)]


def _check_batch_fits(settings: Settings, shape: tuple[int, int, int], count: int,
                      device: torch.device) -> None:
    """ResourceError when ``count`` runs of ``shape`` would not fit together on ``device``."""
    from .tiling import GiB, ResourceError, available_memory, estimate_memory

    budget = available_memory(device)
    need = estimate_memory(shape, settings)
    if budget is not None and count * need.total > budget:
        raise ResourceError(
            f"{count} restorations of {shape[1]}x{shape[2]}x{shape[0]} need about "
            f"{count * need.total / GiB:.1f} GiB together and {budget / GiB:.1f} GiB are "
            f"available on {device}: pass fewer images at a time")


def _finish(out: np.ndarray, settings: Settings, history: History, mon: Monitor | None,
            est: torch.Tensor, full_output: bool,
            network: GradientNetwork | None) -> np.ndarray | Result:
    if not full_output:
        return out
    metrics = mon(est) if mon is not None else {}
    state = None
    if network is not None:
        state = {k: v.detach().to("cpu", copy=True) for k, v in network.state_dict().items()}
    return Result(out, settings, history, metrics, state)


# --------------------------------------------------------------------------- cloud removal
def decloud(
    series: np.ndarray,
    cloud_mask: np.ndarray,
    *,
    method: str = "ngr",
    preset: str | None = None,
    iterations: int | None = None,
    device: str | torch.device | None = None,
    seed: int | None = None,
    progress: bool = False,
    callback: Callback | None = None,
    ground_truth: np.ndarray | None = None,
    settings: Settings | MethodSettings | None = None,
    overrides: Mapping[str, Any] | None = None,
    data_range: tuple[float, float] | None = None,
    monitor_every: int = 10,
    full_output: bool = False,
    tile: int | None = None,
    max_memory: float | None = None,
    checkpoint: str | os.PathLike[str] | Checkpointing | None = None,
) -> np.ndarray | Result:
    """Remove clouds from the first acquisition of a multi-temporal series.

    Parameters
    ----------
    series : (T, H, W, B) array, T dates of B bands, the cloudy acquisition first; the other
        dates are clear references (their values are used as observed).
    cloud_mask : bool or 0/1, True/1 where the first date is covered by cloud (missing);
        shape (H, W) or (H, W, B). Never inferred from zeros.
    ground_truth : the clear first date, (H, W, B), for monitoring only.
    Other parameters as :func:`inpaint`.

    Returns
    -------
    The first date, (H, W, B), with cloudy pixels filled, in the series' dtype and range.

    Examples
    --------
    >>> import numpy as np, pyngr
    >>> series = np.random.default_rng(0).random((3, 24, 24, 2)).astype(np.float32)
    >>> cloud = np.zeros((24, 24), bool); cloud[8:16, 8:16] = True
    >>> out = pyngr.decloud(series, cloud, iterations=3, device="cpu")
    >>> out.shape, bool(np.all(out[~cloud] == series[0][~cloud]))
    ((24, 24, 2), True)
    """
    s = _check_array("series", series, (4,))
    t, h, w, b = s.shape
    if t < 2:
        raise InputError(f"series must hold at least 2 dates (T, H, W, B), got T={t}")
    cm = np.asarray(cloud_mask)
    if cm.ndim == 3 and cm.shape[-1] == 1:
        cm = cm[..., 0]
    if cm.shape not in ((h, w), (h, w, b)):
        raise InputError(f"cloud_mask shape {cm.shape} does not fit the series: expected "
                         f"({h}, {w}) or ({h}, {w}, {b})")
    cloud = _check_mask("cloud_mask", cm, (h, w, b))
    if cloud.all():
        raise InputError("cloud_mask covers the whole first date: nothing is observed there")
    # Stack dates on channels: [date1 bands, date2 bands, ...] (SPEC section 2).
    stacked = np.concatenate(list(s), axis=-1)
    m = np.ones(stacked.shape, bool)
    m[..., :b] = ~cloud
    observed = stacked[m]
    if not np.all(np.isfinite(observed)):
        raise InputError("series has NaN or Inf values outside the cloud")
    dev = resolve_device(device)
    settings = _resolve(method, "decloud", preset, settings, dev, (stacked.shape[-1], h, w),
                        iterations, seed, tile=tile, overrides=overrides)
    scaling = Scaling.infer(observed, s.dtype, data_range)
    y = _tensor(_to_chw(scaling.forward(np.where(m, stacked, 0))), dev)
    mt = _tensor(_to_chw(m), dev)
    mon = None
    if ground_truth is not None:
        gt = np.asarray(ground_truth)
        gt = _check_truth(gt[..., None] if gt.ndim == 2 else gt, (h, w, b), "one date's")
        mon = _make_monitor(gt, scaling, mt[:b] == 0, dev, channels=b)
    est, history, net, settings = _solve(
        method, "decloud", Problem(y, mt), _completion(settings), settings, dev,
        progress=progress, callback=callback, monitor=mon, monitor_every=monitor_every,
        max_memory=max_memory, checkpoint=checkpoint)
    first_est = est[:b]
    out = scaling.inverse(_from_chw(first_est.cpu().numpy(), 3))
    out = np.where(cloud, out, s[0]).astype(s.dtype)
    return _finish(out, settings, history, mon, est, full_output, net)


# --------------------------------------------------------------------------- denoising
def denoise(
    image: np.ndarray,
    *,
    noise: Literal["mixed", "gaussian"] = "mixed",
    video: bool = False,
    method: str = "ngr",
    preset: str | None = None,
    iterations: int | None = None,
    device: str | torch.device | None = None,
    seed: int | None = None,
    progress: bool = False,
    callback: Callback | None = None,
    ground_truth: np.ndarray | None = None,
    settings: Settings | MethodSettings | None = None,
    overrides: Mapping[str, Any] | None = None,
    data_range: tuple[float, float] | None = None,
    monitor_every: int = 10,
    full_output: bool = False,
    tile: int | None = None,
    max_memory: float | None = None,
    checkpoint: str | os.PathLike[str] | Checkpointing | None = None,
) -> np.ndarray | Result:
    """Remove Gaussian or mixed (Gaussian + impulse + stripes + deadlines) noise with NGR.

    Parameters
    ----------
    image : noisy (H, W) or (H, W, C) array (bands or frames on the last axis).
    noise : ``"mixed"`` (a sparse noise term S is estimated) or ``"gaussian"``.
    video : with ``noise="gaussian"``, use the reference's video-denoising settings.
    method : ``"ngr"`` (default) or a baseline: ``"tv"``, ``"tv3d"``, ``"sstv"``,
        ``"tnn-fft"``, ``"tnn-dct"``, ``"tctv"``, ``"ctv"``, ``"lrtdtv"``, ``"dip"``,
        ``"s2dip"``, ``"bm3d"`` (optional package).
    data_range : (low, high) of clean values. By default uint8 is [0, 255]; float data whose
        1st-99th percentiles lie within [-0.5, 1.5] are taken as [0, 1] data (noise may push
        values outside); other data are stretched from their min and max.
    Other parameters as :func:`inpaint`.

    Returns
    -------
    The denoised image (exponential moving average of the iterates, SPEC section 3), same
    shape, dtype and value range as ``image``.

    Examples
    --------
    >>> import numpy as np, pyngr
    >>> noisy = np.random.default_rng(0).random((24, 24, 4)).astype(np.float32)
    >>> pyngr.denoise(noisy, noise="gaussian", iterations=3, device="cpu").shape
    (24, 24, 4)
    """
    img = _check_array("image", image, (2, 3))
    if not np.all(np.isfinite(img)):
        raise InputError("image has NaN or Inf values")
    dev = resolve_device(device)
    if noise not in ("mixed", "gaussian"):
        raise InputError(f"unknown noise {noise!r}; expected 'mixed' or 'gaussian'")
    chans = 1 if img.ndim == 2 else img.shape[2]
    settings = _resolve(method, "denoise", preset, settings, dev, (chans, *img.shape[:2]),
                        iterations, seed, noise=noise, tile=tile, video=video,
                        overrides=overrides)
    if data_range is None and np.issubdtype(img.dtype, np.floating):
        data_range = _noisy_unit_range(img)
    scaling = Scaling.infer(img, img.dtype, data_range)
    y = _tensor(_to_chw(scaling.forward(img)), dev)
    mon = None
    if ground_truth is not None:
        gt = _check_truth(ground_truth, img.shape)
        mon = _make_monitor(gt, scaling, None, dev)
    est, history, net, settings = _solve(
        method, "denoise", Problem(y, None, noise),
        lambda p, g: DenoisingScheme(p.y, settings.admm),  # type: ignore[union-attr,arg-type]
        settings, dev, progress=progress, callback=callback, monitor=mon,
        monitor_every=monitor_every, max_memory=max_memory, checkpoint=checkpoint)
    out = scaling.inverse(_from_chw(est.cpu().numpy(), img.ndim))
    return _finish(out, settings, history, mon, est, full_output, net)
