"""NGR next to its competitors on the same inputs (issue "Baselines", acceptance).

Cases (``../shared/data``, degradations seeded as in SPEC section 5):

* ``set5_<image>``: Set5 RGB inpainting, 30% of the entries kept (elementwise);
* ``pavia_sr10``: Pavia Centre crop 100×100×102 inpainting, 10% kept (Table III's case);
* ``pavia_gaussian``: the same cube with Gaussian noise σ = 0.1 (Table VI, case 1).

Every method runs through the public API (``method=``) with its documented defaults; the
result is the final iterate (NGR's denoising: its stable-iterate rule), scored against
ground truth after the run. One JSON line per (case, method) is appended to
``benchmarks/results/baselines.jsonl``; a finished (case, method, variant) is skipped when
the script is run again. ``--report`` writes ``benchmarks/results/baselines.md``.

Usage::

    python benchmarks/baselines.py --list
    python benchmarks/baselines.py set5_butterfly pavia_sr10 --methods ngr,tv,tctv
    python benchmarks/baselines.py --all --methods halrtc,tnn-fft
    python benchmarks/baselines.py --report
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from acceptance import RESULTS, ROOT, shared_data

import pyngr
from pyngr.baselines import available_methods, default_settings, get_method
from pyngr.degradations import mixed_noise, random_mask
from pyngr.io import read_image
from pyngr.metrics import evaluate

STORE = RESULTS / "baselines.jsonl"
SET5 = ("baby", "bird", "butterfly", "head", "woman")

Case = Callable[[Path], tuple[str, dict[str, Any], np.ndarray, "np.ndarray | None", str]]


def _set5(name: str) -> Case:
    def make(data: Path):
        gt = read_image(data / "set5" / f"{name}.png").data
        mask = random_mask(gt.shape, 0.3, seed=0)
        return "inpaint", {"image": np.where(mask, gt, 0).astype(gt.dtype), "mask": mask}, \
            gt, mask, f"Set5 {name} {gt.shape}, SR 30%"
    return make


def _pavia(data: Path) -> np.ndarray:
    return read_image(data / "hsi" / "pavia_centre_crop_100x100x102.mat",
                      key="data").data.astype(np.float32)


def pavia_sr10(data: Path):
    gt = _pavia(data)
    mask = random_mask(gt.shape, 0.1, seed=0)
    return "inpaint", {"image": np.where(mask, gt, 0).astype(gt.dtype), "mask": mask}, gt, \
        mask, f"Pavia Centre crop {gt.shape}, SR 10%"


def pavia_gaussian(data: Path):
    gt = _pavia(data)
    noisy = mixed_noise(gt, "gaussian", seed=0).astype(np.float32)
    return "denoise", {"image": noisy, "noise": "gaussian", "data_range": (0.0, 1.0)}, gt, \
        None, f"Pavia Centre crop {gt.shape}, Gaussian sigma 0.1"


CASES: dict[str, Case] = {**{f"set5_{n}": _set5(n) for n in SET5},
                          "pavia_sr10": pavia_sr10, "pavia_gaussian": pavia_gaussian}

# Network baselines at their papers' settings take hours per image on a 2-core CPU. The
# `cpu` variant (--variant cpu) runs them with NGR's `fast` network size and iteration count
# instead, and says so in every record.
CPU_NETWORK = {"width": 48, "depth": 4}
CPU_ITERATIONS = 1500


def _settings(method: str, task: str, shape: tuple[int, int, int], noise: str | None,
              variant: str) -> Any:
    if method == "ngr":
        return None
    s = default_settings(method, task, shape, noise)
    if variant == "cpu" and method in ("dip", "s2dip"):
        net = dataclasses.replace(s.network, **CPU_NETWORK)  # type: ignore[attr-defined]
        s = s.replace(network=net, iterations=min(s.iterations, CPU_ITERATIONS))
    return s


def _done() -> set[tuple[str, str, str]]:
    if not STORE.exists():
        return set()
    out = set()
    for line in STORE.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out.add((r["case"], r["method"], r["variant"]))
    return out


def _unit(a: np.ndarray) -> np.ndarray:
    return a / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def run(case: str, method: str, data: Path, variant: str, device: str) -> dict[str, Any]:
    task, kwargs, gt, mask, note = CASES[case](data)
    fn = {"inpaint": pyngr.inpaint, "denoise": pyngr.denoise}[task]
    chans = gt.shape[2] if gt.ndim == 3 else 1
    settings = _settings(method, task, (chans, *gt.shape[:2]), kwargs.get("noise"), variant)
    start = time.perf_counter()
    res = fn(**kwargs, method=method, settings=settings, device=device, progress=True,
             ground_truth=gt, monitor_every=50, full_output=True)
    wall = time.perf_counter() - start
    out, ref = _unit(res.image), _unit(gt)
    metrics = {"whole_image": evaluate(out, ref, metrics=("psnr", "ssim"))}
    if mask is not None:
        metrics["missing_entries"] = evaluate(out, ref, region=~mask, metrics=("psnr", "ssim"))
    h = res.history
    record = {
        "case": case, "method": method, "variant": variant, "data": note, "task": task,
        "result": metrics,
        "result_is": "final iterate" if h.selection == "final"
        else f"stable-iterate rule (iteration {h.selected_iteration})",
        "oracle_monitored": h.oracle, "iterations": h.iterations, "wall_time_s": round(wall, 2),
        "device": str(h.device),
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, "
                   f"{torch.get_num_threads()} threads" if h.device == "cpu"
        else torch.cuda.get_device_name(),
        "settings": res.settings.to_dict(),
        "versions": {"pyngr": pyngr.__version__, "torch": torch.__version__},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(STORE, "a") as fh:  # one complete line per finished run
        fh.write(json.dumps(record, default=str) + "\n")
    return record


_PAPER_NAMES = {"ngr": "NGR", "halrtc": "HaLRTC", "tnn-fft": "TNN-FFT", "tnn-dct": "TNN-DCT",
                "tctv": "t-CTV", "dip": "DIP", "s2dip": "S2DIP"}


def _paper_set5_sr30() -> dict[str, float]:
    """The paper's Table I, Set5 at SR 30% (from ../shared/spec/paper_tables when present)."""
    path = ROOT.parent / "shared" / "spec" / "paper_tables" / "table1_rgb_inpainting.csv"
    if not path.exists():
        return {}
    import csv

    rows = list(csv.DictReader(path.open()))
    names = {v: k for k, v in _PAPER_NAMES.items()}
    return {names[r["method"]]: float(r["psnr"]) for r in rows
            if r["dataset"] == "Set5" and r["sampling_rate"] == "0.3" and r["method"] in names}


