"""What the observation-only result rules would have returned on the runs in the store.

Every NGR inpainting / cloud-removal record of ``ngr bench run`` keeps, every 50 iterations,
the network loss and the monitored PSNR against ground truth (``curve``) and the relative
change of the iterate (``changes``). The rules ``selection="min_loss"`` (smallest loss) and
``"stable"`` (smallest change) choose an iterate from the loss or the changes alone, at the
same 50-iteration checks, so the curve gives, for each finished run, which iterate each rule
would have returned and its PSNR (read here with ground truth, for reporting only). Printed:
one line per run where a rule moves the result by more than ``--show`` dB or the run is on a
GPU, then per preset the mean / worst / best gain of each rule over the final iterate.

Usage::

    python benchmarks/selection_rules.py
    python benchmarks/selection_rules.py --store benchmarks/results/bench.jsonl --show 0
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

STORE = Path(__file__).resolve().parent / "results" / "bench.jsonl"


def rule_gains(record: dict) -> tuple[float, float, int, int] | None:
    """(min-loss gain, stable gain, min-loss iteration, stable iteration) over the final
    iterate's PSNR, or None when the record lacks what the rules read."""
    if record.get("settings", {}).get("selection", "final") not in ("final", "min_loss"):
        return None
    curve = record.get("curve") or []
    changes = record.get("changes") or []
    if len(curve) < 2 or not changes or "loss" not in curve[0] or "psnr" not in curve[0]:
        return None
    psnr = {p["iteration"]: p["psnr"] for p in curve}
    loss = {p["iteration"]: p["loss"] for p in curve
            if p["iteration"] % 50 == 0 or p["iteration"] == record["iterations"]}
    k_loss = min((k for k in loss if np.isfinite(loss[k])), key=loss.get, default=None)
    k_stable = min(changes, key=lambda kc: kc[1])[0]
    if k_loss is None or k_stable not in psnr:
        return None
    # the final iterate's PSNR: the monitored one at the last iteration (equal to the stored
    # result where that is the final iterate; runs that kept the min-loss iterate have it
    # only there)
    final = psnr.get(record["iterations"])
    if final is None:
        return None
    return psnr[k_loss] - final, psnr[k_stable] - final, k_loss, k_stable


def psnr_final(record: dict) -> float:
    """The monitored PSNR of the last iterate."""
    return float(record["curve"][-1]["psnr"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=STORE)
    ap.add_argument("--show", type=float, default=0.3,
                    help="print runs where a rule moves the PSNR by more than this (dB)")
    args = ap.parse_args()
    gains: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in args.store.read_text().splitlines():
        r = json.loads(line)
        if r["spec"]["method"] != "ngr" or r.get("task") == "denoise":
            continue
        g = rule_gains(r)
        if g is None:
            continue
        preset = r["settings"]["preset"]
        gains[preset].append(g[:2])
        c = r["spec"]["case"]
        if max(abs(g[0]), abs(g[1])) > args.show or r["device"] != "cpu":
            print(f"{r['spec']['experiment']} {c['item']} {c['degradation']} {c['level']} "
                  f"{preset} {r['device']}: final {psnr_final(r):.2f} dB; "
                  f"min-loss it. {g[2]} {g[0]:+.2f}; stable it. {g[3]} {g[1]:+.2f}")
    for preset, v in sorted(gains.items()):
        a = np.array(v)
        for i, rule in enumerate(("min-loss", "stable")):
            g = a[:, i]
            print(f"{preset}: {len(a)} runs, {rule} rule − final iterate: mean "
                  f"{g.mean():+.3f}, worst {g.min():+.2f}, best {g.max():+.2f} dB")


if __name__ == "__main__":
    main()
