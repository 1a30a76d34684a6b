"""Engine options of the gradient network: channels-last, mixed precision, torch.compile.

Each must compute the same network (checked on one forward/backward against the default
float32 evaluation), be recorded in the settings, and run end to end.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import pyngr
from pyngr.errors import EngineWarning, InputError
from pyngr.networks import GradientNetwork
from pyngr.presets import NetworkSettings, get_settings

SMALL = NetworkSettings(width=16, depth=3, skip_channels=4, heads="separate")


def _pair(**options: object) -> tuple[GradientNetwork, GradientNetwork, torch.Tensor]:
    base = GradientNetwork(3, 24, 32, SMALL, seed=3)
    other = GradientNetwork(3, 24, 32, dataclasses.replace(SMALL, **options), seed=3)
    other.load_state_dict(base.state_dict())
    g = base.make_input(torch.Generator().manual_seed(0))
    return base, other, g


def _grads(net: GradientNetwork, g: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    net.zero_grad()
    f = net(g)
    (f * torch.linspace(-1, 1, f.numel()).reshape(f.shape)).sum().backward()
    return f.detach(), [p.grad.clone() for p in net.parameters()]


def test_channels_last_is_the_same_network() -> None:
    base, other, g = _pair(channels_last=True)
    assert any(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last)
               and not p.is_contiguous() for p in other.parameters())
    f0, g0 = _grads(base, g)
    f1, g1 = _grads(other, g)
    torch.testing.assert_close(f1, f0, atol=1e-5, rtol=1e-4)
    # summation order differs: compare each gradient against its own size
    scale = max(float(b.abs().max()) for b in g0)
    for a, b in zip(g1, g0, strict=True):
        assert float((a - b).abs().max()) < 1e-4 * scale + 1e-3 * float(b.abs().max())


def test_bfloat16_autocast_is_close_and_returns_float32() -> None:
    base, other, g = _pair(precision="bfloat16")
    f0, _ = _grads(base, g)
    f1, grads = _grads(other, g)
    assert f1.dtype == torch.float32 and all(p.dtype == torch.float32
                                             for p in other.parameters())
    err = float((f1 - f0).norm() / f0.norm())
    assert 1e-6 < err < 5e-2  # bfloat16 rounding (8 bits of mantissa), not another network
    assert all(torch.isfinite(q).all() for q in grads)


def test_options_are_validated_recorded_and_run() -> None:
    with pytest.raises(InputError, match="precision"):
        NetworkSettings(precision="float8")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="compile"):
        NetworkSettings(compile="fastest")  # type: ignore[arg-type]
    img = np.random.default_rng(0).random((24, 24, 3)).astype(np.float32)
    mask = np.random.default_rng(1).random(img.shape) < 0.5
    s = get_settings("inpaint", "fast").replace(iterations=3)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=2,
                                              channels_last=True, precision="bfloat16"))
    res = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    d = res.settings.to_dict()["network"]
    assert d["channels_last"] is True and d["precision"] == "bfloat16"
    assert type(res.settings).from_dict(res.settings.to_dict()) == res.settings
    assert np.isfinite(res.image).all()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside torch._inductor
def test_compiled_network_matches_eager() -> None:
    """torch.compile (inductor on CPU: builds C++ kernels, a minute or more)."""
    img = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    mask = np.random.default_rng(1).random(img.shape) < 0.5
    s = get_settings("inpaint", "fast").replace(iterations=1)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=2))
    eager = pyngr.inpaint(img, mask, settings=s, device="cpu")
    compiled = s.replace(network=dataclasses.replace(s.network, compile="default"))
    out = pyngr.inpaint(img, mask, settings=compiled, device="cpu")
    np.testing.assert_allclose(out, eager, atol=1e-4)
    # A second shape in the same process (a benchmark over Set5): torch would otherwise
    # recompile with symbolic shapes, which inductor fails on for this network (the run then
    # fell back to eager with an EngineWarning on the CPU, and took ~5 min on an H200).
    img2 = np.random.default_rng(2).random((24, 40, 3)).astype(np.float32)
    mask2 = np.random.default_rng(3).random(img2.shape) < 0.5
    eager2 = pyngr.inpaint(img2, mask2, settings=s, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineWarning)
        out2 = pyngr.inpaint(img2, mask2, settings=compiled, device="cpu")
    np.testing.assert_allclose(out2, eager2, atol=1e-4)


def test_compile_specialises_on_shapes(monkeypatch):
    """Each image shape gets its own static graph (see the slow test above for why)."""
    seen: list[dict] = []

    def recording_compile(fn, **kw):
        seen.append(kw)
        return fn

    monkeypatch.setattr(torch, "compile", recording_compile)
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    s = get_settings("inpaint", "fast").replace(iterations=1)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=2, compile="default"))
    pyngr.inpaint(img, np.ones((16, 16), bool), settings=s)
    assert seen == [{"mode": None, "dynamic": False}]


# ------------------------------------------------------------------ deterministic algorithms
@pytest.mark.parametrize("hw", [(5, 4), (6, 7), (1, 3)])
def test_deterministic_bilinear_matches_interpolate_forward_and_backward(hw):
    from pyngr.networks import bilinear_up2

    x = torch.rand(2, 3, *hw, dtype=torch.float64, requires_grad=True)
    g = torch.rand(2, 3, 2 * hw[0], 2 * hw[1], dtype=torch.float64)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear",
                                          align_corners=False)
    (ref_grad,) = torch.autograd.grad(ref, x, g)
    out = bilinear_up2(x)
    (grad,) = torch.autograd.grad(out, x, g)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-12)


def test_deterministic_algorithms_sets_and_restores_the_flags():
    from pyngr.networks import deterministic_algorithms

    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic,
              cudnn.benchmark)
    with pytest.raises(RuntimeError, match="inside"), deterministic_algorithms():
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert cudnn.deterministic and not cudnn.benchmark
        raise RuntimeError("inside")
    assert (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic,
            cudnn.benchmark) == before
    with deterministic_algorithms(False):
        assert torch.are_deterministic_algorithms_enabled() == before[0]


def test_deterministic_setting_changes_nothing_on_cpu():
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    mask = np.random.default_rng(1).random((16, 16)) < 0.5
    s = get_settings("inpaint", "fast").replace(iterations=3)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=2))
    det = s.replace(network=dataclasses.replace(s.network, deterministic=True))
    a = pyngr.inpaint(img * mask[..., None], mask, settings=s)
    b = pyngr.inpaint(img * mask[..., None], mask, settings=det)
    np.testing.assert_array_equal(a, b)
    assert not torch.are_deterministic_algorithms_enabled()


# ------------------------------------------------------------------ default GPU engine
def test_paper_preset_on_cuda_gets_the_fused_graph_engine_only_when_it_pays():
    from pyngr import api

    cuda, cpu = torch.device("cuda"), torch.device("cpu")  # device types only: no GPU needed
    s = api._settings_for("inpaint", "paper", None, cuda, None, None, channels=3)
    assert s.network.fused and s.network.compile == "reduce-overhead"
    plain = get_settings("inpaint", "paper", channels=3)
    assert s.replace(network=plain.network) == plain  # nothing else changes
    assert s.network == dataclasses.replace(plain.network, fused=True, compile="reduce-overhead")
    # not on the CPU, not for short runs, not for fast, not for settings the caller passed
    assert api._settings_for("inpaint", "paper", None, cpu, None, None, channels=3) == plain
    short = api._settings_for("inpaint", "paper", None, cuda, 100, None, channels=3)
    assert short.network == plain.network
    fast = api._settings_for("inpaint", "fast", None, cuda, None, None, channels=3)
    assert fast.network == get_settings("inpaint", "fast", channels=3).network
    assert api._settings_for("inpaint", None, plain, cuda, None, None, channels=3) == plain
    # the caller turns it off with an override
    off = api._resolve("ngr", "inpaint", "paper", None, cuda, (3, 32, 32), None, None,
                       overrides={"network.compile": "none"})
    assert off.network.compile == "none"


def test_a_failing_compile_falls_back_to_the_eager_network(monkeypatch):
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    mask = np.random.default_rng(1).random((16, 16)) < 0.5
    s = get_settings("inpaint", "fast").replace(iterations=3)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=2))
    eager = pyngr.inpaint(img * mask[..., None], mask, settings=s)

    def broken_compile(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("Cannot find a working triton installation\nmore lines")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    compiled = s.replace(network=dataclasses.replace(s.network, compile="default"))
    with pytest.warns(EngineWarning, match="torch.compile failed .*triton.*runs eagerly"):
        out = pyngr.inpaint(img * mask[..., None], mask, settings=compiled)
    np.testing.assert_array_equal(out, eager)
