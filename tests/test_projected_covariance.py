"""The projected predictive covariance (uncertainty_projection): against a slow NumPy reference
of its formula, the exact DTC covariance when the projection keeps every direction, symmetry,
its growth away from the data, calibration and saving."""
import numpy as np
import pytest

import sagpr
from sagpr.models import gpr, spherical

from symmetry import random_rotation, rotated, wigner_d_real
from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")

HYPERS = dict(center_species="Li", cutoff=4.0, max_radial=4, max_angular=3, n_sparse=20, regularizer=1e-4,
              jitter=1e-10, progress=False)


@pytest.fixture(scope="module")
def frames():
    return random_cells(10, seed=3)


@pytest.fixture(scope="module")
def model(frames):
    return sagpr.TensorModel(uncertainty_projection=12, **HYPERS).fit(frames[:7])


def _blocks(model, frames):
    return model.predict(frames, return_cov=True)[1][2]


def _reference(part, x, x0):
    """k** - k_P K_MM^-1 k_P^T + s k_P A^-1 k_P^T with k_P the kernel of the projected features to
    the active set and K_MM, A rebuilt from the stored factors: dense inverses, no shortcuts."""
    p0, p, _ = part._projection()
    a, a0 = part.active_features_, part.active_features0_
    n, d = x.shape[:2]
    k = gpr.kernel(x @ p, x0 @ p0, a @ p, a0 @ p0, part.zeta).reshape(n * d, -1)
    lower_mm, lower = np.tril(part.metric_factor_), np.tril(part.variance_factor_)  # the upper triangles hold solver scratch
    kmm, system = lower_mm @ lower_mm.T, lower @ lower.T
    prior = part._prior_blocks(x, x0)
    quad = k @ np.linalg.solve(kmm, k.T) - part.regularizer * (k @ np.linalg.solve(system, k.T))
    return prior - np.einsum("iaib->iab", quad.reshape(n, d, n, d))


def test_projected_covariance_matches_the_dense_reference(model, frames):
    part = model.models_[3][2]
    x, x0 = part._transform(*part.compute_features(frames[7:]))
    cov = _blocks(model, frames[7:])
    expected = _reference(part, x, x0)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(cov, expected, rtol=0, atol=1e-8 * np.abs(expected).max())
    assert np.linalg.eigvalsh(cov).min() > -1e-10 * np.abs(cov).max()  # positive semi-definite


def test_every_direction_kept_gives_the_exact_covariance(frames, monkeypatch):
    """P and P0 spanning the active features: the projected kernel to the active set is the
    kernel itself, so the route is the exact DTC covariance."""
    exact = sagpr.TensorModel(**HYPERS).fit(frames[:7])
    monkeypatch.setattr(spherical, "PROJECTION_RANK0", 10 ** 6)
    projected = sagpr.TensorModel(**HYPERS).fit(frames[:7]).set_params(uncertainty_projection=10 ** 6)
    reference = _blocks(exact, frames[7:])
    np.testing.assert_allclose(_blocks(projected, frames[7:]), reference, rtol=0,
                               atol=1e-7 * np.abs(reference).max())


def test_projected_covariance_rotates_and_is_invariant(model, frames):
    R = random_rotation(np.random.default_rng(13))
    D = wigner_d_real(2, R)
    cov = _blocks(model, frames[7:])
    np.testing.assert_allclose(_blocks(model, [rotated(a, R) for a in frames[7:]]),
                               np.einsum("am,imn,bn->iab", D, cov, D), rtol=0, atol=1e-10 * np.abs(cov).max())
    # permuted and translated: the same sites (listed in the new atom order), the same blocks
    test = frames[7:]
    moved, old_sites = [], []
    offset = 0
    for k, atoms in enumerate(test):
        order = np.random.default_rng(k).permutation(len(atoms))
        copy = atoms[order]
        copy.positions += np.array([1.25, -3.0, 7.5])
        moved.append(copy)
        li_old = np.flatnonzero(atoms.numbers == 3)
        old_atoms = order[np.flatnonzero(copy.numbers == 3)]  # new Li site j is old atom order[j]
        old_sites += list(offset + np.searchsorted(li_old, old_atoms))
        offset += len(li_old)
    cov_moved = _blocks(model, moved)
    np.testing.assert_allclose(cov_moved, cov[old_sites], rtol=0, atol=1e-10 * np.abs(cov).max())


