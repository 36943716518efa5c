"""Estimators end to end on frames: equivariance, learning, persistence, bad input, real EFGs.

The plumbing tests run twice: with a small NumPy stand-in descriptor (equivariant by
construction, so failures point at the models) and with sagpr.LambdaSOAP when it is available.
"""
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

import sagpr
from sagpr.models import ScalarModel, TensorModel, _features, load
from symmetry import random_rotation, real_spherical_harmonics, rotated

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CENTRES = np.linspace(0.8, 4.5, 8)


class ToyDescriptor:
    """x^lambda_{mu,(s,f)} = sum over neighbours j of species s of g_f(r_j) Y_lambda,mu(r_j);
    x^0 = the l = 0..2 power spectrum of those densities; normalised, zero below 1e-10."""

    def __init__(self, *, o3_lambda, cutoff, species, **_):
        self.o3_lambda, self.cutoff, self.species = o3_lambda, cutoff, list(species)

    def _density(self, atoms, l):
        i, j, vec = neighbor_list("ijD", atoms, self.cutoff)
        dist = np.linalg.norm(vec, axis=1)
        g = np.exp(-((dist[:, None] - CENTRES) ** 2) / 0.5) * (np.cos(np.pi * dist / self.cutoff) + 1)[:, None]
        ylm = real_spherical_harmonics(l, vec)
        out = np.zeros((len(atoms), 2 * l + 1, len(self.species), len(CENTRES)))
        s = np.searchsorted(self.species, atoms.numbers[j])
        np.add.at(out, (i, slice(None), s), ylm[:, :, None] * g[:, None, :])
        scale = np.zeros(len(atoms))  # size of the summed terms, for the symmetry-zero test
        np.add.at(scale, i, np.linalg.norm(g, axis=1))
        return out.reshape(len(atoms), 2 * l + 1, -1), scale

    def compute(self, frames, center_species=None):
        rows, scales = [], []
        for atoms in frames:
            mask = np.isin(atoms.numbers, center_species)
            if self.o3_lambda == 0:
                dens = [self._density(atoms, l)[0][mask] for l in range(3)]
                x = np.concatenate([np.einsum("imf,img->ifg", d, d).reshape(len(d), -1) for d in dens], axis=1)[:, None]
                scale = np.linalg.norm(x, axis=(1, 2))
            else:
                x, scale = self._density(atoms, self.o3_lambda)
                x, scale = x[mask], scale[mask]
            rows.append(x)
            scales.append(scale)
        x, scale = np.concatenate(rows), np.concatenate(scales)
        norms = np.sqrt(np.einsum("imf,imf->i", x, x))
        keep = norms > 1e-10 * scale
        factor = np.zeros_like(norms)
        factor[keep] = 1.0 / norms[keep]
        return x * factor[:, None, None]


def _has_lambda_soap():
    try:
        from sagpr.descriptors import LambdaSOAP  # noqa: F401
    except (ImportError, AttributeError):
        return False
    return True


@pytest.fixture(params=["toy", "lambda-soap"])
def descriptor(request, monkeypatch):
    if request.param == "toy":
        monkeypatch.setattr(
            _features, "calculator",
            lambda params, o3_lambda, species: ToyDescriptor(o3_lambda=o3_lambda, species=species,
                                                             cutoff=params["cutoff"]))
    elif not _has_lambda_soap():
        pytest.skip("sagpr.LambdaSOAP is not available yet")
    return request.param


HYPERS = dict(cutoff=4.5, max_radial=4, max_angular=4, atomic_gaussian_width=0.5, progress=False)


def random_frame(rng, n_al=4, n_o=12, box=7.0):
    """Al and O at random positions at least 1.6 A apart in a periodic cube."""
    positions = []
    while len(positions) < n_al + n_o:
        p = rng.uniform(0, box, 3)
        atoms = Atoms("H" * (len(positions) + 1), positions=positions + [p], cell=[box] * 3, pbc=True)
        if len(positions) == 0 or atoms.get_distances(len(positions), range(len(positions)), mic=True).min() > 1.6:
            positions.append(p)
    return Atoms("Al" * n_al + "O" * n_o, positions=positions, cell=[box] * 3, pbc=True)


