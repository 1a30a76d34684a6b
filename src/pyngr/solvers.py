"""NGR's ADMM: one iteration skeleton, two pluggable schemes.

Every iteration of every task does the same four things (SPEC sections 2 and 3):

1. Θ-step: one Adam step on the network loss, X fixed, F = f_Θ(G0 + fresh noise);
2. X-step: closed-form FFT solve with F detached;
3. the auxiliary variable (missing entries K, or sparse noise S);
4. the multipliers and penalties.

:func:`run_admm` is that loop. What differs between tasks lives in a :class:`Scheme`:
:class:`InpaintingScheme` (inpainting and cloud removal, Algorithm 1) and
:class:`DenoisingScheme` (mixed or Gaussian noise). The loop never sees ground truth; an
optional :class:`Monitor` may compute metrics against it for the history, which the result
never depends on.

All tensors are float32 ``(C, H, W)`` in [0, 1] on one device; penalties are Python floats
(their schedule is deterministic), so the loop makes no host-device synchronisation except
at monitoring points.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .checkpoint import Checkpointing, RunInterrupted, fingerprint
from .errors import EngineWarning, InputError
from .networks import (
    GradientNetwork,
    GradientNetworkBatch,
    deterministic_algorithms,
    device_generator,
    load_network_state,
    warm_start_for,
)
from .operators import AXES, fft_solve, grad, grad_adjoint, normal_operator_spectrum
from .presets import DenoisingADMM, InpaintingADMM, Settings

__all__ = [
    "AUTO_LINEAR_MIN_OBSERVED",
    "DenoisingScheme",
    "History",
    "InpaintingScheme",
    "IterationInfo",
    "Monitor",
    "Recorder",
    "Scheme",
    "dual_norm",
    "noise_schedule_for",
    "run_admm",
    "run_admm_batch",
    "schedule_for_fraction",
]


def dual_norm(y: torch.Tensor, weight: float) -> float:
    """``d = max(σ_max(Y unfolded to C × HW), ‖Y‖_∞ / weight)``: RPCA-style scale of the start."""
    y64 = y.detach().reshape(y.shape[0], -1).double()
    sigma = float(torch.linalg.matrix_norm(y64, ord=2))
    inf = float(y64.abs().max()) / (weight + 1e-8)
    d = max(sigma, inf)
    return d if d > 0 else 1.0


class Scheme(ABC):
    """Task-specific part of the ADMM: loss of the Θ-step, X/aux/multiplier updates.

    ``_state`` names the attributes that change over the iterations (saved in a checkpoint,
    :mod:`pyngr.checkpoint`), ``_observation`` those a checkpoint must match.
    """

    x: torch.Tensor
    mu: float
    _state: tuple[str, ...] = ()
    _observation: tuple[str, ...] = ("y",)

    def state_dict(self) -> dict[str, Any]:
        """The iteration state: tensors, lists of tensors and floats."""
        return {name: getattr(self, name) for name in self._state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s values, on this scheme's device."""
        device = self.x.device
        for name in self._state:
            setattr(self, name, _on(state[name], device))

    def observation(self) -> list[torch.Tensor]:
        """The data the run restores (what a checkpoint is checked against)."""
        return [getattr(self, name) for name in self._observation]

    @abstractmethod
    def network_loss(self, f: torch.Tensor) -> torch.Tensor:
        """Loss minimised by the Adam step; ``f`` is ``(3, C, H, W)``, X fixed."""

    @abstractmethod
    def update(self, f: torch.Tensor) -> None:
        """X-step, auxiliary step, multiplier and penalty updates with ``f`` detached."""

    @abstractmethod
    def estimate(self) -> torch.Tensor:
        """The current answer, ``(C, H, W)`` clipped to [0, 1]."""

    def penalties(self) -> dict[str, float]:
        return {"mu": self.mu}

    def observed_fraction(self) -> float:
        """The fraction of the entries that are observed (1: nothing is missing)."""
        return 1.0


