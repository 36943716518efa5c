"""LODE in the tuning workflows: settings, the feature store, Box-Behnken search, CV, final models, CLI."""
import json

import numpy as np
import pytest

import sagpr
from sagpr import settings
from sagpr.cli import main
from sagpr.models import TensorModel
from sagpr.models.lode_tensor import LodeTensorModel
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.crossval import CrossValidator
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.tuning.features import FeatureStore
from sagpr.workflows.tuning.fits import final_tensor_model, fit_predict_tensor
from sagpr.workflows.tuning.search import box_behnken_search

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")

LOCAL = dict(cutoff=3.5, max_radial=3, max_angular=2, atomic_gaussian_width=0.5, n_sparse=24, regularizer=1e-6)
LODE = dict(lode_cutoff=2.0, lode_max_radial=2, lode_max_angular=2, lode_atomic_gaussian_width=0.8, lode_weight=0.6)


@pytest.fixture(scope="module")
def frames():
    return random_cells(12, seed=5)


@pytest.fixture(scope="module")
def sites(frames):
    return collect_sites(frames, "Li", source="synthetic")


def test_split_accepts_lode_names_and_lode_part_returns_them():
    desc, gpr = settings.split({"cutoff": 4.0, "lode_weight": 0.3, "lode_max_radial": 2.2})
    assert desc["cutoff"] == 4.0 and not set(settings.LODE) & (set(desc) | set(gpr))
    lode = settings.lode_part({"cutoff": 4.0, "lode_weight": 0.3, "lode_max_radial": 2.2})
    assert lode["lode_weight"] == 0.3 and lode["lode_max_radial"] == 2  # a search point: rounded
    assert set(lode) == set(settings.LODE) and lode["lode_features"] == settings.default("lode_features")
    assert settings.lode_part({"cutoff": 4.0}) is None  # no lode_* name: a local model
    with pytest.raises(ValueError, match="lode_weight must be between 0 and 1"):
        settings.split({"lode_weight": 1.5})
    with pytest.raises(ValueError, match="lode_ewald_width must be at least"):
        settings.split({"lode_atomic_gaussian_width": 1.0, "lode_ewald_width": 0.5})


@pytest.mark.parametrize("kind", ["potential", "product"])
def test_store_fits_are_those_of_the_lode_tensor_model(frames, sites, kind):
    """The workflows' local + LODE features are LodeTensorModel's: a fit from the store on the
    sites of 8 structures predicts the other 4 as the model fitted on those 8 frames does."""
    params = {**LOCAL, **LODE, "lode_features": kind}
    store = FeatureStore(sites)
    train, test = np.flatnonzero(sites.groups < 8), np.flatnonzero(sites.groups >= 8)
    got = fit_predict_tensor(store, params, train, test, sites.V[train])
    model = LodeTensorModel(center_species="Li", progress=False, **params).fit(frames[:8])
    expected = model.predict(frames[8:])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8 * np.abs(expected).max())
    local = fit_predict_tensor(store, LOCAL, train, test, sites.V[train])
    assert np.abs(local - got).max() > 1e-3 * np.abs(expected).max()  # LODE changes the model


def test_store_computes_the_lode_expansion_once_per_lode_setting(sites):
    store = FeatureStore(sites)
    params = {**LOCAL, **LODE}
    a = store.pair(2, params)
    assert store.n_lode_passes == 1
    for changed in ({"lode_weight": 0.2}, {"cutoff": 3.0}, {"regularizer": 1e-3}):
        store.pair(2, {**params, **changed})
    assert store.n_lode_passes == 1 and store.n_passes == 2  # the local cutoff: one more local pass
    store.pair(2, {**params, "lode_atomic_gaussian_width": 1.0})
    assert store.n_lode_passes == 2
    # lambda = 0 of "potential" features stays local: no LODE key, the local features themselves
    assert store.lode_settings(0, params) is None and store.lode_settings(2, params)["lode_weight"] == 0.6
    np.testing.assert_array_equal(store.pair(0, params)["x"], store.pair(0, LOCAL)["x"])
    # concatenation with the weight: sqrt(1 - w) local, sqrt(w) LODE
    local = store.pair(2, LOCAL)["x"]
    np.testing.assert_allclose(a["x"][..., :local.shape[2]], np.sqrt(0.4) * local, rtol=0, atol=1e-15)


