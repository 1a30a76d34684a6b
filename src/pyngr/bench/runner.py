"""Run one :class:`~pyngr.bench.specs.RunSpec` and turn it into a store record.

The restoration goes through the public API (``pyngr.inpaint`` / ``decloud`` /
``denoise``) with ground truth passed for monitoring only; the result is scored after the
run with :func:`pyngr.metrics.evaluate` (the paper's definitions): over the whole image and,
for inpainting and cloud removal, over the missing entries only. The record also keeps the
labelled oracle (best monitored PSNR, never the result), the monitored PSNR curve, the
iteration count, wall time, device and library versions, and the exact settings.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..metrics import evaluate
from ..presets import override
from .datasets import load_case
from .specs import RunSpec

__all__ = ["build_settings", "case_key", "execute", "override"]


def build_settings(spec: RunSpec, task: str, shape_chw: tuple[int, int, int],
                   kwargs: dict[str, Any], device: str) -> Any:
    """The settings object of a run: method defaults (NGR from random weights), the spec's
    iterations, seed and overrides."""
    from ..api import default_preset
    from ..baselines import default_settings
    from ..presets import get_settings

    if spec.method == "ngr":
        preset = spec.preset or default_preset(torch.device(device))
        # The paper's experiments: without `fast`'s additions (its bundled warm start, its
        # "auto" perturbation schedule, its multichannel λ_t) unless a run's overrides ask
        # for them, so that a store's `fast` records keep one meaning across versions.
        s: Any = get_settings(task, preset, channels=shape_chw[0],
                              noise=kwargs.get("noise", "mixed"),
                              video=bool(kwargs.get("video", False)), additions=False)
    else:
        s = default_settings(spec.method, task, shape_chw, kwargs.get("noise"))
    s = s.replace(seed=spec.seed)
    if spec.iterations is not None:
        s = s.replace(iterations=spec.iterations)
    for path, value in spec.overrides:
        if path == "warm_start":  # handled by execute(): weights fitted on another case
            continue
        s = override(s, path, value)
    return s


def _pretrain(spec: RunSpec, case: dict[str, Any], data: Path, device: str,
              folder: Path) -> tuple[str, dict[str, Any]]:
    """Fit NGR (same settings) on another case; return the saved weights' path and a
    summary of that run."""
    import torch as _torch

    from .specs import Case

    source = RunSpec(spec.experiment, Case(**case), "ngr", spec.seed, spec.preset,
                     spec.iterations, tuple(o for o in spec.overrides if o[0] != "warm_start"))
    record = execute(source, data, device=device, keep_state=True)
    path = folder / f"weights-{source.key}.pt"
    _torch.save(record.pop("network_state"), path)
    return str(path), {"case": source.case.label, "key": source.key,
                       "psnr": record["result"]["whole_image"]["psnr"],
                       "iterations": record["iterations"]}


def _gradient_saver(folder: Path, key: str, at: set[int]) -> Any:
    """A callback writing |F_h| + |F_v| of the first channel as a picture at iterations ``at``."""
    from ..io import write_image

    def callback(info: Any) -> None:
        if info.iteration in at and info.has_gradient_maps:
            f = info.gradient_maps()
            mag = np.abs(f[0, 0]) + np.abs(f[1, 0])
            hi = float(np.percentile(mag, 99.5)) or 1.0
            pic = (np.clip(mag / hi, 0, 1) * 255).round().astype(np.uint8)
            write_image(folder / f"{key}-grad-{info.iteration:06d}.png", pic, force=True)

    return callback


def to_unit(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``a`` as float64 on the [0, 1] scale the bench scores on: 8-bit data (``like`` is
    uint8) divided by 255, float data clipped to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> to_unit(np.array([0, 255], np.uint8), np.zeros(1, np.uint8)).tolist()
    [0.0, 1.0]
    >>> to_unit(np.array([-0.5, 0.25, 1.5]), np.zeros(1)).tolist()
    [0.0, 0.25, 1.0]
    """
    if like.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    return np.clip(a.astype(np.float64), 0, 1)


def _device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def case_key(spec: RunSpec) -> str:
    """Identity of a run's input (same for every method run on it)."""
    return RunSpec("", spec.case).key


def _preview(path: Path, image: np.ndarray, video: bool) -> None:
    """An 8-bit picture of a result for report figures (first frame of a video; three
    bands of a cube in false colour)."""
    from ..figures import display_image
    from ..io import write_image

    # the bench's data are in [0, 1] (or uint8): no stretch, so that every method's
    # picture of a case is on the same scale
    limits = None if image.dtype == np.uint8 else (0.0, 1.0)
    pic = display_image(image, bands=[0] if video and image.ndim == 3 else None, limits=limits)
    write_image(path, (pic * 255).round().astype(np.uint8), force=True)


