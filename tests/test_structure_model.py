"""CartesianTensorModel: structure-level (sum of atomic contributions) and per-atom tensors of
rank 1-4; exact symmetries of the predictions, extensive / intensive scaling, parts detected,
save / load, learnability of an exactly representable target."""
import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from sagpr import cartesian, load
from sagpr.models.structure import CartesianTensorModel, percent_rmse
from symmetry import random_rotation

pytestmark = pytest.mark.usefixtures("one_thread")

HYPERS = dict(cutoff=3.0, max_radial=3, max_angular=3, atomic_gaussian_width=0.5, n_sparse=25,
              regularizer=1e-8, progress=False)


def local_vectors(atoms, cutoff=3.0):
    """Three polar vectors per atom, u, v, w = sum_j f(r_ij) r_ij for three smooth radial f with
    species weights: the tensors built from them are equivariant sums of atomic terms."""
    i, j, D = neighbor_list("ijD", atoms, cutoff)
    r = np.linalg.norm(D, axis=1)
    fc = 0.5 * (1 + np.cos(np.pi * r / cutoff))
    weight = np.where(atoms.numbers[j] == 8, 1.0, -0.6)
    out = []
    for k, f in enumerate((fc, fc * r, fc * np.exp(-r))):
        vec = np.zeros((len(atoms), 3))
        np.add.at(vec, i, (weight ** (k + 1) * f)[:, None] * D)
        out.append(vec)
    return out


def tensor_target(atoms, rank):
    """sum_i u_i x v_i x w_i x u_i (first `rank` factors): polar, no index symmetry, so every part
    (sigma = -1 ones included) is present."""
    u, v, w = local_vectors(atoms)
    factors = ",".join(["ni", "nj", "nk", "nl"][:rank])
    return np.einsum(f"{factors}->{'ijkl'[:rank]}", *[u, v, w, u][:rank])


