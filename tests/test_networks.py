"""The skip encoder-decoder and the gradient network."""

from __future__ import annotations

import pytest
import torch

from pyngr.networks import GradientNetwork, SkipNet
from pyngr.presets import NetworkSettings

SMALL = NetworkSettings(width=8, depth=3, skip_channels=2)


@pytest.mark.parametrize("hw", [(16, 16), (17, 23), (9, 40), (3, 5), (1, 1)])
@pytest.mark.parametrize("heads", ["separate", "shared"])
def test_any_size_gives_maps_of_image_size(hw, heads):
    s = NetworkSettings(width=8, depth=3, skip_channels=2, heads=heads)
    net = GradientNetwork(4, *hw, settings=s, seed=0)
    f = net(net.make_input(torch.Generator().manual_seed(0)))
    assert f.shape == (3, 4, *hw)
    assert torch.isfinite(f).all()


def test_skipnet_is_a_real_encoder_decoder():
    net = SkipNet(3, 5, SMALL)
    x = torch.rand(1, 3, 32, 32)
    assert net(x).shape == (1, 5, 32, 32)
    # every parameter receives gradient: the deepest scale and the skips are wired in
    net(x).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_paper_network_size():
    """Three 5-scale 128-channel skip networks, as the reference configuration."""
    net = GradientNetwork(3, 64, 64, NetworkSettings(), seed=0)
    assert len(net.nets) == 3
    convs = [m for m in net.nets[0].modules() if isinstance(m, torch.nn.Conv2d)]
    # per scale: skip 1x1, down 3x3 (stride 2), 3x3, up 3x3, 1x1 -> 5 convs; plus the head
    assert len(convs) == 5 * 5 + 1
    assert convs[1].stride == (2, 2) and convs[1].out_channels == 128
    ups = [m for m in net.modules() if isinstance(m, torch.nn.Upsample)]
    assert ups and all(u.mode == "nearest" for u in ups)


def test_seed_controls_init_without_touching_global_rng():
    state = torch.random.get_rng_state()
    a = GradientNetwork(3, 16, 16, SMALL, seed=5)
    b = GradientNetwork(3, 16, 16, SMALL, seed=5)
    c = GradientNetwork(3, 16, 16, SMALL, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (torch.cat([p.flatten() for p in n.parameters()]) for n in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_input_is_uniform_in_scale():
    net = GradientNetwork(6, 40, 40, NetworkSettings(width=8, depth=3, input_scale=0.1))
    g = net.make_input(torch.Generator().manual_seed(0))
    assert g.shape == (1, 6, 40, 40)
    assert 0 <= float(g.min()) and float(g.max()) < 0.1
    assert abs(float(g.mean()) - 0.05) < 0.005


def test_tanh_output_is_bounded():
    s = NetworkSettings(width=8, depth=3, output="tanh")
    net = GradientNetwork(2, 16, 16, s)
    f = net(net.make_input(torch.Generator().manual_seed(0)) * 100)
    assert float(f.detach().abs().max()) <= 1.0
