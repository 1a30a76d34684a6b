"""Shared fixtures: devices, seeded generators, the optional benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def shared_data() -> Path | None:
    """``../shared/data`` beside the checkout (or $PYNGR_SHARED_DATA), None when absent."""
    env = os.environ.get("PYNGR_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return path if path.is_dir() else None


SHARED = shared_data()
needs_shared = pytest.mark.skipif(
    SHARED is None, reason="../shared/data not present (benchmark data)"
)


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.param)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def per_tensor_adam(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Replace ``torch.optim.Adam`` by torch's per-tensor path (``foreach=False``, its CPU
    default); the list returned collects the ``foreach`` each construction asked for."""
    adam, asked = torch.optim.Adam, []

    def per_tensor(params: object, **kw: object) -> torch.optim.Optimizer:
        asked.append(kw.get("foreach"))
        return adam(params, **{**kw, "foreach": False})  # type: ignore[arg-type]

    monkeypatch.setattr(torch.optim, "Adam", per_tensor)
    return asked
