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

Runs already in the store (same case, λ_t, iterations, threads) are skipped. The thread
count is part of the key: a CPU run is deterministic for a given thread count, and another
count changes the round-off (README "Repeats").
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pyngr
from pyngr.bench.datasets import load_case
from pyngr.bench.runner import _to_unit
from pyngr.bench.specs import Case
from pyngr.metrics import evaluate
from pyngr.presets import get_settings, override

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PYNGR_SHARED_DATA", ROOT.parent / "shared" / "data"))
STORE = ROOT / "benchmarks" / "results" / "lambda_t_multichannel.jsonl"

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


def run(name: str, lambda_t: float, iterations: int) -> dict[str, Any]:
    split, dataset, item, degradation, level = CASES[name]
    loaded = load_case(Case(dataset, item, degradation, level), DATA)
    image, mask = loaded.kwargs["image"], loaded.kwargs["mask"]
    channels = 1 if image.ndim == 2 else image.shape[-1]
    s = get_settings("inpaint", "fast", channels=channels).replace(iterations=iterations)
    s = override(s, "admm.lambda_t", float(lambda_t))
    t0 = time.perf_counter()
    res = pyngr.inpaint(image, mask, settings=s, full_output=True)
    wall = time.perf_counter() - t0
    # scored as `ngr bench` scores (its conversion to [0, 1] floats)
    psnr = evaluate(_to_unit(res.image, loaded.truth), _to_unit(loaded.truth, loaded.truth),
                    metrics=("psnr",))["psnr"]
    return {"case": name, "split": split, "data": f"{dataset}/{item}", "degradation": degradation,
            "level": level, "shape": list(image.shape), "observed": round(float(np.mean(mask)), 4),
            "lambda_t": float(lambda_t), "iterations": iterations,
            "threads": torch.get_num_threads(), "psnr": round(float(psnr), 2),
            "wall_s": round(wall, 1), "pyngr": pyngr.__version__, "torch": torch.__version__}


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["case"], float(r["lambda_t"]), int(r["iterations"]), r.get("threads"))


def load_store(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summary(records: list[dict[str, Any]]) -> str:
    """A markdown table: one row per case, one column per λ_t, PSNR (dB) of the final
    iterate (repeats that differ joined by " / "); the best of each row in bold."""
    lambdas = sorted({float(r["lambda_t"]) for r in records})
    its = sorted({int(r["iterations"]) for r in records})
    lines = []
    for n in its:
        rows = [r for r in records if int(r["iterations"]) == n]
        lines += [f"\n{n} iterations (whole-image PSNR, dB, final iterate)\n",
                  "| case | split | " + " | ".join(f"λ_t = {lam:g}" for lam in lambdas) + " |",
                  "|---|---|" + "---|" * len(lambdas)]
        for name, (split, *_rest) in CASES.items():
            got: dict[float, list[float]] = {}
            for r in rows:
                if r["case"] == name and r["psnr"] not in got.get(float(r["lambda_t"]), []):
                    got.setdefault(float(r["lambda_t"]), []).append(r["psnr"])
            if not got:
                continue
            best = max(max(v) for v in got.values())
            cells = [" / ".join(("**%.2f**" if p == best else "%.2f") % p for p in got[lam])
                     if lam in got else "–" for lam in lambdas]
            lines.append(f"| {name} | {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"of {', '.join(CASES)}")
    ap.add_argument("--split", choices=("validation", "test"), default=None)
    ap.add_argument("--lambdas", default="5,20,100")
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--store", type=Path, default=STORE)
    ap.add_argument("--summary", action="store_true", help="print the store's table and stop")
    a = ap.parse_args()
    if a.summary:
        print(summary(load_store(a.store)))
        return
    if a.threads:
        torch.set_num_threads(a.threads)
    names = [c for c in a.cases.split(",") if a.split is None or CASES[c][0] == a.split]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; expected {', '.join(CASES)}")
    done = {_key(r) for r in load_store(a.store)}
    for name in names:
        for lam in (float(x) for x in a.lambdas.split(",")):
            if (name, lam, a.iterations, torch.get_num_threads()) in done:
                continue
            rec = run(name, lam, a.iterations)
            print(json.dumps(rec), flush=True)
            a.store.parent.mkdir(parents=True, exist_ok=True)
            with a.store.open("a") as f:
                f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
