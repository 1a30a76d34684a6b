"""The CLI's error guard, shared by ``ngr`` and ``ngr bench`` (a module of its own so that
neither command module imports the other while it loads)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import typer

from .errors import PyngrError, RunInterrupted, TilingWarning


def guard(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command so that pyngr errors become ``error: <one line>`` and exit status 2; a
    checkpointed run that stopped (time limit, Ctrl-C) says where its state is, status 3
    (130 for Ctrl-C)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", TilingWarning)
                warnings.showwarning = _note
                fn(*args, **kwargs)
        except RunInterrupted as exc:
            typer.echo(f"stopped: {exc}; no output was written yet", err=True)
            raise typer.Exit(130 if exc.reason == "interrupted" else 3) from None
        except PyngrError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; no output was written", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _note(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    """Warnings (e.g. "restoring in tiles") as one ``note:`` line on stderr."""
    typer.echo(f"note: {message}", err=True)