def pair_efg(atoms, cutoff=4.0):
    """A learnable EFG field: V_i = sum_j q_j f(r) (3 r r^T - r^2 I), f smooth to zero at the cutoff."""
    i, j, vec = neighbor_list("ijD", atoms, cutoff)
    r = np.linalg.norm(vec, axis=1)
    q = np.where(atoms.numbers[j] == 8, -1.0, 1.5)
    f = q * np.exp(-r) * (np.cos(np.pi * r / cutoff) + 1) / r ** 2
    terms = f[:, None, None] * (3 * vec[:, :, None] * vec[:, None, :] - (r ** 2)[:, None, None] * np.eye(3))
    v = np.zeros((len(atoms), 3, 3))
    np.add.at(v, i, terms)
    return v


def efg_frames(rng, n):
    frames = []
    for _ in range(n):
        atoms = random_frame(rng)
        atoms.arrays["efg"] = pair_efg(atoms)
        atoms.info["efg_units"] = "au"
        frames.append(atoms)
    return frames


def test_tensor_model_is_equivariant(descriptor):
    rng = np.random.default_rng(0)
    frames = efg_frames(rng, 6)
    model = TensorModel(center_species="Al", target="efg", n_sparse=20, **HYPERS).fit(frames)
    assert model.o3_lambdas_ == [2]
    test = random_frame(rng)
    rot = random_rotation(rng)
    v = model.predict(test)
    v_rot = model.predict(rotated(test, rot))
    assert v.shape == (4, 3, 3)
    scale = np.abs(v).max()
    np.testing.assert_allclose(v_rot, rot @ v @ rot.T, rtol=0, atol=1e-8 * scale)
    for t in (v, v_rot):
        np.testing.assert_allclose(t, np.swapaxes(t, 1, 2), rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(np.trace(t, axis1=1, axis2=2), 0.0, rtol=0, atol=1e-12 * scale)


def test_tensor_model_learning_curve(descriptor):
    rng = np.random.default_rng(1)
    train = efg_frames(rng, 24)
    test = efg_frames(rng, 6)
    reference = np.concatenate([a.arrays["efg"][a.numbers == 13] for a in test])
    errors = []
    for n in (3, 8, 24):
        model = TensorModel(center_species="Al", n_sparse=60, regularizer=1e-8, **HYPERS).fit(train[:n])
        errors.append(np.abs(model.predict(test) - reference).mean())
    print(descriptor, "learning curve MAE", errors, "mean |V|", np.abs(reference).mean())
    assert errors[0] > errors[1] > errors[2]


def test_symmetry_zero_site_predicts_exact_zero(descriptor):
    rng = np.random.default_rng(2)
    model = TensorModel(center_species="Al", n_sparse=20, **HYPERS).fit(efg_frames(rng, 4))
    # Al at the centre of a regular O4 tetrahedron, nothing else nearby: V = 0 by symmetry
    tetra = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3) * 1.75
    atoms = Atoms("AlO4", positions=np.vstack([[0, 0, 0], tetra]) + 10.0, cell=[20.0] * 3, pbc=True)
    assert np.all(model.predict(atoms) == 0.0)