def test_search_with_lode_tunes_lode_settings_like_local_ones(sites):
    factors = [Factor("lode_weight", 0.2, 0.8), Factor("lode_atomic_gaussian_width", 0.6, 1.0),
               Factor("regularizer", 1e-8, 1e-3, scale="log")]
    fixed = {k: v for k, v in {**LOCAL, **LODE}.items() if k not in ("lode_weight", "lode_atomic_gaussian_width",
                                                                      "regularizer")}
    cv = CrossValidator(sites, np.arange(len(sites)), models=["tensor"], n_folds=3)
    seen = []
    evaluate = cv.evaluate("tensor")
    result = box_behnken_search(factors, lambda p: seen.append(p) or evaluate(p), fixed=fixed, progress=False)
    assert len(result.runs) == 16 and len(seen) == 14  # 13 distinct design points + the surface minimum
    design = [r["params"] for r in result.runs if r["kind"] == "design"]
    assert sorted({p["lode_weight"] for p in design}) == pytest.approx([0.2, 0.5, 0.8])
    assert sorted({p["lode_atomic_gaussian_width"] for p in design}) == pytest.approx([0.6, 0.8, 1.0])
    assert all(p["lode_cutoff"] == 2.0 for p in seen)  # fixed LODE settings reach every CV fit
    assert len({r["score"] for r in result.runs}) > 3  # the weight and the smearing change the CV scores
    # one LODE expansion per smearing width (3 levels and the surface minimum's), whatever the weight
    widths = {p["lode_atomic_gaussian_width"] for p in seen}
    assert cv.store.n_lode_passes == len(widths) and cv.store.n_passes == 1
    assert cv.n_fits == 3 * len(seen)


def test_zero_lode_weight_search_gives_the_local_search(sites):
    factors = [Factor("cutoff", 3.0, 3.5), Factor("atomic_gaussian_width", 0.4, 0.6),
               Factor("regularizer", 1e-8, 1e-3, scale="log")]
    fixed = {k: v for k, v in LOCAL.items() if k not in ("cutoff", "atomic_gaussian_width", "regularizer")}
    results = []
    for extra in ({}, {**LODE, "lode_weight": 0.0}):
        cv = CrossValidator(sites, np.arange(len(sites)), models=["tensor"], n_folds=3)
        results.append(box_behnken_search(factors, cv.evaluate("tensor"), fixed={**fixed, **extra}, progress=False))
    local, lode = ([r["score"] for r in res.runs] for res in results)
    np.testing.assert_allclose(lode, local, rtol=1e-7)
    assert results[0].best["params"] == results[1].best["params"]


def test_final_model_with_lode_round_trips(frames, tmp_path):
    params = {**LOCAL, **LODE}
    model = final_tensor_model(frames[:8], "Li", params, progress=False)
    assert isinstance(model, LodeTensorModel)
    assert {k: model.get_params()[k] for k in params} == params
    model.save(tmp_path / "m.sagpr")
    again = sagpr.load(tmp_path / "m.sagpr")
    assert isinstance(again, LodeTensorModel) and again.get_params() == model.get_params()
    np.testing.assert_array_equal(again.predict(frames[8:]), model.predict(frames[8:]))
    assert type(final_tensor_model(frames[:8], "Li", LOCAL, progress=False)) is TensorModel


@pytest.fixture(scope="module")
def data(tmp_path_factory, frames):
    from sagpr.io import write_efg

    path = tmp_path_factory.mktemp("lode") / "syn.xyz"
    write_efg(path, frames)
    return path


