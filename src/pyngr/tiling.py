"""Large inputs: memory estimate, tile plan and seam blending.

NGR's memory grows with the number of pixels: the gradient network keeps every activation
map for back-propagation (three 128-channel encoder-decoders in the ``paper`` preset, about
14 KiB per pixel), so a 2048×2048 RGB image would need tens of GiB. :func:`estimate_memory`
predicts the peak of one run from a probe of the network at a small size (the tensors
autograd saves for the backward pass, counted with :func:`torch.autograd.graph.
saved_tensors_hooks`, scale with the pixel count; parameters and Adam moments do not; the
ADMM variables are counted on a probe of the scheme). :func:`plan_tile` turns a memory budget
into the largest square tile that fits, and :func:`tile_grid` / :func:`blend_weights` cover
the image with overlapping tiles whose results are blended with linear ramps that sum to one
across every seam.

Each tile is restored as an image of its own (its own network, FFT solve and multipliers, all
channels and frames kept together), so tiling changes the result near tile borders; the
overlap and the blending hide the circular-boundary seams of the FFT solve. A run that fits
is never tiled unless asked.

Examples
--------
>>> from pyngr.tiling import tile_grid, blend_weights
>>> boxes = tile_grid(100, 70, tile=48, overlap=16)
>>> len(boxes), boxes[0]
(6, (slice(0, 48, None), slice(0, 48, None)))
>>> import torch
>>> total = torch.zeros(100, 70)
>>> for ys, xs in boxes:
...     total[ys, xs] += blend_weights(boxes, (ys, xs))
>>> bool(torch.allclose(total, torch.ones(100, 70)))
True
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ResourceError, TilingWarning

__all__ = ["MemoryEstimate", "ResourceError", "TilingWarning", "available_memory",
           "blend_weights", "estimate_memory", "plan_tile", "tile_grid"]

GiB = float(2**30)
#: Smallest tile :func:`plan_tile` proposes (pixels per side).
MIN_TILE = 64
#: Step of the search for the largest tile that fits.
TILE_STEP = 8
#: Margin on the estimate for allocator fragmentation and short-lived temporaries.
MARGIN = 1.25
#: Memory the runtime takes on first use whatever the size (thread pools, kernels, FFT plans):
#: measured 0.15-0.2 GiB on a CPU run of a 128×128 input.
OVERHEAD = 256 * 2**20

Box = tuple[slice, slice]


@dataclass(frozen=True)
class MemoryEstimate:
    """Predicted peak memory of one NGR run, in bytes.

    Attributes
    ----------
    activations : tensors the network keeps for back-propagation, its output and the
        gradient buffers of the backward pass (grows with the pixel count).
    parameters : weights, their gradients and Adam's two moments (independent of size).
    state : ADMM variables and the FFT buffers of the X-step (grows with the pixel count).
    """

    activations: int
    parameters: int
    state: int

    @property
    def total(self) -> int:
        """Sum of the parts times a safety margin (:data:`MARGIN`), plus
        :data:`OVERHEAD`."""
        return int(MARGIN * (self.activations + self.parameters + self.state)) + OVERHEAD

    def __str__(self) -> str:
        return f"{self.total / GiB:.2f} GiB"


def _tensor_bytes(obj: object, seen: set[int]) -> int:
    """Bytes of the distinct tensor storages reachable from an object's attributes."""
    items: list[object]
    if isinstance(obj, torch.Tensor):
        items = [obj]
    elif isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, list | tuple):
        items = list(obj)
    elif hasattr(obj, "__dict__"):
        items = list(vars(obj).values())
    else:
        return 0
    total = 0
    for item in items:
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(item, dict | list | tuple):
            total += _tensor_bytes(item, seen)
    return total


def _probe_side(settings: object) -> int:
    """Side of the square the network is profiled on: large enough for its coarsest scale.
    Full-resolution backbones (``resnet``, ``plain``) have none: their ``depth`` counts
    blocks, and ``2**(depth + 1)`` would profile a 2048×2048 input for ten blocks."""
    network = getattr(settings, "network", None)
    if getattr(network, "architecture", "skip") in ("resnet", "plain"):
        return MIN_TILE
    return max(MIN_TILE, 2 ** (int(getattr(network, "depth", 5)) + 1))


