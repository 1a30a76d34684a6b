"""Reading and writing images: files <-> numpy arrays.

Arrays are channel-last like scikit-image: ``(H, W)`` or ``(H, W, C)``; a folder of
frames or a video stored in a ``.mat`` file is ``(H, W, T)`` (grey) and a 4-D ``.mat``
array such as ``(H, W, 3, T)`` is returned as stored.  Nothing here rescales values:
arrays keep their stored dtype and values (scaling to ``[0, 1]`` happens elsewhere).

Supported files
---------------
``.png``, ``.jpg``/``.jpeg``, ``.bmp``
    Pillow.  Palette images (``P``/``PA``) become RGB, or RGBA when the palette has
    transparency; alpha is kept as a channel (``LA`` -> 2 channels, ``RGBA`` -> 4);
    1-bit images are read as ``bool``.  16-bit colour PNGs are refused (Pillow would
    silently truncate them to 8 bits): store those as TIFF.
``.tif``/``.tiff``
    tifffile, any dtype and channel count.  Contiguous samples stay ``(H, W, C)``;
    planar samples and page stacks (ImageJ stacks, multi-page files) come back with the
    band axis last.  A georeferenced TIFF is read with rasterio when it is installed,
    and its CRS, transform, nodata and profile go to :attr:`ImageData.geo`.
``.npy``, ``.npz``
    ``numpy.load`` with ``allow_pickle=False``.
``.mat``
    MATLAB v5 via :func:`scipy.io.loadmat`; v7.3 (HDF5) via h5py, with the axes put
    back in MATLAB's order.
a folder
    All image files in it, in natural order (``frame2`` before ``frame10``), stacked
    along a last axis: ``(H, W, T)``.  Frames must be grey (or read with ``gray=True``).

Every problem (missing file, unknown suffix, unreadable or corrupt file, missing key,
...) raises :class:`pyngr.errors.InputError` with a one-line message naming the file.
Writes are atomic: the data goes to a hidden temporary file next to the target that is
renamed onto it only once complete (see :func:`atomic_output`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyngr.errors import InputError

__all__ = [
    "IMAGE_SUFFIXES",
    "READ_SUFFIXES",
    "WRITE_SUFFIXES",
    "ImageData",
    "atomic_output",
    "read_image",
    "read_mask",
    "write_image",
]

PathLike = str | os.PathLike

#: Suffixes of the image files that Pillow / tifffile read (also used for folders).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: Every suffix :func:`read_image` accepts (besides a folder).
READ_SUFFIXES: tuple[str, ...] = (*IMAGE_SUFFIXES, ".npy", ".npz", ".mat")
#: Every suffix :func:`write_image` accepts (besides a folder).
WRITE_SUFFIXES: tuple[str, ...] = READ_SUFFIXES

_PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
_TIFF_SUFFIXES = (".tif", ".tiff")
# TIFF tags that carry georeferencing: ModelPixelScale, ModelTiepoint,
# ModelTransformation, GeoKeyDirectory.
_GEO_TAGS = (33550, 33922, 34264, 34735)
# ITU-R BT.601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114])
_FRAME_RE = re.compile(r"frame_\d+\.png")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(repr=False, eq=False)
class ImageData:
    """An image read from disk.

    Attributes
    ----------
    data : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` (channel-last), with the stored dtype and values.
    path : pathlib.Path
        The file or folder it came from.
    geo : dict or None
        For a georeferenced TIFF read with rasterio: ``{"crs", "transform", "nodata",
        "profile"}``, enough for :func:`write_image` (``like=``) to write it back.
    key : str or None
        The ``.mat``/``.npz`` variable that was read.
    """

    data: np.ndarray
    path: Path
    geo: dict[str, Any] | None = None
    key: str | None = None

    def __repr__(self) -> str:
        extra = "" if self.key is None else f", key={self.key!r}"
        extra += "" if self.geo is None else f", crs={self.geo.get('crs')}"
        return (
            f"ImageData(path={str(self.path)!r}, shape={self.data.shape}, "
            f"dtype={self.data.dtype}{extra})"
        )


# --------------------------------------------------------------------------- helpers


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _natural_key(name: str) -> list[Any]:
    parts = re.split(r"(\d+)", name)
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)] + [name]


def _is_numeric(arr: Any) -> bool:
    return isinstance(arr, np.ndarray) and arr.dtype.kind in "biufc" and arr.dtype.names is None


def _to_gray(arr: np.ndarray, *, image_file: bool) -> np.ndarray:
    """Luma (ITU-R 601) of a colour array, keeping its dtype; other input is returned as is.

    Colour means ``(H, W, C, T)`` with C of 3 or 4, ``(H, W, 3)``, and for image files
    (where the channels are known to be colour) also ``(H, W, 2)`` (grey+alpha) and
    ``(H, W, 4)`` (RGBA).  Alpha is dropped.
    """
    colours = (2, 3, 4) if image_file else (3,)
    if arr.ndim == 3 and arr.shape[2] == 2 and image_file:
        return np.ascontiguousarray(arr[..., 0])
    if (arr.ndim == 3 and arr.shape[2] in colours) or (arr.ndim == 4 and arr.shape[2] in (3, 4)):
        axis = 2
    else:
        return arr
    rgb = np.take(arr, [0, 1, 2], axis=axis).astype(np.float64)
    shape = [1] * arr.ndim
    shape[axis] = 3
    luma = (rgb * _LUMA.reshape(shape)).sum(axis=axis)
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        luma = np.clip(np.rint(luma), info.min, info.max)
    elif arr.dtype.kind == "b":
        luma = luma >= 0.5
    return luma.astype(arr.dtype)


def _tmp_name(path: Path, suffix: str) -> Path:
    token = f"{os.getpid()}{secrets.token_hex(3)}"
    return path.with_name(f".{path.name}.{token}.tmp{suffix}")


def _check_target(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise InputError(f"{path} exists; pass --force / force=True to overwrite")
    if path.is_dir():
        raise InputError(f"{path} is a directory; cannot overwrite it with a file")


@contextlib.contextmanager
def atomic_output(path: PathLike, *, force: bool = False) -> Iterator[Path]:
    """Write a file atomically: yield a temporary path, rename it onto ``path`` on success.

    The temporary file lives in the same folder as ``path`` (so the rename is atomic),
    is hidden (its name starts with ``.``) and ends with ``.tmp`` followed by the suffix
    of ``path``, so that writers that pick the format from the suffix still work.  The
    parent folder is created if missing.  If the body raises, the temporary file is
    removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.
    force : bool, optional
        Overwrite ``path`` if it exists; otherwise an existing ``path`` raises
        :class:`~pyngr.errors.InputError` before anything is written.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp_dir = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp_dir.name)
    >>> with atomic_output(folder / "notes.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (folder / "notes.txt").read_text()
    'hello'
    >>> sorted(p.name for p in folder.iterdir())
    ['notes.txt']
    >>> tmp_dir.cleanup()
    """
    target = Path(path)
    _check_target(target, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create folder {target.parent}: {_one_line(exc)}") from exc
    tmp = _tmp_name(target, target.suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


# --------------------------------------------------------------------------- reading


def read_image(path: PathLike, *, key: str | None = None, gray: bool = False) -> ImageData:
    """Read an image, an array file or a folder of frames.

    Parameters
    ----------
    path : str or os.PathLike
        An image (``.png .jpg .jpeg .bmp .tif .tiff``), an array file (``.npy .npz
        .mat``) or a folder of same-size grey frames.
    key : str, optional
        The variable to read from a ``.mat``/``.npz`` file.  When omitted the file must
        hold exactly one image-like array (numeric, at least two axes longer than 1).
    gray : bool, optional
        Convert colour input to grey with ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B;
        ``skimage.color.rgb2gray`` uses the 709 weights instead), dropping alpha and
        keeping the dtype (integers are rounded).  Colour means: from an image file,
        ``(H, W, C)`` with C of 2 (grey+alpha), 3 or 4; from an array file, ``(H, W, 3)``
        only (so a 2- or 4-band array is left alone; a 3-frame grey video stored as
        ``(H, W, 3)`` would be taken for RGB); and ``(H, W, C, T)`` with C of 3 or 4
        (colour video, which becomes ``(H, W, T)``).  Applied per frame for folders.

    Returns
    -------
    ImageData
        ``data`` channel-last with the stored dtype; ``geo`` for georeferenced TIFFs;
        ``key`` for ``.mat``/``.npz``.

    Raises
    ------
    InputError
        Missing file, unknown suffix, unreadable or corrupt file, missing or ambiguous
        key, or an array with fewer than two dimensions.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> tmp_dir = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp_dir.name)
    >>> np.save(folder / "x.npy", np.zeros((4, 5, 3), dtype=np.float32))
    >>> img = read_image(folder / "x.npy")
    >>> img.data.shape, img.data.dtype
    ((4, 5, 3), dtype('float32'))
    >>> read_image(folder / "x.npy", gray=True).data.shape
    (4, 5)
    >>> tmp_dir.cleanup()
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    suffix = p.suffix.lower()
    if key is not None and (p.is_dir() or suffix not in (".mat", ".npz")):
        raise InputError(f"{p}: key={key!r} only applies to .mat and .npz files")
    try:
        if p.is_dir():
            img = ImageData(_read_folder(p, gray), p)
        elif suffix in _PIL_FORMATS:
            img = ImageData(_read_pil(p), p)
        elif suffix in _TIFF_SUFFIXES:
            img = _read_tiff(p)
        elif suffix == ".npy":
            img = ImageData(np.load(p, allow_pickle=False), p)
        elif suffix == ".npz":
            img = _read_npz(p, key)
        elif suffix == ".mat":
            img = _read_mat(p, key)
        else:
            raise InputError(
                f"{p}: unknown suffix {p.suffix!r} (expected one of {', '.join(READ_SUFFIXES)}"
                " or a folder)"
            )
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read {p}: {_one_line(exc)}") from exc
    data = img.data
    if not _is_numeric(data):
        raise InputError(f"{p}: not a numeric array (dtype {data.dtype})")
    if data.ndim < 2:
        raise InputError(f"{p}: not an image (array of shape {data.shape})")
    if gray and not p.is_dir():
        img.data = _to_gray(data, image_file=suffix in IMAGE_SUFFIXES)
    return img


def _read_pil(p: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(p) as im:
        if im.format == "PNG":
            _check_png_depth(p)
        im.load()
        mode = im.mode
        if mode in ("P", "PA"):
            has_alpha = mode == "PA" or "transparency" in im.info
            im = im.convert("RGBA" if has_alpha else "RGB")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        elif mode in ("La", "RGBa", "RGBX"):
            im = im.convert({"La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}[mode])
        arr = np.asarray(im)
    return np.array(arr)  # own, writable copy


def _check_png_depth(p: Path) -> None:
    with open(p, "rb") as fh:
        head = fh.read(33)
    # IHDR: 8 signature + 4 length + 4 type + 4 width + 4 height + depth + colour type
    if len(head) >= 26 and head[12:16] == b"IHDR":
        depth, colour = head[24], head[25]
        if depth == 16 and colour in (2, 4, 6):
            raise InputError(
                f"{p}: 16-bit colour PNG is not supported (Pillow truncates it to 8 bits); "
                "convert it to .tif"
            )


def _read_tiff(p: Path) -> ImageData:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            georef = any(code in tif.pages[0].tags for code in _GEO_TAGS)
            if not georef:
                return ImageData(_tiff_array(tif), p)
    except (tifffile.TiffFileError, ValueError, KeyError, NotImplementedError) as exc:
        # e.g. a compression tifffile cannot decode without imagecodecs: try Pillow.
        try:
            return ImageData(_read_pil(p), p)
        except Exception:
            raise exc from None
    try:
        import rasterio
    except ImportError:
        with tifffile.TiffFile(p) as tif:
            return ImageData(_tiff_array(tif), p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(p) as ds:
            bands = ds.read()
            geo = {
                "crs": ds.crs,
                "transform": ds.transform,
                "nodata": ds.nodata,
                "profile": dict(ds.profile),
            }
            if ds.crs is None and ds.transform.is_identity:
                geo = None
    data = bands[0] if bands.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(bands, 0, -1))
    return ImageData(data, p, geo=geo)


def _tiff_array(tif: Any) -> np.ndarray:
    series = tif.series[0]
    arr = series.asarray()
    axes = series.axes
    meta = tif.shaped_metadata[0] if tif.is_shaped and tif.shaped_metadata else {}
    if meta.get("pyngr_dtype") == "bool":
        arr = arr.astype(bool)
    if arr.ndim == 3 and len(axes) == 3 and axes.endswith("YX"):
        first = axes[0]
        # Planar samples and real page stacks (ImageJ C/Z/T, generic I): bands last.
        # 'Q' (tifffile's shaped files) is ambiguous: bands-first only if smaller than H, W.
        if first != "Q" or arr.shape[0] < min(arr.shape[1], arr.shape[2]):
            arr = np.ascontiguousarray(np.moveaxis(arr, 0, -1))
    return arr


def _choose(info: dict[str, tuple[tuple[int, ...], bool]], p: Path, key: str | None) -> str:
    """Pick a variable: ``info`` maps names to (shape, is numeric)."""
    names = list(info)
    listing = ", ".join(names) or "none"
    if key is not None:
        if key not in info:
            raise InputError(f"{p} has no variable {key!r} (variables: {listing})")
        return key
    if len(names) == 1 and info[names[0]][1]:
        return names[0]
    candidates = [n for n, (shape, numeric) in info.items() if numeric and _image_like(shape)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{p} holds no image array (variables: {listing})")
    raise InputError(f"several arrays in {p}: {', '.join(candidates)}; choose one with key=")


def _image_like(shape: tuple[int, ...]) -> bool:
    """At least two axes longer than 1 (excludes scalars and vectors such as (1, 4))."""
    return sum(n > 1 for n in shape) >= 2


def _read_npz(p: Path, key: str | None) -> ImageData:
    with np.load(p, allow_pickle=False) as npz:
        if key is None:
            arrays = {n: npz[n] for n in npz.files}
            name = _choose({n: (a.shape, _is_numeric(a)) for n, a in arrays.items()}, p, None)
            return ImageData(arrays[name], p, key=name)
        name = _choose({n: ((), True) for n in npz.files}, p, key)
        return ImageData(npz[name], p, key=name)


def _is_hdf5(p: Path) -> bool:
    with open(p, "rb") as fh:
        head = fh.read(2048 + 8)
    return any(head[o : o + 8] == _HDF5_SIGNATURE for o in (0, 512, 1024, 2048))


def _read_mat(p: Path, key: str | None) -> ImageData:
    if _is_hdf5(p):
        return _read_mat73(p, key)
    import scipy.io

    contents = scipy.io.loadmat(p)
    arrays = {n: v for n, v in contents.items() if not n.startswith("__")}
    info = {n: (getattr(v, "shape", ()), _is_numeric(v)) for n, v in arrays.items()}
    name = _choose(info, p, key)
    if not info[name][1]:
        raise InputError(f"{p}: variable {name!r} is not a numeric array (struct, cell or text)")
    return ImageData(arrays[name], p, key=name)


def _h5_numeric(ds: Any) -> bool:
    mclass = ds.attrs.get("MATLAB_class", b"")
    mclass = mclass.decode() if isinstance(mclass, bytes) else str(mclass)
    names = ds.dtype.names
    numeric = ds.dtype.kind in "biuf" or (names is not None and set(names) == {"real", "imag"})
    return numeric and mclass not in ("char", "cell") and "MATLAB_empty" not in ds.attrs


def _read_mat73(p: Path, key: str | None) -> ImageData:
    try:
        import h5py
    except ImportError as exc:
        raise InputError(
            f"{p} is a MATLAB v7.3 (HDF5) file: reading it needs h5py "
            "(pip install pyngr[mat73] or pip install h5py)"
        ) from exc
    with h5py.File(p, "r") as fh:
        datasets = {
            n: item
            for n, item in fh.items()
            if not n.startswith("#") and isinstance(item, h5py.Dataset)
        }
        info = {n: (ds.shape, _h5_numeric(ds)) for n, ds in datasets.items()}
        name = _choose(info, p, key)
        ds = datasets[name]
        if not info[name][1]:
            raise InputError(
                f"{p}: variable {name!r} is not a numeric array (struct, cell or text)"
            )
        arr = ds[()]
        logical = ds.attrs.get("MATLAB_class", b"") in (b"logical", "logical")
    if arr.dtype.names is not None:
        arr = arr["real"] + 1j * arr["imag"]
    if logical:
        arr = arr.astype(bool)
    # h5py sees MATLAB's column-major arrays with the axes reversed.
    arr = np.ascontiguousarray(arr.transpose(tuple(range(arr.ndim))[::-1]))
    return ImageData(arr, p, key=name)


def _read_folder(p: Path, gray: bool) -> np.ndarray:
    files = [
        f
        for f in p.iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        raise InputError(f"{p}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    files.sort(key=lambda f: _natural_key(f.name))
    frames: list[np.ndarray] = []
    for f in files:
        frame = read_image(f, gray=gray).data
        if frame.ndim != 2:
            raise InputError(
                f"{f}: frame of shape {frame.shape} is not grey; pass gray=True (--gray) "
                "to convert colour frames to grey"
            )
        if frames and (frame.shape != frames[0].shape or frame.dtype != frames[0].dtype):
            raise InputError(
                f"{f}: frame is {frame.shape} {frame.dtype} but {files[0].name} is "
                f"{frames[0].shape} {frames[0].dtype}; all frames must match"
            )
        frames.append(frame)
    return np.stack(frames, axis=-1)


# --------------------------------------------------------------------------- masks


def read_mask(
    path: PathLike,
    *,
    shape: tuple[int, ...] | None = None,
    key: str | None = None,
    invert: bool = False,
) -> np.ndarray:
    """Read a binary mask as a bool array, ``True`` = observed pixel.

    Non-zero (white) means observed.  Accepted values: ``bool``; ``{0, 1}``; ``{0, max}``
    for integer dtypes (e.g. ``{0, 255}`` for uint8).  Near-binary masks (e.g. saved as
    JPEG) are thresholded at half range, but only if at least 99 % of the pixels lie
    within 20 % of the range from 0 or from the maximum.  Colour masks whose channels
    are identical (after dropping an opaque alpha channel of a PNG/BMP) are reduced to
    one channel.  The mask is never resized.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`read_image` reads.
    shape : tuple of int, optional
        Shape of the image the mask is for.  The mask must have the same ``(H, W)``;
        a 2-D mask is broadcast over the remaining axes, an ``(H, W, C)`` mask must
        match ``shape[2]`` (or have C == 1), and an ``(H, W, T)`` mask for a colour
        video ``(H, W, 3, T)`` is broadcast over the colour axis.
    key : str, optional
        Variable name for ``.mat``/``.npz`` files.
    invert : bool, optional
        Flip the mask (for masks where white marks missing pixels, e.g. clouds).

    Returns
    -------
    numpy.ndarray
        A bool array, of ``shape`` when it is given.

    Raises
    ------
    InputError
        Unreadable file, values that are not binary, or a shape that does not fit.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> tmp_dir = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp_dir.name)
    >>> m = np.zeros((4, 5), dtype=np.uint8)
    >>> m[:2] = 255
    >>> _ = write_image(folder / "mask.png", m)
    >>> mask = read_mask(folder / "mask.png", shape=(4, 5, 3))
    >>> mask.shape, mask.dtype, int(mask.sum())
    ((4, 5, 3), dtype('bool'), 30)
    >>> int(read_mask(folder / "mask.png", invert=True).sum())
    10
    >>> tmp_dir.cleanup()
    """
    p = Path(path)
    arr = read_image(p, key=key).data
    mask = _binarize(arr, p)
    if mask.ndim == 3:
        if p.suffix.lower() in _PIL_FORMATS and mask.shape[2] in (2, 4) and _opaque(arr):
            mask = mask[..., :-1]
        if mask.shape[2] > 1 and all(
            np.array_equal(mask[..., 0], mask[..., c]) for c in range(1, mask.shape[2])
        ):
            mask = mask[..., 0]
        elif mask.shape[2] == 1:
            mask = mask[..., 0]
    if invert:
        mask = ~mask
    if shape is not None:
        mask = _fit_mask(mask, tuple(int(n) for n in shape), p)
    return np.ascontiguousarray(mask)


def _opaque(arr: np.ndarray) -> bool:
    """Whether the alpha channel of an 8/16-bit image is fully opaque."""
    if arr.dtype.kind != "u":
        return False
    return bool(np.all(arr[..., -1] == np.iinfo(arr.dtype).max))


def _binarize(arr: np.ndarray, p: Path) -> np.ndarray:
    if arr.dtype.kind == "b":
        return arr.copy()
    if arr.dtype.kind == "c":
        raise InputError(f"mask {p} is not binary (complex values)")
    if arr.size == 0:
        raise InputError(f"mask {p} is empty")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InputError(f"mask {p} is not binary (contains NaN or Inf)")
    lo, hi = arr.min(), arr.max()
    if lo < 0:
        raise InputError(f"mask {p} is not binary (negative values)")
    top = np.iinfo(arr.dtype).max if arr.dtype.kind in "iu" else None
    if hi <= 1 and np.all((arr == 0) | (arr == 1)):
        return arr != 0
    if top is not None and np.all((arr == 0) | (arr == top)):
        return arr != 0
    # Near-binary (lossy compression): threshold at half range if clearly two-valued.
    if top is not None and arr.dtype.itemsize > 1 and hi <= 255:
        full = 255.0  # 8-bit values stored in a wider integer type
    elif top is not None:
        full = float(top)
    elif hi <= 1:
        full = 1.0
    elif hi <= 255:
        full = 255.0
    else:
        full = float(hi)
    values = arr.astype(np.float64) if arr.dtype.kind != "f" else arr
    near = (values <= 0.2 * full) | (values >= 0.8 * full)
    if near.mean() >= 0.99:
        return values > 0.5 * full
    raise InputError(
        f"mask {p} is not binary: values range {lo}..{hi} and "
        f"{100 * (1 - near.mean()):.1f}% lie between; expected 0/1 or 0/{top or 255}"
    )


def _fit_mask(mask: np.ndarray, shape: tuple[int, ...], p: Path) -> np.ndarray:
    if len(shape) < 2:
        raise InputError(f"image shape {shape} for mask {p} must have at least 2 dimensions")

    def mismatch() -> InputError:
        return InputError(f"mask shape {mask.shape} does not match image shape {shape} ({p})")

    if mask.shape[:2] != shape[:2]:
        raise mismatch()
    if mask.ndim == 2:
        expanded = mask.reshape(mask.shape + (1,) * (len(shape) - 2))
    elif mask.ndim == len(shape):
        expanded = mask
    elif mask.ndim == 3 and len(shape) == 4 and mask.shape[2] == shape[3]:
        expanded = mask[:, :, None, :]  # per-frame mask of a colour video (H, W, C, T)
    else:
        raise mismatch()
    try:
        return np.broadcast_to(expanded, shape).copy()
    except ValueError:
        raise mismatch() from None


# --------------------------------------------------------------------------- writing


def _is_folder_target(path: PathLike) -> bool:
    text = os.fspath(path)
    if text.endswith(("/", os.sep)):
        return True
    p = Path(text)
    return p.suffix == "" and p.is_dir()


def write_image(
    path: PathLike,
    data: np.ndarray,
    *,
    like: ImageData | None = None,
    force: bool = False,
) -> Path:
    """Write an array to an image or array file, atomically; values are not rescaled.

    The suffix picks the format:

    * ``.png`` (bool, uint8, uint16 grey), ``.bmp`` (bool, uint8), ``.jpg``/``.jpeg``
      (uint8, lossy, quality 95): grey ``(H, W)`` or ``(H, W, C)`` with C of 1 to 4
      (grey, grey+alpha, RGB, RGBA).  More channels or other dtypes raise
      :class:`~pyngr.errors.InputError` suggesting ``.tif``/``.npy``/``.mat``.
    * ``.tif``/``.tiff``: any dtype, ``(H, W)`` or ``(H, W, C)`` with any C, read back
      exactly by :func:`read_image` (channel-last contiguous samples, photometric RGB
      for 3-channel uint8/uint16, ``minisblack`` otherwise).  If ``like.geo`` is set,
      rasterio writes a GeoTIFF with the same CRS, transform and nodata (bool is then
      stored as uint8).
    * ``.npy``; ``.npz`` and ``.mat`` (MATLAB v5) store the array under ``like.key`` or
      ``"data"``.  For ``.mat``, scipy stores bool as uint8 and float16 is not supported.
    * a folder (a path ending with ``/``, or an existing folder without suffix): one
      PNG per channel, ``frame_0001.png``, ``frame_0002.png`` ... (written into a
      temporary folder that is renamed into place).

    Parameters
    ----------
    path : str or os.PathLike
        Target file or folder; missing parent folders are created.
    data : numpy.ndarray
        The array, channel-last.
    like : ImageData, optional
        The image this output derives from: supplies georeferencing (TIFF) and the
        variable name (``.mat``/``.npz``).
    force : bool, optional
        Overwrite an existing target (a folder is only replaced if it holds nothing but
        ``frame_*.png`` files).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    InputError
        Existing target without ``force``, unknown suffix, or data the format cannot
        store.  Nothing is left behind on failure.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> tmp_dir = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp_dir.name)
    >>> x = np.arange(4 * 5 * 7, dtype=np.uint16).reshape(4, 5, 7)
    >>> out = write_image(folder / "cube.tif", x)
    >>> out.name
    'cube.tif'
    >>> bool(np.array_equal(read_image(out).data, x))
    True
    >>> tmp_dir.cleanup()
    """
    arr = np.asarray(data)
    if not _is_numeric(arr):
        raise InputError(f"cannot write {os.fspath(path)}: data has non-numeric dtype {arr.dtype}")
    if _is_folder_target(path):
        return _write_folder(Path(path), arr, force)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise InputError(
            f"cannot write {p}: unknown suffix {p.suffix!r} (expected one of "
            f"{', '.join(WRITE_SUFFIXES)}, or a folder path ending with '/')"
        )
    if suffix in _PIL_FORMATS:
        arr = _check_pil_data(arr, p, suffix)
    elif suffix in _TIFF_SUFFIXES and arr.ndim not in (2, 3):
        raise InputError(
            f"cannot write {p}: TIFF takes (H, W) or (H, W, C) arrays, got shape {arr.shape}; "
            "use .npy or .mat"
        )
    name = like.key if like is not None and like.key else "data"
    if suffix in (".mat", ".npz") and not name.isidentifier():
        name = "data"
    _check_target(p, force)
    try:
        with atomic_output(p, force=force) as tmp:
            if suffix in _PIL_FORMATS:
                _write_pil(tmp, arr, suffix)
            elif suffix in _TIFF_SUFFIXES:
                if like is not None and like.geo:
                    _write_geotiff(tmp, arr, like.geo)
                else:
                    _write_tiff(tmp, arr)
            elif suffix == ".npy":
                with open(tmp, "wb") as fh:
                    np.save(fh, arr, allow_pickle=False)
            elif suffix == ".npz":
                with open(tmp, "wb") as fh:
                    np.savez_compressed(fh, **{name: arr})
            else:
                _write_mat(tmp, arr, name, p)
    except InputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(f"cannot write {p}: {_one_line(exc)}") from exc
    return p


def _check_pil_data(arr: np.ndarray, p: Path, suffix: str) -> np.ndarray:
    hint = "use .tif, .npy or .mat"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] > 4):
        raise InputError(
            f"cannot write {p}: {suffix} holds 1 to 4 channels, got shape {arr.shape}; {hint}"
        )
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    allowed = {".png": ("b", "uint8", "uint16"), ".bmp": ("b", "uint8")}.get(suffix, ("uint8",))
    ok = arr.dtype.name in allowed or (arr.dtype.kind == "b" and "b" in allowed)
    if not ok:
        raise InputError(
            f"cannot write {p}: {suffix} cannot store {arr.dtype} "
            f"(it takes {', '.join('bool' if a == 'b' else a for a in allowed)}); "
            f"convert to uint8 or {hint}"
        )
    if arr.dtype == np.uint16 and channels > 1:
        raise InputError(f"cannot write {p}: 16-bit colour is not supported in PNG; {hint}")
    if arr.dtype.kind == "b" and channels > 1:
        raise InputError(f"cannot write {p}: bool data must be one channel in {suffix}; {hint}")
    if suffix in (".jpg", ".jpeg") and channels not in (1, 3):
        raise InputError(f"cannot write {p}: JPEG takes grey or RGB (no alpha); {hint}")
    if suffix == ".bmp" and channels == 2:
        raise InputError(f"cannot write {p}: BMP cannot store grey+alpha; {hint}")
    return arr


def _write_pil(tmp: Path, arr: np.ndarray, suffix: str) -> None:
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(arr))
    options: dict[str, Any] = {"quality": 95} if _PIL_FORMATS[suffix] == "JPEG" else {}
    im.save(tmp, format=_PIL_FORMATS[suffix], **options)


def _write_tiff(tmp: Path, arr: np.ndarray) -> None:
    import tifffile

    metadata: dict[str, Any] = {}
    if arr.dtype.kind == "b":
        metadata["pyngr_dtype"] = "bool"
        arr = arr.astype(np.uint8)
    kwargs: dict[str, Any] = {"photometric": "minisblack"}
    if arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype in (np.uint8, np.uint16):
        kwargs = {"photometric": "rgb", "planarconfig": "contig"}
    elif arr.ndim == 3 and arr.shape[2] > 1:
        kwargs["planarconfig"] = "contig"
    tifffile.imwrite(
        tmp, np.ascontiguousarray(arr), compression="zlib", metadata=metadata, **kwargs
    )


def _write_geotiff(tmp: Path, arr: np.ndarray, geo: dict[str, Any]) -> None:
    try:
        import rasterio
    except ImportError as exc:
        raise InputError(
            f"writing a GeoTIFF needs rasterio (pip install pyngr[geo]); target {tmp.name}"
        ) from exc
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    bands = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    source = dict(geo.get("profile") or {})
    keep = ["compress", "interleave", "predictor"]
    if (source.get("height"), source.get("width")) == arr.shape[:2]:
        keep += ["tiled", "blockxsize", "blockysize"]
    if source.get("count") == bands.shape[0] and source.get("dtype") == arr.dtype.name:
        keep.append("photometric")
    profile = {k: source[k] for k in keep if k in source}
    if str(profile.get("compress", "")).lower() in ("jpeg", "webp") and arr.dtype != np.uint8:
        profile.pop("compress")
    if arr.dtype.kind == "f" and profile.get("predictor") == 2:
        profile.pop("predictor")
    profile.update(
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=bands.shape[0],
        dtype=arr.dtype.name,
        crs=geo.get("crs"),
        transform=geo.get("transform"),
        nodata=geo.get("nodata"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(tmp, "w", **profile) as ds:
            ds.write(bands)


def _write_mat(tmp: Path, arr: np.ndarray, name: str, p: Path) -> None:
    import scipy.io

    if arr.dtype == np.float16:
        raise InputError(f"cannot write {p}: MATLAB has no float16; convert to float32")
    scipy.io.savemat(tmp, {name: arr}, do_compression=True)


def _write_folder(path: Path, arr: np.ndarray, force: bool) -> Path:
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise InputError(
            f"cannot write frames to {path}/: need (H, W) or (H, W, T), got shape {arr.shape}"
        )
    frames = [_check_pil_data(arr[..., t], path / "frame.png", ".png") for t in range(arr.shape[2])]
    if path.exists() and not path.is_dir():
        raise InputError(f"cannot write frames to {path}/: it exists and is not a folder")
    old = sorted(path.iterdir()) if path.is_dir() else []
    if old and not force:
        raise InputError(f"{path} exists; pass --force / force=True to overwrite")
    strangers = [f.name for f in old if not (f.is_file() and _FRAME_RE.fullmatch(f.name))]
    if strangers:
        raise InputError(
            f"refusing to replace folder {path}: it holds files other than frame_*.png "
            f"({', '.join(strangers[:3])}{', ...' if len(strangers) > 3 else ''})"
        )
    width = max(4, len(str(len(frames))))
    tmp = _tmp_name(path, "")
    backup = _tmp_name(path, ".old")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for t, frame in enumerate(frames, start=1):
            _write_pil(tmp / f"frame_{t:0{width}d}.png", frame, ".png")
        if path.is_dir():
            os.replace(path, backup)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(backup, path)
                raise
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot write frames to {path}/: {_one_line(exc)}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