def test_projected_variance_grows_away_from_the_data_and_tends_to_the_prior(model, frames):
    part = model.models_[3][2]
    traces = []
    for s in (1.0, 1.3, 1.8):
        atoms = frames[2].copy()
        atoms.set_cell(frames[2].cell.array * s, scale_atoms=True)
        traces.append(np.trace(_blocks(model, [atoms]), axis1=1, axis2=2))
        if s == 1.8:
            x, x0 = part._transform(*part.compute_features([atoms]))
            prior = np.trace(part._prior_blocks(x, x0), axis1=1, axis2=2)
    assert np.all(traces[1] > traces[0]) and np.all(traces[2] > traces[1])
    assert np.all(traces[2] > 0.3 * prior)


def test_mean_unchanged_and_scalar_models(model, frames):
    exact = sagpr.TensorModel(**HYPERS).fit(frames[:7])
    np.testing.assert_array_equal(model.predict(frames[7:]), exact.predict(frames[7:]))
    np.testing.assert_array_equal(model.predict(frames[7:], return_std=True)[0], exact.predict(frames[7:]))
    y = np.concatenate([a.arrays["efg"][a.numbers == 3][:, 2, 2] for a in frames[:7]])
    scalar = sagpr.ScalarModel(target=None, uncertainty_projection=5, **HYPERS).fit(frames[:7], y)
    part = scalar.models_[3][0]
    x, x0 = part._transform(*part.compute_features(frames[7:]))
    var = scalar.predict(frames[7:], return_cov=True)[1]
    np.testing.assert_allclose(var, _reference(part, x, x0)[:, 0, 0], rtol=0, atol=1e-8 * np.abs(var).max())


def test_full_gpr_stays_exact(frames):
    full = sagpr.TensorModel(**dict(HYPERS, n_sparse=None)).fit(frames[:7])
    reference = _blocks(full, frames[7:])
    full.set_params(uncertainty_projection=3)
    np.testing.assert_array_equal(_blocks(full, frames[7:]), reference)


def test_calibration_belongs_to_its_route_and_saves(model, frames, tmp_path):
    fitted = sagpr.TensorModel(uncertainty_projection=12, **dict(HYPERS, n_sparse=10)).fit(frames[:7])
    cal = fitted.calibrate(frames[:7], n_folds=3, power_law=False)[(3, 2)]
    assert cal["uncertainty_projection"] == 12
    T, std = fitted.predict(frames[7:], return_std=True)
    fitted.save(tmp_path / "p.sagpr")
    loaded = sagpr.load(tmp_path / "p.sagpr")
    assert loaded.uncertainty_projection == 12 and loaded.calibration() == fitted.calibration()
    np.testing.assert_array_equal(loaded.predict(frames[7:], return_std=True)[1], std)
    loaded.set_params(uncertainty_projection=None)
    with pytest.raises(ValueError, match="uncertainty_projection=12, but the model now uses "
                                         "uncertainty_projection=None: calibrate again") as err:
        loaded.predict(frames[7:], return_std=True)
    assert "\n" not in str(err.value)


def test_bad_uncertainty_projection_is_a_one_line_error():
    for bad in (0, -1, 2.5, "auto", True):
        with pytest.raises(ValueError, match="uncertainty_projection must be an integer >= 1 or None") as err:
            sagpr.SAGPR(o3_lambda=2, uncertainty_projection=bad)
        assert "\n" not in str(err.value)


def test_joint_covariance_of_the_projected_route(model, frames):
    """sagpr select's joint covariance takes the same route: its diagonal blocks are the site blocks."""
    cov = _blocks(model, frames[7:])
    (joint, _), = model.joint_covariance(frames[7:]).values()
    n = len(cov)
    np.testing.assert_allclose(np.einsum("iaib->iab", joint.reshape(n, 5, n, 5)), cov, rtol=0,
                               atol=1e-10 * np.abs(cov).max())
