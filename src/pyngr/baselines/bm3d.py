"""BM3D per channel (band or frame) through the optional ``bm3d`` package.

BM3D (Dabov, Foi, Katkovnik, Egiazarian, IEEE TIP 2007; the Tampere implementation of
Mäkinen, Azzari, Foi, 2020) is a Gaussian denoiser. pyngr runs it on each channel with
that channel's noise level: the one given, or Donoho's estimate from the noisy channel
(:func:`~pyngr.baselines.common.estimate_noise`; observation only). Mixed noise is passed
as it is: BM3D has no model of impulses or stripes.

The ``bm3d`` package is free for non-commercial use only (Tampere University licence);
install it with ``pip install "pyngr[bm3d]"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import PyngrError
from ..solvers import History, Recorder
from .common import MethodSettings, Problem, estimate_noise

__all__ = ["BM3DSettings", "bm3d_defaults", "run_bm3d"]


@dataclass(frozen=True)
class BM3DSettings(MethodSettings):
    """sigma : noise standard deviation on the [0, 1] scale, or None to estimate it per
    channel; profile : the ``bm3d`` package's profile (``"np"``, its default, or
    ``"refilter"``, ``"vn"``, ``"high"``). ``iterations`` counts channels (set at run time)."""

    sigma: float | None = None
    profile: str = "np"


def bm3d_defaults(task: str, shape: tuple[int, int, int], noise: str | None = None
                  ) -> BM3DSettings:
    return BM3DSettings(method="bm3d", task=task, iterations=int(shape[0]))


def _import_bm3d() -> Any:  # the optional module
    try:
        import bm3d
    except ImportError as exc:
        raise PyngrError("method 'bm3d' needs the optional bm3d package (free for "
                         "non-commercial use): pip install 'pyngr[bm3d]'") from exc
    return bm3d


def run_bm3d(problem: Problem, settings: MethodSettings, recorder: Recorder,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, History]:
    """Denoise every channel of ``problem.y`` with BM3D (CPU, NumPy, float64)."""
    if not isinstance(settings, BM3DSettings):
        raise TypeError(f"expected BM3DSettings, got {type(settings).__name__}")
    bm3d = _import_bm3d()
    y = problem.y
    sigmas = (estimate_noise(y).flatten().tolist() if settings.sigma is None
              else [float(settings.sigma)] * y.shape[0])
    channels = y.detach().cpu().double().numpy()
    out = np.array(channels, copy=True)
    for c, sigma in enumerate(sigmas):
        if sigma > 0:
            out[c] = bm3d.bm3d(channels[c], sigma_psd=max(sigma, 1e-4), profile=settings.profile)
        current = torch.from_numpy(out).to(y)
        if recorder.step(c + 1, lambda cur=current: cur.clamp(0, 1), None,
                         lambda s=sigma: {"sigma": s}):
            break
    return recorder.finish(torch.from_numpy(out).to(y).clamp(0, 1))
