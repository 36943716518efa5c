"""A fitted sparse model extended by more data (SAGPR.partial_fit_features), a TensorModel made of
such parts (TensorModel.from_parts), and the comparison's model of every site built that way."""
import numpy as np
import pytest

import sagpr
from sagpr.models import SAGPR, TensorModel
from sagpr.workflows.comparison.compare import CompareSettings, run_comparison
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.design import Factor

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")


def _features(n=300, d=5, F=24, F0=10, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d, F)), np.abs(rng.standard_normal((n, F0))), rng.standard_normal((n, d))


@pytest.mark.parametrize("regularizer", [1e-2, 1e-7])
def test_partial_fit_equals_one_fit_on_both_sets_with_the_same_active_set(regularizer):
    x, x0, y = _features()
    first = SAGPR(o3_lambda=2, n_sparse=40, regularizer=regularizer, progress=False).fit_features(x[:200], x0[:200], y[:200])
    active = first.active_indices_.copy()
    weights_before = first.weights_.copy()
    first.partial_fit_features(x[200:], x0[200:], y[200:])
    both = SAGPR(o3_lambda=2, n_sparse=40, regularizer=regularizer, progress=False).fit_features(x, x0, y, active=active)
    scale = np.abs(both.predict_features(x, x0)).max()
    assert np.abs(first.predict_features(x, x0) - both.predict_features(x, x0)).max() < 1e-9 * scale
    assert np.array_equal(first.active_indices_, active)
    assert not np.allclose(first.weights_, weights_before)  # the new data changed the model
    assert first.n_train_ == both.n_train_ == 300
    assert first.y_spread_ == pytest.approx(both.y_spread_, rel=1e-12)
    # the predictive covariances follow the extended system too
    _, cov_a = first.predict_features(x[:5], x0[:5], return_cov=True)
    _, cov_b = both.predict_features(x[:5], x0[:5], return_cov=True)
    assert np.allclose(cov_a, cov_b, rtol=1e-7, atol=1e-10 * np.abs(cov_b).max())


def test_partial_fit_of_a_loaded_model_and_its_limits(tmp_path):
    x, x0, y = _features()
    model = SAGPR(o3_lambda=2, n_sparse=40, progress=False).fit_features(x[:200], x0[:200], y[:200])
    path = tmp_path / "m.sagpr"
    model.save(path)
    loaded = sagpr.load(path)
    model.partial_fit_features(x[200:], x0[200:], y[200:])
    loaded.partial_fit_features(x[200:], x0[200:], y[200:])
    assert np.allclose(loaded.predict_features(x, x0), model.predict_features(x, x0), rtol=0, atol=1e-12)
    # lambda = 0 keeps the first fit's target mean (a prior mean: documented)
    scalar = SAGPR(o3_lambda=0, n_sparse=40, progress=False).fit_features(x[:200, :1], x0[:200], y[:200, :1] + 3.0)
    mean = scalar.y_mean_.copy()
    scalar.partial_fit_features(x[200:, :1], x0[200:], y[200:, :1] + 10.0)
    assert np.array_equal(scalar.y_mean_, mean)
    full = SAGPR(o3_lambda=2, n_sparse=None, progress=False).fit_features(x[:50], x0[:50], y[:50])
    with pytest.raises(ValueError, match="full GPR"):
        full.partial_fit_features(x[50:60], x0[50:60], y[50:60])
    with pytest.raises(ValueError, match="do not match"):
        model.partial_fit_features(x[:5, :, :10], x0[:5], y[:5])
    with pytest.raises(RuntimeError, match="not fitted"):
        SAGPR(o3_lambda=2).partial_fit_features(x, x0, y)


