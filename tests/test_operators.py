"""Difference operators and the FFT solve against independent dense references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyngr.operators import (
    AXES,
    difference_eigenvalues,
    fft_solve,
    grad,
    grad_adjoint,
    normal_operator_spectrum,
)

SHAPES = [(3, 5, 7), (1, 4, 6), (4, 1, 5), (2, 3, 1)]


def dense(axis: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Matrix of the circular forward difference built entry by entry (no operator code)."""
    c, h, w = shape
    n = c * h * w
    mat = np.zeros((n, n))
    idx = np.arange(n).reshape(shape)
    for ci in range(c):
        for i in range(h):
            for j in range(w):
                nxt = {"h": (ci, i, (j + 1) % w), "v": (ci, (i + 1) % h, j),
                       "t": ((ci + 1) % c, i, j)}[axis]
                row = idx[ci, i, j]
                mat[row, idx[nxt]] += 1.0
                mat[row, row] -= 1.0
    return mat


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", AXES)
def test_grad_matches_dense_matrix(axis, shape):
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    want = dense(axis, shape) @ x.numpy().ravel()
    np.testing.assert_allclose(grad(x, axis).numpy().ravel(), want, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", AXES)
def test_adjoint_identity(axis, shape, generator):
    x = torch.randn(shape, dtype=torch.float64, generator=generator)
    y = torch.randn(shape, dtype=torch.float64, generator=generator)
    lhs = torch.sum(grad(x, axis) * y)
    rhs = torch.sum(x * grad_adjoint(y, axis))
    assert abs(float(lhs - rhs)) < 1e-10 * (1 + abs(float(lhs)))
    # and it is the transpose of the dense matrix
    np.testing.assert_allclose(grad_adjoint(y, axis).numpy().ravel(),
                               dense(axis, shape).T @ y.numpy().ravel(), atol=1e-12)


def test_forward_difference_convention():
    x = torch.tensor([[[0.0, 1.0, 4.0]], [[2.0, 2.0, 2.0]]])  # (C=2, H=1, W=3)
    assert grad(x, "h")[0, 0].tolist() == [1.0, 3.0, -4.0]
    assert grad(x, "t")[0, 0].tolist() == [2.0, 1.0, -2.0]
    assert grad(x, "v").abs().sum() == 0  # H = 1: the circular difference vanishes


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_eigenvalues_match_dense_spectrum(n):
    mat = dense("h", (1, 1, n))
    want = np.sort(np.linalg.eigvalsh(mat.T @ mat))
    got = np.sort(difference_eigenvalues(n, dtype=torch.float64).numpy())
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 6, 3), (1, 5, 5)])
def test_fft_solve_matches_dense_solve(shape, generator):
    weights = {"h": 1.0, "v": 0.7, "t": 5.0}
    mu = 0.37
    n = int(np.prod(shape))
    a = mu * np.eye(n)
    for axis, w in weights.items():
        d = dense(axis, shape)
        a += w * d.T @ d
    rhs = torch.randn(shape, dtype=torch.float64, generator=generator)
    want = np.linalg.solve(a, rhs.numpy().ravel()).reshape(shape)
    spec = normal_operator_spectrum(shape, weights, dtype=torch.float64)
    got = fft_solve(rhs, mu, spec)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10)


def test_fft_solve_float32_and_device(device, generator):
    shape = (3, 8, 9)
    spec = normal_operator_spectrum(shape, {"h": 1, "v": 1, "t": 0.5}, device=device)
    x = torch.randn(shape, generator=generator).to(device)
    rhs = 2.0 * x + sum(w * grad_adjoint(grad(x, a), a) for a, w in
                        (("h", 1.0), ("v", 1.0), ("t", 0.5)))
    got = fft_solve(rhs, 2.0, spec)
    assert got.dtype == torch.float32 and got.device.type == device.type
    torch.testing.assert_close(got, x, atol=1e-5, rtol=1e-5)
