"""Backbones (paper Fig. 13), warm start (Fig. 14) and gradient maps per iteration (Fig. 11)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

import pyngr
from pyngr.baselines.dip import dip_defaults
from pyngr.errors import InputError
from pyngr.networks import (
    GradientNetwork,
    ImageNetwork,
    PlainNet,
    ResNet,
    UNet,
    build_backbone,
    input_grid,
    load_network_state,
)
from pyngr.presets import ARCHITECTURES, NetworkSettings, Settings, get_settings
from pyngr.solvers import IterationInfo, Recorder

H = W = 24
C = 3
SEED = 11


def tiny_net(arch: str, **kw) -> NetworkSettings:
    return NetworkSettings(width=8, depth=2, skip_channels=2, architecture=arch, **kw)


def tiny_settings(arch: str = "skip", iterations: int = 4, **net) -> Settings:
    s = get_settings("inpaint", "fast", channels=C)
    network = dataclasses.replace(tiny_net(arch), heads="separate", **net)
    return s.replace(iterations=iterations, seed=SEED, network=network)


def data(h: int = H, w: int = W, c: int = C) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    img = np.stack([0.5 + 0.3 * np.sin(4 * xx + k) * np.cos(3 * yy) for k in range(c)], -1)
    return img.astype(np.float32), rng.random((h, w)) < 0.5


def first_input(net: GradientNetwork, seed: int) -> torch.Tensor:
    """G0 as an inpainting run draws it: the generator first draws the start U(0,1) of X."""
    gen = torch.Generator().manual_seed(seed)
    torch.rand((net.channels, net.height, net.width), generator=gen)
    return net.make_input(gen)


def params(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


# --------------------------------------------------------------------------- backbones
@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("heads", ["separate", "shared"])
def test_gradient_network_shape_for_every_backbone(arch, heads):
    net = GradientNetwork(C, H, W, tiny_net(arch, heads=heads), seed=0)
    f = net(net.make_input(torch.Generator().manual_seed(0)))
    assert f.shape == (3, C, H, W) and torch.isfinite(f).all()
    assert len(net.nets) == (3 if heads == "separate" else 1)
    # every weight is wired in
    f.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("hw", [(17, 23), (3, 5), (1, 1)])
def test_odd_and_tiny_sizes(arch, hw):
    net = GradientNetwork(2, *hw, tiny_net(arch), seed=0)
    assert net(net.make_input(torch.Generator().manual_seed(0))).shape == (3, 2, *hw)
    img = ImageNetwork(2, *hw, tiny_net(arch, output="sigmoid"), seed=0)
    assert img(img.make_input(torch.Generator().manual_seed(0))).shape == (2, *hw)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_image_network_shape_for_every_backbone(arch):
    s = tiny_net(arch, output="sigmoid", input_channels=4)
    net = ImageNetwork(C, H, W, s, seed=0)
    z = net.make_input(torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = net(z)
    assert z.shape[1] == 4 and out.shape == (C, H, W)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_init_is_deterministic_per_seed_and_leaves_global_rng(arch):
    state = torch.random.get_rng_state()
    s = tiny_net(arch)
    a, b, c = (GradientNetwork(C, H, W, s, seed=k) for k in (5, 5, 6))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(params(a), params(b)) and not torch.equal(params(a), params(c))
    g = a.make_input(torch.Generator().manual_seed(0))
    assert torch.equal(a(g), b(g))
    ia, ib = (ImageNetwork(C, H, W, s, seed=3) for _ in range(2))
    assert torch.equal(params(ia), params(ib))


def test_resnet_structure():
    s = NetworkSettings(width=8, depth=3, architecture="resnet")
    net = build_backbone(2, 5, s)
    assert isinstance(net, ResNet) and len(net.blocks) == 3
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 7 + [(1, 1)]
    assert all(c.stride == (1, 1) for c in convs)
    assert convs[0].in_channels == 2 and convs[-1].out_channels == 5
    # identity shortcut: with the last BN of a block zeroed, the block is the identity
    block = net.blocks[0]
    with torch.no_grad():
        block.body[-1].weight.zero_()
        block.body[-1].bias.zero_()
    x = torch.rand(1, 8, 10, 10)
    assert torch.equal(block(x), x)


def test_plain_structure_is_the_papers_ten_blocks():
    net = build_backbone(3, 9, NetworkSettings(width=8, depth=10, architecture="plain"))
    assert isinstance(net, PlainNet)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 10 + [(1, 1)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 10
    assert sum(isinstance(m, torch.nn.ReLU) for m in net.modules()) == 10
    assert all(c.stride == (1, 1) for c in convs)


def test_unet_structure_and_grid():
    net = build_backbone(3, 4, NetworkSettings(width=4, depth=3, architecture="unet"))
    assert isinstance(net, UNet)
    assert [d[1][0][-1].out_channels for d in net.downs] == [8, 16, 32]
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in net.modules()) == 3
    assert input_grid(17, 40, 3, "unet") == (24, 40)
    assert input_grid(5, 5, 2, "unet") == (8, 8)
    assert input_grid(1, 30, 2, "resnet") == (2, 30)
    assert input_grid(1, 30, 2) == (5, 30)


def test_unknown_architecture_is_a_one_line_input_error():
    with pytest.raises(InputError, match="unknown network architecture 'vgg'") as err:
        NetworkSettings(architecture="vgg")  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    d = tiny_settings().to_dict()
    d["network"]["architecture"] = "vgg"
    with pytest.raises(InputError, match="architecture"):
        Settings.from_dict(d)
    with pytest.raises(InputError, match="architecture"):
        input_grid(8, 8, 2, "vgg")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_ngr_inpainting_runs_with_every_backbone(arch):
    img, mask = data()
    r = pyngr.inpaint(img, mask, settings=tiny_settings(arch, iterations=3), device="cpu",
                      full_output=True)
    assert isinstance(r, pyngr.Result)
    assert r.image.shape == img.shape and np.isfinite(r.image).all()
    assert np.array_equal(r.image[mask], img[mask])
    assert r.settings.network.architecture == arch


@pytest.mark.parametrize("arch", ["resnet", "plain", "unet"])
def test_dip_baseline_runs_with_other_backbones(arch):
    img, mask = data()
    s = dip_defaults("inpaint", C)
    s = s.replace(iterations=2, network=dataclasses.replace(s.network, width=8, depth=2,
                                                            architecture=arch))
    out = pyngr.inpaint(img, mask, method="dip", settings=s, device="cpu")
    assert out.shape == img.shape and np.isfinite(out).all()


# --------------------------------------------------------------------------- warm start
def test_network_state_is_returned_on_cpu_for_ngr_only():
    img, mask = data()
    s = tiny_settings(iterations=3)
    r = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    fresh = GradientNetwork(C, H, W, s.network, seed=SEED)
    state = r.network_state
    assert state is not None and list(state) == list(fresh.state_dict())
    assert all(v.device.type == "cpu" for v in state.values())
    # trained: the weights moved away from the seeded initialisation
    key = "nets.0.head.0.weight"
    assert not torch.equal(state[key], fresh.state_dict()[key])
    tv = pyngr.inpaint(img, mask, method="tv", iterations=2, device="cpu", full_output=True)
    assert tv.network_state is None


@pytest.mark.parametrize("arch", ["skip", "plain"])
def test_warm_start_loads_the_saved_network_before_the_first_iteration(tmp_path, arch):
    img, mask = data()
    s = tiny_settings(arch, iterations=3, input_noise=0.0)
    first = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    path = tmp_path / "ngr.pt"
    torch.save(first.network_state, path)

    maps: dict[int, np.ndarray] = {}

    def keep(info: IterationInfo) -> None:
        maps[info.iteration] = info.gradient_maps()

    warm = s.replace(init_weights=str(path))
    r = pyngr.inpaint(img, mask, settings=warm, device="cpu", monitor_every=1, callback=keep,
                      full_output=True)
    assert sorted(maps) == [1, 2, 3] and r.settings.init_weights == str(path)

    saved = GradientNetwork(C, H, W, s.network, seed=0)  # other seed: all comes from the file
    saved.load_state_dict(torch.load(path, weights_only=True))
    with torch.no_grad():
        expected = saved(first_input(saved, SEED)).numpy()
    np.testing.assert_allclose(maps[1], expected, rtol=1e-5, atol=1e-6)
    # not vacuous: a run from the random initialisation starts elsewhere
    cold: list[np.ndarray] = []
    pyngr.inpaint(img, mask, settings=s.replace(iterations=1), device="cpu",
                  callback=lambda i: cold.append(i.gradient_maps()))
    assert np.abs(cold[0] - maps[1]).max() > 1e-3


def test_warm_start_transfers_to_another_image_size(tmp_path):
    img, mask = data()
    s = tiny_settings(iterations=2)
    r = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    path = tmp_path / "w.pt"
    torch.save(r.network_state, path)
    other, other_mask = data(20, 28)
    out = pyngr.inpaint(other, other_mask, settings=s.replace(init_weights=path), device="cpu")
    assert out.shape == other.shape


def test_warm_start_errors_are_one_line_input_errors(tmp_path):
    img, mask = data()
    s = tiny_settings(iterations=2)
    r = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    path = tmp_path / "w.pt"
    torch.save(r.network_state, path)

    def run(settings: Settings, image: np.ndarray = img) -> None:
        pyngr.inpaint(image, mask, settings=settings, device="cpu")

    cases = {
        "does not exist": s.replace(init_weights=str(tmp_path / "missing.pt")),
        # other channel count: the first convolution and the output have other shapes
        "shape": s.replace(init_weights=str(path)),
        "parameter names": s.replace(init_weights=str(path),
                                     network=dataclasses.replace(s.network,
                                                                 architecture="plain")),
    }
    for match, settings in cases.items():
        image = data(c=4)[0] if match == "shape" else img
        with pytest.raises(InputError, match=match) as err:
            run(settings, image)
        assert "\n" not in str(err.value), str(err.value)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="cannot read") as err:
        run(s.replace(init_weights=str(garbage)))
    assert "\n" not in str(err.value)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(InputError, match="state_dict"):
        run(s.replace(init_weights=str(tensor)))
    # the same check for a network loaded directly
    with pytest.raises(InputError, match="does not fit"):
        narrow = NetworkSettings(width=4, depth=2, skip_channels=2)
        load_network_state(GradientNetwork(C, H, W, narrow), path)


def test_settings_json_round_trip_with_backbone_and_init_weights(tmp_path):
    s = tiny_settings("resnet").replace(init_weights=tmp_path / "w.pt")
    assert s.init_weights == str(tmp_path / "w.pt")  # a Path is kept as a string
    again = Settings.from_json(s.to_json())
    assert again == s
    assert again.network.architecture == "resnet" and again.init_weights == s.init_weights
    assert Settings.from_dict(get_settings("inpaint").to_dict()).init_weights == "pyngr:auto"
    assert get_settings("inpaint", channels=1).init_weights is None
    assert get_settings("inpaint", "paper").init_weights is None
    # settings saved before these fields existed still load (defaults)
    old = get_settings("denoise").to_dict()
    del old["init_weights"], old["network"]["architecture"]
    assert Settings.from_dict(old) == get_settings("denoise")


# --------------------------------------------------------------------------- gradient maps
def test_gradient_maps_are_the_network_output_of_each_iteration():
    """lr = 0 and no input noise: every iteration's F is the seeded network's f_Θ(G0)."""
    img, mask = data()
    s = tiny_settings(iterations=3, input_noise=0.0)
    s = s.replace(optimizer=dataclasses.replace(s.optimizer, lr=0.0))
    maps: list[np.ndarray] = []
    pyngr.inpaint(img, mask, settings=s, device="cpu", monitor_every=1,
                  callback=lambda info: maps.append(info.gradient_maps()))
    net = GradientNetwork(C, H, W, s.network, seed=SEED)
    with torch.no_grad():
        expected = net(first_input(net, SEED)).numpy()
    assert len(maps) == 3
    for m in maps:
        assert m.shape == (3, C, H, W) and m.dtype == np.float32
        np.testing.assert_allclose(m, expected, rtol=1e-5, atol=1e-6)


def test_gradient_maps_change_while_the_network_learns():
    img, mask = data()
    infos: list[tuple[int, np.ndarray]] = []
    pyngr.inpaint(img, mask, settings=tiny_settings(iterations=4), device="cpu",
                  monitor_every=2, callback=lambda i: infos.append((i.iteration,
                                                                    i.gradient_maps())))
    assert [k for k, _ in infos] == [2, 4]
    assert np.abs(infos[0][1] - infos[1][1]).max() > 0


def test_gradient_maps_for_denoising_and_decloud():
    img, _ = data()
    s = get_settings("denoise", "fast", channels=C, noise="gaussian")
    s = s.replace(iterations=2, network=dataclasses.replace(s.network, width=8, depth=2))
    shapes = []
    pyngr.denoise(img, noise="gaussian", settings=s, device="cpu", monitor_every=1,
                  callback=lambda i: shapes.append(i.gradient_maps().shape))
    assert shapes == [(3, C, H, W)] * 2
    series = np.stack([img[..., :2]] * 3)
    cloud = np.zeros((H, W), bool)
    cloud[5:10, 5:10] = True
    shapes.clear()
    pyngr.decloud(series, cloud, iterations=1, device="cpu",
                  callback=lambda i: shapes.append(i.gradient_maps().shape))
    assert shapes == [(3, 6, H, W)]  # all dates' channels, as info.estimate()


def test_gradient_maps_are_unavailable_for_baselines():
    img, mask = data()
    seen: list[IterationInfo] = []
    pyngr.inpaint(img, mask, method="tv", iterations=2, device="cpu", monitor_every=1,
                  callback=seen.append)
    assert seen and not seen[0].has_gradient_maps
    with pytest.raises(NotImplementedError, match="NGR runs only"):
        seen[0].gradient_maps()


def test_gradient_maps_are_lazy_and_released_after_the_callbacks():
    calls = []

    def source() -> torch.Tensor:
        calls.append(1)
        return torch.ones(3, 1, 2, 2)

    kept: list[IterationInfo] = []
    rec = Recorder(4, monitor_every=2, callbacks=(kept.append,))
    for k in range(1, 5):
        rec.step(k, lambda: torch.zeros(1, 2, 2), gradient_maps=source)
    assert calls == [] and [i.iteration for i in kept] == [2, 4]  # nobody asked
    assert kept[0].has_gradient_maps
    with pytest.raises(RuntimeError, match="inside the callback"):
        kept[0].gradient_maps()

    got: list[np.ndarray] = []

    def ask(info: IterationInfo) -> None:
        got.append(info.gradient_maps())
        assert info.gradient_maps() is got[-1]  # one copy per iteration

    rec = Recorder(2, monitor_every=1, callbacks=(ask,))
    rec.step(1, lambda: torch.zeros(1, 2, 2), gradient_maps=source)
    assert len(calls) == 1 and got[0].shape == (3, 1, 2, 2)


def test_saved_state_round_trips_through_a_file(tmp_path: Path):
    s = tiny_net("unet", heads="shared")
    a, b = GradientNetwork(C, H, W, s, seed=1), GradientNetwork(C, H, W, s, seed=2)
    path = tmp_path / "s.pt"
    torch.save(a.state_dict(), path)
    load_network_state(b, path)
    g = a.make_input(torch.Generator().manual_seed(0))
    assert torch.equal(a(g), b(g))


def test_fast_rgb_inpainting_starts_from_the_bundled_weights():
    """``fast`` RGB inpainting loads the bundled weights (known answer: the first network
    output is the bundled network's on the run's input); other networks start cold."""
    from pyngr.data import bundled_weights

    rng = np.random.default_rng(0)
    img = rng.random((24, 24, 3)).astype(np.float32)
    mask = rng.random((24, 24)) < 0.4
    s = get_settings("inpaint", "fast", channels=3).replace(iterations=1)
    s = s.replace(network=dataclasses.replace(s.network, input_noise=0.0))
    assert s.init_weights == "pyngr:auto"
    maps: list[np.ndarray] = []
    r = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True,
                      callback=lambda i: maps.append(i.gradient_maps()))
    assert r.history.warm_start == "pyngr:fast_rgb_inpaint"
    assert r.settings.init_weights == "pyngr:auto"  # what the run record repeats
    bundled = GradientNetwork(3, 24, 24, s.network, seed=1)
    bundled.load_state_dict(torch.load(bundled_weights("pyngr:fast_rgb_inpaint"),
                                       weights_only=True))
    with torch.no_grad():
        expected = bundled(first_input(bundled, s.seed)).numpy()
    np.testing.assert_allclose(maps[0], expected, rtol=1e-5, atol=1e-6)
    cold_maps: list[np.ndarray] = []
    cold = pyngr.inpaint(img, mask, settings=s.replace(init_weights=None), device="cpu",
                         full_output=True, callback=lambda i: cold_maps.append(i.gradient_maps()))
    assert cold.history.warm_start is None
    assert np.abs(cold_maps[0] - maps[0]).max() > 1e-3  # not vacuous: random weights differ
    # another width or channel count: random weights, no error
    narrow = s.replace(network=dataclasses.replace(s.network, width=8))
    assert pyngr.inpaint(img, mask, settings=narrow, device="cpu",
                         full_output=True).history.warm_start is None
    grey = pyngr.inpaint(img[..., 0], mask, settings=get_settings("inpaint", "fast",
                         channels=1).replace(iterations=1), device="cpu", full_output=True)
    assert grey.history.warm_start is None


def test_fast_four_channel_inpainting_starts_from_the_adapted_bundled_weights():
    """``fast`` inpainting of 4 channels loads the RGB weights fitted to 4 channels (known
    answer: the first network output is the adapted network's on the run's input), of 6 those
    fitted to its separate networks; grey and 2 channels start from random weights, 10 and 224
    from the adapted ones."""
    from pyngr.data import bundled_weights
    from pyngr.networks import adapt_channels
    from pyngr.presets import FAST_WARM_START_MIN_CHANNELS

    assert FAST_WARM_START_MIN_CHANNELS == 3
    assert [get_settings("inpaint", "fast", channels=c).init_weights
            for c in (1, 2, 3, 4, 9, 10, 224)] == [None, None] + ["pyngr:auto"] * 5
    assert get_settings("inpaint", "fast", channels=4, additions=False).init_weights is None
    rng = np.random.default_rng(0)
    img = rng.random((24, 24, 4)).astype(np.float32)
    mask = rng.random(img.shape) < 0.2
    s = get_settings("inpaint", "fast", channels=4, observed=0.2).replace(iterations=1)
    s = s.replace(network=dataclasses.replace(s.network, input_noise=0.0))
    maps: list[np.ndarray] = []
    r = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True,
                      callback=lambda i: maps.append(i.gradient_maps()))
    assert r.history.warm_start == "pyngr:fast_rgb_inpaint/adapted"
    adapted = GradientNetwork(4, 24, 24, s.network, seed=1)
    rgb = torch.load(bundled_weights("pyngr:fast_rgb_inpaint"), weights_only=True)
    adapted.load_state_dict(adapt_channels(rgb, adapted))
    with torch.no_grad():
        expected = adapted(first_input(adapted, s.seed)).numpy()
    np.testing.assert_allclose(maps[0], expected, rtol=1e-5, atol=1e-6)
    assert pyngr.inpaint(img, mask, iterations=1, device="cpu", full_output=True
                         ).history.warm_start == "pyngr:fast_rgb_inpaint/adapted"  # as shipped
    six = rng.random((16, 16, 6)).astype(np.float32)
    r6 = pyngr.inpaint(six, rng.random(six.shape) < 0.2, iterations=1, device="cpu",
                       full_output=True)
    assert (r6.settings.network.heads, r6.history.warm_start) == (
        "separate", "pyngr:fast_rgb_inpaint/adapted")
    apart = GradientNetwork(6, 16, 16, r6.settings.network, seed=1)
    apart.load_state_dict(adapt_channels(rgb, apart))
    head = "nets.1.head.0.weight"  # the v-map network's output layer, as loaded
    torch.testing.assert_close(apart.state_dict()[head],
                               rgb["nets.0.head.0.weight"][3:6].mean(0, keepdim=True)
                               .expand(6, -1, -1, -1))


def test_bundled_weights_errors_are_one_line():
    img, mask = data()
    s = tiny_settings(iterations=1)
    with pytest.raises(InputError, match="no bundled weights 'pyngr:nope'"):
        pyngr.inpaint(img, mask, settings=s.replace(init_weights="pyngr:nope"), device="cpu")
    with pytest.raises(InputError, match="init_weights=null") as err:
        pyngr.inpaint(img, mask, settings=s.replace(init_weights="pyngr:fast_rgb_inpaint"),
                      device="cpu")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("channels,heads", [(6, "shared"), (6, "separate"), (3, "separate")])
def test_adapted_weights_compute_the_rgb_networks_mean_gradient_maps(channels, heads):
    """Known answer for :func:`adapt_channels`: fed the RGB network's input with channel j
    spread over the channels c = j mod 3 (each copy scaled to keep the sum), the adapted
    network's features are the RGB network's, so each channel's gradient map m is the mean
    of the RGB network's three maps m (one trunk, or separate networks one per map)."""
    from pyngr.networks import adapt_channels

    s = get_settings("inpaint", "fast", channels=3).network  # the bundled weights' network
    rgb = GradientNetwork(3, H, W, dataclasses.replace(s, width=8), seed=1)
    net = GradientNetwork(channels, H, W, dataclasses.replace(s, width=8, heads=heads), seed=2)
    net.load_state_dict(adapt_channels(rgb.state_dict(), net))
    g3 = rgb.make_input(torch.Generator().manual_seed(0))
    copies = torch.bincount(torch.arange(channels) % 3, minlength=3).float()
    scale = (channels / 3) ** 0.5 / copies[torch.arange(channels) % 3]
    g = g3[:, torch.arange(channels) % 3] * scale[None, :, None, None]
    with torch.no_grad():
        want = rgb(g3).mean(1, keepdim=True).expand(3, channels, H, W)
        got = net(g)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert got.std() > 1e-3  # not vacuous


