"""What every baseline method shares: the problem it is given and the shape of its settings.

A baseline receives a :class:`Problem` (float32 ``(C, H, W)`` tensors in [0, 1], the same
conversion the NGR functions do at the edge) and its typed settings (a frozen dataclass
derived from :class:`MethodSettings`), and reports its iterations through a
:class:`pyngr.solvers.Recorder`, so histories, monitoring, progress bars and callbacks work
as they do for NGR.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, Literal

import torch

from ..errors import InputError

__all__ = ["MethodSettings", "Problem", "estimate_noise", "soft_threshold"]


@dataclass(frozen=True)
class Problem:
    """A restoration problem in the solver's layout.

    Attributes
    ----------
    y : observation ``(C, H, W)``, float32 in [0, 1]; zero at missing entries.
    mask : for completion (inpainting, cloud removal), 1 where observed and 0 where missing,
        same shape and dtype as ``y``; None for denoising.
    noise : for denoising, ``"gaussian"`` or ``"mixed"`` (Gaussian + sparse); None otherwise.
    """

    y: torch.Tensor
    mask: torch.Tensor | None = None
    noise: Literal["gaussian", "mixed"] | None = None

    @property
    def completion(self) -> bool:
        return self.mask is not None

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.y.shape
        return int(c), int(h), int(w)


@dataclass(frozen=True)
class MethodSettings:
    """Common fields of a baseline's settings; each method subclasses it with its parameters.

    Attributes
    ----------
    method : registry name (``"tv"``, ``"halrtc"``, ...).
    task : ``"inpaint"``, ``"decloud"`` or ``"denoise"``.
    iterations : maximal number of iterations.
    seed : seeds every random draw of the method (initialisations, network inputs).
    """

    method: str
    task: str
    iterations: int
    seed: int = 2333

    @property
    def preset(self) -> str:
        """Baselines have one documented default per task; named like NGR's presets."""
        return "default"

    def replace(self, **changes: Any) -> MethodSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Inverse of :meth:`to_dict`: lists become tuples, nested dicts the dataclass their
        field is typed with (e.g. a network's settings)."""
        d = dict(d)
        hints = typing.get_type_hints(cls)
        try:
            for f in dataclasses.fields(cls):
                value = d.get(f.name)
                if isinstance(value, list):
                    d[f.name] = tuple(value)
                elif isinstance(value, dict):
                    hint = hints[f.name]
                    target = next((a for a in typing.get_args(hint)
                                   if dataclasses.is_dataclass(a)), hint)
                    d[f.name] = target(**value)
            return cls(**d)
        except TypeError as exc:
            raise InputError(f"invalid {d.get('method', cls.__name__)} settings: {exc}") \
                from exc


def soft_threshold(v: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Proximal map of ``t·‖·‖₁``: ``sign(v)·max(|v| − t, 0)``.

    Examples
    --------
    >>> soft_threshold(torch.tensor([-2.0, 0.5, 3.0]), 1.0)
    tensor([-1.,  0.,  2.])
    """
    return torch.sign(v) * torch.clamp(v.abs() - t, min=0)


def estimate_noise(y: torch.Tensor) -> torch.Tensor:
    """Per-channel Gaussian noise level of a ``(C, H, W)`` tensor, shape ``(C, 1, 1)``.

    Donoho's robust estimator: median absolute value of the finest diagonal Haar wavelet
    coefficients divided by 0.6745. Written out (a few lines on the tensor's device) rather
    than through ``skimage.restoration.estimate_sigma``, which needs PyWavelets and NumPy.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> noisy = 0.5 + 0.1 * torch.randn((2, 64, 64), generator=g)
    >>> [round(float(s), 2) for s in estimate_noise(noisy).flatten()]
    [0.1, 0.1]
    """
    c, h, w = y.shape
    x = y[:, : h - h % 2, : w - w % 2]
    if x.shape[1] == 0 or x.shape[2] == 0:
        return y.new_zeros((c, 1, 1))
    hh = (x[:, 0::2, 0::2] - x[:, 0::2, 1::2] - x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) / 2
    return (hh.reshape(c, -1).abs().median(dim=1).values / 0.6745).view(c, 1, 1)
