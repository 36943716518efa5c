"""Scalar targets, angle folding, objectives and the k-fold CV evaluator of the comparison workflow."""
import numpy as np
import pytest

from sagpr import metrics, nmr
from sagpr.tensors import l2_to_symmetric_traceless
from sagpr.workflows.tuning.crossval import CrossValidator
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.tuning.objectives import metric_objective, scalar_objective, tensor_objective
from sagpr.workflows.tuning.search import box_behnken_search
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.comparison.targets import (corrected_angle_errors, derived_omega_q, errors, fold_phi, fold_theta,
                                     scalar_targets)

from synthetic_efg import random_cells


#: tiny fits: one thread (see conftest.one_thread)
pytestmark = pytest.mark.usefixtures("one_thread")


def random_efg(n, seed=0):
    return l2_to_symmetric_traceless(np.random.default_rng(seed).normal(size=(n, 5)))


def test_folding_respects_the_symmetries_of_the_observables():
    rng = np.random.default_rng(1)
    t, p = rng.uniform(-4, 4, 200), rng.uniform(-4, 4, 200)
    for f in (fold_theta, fold_phi):
        assert np.all((f(t) >= 0) & (f(t) <= np.pi / 2 + 1e-15))
    assert np.allclose(fold_theta(np.pi - t), fold_theta(t), atol=1e-12)
    assert np.allclose(fold_phi(-p), fold_phi(p), atol=1e-12)
    assert np.allclose(fold_phi(p + np.pi), fold_phi(p), atol=1e-12)
    # the folded distance is the smallest difference over the equivalent angles
    r = rng.uniform(0, np.pi, 200)
    images = np.stack([np.abs(t - r + k * np.pi) for k in range(-3, 4)] + [np.abs(np.pi - t - r + k * np.pi) for k in range(-3, 4)])
    assert np.allclose(errors("theta", r, t), images.min(axis=0), atol=1e-12)


def test_scalar_targets_and_derived_omega_reproduce_the_tensor_observables():
    V = random_efg(50)
    stats = nmr.reference_stats(random_efg(100, seed=3))
    t = scalar_targets(V, "7Li", stats)
    values, _ = nmr.principal_components(V)
    assert np.allclose(t["cq_tilde"], (values[:, 2] - stats.mu) / stats.sigma, atol=1e-12)
    assert np.allclose(t["eta_tilde"], (values[:, 0] - values[:, 1]) / stats.mu, atol=1e-12)
    assert np.allclose(t["omega_q"], nmr.quadrupolar_frequency(V, "7Li"), atol=1e-9)
    # omega_Q from the four scalars (folded angles) equals the tensor's: the folding loses nothing
    om = derived_omega_q(t["cq_tilde"], t["eta_tilde"], t["theta"], t["phi"], "7Li", stats)
    assert np.allclose(om, t["omega_q"], rtol=0, atol=1e-9 * np.abs(t["omega_q"]).max())
    # flipping the field direction changes no target
    t2 = scalar_targets(V, "7Li", stats, b0=(0, 0, -1))
    for k in t:
        assert np.allclose(t[k], t2[k], atol=1e-10)


def test_targets_use_the_given_training_statistics_and_units():
    V = random_efg(20)
    stats = nmr.reference_stats(V)
    a = scalar_targets(V, "27Al", stats)
    b = scalar_targets(nmr.convert_efg(V, "au", "V/A^2"), "27Al", stats, units="V/A^2")
    for k in a:
        assert np.allclose(a[k], b[k], rtol=1e-10, atol=1e-10)


