"""Exceptions raised by pyngr.

Every problem with what a user passed in (a file, an array, a mask, an option) raises
:class:`InputError`, whose message is one line naming the argument and what was expected.
The ``ngr`` command line turns it into ``error: <message>`` and exit status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DeviceError", "EngineWarning", "InputError", "PyngrError", "ResourceError",
           "RunInterrupted", "TilingWarning"]


class PyngrError(Exception):
    """Base class of the errors pyngr raises on purpose."""


class InputError(PyngrError, ValueError):
    """Bad input: wrong shape, NaN/Inf, a mask that does not fit, an unreadable file, ..."""


class DeviceError(PyngrError, RuntimeError):
    """The requested compute device is not available (e.g. CUDA asked for but absent)."""


class ResourceError(PyngrError, MemoryError):
    """The run cannot fit in the memory available, even split into the smallest tiles."""


class RunInterrupted(PyngrError, RuntimeError):
    """A checkpointed run stopped before its last iteration; its state is saved.

    Attributes
    ----------
    path : the checkpoint file; run the same restoration with it to resume.
    iteration, iterations : where it stopped, of how many.
    reason : ``"time limit"``, ``"stop_after"`` or ``"interrupted"`` (Ctrl-C).
    """

    def __init__(self, path: str | os.PathLike[str], iteration: int, iterations: int,
                 reason: str) -> None:
        self.path, self.iteration, self.iterations, self.reason = (
            Path(path), iteration, iterations, reason)
        super().__init__(f"stopped at iteration {iteration} of {iterations} ({reason}); state "
                         f"saved to {path}: run the same command again to resume")


class TilingWarning(UserWarning):
    """The input did not fit in memory as a whole and is restored in overlapping tiles."""


class EngineWarning(UserWarning):
    """An engine option could not be used (e.g. ``torch.compile`` failed) and the run goes on
    without it: same model, slower."""
