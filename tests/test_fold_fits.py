"""Cross-validation with a shared active set: each fold's model against a dense NumPy reference."""
import numpy as np
import pytest

from sagpr.models import SAGPR, gpr
from sagpr.models.sources import ArraySource
from sagpr.workflows.tuning.fold_fits import FoldSystems


def dense_kernel(x, x0, a, a0, zeta):
    """K[i mu, j nu] = (x_i,mu . a_j,nu) (x0_i . a0_j)^(zeta - 1), written out."""
    n, d, _ = x.shape
    k = np.einsum("imf,jnf->imjn", x, a) * ((x0 @ a0.T) ** (zeta - 1))[:, None, :, None]
    return k.reshape(n * d, len(a) * d)


def normalised(rng, n, d, F):
    x = rng.normal(size=(n, d, F))
    return x / np.sqrt(np.einsum("imf,imf->i", x, x))[:, None, None]


@pytest.mark.parametrize("d", [1, 5])
def test_fold_models_equal_dense_reference(d):
    rng = np.random.default_rng(7)
    n, F, F0, zeta, reg = 60, 12, 9, 2, 1e-3
    x = normalised(rng, n, d, F)
    x0 = x[:, 0, :] if d == 1 else normalised(rng, n, 1, F0)[:, 0, :]
    y = rng.normal(size=(n, d)) + (3.0 if d == 1 else 0.0)
    folds = np.array_split(rng.permutation(n), 4)
    model = SAGPR(o3_lambda=(d - 1) // 2, zeta=zeta, regularizer=reg, n_sparse=15, jitter=0.0)
    systems = FoldSystems.build(model, x, x0, folds)
    order = gpr.select_active(x0, n, model.random_state)  # the whole FPS ordering
    for i, val in enumerate(folds):
        active = systems.active[systems.fold_active[i]]
        # the first 15 points of the ordering outside the fold's validation part
        np.testing.assert_array_equal(active, order[~np.isin(order, val)][:15])
        a, a0 = x[active], x0[active]
        k_all = dense_kernel(x, x0, a, a0, zeta)
        kmm = dense_kernel(a, a0, a, a0, zeta)
        train = np.setdiff1d(np.arange(n), val)
        got = systems.fit_predict(train, val, i, y[train], reg, 0.0)
        mean = y[train].mean(axis=0) if d == 1 else np.zeros(d)
        rows = lambda s: (s[:, None] * d + np.arange(d)).ravel()  # noqa: E731
        kt = k_all[rows(train)]
        w = np.linalg.solve(kt.T @ kt + reg * kmm, kt.T @ (y[train] - mean).ravel())
        expected = (k_all[rows(val)] @ w).reshape(len(val), d) + mean
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9 * np.abs(expected).max())
        # validation sites in another order than the fold's block: gathered rows, same predictions
        np.testing.assert_allclose(systems.fit_predict(train, val[::-1], i, y[train], reg, 0.0), got[::-1],
                                   rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    # all folds at once (one pass over the kernel for K_MN y) = fold by fold
    trains = [np.setdiff1d(np.arange(n), val) for val in folds]
    together = systems.predict_folds(range(len(folds)), trains, folds, [y[t] for t in trains], reg, 0.0)
    for i, val in enumerate(folds):
        np.testing.assert_allclose(together[i], systems.fit_predict(trains[i], val, i, y[trains[i]], reg, 0.0),
                                   rtol=1e-12, atol=1e-12 * np.abs(y).max())


@pytest.mark.parametrize("chunk", [None, 7])
def test_systems_built_for_their_targets_keep_no_kernel_and_predict_the_same(monkeypatch, chunk):
    """lambda > 0 systems given their targets: K_MN y summed at the build, only each fold's
    validation rows on its own active set kept; predictions and whole-set sums as with the kernel."""
    from sagpr.workflows.tuning import fold_fits

    rng = np.random.default_rng(11)
    n, d, reg = 80, 5, 1e-4
    x = normalised(rng, n, d, 16)
    x0 = normalised(rng, n, 1, 10)[:, 0, :]
    y = rng.normal(size=(n, d))
    folds = np.array_split(rng.permutation(n), 4)
    trains = [np.setdiff1d(np.arange(n), val) for val in folds]
    ys = [y[t] for t in trains]
    model = SAGPR(o3_lambda=2, zeta=2, regularizer=reg, n_sparse=12, jitter=0.0)
    kept = FoldSystems.build(model, x, x0, folds, keep_full_fit=True)
    if chunk is not None:
        monkeypatch.setattr(fold_fits, "_CHUNK", chunk)
    built = FoldSystems.build(model, x, x0, folds, keep_full_fit=True, targets=(trains, ys))
    assert built.k is None and built.nbytes < kept.nbytes
    expected = kept.predict_folds(range(4), trains, folds, ys, reg, 0.0)
    got = built.predict_folds(range(4), trains, folds, ys, reg, 0.0)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-10 * np.abs(y).max())
    # one fold, its validation sites in another order
    np.testing.assert_allclose(built.fit_predict(trains[2], folds[2][::-1], 2, ys[2], reg, 0.0), expected[2][::-1],
                               rtol=0, atol=1e-10 * np.abs(y).max())
    for key in ("gram", "rhs"):
        scale = np.abs(kept.full_fit[key]).max()
        np.testing.assert_allclose(built.full_fit[key], kept.full_fit[key], rtol=0, atol=1e-12 * scale)
    np.testing.assert_array_equal(built.full_fit["active"], kept.full_fit["active"])
    assert built.full_fit["n_train"] == kept.full_fit["n_train"] == n
    # other targets: not served (no kernel to sum them with)
    other = [v + 1.0 for v in ys]
    assert kept.serves(range(4), trains, other) and not built.serves(range(4), trains, other)
    with pytest.raises(ValueError, match="built for other targets"):
        built.predict_folds(range(4), trains, folds, other, reg, 0.0)
    with pytest.raises(ValueError, match="own validation sites"):
        built.fit_predict(trains[0], folds[1], 0, ys[0], reg, 0.0)
    with pytest.raises(ValueError, match="lambda > 0"):
        FoldSystems.build(SAGPR(o3_lambda=0, n_sparse=20), x0[:, None, :], x0, folds, targets=(trains, ys))


