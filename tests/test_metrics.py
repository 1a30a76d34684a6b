"""Tests of pyngr.metrics (SPEC section 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from pyngr.errors import InputError
from pyngr.metrics import ergas, evaluate, psnr, sam, ssim


def _pair(shape=(24, 20, 3), seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    out = np.clip(ref + noise * rng.standard_normal(shape), 0, 1)
    return out, ref


def _u8(x):
    return np.round(np.clip(x, 0, 1) * 255)


def test_psnr_matches_skimage_per_channel():
    out, ref = _pair()
    # Reference values from an outside tool: scikit-image's PSNR on the 8-bit-rounded channels.
    expected = np.mean(
        [
            peak_signal_noise_ratio(_u8(ref[..., c]), _u8(out[..., c]), data_range=255)
            for c in range(3)
        ]
    )
    assert psnr(out, ref) == pytest.approx(expected, rel=1e-12)


def test_psnr_hand_computed_constant_error():
    ref = np.full((8, 8, 2), 100 / 255)  # exact 8-bit values
    out = ref + 1 / 255  # error of exactly one grey level everywhere: MSE = 1
    assert psnr(out, ref) == pytest.approx(20 * math.log10(255), abs=1e-9)
    assert round(psnr(out, ref), 2) == 48.13


def test_psnr_identical_is_inf():
    _, ref = _pair()
    assert psnr(ref, ref) == math.inf


def test_psnr_region_equals_psnr_of_extracted_entries():
    out, ref = _pair(seed=1)
    region = np.random.default_rng(2).random(ref.shape) < 0.3
    by_hand = []
    for c in range(3):
        sel = region[..., c]
        mse = np.mean((_u8(out[..., c][sel]) - _u8(ref[..., c][sel])) ** 2)
        by_hand.append(10 * math.log10(255**2 / mse))
    assert psnr(out, ref, region=region) == pytest.approx(np.mean(by_hand), rel=1e-12)


def test_psnr_region_2d_shared_and_empty_channel_skipped():
    out, ref = _pair(seed=3)
    plane = np.zeros(ref.shape[:2], dtype=bool)
    plane[:10] = True
    full = np.repeat(plane[..., None], 3, axis=2)
    assert psnr(out, ref, region=plane) == pytest.approx(psnr(out, ref, region=full))
    only0 = np.zeros(ref.shape, dtype=bool)
    only0[..., 0] = True
    assert psnr(out, ref, region=only0) == pytest.approx(psnr(out[..., 0], ref[..., 0]))


def test_ssim_matches_skimage_channel_mean():
    out, ref = _pair(seed=4)
    # Reference values from an outside tool: scikit-image's SSIM on the 8-bit-rounded channels.
    expected = np.mean(
        [
            structural_similarity(
                _u8(out[..., c]), _u8(ref[..., c]), data_range=255, gaussian_weights=False
            )
            for c in range(3)
        ]
    )
    assert ssim(out, ref) == pytest.approx(expected, rel=1e-12)


def test_ssim_identical_is_one_and_region_uses_map():
    out, ref = _pair(seed=5)
    assert ssim(ref, ref) == pytest.approx(1.0)
    region = np.zeros(ref.shape[:2], dtype=bool)
    region[5:15, 3:12] = True
    maps = [
        structural_similarity(
            _u8(out[..., c]), _u8(ref[..., c]), data_range=255, gaussian_weights=False, full=True
        )[1]
        for c in range(3)
    ]
    expected = np.mean([m[region].mean() for m in maps])
    assert ssim(out, ref, region=region) == pytest.approx(expected, rel=1e-12)


def test_sam_hand_computed():
    ref = np.zeros((2, 2, 3))
    ref[..., 0] = 1.0
    orth = np.zeros_like(ref)
    orth[..., 1] = 0.5
    assert sam(orth, ref) == pytest.approx(90.0)
    spectra = np.random.default_rng(6).random((3, 4, 5)) + 0.1
    assert sam(0.5 * spectra, spectra) == pytest.approx(0.0, abs=1e-5)
    # Zero-norm pixels are skipped: one orthogonal pixel, one zero pixel -> 90 degrees.
    out = orth.copy()
    out[0, 0] = 0.0
    assert sam(out, ref) == pytest.approx(90.0)


def test_sam_needs_two_channels():
    with pytest.raises(InputError, match="C >= 2"):
        sam(np.ones((4, 4)), np.ones((4, 4)))
    with pytest.raises(InputError, match="C >= 2"):
        sam(np.ones((4, 4, 1)), np.ones((4, 4, 1)))


def test_ergas_hand_computed_two_bands():
    ref = np.stack([np.full((3, 3), 0.5), np.full((3, 3), 0.2)], axis=-1)
    out = ref.copy()
    out[..., 0] += 0.1  # MSE_0 = 0.01, mean_0 = 0.5 -> ratio 0.04
    out[..., 1] -= 0.02  # MSE_1 = 0.0004, mean_1 = 0.2 -> ratio 0.01
    assert ergas(out, ref) == pytest.approx(100 * math.sqrt((0.04 + 0.01) / 2))
    assert ergas(ref, ref) == 0.0


def test_evaluate_selects_metrics():
    out, ref = _pair(seed=7)
    res = evaluate(out, ref)
    assert list(res) == ["psnr", "ssim", "sam", "ergas"]
    assert res["psnr"] == pytest.approx(psnr(out, ref))
    assert list(evaluate(out[..., 0], ref[..., 0])) == ["psnr", "ssim"]
    assert list(evaluate(out, ref, metrics=("sam",))) == ["sam"]
    with pytest.raises(InputError, match="metrics"):
        evaluate(out, ref, metrics=("mse",))


def test_input_errors():
    out, ref = _pair()
    with pytest.raises(InputError, match=r"result shape \(24, 20, 2\) does not match reference"):
        psnr(out[..., :2], ref)
    bad = out.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        ssim(bad, ref)
    bad[0, 0, 0] = np.inf
    with pytest.raises(InputError, match="NaN or Inf"):
        ergas(ref, bad)
    with pytest.raises(InputError, match="region shape"):
        psnr(out, ref, region=np.ones((24, 21), dtype=bool))
    with pytest.raises(InputError, match="no True entry"):
        sam(out, ref, region=np.zeros((24, 20), dtype=bool))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64_accepted(dtype):
    out, ref = _pair(seed=8)
    res = evaluate(out.astype(dtype), ref.astype(dtype))
    expected = evaluate(out, ref)
    for name, value in res.items():
        assert isinstance(value, float)
        assert value == pytest.approx(expected[name], rel=1e-4, abs=1e-4)


def test_psnr_exact_channels_count_as_one_level_off_unless_all_are():
    ref = np.random.default_rng(0).random((10, 12, 3))
    out = ref.copy()
    out[..., 1] = np.clip(ref[..., 1] + 3 / 255, 0, 1)
    n = 10 * 12
    by_hand = [10 * math.log10(255**2 * n), psnr(out[..., 1], ref[..., 1]),
               10 * math.log10(255**2 * n)]
    assert psnr(out, ref) == pytest.approx(np.mean(by_hand), rel=1e-12)
    assert psnr(ref, ref) == math.inf
    # the monitor of the API computes the same number
    import torch

    from pyngr.api import _psnr_8bit

    t = torch.from_numpy(out.transpose(2, 0, 1).copy())
    r = torch.from_numpy(ref.transpose(2, 0, 1).copy())
    assert _psnr_8bit(t, r) == pytest.approx(psnr(out, ref), rel=1e-9)
    region = torch.zeros_like(r, dtype=torch.bool)
    region[:, :5] = True
    assert _psnr_8bit(t, r, region) == pytest.approx(
        psnr(out, ref, region=region.numpy().transpose(1, 2, 0)), rel=1e-9)