def test_fit_with_explicit_targets_and_several_species(descriptor):
    rng = np.random.default_rng(3)
    frames = efg_frames(rng, 4)
    y = np.concatenate([a.arrays["efg"] for a in frames])  # all atoms, frame then atom order
    model = TensorModel(center_species=["Al", "O"], n_sparse=None, **HYPERS).fit(frames, y)
    assert sorted(model.models_) == [8, 13] and model.units_ is None
    # a user-given active set (indices into all centres) is split per species
    chosen = TensorModel(center_species=["Al", "O"], **HYPERS).fit(frames, y, active=[0, 1, 5, 20, 40])
    assert list(chosen.models_[13][2].active_indices_) == [0, 1]
    # frames are Al4 O12: centres 5, 20, 40 are O number 1, 12 + 0, 24 + 4 in the O list
    assert list(chosen.models_[8][2].active_indices_) == [1, 12, 28]
    pred = model.predict(frames)
    assert pred.shape == y.shape
    # full GPR (n_sparse=None), regularizer 1e-6: training targets are reproduced
    assert np.abs(pred - y).max() < 1e-2 * np.abs(y).max()


def test_symmetric_tensor_with_trace_uses_lambda_0_and_2(descriptor):
    rng = np.random.default_rng(4)
    frames = efg_frames(rng, 5)
    for atoms in frames:
        atoms.arrays["shielding"] = atoms.arrays["efg"] + 3.0 * np.eye(3)
    model = TensorModel(center_species="Al", target="shielding", n_sparse=20, **HYPERS).fit(frames)
    assert model.o3_lambdas_ == [0, 2]
    pred = model.predict(frames[0])
    np.testing.assert_allclose(np.trace(pred, axis1=1, axis2=2) / 3, 3.0, atol=1e-6)


def test_save_load_predicts_identically(descriptor, tmp_path):
    rng = np.random.default_rng(5)
    frames = efg_frames(rng, 4)
    test = efg_frames(rng, 2)
    tensor = TensorModel(center_species="Al", n_sparse=10, n_features=20, **HYPERS).fit(frames)
    tensor.save(tmp_path / "efg.sagpr")
    loaded = sagpr.load(tmp_path / "efg.sagpr")
    assert isinstance(loaded, TensorModel) and loaded.get_params() == tensor.get_params()
    assert loaded.units_ == "au" and loaded.species_ == [8, 13]
    # compact files store the active environments' geometry and recompute their features: equal to round-off
    np.testing.assert_allclose(loaded.predict(test), tensor.predict(test), rtol=1e-10, atol=1e-12)
    for atoms in frames + test:
        atoms.arrays["vzz"] = np.linalg.eigvalsh(atoms.arrays["efg"])[:, 2]
    scalar = ScalarModel(center_species="Al", target="vzz", n_sparse=10, **HYPERS).fit(frames)
    scalar.save(tmp_path / "vzz.sagpr")
    np.testing.assert_allclose(load(tmp_path / "vzz.sagpr").predict(test), scalar.predict(test), rtol=1e-10, atol=1e-12)


def test_scalar_model_learns_and_handles_the_mean(descriptor):
    rng = np.random.default_rng(6)
    frames = efg_frames(rng, 12)
    for atoms in frames:
        atoms.arrays["vzz"] = 100.0 + np.linalg.eigvalsh(atoms.arrays["efg"])[:, 2]
    model = ScalarModel(center_species="Al", target="vzz", n_sparse=40, **HYPERS).fit(frames[:9])
    assert model.models_[13][0].y_mean_[0] > 99.0
    pred = model.predict(frames[9:])
    ref = np.concatenate([a.arrays["vzz"][a.numbers == 13] for a in frames[9:]])
    assert pred.shape == ref.shape
    assert np.abs(pred - ref).mean() < np.abs(ref - ref.mean()).mean()
    assert model.score(frames[9:], ref) > 0.0