class InpaintingScheme(Scheme):
    """Algorithm 1: inpainting and cloud removal.

    Parameters
    ----------
    y : observation ``(C, H, W)``; its missing entries are ignored (set to 0 internally).
    mask : 1 where observed, 0 where missing, same shape.
    admm : parameters (λ_t, α, ρ, μ_max).
    generator : draws the uniform start on the missing entries.
    """

    _state = ("x", "k", "lam", "mu")
    _observation = ("y", "m")

    def __init__(self, y: torch.Tensor, mask: torch.Tensor, admm: InpaintingADMM,
                 generator: torch.Generator) -> None:
        self.m = mask.to(y.dtype)
        self.y = y * self.m
        self.admm = admm
        self.weights = {"h": 1.0, "v": 1.0, "t": admm.lambda_t}
        self.spectrum = normal_operator_spectrum(y.shape, self.weights, dtype=y.dtype,
                                                 device=y.device)
        # drawn on the generator's device (CPU from the API): the same start everywhere
        u = torch.rand(y.shape, generator=generator, device=generator.device,
                       dtype=y.dtype).to(y.device)
        self.x = self.m * self.y + (1 - self.m) * u
        self.k = torch.zeros_like(y)
        d = dual_norm(self.y, admm.lambda_t)
        self.lam = self.y / d
        self.mu = admm.alpha / d

    def network_loss(self, f: torch.Tensor) -> torch.Tensor:
        loss = f.new_zeros(())
        for i, axis in enumerate(AXES):
            loss = loss + 0.5 * self.weights[axis] * (grad(self.x, axis) - f[i]).square().sum()
        return loss

    def update(self, f: torch.Tensor) -> None:
        mu = self.mu
        rhs = mu * (self.y - self.k) + self.lam
        for i, axis in enumerate(AXES):
            rhs = rhs + self.weights[axis] * grad_adjoint(f[i], axis)
        self.x = fft_solve(rhs, mu, self.spectrum)
        self.k = (self.y - self.x + self.lam / mu) * (1 - self.m)
        self.lam = self.lam + mu * (self.y - self.x - self.k)
        self.mu = min(self.admm.mu_max, self.admm.rho * mu)

    def estimate(self) -> torch.Tensor:
        out = self.m * self.y + (1 - self.m) * self.x.clamp(0, 1)
        return out

    def observed_fraction(self) -> float:
        return float(self.m.mean())


class DenoisingScheme(Scheme):
    """The denoising ADMM for Y = X + S + N (SPEC section 3)."""

    _state = ("x", "s", "gamma", "gammas", "ema", "mu", "mu_hv", "mu_t")

    def __init__(self, y: torch.Tensor, admm: DenoisingADMM) -> None:
        self.y = y
        self.admm = admm
        d = dual_norm(y, admm.sparse_weight)
        self.mu = admm.alpha / d
        self.mu_hv = self.mu * admm.beta
        self.mu_t = self.mu * admm.gamma
        self.gamma = y / d
        self.gammas = [self.gamma.clone() for _ in AXES]
        self.g = torch.stack([grad(y, a) for a in AXES])
        self.s = torch.zeros_like(y)
        self.x = y.clone()
        self.ema: torch.Tensor | None = None
        self.base_hv = normal_operator_spectrum(y.shape, {"h": 1.0, "v": 1.0}, dtype=y.dtype,
                                                device=y.device)
        self.base_t = normal_operator_spectrum(y.shape, {"t": 1.0}, dtype=y.dtype,
                                               device=y.device)

    def _mus(self) -> tuple[float, float, float]:
        return (self.mu_hv, self.mu_hv, self.mu_t)

    def network_loss(self, f: torch.Tensor) -> torch.Tensor:
        loss = (f - self.g).square().sum()
        for i, (axis, mui) in enumerate(zip(AXES, self._mus(), strict=True)):
            r = grad(self.x, axis) - f[i] + self.gammas[i] / mui
            loss = loss + 0.5 * mui * r.square().sum()
        return loss

    def update(self, f: torch.Tensor) -> None:
        a = self.admm
        mu, mus = self.mu, self._mus()
        rhs = mu * (self.y - self.s) + self.gamma
        for i, (axis, mui) in enumerate(zip(AXES, mus, strict=True)):
            rhs = rhs + grad_adjoint(mui * f[i] - self.gammas[i], axis)
        spectrum = self.mu_hv * self.base_hv + self.mu_t * self.base_t
        self.x = fft_solve(rhs, mu, spectrum)
        r = self.y - self.x
        if a.noise == "mixed":
            v = r + self.gamma / mu
            self.s = torch.sign(v) * torch.clamp(v.abs() - a.sparse_weight / mu, min=0)
        else:
            self.s = (self.gamma + mu * r) / (2 * a.sparse_weight + mu)
        for i, (axis, mui) in enumerate(zip(AXES, mus, strict=True)):
            self.gammas[i] = self.gammas[i] + mui * (grad(self.x, axis) - f[i])
        self.gamma = self.gamma + mu * (r - self.s)
        self.mu = min(a.mu_max, a.rho * mu)
        self.mu_hv = min(a.mu_hv_max, a.rho * self.mu_hv)
        self.mu_t = min(a.mu_t_max, a.rho * self.mu_t)
        if self.ema is None:
            self.ema = self.x.clamp(0, 1)
        else:
            self.ema = (a.ema * self.ema + (1 - a.ema) * self.x).clamp(0, 1)

    def estimate(self) -> torch.Tensor:
        return self.ema if self.ema is not None else self.x.clamp(0, 1)

    def penalties(self) -> dict[str, float]:
        return {"mu": self.mu, "mu_hv": self.mu_hv, "mu_t": self.mu_t}