def test_objectives():
    V = random_efg(40)
    stats = nmr.reference_stats(V)
    assert tensor_objective(V, V, "7Li", stats) == pytest.approx(0.0, abs=1e-12)
    assert tensor_objective(V, V, "7Li", stats, kind="vij") == 0.0
    noisy = V + 0.1 * random_efg(40, seed=5)
    rep = metrics.metrics(V, noisy, "7Li", stats=stats)
    expected = (rep["C~Q"]["mae"] + rep["eta~"]["mae"] + 1 - rep.orientation["q_tilde_mean"]) / 3
    assert tensor_objective(V, noisy, "7Li", stats) == pytest.approx(expected, rel=1e-12)
    assert metric_objective(rep) == pytest.approx(expected, rel=1e-12)
    d = noisy - V
    iu = np.triu_indices(3)
    assert tensor_objective(V, noisy, "7Li", stats, kind="vij") == pytest.approx(np.abs(d[:, iu[0], iu[1]]).mean())
    assert scalar_objective("phi", [0.1], [np.pi - 0.1]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        tensor_objective(V, V, "7Li", stats, kind="rmse")
    with pytest.raises(ValueError):
        scalar_objective("cq", [0.0], [0.0])


def test_corrected_angles_reassign_near_degenerate_reference_labels():
    # |Vyy| ~ |Vzz|: the z and y axes may swap; a prediction in the swapped labelling is right
    R = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    V = (R @ np.diag([0.02, -1.0, 0.98]) @ R.T)[None]
    frames = nmr.principal_components(V)[1]
    theta_s, phi_s = nmr.field_angles(None, frames=frames[:, :, [0, 2, 1]])
    theta, phi = nmr.field_angles(V)
    et, ep = corrected_angle_errors(V, theta_s, phi_s)
    assert et[0] == pytest.approx(0.0, abs=1e-12) and ep[0] == pytest.approx(0.0, abs=1e-12)
    assert errors("theta", theta, theta_s)[0] > 0.05
    # a clearly non-degenerate tensor is not relabelled
    W = (R @ np.diag([0.1, 0.4, -0.5]) @ R.T)[None]
    tw, pw = nmr.field_angles(W)
    et, ep = corrected_angle_errors(W, tw + 0.3, pw)
    assert et[0] == pytest.approx(errors("theta", tw, tw + 0.3)[0])


@pytest.fixture(scope="module")
def sites():
    return collect_sites(random_cells(12, seed=4), "Li", source="synthetic")


PARAMS = dict(cutoff=4.0, max_radial=3, max_angular=2, atomic_gaussian_width=0.4, regularizer=1e-6, n_sparse=30)


def test_cross_validation_folds_scores_and_disk_cache(sites, tmp_path):
    train = np.arange(40)
    cv = CrossValidator(sites, train, models=("tensor", "theta"), n_folds=4, cache_dir=tmp_path)
    folds_val = np.sort(np.concatenate([va for _, va in cv.folds]))
    assert np.array_equal(folds_val, train)
    for tr, va in cv.folds:
        assert not set(tr) & set(va)
    scores = cv.scores(PARAMS)
    assert set(scores) == {"tensor", "theta"} and all(len(v) == 4 for v in scores.values())
    assert cv.n_fits == 8
    assert cv.scores(PARAMS) == scores and cv.n_fits == 8          # memoised
    again = CrossValidator(sites, train, models=("tensor", "theta"), n_folds=4, cache_dir=tmp_path)
    assert again.scores(PARAMS) == scores and again.n_fits == 0     # from disk
    other = CrossValidator(sites, train[:36], models=("tensor",), n_folds=4, cache_dir=tmp_path)
    other.scores(PARAMS)
    assert other.n_fits == 4                                         # another training set is not confused


def test_cross_validation_by_structure_keeps_structures_together(sites):
    cv = CrossValidator(sites, np.arange(len(sites)), models=("eta_tilde",), n_folds=3, by_structure=True)
    g = sites.groups
    for tr, va in cv.folds:
        assert not set(g[tr]) & set(g[va])


def test_box_behnken_search_on_the_cv_objective(sites):
    cv = CrossValidator(sites, np.arange(len(sites)), models=("tensor",), n_folds=3)
    factors = [Factor("cutoff", 3.5, 4.5), Factor("atomic_gaussian_width", 0.3, 0.5),
               Factor("regularizer", 1e-8, 1e-3, scale="log")]
    fixed = {"max_radial": 3, "max_angular": 2, "n_sparse": 30}
    result = box_behnken_search(factors, cv.evaluate("tensor"), fixed=fixed, progress=False)
    assert len(result.runs) == 16
    assert all(len(r["scores"]) == 3 for r in result.runs)
    assert result.best["score"] == min(r["score"] for r in result.runs)
    assert cv.n_fits == 3 * 14   # 13 distinct design points + the surface minimum
