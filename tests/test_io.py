"""Tests for pyngr.io: reading/writing images, masks and atomic output."""

from __future__ import annotations

import doctest
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

import pyngr.io as pio
from pyngr.errors import InputError
from pyngr.io import ImageData, atomic_output, read_image, read_mask, write_image

from .conftest import SHARED as _SHARED

SHARED = _SHARED or Path("/nonexistent/shared/data")  # the tests below skip without it
PAVIA = SHARED / "hsi" / "pavia_centre_crop_100x100x102.mat"
CLAIRE = SHARED / "video" / "claire_qcif_gray_10f.mat"

RNG = np.random.default_rng(1234)


def _rand(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return RNG.random(shape) > 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return RNG.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
    if dt.kind == "c":
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dt)
    return RNG.standard_normal(shape).astype(dt)


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((6, 7), "uint8"),
        ((6, 7, 3), "uint8"),
        ((6, 7, 4), "uint8"),
        ((6, 7, 2), "uint8"),
        ((6, 7), "uint16"),
        ((6, 7), "bool"),
    ],
)
def test_png_round_trip_exact(tmp_path, shape, dtype):
    x = _rand(shape, dtype)
    out = write_image(tmp_path / "x.png", x)
    assert out == tmp_path / "x.png"
    img = read_image(out)
    _assert_same(img.data, x)
    assert img.geo is None and img.key is None
    assert _listing(tmp_path) == ["x.png"]  # no temp file left behind


@pytest.mark.parametrize("shape", [(5, 9), (5, 9, 3)])
def test_bmp_round_trip_exact(tmp_path, shape):
    x = _rand(shape, "uint8")
    _assert_same(read_image(write_image(tmp_path / "x.bmp", x)).data, x)


def test_jpeg_is_written_and_read_back_close(tmp_path):
    yy, xx = np.mgrid[0:32, 0:32]
    x = np.stack([yy * 4, xx * 4, (yy + xx) * 2], axis=-1).astype(np.uint8)
    y = read_image(write_image(tmp_path / "x.jpg", x)).data
    assert y.shape == x.shape and y.dtype == np.uint8
    assert np.abs(y.astype(int) - x.astype(int)).mean() < 3