def test_bad_input_gives_clear_errors(descriptor):
    rng = np.random.default_rng(7)
    frames = efg_frames(rng, 2)
    model = TensorModel(center_species="Al", n_sparse=5, **HYPERS)
    bad = [a.copy() for a in frames]
    bad[1].arrays["efg"][2, 0, 1] += 1.0  # atom 2 is an Al
    with pytest.raises(ValueError, match=r"frame 1: atom 2 \(Al\).*not symmetric"):
        model.fit(bad)
    bad = [a.copy() for a in frames]
    bad[0].arrays["efg"][1] += np.eye(3)
    with pytest.raises(ValueError, match=r"frame 0: atom 1 \(Al\).*not traceless"):
        model.fit(bad)
    bad = [a.copy() for a in frames]
    bad[1].arrays["efg"][3, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"frame 1: atom 3 \(Al\).*NaN"):
        model.fit(bad)
    with pytest.raises(ValueError, match="shape"):
        model.fit(frames, np.zeros((8, 3)))
    with pytest.raises(ValueError, match="shape"):
        model.fit(frames, np.zeros((7, 3, 3)))
    with pytest.raises(ValueError, match="centre species Si absent"):
        TensorModel(center_species="Si", **HYPERS).fit(frames)
    del bad[0].arrays["efg"]
    bad[1].arrays["efg"] = frames[1].arrays["efg"]
    with pytest.raises(ValueError, match="frame 0: no per-atom array 'efg'"):
        model.fit(bad)
    with pytest.raises(ValueError, match="kind"):
        TensorModel(kind="weird")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(frames)
    model.fit(frames)
    with pytest.raises(ValueError, match="frame 0: element.*Si"):
        model.predict(Atoms("AlSi", positions=[[0, 0, 0], [2, 0, 0]], cell=[8.0] * 3, pbc=True))


def test_progress_bars_are_silenced(descriptor, capsys):
    rng = np.random.default_rng(8)
    TensorModel(center_species="Al", n_sparse=5, **HYPERS).fit(efg_frames(rng, 2))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# ---------------------------------------------------------------- real data: gehlenite 27Al
GEHLENITE = DATA / "gehlenite"
GEHLENITE_HYPERS = dict(cutoff=5.0, max_radial=8, max_angular=6, atomic_gaussian_width=0.4, zeta=2,
                        regularizer=1e-6, progress=False)


def gehlenite_split():
    import ase.io

    paths = sorted(GEHLENITE.glob("*.magres"))
    frames = [ase.io.read(p, format="magres") for p in paths]
    test = frames[2::3]  # every third file (8 of 24) held out
    train = [f for i, f in enumerate(frames) if i % 3 != 2]
    return train, test


def al_efg(frames):
    return np.concatenate([a.arrays["efg"][a.numbers == 13] for a in frames])


@pytest.mark.skipif(not GEHLENITE.is_dir(), reason=f"real CASTEP data not found at {GEHLENITE}")
def test_gehlenite_al_efg_beats_scalar_baselines():
    """TensorModel for 27Al on 16 real CASTEP cells, tested on 8 others, against lambda=0 baselines."""
    if not _has_lambda_soap():
        pytest.skip("sagpr.LambdaSOAP is not available yet")
    from sagpr import nmr
    from sagpr.models import SAGPR
    from sagpr.tensors import cartesian_to_spherical, spherical_to_cartesian

    train, test = gehlenite_split()
    model = TensorModel(center_species="Al", target="efg", n_sparse=None, **GEHLENITE_HYPERS).fit(train)
    ref, pred = al_efg(test), model.predict(test)
    cq_ref = np.abs(nmr.quadrupolar_coupling(ref, "27Al", units="au"))
    cq_pred = np.abs(nmr.quadrupolar_coupling(pred, "27Al", units="au"))
    mae = np.abs(cq_pred - cq_ref).mean()
    _, frames_ref = nmr.principal_components(ref)
    _, frames_pred = nmr.principal_components(pred)
    qt = nmr.orientation_agreement(frames_ref, frames_pred)

    # scalar baselines on the same lambda=0 features: a model of |C_Q| itself, and one model per
    # lab-frame lambda=2 component (not symmetry-adapted) for the orientation
    x0_train = model._features(train, 13, [0])[0]
    x0_test = model._features(test, 13, [0])[0]
    scalar = dict(GEHLENITE_HYPERS, o3_lambda=0, n_sparse=None)
    cq_train = np.abs(nmr.quadrupolar_coupling(al_efg(train), "27Al", units="au"))
    mae_scalar = np.abs(SAGPR(**scalar).fit_features(x0_train, None, cq_train).predict_features(x0_test, None)[:, 0]
                        - cq_ref).mean()
    comps = cartesian_to_spherical(al_efg(train))[2]
    baseline = np.stack([SAGPR(**scalar).fit_features(x0_train, None, comps[:, k]).predict_features(x0_test, None)[:, 0]
                         for k in range(5)], axis=1)
    _, frames_base = nmr.principal_components(spherical_to_cartesian({2: baseline}))
    qt_base = nmr.orientation_agreement(frames_ref, frames_base)

    spread = cq_ref.std()
    print(f"gehlenite 27Al: |C_Q| MAE {mae:.4f} MHz = {100 * mae / spread:.2f}% of std {spread:.3f} MHz; "
          f"mean q~ {qt.mean():.5f}; scalar |C_Q| model MAE {mae_scalar:.4f} MHz "
          f"({100 * mae_scalar / spread:.2f}%); component-wise scalar baseline mean q~ {qt_base.mean():.5f}")
    assert mae < 0.02 * spread
    assert mae < 0.25 * mae_scalar
    assert qt.mean() > 0.9999 > qt_base.mean()


