"""The benchmark runner: specs, store (skip/resume), records, executors, report, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyngr.bench import EXPERIMENTS, Case, RunSpec, Store, execute, pending, render, run_local
from pyngr.bench.datasets import list_items, load_case
from pyngr.bench.runner import build_settings, override
from pyngr.cli import main
from pyngr.errors import InputError, PyngrError
from pyngr.presets import get_settings


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with the benchmark layout: two tiny Set5-like images."""
    root = tmp_path / "data"
    (root / "set5").mkdir(parents=True)
    yy, xx = np.mgrid[0:24, 0:24]
    for k, name in enumerate(("baby", "bird")):
        img = np.stack([128 + 90 * np.sin(xx / (4 + k) + c) * np.cos(yy / 5) for c in range(3)],
                       -1)
        Image.fromarray(img.round().clip(0, 255).astype(np.uint8)).save(
            root / "set5" / f"{name}.png")
    return root


def _spec(item: str = "baby", method: str = "ngr", **kw: object) -> RunSpec:
    return RunSpec("test", Case("set5", item, "random", 0.5), method=method, iterations=3,
                   **kw)  # type: ignore[arg-type]


def test_specs_expand_and_keys_are_stable() -> None:
    runs = EXPERIMENTS["table1"].runs(datasets=("set5",), methods=("ngr",), seeds=(1, 2))
    assert len(runs) == 5 * 3 * 2
    assert len({r.key for r in runs}) == len(runs)
    again = RunSpec.from_dict(json.loads(json.dumps(runs[0].to_dict())))
    assert again == runs[0] and again.key == runs[0].key
    fig = EXPERIMENTS["fig12"].runs(datasets=("set5",), limit=1)
    assert {dict(r.tags)["variant"] for r in fig} >= {"lambda_t=0.5", "mu_max=2^8"}
    assert all(r.overrides for r in fig)
    with pytest.raises(InputError, match="needs the data folder"):
        EXPERIMENTS["table1"].runs(datasets=("bsd100",))


def test_datasets_and_degradations_are_seeded(data: Path) -> None:
    assert list_items(data, "set5") == ["baby", "bird"]
    a = load_case(Case("set5", "baby", "random", 0.3, seed=4), data)
    b = load_case(Case("set5", "baby", "random", 0.3, seed=4), data)
    assert a.task == "inpaint" and np.array_equal(a.kwargs["mask"], b.kwargs["mask"])
    assert 0.2 < a.kwargs["mask"].mean() < 0.4
    n = load_case(Case("set5", "baby", "gaussian", 0.1, seed=1), data)
    assert n.task == "denoise" and n.kwargs["image"].dtype == np.float32
    assert abs(float(np.std(n.kwargs["image"] - n.truth)) - 0.1) < 0.02


def test_override_and_settings(data: Path) -> None:
    spec = _spec(overrides=(("admm.lambda_t", 2.0),))
    s = build_settings(spec, "inpaint", (3, 24, 24), {}, "cpu")
    assert s.admm.lambda_t == 2.0 and s.iterations == 3 and s.preset == "fast"
    # the paper's experiments: random weights, the reference's constant perturbation,
    # unless a run asks otherwise
    assert s.init_weights is None and s.network.input_noise_schedule == "constant"
    # ... and the paper's λ_t, also for multichannel inpainting (the preset's is 100)
    multi = build_settings(_spec(), "inpaint", (10, 24, 24), {}, "cpu")
    assert multi.admm.lambda_t == 5.0 and multi.network.width == 48
    asked = _spec(overrides=(("admm.lambda_t", 100.0),))
    assert build_settings(asked, "inpaint", (10, 24, 24), {}, "cpu").admm \
        == get_settings("inpaint", "fast", channels=10).admm
    asked = _spec(overrides=(("network.input_noise_schedule", "auto"),))
    assert build_settings(asked, "inpaint", (3, 24, 24), {}, "cpu").network \
        .input_noise_schedule == "auto"
    with pytest.raises(InputError, match="no field"):
        override(s, "admm.nope", 1)


