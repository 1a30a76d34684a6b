"""``ngr bench``: list the experiments, run them into a store, report the store."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .._guard import guard
from ..errors import InputError

bench_app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    help="Reproduce the paper's tables (or run the same comparison on your data).")

StoreOpt = Annotated[Path, typer.Option("--store", help="JSON-lines result store.")]


def _data(data: Path | None) -> Path:
    path = data or (Path(os.environ["PYNGR_SHARED_DATA"]) if "PYNGR_SHARED_DATA" in os.environ
                    else None)
    if path is None:
        raise InputError("pass --data DIR (the benchmark data folder) or set PYNGR_SHARED_DATA")
    if not path.is_dir():
        raise InputError(f"data folder {path} not found")
    return path


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _overrides(items: list[str]) -> dict[str, tuple[tuple[str, Any], ...]]:
    """``["dip:network.width=48", "iterations=10"]`` -> ``{"dip": ((path, value),), "*": ...}``."""
    from ..presets import parse_override

    out: dict[str, tuple[tuple[str, Any], ...]] = {}
    for item in items:
        try:
            target, value = parse_override(item)
        except InputError:
            raise InputError(f"--set expects [METHOD:]path=VALUE, got {item!r}") from None
        method, colon, path = target.rpartition(":")
        key = method if colon else "*"
        out[key] = (*out.get(key, ()), (path, value))
    return out


@bench_app.command("list")
@guard
def list_experiments() -> None:
    """The experiments, their datasets and methods."""
    from .specs import EXPERIMENTS

    for e in EXPERIMENTS.values():
        typer.echo(f"{e.name:8s} {e.title}; datasets: {', '.join(e.cases)}; "
                   f"methods: {', '.join(e.methods)}")


@bench_app.command("run")
@guard
def run(
    experiment: Annotated[str, typer.Argument(help="table1 ... table7, fig12 (see `list`).")],
    store: StoreOpt = Path("benchmarks/results/bench.jsonl"),
    data: Annotated[Path | None, typer.Option(help="Benchmark data folder.")] = None,
    datasets: Annotated[str | None, typer.Option(help="Comma-separated subset.")] = None,
    methods: Annotated[str | None, typer.Option(help="Comma-separated subset.")] = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "2333",
    limit: Annotated[int | None, typer.Option(
        help="Images per dataset, among the cases --cases keeps.")] = None,
    cases: Annotated[str | None, typer.Option(
        help="Comma-separated substrings of case labels to keep, e.g. 'random 0.1'.")] = None,
    variants: Annotated[str | None, typer.Option(
        help="Comma-separated variant tags to keep (fig12-fig14), e.g. "
             "'lambda_t=0.5,mu_max=2^4'; see --dry-run.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="[METHOD:]dotted.path=VALUE settings override (JSON value), "
        "repeatable, e.g. dip:network.width=48.")] = None,
    preset: Annotated[str | None, typer.Option(help="NGR preset (paper|fast).")] = None,
    iterations: Annotated[int | None, typer.Option(help="Override every method's.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, auto (local executor).")] = "auto",
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    workers: Annotated[int, typer.Option(
        help="Local worker processes on CUDA, spread over the GPUs (several per GPU for "
             "small images).")] = 1,
    batch: Annotated[int, typer.Option(
        help="Restore up to this many NGR inpainting runs of one size and setting together "
             "(pyngr.inpaint_many; local executor, one process).")] = 1,
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    gpus_per_run: Annotated[float, typer.Option(help="Ray: GPUs per run.")] = 0.0,
    cpus_per_run: Annotated[float, typer.Option(help="Ray: CPUs per run.")] = 1.0,
    previews: Annotated[Path | None, typer.Option(help="Folder for result pictures.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the pending runs only.")] = False,
    rerun: Annotated[bool, typer.Option(
        help="Drop the selected runs' records from the store first and run them again (runs "
             "made stale by a fix; the key says what ran, not with which code).")] = False,
    time_limit: Annotated[float | None, typer.Option(
        min=0, help="Stop after this many seconds (local executor, one run at a time): the "
        "NGR run in progress saves its state in --checkpoints and the next call resumes it "
        "(exit status 3).")] = None,
    checkpoints: Annotated[Path | None, typer.Option(
        help="Folder for the NGR runs' checkpoints (default with --time-limit: "
             "'checkpoints' beside the store).")] = None,
) -> None:
    """Run an experiment; finished runs (already in the store) are skipped."""
    from .executors import pending, run_local, run_ray
    from .specs import EXPERIMENTS
    from .store import Store

    if experiment not in EXPERIMENTS:
        raise InputError(f"unknown experiment {experiment!r}; expected one of "
                         f"{', '.join(EXPERIMENTS)}")
    if batch < 1:
        raise InputError(f"batch must be >= 1, got {batch}")
    if executor not in ("local", "ray"):
        raise InputError(f"unknown executor {executor!r}; expected 'local' or 'ray'")
    root = _data(data)
    try:
        seed_list = [int(s) for s in seeds.split(",")]
    except ValueError:
        raise InputError(f"seeds must be integers separated by commas, got {seeds!r}") from None
    specs = EXPERIMENTS[experiment].runs(methods=_csv(methods), seeds=seed_list,
                                         datasets=_csv(datasets), limit=limit, preset=preset,
                                         iterations=iterations, data=root, cases=_csv(cases),
                                         overrides=_overrides(set_ or []),
                                         variants=_csv(variants))
    st = Store(store)
    if rerun and not dry_run:
        dropped = st.remove({s.key for s in specs})
        typer.echo(f"{experiment}: dropped {dropped} record(s) to run again", err=True)
    todo = pending(specs, st)
    typer.echo(f"{experiment}: {len(specs)} runs, {len(specs) - len(todo)} already in {store}, "
               f"{len(todo)} to run", err=True)
    if dry_run:
        for s in todo:
            typer.echo(json.dumps({"case": s.case.label, "method": s.method, "seed": s.seed,
                                   "variant": dict(s.tags).get("variant", ""), "key": s.key}))
        return

    def report(spec: Any, record: dict[str, Any]) -> None:
        typer.echo(f"{spec.case.label} {spec.method}: PSNR "
                   f"{record['result']['whole_image']['psnr']:.2f} dB, "
                   f"{record['wall_time_s']:.0f} s", err=True)

    if executor == "local":
        deadline = None if time_limit is None else time.monotonic() + time_limit
        if time_limit is not None and checkpoints is None:
            checkpoints = st.path.parent / "checkpoints"
        ran = run_local(todo, st, root, device=device, workers=workers, report=report,
                        previews=previews, batch=batch, checkpoints=checkpoints,
                        deadline=deadline)
        if ran < len(todo):
            typer.echo(f"stopped: time limit reached, {len(todo) - ran} run(s) not started",
                       err=True)
            raise typer.Exit(3)
    else:
        if time_limit is not None or checkpoints is not None:
            raise InputError("--time-limit and --checkpoints work with the local executor")
        run_ray(todo, st, root, address=address, gpus_per_run=gpus_per_run,
                cpus_per_run=cpus_per_run, report=report, previews=previews)


@bench_app.command("report")
@guard
def report(
    store: StoreOpt = Path("benchmarks/results/bench.jsonl"),
    output: Annotated[Path, typer.Option("--output", "-o", help="Markdown file.")] = Path(
        "benchmarks/results/report.md"),
    paper_tables: Annotated[Path | None, typer.Option(
        help="Folder of the paper's tables (CSV), for the side-by-side columns.")] = None,
    figures: Annotated[Path | None, typer.Option(help="Folder for figures.")] = None,
    previews: Annotated[Path | None, typer.Option(help="Result pictures saved by run.")] = None,
) -> None:
    """Write the markdown report of a store (tables beside the paper's, figures)."""
    from ..io import atomic_output
    from .report import render
    from .store import Store

    st = Store(store)
    if not st.path.exists():
        raise InputError(f"store {store} not found")
    text = render(st.records(), paper_tables, figures, previews,
                  relative_to=output.resolve().parent)
    with atomic_output(output, force=True) as tmp:
        tmp.write_text(text)
    typer.echo(f"wrote {output} ({len(st.records())} runs)", err=True)
