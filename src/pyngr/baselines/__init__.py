"""Baselines: the NGR paper's competitors and classic regularisers under pyngr's interface.

Run any of them through the same functions as NGR, ``method=`` in Python or ``--method``
on the command line::

    pyngr.inpaint(image, mask, method="tctv")
    ngr denoise noisy.tif -o clean.tif --noise mixed --method lrtdtv

:data:`METHODS` lists them; :func:`default_settings` gives a method's documented defaults
(taken from its paper or its authors' code) as a typed, frozen settings object that is
saved next to every result like NGR's.

Examples
--------
>>> from pyngr.baselines import available_methods
>>> available_methods("denoise")[:4]
['bm3d', 'ctv', 'dip', 'lrtdtv']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InputError
from ..solvers import History, Recorder
from .bm3d import BM3DSettings, bm3d_defaults, run_bm3d
from .common import MethodSettings, Problem
from .methods import convex_defaults, run_convex

__all__ = [
    "METHODS",
    "Method",
    "MethodSettings",
    "Problem",
    "available_methods",
    "default_settings",
    "get_method",
    "run_method",
    "settings_from_dict",
]

Runner = Callable[[Problem, Any, Recorder, torch.Generator], tuple[torch.Tensor, History]]
Defaults = Callable[[str, tuple[int, int, int], "str | None"], MethodSettings]

_ALL = ("inpaint", "decloud", "denoise")
_COMPLETION = ("inpaint", "decloud")


@dataclass(frozen=True)
class Method:
    """A baseline: its name, what it is, which tasks it solves, its defaults and its solver."""

    name: str
    title: str
    reference: str
    tasks: tuple[str, ...]
    defaults: Defaults
    run: Runner


def _convex(name: str) -> Defaults:
    return lambda task, shape, noise: convex_defaults(name, task, shape, noise)


def _dip_defaults(name: str) -> Defaults:
    def defaults(task: str, shape: tuple[int, int, int], noise: str | None) -> MethodSettings:
        from . import dip

        make = dip.dip_defaults if name == "dip" else dip.s2dip_defaults
        return make(task, shape[0], noise)

    return defaults


def _run_dip(name: str) -> Runner:
    def run(problem: Problem, settings: Any, recorder: Recorder,
            generator: torch.Generator) -> tuple[torch.Tensor, History]:
        from . import dip

        fn = dip.run_dip if name == "dip" else dip.run_s2dip
        return fn(problem, settings, recorder, generator)

    return run


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("tv", "anisotropic total variation", "Rudin, Osher, Fatemi, Physica D 1992",
               _ALL, _convex("tv"), run_convex),
        Method("tv3d", "3-D total variation (h, v and channel axis)",
               "e.g. Zhang et al., IEEE TGRS 2014", _ALL, _convex("tv3d"), run_convex),
        Method("sstv", "spatial-spectral total variation",
               "Aggarwal, Majumdar, IEEE JSTARS 2016", _ALL, _convex("sstv"), run_convex),
        Method("halrtc", "high-accuracy low-rank tensor completion",
               "Liu, Musialski, Wonka, Ye, IEEE TPAMI 2013", _COMPLETION, _convex("halrtc"),
               run_convex),
        Method("tnn-fft", "tensor nuclear norm, t-SVD with the DFT",
               "Lu et al., IEEE TPAMI 2020", _ALL, _convex("tnn-fft"), run_convex),
        Method("tnn-dct", "tensor nuclear norm, t-SVD with the DCT",
               "Lu, Peng, Wei, CVPR 2019", _ALL, _convex("tnn-dct"), run_convex),
        Method("tctv", "tensor correlated total variation",
               "Wang, Peng, Qin, Wang, Meng, IEEE TPAMI 2023", _ALL, _convex("tctv"),
               run_convex),
        Method("ctv", "correlated total variation (robust PCA)",
               "Peng, Wang, Zhang, Wang, Meng, IEEE TPAMI 2022", ("denoise",), _convex("ctv"),
               run_convex),
        Method("lrtdtv", "TV-regularised low-rank Tucker decomposition",
               "Wang, Peng, Zhao, Leung, Zhao, Meng, IEEE JSTARS 2018", ("denoise",),
               _convex("lrtdtv"), run_convex),
        Method("dip", "deep image prior", "Ulyanov, Vedaldi, Lempitsky, CVPR 2018", _ALL,
               _dip_defaults("dip"), _run_dip("dip")),
        Method("s2dip", "deep image prior with TV and SSTV, sparse noise",
               "Luo, Zhao, Jiang, Zheng, Huang, IEEE JSTARS 2021", _ALL,
               _dip_defaults("s2dip"), _run_dip("s2dip")),
        Method("bm3d", "BM3D per channel (optional bm3d package, non-commercial licence)",
               "Dabov, Foi, Katkovnik, Egiazarian, IEEE TIP 2007", ("denoise",),
               bm3d_defaults, run_bm3d),
    )
}


def available_methods(task: str | None = None) -> list[str]:
    """Names of the baselines (for a task: ``"inpaint"``, ``"decloud"`` or ``"denoise"``)."""
    return sorted(n for n, m in METHODS.items() if task is None or task in m.tasks)


def get_method(name: str, task: str | None = None) -> Method:
    """The :class:`Method` called ``name``; a one-line :class:`InputError` if unknown or if it
    does not solve ``task``."""
    key = name.lower()
    if key not in METHODS:
        raise InputError(f"unknown method {name!r}; expected 'ngr' or one of "
                         f"{', '.join(available_methods())}")
    method = METHODS[key]
    if task is not None and task not in method.tasks:
        raise InputError(f"method {key!r} does not do {task}; for {task} use 'ngr' or one of "
                         f"{', '.join(available_methods(task))}")
    return method


def default_settings(name: str, task: str, shape: tuple[int, int, int],
                     noise: str | None = None) -> MethodSettings:
    """Documented default settings of method ``name`` for ``task`` on a ``(C, H, W)`` image.

    Examples
    --------
    >>> default_settings("halrtc", "inpaint", (3, 64, 64)).iterations
    500
    """
    return get_method(name, task).defaults(task, shape, noise)


def _settings_classes() -> dict[str, type[MethodSettings]]:
    from . import dip, methods

    classes: dict[str, type[MethodSettings]] = {"bm3d": BM3DSettings,
                                                "dip": dip.DIPSettings,
                                                "s2dip": dip.S2DIPSettings}
    for name in ("tv", "tv3d", "sstv", "halrtc", "tnn-fft", "tnn-dct", "tctv", "ctv",
                 "lrtdtv"):
        classes[name] = methods._SETTINGS[name]
    return classes


def settings_from_dict(d: dict[str, Any]) -> MethodSettings:
    """Rebuild a baseline's settings from :meth:`MethodSettings.to_dict` output."""
    name = d.get("method")
    cls = _settings_classes().get(str(name))
    if cls is None:
        raise InputError(f"invalid settings: unknown method {name!r}")
    return cls.from_dict(d)


def run_method(name: str, problem: Problem, settings: MethodSettings, recorder: Recorder,
               generator: torch.Generator) -> tuple[torch.Tensor, History]:
    """Run baseline ``name``; return its estimate ``(C, H, W)`` in [0, 1] and its history."""
    method = get_method(name, settings.task)
    if settings.method != method.name:
        raise InputError(f"settings are for method {settings.method!r}, not {method.name!r}")
    return method.run(problem, settings, recorder, generator)