def _on(value: Any, device: torch.device) -> Any:
    """``value`` (a tensor, a list of them, or a plain value) with its tensors on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, list):
        return [_on(v, device) for v in value]
    return value


class _LazyMaps:
    """The gradient maps of one iteration, copied to a numpy array on the first call only.

    :class:`Recorder` calls :meth:`release` once the callbacks have returned, so a kept
    :class:`IterationInfo` does not keep the maps alive (on a GPU, one ``(3, C, H, W)`` tensor
    per monitoring point); a copy made during the callback stays available.
    """

    def __init__(self, source: Callable[[], torch.Tensor], iteration: int) -> None:
        self._source: Callable[[], torch.Tensor] | None = source
        self._array: np.ndarray | None = None
        self._iteration = iteration

    def __call__(self) -> np.ndarray:
        if self._array is None:
            if self._source is None:
                raise RuntimeError(
                    f"the gradient maps of iteration {self._iteration} were released when the "
                    "callbacks returned; call info.gradient_maps() inside the callback")
            self._array = self._source().detach().to("cpu", copy=True).numpy()
        return self._array

    def release(self) -> None:
        self._source = None


@dataclass
class IterationInfo:
    """What a callback sees at a monitoring point.

    Examples
    --------
    In a tiled run (:mod:`pyngr.tiling`) the callbacks are called for each tile in turn;
    ``tile`` is then ``(index, count)``, and ``iteration``, :meth:`estimate` and
    :meth:`gradient_maps` are the tile's. A callback returning True ends that tile's run.

    A callback that keeps the gradient maps every 1000 iterations (paper Fig. 11):

    >>> import numpy as np, pyngr
    >>> maps = {}
    >>> def keep(info):
    ...     if info.has_gradient_maps:
    ...         maps[info.iteration] = info.gradient_maps()
    >>> img = np.random.default_rng(0).random((24, 24, 3)).astype(np.float32)
    >>> _ = pyngr.inpaint(img, img > 0.5, iterations=2, monitor_every=1, callback=keep,
    ...                   device="cpu")
    >>> sorted(maps), maps[2].shape
    ([1, 2], (3, 3, 24, 24))
    """

    iteration: int
    iterations: int
    loss: float
    elapsed: float
    penalties: dict[str, float]
    metrics: dict[str, float]
    _estimate: Callable[[], np.ndarray]
    _gradient_maps: Callable[[], np.ndarray] | None = None
    tile: tuple[int, int] | None = None

    def estimate(self) -> np.ndarray:
        """The current answer as a ``(C, H, W)`` float32 array in [0, 1] (scheme layout)."""
        return self._estimate()

    @property
    def has_gradient_maps(self) -> bool:
        """Whether :meth:`gradient_maps` is available: True in NGR runs, False for baselines."""
        return self._gradient_maps is not None

    def gradient_maps(self) -> np.ndarray:
        """The network output F = (F_h, F_v, F_t) of this iteration, ``(3, C, H, W)`` float32.

        These are the maps this iteration's X-step used: f_Θ(G0 + this iteration's input
        noise) with the weights before this iteration's Adam step, detached and copied to the
        CPU on the first call (nothing is computed or synchronised unless a callback asks).
        Scheme layout, as :meth:`estimate` (for cloud removal, all dates' channels).
        Call it inside the callback: the maps are released when the callbacks return
        (an array obtained during the callback stays valid).

        Raises
        ------
        NotImplementedError
            For solvers without a gradient network (the baselines; see
            :attr:`has_gradient_maps`).
        RuntimeError
            When first called after the callbacks of this iteration returned.
        """
        if self._gradient_maps is None:
            raise NotImplementedError(
                "gradient_maps() exists for NGR runs only: this solver (a baseline) has no "
                "gradient network")
        return self._gradient_maps()


@dataclass
class History:
    """Record of a run: per monitoring point loss, time, penalties and monitored metrics.

    ``oracle`` holds the best monitored PSNR against ground truth and its iteration when
    ground truth was given: an *oracle* figure, for reporting beside the honest final-iterate
    number only; it never chose the result. ``warm_start`` names the weights the network
    started from (None: random initialisation); ``noise_schedule`` the schedule of the
    network's input perturbation that was used (``"auto"`` resolved, see
    :func:`noise_schedule_for`; None for the baselines, which do not run this loop).
    """

    iterations: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    wall_time: float = 0.0
    device: str = "cpu"
    oracle: dict[str, Any] | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    selection: str = "final"
    selected_iteration: int = 0
    tiles: list[dict[str, Any]] = field(default_factory=list)
    changes: list[tuple[int, float]] = field(default_factory=list)
    warm_start: str | None = None
    noise_schedule: str | None = None

    def column(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.records]

    def result_is(self) -> str:
        """Which iterate the result is, for records and labels: ``"final iterate"``, or the
        observation-only rule that chose it and its iteration."""
        rule = {"stable": "stable-iterate rule", "min_loss": "min-loss rule"}.get(
            self.selection)
        if rule is None:
            return "final iterate"
        return f"{rule} (iteration {self.selected_iteration})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "wall_time": self.wall_time,
            "seconds_per_iteration": self.wall_time / max(self.iterations, 1),
            "device": self.device,
            "stopped_early": self.stopped_early,
            "stop_reason": self.stop_reason,
            "oracle": self.oracle,
            "selection": self.selection,
            "selected_iteration": self.selected_iteration,
            "tiles": self.tiles,
            "changes": self.changes,
            "warm_start": self.warm_start,
            "noise_schedule": self.noise_schedule,
            "records": self.records,
        }


class Monitor:
    """Metrics against ground truth at monitoring points (monitoring only).

    ``metric`` maps ``(estimate, ground_truth)`` tensors ``(C, H, W)`` to a dict of floats;
    the first key is the one the oracle tracks (higher is better).
    """

    def __init__(self, ground_truth: torch.Tensor,
                 metric: Callable[[torch.Tensor, torch.Tensor], dict[str, float]]) -> None:
        self.gt = ground_truth
        self.metric = metric

    def __call__(self, estimate: torch.Tensor) -> dict[str, float]:
        return self.metric(estimate, self.gt)


class Recorder:
    """Bookkeeping shared by every iterative solver (NGR and the baselines).

    Call :meth:`step` after each iteration and :meth:`finish` at the end. It keeps the
    :class:`History`, computes monitored metrics (ground truth, monitoring only) and calls the
    callbacks every ``monitor_every`` iterations and at the last one, and applies the
    observation-only selection rules: every ``window`` iterations ``"stable"`` measures the
    relative change of the estimate since the previous check and keeps the estimate with the
    smallest change; ``"min_loss"`` (every ``window`` iterations and at the last one) keeps
    the estimate of the iteration with the smallest network loss (the fit of the network's
    output to the gradients of the current X: a late collapse of the network shows as a
    jump of it). The relative changes are kept in ``History.changes`` whatever the
    selection (observation-only: they let a rule be studied after the run).

    With ``stop_tolerance``, the same check also ends the run early once that relative
    change falls below the tolerance (an observation-only stopping rule: easy images stop
    sooner); ``History.stop_reason`` then says ``"converged"``.

    Parameters
    ----------
    iterations : the planned number of iterations (``n``).
    device : where the tensors live (CUDA is synchronised before the wall time is read).
    """

    def __init__(self, iterations: int, *, device: torch.device | str = "cpu",
                 monitor: Monitor | None = None, monitor_every: int = 10,
                 callbacks: tuple[Callable[[IterationInfo], bool | None], ...] = (),
                 selection: str = "final", window: int = 50,
                 stop_tolerance: float | None = None) -> None:
        self.n = int(iterations)
        self.device = torch.device(device)
        self.monitor = monitor
        self.every = max(1, int(monitor_every))
        self.callbacks = callbacks
        self.window = max(1, int(window))
        self.stable = selection == "stable"
        self.min_loss = selection == "min_loss"
        self._best_loss = math.inf
        self.stop_tolerance = stop_tolerance
        self.history = History(device=str(self.device), selection=selection)
        self._previous: torch.Tensor | None = None
        self._chosen: torch.Tensor | None = None
        self._best_change = math.inf
        self._oracle_key: str | None = None
        self.start = time.perf_counter()

    def step(self, k: int, estimate: Callable[[], torch.Tensor],
             loss: Callable[[], float] | None = None,
             penalties: Callable[[], dict[str, float]] | None = None, *,
             last: bool = False,
             gradient_maps: Callable[[], torch.Tensor] | None = None) -> bool:
        """Record iteration ``k`` (1-based); return True when a callback asks to stop.

        ``last=True`` says the solver ends after this iteration (e.g. converged), so it is
        recorded and reported like the planned last one. ``gradient_maps`` gives this
        iteration's network output ``(3, C, H, W)`` for :meth:`IterationInfo.gradient_maps`
        (NGR; called only if a callback asks).
        """
        history = self.history
        history.iterations = k
        converged = False
        loss_value: float | None = None
        if self.min_loss and loss is not None and (k % self.window == 0 or k == self.n
                                                   or last):
            loss_value = float(loss())
            if loss_value < self._best_loss:  # False for NaN: a diverged step is never kept
                self._best_loss, self._chosen = loss_value, estimate().detach().clone()
                history.selected_iteration = k
        if k % self.window == 0:
            est = estimate().detach()
            if self._previous is not None:
                change = float(torch.linalg.vector_norm(est - self._previous)
                               / torch.linalg.vector_norm(est).clamp_min(1e-12))
                history.changes.append((k, change))
                if self.stable and change < self._best_change:
                    self._best_change, self._chosen = change, est.clone()
                    history.selected_iteration = k
                converged = (self.stop_tolerance is not None and change < self.stop_tolerance
                             and k < self.n)
            self._previous = est.clone()
        if converged:
            history.stopped_early = True
            history.stop_reason = "converged"
        if k % self.every and k != self.n and not last and not converged:
            return False
        # Reading the loss waits for the device, so the clock is read after it (on CUDA
        # the time would otherwise miss the queued work).
        if loss_value is None:
            loss_value = float(loss()) if loss is not None else math.nan
        if loss is None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - self.start
        pens = penalties() if penalties is not None else {}
        rec: dict[str, Any] = {"iteration": k, "loss": loss_value, "elapsed": elapsed, **pens}
        metrics: dict[str, float] = {}
        if self.monitor is not None:
            metrics = self.monitor(estimate())
            rec.update(metrics)
            self._oracle_key = self._oracle_key or next(iter(metrics), None)
            key = self._oracle_key
            if key is not None:
                value = metrics[key]
                best = history.oracle
                if best is None or (math.isfinite(value) and value > best[key]):
                    history.oracle = {"iteration": k, **metrics}
        history.records.append(rec)
        stop = False
        if self.callbacks:
            maps = _LazyMaps(gradient_maps, k) if gradient_maps is not None else None
            info = IterationInfo(k, self.n, loss_value, elapsed, pens, metrics,
                                 lambda: estimate().detach().cpu().numpy(), maps)
            for cb in self.callbacks:
                stop = bool(cb(info)) or stop
            if maps is not None:
                maps.release()
        if stop and k < self.n:
            history.stopped_early = True
            history.stop_reason = history.stop_reason or "callback"
        return stop or converged

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to go on recording as if it had not stopped."""
        return {"history": dataclasses.asdict(self.history), "best_loss": self._best_loss,
                "chosen": self._chosen, "previous": self._previous,
                "best_change": self._best_change, "oracle_key": self._oracle_key,
                "elapsed": time.perf_counter() - self.start}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; the clock goes on from the saved elapsed time."""
        self.history = History(**state["history"])
        self._best_loss, self._best_change = state["best_loss"], state["best_change"]
        self._chosen = _on(state["chosen"], self.device)
        self._previous = _on(state["previous"], self.device)
        self._oracle_key = state["oracle_key"]
        self.start = time.perf_counter() - state["elapsed"]

    def finish(self, estimate: torch.Tensor) -> tuple[torch.Tensor, History]:
        """Close the history; return the selected estimate (the final one by default)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.history.wall_time = time.perf_counter() - self.start
        chosen = self._chosen
        if chosen is None:  # "final", or too few iterations for two checks
            self.history.selected_iteration = self.history.iterations
            chosen = estimate.detach()
        return chosen, self.history


