"""PSNR-versus-iteration curves of runs recorded as JSON lines, in one figure.

Each ``FILE:LABEL`` argument is a JSON-lines file in one of the two shapes the benchmarks
write: ``gpu_check.py --full`` output (lines ``{"iteration": k, "psnr": p}`` and a final
``{"run": ..., "final_iterate_psnr": ..., "oracle_monitored": {...}}``) or a record with a
``"curve"`` list (``ngr bench``, ``fast_bfly``-style scripts; the first such record).
The final iterate is marked with a dot, the monitored best (an *oracle*) with a cross.

    python benchmarks/plot_curves.py out.png results/gpu/2026-11-26_h200_full.jsonl:paper
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read_curve(path: Path) -> list[tuple[int, float]]:
    points: list[tuple[int, float]] = []
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if "curve" in rec:
            return [(int(p["iteration"]) if isinstance(p, dict) else int(p[0]),
                     float(p["psnr"]) if isinstance(p, dict) else float(p[1]))
                    for p in rec["curve"] if (not isinstance(p, dict) or "psnr" in p)]
        if "iteration" in rec and "psnr" in rec:
            points.append((int(rec["iteration"]), float(rec["psnr"])))
    return points


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    out, runs = Path(argv[0]), argv[1:]
    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        name, _, label = run.partition(":")
        pts = read_curve(Path(name))
        if not pts:
            raise SystemExit(f"no curve in {name}")
        its, psnr = zip(*pts, strict=True)
        line, = ax.plot(its, psnr, label=label or name)
        best = max(range(len(psnr)), key=psnr.__getitem__)
        ax.plot(its[-1], psnr[-1], "o", color=line.get_color())
        ax.plot(its[best], psnr[best], "x", color=line.get_color())
        ax.annotate(f"final {psnr[-1]:.2f}", (its[-1], psnr[-1]), textcoords="offset points",
                    xytext=(-60, -14), fontsize=8)
        ax.annotate(f"oracle {psnr[best]:.2f}", (its[best], psnr[best]),
                    textcoords="offset points", xytext=(-30, 6), fontsize=8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("PSNR (dB, whole image)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
