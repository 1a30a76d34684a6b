"""DIP and S2DIP baselines (pyngr.baselines.dip) and the image network they use."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from pyngr.baselines.common import Problem
from pyngr.baselines.dip import (
    DIPSettings,
    S2DIPSettings,
    S2DIPSplitting,
    dip_defaults,
    run_dip,
    run_s2dip,
    s2dip_defaults,
    s2dip_spectrum,
    sstv,
    sstv_adjoint,
)
from pyngr.errors import InputError
from pyngr.networks import ImageNetwork
from pyngr.operators import fft_solve, grad
from pyngr.presets import NetworkSettings
from pyngr.solvers import Recorder

TINY = NetworkSettings(width=8, depth=2, skip_channels=2, upsample="bilinear",
                       input_channels=4, input_noise=0.03)
SMALL = NetworkSettings(width=16, depth=3, skip_channels=4, upsample="bilinear",
                        input_channels=8, input_noise=1 / 30)


def smooth_image(c: int = 3, h: int = 32, w: int = 32) -> torch.Tensor:
    """A smooth test image in [0.25, 0.75] whose bands differ."""
    i = torch.linspace(0, 1, h).view(1, h, 1)
    j = torch.linspace(0, 1, w).view(1, 1, w)
    k = torch.linspace(0, 1, c).view(c, 1, 1)
    x = 0.5 + 0.25 * torch.sin(2 * math.pi * (i + 0.5 * j) + k) * torch.cos(math.pi * j * (1 + k))
    return x.float()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10((a - b).square().mean()))


def make_problem(kind: str, c: int = 3, hw: int = 24, seed: int = 0) -> Problem:
    g = torch.Generator().manual_seed(seed)
    x = smooth_image(c, hw, hw)
    if kind == "inpaint":
        mask = (torch.rand(x.shape, generator=g) < 0.5).float()
        return Problem(x * mask, mask)
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    if kind == "mixed":
        impulse = torch.rand(x.shape, generator=g) < 0.1
        y = torch.where(impulse, (torch.rand(x.shape, generator=g) < 0.5).float(), y)
    return Problem(y.clamp(0, 1), noise="mixed" if kind == "mixed" else "gaussian")


def settings_for(method: str, kind: str, iterations: int, network: NetworkSettings):
    task = "inpaint" if kind == "inpaint" else "denoise"
    noise = None if kind == "inpaint" else kind
    if method == "dip":
        s = dip_defaults(task, 3, noise)
        net = dataclasses.replace(network, output="sigmoid")
    else:
        s = s2dip_defaults(task, 3, noise)
        net = dataclasses.replace(network, output="linear", input_channels=None)
    return s.replace(iterations=iterations, network=net)


RUNS = {"dip": run_dip, "s2dip": run_s2dip}


def run(method: str, problem: Problem, settings, *, generator_seed: int = 0, **rec):
    recorder = Recorder(settings.iterations, device=problem.y.device, **rec)
    gen = torch.Generator(device=problem.y.device).manual_seed(generator_seed)
    return RUNS[method](problem, settings, recorder, gen)


# ---------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("method", ["dip", "s2dip"])
@pytest.mark.parametrize("kind", ["inpaint", "gaussian", "mixed"])
def test_runs_end_to_end(method, kind):
    p = make_problem(kind)
    s = settings_for(method, kind, 4, TINY)
    out, history = run(method, p, s, monitor_every=2)
    assert out.shape == p.y.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert history.iterations == s.iterations == 4
    assert [r["iteration"] for r in history.records] == [2, 4]
    assert all(math.isfinite(v) for v in history.column("loss"))
    if kind == "inpaint":
        assert p.mask is not None
        assert torch.equal(out * p.mask, p.y * p.mask)  # observed entries kept exactly


@pytest.mark.parametrize("method", ["dip", "s2dip"])
def test_multi_tensor_adam_gives_the_per_tensor_result(method, request):
    """The baselines ask for Adam's multi-tensor path (torch's default on CUDA only); on
    the CPU it must give the bitwise result of the per-tensor path earlier versions used."""
    p = make_problem("inpaint")
    s = settings_for(method, "inpaint", 8, TINY)
    fast, _ = run(method, p, s)
    asked = request.getfixturevalue("per_tensor_adam")  # from here on: per-tensor Adam
    slow, _ = run(method, p, s)
    assert asked == [True] and torch.equal(fast, slow)


@pytest.mark.parametrize("method", ["dip", "s2dip"])
def test_same_seed_same_output_other_seed_other_output(method):
    p = make_problem("mixed")
    s = settings_for(method, "mixed", 3, TINY)
    state = torch.random.get_rng_state()
    a, _ = run(method, p, s)
    b, _ = run(method, p, s)
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    c, _ = run(method, p, s.replace(seed=s.seed + 1))  # other weights
    d, _ = run(method, p, s, generator_seed=1)  # other input and perturbations
    assert not torch.equal(a, c) and not torch.equal(a, d)


@pytest.mark.parametrize("method", ["dip", "s2dip"])
def test_callback_stops_early_and_recorder_sees_iterations(method):
    p = make_problem("inpaint")
    s = settings_for(method, "inpaint", 10, TINY)
    seen: list[int] = []

    def stop_at_3(info):
        seen.append(info.iteration)
        return info.iteration >= 3

    _, history = run(method, p, s, monitor_every=1, callbacks=(stop_at_3,))
    assert seen == [1, 2, 3]
    assert history.iterations == 3 and history.stopped_early


def test_zero_iterations_give_the_untrained_output():
    p = make_problem("inpaint")
    for method in RUNS:
        out, history = run(method, p, settings_for(method, "inpaint", 0, TINY))
        assert out.shape == p.y.shape and history.iterations == 0
        assert torch.equal(out * p.mask, p.y * p.mask)


# ---------------------------------------------------------------------------- they fit


def test_dip_fits_the_observed_entries():
    """200 Adam steps of a small skip net cut the masked loss by well over 10×.

    Measured: about 1e-2 at iteration 1 to about 1e-4 at iteration 200 (ratio ~100).
    """
    x = smooth_image(3, 32, 32)
    mask = (torch.rand(x.shape, generator=torch.Generator().manual_seed(3)) < 0.5).float()
    s = settings_for("dip", "inpaint", 200, SMALL)
    out, history = run("dip", Problem(x * mask, mask), s, monitor_every=1)
    loss = history.column("loss")
    assert len(loss) == 200
    first, last = sum(loss[:5]) / 5, sum(loss[-5:]) / 5
    assert last < first / 20
    assert psnr(out, x) > 30  # measured ~40 dB: the missing half is filled in smoothly


def test_s2dip_denoises_gaussian_noise():
    """S2DIP beats the noisy input by a clear margin (σ = 0.1, smooth 4-band image).

    Measured: noisy 19.9 dB, S2DIP (200 iterations, EMA 0.9) about 24.5 dB.
    """
    x = smooth_image(4, 32, 32)
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    p = Problem(y, noise="gaussian")
    s = settings_for("s2dip", "gaussian", 200, SMALL).replace(ema=0.9)
    out, _ = run("s2dip", p, s, generator_seed=1)
    noisy = psnr(y.clamp(0, 1), x)
    assert psnr(out, x) > noisy + 2.5


# ---------------------------------------------------------------------------- the ADMM pieces


def _dense(op, shape: tuple[int, int, int]) -> torch.Tensor:
    """Matrix of a linear map on (C, H, W) float64 tensors, column by column."""
    n = math.prod(shape)
    cols = [op(torch.eye(n, dtype=torch.float64)[i].reshape(shape)).reshape(-1) for i in range(n)]
    return torch.stack(cols, dim=1)


def test_sstv_adjoint_identity():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 6, 7, generator=g, dtype=torch.float64)
    y = torch.randn(2, 5, 6, 7, generator=g, dtype=torch.float64)
    lhs, rhs = float((sstv(x) * y).sum()), float((x * sstv_adjoint(y)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)
    lhs = float((S2DIPSplitting.tv_op(x) * y).sum())
    assert lhs == pytest.approx(float((x * S2DIPSplitting.tv_adjoint(y)).sum()), rel=1e-12)
    # SSTV vanishes on images whose bands differ by constants; it is ∇_h∇_t, ∇_v∇_t
    base = torch.randn(1, 6, 7, generator=g, dtype=torch.float64)
    assert sstv(base + torch.arange(5.0, dtype=torch.float64).view(5, 1, 1)).abs().max() < 1e-12
    assert torch.allclose(sstv(x)[0], grad(grad(x, "t"), "h"))


@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 4, 4), (4, 2, 6)])
def test_x_step_solves_its_normal_equations_exactly(shape):
    mu, b1, b2 = 0.3, 0.7, 2.5
    dh, dv, dt = (_dense(lambda v, a=a: grad(v, a), shape) for a in ("h", "v", "t"))
    n = math.prod(shape)
    a = (mu * torch.eye(n, dtype=torch.float64) + b1 * (dh.T @ dh + dv.T @ dv)
         + b2 * ((dh @ dt).T @ (dh @ dt) + (dv @ dt).T @ (dv @ dt)))
    rhs = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    dense = torch.linalg.solve(a, rhs.reshape(-1)).reshape(shape)
    spectrum = s2dip_spectrum(shape, b1, b2, dtype=torch.float64)
    assert torch.allclose(fft_solve(rhs, mu, spectrum), dense, atol=1e-10)


def test_x_step_minimises_the_augmented_lagrangian_in_x():
    """The update's X zeroes the gradient of the X-terms (rhs assembly and solve together)."""
    g = torch.Generator().manual_seed(2)
    y = torch.rand(3, 6, 8, generator=g, dtype=torch.float64)
    s = s2dip_defaults("denoise", 3, "mixed").replace(mu=0.5, sstv_penalty_scale=4.0)
    split = S2DIPSplitting(Problem(y, noise="mixed"), s, torch.rand(y.shape, generator=g,
                                                                    dtype=torch.float64))
    split.v = [torch.randn(v.shape, generator=g, dtype=torch.float64) for v in split.v]
    split.mult = [torch.randn(v.shape, generator=g, dtype=torch.float64) for v in split.mult]
    split.gamma = torch.randn(y.shape, generator=g, dtype=torch.float64)
    f = torch.rand(y.shape, generator=g, dtype=torch.float64)
    x_star = fft_solve(split.x_rhs(f), split.mu, split.spectrum).requires_grad_(True)
    (grad_x,) = torch.autograd.grad(split.x_objective(x_star, f), x_star)
    assert float(grad_x.abs().max()) < 1e-10
    split.update(f)
    assert torch.allclose(split.x, x_star.detach(), atol=1e-12)