def run_admm(
    scheme: Scheme,
    network: GradientNetwork,
    settings: Settings,
    generator: torch.Generator,
    *,
    monitor_every: int = 10,
    monitor: Monitor | None = None,
    callbacks: tuple[Callable[[IterationInfo], bool | None], ...] = (),
    checkpoint: Checkpointing | None = None,
) -> tuple[torch.Tensor, History]:
    """Run ``settings.iterations`` ADMM iterations; return the result and the history.

    The result is the final iterate, or with ``settings.selection == "stable"`` the iterate
    whose relative change over the last ``settings.selection_window`` iterations was the
    smallest (checked every window), or with ``"min_loss"`` the iterate whose network loss
    was the smallest (checked every window and at the last iteration); both are rules on
    the observation only.
    Callbacks are called every ``monitor_every`` iterations and at the last one; a callback
    returning ``True`` stops the run (the current iterate is then the final one). Their
    :meth:`IterationInfo.gradient_maps` is the network output F of the iteration.
    With ``settings.init_weights`` the network's weights are first replaced by the saved
    ``state_dict`` (warm start; :func:`pyngr.networks.load_network_state`; ``"pyngr:auto"``:
    the bundled ``fast`` RGB weights where they fit or can be fitted,
    :func:`pyngr.networks.warm_start_for`).
    The network is trained in place: after the run it holds the final weights.
    With ``checkpoint`` (:class:`pyngr.checkpoint.Checkpointing`) the run resumes from its
    file when there is one, saves its state there as asked, and may stop early with
    :class:`pyngr.checkpoint.RunInterrupted`.
    """
    return run_admm_batch([scheme], [network], settings, [generator],
                          monitor_every=monitor_every, monitors=[monitor],
                          callbacks=[callbacks], checkpoint=checkpoint)[0]


