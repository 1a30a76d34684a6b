"""Tests of pyngr.degradations (SPEC section 5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyngr.degradations import (
    add_deadlines,
    add_gaussian,
    add_salt_pepper,
    add_stripes,
    deadline_mask,
    degrade,
    load_cloud_mask,
    mixed_noise,
    random_mask,
    text_mask,
)
from pyngr.errors import InputError

from .conftest import SHARED

PLRR = (SHARED or Path("/nonexistent/shared/data")) / "decloud" / "cloudmasks_plrr_512"


def _image(shape=(20, 30, 10), seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, shape)


def _dead_bands(x):
    """Indices of bands with at least one all-zero column."""
    return np.flatnonzero((x == 0).all(axis=0).any(axis=0))


@pytest.mark.parametrize(
    "make",
    [
        lambda s: random_mask((16, 16, 3), 0.3, seed=s),
        lambda s: deadline_mask((16, 16, 3), n_lines=4, seed=s),
        lambda s: text_mask((32, 32), seed=s),
        lambda s: add_gaussian(_image(), 0.1, seed=s),
        lambda s: add_salt_pepper(_image(), 0.2, seed=s),
        lambda s: add_stripes(_image(), n_stripes=5, bands=0.5, seed=s),
        lambda s: mixed_noise(_image(), "weak", seed=s),
        lambda s: degrade(_image(), kind="strong", seed=s)[0],
    ],
)
def test_seeded(make):
    assert np.array_equal(make(3), make(3))
    assert not np.array_equal(make(3), make(4))
    assert np.array_equal(make(np.random.default_rng(3)), make(3))


def test_random_mask_rate_within_three_sigma():
    n, rate = 64 * 64 * 3, 0.3
    mask = random_mask((64, 64, 3), rate, seed=1)
    assert mask.dtype == np.bool_ and mask.shape == (64, 64, 3)
    assert abs(mask.sum() - n * rate) < 3 * math.sqrt(n * rate * (1 - rate))
    assert random_mask((5, 5), 1.0, seed=0).all()


def test_random_mask_per_pixel_shared_by_channels():
    mask = random_mask((32, 32, 4), 0.5, seed=2, per_pixel=True)
    assert (mask == mask[..., :1]).all()
    assert 0.3 < mask.mean() < 0.7


def test_deadline_mask_whole_columns_in_every_band():
    mask = deadline_mask((12, 20, 5), n_lines=6, seed=0)
    missing_cols = (~mask).all(axis=(0, 2))
    assert missing_cols.sum() == 6
    assert mask[:, ~missing_cols, :].all()  # nothing else missing


def test_deadline_mask_selected_bands():
    mask = deadline_mask((8, 20, 10), n_lines=3, bands=0.2, seed=0)
    hit = np.flatnonzero((~mask).any(axis=(0, 1)))
    assert hit.size == 2
    for b in hit:
        assert (~mask[:, :, b]).all(axis=0).sum() == 3
    mask = deadline_mask((8, 20, 10), n_lines=3, bands=[1, 7], seed=0)
    assert list(np.flatnonzero((~mask).any(axis=(0, 1)))) == [1, 7]


def test_text_mask_fraction_and_shared():
    mask = text_mask((48, 64, 3), seed=0)
    assert (mask == mask[..., :1]).all()
    assert 0.01 < 1 - mask.mean() < 0.4
    assert 0.01 < 1 - text_mask((40, 40), text="NGR", seed=1, font_size=10).mean() < 0.4


def test_gaussian_std_and_per_band_sigma():
    img = np.full((64, 64, 2), 0.5)
    noisy = add_gaussian(img, [0.05, 0.2], seed=0)
    assert noisy.dtype == img.dtype
    assert abs((noisy - img)[..., 0].std() - 0.05) < 0.005
    assert abs((noisy - img)[..., 1].std() - 0.2) < 0.02
    out32 = add_gaussian(img.astype(np.float32), 0.1, seed=0)
    assert out32.dtype == np.float32


def test_salt_pepper_fraction():
    img = np.full((64, 64, 2), 0.5)
    noisy = add_salt_pepper(img, 0.2, seed=0)
    changed = np.isin(noisy, (0.0, 1.0))
    n = changed.size
    assert abs(changed.sum() - 0.2 * n) < 3 * math.sqrt(n * 0.2 * 0.8)
    assert abs((noisy == 0).mean() - (noisy == 1).mean()) < 0.03
    assert (noisy[~changed] == 0.5).all()
    only1 = add_salt_pepper(img, 0.2, seed=0, bands=[1])
    assert (only1[..., 0] == 0.5).all()


def test_stripes_shift_whole_columns_by_constant():
    img = _image((16, 24, 4))
    out = add_stripes(img, n_stripes=5, bands=[0, 2], seed=0)
    diff = out - img
    for b in range(4):
        touched = np.flatnonzero(np.abs(diff[:, :, b]).max(axis=0) > 0)
        assert touched.size == (5 if b in (0, 2) else 0)
        col = diff[:, touched, b]
        assert np.allclose(col, col[:1])  # constant along each column
        assert (np.abs(col) <= 0.25).all()


def test_add_deadlines_sets_columns_to_zero():
    out = add_deadlines(_image(), n_lines=4, bands=[2, 5], seed=0)
    assert list(_dead_bands(out)) == [2, 5]
    assert (out == 0).all(axis=0).sum() == 8


@pytest.mark.parametrize(("case", "fraction", "ratio"), [("weak", 0.2, 0.1), ("strong", 0.5, 0.25)])
def test_mixed_noise_bands_and_impulses(case, fraction, ratio):
    img = _image((16, 40, 10))
    noisy = mixed_noise(img, case, seed=1)
    assert noisy.shape == img.shape and noisy.dtype == img.dtype
    dead = _dead_bands(noisy)
    assert dead.size == round(fraction * 10)
    for b in dead:
        assert (noisy[:, :, b] == 0).all(axis=0).sum() == 35
    alive = np.broadcast_to(~(noisy == 0).all(axis=0), noisy.shape)  # not in a dead column
    impulses = np.isin(noisy, (0.0, 1.0))[alive].mean()
    assert abs(impulses - ratio) < 0.03


def test_mixed_noise_narrow_image_and_gaussian_case():
    noisy = mixed_noise(_image((10, 20, 5)), "strong", seed=0)
    assert (noisy == 0).all(axis=0).any(axis=1).sum() >= 1  # lines scaled down, not > W
    img = np.full((64, 64), 0.5)
    assert abs(mixed_noise(img, "gaussian", seed=0).std() - 0.1) < 0.01


def _disk_image(size=100, radius=30):
    yy, xx = np.mgrid[:size, :size]
    grey = np.full((size, size), 255, dtype=np.uint8)
    grey[(yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2 < radius**2] = 0
    return grey


def test_cloud_mask_from_generated_disk(tmp_path):
    grey = _disk_image()
    path = tmp_path / "disk.png"
    Image.fromarray(grey).save(path)
    expected = math.pi * 30**2 / 100**2
    for source in (path, str(path), grey):
        mask = load_cloud_mask(source, (60, 80))
        assert mask.shape == (60, 80) and mask.dtype == np.bool_
        assert abs((1 - mask.mean()) - expected) < 0.02
    bright = load_cloud_mask(255 - grey, (60, 80, 3), cloud_is_dark=False)
    assert abs((1 - bright.mean()) - expected) < 0.02


def test_cloud_mask_unreadable(tmp_path):
    bad = tmp_path / "not_an_image.jpg"
    bad.write_text("hello")
    with pytest.raises(InputError, match="cannot read"):
        load_cloud_mask(bad, (8, 8))
    with pytest.raises(InputError, match="cannot read"):
        load_cloud_mask(tmp_path / "missing.png", (8, 8))


@pytest.mark.skipif(SHARED is None, reason="../shared/data not present")
@pytest.mark.parametrize(("name", "fraction"), [("small", 0.103), ("large", 0.529)])
def test_cloud_mask_plrr(name, fraction):
    path = PLRR / f"cloudmask_{name}.jpg"
    if not path.is_file():
        pytest.skip("../shared/data not present")
    mask = load_cloud_mask(path, (512, 512))
    assert abs((1 - mask.mean()) - fraction) < 0.01


def test_degrade_kinds():
    img = _image((16, 16, 3))
    obs, mask = degrade(img, kind="random", seed=0, rate=0.5)
    assert mask is not None and mask.shape == img.shape
    assert np.array_equal(obs, img * mask)
    obs, mask = degrade(img, kind="deadlines", seed=0, n_lines=3)
    assert mask is not None and (obs[~mask] == 0).all() and (obs[mask] == img[mask]).all()
    obs, mask = degrade(img, kind="text", seed=0, font_size=8)
    assert mask is not None and (mask == mask[..., :1]).all()
    noisy, none = degrade(img, kind="gaussian", seed=0, sigma=0.05)
    assert none is None and noisy.shape == img.shape
    assert degrade(img, kind="weak", seed=0)[1] is None


def test_input_errors():
    img = _image((8, 8, 2))
    with pytest.raises(InputError, match="rate"):
        random_mask((8, 8), 0.0, seed=0)
    with pytest.raises(InputError, match="rate"):
        random_mask((8, 8), 1.5, seed=0)
    with pytest.raises(InputError, match="shape"):
        random_mask((8,), 0.5, seed=0)
    with pytest.raises(InputError, match="image"):
        add_gaussian(np.zeros((2, 2, 2, 2)), 0.1, seed=0)
    bad = img.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        degrade(bad, kind="random", seed=0, rate=0.5)
    with pytest.raises(InputError, match="ratio"):
        add_salt_pepper(img, -0.1, seed=0)
    with pytest.raises(InputError, match="n_lines"):
        deadline_mask((8, 8), n_lines=9, seed=0)
    with pytest.raises(InputError, match="bands"):
        add_stripes(img, n_stripes=1, bands=[2], seed=0)
    with pytest.raises(InputError, match="case"):
        mixed_noise(img, "medium", seed=0)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="kind"):
        degrade(img, kind="blur", seed=0)
    with pytest.raises(InputError, match="rate"):
        degrade(img, kind="random", seed=0)
    with pytest.raises(InputError, match="seed"):
        random_mask((8, 8), 0.5, seed=None)  # type: ignore[arg-type]
