"""Does a larger channel-gradient weight λ_t help `fast` multichannel inpainting?

A held-out protocol, so that the answer is not tuned on the images the report ranks: λ_t
candidates are compared on *validation* cases (video hall and akiyo at 10% and 20%
sampling, the simulated Indian Pines cube at 10% and with deadlines), and whatever they say
is then checked on the *test* cases, the ones the report's Tables II and III use (video
claire, the Pavia crop with random sampling and with deadlines). Each run is
`pyngr.inpaint` with the `fast` preset for the case's channel count and ``admm.lambda_t``
set, on the case exactly as ``ngr bench`` builds it; the result is the final iterate;
ground truth is read only to score it (whole-image PSNR, SPEC section 6).

Usage::

    python benchmarks/lambda_t.py --lambdas 5,20,100            # every case, 1500 iterations
    python benchmarks/lambda_t.py --split validation --threads 1
    python benchmarks/lambda_t.py --summary                     # the table of the store
    python benchmarks/lambda_t.py --cases hall --lambdas 5 --iterations 3000 --trace 100

Runs already in the store (same case, λ_t, iterations, threads) are skipped. The thread
count is part of the key: a CPU run is deterministic for a given thread count, and another
count changes the round-off (README "Repeats").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.bench.datasets import load_case
from pyngr.bench.runner import to_unit
from pyngr.bench.specs import Case
from pyngr.metrics import evaluate
from pyngr.presets import get_settings, override, parse_override

from _common import DATA, RESULTS

STORE = RESULTS / "lambda_t_multichannel.jsonl"

#: name -> (split, dataset, item, degradation, level)
CASES: dict[str, tuple[str, str, str, str, float]] = {
    "hall": ("validation", "video", "hall", "random", 0.1),
    "akiyo": ("validation", "video", "akiyo", "random", 0.1),
    "indian": ("validation", "hsi", "indian", "random", 0.1),
    "indian_deadlines": ("validation", "hsi", "indian", "deadlines", 15),
    "hall_sr20": ("validation", "video", "hall", "random", 0.2),
    "akiyo_sr20": ("validation", "video", "akiyo", "random", 0.2),
    "claire": ("test", "video", "claire", "random", 0.1),
    "pavia": ("test", "hsi", "pavia", "random", 0.1),
    "pavia_deadlines": ("test", "hsi", "pavia", "deadlines", 15),
}


def label(lambda_t: float, final: float | None, extra: str = "{}") -> str:
    """A column's title; ``final``: records of the λ_t continuation prototype (commit
    325836e, removed: it lost to both constants on hall)."""
    text = f"{lambda_t:g}" if final is None else f"{lambda_t:g}→{final:g}"
    more = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in json.loads(extra).items())
    return f"{text} ({more})" if more else text


def _column(r: dict[str, Any]) -> tuple[float, float | None, str]:
    return (float(r["lambda_t"]), r.get("lambda_t_final"),
            json.dumps(r.get("overrides") or {}, sort_keys=True))


def run(name: str, lambda_t: float, iterations: int, extra: dict[str, Any] | None = None,
        trace: int = 0) -> dict[str, Any]:
    split, dataset, item, degradation, level = CASES[name]
    loaded = load_case(Case(dataset, item, degradation, level), DATA)
    image, mask = loaded.kwargs["image"], loaded.kwargs["mask"]
    channels = 1 if image.ndim == 2 else image.shape[-1]
    s = override(get_settings("inpaint", "fast", channels=channels, iterations=iterations),
                 "admm.lambda_t", float(lambda_t))
    for path, value in (extra or {}).items():
        s = override(s, path, value)
    t0 = time.perf_counter()
    # ``trace``: PSNR of the (float) estimate every ``trace`` iterations, monitoring only
    # (ground truth never reaches the solver; tests/test_solvers.py checks it changes nothing).
    # Where the perturbation schedule does not depend on the iteration count ("constant":
    # random sampling below 25% observed), iterate k of this run is the final iterate of a
    # k-iteration run.
    monitor = {"ground_truth": loaded.truth, "monitor_every": trace} if trace else {}
    res = pyngr.inpaint(image, mask, settings=s, full_output=True, **monitor)
    wall = time.perf_counter() - t0
    # scored as `ngr bench` scores (its conversion to [0, 1] floats)
    psnr = evaluate(to_unit(res.image, loaded.truth), to_unit(loaded.truth, loaded.truth),
                    metrics=("psnr",))["psnr"]
    return {"case": name, "split": split, "data": f"{dataset}/{item}", "degradation": degradation,
            "level": level, "shape": list(image.shape), "observed": round(float(np.mean(mask)), 4),
            "lambda_t": float(lambda_t), "iterations": iterations,
            **({"overrides": extra} if extra else {}),
            **({"trace": [[r["iteration"], round(r["psnr"], 2)] for r in res.history.records],
                "schedule": res.history.noise_schedule} if trace else {}),
            "threads": torch.get_num_threads(), "psnr": round(float(psnr), 2),
            "wall_s": round(wall, 1), "pyngr": pyngr.__version__, "torch": torch.__version__}


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["case"], int(r["iterations"]), r.get("threads"), *_column(r))


def load_store(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summary(records: list[dict[str, Any]]) -> str:
    """A markdown table: one row per case, one column per λ_t (or continuation), PSNR (dB)
    of the final iterate (repeats that differ joined by " / "); the best of each row in
    bold."""
    lambdas = sorted({_column(r) for r in records},
                     key=lambda c: (c[2] != "{}", c[2], c[1] is not None, c[0], c[1] or 0.0))
    its = sorted({int(r["iterations"]) for r in records})
    lines = []
    for n in its:
        rows = [r for r in records if int(r["iterations"]) == n]
        lines += [f"\n{n} iterations (whole-image PSNR, dB, final iterate)\n",
                  "| case | split | " + " | ".join(f"λ_t = {label(*c)}" for c in lambdas)
                  + " |",
                  "|---|---|" + "---|" * len(lambdas)]
        for name, (split, *_rest) in CASES.items():
            got: dict[tuple[float, float | None, str], list[float]] = {}
            for r in rows:
                c = _column(r)
                if r["case"] == name and r["psnr"] not in got.get(c, []):
                    got.setdefault(c, []).append(r["psnr"])
            if not got:
                continue
            best = max(max(v) for v in got.values())
            cells = [" / ".join(("**%.2f**" if p == best else "%.2f") % p for p in got[lam])
                     if lam in got else "–" for lam in lambdas]
            lines.append(f"| {name} | {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def traces(records: list[dict[str, Any]], every: int = 250) -> str:
    """A markdown table of the traced runs: PSNR (dB) of the estimate every ``every``
    iterations, one row per case and λ_t (with other settings: in brackets; monitoring;
    with a "constant" perturbation schedule, iterate k is what a k-iteration run
    returns)."""
    rows = [r for r in records if r.get("trace")]
    if not rows:
        return ""
    its = sorted({k for r in rows for k, _ in r["trace"] if k % every == 0})
    lines = ["\nPSNR (dB) over the iterations of the traced runs\n",
             "| case | λ_t | " + " | ".join(str(k) for k in its) + " |",
             "|---|---|" + "---|" * len(its)]
    for r in rows:
        at = dict((k, v) for k, v in r["trace"])
        lines.append(f"| {r['case']} | {label(*_column(r))} | "
                     + " | ".join(f"{at[k]:.2f}" if k in at else "–" for k in its) + " |")
    return "\n".join(lines)


def figure(records: list[dict[str, Any]], path: Path) -> Path:
    """PSNR versus iteration of the traced runs, one panel per case."""
    from pyngr.figures import _pyplot, _save

    rows = [r for r in records if r.get("trace")]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 3.2), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        for r in rows:
            if r["case"] == case:
                k, v = zip(*r["trace"], strict=True)
                ax.plot(k, v, label=f"λ_t = {label(*_column(r))}")
        ax.set_title(f"{case} ({CASES[case][0]}), SR {CASES[case][4]:.0%}", fontsize=9)
        ax.set_xlabel("iteration (= the budget of a run ending there)")
        ax.set_ylabel("PSNR (dB), whole image")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("fast, multichannel inpainting: PSNR of the estimate over the iterations "
                 "(monitoring; final iterate of a run that long)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"of {', '.join(CASES)}")
    ap.add_argument("--split", choices=("validation", "test"), default=None)
    ap.add_argument("--lambdas", default="5,20,100")
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="another settings override (JSON value), e.g. admm.mu_max=5")
    ap.add_argument("--trace", type=int, default=0, metavar="K",
                    help="also record the estimate's PSNR every K iterations (monitoring)")
    ap.add_argument("--store", type=Path, default=STORE)
    ap.add_argument("--summary", action="store_true", help="print the store's table and stop")
    ap.add_argument("--figure", type=Path, default=None,
                    help="with --summary: also plot the traced runs to this PNG")
    a = ap.parse_args()
    if a.summary:
        records = load_store(a.store)
        print(summary(records))
        print(traces(records))
        if a.figure:
            print(f"wrote {figure(records, a.figure)}")
        return
    if a.threads:
        torch.set_num_threads(a.threads)
    unknown = [c for c in a.cases.split(",") if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; expected {', '.join(CASES)}")
    names = [c for c in a.cases.split(",") if a.split is None or CASES[c][0] == a.split]
    extra = dict(parse_override(x) for x in a.set)
    done = {_key(r) for r in load_store(a.store)}
    for name in names:
        for lam in (float(x) for x in a.lambdas.split(",")):
            if _key({"case": name, "lambda_t": lam, "iterations": a.iterations,
                     "threads": torch.get_num_threads(), "overrides": extra}) in done:
                continue
            rec = run(name, lam, a.iterations, extra, a.trace)
            print(json.dumps(rec), flush=True)
            a.store.parent.mkdir(parents=True, exist_ok=True)
            with a.store.open("a") as f:
                f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