def execute(spec: RunSpec, data: str | Path, *, device: str = "cpu", progress: bool = False,
            monitor_every: int = 50, previews: str | Path | None = None,
            keep_state: bool = False, checkpoints: str | Path | None = None,
            deadline: float | None = None) -> dict[str, Any]:
    """Run ``spec`` on the data folder ``data``; return its record (not yet stored).

    With ``previews`` (a folder), 8-bit pictures of the result (``<key>.png``) and of the
    case's input and ground truth (``case-<case key>-{observed,truth}.png``) are written
    there for the report's figures. Specs may ask for more through their overrides and
    tags: ``("warm_start", case)`` first fits NGR on another case and starts from its
    weights (paper Fig. 14); the tag ``capture_gradients`` (fractions of the run) saves
    pictures of the estimated gradient maps (Fig. 11) into ``previews``.

    With ``checkpoints`` (a folder) an NGR run saves its state to ``<key>.ckpt`` there and
    resumes from it when it exists (:mod:`pyngr.checkpoint`); with ``deadline`` (a
    ``time.monotonic()`` instant) it stops at that time, saving its state, by raising
    :class:`~pyngr.errors.RunInterrupted`: a run longer than one session (a ``paper`` run
    on a large image, a 10-minute GPU call) finishes over several. Its record then has
    ``resumed: true`` and the wall time of all its parts.
    """
    import pyngr

    from ..api import resolve_device

    dev = str(resolve_device(device))
    case = load_case(spec.case, Path(data))
    settings = build_settings(spec, case.task, _shape_chw(case), case.kwargs, dev)
    fn = {"inpaint": pyngr.inpaint, "decloud": pyngr.decloud, "denoise": pyngr.denoise}[
        case.task]
    kwargs = dict(case.kwargs)
    if spec.method != "ngr":
        kwargs.pop("video", None)
    extra: dict[str, Any] = {}
    warm = dict(spec.overrides).get("warm_start")
    scratch = None
    if warm is not None:
        import tempfile

        scratch = tempfile.TemporaryDirectory()
        weights, extra["warm_start"] = _pretrain(spec, warm, Path(data), dev, Path(scratch.name))
        settings = settings.replace(init_weights=weights)
    callback = None
    capture = dict(spec.tags).get("capture_gradients")
    if capture and previews is not None:
        every = max(1, monitor_every)
        at = {max(every, round(float(q) * settings.iterations / every) * every)
              for q in capture}
        Path(previews).mkdir(parents=True, exist_ok=True)
        callback = _gradient_saver(Path(previews), spec.key, at)
        extra["gradient_maps_at"] = sorted(at)
    ckpt = None
    if spec.method == "ngr" and (checkpoints is not None or deadline is not None):
        from ..checkpoint import Checkpointing

        if checkpoints is None:
            raise InputError("a deadline needs a checkpoint folder to save the run in")
        Path(checkpoints).mkdir(parents=True, exist_ok=True)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ckpt = Checkpointing(Path(checkpoints) / f"{spec.key}.ckpt", time_limit=left)
        if ckpt.path.exists():
            extra["resumed"] = True
    start = time.perf_counter()
    try:
        res = fn(**kwargs, method=spec.method, settings=settings, device=dev,
                 progress=progress, ground_truth=case.truth, monitor_every=monitor_every,
                 callback=callback, full_output=True,
                 **({} if ckpt is None else {"checkpoint": ckpt}))
    finally:
        if scratch is not None:
            scratch.cleanup()
    wall = time.perf_counter() - start
    if extra.get("resumed"):  # the loop's clock went on from the saved parts
        wall = max(wall, res.history.wall_time)
    return _record(spec, case, res, wall, dev, previews, extra, keep_state)


