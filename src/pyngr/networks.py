"""Untrained networks: NGR's gradient-map network and Deep Image Prior's image network.

:class:`SkipNet` is the "skip" encoder-decoder of Deep Image Prior (Ulyanov et al., 2018) as
the NGR reference configures it (SPEC section 4): at each of ``depth`` scales a stride-2 3×3
convolution and a 3×3 convolution go down, a 1×1 convolution feeds a skip branch, the deeper
result is upsampled by 2, concatenated with the skip branch, batch-normalised, and passed
through a 3×3 convolution (plus an optional 1×1 convolution); BatchNorm and LeakyReLU(0.2)
after every convolution; a final linear 1×1 convolution.

Other backbones (``NetworkSettings.architecture``; the paper's Section III-C3 and Fig. 13
compare NGR and DIP on ResNet [48], U-Net [49] and "ten convolution-batch
normalization-ReLU blocks"):

* :class:`ResNet` (``"resnet"``), full resolution, as Deep Image Prior's ResNet variant: a 3×3
  convolution to ``width`` channels and LeakyReLU, ``depth`` residual blocks
  ``x + BN(conv(LeakyReLU(BN(conv(x)))))``, a linear 1×1 output convolution;
* :class:`PlainNet` (``"plain"``), full resolution: ``depth`` blocks conv3×3-BN-ReLU and a
  linear 1×1 output convolution (the paper's network is ``depth=10``);
* :class:`UNet` (``"unet"``), Ronneberger et al.'s U-Net as Deep Image Prior's ``UNet``: two
  conv3×3-BN-ReLU per scale, 2×2 max-pooling down, ``width·2**i`` channels at scale ``i``;
  going up, upsampling by 2 and a 3×3 convolution, concatenation with the encoder features of
  the scale and two conv3×3-BN-ReLU (DIP's decoder has no normalisation: as a gradient
  network under Adam at lr 0.01 that diverged, see :class:`UNet`); a linear 1×1 output
  convolution.

All use the same convolution helper (reflection or zero padding) and are built by
:func:`build_backbone`.

:class:`GradientNetwork` wraps the heads that map the fixed random input G0 to the three
gradient maps ``F = (F_h, F_v, F_t)``: either three independent backbones (the paper's
``separate`` layout) or one trunk whose last layer emits ``3·C`` channels (``shared``).

:class:`ImageNetwork` maps a fixed random input to an image ``(C, H, W)``: the network of
Deep Image Prior and of the DIP-based baselines (:mod:`pyngr.baselines.dip`). Both run on the
same padded grid (:func:`input_grid`) and crop their output to the image.
:func:`load_network_state` loads a saved ``state_dict`` (warm start, paper Fig. 14).

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

import functools
import math
import os
import pickle
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import torch
from torch import nn

from .data import (
    ADAPTED_RGB_WEIGHTS,
    AUTO_WEIGHTS,
    BUNDLED_PREFIX,
    FAST_RGB_WEIGHTS,
    bundled_weights,
)
from .errors import InputError
from .presets import ARCHITECTURES, NetworkSettings

__all__ = [
    "GradientNetwork",
    "GradientNetworkBatch",
    "ImageNetwork",
    "PlainNet",
    "ResNet",
    "SkipNet",
    "UNet",
    "Upsample2x",
    "bilinear_up2",
    "build_backbone",
    "deterministic_algorithms",
    "input_grid",
    "load_network_state",
    "warm_start_for",
]


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


def _center_crop_cat(a: torch.Tensor, b: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Concatenate on channels after cropping both to the smaller spatial size (as DIP).

    With ``groups > 1`` the channels hold ``groups`` stacked networks (:mod:`pyngr.fusion`)
    and the concatenation is done group by group.
    """
    h = min(a.shape[-2], b.shape[-2])
    w = min(a.shape[-1], b.shape[-1])
    parts = []
    for t in (a, b):
        dh = (t.shape[-2] - h) // 2
        dw = (t.shape[-1] - w) // 2
        t = t[..., dh : dh + h, dw : dw + w]
        parts.append(t.reshape(t.shape[0], groups, t.shape[1] // groups, h, w))
    return torch.cat(parts, dim=2).reshape(a.shape[0], -1, h, w)


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
        self.upsample = _upsample(s.upsample)
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


class ResNet(nn.Module):
    """Full-resolution residual network, ``(1, cin, H, W) -> (1, cout, H, W)``.

    A 3×3 convolution to ``settings.width`` channels and LeakyReLU(0.2), ``settings.depth``
    residual blocks ``x + BN(conv3×3(LeakyReLU(BN(conv3×3(x)))))`` (identity shortcut, as
    Deep Image Prior's ResNet), a linear 1×1 output convolution.
    """

    def __init__(self, cin: int, cout: int, settings: NetworkSettings) -> None:
        super().__init__()
        w, pad = settings.width, settings.pad
        self.stem = nn.Sequential(_conv(cin, w, 3, 1, pad), _act())
        self.blocks = nn.Sequential(*(_ResidualBlock(w, pad) for _ in range(settings.depth)))
        self.head = _conv(w, cout, 1, 1, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


class _ResidualBlock(nn.Module):
    def __init__(self, w: int, pad: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(w, w, 3, 1, pad), nn.BatchNorm2d(w), _act(),
            _conv(w, w, 3, 1, pad), nn.BatchNorm2d(w),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PlainNet(nn.Module):
    """Plain full-resolution network, ``(1, cin, H, W) -> (1, cout, H, W)``.

    ``settings.depth`` blocks conv3×3-BN-ReLU with ``settings.width`` channels, a linear 1×1
    output convolution (the paper's "ten convolution-batch normalization-ReLU blocks" is
    ``depth=10``).
    """

    def __init__(self, cin: int, cout: int, settings: NetworkSettings) -> None:
        super().__init__()
        w, pad = settings.width, settings.pad
        layers: list[nn.Module] = []
        for i in range(settings.depth):
            layers += [_conv(cin if i == 0 else w, w, 3, 1, pad), nn.BatchNorm2d(w),
                       nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = _conv(w if settings.depth else cin, cout, 1, 1, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _double_conv(cin: int, cout: int, pad: str, norm: bool) -> nn.Sequential:
    """Two 3×3 convolutions, each followed by (BatchNorm and) ReLU: a U-Net stage."""
    layers: list[nn.Module] = []
    for c in (cin, cout):
        layers.append(_conv(c, cout, 3, 1, pad))
        if norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) as Deep Image Prior's ``UNet``.

    ``(1, cin, H, W) -> (1, cout, H, W)`` with ``H`` and ``W`` multiples of ``2**depth``
    (:func:`input_grid` pads the grid). Scale ``i = 0..depth`` has ``width·2**i`` channels.
    Encoder: two conv3×3-BN-ReLU at full resolution, then per scale 2×2 max-pooling and two
    conv3×3-BN-ReLU. Decoder: per scale upsampling by 2 (``settings.upsample``) and a 3×3
    convolution to the channels of the scale above, concatenation with that scale's encoder
    features, two conv3×3-BN-ReLU. A linear 1×1 output convolution. DIP's configuration is
    ``width=16, depth=4``.

    DIP's decoder convolutions have no normalisation; its image network ends in a sigmoid.
    Here the output is linear (gradient maps), and with DIP's decoder the ``width=24,
    depth=4`` U-Net of Fig. 13 diverged under Adam at lr 0.01 within 25 iterations (network
    loss 1e11, butterfly SR 50% ended at 13.5 dB); batch normalisation in the decoder, as in
    the encoder and in every other backbone here, keeps it stable at the same learning rate.
    """

    def __init__(self, cin: int, cout: int, settings: NetworkSettings) -> None:
        super().__init__()
        pad, depth = settings.pad, settings.depth
        chans = [settings.width * 2 ** i for i in range(depth + 1)]
        self.start = _double_conv(cin, chans[0], pad, norm=True)
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), _double_conv(chans[i], chans[i + 1], pad, norm=True))
            for i in range(depth)
        )
        self.ups = nn.ModuleList(
            nn.Sequential(_upsample(settings.upsample), _conv(chans[i + 1], chans[i], 3, 1, pad))
            for i in range(depth)
        )
        self.decs = nn.ModuleList(
            _double_conv(2 * chans[i], chans[i], pad, norm=True) for i in range(depth)
        )
        self.head = _conv(chans[0], cout, 1, 1, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.start(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        y = feats[-1]
        for i in reversed(range(len(self.ups))):
            y = self.decs[i](torch.cat([self.ups[i](y), feats[i]], dim=1))
        return self.head(y)


def _upsample(mode: str) -> nn.Upsample:
    return Upsample2x(scale_factor=2, mode=mode,
                      **({"align_corners": False} if mode == "bilinear" else {}))


class Upsample2x(nn.Upsample):
    """``nn.Upsample(scale_factor=2)`` whose bilinear backward is deterministic when asked.

    PyTorch's CUDA backward of bilinear interpolation adds into the input gradient with
    atomic operations (run-to-run round-off; ``torch.use_deterministic_algorithms`` only
    warns). Under deterministic algorithms on CUDA this module computes the same
    interpolation (``align_corners=False``, edges clamped) as weighted sums of shifted
    copies, whose backward only gathers. Otherwise it is ``nn.Upsample``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.mode == "bilinear" and x.is_cuda
                and torch.are_deterministic_algorithms_enabled()):
            return bilinear_up2(x)
        return super().forward(x)


def bilinear_up2(x: torch.Tensor) -> torch.Tensor:
    """Bilinear upsampling by 2 of ``(N, C, H, W)`` with ``align_corners=False``.

    Output ``2i`` is ``0.75 x[i] + 0.25 x[i-1]`` and ``2i+1`` is ``0.75 x[i] + 0.25 x[i+1]``
    (indices clamped to the edge), along H and then W: what ``F.interpolate`` computes,
    with a backward made of slices and sums only (no scattered additions).

    Examples
    --------
    >>> import torch.nn.functional as F
    >>> x = torch.rand(1, 2, 5, 4)
    >>> ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    >>> bool(torch.allclose(bilinear_up2(x), ref, atol=1e-6))
    True
    """
    for dim in (2, 3):
        n = x.shape[dim]
        prev = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, n - 1)], dim)
        nxt = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim)
        even, odd = 0.75 * x + 0.25 * prev, 0.75 * x + 0.25 * nxt
        shape = list(x.shape)
        shape[dim] = 2 * n
        x = torch.stack([even, odd], dim + 1).reshape(shape)
    return x