def test_sagpr_on_frames_matches_tensor_model(descriptor):
    from sagpr.models import SAGPR
    from sagpr.tensors import cartesian_to_spherical

    rng = np.random.default_rng(9)
    frames = efg_frames(rng, 4)
    test = efg_frames(rng, 2)
    y = cartesian_to_spherical(np.concatenate([a.arrays["efg"][a.numbers == 13] for a in frames]))[2]
    model = SAGPR(o3_lambda=2, n_sparse=10, **HYPERS)
    assert model.fit(frames, y, center_species="Al") is model
    assert model.center_species_ == [13] and model.species_ == [8, 13]
    tensor = TensorModel(center_species="Al", n_sparse=10, **HYPERS).fit(frames)
    np.testing.assert_allclose(model.predict(test), tensor.predict_spherical(test)[2], rtol=0, atol=1e-12)
    assert model.predict(test).shape == (8, 5)
    assert model.score(frames, y) > 0.9


def test_general_tensor_fits_all_three_parts_and_warns_about_lambda_1(descriptor):
    rng = np.random.default_rng(10)
    frames = efg_frames(rng, 3)
    for atoms in frames:
        skew = np.einsum("ijk,nk->nij", np.array([[[0, 0, 0], [0, 0, 1], [0, -1, 0]], [[0, 0, -1], [0, 0, 0], [1, 0, 0]],
                                                  [[0, 1, 0], [-1, 0, 0], [0, 0, 0]]], float).transpose(1, 2, 0),
                         rng.normal(size=(len(atoms), 3)) * 0.01)
        atoms.arrays["tensor"] = atoms.arrays["efg"] + np.eye(3) + skew
    with pytest.warns(UserWarning, match="axial"):
        model = TensorModel(center_species="Al", target="tensor", n_sparse=None, **HYPERS).fit(frames)
    assert model.o3_lambdas_ == [0, 1, 2]
    assert model.predict(frames[0]).shape == (4, 3, 3)


def test_fitted_models_pickle_and_predict_on_frames_without_centres(descriptor):
    import pickle

    rng = np.random.default_rng(11)
    frames = efg_frames(rng, 3)
    model = TensorModel(center_species="Al", n_sparse=10, **HYPERS).fit(frames)
    before = model.predict(frames[0])  # fills the calculator and contraction caches
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(frames[0]), before)
    only_o = Atoms("O2", positions=[[0, 0, 0], [1.3, 0, 0]], cell=[6.0] * 3, pbc=True)
    assert model.predict(only_o).shape == (0, 3, 3)