@functools.lru_cache(maxsize=32)
def _profile(channels: int, settings: object) -> tuple[float, int, float]:
    """(activation bytes per pixel, parameter bytes, state bytes per pixel) of a run."""
    from .networks import GradientNetwork
    from .solvers import DenoisingScheme, InpaintingScheme

    p = _probe_side(settings)
    net = GradientNetwork(channels, p, p, settings.network, seed=0)  # type: ignore[attr-defined]
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return t

    g = net.make_input(torch.Generator().manual_seed(0))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(g)
    largest = sorted(saved.values())[-2:]
    activations = sum(saved.values()) + 2 * sum(largest) + out.numel() * out.element_size()
    del out
    params = sum(q.numel() * q.element_size() for q in net.parameters())
    buffers = sum(b.numel() * b.element_size() for b in net.buffers())
    parameters = 4 * params + buffers  # weights, gradients, Adam's exp_avg and exp_avg_sq

    y = torch.zeros(channels, p, p)
    admm = settings.admm  # type: ignore[attr-defined]
    if settings.task == "denoise":  # type: ignore[attr-defined]
        scheme: object = DenoisingScheme(y, admm)
    else:
        scheme = InpaintingScheme(y, torch.ones_like(y), admm, torch.Generator().manual_seed(0))
    state = _tensor_bytes(scheme, set())
    # X-step: complex spectra of the right-hand side and of the three gradient terms.
    state += 4 * channels * p * p * 8
    return activations / (p * p), int(parameters), state / (p * p)


