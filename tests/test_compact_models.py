"""Compact model files: active environments saved as geometry, features recomputed on loading,
factors rebuilt on first use; predictions and uncertainties unchanged."""
import os

import numpy as np
import pytest

import sagpr
from sagpr.models import environments

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_sparse", [15, 1000])  # sparse (15 of 36 Li) and full GPR
def test_compact_file_predicts_and_covaries_as_the_fitted_model(tmp_path, n_sparse):
    frames = random_cells(12, seed=2)
    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=3.5, max_radial=4, max_angular=3,
                              n_sparse=n_sparse, progress=False).fit(frames[:9])
    model.save(tmp_path / "m.sagpr")
    part = model.models_[3][2]
    features = part.active_features_.nbytes + part.active_features0_.nbytes
    size = os.path.getsize(tmp_path / "m.sagpr")
    factors = 0 if part.solver_ == "full" else part.variance_factor_.size * 8 / 2
    assert size < 0.25 * features + factors + 20_000  # no features and no rebuildable factor stored
    loaded = sagpr.load(tmp_path / "m.sagpr")
    lp = loaded.models_[3][2]
    assert lp.solver_ == part.solver_
    np.testing.assert_allclose(lp.active_features_, part.active_features_, rtol=0, atol=1e-12)
    T, cov = model.predict(frames[9:], return_cov=True)
    T2, cov2 = loaded.predict(frames[9:], return_cov=True)
    np.testing.assert_allclose(T2, T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cov2[2], cov[2], rtol=1e-8, atol=1e-14 * np.abs(cov[2]).max())


def test_first_atom_features_equal_those_in_the_structure():
    frames = random_cells(3, seed=5)
    soap = sagpr.LambdaSOAP(o3_lambda=2, cutoff=3.5, max_radial=4, max_angular=3, atomic_gaussian_width=0.4,
                            species=[3, 8])
    full = soap.compute_many(frames, (0, 2), center_species="Li")
    sites = [(f, int(a)) for f, atoms in enumerate(frames) for a in np.flatnonzero(atoms.numbers == 3)]
    env = environments.neighbourhoods(frames, sites, 3.5)
    clusters = environments.clusters(env)
    assert all(c.numbers[0] == 3 and np.all(c.positions[0] == 0) for c in clusters)
    first = soap.compute_many(clusters, (0, 2), first_atom_only=True)
    for lam in (0, 2):
        assert first[lam].shape == full[lam].shape
        np.testing.assert_allclose(first[lam], full[lam], rtol=0, atol=1e-12)
