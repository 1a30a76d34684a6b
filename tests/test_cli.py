"""The ``ngr`` command line end to end on tiny images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pyngr.cli import main
from pyngr.errors import InputError
from pyngr.io import read_image, write_image


@pytest.fixture
def scene(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:36]
    clean = np.stack([(128 + 100 * np.sin(xx / 6 + k) * np.cos(yy / 7)) for k in range(3)], -1)
    clean = clean.round().clip(0, 255).astype(np.uint8)
    gt = tmp_path / "gt.png"
    Image.fromarray(clean).save(gt)
    mask = rng.random(clean.shape[:2]) < 0.4
    Image.fromarray(np.where(mask[..., None], clean, 0).astype(np.uint8)).save(tmp_path / "obs.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    return tmp_path, clean, mask


def test_inpaint_end_to_end(scene, capsys):
    d, clean, mask = scene
    out = d / "out.png"
    rc = main(["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-o", str(out),
               "-n", "4", "--gt", str(d / "gt.png"), "--figure", str(d / "fig.png"),
               "--device", "cpu"])
    assert rc == 0
    res = np.asarray(Image.open(out))
    assert res.shape == clean.shape and res.dtype == np.uint8
    assert np.array_equal(res[mask], clean[mask])  # observed entries exact
    record = json.loads((d / "out.png.json").read_text())
    assert record["settings"]["iterations"] == 4 and record["settings"]["preset"] == "fast"
    assert record["run"]["iterations"] == 4
    final = record["metrics"]["result"]
    assert record["metrics"]["result_is"] == "final iterate"
    assert set(final) == {"whole_image", "missing_entries"}
    assert record["metrics"]["oracle_monitored"]["iteration"] >= 1
    assert (d / "fig.png").stat().st_size > 1000
    err = capsys.readouterr().err
    assert "final iterate" in err and "oracle" in err
    # the record repeats the run
    from pyngr.presets import Settings

    assert Settings.from_dict(record["settings"]).iterations == 4


def test_settings_of_a_run_record_repeat_the_run_and_set_changes_one(scene):
    d, _, _ = scene
    base = ["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-q", "--device", "cpu"]
    assert main([*base, "-o", str(d / "a.png"), "-n", "3", "--seed", "7",
                 "--set", "network.width=8", "--set", "admm.lambda_t=0.4"]) == 0
    first = json.loads((d / "a.png.json").read_text())["settings"]
    assert first["network"]["width"] == 8 and first["admm"]["lambda_t"] == 0.4
    assert first["seed"] == 7 and first["iterations"] == 3
    # the record alone repeats the run (CPU: exactly)
    assert main([*base, "-o", str(d / "b.png"), "--settings", str(d / "a.png.json")]) == 0
    assert json.loads((d / "b.png.json").read_text())["settings"] == first
    assert np.array_equal(np.asarray(Image.open(d / "a.png")),
                          np.asarray(Image.open(d / "b.png")))
    # --set on top of it changes that setting only
    assert main([*base, "-o", str(d / "c.png"), "--settings", str(d / "a.png.json"),
                 "--set", "network.deterministic=true"]) == 0
    third = json.loads((d / "c.png.json").read_text())["settings"]
    assert third["network"].pop("deterministic") is True
    assert first["network"].pop("deterministic") is False and third == first


def test_denoise_settings_bring_their_noise_model(tmp_path):
    rng = np.random.default_rng(0)
    noisy = (rng.random((24, 20, 3)) * 0.8 + 0.1).astype(np.float32)
    np.save(tmp_path / "noisy.npy", noisy)
    base = ["denoise", str(tmp_path / "noisy.npy"), "-q", "--device", "cpu", "-n", "2",
            "--set", "network.width=8"]
    assert main([*base, "--noise", "gaussian", "-o", str(tmp_path / "a.npy")]) == 0
    assert main([*base, "--settings", str(tmp_path / "a.npy.json"),
                 "-o", str(tmp_path / "b.npy")]) == 0  # no --noise: the record's
    rec = json.loads((tmp_path / "b.npy.json").read_text())
    assert rec["inputs"]["noise"] == "gaussian" and rec["settings"]["admm"]["noise"] == "gaussian"
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_baseline_settings_file_names_its_method(scene):
    d, _, _ = scene
    base = ["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-q", "--device", "cpu"]
    assert main([*base, "-o", str(d / "tv.png"), "--method", "tv", "-n", "5"]) == 0
    assert main([*base, "-o", str(d / "tv2.png"), "--settings", str(d / "tv.png.json")]) == 0
    second = json.loads((d / "tv2.png.json").read_text())["settings"]
    assert second["method"] == "tv" and second["iterations"] == 5
    assert np.array_equal(np.asarray(Image.open(d / "tv.png")),
                          np.asarray(Image.open(d / "tv2.png")))


def test_existing_output_needs_force(scene, capsys):
    d, _, _ = scene
    out = d / "out.png"
    out.write_bytes(b"keep me")
    args = ["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-o", str(out), "-n", "2",
            "-q", "--device", "cpu"]
    assert main(args) == 2
    assert out.read_bytes() == b"keep me"
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert out.read_bytes() != b"keep me"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inpaint", "{d}/missing.png", "-m", "{d}/mask.png"], "no such file"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/small_mask.png"], "does not match"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/grey_mask.png"], "not binary"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/empty_mask.png"], "observes nothing"),
        (["inpaint", "{d}/nan.npy", "-m", "{d}/mask.png", "-o", "{d}/result.npy"], "NaN"),
        (["inpaint", "{d}/corrupt.png", "-m", "{d}/mask.png"], "corrupt.png"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/mask.png", "--preset", "turbo"], "turbo"),
        (["decloud", "{d}/obs.png", "{d}/gt.png", "-m", "{d}/small_mask.png"], "does not fit"),
        (["denoise", "{d}/clean.npy"], "cannot store float32"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/mask.png", "--set", "network.nope=1"],
         "no field 'nope'"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/mask.png", "--set", "iterations"], "path=VALUE"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/mask.png", "--settings", "{d}/none.json"],
         "not found"),
        (["inpaint", "{d}/obs.png", "-m", "{d}/mask.png", "--settings", "{d}/gt.png"],
         "cannot read settings"),
        (["denoise", "{d}/obs.png", "--settings", "{d}/inpaint_settings.json"],
         "settings are for task 'inpaint'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(scene, capsys, args, message):
    d, clean, mask = scene
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(d / "small_mask.png")
    Image.fromarray(np.full(clean.shape[:2], 128, np.uint8)).save(d / "grey_mask.png")
    Image.fromarray(np.zeros(clean.shape[:2], np.uint8)).save(d / "empty_mask.png")
    bad = clean.astype(np.float32) / 255
    i, j = np.argwhere(mask)[0]
    bad[i, j, 0] = np.nan  # at an observed entry
    np.save(d / "nan.npy", bad)
    np.save(d / "clean.npy", clean.astype(np.float32) / 255)  # float data cannot go to .png
    (d / "corrupt.png").write_bytes(np.random.default_rng(0).bytes(500))
    from pyngr.presets import get_settings

    (d / "inpaint_settings.json").write_text(get_settings("inpaint", "fast").to_json())
    before = set(d.iterdir())
    argv = [a.format(d=d) for a in args] + ["-n", "2", "-q", "--device", "cpu"]
    if "-o" not in argv:
        argv += ["-o", str(d / "result.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert set(d.iterdir()) == before  # nothing written, no temporary left behind


def test_cuda_requested_but_absent(scene, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    d, _, _ = scene
    rc = main(["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-o",
               str(d / "r.png"), "--device", "cuda"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: CUDA") and "\n" not in err
    assert not (d / "r.png").exists()


def test_degrade_then_evaluate(scene, capsys):
    d, clean, _ = scene
    assert main(["degrade", str(d / "gt.png"), "-o", str(d / "deg.png"), "--kind", "random",
                 "--rate", "0.3", "--seed", "1", "-q"]) == 0
    obs = np.asarray(Image.open(d / "deg.png"))
    m = np.asarray(Image.open(d / "deg_mask.png")) > 0
    assert 0.25 < m.mean() < 0.35
    assert np.array_equal(obs[m], clean[m]) and (obs[~m] == 0).all()
    assert main(["evaluate", str(d / "deg.png"), str(d / "gt.png"), "-m",
                 str(d / "deg_mask.png"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["missing_entries"]["psnr"] < metrics["whole_image"]["psnr"]
    assert main(["degrade", str(d / "gt.png"), "-o", str(d / "noisy.tif"), "--kind", "gaussian",
                 "--sigma", "0.1", "-q"]) == 0
    noisy = read_image(d / "noisy.tif").data
    assert noisy.dtype == np.uint8 and 15 < np.std(noisy.astype(float) - clean) < 35


def test_degrade_a_stack_writes_its_mask_in_the_stack_format_or_nothing(tmp_path, capsys):
    """A 10-frame .mat: the mask goes to <stem>_mask.mat under the same variable name (a PNG
    cannot hold 10 channels), and inpaint reads it back; an output that cannot hold the mask
    stops the command before either file is written."""
    from scipy.io import loadmat, savemat

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (20, 24, 10), dtype=np.uint8)
    savemat(tmp_path / "clip.mat", {"frames": clip})
    assert main(["degrade", str(tmp_path / "clip.mat"), "--key", "frames", "-o",
                 str(tmp_path / "obs.mat"), "--rate", "0.3", "-q"]) == 0
    mask = loadmat(tmp_path / "obs_mask.mat")["frames"] > 0
    obs = loadmat(tmp_path / "obs.mat")["frames"]
    assert mask.shape == clip.shape and 0.25 < mask.mean() < 0.35
    assert np.array_equal(obs[mask], clip[mask]) and (obs[~mask] == 0).all()
    assert main(["inpaint", str(tmp_path / "obs.mat"), "--key", "frames", "--mask",
                 str(tmp_path / "obs_mask.mat"), "-o", str(tmp_path / "out.mat"), "-n", "2",
                 "--set", "network.width=4", "--set", "network.depth=2", "-q"]) == 0
    out = loadmat(tmp_path / "out.mat")["frames"]
    assert np.array_equal(out[mask], clip[mask])
    capsys.readouterr()
    assert main(["degrade", str(tmp_path / "clip.mat"), "--key", "frames", "-o",
                 str(tmp_path / "b.mat"), "--mask-out", str(tmp_path / "b_mask.png")]) == 2
    assert "b_mask.png" in capsys.readouterr().err
    assert not (tmp_path / "b.mat").exists() and not (tmp_path / "b_mask.png").exists()


@pytest.mark.parametrize("command", ["inpaint", "denoise", "decloud"])
def test_data_range_reaches_the_api_and_bad_ranges_are_one_line_errors(tmp_path, monkeypatch,
                                                                       capsys, command):
    import pyngr.api

    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32) * 900
    write_image(tmp_path / "x.npy", img)
    write_image(tmp_path / "m.png", np.full((16, 16), 255, np.uint8))
    seen = []

    def spy(*args, data_range=None, **kw):
        seen.append(data_range)
        raise InputError("stop here")

    monkeypatch.setattr(pyngr.api, command, spy)
    args = {"inpaint": ["inpaint", str(tmp_path / "x.npy"), "--mask", str(tmp_path / "m.png")],
            "denoise": ["denoise", str(tmp_path / "x.npy")],
            "decloud": ["decloud", str(tmp_path / "x.npy"), str(tmp_path / "x.npy"),
                        "--cloud-mask", str(tmp_path / "m.png")]}[command]
    out = ["-o", str(tmp_path / "out.npy")]
    assert main([*args, *out, "--data-range", "0,1000"]) == 2
    assert main([*args, *out]) == 2
    assert seen == [(0.0, 1000.0), None]
    capsys.readouterr()
    for bad in ("1000,0", "0;1", "a,b", "0,1,2"):
        assert main([*args, *out, "--data-range", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --data-range") and "\n" not in err
    assert not (tmp_path / "out.npy").exists()


def test_figure_bands_are_checked_before_the_run_and_reach_the_figure(tmp_path, monkeypatch,
                                                                       capsys):
    import pyngr.figures

    cube = np.random.default_rng(0).random((16, 16, 5)).astype(np.float32)
    write_image(tmp_path / "x.npy", cube)
    write_image(tmp_path / "m.png", np.full((16, 16), 255, np.uint8))
    base = ["inpaint", str(tmp_path / "x.npy"), "--mask", str(tmp_path / "m.png"), "-o",
            str(tmp_path / "out.npy"), "--figure", str(tmp_path / "f.png"), "-n", "1",
            "--set", "network.width=4", "--set", "network.depth=2", "-q"]
    for bad in ("5,1,0", "1,0", "x"):
        assert main([*base, "--figure-bands", bad]) == 2
        assert capsys.readouterr().err.startswith("error: --figure-bands")
    assert not (tmp_path / "out.npy").exists()
    seen = []
    real = pyngr.figures.side_by_side
    monkeypatch.setattr(pyngr.figures, "side_by_side",
                        lambda *a, **kw: seen.append(kw.get("bands")) or real(*a, **kw))
    assert main([*base, "--figure-bands", "4,2,0"]) == 0
    assert seen == [(4, 2, 0)] and (tmp_path / "f.png").exists()


def test_video_denoising_figure_shows_the_first_frame(tmp_path, monkeypatch):
    import pyngr.figures

    clip = np.random.default_rng(0).random((16, 16, 4)).astype(np.float32)
    write_image(tmp_path / "v.npy", clip)
    seen = []
    real = pyngr.figures.side_by_side
    monkeypatch.setattr(pyngr.figures, "side_by_side",
                        lambda *a, **kw: seen.append((kw.get("bands"), kw.get("frames")))
                        or real(*a, **kw))
    assert main(["denoise", str(tmp_path / "v.npy"), "--noise", "gaussian", "--video", "-o",
                 str(tmp_path / "out.npy"), "--figure", str(tmp_path / "f.png"), "-n", "1",
                 "--set", "network.width=4", "--set", "network.depth=2", "-q"]) == 0
    assert seen == [((0,), True)]  # the first frame, on (0, 1) as grey pictures are


@pytest.mark.parametrize("video", [True, False])
def test_video_inpainting_figure_shows_the_first_frame(tmp_path, monkeypatch, video):
    import pyngr.figures

    rng = np.random.default_rng(0)
    clip = rng.random((16, 16, 4)).astype(np.float32)
    write_image(tmp_path / "v.npy", clip)
    write_image(tmp_path / "m.npy", (rng.random(clip.shape) < 0.5).astype(np.uint8))
    seen = []
    real = pyngr.figures.side_by_side
    monkeypatch.setattr(pyngr.figures, "side_by_side",
                        lambda *a, **kw: seen.append((kw.get("bands"), kw.get("frames")))
                        or real(*a, **kw))
    assert main(["inpaint", str(tmp_path / "v.npy"), "-m", str(tmp_path / "m.npy"),
                 *(["--video"] if video else []), "-o", str(tmp_path / "out.npy"),
                 "--figure", str(tmp_path / "f.png"), "-n", "1", "--set", "network.width=4",
                 "--set", "network.depth=2", "-q"]) == 0
    # a video: its first frame in grey; 4 bands otherwise: the figure's own band choice
    assert seen == [((0,), True) if video else (None, False)]
    assert (tmp_path / "f.png").exists()


def test_ground_truth_in_its_own_variable_as_in_the_papers_files(tmp_path, capsys):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    clean = rng.random((16, 16, 4))
    m = rng.random(clean.shape) < 0.5
    savemat(tmp_path / "gt.mat", {"gt": clean})
    savemat(tmp_path / "obs.mat", {"obs": clean * m, "mask": m.astype(np.uint8)})
    args = ["inpaint", str(tmp_path / "obs.mat"), "--key", "obs", "--mask",
            str(tmp_path / "obs.mat"), "--mask-key", "mask", "--gt", str(tmp_path / "gt.mat"),
            "-o", str(tmp_path / "out.mat"), "-n", "2", "--set", "network.width=4", "--set",
            "network.depth=2", "-q"]
    assert main(args) == 2
    assert "has no variable 'obs'" in capsys.readouterr().err
    assert main([*args, "--gt-key", "gt"]) == 0
    record = json.loads((tmp_path / "out.mat.json").read_text())
    assert record["metrics"]["result"]["missing_entries"]["psnr"] > 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "out.mat"), str(tmp_path / "gt.mat"), "--key", "obs",
                 "--gt-key", "gt", "-m", str(tmp_path / "obs.mat"), "--mask-key", "mask",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == record["metrics"]["result"]


def test_denoise_and_decloud_commands(tmp_path):
    rng = np.random.default_rng(0)
    clean = rng.random((24, 24, 4)).astype(np.float32) * 0.5 + 0.25
    write_image(tmp_path / "noisy.npy", clean + 0.05 * rng.standard_normal(clean.shape,
                                                                             dtype=np.float32))
    assert main(["denoise", str(tmp_path / "noisy.npy"), "-o", str(tmp_path / "den.npy"),
                 "--noise", "gaussian", "-n", "3", "-q", "--device", "cpu"]) == 0
    assert np.load(tmp_path / "den.npy").shape == clean.shape
    series = np.stack([clean, clean * 0.9, clean * 1.1]).astype(np.float32)
    np.save(tmp_path / "series.npy", series)
    cloud = np.zeros((24, 24), np.uint8)
    cloud[6:14, 5:15] = 255
    Image.fromarray(cloud).save(tmp_path / "cloud.png")
    assert main(["decloud", str(tmp_path / "series.npy"), "-m", str(tmp_path / "cloud.png"),
                 "-o", str(tmp_path / "clear.npy"), "-n", "3", "-q", "--device", "cpu"]) == 0
    out = np.load(tmp_path / "clear.npy")
    assert out.shape == (24, 24, 4)
    assert np.array_equal(out[cloud == 0], clean[cloud == 0])


def test_demo_writes_everything(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "-n", "3", "--device", "cpu"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"observed.png", "mask.png", "restored.png", "figure.png",
            "restored.png.json"} <= names
    record = json.loads((out / "restored.png.json").read_text())
    assert "biharmonic_missing_entries" in record["metrics"]["result"]
    # the default RGB preset starts from the bundled weights, and says so
    assert record["run"]["warm_start"] == "pyngr:fast_rgb_inpaint"
    err = capsys.readouterr().err
    assert "figure" in err and "from weights pyngr:fast_rgb_inpaint" in err


def test_demo_runs_its_own_iteration_count_with_fast(tmp_path, monkeypatch):
    import pyngr.cli as cli

    monkeypatch.setattr(cli, "DEMO_ITERATIONS", 2)
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--device", "cpu", "-q"]) == 0
    record = json.loads((out / "restored.png.json").read_text())
    assert record["settings"]["iterations"] == 2 and record["settings"]["preset"] == "fast"


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("pyngr ")


def test_main_tunes_the_allocator_once_per_process(monkeypatch):
    import platform
    import sys

    import pyngr.cli as cli

    expected = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert cli._keep_freed_memory() is expected  # mallopt accepted both values
    calls = []
    monkeypatch.setattr(cli, "_keep_freed_memory", lambda: calls.append(1) or True)
    assert main(["version"]) == 0
    assert calls == [1]


def test_python_dash_m_pyngr_runs_the_cli() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pyngr", "bench", "list"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("table1")


def test_time_limit_stops_with_a_checkpoint_and_the_same_command_resumes(scene, capsys):
    d, _, _ = scene
    base = ["inpaint", str(d / "obs.png"), "-m", str(d / "mask.png"), "-q", "--device", "cpu",
            "-n", "6", "--set", "network.width=8", "--set", "init_weights=null"]
    assert main([*base, "-o", str(d / "whole.png")]) == 0
    out = d / "part.png"
    capsys.readouterr()
    assert main([*base, "-o", str(out), "--time-limit", "0"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("stopped: stopped at iteration 1 of 6 (time limit)")
    assert not out.exists() and not (d / "part.png.json").exists()  # nothing half-written
    ckpt = d / "part.png.ckpt"
    assert ckpt.exists()
    assert main([*base, "-o", str(out), "--checkpoint", str(ckpt)]) == 0
    assert not ckpt.exists()
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(d / "whole.png")))
    # a checkpoint of another run is refused in one line
    assert main([*base, "-o", str(d / "other.png"), "--time-limit", "0", "--seed", "4"]) == 3
    assert main([*base, "-o", str(d / "x.png"), "--checkpoint",
                 str(d / "other.png.ckpt")]) == 2
    assert "is from another run" in capsys.readouterr().err
