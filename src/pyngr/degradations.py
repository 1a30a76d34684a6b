"""Seeded degradations used in the NGR experiments (SPEC section 5).

Images are float arrays, channel last: ``(H, W)`` or ``(H, W, C)``, values nominally in
[0, 1]. Masks are boolean arrays with ``True`` = observed and ``False`` = missing, of the shape
asked for (masks shared by all channels are repeated along the channel axis). Every random
function takes an explicit ``seed`` (an ``int`` or a :class:`numpy.random.Generator`) and uses
no global random state: the same seed gives the same output.

Noise functions return an array of the input's float dtype and do not clip: noisy values may
leave [0, 1] (SPEC section 5 does not clip, and clipping would change the noise statistics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from skimage.transform import resize

from pyngr.errors import InputError

__all__ = [
    "DEGRADATION_KINDS",
    "add_deadlines",
    "add_gaussian",
    "add_salt_pepper",
    "add_stripes",
    "deadline_mask",
    "degrade",
    "load_cloud_mask",
    "mixed_noise",
    "random_mask",
    "text_mask",
]

Seed = int | np.random.Generator
Bands = float | Sequence[int] | None

#: Kinds accepted by :func:`degrade`.
DEGRADATION_KINDS: tuple[str, ...] = ("random", "deadlines", "text", "gaussian", "weak", "strong")

_DEFAULT_TEXT = "Lorem ipsum dolor sit amet, consectetur adipiscing elit"

# Mixed-noise settings of SPEC section 5: (impulse ratio, fraction of bands with lines).
_MIXED = {"weak": (0.1, 0.2), "strong": (0.25, 0.5)}
_MIXED_SIGMA_RANGE = (0.1, 0.4)
_MIXED_LINES = 35  # deadline / stripe columns per selected band
_MIXED_REF_WIDTH = 200  # width of the paper's HSI images, to scale lines on narrow images


# ----------------------------------------------------------------------------- helpers


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_shape(shape: Sequence[int], name: str = "shape") -> tuple[int, ...]:
    try:
        dims = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a tuple (H, W) or (H, W, C), got {shape!r}") from None
    if len(dims) not in (2, 3) or any(d < 1 for d in dims):
        raise InputError(f"{name} must be (H, W) or (H, W, C) with positive sizes, got {shape!r}")
    return dims


def _check_image(image: ArrayLike, name: str = "image") -> NDArray[np.floating]:
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InputError(f"{name} must be a non-empty (H, W) or (H, W, C) array, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{name} must be a float array with values in [0, 1], got {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or Inf values; expected finite values in [0, 1]")
    return arr


def _n_bands(shape: tuple[int, ...]) -> int:
    return shape[2] if len(shape) == 3 else 1


def _select_bands(bands: Bands, n_bands: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Band indices from ``None`` (all), a fraction in (0, 1] (random bands) or indices."""
    if bands is None:
        return np.arange(n_bands)
    if isinstance(bands, (float, np.floating)):
        if not 0.0 < bands <= 1.0:
            raise InputError(f"bands as a fraction must be in (0, 1], got {bands}")
        count = max(1, min(n_bands, math.floor(bands * n_bands + 0.5)))
        return np.sort(rng.choice(n_bands, size=count, replace=False))
    idx = np.asarray(bands)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(f"bands must be None, a fraction in (0, 1] or band indices, got {bands!r}")
    if idx.size and (idx.min() < 0 or idx.max() >= n_bands):
        raise InputError(f"bands indices must be in [0, {n_bands - 1}], got {idx.tolist()}")
    if np.unique(idx).size != idx.size:
        raise InputError(f"bands indices must be distinct, got {idx.tolist()}")
    return idx.astype(np.intp)


