"""The public numpy API: layouts, dtypes, value ranges, errors, honesty, reproducibility.

Every run here uses a tiny network (width 8, depth 3) on images of at most 16×16 for a few
iterations, so the whole file runs in seconds on two CPU cores.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import pyngr
from pyngr import api
from pyngr.api import Scaling, _psnr_8bit, decloud, denoise, inpaint, resolve_device
from pyngr.errors import DeviceError, InputError, PyngrError
from pyngr.metrics import psnr
from pyngr.presets import DenoisingADMM, InpaintingADMM, get_settings
from pyngr.solvers import IterationInfo

H = W = 16
CUDA = torch.cuda.is_available()


def _frames(rng, shape):
    """Random pixels that change little from one channel to the next (a video's frames): the
    `fast` preset's smooth-channel rules apply (channel_roughness well below 1)."""
    base = rng.random(shape[:2]).astype(np.float32)
    return base[..., None] * 0.9 + 0.01 * np.arange(shape[2], dtype=np.float32)


def _bands(rng, shape):
    """Random pixels whose channels differ by more than their pixels (multispectral bands)."""
    base = rng.random(shape[:2]).astype(np.float32)[..., None] * 0.2
    return base + np.resize(np.array([0.1, 0.7], np.float32), shape[2])
no_cuda = pytest.mark.skipif(CUDA, reason="needs a machine without CUDA")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: one intra-op thread avoids oversubscription on a shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(task: str = "inpaint", iterations: int = 5, **kw):
    """Preset ``fast`` of ``task`` with a tiny network (keeps upsample/output/input noise)."""
    s = get_settings(task, "fast", **kw)
    net = dataclasses.replace(s.network, width=8, depth=3, heads="shared")
    return s.replace(network=net, iterations=iterations)


def smooth(shape, lo=0.0, hi=1.0, seed=0):
    """A smooth field in [lo, hi] plus a little noise, float64, channel last."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 1
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    base = np.stack([0.5 + 0.35 * np.sin(3 * xx + k) * np.cos(2 * yy) for k in range(c)], -1)
    base = np.clip(base + 0.05 * rng.random(base.shape), 0, 1)
    out = lo + (hi - lo) * base
    return out[..., 0] if len(shape) == 2 else out


def rand_mask(shape, rate=0.5, seed=1):
    return np.random.default_rng(seed).random(shape) < rate


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def raises(match, fn, *args, exc=InputError, **kwargs):
    """``fn`` raises ``exc`` whose one-line message matches ``match``."""
    with pytest.raises(exc, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)
    return info.value


def run_inpaint(img, mask, **kw):
    chans = 1 if np.ndim(img) == 2 else np.shape(img)[2]
    kw.setdefault("settings", tiny("inpaint", channels=chans))
    return inpaint(img, mask, device="cpu", **kw)


# --------------------------------------------------------------------------- 1. round trips
def _case(name):
    """(image, mask) of one layout/dtype case; ``mask`` has the image's shape or (H, W)."""
    if name == "gray_f32":
        return smooth((H, W)).astype(np.float32), rand_mask((H, W))
    if name == "rgb_u8":
        return np.round(smooth((H, W, 3)) * 255).astype(np.uint8), rand_mask((H, W))
    if name == "msi_u16":
        return np.round(smooth((H, W, 5), 1000, 9000)).astype(np.uint16), rand_mask((H, W, 5))
    if name == "two_f64":
        img = smooth((H, W, 2), -3, 7)
        img[0, 0, 0] = -0.0  # bitwise check keeps the sign of zero
        m = rand_mask((H, W, 2))
        m[0, 0, 0] = True
        return img, m
    if name == "rgb_i16":
        return np.round(smooth((H, W, 3), -500, 500)).astype(np.int16), rand_mask((H, W))
    raise AssertionError(name)


CASES = ["gray_f32", "rgb_u8", "msi_u16", "two_f64", "rgb_i16"]


@pytest.mark.parametrize("name", CASES)
def test_inpaint_round_trip_layout_dtype_range(name):
    img, mask = _case(name)
    out = run_inpaint(img, mask)
    assert out.shape == img.shape
    assert out.dtype == img.dtype
    m = np.broadcast_to(mask if mask.shape == img.shape else mask[..., None], img.shape)
    # observed entries exactly as given (bitwise)
    assert same_bits(out[m], img[m])
    # missing entries are an estimate, not a placeholder
    assert np.unique(out[~m]).size > 1
    if np.issubdtype(img.dtype, np.floating):
        assert np.all(np.isfinite(out))
    obs = img[m]
    if name == "rgb_u8":
        assert out.min() >= 0 and out.max() <= 255
    elif name == "gray_f32":  # floats in [0, 1] are used as they are
        assert out.min() >= 0.0 and out.max() <= 1.0
    else:  # stretched from the observed extremes
        assert out.min() >= obs.min() and out.max() <= obs.max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_inpaint_accepts_nan_or_inf_at_missing_entries(dtype, bad):
    img = smooth((H, W, 3), -1, 2).astype(dtype)
    mask = rand_mask((H, W))
    holed = img.copy()
    holed[~mask] = bad
    out = run_inpaint(holed, mask)
    assert out.dtype == np.dtype(dtype)
    assert not np.isnan(out).any() and np.all(np.isfinite(out))
    assert same_bits(out[mask], img[mask])
    # the values at missing entries are ignored: same answer as with zeros there
    zeroed = np.where(mask[..., None], img, 0).astype(dtype)
    assert same_bits(out, run_inpaint(zeroed, mask))


def test_inpaint_mask_shapes_hw_and_hw1_and_full_agree():
    img = smooth((H, W, 3)).astype(np.float32)
    mask = rand_mask((H, W))
    a = run_inpaint(img, mask)
    b = run_inpaint(img, mask[..., None])
    c = run_inpaint(img, np.repeat(mask[..., None], 3, axis=2).astype(np.uint8))
    assert same_bits(a, b) and same_bits(a, c)


def test_data_range_override_is_honoured(monkeypatch):
    img = np.round(smooth((H, W, 2), 1000, 9000)).astype(np.uint16)
    mask = rand_mask((H, W))
    s = Scaling.infer(img[np.broadcast_to(mask[..., None], img.shape)], img.dtype, (0, 65535))
    assert (s.offset, s.scale, s.dtype) == (0.0, 65535.0, np.dtype(np.uint16))

    seen = []
    infer = Scaling.infer.__func__

    def spy(cls, values, dtype, data_range=None):
        seen.append(infer(cls, values, dtype, data_range))
        return seen[-1]

    monkeypatch.setattr(api.Scaling, "infer", classmethod(spy))
    a = run_inpaint(img, mask, data_range=(0, 65535))
    b = run_inpaint(img, mask)
    assert (seen[0].offset, seen[0].scale) == (0.0, 65535.0)
    m = np.broadcast_to(mask[..., None], img.shape)
    assert (seen[1].offset, seen[1].scale) == (
        float(img[m].min()),
        float(img[m].max()) - float(img[m].min()),
    )
    assert a.dtype == np.uint16 and same_bits(a[m], img[m])
    assert not np.array_equal(a, b)


# --------------------------------------------------------------------------- 2. Scaling
def test_scaling_uint8_round_trip():
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    s = Scaling.infer(a[:3], a.dtype)  # uint8 is always [0, 255], whatever is observed
    assert (s.offset, s.scale) == (0.0, 255.0)
    f = s.forward(a)
    assert f.dtype == np.float32 and f.min() == 0.0 and f.max() == 1.0
    back = s.inverse(f)
    assert back.dtype == np.uint8 and np.array_equal(back, a)


def test_scaling_uint16_stretched_round_trip():
    a = np.random.default_rng(0).integers(1000, 60001, size=(8, 8, 3)).astype(np.uint16)
    s = Scaling.infer(a, a.dtype)
    assert (s.offset, s.scale) == (float(a.min()), float(a.max()) - float(a.min()))
    f = s.forward(a)
    assert f.min() == 0.0 and f.max() == 1.0
    back = s.inverse(f)
    assert back.dtype == np.uint16 and np.array_equal(back, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaling_unit_floats_are_identity(dtype):
    a = np.random.default_rng(1).random((6, 7)).astype(dtype) * 0.9 + 0.05
    s = Scaling.infer(a, a.dtype)
    assert (s.offset, s.scale) == (0.0, 1.0)
    assert np.array_equal(s.forward(a), a.astype(np.float32))
    back = s.inverse(s.forward(a))
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_allclose(back, a, rtol=0, atol=1e-7)


def test_scaling_floats_outside_unit_are_stretched():
    a = np.random.default_rng(2).uniform(-3, 7, size=(5, 5, 2))
    s = Scaling.infer(a, a.dtype)
    assert s.offset == a.min() and s.scale == pytest.approx(a.max() - a.min())
    f = s.forward(a)
    assert f.min() == 0.0 and f.max() == pytest.approx(1.0, abs=1e-7)
    back = s.inverse(f)
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, a, rtol=0, atol=1e-5)


def test_scaling_inverse_clips_and_rounds():
    f = np.array([-0.5, 0.0, 0.04, 0.06, 0.5, 1.0, 1.5])
    s = Scaling(0.0, 10.0, np.dtype(np.int16))
    out = s.inverse(f)
    assert out.dtype == np.int16
    assert out.tolist() == [0, 0, 0, 1, 5, 10, 10]
    s = Scaling(-2.0, 4.0, np.dtype(np.float32))
    out = s.inverse(f)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.float32([-2, -2, -1.84, -1.76, 0, 2, 2]))
    # integer results stay inside the dtype's range
    assert Scaling(0.0, 1000.0, np.dtype(np.uint8)).inverse(np.array([1.0]))[0] == 255