def test_bundled_weights_are_fitted_to_other_channel_counts_only_on_request():
    """``"pyngr:auto"`` loads the RGB weights fitted to a ``fast`` network of another channel
    count; an explicit ``"pyngr:fast_rgb_inpaint"`` does not fit one; the adapted name on
    another width fails in one line."""
    from pyngr.networks import warm_start_for

    s = get_settings("inpaint", "fast", channels=3).network
    assert warm_start_for(GradientNetwork(3, H, W, s), "pyngr:auto") == "pyngr:fast_rgb_inpaint"
    for c, heads in ((1, "shared"), (4, "shared"), (7, "separate")):
        net = GradientNetwork(c, H, W, dataclasses.replace(s, heads=heads))
        assert warm_start_for(net, "pyngr:auto") == "pyngr:fast_rgb_inpaint/adapted"
        before = params(net).clone()
        load_network_state(net, "pyngr:fast_rgb_inpaint/adapted")
        assert not torch.equal(params(net), before)
        with pytest.raises(InputError, match="does not fit"):
            load_network_state(net, "pyngr:fast_rgb_inpaint")
    narrow = GradientNetwork(4, H, W, dataclasses.replace(s, width=8))
    assert warm_start_for(narrow, "pyngr:auto") is None
    with pytest.raises(InputError, match="cannot be fitted") as err:
        load_network_state(narrow, "pyngr:fast_rgb_inpaint/adapted")
    assert "\n" not in str(err.value)


def test_unet_gradient_network_does_not_diverge_at_the_default_learning_rate():
    # Regression: with DIP's un-normalised decoder the 4-scale U-Net (width 24, 384 channels
    # at the bottom) diverged under Adam at lr 0.01 within 25 iterations (network loss 1e11,
    # butterfly Fig. 13 ended at 13.5 dB); batch normalisation in the decoder keeps it stable.
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    img = np.stack([0.5 + 0.4 * np.sin(3 * xx + c) * np.cos(2 * yy) for c in range(3)], -1)
    img = img.astype(np.float32)
    mask = rng.random(img.shape) < 0.5
    losses = []
    r = pyngr.inpaint(np.where(mask, img, 0), mask, preset="fast", iterations=40,
                      device="cpu", seed=0, monitor_every=5, full_output=True,
                      overrides={"network.architecture": "unet", "network.depth": 4,
                                 "network.width": 24, "init_weights": None},
                      callback=lambda info: losses.append(info.loss))
    assert max(losses) < 1e4, losses
    missing = ~mask
    err = float(np.sqrt(np.mean((r.image[missing] - img[missing]) ** 2)))
    assert err < 0.15, err