def test_store_skips_and_tolerates_a_torn_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.jsonl")
    store.append({"key": "a", "v": 1})
    with open(store.path, "a") as fh:
        fh.write('{"key": "b", "v"')  # a writer killed mid-line
    store.append({"key": "c", "v": 3})
    assert store.keys() == {"a", "c"} and store.damaged() == 1
    specs = [_spec("baby"), _spec("bird")]
    store.append({"key": specs[0].key})
    assert pending(specs, store) == [specs[1]]
    # a second runner finishing the same run: the first record stands
    assert store.append({"key": "a", "v": 2}) is False
    assert [r["v"] for r in store.records() if r["key"] == "a"] == [1]


def test_local_run_records_and_resumes(data: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "r.jsonl")
    specs = [_spec("baby"), _spec("baby", method="tv")]
    assert run_local(specs, store, data, device="cpu", progress=False,
                     previews=tmp_path / "pics") == 2
    recs = store.records()
    assert {r["spec"]["method"] for r in recs} == {"ngr", "tv"}
    r = recs[0]
    assert r["key"] == specs[0].key and r["iterations"] == 3 and r["device"] == "cpu"
    assert set(r["result"]) == {"whole_image", "missing_entries"}
    assert r["result_is"] == "final iterate" and r["oracle_monitored"]["iteration"] >= 1
    assert r["settings"]["iterations"] == 3 and "torch" in r["versions"]
    assert r["noise_schedule"] == "constant" and recs[1]["noise_schedule"] is None  # tv
    assert (tmp_path / "pics" / f"{r['key']}.png").exists()
    assert run_local(specs, store, data, device="cpu", progress=False) == 0  # resumed: nothing
    text = render(store.records(), figures=tmp_path / "figs", previews=tmp_path / "pics")
    assert "| ngr (fast) [iterations=3] | 1 |" in text and "Ranking on our data" in text
    assert "NGR − best competitor (tv [iterations=3])" in text


def test_batched_runs_record_what_single_runs_record(data: Path, tmp_path: Path) -> None:
    from pyngr.bench.executors import groups

    def spec(item: str, level: float, method: str = "ngr") -> RunSpec:
        return RunSpec("test", Case("set5", item, "random", level), method=method,
                       iterations=4)

    specs = [spec("baby", 0.5), spec("baby", 0.3), spec("bird", 0.5), spec("baby", 0.1),
             spec("baby", 0.3, "tv")]
    grouped = groups(specs, data, "cpu", batch=2)
    # same shape and settings: the three baby/bird NGR runs share a key (all 24x24x3)
    assert [[s.key for s in g] for g in grouped] == [
        [specs[0].key, specs[1].key], [specs[2].key, specs[3].key], [specs[4].key]]
    single, batched = Store(tmp_path / "a.jsonl"), Store(tmp_path / "b.jsonl")
    assert run_local(specs[:4], single, data, device="cpu", progress=False) == 4
    assert run_local(specs, batched, data, device="cpu", progress=False, batch=3) == 5
    one = {r["key"]: r for r in single.records()}
    ngr = [r for r in batched.records() if r["spec"]["method"] == "ngr"]
    assert [r.get("batch") for r in ngr] == [3, 3, 3, None]  # the fourth: a group of one
    for r in ngr:
        assert r["result"] == one[r["key"]]["result"]
        assert r["oracle_monitored"] == one[r["key"]]["oracle_monitored"]
    with pytest.raises(PyngrError, match="do not combine"):
        run_local(specs, Store(tmp_path / "c.jsonl"), data, device="cpu", workers=2, batch=2)


def _record(spec: RunSpec, psnr: float) -> dict:
    return {"key": spec.key, "spec": spec.to_dict(), "iterations": 10, "device": "cpu",
            "wall_time_s": 1.0, "settings": {"preset": "fast"},
            "result": {"whole_image": {"psnr": psnr, "ssim": 0.9}}}


