"""Write a comparison's results: predictions (npz), tables (markdown and JSON) and figures (PNG).

Files in the output folder:
  predictions.npz   test/train indices, reference and predicted EFGs, scalar predictions, stats
  report.json       settings, tuned hyperparameters, scores of both approaches, learning curves
  report.md         the comparison table and the search tables
  search/<model>.json  every Box-Behnken run (written by run_comparison)
  fig3_parity.png, fig4_omega_parity.png, fig5_learning.png
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict

import numpy as np

from sagpr import quantities

from ..cache import write_json_atomic
from .evaluation import QUANTITIES
from .targets import TARGETS

FIGURES = ("fig3_parity.png", "fig4_omega_parity.png", "fig5_learning.png")


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x


def save_predictions(result, path) -> None:
    """Write the test-set predictions of a ComparisonResult atomically as .npz."""
    path = Path(path)
    arrays = {"train": result.train, "test": result.test,
              "stats": np.array([result.stats["mu"], result.stats["sigma"]])}
    if "tensor" in result.predictions:
        arrays["V_pred"] = result.predictions["tensor"]
    for t in TARGETS:
        if t in result.predictions:
            arrays[f"scalar_{t}"] = result.predictions[t]
    from sagpr.atomic import atomic_path

    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def report_dict(result) -> dict:
    settings = result.settings.to_dict()
    return _clean({
        "sites": result.sites_info,
        "settings": settings,
        "n_train": len(result.train), "n_test": len(result.test),
        "stats": result.stats,
        "best_params": result.best_params,
        "search": {m: {"best": s["best"], "surface": s["surface"], "n_runs": len(s["runs"])}
                   for m, s in result.searches.items()},
        "scores": {"tensorial": None if result.tensorial is None else result.tensorial["scores"],
                   "scalar": None if result.scalar is None else result.scalar["scores"]},
        "omega_q_resolution_khz": result.settings.resolution_khz,
        "learning": result.learning,
        "timings_s": result.timings,
        "n_fits": result.n_fits,
    })


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}g}"


def comparison_table(scores: Dict[str, dict]) -> str:
    """Markdown table: quantity, unit, MAE, Pearson r and the 1-Wasserstein distance W1 of the
    predicted to the reference distribution, for the scalar and the tensorial approach."""
    lines = ["| quantity | unit | scalar MAE | scalar r | scalar W1 | tensorial MAE | tensorial r | tensorial W1 |",
             "|---|---|---|---|---|---|---|---|"]
    tens = scores.get("tensorial") or {}
    scal = scores.get("scalar") or {}
    for q in QUANTITIES:
        if q not in tens and q not in scal:
            continue
        unit = (tens.get(q) or scal.get(q))["unit"]
        cells = []
        for table in (scal, tens):
            e = table.get(q)
            if e is None:
                cells += ["-", "-", "-"]
                continue
            mae = _fmt(e["mae"])
            cells += [mae, _fmt(e.get("r"), 3), _fmt(e.get("wasserstein"))]
        lines.append(f"| {q} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def search_table(search: dict) -> str:
    """Markdown table of every run of a search (SearchResult.to_dict()): hyperparameters, mean and
    per-fold scores; the best run marked."""
    names = [f["name"] for f in search["factors"]]
    lines = ["| run | kind | " + " | ".join(names) + " | score | per-fold scores |",
             "|---" * (len(names) + 4) + "|"]
    best = search.get("best")
    for i, run in enumerate(search["runs"]):
        mark = " **best**" if best is not None and run["params"] == best["params"] and run["kind"] == best["kind"] else ""
        values = " | ".join(_fmt(run["params"][n], 5) for n in names)
        folds = ", ".join(_fmt(v, 4) for v in run["scores"])
        lines.append(f"| {i} | {run['kind']} | {values} | {_fmt(run['score'], 5)}{mark} | {folds} |")
    return "\n".join(lines)


def markdown(result) -> str:
    d = report_dict(result)
    s = d["sites"]
    res = d["omega_q_resolution_khz"]
    omega = quantities.name("omega_q")
    omega_derived = quantities.derived(omega)
    learned = [quantities.name(t) for t in TARGETS]  # C~Q, eta~, theta, phi, omega_Q
    lines = [f"# Scalar vs tensorial learning of {s['isotope']} EFG observables", "",
             f"Data: {s['source'] or 'in memory'}: {s['n_sites']} {s['species']} sites in {s['n_frames']} structures "
             f"(EFG units {s['units']}); train {d['n_train']}, test {d['n_test']}"
             f"{' (split by structure)' if d['settings']['by_structure'] else ' (the study split: sites at random, so sites of one structure can sit in both train and test)'}; "
             f"{d['settings']['n_folds']}-fold CV; tensor objective `{d['settings']['tensor_objective']}`; "
             f"sign convention `{d['settings'].get('sign_convention', 'signed')}`"
             f"{' (each tensor with V_ZZ > 0, as the study)' if d['settings'].get('sign_convention') == 'positive' else ''}.",
             f"Training-set |Vzz|: mu = {d['stats']['mu']:.6g}, sigma = {d['stats']['sigma']:.6g} {d['stats']['units']}.",
             "", "## Test-set scores", "", comparison_table(d["scores"]), "",
             "Angles: distances of folded angles (theta, phi in [0, 90] degrees); corrected: near-degenerate axis "
             "labels reassigned. omega_Q (derived): from the four scalar predictions. q~ row: MAE is 1 - mean q~."]
    for name, table in d["scores"].items():
        if table and omega in table:
            mae = table[omega]["mae"]
            verdict = "within" if mae <= res else "above"
            lines.append(f"- {name} omega_Q MAE {mae:.3g} kHz: {verdict} the {res:g} kHz experimental resolution")
        if table and omega_derived in table:
            mae = table[omega_derived]["mae"]
            lines.append(f"- {name} (derived) omega_Q MAE {mae:.3g} kHz: "
                         f"{'within' if mae <= res else 'above'} the {res:g} kHz resolution")
    lines += ["", "## Tuned hyperparameters", "", "| model | " + " | ".join(["hyperparameters", "CV score"]) + " |",
              "|---|---|---|"]
    for m, p in d["best_params"].items():
        best = d["search"][m]["best"]
        lines.append(f"| {m} | " + ", ".join(f"{k}={_fmt(v, 4)}" for k, v in p.items()) + f" | {_fmt(best['score'])} |")
    lines += ["", "## Learning curves (test MAE)", "",
              "| n_train | " + " | ".join(f"{a} {q}" for a in ("scalar", "tensorial") for q in learned) + " |",
              "|---" * (1 + 2 * len(learned)) + "|"]
    for e in d["learning"]:
        cells = []
        for a in ("scalar", "tensorial"):
            for q in learned:
                cells.append(_fmt(((e.get(a) or {}).get(q) or {}).get("mae")))
        lines.append(f"| {e['n_train']} | " + " | ".join(cells) + " |")
    lines += ["", "## Searches", ""]
    for m, srch in result.searches.items():
        lines += [f"### {m}", "", search_table(srch), ""]
    t = d["timings_s"]
    lines += [f"Wall time: {t.get('total', 0):.1f} s (search {t.get('search', 0):.1f} s, final fits "
              f"{t.get('final', 0):.1f} s, learning curves {t.get('learning', 0):.1f} s); {d['n_fits']} fits run.", ""]
    return "\n".join(lines)


def _write_text(path, text: str) -> None:
    from sagpr.atomic import write_text_atomic

    write_text_atomic(path, text)


def write_figures(result, out_dir) -> list:
    from sagpr.plots.common import save_figure
    from sagpr.plots.learning import learning_figure
    from sagpr.plots.parity import omega_parity_figure, parity_figure

    import matplotlib.pyplot as plt

    out = Path(out_dir)
    written = []
    ref = (result.tensorial or result.scalar)["values"]["ref"]
    preds = {}
    if result.scalar is not None:
        preds["scalar"] = result.scalar["values"]["pred"]
    if result.tensorial is not None:
        preds["tensorial"] = result.tensorial["values"]["pred"]
    panels = [q for q in TARGETS if q != "omega_q" and any(q in p for p in preds.values())]
    if panels:
        fig = parity_figure(ref, preds, panels)
        written.append(save_figure(fig, out / FIGURES[0]))
        plt.close(fig)
    om = {}
    if result.scalar is not None and "omega_q" in result.scalar["values"]["pred"]:
        om["direct scalar"] = result.scalar["values"]["pred"]["omega_q"]
    if result.scalar is not None and "omega_q_derived" in result.scalar["values"]["pred"]:
        om["derived scalar"] = result.scalar["values"]["pred"]["omega_q_derived"]
    if result.tensorial is not None:
        om["tensorial"] = result.tensorial["values"]["pred"]["omega_q"]
    if om:
        fig = omega_parity_figure(ref["omega_q"], om, resolution=result.settings.resolution_khz,
                                  title=f"{result.sites_info['isotope']} {quantities.name('omega_q')}")
        written.append(save_figure(fig, out / FIGURES[1]))
        plt.close(fig)
    if len(result.learning) > 1:
        fig = learning_figure(result.learning, resolution=result.settings.resolution_khz)
        written.append(save_figure(fig, out / FIGURES[2]))
        plt.close(fig)
    return written


def write_report(result, out_dir, *, figures: bool = True) -> Dict[str, Path]:
    """Write predictions.npz, report.json, report.md and (figures=True) the PNG figures."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_predictions(result, out / "predictions.npz")
    write_json_atomic(out / "report.json", report_dict(result))
    _write_text(out / "report.md", markdown(result))
    files = {"predictions": out / "predictions.npz", "json": out / "report.json", "markdown": out / "report.md"}
    if figures:
        for p in write_figures(result, out):
            files[p.stem] = p
    return files