def test_cli_lode_optimize_train_and_compare(data, tmp_path):
    common = ["--data", str(data), "--species", "Li", "--no-progress"]
    fix = ["max_radial=3", "max_angular=2", "n_sparse=24", "lode_cutoff=2", "lode_max_radial=2",
           "lode_max_angular=2"]
    assert main(["optimize", *common, "--quick", "--lode", "--out", str(tmp_path / "o"), "--fix", *fix,
                 "--factors", "lode_weight:0.3:0.9,lode_atomic_gaussian_width:0.6:1.0,regularizer:1e-8:1e-3:log"]) == 0
    best = json.loads((tmp_path / "o" / "best_tensor.json").read_text())["params"]
    assert 0.3 - 1e-12 <= best["lode_weight"] <= 0.9 + 1e-12 and best["lode_cutoff"] == 2
    # the optimize result trains a LodeTensorModel with those settings
    assert main(["train", *common, "--params", str(tmp_path / "o" / "best_tensor.json"), "--folds", "0",
                 "--out", str(tmp_path / "li.sagpr")]) == 0
    model = sagpr.load(tmp_path / "li.sagpr")
    assert isinstance(model, LodeTensorModel)
    assert all(model.get_params()[k] == pytest.approx(v) for k, v in best.items())
    # --lode alone: the LODE defaults
    assert main(["train", *common, "--lode", "--set", *LIST_SMALL, "--folds", "2",
                 "--out", str(tmp_path / "d.sagpr")]) == 0
    model = sagpr.load(tmp_path / "d.sagpr")
    assert isinstance(model, LodeTensorModel) and model.lode_weight == settings.default("lode_weight")
    assert main(["compare", *common, "--quick", "--lode", "--out", str(tmp_path / "c"), "--no-figures",
                 "--models", "tensor", "--train-sizes", "1", "--save-model", "--fix", *fix,
                 "--factors", "lode_weight:0.3:0.9,cutoff:3:3.5,regularizer:1e-8:1e-3:log"]) == 0
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert "lode_weight" in report["best_params"]["tensor"]
    assert isinstance(sagpr.load(tmp_path / "c" / "li.sagpr"), LodeTensorModel)


LIST_SMALL = ["max_radial=3", "max_angular=2", "n_sparse=24", "cutoff=3.5", "lode_max_angular=2"]


@pytest.mark.parametrize("command, extra, message", [
    ("optimize", ["--lode", "--fix", "lode_weight=1.5"], "lode_weight must be between 0 and 1"),
    ("optimize", ["--lode", "--factors", "lode_weight:0.5:1.5,cutoff:3:4,regularizer:1e-8:1e-3:log"],
     "factor 'lode_weight:0.5:1.5': lode_weight must be between 0 and 1, got 1.5"),
    ("compare", ["--lode", "--fix", "lode_features=both"], "lode_features must be one of"),
    ("optimize", ["--factors", "lode_max_radial:0:3,cutoff:3:4,regularizer:1e-8:1e-3:log"],
     "lode_max_radial must be an integer >= 1"),
])
def test_cli_bad_lode_values_fail_in_one_line(data, tmp_path, capsys, command, extra, message):
    code = main([command, "--data", str(data), "--species", "Li", "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1


def test_train_refuses_lode_for_scalar_targets(data, tmp_path, capsys):
    code = main(["train", "--data", str(data), "--species", "Li", "--target", "q", "--lode",
                 "--out", str(tmp_path / "m.sagpr")])
    err = capsys.readouterr().err
    assert code != 0 and "LODE features" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra, searched, fixed_lode", [
    (["--lode"], ["cutoff", "atomic_gaussian_width", "regularizer", "lode_weight", "lode_atomic_gaussian_width"], {}),
    (["--lode", "--fix", "lode_weight=0.8"],
     ["cutoff", "atomic_gaussian_width", "regularizer", "lode_atomic_gaussian_width"], {"lode_weight": 0.8}),
    (["--lode", "--factors", "cutoff:3:5,zeta:1:3,regularizer:1e-8:1e-3:log"], ["cutoff", "zeta", "regularizer"],
     {"lode_weight": settings.default("lode_weight")}),  # the switch: LODE at its defaults
    ([], ["cutoff", "atomic_gaussian_width", "regularizer"], None),
])
def test_lode_option_adds_lode_factors_or_switches_lode_on(extra, searched, fixed_lode):
    from sagpr.cli import build_parser
    from sagpr.commands._tuning_options import settings_from_args

    args = build_parser().parse_args(["optimize", "--data", "x.xyz", "--species", "Li", "--out", "o", *extra])
    s = settings_from_args(args)
    assert [f.name for f in s.factors] == searched
    lode_fixed = {k: v for k, v in s.fixed.items() if k in settings.LODE}
    assert lode_fixed == (fixed_lode or {})
    point = {**s.fixed, **{f.name: f.low for f in s.factors}}
    assert (settings.lode_part(point) is None) == (fixed_lode is None)