def estimate_memory(shape_chw: tuple[int, int, int], settings: object) -> MemoryEstimate:
    """Predict the peak memory of an NGR run on a ``(C, H, W)`` input.

    Parameters
    ----------
    shape_chw : channels, height, width of the image (or of one tile).
    settings : the run's :class:`~pyngr.presets.Settings` (its task, ADMM scheme and
        network).

    Notes
    -----
    The network is built and evaluated once on the CPU at a small square size (at least
    64×64, float32; cached per channel count and settings); the bytes autograd saves
    (distinct storages) and the output are scaled by the pixel ratio, and the two largest
    saved tensors are added again for the gradient buffers alive during the backward pass.
    The same estimate holds for CPU and CUDA up to the allocators' overheads, which
    :data:`MARGIN` covers. Checked against the peak resident memory of CPU runs
    (``benchmarks/large.py``): the parts sum to 0.96-1.03× the measured growth at
    1024×1024×3 (``fast``), 256×256×191 (``fast``) and 200×200×31 (``paper`` denoising).

    Examples
    --------
    >>> from pyngr.presets import get_settings
    >>> from pyngr.tiling import estimate_memory
    >>> s = get_settings("inpaint", "paper")
    >>> big, small = estimate_memory((3, 2048, 2048), s), estimate_memory((3, 256, 256), s)
    >>> round(big.activations / small.activations)
    64
    >>> big.total > 24 * 2**30 > small.total
    True
    """
    c, h, w = (int(v) for v in shape_chw)
    act, params, state = _profile(c, settings)
    return MemoryEstimate(int(act * h * w), params, int(state * h * w))


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes a run may use on ``device``: free GPU memory, or the host's available RAM.

    None when it cannot be told (then nothing is tiled unless asked).
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        # what PyTorch's allocator holds but no tensor uses is this process's to reuse
        # (e.g. cuDNN's algorithm search of an earlier run left gigabytes cached)
        cached = torch.cuda.memory_reserved(dev) - torch.cuda.memory_allocated(dev)
        return int(free) + max(0, int(cached))
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def plan_tile(shape_chw: tuple[int, int, int], settings: object, budget: int) -> int | None:
    """The tile side for a run within ``budget`` bytes: None when the whole input fits.

    Else the largest multiple of :data:`TILE_STEP` (at least :data:`MIN_TILE`, and more than
    twice ``settings.tile_overlap``) that fits
    decides the number of tiles, and the tiles are then made as small as that number allows
    (a multiple of 8), so that less work goes into overlaps.

    Raises
    ------
    ResourceError
        When even the smallest tile needs more than ``budget``.

    Examples
    --------
    >>> from pyngr.presets import get_settings
    >>> from pyngr.tiling import plan_tile
    >>> s = get_settings("inpaint", "paper")
    >>> plan_tile((3, 256, 256), s, budget=24 * 2**30) is None
    True
    >>> tile = plan_tile((3, 2048, 2048), s, budget=24 * 2**30)
    >>> 512 < tile < 2048 and tile % 8 == 0
    True
    """
    c, h, w = (int(v) for v in shape_chw)
    if estimate_memory((c, h, w), settings).total <= budget:
        return None
    overlap = int(getattr(settings, "tile_overlap", 32))
    side = max(h, w)
    side -= side % TILE_STEP
    smallest = max(MIN_TILE, 2 * overlap + 8)
    while side >= smallest:
        if estimate_memory((c, min(side, h), min(side, w)), settings).total <= budget:
            # Same number of tiles, each as small as they can be (less work in overlaps).
            balanced = max(_even_side(h, side, overlap), _even_side(w, side, overlap))
            return min(side, -(-balanced // 8) * 8)
        side -= TILE_STEP
    side = -(-smallest // 8) * 8
    need = estimate_memory((c, min(side, h), min(side, w)), settings)
    raise ResourceError(
        f"even a {side}x{side} tile of this {c}-channel input needs about {need} "
        f"and {budget / GiB:.2f} GiB are available; use a smaller network (preset 'fast' or "
        f"network.width), fewer channels, or raise max_memory")


def _per_axis(n: int, tile: int, overlap: int) -> int:
    """The fewest tiles along an axis of ``n`` pixels that overlap by at least ``overlap``."""
    return 1 if n <= tile else math.ceil((n - tile) / max(1, tile - overlap)) + 1


def _even_side(n: int, side: int, overlap: int) -> int:
    """The smallest tile side covering ``n`` pixels with as many tiles as ``side`` needs."""
    k = _per_axis(n, side, overlap)
    return -(-(n + (k - 1) * overlap) // k)


def _starts(n: int, tile: int, overlap: int) -> list[int]:
    """Evenly spaced starts of the fewest tiles that overlap by at least ``overlap``
    (even spacing keeps a third tile out of most overlaps)."""
    k = _per_axis(n, tile, overlap)
    if k == 1:
        return [0]
    return [round(i * (n - tile) / (k - 1)) for i in range(k)]


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[Box]:
    """Overlapping ``tile``×``tile`` boxes covering an ``height``×``width`` image.

    The fewest boxes per axis whose neighbours overlap by at least ``overlap`` pixels, evenly
    spaced from border to border; a side shorter than ``tile`` is one box.
    """
    if tile < 1 or overlap < 0 or overlap >= tile:
        raise ValueError(f"need tile >= 1 and 0 <= overlap < tile, got {tile}, {overlap}")
    ys = _starts(height, tile, overlap)
    xs = _starts(width, tile, overlap)
    return [(slice(y, min(y + tile, height)), slice(x, min(x + tile, width)))
            for y in ys for x in xs]


def _ramp(length: int, before: int, after: int) -> torch.Tensor:
    """1 inside, rising over the ``before`` pixels shared with the previous tile and
    falling over the ``after`` pixels shared with the next; neighbouring ramps sum to 1."""
    r = torch.ones(length, dtype=torch.float32)
    if before > 0:
        r[:before] = torch.arange(1, before + 1, dtype=torch.float32) / (before + 1)
    if after > 0:
        r[length - after:] = torch.flip(torch.arange(1, after + 1, dtype=torch.float32),
                                        (0,)) / (after + 1)
    return r


def _axis_overlaps(spans: list[tuple[int, int]], span: tuple[int, int]) -> tuple[int, int]:
    starts = sorted(set(spans))
    i = starts.index(span)
    before = starts[i - 1][1] - span[0] if i > 0 else 0
    after = span[1] - starts[i + 1][0] if i + 1 < len(starts) else 0
    return max(before, 0), max(after, 0)


def blend_weights(boxes: list[Box], box: Box) -> torch.Tensor:
    """Blending weights ``(h, w)`` of one box of :func:`tile_grid`.

    Separable linear ramps, positive, over the overlaps with the neighbouring boxes (none
    along the image border). Where at most two boxes meet along each axis the weights of the
    boxes covering a pixel sum to one; where a third box reaches in (when the overlap is
    close to half the tile) they do not, so the blend divides by the sum of the weights.
    """
    ys, xs = box
    rows = [(b[0].start, b[0].stop) for b in boxes]
    cols = [(b[1].start, b[1].stop) for b in boxes]
    wy = _ramp(ys.stop - ys.start, *_axis_overlaps(rows, (ys.start, ys.stop)))
    wx = _ramp(xs.stop - xs.start, *_axis_overlaps(cols, (xs.start, xs.stop)))
    return wy[:, None] * wx[None, :]


def tiles_needed(height: int, width: int, tile: int, overlap: int) -> int:
    """Number of boxes :func:`tile_grid` makes (for messages and progress totals)."""
    return _per_axis(height, tile, overlap) * _per_axis(width, tile, overlap)
