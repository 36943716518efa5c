"""The one GPR solver (sagpr.models.solver) against plain NumPy linear algebra."""
import numpy as np
import pytest

from sagpr.models import SAGPR, gpr, solver


def _problem(p=12, n=40, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(n, p))
    kmm = k[:p] @ k[:p].T / p + np.eye(p)
    return k.T @ k, k.T @ rng.normal(size=n), kmm


def test_sparse_solve_and_factor():
    ktk, kty, kmm = _problem()
    s = solver.sparse_solver(ktk, kty, kmm, y_mean=[0.0], jitter=0.0)
    w = s.solve(1e-2)
    assert np.allclose(w, np.linalg.solve(ktk + 1e-2 * kmm, kty), rtol=1e-10, atol=0)
    lower = np.tril(s.factor_)
    assert np.allclose(lower @ lower.T, ktk + 1e-2 * kmm, rtol=1e-12, atol=1e-12 * np.abs(ktk).max())
    assert s.jitter_ == 0.0 and s.regularizer_ == 1e-2


def test_several_regularizers_from_one_set_of_sums():
    ktk, kty, kmm = _problem(seed=1)
    s = solver.sparse_solver(ktk, kty, kmm, y_mean=[0.0])
    path = s.solve_path([1e-6, 1e-3, 1.0])
    for reg, w in zip([1e-6, 1e-3, 1.0], path):
        assert np.allclose(w, np.linalg.solve(ktk + reg * kmm, kty), rtol=1e-8, atol=0)
    assert np.array_equal(s.gram, ktk)  # the sums are untouched


def test_full_solver_is_kernel_plus_regularizer_identity():
    ktk, kty, _ = _problem(seed=2)
    w = solver.full_solver(ktk, kty, y_mean=[0.0]).solve(0.5)
    assert np.allclose(w, np.linalg.solve(ktk + 0.5 * np.eye(len(kty)), kty), rtol=1e-10, atol=0)


def test_overwrite_consumes_the_sums_and_restrict_takes_a_subset():
    ktk, kty, kmm = _problem(seed=3)
    cols = np.array([0, 2, 3, 7])
    sub = solver.sparse_solver(ktk, kty, kmm, y_mean=[0.0]).restrict(cols)
    assert np.allclose(sub.solve(1e-3), np.linalg.solve((ktk + 1e-3 * kmm)[np.ix_(cols, cols)], kty[cols]))
    s = solver.sparse_solver(ktk.copy(), kty, kmm, y_mean=[0.0])
    s.solve(1e-3, overwrite=True)
    with pytest.raises(RuntimeError, match="consumed"):
        s.solve(1e-3)


@pytest.mark.parametrize("bad, match", [({"jitter": "lots"}, "jitter"), ({"jitter": -1.0}, "jitter")])
def test_bad_settings(bad, match):
    ktk, kty, kmm = _problem()
    with pytest.raises(ValueError, match=match):
        solver.sparse_solver(ktk, kty, kmm, y_mean=[0.0], **bad)
    with pytest.raises(ValueError, match="regularizer"):
        solver.sparse_solver(ktk, kty, kmm, y_mean=[0.0]).solve(0.0)


def test_sagpr_fit_is_the_solver_on_its_sums():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 5, 7))
    x0 = rng.normal(size=(60, 6))
    x /= np.linalg.norm(x, axis=(1, 2))[:, None, None]
    x0 /= np.linalg.norm(x0, axis=1)[:, None]
    y = rng.normal(size=(60, 5))
    model = SAGPR(o3_lambda=2, n_sparse=6, regularizer=1e-4, progress=False).fit_features(x, x0, y)
    a, a0 = model.active_features_, model.active_features0_
    k = gpr.kernel(x, x0, a, a0, 2).reshape(60 * 5, -1)
    kmm = gpr.kernel(a, a0, a, a0, 2).reshape(len(a) * 5, -1)
    reference = np.linalg.solve(k.T @ k + 1e-4 * kmm + model.jitter_ * np.eye(len(kmm)), k.T @ y.ravel())
    assert np.allclose(model.weights_.ravel(), reference, rtol=1e-6, atol=1e-9 * np.abs(reference).max())
