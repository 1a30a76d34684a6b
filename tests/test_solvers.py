"""The ADMM schemes and the shared loop, on small known-answer problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyngr.errors import InputError
from pyngr.networks import GradientNetwork
from pyngr.operators import AXES, grad
from pyngr.presets import (
    DenoisingADMM,
    InpaintingADMM,
    NetworkSettings,
    get_settings,
)
from pyngr.solvers import DenoisingScheme, InpaintingScheme, dual_norm, run_admm


def smooth_volume(c=3, h=12, w=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([0.5 + 0.3 * torch.sin(3 * xx + k) * torch.cos(2 * yy) for k in range(c)])
    return (base + 0.02 * torch.rand(base.shape, generator=g)).double()


def true_gradients(x):
    return torch.stack([grad(x, a) for a in AXES])


def test_dual_norm_matches_numpy():
    y = smooth_volume()
    sigma = np.linalg.norm(y.reshape(3, -1).numpy(), 2)
    assert dual_norm(y, 0.5) == pytest.approx(max(sigma, float(y.max()) / 0.5), rel=1e-9)
    assert dual_norm(y, 1e-3) == pytest.approx(float(y.abs().max()) / (1e-3 + 1e-8), rel=1e-9)


def test_inpainting_admm_recovers_image_from_its_true_gradients(generator):
    """With F = ∇X* fixed, X* is the unique minimiser consistent with the observations."""
    x_true = smooth_volume()
    mask = (torch.rand(x_true.shape, generator=generator) < 0.3).double()
    scheme = InpaintingScheme(x_true * mask, mask, InpaintingADMM(lambda_t=0.5), generator)
    f = true_gradients(x_true)
    for _ in range(800):
        scheme.update(f)
    err = (scheme.x - x_true).abs().max()
    assert err < 1e-6
    # K carries the missing entries only; observed entries of the estimate are exact
    assert float((scheme.k * mask).abs().max()) == 0.0
    est = scheme.estimate()
    assert torch.equal(est[mask.bool()], x_true[mask.bool()])


def test_inpainting_start_and_schedule(generator):
    x = smooth_volume()
    mask = (torch.rand(x.shape, generator=generator) < 0.5).double()
    admm = InpaintingADMM(lambda_t=5.0, alpha=0.1, rho=1.2, mu_max=50.0)
    s = InpaintingScheme(x * mask, mask, admm, generator)
    d = dual_norm(x * mask, 5.0)
    assert s.mu == pytest.approx(0.1 / d)
    torch.testing.assert_close(s.lam, x * mask / d)
    # the start is Y on observed entries and uniform noise in [0, 1) elsewhere
    assert torch.equal(s.x[mask.bool()], x[mask.bool()])
    assert 0 <= float(s.x.min()) and float(s.x.max()) < 1
    f = torch.zeros((3, *x.shape), dtype=x.dtype)
    mus = []
    for _ in range(60):
        mus.append(s.mu)
        s.update(f)
    assert mus[1] == pytest.approx(1.2 * mus[0])
    assert max(mus) == 50.0


def test_inpainting_loss_is_weighted_gradient_misfit(generator):
    x = smooth_volume()
    mask = torch.ones_like(x)
    s = InpaintingScheme(x, mask, InpaintingADMM(lambda_t=2.0), generator)
    f = torch.randn((3, *x.shape), generator=generator, dtype=x.dtype)
    want = sum(0.5 * w * float(((grad(x, a) - f[i]) ** 2).sum())
               for i, (a, w) in enumerate(zip(AXES, (1.0, 1.0, 2.0), strict=True)))
    assert float(s.network_loss(f)) == pytest.approx(want)


@pytest.mark.parametrize("bad", [{"lambda_t": 0.0}, {"lambda_t": -1.0},
                                 {"lambda_t": float("nan")}])
def test_lambda_t_must_be_positive(bad):
    with pytest.raises(InputError, match="lambda_t"):
        InpaintingADMM(**bad)


@pytest.mark.parametrize("noise", ["mixed", "gaussian"])
def test_denoising_admm_with_true_gradients_removes_noise(noise, generator):
    x_true = smooth_volume(c=4, h=16, w=16)
    noisy = x_true + 0.05 * torch.randn(x_true.shape, generator=generator, dtype=x_true.dtype)
    if noise == "mixed":
        spikes = torch.rand(x_true.shape, generator=generator) < 0.05
        noisy = torch.where(spikes, torch.ones_like(noisy), noisy)
    admm = DenoisingADMM(noise=noise, sparse_weight=0.05 if noise == "mixed" else 1.0,
                         alpha=1.0, rho=1.2, mu_max=5.0, beta=2.0, gamma=2.0, mu_hv_max=50.0,
                         mu_t_max=50.0, ema=0.0)
    s = DenoisingScheme(noisy, admm)
    f = true_gradients(x_true)
    for _ in range(300):
        s.update(f)
    err_in = float(((noisy - x_true) ** 2).mean())
    err_out = float(((s.estimate() - x_true) ** 2).mean())
    assert err_out < err_in / 20, (err_in, err_out)
    if noise == "mixed":  # the sparse term found the spikes
        assert float(s.s[spikes].abs().mean()) > 10 * float(s.s[~spikes].abs().mean())


def test_denoising_ema_and_penalty_caps():
    y = smooth_volume()
    admm = get_settings("denoise", "paper", noise="mixed").admm
    s = DenoisingScheme(y, admm)
    assert s.mu_hv == pytest.approx(2 * s.mu) and s.mu_t == pytest.approx(150 * s.mu)
    f = torch.zeros((3, *y.shape), dtype=y.dtype)
    s.update(f)
    first = s.estimate().clone()
    torch.testing.assert_close(first, s.x.clamp(0, 1))
    s.update(f)
    torch.testing.assert_close(s.estimate(), (0.99 * first + 0.01 * s.x).clamp(0, 1))
    for _ in range(200):
        s.update(f)
    assert (s.mu, s.mu_hv, s.mu_t) == (0.16, 0.16, 0.6)


def _tiny_run(seed=0, callbacks=(), monitor=None, iterations=12):
    x = smooth_volume(c=3, h=20, w=20).float()
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(x.shape, generator=g) < 0.5).float()
    st = get_settings("inpaint", "fast").replace(iterations=iterations, seed=seed)
    st = st.replace(network=NetworkSettings(width=8, depth=3, heads="shared"))
    net = GradientNetwork(3, 20, 20, st.network, seed=seed)
    scheme = InpaintingScheme(x * mask, mask, st.admm, g)
    est, hist = run_admm(scheme, net, st, g, monitor_every=5, monitor=monitor,
                         callbacks=callbacks)
    torch.testing.assert_close(est, scheme.estimate())  # selection "final"
    return est, hist, x


def test_loop_is_deterministic_and_records_history():
    a, ha, _ = _tiny_run(seed=3)
    b, _hb, _ = _tiny_run(seed=3)
    c, _, _ = _tiny_run(seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert [r["iteration"] for r in ha.records] == [5, 10, 12]
    assert ha.iterations == 12 and ha.wall_time > 0
    assert all(np.isfinite(r["loss"]) for r in ha.records)


def test_ground_truth_monitoring_never_changes_the_result():
    from pyngr.solvers import Monitor

    plain, _, x = _tiny_run(seed=1)
    mon = Monitor(x, lambda est, ref: {"psnr": -float(((est - ref) ** 2).mean())})
    watched, hist, _ = _tiny_run(seed=1, monitor=mon)
    assert torch.equal(plain, watched)
    assert hist.oracle is not None and "psnr" in hist.records[0]
    assert hist.oracle["psnr"] == max(r["psnr"] for r in hist.records)


def test_cpu_loop_uses_multi_tensor_adam_with_the_per_tensor_result(request):
    """The CPU loop asks for Adam's multi-tensor path (faster); it must give the bitwise
    result of torch's default per-tensor path there, which earlier versions used."""
    fast, _, _ = _tiny_run(seed=2, iterations=20)
    asked = request.getfixturevalue("per_tensor_adam")  # from here on: per-tensor Adam
    slow, _, _ = _tiny_run(seed=2, iterations=20)
    assert asked == [True]
    assert torch.equal(fast, slow)