def test_scaling_rejects_empty_data_range():
    raises("data_range", Scaling.infer, np.zeros(3), np.dtype(np.float64), (1.0, 1.0))


# --------------------------------------------------------------------------- 3. decloud
T, B = 3, 2


def _series(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    base = smooth((H, W, B), seed=seed)
    s = np.stack([np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1) for _ in range(T)])
    if dtype == np.uint16:
        return np.round(s * 4000 + 500).astype(np.uint16)
    if dtype == np.float64:  # outside [0, 1]: stretched; -0.0 tests the bitwise copy
        s = s * 7 - 2
        s[0, 0, 0, 0] = -0.0
    return s.astype(dtype)


def _cloud(shape=(H, W)):
    c = np.zeros(shape, bool)
    c[4:10, 5:12] = True
    return c


def run_decloud(series, cloud, **kw):
    kw.setdefault("settings", tiny("decloud", channels=series.shape[0] * series.shape[-1]))
    return decloud(series, cloud, device="cpu", **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_decloud_shape_dtype_and_clear_pixels_exact(dtype):
    series = _series(dtype)
    cloud = _cloud()
    out = run_decloud(series, cloud)
    assert out.shape == (H, W, B) and out.dtype == np.dtype(dtype)
    assert same_bits(out[~cloud], series[0][~cloud])
    assert not np.array_equal(out[cloud], series[0][cloud])
    if dtype == np.float32:  # in [0, 1]: used as is
        assert out.min() >= 0.0 and out.max() <= 1.0
    else:  # stretched from the extremes of the observed entries
        obs = np.concatenate([series[1:].ravel(), series[0][~cloud].ravel()])
        assert out.min() >= obs.min() and out.max() <= obs.max()


def test_decloud_ignores_values_under_the_cloud():
    series = _series()
    cloud = _cloud()
    holed = series.copy()
    holed[0][cloud] = np.nan
    out = run_decloud(holed, cloud)
    assert np.all(np.isfinite(out))
    assert same_bits(out, run_decloud(series, cloud))


def test_decloud_mask_shapes():
    series = _series()
    cloud = _cloud()
    a = run_decloud(series, cloud)
    assert same_bits(a, run_decloud(series, cloud[..., None]))
    assert same_bits(a, run_decloud(series, np.repeat(cloud[..., None], B, 2).astype(float)))
    per_band = np.stack([cloud, np.roll(cloud, 3, axis=1)], axis=-1)
    out = run_decloud(series, per_band)
    assert out.shape == (H, W, B)
    assert same_bits(out[~per_band], series[0][~per_band])


def test_decloud_input_errors():
    series = _series()
    raises("does not fit", run_decloud, series, np.zeros((H + 1, W), bool))
    raises("does not fit", run_decloud, series, np.zeros((H, W, B + 1), bool))
    raises(
        r"series must have shape \(T, H, W, B\)",
        decloud,
        series[0],
        _cloud(),
        device="cpu",
        settings=tiny("decloud", channels=B),
    )
    raises("at least 2 dates", run_decloud, series[:1], _cloud())
    raises("whole first date", run_decloud, series, np.ones((H, W), bool))
    raises("not binary", run_decloud, series, _cloud() * 0.5)
    bad = series.copy()
    bad[1, 0, 0, 0] = np.nan  # clear reference dates are observed
    raises("NaN or Inf", run_decloud, bad, _cloud())
    raises("ground_truth shape", run_decloud, series, _cloud(), ground_truth=series[0, :-1])


# --------------------------------------------------------------------------- 4. denoise
DENOISE = [
    {"noise": "mixed"},
    {"noise": "gaussian"},
    {"noise": "gaussian", "video": True},
]


def run_denoise(img, **kw):
    chans = 1 if img.ndim == 2 else img.shape[2]
    opts = {k: kw[k] for k in ("noise", "video") if k in kw}
    kw.setdefault("settings", tiny("denoise", channels=chans, **opts))
    return denoise(img, device="cpu", **kw)


@pytest.mark.parametrize("opts", DENOISE, ids=["mixed", "gaussian", "video"])
def test_denoise_runs_and_keeps_layout(opts):
    clean = smooth((H, W, 4))
    noisy = clean + 0.1 * np.random.default_rng(3).standard_normal(clean.shape)
    noisy = noisy.astype(np.float32)
    r = run_denoise(noisy, full_output=True, **opts)
    assert r.image.shape == noisy.shape and r.image.dtype == np.float32
    assert np.all(np.isfinite(r.image))
    assert r.image.min() >= 0.0 and r.image.max() <= 1.0
    assert not np.array_equal(r.image, noisy)
    assert np.abs(r.image - noisy).max() > 1e-3
    assert r.settings.admm.noise == opts["noise"]
    assert r.settings.network.output == ("tanh" if opts.get("video") else "linear")


@pytest.mark.parametrize("shape,dtype", [((H, W), np.uint8), ((H, W, 3), np.uint16)])
def test_denoise_integer_and_grey_layouts(shape, dtype):
    img = np.round(smooth(shape) * 200 + 20).astype(dtype)
    out = run_denoise(img, noise="gaussian")
    assert out.shape == img.shape and out.dtype == np.dtype(dtype)
    assert not np.array_equal(out, img)


def test_monitored_metrics_are_in_the_references_units_when_the_data_were_stretched():
    """Noisy data on a [0, 300] scale are stretched from their noisy extremes; the monitor
    (history, oracle, Result.metrics) must measure what the output is worth in the
    reference's own range, as ``pyngr.metrics`` on the output does: in the solver's units
    the PSNR read 20 log10 of the two ranges' ratio too high (6 dB here)."""
    clean = smooth((H, W, 3)) * 300.0
    noisy = clean + 300.0 * 0.5 * np.random.default_rng(4).standard_normal(clean.shape)
    r = run_denoise(noisy, ground_truth=clean, full_output=True, monitor_every=1)
    assert np.ptp(noisy) > 1.9 * np.ptp(clean)  # stretched, far from the reference's range
    lo, span = clean.min(), np.ptp(clean)
    expected = psnr(np.clip((r.image - lo) / span, 0, 1), (clean - lo) / span)
    assert r.history.selected_iteration in (None, r.history.iterations)  # the final iterate
    assert abs(r.metrics["psnr"] - expected) < 0.01
    assert abs(r.history.records[-1]["psnr"] - expected) < 0.01


@pytest.mark.parametrize("case, expected", [
    ("unit_plus_strong_noise", (0.0, 1.0)), ("clean_unit", (0.0, 1.0)),
    ("clean_symmetric", None), ("clean_radiance", None)])
def test_noisy_float_data_are_taken_as_unit_range_only_when_noise_explains_the_overshoot(
        case, expected):
    rng = np.random.default_rng(5)
    dark = 0.05 * smooth((32, 32, 6))  # mostly near 0, as the Pavia crop (median 0.04)
    img = {"unit_plus_strong_noise": dark + 0.3 * rng.standard_normal(dark.shape),
           "clean_unit": dark, "clean_symmetric": 2 * smooth((32, 32, 6)) - 1,
           "clean_radiance": 300 * smooth((32, 32, 6))}[case]
    if case == "unit_plus_strong_noise":
        assert np.percentile(img, 1) < -0.5  # the old rule (bulk within 0.5) stretched it
    assert api._noisy_unit_range(img) == expected


def test_denoise_input_errors():
    img = smooth((H, W, 3)).astype(np.float32)
    bad = img.copy()
    bad[2, 3, 1] = np.nan
    raises("NaN or Inf", run_denoise, bad)
    bad[2, 3, 1] = -np.inf
    raises("NaN or Inf", run_denoise, bad)
    raises("unknown noise", denoise, img, noise="poisson", device="cpu")
    raises("ground_truth shape", run_denoise, img, ground_truth=img[:, :, :2])
    raises("iterations must be >= 1", run_denoise, img, iterations=0)


# --------------------------------------------------------------------------- 5. bad inputs
def _img():
    return smooth((H, W, 3)).astype(np.float32)


def _nan_observed():
    img = _img()
    img[0, 0, 0] = np.nan
    return img


def _inf_observed():
    img = _img()
    img[0, 0, 0] = np.inf
    return img


BAD_INPAINT = {
    "mask shape": (lambda: (_img(), np.ones((H + 1, W), bool)), {}, "does not match"),
    "mask channels": (lambda: (_img(), np.ones((H, W, 2), bool)), {}, "does not match"),
    "mask non-binary": (
        lambda: (_img(), np.tile([0.0, 0.5, 1.0], H * W)[: H * W].reshape(H, W)),
        {},
        "not binary",
    ),
    "mask strings": (lambda: (_img(), np.full((H, W), "x")), {}, "boolean or 0/1"),
    "mask empty": (lambda: (_img(), np.zeros((H, W), bool)), {}, "observes nothing"),
    "nan observed": (lambda: (_nan_observed(), np.ones((H, W))), {}, "NaN or Inf"),
    "inf observed": (lambda: (_inf_observed(), np.ones((H, W))), {}, "NaN or Inf"),
    "4 dims": (
        lambda: (np.zeros((2, H, W, 3), np.float32), np.ones((H, W))),
        {},
        r"image must have shape \(H, W\) or \(H, W, C\)",
    ),
    "1 dim": (lambda: (np.zeros(H, np.float32), np.ones(H)), {}, "image must have shape"),
    "strings": (lambda: (np.full((H, W), "a"), np.ones((H, W))), {}, "numeric array"),
    "bool": (lambda: (np.ones((H, W), bool), np.ones((H, W))), {}, "numeric array"),
    "empty": (lambda: (np.zeros((0, W), np.float32), np.ones((0, W))), {}, "empty"),
    "preset": (
        lambda: (_img(), rand_mask((H, W))),
        {"preset": "turbo", "settings": None},
        "unknown preset 'turbo'",
    ),
    "iterations 0": (
        lambda: (_img(), rand_mask((H, W))),
        {"iterations": 0},
        "iterations must be >= 1",
    ),
    "preset and settings": (
        lambda: (_img(), rand_mask((H, W))),
        {"preset": "paper"},
        "either preset= or settings=",
    ),
    "ground truth": (
        lambda: (_img(), rand_mask((H, W))),
        {"ground_truth": np.zeros((H, W, 2), np.float32)},
        "ground_truth shape",
    ),
    "ground truth dtype": (
        lambda: (_img(), rand_mask((H, W))),
        {"ground_truth": np.full((H, W, 3), "a")},
        "ground_truth must be",
    ),
    "device": (lambda: (_img(), rand_mask((H, W))), {"device": "tpu"}, "unknown device 'tpu'"),
    "device type": (
        lambda: (_img(), rand_mask((H, W))),
        {"device": "meta"},
        "unsupported device 'meta'",
    ),
    "data_range": (lambda: (_img(), rand_mask((H, W))), {"data_range": (1.0, 0.0)}, "data_range"),
}


@pytest.mark.parametrize("key", list(BAD_INPAINT))
def test_inpaint_bad_input_is_one_line_input_error(key):
    make, kwargs, match = BAD_INPAINT[key]
    img, mask = make()
    kwargs = {"device": "cpu", "settings": tiny("inpaint", channels=3), **kwargs}
    err = raises(match, inpaint, img, mask, **kwargs)
    assert isinstance(err, ValueError) and isinstance(err, PyngrError)


def test_preset_equal_to_the_settings_preset_is_accepted():
    img = _img()
    out = run_inpaint(img, rand_mask((H, W)), preset="fast", iterations=2)
    assert out.shape == img.shape


def test_error_classes():
    assert issubclass(InputError, ValueError) and issubclass(InputError, PyngrError)
    assert issubclass(DeviceError, RuntimeError) and issubclass(DeviceError, PyngrError)
    assert pyngr.InputError is InputError and pyngr.DeviceError is DeviceError


@no_cuda
@pytest.mark.parametrize("dev", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_cuda_is_device_error(dev):
    err = raises("CUDA", resolve_device, dev, exc=DeviceError)
    assert not isinstance(err, InputError)
    raises(
        "CUDA",
        inpaint,
        _img(),
        rand_mask((H, W)),
        exc=DeviceError,
        device=dev,
        settings=tiny(channels=3),
    )
    raises(
        "CUDA", denoise, _img(), exc=DeviceError, device=dev, settings=tiny("denoise", channels=3)
    )


# --------------------------------------------------------------------------- 6. honesty
def test_ground_truth_never_changes_the_result():
    img = _img()
    mask = rand_mask((H, W))
    blind = run_inpaint(img, mask, seed=7)
    r = run_inpaint(img, mask, seed=7, ground_truth=img, full_output=True, monitor_every=2)
    assert isinstance(r, api.Result)
    assert same_bits(r.image, blind)
    assert isinstance(r.history.oracle, dict) and "iteration" in r.history.oracle
    assert r.history.oracle["iteration"] in r.history.column("iteration")
    psnrs = r.history.column("psnr")
    assert r.history.oracle["psnr"] == max(psnrs)
    assert {"psnr", "psnr_missing"} <= set(r.metrics)
    assert np.isfinite(r.metrics["psnr_missing"])
    # observed entries are exact, so the whole-image PSNR beats the missing-only one
    assert r.metrics["psnr"] > r.metrics["psnr_missing"]
    # the reported metrics are those of the final iterate
    assert r.metrics["psnr"] == psnrs[-1]


def test_ground_truth_never_changes_denoise_or_decloud():
    img = _img()
    noisy = (img + 0.1 * np.random.default_rng(0).standard_normal(img.shape)).astype(np.float32)
    a = run_denoise(noisy, seed=3)
    b = run_denoise(noisy, seed=3, ground_truth=img, full_output=True)
    assert same_bits(a, b.image) and "psnr" in b.metrics and b.history.oracle is not None
    series = _series()
    a = run_decloud(series, _cloud())
    b = run_decloud(series, _cloud(), ground_truth=series[0], full_output=True)
    assert same_bits(a, b.image) and {"psnr", "psnr_missing"} <= set(b.metrics)


def test_no_ground_truth_means_no_oracle_and_no_metrics():
    r = run_inpaint(_img(), rand_mask((H, W)), full_output=True)
    assert r.history.oracle is None and r.metrics == {}
    assert "psnr" not in r.history.records[-1]


@pytest.mark.parametrize(
    "iterations,every,expected", [(7, 3, [3, 6, 7]), (6, 2, [2, 4, 6]), (4, 10, [4])]
)
def test_history_records_at_monitoring_points(iterations, every, expected):
    r = run_inpaint(
        _img(), rand_mask((H, W)), iterations=iterations, monitor_every=every, full_output=True
    )
    assert r.history.column("iteration") == expected
    assert r.history.iterations == iterations and not r.history.stopped_early
    assert r.settings.iterations == iterations


# --------------------------------------------------------------------------- 7. reproducibility
def test_same_seed_same_output_different_seed_different_output():
    img = _img()
    mask = rand_mask((H, W))
    a = run_inpaint(img, mask, seed=1)
    b = run_inpaint(img, mask, seed=1)
    c = run_inpaint(img, mask, seed=2)
    assert same_bits(a, b)
    assert not np.array_equal(a[~mask], c[~mask])
    assert run_inpaint(img, mask, seed=5, full_output=True).settings.seed == 5


@pytest.mark.parametrize("task", ["inpaint", "denoise", "decloud"])
def test_global_torch_rng_untouched(task):
    torch.manual_seed(12345)
    before = torch.random.get_rng_state()
    if task == "inpaint":
        run_inpaint(_img(), rand_mask((H, W)))
    elif task == "denoise":
        run_denoise(_img())
    else:
        run_decloud(_series(), _cloud())
    assert torch.equal(torch.random.get_rng_state(), before)


# --------------------------------------------------------------------------- 8. monitoring PSNR
def _chw(a):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 0)))


