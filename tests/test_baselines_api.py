"""Baselines through the public functions (``method=``) and the CLI (``--method``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import pyngr
from pyngr.baselines import settings_from_dict
from pyngr.baselines.methods import TVSettings
from pyngr.cli import main
from pyngr.errors import InputError


@pytest.fixture
def rgb() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:32, 0:28]
    img = np.stack([128 + 90 * np.sin(xx / 5 + k) * np.cos(yy / 6) for k in range(3)], -1)
    mask = np.random.default_rng(0).random((32, 28)) < 0.5
    return img.round().clip(0, 255).astype(np.uint8), mask


def test_inpaint_with_a_baseline_keeps_layout_and_observed_entries(rgb) -> None:
    img, mask = rgb
    res = pyngr.inpaint(np.where(mask[..., None], img, 0), mask, method="tv", full_output=True,
                        ground_truth=img)
    assert res.image.shape == img.shape and res.image.dtype == np.uint8
    assert np.array_equal(res.image[mask], img[mask])
    assert isinstance(res.settings, TVSettings) and res.settings.method == "tv"
    assert res.metrics["psnr_missing"] > 22  # a smooth image: TV fills it well
    assert res.history.oracle is not None


def test_ground_truth_never_changes_a_baseline_result(rgb) -> None:
    img, mask = rgb
    obs = np.where(mask[..., None], img, 0)
    a = pyngr.inpaint(obs, mask, method="tnn-fft", iterations=30)
    b = pyngr.inpaint(obs, mask, method="tnn-fft", iterations=30, ground_truth=img)
    assert np.array_equal(a, b)


def test_decloud_and_denoise_with_baselines() -> None:
    rng = np.random.default_rng(1)
    base = np.linspace(0, 1, 20 * 20 * 3).reshape(20, 20, 3).astype(np.float32)
    series = np.stack([base, base * 0.9, base * 0.95])
    cloud = np.zeros((20, 20), bool)
    cloud[5:12, 6:14] = True
    cloudy = series.copy()
    cloudy[0][cloud] = 0
    out = pyngr.decloud(cloudy, cloud, method="halrtc", iterations=80)
    assert out.shape == (20, 20, 3)
    assert np.array_equal(out[~cloud], series[0][~cloud])
    assert np.abs(out[cloud] - base[cloud]).mean() < 0.05
    noisy = (base + 0.1 * rng.standard_normal(base.shape)).astype(np.float32)
    for method in ("tctv", "ctv", "lrtdtv", "tv3d"):
        den = pyngr.denoise(noisy, noise="mixed", method=method, iterations=40)
        assert den.shape == base.shape and den.dtype == np.float32
        assert np.abs(den - base).mean() < np.abs(noisy - base).mean(), method


def test_baseline_argument_errors(rgb) -> None:
    img, mask = rgb
    with pytest.raises(InputError, match="unknown method 'nope'"):
        pyngr.inpaint(img, mask, method="nope")
    with pytest.raises(InputError, match="does not do denoise"):
        pyngr.denoise(img, method="halrtc")
    with pytest.raises(InputError, match="presets are NGR's"):
        pyngr.inpaint(img, mask, method="tv", preset="paper")
    ngr_settings = pyngr.get_settings("inpaint", "fast")
    with pytest.raises(InputError, match="not for method 'tv'"):
        pyngr.inpaint(img, mask, method="tv", settings=ngr_settings)
    tv = pyngr.baselines.default_settings("tv", "inpaint", (3, 32, 28))
    with pytest.raises(InputError, match="pass method='tv'"):
        pyngr.inpaint(img, mask, settings=tv)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="iterations must be >= 1"):
        pyngr.inpaint(img, mask, method="tv", iterations=0)


def test_baseline_callback_and_settings_override(rgb) -> None:
    img, mask = rgb
    seen: list[int] = []

    def stop_early(info) -> bool:
        seen.append(info.iteration)
        return info.iteration >= 20

    s = pyngr.baselines.default_settings("tv", "inpaint", (3, 32, 28)).replace(tol=0.0)
    res = pyngr.inpaint(img, mask, method="tv", settings=s, callback=stop_early,
                        monitor_every=10, full_output=True)
    assert seen == [10, 20] and res.history.stopped_early and res.history.iterations == 20
    assert res.settings.tol == 0.0


def test_cli_runs_a_baseline_and_records_its_settings(rgb, tmp_path, capsys) -> None:
    img, mask = rgb
    Image.fromarray(np.where(mask[..., None], img, 0).astype(np.uint8)).save(tmp_path / "o.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "m.png")
    Image.fromarray(img).save(tmp_path / "gt.png")
    out = tmp_path / "r.png"
    rc = main(["inpaint", str(tmp_path / "o.png"), "-m", str(tmp_path / "m.png"), "-o",
               str(out), "--method", "tctv", "-n", "30", "--gt", str(tmp_path / "gt.png"),
               "--figure", str(tmp_path / "f.png"), "--device", "cpu"])
    assert rc == 0
    res = np.asarray(Image.open(out))
    assert np.array_equal(res[mask], img[mask])
    record = json.loads((tmp_path / "r.png.json").read_text())
    assert record["settings"]["method"] == "tctv" and record["run"]["iterations"] <= 30
    assert settings_from_dict(record["settings"]).iterations == 30
    assert record["metrics"]["result"]["missing_entries"]["psnr"] > 15
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert "final iterate" in capsys.readouterr().err


def test_cli_method_errors_and_listing(rgb, tmp_path, capsys) -> None:
    img, _ = rgb
    Image.fromarray(img).save(tmp_path / "n.png")
    rc = main(["denoise", str(tmp_path / "n.png"), "-o", str(tmp_path / "d.png"), "--method",
               "halrtc", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: method 'halrtc' does not do denoise")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "d.png").exists()
    assert main(["methods"]) == 0
    listing = capsys.readouterr().out
    assert "tctv" in listing and "lrtdtv" in listing and listing.startswith("ngr")
