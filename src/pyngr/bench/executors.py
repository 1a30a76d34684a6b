"""Where runs execute: in this process (``local``) or as Ray tasks (``ray``).

Both skip the runs already in the store and append each record as soon as its run ends,
so an interrupted experiment resumes where it stopped. Every run restores one image
independently, so they spread over GPUs or machines without coordination:

* ``local``: one after the other on one device; with ``workers > 1`` worker processes
  share the GPUs round-robin (``cuda:0``, ``cuda:1``, ...): one per GPU, or several per GPU
  when the runs are small enough that one of them leaves the GPU idle between kernel
  launches (NGR at Set5 sizes).
* ``ray``: one Ray task per run, declaring the CPUs and GPUs it needs; Ray places them on
  the machines of the cluster (``address``: ``"auto"`` for a running cluster, None for a
  local instance). The driver gathers the records into the store as tasks finish.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import PyngrError
from .runner import execute
from .specs import RunSpec
from .store import Store

__all__ = ["groups", "pending", "run_local", "run_ray"]

Report = Callable[[RunSpec, dict[str, Any]], None]


def pending(specs: Sequence[RunSpec], store: Store) -> list[RunSpec]:
    """The specs whose key is not in the store yet (duplicates removed, order kept)."""
    done = store.keys()
    out, seen = [], set()
    for s in specs:
        if s.key not in done and s.key not in seen:
            out.append(s)
            seen.add(s.key)
    return out


def _worker(args: tuple[dict[str, Any], str, str, str, str | None]) -> dict[str, Any]:
    spec, data, device, store, previews = args
    record = execute(RunSpec.from_dict(spec), data, device=device, previews=previews)
    Store(store).append(record)
    return record


def groups(specs: Sequence[RunSpec], data: str | Path, device: str,
           batch: int) -> list[list[RunSpec]]:
    """The specs in groups of at most ``batch`` that can be restored together
    (:func:`~pyngr.bench.runner.group_key`), in the order of their first member; runs that
    cannot are groups of one."""
    from .runner import group_key

    keyed: dict[Any, list[list[RunSpec]]] = {}
    out: list[list[RunSpec]] = []
    for spec in specs:
        key = group_key(spec, data, device) if batch > 1 else None
        if key is None:
            out.append([spec])
            continue
        chunks = keyed.setdefault(key, [])
        if not chunks or len(chunks[-1]) >= batch:
            chunks.append([])
            out.append(chunks[-1])
        chunks[-1].append(spec)
    return out


def run_local(specs: Sequence[RunSpec], store: Store, data: str | Path, *, device: str = "cpu",
              workers: int = 1, progress: bool = True, report: Report | None = None,
              previews: str | Path | None = None, batch: int = 1,
              checkpoints: str | Path | None = None, deadline: float | None = None) -> int:
    """Run the pending specs here; return how many ran.

    ``workers > 1`` needs CUDA: run ``i`` goes to ``cuda:(i mod GPUs)``, ``workers``
    processes at a time (more workers than GPUs share them).
    ``batch > 1`` restores up to ``batch`` NGR inpainting runs of one size and setting
    together (:func:`~pyngr.bench.runner.execute_group`; one process).
    ``checkpoints`` and ``deadline`` (one run at a time only): see
    :func:`~pyngr.bench.runner.execute`; the run cut by the deadline raises
    :class:`~pyngr.errors.RunInterrupted` after the finished ones are stored; past the
    deadline no run starts (the count returned is then below the pending runs').
    """
    todo = pending(specs, store)
    if (checkpoints is not None or deadline is not None) and (batch > 1 or workers > 1):
        raise PyngrError("checkpoints and a time limit need runs one at a time (no --batch or "
                         "--workers)")
    if batch > 1:
        if workers > 1:
            raise PyngrError("batch and workers do not combine: use one of them")
        from ..api import resolve_device
        from .runner import execute_group

        dev = str(resolve_device(device))
        for group in groups(todo, data, dev, batch):
            if len(group) == 1:
                records = [execute(group[0], data, device=dev, progress=progress,
                                   previews=previews)]
            else:
                records = execute_group(group, data, device=dev, progress=progress,
                                        previews=previews)
            for spec, record in zip(group, records, strict=True):
                store.append(record)
                if report is not None:
                    report(spec, record)
        return len(todo)
    if workers <= 1:
        ran = 0
        for spec in todo:
            if deadline is not None and time.monotonic() >= deadline:
                return ran  # past the time limit: start no more runs
            record = execute(spec, data, device=device, progress=progress, previews=previews,
                             checkpoints=checkpoints, deadline=deadline)
            ran += 1
            store.append(record)
            if report is not None:
                report(spec, record)
        return ran
    import torch

    gpus = torch.cuda.device_count()
    if not device.startswith("cuda") or gpus < 1:
        raise PyngrError(f"{workers} local workers need CUDA ({gpus} devices visible); "
                         "use workers=1 on CPU")
    jobs = [(s.to_dict(), str(data), f"cuda:{i % gpus}", str(store.path),
             None if previews is None else str(previews)) for i, s in enumerate(todo)]
    with mp.get_context("spawn").Pool(workers) as pool:
        for spec, record in zip(todo, pool.imap(_worker, jobs), strict=True):
            if report is not None:
                report(spec, record)
    return len(todo)


def run_ray(specs: Sequence[RunSpec], store: Store, data: str | Path, *,
            address: str | None = None, gpus_per_run: float = 0.0, cpus_per_run: float = 1.0,
            report: Report | None = None, ray_init: dict[str, Any] | None = None,
            previews: str | Path | None = None) -> int:
    """Run the pending specs as Ray tasks; return how many ran.

    Each task gets ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (it runs on CUDA when it
    got a GPU, else on CPU); ``data`` must be readable at the same path on every node.
    """
    try:
        import ray
    except ImportError as exc:
        raise PyngrError("the ray executor needs Ray: pip install 'pyngr[ray]'") from exc
    todo = pending(specs, store)
    if not todo:
        return 0
    started = False
    if not ray.is_initialized():
        ray.init(address=address, **(ray_init or {}))
        started = True
    try:
        remote = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run)(_ray_task)
        threads = max(1, int(cpus_per_run))
        pics = None if previews is None else str(previews)
        futures = {remote.remote(s.to_dict(), str(data), gpus_per_run > 0, threads, pics): s
                   for s in todo}
        waiting = list(futures)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for ref in ready:
                record = ray.get(ref)
                store.append(record)
                if report is not None:
                    report(futures[ref], record)
    finally:
        if started:
            ray.shutdown()
    return len(todo)


def _ray_task(spec: dict[str, Any], data: str, gpu: bool, threads: int,
              previews: str | None) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)  # as many threads as CPUs the task reserved
    device = "cuda" if gpu and torch.cuda.is_available() else "cpu"
    return execute(RunSpec.from_dict(spec), data, device=device, previews=previews)