def test_monitoring_psnr_equals_metrics_psnr_random_data():
    rng = np.random.default_rng(4)
    x = rng.random((H, W, 3)).astype(np.float32)
    ref = np.clip(x + 0.05 * rng.standard_normal(x.shape), -0.1, 1.1).astype(np.float32)
    assert abs(_psnr_8bit(_chw(x), _chw(ref)) - psnr(x, ref)) < 1e-9
    region = rng.random((H, W, 3)) < 0.3
    got = _psnr_8bit(_chw(x), _chw(ref), _chw(region))
    assert abs(got - psnr(x, ref, region=region)) < 1e-9
    shared = rng.random((H, W)) < 0.4
    got = _psnr_8bit(_chw(x), _chw(ref), _chw(np.repeat(shared[..., None], 3, 2)))
    assert abs(got - psnr(x, ref, region=shared)) < 1e-9
    # a channel without region entries is skipped by both
    region[..., 1] = False
    got = _psnr_8bit(_chw(x), _chw(ref), _chw(region))
    assert abs(got - psnr(x, ref, region=region)) < 1e-9


def test_monitoring_psnr_equals_metrics_psnr_at_rounding_boundaries():
    """float32 values next to the 8-bit rounding midpoints (k + 0.5) / 255."""
    k = np.arange(255)
    mid = ((k + 0.5) / 255).astype(np.float32)
    vals = np.concatenate([np.nextafter(mid, np.float32(0)), mid, np.nextafter(mid, np.float32(1))])
    x = vals[: 3 * 255].reshape(15, 17, 3)
    ref = np.full_like(x, 0.5)
    assert abs(_psnr_8bit(_chw(x), _chw(ref)) - psnr(x, ref)) < 1e-9


