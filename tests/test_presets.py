"""The observation statistics the presets' rules read: :func:`pyngr.presets.channel_roughness`."""

from __future__ import annotations

import numpy as np
import pytest

from pyngr.presets import channel_roughness


def _ramp(h: int, c: int, a: float, b: float) -> np.ndarray:
    """x[i, j, k] = a*i + b*k on an h x h grid: rows differ by a, columns by 0, channels by b."""
    i, _, k = np.meshgrid(np.arange(h), np.arange(h), np.arange(c), indexing="ij")
    return (a * i + b * k).astype(np.float64)


@pytest.mark.parametrize("a,b", [(1.0, 0.1), (0.5, 2.0), (3.0, 3.0)])
def test_roughness_of_a_known_ramp(a, b):
    # fully observed, square: as many row pairs (difference a) as column pairs (0), so the
    # mean difference across pixels is a / 2 and along channels b
    x = _ramp(9, 4, a, b)
    assert channel_roughness(x, np.ones(x.shape[:2], bool)) == pytest.approx(2 * b / a)


def test_only_pairs_of_observed_entries_count():
    rng = np.random.default_rng(0)
    x = _ramp(12, 5, 1.0, 0.3)
    mask = rng.random(x.shape) < 0.6
    garbage = np.where(mask, x, np.nan)
    garbage[~mask & (rng.random(x.shape) < 0.5)] = np.inf
    got = channel_roughness(garbage, mask)
    # independent reference: explicit loops over every neighbouring pair
    along, across = [], []
    h, w, c = x.shape
    for i in range(h):
        for j in range(w):
            for k in range(c):
                if k + 1 < c and mask[i, j, k] and mask[i, j, k + 1]:
                    along.append(abs(x[i, j, k + 1] - x[i, j, k]))
                if i + 1 < h and mask[i, j, k] and mask[i + 1, j, k]:
                    across.append(abs(x[i + 1, j, k] - x[i, j, k]))
                if j + 1 < w and mask[i, j, k] and mask[i, j + 1, k]:
                    across.append(abs(x[i, j + 1, k] - x[i, j, k]))
    assert got == pytest.approx(np.mean(along) / np.mean(across))


def test_a_2d_mask_is_shared_by_all_channels_and_units_cancel():
    rng = np.random.default_rng(1)
    x = rng.random((10, 11, 6))
    m2 = rng.random((10, 11)) < 0.5
    m3 = np.repeat(m2[..., None], 6, axis=2)
    r = channel_roughness(x, m2)
    assert r == pytest.approx(channel_roughness(x, m3))
    assert r == pytest.approx(channel_roughness(250 * x + 17, m2))  # scale and offset cancel
    assert 0.8 < r < 1.25  # independent noise changes as much along channels as across


def test_uint8_differences_do_not_wrap():
    x = np.zeros((4, 4, 2), np.uint8)
    x[..., 0], x[..., 1] = 10, 5  # channel difference 5, not 251
    x[0] += 1  # some spatial change
    got = channel_roughness(x, np.ones((4, 4), bool))
    across = np.mean([1.0] * 8 + [0.0] * 40)  # of 48 pixel pairs, rows 0-1 differ by 1
    assert got == pytest.approx(5 / across)


def test_no_answer_without_two_channels_or_observed_pairs():
    assert channel_roughness(np.ones((5, 5)), np.ones((5, 5), bool)) is None
    assert channel_roughness(np.ones((5, 5, 1)), np.ones((5, 5), bool)) is None
    checker = (np.add.outer(np.arange(5), np.arange(5)) % 2 == 0)[..., None]
    mask = np.concatenate([checker, ~checker], axis=2)  # no pair observed in any direction
    assert channel_roughness(np.random.default_rng(0).random((5, 5, 2)), mask) is None