def run_admm_batch(
    schemes: Sequence[Scheme],
    networks: Sequence[GradientNetwork],
    settings: Settings,
    generators: Sequence[torch.Generator],
    *,
    monitor_every: int = 10,
    monitors: Sequence[Monitor | None] | None = None,
    callbacks: Sequence[tuple[Callable[[IterationInfo], bool | None], ...]] | None = None,
    checkpoint: Checkpointing | None = None,
) -> list[tuple[torch.Tensor, History]]:
    """:func:`run_admm` for ``K`` problems of one size and one setting, in one loop.

    Each problem keeps its own scheme, network, generator (seed), monitor, callbacks and
    history, and gets the result it would get alone: the networks are trained on the sum of
    the losses, and each loss depends on its own network only (with ``settings.network.fused``
    up to the rounding of the grouped convolutions). What is shared is the work: with
    ``fused`` every layer of the ``K`` networks is one launch
    (:class:`pyngr.networks.GradientNetworkBatch`), and one Adam step updates them all.
    A problem whose callback stops it is frozen (no more updates); the loop ends when all are.
    ``checkpoint`` (see :func:`run_admm`) takes one problem only.

    Examples
    --------
    >>> import torch
    >>> from pyngr.presets import NetworkSettings, get_settings
    >>> st = get_settings("inpaint", "fast").replace(
    ...     iterations=3, network=NetworkSettings(width=8, depth=2, heads="shared"))
    >>> y = torch.rand(2, 3, 16, 16); m = (torch.rand(2, 3, 16, 16) > 0.5).float()
    >>> gens = [torch.Generator().manual_seed(0) for _ in range(2)]
    >>> schemes = [InpaintingScheme(y[i], m[i], st.admm, gens[i]) for i in range(2)]
    >>> nets = [GradientNetwork(3, 16, 16, st.network, seed=0) for _ in range(2)]
    >>> out = run_admm_batch(schemes, nets, st, gens)
    >>> [tuple(x.shape) for x, _history in out]
    [(3, 16, 16), (3, 16, 16)]
    """
    k_count = len(schemes)
    if not (k_count == len(networks) == len(generators)) or k_count == 0:
        raise ValueError("run_admm_batch needs as many schemes, networks and generators (>0)")
    if checkpoint is not None and k_count > 1:
        raise InputError("a checkpoint holds one run: restore the images one at a time")
    monitors = list(monitors) if monitors is not None else [None] * k_count
    callbacks = list(callbacks) if callbacks is not None else [()] * k_count
    warm = warm_start_for(networks[0], settings.init_weights)
    if warm is not None:
        for net in networks:
            load_network_state(net, warm)
    device = schemes[0].x.device
    on_cuda = device.type == "cuda"
    # On CUDA: Adam's fused kernel (one launch for all parameters instead of one per group
    # of tensors; the same update up to float rounding) and cuDNN's algorithm search for
    # the fixed shapes of the loop. On the CPU: Adam's multi-tensor ("foreach") path, which
    # torch enables only on CUDA by default: bitwise the same update as the per-tensor loop
    # (tested) at about half its cost (2.5 ms less per iteration for `fast`'s 90 tensors on
    # two cores).
    params = [p for net in networks for p in net.parameters()]
    opt = torch.optim.Adam(params, lr=settings.optimizer.lr,
                           weight_decay=settings.optimizer.weight_decay,
                           fused=True if on_cuda else None,
                           foreach=None if on_cuda else True)
    inputs = [net.make_input(gen).to(device) for net, gen in zip(networks, generators, strict=True)]
    perturbations = [device_generator(gen, device) for gen in generators]
    forward: Callable[[list[torch.Tensor]], list[torch.Tensor]] = GradientNetworkBatch(
        list(networks))
    if settings.network.compile != "none":  # compiled lazily, on the first call
        mode = None if settings.network.compile == "default" else settings.network.compile
        forward = _CompiledForward(forward, mode)
    recorders = [Recorder(settings.iterations, device=device, monitor=mon,
                          monitor_every=monitor_every, callbacks=tuple(cbs),
                          selection=settings.selection, window=settings.selection_window,
                          stop_tolerance=settings.stop_tolerance)
                 for mon, cbs in zip(monitors, callbacks, strict=True)]
    schedules = [noise_schedule_for(settings.network.input_noise_schedule, scheme)
                 for scheme in schemes]
    for rec, schedule in zip(recorders, schedules, strict=True):
        rec.history.warm_start = None if warm is None else os.fspath(warm)
        rec.history.noise_schedule = schedule
    start, hook = 1, None
    if checkpoint is not None:
        start, hook = _resume(checkpoint, schemes[0], networks[0], opt, inputs, settings,
                              perturbations[0], recorders[0])
    with _loop_flags(settings.network.deterministic, on_cuda), (
            checkpoint.catching_ctrl_c() if checkpoint is not None else nullcontext()):
        out = _admm_loop(list(schemes), forward, opt, inputs, settings, perturbations,
                         recorders, schedules, start=start, checkpoint=hook)
    if checkpoint is not None:
        checkpoint.finished()
    return out


