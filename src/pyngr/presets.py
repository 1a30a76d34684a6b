"""Typed settings of an NGR run and the named presets.

A run is fully described by a :class:`Settings` object: the task, the ADMM scheme and its
parameters, the network, the optimiser, the iteration count and the seed. Settings are
frozen dataclasses; :meth:`Settings.to_dict` / :meth:`Settings.from_dict` turn them into
JSON-ready dicts, which pyngr saves next to every result so any run can be repeated.

Presets (:func:`get_settings`):

``paper``
    Exactly the reference configuration (SPEC section 4): three independent 128-channel,
    5-scale skip networks, 15000 iterations for inpainting and cloud removal, 4000 for
    denoising. Hours per image on a CPU; minutes on a GPU.
``fast``
    Same ADMM and hyper-parameters, one lighter skip network with a shared trunk and three
    heads, and fewer iterations. The default on CPU. For inpainting it also starts images of
    3 channels or more (RGB among them) from bundled weights fitted on an RGB image, lets the
    input perturbation fade out where at least a quarter of the entries are observed
    (``input_noise_schedule="auto"``), and weighs the
    channel gradient of sparsely observed multichannel images by λ_t = 100 where their
    channels change slowly (video, HSI) and it uses separate networks, by 0.5 where they are
    fewer (with the trunk, in runs under 2000 iterations) or change fast (multispectral
    bands; :func:`channel_roughness` of the observation tells which), instead of the
    paper's 5 (chosen on held-out cases,
    ``benchmarks/lambda_t.py``, ``benchmarks/few_channels.py``); its inpainting of images of
    5 channels or more (videos, multi- and hyperspectral images) uses three separate
    networks of its width instead of the shared trunk. Its cloud removal runs 3000
    iterations (its other tasks 1500). The quality it gives up against ``paper`` is
    measured in the README.

Examples
--------
>>> from pyngr.presets import get_settings
>>> s = get_settings("inpaint", "paper", channels=3)
>>> s.iterations, s.admm.lambda_t, s.network.width, s.network.heads
(15000, 0.5, 128, 'separate')
>>> get_settings("inpaint", "fast", channels=3).replace(iterations=10).iterations
10
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .data import AUTO_WEIGHTS
from .errors import InputError

__all__ = [
    "ARCHITECTURES",
    "PRESETS",
    "TASKS",
    "DenoisingADMM",
    "InpaintingADMM",
    "NetworkSettings",
    "OptimizerSettings",
    "Settings",
    "channel_roughness",
    "get_settings",
    "override",
    "parse_override",
]

Task = Literal["inpaint", "decloud", "denoise"]
TASKS: tuple[str, ...] = ("inpaint", "decloud", "denoise")
PRESETS: tuple[str, ...] = ("paper", "fast")
Architecture = Literal["skip", "resnet", "plain", "unet"]
Selection = Literal["final", "stable", "min_loss"]
SELECTIONS: tuple[str, ...] = typing.get_args(Selection)
NoiseSchedule = Literal["constant", "linear", "auto"]
NOISE_SCHEDULES: tuple[str, ...] = typing.get_args(NoiseSchedule)
#: Backbones of :class:`NetworkSettings` (``architecture``), see :mod:`pyngr.networks`.
ARCHITECTURES: tuple[str, ...] = ("skip", "resnet", "plain", "unet")


@dataclass(frozen=True)
class NetworkSettings:
    """Architecture of the gradient network and its input.

    Attributes
    ----------
    width : channels of every down and up convolution (128 in the paper); for ``"unet"``
        the channels of the first scale (doubled at each further scale).
    depth : number of scales (5 in the paper); for ``"resnet"`` the number of residual
        blocks, for ``"plain"`` the number of conv-BN-ReLU blocks (the paper's Fig. 13 uses
        10).
    skip_channels : channels of each skip branch (4); ``"skip"`` only.
    upsample : ``"nearest"`` (inpainting, cloud removal) or ``"bilinear"`` (denoising);
        ``"skip"`` and ``"unet"``.
    pad : ``"reflection"`` or ``"zeros"``.
    conv1x1_up : a 1×1 convolution after each up block (True in the reference code);
        ``"skip"`` only.
    heads : ``"separate"`` (three independent networks, the paper) or ``"shared"`` (one trunk,
        a last layer emitting the three maps).
    output : ``"linear"``, ``"tanh"`` (the reference's video-denoising variant) or
        ``"sigmoid"`` (Deep Image Prior's image network, :class:`pyngr.networks.ImageNetwork`).
    input_channels : channels of G0; None means as many as the image (the reference).
    input_scale : G0 ~ U[0, input_scale).
    input_noise : std of the fresh Gaussian perturbation added to G0 every iteration.
    input_noise_schedule : ``"constant"`` (the reference) or ``"linear"``: the std falls
        linearly from ``input_noise`` at the first iteration to 0 at the last (exploration
        early, a still input for the last iterations; the random draws are the same); or
        ``"auto"``, a rule on the observation: ``"linear"`` where at least
        :data:`pyngr.solvers.AUTO_LINEAR_MIN_OBSERVED` of the entries are observed, else
        ``"constant"`` (linear gained where much is observed and lost at SR 10%, README
        "Speed"; a denoising observation counts as fully observed). The schedule used is
        in ``History.noise_schedule``.
    architecture : the backbone (paper Section III-C3, Fig. 13): ``"skip"`` (Deep Image
        Prior's skip encoder-decoder, the paper's and the default), ``"resnet"``
        (full-resolution residual blocks), ``"plain"`` (conv-BN-ReLU blocks) or ``"unet"``
        (Ronneberger's U-Net); see :mod:`pyngr.networks`.
    fused : with ``heads="separate"`` and the skip backbone, evaluate the three networks as
        one with grouped convolutions (:mod:`pyngr.fusion`): same model and parameters, one
        kernel launch per layer instead of three; results equal up to float rounding.
    precision : ``"float32"`` (default), or ``"bfloat16"`` / ``"float16"``: the network's
        forward and backward pass under :func:`torch.autocast` with that dtype (weights, Adam
        and the ADMM stay float32; faster on GPUs with tensor cores, changes the numbers).
    channels_last : keep the network's activations in channels-last memory order (often
        faster convolutions on GPUs; each step computes the same numbers up to float
        rounding, though over many iterations the trajectories drift apart, as with any
        change of summation order).
    compile : ``"none"`` (default), or a :func:`torch.compile` mode for the network:
        ``"default"``, ``"reduce-overhead"`` (CUDA graphs: removes the kernel-launch cost
        that dominates small images on a GPU) or ``"max-autotune"``. The first iterations
        then include the compilation (tens of seconds); same numbers up to float rounding.
    deterministic : on CUDA, only deterministic algorithms (cuDNN's deterministic
        convolutions without its algorithm search, a gather-only bilinear upsampling
        backward): the same seed then gives the same result on the same machine and
        software, at some cost in speed. Without it two CUDA runs with one seed differ by
        round-off that the first iterations amplify (atomic additions in weight gradients,
        run-to-run algorithm choice). CPU runs are deterministic either way.
    """

    width: int = 128
    depth: int = 5
    skip_channels: int = 4
    upsample: Literal["nearest", "bilinear"] = "nearest"
    pad: Literal["reflection", "zeros"] = "reflection"
    conv1x1_up: bool = True
    heads: Literal["separate", "shared"] = "separate"
    output: Literal["linear", "tanh", "sigmoid"] = "linear"
    input_channels: int | None = None
    input_scale: float = 0.1
    input_noise: float = 0.03
    input_noise_schedule: NoiseSchedule = "constant"
    architecture: Architecture = "skip"
    fused: bool = False
    precision: Literal["float32", "bfloat16", "float16"] = "float32"
    channels_last: bool = False
    compile: Literal["none", "default", "reduce-overhead", "max-autotune"] = "none"
    deterministic: bool = False

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"unknown network architecture {self.architecture!r}; expected "
                             f"one of {', '.join(ARCHITECTURES)}")
        if self.precision not in ("float32", "bfloat16", "float16"):
            raise InputError(f"network precision must be float32, bfloat16 or float16, got "
                             f"{self.precision!r}")
        if self.input_noise_schedule not in NOISE_SCHEDULES:
            raise InputError(f"network input_noise_schedule must be one of "
                             f"{', '.join(NOISE_SCHEDULES)}, got {self.input_noise_schedule!r}")
        if self.compile not in ("none", "default", "reduce-overhead", "max-autotune"):
            raise InputError(f"network compile must be none, default, reduce-overhead or "
                             f"max-autotune, got {self.compile!r}")


@dataclass(frozen=True)
class OptimizerSettings:
    """Adam on the network weights."""

    lr: float = 0.01
    weight_decay: float = 0.0


@dataclass(frozen=True)
class InpaintingADMM:
    """Algorithm 1 (inpainting, cloud removal): λ_h = λ_v = 1, λ_t, μ₀ = α/d, μ ← min(μ_max, ρμ)."""

    scheme: Literal["inpainting"] = "inpainting"
    lambda_t: float = 0.5
    alpha: float = 0.1
    rho: float = 1.2
    mu_max: float = 50.0

    def __post_init__(self) -> None:
        if not self.lambda_t > 0:
            raise InputError(f"lambda_t must be positive, got {self.lambda_t!r}")


@dataclass(frozen=True)
class DenoisingADMM:
    """The denoising ADMM (SPEC section 3).

    ``sparse_weight`` is the reference's ``lmd``: the weight λ of the sparse-noise term (mixed
    noise) or of the Gaussian term. μ_h = μ_v = ``beta``·μ capped at ``mu_hv_max``;
    μ_t = ``gamma``·μ capped at ``mu_t_max``. The output is an exponential moving average of
    the iterates with weight ``ema``.
    """

    scheme: Literal["denoising"] = "denoising"
    noise: Literal["mixed", "gaussian"] = "mixed"
    sparse_weight: float = 3.0
    alpha: float = 1.0
    rho: float = 1.2
    mu_max: float = 0.16
    beta: float = 2.0
    gamma: float = 150.0
    mu_hv_max: float = 0.16
    mu_t_max: float = 0.6
    ema: float = 0.99


@dataclass(frozen=True)
class Settings:
    """Everything that determines an NGR run (besides the data).

    ``selection`` says which iterate is the result: ``"final"`` (the last one);
    ``"stable"``: every ``selection_window`` iterations the relative change of the estimate
    since the previous check is measured, and the estimate where it was smallest is returned;
    or ``"min_loss"``: every ``selection_window`` iterations (and at the last) the network
    loss is read, and the estimate of the iteration where it was smallest is returned. Both
    rules use only the observation and the iterates (never ground truth). The denoising
    presets use ``"stable"`` because the denoising ADMM does not settle: its multipliers for
    ∇X = F keep growing while the network output is not an exact gradient field, and the
    iterates drift after a plateau (the reference code hides this by returning the iterate
    with the best PSNR against ground truth). The ``paper`` preset's inpainting and cloud
    removal use ``"min_loss"``: over 15000 iterations Adam's step sometimes throws the
    network off late in the run (H200, butterfly SR 10%: the loss jumped from 1.6 to 70 at
    iteration ~13000 and the final iterate ended 1.5 dB under the plateau), and the loss
    shows it; on runs without such a jump the rule returns an iterate within 0.11 dB of the
    final one (21 ``fast`` runs, README "Honest numbers"). ``fast`` returns the final iterate.

    ``stop_tolerance`` (None: run all iterations) ends a run early when the relative change
    of the estimate over ``selection_window`` iterations falls below it: an
    observation-only stopping rule, so that easy images stop sooner.

    ``init_weights`` is a warm start (paper Section III-C5, Fig. 14): the path of a ``.pt``
    file holding a gradient-network ``state_dict`` (as ``Result.network_state`` of an earlier
    run, saved with ``torch.save``), loaded into the network after its seeded initialisation,
    before the first iteration. It must come from a network with the same architecture, width,
    depth, heads and channel count; the image size may differ. None: random initialisation.
    ``"pyngr:fast_rgb_inpaint"`` names the bundled weights of the ``fast`` RGB inpainting
    network fitted on another image (:mod:`pyngr.data`), ``"pyngr:fast_rgb_inpaint/adapted"``
    the same fitted to another channel count or to separate networks
    (:func:`pyngr.networks.adapt_channels`); ``"pyngr:auto"``, the ``fast`` preset's
    inpainting default from :data:`FAST_WARM_START_MIN_CHANNELS` channels on, loads the
    first where it fits the network, else the second where it can be fitted, and starts
    from random weights otherwise (a changed width, depth or backbone).

    ``tile`` (pixels per side) restores the image in overlapping ``tile``×``tile`` tiles,
    each as an image of its own, blended over ``tile_overlap`` pixels
    (:mod:`pyngr.tiling`). None: the whole image at once when it fits in the memory
    available, else the largest tile that does (the tile used is then written here in the
    result's settings, so that the run can be repeated on another machine).
    """

    task: Task
    preset: str
    iterations: int
    admm: InpaintingADMM | DenoisingADMM
    network: NetworkSettings = field(default_factory=NetworkSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    seed: int = 2333
    selection: Selection = "final"
    selection_window: int = 50
    stop_tolerance: float | None = None
    init_weights: str | None = None
    tile: int | None = None
    tile_overlap: int = 32

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise InputError(f"selection must be one of {', '.join(SELECTIONS)}, got "
                             f"{self.selection!r}")
        if self.tile is not None and (int(self.tile) < 16 or self.tile_overlap < 0
                                      or self.tile_overlap >= self.tile // 2):
            raise InputError(f"tile must be >= 16 pixels and tile_overlap in [0, tile/2), got "
                             f"tile={self.tile}, tile_overlap={self.tile_overlap}")
        if self.init_weights is not None and not isinstance(self.init_weights, str):
            try:  # a pathlib.Path: keep a string so the settings stay JSON-ready
                path = os.fsdecode(self.init_weights)
            except TypeError as exc:
                raise InputError(f"init_weights must be a file path or None, got "
                                 f"{self.init_weights!r}") from exc
            object.__setattr__(self, "init_weights", path)

    def replace(self, **changes: Any) -> Settings:
        """A copy with top-level fields changed (``iterations``, ``seed``, ...)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        d = dict(d)
        admm = d.pop("admm")
        admm_cls = DenoisingADMM if admm.get("scheme") == "denoising" else InpaintingADMM
        try:
            return cls(
                admm=admm_cls(**admm),
                network=NetworkSettings(**d.pop("network", {})),
                optimizer=OptimizerSettings(**d.pop("optimizer", {})),
                **d,
            )
        except TypeError as exc:
            raise InputError(f"invalid settings: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls.from_dict(json.loads(text))


# The result rule of presets that do not return the final iterate (see Settings).
_SELECTION: dict[str, Selection] = {"inpaint": "min_loss", "decloud": "min_loss",
                                    "denoise": "stable"}

# Lighter network of the `fast` preset: one trunk, three heads (see README for its cost).
_FAST_NET = {"width": 48, "depth": 4, "heads": "shared"}
_FAST_ITERATIONS = {"inpaint": 1500, "decloud": 1500, "denoise": 1500}
#: λ_t of the `fast` preset's multichannel (not RGB) inpainting. Chosen on validation cases
#: none of the report's tables uses (video hall and akiyo at 10% and 20% sampling, the
#: simulated Indian Pines cube at 10% and with deadlines; λ_t = 5 / 20 / 100), then checked
#: on the report's video and HSI cases (README "Channel-gradient weight";
#: ``benchmarks/lambda_t.py``, ``benchmarks/results/lambda_t_multichannel.jsonl``). With the
#: trunk it converges sooner but settles lower (see the iteration limit); the trunk now
#: serves only images of fewer channels (:data:`FAST_SEPARATE_HEADS_MIN_CHANNELS`), which
#: get :data:`FAST_FEW_CHANNELS_LAMBDA_T`, so this weight is the separate networks'.
FAST_MULTICHANNEL_LAMBDA_T = 100.0
#: ... where less than this fraction of the entries is observed; above it the paper's λ_t.
#: Validation gained at 10% and 20% random sampling and lost 1.1 dB with deadlines (90%
#: observed); 0.5 is a point of that bracket, not a measured optimum.
FAST_LAMBDA_T_MAX_OBSERVED = 0.5
#: ... in runs of fewer iterations than this. λ_t = 100 gains early (on the videos it is flat
#: after ~500 iterations); the paper's 5 stalls for ~1000 and then climbs past it: traced over 3000
#: iterations on the random-sampling validation cases (hall, akiyo, Indian Pines at 10%),
#: their mean PSNR under λ_t = 5 overtakes λ_t = 100's at 2000 (crossovers per case about
#: 2050, 2550 and 1650; README "Channel-gradient weight"). With the trunk only: with the
#: separate networks (measured from 10 channels on) λ_t = 100 stayed ahead to 3000 iterations (hall,
#: validation: 35.26 against 34.42 dB; Pavia, test: 44.86 at 2200 against 43.27 at 3000).
FAST_LAMBDA_T_MAX_ITERATIONS = 2000
#: The `fast` preset's inpainting of images with at least this many channels (video clips,
#: multispectral and hyperspectral images) uses three separate networks of its width, as the
#: paper does at width 128, instead of one trunk whose last layer emits all three gradient
#: maps of every channel. Measured at 10% sampling, 1500 iterations, final iterate (README
#: "Separate networks for multichannel inpainting"): from 10 channels on with λ_t = 100 on
#: the validation cases hall (10 frames) 34.85 against 29.66 dB, akiyo (30) 34.98 against
#: 33.22, Indian Pines (224 bands) 36.86 against 30.66 (``benchmarks/lambda_t.py``), at
#: 1.6-2.7× the time per iteration (``benchmarks/speed.py --variants fast,fast-trunk``), and
#: level with or above the trunk given the same time; then on the test cases claire +0.90 dB
#: and Pavia +3.68. Below 10 (``benchmarks/few_channels.py``, each image's own λ_t rule):
#: the first 6 frames of hall +4.18 dB and of akiyo +3.76, 8 Sentinel-2 bands +1.07 and 13
#: +0.52, 8 Indian Pines bands -0.48, the first 5 frames of hall +3.80, of akiyo +3.27,
#: 5 Sentinel-2 bands +1.08, validation; the 4 bands of CBERS-4 only +0.24 for 2.1× the
#: time, so 4 channels keep the trunk (RGB and grey too); then on the test cases claire's
#: first 6 frames (+2.55 dB) and first 5 (+2.85), and 8 bands of the Pavia crop (+0.41
#: at λ_t 0.5).
FAST_SEPARATE_HEADS_MIN_CHANNELS = 5
#: Multichannel images whose :func:`channel_roughness` is at least this (their channels
#: change more from one to the next than their pixels do: multispectral bands, band subsets
#: of a cube; RGB is 3.5-8 on Set5) are not weighed by :data:`FAST_MULTICHANNEL_LAMBDA_T`,
#: chosen on video frames and dense spectra (0.15-0.63), but by
#: :data:`FAST_ROUGH_LAMBDA_T` (where sparsely observed, as that rule). 1 is where the two
#: kinds meet: independent noise reads 1; the smoothest rough case measured read 1.30 (8
#: bands of the Pavia crop), the roughest smooth one 0.63 (Indian Pines, 224 bands).
FAST_ROUGH_CHANNELS_MIN = 1.0
#: λ_t of the `fast` preset's inpainting of sparsely observed images with rough channels:
#: the paper's RGB weight. Chosen on validation cases at 10% sampling with the trunk
#: (``benchmarks/few_channels.py --set admm.lambda_t=...``; λ_t 100 / 5 / 0.5, dB): CBERS-4's
#: 4 bands 38.91 / 41.65 / 43.35, 8 Sentinel-2 bands 35.17 / 39.66 / 41.56, all 13
#: 35.51 / 39.36 / 40.52, 8 Indian Pines bands 23.55 / 26.92 / 26.72, 4 of them
#: 20.04 / 24.29 / 25.06; then checked on 8 bands of the Pavia crop (test, roughness
#: 1.30): 33.87 against 33.55 dB with the trunk (README "Multispectral images"). It held
#: at 30% sampling too; where half or more is observed it won on validation (50%, 90%) but
#: lost the test (Pavia's 8 bands at 50%: 42.04 against λ_t 5's 43.01), so there the
#: paper's 5 stays.
FAST_ROUGH_LAMBDA_T = 0.5
#: λ_t of the `fast` preset's inpainting of sparsely observed images with few smooth channels
#: (fewer than :data:`FAST_SEPARATE_HEADS_MIN_CHANNELS`, so the trunk; not RGB, whose λ_t is
#: the paper's 0.5 anyway), in runs shorter than :data:`FAST_LAMBDA_T_MAX_ITERATIONS`: the
#: weight of the rough rule and of RGB, not :data:`FAST_MULTICHANNEL_LAMBDA_T` (chosen with
#: longer clips). Measured at 10% sampling, 1500 iterations, trunk (``benchmarks/
#: few_channels.py --set admm.lambda_t=...``; λ_t 100 → 0.5, dB): the first 4 frames of
#: hall 25.59 → 26.60 and of akiyo 29.18 → 29.37 (validation); then claire's first 4
#: (test) 29.21 → 31.85. Grey images (one channel, whose channel gradient is zero: λ_t only
#: weighs the network's useless third map) gain more: the first frame of hall 21.60 →
#: 22.29, of akiyo 24.80 → 26.37 (validation), of claire 24.46 → 28.04 (test). Not
#: measured from 2000 iterations on, where the paper's 5 stays.
FAST_FEW_CHANNELS_LAMBDA_T = 0.5
#: The `fast` preset's inpainting starts networks of images of at least this many channels
#: from the bundled RGB weights (``init_weights="pyngr:auto"``): as fitted on 3 channels,
#: fitted to the others (``"pyngr:fast_rgb_inpaint/adapted"``,
#: :func:`pyngr.networks.adapt_channels`; from :data:`FAST_SEPARATE_HEADS_MIN_CHANNELS` on,
#: each of the three separate networks gets the trunk's weights and its map's outputs).
#: Measured at 10% sampling, 1500 iterations, the preset's λ_t (``benchmarks/few_channels.py
#: --set init_weights=...``; random → adapted, dB): on 4 channels (trunk) the first 4
#: frames of hall 26.60 → 28.82 and of akiyo 29.37 → 31.96, CBERS-4's 4 bands 43.35 →
#: 43.85, 4 Indian Pines bands 25.06 → 25.29 (validation), then claire's first 4 frames
#: (test) 31.85 → 33.56; with separate networks the first 6 frames of hall 31.51 → 31.97
#: and of akiyo 34.50 → 34.54, 8 Sentinel-2 bands 42.63 → 44.31 (validation), then 8
#: bands of the Pavia crop 34.28 → 35.67 and claire's first 6 frames 32.91 → 32.95 (test);
#: from 10 channels on (separate networks, λ_t 100) the first 10 frames of hall 34.85 →
#: 35.74 and of akiyo 36.97 → 37.28, akiyo's 30 frames 34.98 → 34.55, the whole Indian
#: Pines cube (224 bands) 36.86 → 45.09 (validation), then claire's first 10 frames
#: 31.89 → 32.15 and the whole Pavia crop (102 bands) 43.75 → 45.59 (test). Grey
#: images keep random weights: hall's and akiyo's first frame +0.17 and -0.14 (validation;
#: weights fitted on a grey image instead, +0.18 and +0.18), claire's first frame -0.30
#: (test, run afterwards); 2 channels are not measured and keep them as well.
FAST_WARM_START_MIN_CHANNELS = 3
#: The `fast` preset's cloud removal runs this many iterations instead of its 1500: at 1500
#: every run measured was still climbing. Chosen on validation scenes the report's Sentinel-2
#: case does not use (Landsat-5, 9 channels, and CBERS-4, 12, each under the PLRR medium and
#: large masks; ``ngr bench run table4``, records in ``benchmarks/results/decloud_cpu.jsonl``):
#: +0.90 to +1.61 dB over 1500 at twice the time, where the inpainting additions lost
#: (separate networks -2.0 to +0.33 dB, λ_t 100 -4.3 to -14.7, λ_t 1 or 20 no gain); then
#: checked on the Sentinel-2 scene (README "Cloud removal").
FAST_DECLOUD_ITERATIONS = 3000


def channel_roughness(image: Any, mask: Any) -> float | None:
    """How much an image changes from one channel to the next, relative to from one pixel to
    the next, read from its observed entries only.

    The mean absolute difference between neighbouring channels over that between
    neighbouring pixels (rows and columns), each over pairs of entries that are both
    observed. Video frames and densely sampled spectra change little along the channels
    (0.15-0.63 on the benchmark videos and hyperspectral cubes at 10% sampling); RGB and
    multispectral bands change more along them than across pixels (3.5-8 on Set5, 1.3-35 on
    band subsets of the benchmark cubes and scenes). None with fewer than two channels or no
    observed pair along one of the directions. Scale-free: the image's units cancel.

    Parameters
    ----------
    image : (H, W, C) array, any real dtype; values at missing entries are ignored.
    mask : True where observed, (H, W) or (H, W, C).

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.linspace(0, 1, 8, dtype=np.float32)
    >>> frames = np.stack([np.add.outer(ramp, ramp) + 0.01 * t for t in range(4)], -1)
    >>> round(channel_roughness(frames, np.ones(frames.shape[:2], bool)), 3)
    0.07
    """
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] < 2:
        return None
    m = np.broadcast_to(np.asarray(mask, dtype=bool).reshape(
        a.shape[:2] + ((a.shape[2],) if np.ndim(mask) == 3 else (1,))), a.shape)
    sums = np.zeros(2)  # (along channels, across pixels)
    counts = np.zeros(2)
    with np.errstate(invalid="ignore", over="ignore"):
        prev = None
        for c in range(a.shape[2]):  # one channel at a time: no float copy of a large cube
            x, mc = a[..., c].astype(np.float64), m[..., c]
            for d, both in ((np.abs(x[1:] - x[:-1]), mc[1:] & mc[:-1]),
                            (np.abs(x[:, 1:] - x[:, :-1]), mc[:, 1:] & mc[:, :-1])):
                sums[1] += d[both].sum()
                counts[1] += both.sum()
            if prev is not None:
                both = mc & prev[1]
                sums[0] += np.abs(x - prev[0])[both].sum()
                counts[0] += both.sum()
            prev = (x, mc)
    if not counts.all() or sums[1] == 0:
        return None
    return float((sums[0] / counts[0]) / (sums[1] / counts[1]))


def get_settings(task: str, preset: str = "fast", *, channels: int = 3,
                 noise: str = "mixed", video: bool = False,
                 observed: float | None = None, iterations: int | None = None,
                 roughness: float | None = None, additions: bool = True) -> Settings:
    """Settings of a named preset for a task.

    Parameters
    ----------
    task : ``"inpaint"``, ``"decloud"`` or ``"denoise"``.
    preset : ``"paper"`` or ``"fast"``.
    channels : channels of the image (RGB inpainting uses λ_t = 0.5, more channels λ_t = 5;
        the ``fast`` preset's multichannel inpainting, where little is observed, λ_t = 100,
        :data:`FAST_MULTICHANNEL_LAMBDA_T`, on its separate networks, which it uses from
        :data:`FAST_SEPARATE_HEADS_MIN_CHANNELS` channels on, and 0.5 on fewer channels,
        :data:`FAST_FEW_CHANNELS_LAMBDA_T`, or on rough channels (``roughness``)).
    observed : for inpainting, the fraction of observed entries (:func:`pyngr.inpaint`
        passes its mask's). The ``fast`` preset's multichannel inpainting uses
        :data:`FAST_MULTICHANNEL_LAMBDA_T` below :data:`FAST_LAMBDA_T_MAX_OBSERVED` and the
        paper's λ_t at or above it; None counts as sparse (the paper's video and HSI
        experiments observe 5-20%).
    iterations : the run's iteration count, if not the preset's. The ``fast`` preset's
        multichannel λ_t rule depends on it where the network is the shared trunk (fewer
        than :data:`FAST_SEPARATE_HEADS_MIN_CHANNELS` channels) and the channels are
        smooth: :data:`FAST_FEW_CHANNELS_LAMBDA_T` was measured in short runs only, so from
        :data:`FAST_LAMBDA_T_MAX_ITERATIONS` iterations on the paper's λ_t is used.
    roughness : for inpainting, the observation's :func:`channel_roughness`
        (:func:`pyngr.inpaint` passes it). The ``fast`` preset's sparsely observed
        multichannel inpainting uses :data:`FAST_ROUGH_LAMBDA_T` where it is at least
        :data:`FAST_ROUGH_CHANNELS_MIN` (multispectral bands), the rules above otherwise;
        None counts as smooth (the paper's videos and cubes are).
    noise : for denoising, ``"mixed"`` or ``"gaussian"``.
    video : for Gaussian denoising, the reference's video settings instead of the HSI ones.
    additions : False: the preset's network, iteration count and result rule with the
        paper's algorithm otherwise, without pyngr's additions to ``fast`` (its bundled warm
        start, its ``"auto"`` perturbation schedule, its multichannel λ_t, its separate
        networks for multichannel images, its cloud removal's
        :data:`FAST_DECLOUD_ITERATIONS`; the bench's ``fast`` cloud removal runs 1500
        iterations). ``ngr bench``
        runs these, as the paper's experiments do, so that its records keep one meaning
        across versions; a new addition to ``fast`` must be left out here too (a test
        compares the result with ``paper``).

    Examples
    --------
    >>> get_settings("inpaint", "fast", channels=31, observed=0.1).admm.lambda_t
    100.0
    >>> get_settings("inpaint", "fast", channels=31, observed=0.9).admm.lambda_t
    5.0
    >>> get_settings("inpaint", "fast", channels=4, observed=0.1).admm.lambda_t
    0.5
    >>> get_settings("inpaint", "fast", channels=4, observed=0.1, iterations=5000).admm.lambda_t
    5.0
    >>> get_settings("inpaint", "fast", channels=13, observed=0.1, roughness=10.1).admm.lambda_t
    0.5
    >>> get_settings("inpaint", "fast", channels=31, additions=False).admm.lambda_t
    5.0
    >>> get_settings("decloud", "fast").iterations, get_settings("decloud", "fast",
    ...                                                          additions=False).iterations
    (3000, 1500)
    >>> [get_settings("inpaint", "fast", channels=c).network.heads for c in (3, 4, 5)]
    ['shared', 'shared', 'separate']
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if task == "denoise" and noise not in ("mixed", "gaussian"):
        raise InputError(f"unknown noise {noise!r}; expected 'mixed' or 'gaussian'")
    if observed is not None and not 0.0 <= observed <= 1.0:
        raise InputError(f"observed must be a fraction in [0, 1], got {observed!r}")
    if iterations is not None:
        try:
            iterations = int(iterations)
        except (TypeError, ValueError):
            raise InputError(f"iterations must be an integer, got {iterations!r}") from None
        if iterations < 1:
            raise InputError(f"iterations must be >= 1, got {iterations}")

    net = NetworkSettings()
    opt = OptimizerSettings()
    admm: InpaintingADMM | DenoisingADMM
    if task == "inpaint":
        admm = InpaintingADMM(lambda_t=0.5 if channels == 3 else 5.0)
        default_iterations = 15000
    elif task == "decloud":
        admm = InpaintingADMM(lambda_t=5.0)
        net = dataclasses.replace(net, input_noise=0.0)
        default_iterations = 15000
    else:
        default_iterations = 4000
        opt = OptimizerSettings(weight_decay=5.0)
        net = dataclasses.replace(net, upsample="bilinear")
        if noise == "mixed":
            admm = DenoisingADMM(noise="mixed", sparse_weight=3.0, alpha=1.0, rho=1.2,
                                 beta=2.0, gamma=150.0, mu_hv_max=0.16, mu_t_max=0.6)
        elif video:
            admm = DenoisingADMM(noise="gaussian", sparse_weight=2.0, alpha=0.02, rho=1.05,
                                 beta=150.0, gamma=150.0, mu_hv_max=0.16, mu_t_max=0.34)
            net = dataclasses.replace(net, output="tanh")
        else:
            admm = DenoisingADMM(noise="gaussian", sparse_weight=4.0, alpha=1.0, rho=1.05,
                                 beta=150.0, gamma=150.0, mu_hv_max=0.16, mu_t_max=0.4)
    if preset == "fast":
        default_iterations = (FAST_DECLOUD_ITERATIONS if task == "decloud" and additions
                              else _FAST_ITERATIONS[task])
    n = iterations if iterations is not None else default_iterations
    init_weights = None
    if preset == "fast":
        net = dataclasses.replace(net, **_FAST_NET)
        if task == "inpaint" and additions:  # each measured on inpainting (README "Speed")
            net = dataclasses.replace(net, input_noise_schedule="auto")
            if channels >= FAST_SEPARATE_HEADS_MIN_CHANNELS:
                net = dataclasses.replace(net, heads="separate")
            sparse = observed is None or observed < FAST_LAMBDA_T_MAX_OBSERVED
            if channels >= FAST_WARM_START_MIN_CHANNELS:
                init_weights = AUTO_WEIGHTS
            if channels != 3 and sparse:  # RGB keeps the paper's λ_t, as do dense observations
                rough = roughness is not None and roughness >= FAST_ROUGH_CHANNELS_MIN
                if rough:
                    admm = dataclasses.replace(admm, lambda_t=FAST_ROUGH_LAMBDA_T)
                elif net.heads == "separate":
                    admm = dataclasses.replace(admm, lambda_t=FAST_MULTICHANNEL_LAMBDA_T)
                elif n < FAST_LAMBDA_T_MAX_ITERATIONS:
                    admm = dataclasses.replace(admm, lambda_t=FAST_FEW_CHANNELS_LAMBDA_T)
    return Settings(task=task, preset=preset, iterations=n, admm=admm,  # type: ignore[arg-type]
                    network=net, optimizer=opt, init_weights=init_weights,
                    selection=_SELECTION[task] if preset == "paper" or task == "denoise"
                    else "final")


def override(settings: Any, path: str, value: Any) -> Any:
    """``settings`` with the field at dotted ``path`` replaced (frozen dataclasses).

    Works on NGR's :class:`Settings` and on a baseline's settings alike; a list value
    becomes a tuple. The result is validated like any new settings object.

    Examples
    --------
    >>> s = override(get_settings("inpaint", "fast"), "network.deterministic", True)
    >>> s.network.deterministic
    True
    >>> override(s, "network.colour", 1)
    Traceback (most recent call last):
    ...
    pyngr.errors.InputError: settings have no field 'colour'
    """
    head, _, rest = path.partition(".")
    if not dataclasses.is_dataclass(settings) or head not in {
            f.name for f in dataclasses.fields(settings)}:
        raise InputError(f"settings have no field {head!r}")
    if rest:
        value = override(getattr(settings, head), rest, value)
    elif isinstance(value, list):
        value = tuple(value)
    try:
        return dataclasses.replace(settings, **{head: value})
    except TypeError as exc:
        raise InputError(f"invalid value for {path!r}: {exc}") from exc


def parse_override(text: str) -> tuple[str, Any]:
    """``"dotted.path=VALUE"`` -> ``(path, value)``; VALUE is JSON, else taken as a string.

    Examples
    --------
    >>> parse_override("network.deterministic=true"), parse_override("admm.scheme=denoising")
    (('network.deterministic', True), ('admm.scheme', 'denoising'))
    """
    path, eq, raw = text.partition("=")
    if not eq or not path.strip():
        raise InputError(f"a settings override is path=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return path.strip(), value

