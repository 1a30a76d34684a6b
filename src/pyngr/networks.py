"""Untrained networks: NGR's gradient-map network and Deep Image Prior's image network.

:class:`SkipNet` is the "skip" encoder-decoder of Deep Image Prior (Ulyanov et al., 2018) as
the NGR reference configures it (SPEC section 4): at each of ``depth`` scales a stride-2 3×3
convolution and a 3×3 convolution go down, a 1×1 convolution feeds a skip branch, the deeper
result is upsampled by 2, concatenated with the skip branch, batch-normalised, and passed
through a 3×3 convolution (plus an optional 1×1 convolution); BatchNorm and LeakyReLU(0.2)
after every convolution; a final linear 1×1 convolution.

:class:`GradientNetwork` wraps the heads that map the fixed random input G0 to the three
gradient maps ``F = (F_h, F_v, F_t)``: either three independent skip networks (the paper's
``separate`` layout) or one trunk whose last layer emits ``3·C`` channels (``shared``).

:class:`ImageNetwork` maps a fixed random input to an image ``(C, H, W)``: the network of
Deep Image Prior and of the DIP-based baselines (:mod:`pyngr.baselines.dip`). Both run on the
same padded grid (:func:`input_grid`) and crop their output to the image.

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

__all__ = ["GradientNetwork", "ImageNetwork", "SkipNet", "input_grid"]


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


def input_grid(height: int, width: int, depth: int) -> tuple[int, int]:
    """Spatial size of the input grid a ``depth``-scale :class:`SkipNet` runs on for an image.

    The deepest scale needs at least 2 pixels (reflection padding), so images smaller than
    ``2**depth + 1`` along an axis run on a larger grid and the output is cropped back.

    Examples
    --------
    >>> input_grid(3, 40, 3)
    (9, 40)
    """
    least = 2 ** depth + 1
    return max(height, least), max(width, least)


def _output_activation(name: str) -> nn.Module:
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "linear":
        return nn.Identity()
    raise ValueError(f"output must be 'linear', 'tanh' or 'sigmoid', got {name!r}")


class _GridNetwork(nn.Module):
    """Shared part of the networks fed a fixed uniform input on the padded grid."""

    def __init__(self, channels: int, height: int, width: int,
                 settings: NetworkSettings) -> None:
        super().__init__()
        self.settings = settings
        self.channels, self.height, self.width = channels, height, width
        self.input_channels = settings.input_channels or channels
        # The deepest scale needs >= 2 pixels: run small images on a larger grid and crop.
        self.grid = input_grid(height, width, settings.depth)

    def make_input(self, generator: torch.Generator) -> torch.Tensor:
        """Uniform noise in ``[0, input_scale)`` of shape ``(1, input_channels, *grid)``.

        Drawn on ``generator.device``.
        """
        dev = generator.device
        g = torch.rand((1, self.input_channels, *self.grid), generator=generator, device=dev)
        return g * self.settings.input_scale

    def _crop(self, out: torch.Tensor) -> torch.Tensor:
        """``(1, K, *grid) -> (K, H, W)``: the image's part of the grid."""
        return out[0, :, : self.height, : self.width]


class GradientNetwork(_GridNetwork):
    """f_Θ: fixed random input G0 -> gradient maps ``(3, C, H, W)`` = (F_h, F_v, F_t).

    Parameters
    ----------
    channels, height, width : size of the image X being restored.
    settings : architecture (:class:`pyngr.presets.NetworkSettings`).
    seed : seeds the weight initialisation without touching PyTorch's global generator.
    """

    def __init__(self, channels: int, height: int, width: int, settings: NetworkSettings,
                 seed: int = 0) -> None:
        super().__init__(channels, height, width, settings)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if settings.heads == "separate":
                self.nets = nn.ModuleList(
                    SkipNet(self.input_channels, channels, settings) for _ in range(3)
                )
            else:
                self.nets = nn.ModuleList([SkipNet(self.input_channels, 3 * channels, settings)])
        self.activation = _output_activation(settings.output)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        outs = [net(g) for net in self.nets]
        f = self._crop(torch.cat(outs, dim=1))
        f = f.reshape(3, self.channels, self.height, self.width)
        return self.activation(f)


class ImageNetwork(_GridNetwork):
    """Deep Image Prior's f_θ: fixed random input z -> image ``(C, H, W)``.

    One :class:`SkipNet` from ``input_channels`` (default: as many as the image) to ``C``
    channels, then the output activation of ``settings.output`` (DIP uses ``"sigmoid"``).

    Parameters
    ----------
    channels, height, width : size of the image.
    settings : architecture (:class:`pyngr.presets.NetworkSettings`).
    seed : seeds the weight initialisation without touching PyTorch's global generator.

    Examples
    --------
    >>> import torch
    >>> from pyngr.networks import ImageNetwork
    >>> from pyngr.presets import NetworkSettings
    >>> s = NetworkSettings(width=8, depth=3, output="sigmoid", input_channels=4)
    >>> net = ImageNetwork(channels=3, height=5, width=12, settings=s, seed=0)
    >>> z = net.make_input(torch.Generator().manual_seed(0))
    >>> z.shape, net(z).shape
    (torch.Size([1, 4, 9, 12]), torch.Size([3, 5, 12]))
    """

    def __init__(self, channels: int, height: int, width: int, settings: NetworkSettings,
                 seed: int = 0) -> None:
        super().__init__(channels, height, width, settings)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = SkipNet(self.input_channels, channels, settings)
        self.activation = _output_activation(settings.output)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.activation(self._crop(self.net(z)))
