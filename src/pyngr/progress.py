"""Progress display for long runs: a rich progress bar with ETA and the current loss.

On a terminal the bar redraws in place. Written to a file or a pipe (a batch job's log, a
remote machine's output) a redrawn bar shows nothing until the end, so there it prints a
plain line every ``interval`` seconds and at the last iteration instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .solvers import IterationInfo

__all__ = ["progress_bar"]


def _status(info: IterationInfo) -> str:
    status = f"loss {info.loss:.4g}"
    psnr = info.metrics.get("psnr")
    if psnr is not None:
        status += f"  PSNR {psnr:.2f} dB (monitor)"
    return status


def _done_total(info: IterationInfo) -> tuple[int, int, str]:
    """Iterations done and planned over the whole run (a tiled run: over every tile)."""
    if info.tile is None:
        return info.iteration, info.iterations, ""
    index, count = info.tile
    return (index * info.iterations + info.iteration, count * info.iterations,
            f"tile {index + 1}/{count}  ")


@contextmanager
def progress_bar(total: int, description: str = "NGR", *,
                 interval: float = 30.0) -> Iterator[object]:
    """Context manager yielding a callback that advances a progress bar on stderr.

    The bar shows iterations done, elapsed time, ETA, the loss of the network step and,
    when ground truth is monitored, the current PSNR. When stderr is not a terminal, the
    same facts are printed as one line at most every ``interval`` seconds and at the end.

    Examples
    --------
    >>> import io, contextlib
    >>> from pyngr.solvers import IterationInfo
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err), progress_bar(4, "demo", interval=0) as cb:
    ...     for k in (2, 4):
    ...         cb(IterationInfo(k, 4, 0.5, 0.1 * k, {}, {}, lambda: None))
    >>> print(err.getvalue().splitlines()[-1])  # doctest: +ELLIPSIS
    demo 4/4 (100%) ...
    """
    console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield _plain_lines(description, interval)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, status="")

        def callback(info: IterationInfo) -> None:
            done, planned, tile = _done_total(info)  # tiled run: one bar over every tile
            bar.update(task, total=planned, completed=done, status=tile + _status(info))

        yield callback


def _plain_lines(description: str, interval: float) -> object:
    """The non-terminal form: ``description k/n (p%) elapsed, ETA, status`` lines."""
    start = time.perf_counter()
    last = -float("inf")

    def callback(info: IterationInfo) -> None:
        nonlocal last
        now = time.perf_counter()
        done, planned, tile = _done_total(info)
        if now - last < interval and done < planned:
            return
        last = now
        # an untiled run's own clock: a run resumed from a checkpoint counts its earlier parts
        # in both its iterations and its time, so the rate (and the ETA) stay right
        elapsed = info.elapsed if info.tile is None else now - start
        eta = elapsed * (planned - done) / done if done else float("nan")
        print(f"{description} {done}/{planned} ({100 * done / max(planned, 1):.0f}%) "
              f"elapsed {elapsed:.0f} s, ETA {eta:.0f} s  {tile}{_status(info)}",
              file=sys.stderr, flush=True)

    return callback