def test_sparse_term_only_for_mixed_denoising():
    y = torch.rand(2, 5, 5)
    f0 = torch.zeros_like(y)
    s = s2dip_defaults("denoise", 2, "mixed")
    mixed = S2DIPSplitting(Problem(y, noise="mixed"), s, f0)
    assert mixed.sparse and mixed.s is not None
    assert torch.equal(mixed.s, torch.clamp(y - s.sparse_weight, min=0))
    assert S2DIPSplitting(Problem(y, noise="gaussian"), s, f0).s is None
    assert S2DIPSplitting(Problem(y, torch.ones_like(y)), s, f0).s is None


# ---------------------------------------------------------------------------- settings


def test_defaults_follow_the_official_code():
    d = dip_defaults("denoise", 3, "gaussian")
    assert (d.method, d.iterations, d.lr, d.ema) == ("dip", 3000, 0.01, 0.99)
    n = d.network
    assert (n.width, n.depth, n.skip_channels, n.upsample, n.pad, n.output) == (
        128, 5, 4, "bilinear", "reflection", "sigmoid")
    assert (n.input_channels, n.input_scale) == (32, 0.1)
    assert n.input_noise == pytest.approx(1 / 30)
    i = dip_defaults("inpaint", 3)
    assert (i.iterations, i.ema, i.network.skip_channels, i.network.upsample) == (
        6000, 0.0, 128, "nearest")
    assert i.network.input_noise == 0.03
    assert dip_defaults("decloud", 8) == dataclasses.replace(i, task="decloud")
    s = s2dip_defaults("denoise", 31, "mixed")
    assert (s.method, s.iterations, s.lr, s.ema) == ("s2dip", 7000, 0.005, 0.99)
    assert (s.sparse_weight, s.tv_weight, s.sstv_weight, s.mu, s.sstv_penalty_scale) == (
        0.02, 0.012, 0.12, 0.12, 10.0)
    # the official soft-thresholds: 0.1 for both TV and SSTV splits
    assert s.tv_weight / s.mu == pytest.approx(0.1)
    assert s.sstv_weight / (s.sstv_penalty_scale * s.mu) == pytest.approx(0.1)
    assert (s.network.depth, s.network.output, s.network.input_channels,
            s.network.conv1x1_up, s.network.input_noise) == (4, "linear", None, False, 0.01)
    assert s2dip_defaults("inpaint", 31).ema == 0.0


