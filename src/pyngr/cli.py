"""The ``ngr`` command line: restore, degrade, evaluate, demo.

Every restoring command writes its output atomically, refuses to overwrite without
``--force``, and saves a run record ``<output>.json`` beside it (settings, history, metrics,
versions) so the run can be repeated. Bad input ends with ``error: <one line>`` and exit
status 2, before anything is written.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from . import __version__
from ._guard import guard
from .bench.cli import bench_app
from .errors import InputError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Zero-shot image restoration with the Neural Gradient Regularizer (NGR).",
)


class Preset(str, Enum):
    paper = "paper"
    fast = "fast"


class Noise(str, Enum):
    mixed = "mixed"
    gaussian = "gaussian"


class Kind(str, Enum):
    random = "random"
    deadlines = "deadlines"
    text = "text"
    cloud = "cloud"
    gaussian = "gaussian"
    weak = "weak"
    strong = "strong"


PresetOpt = Annotated[Preset | None, typer.Option(
    "--preset", help="Settings preset: 'fast' (default on CPU) or 'paper' (default on CUDA).")]
IterOpt = Annotated[int | None, typer.Option("--iterations", "-n", min=1,
                                             help="Iterations (overrides the preset).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or auto.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (default 2333).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
GtOpt = Annotated[Path | None, typer.Option(
    "--gt", help="Ground truth, for monitoring and metrics only (never used to restore).")]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")]
GtKeyOpt = Annotated[str | None, typer.Option(
    "--gt-key", help="Variable name in a .mat/.npz ground truth, if not --key's (the paper's "
    "files keep 'obs' and 'gt' apart).")]
RangeOpt = Annotated[str | None, typer.Option(
    "--data-range", metavar="LO,HI", help="Values that map to [0, 1] inside (default: 0,255 "
    "for 8-bit data, floats in [0, 1] as they are, noisy floats that look like [0, 1] data "
    "plus noise as 0,1 (denoise), anything else from its observed min and max).")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Variable name in .mat/.npz input.")]
FigOpt = Annotated[Path | None, typer.Option(
    "--figure", help="Also write a side-by-side figure (observed / restored / ground truth).")]
FigBandsOpt = Annotated[str | None, typer.Option(
    "--figure-bands", metavar="R,G,B", help="Channels (0-based) shown as red, green, blue in "
    "--figure, or one for grey, e.g. 2,1,0 for a true-colour picture of blue/green/red/NIR "
    "bands (default: RGB as is, else three evenly spaced channels).")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file (format from suffix).")]
TileOpt = Annotated[int | None, typer.Option(
    "--tile", min=16, help="NGR: restore in overlapping tiles of this many pixels per side "
    "(default: only when the input does not fit in memory).")]
MemOpt = Annotated[float | None, typer.Option(
    "--max-memory", min=0.01, help="NGR: GiB the run may use (default: what the device has "
    "free); larger inputs are tiled.")]
CkptOpt = Annotated[Path | None, typer.Option(
    "--checkpoint", help="NGR: save the run's state in this file (every --checkpoint-every "
    "seconds, at --time-limit and on Ctrl-C); run the same command again to resume from it. "
    "Default with --time-limit: <output>.ckpt.")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", min=0, help="NGR: stop after this many seconds, saving the state to the "
    "checkpoint (exit status 3); the next call resumes.")]
CkptEveryOpt = Annotated[float, typer.Option(
    "--checkpoint-every", min=0, help="Seconds between checkpoint saves.")]
SettingsOpt = Annotated[Path | None, typer.Option(
    "--settings", help="Settings to repeat: a run record <output>.json written by an earlier "
    "run, or a settings JSON (Settings.to_json); replaces --preset.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Change one setting, dotted.path=VALUE (JSON value), e.g. "
    "network.deterministic=true; repeatable.")]
MethodOpt = Annotated[str, typer.Option(
    "--method", help="'ngr' (default) or a baseline on the same input: tv, tv3d, sstv, halrtc, "
                     "tnn-fft, tnn-dct, tctv, ctv, lrtdtv, dip, s2dip, bm3d (see `ngr methods`).")]


# --------------------------------------------------------------------------- helpers
def _command(fn: Callable[..., None]) -> Callable[..., None]:
    """Register a guarded command on ``ngr``."""
    return app.command()(guard(fn))


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        typer.echo(msg, err=True)


def _checkpointing(output: Path, path: Path | None, time_limit: float | None,
                   every: float) -> Any:
    """The run's :class:`~pyngr.checkpoint.Checkpointing`, or None without --checkpoint and
    --time-limit."""
    if path is None and time_limit is None:
        return None
    from .checkpoint import Checkpointing

    return Checkpointing(path or output.with_name(output.name + ".ckpt"), every=every,
                         time_limit=time_limit)


def _record_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def _check_outputs(paths: list[Path | None], force: bool) -> None:
    for p in paths:
        if p is not None and p.exists() and not force:
            raise InputError(f"{p} exists; pass --force to overwrite")


def _data_range(text: str | None) -> tuple[float, float] | None:
    """``--data-range LO,HI`` -> (LO, HI); None when not given."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        lo, hi = (float(v) for v in parts)
    except ValueError:
        raise InputError(f"--data-range must be LO,HI (two numbers), got {text!r}") from None
    if not hi > lo:
        raise InputError(f"--data-range must have HI > LO, got {text!r}")
    return lo, hi


