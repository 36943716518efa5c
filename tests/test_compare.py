"""The scalar-vs-tensorial comparison: results, report files, resuming from the cache, CLI."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sagpr import metrics, nmr
from sagpr.workflows.comparison.compare import CompareSettings, run_comparison, training_sizes
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.comparison.report import FIGURES, write_report
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.comparison.targets import fold_phi, fold_theta, scalar_targets

from synthetic_efg import random_cells

#: tiny fits: one thread (see conftest.one_thread)
pytestmark = pytest.mark.usefixtures("one_thread")


SETTINGS = CompareSettings(
    factors=[Factor("cutoff", 3.5, 4.5), Factor("atomic_gaussian_width", 0.3, 0.5),
             Factor("regularizer", 1e-8, 1e-3, scale="log")],
    fixed={"max_radial": 4, "max_angular": 3, "zeta": 2, "n_sparse": 64},
    n_folds=2, train_sizes=(0.25, 0.5, 1.0))


@pytest.fixture(scope="module")
def sites():
    return collect_sites(random_cells(20), "Li", source="synthetic")


@pytest.fixture(scope="module")
def run(sites, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    result = run_comparison(sites, SETTINGS, out_dir=out, progress=False)
    files = write_report(result, out)
    return out, result, files


def test_report_files_exist(run):
    out, result, files = run
    for name in ("report.md", "report.json", "predictions.npz") + FIGURES:
        assert (out / name).stat().st_size > 0, name
    for model in ("tensor", "cq_tilde", "eta_tilde", "theta", "phi", "omega_q"):
        search = json.loads((out / "search" / f"{model}.json").read_text())
        assert len(search["runs"]) == 16                    # 15 Box-Behnken runs + the surface minimum
        assert all(len(r["scores"]) == 2 for r in search["runs"])
    text = (out / "report.md").read_text()
    assert "| theta | deg |" in text and "rad" not in text.split("## Test-set scores")[1].split("Angles:")[0] and "10 kHz" in text


def _pearson(a, b):
    return np.corrcoef(a, b)[0, 1]


def test_report_numbers_equal_metrics_recomputed_from_saved_predictions(run, sites):
    out, result, _ = run
    report = json.loads((out / "report.json").read_text())
    saved = np.load(out / "predictions.npz")
    test, train = saved["test"], saved["train"]
    assert len(set(test) & set(train)) == 0 and len(test) + len(train) == len(sites)
    V_ref, V_pred = sites.V[test], saved["V_pred"]
    stats = nmr.reference_stats(sites.V[train])
    assert np.allclose(saved["stats"], [stats.mu, stats.sigma], rtol=1e-14)
    tens, scal = report["scores"]["tensorial"], report["scores"]["scalar"]

    rep = metrics.metrics(V_ref, V_pred, sites.isotope, stats=stats)
    assert tens["C~Q"]["mae"] == pytest.approx(rep["C~Q"]["mae"], rel=1e-12)
    assert tens["eta~"]["mae"] == pytest.approx(rep["eta~"]["mae"], rel=1e-12)
    assert tens["C~Q"]["r"] == pytest.approx(rep["C~Q"]["r"], rel=1e-12)
    assert tens["q~"]["mean"] == pytest.approx(rep.orientation["q_tilde_mean"], rel=1e-12)
    assert tens["omega_Q"]["mae"] == pytest.approx(rep["omega_Q"]["mae"], rel=1e-12)
    assert tens["V_ij"]["mae"] == pytest.approx(rep["V_ij"]["mae"], rel=1e-12)
    # angles: folded into [0, pi/2], computed here from the PAS directly
    def angles(V):
        _, F = np.linalg.eigh(V)
        order = np.argsort(np.abs(np.linalg.eigvalsh(V)), axis=1)
        F = np.take_along_axis(F, order[:, None, :], axis=2)
        b = F[:, 2, :]                                         # lab z in the PAS: rows of F^T
        return fold_theta(np.arccos(np.clip(b[:, 2], -1, 1))), fold_phi(np.arctan2(b[:, 1], b[:, 0]))
    (tr, pr), (tp, pp) = angles(V_ref), angles(V_pred)
    assert tens["theta"]["mae"] == pytest.approx(np.degrees(np.abs(tp - tr).mean()), rel=1e-9)
    assert tens["phi"]["mae"] == pytest.approx(np.degrees(np.abs(pp - pr).mean()), rel=1e-9)
    assert tens["theta"]["unit"] == "deg"  # angles in degrees in every output
    assert tens["theta"]["r"] == pytest.approx(_pearson(tr, tp), rel=1e-9)

    ref = scalar_targets(V_ref, sites.isotope, stats)
    for name, key in (("C~Q", "cq_tilde"), ("eta~", "eta_tilde"), ("omega_Q", "omega_q")):
        pred = saved[f"scalar_{key}"]
        assert scal[name]["mae"] == pytest.approx(np.abs(pred - ref[key]).mean(), rel=1e-12)
        assert scal[name]["r"] == pytest.approx(_pearson(ref[key], pred), rel=1e-12)
    assert scal["theta"]["mae"] == pytest.approx(np.degrees(np.abs(fold_theta(saved["scalar_theta"]) - tr).mean()), rel=1e-9)
    assert scal["phi"]["mae"] == pytest.approx(np.degrees(np.abs(fold_phi(saved["scalar_phi"]) - pr).mean()), rel=1e-9)
    # the markdown table shows the same numbers
    text = (out / "report.md").read_text()
    assert f"{tens['C~Q']['mae']:.4g}" in text and f"{scal['phi']['mae']:.4g}" in text


def test_tensorial_beats_scalar_on_angles_and_is_no_worse_on_cq_eta(run):
    _, result, _ = run
    t, s = result.tensorial["scores"], result.scalar["scores"]
    assert t["theta"]["mae"] < s["theta"]["mae"]
    assert t["phi"]["mae"] < s["phi"]["mae"]
    assert t["C~Q"]["mae"] <= s["C~Q"]["mae"]
    assert t["eta~"]["mae"] <= s["eta~"]["mae"]


def test_learning_curves(run):
    _, result, _ = run
    assert [e["n_train"] for e in result.learning] == training_sizes(len(result.train), SETTINGS.train_sizes)
    assert result.learning[-1]["tensorial"] == result.tensorial["scores"]
    for e in result.learning:
        assert set(e["scalar"]) >= {"C~Q", "eta~", "theta", "phi", "omega_Q", "omega_Q (derived)"}


def test_resuming_from_the_cache_does_no_refits(run, sites):
    out, result, _ = run
    again = run_comparison(sites, SETTINGS, out_dir=out, progress=False)
    assert again.n_fits == 0
    assert again.tensorial["scores"] == result.tensorial["scores"]
    assert again.best_params == result.best_params
    # an interruption after the searches: only the final and learning-curve fits are redone
    shutil.rmtree(out / "cache" / "fits")
    partial = run_comparison(sites, SETTINGS, out_dir=out, progress=False)
    assert partial.n_fits == 6 * 3                  # six models at the three training sizes
    for name in ("C~Q", "theta"):
        for key in ("mae", "r"):  # numbers only: the entries also hold their unit as text
            assert partial.scalar["scores"][name][key] == pytest.approx(result.scalar["scores"][name][key], rel=1e-9)


def test_settings_are_checked(sites):
    bad = CompareSettings(factors=SETTINGS.factors, fixed={"cutoff": 4.0})
    with pytest.raises(ValueError, match="both searched and fixed"):
        run_comparison(sites, bad, progress=False)
    assert training_sizes(100, (0.1, 0.5, 1.0, 30)) == [10, 30, 50, 100]


def test_search_max_sites_cross_validates_on_a_subset_only(sites, monkeypatch):
    from sagpr.workflows.comparison import compare

    seen = []
    real = compare.CrossValidator

    def spy(sites_, train, **kw):
        seen.append(np.asarray(train))
        return real(sites_, train, **kw)

    monkeypatch.setattr(compare, "CrossValidator", spy)
    small = CompareSettings(factors=SETTINGS.factors, fixed=SETTINGS.fixed, n_folds=2, train_sizes=(1.0,),
                            models=("tensor",), search_max_sites=40)
    result = run_comparison(sites, small, progress=False)
    (cv_train,) = seen
    assert 30 <= len(cv_train) <= 40 < len(result.train)  # whole structures of the training set
    assert np.all(np.isin(cv_train, result.train))
    # every training site of a kept structure is kept
    assert len(cv_train) == np.isin(sites.groups[result.train], sites.groups[cv_train]).sum()
    with pytest.raises(ValueError, match="for 2 CV folds"):
        run_comparison(sites, CompareSettings(factors=SETTINGS.factors, fixed=SETTINGS.fixed, n_folds=2,
                                              models=("tensor",), search_max_sites=1), progress=False)


def test_tensor_screen_rescores_the_near_best_runs_on_all_sites(sites, run, monkeypatch):
    from dataclasses import replace

    from sagpr.workflows.comparison import compare

    seen = []
    real = compare.CrossValidator

    def spy(sites_, train, **kw):
        seen.append((np.asarray(train), kw["models"]))
        return real(sites_, train, **kw)

    monkeypatch.setattr(compare, "CrossValidator", spy)
    screened = replace(SETTINGS, models=("tensor",), train_sizes=(1.0,), tensor_screen=0.5, tensor_screen_tolerance=0.2)
    result = run_comparison(sites, screened, progress=False)
    (full_train, _), (screen_train, screen_models) = seen
    assert screen_models == ["tensor"] and np.all(np.isin(screen_train, full_train))
    assert 0.3 * len(full_train) < len(screen_train) < 0.7 * len(full_train)
    # whole structures (by_structure is on)
    assert len(screen_train) == np.isin(sites.groups[full_train], sites.groups[screen_train]).sum()
    search = result.searches["tensor"]
    screen = [r for r in search["runs"] if r["kind"].startswith("screen: ")]
    rescored = [r for r in search["runs"] if r["kind"].startswith("all sites: ")]
    assert len(screen) == 16 and 1 <= len(rescored) < 13
    limit = min(r["score"] for r in screen) * 1.2
    assert all(r["screen_score"] <= limit for r in rescored)
    # re-scored runs score exactly what the unscreened search scored at the same point
    plain = {json.dumps(r["params"], sort_keys=True): r["score"] for r in run[1].searches["tensor"]["runs"]}
    for r in rescored:
        key = json.dumps(r["params"], sort_keys=True)
        if key in plain:
            assert r["score"] == pytest.approx(plain[key], rel=1e-9)
    assert search["best"]["kind"].startswith("all sites: ")
    assert result.best_params["tensor"] == {**SETTINGS.fixed, **search["best"]["params"]}
    assert search["best"]["score"] == min(r["score"] for r in rescored)
    # fits: the screen's 14 distinct runs and the re-scored ones, per fold, plus the final model
    assert result.n_fits == 2 * (14 + len(rescored)) + 1
    with pytest.raises(ValueError, match="tensor_screen"):
        run_comparison(sites, replace(screened, tensor_screen=0.0), progress=False)


def test_searches_hold_the_systems_of_the_current_setting_only(sites, monkeypatch):
    """Design points run setting by setting; a finished setting's CV systems (0.2 GB each for
    O) are dropped, not kept until the memory bound."""
    from dataclasses import replace

    from sagpr.workflows.tuning.crossval import CrossValidator

    held, real = [], CrossValidator.scores

    def spy(self, params, models=None):
        if self.fitter is not None:
            current = {self.fitter.setting_key(lam, params) for lam in (0, 2)}
            held.append((len(self.fitter._systems), set(self.fitter._systems) <= current))
        return real(self, params, models)

    monkeypatch.setattr(CrossValidator, "scores", spy)
    # n_sparse below the folds' sizes: the shared fold systems, not per-fold full GPRs
    run_comparison(sites, replace(SETTINGS, models=("tensor", "eta_tilde"), train_sizes=(1.0,),
                                  fixed={**SETTINGS.fixed, "n_sparse": 16}), progress=False)
    # the design loop's 13 distinct points (the surface minima come after): at each, nothing of
    # another setting is held
    design = held[:13]
    assert len(held) > 13 and all(same for _, same in design) and max(n for n, _ in design) <= 2
    assert any(n > 0 for n, _ in design)  # within a setting the systems are reused


def test_cli_search_economies_are_checked(tmp_path, capsys):
    from sagpr.cli import main

    code = main(["compare", "--data", str(tmp_path / "missing.xyz"), "--species", "Li", "--out", str(tmp_path / "c"),
                 "--search-max-sites", "0"])
    err = capsys.readouterr().err
    assert code != 0 and "--search-max-sites must be at least 1" in err and len(err.strip().splitlines()) == 1
    code = main(["compare", "--data", str(tmp_path / "missing.xyz"), "--species", "Li", "--out", str(tmp_path / "c"),
                 "--tensor-screen", "-1"])
    err = capsys.readouterr().err
    assert code != 0 and "--tensor-screen must be" in err and len(err.strip().splitlines()) == 1


def test_cli_compare_and_optimize(tmp_path):
    from sagpr.cli import main
    from sagpr.io import write_efg

    data = tmp_path / "syn.xyz"
    write_efg(data, random_cells(12, seed=7))
    args = ["--data", str(data), "--species", "Li", "--quick", "--no-progress",
            "--fix", "max_radial=3", "max_angular=2", "n_sparse=30"]
    assert main(["compare", *args, "--out", str(tmp_path / "c"), "--no-figures", "--models", "tensor,theta,phi",
                 "--train-sizes", "0.5,1", "--save-model"]) == 0
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert set(report["best_params"]) == {"tensor", "theta", "phi"}
    # the saved tuned model carries the tuned hyperparameters and predicts the data's EFGs
    import sagpr
    from sagpr.io import read_efg

    model = sagpr.load(tmp_path / "c" / "li.sagpr")
    assert {k: v for k, v in model.get_params().items() if k in report["best_params"]["tensor"]} == \
        report["best_params"]["tensor"]
    frames = read_efg(data)
    V = np.concatenate([a.arrays["efg"].reshape(-1, 3, 3)[a.numbers == 3] for a in frames])
    assert model.predict(frames).shape == V.shape and model.units_ == frames[0].info["efg_units"]
    assert report["settings"]["n_folds"] == 3 and report["best_params"]["tensor"]["max_radial"] == 3
    assert main(["optimize", *args, "--out", str(tmp_path / "o"), "--model", "eta_tilde",
                 "--factors", "cutoff:3.5:4.5,atomic_gaussian_width:0.3:0.5,regularizer:1e-8:1e-3:log"]) == 0
    best = json.loads((tmp_path / "o" / "best_eta_tilde.json").read_text())
    assert best["objective"] == "MAE(eta_tilde)" and best["params"]["n_sparse"] == 30
    assert main(["compare", *args, "--out", str(tmp_path / "x"), "--models", "tensor,cq"]) == 1
    assert main(["compare", *args, "--out", str(tmp_path / "x"), "--models", "theta", "--save-model"]) == 1


GEHLENITE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"


@pytest.mark.slow
@pytest.mark.skipif(not GEHLENITE.is_dir(), reason=f"gehlenite data not found at {GEHLENITE}")
def test_gehlenite_al_quick_comparison(tmp_path):
    from sagpr.workflows.tuning.options import load_sites

    sites = load_sites([str(p) for p in sorted(GEHLENITE.glob("*.magres"))[:6]], "Al")
    result = run_comparison(sites, SETTINGS, out_dir=tmp_path, progress=False)
    write_report(result, tmp_path)
    t, s = result.tensorial["scores"], result.scalar["scores"]
    assert t["theta"]["mae"] < s["theta"]["mae"] and t["phi"]["mae"] < s["phi"]["mae"]


def test_lto_li_tensorial_beats_scalar_on_angles():
    """The issue's CI-sized check on the built-in LTO set (point-charge EFGs), 7Li."""
    from sagpr.datasets import lto

    sites = collect_sites(lto.generate(10, seed=0, progress=False), "Li", source="lto")
    result = run_comparison(sites, SETTINGS, progress=False)
    t, s = result.tensorial["scores"], result.scalar["scores"]
    assert t["theta"]["mae"] < s["theta"]["mae"]
    assert t["phi"]["mae"] < s["phi"]["mae"]
    assert t["C~Q"]["mae"] <= s["C~Q"]["mae"]
    assert t["eta~"]["mae"] <= s["eta~"]["mae"]


