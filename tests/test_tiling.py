"""Large inputs: tile grid, seam blending, memory estimate and plan, tiled runs (API, CLI)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import pyngr
from pyngr.cli import main
from pyngr.errors import InputError
from pyngr.presets import get_settings
from pyngr.tiling import (
    MIN_TILE,
    ResourceError,
    TilingWarning,
    available_memory,
    blend_weights,
    estimate_memory,
    plan_tile,
    tile_grid,
    tiles_needed,
)


@pytest.mark.parametrize(("h", "w", "tile", "overlap"),
                         [(100, 70, 48, 16), (64, 64, 64, 8), (30, 200, 64, 32),
                          (257, 129, 96, 20), (5, 5, 16, 4), (300, 300, 100, 0),
                          (90, 90, 48, 16)])
def test_tiles_cover_the_image_and_weights_sum_to_one(h: int, w: int, tile: int,
                                                      overlap: int) -> None:
    boxes = tile_grid(h, w, tile, overlap)
    assert len(boxes) == tiles_needed(h, w, tile, overlap)
    cover = np.zeros((h, w), int)
    total = torch.zeros(h, w, dtype=torch.float64)
    for ys, xs in boxes:
        assert ys.stop - ys.start == min(tile, h) and xs.stop - xs.start == min(tile, w)
        cover[ys, xs] += 1
        wt = blend_weights(boxes, (ys, xs))
        assert wt.shape == (ys.stop - ys.start, xs.stop - xs.start) and wt.min() > 0
        total[ys, xs] += wt.double()
    assert cover.min() >= 1
    # where at most two tiles meet along each axis the ramps sum to one exactly; elsewhere
    # (a last tile aligned with the border may reach a third one) the solver divides by the
    # sum, which is positive everywhere
    def most(k: int, n: int) -> int:
        spans = {(b[k].start, b[k].stop) for b in boxes}
        return max(sum(a <= i < z for a, z in spans) for i in range(n))

    if most(0, h) <= 2 and most(1, w) <= 2:
        torch.testing.assert_close(total, torch.ones(h, w, dtype=torch.float64), atol=1e-6,
                                   rtol=0)
    else:
        assert (h, w, tile) in ((30, 200, 64), (90, 90, 48))
    assert total.min() > 0
    # neighbours overlap by at least `overlap` pixels
    starts = sorted({b[1].start for b in boxes})
    stops = sorted({b[1].stop for b in boxes})
    assert all(stops[i] - starts[i + 1] >= overlap for i in range(len(starts) - 1))
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(h, w, 16, 16)


def _activation_lower_bound(shape: tuple[int, int, int], settings: object) -> int:
    """Bytes of every conv/BN/activation output of the network (forward hooks): autograd
    must keep at least the inputs of the convolutions, i.e. about these maps."""
    from pyngr.networks import GradientNetwork

    c, h, w = shape
    net = GradientNetwork(c, h, w, settings.network, seed=0)  # type: ignore[attr-defined]
    total = 0

    def hook(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * out.element_size()

    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(hook)
    net(net.make_input(torch.Generator().manual_seed(0)))
    return total


def test_memory_estimate_scales_with_pixels_and_bounds_the_feature_maps() -> None:
    paper, fast = get_settings("inpaint", "paper"), get_settings("inpaint", "fast")
    a, b = estimate_memory((3, 128, 128), fast), estimate_memory((3, 256, 256), fast)
    assert b.parameters == a.parameters > 0
    assert b.activations == pytest.approx(4 * a.activations, rel=1e-6)
    assert b.state == pytest.approx(4 * a.state, rel=1e-6)
    assert estimate_memory((3, 256, 256), paper).total > 4 * b.total
    # at least the output maps of every convolution, at most a few times them
    for s in (fast, paper):
        bound = _activation_lower_bound((3, 96, 96), s)
        act = estimate_memory((3, 96, 96), s).activations
        assert bound < act < 6 * bound
    # more channels: more state and a larger network output
    assert (estimate_memory((31, 128, 128), fast).state > 5 * a.state)
    den = get_settings("denoise", "fast", noise="mixed")
    assert estimate_memory((3, 128, 128), den).total > 0


@pytest.mark.parametrize("arch", ["resnet", "plain"])
def test_memory_estimate_of_full_resolution_backbones_profiles_a_small_input(arch: str) -> None:
    """Their depth counts blocks, not scales: ten blocks once profiled a 2048x2048 input
    (24 GiB, the Fig. 13 bench run was killed by the OOM killer)."""
    from pyngr.presets import override

    s = override(override(get_settings("inpaint", "fast", channels=3),
                          "network.architecture", arch), "network.depth", 10)
    seen: list[tuple[int, ...]] = []
    hook = nn.modules.module.register_module_forward_pre_hook(
        lambda _m, args: seen.append(tuple(args[0].shape)) if args else None)
    try:
        est = estimate_memory((3, 100, 100), s)
    finally:
        hook.remove()
    assert max(shape[-1] for shape in seen) <= MIN_TILE + 2
    # ten full-resolution blocks of 48 channels: more than their outputs, under 1 GiB
    assert 10 * 48 * 100 * 100 * 4 < est.activations < 2**30


def test_plan_tile_fits_the_budget_or_says_why_not() -> None:
    s = get_settings("inpaint", "fast")
    whole = estimate_memory((3, 600, 600), s).total
    assert plan_tile((3, 600, 600), s, whole) is None
    budget = whole // 3
    tile = plan_tile((3, 600, 600), s, budget)
    assert tile is not None and MIN_TILE <= tile < 600 and tile % 8 == 0
    assert estimate_memory((3, tile, tile), s).total <= budget
    # balanced: the same number of tiles as the largest fitting side would need, no more
    big = max(t for t in range(MIN_TILE, 600, 8) if estimate_memory((3, t, t), s).total
              <= budget)
    assert tiles_needed(600, 600, tile, s.tile_overlap) == tiles_needed(600, 600, big,
                                                                        s.tile_overlap)
    with pytest.raises(ResourceError, match=r"72x72 tile .* GiB are available") as exc:
        plan_tile((3, 600, 600), s, 2**20)
    assert "\n" not in str(exc.value)
    assert available_memory("cpu") is None or available_memory("cpu") > 2**20


def _problem(h: int = 40, w: int = 56) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([0.5 + 0.4 * np.sin(xx / 7 + c) * np.cos(yy / 9) for c in range(3)],
                   -1).astype(np.float32)
    mask = np.random.default_rng(1).random(img.shape) < 0.5
    return img, mask


def _small(task: str = "inpaint", **kw: object) -> pyngr.Settings:
    s = get_settings(task, "fast", **kw)
    net = s.network.__class__(**{**s.network.__dict__, "width": 8, "depth": 2})
    return s.replace(network=net, iterations=4)


def test_auto_perturbation_schedule_is_decided_per_tile() -> None:
    """A mask dense on the left and sparse on the right: each tile's own observed fraction
    decides ("auto"), and the history says so."""
    img, _ = _problem()
    rng = np.random.default_rng(2)
    mask = rng.random(img.shape) < np.where(np.arange(56) < 28, 0.6, 0.05)[None, :, None]
    s = _small().replace(tile=32, tile_overlap=8)
    assert s.network.input_noise_schedule == "auto"
    res = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    assert [t["noise_schedule"] for t in res.history.tiles] == ["linear", "constant"] * 2
    assert res.history.noise_schedule == "per tile"
    whole = pyngr.inpaint(img, mask, settings=s.replace(tile=None), device="cpu",
                          full_output=True, max_memory=64.0)
    assert whole.history.noise_schedule == "linear"  # 33% observed over the whole image


def test_tiled_run_is_the_blend_of_independent_tile_runs() -> None:
    img, mask = _problem()
    s = _small().replace(tile=32, tile_overlap=8)
    res = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True)
    boxes = tile_grid(40, 56, 32, 8)
    assert len(res.history.tiles) == len(boxes) == 4 and res.network_state is None
    assert [t["box"] for t in res.history.tiles] == [[b[0].start, b[0].stop, b[1].start,
                                                      b[1].stop] for b in boxes]
    # reassemble by hand from runs on the crops (same settings, no tiling)
    acc = np.zeros_like(img, dtype=np.float64)
    for ys, xs in boxes:
        part = pyngr.inpaint(img[ys, xs], mask[ys, xs], settings=s.replace(tile=None),
                             device="cpu", max_memory=64.0)
        acc[ys, xs] += part * blend_weights(boxes, (ys, xs)).numpy()[..., None]
    expect = np.where(mask, img, acc)
    np.testing.assert_allclose(res.image, expect, atol=2e-6)
    assert np.all(res.image[mask] == img[mask])


def test_auto_tiling_warns_records_the_tile_and_repeats() -> None:
    img, mask = _problem(96, 80)
    s = _small()
    budget = estimate_memory((3, 80, 80), s).total / 2**30
    with pytest.warns(TilingWarning, match=r"2 overlapping 80x80 tiles \(settings.tile=80"):
        res = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True,
                            max_memory=budget)
    assert res.settings.tile == 80 and len(res.history.tiles) == 2
    assert res.history.to_dict()["tiles"] == res.history.tiles
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = pyngr.inpaint(img, mask, settings=res.settings, device="cpu")
    np.testing.assert_array_equal(again, res.image)
    # fits: no tiling, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole_run = pyngr.inpaint(img, mask, settings=s, device="cpu", full_output=True,
                                  max_memory=64.0)
    assert whole_run.settings.tile is None and whole_run.history.tiles == []
    with pytest.raises(ResourceError, match="even a 72x72 tile"):
        pyngr.inpaint(img, mask, settings=s, device="cpu", max_memory=1e-4)
    with pytest.raises(InputError, match="max_memory"):
        pyngr.inpaint(img, mask, settings=s, device="cpu", max_memory=-1)


def test_tiles_for_denoising_and_decloud_and_errors() -> None:
    img, _ = _problem(48, 48)
    noisy = img + 0.05 * np.random.default_rng(0).standard_normal(img.shape).astype(np.float32)
    s = _small("denoise", noise="gaussian").replace(iterations=3)
    seen: list[tuple[int, int] | None] = []
    out = pyngr.denoise(noisy, noise="gaussian", settings=s, tile=32, device="cpu",
                        monitor_every=1, callback=lambda info: seen.append(info.tile))
    assert out.shape == noisy.shape and np.isfinite(out).all()
    assert set(seen) == {(i, 4) for i in range(4)}
    series = np.stack([img, img * 0.9, img * 1.1]).clip(0, 1)
    cloud = np.zeros((48, 48), bool)
    cloud[10:30, 12:40] = True
    d = pyngr.decloud(series, cloud, iterations=2, tile=32, device="cpu", full_output=True,
                      progress=True)  # one bar over all tiles
    assert d.settings.tile == 32 and d.settings.tile_overlap == 8 and len(d.history.tiles) == 4
    with pytest.raises(InputError, match="tile is an NGR option"):
        pyngr.inpaint(img, img > 0.5, method="tv", tile=32, iterations=2)
    with pytest.raises(InputError, match="tile must be"):
        pyngr.inpaint(img, img > 0.5, tile=8, iterations=2)
    with pytest.raises(InputError, match="tile_overlap in"):
        _small().replace(tile=32, tile_overlap=16)


def test_cli_tiles_and_reports_one_line(tmp_path: Path, capsys) -> None:
    from PIL import Image

    img, mask = _problem(160, 160)
    Image.fromarray((img * 255).round().astype(np.uint8)).save(tmp_path / "obs.png")
    Image.fromarray((mask[..., 0] * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    args = ["inpaint", str(tmp_path / "obs.png"), "-m", str(tmp_path / "mask.png"), "-o",
            str(out), "-n", "2", "--device", "cpu", "-q"]
    assert main([*args, "--tile", "48"]) == 0
    record = json.loads((tmp_path / "out.png.json").read_text())
    assert record["settings"]["tile"] == 48 and len(record["run"]["tiles"]) == 25
    assert main([*args, "--force", "--max-memory", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "error: even a 72x72 tile" in err and len(err.strip().splitlines()) == 1
    budget = estimate_memory((3, 100, 100), get_settings("inpaint", "fast")).total / 2**30
    assert main([*args, "--force", "--max-memory", f"{budget:.4f}"]) == 0
    assert "note: a 160x160x3 input needs about" in capsys.readouterr().err
    assert json.loads((tmp_path / "out.png.json").read_text())["settings"]["tile"] <= 100