def test_callback_sees_progress_and_can_stop():
    seen = []

    def cb(info):
        seen.append((info.iteration, info.estimate().shape))
        return info.iteration >= 10

    _, hist, _ = _tiny_run(callbacks=(cb,), iterations=50)
    assert seen == [(5, (3, 20, 20)), (10, (3, 20, 20))]
    assert hist.stopped_early and hist.iterations == 10


def test_network_fits_gradients_during_admm():
    """The loss of the network step decreases: the regulariser is learning ∇X."""
    _, hist, _ = _tiny_run(iterations=60)
    losses = hist.column("loss")
    assert losses[-1] < 0.5 * losses[0]


def _scripted_run_setup(task: str, side: int, **changes):
    """Settings (checks every 10 iterations, a tiny network) and a network for a scheme whose
    iterates and losses a test scripts."""
    st = get_settings(task, "fast").replace(
        selection_window=10, network=NetworkSettings(width=8, depth=3, heads="shared"),
        **changes)
    return st, GradientNetwork(3, side, side, st.network, seed=0)


def test_stable_selection_returns_the_least_changing_iterate():
    """The "stable" rule picks, from the iterates alone, where they changed least."""
    x = smooth_volume(c=3, h=20, w=20).float()
    snapshots = {}

    class Drifting(DenoisingScheme):
        """Denoising scheme whose estimate is scripted: fast, then slow, then fast change."""

        def __init__(self):
            self.k = 0
            self.x = x.clone()
            self.mu = 1.0

        def network_loss(self, f):
            return f.square().sum()

        def update(self, f):
            self.k += 1
            step = 0.05 if 20 < self.k <= 30 else 1.0
            self.x = self.x + step * 0.01
            snapshots[self.k] = self.x.clone()

        def estimate(self):
            return self.x

        def penalties(self):
            return {"mu": 1.0}

    st, net = _scripted_run_setup("denoise", 20, iterations=60, selection="stable")
    est, hist = run_admm(Drifting(), net, st, torch.Generator().manual_seed(0),
                         monitor_every=10)
    assert hist.selection == "stable" and hist.selected_iteration == 30
    assert torch.equal(est, snapshots[30])
    _, final_hist = run_admm(Drifting(), net, st.replace(selection="final"),
                                     torch.Generator().manual_seed(0), monitor_every=10)
    assert final_hist.selected_iteration == 60
    # the changes are kept whatever the selection, and the stable rule picked their minimum
    assert [k for k, _ in final_hist.changes] == [20, 30, 40, 50, 60]
    assert min(final_hist.changes, key=lambda kc: kc[1])[0] == hist.selected_iteration
    expected = float(torch.linalg.vector_norm(snapshots[30] - snapshots[20])
                     / torch.linalg.vector_norm(snapshots[30]))
    assert dict(final_hist.changes)[30] == pytest.approx(expected, rel=1e-5)