@pytest.mark.parametrize("defaults", [dip_defaults, s2dip_defaults])
def test_defaults_reject_unknown_task_or_noise(defaults):
    with pytest.raises(InputError):
        defaults("deblur", 3, None)
    with pytest.raises(InputError):
        defaults("denoise", 3, "poisson")


@pytest.mark.parametrize("cls,defaults", [(DIPSettings, dip_defaults),
                                          (S2DIPSettings, s2dip_defaults)])
def test_settings_round_trip_through_dict(cls, defaults):
    s = defaults("denoise", 3, "mixed").replace(iterations=7, seed=5)
    assert cls.from_dict(s.to_dict()) == s
    assert '"iterations": 7' in s.to_json()
    with pytest.raises(InputError):
        cls.from_dict({**s.to_dict(), "bogus": 1})


# ---------------------------------------------------------------------------- image network


@pytest.mark.parametrize("hw", [(24, 24), (3, 5), (1, 1), (9, 40)])
def test_image_network_any_size(hw):
    s = dataclasses.replace(TINY, output="sigmoid")
    net = ImageNetwork(3, *hw, settings=s, seed=0)
    z = net.make_input(torch.Generator().manual_seed(0))
    assert z.shape == (1, 4, *net.grid)
    out = net(z).detach()
    assert out.shape == (3, *hw)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_image_network_seeded_without_touching_global_rng():
    state = torch.random.get_rng_state()
    a, b, c = (ImageNetwork(3, 16, 16, TINY, seed=s) for s in (4, 4, 5))
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (torch.cat([p.flatten() for p in n.parameters()]) for n in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert a.input_channels == 4
    own = ImageNetwork(5, 16, 16, dataclasses.replace(TINY, input_channels=None))
    assert own.input_channels == 5


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["dip", "s2dip"])
def test_runs_on_cuda(method):
    p = make_problem("inpaint")
    p = Problem(p.y.cuda(), p.mask.cuda())
    # deterministic: two CUDA runs repeat exactly (without it cuDNN's choices and atomic
    # additions made them differ, H100 2026-11-26)
    s = settings_for(method, "inpaint", 3, dataclasses.replace(TINY, deterministic=True))
    out, history = run(method, p, s)
    assert out.device.type == "cuda" and history.device.startswith("cuda")
    assert torch.equal(out * p.mask, p.y * p.mask)
    again, _ = run(method, p, s)
    assert torch.equal(out, again)