@contextmanager
def deterministic_algorithms(on: bool = True) -> Iterator[None]:
    """Within the block, PyTorch and cuDNN use deterministic algorithms only (when ``on``).

    Sets ``torch.use_deterministic_algorithms(True, warn_only=True)`` (an operation with no
    deterministic implementation warns rather than fails), ``cudnn.deterministic`` and no
    cuDNN algorithm search, and restores the previous flags afterwards. With ``on=False``
    it changes nothing. See ``NetworkSettings.deterministic``.

    Examples
    --------
    >>> before = torch.are_deterministic_algorithms_enabled()
    >>> with deterministic_algorithms():
    ...     torch.are_deterministic_algorithms_enabled()
    True
    >>> torch.are_deterministic_algorithms_enabled() == before
    True
    """
    if not on:
        yield
        return
    cudnn = torch.backends.cudnn
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                cudnn.deterministic, cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        cudnn.deterministic, cudnn.benchmark = previous[2], previous[3]


def _check_architecture(name: str) -> None:
    if name not in ARCHITECTURES:
        raise InputError(f"unknown network architecture {name!r}; expected one of "
                         f"{', '.join(ARCHITECTURES)}")


def build_backbone(cin: int, cout: int, settings: NetworkSettings) -> nn.Module:
    """The backbone ``settings.architecture`` names, ``(1, cin, *grid) -> (1, cout, *grid)``.

    Uses PyTorch's global generator for its initialisation (callers fork and seed it).

    Examples
    --------
    >>> from pyngr.presets import NetworkSettings
    >>> type(build_backbone(3, 9, NetworkSettings(architecture="plain", depth=10))).__name__
    'PlainNet'
    """
    arch = settings.architecture
    _check_architecture(arch)
    cls: type[nn.Module] = {"skip": SkipNet, "resnet": ResNet, "plain": PlainNet,
                            "unet": UNet}[arch]
    return cls(cin, cout, settings)