def _resume(checkpoint: Checkpointing, scheme: Scheme, network: GradientNetwork,
            opt: torch.optim.Optimizer, inputs: list[torch.Tensor], settings: Settings,
            perturbation: torch.Generator, recorder: Recorder,
            ) -> tuple[int, tuple[Checkpointing, Callable[[int], dict[str, Any]]]]:
    """Restore one run from ``checkpoint``'s file if there is one (``inputs[0]`` replaced);
    return the first iteration to run and the loop's checkpoint hook (the policy and the
    function taking the state to save)."""
    mark = fingerprint(settings, scheme.observation(), scheme.x.device)
    state = checkpoint.load()
    start = 1
    if state is not None:
        if state.get("fingerprint") != mark:
            raise InputError(f"checkpoint {checkpoint.path} is from another run (other data, "
                             "settings or device); remove it or give another path")
        network.load_state_dict(state["network"])
        opt.load_state_dict(state["optimizer"])
        inputs[0] = state["input"].to(scheme.x.device)
        perturbation.set_state(state["perturbation"])
        scheme.load_state_dict(state["scheme"])
        recorder.load_state_dict(state["recorder"])
        start = int(state["iteration"]) + 1

    def snapshot(k: int) -> dict[str, Any]:
        return {"fingerprint": mark, "iteration": k, "iterations": settings.iterations,
                "network": network.state_dict(), "optimizer": opt.state_dict(),
                "input": inputs[0], "perturbation": perturbation.get_state(),
                "scheme": scheme.state_dict(), "recorder": recorder.state_dict()}

    checkpoint.start()
    return start, (checkpoint, snapshot)