def molecules(n, seed=0, symbols="OHHOH"):
    rng = np.random.default_rng(seed)
    frames = []
    while len(frames) < n:
        pos = rng.normal(scale=0.9, size=(len(symbols), 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 10 * np.eye(len(symbols))
        if d.min() > 0.8:
            frames.append(Atoms(symbols, positions=pos))
    return frames


def targets(frames, rank):
    """The tensors of the frames without their pseudoscalar part (lambda 0, sigma -1: rank 3's
    u . (v x w), which two-body lambda-SOAP features cannot carry)."""
    y = np.stack([tensor_target(a, rank) for a in frames])
    if rank == 3:
        parts = cartesian.cartesian_to_spherical(y, 3)
        parts[(1, 1, 0)] = np.zeros_like(parts[(1, 1, 0)])
        y = cartesian.spherical_to_cartesian(parts, 3)
    return y


@pytest.fixture(scope="module")
def fitted():
    frames = molecules(40)
    models = {}
    for rank in (1, 3):
        models[rank] = CartesianTensorModel(rank=rank, **HYPERS).fit(frames, targets(frames, rank))
    return frames, models


def test_parts_detected_and_sigma_minus_one_learned(fitted):
    frames, models = fitted
    assert set(models[1].parts_) == {(1, 1)}
    # rank 3 without index symmetry: lambda 0 (sigma -1) is a pseudoscalar of the three vectors;
    # lambda-SOAP cannot carry it, so targets without it are used: see test below for the refusal
    parts3 = set(models[3].parts_)
    assert {(1, 1), (2, -1), (3, 1)} <= parts3
    assert len(models[3].parts_[(1, 1)]["channels"]) == 3  # three independent lambda = 1 couplings


def test_pseudoscalar_part_is_refused():
    frames = molecules(8, seed=3)
    with pytest.raises(ValueError, match="pseudoscalar"):
        CartesianTensorModel(rank=3, **HYPERS).fit(frames, targets(frames, 3) * 0 + _with_pseudoscalar(frames))


def _with_pseudoscalar(frames):
    eps = np.zeros((3, 3, 3))
    eps[0, 1, 2] = eps[1, 2, 0] = eps[2, 0, 1] = 1
    eps[0, 2, 1] = eps[2, 1, 0] = eps[1, 0, 2] = -1
    u = np.stack([local_vectors(a)[0].sum(0) for a in frames])
    v = np.stack([local_vectors(a)[1].sum(0) for a in frames])
    w = np.stack([local_vectors(a)[2].sum(0) for a in frames])
    return np.einsum("ijk,ni,nj,nk->n", eps, u, v, w)[:, None, None, None] * eps


@pytest.mark.parametrize("rank", [1, 3])
def test_predictions_rotate_invert_translate_permute(fitted, rank):
    frames, models = fitted
    model = models[rank]
    rng = np.random.default_rng(1)
    test = molecules(4, seed=9)
    base = model.predict(test)
    assert base.shape == (4,) + (3,) * rank
    scale = np.abs(base).max()
    for R in (random_rotation(rng), -random_rotation(rng), np.diag([1.0, 1.0, -1.0])):
        moved = []
        for a in test:
            b = a.copy()
            b.positions = a.positions @ R.T
            moved.append(b)
        np.testing.assert_allclose(model.predict(moved), cartesian.rotate_cartesian(base, R, rank),
                                   rtol=0, atol=1e-9 * scale)
    shifted = [a.copy() for a in test]
    for a in shifted:
        a.positions += [1.3, -2.2, 0.7]
    permuted = [a[rng.permutation(len(a))] for a in test]
    np.testing.assert_allclose(model.predict(shifted), base, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(model.predict(permuted), base, rtol=0, atol=1e-10 * scale)


def test_learns_an_exactly_representable_target():
    # a dipole that is a sum of atomic contributions of the local vectors: training error tiny,
    # test error small; rank 2 with an antisymmetric (sigma = -1) part as well
    frames = molecules(60, seed=4)
    for rank in (1, 2):
        y = targets(frames, rank)
        model = CartesianTensorModel(rank=rank, **dict(HYPERS, n_sparse=120)).fit(frames[:50], y[:50])
        train = percent_rmse(y[:50].reshape(50, -1), model.predict(frames[:50]).reshape(50, -1))
        test = percent_rmse(y[50:].reshape(10, -1), model.predict(frames[50:]).reshape(10, -1))
        assert train < 5.0, (rank, train)
        assert test < 60.0, (rank, test)
    assert (1, -1) in model.parts_  # the antisymmetric part of u x v, an axial vector


def test_symmetric_targets_have_only_their_parts():
    frames = molecules(12, seed=5)
    vecs = [local_vectors(a) for a in frames]
    alpha = np.stack([np.einsum("ni,nj->ij", u, u) + np.eye(3) * len(u) for u, _, _ in vecs])
    model = CartesianTensorModel(**HYPERS).fit(frames, alpha.reshape(12, 9))
    assert model.rank_ == 2 and set(model.parts_) == {(0, 1), (2, 1)}
    beta = np.stack([np.einsum("ni,nj,nk->ijk", u, u, u) for u, _, _ in vecs])
    model = CartesianTensorModel(rank=3, **HYPERS).fit(frames, beta)
    assert set(model.parts_) == {(1, 1), (3, 1)}
    assert len(model.parts_[(1, 1)]["channels"]) == 1  # the two lambda = 1 paths are proportional


def periodic_cells(n, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    while len(frames) < n:
        a = 4.2
        pos = rng.uniform(0, a, size=(4, 3))
        atoms = Atoms("OHOH", positions=pos, cell=[a, a, a], pbc=True)
        if np.min(atoms.get_all_distances(mic=True) + 10 * np.eye(4)) > 1.0:
            frames.append(atoms)
    return frames


@pytest.mark.parametrize("intensive", [False, True])
def test_supercell_scaling(intensive):
    frames = periodic_cells(12)
    y = np.stack([local_vectors(a)[0].sum(0) for a in frames])
    if intensive:
        y = y / 4
    model = CartesianTensorModel(rank=1, intensive=intensive, **HYPERS).fit(frames, y)
    test = periodic_cells(3, seed=7)
    base = model.predict(test)
    bigger = model.predict([a.repeat((2, 1, 3)) for a in test])
    np.testing.assert_allclose(bigger, base * (1 if intensive else 6), rtol=1e-9, atol=1e-12)


def test_atom_level_and_save_load(tmp_path, fitted):
    frames = molecules(15, seed=6)
    for a in frames:
        a.arrays["vec"] = local_vectors(a)[1]
    model = CartesianTensorModel(level="atom", target="vec", center_species="O", **HYPERS).fit(frames)
    pred = model.predict(frames[:3])
    n_o = sum(int(np.sum(a.numbers == 8)) for a in frames[:3])
    assert pred.shape == (n_o, 3)
    R = random_rotation(np.random.default_rng(2))
    moved = [a.copy() for a in frames[:3]]
    for a in moved:
        a.positions = a.positions @ R.T
    np.testing.assert_allclose(model.predict(moved), pred @ R.T, atol=1e-9 * np.abs(pred).max())
    for m in (model, fitted[1][3]):
        path = tmp_path / "model.npz"
        m.save(path)
        again = load(path)
        assert type(again) is CartesianTensorModel and again.get_params() == m.get_params()
        np.testing.assert_array_equal(again.predict(frames[:3]), m.predict(frames[:3]))


def test_bad_input():
    frames = molecules(3)
    with pytest.raises(ValueError, match="rank"):
        CartesianTensorModel(rank=5)
    with pytest.raises(ValueError, match="level"):
        CartesianTensorModel(level="molecule")
    with pytest.raises(ValueError, match="intensive"):
        CartesianTensorModel(level="atom", intensive=True)
    with pytest.raises(ValueError, match="components"):
        CartesianTensorModel(**HYPERS).fit(frames, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="frame 0: no 'mu'"):
        CartesianTensorModel(target="mu", **HYPERS).fit(frames)
    with pytest.raises(RuntimeError, match="not fitted"):
        CartesianTensorModel().predict(frames)


DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tensoap"


@pytest.mark.skipif(not (DATA / "asymmetric.xyz").exists(), reason="shared data ../shared/data/tensoap absent")
def test_asymmetric_polarizability_of_a_rotated_molecule():
    # TENSOAP's example: one molecule, randomly rotated, with an asymmetric polarizability whose
    # antisymmetric part is an axial vector (lambda 1, sigma -1): learned exactly from rotated copies
    import ase.io

    frames = ase.io.read(str(DATA / "asymmetric.xyz"), ":50")
    y = np.stack([np.asarray(a.info["alpha"], dtype=float) for a in frames])
    model = CartesianTensorModel(**dict(HYPERS, cutoff=4.0, max_angular=2)).fit(frames[:40], y[:40])
    assert set(model.parts_) == {(0, 1), (1, -1), (2, 1)}
    pred = model.predict(frames[40:]).reshape(10, 9)
    assert np.abs(pred - y[40:]).max() < 1e-6 * np.abs(y).max()


@pytest.mark.parametrize("level", ["structure", "atom"])
def test_dask_fit_and_predict_equal_serial(level):
    distributed = pytest.importorskip("distributed")
    frames = molecules(14, seed=8)
    if level == "structure":
        y, kwargs = targets(frames, 2), {}
    else:
        y, kwargs = np.concatenate([local_vectors(a)[0] for a in frames]), {"level": "atom"}
    serial = CartesianTensorModel(**HYPERS, **kwargs).fit(frames, y, block_size=4)
    # structure level: the blocks of the sums are the tasks, added in the same order: equal to
    # round-off. Atom level: a task's frames hold several blocks of centres, summed within the
    # task first, so round-off differs and the solve (condition number ~1e8 here) amplifies it.
    tol = 1e-12 if level == "structure" else 1e-4
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        remote = CartesianTensorModel(**HYPERS, **kwargs).fit(frames, y, block_size=4, client=client)
        np.testing.assert_allclose(remote.predict(frames[:5], client=client, chunk_size=2),
                                   serial.predict(frames[:5]), rtol=0, atol=tol * np.abs(y).max())
    if level == "structure":
        for part, entry in serial.parts_.items():
            np.testing.assert_allclose(remote.parts_[part]["weights"], entry["weights"], rtol=1e-9, atol=0)


def test_score_per_part(fitted):
    frames, models = fitted
    test = molecules(6, seed=12)
    scores = models[3].score(test, targets(test, 3))
    assert set(scores) == {(1, 1), (2, -1), (3, 1), "total"}  # the pseudoscalar part is absent
    assert all(np.isfinite(v) and v >= 0 for v in scores.values())