def _figure_bands(text: str | None, channels: int) -> tuple[int, ...] | None:
    """``--figure-bands R,G,B`` (or one channel) -> indices checked against ``channels``."""
    if text is None:
        return None
    try:
        bands = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--figure-bands must be 1 or 3 channel numbers, got {text!r}") from None
    if len(bands) not in (1, 3) or any(not 0 <= b < channels for b in bands):
        raise InputError(f"--figure-bands must be 1 or 3 channel numbers in 0..{channels - 1}, "
                         f"got {text!r}")
    return bands


def _figure_bands_of(text: str | None, data: np.ndarray, video: bool) -> tuple[int, ...] | None:
    """The figure's bands: ``--figure-bands``, else for a video its first frame (frames are
    not colours, so no false-colour composite), else None (the figure's own choice)."""
    bands = _figure_bands(text, data.shape[2] if data.ndim == 3 else 1)
    if bands is None and video and data.ndim == 3:
        bands = (0,)
    return bands


def _preflight(output: Path, data: np.ndarray, like: Any, force: bool) -> None:
    """Fail before a long run if ``output`` cannot hold data of this shape and dtype."""
    import tempfile

    from .io import write_image

    _check_outputs([output], force)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            write_image(Path(tmp) / ("probe" + output.suffix), np.zeros_like(data), like=like)
        except InputError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise InputError(f"cannot write {output}: {reason}") from exc


def _squeeze(date: np.ndarray, first: np.ndarray) -> np.ndarray:
    """One date as the user gave dates: (H, W) when single-band 2-D files came in."""
    return date[..., 0] if first.ndim == 2 and date.shape[-1] == 1 else date


