"""The study's main job in one call: data, scalar-vs-tensorial comparison, final model, large
models, omega_Q prediction and site classification, and one report beside the study's numbers."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

from ...atomic import write_text_atomic

#: The study's test-set MAEs for 7Li on DFT data (Harper et al., J. Mater. Chem. A 2025) and Pearson r
#: of the tensorial model; angles in rad, omega_Q in kHz.
STUDY_LI = {
    "scalar": {"C~Q": 0.17, "eta~": 0.14, "theta": 0.47, "phi": 0.75, "omega_Q": "> 10"},
    "tensorial": {"C~Q": 0.06, "eta~": 0.04, "theta": 0.15, "phi": 0.22, "theta (corrected)": 0.06,
                  "phi (corrected)": 0.05, "omega_Q": 4.7},
    "tensorial_r": {"C~Q": 1.00, "eta~": 0.98, "theta": 0.82, "phi": 0.78},
}
QUANTITIES = ("C~Q", "eta~", "theta", "phi", "theta (corrected)", "phi (corrected)", "omega_Q")


@dataclass
class ReproduceSettings:
    """Sizes of a reproduction; `quick()` is the CI-sized one (under 10 minutes on 2 cores)."""

    n_structures: int = 1640
    species: Sequence[str] = ("Li", "Ti", "O")
    n_large: int = 20
    mc_sweeps: int = 200
    quick: bool = False
    seed: int = 0
    bin_width: float = 2.0
    min_count: int = 10
    search_n_features: Optional[int] = None  # e.g. 400: a cheaper search (not yet measured on the full run)
    # e.g. 8000: the searches cross-validate on a seeded subset of the training sites (Li 10496, Ti
    # 13120, O 31488). Not the default: measured on the full run, 7Li picks the same hyperparameters
    # but 47Ti's two best design points (CV scores 0.3 % apart) swap, and its test omega_Q MAE moves 16 %
    search_max_sites: Optional[int] = None
    # the tensor search screened on this fraction of the training sites, its runs within
    # tensor_screen_tolerance re-scored on all of them (CompareSettings.tensor_screen)
    # (measured on the built-in set: every pick and test number of the full search kept, 16.4 instead
    # of 23.6 minutes; 0.15 and 0.08 take 15.3 minutes but 7Li then picks a run 0.02 % better in CV
    # whose test angles differ by up to 5 %: docs/workflows.md)
    tensor_screen: Optional[float] = 0.25
    tensor_screen_tolerance: float = 0.05

    @classmethod
    def quick_settings(cls, seed: int = 0) -> "ReproduceSettings":
        return cls(n_structures=160, species=("Li",), n_large=2, mc_sweeps=20, quick=True, seed=seed,
                   bin_width=4.0, min_count=5)


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.3g}"


def mae_table(tensorial: dict, scalar: dict) -> str:
    """Markdown table: test MAE of both approaches (nuclei the study has no numbers for)."""
    lines = ["| quantity | scalar MAE | tensorial MAE |", "|---|---|---|"]
    for q in QUANTITIES:
        if q in tensorial and q in scalar:
            lines.append(f"| {q} | {_fmt(scalar[q].get('mae'))} | {_fmt(tensorial[q].get('mae'))} |")
    return "\n".join(lines)


ANGLES = ("theta", "phi", "theta (corrected)", "phi (corrected)")


def _study_value(approach, quantity):
    """The study's MAE in the units sagpr reports (its angles, given in rad, in degrees)."""
    value = STUDY_LI[approach].get(quantity)
    if quantity in ANGLES and isinstance(value, (int, float)):
        return math.degrees(value)
    return value


def study_table(tensorial: dict, scalar: dict, tensorial_signed: dict = None) -> str:
    """Markdown table: MAE (and r) of ours beside the study's, scalar and tensorial, under the
    study's convention (V_ZZ > 0); the tensorial MAE under the signed convention beside them."""
    lines = ["| quantity | scalar MAE (study) | scalar MAE (sagpr) | tensorial MAE (study) | tensorial MAE (sagpr) "
             "| tensorial r (study) | tensorial r (sagpr) | tensorial MAE (sagpr, signed) |",
             "|---|---|---|---|---|---|---|---|"]
    for q in QUANTITIES:
        ours_s = (scalar or {}).get(q, {})
        ours_t = (tensorial or {}).get(q, {})
        ours_signed = (tensorial_signed or {}).get(q, {})
        label = f"{q} (deg)" if q in ANGLES else (f"{q} (kHz)" if q == "omega_Q" else q)
        lines.append(
            f"| {label} | {_fmt(_study_value('scalar', q))} | {_fmt(ours_s.get('mae'))} | "
            f"{_fmt(_study_value('tensorial', q))} | {_fmt(ours_t.get('mae'))} | "
            f"{_fmt(STUDY_LI['tensorial_r'].get(q))} | {_fmt(ours_t.get('r'))} | {_fmt(ours_signed.get('mae'))} |"
        )
    return "\n".join(lines)


