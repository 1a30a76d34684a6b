"""Turn the result store into markdown tables beside the paper's numbers, and figures.

For every experiment, dataset and degradation level: one row per method with the mean ±
std over seeds (and images) of the final-iterate metrics (whole image; missing entries for
inpainting and cloud removal), the mean labelled oracle PSNR, iterations, device and
seconds per image, the paper's PSNR where its table has the same dataset, and the gap in
dB. Under each table: the ranking on our data and NGR's gap to the best competitor.
Figures: PSNR-versus-iteration curves per case, and side-by-side result crops when the
runs saved previews.
"""

from __future__ import annotations

import csv
import os
import re
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .specs import EXPERIMENTS

__all__ = ["PAPER_METHOD", "SHIPPED_ROW", "as_shipped", "load_paper_table", "render"]

#: pyngr method name -> the paper's column name.
PAPER_METHOD = {"ngr": "NGR", "halrtc": "HaLRTC", "tnn-fft": "TNN-FFT", "tnn-dct": "TNN-DCT",
                "tctv": "t-CTV", "dip": "DIP", "s2dip": "S2DIP", "ctv": "CTV",
                "lrtdtv": "LRTDTV", "tv": "TV"}
#: our dataset (and item) -> the paper's dataset label, per table.
_PAPER_DATASET = {"set5": "Set5", "bsd100": "BSDS100", "usc_sipi": "USC-SIPI",
                  "video": "eight_videos_mean", "hsi/pavia": "PA"}
_LEVEL_COLUMN = {"table1": "sampling_rate", "table2": "sampling_rate", "table3": "case",
                 "table4": "cloud_size", "table5": "sigma", "table6": "case"}
_HSI_CASE = {"weak": "weak_mixed", "strong": "strong_mixed", "gaussian": "gaussian"}


def load_paper_table(folder: Path, name: str) -> list[dict[str, str]]:
    path = Path(folder) / name
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _paper_value(rows: list[dict[str, str]], experiment: str, dataset: str, item: str,
                 degradation: str, level: Any, method: str) -> float | None:
    if not rows:
        return None
    label = _PAPER_DATASET.get(f"{dataset}/{item}", _PAPER_DATASET.get(dataset))
    if experiment == "table7":
        label = "PA_strong_mixed"
    if label is None or method not in PAPER_METHOD:
        return None
    name = PAPER_METHOD[method]
    for r in rows:
        if r.get("dataset") != label:
            continue
        if r.get("method", r.get("regularizer")) != name:
            continue
        column = _LEVEL_COLUMN.get(experiment)
        if column is not None:
            want = _level_label(experiment, degradation, level)
            if str(r.get(column)) != want and not _same_number(r.get(column), want):
                continue
        return float(r["psnr"])
    return None


def _level_label(experiment: str, degradation: str, level: Any) -> str:
    if experiment == "table3":
        if degradation == "deadlines":
            return "deadlines"
        return {0.1: "sr0.10"}.get(float(level), f"sr{float(level):g}")
    if experiment == "table6":
        return _HSI_CASE.get(degradation, degradation)
    return str(level)


