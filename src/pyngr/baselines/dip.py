"""The untrained-network baselines: Deep Image Prior (DIP) and S2DIP.

**DIP** (Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", CVPR 2018 / IJCV 2020; official
code ``DmitryUlyanov/deep-image-prior``) fits an untrained skip encoder-decoder f_θ, fed a
fixed random tensor z, to the degraded image: ``min_θ ‖M ⊙ (f_θ(z) − Y)‖²`` for completion,
``min_θ ‖f_θ(z) − Y‖²`` for denoising, with Adam and a fresh perturbation of z every
iteration; the architecture and the number of iterations are the prior.

**S2DIP** (Luo, Zhao, Jiang, Zheng, Chang, "Hyperspectral Mixed Noise Removal Via
Spatial-Spectral Constrained Unsupervised Deep Image Prior", IEEE JSTARS 14, 2021; official
code ``YisiLuo/S2DIP``) adds hand-crafted priors to DIP::

    min_{θ, S}  ½‖Y − f_θ(z) − S‖² + λ‖S‖₁ + τ₁ TV(f_θ(z)) + τ₂ SSTV(f_θ(z))

with the anisotropic ``TV(X) = ‖∇_h X‖₁ + ‖∇_v X‖₁`` and
``SSTV(X) = ‖∇_h∇_t X‖₁ + ‖∇_v∇_t X‖₁`` (spatial differences of the spectral difference), and
solves it by ADMM (see :func:`run_s2dip`). For completion the data term is
``½‖M ⊙ (Y − f_θ(z))‖²`` and there is no S.

Both report every iteration to a :class:`pyngr.solvers.Recorder`, like NGR. Differences
are circular (:mod:`pyngr.operators`), so S2DIP's X-step is one exact FFT solve.

Examples
--------
>>> import torch
>>> from pyngr.baselines.common import Problem
>>> from pyngr.baselines.dip import dip_defaults, run_dip
>>> from pyngr.presets import NetworkSettings
>>> from pyngr.solvers import Recorder
>>> y = torch.rand(3, 16, 16)
>>> mask = (torch.rand(3, 16, 16) < 0.5).float()
>>> s = dip_defaults("inpaint", channels=3, noise=None)
>>> s.iterations, s.lr, s.network.width, s.network.output
(6000, 0.01, 128, 'sigmoid')
>>> s = s.replace(iterations=3, network=NetworkSettings(width=8, depth=2, skip_channels=2,
...                                                      output="sigmoid", input_channels=4))
>>> out, history = run_dip(Problem(y * mask, mask), s, Recorder(s.iterations),
...                        torch.Generator().manual_seed(0))
>>> out.shape, history.iterations, bool(torch.equal(out * mask, y * mask))
(torch.Size([3, 16, 16]), 3, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import InputError
from ..networks import ImageNetwork, deterministic_algorithms, device_generator
from ..operators import difference_eigenvalues, fft_solve, grad, grad_adjoint
from ..presets import TASKS, NetworkSettings
from ..solvers import History, Recorder
from .common import MethodSettings, Problem, soft_threshold

__all__ = [
    "DIPSettings",
    "S2DIPSettings",
    "S2DIPSplitting",
    "dip_defaults",
    "run_dip",
    "run_s2dip",
    "s2dip_defaults",
    "s2dip_spectrum",
    "sstv",
    "sstv_adjoint",
]

# --------------------------------------------------------------------------------------
# Defaults and their sources
# --------------------------------------------------------------------------------------

#: DIP, denoising: ``denoising.ipynb`` of DmitryUlyanov/deep-image-prior, the F16 (synthetic
#: Gaussian noise) setting: ``get_net(32, 'skip', 'reflection', skip_n33d=128, skip_n33u=128,
#: skip_n11=4, num_scales=5, upsample_mode='bilinear')`` (sigmoid output and a 1×1
#: convolution after each up block are that ``skip``'s defaults), input 32 channels of
#: U[0, 1/10) noise (``get_noise``'s ``var=1/10``), ``reg_noise_std = 1/30``.
DIP_DENOISE_NETWORK = NetworkSettings(
    width=128, depth=5, skip_channels=4, upsample="bilinear", pad="reflection",
    conv1x1_up=True, heads="shared", output="sigmoid", input_channels=32, input_scale=0.1,
    input_noise=1.0 / 30.0,
)
#: DIP, inpainting: ``inpainting.ipynb`` of DmitryUlyanov/deep-image-prior, the text-inpainting
#: setting of Fig. 7 (``kate.png``/``peppers.png``, "same params and net as in
#: super-resolution and denoising"): 5 scales of 128 channels with 128 skip channels,
#: nearest upsampling, sigmoid, input 32 channels of U[0, 1/10), ``reg_noise_std = 0.03``.
DIP_INPAINT_NETWORK = NetworkSettings(
    width=128, depth=5, skip_channels=128, upsample="nearest", pad="reflection",
    conv1x1_up=True, heads="shared", output="sigmoid", input_channels=32, input_scale=0.1,
    input_noise=0.03,
)
#: S2DIP: ``demo.py`` of YisiLuo/S2DIP: ``skip(..., num_channels_down=[128]*4,
#: num_channels_up=[128]*4, num_channels_skip=[4]*4, upsample_mode='bilinear',
#: need_sigmoid=False, pad='reflection')`` (that repository's ``skip`` has no 1×1 up
#: convolution by default), input with as many channels as bands (``input_depth =
#: bands``) of U[0, 1/10) noise, ``reg_noise_std = 0.01``.
S2DIP_NETWORK = NetworkSettings(
    width=128, depth=4, skip_channels=4, upsample="bilinear", pad="reflection",
    conv1x1_up=False, heads="shared", output="linear", input_channels=None, input_scale=0.1,
    input_noise=0.01,
)


def _check_task(task: str, noise: str | None) -> str | None:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if task != "denoise":
        return None
    noise = "mixed" if noise is None else noise
    if noise not in ("mixed", "gaussian"):
        raise InputError(f"unknown noise {noise!r}; expected 'mixed' or 'gaussian'")
    return noise


# --------------------------------------------------------------------------------------
# DIP
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DIPSettings(MethodSettings):
    """Settings of Deep Image Prior (:func:`run_dip`); get them from :func:`dip_defaults`.

    Attributes
    ----------
    lr : Adam's learning rate on the network weights (0.01 in every DIP notebook).
    network : the image network (:class:`pyngr.networks.ImageNetwork`) and its input:
        ``input_channels`` channels of U[0, ``input_scale``) noise, plus fresh
        N(0, ``input_noise``²) noise every iteration.
    ema : weight of the exponential moving average of the outputs returned as the result
        (0.99 for denoising, as ``denoising.ipynb``'s ``exp_weight``); 0 returns the final
        iterate.
    """

    lr: float = 0.01
    network: NetworkSettings = field(default_factory=lambda: DIP_DENOISE_NETWORK)
    ema: float = 0.0



def dip_defaults(task: str, channels: int = 3, noise: str | None = None) -> DIPSettings:
    """DIP's settings for a task, as the official notebooks set them.

    Parameters
    ----------
    task : ``"inpaint"``, ``"decloud"`` or ``"denoise"``.
    channels : channels of the image. DIP's settings do not depend on it (the input always
        has 32 channels); accepted so that every baseline has the same signature.
    noise : for denoising, ``"gaussian"`` or ``"mixed"`` (None means ``"mixed"``); DIP
        fits both with the same squared loss and settings.

    Returns
    -------
    DIPSettings
        ``"denoise"``: ``denoising.ipynb`` (F16, Gaussian noise): 5-scale, 128-channel skip
        network with 4 skip channels, bilinear upsampling, reg. noise 1/30, Adam lr 0.01,
        3000 iterations, EMA of the outputs with weight 0.99.
        ``"inpaint"``: ``inpainting.ipynb`` (text inpainting, Fig. 7): 128 skip channels,
        nearest upsampling, reg. noise 0.03, lr 0.01, 6000 iterations (the notebook's
        ``num_iter = 6001`` counts from 0), final iterate.
        ``"decloud"``: DIP has no cloud-removal setting; the inpainting one.

    Examples
    --------
    >>> s = dip_defaults("denoise", channels=31, noise="gaussian")
    >>> s.iterations, s.ema, s.network.skip_channels, round(s.network.input_noise, 4)
    (3000, 0.99, 4, 0.0333)
    """
    _check_task(task, noise)
    if task == "denoise":
        return DIPSettings(method="dip", task=task, iterations=3000, lr=0.01,
                           network=DIP_DENOISE_NETWORK, ema=0.99)
    return DIPSettings(method="dip", task=task, iterations=6000, lr=0.01,
                       network=DIP_INPAINT_NETWORK, ema=0.0)


class _InputStream:
    """The fixed input z (on the problem's device) and its per-iteration perturbations."""

    def __init__(self, net: ImageNetwork, noise: float, generator: torch.Generator,
                 device: torch.device) -> None:
        self.device, self.noise = device, float(noise)
        self.z0 = net.make_input(generator).to(device)
        self.generator = device_generator(generator, device)

    def next(self) -> torch.Tensor:
        if self.noise <= 0:
            return self.z0
        eps = torch.randn(self.z0.shape, generator=self.generator, device=self.device)
        return self.z0 + self.noise * eps


def _make_network(problem: Problem, network: NetworkSettings, seed: int) -> ImageNetwork:
    c, h, w = problem.shape
    # Initialised on the CPU under the seed (identical weights on every device), then moved.
    return ImageNetwork(c, h, w, network, seed=seed).to(problem.y.device)


class _Output:
    """The answer from the network outputs: EMA or final, observed entries kept, in [0, 1]."""

    def __init__(self, problem: Problem, ema: float) -> None:
        self.y, self.ema = problem.y, float(ema)
        self.m = None if problem.mask is None else problem.mask.to(problem.y.dtype)
        self.avg: torch.Tensor | None = None

    def update(self, out: torch.Tensor) -> None:
        if self.ema > 0 and self.avg is not None:
            self.avg = self.ema * self.avg + (1 - self.ema) * out
        else:
            self.avg = out

    def estimate(self) -> torch.Tensor:
        assert self.avg is not None
        x = self.avg.clamp(0, 1)
        if self.m is not None:
            x = self.m * self.y + (1 - self.m) * x
        return x


def run_dip(problem: Problem, settings: DIPSettings, recorder: Recorder,
            generator: torch.Generator) -> tuple[torch.Tensor, History]:
    """Deep Image Prior: fit f_θ(z) to the observation, one Adam step per iteration.

    Loss: ``‖M ⊙ (f_θ(z) − Y)‖²`` when ``problem.mask`` is given (completion), else
    ``‖f_θ(z) − Y‖²`` (denoising; both noises), divided by the number of entries as the
    official ``MSELoss`` (the value the history records; Adam does not depend on the scale).
    ``z`` is the fixed input plus fresh Gaussian noise of std ``settings.network.input_noise``
    every iteration.

    Parameters
    ----------
    problem : the observation (and mask), float32 ``(C, H, W)`` in [0, 1]; the network and
        its input live on ``problem.y.device``.
    settings : :class:`DIPSettings` (see :func:`dip_defaults`).
    recorder : receives every iteration; a callback returning True stops the run.
    generator : draws the input and its perturbations (network weights: ``settings.seed``).

    Returns
    -------
    (tensor, History)
        The network output of the last iteration, or with ``settings.ema > 0`` the
        exponential moving average of the outputs, clipped to [0, 1]; for completion the
        observed entries are replaced by Y (``M ⊙ Y + (1 − M) ⊙ out``).

    Notes
    -----
    The denoising notebook's "backtracking" (restore the previous weights when the PSNR
    against the noisy image drops by 5 dB) is left out; it only guards against rare Adam
    blow-ups.

    Examples
    --------
    >>> import torch
    >>> from pyngr.baselines.common import Problem
    >>> from pyngr.presets import NetworkSettings
    >>> from pyngr.solvers import Recorder
    >>> s = dip_defaults("denoise", 3, "gaussian").replace(
    ...     iterations=2, network=NetworkSettings(width=8, depth=2, skip_channels=2,
    ...                                           output="sigmoid", input_channels=4))
    >>> out, h = run_dip(Problem(torch.rand(3, 12, 12), noise="gaussian"), s,
    ...                  Recorder(2), torch.Generator().manual_seed(0))
    >>> out.shape, h.iterations, 0 <= float(out.min()) <= float(out.max()) <= 1
    (torch.Size([3, 12, 12]), 2, True)
    """
    y = problem.y
    net = _make_network(problem, settings.network, settings.seed)
    inputs = _InputStream(net, settings.network.input_noise, generator, y.device)
    # foreach: torch's multi-tensor Adam, its default on CUDA only; on the CPU the same
    # update bitwise as the per-tensor loop, and cheaper (see solvers.run_admm_batch).
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, foreach=True)
    m = None if problem.mask is None else problem.mask.to(y.dtype)
    target = y if m is None else m * y
    output = _Output(problem, settings.ema)
    with deterministic_algorithms(settings.network.deterministic):
        for k in range(1, settings.iterations + 1):
            out = net(inputs.next())
            r = out - target if m is None else m * out - target
            loss = r.square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            output.update(out.detach())
            value = loss.detach()
            if recorder.step(k, output.estimate, lambda v=value: float(v)):
                break
    if output.avg is None:  # zero iterations: the untrained network's output
        with torch.no_grad():
            output.update(net(inputs.z0))
    return recorder.finish(output.estimate())


