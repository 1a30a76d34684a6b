"""Declarative experiments: which inputs, degradations, methods and seeds make a table.

A :class:`Case` names one degraded input (a dataset item and a seeded degradation); a
:class:`RunSpec` is one restoration of it (method, seed, settings); an
:class:`Experiment` expands into the run specs of one table or figure of the paper
(:data:`EXPERIMENTS`). Everything is a frozen dataclass with a stable :attr:`RunSpec.key`
(a hash of its JSON form), which the result store uses to skip finished runs.

Data come from a folder laid out as the benchmark data (``set5/``, ``bsd100/``,
``usc_sipi/``, ``video/``, ``hsi/``, ``decloud/``; see :mod:`pyngr.bench.datasets`); a
user's own images fit the same mould through the ``files`` dataset (any image files).

Examples
--------
>>> from pyngr.bench.specs import EXPERIMENTS
>>> runs = EXPERIMENTS["table1"].runs(datasets=("set5",), methods=("ngr", "tctv"))
>>> len(runs), runs[0].case.label
(30, 'set5/baby random 0.5')
>>> runs[0].key == runs[0].key and runs[0].key != runs[1].key
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["EXPERIMENTS", "Case", "Experiment", "RunSpec"]


@dataclass(frozen=True)
class Case:
    """One degraded input.

    Attributes
    ----------
    dataset : ``"set5"``, ``"bsd100"``, ``"usc_sipi"``, ``"video"``, ``"hsi"``,
        ``"decloud"`` or ``"files"`` (``item`` is then a path).
    item : the image within the dataset (file stem, video or cube name, scene).
    degradation : ``"random"`` (``level`` = sampling rate), ``"deadlines"`` (``level`` =
        number of dead columns), ``"cloud"`` (``level`` = ``"small"``, ``"medium"``,
        ``"large"``), ``"gaussian"`` (``level`` = σ), ``"weak"`` or ``"strong"`` (mixed
        noise of SPEC section 5).
    seed : seed of the degradation (the same input for every method).
    """

    dataset: str
    item: str
    degradation: str
    level: float | str | None = None
    seed: int = 0

    @property
    def task(self) -> str:
        if self.degradation in ("random", "deadlines", "text"):
            return "inpaint"
        if self.degradation == "cloud":
            return "decloud"
        return "denoise"

    @property
    def label(self) -> str:
        level = "" if self.level is None else f" {self.level}"
        return f"{self.dataset}/{self.item} {self.degradation}{level}"


@dataclass(frozen=True)
class RunSpec:
    """One restoration: a case, a method, its seed and settings.

    ``preset`` applies to NGR (``"paper"`` or ``"fast"``); ``iterations`` overrides the
    method's count (None: its own); ``overrides`` are dotted settings paths and values
    (``(("admm.lambda_t", 2.0),)``), applied on top of the defaults.
    """

    experiment: str
    case: Case
    method: str = "ngr"
    seed: int = 2333
    preset: str | None = None
    iterations: int | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    tags: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["overrides"] = [list(o) for o in self.overrides]
        d["tags"] = dict(self.tags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        d = dict(d)
        d["case"] = Case(**d["case"])
        d["overrides"] = tuple(tuple(o) for o in d.get("overrides", ()))
        d["tags"] = tuple(sorted(dict(d.get("tags", {})).items()))
        return cls(**d)

    @property
    def key(self) -> str:
        """Stable identity of the run (everything but ``tags``)."""
        d = self.to_dict()
        d.pop("tags")
        text = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- experiments
SET5 = ("baby", "bird", "butterfly", "head", "woman")
# USC-SIPI substitutes in the data folder: four distinct colour images (MANIFEST); the
# 512-pixel files repeat two of them.
USC_SIPI = ("airplane_256", "baboon_256", "pepper_256", "sailboat_256")
VIDEOS = ("claire", "hall", "akiyo")
HSI = ("pavia", "indian")
CLOUDS = ("small", "medium", "large")
#: Cloud-removal scenes (:mod:`pyngr.bench.datasets`): Sentinel-2, Landsat-5, CBERS-4.
SCENES = ("s2", "l5", "cbers4")

#: The paper's competitors per table that pyngr implements (SPC-TV and LRTC-TV are not).
INPAINTING_METHODS = ("ngr", "halrtc", "tnn-fft", "tnn-dct", "tctv", "dip", "s2dip")
DENOISING_METHODS = ("ngr", "bm3d", "ctv", "tctv", "lrtdtv", "dip", "s2dip")
REGULARIZERS = ("ngr", "tv", "tv3d", "sstv", "ctv")


@dataclass(frozen=True)
class Experiment:
    """A table or figure of the paper: its cases and methods.

    ``cases`` maps a dataset name to its cases; :meth:`runs` expands them for the methods and
    seeds asked for (``datasets`` restricts the datasets, ``limit`` the items per dataset).
    """

    name: str
    title: str
    paper_table: str | None
    cases: dict[str, tuple[Case, ...]]
    methods: tuple[str, ...]
    variants: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    variant_methods: tuple[str, ...] = ("ngr",)
    tags: tuple[tuple[str, Any], ...] = ()

    def runs(self, *, methods: Sequence[str] | None = None, seeds: Sequence[int] = (2333,),
             datasets: Sequence[str] | None = None, limit: int | None = None,
             preset: str | None = None, iterations: int | None = None,
             data: Path | None = None, cases: Sequence[str] | None = None,
             overrides: dict[str, tuple[tuple[str, Any], ...]] | None = None,
             variants: Sequence[str] | None = None) -> list[RunSpec]:
        """Expand into run specs. An item ``"*"`` stands for every image of its dataset
        folder under ``data`` (BSDS100's 100 crops).

        ``cases`` keeps the cases whose label (``"hsi/pavia random 0.1"``) contains one of
        the given strings ending at a word end (``"random 0.1"`` is not ``"random 0.15"``);
        ``overrides`` maps a method (or ``"*"``, every method) to extra dotted settings
        overrides, recorded in the run (and its key) like a variant's; ``variants`` keeps
        the variants with these tags (``"lambda_t=0.5"``; unknown tags are an error).
        """
        known = [tag for tag, _ in self.variants]
        unknown = [v for v in (variants or ()) if v not in known]
        if unknown:
            raise InputError(f"{self.name} has no variant {unknown[0]!r}; its variants: "
                             f"{', '.join(known) or 'none'}")
        out = []
        for ds, declared in self.cases.items():
            if datasets is not None and ds not in datasets:
                continue
            # the case filter first, so that ``limit`` counts the images of the chosen cases
            expanded = [case for case in _expand(declared, data) if cases is None
                        or any(f"{c} " in f"{case.label} " for c in cases)]
            items: list[str] = []
            for case in expanded:
                if case.item not in items:
                    items.append(case.item)
            keep = set(items[:limit] if limit else items)
            for case in expanded:
                if case.item not in keep:
                    continue
                for method in (methods or self.methods):
                    extra = tuple((overrides or {}).get("*", ())) + tuple(
                        (overrides or {}).get(method, ()))
                    for seed in seeds:
                        for tag, variant in (self.variants or (("", ()),)):
                            if variant and method not in self.variant_methods:
                                continue
                            if variants is not None and tag not in variants:
                                continue
                            tags = self.tags + ((("variant", tag),) if tag else ())
                            out.append(RunSpec(self.name, case, method, seed,
                                               preset if method == "ngr" else None,
                                               iterations, variant + extra, tags))
        return out


def _expand(cases: Sequence[Case], data: Path | None) -> list[Case]:
    out: list[Case] = []
    for case in cases:
        if case.item != "*":
            out.append(case)
            continue
        if data is None:
            raise InputError(f"{case.dataset}: listing its images needs the data folder")
        from .datasets import list_items

        out += [dataclasses.replace(case, item=i) for i in list_items(data, case.dataset)]
    return out


def _grid(dataset: str, items: Sequence[str], degradation: str,
          levels: Sequence[float | str | None]) -> tuple[Case, ...]:
    return tuple(Case(dataset, item, degradation, level) for level in levels for item in items)


SR_RGB = (0.5, 0.3, 0.1)
SR_VIDEO = (0.2, 0.15, 0.1)
SR_HSI = (0.1, 0.075, 0.05)

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("table1", "RGB inpainting (random sampling)", "table1_rgb_inpainting.csv",
                   {"set5": _grid("set5", SET5, "random", SR_RGB),
                    "bsd100": _grid("bsd100", ("*",), "random", SR_RGB),
                    "usc_sipi": _grid("usc_sipi", USC_SIPI, "random", SR_RGB)},
                   INPAINTING_METHODS),
        Experiment("table2", "video inpainting (random sampling)",
                   "table2_video_inpainting.csv",
                   {"video": _grid("video", VIDEOS, "random", SR_VIDEO)}, INPAINTING_METHODS),
        Experiment("table3", "HSI inpainting (random sampling, deadlines)",
                   "table3_hsi_inpainting.csv",
                   {"hsi": _grid("hsi", HSI, "random", SR_HSI)
                    + _grid("hsi", HSI, "deadlines", (15,))}, INPAINTING_METHODS),
        Experiment("table4", "cloud removal (real cloud masks, small/medium/large)",
                   "table4_decloud.csv",
                   {"decloud": _grid("decloud", SCENES, "cloud", CLOUDS)},
                   INPAINTING_METHODS),
        Experiment("table5", "video denoising (Gaussian)", "table5_video_denoising.csv",
                   {"video": _grid("video", VIDEOS, "gaussian", (0.05, 0.1, 0.15, 0.2))},
                   DENOISING_METHODS),
        Experiment("table6", "HSI denoising (Gaussian, weak mixed, strong mixed)",
                   "table6_hsi_denoising.csv",
                   {"hsi": _grid("hsi", HSI, "gaussian", (0.1,))
                    + _grid("hsi", HSI, "weak", (None,)) + _grid("hsi", HSI, "strong", (None,))},
                   DENOISING_METHODS),
        Experiment("table7", "regularizers on the strong mixed-noise HSI case",
                   "table7_regularizers_pa_case3.csv",
                   {"hsi": _grid("hsi", HSI, "strong", (None,))}, REGULARIZERS),
        Experiment("fig12", "sensitivity to λ_t and μ (Set5, SR 10%; Pavia crop, SR 10%)",
                   None, {"set5": _grid("set5", SET5, "random", (0.1,)),
                          "hsi": (Case("hsi", "pavia", "random", 0.1),)}, ("ngr",),
                   variants=tuple((f"lambda_t={v}", (("admm.lambda_t", v),))
                                  for v in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0))
                   + tuple((f"mu_max=2^{k}", (("admm.mu_max", float(2**k)),))
                           for k in (0, 2, 4, 6, 8, 10))),
        Experiment("fig11", "gradient maps estimated over the iterations (BSDS100 291000, "
                   "SR 10%)", None, {"bsd100": (Case("bsd100", "291000", "random", 0.1),)},
                   ("ngr",), tags=(("capture_gradients", (0.2, 0.4, 0.6, 0.8, 1.0)),)),
        Experiment("fig13", "backbones: skip, ResNet, U-Net, ten conv-BN-ReLU blocks "
                   "(Set5 SR 50%, PA strong mixed)", None,
                   {"set5": _grid("set5", SET5, "random", (0.5,)),
                    "hsi": (Case("hsi", "pavia", "strong"),)}, ("ngr", "dip", "s2dip"),
                   variants=(("skip", ()),
                             ("resnet", (("network.architecture", "resnet"),
                                         ("network.depth", 10))),
                             ("unet", (("network.architecture", "unet"),
                                       ("network.depth", 4))),
                             ("plain", (("network.architecture", "plain"),
                                        ("network.depth", 10)))),
                   variant_methods=("ngr", "dip", "s2dip")),
        # the paper does not say which image the weights came from; butterfly (256x256) is
        # the cheapest Set5 image to fit, so the experiment runs on a laptop CPU
        Experiment("fig14", "warm start: weights fitted on another image (Set5, SR 10%)",
                   None, {"set5": _grid("set5", ("bird",), "random", (0.1,))}, ("ngr",),
                   variants=(("random init", ()),
                             ("pretrained on butterfly", (("warm_start", {
                                 "dataset": "set5", "item": "butterfly",
                                 "degradation": "random", "level": 0.1, "seed": 0}),)))),
    )
}