def test_palette_png_is_read_as_rgb(tmp_path):
    im = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), mode="P")
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.save(tmp_path / "p.png")
    data = read_image(tmp_path / "p.png").data
    assert data.shape == (2, 2, 3)
    np.testing.assert_array_equal(data[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(data[0, 1], [0, 0, 255])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("channels", [None, 1, 3, 5, 31])
def test_tiff_round_trip_exact(tmp_path, dtype, channels):
    shape = (9, 11) if channels is None else (9, 11, channels)
    x = _rand(shape, dtype)
    _assert_same(read_image(write_image(tmp_path / "x.tif", x)).data, x)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int16", "uint32", "float64", "complex64"])
def test_tiff_round_trip_other_dtypes(tmp_path, dtype):
    x = _rand((5, 6, 4), dtype)
    _assert_same(read_image(write_image(tmp_path / "x.tiff", x)).data, x)


def test_tiff_bands_first_planar_is_made_channel_last(tmp_path):
    x = _rand((3, 20, 30), "uint16")
    tifffile.imwrite(tmp_path / "planar.tif", x, photometric="minisblack", planarconfig="separate")
    _assert_same(read_image(tmp_path / "planar.tif").data, np.moveaxis(x, 0, -1))


def test_tiff_page_stack_is_made_channel_last(tmp_path):
    x = _rand((4, 10, 12), "float32")
    tifffile.imwrite(tmp_path / "stack.tif", x, photometric="minisblack")
    _assert_same(read_image(tmp_path / "stack.tif").data, np.moveaxis(x, 0, -1))


def test_npy_round_trip(tmp_path):
    x = _rand((4, 5, 2, 3), "float64")
    _assert_same(read_image(write_image(tmp_path / "x.npy", x)).data, x)


def test_npz_key_choice(tmp_path):
    a, b = _rand((4, 5), "float32"), _rand((4, 5, 3), "uint8")
    np.savez(tmp_path / "two.npz", a=a, b=b)
    img = read_image(tmp_path / "two.npz", key="b")
    _assert_same(img.data, b)
    assert img.key == "b"
    with pytest.raises(InputError, match=r"several arrays in .*two\.npz: a, b; choose one"):
        read_image(tmp_path / "two.npz")
    out = write_image(tmp_path / "out.npz", a, like=img)
    with np.load(out) as npz:
        assert npz.files == ["b"]
    _assert_same(read_image(out).data, a)


def test_mat_v5_key_choice_and_ambiguity(tmp_path):
    gt, obs = _rand((4, 5, 3), "float64"), _rand((4, 5, 3), "float64")
    scipy.io.savemat(tmp_path / "pair.mat", {"gt": gt, "obs": obs, "Nway": np.array([[1, 2, 3]])})
    with pytest.raises(InputError, match=r"several arrays in .*pair\.mat: gt, obs; choose one"):
        read_image(tmp_path / "pair.mat")
    img = read_image(tmp_path / "pair.mat", key="obs")
    _assert_same(img.data, obs)
    assert img.key == "obs"
    # a vector next to the only image is metadata, not a candidate
    scipy.io.savemat(tmp_path / "one.mat", {"I": gt.astype(np.uint8), "Nway": np.array([[1, 4]])})
    assert read_image(tmp_path / "one.mat").key == "I"


def test_mat_v5_write_uses_like_key(tmp_path):
    x = _rand((4, 5, 6), "float32")
    like = ImageData(x, tmp_path / "src.mat", key="X")
    out = write_image(tmp_path / "out.mat", x, like=like)
    assert "X" in scipy.io.loadmat(out)
    img = read_image(out)
    _assert_same(img.data, x)
    assert img.key == "X"


def test_mat_v73_axes_are_reversed_back(tmp_path):
    h5py = pytest.importorskip("h5py")
    x = _rand((6, 5, 3), "float64")  # MATLAB shape (H, W, C)
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as fh:
        fh.create_dataset("data", data=x.transpose(2, 1, 0))  # how MATLAB lays it out
        fh["data"].attrs["MATLAB_class"] = np.bytes_("double")
        mask = fh.create_dataset("mask", data=(x[..., 0] > 0).astype(np.uint8).T)
        mask.attrs["MATLAB_class"] = np.bytes_("logical")
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, written by a test".ljust(128))
    img = read_image(path, key="data")
    assert img.key == "data"
    _assert_same(img.data, x)
    m = read_image(path, key="mask").data
    _assert_same(m, x[..., 0] > 0)
    with pytest.raises(InputError, match=r"several arrays.*data, mask"):
        read_image(path)
    with pytest.raises(InputError, match="no variable 'nope'"):
        read_image(path, key="nope")


def test_gray_conversion_uses_601_luma_and_keeps_dtype(tmp_path):
    x = np.zeros((2, 2, 3), dtype=np.uint8)
    x[0, 0] = [255, 0, 0]
    x[0, 1] = [0, 255, 0]
    x[1, 0] = [0, 0, 255]
    x[1, 1] = [100, 100, 100]
    write_image(tmp_path / "c.png", x)
    g = read_image(tmp_path / "c.png", gray=True).data
    assert g.dtype == np.uint8
    np.testing.assert_array_equal(g, [[76, 150], [29, 100]])


def test_gray_conversion_of_colour_video(tmp_path):
    x = _rand((4, 5, 3, 6), "float32")
    np.save(tmp_path / "v.npy", x)
    g = read_image(tmp_path / "v.npy", gray=True).data
    assert g.shape == (4, 5, 6) and g.dtype == np.float32
    expected = 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2]
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ folders


def test_folder_of_frames_natural_order(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in (1, 2, 10, 3):
        Image.fromarray(np.full((4, 5), t, dtype=np.uint8)).save(frames / f"frame_{t}.png")
    (frames / "notes.txt").write_text("ignored")
    img = read_image(frames)
    assert img.data.shape == (4, 5, 4) and img.data.dtype == np.uint8
    np.testing.assert_array_equal(img.data[0, 0], [1, 2, 3, 10])  # frame_2 before frame_10


def test_folder_of_colour_frames_needs_gray(tmp_path):
    for t in range(2):
        Image.fromarray(_rand((4, 5, 3), "uint8")).save(tmp_path / f"f{t}.png")
    with pytest.raises(InputError, match="gray=True"):
        read_image(tmp_path)
    assert read_image(tmp_path, gray=True).data.shape == (4, 5, 2)


def test_folder_frames_must_match(tmp_path):
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(tmp_path / "a1.png")
    Image.fromarray(np.zeros((4, 6), np.uint8)).save(tmp_path / "a2.png")
    with pytest.raises(InputError, match="all frames must match"):
        read_image(tmp_path)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no image files"):
        read_image(tmp_path)


def test_write_folder_then_read(tmp_path):
    x = _rand((6, 7, 12), "uint8")
    out = write_image(f"{tmp_path}/video/", x)
    assert out == tmp_path / "video"
    names = _listing(out)
    assert names[0] == "frame_0001.png" and len(names) == 12
    _assert_same(read_image(out).data, x)
    assert _listing(tmp_path) == ["video"]  # temp folder gone
    with pytest.raises(InputError, match="exists; pass --force"):
        write_image(out, x[..., :3])
    write_image(out, x[..., :3], force=True)
    _assert_same(read_image(out).data, x[..., :3])
    assert _listing(tmp_path) == ["video"]


def test_write_folder_refuses_to_replace_foreign_files(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="refusing to replace"):
        write_image(tmp_path, _rand((3, 3, 2), "uint8"), force=True)
    assert _listing(tmp_path) == ["keep.txt"]


# ------------------------------------------------------------------ GeoTIFF


def test_geotiff_round_trip_keeps_georeferencing(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    transform = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 4600000.0)
    x = _rand((3, 8, 9), "uint16")
    src = tmp_path / "scene.tif"
    with rasterio.open(
        src, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint16",
        crs="EPSG:32633", transform=transform, nodata=0,
    ) as ds:  # fmt: skip
        ds.write(x)
    img = read_image(src)
    _assert_same(img.data, np.moveaxis(x, 0, -1))
    assert img.geo is not None
    restored = img.data.astype(np.float32) / 65535
    out = write_image(tmp_path / "restored.tif", restored, like=img)
    back = read_image(out)
    _assert_same(back.data, restored)
    assert back.geo["crs"].to_epsg() == 32633
    assert back.geo["transform"] == transform
    assert back.geo["nodata"] == 0
    # single band comes back 2-D
    one = write_image(tmp_path / "one.tif", restored[..., 0], like=img)
    assert read_image(one).data.shape == (8, 9)


def test_geotiff_without_rasterio_falls_back_to_tifffile(tmp_path, monkeypatch):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    x = _rand((5, 6), "float32")
    with rasterio.open(
        tmp_path / "g.tif", "w", driver="GTiff", height=5, width=6, count=1, dtype="float32",
        crs="EPSG:32633", transform=Affine(20.0, 0.0, 0.0, 0.0, -20.0, 0.0),
    ) as ds:  # fmt: skip
        ds.write(x[None])
    monkeypatch.setitem(sys.modules, "rasterio", None)
    img = read_image(tmp_path / "g.tif")
    assert img.geo is None
    _assert_same(img.data, x)


def test_plain_tiff_has_no_geo(tmp_path):
    x = _rand((4, 4), "uint8")
    assert read_image(write_image(tmp_path / "plain.tif", x)).geo is None


# ------------------------------------------------------------------ errors


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.png: no such file"):
        read_image(tmp_path / "nope.png")


@pytest.mark.parametrize("suffix", [".png", ".tif", ".mat", ".npy", ".jpg"])
def test_corrupt_file_is_an_input_error(tmp_path, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(RNG.integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(InputError) as info:
        read_image(path)
    message = str(info.value)
    assert f"bad{suffix}" in message and "\n" not in message


def test_unknown_suffix(tmp_path):
    path = tmp_path / "x.xyz"
    path.write_bytes(b"abc")
    with pytest.raises(InputError, match=r"unknown suffix '\.xyz'"):
        read_image(path)
    with pytest.raises(InputError, match=r"unknown suffix '\.xyz'"):
        write_image(tmp_path / "y.xyz", np.zeros((2, 2)))
    assert _listing(tmp_path) == ["x.xyz"]


def test_missing_key(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"a\.npz has no variable 'y' \(variables: x\)"):
        read_image(tmp_path / "a.npz", key="y")
    scipy.io.savemat(tmp_path / "a.mat", {"x": np.zeros((3, 3))})
    with pytest.raises(InputError, match=r"a\.mat has no variable 'y'"):
        read_image(tmp_path / "a.mat", key="y")


def test_sixteen_bit_colour_png_is_refused(tmp_path):
    rows = b"".join(b"\x00" + bytes(2 * 3 * 2) for _ in range(2))  # 2x2 RGB, 16-bit

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    (tmp_path / "deep.png").write_bytes(png)
    with pytest.raises(InputError, match="16-bit colour PNG"):
        read_image(tmp_path / "deep.png")


def test_existing_output_needs_force_and_is_left_untouched(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(InputError, match="exists; pass --force / force=True to overwrite"):
        write_image(target, np.zeros((3, 3), np.uint8))
    assert target.read_bytes() == b"precious"
    write_image(target, np.full((3, 3), 7, np.uint8), force=True)
    np.testing.assert_array_equal(read_image(target).data, 7)
    assert _listing(tmp_path) == ["out.png"]


@pytest.mark.parametrize(
    ("name", "data", "pattern"),
    [
        ("x.png", np.zeros((4, 4, 7), np.uint8), r"\.tif, \.npy or \.mat"),
        ("x.png", np.zeros((4, 4), np.float32), "cannot store float32"),
        ("x.jpg", np.zeros((4, 4, 4), np.uint8), "no alpha"),
        ("x.png", np.zeros((4, 4, 3), np.uint16), "16-bit colour"),
        ("x.tif", np.zeros((2, 3, 4, 5), np.uint8), r"\.npy or \.mat"),
    ],
)
def test_unwritable_data_leaves_nothing(tmp_path, name, data, pattern):
    (tmp_path / "other.txt").write_text("x")
    before = _listing(tmp_path)
    with pytest.raises(InputError, match=pattern):
        write_image(tmp_path / name, data)
    assert _listing(tmp_path) == before


def test_failure_while_writing_removes_temp_file(tmp_path, monkeypatch):
    def broken(tmp, arr):
        Path(tmp).write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(pio, "_write_tiff", broken)
    with pytest.raises(InputError, match="disk full"):
        write_image(tmp_path / "x.tif", np.zeros((3, 3)))
    assert _listing(tmp_path) == []


def test_atomic_output(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".f.txt.") and tmp.name.endswith(".tmp.txt")
        tmp.write_text("ok")
        assert not target.exists()
    assert target.read_text() == "ok"
    with pytest.raises(RuntimeError), atomic_output(target, force=True) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "ok"
    assert _listing(target.parent) == ["f.txt"]
    with pytest.raises(InputError, match="exists"), atomic_output(target):
        pass


# ------------------------------------------------------------------ masks


@pytest.mark.parametrize("high", [1, 255])
def test_mask_binary_values(tmp_path, high):
    m = np.zeros((4, 5), np.uint8)
    m[1:3, 1:4] = high
    write_image(tmp_path / "m.png", m)
    mask = read_mask(tmp_path / "m.png")
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, m > 0)


def test_mask_invert(tmp_path):
    m = RNG.random((4, 5)) > 0.5
    np.save(tmp_path / "m.npy", m)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.npy", invert=True), ~m)


def test_mask_broadcast_over_channels(tmp_path):
    m = RNG.random((4, 5)) > 0.5
    write_image(tmp_path / "m.png", m)
    mask = read_mask(tmp_path / "m.png", shape=(4, 5, 3))
    assert mask.shape == (4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(mask[..., c], m)
    video = read_mask(tmp_path / "m.png", shape=(4, 5, 3, 2))
    assert video.shape == (4, 5, 3, 2) and bool(np.all(video == m[..., None, None]))


def test_mask_per_frame_for_colour_video(tmp_path):
    m = RNG.random((4, 5, 6)) > 0.5
    np.save(tmp_path / "m.npy", m)
    mask = read_mask(tmp_path / "m.npy", shape=(4, 5, 3, 6))
    np.testing.assert_array_equal(mask[:, :, 1, :], m)


def test_mask_colour_with_identical_channels_is_reduced(tmp_path):
    m = (RNG.random((4, 5)) > 0.5).astype(np.uint8) * 255
    write_image(tmp_path / "m.png", np.stack([m, m, m, np.full_like(m, 255)], axis=-1))
    mask = read_mask(tmp_path / "m.png")
    assert mask.shape == (4, 5)
    np.testing.assert_array_equal(mask, m > 0)


def test_mask_near_binary_jpeg_is_thresholded(tmp_path):
    m = np.zeros((32, 32), np.uint8)
    m[8:24, 8:24] = 255
    write_image(tmp_path / "m.jpg", m)
    mask = read_mask(tmp_path / "m.jpg")
    assert (mask != (m > 0)).mean() < 0.01


def test_mask_not_binary(tmp_path):
    write_image(tmp_path / "m.png", _rand((8, 8), "uint8"))
    with pytest.raises(InputError, match=r"mask .*m\.png is not binary"):
        read_mask(tmp_path / "m.png")


def test_mask_shape_mismatch(tmp_path):
    write_image(tmp_path / "m.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(
        InputError, match=r"mask shape \(4, 5\) does not match image shape \(6, 5, 3\)"
    ):
        read_mask(tmp_path / "m.png", shape=(6, 5, 3))


# ------------------------------------------------------------------ docs and real data


def test_docstring_examples_run():
    result = doctest.testmod(pio, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4
    assert result.failed == 0


@pytest.mark.skipif(not PAVIA.exists(), reason="../shared/data not present (benchmark data)")
def test_real_pavia_v73():
    pytest.importorskip("h5py")
    img = read_image(PAVIA, key="data")
    assert img.data.shape == (100, 100, 102)
    assert img.data.dtype == np.float64 and img.data.flags.c_contiguous


@pytest.mark.skipif(not CLAIRE.exists(), reason="../shared/data not present (benchmark data)")
def test_real_claire_video():
    img = read_image(CLAIRE, key="I")
    assert img.data.shape == (176, 144, 10)
    assert img.data.dtype == np.uint8
    assert read_image(CLAIRE).key == "I"