# --------------------------------------------------------------------------- 9. callback
def test_callback_receives_iteration_info():
    seen: list[IterationInfo] = []
    img = _img()
    r = run_inpaint(
        img,
        rand_mask((H, W)),
        iterations=5,
        monitor_every=2,
        callback=seen.append,
        ground_truth=img,
        full_output=True,
    )
    assert all(isinstance(i, IterationInfo) for i in seen)
    assert [i.iteration for i in seen] == [2, 4, 5]
    assert all(i.iterations == 5 and np.isfinite(i.loss) for i in seen)
    assert all("psnr" in i.metrics for i in seen)
    est = seen[-1].estimate()
    assert est.shape == (3, H, W) and est.min() >= 0 and est.max() <= 1
    assert not r.history.stopped_early


def test_callback_returning_true_stops_early():
    calls = []

    def stop(info):
        calls.append(info.iteration)
        return True

    r = run_inpaint(
        _img(), rand_mask((H, W)), iterations=10, monitor_every=3, callback=stop, full_output=True
    )
    assert calls == [3]
    assert r.history.stopped_early and r.history.iterations == 3
    assert r.history.column("iteration") == [3]
    # stopping at the last iteration is not an early stop
    r = run_inpaint(
        _img(), rand_mask((H, W)), iterations=3, monitor_every=3, callback=stop, full_output=True
    )
    assert not r.history.stopped_early and r.history.iterations == 3