def _check_lines(n: int, width: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= width:
        raise InputError(f"{name} must be an int in [0, {width}] (the image width), got {n!r}")
    return int(n)


def _as_3d(arr: NDArray[Any]) -> NDArray[Any]:
    return arr if arr.ndim == 3 else arr[:, :, None]


# ----------------------------------------------------------------------------- masks


def random_mask(
    shape: Sequence[int], rate: float, *, seed: Seed, per_pixel: bool = False
) -> NDArray[np.bool_]:
    """Random sampling mask: each entry observed independently with probability ``rate``.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    rate : float
        Sampling rate (probability of being observed), in (0, 1].
    seed : int or numpy.random.Generator
        Source of randomness.
    per_pixel : bool
        If True, draw one ``(H, W)`` mask and share it by all channels (whole pixels missing);
        otherwise entries are drawn independently (the paper's setting).

    Returns
    -------
    numpy.ndarray of bool
        Mask of shape ``shape``, True = observed.

    Examples
    --------
    >>> m = random_mask((64, 64, 3), 0.3, seed=0)
    >>> m.shape, m.dtype, bool(0.25 < m.mean() < 0.35)
    ((64, 64, 3), dtype('bool'), True)
    """
    dims = _check_shape(shape)
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
        raise InputError(f"rate must be a number in (0, 1], got {rate!r}")
    if not 0.0 < float(rate) <= 1.0:
        raise InputError(f"rate must be in (0, 1], got {rate}")
    rng = _rng(seed)
    if per_pixel and len(dims) == 3:
        plane = rng.random(dims[:2]) < rate
        return np.repeat(plane[:, :, None], dims[2], axis=2)
    return rng.random(dims) < rate


def deadline_mask(
    shape: Sequence[int], *, n_lines: int, bands: Bands = None, seed: Seed
) -> NDArray[np.bool_]:
    """Deadline mask: whole columns missing.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    n_lines : int
        Number of missing columns (per band that gets lines), in [0, W].
    bands : None, float or sequence of int
        ``None`` (default): the same ``n_lines`` random columns are missing in every band (the
        HSI inpainting "deadlines" case). A fraction in (0, 1]: that share of the bands
        (rounded, at least one), chosen at random, each gets its own ``n_lines`` random
        columns. A sequence of indices: those bands, each with its own columns.
    seed : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of bool
        Mask of shape ``shape``, True = observed, False on the missing columns.

    Examples
    --------
    >>> m = deadline_mask((8, 10, 2), n_lines=3, seed=0)
    >>> int((~m[:, :, 0]).all(axis=0).sum()), bool((m[..., 0] == m[..., 1]).all())
    (3, True)
    """
    dims = _check_shape(shape)
    width = dims[1]
    n = _check_lines(n_lines, width, "n_lines")
    rng = _rng(seed)
    mask = np.ones(dims, dtype=bool)
    m3 = _as_3d(mask)
    if bands is None:
        cols = rng.choice(width, size=n, replace=False)
        m3[:, cols, :] = False
        return mask
    for b in _select_bands(bands, m3.shape[2], rng):
        cols = rng.choice(width, size=n, replace=False)
        m3[:, cols, b] = False
    return mask


def text_mask(
    shape: Sequence[int],
    *,
    text: str = _DEFAULT_TEXT,
    seed: Seed,
    font_size: int | None = None,
) -> NDArray[np.bool_]:
    """Text overlay mask (as in the paper's Fig. 3): lines of text over the whole image.

    The text is drawn in black on white with PIL's default font
    (``ImageFont.load_default(size=font_size)``), repeated along lines spaced 1.5 to 2.5 font
    sizes apart at random vertical positions, each line starting at a random horizontal offset.
    Pixels darker than mid-grey under the (anti-aliased) glyphs are missing.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``; the mask is shared by all channels.
    text : str
        Text to draw (non-empty).
    seed : int or numpy.random.Generator
        Source of randomness.
    font_size : int, optional
        Font size in pixels; default ``max(8, round(min(H, W) / 12))``.

    Returns
    -------
    numpy.ndarray of bool
        Mask of shape ``shape``, True = observed, False under the text.

    Examples
    --------
    >>> m = text_mask((64, 64), seed=0)
    >>> bool(0.01 < 1 - m.mean() < 0.4)
    True
    """
    dims = _check_shape(shape)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"text must be a non-empty string, got {text!r}")
    h, w = dims[:2]
    if font_size is None:
        font_size = max(8, round(min(h, w) / 12))
    if isinstance(font_size, bool) or not isinstance(font_size, (int, np.integer)) or font_size < 1:
        raise InputError(f"font_size must be a positive int, got {font_size!r}")
    rng = _rng(seed)
    font = ImageFont.load_default(size=int(font_size))
    canvas = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(canvas)
    unit = text.strip() + "  "
    unit_width = max(1.0, float(draw.textlength(unit, font=font)))
    line = unit * (math.ceil(w / unit_width) + 2)
    y = float(rng.uniform(0.0, font_size))
    while y < h:
        x = -float(rng.uniform(0.0, unit_width))
        draw.text((x, y), line, fill=0, font=font)
        y += font_size * float(rng.uniform(1.5, 2.5))
    plane = np.asarray(canvas) >= 128
    if len(dims) == 3:
        return np.repeat(plane[:, :, None], dims[2], axis=2)
    return plane