def _same_number(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


def _stat(values: Sequence[float]) -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "–"
    return f"{v.mean():.2f} ± {v.std():.2f}" if v.size > 1 else f"{v.mean():.2f}"


def _mean(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else None


def _group(records: list[dict[str, Any]]) -> dict[tuple, dict[str, list[dict[str, Any]]]]:
    """(experiment, dataset, degradation, level, variant) -> row -> records; a row is a
    method (:func:`_method_key`) with its settings beyond the defaults (:func:`_reductions`),
    so that runs of other settings (another iteration count, a CPU reduction) are rows of
    their own instead of one mean over both."""
    out: dict[tuple, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        s = r["spec"]
        c = s["case"]
        # cubes and cloud-removal scenes are tables of their own (other sensors, bands)
        dataset = (f"{c['dataset']}/{c['item']}" if c["dataset"] in ("hsi", "decloud")
                   else c["dataset"])
        variant = s.get("tags", {}).get("variant", "")
        # a sweep's rows are its variants: the shipped row only in tables of methods
        row = SHIPPED_ROW if not variant and as_shipped(r) else _method_key(r) + _reductions(
            s["experiment"], r)
        out[(s["experiment"], dataset, c["degradation"], c["level"], variant)][row].append(r)
    return out


#: The row of runs whose settings are exactly what the `fast` preset gives a user.
SHIPPED_ROW = "ngr (fast as shipped)"


def as_shipped(record: dict[str, Any]) -> bool:
    """Whether an inpainting or cloud-removal run's settings are exactly those a user of the
    ``fast`` preset gets (``pyngr.inpaint(..., preset="fast")``: the bundled warm start from 3
    channels on, the input perturbation schedule its ``"auto"`` rule picks for the observation;
    ``pyngr.decloud``: its iteration budget), up to the seed and engine options. The bench's own
    ``fast`` runs start from random weights with a constant perturbation, as the paper's
    experiments do (:func:`pyngr.bench.runner.build_settings`); runs that asked for the shipped
    choices by overrides are these. A pinned schedule is checked against the rule only for
    random sampling, whose level is the observed fraction; so is a multichannel run's λ_t
    (another degradation's multichannel runs are not gathered: their observed fraction is not
    recorded), with the channels taken as smooth (the bench's videos and cubes are; their
    roughness is not recorded either, see :func:`pyngr.presets.channel_roughness`); records
    of versions with other settings fields never match (but those from before the schedule
    existed had a constant one). A run that named the preset's own iteration count is one of
    these; another count is not."""
    from ..data import ADAPTED_RGB_WEIGHTS, AUTO_WEIGHTS, FAST_RGB_WEIGHTS
    from ..presets import get_settings
    from ..solvers import schedule_for_fraction

    s = record.get("settings") or {}
    spec = record["spec"]
    task = record.get("task")
    if spec["method"] != "ngr" or s.get("preset") != "fast" or task not in ("inpaint",
                                                                            "decloud"):
        return False
    case = spec["case"]
    sampled = case["degradation"] == "random" and isinstance(case["level"], (int, float))
    if task == "decloud":  # no channel or observation rule: its additions are its budget
        want = get_settings("decloud", "fast").to_dict()
    else:
        shape = re.search(r"\(([\d, ]+)\)\s*$", record.get("data", ""))  # "... (H, W, C)"
        if not shape:
            return False
        channels = int(shape.group(1).split(",")[-1])
        if channels != 3 and not sampled:  # its λ_t needs an observed fraction not recorded
            return False
        want = get_settings("inpaint", "fast", channels=channels,
                            observed=float(case["level"]) if sampled else None).to_dict()
        if want["init_weights"] == AUTO_WEIGHTS:  # what it loads into the preset's network
            want["init_weights"] = FAST_RGB_WEIGHTS if channels == 3 else ADAPTED_RGB_WEIGHTS
    if spec.get("iterations") not in (None, want["iterations"]):  # asked for another count
        return False
    got = {**s, "seed": want["seed"],
           "network": {**(s.get("network") or {})}}
    if got.get("init_weights") == AUTO_WEIGHTS:
        got["init_weights"] = want["init_weights"]
    for k in ENGINE_OPTIONS:
        field = k.split(".", 1)[1]
        if field in got["network"]:
            got["network"][field] = want["network"][field]
    # records from before the schedule existed perturbed by a constant amount (commit 25121b9)
    schedule = got["network"].setdefault("input_noise_schedule", "constant")
    if schedule != want["network"]["input_noise_schedule"]:
        if not sampled or schedule != schedule_for_fraction("auto", float(case["level"])):
            return False
        got["network"]["input_noise_schedule"] = "auto"
    return got == want


def _method_key(record: dict[str, Any]) -> str:
    """The row a record belongs to: the method, and for NGR its preset (``paper`` and
    ``fast`` are different rows of one table), the min-loss rule where it chose the result
    rather than the final iterate, and the weights the network started from where they were
    not random (runs of each kind are in the store: defaults changed)."""
    method = record["spec"]["method"]
    settings = record.get("settings") or {}
    preset = settings.get("preset") if method == "ngr" else None
    if not preset:
        return method
    extra = ""
    if settings.get("selection") == "min_loss":
        extra += ", min-loss rule"
    weights = settings.get("init_weights")
    if weights:  # a bundled name is shown; a file of a fig14 run is a scratch path
        extra += f", from {weights}" if str(weights).startswith("pyngr:") else ", warm start"
    return f"ngr ({preset}{extra})"


def _is_ngr(key: str) -> bool:
    return key == "ngr" or key.startswith("ngr (")


#: Settings that change how the network is evaluated, not the model or its float32 numbers
#: beyond round-off (README "Engine options"): not shown as reductions.
ENGINE_OPTIONS = frozenset({"network.fused", "network.compile", "network.channels_last",
                            "network.deterministic"})


def _reductions(experiment: str, record: dict[str, Any]) -> str:
    """The run's settings overrides beyond its experiment variant's (e.g. the CPU
    reductions of a network baseline), as ``" [path=value, ...]"``."""
    spec = record["spec"]
    exp = EXPERIMENTS.get(experiment)
    variant = spec.get("tags", {}).get("variant", "")
    declared = [list(o) for tag, ovs in (exp.variants if exp else ()) if tag == variant
                for o in ovs]  # lists: a value may be a dict (warm start), not hashable
    extra = [f"{o[0]}={o[1]}" for o in spec.get("overrides", [])
             if list(o) not in declared and o[0] not in ("warm_start", "init_weights")
             and o[0] not in ENGINE_OPTIONS]  # the weights are in the row's name
    if spec.get("iterations") is not None:  # `ngr bench run --iterations N`
        extra.append(f"iterations={spec['iterations']}")
    return f" [{', '.join(extra)}]" if extra else ""


def _ranking(by_method: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Ranking lines, over the images every ranked method ran (means over different
    images are not comparable): NGR's images when NGR ran, else the most common set."""
    psnr = {m: {(r["spec"]["case"]["item"], r["spec"]["seed"]):
                r["result"]["whole_image"]["psnr"] for r in recs}
            for m, recs in by_method.items()}
    if not psnr:
        return []
    ngrs = [m for m in psnr if _is_ngr(m)]
    # NGR's images anchor the ranking: those of the NGR row with the most (on a tie paper,
    # then the shipped fast preset, whose gaps to the other rows are then the lines below)
    main = max(ngrs, key=lambda m: (len(psnr[m]), m.startswith("ngr (paper"),
                                    m == SHIPPED_ROW)) if ngrs else None
    anchor = set(psnr[main]) if main else max((set(v) for v in psnr.values()), key=len)
    full = [m for m in psnr if anchor <= set(psnr[m])]
    means = {m: float(np.mean([psnr[m][k] for k in anchor])) for m in full}
    ranking = sorted(means, key=lambda m: -means[m])
    items = sorted({k[0] for k in anchor})
    where = f" on {len(items)} image{'s' if len(items) > 1 else ''}" + (
        f" ({', '.join(items)})" if len(items) <= 6 else "")
    lines = [f"Ranking on our data{where}: " + " > ".join(
        f"{m} ({means[m]:.2f})" for m in ranking)]
    others = [m for m in ranking if not _is_ngr(m)]
    def who(m: str) -> str:
        return "NGR" if len(ngrs) == 1 else m

    for m in ranking:
        if _is_ngr(m) and others:
            best = others[0]
            lines.append(f"{who(m)} − best competitor ({best}): "
                         f"{means[m] - means[best]:+.2f} dB")
    partial = [m for m in psnr if m not in full]
    for m in partial:
        shared = sorted(set(psnr[m]) & set(psnr[main])) if main else []
        if shared and main is not None:
            gap = float(np.mean([psnr[main][k] - psnr[m][k] for k in shared]))
            lines.append(f"Not ranked, fewer images: {m} ({len(psnr[m])}); {who(main)} − {m} "
                         f"on the {len(shared)} image(s) both ran: {gap:+.2f} dB")
        else:
            lines.append(f"Not ranked, fewer images: {m} ({len(psnr[m])})")
    return lines


def render(records: list[dict[str, Any]], paper_tables: Path | None = None,
           figures: Path | None = None, previews: Path | None = None,
           relative_to: Path | None = None) -> str:
    """Markdown report of ``records`` (from :meth:`Store.records`); figures into
    ``figures`` when given, linked relative to ``relative_to`` (the report's folder)."""
    from ..presets import (
        FAST_DECLOUD_ITERATIONS,
        FAST_FEW_CHANNELS_LAMBDA_T,
        FAST_LAMBDA_T_MAX_ITERATIONS,
        FAST_LAMBDA_T_MAX_OBSERVED,
        FAST_MULTICHANNEL_LAMBDA_T,
        FAST_ROUGH_LAMBDA_T,
        FAST_SEPARATE_HEADS_MIN_CHANNELS,
        FAST_WARM_START_MIN_CHANNELS,
        get_settings,
    )

    def link(path: Path) -> str:
        if relative_to is None:
            return path.as_posix()
        return Path(os.path.relpath(path, relative_to)).as_posix()

    groups = _group(records)
    lines = ["# pyngr benchmark report", "",
             "Final-iterate metrics (NGR denoising: its observation-only stable-iterate rule; "
             "rows marked min-loss rule: the iterate of smallest network loss, also "
             "observation-only), "
             "PSNR/SSIM per channel on 8-bit values averaged over channels (SPEC section 6), "
             "mean ± std over images and seeds. *Oracle* is the best PSNR monitored against "
             "ground truth during the run: the reference code reports that number; here it "
             "is never the result. *Paper* is the paper's table entry for the same dataset "
             "where it has one; gap = ours − paper. Set5 and BSDS100 are the paper's own "
             "images; the video, HSI and cloud data here are not the paper's (its entry is "
             "then the corresponding dataset's, e.g. its Pavia Centre cube for our Pavia "
             "crop), so there the gap is indicative only and the ranking on our data is the "
             "comparison. Settings that differ from a method's defaults are shown in "
             "brackets after its name. The bench runs NGR as the paper's experiments do "
             "(random initial weights, a constant input perturbation, the paper's λ_t); "
             f"*{SHIPPED_ROW}* gathers the runs whose settings are exactly what the `fast` "
             "preset gives a user (for inpainting of "
             f"{FAST_WARM_START_MIN_CHANNELS} channels or more the bundled warm start, "
             "fitted to the channel count where it is not RGB, and the "
             "perturbation schedule its `auto` rule picks: linear where at least a quarter "
             "of the entries are observed; for multichannel inpainting "
             f"λ_t = {FAST_MULTICHANNEL_LAMBDA_T:g} where less than "
             f"{FAST_LAMBDA_T_MAX_OBSERVED:.0%} is observed ({FAST_ROUGH_LAMBDA_T:g} where "
             "the channels change more than the pixels, as multispectral bands do; the "
             "bench's videos and cubes do not), and from "
             f"{FAST_SEPARATE_HEADS_MIN_CHANNELS} channels on three separate networks "
             "instead of the shared trunk, on which fewer smooth channels get λ_t = "
             f"{FAST_FEW_CHANNELS_LAMBDA_T:g} in runs of fewer than "
             f"{FAST_LAMBDA_T_MAX_ITERATIONS} iterations; for cloud removal "
             f"{FAST_DECLOUD_ITERATIONS} iterations instead of the bench's "
             f"{get_settings('decloud', 'fast', additions=False).iterations}).", ""]
    # experiments with variants (fig12-fig14): one section per case, a row per variant
    swept: dict[tuple, dict[str, dict[str, list[dict[str, Any]]]]] = defaultdict(dict)
    for key in [k for k in groups if k[4]]:
        swept[key[:4]][key[4]] = groups.pop(key)
    sections = sorted([*groups, *((*k, None) for k in swept)],
                      key=lambda k: (k[0], k[1], k[2], str(k[3]), k[4] or ""))
    lines += _repeat_spread(records)
    for key in sections:
        if key[4] is None:
            lines += _variant_section(key[:4], swept[key[:4]], figures, previews, link)
            continue
        experiment, dataset, degradation, level, variant = key
        exp = EXPERIMENTS.get(experiment)
        rows = load_paper_table(paper_tables, exp.paper_table) if (
            paper_tables and exp and exp.paper_table) else []
        item = dataset.split("/", 1)[1] if "/" in dataset else ""
        base = dataset.split("/", 1)[0]
        title = _title(key) + (f", {variant}" if variant else "")
        lines += [f"## {title}", "",
                  "| method | images | PSNR | SSIM | PSNR missing | oracle PSNR | paper PSNR "
                  "| gap (dB) | iterations | device | s / image |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        # the paper's entry is a mean over the whole dataset: a gap only for full coverage
        declared = {c.item for c in (exp.cases.get(base, ()) if exp else ())
                    if c.item != "*" and (item == "" or c.item == item)}
        n_items = len(declared) or max(
            len({r["spec"]["case"]["item"] for r in rs}) for rs in groups[key].values())
        for method, recs in sorted(groups[key].items(), key=lambda kv: not _is_ngr(kv[0])):
            whole = [r["result"]["whole_image"]["psnr"] for r in recs]
            ssim = [r["result"]["whole_image"].get("ssim") for r in recs]
            miss = [r["result"].get("missing_entries", {}).get("psnr") for r in recs]
            oracle = [(r.get("oracle_monitored") or {}).get("psnr") for r in recs]
            paper = _paper_value(rows, experiment, base, item, degradation, level,
                                 recs[0]["spec"]["method"])
            mean = _mean(whole)
            covered = len({r["spec"]["case"]["item"] for r in recs})
            gap = f"{mean - paper:+.2f}" if (paper is not None and mean is not None) else "–"
            if paper is not None and covered < n_items:
                gap = f"– ({covered} of {n_items} images)"
            its = sorted({r["iterations"] for r in recs})
            dev = sorted({r["device"] for r in recs})
            lines.append(
                f"| {method} | {len(recs)} | "
                f"{_stat(whole)} | {_stat(ssim)} | {_stat(miss)} | {_stat(oracle)} | "
                f"{'–' if paper is None else f'{paper:.2f}'} | {gap} | "
                f"{', '.join(map(str, its))} | {', '.join(dev)} | "
                f"{np.mean([r['wall_time_s'] for r in recs]):.0f} |")
        lines += ["", *_ranking(groups[key])]
        if figures is not None:
            name = _figure_name(key)
            made = _curves(groups[key], Path(figures) / f"{name}_curves.png", title)
            if made:
                lines += ["", f"![PSNR curves]({link(made)})"]
            if previews is not None:
                made = _crops(groups[key], Path(previews), Path(figures) / f"{name}_crops.png",
                              title)
                if made:
                    lines += ["", f"![results]({link(made)})"]
                made = _gradient_maps(groups[key], Path(previews),
                                      Path(figures) / f"{name}_gradients.png")
                if made:
                    lines += ["", f"![estimated gradient maps]({link(made)})"]
        lines.append("")
    return "\n".join(lines)


def _repeat_spread(records: list[dict[str, Any]]) -> list[str]:
    """How far runs with identical input and settings land apart (another experiment's
    run of the same case, another thread count or machine): the round-off spread that a
    difference between variants or methods should exceed to mean anything."""
    import json

    def settings(r: dict[str, Any]) -> str:
        st = dict(r.get("settings") or {})
        st["network"] = {k: v for k, v in (st.get("network") or {}).items()
                         if f"network.{k}" not in ENGINE_OPTIONS}
        return json.dumps(st, sort_keys=True, default=str)

    same: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("case_key") and r.get("settings"):
            same[(r["case_key"], r["spec"]["method"], settings(r))].append(r)
    pairs = [g for g in same.values() if len(g) > 1]
    if not pairs:
        return []
    gaps = [max(x["result"]["whole_image"]["psnr"] for x in g)
            - min(x["result"]["whole_image"]["psnr"] for x in g) for g in pairs]
    worst = pairs[int(np.argmax(gaps))]
    where = sorted({x.get("device_name", x.get("device", "?")) for x in worst})
    values = " / ".join(f"{x['result']['whole_image']['psnr']:.2f}" for x in worst)
    return [f"Repeats: {len(pairs)} case(s) ran more than once with identical input, seed "
            f"and settings; their final-iterate PSNR differs by up to {max(gaps):.2f} dB "
            f"({worst[0]['spec']['method']} on {worst[0].get('data', '?')}: "
            f"{values} dB on "
            f"{'; '.join(where)}). Float round-off (thread count, kernels) grows over the "
            "iterations of a network fit: a difference between runs smaller than this may "
            "be noise.", ""]


def _title(key: tuple) -> str:
    experiment, dataset, degradation, level = key[:4]
    exp = EXPERIMENTS.get(experiment)
    return f"{experiment}: {exp.title if exp else ''} — {dataset}, {degradation}" + (
        f" {level}" if level is not None else "")


def _figure_name(key: tuple) -> str:
    """File stem of a section's figures: its key's parts joined, ``/`` made ``-``."""
    return "_".join(str(x) for x in key if x not in (None, "")).replace("/", "-")


def _variant_overrides(experiment: str) -> dict[str, tuple[tuple[str, Any], ...]]:
    exp = EXPERIMENTS.get(experiment)
    return {tag: tuple(ovs) for tag, ovs in (exp.variants if exp else ())}


def _variant_section(key: tuple, by_variant: dict[str, dict[str, list[dict[str, Any]]]],
                     figures: Path | None, previews: Path | None, link: Any) -> list[str]:
    """One case of an experiment with variants (hyper-parameter values, backbones, warm
    start): a row per variant and method, the spread over the variants, and figures (PSNR
    against a swept value, or per variant; monitored PSNR curves)."""
    experiment = key[0]
    # (runs with other settings beyond the variant's are other rows already: _group)
    declared = _variant_overrides(experiment)
    order = [v for v in declared if v in by_variant] + sorted(
        v for v in by_variant if v not in declared)
    title = _title(key)
    lines = [f"## {title}", "",
             "| variant | method | images | PSNR | SSIM | oracle PSNR | iterations | device "
             "| s / image |", "|---|---|---|---|---|---|---|---|---|"]
    methods: list[str] = []
    for v in order:
        for m, recs in sorted(by_variant[v].items(), key=lambda kv: not _is_ngr(kv[0])):
            methods += [m] if m not in methods else []
            lines.append(
                f"| {v} | {m} | {len(recs)} | "
                f"{_stat([r['result']['whole_image']['psnr'] for r in recs])} | "
                f"{_stat([r['result']['whole_image'].get('ssim') for r in recs])} | "
                f"{_stat([(r.get('oracle_monitored') or {}).get('psnr') for r in recs])} | "
                f"{', '.join(map(str, sorted({r['iterations'] for r in recs})))} | "
                f"{', '.join(sorted({r['device'] for r in recs}))} | "
                f"{np.mean([r['wall_time_s'] for r in recs]):.0f} |")
    lines.append("")
    means = _variant_means(order, by_variant)
    for m in methods:
        got = {v: means[v][m] for v in order if m in means[v]}
        if len(got) < 2:
            continue
        lo, hi = min(got, key=got.__getitem__), max(got, key=got.__getitem__)
        lines.append(f"{m}: final-iterate PSNR from {got[lo][0]:.2f} dB ({lo}) to "
                     f"{got[hi][0]:.2f} dB ({hi}) over {len(got)} variants, spread "
                     f"{got[hi][0] - got[lo][0]:.2f} dB (on the {got[hi][1]} image(s) every "
                     "variant ran)  ")
    lines += _curve_points(order, by_variant)
    if figures is not None:
        name = _figure_name(key)
        made = _sweep_plot(declared, order, means, methods,
                           Path(figures) / f"{name}_variants.png", title)
        if made:
            lines += ["", f"![PSNR per variant]({link(made)})"]
        series = {f"{v} — {m}": recs for v in order for m, recs in by_variant[v].items()}
        if len(series) <= 8:
            made = _curves(series, Path(figures) / f"{name}_curves.png", title)
            if made:
                lines += ["", f"![PSNR curves]({link(made)})"]
        if previews is not None and len(series) <= 5:
            made = _crops(series, Path(previews), Path(figures) / f"{name}_crops.png", title)
            if made:
                lines += ["", f"![results]({link(made)})"]
    lines.append("")
    return lines


def _variant_means(order: list[str], by_variant: dict[str, dict[str, list[dict[str, Any]]]]
                   ) -> dict[str, dict[str, tuple[float, int, float | None]]]:
    """variant -> method -> (mean final PSNR, images, mean oracle PSNR) over the images and
    seeds that every variant of the method ran (so the variants compare like for like)."""
    def ids(recs: list[dict[str, Any]]) -> set[tuple]:
        return {(r["spec"]["case"]["item"], r["spec"]["seed"]) for r in recs}

    common: dict[str, set[tuple]] = {}
    for v in order:
        for m, recs in by_variant[v].items():
            common[m] = common[m] & ids(recs) if m in common else ids(recs)
    out: dict[str, dict[str, tuple[float, int, float | None]]] = {}
    for v in order:
        out[v] = {}
        for m, recs in by_variant[v].items():
            keep = [r for r in recs if (r["spec"]["case"]["item"], r["spec"]["seed"])
                    in common[m]]
            if keep:
                out[v][m] = (float(np.mean([r["result"]["whole_image"]["psnr"]
                                            for r in keep])), len(keep),
                             _mean([(r.get("oracle_monitored") or {}).get("psnr")
                                    for r in keep]))
    return out


def _curve_points(order: list[str], by_variant: dict[str, dict[str, list[dict[str, Any]]]],
                  ) -> list[str]:
    """Monitored PSNR of each variant's first run at a tenth, a quarter, half and the end
    of the run (the paper's Fig. 14 reads its curves this way); for 2 to 4 runs only."""
    runs = [(v, m, recs[0]) for v in order for m, recs in by_variant[v].items()]
    if not 2 <= len(runs) <= 4:
        return []
    out = []
    for v, m, rec in runs:
        curve = {p["iteration"]: p["psnr"] for p in rec.get("curve", []) if "psnr" in p}
        if not curve:
            continue
        its = sorted(curve)
        picks = sorted({min(its, key=lambda i, q=q: abs(i - q * its[-1]))
                        for q in (0.1, 0.25, 0.5, 1.0)})
        out.append(f"{v} ({m}), monitored PSNR at iteration " + ", ".join(
            f"{i}: {curve[i]:.2f}" for i in picks) + " dB  ")
    return ["", *out] if out else []


def _sweep_plot(declared: dict[str, tuple[tuple[str, Any], ...]], order: list[str],
                means: dict[str, dict[str, tuple[float, int, float | None]]],
                methods: list[str], path: Path, title: str) -> Path | None:
    """PSNR against the swept value (one panel per swept setting, log axis) when every
    variant sets one number; else PSNR per variant (categories, e.g. backbones)."""
    from ..figures import _pyplot, _save

    numeric: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for v in order:
        ovs = declared.get(v, ())
        if len(ovs) == 1 and isinstance(ovs[0][1], int | float):
            numeric[ovs[0][0]].append((float(ovs[0][1]), v))
    plt = _pyplot()
    if numeric and sum(len(x) for x in numeric.values()) == len(order):
        panels = [p for p in numeric if len(numeric[p]) >= 2]
        if not panels:
            return None
        fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6),
                                 squeeze=False)
        for ax, p in zip(axes[0], panels, strict=True):
            pts = sorted(numeric[p])
            for m in methods:
                xy = [(x, means[v][m]) for x, v in pts if m in means[v]]
                if not xy:
                    continue
                xs = [x for x, _ in xy]
                ax.plot(xs, [t[0] for _, t in xy], "o-", label=f"{m} final iterate")
                oracle = [(x, t[2]) for x, t in xy if t[2] is not None]
                if oracle:
                    ax.plot(*zip(*oracle, strict=True), "x:", alpha=0.6,
                            label=f"{m} oracle (monitored)")
            if max(x for x, _ in pts) / max(min(x for x, _ in pts), 1e-12) >= 10:
                ax.set_xscale("log", base=2 if p.endswith("mu_max") else 10)
            ax.set_xlabel(p)
            ax.set_ylabel("PSNR (dB)")
            ax.legend(fontsize=7)
    else:
        if len(order) < 2:
            return None
        fig, ax = plt.subplots(figsize=(max(4.5, 1.2 * len(order)), 3.6))
        for k, m in enumerate(methods):
            xs = [i for i, v in enumerate(order) if m in means[v]]
            ax.plot([x + 0.08 * k for x in xs], [means[order[i]][m][0] for i in xs], "o",
                    markersize=8, label=m)
        ax.set_xticks(range(len(order)), order, fontsize=8)
        ax.set_ylabel("final-iterate PSNR (dB)")
        ax.legend(fontsize=7)
    fig.suptitle(title[:100], fontsize=8)
    return _save(fig, path)


def _curves(by_method: dict[str, list[dict[str, Any]]], path: Path, title: str) -> Path | None:
    """Monitored PSNR against iterations of the first image's run of each method."""
    from ..figures import _pyplot, _save

    series = {}
    for method, recs in by_method.items():
        curve = [(p["iteration"], p["psnr"]) for p in recs[0].get("curve", []) if "psnr" in p]
        if len(curve) > 1:
            series[method] = curve
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in series.items():
        it, ps = zip(*curve, strict=True)
        ax.plot(it, ps, label=method)
    ax.set_xlabel("iteration")
    ax.set_ylabel("monitored PSNR (dB)")
    ax.set_title(title[:90], fontsize=8)
    ax.legend(fontsize=7)
    _save(fig, path)
    return path


def _crops(by_method: dict[str, list[dict[str, Any]]], previews: Path, path: Path,
           title: str) -> Path | None:
    """Input, each method's result and the ground truth of the first image, side by side
    (the central quarter of the image, as the paper's zoomed crops)."""
    from ..figures import side_by_side
    from ..io import read_image

    first = next(iter(by_method.values()))[0]
    case = first.get("case_key")
    panels = []
    for name in ("observed",):
        p = previews / f"case-{case}-{name}.png"
        if p.exists():
            panels.append((name, read_image(p).data))
    for method, recs in by_method.items():
        rec = next((r for r in recs if r.get("case_key") == case), None)
        if rec is not None and (previews / f"{rec['key']}.png").exists():
            psnr = rec["result"]["whole_image"]["psnr"]
            label = textwrap.fill(f"{method} {psnr:.2f} dB", 30)  # long rows: no overlap
            panels.append((label, read_image(previews / f"{rec['key']}.png").data))
    truth = previews / f"case-{case}-truth.png"
    if truth.exists():
        panels.append(("ground truth", read_image(truth).data))
    if len(panels) < 2:
        return None
    if truth.exists() and first["spec"]["case"]["dataset"] in _STRETCHED:
        panels = _stretched(panels)
    h, w = panels[0][1].shape[:2]
    crop = (slice(h // 4, h // 4 + h // 2), slice(w // 4, w // 4 + w // 2))
    side_by_side([(t, a[crop]) for t, a in panels], path, title=title[:100])
    return path


#: Datasets whose previews are bands of reflectance, stored on the [0, 1] scale of every
#: method (the runner's previews) and so nearly black (cloud-removal scenes read 0.02-0.3):
#: their crop figures share one linear stretch.
_STRETCHED = ("hsi", "decloud")


def _stretched(panels: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Every panel mapped by the linear stretch of the last (the ground truth): its 1st and
    99th percentiles to 0 and 1, the usual display of multiband pictures, one for all, so
    that a difference in colour is still a difference in value.

    >>> truth = np.arange(101, dtype=np.uint8)[None]  # percentiles 1 and 99: 1 and 99
    >>> [float(p.max()) for _, p in _stretched([("result", truth // 2), ("truth", truth)])]
    [0.5, 1.0]
    """
    lo, hi = (float(v) for v in np.percentile(panels[-1][1], (1, 99)))
    scale = hi - lo if hi > lo else 1.0
    return [(t, np.clip((a.astype(np.float64) - lo) / scale, 0, 1)) for t, a in panels]


def _gradient_maps(by_method: dict[str, list[dict[str, Any]]], previews: Path,
                   path: Path) -> Path | None:
    """|F_h| + |F_v| (first channel) at the captured iterations of the first NGR run."""
    from ..figures import side_by_side
    from ..io import read_image

    rec = next((r for m, recs in by_method.items() if _is_ngr(m) for r in recs
                if r.get("gradient_maps_at")), None)
    if rec is None:
        return None
    panels = [(f"iteration {it}", read_image(p).data) for it in rec["gradient_maps_at"]
              if (p := previews / f"{rec['key']}-grad-{it:06d}.png").exists()]
    if not panels:
        return None
    side_by_side(panels, path, title="NGR's estimated gradient maps |F_h| + |F_v| "
                                     "(first channel)")
    return path
