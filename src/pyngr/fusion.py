"""Run several networks of identical structure as one: grouped convolutions.

The paper's NGR has three independent networks (one per gradient axis) fed the same input.
Run one after the other, every layer is three small kernel launches; on a GPU that is
launch-bound (SPEC section 9). :func:`fused_forward` evaluates the ``G`` networks together:
their channels are stacked group by group, each convolution becomes one grouped
convolution whose weight is the concatenation of the ``G`` weights (``groups=G``), batch
normalisation one call over the stacked channels, and the element-wise and resampling
layers act on all groups at once. The parameters stay those of the separate networks
(gradients flow back to them through the concatenations), so the model, its initialisation
and its ``state_dict`` are unchanged; only the evaluation differs, up to floating-point
rounding. BatchNorm's running statistics (unused: the networks always run in training
mode) are not updated on this path.

Supported: the skip network (:class:`pyngr.networks.SkipNet`) and plain sequences of
convolutions, BatchNorm, padding, activations and upsampling. Other backbones raise
``NotImplementedError`` and callers fall back to separate evaluation.

Examples
--------
>>> import torch
>>> from pyngr.networks import SkipNet
>>> from pyngr.presets import NetworkSettings
>>> s = NetworkSettings(width=8, depth=2)
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> nets = [SkipNet(3, 2, s) for _ in range(3)]
>>> x = torch.rand(1, 3, 16, 16)
>>> separate = torch.cat([n(x) for n in nets], dim=1)
>>> bool(torch.allclose(fused_forward(nets, x), separate, atol=1e-5))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["can_fuse", "fused_forward", "fused_forward_stacked"]

_STATELESS = (nn.ReflectionPad2d, nn.ZeroPad2d, nn.LeakyReLU, nn.ReLU, nn.Upsample,
              nn.Identity, nn.Tanh, nn.Sigmoid)


def fused_forward(nets: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """``torch.cat([net(x) for net in nets], dim=1)`` in one pass of grouped layers.

    ``x`` is the common input ``(1, cin, H, W)``; the networks must have identical structure.
    """
    g = len(nets)
    return _run(list(nets), x.repeat(1, g, 1, 1), g)


def fused_forward_stacked(nets: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """``torch.cat([net(x_i) for net, x_i in zip(nets, x.chunk(len(nets), 1))], dim=1)``:
    each network its own input, stacked along the channels ``(1, G*cin, H, W)``."""
    return _run(list(nets), x, len(nets))


def can_fuse(nets: Sequence[nn.Module]) -> bool:
    """Whether :func:`fused_forward` supports these networks."""
    from .networks import SkipNet

    return len(nets) > 1 and all(isinstance(n, SkipNet) for n in nets)


def _cat(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(params, dim=0)


def _run(mods: list[nn.Module], x: torch.Tensor, g: int) -> torch.Tensor:
    from .networks import SkipNet, _center_crop_cat, _Level

    m0 = mods[0]
    if isinstance(m0, nn.Sequential):
        for parts in zip(*mods, strict=True):
            x = _run(list(parts), x, g)
        return x
    if isinstance(m0, nn.Conv2d):
        weight = _cat([m.weight for m in mods])  # type: ignore[misc]
        bias = _cat([m.bias for m in mods]) if m0.bias is not None else None  # type: ignore[misc]
        return F.conv2d(x, weight, bias, stride=m0.stride, padding=m0.padding,
                        dilation=m0.dilation, groups=g * m0.groups)
    if isinstance(m0, nn.BatchNorm2d):
        return F.batch_norm(x, None, None, _cat([m.weight for m in mods]),  # type: ignore[misc]
                            _cat([m.bias for m in mods]), training=True,  # type: ignore[misc]
                            eps=m0.eps)
    if isinstance(m0, _STATELESS):
        return m0(x)
    if isinstance(m0, _Level):
        d = _run([m.down for m in mods], x, g)  # type: ignore[misc]
        if m0.deeper is not None:
            d = _run([m.deeper for m in mods], d, g)  # type: ignore[misc]
        d = m0.upsample(d)
        if m0.skip is not None:
            d = _center_crop_cat(_run([m.skip for m in mods], x, g), d, g)  # type: ignore[misc]
        d = _run([m.bn_cat for m in mods], d, g)  # type: ignore[misc]
        return _run([m.up for m in mods], d, g)  # type: ignore[misc]
    if isinstance(m0, SkipNet):
        return _run([m.head for m in mods], _run([m.body for m in mods], x, g),  # type: ignore[misc]
                    g)
    raise NotImplementedError(f"no fused evaluation for {type(m0).__name__}")
