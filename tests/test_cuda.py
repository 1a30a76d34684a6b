"""CUDA against CPU for the three tasks (skipped without a GPU; `pytest -m cuda` on one).

A seed fixes the same start on every device (input, weights and starting guess are drawn on
the CPU), so with TF32 off and no per-iteration input perturbation one iteration on CUDA
gives the CPU's answer up to float32 round-off. Later iterations drift apart: Adam's first
steps are sign-like and the inpainting solve integrates the gradient maps, so round-off
grows (measured on an H200: 5 iterations of the 48x48 check differ by up to 228/255 with
TF32 on; a 1e-4 relative change of the network output does the same on the CPU).
Two CUDA runs with one seed repeat exactly only with ``NetworkSettings.deterministic``
(H100, 2026-11-26: without it, cuDNN's algorithm search and atomic additions made two
5-iteration decloud runs differ by up to 0.29).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import pyngr
from pyngr.data import demo_image
from pyngr.degradations import random_mask
from pyngr.presets import get_settings

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.fixture
def no_tf32():
    conv, mm = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm


def _settings(task: str, iterations: int, **kw):
    s = get_settings(task, "fast", **kw).replace(iterations=iterations)
    return s.replace(network=dataclasses.replace(s.network, input_noise=0.0))


def _deterministic(s):
    return s.replace(network=dataclasses.replace(s.network, deterministic=True))


def test_inpaint_one_iteration_matches_cpu(no_tf32):
    img = demo_image()[:48, :48].astype(np.float32) / 255
    mask = random_mask(img.shape, 0.3, seed=0)
    s = _settings("inpaint", 1)
    a = pyngr.inpaint(img * mask, mask, settings=s, device="cpu")
    b = pyngr.inpaint(img * mask, mask, settings=s, device="cuda")
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_allclose(b, a, atol=2e-3)


def test_denoise_one_iteration_matches_cpu(no_tf32):
    img = demo_image()[:48, :48].astype(np.float32) / 255
    noisy = (img + 0.1 * np.random.default_rng(0).standard_normal(img.shape)).astype(np.float32)
    s = _settings("denoise", 1, noise="gaussian")
    a = pyngr.denoise(noisy, settings=s, noise="gaussian", device="cpu")
    b = pyngr.denoise(noisy, settings=s, noise="gaussian", device="cuda")
    np.testing.assert_allclose(b, a, atol=2e-3)


def test_decloud_on_cuda_keeps_clear_pixels_and_repeats():
    series = np.random.default_rng(0).random((3, 32, 32, 4)).astype(np.float32)  # (T,H,W,B)
    cloud = np.zeros((32, 32), bool)
    cloud[8:20, 8:20] = True
    s = _deterministic(get_settings("decloud", "fast").replace(iterations=5))
    a = pyngr.decloud(series, cloud, settings=s, device="cuda")
    b = pyngr.decloud(series, cloud, settings=s, device="cuda")
    assert a.shape == series.shape[1:] and a.dtype == series.dtype
    assert np.array_equal(a[~cloud], series[0][~cloud])
    np.testing.assert_array_equal(a, b)  # same seed, same device, deterministic: same run


def test_paper_engine_options_run_on_cuda():
    img = demo_image()[:64, :64]
    mask = random_mask(img.shape, 0.3, seed=0)
    s = get_settings("inpaint", "paper").replace(iterations=3)
    s = s.replace(network=dataclasses.replace(s.network, fused=True, channels_last=True,
                                              precision="bfloat16"))
    out = pyngr.inpaint(np.where(mask, img, 0).astype(np.uint8), mask, settings=s,
                        device="cuda")
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert np.array_equal(out[mask], img[mask])


def test_denoise_with_bilinear_upsampling_repeats_when_deterministic():
    img = demo_image()[:48, :48].astype(np.float32) / 255
    noisy = (img + 0.1 * np.random.default_rng(0).standard_normal(img.shape)).astype(np.float32)
    s = _deterministic(get_settings("denoise", "fast", noise="gaussian").replace(iterations=5))
    s = s.replace(network=dataclasses.replace(s.network, upsample="bilinear"))
    a = pyngr.denoise(noisy, settings=s, noise="gaussian", device="cuda")
    b = pyngr.denoise(noisy, settings=s, noise="gaussian", device="cuda")
    np.testing.assert_array_equal(a, b)


def test_inpaint_many_on_cuda_matches_single_runs(no_tf32):
    # One iteration: grouped convolutions over 3 and over 9 groups run different cuDNN
    # algorithms, whose round-off the later iterations amplify (H100: 0.02 after 3).
    rng = np.random.default_rng(1)
    imgs = [rng.random((32, 32, 3)).astype(np.float32) for _ in range(3)]
    masks = [rng.random((32, 32)) < 0.4 for _ in range(3)]
    s = _settings("inpaint", 1)
    s = s.replace(network=dataclasses.replace(s.network, heads="separate", fused=True))
    alone = [pyngr.inpaint(im * m[..., None], m, settings=s.replace(seed=i), device="cuda")
             for i, (im, m) in enumerate(zip(imgs, masks, strict=True))]
    together = pyngr.inpaint_many([im * m[..., None] for im, m in zip(imgs, masks, strict=True)],
                                  masks, settings=s, seeds=[0, 1, 2], device="cuda")
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(b, a, atol=2e-3)


def test_available_memory_counts_what_the_allocator_caches():
    from pyngr.tiling import available_memory

    torch.cuda.empty_cache()
    before = available_memory("cuda")
    x = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")  # 256 MiB
    del x  # cached by the allocator, not returned to the driver
    after = available_memory("cuda")
    assert abs(after - before) < 64 * 2**20


def test_a_run_stopped_and_resumed_on_cuda_is_the_uninterrupted_run(tmp_path):
    # checkpoint on CUDA: Adam's fused state, the CUDA perturbation stream, CUDA tensors
    # saved and mapped back; deterministic, so the two runs must agree exactly
    img = demo_image()[:48, :48].astype(np.float32) / 255
    mask = random_mask(img.shape, 0.3, seed=0)
    s = get_settings("inpaint", "fast").replace(iterations=12, init_weights=None)
    s = _deterministic(s)
    whole = pyngr.inpaint(img * mask, mask, settings=s, device="cuda")
    path = tmp_path / "run.ckpt"
    with pytest.raises(pyngr.RunInterrupted):
        pyngr.inpaint(img * mask, mask, settings=s, device="cuda",
                      checkpoint=pyngr.Checkpointing(path, stop_after=5))
    with pytest.raises(pyngr.InputError, match="another run"):  # device type is part of it
        pyngr.inpaint(img * mask, mask, settings=s, device="cpu", checkpoint=path)
    resumed = pyngr.inpaint(img * mask, mask, settings=s, device="cuda", checkpoint=path)
    np.testing.assert_array_equal(resumed, whole)
