"""Stopping and resuming NGR runs (pyngr.checkpoint): a resumed run is the uninterrupted one."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import pyngr
from pyngr import Checkpointing, InputError, RunInterrupted

N = 24
SMALL = {"network.width": 8, "network.depth": 2, "init_weights": None}


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:20, 0:20] / 20.0
    clean = np.stack([0.5 + 0.3 * np.sin(4 * xx + c) * np.cos(3 * yy) for c in range(3)], -1)
    clean = clean.astype(np.float32)
    mask = rng.random(clean.shape) < 0.5
    return np.where(mask, clean, 0), mask, clean


def _inpaint(checkpoint=None, seed=0, selection="final", image=None):
    y, mask, clean = _data()
    return pyngr.inpaint(y if image is None else image, mask, iterations=N, device="cpu",
                         seed=seed, ground_truth=clean, monitor_every=4, full_output=True,
                         overrides={**SMALL, "selection": selection,
                                    "selection_window": 4},
                         checkpoint=checkpoint)


def _same_history(a: pyngr.Result, b: pyngr.Result) -> None:
    strip = [{k: v for k, v in r.items() if k != "elapsed"} for r in a.history.records]
    assert strip == [{k: v for k, v in r.items() if k != "elapsed"}
                     for r in b.history.records]
    assert a.history.changes == b.history.changes
    assert a.history.oracle == b.history.oracle
    assert a.history.selected_iteration == b.history.selected_iteration
    assert a.history.iterations == b.history.iterations == N


@pytest.mark.parametrize("selection", ["final", "min_loss"])
def test_a_stopped_and_resumed_inpainting_is_bitwise_the_uninterrupted_run(tmp_path,
                                                                            selection):
    whole = _inpaint(selection=selection)
    path = tmp_path / "run.ckpt"
    with pytest.raises(RunInterrupted) as stop:
        _inpaint(Checkpointing(path, stop_after=9), selection=selection)
    assert (stop.value.iteration, stop.value.iterations, stop.value.reason) == (
        9, N, "stop_after")
    assert path.exists() and "resume" in str(stop.value)
    # a second stop, then the rest: three calls in all
    with pytest.raises(RunInterrupted):
        _inpaint(Checkpointing(path, stop_after=17), selection=selection)
    resumed = _inpaint(path, selection=selection)
    assert not path.exists()  # removed once the run ended
    assert np.array_equal(resumed.image, whole.image)
    _same_history(resumed, whole)
    for key, value in whole.network_state.items():
        assert np.array_equal(resumed.network_state[key].numpy(), value.numpy()), key


def test_denoising_resumes_exactly_with_its_moving_average(tmp_path):
    rng = np.random.default_rng(1)
    clean = _data()[2]
    noisy = np.clip(clean + 0.05 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)

    def run(checkpoint=None):
        return pyngr.denoise(noisy, iterations=N, device="cpu", seed=3, full_output=True,
                             overrides=SMALL, checkpoint=checkpoint)
    whole = run()
    path = tmp_path / "d.ckpt"
    with pytest.raises(RunInterrupted):
        run(Checkpointing(path, stop_after=11))
    resumed = run(path)
    assert np.array_equal(resumed.image, whole.image)
    assert resumed.history.selected_iteration == whole.history.selected_iteration


def test_saves_as_it_goes_and_a_time_limit_stops_after_one_iteration(tmp_path):
    path = tmp_path / "p.ckpt"
    seen = []

    def look(info):
        seen.append((info.iteration, path.exists()))
    y, mask, _ = _data()
    pyngr.inpaint(y, mask, iterations=8, device="cpu", monitor_every=4, callback=look,
                  overrides=SMALL, checkpoint=Checkpointing(path, every=0.0))
    # every=0: saved after each iteration, so the file is there at iteration 4; gone at the end
    assert seen[0] == (4, True) and not path.exists()
    with pytest.raises(RunInterrupted) as stop:
        pyngr.inpaint(y, mask, iterations=8, device="cpu", overrides=SMALL,
                      checkpoint=Checkpointing(path, time_limit=0.0))
    assert (stop.value.iteration, stop.value.reason) == (1, "time limit")


def test_ctrl_c_saves_and_the_run_resumes_exactly(tmp_path):
    whole = _inpaint()
    path = tmp_path / "c.ckpt"
    y, mask, clean = _data()

    def press_ctrl_c(info):
        if info.iteration == 8:
            os.kill(os.getpid(), signal.SIGINT)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterrupted) as stop:
        pyngr.inpaint(y, mask, iterations=N, device="cpu", seed=0, ground_truth=clean,
                      monitor_every=4, callback=press_ctrl_c, full_output=True,
                      overrides={**SMALL, "selection": "final", "selection_window": 4},
                      checkpoint=path)
    assert stop.value.reason == "interrupted" and stop.value.iteration == 8
    assert signal.getsignal(signal.SIGINT) is handler  # the user's handler is back
    resumed = _inpaint(path)
    assert np.array_equal(resumed.image, whole.image)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    path = tmp_path / "x.ckpt"
    with pytest.raises(RunInterrupted):
        _inpaint(Checkpointing(path, stop_after=3))
    with pytest.raises(InputError, match="another run"):
        _inpaint(path, seed=1)  # other settings
    y, _mask, _ = _data()
    with pytest.raises(InputError, match="another run"):
        _inpaint(path, image=np.where(y > 0, y * 0.5, 0))  # other observation
    assert path.exists()  # refused, not overwritten
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        _inpaint(path)


def test_checkpoint_arguments_are_checked(tmp_path):
    y, mask, _ = _data()
    with pytest.raises(InputError, match="NGR option"):
        pyngr.inpaint(y, mask, method="tv", iterations=2, device="cpu",
                      checkpoint=tmp_path / "t.ckpt")
    with pytest.raises(InputError, match="untiled"):
        pyngr.inpaint(y, mask, iterations=2, device="cpu", tile=16, overrides=SMALL,
                      checkpoint=tmp_path / "t.ckpt")
    with pytest.raises(InputError, match="folder"):
        Checkpointing(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        Checkpointing(tmp_path / "nowhere" / "a.ckpt")
    with pytest.raises(InputError, match="seconds"):
        Checkpointing(tmp_path / "a.ckpt", time_limit=-1)
    with pytest.raises(InputError, match="file path"):
        pyngr.inpaint(y, mask, iterations=2, device="cpu", checkpoint=3)  # type: ignore[arg-type]


def test_progress_lines_of_a_resumed_run_count_its_earlier_parts(capsys):
    # resumed at iteration 500 of 1000 with 100 s behind it: 100 s more to go, not ~0
    from pyngr.progress import _plain_lines
    from pyngr.solvers import IterationInfo

    show = _plain_lines("inpaint", interval=0.0)
    show(IterationInfo(500, 1000, 1.0, 100.0, {}, {}, lambda: np.zeros(1)))
    assert "500/1000 (50%) elapsed 100 s, ETA 100 s" in capsys.readouterr().err