def input_grid(height: int, width: int, depth: int,
               architecture: str = "skip") -> tuple[int, int]:
    """Spatial size of the input grid a backbone runs on for an image of ``height × width``.

    ``"skip"`` (``depth`` scales): the deepest scale needs at least 2 pixels (reflection
    padding), so images smaller than ``2**depth + 1`` along an axis run on a larger grid.
    ``"unet"``: each axis rounded up to a multiple of ``2**depth`` and at least
    ``2**(depth + 1)``. ``"resnet"``, ``"plain"`` (full resolution): at least 2 pixels. The
    networks crop their output back to the image.

    Examples
    --------
    >>> input_grid(3, 40, 3)
    (9, 40)
    >>> input_grid(3, 40, 3, "unet"), input_grid(3, 40, 3, "plain")
    ((16, 40), (3, 40))
    """
    _check_architecture(architecture)
    if architecture == "skip":
        least = 2 ** depth + 1
        return max(height, least), max(width, least)
    if architecture == "unet":
        step = 2 ** depth

        def up(n: int) -> int:
            return max(-(-n // step) * step, 2 * step)

        return up(height), up(width)
    return max(height, 2), max(width, 2)


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
        # e.g. the deepest scale needs >= 2 pixels: run small images on a larger grid and crop.
        self.grid = input_grid(height, width, settings.depth, settings.architecture)

    def make_input(self, generator: torch.Generator) -> torch.Tensor:
        """Uniform noise in ``[0, input_scale)`` of shape ``(1, input_channels, *grid)``.

        Drawn on ``generator.device`` (the API passes a CPU generator, so that a seed gives
        the same input on every device); the caller moves it to the network's device.
        """
        dev = generator.device
        g = torch.rand((1, self.input_channels, *self.grid), generator=generator, device=dev)
        return g * self.settings.input_scale

    def _crop(self, out: torch.Tensor) -> torch.Tensor:
        """``(1, K, *grid) -> (K, H, W)``: the image's part of the grid."""
        return out[0, :, : self.height, : self.width]


def device_generator(generator: torch.Generator, device: torch.device | str) -> torch.Generator:
    """A generator on ``device`` seeded from ``generator`` (which advances by one draw).

    For the per-iteration perturbations of a network's input: drawn where they are used
    (no host-to-device copy per iteration), yet fixed by the run's seed. CPU and CUDA give
    different streams of perturbations; everything drawn once (the input, the weights, a
    starting guess) comes from the CPU generator and is the same on every device.

    Examples
    --------
    >>> a = device_generator(torch.Generator().manual_seed(0), "cpu")
    >>> b = device_generator(torch.Generator().manual_seed(0), "cpu")
    >>> bool(torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b)))
    True
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator(device=torch.device(device)).manual_seed(seed)


class GradientNetwork(_GridNetwork):
    """f_Θ: fixed random input G0 -> gradient maps ``(3, C, H, W)`` = (F_h, F_v, F_t).

    Parameters
    ----------
    channels, height, width : size of the image X being restored.
    settings : architecture (:class:`pyngr.presets.NetworkSettings`); the backbone is
        ``settings.architecture`` (:func:`build_backbone`).
    seed : seeds the weight initialisation without touching PyTorch's global generator.
    """

    def __init__(self, channels: int, height: int, width: int, settings: NetworkSettings,
                 seed: int = 0) -> None:
        super().__init__(channels, height, width, settings)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if settings.heads == "separate":
                self.nets = nn.ModuleList(
                    build_backbone(self.input_channels, channels, settings) for _ in range(3)
                )
            else:
                self.nets = nn.ModuleList(
                    [build_backbone(self.input_channels, 3 * channels, settings)]
                )
        self.activation = _output_activation(settings.output)
        if settings.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        from .fusion import can_fuse, fused_forward

        s = self.settings
        g = _engine_input(s, g)
        with _autocast(s, g):
            if s.fused and can_fuse(self.nets):
                out = fused_forward(self.nets, g)
            else:
                out = torch.cat([net(g) for net in self.nets], dim=1)
        return self._finish(out)

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        """Backbone output ``(1, 3C, *grid)`` -> F ``(3, C, H, W)`` in float32."""
        f = self._crop(out.float())
        f = f.reshape(3, self.channels, self.height, self.width)
        return self.activation(f)


def _engine_input(settings: NetworkSettings, g: torch.Tensor) -> torch.Tensor:
    """The network input in the layout of ``settings.channels_last``."""
    return g.contiguous(memory_format=torch.channels_last) if settings.channels_last else g


def _autocast(settings: NetworkSettings, g: torch.Tensor) -> torch.autocast:
    """``settings.precision`` as autocast, for the network only (F leaves it as float32).
    (Plain functions rather than one context class: torch.compile traces these.)"""
    return torch.autocast(g.device.type, dtype=getattr(torch, settings.precision),
                          enabled=settings.precision != "float32")


class GradientNetworkBatch(nn.Module):
    """Several :class:`GradientNetwork` of one size and settings evaluated together.

    ``forward(inputs)`` returns ``[net(g) for net, g in zip(networks, inputs)]``. With
    ``settings.fused`` the ``3K`` backbones of ``K`` networks run as one grouped network
    (:mod:`pyngr.fusion`): each layer is one launch for all ``K`` problems, which is what
    makes several restorations of one size cheaper together than one after the other on a
    GPU. The networks keep their own parameters; each output depends on its own network
    and input only, so training them on the sum of their losses is training each on its own.

    Examples
    --------
    >>> import torch
    >>> from pyngr.presets import NetworkSettings
    >>> s = NetworkSettings(width=8, depth=2, fused=True)
    >>> nets = [GradientNetwork(2, 16, 16, s, seed=i) for i in range(2)]
    >>> gs = [n.make_input(torch.Generator().manual_seed(i)) for i, n in enumerate(nets)]
    >>> together = GradientNetworkBatch(nets)(gs)
    >>> all(torch.allclose(t, n(g), atol=1e-5) for t, n, g in zip(together, nets, gs))
    True
    """

    def __init__(self, networks: list[GradientNetwork]) -> None:
        super().__init__()
        if not networks:
            raise ValueError("GradientNetworkBatch needs at least one network")
        first = networks[0]
        for n in networks[1:]:
            if (n.settings, n.channels, n.height, n.width) != (
                    first.settings, first.channels, first.height, first.width):
                raise ValueError("networks of a batch must have one size and one setting")
        self.networks = nn.ModuleList(networks)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        from .fusion import can_fuse, fused_forward_stacked

        nets: list[GradientNetwork] = list(self.networks)  # type: ignore[arg-type]
        s = nets[0].settings
        backbones = [b for n in nets for b in n.nets]
        if len(nets) == 1 or not (s.fused and can_fuse(backbones)):
            return [n(g) for n, g in zip(nets, inputs, strict=True)]
        heads = len(nets[0].nets)
        stacked = torch.cat([g.repeat(1, heads, 1, 1) for g in inputs], dim=1)
        stacked = _engine_input(s, stacked)
        with _autocast(s, stacked):
            out = fused_forward_stacked(backbones, stacked)
        return [n._finish(o) for n, o in zip(nets, out.chunk(len(nets), dim=1), strict=True)]


class ImageNetwork(_GridNetwork):
    """Deep Image Prior's f_θ: fixed random input z -> image ``(C, H, W)``.

    One backbone (``settings.architecture``, :func:`build_backbone`; DIP's default is the
    skip network) from ``input_channels`` (default: as many as the image) to ``C`` channels,
    then the output activation of ``settings.output`` (DIP uses ``"sigmoid"``).

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
            self.net = build_backbone(self.input_channels, channels, settings)
        self.activation = _output_activation(settings.output)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.activation(self._crop(self.net(z)))


def load_network_state(network: nn.Module,
                       path: str | os.PathLike[str] | IO[bytes]) -> None:
    """Load a ``state_dict`` saved with ``torch.save`` into ``network`` (warm start).

    The file must hold the ``state_dict`` of a network with the same architecture, width,
    depth and channel counts (the image size may differ: the weights do not depend on it), as
    ``Result.network_state`` of an earlier run. ``path`` may also name bundled weights,
    ``"pyngr:fast_rgb_inpaint"`` (:func:`pyngr.data.bundled_weights`), or
    ``"pyngr:fast_rgb_inpaint/adapted"``: those fitted to ``network``'s channel count or
    separate networks (:func:`adapt_channels`). Every problem raises a one-line
    :class:`~pyngr.errors.InputError`.

    Examples
    --------
    >>> import io, torch
    >>> from pyngr.presets import NetworkSettings
    >>> s = NetworkSettings(width=4, depth=2, architecture="plain")
    >>> a = GradientNetwork(1, 8, 8, s, seed=0)
    >>> b = GradientNetwork(1, 16, 16, s, seed=1)
    >>> buffer = io.BytesIO(); torch.save(a.state_dict(), buffer); _ = buffer.seek(0)
    >>> load_network_state(b, buffer)
    >>> torch.equal(a.nets[0].head[0].weight, b.nets[0].head[0].weight)
    True
    """
    name = f"init_weights file {os.fspath(path)!r}" if isinstance(path, str | os.PathLike) \
        else "init_weights"
    hint = ""
    adapt = path == ADAPTED_RGB_WEIGHTS
    if adapt:
        path = FAST_RGB_WEIGHTS
    if isinstance(path, str) and path.startswith(BUNDLED_PREFIX):  # "pyngr:fast_rgb_inpaint"
        name = f"bundled weights {path!r}"
        hint = "; init_weights=None (--set init_weights=null) starts from random weights"
        path = bundled_weights(path)
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise InputError(f"{name} does not exist") from exc
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {name} as a saved network state: {reason}") from exc
    if not isinstance(state, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise InputError(f"{name} does not hold a network state_dict (a mapping of names to "
                         "tensors, e.g. torch.save(result.network_state, path))")
    own = network.state_dict()
    if adapt:
        fitted = adapt_channels(state, network)
        if fitted is None:
            raise InputError(f"{name} cannot be fitted to the network (other architecture, "
                             f"width or depth?){hint}")
        state = fitted
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise InputError(f"{name} does not fit the network (other architecture, depth or "
                         f"heads?): parameter names {', '.join(parts)}{hint}")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise InputError(f"{name} does not fit the network (other width or channel "
                             f"count?): {k} has shape {tuple(state[k].shape)} in the file, "
                             f"{tuple(v.shape)} here{hint}")
    network.load_state_dict(state, strict=True)


@functools.lru_cache(maxsize=4)
def _file_shapes(path: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return tuple(sorted((k, tuple(v.shape)) for k, v in state.items()))


def adapt_channels(state: Mapping[str, torch.Tensor],
                   network: nn.Module) -> dict[str, torch.Tensor] | None:
    """``state``, the weights of a :class:`GradientNetwork` with one trunk on 3 channels
    (the bundled ``"pyngr:fast_rgb_inpaint"``), fitted to ``network``: the same backbone,
    width and depth on any channel count, with one trunk or three separate networks. None
    where it cannot be fitted.

    The layers that read the random input take input channel c from the file's channel
    c mod 3, scaled by sqrt(3 / C), so that each feature's input keeps its variance (the
    input is noise, one map per channel); the output rows of gradient map m (h, v, t) are,
    for every channel, the mean of the file's rows of map m over its three channels (with
    separate networks, network m gets those of map m); every other tensor is copied.

    Examples
    --------
    >>> from pyngr.presets import NetworkSettings
    >>> s = NetworkSettings(width=4, depth=2, heads="shared")
    >>> rgb = GradientNetwork(3, 16, 16, s, seed=0).state_dict()
    >>> grey = GradientNetwork(1, 16, 16, s, seed=1)
    >>> grey.load_state_dict(adapt_channels(rgb, grey))
    <All keys matched successfully>
    >>> head = "nets.0.head.0.bias"
    >>> torch.allclose(grey.state_dict()[head], rgb[head].reshape(3, 3).mean(1))
    True
    >>> apart = GradientNetwork(5, 16, 16, NetworkSettings(width=4, depth=2), seed=0)
    >>> sorted({k.split(".")[1] for k in adapt_channels(rgb, apart)})  # three networks
    ['0', '1', '2']
    >>> wider = NetworkSettings(width=8, depth=2, heads="shared")
    >>> print(adapt_channels(rgb, GradientNetwork(1, 16, 16, wider, seed=0)))
    None
    """
    own = network.state_dict()
    channels = int(getattr(network, "channels", 0))
    if not channels or any(k.startswith("nets.1.") for k in state):  # not one trunk
        return None
    separate = len(getattr(network, "nets", ())) == 3
    out: dict[str, torch.Tensor] = {}
    for key, target in own.items():
        parts = key.split(".")
        if len(parts) < 3 or parts[0] != "nets":
            return None
        source = state.get(".".join(["nets", "0", *parts[2:]]))
        if source is None:
            return None
        if parts[2] == "head" and source.shape[0] == 9 and source.shape[1:] == target.shape[1:]:
            per_map = source.reshape(3, 3, *source.shape[1:]).mean(1)  # (map, ...)
            rows = (per_map[int(parts[1])].expand(channels, *source.shape[1:]) if separate
                    else per_map[:, None].expand(3, channels, *source.shape[1:]))
            if rows.numel() != target.numel():
                return None
            out[key] = rows.reshape(target.shape).clone()
        elif source.shape == target.shape:
            out[key] = source.clone()
        elif (source.ndim == 4 and source.shape[1] == 3 and target.shape[1] == channels
              and source.shape[0] == target.shape[0] and source.shape[2:] == target.shape[2:]):
            cyclic = torch.arange(channels) % 3
            out[key] = source[:, cyclic] * math.sqrt(3 / channels)
        else:
            return None
    return out


def warm_start_for(network: nn.Module,
                   init_weights: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """What ``Settings.init_weights`` loads into ``network``: None (random initialisation),
    the given file or bundled name, or for ``"pyngr:auto"`` (the ``fast`` preset's
    inpainting default) the bundled ``"pyngr:fast_rgb_inpaint"`` weights when they fit this
    network (the ``fast`` network on 3 channels), else the same fitted to its channels,
    ``"pyngr:fast_rgb_inpaint/adapted"`` (:func:`adapt_channels`), when they can be, else
    None.

    Examples
    --------
    >>> import dataclasses
    >>> from pyngr.presets import get_settings
    >>> s = get_settings("inpaint", "fast", channels=3)
    >>> s.init_weights
    'pyngr:auto'
    >>> warm_start_for(GradientNetwork(3, 32, 32, s.network, seed=0), s.init_weights)
    'pyngr:fast_rgb_inpaint'
    >>> warm_start_for(GradientNetwork(4, 32, 32, s.network, seed=0), s.init_weights)
    'pyngr:fast_rgb_inpaint/adapted'
    >>> other = dataclasses.replace(s.network, width=16)
    >>> print(warm_start_for(GradientNetwork(3, 32, 32, other, seed=0), s.init_weights))
    None
    """
    if init_weights != AUTO_WEIGHTS:
        return init_weights
    own = tuple(sorted((k, tuple(v.shape)) for k, v in network.state_dict().items()))
    path = bundled_weights(FAST_RGB_WEIGHTS)
    if own == _file_shapes(path):
        return FAST_RGB_WEIGHTS
    return ADAPTED_RGB_WEIGHTS if _adapts(path, network) else None


def _adapts(path: str, network: nn.Module) -> bool:
    """Whether the weights at ``path`` can be fitted to ``network`` (from their shapes)."""
    shapes = {k: torch.empty(s, device="meta") for k, s in _file_shapes(path)}
    return adapt_channels(shapes, network) is not None