def test_min_loss_selection_returns_the_iterate_before_a_late_jump():
    """The "min_loss" rule keeps the iterate of the smallest network loss read every window
    (and at the last iteration): a late jump of the loss (a collapse) does not reach the
    result, a NaN loss is never kept, and ground truth plays no part."""
    x0 = smooth_volume(c=3, h=16, w=16).float()
    # loss read at iteration k (1-based); multiples of 10 are the checks
    script = {10: 50.0, 20: 9.0, 30: 4.0, 40: 70.0, 50: float("nan"), 55: 6.0}
    snapshots = {}

    class Scripted(InpaintingScheme):
        def __init__(self):
            self.k, self.x, self.mu = 0, x0.clone(), 1.0

        def network_loss(self, f):
            return 0 * f.sum() + script.get(self.k + 1, 100.0)

        def update(self, f):
            self.k += 1
            self.x = x0 + 0.01 * self.k
            snapshots[self.k] = self.x.clone()

        def estimate(self):
            return self.x

    st, net = _scripted_run_setup("inpaint", 16, iterations=55, selection="min_loss")
    est, hist = run_admm(Scripted(), net, st, torch.Generator().manual_seed(0),
                         monitor_every=5)
    assert hist.selection == "min_loss" and hist.selected_iteration == 30
    assert torch.equal(est, snapshots[30])
    assert hist.result_is() == "min-loss rule (iteration 30)"
    # a monitor with ground truth changes nothing about the choice
    from pyngr.solvers import Monitor

    far = Monitor(x0 + 0.55, lambda e, gt: {"psnr": -float((e - gt).abs().max())})
    est2, hist2 = run_admm(Scripted(), net, st, torch.Generator().manual_seed(0),
                           monitor_every=5, monitor=far)
    assert hist2.selected_iteration == 30 and torch.equal(est2, snapshots[30])
    assert hist2.oracle["iteration"] == 55  # the oracle would have taken the last one
    # the last iteration counts too: its loss is the smallest here
    script[55] = 1.0
    est3, hist3 = run_admm(Scripted(), net, st, torch.Generator().manual_seed(0))
    assert hist3.selected_iteration == 55 and torch.equal(est3, snapshots[55])