def signed_tensorial_scores(sites, result) -> dict:
    """The comparison's tensorial test scores re-scored under the signed convention (the same
    predictions: the tensor model learns the signed tensor whatever convention scores it)."""
    from .evaluation import score_tensorial

    if result.tensorial is None:
        return None
    test = result.test
    return score_tensorial(sites.V[test], result.predictions["tensor"], sites.isotope, result.stats,
                           units=sites.units, b0=result.settings.b0,
                           degeneracy_tol=result.settings.degeneracy_tol)["scores"]


def _search_economies(compare_settings) -> str:
    parts = []
    if compare_settings.search_n_features:
        parts.append(f"scores its points on {compare_settings.search_n_features} selected features")
    if compare_settings.search_max_sites:
        parts.append(f"cross-validates on a random {compare_settings.search_max_sites} of the training sites")
    screen = compare_settings.tensor_screen
    if screen:
        share = f"{100 * screen:g} %" if screen <= 1 else f"{screen:g}"
        parts.append(f"screens the tensor model's runs on a random {share} of the training sites and scores "
                     f"those within {100 * compare_settings.tensor_screen_tolerance:g} % of the screen's best "
                     f"on all of them")
    return ("; the search " + " and ".join(parts) + " (the final models and learning curves use everything)"
            if parts else "")


def differences_section(settings, compare_settings) -> list:
    """The report's lines that say where this reproduction differs from the study, and why."""
    fixed = ", ".join(f"{k} {v}" for k, v in compare_settings.fixed.items())
    factors = ", ".join(f"{f.name} {f.low:g}-{f.high:g}" for f in compare_settings.factors)
    return [
        "## Differences from the study", "",
        "- **Data**: point-charge Ewald EFGs of rattled and rescaled 42-atom cells (formal charges), not "
        "CASTEP DFT EFGs of relaxed structures: every absolute number differs; the comparison of scalar "
        "and tensorial learning on the same data is what carries over.",
        "- **Convention**: the table uses the study's (each tensor with V_ZZ > 0, reference and prediction "
        "alike). Under the signed convention C~Q and eta~ of the point-charge data are bimodal (V_ZZ takes "
        "both signs about equally often) and the scalar models of them do badly; the last column gives the "
        "tensorial MAE under that convention.",
        "- **Split**: the study's, sites at random (4:1); `sagpr compare` splits by structure by default.",
        f"- **Hyperparameters**: a Box-Behnken search of {factors} ({compare_settings.n_folds}-fold CV) with "
        f"{fixed} fixed; the study tuned its own ranges" + _search_economies(compare_settings) + ".",
        f"- **Size**: {settings.n_structures} structures" + (" (quick run)" if settings.quick else "") + ".",
        "",
    ]