def _unit(a: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """Values as float64 in [0, 1] for metrics: uint8 / 255, else the reference's range."""
    from .api import Scaling

    base = ref if ref is not None else a
    s = Scaling.infer(base[np.isfinite(base)] if base.dtype.kind == "f" else base, base.dtype)
    return np.clip((a.astype(np.float64) - s.offset) / s.scale, 0, 1)


def _metrics(result: np.ndarray, gt: np.ndarray, missing: np.ndarray | None) -> dict[str, Any]:
    from .metrics import evaluate

    r, g = _unit(result, gt), _unit(gt)
    names = ("psnr", "ssim", "sam", "ergas") if r.ndim == 3 and r.shape[2] > 1 else ("psnr",
                                                                                       "ssim")
    out: dict[str, Any] = {"whole_image": evaluate(r, g, metrics=names)}
    if missing is not None and missing.any():
        out["missing_entries"] = evaluate(r, g, region=missing, metrics=names)
    return out


def _write_record(output: Path, task: str, inputs: dict[str, Any], result: Any,
                  metrics: dict[str, Any] | None, force: bool) -> Path:
    import torch

    from .io import atomic_output

    hist = result.history.to_dict()
    record = {
        "pyngr": __version__,
        "task": task,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": ["ngr", *sys.argv[1:]],
        "inputs": inputs,
        "output": str(output),
        "settings": result.settings.to_dict(),
        "metrics": {
            "result": metrics,
            "result_is": result.history.result_is(),
            "oracle_monitored": hist.pop("oracle"),
            "note": "result: metrics of the returned image (chosen without ground truth); "
                    "oracle_monitored: the best monitored PSNR against ground truth (an "
                    "oracle, never used to choose the result)",
        } if metrics is not None else None,
        "run": hist,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "numpy": np.__version__, "platform": platform.platform()},
    }
    path = _record_path(output)
    with atomic_output(path, force=force) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))
    return path


def _summary(quiet: bool, output: Path, result: Any, metrics: dict[str, Any] | None) -> None:
    if quiet:
        return
    h = result.history
    warm = f", from weights {h.warm_start}" if h.warm_start else ""
    typer.echo(f"wrote {output}  ({h.iterations} iterations, {h.wall_time:.1f} s, "
               f"{h.wall_time / max(h.iterations, 1) * 1000:.0f} ms/iteration, {h.device}"
               f"{warm})", err=True)
    if metrics:
        for region, vals in metrics.items():
            text = ", ".join(f"{k.upper()} {v:.4g}" for k, v in vals.items())
            typer.echo(f"  {h.result_is()}, {region.replace('_', ' ')}: {text}", err=True)
        if h.oracle:
            typer.echo(f"  oracle (best monitored PSNR vs ground truth, not the result): "
                       f"{h.oracle['psnr']:.2f} dB at iteration {h.oracle['iteration']}",
                       err=True)


def _settings(path: Path | None, sets: list[str] | None,
              method: str) -> tuple[Any, dict[str, Any], str]:
    """``--settings`` / ``--set`` -> (settings object or None, overrides, method).

    A run record's ``settings`` or a bare settings dict; a baseline's settings name their
    method, which then need not be repeated with ``--method``.
    """
    from .presets import Settings, parse_override

    overrides = dict(parse_override(t) for t in sets or [])
    if path is None:
        return None, overrides, method
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"settings file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read settings from {path}: {exc}") from None
    if isinstance(d, dict) and isinstance(d.get("settings"), dict):
        d = d["settings"]  # a run record
    if not isinstance(d, dict) or "task" not in d:
        raise InputError(f"{path} holds no settings (expected a run record or a settings "
                         "JSON object)")
    if "method" in d:  # a baseline's settings
        from .baselines import settings_from_dict

        try:
            obj: Any = settings_from_dict(d)
        except (TypeError, KeyError, ValueError) as exc:
            raise InputError(f"invalid settings in {path}: {exc}") from None
        if method == "ngr":
            method = obj.method
        return obj, overrides, method
    return Settings.from_dict(d), overrides, method


def _noise_of(settings: Any) -> str:
    """The noise model of denoising settings (NGR's in its ADMM, a baseline's its own), or
    ``"mixed"``, the default, when there are none."""
    if settings is None:
        return "mixed"
    found = getattr(getattr(settings, "admm", None), "noise", None) or getattr(
        settings, "noise", None)
    return str(found) if found in ("mixed", "gaussian") else "mixed"


def _read(path: Path, key: str | None = None, gray: bool = False) -> Any:
    from .io import read_image

    return read_image(path, key=key, gray=gray)


