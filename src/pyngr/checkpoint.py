"""Stop an NGR run and resume it later, exactly where it stopped.

A ``paper`` run is 15000 iterations: hours on a CPU, minutes on a GPU whose sessions may be
shorter than that. :class:`Checkpointing` tells :func:`pyngr.solvers.run_admm` to save the
whole state of the loop to one file every ``every`` seconds, to stop by itself after
``time_limit`` seconds (or after iteration ``stop_after``), and, where the process can catch
it, on Ctrl-C; the run then raises :class:`RunInterrupted`. Calling the same restoration
again with the same file resumes it: the networks, Adam's moments, the ADMM variables and
penalties, the random streams, the fixed network input and the history's bookkeeping are
restored, so on the CPU the resumed run ends bitwise where an uninterrupted one would (on
CUDA up to the usual run-to-run rounding). The file is written atomically (a temporary file
renamed over it) and removed when the run finishes.

In the API, ``checkpoint=`` takes a path (save every 10 minutes and on Ctrl-C) or a
:class:`Checkpointing`; on the command line ``--checkpoint FILE`` and ``--time-limit S``.

A file made for another observation, other settings or another kind of device is refused
with an :class:`~pyngr.errors.InputError` rather than silently mixed in.

Examples
--------
>>> import numpy as np, pyngr, tempfile, os
>>> img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
>>> mask = img > 0.3
>>> path = os.path.join(tempfile.mkdtemp(), "run.ckpt")
>>> try:  # stop after iteration 2 of 6 (a time limit works the same way)
...     pyngr.inpaint(img, mask, iterations=6, device="cpu",
...                   checkpoint=pyngr.Checkpointing(path, stop_after=2))
... except pyngr.RunInterrupted as stop:
...     print(stop.iteration, stop.iterations, os.path.exists(path))
2 6 True
>>> out = pyngr.inpaint(img, mask, iterations=6, device="cpu", checkpoint=path)
>>> os.path.exists(path)
False
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .errors import InputError, RunInterrupted

__all__ = ["Checkpointing", "RunInterrupted", "as_checkpointing", "fingerprint"]

FORMAT = "pyngr-checkpoint-1"


@dataclasses.dataclass
class Checkpointing:
    """Where and when a run saves its state (a run option, not a setting: it never changes
    the result).

    Parameters
    ----------
    path : the checkpoint file. If it exists when the run starts, the run resumes from it.
    every : seconds between saves (None: save only when stopping).
    time_limit : stop after this many seconds of this call (saving first).
    stop_after : stop after this iteration (saving first), e.g. to split a run in parts.
    """

    path: Path
    every: float | None = 600.0
    time_limit: float | None = None
    stop_after: int | None = None
    _start: float = dataclasses.field(default=0.0, init=False, repr=False)
    _last: float = dataclasses.field(default=0.0, init=False, repr=False)
    _sigint: bool = dataclasses.field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        for name in ("every", "time_limit"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise InputError(f"checkpoint {name} must be a number of seconds >= 0, got "
                                 f"{value!r}")
        if self.stop_after is not None and int(self.stop_after) < 1:
            raise InputError(f"checkpoint stop_after must be an iteration >= 1, got "
                             f"{self.stop_after!r}")
        if self.path.is_dir():
            raise InputError(f"checkpoint {self.path} is a folder; give a file name")
        parent = self.path.parent
        if not parent.is_dir():
            raise InputError(f"checkpoint folder {parent} does not exist")

    def start(self) -> None:
        """Start this call's clocks."""
        self._start = self._last = time.perf_counter()

    def action(self, k: int, n: int) -> str | None:
        """After iteration ``k`` of ``n``: None, ``"save"``, or the reason to stop."""
        if k >= n:
            return None
        now = time.perf_counter()
        if self._sigint:
            return "interrupted"
        if self.stop_after is not None and k >= self.stop_after:
            return "stop_after"
        if self.time_limit is not None and now - self._start >= self.time_limit:
            return "time limit"
        if self.every is not None and now - self._last >= self.every:
            return "save"
        return None

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically (temporary file, then rename)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            torch.save({"format": FORMAT, **state}, tmp)
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._last = time.perf_counter()

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no file yet."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, not a checkpoint, another format
            raise InputError(f"cannot read checkpoint {self.path}: "
                             f"{type(exc).__name__}") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise InputError(f"{self.path} is not a pyngr checkpoint")
        return state

    def finished(self) -> None:
        """The run ended: the file is no longer needed."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @contextlib.contextmanager
    def catching_ctrl_c(self) -> Iterator[None]:
        """While the loop runs: a first Ctrl-C asks it to save and stop after the current
        iteration; a second one interrupts at once. Only in the main thread (elsewhere
        signals cannot be caught and Ctrl-C behaves as usual)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self._sigint:
                raise KeyboardInterrupt
            self._sigint = True
        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main interpreter
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def as_checkpointing(value: str | os.PathLike[str] | Checkpointing | None,
                     ) -> Checkpointing | None:
    """A :class:`Checkpointing` from what the API accepts (a path, one, or None)."""
    if value is None or isinstance(value, Checkpointing):
        return value
    if isinstance(value, (str, os.PathLike)):
        return Checkpointing(Path(value))
    raise InputError(f"checkpoint must be a file path or a pyngr.Checkpointing, got "
                     f"{type(value).__name__}")


def fingerprint(settings: Any, tensors: list[torch.Tensor], device: torch.device) -> str:
    """What a checkpoint must match: the settings, the observation and the device type."""
    h = hashlib.sha256()
    h.update(json.dumps(settings.to_dict(), sort_keys=True, default=str).encode())
    h.update(device.type.encode())
    for t in tensors:
        a = t.detach().to("cpu", torch.float32).contiguous()
        h.update(str(tuple(a.shape)).encode())
        h.update(a.numpy().tobytes())
    return h.hexdigest()