def test_selection_must_be_a_known_rule():
    with pytest.raises(InputError, match="selection must be one of"):
        get_settings("inpaint", "fast").replace(selection="best")


def test_paper_inpainting_returns_the_min_loss_iterate_and_fast_the_final_one():
    assert get_settings("inpaint", "paper").selection == "min_loss"
    assert get_settings("decloud", "paper").selection == "min_loss"
    assert get_settings("inpaint", "fast").selection == "final"
    assert get_settings("denoise", "paper", noise="gaussian").selection == "stable"


def test_recorder_stops_when_the_estimate_settles() -> None:
    from pyngr.solvers import Recorder

    rec = Recorder(1000, monitor_every=100, window=10, stop_tolerance=1e-3)
    x = torch.ones(2, 4, 4)
    k = 0
    for k in range(1, 1001):
        x = x + 0.5**k  # changes shrink geometrically
        if rec.step(k, lambda x=x: x):
            break
    _, hist = rec.finish(x)
    assert hist.stopped_early and hist.stop_reason == "converged"
    assert hist.iterations == k == 20 and hist.records[-1]["iteration"] == 20
    # without a tolerance the same run goes to the end
    rec = Recorder(50, window=10)
    for k in range(1, 51):
        rec.step(k, lambda: x)
    assert not rec.finish(x)[1].stopped_early


def _batch_problem(i, st, thin=False):
    """Problem ``i`` of the batch tests; ``thin`` drops every other column of its mask
    (40% observed -> about 20%) before the scheme is built from it."""
    g = torch.Generator().manual_seed(100 + i)
    y = torch.rand(3, 16, 20, generator=g)
    m = (torch.rand(3, 16, 20, generator=g) > 0.6).float()
    if thin:
        m[:, :, ::2] = 0
    gen = torch.Generator().manual_seed(i)
    scheme = InpaintingScheme(y, m, st.admm, gen)
    net = GradientNetwork(3, 16, 20, st.network, seed=i)
    return scheme, net, gen


@pytest.mark.parametrize("fused", [False, True])
def test_batch_gives_each_problem_its_own_run(fused):
    from pyngr.solvers import run_admm_batch

    st = get_settings("inpaint", "fast").replace(
        iterations=6, network=NetworkSettings(width=8, depth=3, heads="separate", fused=fused))
    alone = []
    for i in range(3):
        scheme, net, gen = _batch_problem(i, st)
        alone.append(run_admm(scheme, net, st, gen, monitor_every=3))
    parts = [_batch_problem(i, st) for i in range(3)]
    together = run_admm_batch([p[0] for p in parts], [p[1] for p in parts], st,
                              [p[2] for p in parts], monitor_every=3)
    assert len(together) == 3
    for (a, ha), (b, hb) in zip(alone, together, strict=True):
        if fused:  # grouped convolutions: the same sums in another order
            torch.testing.assert_close(b, a, atol=1e-4, rtol=0)
        else:  # disjoint networks and an element-wise optimiser: the very same run
            assert torch.equal(a, b)
            assert [r["loss"] for r in ha.records] == [r["loss"] for r in hb.records]
        assert hb.iterations == 6 and len(hb.records) == 2


