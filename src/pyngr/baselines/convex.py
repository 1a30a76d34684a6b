"""One splitting ADMM for the variational baselines (TV family, low-rank tensor methods).

Every variational baseline here minimises

    Σ_k w_k g_k(D_k X) + h(X)

over the image X ``(C, H, W)``, where each ``D_k`` is a stack of compositions of circular
differences (or the identity), all diagonalised by the 3-D FFT, ``g_k`` has a cheap
proximal map (ℓ1, group ℓ1, nuclear norm of an unfolding, tensor nuclear norm, projection
onto a Tucker rank), and ``h`` is the data term: the observed entries fixed (completion),
a quadratic fit (Gaussian noise), an ℓ1 fit (robust PCA) or both (mixed noise).

The ADMM (scaled form) splits ``Z_k = D_k X`` and ``W = X``:

1. X: ``(π_W I + Σ_k π_k D_kᵀD_k) X = π_W (W − U_W) + Σ_k π_k D_kᵀ(Z_k − U_k)``, exactly,
   by FFT; the relative penalties π are constant, so the symbol is computed once;
2. ``Z_k = prox_{w_k g_k / (ρ π_k)}(D_k X + U_k)``;
3. ``W = prox_{h / (ρ π_W)}(X + U_W)``;
4. ``U_k += D_k X − Z_k``, ``U_W += X − W``; ``ρ ← min(ρ_max, κ ρ)`` (duals rescaled).

It stops when both the relative change of X and the relative primal residual
``‖(D X − Z, X − W)‖ / ‖X‖`` fall below ``tol`` (a rule on the iterates only), or after the
iteration budget. Which method is which set of terms lives in
:mod:`pyngr.baselines.methods`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..operators import Axis, difference_eigenvalues, fft_solve, grad, grad_adjoint
from ..solvers import History, Recorder
from .common import Problem, soft_threshold

__all__ = [
    "DataTerm",
    "Op",
    "Schedule",
    "Term",
    "apply_op",
    "apply_op_adjoint",
    "fold",
    "group_soft_threshold",
    "op_spectrum",
    "run_splitting",
    "svt",
    "tnn_prox",
    "tucker_projection",
    "unfold",
]

Op = tuple[Axis, ...]
"""A composition of circular forward differences, applied left to right; ``()`` is I."""

Prox = Callable[[torch.Tensor, "float | torch.Tensor"], torch.Tensor]


# --------------------------------------------------------------------------- operators
def apply_op(x: torch.Tensor, op: Op) -> torch.Tensor:
    """``D x`` for a composition of differences, applied left to right."""
    for axis in op:
        x = grad(x, axis)
    return x


def apply_op_adjoint(z: torch.Tensor, op: Op) -> torch.Tensor:
    """``Dᵀ z``: the adjoints of the factors in reverse order."""
    for axis in reversed(op):
        z = grad_adjoint(z, axis)
    return z


def op_spectrum(shape: Sequence[int], op: Op, *, dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> torch.Tensor:
    """FFT symbol of ``DᵀD`` (the product of the factors' ``2 − 2cos`` eigenvalues)."""
    c, h, w = (int(s) for s in shape[-3:])
    out = torch.ones((c, h, w), dtype=dtype, device=device)
    views = {"t": (c, (c, 1, 1)), "v": (h, (1, h, 1)), "h": (w, (1, 1, w))}
    for axis in op:
        n, view = views[axis]
        out = out * difference_eigenvalues(n, dtype=dtype, device=device).view(view)
    return out


# --------------------------------------------------------------------------- proximal maps
def group_soft_threshold(v: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Prox of ``t·Σ_p ‖v[:, p]‖₂`` (groups along dim 0): isotropic TV's shrinkage."""
    norm = v.square().sum(dim=0, keepdim=True).sqrt()
    return v * torch.clamp(1 - t / norm.clamp_min(1e-12), min=0)


def svt(m: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Singular value thresholding, prox of ``t·‖·‖_*``, batched over leading dimensions."""
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    s = torch.clamp(s - t, min=0)
    return (u * s.unsqueeze(-2).to(u.dtype)) @ vh


_MODE = {"t": 0, "v": 1, "h": 2}


def unfold(x: torch.Tensor, mode: Axis) -> torch.Tensor:
    """Mode unfolding of a ``(C, H, W)`` tensor: rows indexed by ``mode``'s axis."""
    d = _MODE[mode]
    return x.movedim(d, 0).reshape(x.shape[d], -1)


def fold(m: torch.Tensor, mode: Axis, shape: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`unfold`."""
    d = _MODE[mode]
    moved = [shape[d]] + [s for i, s in enumerate(shape) if i != d]
    return m.reshape(moved).movedim(0, d)


def _dct_matrix(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Orthonormal DCT-II matrix (rows are frequencies). n ≤ a few hundred: a dense matmul
    along the channel axis is as fast as a fast transform and torch has no DCT."""
    k = torch.arange(n, dtype=torch.float64, device=device).view(-1, 1)
    i = torch.arange(n, dtype=torch.float64, device=device).view(1, -1)
    m = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.to(dtype)


def tnn_prox(x: torch.Tensor, t: float | torch.Tensor, transform: str = "fft") -> torch.Tensor:
    """Prox of ``t·‖X‖_TNN`` with the t-SVD along the channel axis.

    ``‖X‖_TNN = (1/C) Σ_k ‖L(X)_k‖_*`` with ``L`` the unnormalised DFT (Lu et al., TPAMI
    2020) or ``√C``·orthonormal DCT (Lu et al., CVPR 2019) along C; ``L(X)_k`` are the
    ``H × W`` frontal slices. In the orthonormal transform domain this is singular value
    thresholding of every slice at ``t/√C``. The DFT uses the real FFT: conjugate slices
    need no second SVD.
    """
    c = x.shape[0]
    tau = t / math.sqrt(c)
    if transform == "fft":
        f = torch.fft.rfft(x, dim=0, norm="ortho")
        return torch.fft.irfft(svt(f, tau), n=c, dim=0, norm="ortho")
    if transform == "dct":
        q = _dct_matrix(c, x.dtype, x.device)
        f = torch.einsum("kc,chw->khw", q, x)
        return torch.einsum("kc,khw->chw", q, svt(f, tau))
    raise ValueError(f"unknown transform {transform!r}; expected 'fft' or 'dct'")


def tucker_projection(x: torch.Tensor, ranks: Sequence[int]) -> torch.Tensor:
    """Truncated higher-order SVD: ``X ×_n U_n U_nᵀ`` with ``U_n`` the leading ``ranks[n]``
    left singular vectors of each unfolding (modes C, H, W), from the small Gram matrices."""
    out = x
    for mode, r in zip(("t", "v", "h"), ranks, strict=True):
        m = unfold(x, mode)  # type: ignore[arg-type]
        r = int(min(max(r, 1), m.shape[0]))
        if r == m.shape[0]:
            continue
        _, vecs = torch.linalg.eigh(m.double() @ m.double().T)
        u = vecs[:, -r:].to(x.dtype)
        out = fold(u @ (u.T @ unfold(out, mode)), mode, x.shape)  # type: ignore[arg-type]
    return out


# --------------------------------------------------------------------------- the problem
@dataclass
class Term:
    """``weight · g(D X)`` with ``D`` the stack of ``ops`` and ``g`` given by its prox.

    ``prox(v, t)`` receives ``v`` of shape ``(len(ops), C, H, W)`` and the threshold
    ``t = weight / (ρ·penalty)``; ``penalty`` is this block's ADMM penalty relative to ρ.
    ``weight`` may be a tensor broadcastable to ``(1, C, 1, 1)`` (per-channel weights).
    """

    ops: tuple[Op, ...]
    prox: Prox
    weight: float | torch.Tensor = 1.0
    penalty: float = 1.0


@dataclass
class DataTerm:
    """The data term ``h`` and its prox.

    Completion (``mask`` given): ``h`` is the indicator of ``X = Y`` on observed entries.
    Otherwise ``h(W) = min_S (β/2)‖Y − W − S‖² + λ‖S‖₁`` with ``β = fit`` and
    ``λ = sparse``: ``sparse=None`` is a plain quadratic fit (no S), ``fit=None`` the exact
    robust-PCA constraint ``Y = W + S``. ``sparse`` may be per channel ``(C, 1, 1)``.
    """

    y: torch.Tensor
    mask: torch.Tensor | None = None
    fit: float | None = 1.0
    sparse: float | torch.Tensor | None = None
    penalty: float = 1.0

    def prox(self, v: torch.Tensor, rho: float) -> torch.Tensor:
        y = self.y
        if self.mask is not None:
            return self.mask * y + (1 - self.mask) * v
        beta, lam = self.fit, self.sparse
        if lam is None:
            if beta is None:
                raise ValueError("a data term needs a quadratic fit, a sparse term or a mask")
            return (beta * y + rho * v) / (beta + rho)
        if beta is None:  # Y = W + S exactly
            return y - soft_threshold(y - v, lam / rho)
        s = soft_threshold(y - v, lam * (beta + rho) / (beta * rho))
        return (beta * (y - s) + rho * v) / (beta + rho)


@dataclass(frozen=True)
class Schedule:
    """Penalty continuation and stopping: ρ₀, ρ ← min(ρ_max, κρ), stop at relative change tol."""

    rho: float
    factor: float
    rho_max: float
    tol: float
    min_iterations: int = 10


def _initial(problem: Problem) -> torch.Tensor:
    """Denoising: Y. Completion: Y with missing entries set to their channel's observed mean."""
    y, m = problem.y, problem.mask
    if m is None:
        return y.clone()
    count = m.sum(dim=(1, 2), keepdim=True)
    mean = (y * m).sum(dim=(1, 2), keepdim=True) / count.clamp_min(1)
    mean = torch.where(count > 0, mean, (y * m).sum() / m.sum().clamp_min(1))
    return m * y + (1 - m) * mean


def run_splitting(problem: Problem, terms: Sequence[Term], data: DataTerm, schedule: Schedule,
                  recorder: Recorder) -> tuple[torch.Tensor, History]:
    """Run the splitting ADMM; return the estimate (clipped to [0, 1]) and the history.

    Completion returns the observed entries exactly; denoising returns X.
    """
    x = _initial(problem)
    shape = x.shape
    spectrum = torch.zeros(shape, dtype=x.dtype, device=x.device)
    for term in terms:
        for op in term.ops:
            spectrum = spectrum + term.penalty * op_spectrum(shape, op, dtype=x.dtype,
                                                             device=x.device)
    pw = data.penalty
    z = [torch.stack([apply_op(x, op) for op in term.ops]) for term in terms]
    u = [torch.zeros_like(zk) for zk in z]
    w = x.clone()
    uw = torch.zeros_like(x)
    rho = schedule.rho
    change = math.inf

    def estimate() -> torch.Tensor:
        out = x if problem.mask is None else problem.mask * problem.y + (1 - problem.mask) * x
        return out.clamp(0, 1)

    for k in range(1, recorder.n + 1):
        previous = x
        rhs = pw * (w - uw)
        for term, zk, uk in zip(terms, z, u, strict=True):
            for i, op in enumerate(term.ops):
                rhs = rhs + term.penalty * apply_op_adjoint(zk[i] - uk[i], op)
        x = fft_solve(rhs, pw, spectrum)
        residual = x.new_zeros(())
        for j, term in enumerate(terms):
            dx = torch.stack([apply_op(x, op) for op in term.ops])
            z[j] = term.prox(dx + u[j], term.weight / (rho * term.penalty))
            u[j] = u[j] + dx - z[j]
            residual = residual + (dx - z[j]).square().sum()
        w = data.prox(x + uw, rho * pw)
        uw = uw + x - w
        residual = residual + (x - w).square().sum()
        new_rho = min(schedule.rho_max, schedule.factor * rho)
        if new_rho != rho:
            ratio = rho / new_rho
            u = [uk * ratio for uk in u]
            uw = uw * ratio
            rho = new_rho
        scale = torch.linalg.vector_norm(previous).clamp_min(1e-12)
        change = float(max(torch.linalg.vector_norm(x - previous), residual.sqrt()) / scale)
        converged = k >= schedule.min_iterations and change < schedule.tol
        if recorder.step(k, estimate, lambda c=change: c, lambda r=rho: {"rho": r},
                         last=converged) or converged:
            break
    return recorder.finish(estimate())