def report() -> str:
    rows = [json.loads(x) for x in STORE.read_text().splitlines() if x.strip()]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        latest[(r["case"], r["method"])] = r
    cases = [c for c in CASES if any(k[0] == c for k in latest)]
    methods = ["ngr"] + [m for m in available_methods() if any(k[1] == m for k in latest)]
    lines = ["# Baselines next to NGR (final iterates, whole-image PSNR in dB; seconds per image)",
             "",
             "Generated by `python benchmarks/baselines.py --report` from `baselines.jsonl`. "
             "PSNR per channel on 8-bit rounded values, averaged (SPEC section 6). The oracle "
             "(best monitored PSNR against ground truth) is never the result; it is listed in "
             "the JSON lines only.", ""]
    lines.append("| method | " + " | ".join(cases) + " |")
    lines.append("|---|" + "---|" * len(cases))
    for m in methods:
        cells = []
        for c in cases:
            r = latest.get((c, m))
            if r is None:
                cells.append("–")
                continue
            p = r["result"]["whole_image"]["psnr"]
            mark = "*" if r["variant"] != "default" else ""
            cells.append(f"{p:.2f}{mark} ({r['wall_time_s']:.0f} s)")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    set5 = [c for c in cases if c.startswith("set5_")]
    if set5:
        lines += ["", "Set5 at SR 30%, mean whole-image PSNR:", ""]
        paper = _paper_set5_sr30()
        ngr_images = [c for c in set5 if (c, "ngr") in latest]
        if ngr_images and len(ngr_images) < len(set5):
            lines.append(f"On the {len(ngr_images)} images NGR ran on "
                         f"({', '.join(c[5:] for c in ngr_images)}):")
            lines.append("")
            for m in methods:
                vals = [latest[(c, m)] for c in ngr_images if (c, m) in latest]
                if len(vals) == len(ngr_images):
                    mean = np.mean([v["result"]["whole_image"]["psnr"] for v in vals])
                    lines.append(f"- {m}: {mean:.2f} dB")
            lines += ["", "On all the images each method ran on:", ""]
        for m in methods:
            vals = [latest[(c, m)] for c in set5 if (c, m) in latest]
            if vals:
                mean = np.mean([v["result"]["whole_image"]["psnr"] for v in vals])
                t = np.mean([v["wall_time_s"] for v in vals])
                ref = paper.get(m)
                lines.append(f"- {m}: {mean:.2f} dB over {len(vals)} images, {t:.0f} s per "
                             "image" + (f"; paper's Table I (Set5, SR 30%): {ref:.2f} dB"
                                        if ref is not None else ""))
    lines += ["", "`*`: network baselines run with NGR's `fast` network size (width 48, depth "
              "4) and at most 1500 iterations on this CPU (their papers' settings take hours "
              "per image here). NGR runs its `fast` preset (CPU default). Machine: "
              + (rows[-1]["machine"] if rows else "?") + ". Times are wall-clock seconds "
              "per image of single runs; the variational methods stop on their tolerance, so "
              "their time is not a fixed iteration count."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--all", action="store_true", help="every case")
    ap.add_argument("--methods", default="ngr," + ",".join(available_methods()))
    ap.add_argument("--variant", default="cpu", choices=["cpu", "default"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    if args.report:
        (RESULTS / "baselines.md").write_text(report())
        print(report())
        return
    data = shared_data()
    done = _done()
    for case in (list(CASES) if args.all else args.cases):
        if case not in CASES:
            sys.exit(f"unknown case {case!r}; --list shows them")
        task = CASES[case](data)[0]
        for method in args.methods.split(","):
            if method != "ngr" and task not in get_method(method).tasks:
                continue
            variant = args.variant if method in ("dip", "s2dip") else "default"
            if (case, method, variant) in done:
                continue
            r = run(case, method, data, variant, args.device)
            print(json.dumps({"case": case, "method": method,
                              "psnr": round(r["result"]["whole_image"]["psnr"], 2),
                              "iterations": r["iterations"], "s": r["wall_time_s"]}),
                  flush=True)


if __name__ == "__main__":
    main()