@contextmanager
def _loop_flags(deterministic: bool, on_cuda: bool) -> Iterator[None]:
    """The backend flags of the loop, restored after it: deterministic algorithms (no
    algorithm search: the same run every time), or else on CUDA cuDNN's algorithm search
    for the loop's fixed shapes (only this flag)."""
    if deterministic:
        with deterministic_algorithms():
            yield
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = previous or on_cuda
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


class _CompiledForward:
    """``torch.compile(forward)`` that runs ``forward`` eagerly, with an
    :class:`~pyngr.errors.EngineWarning`, when compiling fails (no working Triton or C++
    compiler, an unsupported platform): compilation happens at the first call, so a failure
    there costs only speed. A failure after a successful first call is raised."""

    def __init__(self, forward: Callable[[list[torch.Tensor]], list[torch.Tensor]],
                 mode: str | None) -> None:
        self.eager = forward
        # dynamic=False: a new image shape in the same process (a benchmark over Set5) gets
        # its own static graph. Otherwise torch recompiles with symbolic shapes, which
        # inductor fails on for this network on the CPU and took ~5 min on an H200.
        self.compiled: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = \
            torch.compile(forward, mode=mode, dynamic=False)
        self.first = True

    def __call__(self, gs: list[torch.Tensor]) -> list[torch.Tensor]:
        first, self.first = self.first, False
        if self.compiled is not None:
            try:
                return self.compiled(gs)
            except Exception as exc:
                if not first:
                    raise
                line = (str(exc).strip().splitlines() or [""])[0][:200]
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {line}); the "
                              "network runs eagerly (same model, slower)", EngineWarning,
                              stacklevel=3)
                self.compiled = None
        return self.eager(gs)


