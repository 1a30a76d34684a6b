"""Untrained networks that predict NGR's gradient maps.

:class:`SkipNet` is the "skip" encoder-decoder of Deep Image Prior (Ulyanov et al., 2018) as
the NGR reference configures it (SPEC section 4): at each of ``depth`` scales a stride-2 3×3
convolution and a 3×3 convolution go down, a 1×1 convolution feeds a skip branch, the deeper
result is upsampled by 2, concatenated with the skip branch, batch-normalised, and passed
through a 3×3 convolution (plus an optional 1×1 convolution); BatchNorm and LeakyReLU(0.2)
after every convolution; a final linear 1×1 convolution.

:class:`GradientNetwork` wraps the heads that map the fixed random input G0 to the three
gradient maps ``F = (F_h, F_v, F_t)``: either three independent skip networks (the paper's
``separate`` layout) or one trunk whose last layer emits ``3·C`` channels (``shared``).

Examples
--------
>>> import torch
>>> from pyngr.networks import GradientNetwork
>>> from pyngr.presets import NetworkSettings
>>> net = GradientNetwork(channels=3, height=20, width=30,
...                       settings=NetworkSettings(width=8, depth=3), seed=0)
>>> net(net.make_input(torch.Generator().manual_seed(0))).shape
torch.Size([3, 3, 20, 30])
"""

from __future__ import annotations

import torch
from torch import nn

from .presets import NetworkSettings

__all__ = ["GradientNetwork", "SkipNet"]


def _conv(cin: int, cout: int, k: int, stride: int, pad: str) -> nn.Sequential:
    p = (k - 1) // 2
    layers: list[nn.Module] = []
    if pad == "reflection" and p > 0:
        layers.append(nn.ReflectionPad2d(p))
        p = 0
    layers.append(nn.Conv2d(cin, cout, k, stride=stride, padding=p, bias=True))
    return nn.Sequential(*layers)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


def _center_crop_cat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Concatenate on channels after cropping both to the smaller spatial size (as DIP)."""
    h = min(a.shape[-2], b.shape[-2])
    w = min(a.shape[-1], b.shape[-1])
    parts = []
    for t in (a, b):
        dh = (t.shape[-2] - h) // 2
        dw = (t.shape[-1] - w) // 2
        parts.append(t[..., dh : dh + h, dw : dw + w])
    return torch.cat(parts, dim=1)


class _Level(nn.Module):
    """One scale of the skip network; ``deeper`` is the next scale (or None at the bottom)."""

    def __init__(self, cin: int, s: NetworkSettings, deeper: _Level | None) -> None:
        super().__init__()
        w, k = s.width, s.skip_channels
        self.skip = (
            nn.Sequential(_conv(cin, k, 1, 1, s.pad), nn.BatchNorm2d(k), _act()) if k else None
        )
        self.down = nn.Sequential(
            _conv(cin, w, 3, 2, s.pad), nn.BatchNorm2d(w), _act(),
            _conv(w, w, 3, 1, s.pad), nn.BatchNorm2d(w), _act(),
        )
        self.deeper = deeper
        self.upsample = nn.Upsample(
            scale_factor=2, mode=s.upsample,
            **({"align_corners": False} if s.upsample == "bilinear" else {}),
        )
        self.bn_cat = nn.BatchNorm2d(k + w)
        up: list[nn.Module] = [_conv(k + w, w, 3, 1, s.pad), nn.BatchNorm2d(w), _act()]
        if s.conv1x1_up:
            up += [_conv(w, w, 1, 1, s.pad), nn.BatchNorm2d(w), _act()]
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.down(x)
        if self.deeper is not None:
            d = self.deeper(d)
        d = self.upsample(d)
        if self.skip is not None:
            d = _center_crop_cat(self.skip(x), d)
        return self.up(self.bn_cat(d))


class SkipNet(nn.Module):
    """DIP skip encoder-decoder, ``(1, cin, H, W) -> (1, cout, H, W)``.

    Needs ``H, W > 2**depth`` (the deepest scale must keep at least 2 pixels for reflection
    padding); :class:`GradientNetwork` pads its input grid when an image is smaller.
    """

    def __init__(self, cin: int, cout: int, settings: NetworkSettings) -> None:
        super().__init__()
        level: _Level | None = None
        for i in reversed(range(settings.depth)):
            level = _Level(cin if i == 0 else settings.width, settings, level)
        assert level is not None
        self.body = level
        self.head = _conv(settings.width, cout, 1, 1, settings.pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class GradientNetwork(nn.Module):
    """f_Θ: fixed random input G0 -> gradient maps ``(3, C, H, W)`` = (F_h, F_v, F_t).

    Parameters
    ----------
    channels, height, width : size of the image X being restored.
    settings : architecture (:class:`pyngr.presets.NetworkSettings`).
    seed : seeds the weight initialisation without touching PyTorch's global generator.
    """

    def __init__(self, channels: int, height: int, width: int, settings: NetworkSettings,
                 seed: int = 0) -> None:
        super().__init__()
        self.settings = settings
        self.channels, self.height, self.width = channels, height, width
        self.input_channels = settings.input_channels or channels
        # The deepest scale needs >= 2 pixels: run small images on a larger grid and crop.
        least = 2 ** settings.depth + 1
        self.grid = (max(height, least), max(width, least))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if settings.heads == "separate":
                self.nets = nn.ModuleList(
                    SkipNet(self.input_channels, channels, settings) for _ in range(3)
                )
            else:
                self.nets = nn.ModuleList([SkipNet(self.input_channels, 3 * channels, settings)])
        self.tanh = settings.output == "tanh"

    def make_input(self, generator: torch.Generator) -> torch.Tensor:
        """G0: uniform noise in ``[0, input_scale)`` of shape ``(1, input_channels, *grid)``."""
        dev = generator.device
        g = torch.rand((1, self.input_channels, *self.grid), generator=generator, device=dev)
        return g * self.settings.input_scale

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        outs = [net(g) for net in self.nets]
        f = torch.cat(outs, dim=1)[0, :, : self.height, : self.width]
        f = f.reshape(3, self.channels, self.height, self.width)
        return torch.tanh(f) if self.tanh else f
