"""Where the benchmark scripts find the repository, their results and the benchmark data.

The scripts run as ``python benchmarks/<name>.py`` (this folder is then on ``sys.path``) and
import these names instead of each working them out again. The data folder is
``$PYNGR_SHARED_DATA`` or ``../shared/data`` beside the repository; the package itself never
assumes it (``ngr bench`` takes ``--data``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATA = Path(os.environ.get("PYNGR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def require_data(sub: str = "") -> Path:
    """:data:`DATA`, or exit with a one-line message when ``DATA / sub`` is not there."""
    if not (DATA / sub).exists():
        sys.exit(f"benchmark data not found at {DATA / sub} (set PYNGR_SHARED_DATA)")
    return DATA


def set5(name: str) -> np.ndarray:
    """A Set5 image (uint8, channel-last) from the benchmark data, or exit when absent."""
    from pyngr.bench.datasets import load_clean

    return load_clean(require_data("set5"), "set5", name)