def _deliver(output: Path, data: np.ndarray, like: Any, task: str, inputs: dict[str, Any],
             res: Any, metrics: dict[str, Any] | None, figure: Path | None,
             panels: list[tuple[str, np.ndarray]], truth: np.ndarray | None, force: bool,
             quiet: bool, bands: tuple[int, ...] | None = None, frames: bool = False) -> None:
    """Write the result, its run record and the optional figure; print the summary."""
    from .io import write_image

    write_image(output, data, like=like, force=force)
    _write_record(output, task, inputs, res, metrics, force)
    if figure is not None:
        from .figures import side_by_side

        name = getattr(res.settings, "method", "ngr").upper()
        panels = [*panels, (f"{name} result", res.image)]
        if truth is not None:
            panels.append(("ground truth", truth))
        side_by_side(panels, figure, bands=bands, frames=frames)
    _summary(quiet, output, res, metrics)


# --------------------------------------------------------------------------- commands
@_command
def inpaint(
    image: Annotated[Path, typer.Argument(help="Observed image (missing entries any value).")],
    mask: Annotated[Path, typer.Option("--mask", "-m",
                                       help="Mask: nonzero/white = observed, 0 = missing.")],
    output: OutOpt,
    invert_mask: Annotated[bool, typer.Option(help="Mask marks the missing entries.")] = False,
    video: Annotated[bool, typer.Option(
        help="Channels are video frames (the figure shows the first, grey).")] = False,
    key: KeyOpt = None,
    mask_key: Annotated[str | None, typer.Option(help="Variable name in a .mat mask.")] = None,
    gray: Annotated[bool, typer.Option(help="Convert colour frames to grey.")] = False,
    method: MethodOpt = "ngr",
    preset: PresetOpt = None,
    settings: SettingsOpt = None,
    set_: SetOpt = None,
    iterations: IterOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = None,
    tile: TileOpt = None,
    max_memory: MemOpt = None,
    checkpoint: CkptOpt = None,
    time_limit: TimeLimitOpt = None,
    checkpoint_every: CkptEveryOpt = 600.0,
    gt: GtOpt = None,
    gt_key: GtKeyOpt = None,
    data_range: RangeOpt = None,
    figure: FigOpt = None,
    figure_bands: FigBandsOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Fill missing entries (random sampling, deadlines, text, ...) of an image or a stack."""
    from .api import inpaint as run
    from .io import read_mask

    _check_outputs([output, _record_path(output), figure], force)
    img = _read(image, key, gray)
    m = read_mask(mask, shape=img.data.shape, key=mask_key, invert=invert_mask)
    _preflight(output, img.data, img, force)
    bands = _figure_bands_of(figure_bands, img.data, video)
    truth = _read(gt, gt_key or key, gray).data if gt is not None else None
    given, overrides, method = _settings(settings, set_, method)
    res = run(img.data, m, method=method, preset=preset.value if preset else None,
              iterations=iterations, device=device, seed=seed, progress=not quiet,
              ground_truth=truth, full_output=True, tile=tile, max_memory=max_memory,
              settings=given, overrides=overrides,
              checkpoint=_checkpointing(output, checkpoint, time_limit, checkpoint_every),
              data_range=_data_range(data_range))
    metrics = _metrics(res.image, truth, ~m) if truth is not None else None
    inputs = {"image": str(image), "mask": str(mask), "ground_truth": str(gt) if gt else None}
    _deliver(output, res.image, img, "inpaint", inputs, res, metrics, figure,
             [("observed", np.where(m, img.data, 0))], truth, force, quiet, bands,
             frames=video)


@_command
def denoise(
    image: Annotated[Path, typer.Argument(help="Noisy image, video (frames last) or HSI.")],
    output: OutOpt,
    noise: Annotated[Noise | None, typer.Option(
        help="Noise model (default: mixed, or the one of --settings).")] = None,
    video: Annotated[bool, typer.Option(help="Reference video settings (Gaussian).")] = False,
    key: KeyOpt = None,
    gray: Annotated[bool, typer.Option(help="Convert colour frames to grey.")] = False,
    method: MethodOpt = "ngr",
    preset: PresetOpt = None,
    settings: SettingsOpt = None,
    set_: SetOpt = None,
    iterations: IterOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = None,
    tile: TileOpt = None,
    max_memory: MemOpt = None,
    checkpoint: CkptOpt = None,
    time_limit: TimeLimitOpt = None,
    checkpoint_every: CkptEveryOpt = 600.0,
    gt: GtOpt = None,
    gt_key: GtKeyOpt = None,
    data_range: RangeOpt = None,
    figure: FigOpt = None,
    figure_bands: FigBandsOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Remove Gaussian or mixed (Gaussian + impulse + stripes + deadlines) noise."""
    from .api import denoise as run

    _check_outputs([output, _record_path(output), figure], force)
    img = _read(image, key, gray)
    _preflight(output, img.data, img, force)
    bands = _figure_bands_of(figure_bands, img.data, video)
    truth = _read(gt, gt_key or key, gray).data if gt is not None else None
    given, overrides, method = _settings(settings, set_, method)
    model = noise.value if noise is not None else _noise_of(given)
    res = run(img.data, noise=model, video=video, method=method,
              preset=preset.value if preset else None, iterations=iterations, device=device,
              seed=seed, progress=not quiet, ground_truth=truth, full_output=True, tile=tile,
              max_memory=max_memory, settings=given, overrides=overrides,
              checkpoint=_checkpointing(output, checkpoint, time_limit, checkpoint_every),
              data_range=_data_range(data_range))
    metrics = _metrics(res.image, truth, None) if truth is not None else None
    inputs = {"image": str(image), "noise": model, "ground_truth": str(gt) if gt else None}
    _deliver(output, res.image, img, "denoise", inputs, res, metrics, figure,
             [("noisy", img.data)], truth, force, quiet, bands, frames=video)


@_command
def decloud(
    dates: Annotated[list[Path], typer.Argument(
        help="The cloudy acquisition first, then clear dates (each (H, W, B)); or one "
             ".npy/.mat file holding a (T, H, W, B) series.")],
    cloud_mask: Annotated[Path, typer.Option("--cloud-mask", "-m",
                                             help="Cloud mask of the first date: "
                                                  "nonzero/white = cloud.")],
    output: OutOpt,
    invert_mask: Annotated[bool, typer.Option(
        help="The mask is dark where cloudy (e.g. the PLRR cloudmask_*.jpg).")] = False,
    resize_mask: Annotated[bool, typer.Option(
        help="Resize a mask of another size to the scene (bilinear, threshold 0.5).")] = False,
    key: KeyOpt = None,
    method: MethodOpt = "ngr",
    preset: PresetOpt = None,
    settings: SettingsOpt = None,
    set_: SetOpt = None,
    iterations: IterOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = None,
    tile: TileOpt = None,
    max_memory: MemOpt = None,
    checkpoint: CkptOpt = None,
    time_limit: TimeLimitOpt = None,
    checkpoint_every: CkptEveryOpt = 600.0,
    gt: GtOpt = None,
    gt_key: GtKeyOpt = None,
    data_range: RangeOpt = None,
    figure: FigOpt = None,
    figure_bands: FigBandsOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Remove clouds from the first date of a multi-temporal series."""
    from .api import decloud as run
    from .io import read_mask

    _check_outputs([output, _record_path(output), figure], force)
    if len(dates) == 1:
        first = _read(dates[0], key)
        series = first.data
        if series.ndim != 4:
            raise InputError(f"{dates[0]} holds shape {series.shape}; a single input must be a "
                             "(T, H, W, B) series, or give one file per date")
    else:
        items = [_read(p, key) for p in dates]
        first = items[0]
        arrays = [a.data if a.data.ndim == 3 else a.data[..., None] for a in items]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise InputError(f"dates differ in shape: {sorted(shapes)}")
        series = np.stack(arrays)
    h, w = series.shape[1:3]
    if resize_mask:
        from .degradations import load_cloud_mask

        # load_cloud_mask returns True = clear; dark = cloud unless told otherwise
        clear = load_cloud_mask(_read(cloud_mask).data, (h, w), cloud_is_dark=invert_mask)
        cloud = ~clear
    else:
        raw = read_mask(cloud_mask, key=None, invert=invert_mask)
        if raw.shape[:2] != (h, w):
            raise InputError(f"cloud mask shape {raw.shape} does not fit the series "
                             f"({h}, {w}); pass --resize-mask to resize it")
        cloud = raw
    like = first if first.data.ndim < 4 else None
    _preflight(output, _squeeze(series[0], first.data), like, force)
    bands = _figure_bands(figure_bands, series.shape[-1])
    truth = _read(gt, gt_key or key).data if gt is not None else None
    given, overrides, method = _settings(settings, set_, method)
    res = run(series, cloud, method=method, preset=preset.value if preset else None,
              iterations=iterations, device=device, seed=seed, progress=not quiet,
              ground_truth=truth, full_output=True, tile=tile, max_memory=max_memory,
              settings=given, overrides=overrides,
              checkpoint=_checkpointing(output, checkpoint, time_limit, checkpoint_every),
              data_range=_data_range(data_range))
    c3 = np.broadcast_to(cloud if cloud.ndim == 3 else cloud[..., None], res.image.shape)
    metrics = None
    if truth is not None:
        t3 = truth if truth.ndim == 3 else truth[..., None]
        metrics = _metrics(res.image, t3, c3)
    inputs = {"dates": [str(p) for p in dates], "cloud_mask": str(cloud_mask),
              "cloud_fraction": float(np.mean(cloud)), "ground_truth": str(gt) if gt else None}
    _deliver(output, _squeeze(res.image, first.data), like, "decloud", inputs, res, metrics,
             figure, [("cloudy date (cloud blanked)", np.where(c3, 0, series[0]))], truth,
             force, quiet, bands)


@_command
def degrade(
    image: Annotated[Path, typer.Argument(help="Clean image.")],
    output: OutOpt,
    kind: Annotated[Kind, typer.Option(help="Degradation (SPEC section 5).")] = Kind.random,
    mask_out: Annotated[Path | None, typer.Option(
        help="Where to write the mask (inpainting kinds); default <output stem>_mask.png, "
             "or with the output's suffix when that is not PNG/BMP/JPEG (.tif for a "
             "folder).")] = None,
    rate: Annotated[float, typer.Option(help="Sampling rate for --kind random.")] = 0.1,
    n_lines: Annotated[int, typer.Option(help="Dead columns for --kind deadlines.")] = 10,
    sigma: Annotated[float, typer.Option(help="Noise std for --kind gaussian.")] = 0.1,
    cloud_mask: Annotated[Path | None, typer.Option(
        help="Cloud mask image for --kind cloud (dark = cloud, resized to the image).")] = None,
    key: KeyOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Make a test input (and its mask) from a clean image."""
    from .api import Scaling
    from .degradations import degrade as run
    from .degradations import load_cloud_mask
    from .io import write_image

    inpainting = kind in (Kind.random, Kind.deadlines, Kind.text, Kind.cloud)
    if inpainting and mask_out is None:  # a stack's mask does not fit in a PNG
        suffix = output.suffix.lower()
        suffix = ".png" if suffix in (".png", ".bmp", ".jpg", ".jpeg") else suffix or ".tif"
        mask_out = output.with_name(output.stem + "_mask" + suffix)
    _check_outputs([output, mask_out if inpainting else None], force)
    img = _read(image, key)
    data = img.data
    if data.ndim not in (2, 3):
        raise InputError(f"{image} has shape {data.shape}; expected (H, W) or (H, W, C)")
    scaling = Scaling.infer(data, data.dtype)
    x = scaling.forward(data).astype(np.float64)
    mask = None
    if kind == Kind.cloud:
        if cloud_mask is None:
            raise InputError("--kind cloud needs --cloud-mask")
        clear = load_cloud_mask(cloud_mask, data.shape[:2])
        mask = np.broadcast_to(clear[..., None], x.shape) if x.ndim == 3 else clear
        obs = np.where(mask, x, 0.0)
    else:
        opts: dict[str, Any] = {Kind.random: {"rate": rate}, Kind.deadlines: {"n_lines": n_lines},
                                Kind.gaussian: {"sigma": sigma}}.get(kind, {})
        obs, mask = run(x, kind=kind.value, seed=seed, **opts)
    if inpainting:
        out = scaling.inverse(obs)
    elif np.issubdtype(data.dtype, np.integer):
        out = scaling.inverse(obs)  # integer formats cannot hold values outside the range
    else:
        out = (obs * scaling.scale + scaling.offset).astype(data.dtype)
    m = None
    if inpainting and mask_out is not None:
        m = mask.astype(np.uint8) * 255
        if mask_out.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg") and m.ndim == 3:
            shared = bool(np.all(m == m[..., :1]))
            m = m[..., 0] if shared else m
        _preflight(mask_out, m, img, force)  # both writable, or neither is written
    _preflight(output, out, img, force)
    write_image(output, out, like=img, force=force)
    if m is not None and mask_out is not None:
        write_image(mask_out, m, like=img, force=force)  # same variable name / georeferencing
    if not quiet:
        extra = f" and {mask_out}" if inpainting else ""
        kept = f" ({float(np.mean(mask)) * 100:.1f}% observed)" if mask is not None else ""
        typer.echo(f"wrote {output}{extra}{kept}", err=True)


@_command
def evaluate(
    result: Annotated[Path, typer.Argument(help="Restored image.")],
    ground_truth: Annotated[Path, typer.Argument(help="Clean reference.")],
    mask: Annotated[Path | None, typer.Option(
        "--mask", "-m", help="Observation mask: adds metrics over the missing entries.")] = None,
    key: KeyOpt = None,
    gt_key: GtKeyOpt = None,
    mask_key: Annotated[str | None, typer.Option(help="Variable name in a .mat mask.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Metrics (PSNR, SSIM, SAM, ERGAS as the paper computes them) against ground truth."""
    from .io import read_mask

    r = _read(result, key).data
    g = _read(ground_truth, gt_key or key).data
    if r.shape != g.shape:
        raise InputError(f"result shape {r.shape} does not match ground truth shape {g.shape}")
    missing = ~read_mask(mask, shape=r.shape, key=mask_key) if mask is not None else None
    metrics = _metrics(r, g, missing)
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    for region, vals in metrics.items():
        text = "  ".join(f"{k.upper()} {v:.4f}" for k, v in vals.items())
        typer.echo(f"{region.replace('_', ' ')}: {text}")


#: Iterations of ``ngr demo`` with the ``fast`` preset (its own 1500 otherwise). Traced on
#: the demo's image and mask (SR 10%, from the bundled warm start, 2-core CPU): PSNR on the
#: missing entries 24.85 dB at 1000 iterations and 24.88 at 1500 (``benchmarks/stopping.py``),
#: for two thirds of the time: the demo answers in under 2 minutes on two cores.
DEMO_ITERATIONS = 1000


@_command
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path(
        "ngr-demo"),
    rate: Annotated[float, typer.Option(help="Fraction of entries kept.")] = 0.1,
    method: MethodOpt = "ngr",
    preset: PresetOpt = None,
    iterations: IterOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """The main job: restore the bundled image from 10% of its entries, with a figure.

    With the ``fast`` preset (the default on the CPU) it runs 1000 iterations unless
    ``--iterations`` says otherwise (the preset's 1500 gain 0.03 dB on this image).
    """
    from skimage.restoration import inpaint_biharmonic

    from .api import default_preset, resolve_device
    from .api import inpaint as run
    from .data import demo_image
    from .degradations import random_mask
    from .figures import side_by_side
    from .io import write_image
    from .metrics import evaluate as metrics_of

    names = ["observed.png", "mask.png", "restored.png", "figure.png", "restored.png.json"]
    _check_outputs([output / n for n in names], force)
    name = preset.value if preset else default_preset(resolve_device(device))
    if iterations is None and method == "ngr" and name == "fast":
        iterations = DEMO_ITERATIONS
    gt = demo_image()
    mask = random_mask(gt.shape, rate, seed=0 if seed is None else seed)
    observed = np.where(mask, gt, 0).astype(np.uint8)
    _say(quiet, f"demo: {gt.shape[1]}x{gt.shape[0]} RGB, {rate:.0%} of entries kept; "
                f"writing to {output}/")
    res = run(observed, mask, method=method, preset=preset.value if preset else None,
              iterations=iterations, device=device, seed=seed, progress=not quiet,
              ground_truth=gt, full_output=True)
    name = getattr(res.settings, "method", "ngr").upper()
    metrics = _metrics(res.image, gt, ~mask)
    gtf = gt / 255.0
    base = inpaint_biharmonic(np.where(mask, gtf, 0), ~mask, channel_axis=None)
    base_m = metrics_of(base, gtf, region=~mask, metrics=("psnr", "ssim"))
    metrics["biharmonic_missing_entries"] = base_m
    write_image(output / "observed.png", observed, force=force)
    write_image(output / "mask.png", mask.astype(np.uint8) * 255, force=force)
    write_image(output / "restored.png", res.image, force=force)
    _write_record(output / "restored.png", "demo", {"image": "bundled astronaut_128.png",
                                                    "rate": rate}, res, metrics, force)
    ngr_m = metrics["missing_entries"]
    side_by_side(
        [(f"observed ({rate:.0%} kept)", observed),
         (f"biharmonic: {base_m['psnr']:.2f} dB", np.clip(base, 0, 1)),
         (f"{name} final iterate: {ngr_m['psnr']:.2f} dB", res.image),
         ("ground truth", gt)],
        output / "figure.png",
        title=f"PSNR on the missing entries; {name} {res.settings.preset} settings, "
              f"{res.history.iterations} iterations, {res.history.wall_time:.0f} s",
    )
    _summary(quiet, output / "restored.png", res, {k: v for k, v in metrics.items()
                                                   if k != "biharmonic_missing_entries"})
    _say(quiet, f"  biharmonic inpainting (scikit-image), missing entries: "
                f"PSNR {base_m['psnr']:.4g}, SSIM {base_m['ssim']:.4g}")
    _say(quiet, f"  figure: {output / 'figure.png'}")


@_command
def methods() -> None:
    """List the restoration methods: NGR and the baselines, with the tasks they do."""
    from .baselines import METHODS

    typer.echo(f"{'ngr':9s} inpaint, decloud, denoise  neural gradient regularizer "
               "(Xu et al.)")
    for m in METHODS.values():
        typer.echo(f"{m.name:9s} {', '.join(m.tasks):26s} {m.title} ({m.reference})")


@_command
def version() -> None:
    """Print the pyngr version."""
    typer.echo(f"pyngr {__version__}")


# `ngr bench ...`
app.add_typer(bench_app, name="bench")


def _keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed blocks of up to 32 MiB for reuse (False elsewhere).

    Each iteration frees and re-allocates the same activation buffers (3 MiB each for the
    demo's network); by default glibc hands many of them back to the kernel and touches
    fresh zeroed pages next time: ~1 million page faults per 300 iterations of the demo,
    4 s of system time. With a fixed mmap threshold of 32 MiB and a trim threshold of
    256 MiB the faults drop ~20x and the 1500-iteration demo spent 148.7 s in the solver
    instead of 152.5 (2-core CPU; README "Speed and quality"). Process-wide, so only the
    command line, which owns its process, sets it; a library user can get the same with
    ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=
    268435456``.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                    and libc.mallopt(m_trim_threshold, 256 << 20))
    except (OSError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ngr``: exit 0 on success, 2 on bad input or usage."""
    _keep_freed_memory()
    try:
        app(args=argv, prog_name="ngr")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0

