"""Variational baselines and BM3D: operators, proximal maps and known-answer problems.

References are independent of the code under test: dense matrices of the difference
operators, NumPy/SciPy SVDs and transforms, a dual projected-gradient TV solver written here
with dense matrices, and exactly low-rank tensors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from pyngr.baselines import (
    METHODS,
    available_methods,
    default_settings,
    get_method,
    settings_from_dict,
)
from pyngr.baselines.common import Problem, estimate_noise, soft_threshold
from pyngr.baselines.convex import (
    apply_op,
    apply_op_adjoint,
    fold,
    op_spectrum,
    svt,
    tnn_prox,
    tucker_projection,
    unfold,
)
from pyngr.baselines.methods import convex_defaults, run_convex
from pyngr.errors import InputError, PyngrError
from pyngr.operators import fft_solve
from pyngr.solvers import Recorder

torch.set_default_dtype(torch.float32)
OPS = [("h",), ("v",), ("t",), ("h", "t"), ("v", "t"), ()]


def _dense(op: tuple[str, ...], shape: tuple[int, int, int]) -> np.ndarray:
    """Dense matrix of a difference composition, column by column from basis tensors."""
    n = math.prod(shape)
    cols = []
    for i in range(n):
        e = torch.zeros(n, dtype=torch.float64)
        e[i] = 1
        cols.append(apply_op(e.reshape(shape), op).reshape(-1).numpy())  # type: ignore[arg-type]
    return np.stack(cols, axis=1)


def _run(method: str, problem: Problem, task: str, **changes: object) -> torch.Tensor:
    s = convex_defaults(method, task, problem.shape, problem.noise).replace(**changes)
    est, _ = run_convex(problem, s, Recorder(s.iterations))
    return est


# --------------------------------------------------------------------------- operators
@pytest.mark.parametrize("op", OPS)
def test_op_adjoint_identity(op: tuple[str, ...]) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn((3, 5, 4), generator=g, dtype=torch.float64)
    y = torch.randn((3, 5, 4), generator=g, dtype=torch.float64)
    lhs = (apply_op(x, op) * y).sum()  # type: ignore[arg-type]
    rhs = (x * apply_op_adjoint(y, op)).sum()  # type: ignore[arg-type]
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12, abs=1e-12)


def test_op_spectrum_and_fft_solve_match_dense_solve() -> None:
    shape = (3, 4, 5)
    ops = [("h",), ("v",), ("h", "t"), ("v", "t")]
    weights = [1.0, 0.7, 0.3, 2.0]
    a = 0.5 * np.eye(math.prod(shape))
    spec = torch.zeros(shape, dtype=torch.float64)
    for op, w in zip(ops, weights, strict=True):
        d = _dense(op, shape)
        a += w * d.T @ d
        spec += w * op_spectrum(shape, op, dtype=torch.float64)  # type: ignore[arg-type]
    b = np.random.default_rng(0).standard_normal(math.prod(shape))
    ref = np.linalg.solve(a, b)
    ours = fft_solve(torch.from_numpy(b).reshape(shape), 0.5, spec).reshape(-1).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_unfold_fold_roundtrip_and_layout() -> None:
    x = torch.arange(24.0).reshape(2, 3, 4)
    for mode in ("t", "v", "h"):
        m = unfold(x, mode)  # type: ignore[arg-type]
        assert m.shape[0] == {"t": 2, "v": 3, "h": 4}[mode]
        assert torch.equal(fold(m, mode, x.shape), x)  # type: ignore[arg-type]
    # row i of the H-unfolding holds exactly the entries with row index i
    assert set(unfold(x, "v")[1].tolist()) == set(x[:, 1, :].reshape(-1).tolist())


# --------------------------------------------------------------------------- proximal maps
def test_soft_threshold_and_svt_against_numpy() -> None:
    rng = np.random.default_rng(1)
    m = rng.standard_normal((7, 5))
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    ref = (u * np.maximum(s - 1.0, 0)) @ vt
    np.testing.assert_allclose(svt(torch.from_numpy(m), 1.0).numpy(), ref, atol=1e-12)
    v = torch.tensor([-3.0, -0.5, 0.0, 0.2, 2.0])
    assert soft_threshold(v, 1.0).tolist() == [-2.0, -0.0, 0.0, 0.0, 1.0]


def _svt_np(m: np.ndarray, t: float) -> np.ndarray:
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    return (u * np.maximum(s - t, 0)) @ vt


def test_tnn_prox_fft_matches_lu_definition() -> None:
    # Lu et al.: unnormalised DFT along the third mode, SVT of every slice at t, inverse DFT.
    x = np.random.default_rng(2).standard_normal((5, 6, 4))
    f = np.fft.fft(x, axis=0)
    ref = np.real(np.fft.ifft(np.stack([_svt_np(s, 0.8) for s in f]), axis=0))
    ours = tnn_prox(torch.from_numpy(x), 0.8, "fft").numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_tnn_prox_dct_matches_lu_definition() -> None:
    # Lu, Peng, Wei (CVPR 2019): L = sqrt(C)·orthonormal DCT, SVT at t, L⁻¹ = Lᵀ / C.
    x = np.random.default_rng(3).standard_normal((6, 5, 4))
    c = x.shape[0]
    f = math.sqrt(c) * scipy.fft.dct(x, axis=0, norm="ortho")
    g = np.stack([_svt_np(s, 0.8) for s in f])
    ref = scipy.fft.idct(g / math.sqrt(c), axis=0, norm="ortho")
    ours = tnn_prox(torch.from_numpy(x), 0.8, "dct").numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_tucker_projection_keeps_low_rank_and_truncates() -> None:
    g = torch.Generator().manual_seed(4)
    core = torch.randn((2, 3, 2), generator=g, dtype=torch.float64)
    us = [torch.randn((n, r), generator=g, dtype=torch.float64)
          for n, r in ((6, 2), (8, 3), (7, 2))]
    x = torch.einsum("abc,ia,jb,kc->ijk", core, *us)
    torch.testing.assert_close(tucker_projection(x, (2, 3, 2)), x, atol=1e-9, rtol=0)
    noisy = x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    p = tucker_projection(noisy, (2, 3, 2))
    for mode, r in zip(("t", "v", "h"), (2, 3, 2), strict=True):
        assert int(torch.linalg.matrix_rank(unfold(p, mode))) == r  # type: ignore[arg-type]
    assert float((p - x).norm()) < float((noisy - x).norm())


def test_estimate_noise_recovers_sigma() -> None:
    g = torch.Generator().manual_seed(5)
    y = 0.5 + torch.tensor([0.02, 0.1, 0.2]).view(3, 1, 1) * torch.randn((3, 128, 128),
                                                                          generator=g)
    est = estimate_noise(y).flatten()
    torch.testing.assert_close(est, torch.tensor([0.02, 0.1, 0.2]), rtol=0.08, atol=0)


# --------------------------------------------------------------------------- TV: dense reference
def _tv_dual_reference(y: np.ndarray, tau: float, isotropic: bool) -> np.ndarray:
    """ROF with circular differences by projected gradient on the dual (dense matrices):
    x = y − Dᵀp, p in the τ-ball (per entry, or per pixel for isotropic TV)."""
    shape = y.shape
    d = np.vstack([_dense(("h",), shape), _dense(("v",), shape)])
    n = y.size
    p = np.zeros(2 * n)
    step = 1.0 / 8.0  # 1/‖D‖², ‖D‖² ≤ 8 for 2-D differences
    yv = y.reshape(-1)
    for _ in range(30000):
        p = p + step * (d @ (yv - d.T @ p))
        if isotropic:
            pp = p.reshape(2, n)
            norm = np.maximum(np.sqrt((pp**2).sum(0)) / tau, 1)
            p = (pp / norm).reshape(-1)
        else:
            p = np.clip(p, -tau, tau)
    return (yv - d.T @ p).reshape(shape)


@pytest.mark.parametrize("isotropic", [False, True])
def test_tv_denoising_matches_dense_dual_solver(isotropic: bool) -> None:
    y = np.random.default_rng(6).random((1, 6, 7))
    ref = _tv_dual_reference(y, 0.12, isotropic)
    prob = Problem(torch.from_numpy(y), None, "gaussian")
    est = _run("tv", prob, "denoise", weight=0.12, isotropic=isotropic, iterations=5000,
               tol=1e-12, rho=0.5)
    np.testing.assert_allclose(est.numpy(), np.clip(ref, 0, 1), atol=2e-5)


def test_tv_inpainting_recovers_piecewise_constant_image() -> None:
    x = torch.full((2, 16, 16), 0.2, dtype=torch.float64)
    x[:, :, 8:] = 0.8
    x[1] = 1 - x[1]
    g = torch.Generator().manual_seed(7)
    m = (torch.rand((1, 16, 16), generator=g) < 0.6).to(x.dtype).expand(2, 16, 16).clone()
    m[:, :, (0, 7, 8, 15)] = 1  # the edges' columns observed: the TV minimiser is unique
    est = _run("tv", Problem(x * m, m), "inpaint", iterations=3000, tol=1e-10)
    assert float((est - x).abs().max()) < 1e-3


def test_tv_family_denoising_beats_the_noisy_input() -> None:
    g = torch.Generator().manual_seed(8)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    clean = torch.stack([0.3 + 0.4 * (xx > 0.5).float() + 0.03 * k * yy for k in range(4)])
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g)

    def err(a: torch.Tensor) -> float:
        return float((a.clamp(0, 1) - clean).square().mean())

    for method in ("tv", "tv3d", "sstv"):
        est = _run(method, Problem(noisy, None, "gaussian"), "denoise")
        assert err(est) < 0.4 * err(noisy), method


def test_mixed_noise_sparse_term_removes_impulses() -> None:
    g = torch.Generator().manual_seed(9)
    clean = torch.full((3, 32, 32), 0.5)
    clean[:, 8:24, 8:24] = 0.7
    noisy = clean + 0.03 * torch.randn(clean.shape, generator=g)
    salt = torch.rand(clean.shape, generator=g) < 0.15
    noisy[salt] = torch.randint(0, 2, (int(salt.sum()),), generator=g).float()
    mixed = _run("tv", Problem(noisy, None, "mixed"), "denoise")
    gauss = _run("tv", Problem(noisy, None, "gaussian"), "denoise")
    assert float((mixed - clean).abs().mean()) < 0.5 * float((gauss - clean).abs().mean())


# --------------------------------------------------------------------------- low-rank known answers
def _low_rank(shape: tuple[int, int, int], rank: int, smooth: bool, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    c = shape[0]
    if smooth:
        t = [torch.linspace(0, 1, n, dtype=torch.float64) for n in shape]
        f = [torch.stack([torch.cos(math.pi * (k + 1) * ti + 0.3 * k) for k in range(rank)])
             for ti in t]
        f[0] = torch.rand((rank, c), generator=g, dtype=torch.float64)
    else:
        f = [torch.rand((rank, n), generator=g, dtype=torch.float64) for n in shape]
    x = torch.einsum("rc,rh,rw->chw", *f)
    return (x - x.min()) / (x.max() - x.min())


@pytest.mark.parametrize("method", ["halrtc", "tnn-fft", "tnn-dct"])
def test_low_rank_completion_recovers_exactly(method: str) -> None:
    x = _low_rank((8, 30, 30), 2, smooth=False, seed=10)
    m = (torch.rand(x.shape, generator=torch.Generator().manual_seed(11)) < 0.5).to(x.dtype)
    est = _run(method, Problem(x * m, m), "inpaint", tol=1e-9)
    assert float((est - x).norm() / x.norm()) < 5e-3


def test_tctv_completion_recovers_smooth_low_rank_tensor() -> None:
    x = _low_rank((6, 30, 30), 2, smooth=True, seed=12)
    m = (torch.rand(x.shape, generator=torch.Generator().manual_seed(13)) < 0.5).to(x.dtype)
    est = _run("tctv", Problem(x * m, m), "inpaint", tol=1e-9)
    assert float((est - x).norm() / x.norm()) < 1e-2


@pytest.mark.parametrize("method", ["ctv", "tctv", "tnn-fft"])
def test_robust_pca_methods_separate_sparse_corruption(method: str) -> None:
    x = _low_rank((10, 32, 32), 2, smooth=True, seed=14)
    g = torch.Generator().manual_seed(15)
    corrupt = torch.rand(x.shape, generator=g, dtype=torch.float64) < 0.1
    y = x.clone()
    y[corrupt] = torch.rand(int(corrupt.sum()), generator=g, dtype=torch.float64)
    est = _run(method, Problem(y, None, "mixed"), "denoise")
    assert float((est - x).norm() / x.norm()) < 0.2 * float((y - x).norm() / x.norm())


def test_lrtdtv_removes_mixed_noise_from_low_rank_cube() -> None:
    x = _low_rank((12, 32, 32), 3, smooth=True, seed=16)
    g = torch.Generator().manual_seed(17)
    y = x + 0.05 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    salt = torch.rand(x.shape, generator=g) < 0.1
    y[salt] = 1.0
    est = _run("lrtdtv", Problem(y, None, "mixed"), "denoise", spectral_rank=3)
    assert float((est - x).norm()) < 0.35 * float((y - x).norm())


def test_convex_run_stops_on_tolerance_and_records() -> None:
    x = _low_rank((4, 16, 16), 1, smooth=False, seed=18)
    m = (torch.rand(x.shape, generator=torch.Generator().manual_seed(19)) < 0.6).to(x.dtype)
    s = convex_defaults("halrtc", "inpaint", x.shape, None).replace(iterations=2000, tol=1e-5)
    est, hist = run_convex(Problem(x * m, m), s, Recorder(s.iterations, monitor_every=5))
    assert hist.iterations < 2000
    assert hist.records[-1]["iteration"] == hist.iterations
    assert torch.equal(est[m.bool()], x[m.bool()].clamp(0, 1))


# --------------------------------------------------------------------------- registry
def test_registry_tasks_and_errors() -> None:
    assert "halrtc" in available_methods("inpaint")
    assert "halrtc" not in available_methods("denoise")
    assert set(available_methods()) == set(METHODS)
    with pytest.raises(InputError, match="unknown method"):
        get_method("nope")
    with pytest.raises(InputError, match="does not do denoise"):
        get_method("halrtc", "denoise")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_settings_roundtrip_through_dict(name: str) -> None:
    task = METHODS[name].tasks[-1]
    s = default_settings(name, task, (4, 24, 24), "mixed" if task == "denoise" else None)
    assert s.method == name and s.task == task and s.iterations >= 1
    again = settings_from_dict(s.to_dict())
    assert again == s


def test_bm3d_denoises_or_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyngr.baselines import bm3d as wrapper

    g = torch.Generator().manual_seed(20)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 40), indexing="ij")
    clean = torch.stack([0.2 + 0.6 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.1).float()] * 2)
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g)
    s = default_settings("bm3d", "denoise", (2, 40, 40), "gaussian")
    prob = Problem(noisy, None, "gaussian")
    try:
        import bm3d  # noqa: F401
    except ImportError:
        with pytest.raises(PyngrError, match="pip install"):
            wrapper.run_bm3d(prob, s, Recorder(s.iterations))
        return
    est, hist = wrapper.run_bm3d(prob, s, Recorder(s.iterations))
    assert hist.iterations == 2
    assert float((est - clean).square().mean()) < 0.2 * float((noisy - clean).square().mean())

    def missing(*_: object) -> object:
        raise PyngrError("method 'bm3d' needs the optional bm3d package: pip install x")

    monkeypatch.setattr(wrapper, "_import_bm3d", missing)
    with pytest.raises(PyngrError, match="pip install"):
        wrapper.run_bm3d(prob, s, Recorder(s.iterations))