def test_report_puts_paper_numbers_beside_ours(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "table1_rgb_inpainting.csv").write_text(
        "dataset,method,sampling_rate,psnr,ssim\nSet5,NGR,0.3,35.84,0.951\n"
        "Set5,HaLRTC,0.1,19.68,0.5\n")
    recs = [_record(RunSpec("table1", Case("set5", item, "random", 0.3)), 30.0)
            for item in ("baby", "bird", "butterfly", "head", "woman")]  # the whole of Set5
    # the paper's entry is a mean over the dataset: no gap for part of it
    recs.append(_record(RunSpec("table1", Case("set5", "baby", "random", 0.1), "halrtc"), 23.0))
    text = render(recs, paper_tables=tables)
    assert "| 35.84 | -5.84 |" in text
    assert "| 19.68 | – (1 of 5 images) |" in text


def test_report_keeps_rules_and_warm_starts_on_rows_of_their_own() -> None:
    recs = []
    for preset, selection, psnr, weights in (
            ("paper", "final", 23.5, None), ("paper", "min_loss", 25.0, None),
            ("fast", "final", 24.0, None), ("fast", "final", 24.5, "pyngr:fast_rgb_inpaint")):
        overrides = (("init_weights", weights),) if weights else ()
        r = _record(RunSpec("table1", Case("set5", "butterfly", "random", 0.1),
                            overrides=overrides), psnr)
        r["settings"] = {"preset": preset, "selection": selection, "init_weights": weights}
        recs.append(r)
    text = render(recs)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ngr")}
    assert set(rows) == {"| ngr (paper)", "| ngr (paper, min-loss rule)", "| ngr (fast)",
                         "| ngr (fast, from pyngr:fast_rgb_inpaint)"}
    assert "| 24.50 |" in rows["| ngr (fast, from pyngr:fast_rgb_inpaint)"]
    assert "| 25.00 |" in rows["| ngr (paper, min-loss rule)"]
    assert "| 23.50 |" in rows["| ngr (paper)"]