def _record(spec: RunSpec, case: Any, res: Any, wall: float, dev: str,
            previews: str | Path | None, extra: dict[str, Any],
            keep_state: bool) -> dict[str, Any]:
    """The store record of a finished run (and its preview pictures)."""
    import pyngr

    out, ref = to_unit(res.image, case.truth), to_unit(case.truth, case.truth)
    multi = out.ndim == 3 and out.shape[2] > 1
    names = ("psnr", "ssim", "sam", "ergas") if multi else ("psnr", "ssim")
    metrics = {"whole_image": evaluate(out, ref, metrics=names)}
    if case.missing is not None and case.missing.any():
        metrics["missing_entries"] = evaluate(out, ref, region=case.missing, metrics=names)
    h = res.history
    if previews is not None:
        folder = Path(previews)
        video = spec.case.dataset == "video"
        _preview(folder / f"{spec.key}.png", res.image, video)
        for name, image in (("observed", case.observed), ("truth", case.truth)):
            target = folder / f"case-{case_key(spec)}-{name}.png"
            if not target.exists():
                _preview(target, image, video)
    return {
        "key": spec.key,
        "case_key": case_key(spec),
        "spec": spec.to_dict(),
        "data": case.note,
        "task": case.task,
        "result": metrics,
        "result_is": h.result_is(),
        "oracle_monitored": h.oracle,
        "curve": [{k: r[k] for k in ("iteration", "psnr", "loss") if k in r}
                  for r in h.records],
        # relative change of the iterate every 50 iterations (observation only): lets a
        # selection rule be evaluated on finished runs
        "changes": [[k, c] for k, c in h.changes],
        # the input-perturbation schedule used ("auto" resolved; None for the baselines)
        "noise_schedule": h.noise_schedule,
        "iterations": h.iterations,
        "wall_time_s": round(wall, 3),
        "seconds_per_iteration": h.wall_time / max(h.iterations, 1),
        "device": dev,
        "device_name": _device_name(dev),
        "settings": res.settings.to_dict(),
        "versions": {"pyngr": pyngr.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
        **({"network_state": res.network_state} if keep_state else {}),
    }


def batchable(spec: RunSpec) -> bool:
    """Whether ``spec`` can run in :func:`execute_group`: NGR without a warm start or
    gradient captures (inpainting cases; others are checked when loaded)."""
    return (spec.method == "ngr" and "warm_start" not in dict(spec.overrides)
            and not dict(spec.tags).get("capture_gradients"))


def _shape_chw(case: Any) -> tuple[int, int, int]:
    """(C, H, W) of the array NGR restores for a loaded case (decloud: dates x bands)."""
    if case.task == "decloud":
        t, h, w, b = case.kwargs["series"].shape
        return (t * b, h, w)
    img = case.kwargs["image"]
    return (img.shape[2] if img.ndim == 3 else 1, img.shape[0], img.shape[1])


def group_key(spec: RunSpec, data: str | Path, device: str) -> tuple[Any, ...] | None:
    """Runs with equal keys can be restored together (same task, shape and settings but
    the seed); None for a run that cannot."""
    if not batchable(spec):
        return None
    return _group_key(spec, load_case(spec.case, Path(data)), device)


def _group_key(spec: RunSpec, case: Any, device: str) -> tuple[Any, ...] | None:
    if not batchable(spec) or case.task != "inpaint":
        return None
    settings = build_settings(spec, case.task, _shape_chw(case), case.kwargs, device)
    img = case.kwargs["image"]
    return (case.task, img.shape, str(img.dtype), repr(settings.replace(seed=0).to_dict()))


def execute_group(specs: list[RunSpec], data: str | Path, *, device: str = "cpu",
                  progress: bool = False, monitor_every: int = 50,
                  previews: str | Path | None = None) -> list[dict[str, Any]]:
    """Run inpainting specs of one :func:`group_key` together (``pyngr.inpaint_many``: each
    gets the result it would get alone; on a GPU the group shares the kernel launches);
    return their records. Each record's ``wall_time_s`` is the group's, with ``batch``
    saying how many shared it."""
    import pyngr

    from ..api import resolve_device

    dev = str(resolve_device(device))
    cases = [load_case(spec.case, Path(data)) for spec in specs]
    keys = {_group_key(spec, case, dev) for spec, case in zip(specs, cases, strict=True)}
    if None in keys or len(keys) != 1:
        raise ValueError("execute_group needs NGR inpainting runs of one shape and setting")
    settings = [build_settings(spec, "inpaint", _shape_chw(case), case.kwargs, dev)
                for spec, case in zip(specs, cases, strict=True)]
    start = time.perf_counter()
    results = pyngr.inpaint_many([c.kwargs["image"] for c in cases],
                                 [c.kwargs["mask"] for c in cases], settings=settings[0],
                                 seeds=[st.seed for st in settings], device=dev,
                                 progress=progress, ground_truths=[c.truth for c in cases],
                                 monitor_every=monitor_every, full_output=True)
    wall = time.perf_counter() - start
    return [_record(spec, case, res, wall, dev, previews, {"batch": len(specs)}, False)
            for spec, case, res in zip(specs, cases, results, strict=True)]