#: The least observed fraction at which ``input_noise_schedule="auto"`` uses ``"linear"``.
#: Set5, ``fast`` from the warm start, 1500 iterations (README "Speed"): linear against
#: constant gained +0.35 dB on average at SR 50%, +0.12 at 30% and lost 0.12 at 10%; the
#: threshold lies between the rates measured.
AUTO_LINEAR_MIN_OBSERVED = 0.25


def noise_schedule_for(schedule: str, scheme: Scheme) -> str:
    """The schedule of the input perturbation for ``scheme``: ``schedule`` itself, or for
    ``"auto"`` the rule on the observation (``"linear"`` where at least
    :data:`AUTO_LINEAR_MIN_OBSERVED` of the entries are observed, else ``"constant"``).

    Examples
    --------
    >>> import torch
    >>> from pyngr.presets import InpaintingADMM
    >>> y = torch.ones(1, 4, 4); g = torch.Generator().manual_seed(0)
    >>> sparse = InpaintingScheme(y, (torch.arange(16) < 2).float().reshape(1, 4, 4),
    ...                           InpaintingADMM(), g)
    >>> noise_schedule_for("auto", sparse), noise_schedule_for("linear", sparse)
    ('constant', 'linear')
    """
    if schedule != "auto":  # the observed fraction only where the rule needs it
        return schedule
    return schedule_for_fraction(schedule, scheme.observed_fraction())


def schedule_for_fraction(schedule: str, observed: float) -> str:
    """:func:`noise_schedule_for` given the observed fraction itself (e.g. a sampling rate).

    Examples
    --------
    >>> schedule_for_fraction("auto", 0.1), schedule_for_fraction("auto", 0.5)
    ('constant', 'linear')
    """
    if schedule != "auto":
        return schedule
    return "linear" if observed >= AUTO_LINEAR_MIN_OBSERVED else "constant"


def _noise_scale(schedule: str, k: int, n: int) -> float:
    """The factor of the input perturbation's std at iteration ``k`` of ``n`` (1-based)."""
    if schedule == "linear":
        return (n - k) / max(n - 1, 1)
    return 1.0


def _admm_loop(schemes: list[Scheme],
               forward: Callable[[list[torch.Tensor]], list[torch.Tensor]],
               opt: torch.optim.Optimizer, inputs: list[torch.Tensor], settings: Settings,
               generators: list[torch.Generator], recorders: list[Recorder],
               schedules: list[str], *, start: int = 1,
               checkpoint: tuple[Checkpointing, Callable[[int], dict[str, Any]]] | None = None,
               ) -> list[tuple[torch.Tensor, History]]:
    """The iterations ``start..n`` of :func:`run_admm_batch` (``schedules``: each problem's
    input-perturbation schedule, resolved); with ``checkpoint`` (the policy and the
    state-taking function) it may save the state and stop."""
    noise = settings.network.input_noise
    results: list[tuple[torch.Tensor, History] | None] = [None] * len(schemes)
    active = list(range(len(schemes)))
    n = settings.iterations
    for k in range(start, n + 1):
        gs = inputs
        if noise > 0:
            gs = [g0 + noise * _noise_scale(schedule, k, n)
                  * torch.randn(g0.shape, generator=gen, device=g0.device)
                  for g0, gen, schedule in zip(inputs, generators, schedules, strict=True)]
        fs = forward(gs)
        losses = {i: schemes[i].network_loss(fs[i]) for i in active}
        opt.zero_grad(set_to_none=True)
        sum(losses.values()).backward()  # type: ignore[union-attr]
        opt.step()
        for i in list(active):
            scheme, fd = schemes[i], fs[i].detach()
            scheme.update(fd)
            if recorders[i].step(k, scheme.estimate, lambda lo=losses[i]: float(lo.detach()),
                                 scheme.penalties, gradient_maps=lambda fd=fd: fd):
                results[i] = recorders[i].finish(scheme.estimate())
                active.remove(i)
        if not active:
            break
        if checkpoint is not None:
            policy, snapshot = checkpoint
            action = policy.action(k, n)
            if action is not None:
                policy.save(snapshot(k))
                if action != "save":
                    raise RunInterrupted(policy.path, k, n, action)
    for i in active:
        results[i] = recorders[i].finish(schemes[i].estimate())
    return [r for r in results if r is not None]