def test_ray_executor_runs_two_tiny_runs(data: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from pyngr.bench import run_ray

    store = Store(tmp_path / "ray.jsonl")
    specs = [_spec("baby", method="tv"), _spec("bird", method="tv")]
    try:
        n = run_ray(specs, store, data, cpus_per_run=1,
                    ray_init={"num_cpus": 2, "include_dashboard": False,
                              "log_to_driver": False})
    finally:
        if ray.is_initialized():
            ray.shutdown()
    assert n == 2 and store.keys() == {s.key for s in specs}


def test_cli_bench_run_and_report(data: Path, tmp_path: Path, capsys) -> None:
    store = tmp_path / "b.jsonl"
    args = ["bench", "run", "table1", "--data", str(data), "--datasets", "set5", "--methods",
            "tv", "--limit", "1", "--iterations", "5", "--device", "cpu", "--store", str(store)]
    assert main([*args, "--dry-run"]) == 0
    assert "3 to run" in capsys.readouterr().err
    assert main(args) == 0
    assert len(Store(store).records()) == 3
    assert main(args) == 0
    assert "3 already in" in capsys.readouterr().err
    out = tmp_path / "report.md"
    assert main(["bench", "report", "--store", str(store), "-o", str(out)]) == 0
    assert "table1" in out.read_text()
    assert main(["bench", "run", "nope", "--data", str(data)]) == 2
    assert "unknown experiment" in capsys.readouterr().err


def test_warm_start_and_gradient_capture(data: Path, tmp_path: Path) -> None:
    warm = RunSpec("fig14", Case("set5", "bird", "random", 0.5), iterations=3,
                   overrides=(("warm_start", {"dataset": "set5", "item": "baby",
                                              "degradation": "random", "level": 0.5}),))
    rec = execute(warm, data, device="cpu")
    assert rec["warm_start"]["case"] == "set5/baby random 0.5"
    assert rec["warm_start"]["iterations"] == 3 and rec["settings"]["init_weights"]
    cold = execute(RunSpec("fig14", warm.case, iterations=3), data, device="cpu")
    assert cold["result"]["whole_image"]["psnr"] != rec["result"]["whole_image"]["psnr"]
    grad = RunSpec("fig11", Case("set5", "baby", "random", 0.5), iterations=4,
                   tags=(("capture_gradients", (0.5, 1.0)),))
    pics = tmp_path / "pics"
    rec = execute(grad, data, device="cpu", previews=pics, monitor_every=2)
    assert rec["gradient_maps_at"] == [2, 4]
    assert (pics / f"{grad.key}-grad-000004.png").exists()
    text = render([rec], figures=tmp_path / "figs", previews=pics)
    assert "estimated gradient maps" in text


def test_backbone_experiment_expands_for_network_methods() -> None:
    runs = EXPERIMENTS["fig13"].runs(datasets=("hsi",))
    variants = {(r.method, dict(r.tags)["variant"]) for r in runs}
    assert ("dip", "resnet") in variants and ("s2dip", "plain") in variants
    assert ("ngr", "unet") in variants and len(runs) == 12


def test_case_filter_and_settings_overrides_from_the_cli(data: Path, tmp_path: Path,
                                                         capsys) -> None:
    assert {r.case.level for r in EXPERIMENTS["table2"].runs(cases=("random 0.1",))} == {0.1}
    # --limit counts the images of the chosen cases (Landsat-5 is not the first scene)
    one = EXPERIMENTS["table4"].runs(cases=("decloud/l5 cloud large",), limit=1,
                                     methods=("ngr",))
    assert [r.case.label for r in one] == ["decloud/l5 cloud large"]
    runs = EXPERIMENTS["table3"].runs(cases=("random 0.1", "deadlines"), methods=("ngr", "dip"),
                                      overrides={"dip": (("network.width", 8),),
                                                 "*": (("iterations", 4),)})
    assert {r.case.label for r in runs} == {"hsi/pavia random 0.1", "hsi/indian random 0.1",
                                            "hsi/pavia deadlines 15", "hsi/indian deadlines 15"}
    dip = [r for r in runs if r.method == "dip"]
    assert all(r.overrides == (("iterations", 4), ("network.width", 8)) for r in dip)
    assert all(r.overrides == (("iterations", 4),) for r in runs if r.method == "ngr")
    # recorded in the key: a run with other overrides is another run
    plain = EXPERIMENTS["table3"].runs(cases=("random 0.1",), methods=("dip",))
    assert not {r.key for r in plain} & {r.key for r in dip}

    store = tmp_path / "b.jsonl"
    args = ["bench", "run", "table1", "--data", str(data), "--datasets", "set5", "--methods",
            "tv,dip", "--limit", "1", "--cases", "random 0.5", "--iterations", "3",
            "--set", "dip:network.width=8", "--set", "dip:network.depth=2", "--device", "cpu",
            "--store", str(store)]
    assert main(args) == 0
    records = Store(store).records()
    assert len(records) == 2 and {r["spec"]["case"]["level"] for r in records} == {0.5}
    dip_record = next(r for r in records if r["spec"]["method"] == "dip")
    assert dip_record["settings"]["network"]["width"] == 8
    assert dip_record["settings"]["network"]["depth"] == 2
    assert main([*args[:-2], "--set", "nowhere", "--store", str(store)]) == 2
    assert "--set expects" in capsys.readouterr().err


def test_report_ranks_on_the_images_every_method_ran_and_shows_reductions() -> None:
    def rec(method: str, item: str, psnr: float, overrides: tuple = ()) -> dict:
        return _record(RunSpec("table1", Case("set5", item, "random", 0.3), method,
                               overrides=overrides), psnr)

    small = (("network.width", 48),)
    records = [rec("ngr", "baby", 30.0), rec("ngr", "bird", 34.0),
               rec("tv", "baby", 31.0), rec("tv", "bird", 31.0), rec("tv", "head", 20.0),
               rec("dip", "bird", 35.0, small)]
    text = render(records)
    # tv's mean over its three images is 27.33, but on NGR's two it is 31.00 < 32.00
    assert ("Ranking on our data on 2 images (baby, bird): ngr (fast) (32.00) > tv (31.00)"
            in text)
    assert "NGR − best competitor (tv): +1.00 dB" in text
    assert ("dip [network.width=48] (1); NGR − dip [network.width=48] on the 1 image(s) both "
            "ran: -1.00 dB") in text
    assert "| dip [network.width=48] | 1 |" in text


def test_report_gives_each_cloud_removal_scene_a_section_of_its_own() -> None:
    # other sensors, bands and sizes: a mean over Sentinel-2 and Landsat-5 would mean nothing
    records = [_record(RunSpec("table4", Case("decloud", scene, "cloud", "large"), method),
                       psnr)
               for scene, method, psnr in (("s2", "ngr", 40.0), ("s2", "tv", 42.0),
                                           ("l5", "ngr", 36.0), ("l5", "tv", 35.0))]
    text = render(records)
    assert "— decloud/s2, cloud large" in text and "— decloud/l5, cloud large" in text
    assert "NGR − best competitor (tv): -2.00 dB" in text
    assert "NGR − best competitor (tv): +1.00 dB" in text


def test_report_keeps_ngr_presets_apart_and_hides_engine_options() -> None:
    def rec(item: str, psnr: float, preset: str, method: str = "ngr",
            overrides: tuple = ()) -> dict:
        r = _record(RunSpec("table1", Case("set5", item, "random", 0.1), method,
                            preset=preset if method == "ngr" else None, overrides=overrides),
                    psnr)
        r["settings"] = {"preset": preset} if method == "ngr" else {}
        return r

    engine = (("network.fused", True), ("network.compile", "reduce-overhead"))
    records = [rec("baby", 26.0, "fast"), rec("bird", 27.0, "fast"),
               rec("baby", 28.0, "paper", overrides=engine),
               rec("baby", 25.0, "", "tctv"), rec("bird", 25.0, "", "tctv")]
    text = render(records)
    assert "| ngr (paper) | 1 | 28.00 |" in text  # engine options: same model, no brackets
    assert "| ngr (fast) | 2 | 26.50 ± 0.50 |" in text
    assert "Ranking on our data on 2 images (baby, bird): ngr (fast) (26.50) > tctv" in text
    assert "ngr (fast) − best competitor (tctv): +1.50 dB" in text
    assert "Not ranked, fewer images: ngr (paper) (1); ngr (fast) − ngr (paper)" in text



def test_variant_experiments_report_one_section_per_case(tmp_path: Path) -> None:
    """fig12-fig14: a row per variant in one section, the spread over the variants computed
    on the images every variant ran, and the sweep figure."""
    exp = EXPERIMENTS["fig12"]
    runs = exp.runs(datasets=("set5",), cases=("butterfly random 0.1", "bird random 0.1"),
                    variants=("lambda_t=0.1", "lambda_t=5.0", "mu_max=2^4"))
    assert {dict(r.tags)["variant"] for r in runs} == {"lambda_t=0.1", "lambda_t=5.0",
                                                       "mu_max=2^4"}
    assert all(len(r.overrides) == 1 for r in runs)
    psnr = {("butterfly", "lambda_t=0.1"): 24.0, ("butterfly", "lambda_t=5.0"): 26.0,
            ("butterfly", "mu_max=2^4"): 25.0, ("bird", "lambda_t=0.1"): 30.0}
    records = []
    for r in runs:
        p = psnr.get((r.case.item, dict(r.tags)["variant"]))
        if p is not None:
            rec = _record(r, p)
            rec["curve"] = [{"iteration": i, "psnr": p - 5 + i / 2} for i in (2, 4, 10)]
            records.append(rec)
    text = render(records, figures=tmp_path / "figs")
    assert text.count("## fig12") == 1 and "| lambda_t=5.0 | ngr (fast) | 1 | 26.00 |" in text
    assert "| lambda_t=0.1 | ngr (fast) | 2 | 27.00 ± 3.00 |" in text
    # bird ran one variant only: the spread is over butterfly, 24 to 26
    assert ("ngr (fast): final-iterate PSNR from 24.00 dB (lambda_t=0.1) to 26.00 dB "
            "(lambda_t=5.0) over 3 variants, spread 2.00 dB (on the 1 image(s)") in text
    assert (tmp_path / "figs" / "fig12_set5_random_0.1_variants.png").stat().st_size > 0
    # a few categorical variants: PSNR read off the curves, a categorical figure
    cold, warm = EXPERIMENTS["fig14"].runs()
    recs = [_record(cold, 25.0), _record(warm, 25.5)]
    for rec, p in zip(recs, (25.0, 25.5), strict=True):
        rec["curve"] = [{"iteration": i, "psnr": p - 10 / i} for i in range(100, 1001, 100)]
    text = render(recs, figures=tmp_path / "figs")
    assert "pretrained on butterfly (ngr (fast)), monitored PSNR at iteration 100: 25.40" in text
    assert "over 2 variants, spread 0.50 dB" in text
    assert (tmp_path / "figs" / "fig14_set5_random_0.1_variants.png").exists()
    assert (tmp_path / "figs" / "fig14_set5_random_0.1_curves.png").exists()
    # a run with settings beyond its variant's (a CPU reduction) is a row of its own
    fig13 = EXPERIMENTS["fig13"]
    pick = {"datasets": ("set5",), "cases": ("butterfly random 0.5",), "methods": ("ngr",),
            "variants": ("skip", "plain")}
    base = fig13.runs(**pick)
    small = fig13.runs(**pick, overrides={"*": (("network.width", 24),)})
    text = render([_record(base[0], 34.57), _record(small[0], 33.0),
                   _record(small[1], 32.0)])
    assert "| skip | ngr (fast) | 1 | 34.57 |" in text
    assert "| skip | ngr (fast) [network.width=24] | 1 | 33.00 |" in text
    assert ("ngr (fast) [network.width=24]: final-iterate PSNR from 32.00 dB (plain) to "
            "33.00 dB (skip)") in text
    with pytest.raises(PyngrError, match="no variant 'lambda=1'"):
        exp.runs(variants=("lambda=1",))


def test_report_states_the_spread_of_identical_repeats() -> None:
    spec = RunSpec("table1", Case("set5", "bird", "random", 0.1))
    again = RunSpec("fig14", spec.case, tags=(("variant", "random init"),))
    other = RunSpec("table1", spec.case, overrides=(("admm.lambda_t", 2.0),))
    recs = [_record(spec, 26.97), _record(again, 26.64), _record(other, 20.0)]
    for r, threads in zip(recs, (1, 2, 2), strict=True):
        r["case_key"], r["device_name"] = "k", f"cpu, {threads} threads"
    recs[1]["settings"] = {"preset": "fast", "network": {"deterministic": True}}  # engine only
    recs[2]["settings"] = {"preset": "fast", "admm": {"lambda_t": 2.0}}
    text = render(recs)
    assert ("1 case(s) ran more than once with identical input, seed and settings; their "
            "final-iterate PSNR differs by up to 0.33 dB") in text
    assert "26.97 / 26.64 dB on cpu, 1 threads; cpu, 2 threads" in text
    assert "Repeats" not in render(recs[:1] + recs[2:])


def test_time_limit_stops_a_run_with_a_checkpoint_and_the_next_call_resumes_it(
        data: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    args = ["bench", "run", "table1", "--data", str(data), "--datasets", "set5", "--methods",
            "ngr", "--limit", "1", "--cases", "random 0.5", "--iterations", "6", "--device",
            "cpu", "--set", "ngr:network.width=8"]
    whole = tmp_path / "whole.jsonl"
    assert main([*args, "--store", str(whole)]) == 0
    store = tmp_path / "parts.jsonl"
    assert main([*args, "--store", str(store), "--time-limit", "0"]) == 3  # starts nothing
    assert "time limit reached, 1 run(s) not started" in capsys.readouterr().err
    # the limit reached during the run (at iteration 2, whatever this machine's speed)
    import pyngr.checkpoint

    policy = pyngr.checkpoint.Checkpointing
    plain = policy.action
    monkeypatch.setattr(policy, "action",
                        lambda self, k, n: "time limit" if k == 2 else plain(self, k, n))
    assert main([*args, "--store", str(store), "--time-limit", "1000"]) == 3
    assert "stopped at iteration 2 of 6 (time limit)" in capsys.readouterr().err
    monkeypatch.setattr(policy, "action", plain)
    assert not store.exists() or Store(store).records() == []  # no partial record
    saved = list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert len(saved) == 1
    assert main([*args, "--store", str(store), "--checkpoints",
                 str(tmp_path / "checkpoints")]) == 0
    (rec,) = Store(store).records()
    (ref,) = Store(whole).records()
    assert rec["resumed"] is True and "resumed" not in ref and not saved[0].exists()
    assert rec["key"] == ref["key"] and rec["result"] == ref["result"]
    assert rec["curve"] == ref["curve"] and rec["iterations"] == 6
    with pytest.raises(PyngrError, match="one at a time"):
        run_local([_spec()], Store(tmp_path / "x.jsonl"), data, device="cpu", batch=2,
                  deadline=0.0, checkpoints=tmp_path)


def test_rerun_replaces_the_selected_records_and_keeps_the_others(data: Path,
                                                                  tmp_path: Path) -> None:
    store = tmp_path / "r.jsonl"
    args = ["bench", "run", "table1", "--data", str(data), "--datasets", "set5", "--methods",
            "tv", "--limit", "1", "--iterations", "3", "--device", "cpu", "--store", str(store)]
    assert main(args) == 0
    before = {r["key"]: r for r in Store(store).records()}
    assert len(before) == 3
    (store.parent / "r.jsonl").write_text(store.read_text() + "not json\n")  # a damaged line
    assert main([*args, "--cases", "random 0.5", "--rerun"]) == 0
    after = {r["key"]: r for r in Store(store).records()}
    assert after.keys() == before.keys() and Store(store).damaged() == 1  # kept as it was
    # the rerun's record is the new last line; the other two stay, in their order
    order = [r["key"] for r in Store(store).records()]
    assert after[order[-1]]["spec"]["case"]["level"] == 0.5
    assert order[:-1] == [k for k in before if k != order[-1]]
    assert Store(store).remove({"no such key"}) == 0


def test_report_keeps_runs_of_other_iteration_counts_in_rows_of_their_own(data: Path) -> None:
    case = Case("set5", "baby", "random", 0.5)
    recs = [execute(RunSpec("table1", case, method="tv", iterations=n), data, device="cpu")
            for n in (3, 6)]
    text = render(recs)
    rows = [line for line in text.splitlines() if line.startswith("| tv")]
    assert [r.split(" |")[0] for r in rows] == ["| tv [iterations=3]", "| tv [iterations=6]"]
    assert "mixed settings" not in text


def test_report_gathers_runs_of_the_shipped_fast_preset_in_one_row() -> None:
    from pyngr.bench.report import SHIPPED_ROW, as_shipped
    from pyngr.presets import get_settings

    def rec(item: str, level: float, psnr: float, weights: str | None, schedule: str,
            channels: int = 3, variant: str = "") -> dict:
        s = get_settings("inpaint", "fast", channels=channels).to_dict()
        s["init_weights"], s["seed"] = weights, 2333
        s["network"]["input_noise_schedule"] = schedule
        r = _record(RunSpec("table1", Case("set5", item, "random", level),
                            tags={"variant": variant} if variant else {}), psnr)
        r.update(settings=s, task="inpaint", data=f"set5/{item} (8, 8, {channels})")
        return r

    warm = "pyngr:fast_rgb_inpaint"
    assert as_shipped(rec("bird", 0.1, 0, warm, "constant"))
    assert as_shipped(rec("bird", 0.5, 0, warm, "linear"))
    assert as_shipped(rec("bird", 0.5, 0, "pyngr:auto", "auto"))
    assert not as_shipped(rec("bird", 0.5, 0, warm, "constant"))  # auto picks linear at 50%
    assert not as_shipped(rec("bird", 0.1, 0, warm, "linear"))
    assert not as_shipped(rec("bird", 0.1, 0, None, "constant"))  # random weights: the bench's
    adapted = "pyngr:fast_rgb_inpaint/adapted"  # what the cube's "pyngr:auto" loads
    assert as_shipped(rec("cube", 0.1, 0, adapted, "constant", channels=31))
    assert as_shipped(rec("cube", 0.1, 0, "pyngr:auto", "constant", channels=31))
    assert not as_shipped(rec("cube", 0.1, 0, None, "constant", channels=31))  # random
    assert not as_shipped(rec("cube", 0.1, 0, warm, "constant", channels=31))
    paper_weight = rec("cube", 0.1, 0, adapted, "constant", channels=31)
    paper_weight["settings"]["admm"]["lambda_t"] = 5.0  # the bench's, not the preset's 100
    assert not as_shipped(paper_weight)
    dense = rec("cube", 0.9, 0, adapted, "linear", channels=31)  # 90% observed: the paper's λ_t
    assert dense["settings"]["admm"]["lambda_t"] == 100.0 and not as_shipped(dense)
    dense["settings"]["admm"]["lambda_t"] = 5.0
    assert as_shipped(dense)
    other = rec("bird", 0.1, 0, warm, "constant")
    other["settings"]["network"]["width"] = 64
    assert not as_shipped(other)
    old = rec("bird", 0.1, 0, warm, "constant")  # from before the schedule field: constant
    del old["settings"]["network"]["input_noise_schedule"]
    assert as_shipped(old)
    named = rec("bird", 0.1, 0, warm, "constant")
    named["spec"]["iterations"] = named["settings"]["iterations"]  # the preset's own count
    assert as_shipped(named)
    named["spec"]["iterations"] = named["settings"]["iterations"] = 3000
    assert not as_shipped(named)
    trunk = rec("cube", 0.1, 0, adapted, "constant", channels=31)  # before separate networks
    trunk["settings"]["network"]["heads"] = "shared"
    assert not as_shipped(trunk)
    # cloud removal: the preset's own budget is what a user gets, the bench's 1500 is not
    for iterations, shipped in ((None, False), (3000, True), (2000, False)):
        s = get_settings("decloud", "fast", additions=False).to_dict()
        s["seed"] = 2333
        r = _record(RunSpec("table4", Case("decloud", "s2", "cloud", "large"),
                            iterations=iterations), 0)
        s["iterations"] = iterations or s["iterations"]
        r.update(settings=s, task="decloud", data="decloud/s2 (101, 100, 13)")
        assert as_shipped(r) is shipped
    # one row per table, next to the bench's own fast row; a sweep keeps its variant rows
    text = render([rec("bird", 0.1, 28.0, warm, "constant"), rec("head", 0.1, 30.0, warm,
                   "constant"), rec("bird", 0.1, 27.0, None, "constant")])
    assert f"| {SHIPPED_ROW} | 2 | 29.00 ± 1.00 |" in text
    assert "| ngr (fast) | 1 | 27.00 |" in text
    from pyngr.bench.report import _group

    swept = _group([rec("bird", 0.1, 28.0, warm, "constant", variant="λ_t = 0.5")])
    assert [list(rows) for rows in swept.values()] == [["ngr (fast, from " + warm + ")"]]
