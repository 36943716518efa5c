"""FeatureStore: (x^lambda, x^0) pairs from one descriptor pass, memoised per (lambda, descriptor)."""
import numpy as np
from ase.build import bulk

import sagpr
from sagpr.workflows.tuning.features import FeatureStore
from sagpr.workflows.sites import Sites

PARAMS = dict(cutoff=3.5, max_radial=4, max_angular=3, atomic_gaussian_width=0.5)


def li_sites():
    frames = []
    for seed in range(2):
        atoms = bulk("LiCl", "rocksalt", a=4.2, cubic=True)
        atoms.rattle(0.15, seed=seed)
        frames.append(atoms)
    index = [(f, int(a)) for f, atoms in enumerate(frames) for a in np.flatnonzero(atoms.numbers == 3)]
    return Sites(frames=frames, species="Li", isotope="7Li", units="au", index=index, V=np.zeros((len(index), 3, 3)))


def test_pair_computes_both_lambdas_in_one_pass_and_memoises():
    sites = li_sites()
    store = FeatureStore(sites)
    f = store.pair(2, PARAMS)
    assert (store.n_passes, store.n_computed) == (1, 2)  # lambda 2 and 0: two feature sets, one call
    expected = {lam: sagpr.LambdaSOAP(o3_lambda=lam, species=[3, 17], **PARAMS).compute(sites.frames, center_species="Li")
                for lam in (0, 2)}
    np.testing.assert_allclose(f["x"], expected[2], rtol=0, atol=1e-12)
    np.testing.assert_allclose(f["x0"], expected[0][:, 0, :], rtol=0, atol=1e-12)
    g = store.pair(0, PARAMS)  # lambda 0 is stored already
    assert (store.n_passes, store.n_computed) == (1, 2)
    assert g["x0"] is not None and np.shares_memory(g["x"], g["x0"]) and g["x"].shape == expected[0].shape
    assert store.get(2, PARAMS) is f["x"]
    store.pair(2, dict(PARAMS, cutoff=3.0))  # another descriptor: a new pass
    assert (store.n_passes, store.n_computed) == (2, 4)


def test_sagpr_compute_features_pair_equals_single_lambda_features():
    from sagpr.models import SAGPR

    frames = li_sites().frames
    for lam in (0, 2):
        x, x0 = SAGPR(o3_lambda=lam, **PARAMS, species=["Li", "Cl"], progress=False).compute_features(frames, "Li")
        ref = sagpr.LambdaSOAP(o3_lambda=lam, species=[3, 17], **PARAMS).compute(frames, center_species="Li")
        ref0 = sagpr.LambdaSOAP(o3_lambda=0, species=[3, 17], **PARAMS).compute(frames, center_species="Li")
        np.testing.assert_allclose(x, ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(x0, ref0[:, 0, :], rtol=0, atol=1e-12)
        assert x0.flags.c_contiguous


def test_store_over_budget_drops_old_settings_before_computing_new_ones(monkeypatch):
    """Old and new features of a big nucleus must not be held at once: by the time the
    descriptor runs for a new setting, the store holds none of the old ones."""
    from sagpr import descriptors

    sites = li_sites()
    store = FeatureStore(sites, max_bytes=1.0)  # every setting is over budget
    store.pair(2, PARAMS)
    held = []
    real = descriptors.LambdaSOAP.compute_many

    def spy(self, *args, **kwargs):
        held.append(len(store._store))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(descriptors.LambdaSOAP, "compute_many", spy)
    store.pair(2, dict(PARAMS, cutoff=3.0))
    assert held == [0]
    assert len(store._store) == 2  # the newest pair is kept whatever its size
