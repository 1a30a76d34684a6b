"""Exceptions raised by pyngr.

Every problem with what a user passed in (a file, an array, a mask, an option) raises
:class:`InputError`, whose message is one line naming the argument and what was expected.
The ``ngr`` command line turns it into ``error: <message>`` and exit status 2.
"""

from __future__ import annotations

__all__ = ["DeviceError", "EngineWarning", "InputError", "PyngrError", "ResourceError",
           "TilingWarning"]


class PyngrError(Exception):
    """Base class of the errors pyngr raises on purpose."""


class InputError(PyngrError, ValueError):
    """Bad input: wrong shape, NaN/Inf, a mask that does not fit, an unreadable file, ..."""


class DeviceError(PyngrError, RuntimeError):
    """The requested compute device is not available (e.g. CUDA asked for but absent)."""


class ResourceError(PyngrError, MemoryError):
    """The run cannot fit in the memory available, even split into the smallest tiles."""


class TilingWarning(UserWarning):
    """The input did not fit in memory as a whole and is restored in overlapping tiles."""


class EngineWarning(UserWarning):
    """An engine option could not be used (e.g. ``torch.compile`` failed) and the run goes on
    without it: same model, slower."""
