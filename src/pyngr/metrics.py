"""Image quality metrics as the NGR paper computes them (SPEC section 6).

All functions take ``result`` and ``reference`` as float arrays with values in [0, 1], channel
last: ``(H, W)`` or ``(H, W, C)``. An optional boolean ``region`` (``True`` = counted), of shape
``(H, W)`` (shared by all channels) or of the image shape, restricts a metric to some entries,
e.g. the missing entries of an inpainting problem.

* :func:`psnr` and :func:`ssim` work per channel on values rounded to 8 bits
  (``round(clip(x, 0, 1) * 255)``, data range 255) and average over channels.
* :func:`sam` and :func:`ergas` work on the float values as given (no rounding), in float64.

Always say which region a number covers (whole image or missing entries only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from skimage.metrics import structural_similarity

from pyngr.errors import InputError

__all__ = ["METRIC_NAMES", "channel_mean_psnr", "ergas", "evaluate", "psnr", "sam", "ssim"]

#: Names accepted by :func:`evaluate`, in their default order.
METRIC_NAMES: tuple[str, ...] = ("psnr", "ssim", "sam", "ergas")

_SSIM_WIN = 7  # skimage's default window side (uniform 7x7 window, gaussian_weights=False)


def _as_image(x: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(x)
    if arr.ndim not in (2, 3):
        raise InputError(
            f"{name} must be a 2-D (H, W) or 3-D (H, W, C) array, got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(
            f"{name} must be a float array with values in [0, 1], got dtype {arr.dtype}"
        )
    if arr.size == 0:
        raise InputError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or Inf values; expected finite values in [0, 1]")
    return arr.astype(np.float64, copy=False)


def _check_inputs(
    result: ArrayLike, reference: ArrayLike, region: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_] | None]:
    """Validate and return ``(result, reference, region)`` as 3-D float64 / bool arrays."""
    res = _as_image(result, "result")
    ref = _as_image(reference, "reference")
    if res.shape != ref.shape:
        raise InputError(f"result shape {res.shape} does not match reference shape {ref.shape}")
    if res.ndim == 2:
        res = res[:, :, None]
        ref = ref[:, :, None]
    if region is None:
        return res, ref, None
    reg = np.asarray(region)
    if reg.dtype != np.bool_:
        if not np.issubdtype(reg.dtype, np.number) or not np.all((reg == 0) | (reg == 1)):
            raise InputError(
                f"region must be a boolean mask (or 0/1 values), got dtype {reg.dtype}"
            )
        reg = reg.astype(bool)
    h, w, c = res.shape
    if reg.shape == (h, w):
        reg = np.broadcast_to(reg[:, :, None], (h, w, c))
    elif reg.shape == (h, w, c) or (c == 1 and reg.shape == (h, w, 1)):
        reg = reg.reshape(h, w, c)
    else:
        raise InputError(
            f"region shape {reg.shape} must be (H, W) = {(h, w)} or the image shape "
            f"{np.asarray(result).shape}"
        )
    if not reg.any():
        raise InputError("region has no True entry; expected at least one pixel to evaluate")
    return res, ref, reg


def _to_8bit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0)


def psnr(result: ArrayLike, reference: ArrayLike, *, region: ArrayLike | None = None) -> float:
    """Peak signal-to-noise ratio in dB, as the paper computes it.

    Both images are rounded to 8 bits (``round(clip(x, 0, 1) * 255)``); the PSNR
    ``10 log10(255^2 / MSE)`` is computed per channel and averaged over channels.

    Parameters
    ----------
    result, reference : array_like
        Float images in [0, 1], shape ``(H, W)`` or ``(H, W, C)``, same shape.
    region : array_like of bool, optional
        Entries to count (``True``), shape ``(H, W)`` or the image shape. Each channel's MSE is
        taken over its region entries; channels without region entries are skipped.

    Returns
    -------
    float
        Mean PSNR over channels. Identical images (every channel exact after rounding) give
        ``inf``. When only some channels are exact (a near-constant band of a multispectral
        image, say), each of those counts as if one of its N entries were one level off,
        ``10 log10(255^2 N)``, the finest error 8 bits can measure, so that the mean over
        channels stays finite and comparable.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.full((8, 8), 100 / 255)
    >>> round(psnr(ref + 1 / 255, ref), 2)
    48.13
    >>> psnr(ref, ref)
    inf
    >>> two = np.stack([ref, ref], -1)
    >>> out = two.copy(); out[..., 0] += 1 / 255  # channel 1 exact
    >>> round(psnr(out, two), 2)  # (48.13 + 10 log10(255^2 * 64)) / 2
    57.16
    """
    res, ref, reg = _check_inputs(result, reference, region)
    sq = (_to_8bit(res) - _to_8bit(ref)) ** 2
    mse, counts = [], []
    for ch in range(sq.shape[2]):
        err = sq[:, :, ch] if reg is None else sq[:, :, ch][reg[:, :, ch]]
        if err.size == 0:
            continue
        mse.append(float(err.mean()))
        counts.append(err.size)
    return channel_mean_psnr(np.asarray(mse), np.asarray(counts))


def channel_mean_psnr(mse: np.ndarray, counts: np.ndarray) -> float:
    """Mean over channels of ``10 log10(255^2 / MSE)`` from per-channel 8-bit MSEs over
    ``counts`` entries; exact channels as in :func:`psnr` (``inf`` only if all are)."""
    mse = np.asarray(mse, dtype=np.float64)
    if mse.size == 0 or np.all(mse == 0):
        return float("inf") if mse.size else float("nan")
    floor = 1.0 / np.asarray(counts, dtype=np.float64)  # one entry one level off
    return float(np.mean(10.0 * np.log10(255.0**2 / np.where(mse == 0, floor, mse))))


def ssim(result: ArrayLike, reference: ArrayLike, *, region: ArrayLike | None = None) -> float:
    """Structural similarity index, as the paper computes it.

    Both images are rounded to 8 bits; SSIM is computed per channel with
    :func:`skimage.metrics.structural_similarity` using its default uniform 7x7 window
    (``gaussian_weights=False``, ``data_range=255``), then averaged over channels. This is
    scikit-image's default setting, not the 11x11 Gaussian window of Wang et al. (2004), so
    values can differ slightly from MATLAB's ``ssim``.

    Parameters
    ----------
    result, reference : array_like
        Float images in [0, 1], shape ``(H, W)`` or ``(H, W, C)``, same shape, at least 7x7.
    region : array_like of bool, optional
        Entries to count, shape ``(H, W)`` or the image shape. With a region, each channel's
        value is the mean of the full SSIM map (``full=True``) over its region entries
        (channels without region entries are skipped). Without a region, it is scikit-image's
        mean SSIM (which leaves out a 3-pixel border).

    Returns
    -------
    float
        Mean SSIM over channels (1.0 for identical images).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.linspace(0, 1, 256).reshape(16, 16)
    >>> ssim(ref, ref)
    1.0
    """
    res, ref, reg = _check_inputs(result, reference, region)
    h, w, c = res.shape
    if min(h, w) < _SSIM_WIN:
        raise InputError(
            f"ssim needs images of at least {_SSIM_WIN}x{_SSIM_WIN} pixels, got {h}x{w}"
        )
    a, b = _to_8bit(res), _to_8bit(ref)
    values = []
    for ch in range(c):
        if reg is None:
            val = structural_similarity(
                a[:, :, ch], b[:, :, ch], data_range=255.0, gaussian_weights=False
            )
            values.append(float(val))
        else:
            sel = reg[:, :, ch]
            if not sel.any():
                continue
            _, smap = structural_similarity(
                a[:, :, ch], b[:, :, ch], data_range=255.0, gaussian_weights=False, full=True
            )
            values.append(float(smap[sel].mean()))
    return float(np.mean(values))


def sam(result: ArrayLike, reference: ArrayLike, *, region: ArrayLike | None = None) -> float:
    """Mean spectral angle mapper, in degrees.

    The angle ``arccos(<x, y> / (|x| |y|))`` between the spectra (vectors along the channel
    axis) of each pixel, averaged over pixels. Computed in float64 on the values as given (no
    8-bit rounding); the cosine is clipped to [-1, 1].

    Parameters
    ----------
    result, reference : array_like
        Float images, shape ``(H, W, C)`` with ``C >= 2``, same shape.
    region : array_like of bool, optional
        Shape ``(H, W)`` or the image shape. A pixel is counted when its region entry is True
        in at least one channel.

    Returns
    -------
    float
        Mean angle in degrees. Pixels where either spectrum has zero norm are skipped; if no
        pixel is left the result is ``nan``.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((1, 2, 2)); ref[0, 0] = [1, 0]; ref[0, 1] = [0, 1]
    >>> out = np.zeros((1, 2, 2)); out[0, 0] = [0, 1]; out[0, 1] = [0, 0.5]
    >>> sam(out, ref)
    45.0
    """
    res, ref, reg = _check_inputs(result, reference, region)
    if res.shape[2] < 2:
        raise InputError(
            "sam needs an (H, W, C) image with C >= 2 channels, "
            f"got shape {np.asarray(result).shape}"
        )
    x = res.reshape(-1, res.shape[2])
    y = ref.reshape(-1, ref.shape[2])
    if reg is not None:
        keep = reg.reshape(-1, reg.shape[2]).any(axis=1)
        x, y = x[keep], y[keep]
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(y, axis=1)
    valid = (nx > 0) & (ny > 0)
    if not valid.any():
        return float("nan")
    cos = np.sum(x[valid] * y[valid], axis=1) / (nx[valid] * ny[valid])
    angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return float(angles.mean())


def ergas(result: ArrayLike, reference: ArrayLike, *, region: ArrayLike | None = None) -> float:
    """Relative dimensionless global error (ERGAS), as in SPEC section 6.

    ``100 * sqrt(mean over bands b of MSE_b / mean_b^2)``, where ``mean_b`` is the mean of the
    reference band; no resolution-ratio factor. Computed in float64 on the values as given.

    Parameters
    ----------
    result, reference : array_like
        Float images, shape ``(H, W)`` (one band) or ``(H, W, C)``, same shape.
    region : array_like of bool, optional
        Shape ``(H, W)`` or the image shape. ``MSE_b`` and ``mean_b`` are both taken over the
        region entries of band ``b``; bands without region entries are skipped.

    Returns
    -------
    float
        ERGAS (0 for identical images). A band whose reference mean is 0 contributes ``inf``
        when its MSE is positive and 0 when its MSE is 0.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 0.25)], axis=-1)
    >>> out = ref.copy(); out[..., 0] += 0.05
    >>> round(ergas(out, ref), 6)  # 100 * sqrt((0.05^2 / 0.5^2 + 0) / 2)
    7.071068
    """
    res, ref, reg = _check_inputs(result, reference, region)
    ratios = []
    for ch in range(res.shape[2]):
        if reg is None:
            r, t = res[:, :, ch], ref[:, :, ch]
        else:
            sel = reg[:, :, ch]
            if not sel.any():
                continue
            r, t = res[:, :, ch][sel], ref[:, :, ch][sel]
        mse = float(np.mean((r - t) ** 2))
        mean_sq = float(np.mean(t)) ** 2
        if mean_sq == 0.0:
            ratios.append(0.0 if mse == 0.0 else np.inf)
        else:
            ratios.append(mse / mean_sq)
    return float(100.0 * np.sqrt(np.mean(ratios)))


_FUNCS = {"psnr": psnr, "ssim": ssim, "sam": sam, "ergas": ergas}


def evaluate(
    result: ArrayLike,
    reference: ArrayLike,
    *,
    region: ArrayLike | None = None,
    metrics: Sequence[str] = METRIC_NAMES,
) -> dict[str, float]:
    """Compute several metrics at once.

    Parameters
    ----------
    result, reference : array_like
        Float images in [0, 1], shape ``(H, W)`` or ``(H, W, C)``, same shape.
    region : array_like of bool, optional
        Entries to count, passed to every metric (see each metric for its meaning).
    metrics : sequence of str
        Names among ``"psnr"``, ``"ssim"``, ``"sam"``, ``"ergas"``. ``"sam"`` and ``"ergas"`` are
        left out automatically when the images have a single channel.

    Returns
    -------
    dict of str to float
        Metric name to value, in the order asked for.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.full((8, 8, 3), 0.5)
    >>> sorted(evaluate(ref, ref))
    ['ergas', 'psnr', 'sam', 'ssim']
    >>> list(evaluate(ref[..., 0], ref[..., 0]))
    ['psnr', 'ssim']
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    unknown = [m for m in metrics if m not in _FUNCS]
    if unknown:
        raise InputError(f"metrics must be names among {list(METRIC_NAMES)}, got {unknown}")
    res, _, _ = _check_inputs(result, reference, region)
    single = res.shape[2] == 1
    out: dict[str, float] = {}
    for name in metrics:
        if single and name in ("sam", "ergas"):
            continue
        out[name] = _FUNCS[name](result, reference, region=region)
    return out