SETTINGS = CompareSettings(
    factors=[Factor("cutoff", 3.5, 4.5), Factor("atomic_gaussian_width", 0.3, 0.5),
             Factor("regularizer", 1e-8, 1e-3, scale="log")],
    fixed={"max_radial": 4, "max_angular": 3, "zeta": 2, "n_sparse": 20},
    n_folds=2, train_sizes=(0.5, 1.0), models=("tensor", "theta"), all_sites_model=True)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    sites = collect_sites(random_cells(16, seed=3), "Li", source="synthetic")
    out = tmp_path_factory.mktemp("compare")
    return sites, out, run_comparison(sites, SETTINGS, out_dir=out, progress=False)


def test_the_comparisons_model_of_every_site_is_the_fit_on_all_sites_with_the_training_active_set(compared):
    sites, _, result = compared
    model = result.model
    assert isinstance(model, TensorModel)
    part = model.models_[3][2]
    assert part.n_train_ == len(sites)
    # its active set lies among the training sites: part rows 0..n_train-1 are result.train
    active_sites = np.sort(result.train[part.active_indices_])
    assert np.isin(active_sites, result.train).all()
    params = {k: v for k, v in model.get_params().items() if k not in ("center_species", "target", "kind")}
    fresh = TensorModel(center_species="Li", **params).fit(sites.frames, y=sites.V, active=active_sites)
    V = fresh.predict(sites.frames)
    assert np.abs(model.predict(sites.frames) - V).max() < 1e-8 * np.abs(V).max()
    assert {k: model.get_params()[k] for k in result.best_params["tensor"]} == result.best_params["tensor"]


def test_the_model_survives_saving_and_a_resumed_run_gives_the_same(compared, tmp_path):
    sites, out, result = compared
    path = tmp_path / "li.sagpr"
    result.model.save(path)
    loaded = sagpr.load(path)
    assert np.allclose(loaded.predict(sites.frames), result.model.predict(sites.frames), rtol=0, atol=1e-12)
    again = run_comparison(sites, SETTINGS, out_dir=out, progress=False)  # every fit from the cache
    # (its final fit is summed anew: the CV that summed it the first time is read from the cache)
    V = result.model.predict(sites.frames)
    assert np.abs(again.model.predict(sites.frames) - V).max() < 1e-9 * np.abs(V).max()


def test_from_parts_checks_what_it_is_given(compared):
    sites, _, result = compared
    part = result.model.models_[3][2]
    params = {k: v for k, v in result.model.get_params().items() if k not in ("center_species", "target", "kind")}
    rows = np.arange(len(sites))
    with pytest.raises(ValueError, match="other hyperparameters"):
        TensorModel.from_parts(sites.frames, {3: {2: (part, rows)}}, center_species="Li",
                               **{**params, "cutoff": params["cutoff"] + 0.5})
    with pytest.raises(ValueError, match="one centre index per training"):
        TensorModel.from_parts(sites.frames, {3: {2: (part, rows[:-1])}}, center_species="Li", **params)
    with pytest.raises(ValueError, match="centre species"):
        TensorModel.from_parts(sites.frames, {3: {2: (part, rows)}}, center_species="O", **params)


def test_the_final_tensor_fit_is_made_from_the_searchs_sums(monkeypatch):
    from sagpr.workflows.comparison import compare
    from sagpr.workflows.tuning import fits
    from sagpr.workflows.tuning.features import FeatureStore

    sizes = []
    real = compare.fit_tensor
    monkeypatch.setattr(compare, "fit_tensor", lambda store, params, tr, V: sizes.append(len(tr)) or real(store, params, tr, V))
    sites = collect_sites(random_cells(16, seed=3), "Li", source="synthetic")
    result = run_comparison(sites, SETTINGS, progress=False)
    assert sizes and len(result.train) not in sizes  # only the learning curve's smaller sets are fitted
    direct = fits.fit_predict_tensor(FeatureStore(sites), result.best_params["tensor"], result.train, result.test,
                                     sites.V[result.train])
    assert np.abs(result.predictions["tensor"] - direct).max() < 1e-9 * np.abs(direct).max()
