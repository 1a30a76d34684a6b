"""Figures a person would rather look at than a table: side-by-side panels, PSNR curves.

Uses matplotlib's non-interactive Agg backend; files are written atomically.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from pyngr.figures import side_by_side
>>> a = np.zeros((8, 8, 3)); b = np.ones((8, 8, 3))
>>> path = os.path.join(tempfile.mkdtemp(), "fig.png")
>>> side_by_side([("observed", a), ("restored", b)], path).name
'fig.png'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["display_image", "psnr_curve", "side_by_side"]


def _select(a: np.ndarray, bands: Sequence[int] | None) -> np.ndarray:
    """The channels shown: grey, RGB, ``bands``, or three evenly spaced ones."""
    x = np.asarray(a, dtype=np.float64)
    if x.ndim == 3:
        c = x.shape[2]
        if bands is not None:
            if any(not -c <= b < c for b in bands):
                from .errors import InputError

                raise InputError(f"figure bands {list(bands)} do not exist in an image of {c} "
                                 f"channels (0-based)")
            x = x[..., list(bands)]
            x = x[..., 0] if x.shape[2] == 1 else x
        elif c == 1:
            x = x[..., 0]
        elif c != 3:
            idx = np.linspace(0, c - 1, 3).round().astype(int) if c > 3 else [0, 0, c - 1]
            x = x[..., idx]
    return x


def display_limits(a: np.ndarray, bands: Sequence[int] | None = None, *,
                   frames: bool = False) -> tuple[float, float]:
    """The value range :func:`display_image` maps to [0, 1]: (0, 255) for uint8; (0, 1)
    for grey or RGB data within it; else the shown channels' 1st and 99th percentiles (the
    usual linear stretch of multiband pictures: reflectances of a hyperspectral cube in
    [0, 1] with a median of 0.04 showed nearly black). ``frames``: the channels are video
    frames, each a grey picture, so data within [0, 1] keep (0, 1) there too.

    Examples
    --------
    >>> import numpy as np
    >>> video = np.linspace(0.2, 0.6, 2 * 2 * 10).reshape(2, 2, 10)
    >>> display_limits(video, (0,), frames=True)
    (0.0, 1.0)
    """
    arr = np.asarray(a)
    return _limits(arr, _select(arr, bands), frames)


def _limits(arr: np.ndarray, x: np.ndarray, frames: bool = False) -> tuple[float, float]:
    """:func:`display_limits` of ``arr`` from its shown channels ``x``."""
    if arr.dtype == np.uint8:
        return 0.0, 255.0
    finite = x[np.isfinite(x)]
    # grey, RGB and video frames in [0, 1] are shown on that scale; bands are stretched
    photographic = frames or arr.ndim == 2 or arr.shape[-1] in (1, 3)
    if not finite.size or (photographic and finite.min() >= 0 and finite.max() <= 1):
        return 0.0, 1.0
    lo, hi = np.percentile(finite, (1, 99))
    return float(lo), float(hi if hi > lo else lo + 1.0)


def display_image(a: np.ndarray, bands: Sequence[int] | None = None,
                  limits: tuple[float, float] | None = None, *,
                  frames: bool = False) -> np.ndarray:
    """A displayable (H, W) or (H, W, 3) float image in [0, 1] from any channel-last array.

    Grey and RGB pass through; with other channel counts (video frames, bands, stacked dates)
    three evenly spaced channels (or ``bands``, 0-based) make a false-colour picture. Values
    are mapped from ``limits`` to [0, 1], by default :func:`display_limits` of the array
    itself (``frames``: the channels are video frames, see :func:`display_limits`); panels
    meant to be compared should share one (:func:`side_by_side` does).

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.stack([np.full((2, 2), v) for v in (0.0, 2.0, 4.0, 6.0)], -1)
    >>> display_image(cube, bands=(3, 1, 0), limits=(0.0, 4.0))[0, 0].tolist()
    [1.0, 0.5, 0.0]
    """
    arr = np.asarray(a)
    x = _select(arr, bands)
    if limits is None:  # the channels are selected once
        limits = _limits(arr, x, frames)
    lo, hi = limits
    x = (x - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(np.nan_to_num(x), 0, 1)


def _pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (imported lazily)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` atomically to ``path`` and close it."""
    from .io import atomic_output

    path = Path(path)
    try:
        with atomic_output(path, force=True) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110,
                        bbox_inches="tight")
    finally:
        _pyplot().close(fig)
    return path


def side_by_side(panels: Sequence[tuple[str, np.ndarray]], path: str | os.PathLike[str], *,
                 title: str | None = None, bands: Sequence[int] | None = None,
                 reference: int | None = -1, frames: bool = False) -> Path:
    """Write a row of labelled images (e.g. observed / restored / ground truth) to ``path``.

    Every panel of the dtype of panel ``reference`` (the last: ground truth, or the result
    when there is none) is shown with that panel's display range, so that a difference in
    colour is a difference in value, not in stretching (a cloudy date's blanked entries
    would otherwise set a range of their own); panels of another dtype (a float [0, 1]
    baseline beside uint8 images) keep their own. None: each panel its own range.
    ``frames``: the channels are video frames (:func:`display_limits`).
    """
    plt = _pyplot()
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.6), squeeze=False)
    ref = np.asarray(panels[reference][1]) if reference is not None else None
    limits = display_limits(ref, bands, frames=frames) if ref is not None else None
    for ax, (label, img) in zip(axes[0], panels, strict=True):
        same = ref is not None and np.asarray(img).dtype == ref.dtype
        shown = display_image(img, bands, limits if same else None, frames=frames)
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def psnr_curve(records: Sequence[dict], path: str | os.PathLike[str], *,
               keys: Sequence[str] = ("psnr", "psnr_missing"), title: str | None = None) -> Path:
    """PSNR (monitored against ground truth) versus iteration from a run's history records."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    it = [r["iteration"] for r in records]
    for k in keys:
        vals = [r.get(k) for r in records]
        if any(v is not None for v in vals):
            ax.plot(it, vals, label=k)
    ax.set_xlabel("iteration")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)