def reproduce(out, settings: ReproduceSettings = None, *, progress: bool = True) -> Path:
    """Run everything into folder `out`; returns the path of the report (report.md)."""
    from ase.io import read

    from ...datasets import lto, write_extxyz
    from .compare import CompareSettings, run_comparison
    from ..tuning.fits import final_tensor_model
    from ..prediction.histogram import classify, write_histogram_report
    from ..tuning.options import QUICK
    from ..prediction.predict import predict_file
    from .report import write_report
    from ..sites import collect_sites

    settings = settings or ReproduceSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: Dict[str, float] = {}
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    frames = lto.generate(settings.n_structures, seed=settings.seed, progress=progress)
    write_extxyz(frames, out / "lto_efg.xyz")
    timings["data"] = time.perf_counter() - t0

    # the study splits its sites at random (not by structure): reproduce follows it
    # with search_n_features the searches score their points on selected features (a cheaper kernel); the
    # final models and learning curves use every feature
    compare_settings = CompareSettings(seed=settings.seed, by_structure=False, sign_convention="positive",
                                       search_n_features=settings.search_n_features,
                                       search_max_sites=settings.search_max_sites,
                                       tensor_screen=settings.tensor_screen,
                                       tensor_screen_tolerance=settings.tensor_screen_tolerance,
                                       all_sites_model=True)
    if settings.quick:
        compare_settings = CompareSettings(factors=QUICK["factors"], fixed=dict(QUICK["fixed"]),
                                           n_folds=QUICK["n_folds"], train_sizes=QUICK["train_sizes"],
                                           seed=settings.seed, by_structure=False, sign_convention="positive",
                                           all_sites_model=True)
    results, signed = {}, {}
    for species in settings.species:
        t0 = time.perf_counter()
        sites = collect_sites(frames, species, source=str(out / "lto_efg.xyz"))
        result = run_comparison(sites, compare_settings, out_dir=out / f"compare_{species}", progress=progress)
        write_report(result, out / f"compare_{species}")
        results[species] = result
        signed[species] = signed_tensorial_scores(sites, result)
        timings[f"compare {species}"] = time.perf_counter() - t0
        if result.model is not None:
            # saved at once and not held: the next comparisons need the memory (O's peaks near 8 GB)
            result.model.save(out / f"{species.lower()}.sagpr")
            result.model = None
            timings[f"final {species} model (in compare {species})"] = result.timings.get("all-sites model", 0.0)
        del sites

    # the tuned tensor model of every compared nucleus, trained on all its sites and saved
    # (sagpr.load / sagpr predict --model); the Li one predicts the large models below. The
    # comparison made it (its final fit extended by the test sites: compare.all_sites_model)
    from ...models import load

    for species in dict.fromkeys(("Li",) + tuple(settings.species)):
        if (out / f"{species.lower()}.sagpr").is_file() and f"final {species} model (in compare {species})" in timings:
            continue
        t0 = time.perf_counter()
        best = dict(results[species].best_params["tensor"]) if species in results else dict(compare_settings.fixed)
        final_tensor_model(frames, species, best, progress=progress).save(out / f"{species.lower()}.sagpr")
        timings[f"final {species} model"] = time.perf_counter() - t0
    model = load(out / "li.sagpr")

    t0 = time.perf_counter()
    large = lto.large_models(settings.n_large, 3, mc_sweeps=settings.mc_sweeps, seed=settings.seed + 1,
                             label=False, progress=progress)
    write_extxyz(large, out / "lto_1512.xyz")
    timings["large models"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    predict_file(model, iter(large), out / "predicted.xyz", progress=progress, total=len(large))
    timings["prediction"] = time.perf_counter() - t0
    n_li = sum(int((a.numbers == 3).sum()) for a in large)

    t0 = time.perf_counter()
    predicted = read(out / "predicted.xyz", index=":")
    regions, labels = classify(predicted, "Li", bin_width=settings.bin_width, min_count=settings.min_count)
    write_histogram_report(regions, predicted[:2], labels, "Li", out / "histogram")
    timings["classification"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all

    lines = _report_lines(settings, results, signed, large, n_li, regions, timings)
    lines[4:4] = differences_section(settings, compare_settings)
    report = out / "report.md"
    write_text_atomic(report, "\n".join(lines) + "\n")
    return report


def _report_lines(settings, results, signed, large, n_li, regions, timings):
    """The lines of the reproduction's report.md."""
    lines = [
        "# sagpr reproduction of the LTO EFG study" + (" (quick)" if settings.quick else ""),
        "",
        f"Data: {settings.n_structures} rattled/rescaled 42-atom Li4Ti5O12 cells labelled with point-charge Ewald "
        "EFGs (a synthetic reference, not DFT: absolute numbers are not comparable with the study's, the "
        "comparison between scalar and tensorial learning is).",
        "",
    ]
    for species, result in results.items():
        tens = None if result.tensorial is None else result.tensorial["scores"]
        scal = None if result.scalar is None else result.scalar["scores"]
        lines += [f"## {species}: scalar vs tensorial learning (test set)", ""]
        if species == "Li":
            lines += [study_table(tens, scal, signed.get(species)), ""]
        elif tens is not None and scal is not None:
            lines += [mae_table(tens, scal), ""]
        lines += [f"Full report: [compare_{species}/report.md](compare_{species}/report.md)", ""]
    lines += [
        "## omega_Q of every Li in the large models",
        "",
        f"{len(large)} models of {len(large[0])} atoms, {n_li} Li sites, predicted in {timings['prediction']:.1f} s "
        f"({1e6 * timings['prediction'] / max(n_li, 1):.0f} us per site).",
        "",
        "| region | omega_Q range / kHz | peak / kHz | sites |",
        "|---|---|---|---|",
    ]
    for r in regions.regions:
        lines.append(f"| {r.label} | {r.low:.1f} .. {r.high:.1f} | {r.peak:.1f} | {r.count} |")
    lines += [
        f"| unclassified | | | {int((regions.labels < 0).sum())} |",
        "",
        "![omega_Q histogram](histogram/omega_q_histogram.png) ![Li sites by region](histogram/sites_frame0.png)",
        "",
        "## Wall time",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    return lines
