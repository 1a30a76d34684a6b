"""Circular finite differences and the closed-form FFT solve of NGR's X-step.

All functions act on float tensors of shape ``(C, H, W)`` (a leading batch dimension is
allowed). Axis names follow the paper (SPEC section 1):

* ``h``: along W (columns), ``∇_h X[c, i, j] = X[c, i, j+1] - X[c, i, j]``,
* ``v``: along H (rows),
* ``t``: along C (channels, frames, bands or dates),

with circular boundaries (the last index wraps to the first). The adjoint of a forward
difference is the negated backward difference, and ``∇ᵀ∇`` along an axis of length ``N`` is
diagonalised by the FFT with eigenvalues ``2 - 2 cos(2πk/N)``.

Examples
--------
>>> import torch
>>> from pyngr.operators import grad, grad_adjoint
>>> x = torch.arange(4.0).reshape(1, 1, 4)
>>> grad(x, "h")
tensor([[[ 1.,  1.,  1., -3.]]])
>>> grad_adjoint(torch.ones(1, 1, 4), "h")
tensor([[[0., 0., 0., 0.]]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch

__all__ = [
    "AXES",
    "Axis",
    "difference_eigenvalues",
    "fft_solve",
    "grad",
    "grad_adjoint",
    "normal_operator_spectrum",
]

Axis = Literal["h", "v", "t"]
AXES: tuple[Axis, Axis, Axis] = ("h", "v", "t")
_DIM = {"h": -1, "v": -2, "t": -3}


def _dim(axis: str) -> int:
    try:
        return _DIM[axis]
    except KeyError:
        raise ValueError(f"axis must be one of 'h', 'v', 't', got {axis!r}") from None


def grad(x: torch.Tensor, axis: Axis) -> torch.Tensor:
    """Forward difference with circular boundary along ``axis`` of a ``(..., C, H, W)`` tensor."""
    d = _dim(axis)
    return torch.roll(x, shifts=-1, dims=d) - x


def grad_adjoint(y: torch.Tensor, axis: Axis) -> torch.Tensor:
    """Adjoint of :func:`grad`: ``(∇ᵀy)[k] = y[k-1] - y[k]`` (circular)."""
    d = _dim(axis)
    return torch.roll(y, shifts=1, dims=d) - y


def difference_eigenvalues(n: int, *, dtype: torch.dtype = torch.float32,
                           device: torch.device | str | None = None) -> torch.Tensor:
    """Eigenvalues ``2 - 2 cos(2πk/n)``, ``k = 0..n-1``, of ``∇ᵀ∇`` along an axis of length n.

    They equal ``|FFT([1, -1, 0, ...])|²``; for ``n == 1`` the difference is identically zero.
    """
    k = torch.arange(n, dtype=torch.float64, device=device)
    return (2.0 - 2.0 * torch.cos(2.0 * math.pi * k / n)).to(dtype)


def normal_operator_spectrum(shape: Sequence[int], weights: dict[str, float], *,
                             dtype: torch.dtype = torch.float32,
                             device: torch.device | str | None = None) -> torch.Tensor:
    """FFT symbol of ``Σ_i w_i ∇_iᵀ∇_i`` on a ``(C, H, W)`` grid, shape ``(C, H, W)``.

    Parameters
    ----------
    shape : (C, H, W)
    weights : mapping from axis name (``"h"``, ``"v"``, ``"t"``) to its weight.
    """
    c, h, w = (int(s) for s in shape[-3:])
    out = torch.zeros((c, h, w), dtype=dtype, device=device)
    sizes = {"t": (c, (c, 1, 1)), "v": (h, (1, h, 1)), "h": (w, (1, 1, w))}
    for axis, weight in weights.items():
        n, view = sizes[axis] if axis in sizes else (None, None)
        if n is None:
            raise ValueError(f"axis must be one of 'h', 'v', 't', got {axis!r}")
        out = out + float(weight) * difference_eigenvalues(n, dtype=dtype, device=device).view(view)
    return out


def fft_solve(rhs: torch.Tensor, mu: float | torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
    """Solve ``(μ I + Σ_i w_i ∇_iᵀ∇_i) X = rhs`` exactly with the 3-D FFT (paper Eq. 16).

    Parameters
    ----------
    rhs : (C, H, W) real tensor.
    mu : positive scalar (float or 0-d tensor, so that it can stay on the device).
    spectrum : output of :func:`normal_operator_spectrum` for the same grid and weights.
    """
    # The symbol is real and even, so the real-input FFT (half the last axis) is exact and
    # about twice as cheap as the complex one the reference code uses.
    width = rhs.shape[-1]
    freq = torch.fft.rfftn(rhs, dim=(-3, -2, -1))
    half = spectrum[..., : width // 2 + 1]
    return torch.fft.irfftn(freq / (half + mu), s=rhs.shape[-3:], dim=(-3, -2, -1))
