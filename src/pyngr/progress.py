"""Progress display for long runs: a rich progress bar with ETA and the current loss."""

from __future__ import annotations

import sys
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


@contextmanager
def progress_bar(total: int, description: str = "NGR") -> Iterator[object]:
    """Context manager yielding a callback that advances a progress bar on stderr.

    The bar shows iterations done, elapsed time, ETA, the loss of the network step and,
    when ground truth is monitored, the current PSNR.
    """
    console = Console(file=sys.stderr)
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
            status = f"loss {info.loss:.4g}"
            psnr = info.metrics.get("psnr")
            if psnr is not None:
                status += f"  PSNR {psnr:.2f} dB (monitor)"
            if info.tile is None:
                bar.update(task, completed=info.iteration, status=status)
            else:  # tiled run: one bar over every tile's iterations
                index, count = info.tile
                bar.update(task, total=count * info.iterations,
                           completed=index * info.iterations + info.iteration,
                           status=f"tile {index + 1}/{count}  {status}")

        yield callback