def load_cloud_mask(
    path_or_array: str | Path | ArrayLike,
    shape: Sequence[int],
    *,
    threshold: float = 0.5,
    cloud_is_dark: bool = True,
) -> NDArray[np.bool_]:
    """Load a real cloud mask (a grey image) and fit it to an image size.

    The grey image is scaled to [0, 1] (8-bit files: value / 255), resized to ``(H, W)`` with
    bilinear interpolation (``skimage.transform.resize``, ``order=1``, no anti-aliasing), then
    thresholded. With ``cloud_is_dark=True`` (the PLRR masks ``cloudmask_*.jpg``: black = cloud)
    a pixel is observed when its value is ``>= threshold``; with ``cloud_is_dark=False`` it is
    observed when its value is ``< threshold``.

    Parameters
    ----------
    path_or_array : str, Path or array_like
        Image file readable by PIL (converted to grey), or an array ``(h, w)`` / ``(h, w, c)``
        (channels averaged): integer arrays are divided by their dtype's maximum, bool arrays
        taken as 0/1, float arrays must already be in [0, 1].
    shape : tuple of int
        Target ``(H, W)`` (or an image shape ``(H, W, C)``, of which ``(H, W)`` is used).
    threshold : float
        Threshold in (0, 1), as a fraction of the value range.
    cloud_is_dark : bool
        Whether clouds are the dark pixels of the mask image.

    Returns
    -------
    numpy.ndarray of bool
        ``(H, W)`` mask, True = observed (clear), False = cloud.

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.ones((20, 20)); grey[:10] = 0.0  # top half cloud (dark)
    >>> m = load_cloud_mask(grey, (40, 30))
    >>> m.shape, float(m.mean())
    ((40, 30), 0.5)
    """
    dims = _check_shape(shape)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise InputError(f"threshold must be a number in (0, 1), got {threshold!r}")
    if not 0.0 < float(threshold) < 1.0:
        raise InputError(f"threshold must be in (0, 1), got {threshold}")
    if isinstance(path_or_array, (str, Path)):
        try:
            with Image.open(path_or_array) as im:
                grey = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise InputError(
                f"path_or_array: cannot read {str(path_or_array)!r} as an image ({exc})"
            ) from None
    else:
        arr = np.asarray(path_or_array)
        if arr.ndim not in (2, 3) or arr.size == 0:
            raise InputError(
                f"path_or_array must be a non-empty (h, w) or (h, w, c) array, got {arr.shape}"
            )
        if arr.dtype == np.bool_:
            grey = arr.astype(np.float64)
        elif np.issubdtype(arr.dtype, np.integer):
            grey = arr.astype(np.float64) / float(np.iinfo(arr.dtype).max)
        elif np.issubdtype(arr.dtype, np.floating):
            grey = arr.astype(np.float64)
            if not np.all(np.isfinite(grey)) or grey.min() < 0.0 or grey.max() > 1.0:
                raise InputError("path_or_array as a float array must have finite values in [0, 1]")
        else:
            raise InputError(f"path_or_array must be a numeric array, got dtype {arr.dtype}")
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
    h, w = dims[:2]
    if grey.shape != (h, w):
        grey = resize(grey, (h, w), order=1, anti_aliasing=False, preserve_range=True)
    if cloud_is_dark:
        return grey >= threshold
    return grey < threshold