def test_batch_member_stopped_by_its_callback_is_frozen():
    from pyngr.solvers import run_admm_batch

    st = get_settings("inpaint", "fast").replace(
        iterations=8, network=NetworkSettings(width=8, depth=3, heads="shared"))
    parts = [_batch_problem(i, st) for i in range(2)]
    seen: list[int] = []

    def stop_at_4(info):
        seen.append(info.iteration)
        return info.iteration >= 4

    out = run_admm_batch([p[0] for p in parts], [p[1] for p in parts], st,
                         [p[2] for p in parts], monitor_every=2,
                         callbacks=[(stop_at_4,), ()])
    (x0, h0), (x1, h1) = out
    assert h0.iterations == 4 and h0.stopped_early and h0.stop_reason == "callback"
    assert h1.iterations == 8 and not h1.stopped_early and seen == [2, 4]
    # the survivor is unaffected by its neighbour's stop
    s1, n1, g1 = _batch_problem(1, st)
    alone, _ = run_admm(s1, n1, st, g1, monitor_every=2)
    assert torch.equal(alone, x1)
    # the stopped one is its own run cut at iteration 4
    s0, n0, g0 = _batch_problem(0, st)
    cut, _ = run_admm(s0, n0, st.replace(iterations=4), g0, monitor_every=2)
    assert torch.equal(cut, x0)


def test_auto_schedule_is_per_problem_in_a_batch():
    """Two problems in one loop, one sparse and one dense: "auto" gives each the schedule,
    and so the result, it gets alone."""
    from pyngr.solvers import run_admm_batch

    st = get_settings("inpaint", "fast").replace(
        iterations=4, init_weights=None,
        network=NetworkSettings(width=8, depth=2, heads="shared", input_noise_schedule="auto"))
    parts = [_batch_problem(i, st, thin=i == 1) for i in range(2)]  # 1: below the threshold
    assert parts[0][0].observed_fraction() > 0.25 > parts[1][0].observed_fraction()
    out = run_admm_batch([p[0] for p in parts], [p[1] for p in parts], st,
                         [p[2] for p in parts])
    assert [h.noise_schedule for _, h in out] == ["linear", "constant"]
    for i, (x, _h) in enumerate(out):
        scheme, net, gen = _batch_problem(i, st, thin=i == 1)
        alone, _ = run_admm(scheme, net, st, gen)
        assert torch.equal(alone, x)


@pytest.mark.parametrize(("schedule", "rate", "used"), [
    ("constant", 0.5, "constant"), ("linear", 0.5, "linear"), ("linear", 0.1, "linear"),
    ("auto", 0.5, "linear"), ("auto", 0.3, "linear"), ("auto", 0.1, "constant")])
def test_input_perturbation_follows_its_schedule(schedule, rate, used):
    """The std of G - G0 that the network sees: 0.03 every iteration, or falling linearly
    from 0.03 at the first iteration to exactly 0 at the last; "auto" picks linear where at
    least a quarter of the entries are observed, and the history says which was used."""
    x = smooth_volume(c=3, h=32, w=32).float()
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(x.shape, generator=g) < rate).float()
    st = get_settings("inpaint", "fast").replace(iterations=9, init_weights=None)
    st = st.replace(network=NetworkSettings(width=8, depth=2, heads="shared",
                                            input_noise_schedule=schedule))
    net = GradientNetwork(3, 32, 32, st.network, seed=0)
    g0 = net.make_input(torch.Generator().manual_seed(0))
    seen: list[float] = []
    net.register_forward_pre_hook(lambda _m, args: seen.append(float((args[0] - g0).std())))
    _, history = run_admm(InpaintingScheme(x * mask, mask, st.admm, g), net, st,
                          torch.Generator().manual_seed(0))
    want = [0.03] * 9 if used == "constant" else [0.03 * (9 - k) / 8 for k in range(1, 10)]
    assert len(seen) == 9
    np.testing.assert_allclose(seen, want, rtol=0.1, atol=1e-7)
    assert history.noise_schedule == used and history.to_dict()["noise_schedule"] == used
    with pytest.raises(InputError, match="input_noise_schedule"):
        NetworkSettings(input_noise_schedule="cosine")  # type: ignore[arg-type]