def test_fitter_rebuilds_lambda_2_systems_for_other_targets():
    from sagpr.datasets.lto import generate
    from sagpr.tensors import symmetric_traceless_to_l2
    from sagpr.workflows.tuning.features import FeatureStore
    from sagpr.workflows.tuning.fold_fits import FoldFitter
    from sagpr.workflows.sites import collect_sites

    sites = collect_sites(generate(12, seed=2, progress=False), "Li")
    train = np.arange(len(sites))
    folds = [(np.setdiff1d(train, va), va) for va in np.array_split(np.random.default_rng(0).permutation(train), 3)]
    params = dict(cutoff=4.0, atomic_gaussian_width=0.5, max_radial=3, max_angular=2, zeta=2, regularizer=1e-4,
                  n_sparse=30)
    fitter = FoldFitter(FeatureStore(sites), train, folds)
    y = [symmetric_traceless_to_l2(sites.V[tr]) for tr, _ in folds]
    first = fitter.predict(2, params, y)
    assert all(s.k is None for s in fitter._systems.values())
    doubled = fitter.predict(2, params, [2 * v for v in y])
    for a, b in zip(first, doubled):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-9, atol=1e-12)


def test_shared_and_per_fold_cross_validation_agree_roughly(tmp_path):
    from sagpr.datasets.lto import generate
    from sagpr.workflows.tuning.crossval import CrossValidator
    from sagpr.workflows.sites import collect_sites

    sites = collect_sites(generate(24, seed=3, progress=False), "Li")
    params = dict(cutoff=4.0, atomic_gaussian_width=0.5, max_radial=4, max_angular=3, zeta=2, regularizer=1e-4,
                  n_sparse=60)
    kw = dict(models=["tensor", "eta_tilde"], n_folds=3)
    shared = CrossValidator(sites, np.arange(len(sites)), cache_dir=tmp_path, **kw).scores(params)
    separate = CrossValidator(sites, np.arange(len(sites)), shared_active_set=False, cache_dir=tmp_path,
                              **kw).scores(params)
    for name in kw["models"]:
        # different active sets, same data and model: scores within a factor of two fold by fold
        ratio = np.array(shared[name]) / np.array(separate[name])
        assert np.all((ratio > 0.5) & (ratio < 2.0)), (name, ratio)
    assert shared != separate  # different active sets: not taken from each other's cache


@pytest.mark.parametrize("n_features", [None, 6])
def test_build_in_chunks_equals_build_in_one_pass(monkeypatch, n_features):
    """The kernel rows are made chunk by chunk from the (never gathered) training rows: same
    active sets, kernel and fold systems as one pass, with `rows` picking the training sites."""
    from sagpr.workflows.tuning import fold_fits

    rng = np.random.default_rng(5)
    x = normalised(rng, 90, 5, 10)
    x[::9] = 0.0  # symmetry-zero environments among the chunks
    x0 = normalised(rng, 90, 1, 8)[:, 0, :]
    rows = np.sort(rng.choice(90, 70, replace=False))
    folds = np.array_split(rng.permutation(70), 4)
    model = SAGPR(o3_lambda=2, zeta=2, n_sparse=20, n_features=n_features)
    whole = FoldSystems.build(model, x, x0, folds, rows=rows)
    monkeypatch.setattr(fold_fits, "_CHUNK", 7)
    chunked = FoldSystems.build(model, x, x0, folds, rows=rows)
    np.testing.assert_array_equal(chunked.active, whole.active)
    for f in range(len(folds)):
        np.testing.assert_array_equal(chunked.fold_active[f], whole.fold_active[f])
    scale = np.abs(whole.k).max()
    np.testing.assert_allclose(chunked.k, whole.k, rtol=0, atol=1e-13 * scale)
    for got, expected in zip(chunked.systems, whole.systems):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    # the features the kernel saw: those of x[rows] after the model's own feature selection
    sel = model.select_features(ArraySource(x[rows], x0[rows], None))
    xt, xt0 = gpr.transform(x[rows], x0[rows], 2, *sel)
    a = whole.active
    np.testing.assert_allclose(whole.k, dense_kernel(xt[whole.position.argsort()], xt0[whole.position.argsort()],
                                                     xt[a], xt0[a], 2), rtol=0, atol=1e-13 * scale)