# --------------------------------------------------------------------------------------
# S2DIP
# --------------------------------------------------------------------------------------


def sstv(x: torch.Tensor) -> torch.Tensor:
    """SSTV's operator: ``(∇_h∇_t X, ∇_v∇_t X)``, shape ``(2, C, H, W)`` (circular).

    Examples
    --------
    >>> x = torch.arange(8.0).reshape(2, 2, 2) ** 2
    >>> sstv(x).shape
    torch.Size([2, 2, 2, 2])
    """
    dt = grad(x, "t")
    return torch.stack((grad(dt, "h"), grad(dt, "v")))


def sstv_adjoint(y: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`sstv`: ``∇_tᵀ(∇_hᵀ y₀ + ∇_vᵀ y₁)``."""
    return grad_adjoint(grad_adjoint(y[0], "h") + grad_adjoint(y[1], "v"), "t")


def s2dip_spectrum(shape: tuple[int, int, int] | torch.Size, tv_penalty: float,
                   sstv_penalty: float, *, dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> torch.Tensor:
    """FFT symbol of ``β₁(∇_hᵀ∇_h + ∇_vᵀ∇_v) + β₂ Σ_{a=h,v} (∇_a∇_t)ᵀ(∇_a∇_t)``.

    All the differences are circular, so they commute and are diagonalised by the 3-D FFT:
    the symbol is ``(e_h + e_v)(β₁ + β₂ e_t)`` with ``e`` the eigenvalues ``2 − 2cos(2πk/N)``.
    Use it with :func:`pyngr.operators.fft_solve`.
    """
    c, h, w = (int(s) for s in shape[-3:])
    e = {n: difference_eigenvalues(n, dtype=torch.float64, device=device) for n in {c, h, w}}
    spatial = e[h].view(1, h, 1) + e[w].view(1, 1, w)
    out = spatial * (tv_penalty + sstv_penalty * e[c].view(c, 1, 1))
    return out.to(dtype)


@dataclass(frozen=True)
class S2DIPSettings(MethodSettings):
    """Settings of S2DIP (:func:`run_s2dip`); get them from :func:`s2dip_defaults`.

    The ADMM (see :func:`run_s2dip`) splits ``X = f_θ(z)``, ``V_tv = (∇_h X, ∇_v X)`` and
    ``V_sstv = SSTV's operator of X``. Defaults are those of ``demo.py`` in YisiLuo/S2DIP.

    Attributes
    ----------
    lr : Adam's learning rate (``lr = 0.005`` in ``demo.py``; ``S2DIP_main.py`` has 0.001).
    network : the image network and its input (:data:`S2DIP_NETWORK`).
    sparse_weight : λ, weight of ‖S‖₁: S = soft(Y − f, λ). ``demo.py`` thresholds the
        residual at ``2·alpha_3 = 0.02``.
    tv_weight, sstv_weight : τ₁ and τ₂. ``demo.py`` soft-thresholds the split gradients at
        ``thres_tv = thres_sstv = 0.1`` with penalties μ (TV) and ``10·μ`` (SSTV), i.e.
        τ₁ = 0.1·μ = 0.012 and τ₂ = 0.1·10μ = 0.12.
    mu : penalty of the splits ``X = f_θ(z)`` and of the TV splits (``mu = 0.12``).
    sstv_penalty_scale : the SSTV splits' penalty is ``sstv_penalty_scale·mu`` (10).
    ema : weight of the moving average of the outputs returned for denoising (0.99; the
        official script declares ``exp_weight = 0.99`` but does not use it).
    """

    lr: float = 0.005
    network: NetworkSettings = field(default_factory=lambda: S2DIP_NETWORK)
    sparse_weight: float = 0.02
    tv_weight: float = 0.012
    sstv_weight: float = 0.12
    mu: float = 0.12
    sstv_penalty_scale: float = 10.0
    ema: float = 0.0



def s2dip_defaults(task: str, channels: int = 3, noise: str | None = None) -> S2DIPSettings:
    """S2DIP's settings for a task, as the official ``demo.py`` sets them.

    Parameters
    ----------
    task : ``"inpaint"``, ``"decloud"`` or ``"denoise"``.
    channels : channels of the image; the network input has as many (``input_depth =
        bands`` in ``demo.py``), which :data:`S2DIP_NETWORK` expresses with
        ``input_channels=None``.
    noise : for denoising, ``"mixed"`` (S active) or ``"gaussian"`` (S = 0); None means
        ``"mixed"``. The sparse term follows ``Problem.noise`` at run time.

    Returns
    -------
    S2DIPSettings
        7000 iterations (``num_iter = 7000``), Adam lr 0.005, λ = 0.02, τ₁ = 0.012,
        τ₂ = 0.12, μ = 0.12 (SSTV splits 10μ), the network of :data:`S2DIP_NETWORK`; the
        EMA (0.99) of the outputs for denoising, the final iterate for completion. The
        official code has only the denoising script; completion uses the same values.

    Examples
    --------
    >>> s = s2dip_defaults("denoise", channels=31, noise="mixed")
    >>> s.iterations, s.lr, s.sparse_weight, s.tv_weight, s.sstv_weight, s.mu, s.ema
    (7000, 0.005, 0.02, 0.012, 0.12, 0.12, 0.99)
    """
    _check_task(task, noise)
    return S2DIPSettings(method="s2dip", task=task, iterations=7000,
                         ema=0.99 if task == "denoise" else 0.0)


class S2DIPSplitting:
    """The non-network part of S2DIP's ADMM: X, the TV/SSTV splits, S and the multipliers.

    Augmented Lagrangian (f = f_θ(z), β₁ = μ, β₂ = ``sstv_penalty_scale``·μ)::

        ½‖Y − f − S‖² + λ‖S‖₁ + τ₁‖V₁‖₁ + τ₂‖V₂‖₁ + μ/2‖f − X + Γ/μ‖²
            + β₁/2‖(∇_h X, ∇_v X) − V₁ + Λ₁/β₁‖² + β₂/2‖SSTV-op(X) − V₂ + Λ₂/β₂‖²

    (completion: ``½‖M ⊙ (Y − f)‖²`` and no S). The θ-step minimises the terms in f
    (:meth:`network_loss`); :meth:`update` then does, with f fixed,

    1. X: ``(μ + β₁ Σ_a ∇_aᵀ∇_a + β₂ Σ_a (∇_a∇_t)ᵀ(∇_a∇_t)) X
       = μ f + Γ + Σ ∇ᵀ(β V − Λ)`` by one FFT solve (:func:`s2dip_spectrum`);
    2. V₁ = soft(∇X + Λ₁/β₁, τ₁/β₁), V₂ = soft(SSTV-op(X) + Λ₂/β₂, τ₂/β₂);
    3. S = soft(Y − f, λ) (mixed noise only);
    4. Λ₁ += β₁(∇X − V₁), Λ₂ += β₂(SSTV-op(X) − V₂), Γ += μ(f − X).

    Parameters
    ----------
    problem : the observation; ``problem.noise == "mixed"`` activates S (denoising only).
    settings : λ, τ₁, τ₂, μ and the SSTV penalty scale.
    f0 : the first network output, which starts X (and V = its differences, S = soft(Y − f0)).
    """

    def __init__(self, problem: Problem, settings: S2DIPSettings, f0: torch.Tensor) -> None:
        self.y = problem.y
        self.m = None if problem.mask is None else problem.mask.to(problem.y.dtype)
        self.sparse = self.m is None and problem.noise == "mixed"
        self.lam = float(settings.sparse_weight)
        self.tau = (float(settings.tv_weight), float(settings.sstv_weight))
        self.mu = float(settings.mu)
        self.beta = (self.mu, float(settings.sstv_penalty_scale) * self.mu)
        self.spectrum = s2dip_spectrum(self.y.shape, *self.beta, dtype=self.y.dtype,
                                       device=self.y.device)
        self.x = f0.detach().clone()
        self.v = [self.tv_op(self.x), sstv(self.x)]
        self.mult = [torch.zeros_like(v) for v in self.v]
        self.gamma = torch.zeros_like(self.y)
        self.s = soft_threshold(self.y - self.x, self.lam) if self.sparse else None

    @staticmethod
    def tv_op(x: torch.Tensor) -> torch.Tensor:
        """``(∇_h X, ∇_v X)``, shape ``(2, C, H, W)``."""
        return torch.stack((grad(x, "h"), grad(x, "v")))

    @staticmethod
    def tv_adjoint(y: torch.Tensor) -> torch.Tensor:
        return grad_adjoint(y[0], "h") + grad_adjoint(y[1], "v")

    def network_loss(self, f: torch.Tensor) -> torch.Tensor:
        """The θ-step's loss: the data term and the augmented term tying f to X."""
        if self.m is not None:
            r = self.m * (self.y - f)
        else:
            r = self.y - f if self.s is None else self.y - f - self.s
        tie = f - self.x + self.gamma / self.mu
        return 0.5 * r.square().sum() + 0.5 * self.mu * tie.square().sum()

    def x_rhs(self, f: torch.Tensor) -> torch.Tensor:
        """Right-hand side of the X-step's normal equations."""
        (b1, b2), (v1, v2), (l1, l2) = self.beta, self.v, self.mult
        return (self.mu * f + self.gamma + self.tv_adjoint(b1 * v1 - l1)
                + sstv_adjoint(b2 * v2 - l2))

    def x_objective(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """The terms of the augmented Lagrangian in X (the X-step minimises it exactly)."""
        (b1, b2), (v1, v2), (l1, l2) = self.beta, self.v, self.mult
        return (0.5 * self.mu * (f - x + self.gamma / self.mu).square().sum()
                + 0.5 * b1 * (self.tv_op(x) - v1 + l1 / b1).square().sum()
                + 0.5 * b2 * (sstv(x) - v2 + l2 / b2).square().sum())

    def update(self, f: torch.Tensor) -> None:
        """Steps 1-4 with the network output ``f`` fixed (detached)."""
        self.x = fft_solve(self.x_rhs(f), self.mu, self.spectrum)
        ops = (self.tv_op(self.x), sstv(self.x))
        for i in range(2):
            b = self.beta[i]
            self.v[i] = soft_threshold(ops[i] + self.mult[i] / b, self.tau[i] / b)
            self.mult[i] = self.mult[i] + b * (ops[i] - self.v[i])
        if self.sparse:
            self.s = soft_threshold(self.y - f, self.lam)
        self.gamma = self.gamma + self.mu * (f - self.x)

    def penalties(self) -> dict[str, float]:
        return {"mu": self.mu}


def run_s2dip(problem: Problem, settings: S2DIPSettings, recorder: Recorder,
              generator: torch.Generator) -> tuple[torch.Tensor, History]:
    """S2DIP: DIP with TV, SSTV and (mixed noise) a sparse term, solved by ADMM.

    Every iteration: one Adam step on θ with the loss of
    :meth:`S2DIPSplitting.network_loss` (data term + ``μ/2‖f − X + Γ/μ‖²``), the network fed
    the fixed input plus fresh N(0, ``input_noise``²) noise; then :meth:`S2DIPSplitting.update`
    with that iteration's output f: the exact FFT X-step, soft-thresholding of the TV/SSTV
    splits and of S, and the multiplier updates. μ is constant, as in the official code.

    Parameters
    ----------
    problem : observation (and mask for completion; ``noise="mixed"`` activates S).
    settings : :class:`S2DIPSettings` (see :func:`s2dip_defaults`).
    recorder : receives every iteration; a callback returning True stops the run.
    generator : draws the input and its perturbations (network weights: ``settings.seed``).

    Returns
    -------
    (tensor, History)
        The network output (the EMA of the outputs when ``settings.ema > 0``), clipped to
        [0, 1]; for completion the observed entries are Y.

    Notes
    -----
    Differences from the official ``demo.py``, which has no X variable and puts the TV/SSTV
    splits directly on the network output: its network loss uses unsquared norms
    (``torch.norm``); here the squared norms of the model, so that the steps are the ADMM
    of ``½‖Y − f − S‖² + λ‖S‖₁ + τ₁TV + τ₂SSTV``. Its differences are not circular. It adds
    the input to Adam's parameters but feeds the network a detached copy, so the input stays
    fixed, as here.

    Examples
    --------
    >>> import torch
    >>> from pyngr.baselines.common import Problem
    >>> from pyngr.presets import NetworkSettings
    >>> from pyngr.solvers import Recorder
    >>> s = s2dip_defaults("denoise", 4, "mixed").replace(
    ...     iterations=2, network=NetworkSettings(width=8, depth=2, skip_channels=2))
    >>> out, h = run_s2dip(Problem(torch.rand(4, 12, 12), noise="mixed"), s, Recorder(2),
    ...                    torch.Generator().manual_seed(0))
    >>> out.shape, h.iterations
    (torch.Size([4, 12, 12]), 2)
    """
    y = problem.y
    net = _make_network(problem, settings.network, settings.seed)
    inputs = _InputStream(net, settings.network.input_noise, generator, y.device)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, foreach=True)
    output = _Output(problem, settings.ema)
    admm: S2DIPSplitting | None = None
    with deterministic_algorithms(settings.network.deterministic):
        for k in range(1, settings.iterations + 1):
            f = net(inputs.next())
            if admm is None:
                admm = S2DIPSplitting(problem, settings, f)
            loss = admm.network_loss(f)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            fd = f.detach()
            admm.update(fd)
            output.update(fd)
            value = loss.detach()
            if recorder.step(k, output.estimate, lambda v=value: float(v), admm.penalties):
                break
    if admm is None:  # zero iterations: the untrained network's output
        with torch.no_grad():
            output.update(net(inputs.z0))
    return recorder.finish(output.estimate())

