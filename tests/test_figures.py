"""Figures and bundled data."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pyngr.data import demo_image
from pyngr.figures import display_image, psnr_curve, side_by_side


def test_display_image_handles_any_channel_count():
    assert display_image(np.zeros((5, 6, 3), np.uint8)).shape == (5, 6, 3)
    assert display_image(np.zeros((5, 6, 1))).shape == (5, 6)
    hsi = np.random.default_rng(0).random((5, 6, 31))
    shown = display_image(hsi, limits=(0.0, 1.0))
    assert shown.shape == (5, 6, 3)
    np.testing.assert_array_equal(shown[..., 0], hsi[..., 0])  # first, middle, last band
    np.testing.assert_array_equal(shown[..., 2], hsi[..., 30])
    # by default a multiband picture gets the 1st-99th percentile stretch, even in [0, 1]
    lo, hi = np.percentile(hsi[..., [0, 15, 30]], (1, 99))
    np.testing.assert_allclose(display_image(hsi),
                               np.clip((hsi[..., [0, 15, 30]] - lo) / (hi - lo), 0, 1))
    rgb = 0.2 * hsi[..., :3]  # grey and RGB in [0, 1] are shown as they are
    np.testing.assert_array_equal(display_image(rgb), rgb)
    wide = display_image(np.array([[0.0, 500.0], [1000.0, 2000.0]]))
    assert wide.min() == 0 and wide.max() == 1  # stretched to [0, 1]
    assert display_image(np.full((2, 2, 3), 255, np.uint8)).max() == 1.0


def test_side_by_side_and_curve_write_pictures(tmp_path):
    img = demo_image()
    path = side_by_side([("a", img), ("b", img[..., 0]), ("c", img / 255.0)], tmp_path / "f.png",
                        title="t")
    with Image.open(path) as im:
        assert im.size[0] > 2 * im.size[1]  # a row of three panels
    recs = [{"iteration": i, "psnr": 20 + i / 10, "psnr_missing": 18 + i / 10}
            for i in range(0, 100, 10)]
    with Image.open(psnr_curve(recs, tmp_path / "c.png")) as im:
        assert im.size[0] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "f.png"]


def test_side_by_side_shows_every_panel_with_the_references_range(tmp_path, monkeypatch):
    """A cloudy date with blanked (zero) entries must not get a stretch of its own: every
    float panel is shown with the display range of the last panel (the ground truth)."""
    import pyngr.figures as figures

    rng = np.random.default_rng(0)
    truth = 200.0 + 3000.0 * rng.random((8, 8, 4))
    cloudy = truth.copy()
    cloudy[:4] = 0.0
    expected = tuple(np.percentile(truth[..., [2, 1, 0]], (1, 99)))
    assert figures.display_limits(truth, (2, 1, 0)) == expected
    assert figures.display_limits(cloudy, (2, 1, 0))[0] == 0.0  # its own range would differ
    seen = []
    show = figures.display_image

    def spy(img, bands=None, limits=None, *, frames=False):
        seen.append(limits)
        return show(img, bands, limits, frames=frames)

    monkeypatch.setattr(figures, "display_image", spy)
    side_by_side([("cloudy", cloudy), ("result", truth * 1.01), ("truth", truth)],
                 tmp_path / "f.png", bands=(2, 1, 0))
    assert seen == [expected] * 3
    seen.clear()
    side_by_side([("cloudy", cloudy), ("truth", truth)], tmp_path / "g.png", reference=None)
    assert seen == [None, None]
    seen.clear()  # the demo: a float [0, 1] baseline beside uint8 images keeps its own range
    img = demo_image()
    side_by_side([("baseline", img / 255.0), ("truth", img)], tmp_path / "h.png")
    assert seen == [None, (0.0, 255.0)]
    assert show(img / 255.0).max() > 0.9  # not divided by 255 a second time
    shown = show(cloudy, (2, 1, 0), expected)
    np.testing.assert_allclose(shown[4:], np.clip((truth[4:][..., [2, 1, 0]] - expected[0])
                                                  / (expected[1] - expected[0]), 0, 1))


def test_demo_image_is_bundled_rgb():
    img = demo_image()
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    assert 60 < img.mean() < 200 and img.std() > 30  # a real photograph, not a blank


def test_display_image_single_band_choice_is_grey():
    video = np.random.default_rng(0).random((5, 6, 10))
    shown = display_image(video, bands=[0], limits=(0.0, 1.0))
    assert shown.shape == (5, 6)
    np.testing.assert_array_equal(shown, video[..., 0])


def test_video_frames_in_unit_range_are_not_stretched():
    """A grey video in [0, 1] (frames as channels) keeps (0, 1) when told its channels are
    frames; a cube of as many bands gets the percentile stretch."""
    from pyngr.figures import display_limits

    clip = 0.2 + 0.4 * np.random.default_rng(0).random((8, 8, 10))
    stretched = display_limits(clip, (0,))
    assert stretched == tuple(np.percentile(clip[..., 0], (1, 99)))
    assert display_limits(clip, (0,), frames=True) == (0.0, 1.0)
    np.testing.assert_allclose(display_image(clip, (0,), frames=True), clip[..., 0])
    wide = clip * 1000.0  # out of [0, 1]: frames get the stretch too
    assert display_limits(wide, (0,), frames=True) == tuple(np.percentile(wide[..., 0], (1, 99)))