# ----------------------------------------------------------------------------- noise


def add_gaussian(image: ArrayLike, sigma: float | ArrayLike, *, seed: Seed) -> NDArray[np.floating]:
    """Add zero-mean Gaussian noise (not clipped).

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)``.
    sigma : float or array_like
        Standard deviation (>= 0): a scalar, or one value per band (length C).
    seed : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Noisy image, same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> noisy = add_gaussian(np.full((64, 64), 0.5), 0.1, seed=0)
    >>> bool(abs(noisy.std() - 0.1) < 0.01)
    True
    """
    img = _check_image(image)
    n_bands = _n_bands(img.shape)
    sig = np.asarray(sigma, dtype=np.float64)
    if sig.ndim > 1 or (sig.ndim == 1 and sig.size != n_bands):
        raise InputError(
            f"sigma must be a scalar or have one value per band ({n_bands}), got {sig.shape}"
        )
    if not np.all(np.isfinite(sig)) or np.any(sig < 0):
        raise InputError(f"sigma must be finite and >= 0, got {sigma!r}")
    rng = _rng(seed)
    noise = rng.standard_normal(img.shape)
    if sig.ndim == 1 and img.ndim == 2:
        sig = sig[0]
    return (img.astype(np.float64) + sig * noise).astype(img.dtype)


def add_salt_pepper(
    image: ArrayLike, ratio: float, *, seed: Seed, bands: Bands = None
) -> NDArray[np.floating]:
    """Add salt-and-pepper (impulse) noise.

    In each selected band every entry is, independently, set to 0 with probability
    ``ratio / 2`` and to 1 with probability ``ratio / 2`` (MATLAB ``imnoise`` style).

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)``.
    ratio : float
        Fraction of corrupted entries, in [0, 1].
    seed : int or numpy.random.Generator
        Source of randomness.
    bands : None, float or sequence of int
        Bands to corrupt: all (default), a random fraction of them, or indices.

    Returns
    -------
    numpy.ndarray
        Noisy image, same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> noisy = add_salt_pepper(np.full((64, 64), 0.5), 0.2, seed=0)
    >>> bool(abs(np.isin(noisy, (0.0, 1.0)).mean() - 0.2) < 0.03)
    True
    """
    img = _check_image(image)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.number)):
        raise InputError(f"ratio must be a number in [0, 1], got {ratio!r}")
    if not 0.0 <= float(ratio) <= 1.0:
        raise InputError(f"ratio must be in [0, 1], got {ratio}")
    rng = _rng(seed)
    out = img.copy()
    o3 = _as_3d(out)
    for b in _select_bands(bands, o3.shape[2], rng):
        u = rng.random(o3.shape[:2])
        o3[:, :, b][u < ratio / 2] = 0.0
        o3[:, :, b][(u >= ratio / 2) & (u < ratio)] = 1.0
    return out