def test_default_split_is_by_structure_and_by_site_is_the_studys(sites):
    from sagpr.cli import build_parser
    from sagpr.commands._tuning_options import settings_from_args

    base = ["compare", "--data", "x.xyz", "--species", "Li", "--out", "o"]
    assert settings_from_args(build_parser().parse_args(base)).by_structure is True
    assert settings_from_args(build_parser().parse_args(base + ["--by-site"])).by_structure is False
    assert CompareSettings().by_structure is True
    result = run_comparison(sites, CompareSettings(
        factors=SETTINGS.factors, fixed=SETTINGS.fixed, n_folds=2, train_sizes=(1.0,), models=("eta_tilde",)),
        progress=False)
    groups = np.asarray(sites.groups)
    assert not set(groups[result.train]) & set(groups[result.test])


def test_positive_sign_convention_scores_v_zz_positive(sites):
    kw = dict(factors=SETTINGS.factors, fixed=SETTINGS.fixed, n_folds=2, train_sizes=(1.0,), models=("tensor",))
    positive = run_comparison(sites, CompareSettings(sign_convention="positive", **kw), progress=False)
    values, _ = nmr.principal_components(sites.V[positive.test])
    st = nmr.ReferenceStats.coerce(positive.stats)
    expected = (np.abs(values[:, 2]) - st.mu) / st.sigma  # C~Q of |V_ZZ|
    assert np.allclose(positive.tensorial["values"]["ref"]["cq_tilde"], expected)
    assert (values[:, 2] < 0).any()  # the signed convention would differ on these sites
    with pytest.raises(ValueError, match="sign convention"):
        run_comparison(sites, CompareSettings(sign_convention="abs", **kw), progress=False)


def test_reports_carry_distribution_distances(run):
    out, result, _ = run
    report = json.loads((out / "report.json").read_text())
    for approach in ("tensorial", "scalar"):
        entry = report["scores"][approach]["C~Q"]
        assert entry["wasserstein"] >= 0 and 0 <= entry["overlap"] <= 1
    assert "tensorial W1" in (out / "report.md").read_text()
