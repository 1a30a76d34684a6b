"""Grouped (fused) evaluation of the three gradient networks equals separate evaluation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from pyngr.fusion import can_fuse, fused_forward
from pyngr.networks import GradientNetwork, SkipNet
from pyngr.presets import NetworkSettings, get_settings


@pytest.mark.parametrize("settings", [
    NetworkSettings(width=8, depth=3),
    NetworkSettings(width=6, depth=2, skip_channels=0, upsample="bilinear", pad="zeros"),
    NetworkSettings(width=5, depth=3, conv1x1_up=False, skip_channels=2),
])
def test_fused_forward_equals_separate_networks_and_their_gradients(settings) -> None:
    # float64: the two evaluations then agree to rounding (BatchNorm over the few pixels of
    # the deepest scale amplifies float32 rounding).
    torch.manual_seed(0)
    nets = [SkipNet(4, 3, settings).double() for _ in range(3)]
    x = torch.rand(1, 4, 19, 23, dtype=torch.float64)
    sep = torch.cat([n(x) for n in nets], dim=1)
    fus = fused_forward(nets, x)
    torch.testing.assert_close(fus, sep, atol=1e-10, rtol=1e-9)
    w = torch.randn_like(sep)
    g_sep = torch.autograd.grad((sep * w).sum(), [p for n in nets for p in n.parameters()])
    g_fus = torch.autograd.grad((fus * w).sum(), [p for n in nets for p in n.parameters()])
    for a, b in zip(g_sep, g_fus, strict=True):
        torch.testing.assert_close(b, a, atol=1e-9, rtol=1e-8)


def test_fused_gradient_network_same_model_same_output() -> None:
    base = NetworkSettings(width=8, depth=3)
    plain = GradientNetwork(3, 20, 24, base, seed=1)
    fused = GradientNetwork(3, 20, 24, dataclasses.replace(base, fused=True), seed=1)
    assert plain.state_dict().keys() == fused.state_dict().keys()
    for k, v in plain.state_dict().items():
        assert torch.equal(v, fused.state_dict()[k])
    g = plain.make_input(torch.Generator().manual_seed(0))
    torch.testing.assert_close(fused(g), plain(g), atol=1e-5, rtol=1e-4)
    assert can_fuse(plain.nets)


def test_fused_ngr_run_matches_separate_run_closely() -> None:
    import numpy as np

    import pyngr

    rng = np.random.default_rng(0)
    img = rng.random((24, 24, 3)).astype(np.float32)
    mask = rng.random((24, 24, 3)) < 0.5
    s = get_settings("inpaint", "paper").replace(iterations=5)
    s = s.replace(network=dataclasses.replace(s.network, width=8, depth=3))
    a = pyngr.inpaint(img, mask, settings=s, device="cpu")
    b = pyngr.inpaint(img, mask, device="cpu",
                      settings=s.replace(network=dataclasses.replace(s.network, fused=True)))
    # float32 rounding differences, amplified by Adam's normalised first steps, stay small
    assert np.abs(a - b).mean() < 1e-3


def test_unsupported_backbones_fall_back() -> None:
    s = NetworkSettings(width=4, depth=2, architecture="plain", fused=True)
    net = GradientNetwork(2, 12, 12, s, seed=0)
    assert not can_fuse(net.nets)
    assert net(net.make_input(torch.Generator().manual_seed(0))).shape == (3, 2, 12, 12)