def test_kernel_writes_into_out_and_checks_it():
    rng = np.random.default_rng(1)
    x, a = normalised(rng, 6, 3, 5), normalised(rng, 4, 3, 5)
    x0, a0 = normalised(rng, 6, 1, 4)[:, 0, :], normalised(rng, 4, 1, 4)[:, 0, :]
    out = np.full((18, 12), np.nan)
    got = gpr.kernel(x, x0, a, a0, 2, out=out)
    np.testing.assert_array_equal(out, gpr.kernel(x, x0, a, a0, 2).reshape(18, 12))
    assert np.shares_memory(got, out)
    with pytest.raises(ValueError, match="out must be"):
        gpr.kernel(x, x0, a, a0, 2, out=np.empty((18, 11)))


def test_shared_route_declines_when_folds_would_be_full_gprs_or_too_large():
    rng = np.random.default_rng(2)
    x = normalised(rng, 100, 5, 8)
    x[:40] = 0.0  # symmetry-zero environments: never active, not counted as usable sites
    x0 = normalised(rng, 100, 1, 6)[:, 0, :]
    folds = np.array_split(rng.permutation(100), 5)
    model = SAGPR(o3_lambda=2, n_sparse=55)
    # every fold's training part has about 48 usable sites: a per-fold fit would be a full GPR
    assert FoldSystems.build(model, x, x0, folds) is None
    model = SAGPR(o3_lambda=2, n_sparse=20)
    assert FoldSystems.build(model, x, x0, folds) is not None
    assert FoldSystems.build(model, x, x0, folds, max_kernel_bytes=1e4) is None


def test_search_params_reach_every_cv_fit_but_not_the_parameters(tmp_path):
    from sagpr.datasets.lto import generate
    from sagpr.workflows.tuning.crossval import CrossValidator
    from sagpr.workflows.sites import collect_sites

    sites = collect_sites(generate(12, seed=4, progress=False), "Li")
    params = dict(cutoff=4.0, atomic_gaussian_width=0.5, max_radial=4, max_angular=3, zeta=2, regularizer=1e-4,
                  n_sparse=30)
    kw = dict(models=["tensor"], n_folds=3, cache_dir=tmp_path)
    whole = CrossValidator(sites, np.arange(len(sites)), **kw).scores(params)["tensor"]
    few = CrossValidator(sites, np.arange(len(sites)), search_params={"n_features": 8}, **kw).scores(params)["tensor"]
    assert few != whole  # fitted on 8 selected features, and not taken from the other's cache
    assert np.all(np.isfinite(few))
    with pytest.raises(ValueError, match="n_features"):
        CrossValidator(sites, np.arange(len(sites)), search_params={"n_features": 0}, **kw)


def test_lambda_2_and_lambda_0_builds_of_a_setting_order_their_sites_once():
    from sagpr.workflows.tuning import fold_fits

    rng = np.random.default_rng(3)
    x2 = normalised(rng, 80, 5, 9)
    x0 = normalised(rng, 80, 1, 7)[:, 0, :]
    folds = np.array_split(rng.permutation(80), 4)
    orderings = fold_fits._Orderings()
    two = FoldSystems.build(SAGPR(o3_lambda=2, n_sparse=20), x2, x0, folds, orderings=orderings)
    zero = FoldSystems.build(SAGPR(o3_lambda=0, n_sparse=20), x0[:, None, :], x0, folds, orderings=orderings)
    assert orderings.n_computed == 1
    alone = FoldSystems.build(SAGPR(o3_lambda=0, n_sparse=20), x0[:, None, :], x0, folds)
    np.testing.assert_array_equal(zero.active, alone.active)
    np.testing.assert_array_equal(zero.active, two.active)
    # other sites usable (symmetry-zero lambda = 2 features), other seed: ordered anew
    x2[::5] = 0.0
    FoldSystems.build(SAGPR(o3_lambda=2, n_sparse=20), x2, x0, folds, orderings=orderings)
    FoldSystems.build(SAGPR(o3_lambda=0, n_sparse=20, random_state=1), x0[:, None, :], x0, folds, orderings=orderings)
    assert orderings.n_computed == 3