# --------------------------------------------------------------------------- 10. progress
def test_progress_bar_writes_to_stderr(capsys):
    out = run_inpaint(_img(), rand_mask((H, W)), iterations=3, progress=True)
    captured = capsys.readouterr()
    assert out.shape == (H, W, 3)
    assert captured.err.strip() != ""
    assert "inpaint" in captured.err
    # not a terminal (captured): plain lines, the last one at the end with its ETA
    assert "3/3 (100%)" in captured.err.splitlines()[-1] and "ETA" in captured.err
    assert captured.out == ""


def test_no_progress_writes_nothing(capsys):
    run_inpaint(_img(), rand_mask((H, W)), iterations=2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# --------------------------------------------------------------------------- 11. defaults
@no_cuda
def test_resolve_device_defaults_to_cpu_without_cuda():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("AUTO") == torch.device("cpu")


def test_resolve_device_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_default_preset_on_cpu_is_fast():
    img = np.random.default_rng(0).random((12, 12)).astype(np.float32)
    r = inpaint(img, rand_mask((12, 12)), device="cpu", iterations=1, full_output=True)
    assert r.settings.preset == "fast" and r.settings.task == "inpaint"
    fast = get_settings("inpaint", "fast", channels=1)
    assert r.settings == fast.replace(iterations=1)


def test_settings_are_returned_as_used():
    s = tiny("inpaint", channels=3)
    r = run_inpaint(_img(), rand_mask((H, W)), settings=s, iterations=3, seed=9, full_output=True)
    assert r.settings == s.replace(iterations=3, seed=9)


def _common_paper_network(s):
    n = s.network
    assert (n.width, n.depth, n.skip_channels, n.heads) == (128, 5, 4, "separate")
    assert n.pad == "reflection" and n.conv1x1_up
    assert n.input_scale == 0.1 and n.input_channels is None
    assert s.optimizer.lr == 0.01 and s.seed == 2333


@pytest.mark.parametrize("channels,lambda_t", [(3, 0.5), (10, 5.0), (30, 5.0)])
def test_paper_inpainting_settings_match_spec(channels, lambda_t):
    s = get_settings("inpaint", "paper", channels=channels)
    assert s.task == "inpaint" and s.preset == "paper" and s.iterations == 15000
    assert s.admm == InpaintingADMM(lambda_t=lambda_t, alpha=0.1, rho=1.2, mu_max=50.0)
    _common_paper_network(s)
    assert s.network.upsample == "nearest" and s.network.output == "linear"
    assert s.network.input_noise == 0.03 and s.optimizer.weight_decay == 0.0


@pytest.mark.parametrize("channels,observed,lambda_t",
                         [(1, None, 0.5), (3, 0.1, 0.5), (4, 0.1, 0.5), (10, 0.1, 100.0),
                          (102, 0.2, 100.0), (102, 0.5, 5.0), (10, 0.9, 5.0), (4, 0.9, 5.0),
                          (3, 0.9, 0.5)])
def test_fast_inpainting_weighs_the_channel_gradient_of_sparse_multichannel_images_more(
        channels, observed, lambda_t):
    # the paper's ADMM otherwise; RGB keeps the paper's 0.5, other tasks the paper's 5
    s = get_settings("inpaint", "fast", channels=channels, observed=observed)
    paper = get_settings("inpaint", "paper", channels=channels, observed=observed)
    assert s.admm == dataclasses.replace(paper.admm, lambda_t=lambda_t)
    for task in ("decloud", "denoise"):
        assert get_settings(task, "fast", channels=channels).admm \
            == get_settings(task, "paper", channels=channels).admm


def test_fast_inpainting_of_five_channels_or_more_uses_separate_networks():
    from pyngr.presets import FAST_SEPARATE_HEADS_MIN_CHANNELS as limit

    def heads(channels, task="inpaint", **kw):
        return get_settings(task, "fast", channels=channels, **kw).network.heads

    assert 3 < limit <= 5  # separate from 5 frames or bands on, not for RGB
    assert [heads(c) for c in (1, 3, limit - 1, limit, 30, 224)] == [
        "shared", "shared", "shared", "separate", "separate", "separate"]
    # an addition of the preset's inpainting only (the bench keeps the trunk)
    assert heads(224, additions=False) == "shared"
    assert heads(224, "decloud") == heads(224, "denoise") == "shared"
    assert get_settings("inpaint", "fast", channels=224).network.width == 48  # fast's width
    rng = np.random.default_rng(0)
    cube = rng.random((12, 12, limit)).astype(np.float32)
    res = inpaint(cube, rng.random(cube.shape) < 0.2, iterations=1, device="cpu",
                  full_output=True, overrides={"network.width": 4, "network.depth": 1})
    assert res.settings.network.heads == "separate"
    assert {k.split(".")[0] for k in res.network_state} == {"nets"} and len(
        {k.split(".")[1] for k in res.network_state}) == 3  # three networks' weights


def test_fast_weighs_rough_channels_as_the_paper_weighs_rgb():
    """Multispectral bands (channel_roughness >= FAST_ROUGH_CHANNELS_MIN) get λ_t = 0.5 where
    sparsely observed, at any iteration count or network; dense observations keep the
    paper's 5; smooth channels and an unknown roughness the smooth rule (100)."""
    from pyngr.presets import FAST_ROUGH_CHANNELS_MIN as rough
    from pyngr.presets import FAST_ROUGH_LAMBDA_T, channel_roughness

    def lam(roughness, channels=8, observed=0.1, **kw):
        return get_settings("inpaint", "fast", channels=channels, observed=observed,
                            roughness=roughness, **kw).admm.lambda_t

    assert FAST_ROUGH_LAMBDA_T == 0.5 and rough == 1.0
    assert [lam(r) for r in (None, 0.3, 0.99, 1.0, 30.0)] == [100.0, 100.0, 100.0, 0.5, 0.5]
    assert lam(5.0, channels=4) == lam(5.0, iterations=9000) == lam(5.0, channels=224) == 0.5
    assert lam(5.0, observed=0.9) == 5.0
    assert lam(5.0, additions=False) == 5.0  # the bench's `fast` keeps the paper's
    assert get_settings("inpaint", "fast", channels=3, observed=0.1, roughness=5.0) \
        .admm.lambda_t == 0.5  # RGB: the paper's own
    # inpaint reads the roughness from the observation only
    rng = np.random.default_rng(3)
    bands, frames = _bands(rng, (12, 12, 5)), _frames(rng, (12, 12, 5))
    mask = rng.random((12, 12, 5)) < 0.2
    assert channel_roughness(np.where(mask, bands, np.nan), mask) > 5
    assert channel_roughness(np.where(mask, frames, np.nan), mask) < 0.2
    got = [inpaint(np.where(mask, x, np.nan), mask, iterations=1, device="cpu",
                   full_output=True).settings.admm.lambda_t for x in (bands, frames)]
    assert got == [0.5, 100.0]


def test_get_settings_rejects_an_observed_fraction_outside_0_1():
    with pytest.raises(InputError, match="observed must be a fraction"):
        get_settings("inpaint", "fast", channels=10, observed=30)


@pytest.mark.parametrize("kept,lambda_t", [(0.1, 0.5), (0.9, 5.0)])
def test_inpaint_picks_the_fast_lambda_t_from_its_mask(kept, lambda_t):
    rng = np.random.default_rng(0)
    img = _frames(rng, (12, 12, 4))
    mask = rng.random((12, 12)) < kept  # one mask for all channels: the same fraction
    res = inpaint(img, mask, iterations=2, device="cpu", full_output=True)
    assert res.settings.admm.lambda_t == lambda_t


def test_fast_few_channels_lambda_t_is_for_short_runs_only():
    """With the shared trunk (fewer than 5 smooth channels) λ_t = 0.5 was measured in short
    runs only: from FAST_LAMBDA_T_MAX_ITERATIONS on the paper's 5, whether the count comes
    from get_settings, inpaint's argument or an override; the separate networks (5 channels
    or more) keep 100 at any count."""
    from pyngr.presets import FAST_FEW_CHANNELS_LAMBDA_T, FAST_MULTICHANNEL_LAMBDA_T
    from pyngr.presets import FAST_LAMBDA_T_MAX_ITERATIONS as limit

    def lam(n, channels=4):
        s = get_settings("inpaint", "fast", channels=channels, observed=0.1, iterations=n)
        assert s.iterations == (1500 if n is None else n)
        return s.admm.lambda_t

    assert 1500 < limit  # the preset's own budget keeps the rule
    assert (FAST_FEW_CHANNELS_LAMBDA_T, FAST_MULTICHANNEL_LAMBDA_T) == (0.5, 100.0)
    assert (lam(None), lam(limit - 1), lam(limit), lam(3 * limit)) == (0.5, 0.5, 5.0, 5.0)
    assert lam(None, 2) == 0.5 and lam(limit, 2) == 5.0
    # with the separate networks λ_t = 100 held on to 3000 iterations (measured from 10 on)
    assert (lam(None, 10), lam(limit, 10), lam(3 * limit, 224)) == (100.0, 100.0, 100.0)
    assert get_settings("inpaint", "paper", channels=10, iterations=7).iterations == 7
    with pytest.raises(InputError, match="iterations must be >= 1"):
        get_settings("inpaint", "fast", iterations=0)
    with pytest.raises(InputError, match="iterations must be an integer"):
        inpaint(np.ones((8, 8, 4)), np.ones((8, 8), bool), device="cpu",
                overrides={"iterations": "many"})
    rng = np.random.default_rng(0)
    img = _frames(rng, (12, 12, 4))
    mask = rng.random((12, 12)) < 0.1
    tiny = {"network.width": 4, "network.depth": 1}
    for kw in ({"iterations": limit, "overrides": tiny},
               {"overrides": {**tiny, "iterations": limit}}):
        # the settings of a long run; the callback ends it after one iteration
        res = inpaint(img, mask, device="cpu", full_output=True, monitor_every=1,
                      callback=lambda info: True, **kw)
        assert res.history.iterations == 1
        assert (res.settings.iterations, res.settings.admm.lambda_t) == (limit, 5.0)


def test_inpaint_many_picks_the_fast_lambda_t_per_image():
    rng = np.random.default_rng(1)
    shape = (12, 12, 6)  # separate networks: smooth frames get 100 there
    imgs = [_frames(rng, shape), _frames(rng, shape), _bands(rng, shape)]
    masks = [rng.random(shape) < kept for kept in (0.1, 0.9, 0.1)]
    res = pyngr.inpaint_many(imgs, masks, iterations=2, device="cpu", full_output=True)
    assert [r.settings.admm.lambda_t for r in res] == [100.0, 5.0, 0.5]


def test_paper_cloud_removal_settings_match_spec():
    s = get_settings("decloud", "paper", channels=26)
    assert s.iterations == 15000
    assert s.admm == InpaintingADMM(lambda_t=5.0, alpha=0.1, rho=1.2, mu_max=50.0)
    _common_paper_network(s)
    assert s.network.upsample == "nearest" and s.network.input_noise == 0.0
    assert s.optimizer.weight_decay == 0.0


@pytest.mark.parametrize(
    "noise,video,row,output",
    [
        ("gaussian", True, (2.0, 0.02, 1.05, 0.16, 150.0, 150.0, 0.16, 0.34), "tanh"),
        ("mixed", False, (3.0, 1.0, 1.2, 0.16, 2.0, 150.0, 0.16, 0.6), "linear"),
        ("gaussian", False, (4.0, 1.0, 1.05, 0.16, 150.0, 150.0, 0.16, 0.4), "linear"),
    ],
    ids=["video-gaussian", "hsi-mixed", "hsi-gaussian"],
)
def test_paper_denoising_settings_match_spec(noise, video, row, output):
    s = get_settings("denoise", "paper", channels=10, noise=noise, video=video)
    assert s.iterations == 4000
    lmd, alpha, rho, mu_max, beta, gamma, hv_cap, t_cap = row
    assert s.admm == DenoisingADMM(
        noise=noise,
        sparse_weight=lmd,
        alpha=alpha,
        rho=rho,
        mu_max=mu_max,
        beta=beta,
        gamma=gamma,
        mu_hv_max=hv_cap,
        mu_t_max=t_cap,
        ema=0.99,
    )
    _common_paper_network(s)
    assert s.optimizer.weight_decay == 5.0
    assert s.network.upsample == "bilinear" and s.network.output == output
    assert s.network.input_noise == 0.03


@pytest.mark.parametrize(
    "task,kw",
    [
        ("inpaint", {"channels": 3}),
        ("inpaint", {"channels": 8}),
        ("decloud", {"channels": 6}),
        ("denoise", {"noise": "mixed"}),
        ("denoise", {"noise": "gaussian", "video": True}),
    ],
)
def test_fast_preset_keeps_the_paper_admm(task, kw):
    paper = get_settings(task, "paper", **kw)
    fast = get_settings(task, "fast", **kw)
    assert fast.preset == "fast"
    # all but multichannel inpainting's λ_t (test_fast_inpainting_weighs_the_channel_...)
    if task == "inpaint":
        assert dataclasses.replace(fast.admm, lambda_t=paper.admm.lambda_t) == paper.admm
    assert (fast.admm == paper.admm) == (task != "inpaint" or kw["channels"] == 3)
    assert fast.optimizer == paper.optimizer
    assert fast.network.upsample == paper.network.upsample
    assert fast.network.output == paper.network.output
    assert fast.network.input_noise == paper.network.input_noise
    assert fast.iterations < paper.iterations and fast.network.width < paper.network.width
    assert paper.network.input_noise_schedule == "constant"  # the reference's
    assert fast.network.input_noise_schedule == ("auto" if task == "inpaint" else "constant")


def test_fast_cloud_removal_runs_its_own_longer_budget():
    from pyngr.presets import FAST_DECLOUD_ITERATIONS

    assert FAST_DECLOUD_ITERATIONS == get_settings("decloud", "fast", channels=39).iterations
    assert FAST_DECLOUD_ITERATIONS > get_settings("inpaint", "fast").iterations == 1500
    assert get_settings("denoise", "fast").iterations == 1500
    # a count the caller names wins; the bench's fast (no additions) keeps 1500
    assert get_settings("decloud", "fast", iterations=700).iterations == 700
    assert get_settings("decloud", "fast", additions=False).iterations == 1500
    assert get_settings("decloud", "paper").iterations == 15000


@pytest.mark.parametrize(("task", "kw"), [
    ("inpaint", {"channels": 3}), ("inpaint", {"channels": 10}),
    ("inpaint", {"channels": 10, "observed": 0.9}), ("decloud", {"channels": 12}),
    ("denoise", {"noise": "mixed"}), ("denoise", {"noise": "gaussian", "video": True}),
    ("denoise", {"noise": "gaussian"})])
def test_fast_without_additions_is_paper_at_fast_size(task, kw):
    """``additions=False`` (what ``ngr bench`` runs) differs from ``paper`` only in the
    network's size and shape, the iteration count and the result rule: an addition to
    ``fast`` that is not left out there fails here."""
    paper = get_settings(task, "paper", **kw).to_dict()
    bare = get_settings(task, "fast", additions=False, **kw).to_dict()
    assert bare["iterations"] < paper["iterations"]
    assert bare["network"]["width"] < paper["network"]["width"]
    for key in ("preset", "iterations", "selection"):
        bare[key] = paper[key]
    for key in ("width", "depth", "heads"):
        bare["network"][key] = paper["network"][key]
    assert bare == paper
    # additions=True is the preset users get; for paper there is nothing to leave out
    assert get_settings(task, "paper", additions=False, **kw).to_dict() == paper


# --------------------------------------------------------------------------- regressions
def test_settings_of_another_task_are_refused():
    img, mask = smooth((12, 12, 3)), rand_mask((12, 12))
    raises("settings are for task 'denoise'", inpaint, img, mask,
           settings=get_settings("denoise"), device="cpu")
    raises("'mixed' noise", denoise, img, noise="gaussian",
           settings=tiny("denoise", noise="mixed"), device="cpu")


@pytest.mark.parametrize(("value", "dtype"), [(3.0, np.float64), (5000, np.uint16)])
def test_constant_image_fills_within_its_range(value, dtype):
    img = np.full((12, 12), value, dtype=dtype)
    out = run_inpaint(img, rand_mask((12, 12)))
    assert out.dtype == dtype
    assert 0 <= out.min() and out.max() <= value


def test_ground_truth_with_nan_is_refused():
    img, mask = smooth((12, 12, 3)), rand_mask((12, 12))
    gt = img.copy()
    gt[0, 0, 0] = np.nan
    raises("ground_truth has NaN", run_inpaint, img, mask, ground_truth=gt)


def test_inpaint_many_gives_each_image_its_inpaint_result():
    rng = np.random.default_rng(3)
    imgs = [(rng.random((20, 24, 3)) * 255).astype(np.uint8) for _ in range(3)]
    masks = [rng.random((20, 24)) < 0.4 for _ in range(3)]
    st = pyngr.presets.get_settings("inpaint", "fast").replace(iterations=6)
    alone = [pyngr.inpaint(np.where(m[..., None], im, 0), m, settings=st.replace(seed=s),
                           device="cpu", ground_truth=im, full_output=True)
             for im, m, s in zip(imgs, masks, (1, 2, 3), strict=True)]
    together = pyngr.inpaint_many([np.where(m[..., None], im, 0) for im, m in
                                   zip(imgs, masks, strict=True)], masks, settings=st,
                                  seeds=[1, 2, 3], device="cpu", ground_truths=imgs,
                                  full_output=True)
    for a, b in zip(alone, together, strict=True):
        assert b.image.dtype == np.uint8 and np.array_equal(a.image, b.image)
        assert b.settings.seed == a.settings.seed and b.metrics == a.metrics
        assert b.history.oracle == a.history.oracle


def test_inpaint_many_refuses_mixed_shapes_and_counts():
    a, b = np.zeros((16, 16)), np.zeros((16, 20))
    with pytest.raises(InputError, match="one shape"):
        pyngr.inpaint_many([a, b], [a == 0, b == 0], iterations=2, device="cpu")
    with pytest.raises(InputError, match="as many masks"):
        pyngr.inpaint_many([a, a], [a == 0], iterations=2, device="cpu")
    with pytest.raises(InputError, match="one entry per image"):
        pyngr.inpaint_many([a, a], [a == 0, a == 0], seeds=[1], iterations=2, device="cpu")


def test_inpaint_many_callback_sees_the_first_image_and_stops_all():
    rng = np.random.default_rng(4)
    imgs = [rng.random((16, 16)).astype(np.float32) for _ in range(2)]
    masks = [rng.random((16, 16)) < 0.5 for _ in range(2)]
    seen = []

    def stop_at_4(info):
        seen.append(info.iteration)
        return info.iteration >= 4

    res = pyngr.inpaint_many(imgs, masks, iterations=10, monitor_every=2, callback=stop_at_4,
                             device="cpu", full_output=True)
    assert seen == [2, 4]
    assert [r.history.iterations for r in res] == [4, 4]
    assert all(r.history.stop_reason == "callback" for r in res)


# --------------------------------------------------------------------------- overrides
def test_overrides_change_the_named_settings_only():
    img = _img()
    res = run_inpaint(img, rand_mask((H, W)), iterations=2, full_output=True,
                      overrides={"network.width": 8, "admm.lambda_t": 0.4})
    plain = tiny("inpaint", channels=3).replace(iterations=2)  # run_inpaint's settings
    expected = plain.replace(network=dataclasses.replace(plain.network, width=8),
                             admm=dataclasses.replace(plain.admm, lambda_t=0.4))
    assert res.settings == expected.replace(seed=res.settings.seed)
    den = denoise(img, noise="gaussian", iterations=2, device="cpu", full_output=True,
                  overrides={"selection": "final"})
    assert den.settings.selection == "final"
    with pytest.raises(InputError, match="no field 'nope'"):
        run_inpaint(img, rand_mask((H, W)), iterations=2, overrides={"admm.nope": 1})
