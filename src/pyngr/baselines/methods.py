"""The variational baselines as instances of :func:`pyngr.baselines.convex.run_splitting`.

Each method is a settings dataclass (its paper's defaults) and a builder that turns it into
terms ``w·g(D X)`` and a data term. All differences are circular (as NGR's).

========  =====================================================  ============================
name      model                                                  tasks
========  =====================================================  ============================
tv        anisotropic (or isotropic) spatial TV per channel       inpaint, decloud, denoise
tv3d      ``Σ_a w_a ‖∇_a X‖₁`` over h, v and the channel axis t   inpaint, decloud, denoise
sstv      ``‖∇_h∇_t X‖₁ + ‖∇_v∇_t X‖₁`` (Aggarwal & Majumdar 2016)  inpaint, decloud, denoise
halrtc    ``Σ_n α_n ‖X_(n)‖_*`` (Liu et al., TPAMI 2013)          inpaint, decloud
tnn-fft   t-SVD tensor nuclear norm, DFT (Lu et al., TPAMI 2020)  inpaint, decloud, denoise
tnn-dct   the same with the DCT (Lu et al., CVPR 2019)            inpaint, decloud, denoise
tctv      ``(1/γ) Σ_a ‖∇_a X‖_TNN`` (Wang et al., TPAMI 2023)     inpaint, decloud, denoise
ctv       ``Σ_a ‖∇_a X‖_*`` of C × HW unfoldings (Peng et al.,    denoise
          TPAMI 2022), robust PCA data term
lrtdtv    Tucker rank + 3-D TV + sparse noise (Wang et al.,       denoise
          JSTARS 2018)
========  =====================================================  ============================

For denoising, TV-family methods fit ``½‖Y − X − S‖²`` (with the sparse term S for mixed
noise); low-rank methods keep their papers' robust-PCA constraint ``Y = X + S``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..solvers import History, Recorder, dual_norm
from .common import MethodSettings, Problem, estimate_noise, soft_threshold
from .convex import (
    DataTerm,
    Schedule,
    Term,
    fold,
    group_soft_threshold,
    run_splitting,
    svt,
    tnn_prox,
    tucker_projection,
    unfold,
)

__all__ = [
    "CTVSettings",
    "ConvexSettings",
    "HaLRTCSettings",
    "LRTDTVSettings",
    "TCTVSettings",
    "TNNSettings",
    "TVSettings",
    "convex_defaults",
    "run_convex",
]


@dataclass(frozen=True)
class ConvexSettings(MethodSettings):
    """ADMM schedule shared by the variational methods.

    ``rho`` is the initial penalty (divided by the robust-PCA scale
    ``max(σ_max(Y), ‖Y‖_∞/λ)`` when ``rho_relative``, as CTV's code does), multiplied by
    ``rho_factor`` each iteration up to ``rho_max``; the run stops when the relative change
    of X falls below ``tol``.
    """

    rho: float = 1e-4
    rho_factor: float = 1.1
    rho_max: float = 1e10
    tol: float = 1e-6
    rho_relative: bool = False


@dataclass(frozen=True)
class TVSettings(ConvexSettings):
    """TV family (``tv``, ``tv3d``, ``sstv``).

    weight : τ of the regulariser for denoising (completion keeps observed entries exactly
        and needs none); None: per channel, the estimated noise level σ̂ of the input
        (:func:`~pyngr.baselines.common.estimate_noise`), the usual ROF scaling.
    sparse_weight : λ of the sparse term (mixed noise); None: 3σ̂ per channel.
    axis_weights : weights of (h, v, t) (``tv3d``; ``tv`` uses h and v).
    isotropic : ``tv`` only: ‖(∇_h X, ∇_v X)‖₂ per pixel instead of the sum of ℓ1 norms.
    """

    weight: float | None = None
    sparse_weight: float | None = None
    axis_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    isotropic: bool = False


@dataclass(frozen=True)
class HaLRTCSettings(ConvexSettings):
    """HaLRTC: weights α of the nuclear norms of the mode-(C, H, W) unfoldings."""

    mode_weights: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)


@dataclass(frozen=True)
class TNNSettings(ConvexSettings):
    """TNN (t-SVD along the channel axis). ``sparse_weight`` (robust PCA, denoising):
    None is Lu et al.'s ``1/√(max(H, W)·C)``."""

    transform: str = "fft"
    sparse_weight: float | None = None


@dataclass(frozen=True)
class TCTVSettings(ConvexSettings):
    """t-CTV: TNN of the gradient tensors along ``directions`` (completion: h, v; robust
    PCA: h, v, t, as the authors' code). ``sparse_weight`` None: ``1/√(max(H, W)·C)``."""

    transform: str = "fft"
    directions: tuple[str, ...] = ("h", "v")
    sparse_weight: float | None = None


@dataclass(frozen=True)
class CTVSettings(ConvexSettings):
    """CTV-RPCA: nuclear norms of the C × HW unfoldings of the gradient maps.

    ``sparse_weight`` None: ``3/√(HW)``; ``gradient_penalty`` is the gradient blocks'
    penalty relative to the data block's (0.25 in the authors' code).
    """

    directions: tuple[str, ...] = ("h", "v", "t")
    sparse_weight: float | None = None
    gradient_penalty: float = 0.25


@dataclass(frozen=True)
class LRTDTVSettings(ConvexSettings):
    """LRTDTV: Tucker ranks ``(spectral_rank, ⌈spatial_rank·H⌉, ⌈spatial_rank·W⌉)``,
    3-D TV weight τ, sparse weight λ (the authors' demo: τ = 1, λ = 10, ranks
    0.8·H, 0.8·W, 10)."""

    tv_weight: float = 1.0
    axis_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sparse_weight: float = 10.0
    spatial_rank: float = 0.8
    spectral_rank: int = 10


_SETTINGS: dict[str, type[ConvexSettings]] = {
    "tv": TVSettings, "tv3d": TVSettings, "sstv": TVSettings, "halrtc": HaLRTCSettings,
    "tnn-fft": TNNSettings, "tnn-dct": TNNSettings, "tctv": TCTVSettings,
    "ctv": CTVSettings, "lrtdtv": LRTDTVSettings,
}


def convex_defaults(method: str, task: str, shape: tuple[int, int, int],
                    noise: str | None = None) -> ConvexSettings:
    """Default settings of a variational method for a task (from the methods' papers/code).

    Examples
    --------
    >>> convex_defaults("tctv", "denoise", (10, 32, 32), "mixed").directions
    ('h', 'v', 't')
    """
    common: dict[str, Any] = {"method": method, "task": task}
    if method in ("tv", "tv3d", "sstv"):
        # Fixed penalty for denoising (the model has no constraint to enforce); continuation
        # towards the exact data constraint for completion.
        if task == "denoise":
            return TVSettings(**common, iterations=300, rho=1.0, rho_factor=1.0, rho_max=1.0,
                              tol=1e-5)
        return TVSettings(**common, iterations=500, rho=0.1, rho_factor=1.05, rho_max=1e4,
                          tol=1e-6)
    if method == "halrtc":
        return HaLRTCSettings(**common, iterations=500, rho=1e-3, rho_factor=1.1, rho_max=1e8,
                              tol=1e-6)
    if method in ("tnn-fft", "tnn-dct"):
        # Lu et al.'s code: μ = 1e-4, ρ = 1.1, μ_max = 1e10, 500 iterations.
        return TNNSettings(**common, iterations=500, transform=method[4:])
    if method == "tctv":
        dirs = ("h", "v") if task != "denoise" else ("h", "v", "t")
        return TCTVSettings(**common, iterations=500, directions=dirs)
    if method == "ctv":
        return CTVSettings(**common, iterations=200, rho=1.25, rho_factor=1.25, rho_max=1.25e7,
                           rho_relative=True, tol=1e-6)
    if method == "lrtdtv":
        c = shape[0]
        return LRTDTVSettings(**common, iterations=50, rho=0.01, rho_factor=1.5, rho_max=1e5,
                              tol=1e-6, spectral_rank=min(10, c))
    raise KeyError(method)


# --------------------------------------------------------------------------- builders
def _stacked(prox: Callable[[torch.Tensor, Any], torch.Tensor]
             ) -> Callable[[torch.Tensor, Any], torch.Tensor]:
    """Apply a prox of one ``(C, H, W)`` block to each block of a stack."""
    return lambda v, t: torch.stack([prox(vi, t) for vi in v])


def _nuclear(mode: str) -> Callable[[torch.Tensor, Any], torch.Tensor]:
    return _stacked(lambda x, t: fold(svt(unfold(x, mode), t), mode, x.shape))  # type: ignore[arg-type]


def _data(problem: Problem, *, fit: float | None, sparse: Any, penalty: float = 1.0
          ) -> DataTerm:
    if problem.mask is not None:
        return DataTerm(problem.y, mask=problem.mask, penalty=penalty)
    if problem.noise != "mixed" and fit is not None:
        sparse = None
    return DataTerm(problem.y, fit=fit, sparse=sparse, penalty=penalty)


def _rpca_weight(value: float | None, problem: Problem) -> float:
    c, h, w = problem.shape
    return value if value is not None else 1.0 / math.sqrt(max(h, w) * c)


def _build(problem: Problem, s: ConvexSettings) -> tuple[list[Term], DataTerm, float]:
    """Terms, data term and the robust-PCA scale λ (for ``rho_relative``)."""
    _, h, w = problem.shape
    m = s.method
    if isinstance(s, TVSettings):
        sigma = estimate_noise(problem.y).clamp_min(1e-3)
        if problem.mask is not None:
            tau: float | torch.Tensor = 1.0
        else:
            tau = s.weight if s.weight is not None else sigma
        lam = s.sparse_weight if s.sparse_weight is not None else 3 * sigma
        wh, wv, wt = s.axis_weights
        l1 = soft_threshold
        if m == "tv":
            prox = group_soft_threshold if s.isotropic else l1
            terms = [Term((("h",), ("v",)), prox, tau)]
        elif m == "tv3d":
            terms = [Term(((a,),), l1, tau * wa)
                     for a, wa in (("h", wh), ("v", wv), ("t", wt)) if wa > 0]
        else:
            terms = [Term((("h", "t"), ("v", "t")), l1, tau)]
        return terms, _data(problem, fit=1.0, sparse=lam), 1.0
    if isinstance(s, HaLRTCSettings):
        terms = [Term(((),), _nuclear(mode), a)
                 for mode, a in zip(("t", "v", "h"), s.mode_weights, strict=True) if a > 0]
        return terms, _data(problem, fit=None, sparse=None), 1.0
    if isinstance(s, TNNSettings):
        lam = _rpca_weight(s.sparse_weight, problem)
        prox = _stacked(lambda x, t, tr=s.transform: tnn_prox(x, t, tr))
        return [Term(((),), prox)], _data(problem, fit=None, sparse=lam), lam
    if isinstance(s, TCTVSettings):
        lam = _rpca_weight(s.sparse_weight, problem)
        prox = _stacked(lambda x, t, tr=s.transform: tnn_prox(x, t, tr))
        gamma = len(s.directions)
        terms = [Term(((a,),), prox, 1.0 / gamma) for a in s.directions]  # type: ignore[misc]
        return terms, _data(problem, fit=None, sparse=lam), lam
    if isinstance(s, CTVSettings):
        lam = s.sparse_weight if s.sparse_weight is not None else 3.0 / math.sqrt(h * w)
        terms = [Term(((a,),), _nuclear("t"), 1.0, s.gradient_penalty)  # type: ignore[misc]
                 for a in s.directions]
        return terms, _data(problem, fit=None, sparse=lam), lam
    if isinstance(s, LRTDTVSettings):
        ranks = (s.spectral_rank, math.ceil(s.spatial_rank * h), math.ceil(s.spatial_rank * w))
        wh, wv, wt = s.axis_weights
        terms = [Term(((),), _stacked(lambda x, t: tucker_projection(x, ranks)))]
        terms += [Term(((a,),), soft_threshold, s.tv_weight * wa)  # type: ignore[misc]
                  for a, wa in (("h", wh), ("v", wv), ("t", wt)) if wa > 0]
        return terms, _data(problem, fit=None, sparse=s.sparse_weight), s.sparse_weight
    raise TypeError(f"no builder for settings {type(s).__name__}")


def run_convex(problem: Problem, settings: MethodSettings, recorder: Recorder,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, History]:
    """Run a variational method on a problem (``generator`` unused: they are deterministic)."""
    if not isinstance(settings, ConvexSettings):
        raise TypeError(f"expected variational settings, got {type(settings).__name__}")
    terms, data, lam = _build(problem, settings)
    rho, rho_max = settings.rho, settings.rho_max
    if settings.rho_relative:
        d = dual_norm(problem.y, lam)
        rho, rho_max = rho / d, rho_max / d
    schedule = Schedule(rho=rho, factor=settings.rho_factor, rho_max=rho_max, tol=settings.tol)
    return run_splitting(problem, terms, data, schedule, recorder)