def add_stripes(
    image: ArrayLike,
    *,
    n_stripes: int,
    bands: Bands = None,
    seed: Seed,
    offset_range: tuple[float, float] = (-0.25, 0.25),
) -> NDArray[np.floating]:
    """Add stripe noise: whole columns shifted by a constant offset.

    In each selected band, ``n_stripes`` random columns are chosen and each gets its own
    offset drawn uniformly from ``offset_range``, added to the whole column (not clipped).

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)``.
    n_stripes : int
        Striped columns per selected band, in [0, W].
    bands : None, float or sequence of int
        Bands to stripe: all (default), a random fraction of them, or indices.
    seed : int or numpy.random.Generator
        Source of randomness.
    offset_range : (float, float)
        Low and high bound of the uniform offset distribution.

    Returns
    -------
    numpy.ndarray
        Striped image, same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((8, 16), 0.5)
    >>> out = add_stripes(img, n_stripes=4, seed=0)
    >>> int((out != img).any(axis=0).sum()), bool((np.ptp(out - img, axis=0) == 0).all())
    (4, True)
    """
    img = _check_image(image)
    n = _check_lines(n_stripes, img.shape[1], "n_stripes")
    try:
        low, high = (float(v) for v in offset_range)
    except (TypeError, ValueError):
        raise InputError(f"offset_range must be a pair (low, high), got {offset_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise InputError(f"offset_range must be finite with low <= high, got {offset_range!r}")
    rng = _rng(seed)
    out = img.copy()
    o3 = _as_3d(out)
    for b in _select_bands(bands, o3.shape[2], rng):
        cols = rng.choice(o3.shape[1], size=n, replace=False)
        offsets = rng.uniform(low, high, size=n)
        o3[:, cols, b] = (o3[:, cols, b].astype(np.float64) + offsets[None, :]).astype(out.dtype)
    return out


def add_deadlines(
    image: ArrayLike, *, n_lines: int, bands: Bands = None, seed: Seed
) -> NDArray[np.floating]:
    """Set whole columns to 0 (dead lines), as :func:`deadline_mask` places them.

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)``.
    n_lines : int
        Dead columns per band that gets lines, in [0, W].
    bands : None, float or sequence of int
        ``None``: the same columns in every band; a fraction or indices: those bands, each with
        its own random columns (see :func:`deadline_mask`).
    seed : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Image with dead columns, same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> out = add_deadlines(np.full((8, 16, 3), 0.5), n_lines=2, bands=[1], seed=0)
    >>> int((out[:, :, 1] == 0).all(axis=0).sum()), bool((out[:, :, 0] == 0.5).all())
    (2, True)
    """
    img = _check_image(image)
    mask = deadline_mask(img.shape, n_lines=n_lines, bands=bands, seed=seed)
    return np.where(mask, img, img.dtype.type(0))


def mixed_noise(
    image: ArrayLike, case: Literal["gaussian", "weak", "strong"], *, seed: Seed
) -> NDArray[np.floating]:
    """HSI denoising degradations of SPEC section 5.

    * ``"gaussian"``: Gaussian noise with sigma 0.1 in every band.
    * ``"weak"``: per band Gaussian sigma ~ U[0.1, 0.4]; then stripes: 20% of the bands (a
      random draw) get 35 columns, each shifted by an offset ~ U[-0.25, 0.25]; then
      salt-and-pepper noise with ratio 0.1 in every band; then deadlines: 20% of the bands
      (another random draw) get 35 columns set to 0.
    * ``"strong"``: as ``"weak"`` with impulse ratio 0.25 and 50% of the bands.

    Band counts are ``round(fraction * C)``, at least 1 (a 2-D image counts as one band). On
    images narrower than 35 columns the number of lines is scaled to the paper's 35-of-200
    column share: ``max(1, round(35 * W / 200))``. The order keeps each component recognisable:
    impulse values stay exactly 0 or 1 and dead columns stay exactly 0. The result is not
    clipped to [0, 1] (the SPEC does not clip).

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)`` in [0, 1].
    case : {"gaussian", "weak", "strong"}
        Noise case.
    seed : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Noisy image, same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> noisy = mixed_noise(np.full((40, 40, 10), 0.5), "strong", seed=0)
    >>> int(((noisy == 0).all(axis=0)).any(axis=0).sum())  # bands with dead columns
    5
    """
    img = _check_image(image)
    if case not in ("gaussian", "weak", "strong"):
        raise InputError(f"case must be 'gaussian', 'weak' or 'strong', got {case!r}")
    rng = _rng(seed)
    if case == "gaussian":
        return add_gaussian(img, 0.1, seed=rng)
    ratio, fraction = _MIXED[case]
    n_bands = _n_bands(img.shape)
    width = img.shape[1]
    if width >= _MIXED_LINES:
        n_lines = _MIXED_LINES
    else:
        n_lines = max(1, math.floor(_MIXED_LINES * width / _MIXED_REF_WIDTH + 0.5))
    sigmas = rng.uniform(*_MIXED_SIGMA_RANGE, size=n_bands)
    out = add_gaussian(img, sigmas if img.ndim == 3 else sigmas[0], seed=rng)
    out = add_stripes(out, n_stripes=n_lines, bands=fraction, seed=rng)
    out = add_salt_pepper(out, ratio, seed=rng)
    return add_deadlines(out, n_lines=n_lines, bands=fraction, seed=rng)


# ----------------------------------------------------------------------------- convenience


def degrade(
    image: ArrayLike, *, kind: str, seed: Seed, **options: Any
) -> tuple[NDArray[np.floating], NDArray[np.bool_] | None]:
    """Degrade an image with one of the experiment settings.

    Parameters
    ----------
    image : array_like
        Float image ``(H, W)`` or ``(H, W, C)`` in [0, 1].
    kind : str
        ``"random"`` (option ``rate``, required; ``per_pixel``), ``"deadlines"`` (option
        ``n_lines``, required; ``bands``), ``"text"`` (options ``text``, ``font_size``),
        ``"gaussian"`` (option ``sigma``, default 0.1), ``"weak"`` or ``"strong"`` (mixed
        noise, no options).
    seed : int or numpy.random.Generator
        Source of randomness.
    **options
        Options of the chosen kind, passed to :func:`random_mask`, :func:`deadline_mask`,
        :func:`text_mask` or :func:`add_gaussian`.

    Returns
    -------
    observed : numpy.ndarray
        For inpainting kinds ``image * mask`` (missing entries set to 0); for noise kinds the
        noisy image. Same shape and dtype as ``image``.
    mask : numpy.ndarray of bool or None
        The mask (image shape, True = observed) for inpainting kinds, None for noise kinds.

    Examples
    --------
    >>> import numpy as np
    >>> obs, mask = degrade(np.full((16, 16, 3), 0.5), kind="random", seed=0, rate=0.5)
    >>> bool((obs[~mask] == 0).all()), mask.shape
    (True, (16, 16, 3))
    """
    img = _check_image(image)
    allowed = {
        "random": ({"rate"}, {"per_pixel"}),
        "deadlines": ({"n_lines"}, {"bands"}),
        "text": (set(), {"text", "font_size"}),
        "gaussian": (set(), {"sigma"}),
        "weak": (set(), set()),
        "strong": (set(), set()),
    }
    if kind not in allowed:
        raise InputError(f"kind must be one of {list(DEGRADATION_KINDS)}, got {kind!r}")
    required, optional = allowed[kind]
    missing = sorted(required - options.keys())
    if missing:
        raise InputError(f"degrade(kind={kind!r}) needs option(s) {missing}")
    extra = sorted(options.keys() - required - optional)
    if extra:
        known = sorted(required | optional)
        raise InputError(f"degrade(kind={kind!r}) got unknown option(s) {extra}; known: {known}")
    mask: NDArray[np.bool_]
    if kind == "random":
        mask = random_mask(img.shape, options["rate"], seed=seed, **_pick(options, "per_pixel"))
    elif kind == "deadlines":
        mask = deadline_mask(img.shape, seed=seed, **_pick(options, "n_lines", "bands"))
    elif kind == "text":
        mask = text_mask(img.shape, seed=seed, **_pick(options, "text", "font_size"))
    elif kind == "gaussian":
        return add_gaussian(img, options.get("sigma", 0.1), seed=seed), None
    else:
        return mixed_noise(img, kind, seed=seed), None  # type: ignore[arg-type]
    return np.where(mask, img, img.dtype.type(0)), mask


def _pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: options[k] for k in names if k in options}
