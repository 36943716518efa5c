"""Predictive covariances of CartesianTensorModel (structure-level sums of atomic contributions):
rotation, permutation and translation of the structure, the exact GP limit, vanishing variance
at training structures, growth away from the data, the symmetric subspace of a polarizability,
save / load (old files without factors) and a Dask fit."""
import os

import numpy as np
import pytest

from sagpr import cartesian, load
from sagpr.models import gpr
from sagpr.models.structure import CartesianTensorModel
from symmetry import random_rotation, rotated, wigner_d_real
from test_structure_model import HYPERS, molecules, targets

pytestmark = pytest.mark.usefixtures("one_thread")

TENSOAP = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "tensoap")


@pytest.fixture(scope="module")
def models():
    """Sparse models (25 active environments per species) of general rank-2 and rank-3 targets."""
    frames = molecules(16)
    return frames, {rank: CartesianTensorModel(rank=rank, **HYPERS).fit(frames, targets(frames, rank))
                    for rank in (2, 3)}


def kron_power(R, rank):
    out = np.ones((1, 1))
    for _ in range(rank):
        out = np.kron(out, R)
    return out


def prior_blocks(model, frames):
    """k** per group and part: the prior covariance of each predicted structure (or centre)."""
    numbers, group, sizes, scale, feats = model._prediction_setup(frames)
    env_group = {z: group[numbers == z] for z in feats}
    return {part: model._summed_prior(feats, env_group, part, 0, len(sizes)) * (scale ** 2)[:, None, None]
            for part in model.parts_}


@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("proper", [True, False])
def test_covariance_rotates_with_the_structure(models, rank, proper):
    frames, fitted = models
    model = fitted[rank]
    rng = np.random.default_rng(3)
    R = random_rotation(rng)
    # an improper rotation: the polar tensor takes R on every index all the same
    R_full = R if proper else -R
    test = molecules(3, seed=21)
    mean, std, cov = model.predict(test, return_std=True, return_cov=True)
    mean_r, std_r, cov_r = model.predict([rotated(a, R_full) for a in test], return_std=True, return_cov=True)
    Rk = kron_power(R_full, rank)
    # the round-off of k** - Q** is relative to the prior variance k** (its total over the
    # channels), not to the (smaller) posterior
    prior = prior_blocks(model, test)
    scale = max(np.trace(prior[part], axis1=1, axis2=2).max() * len(entry["channels"])
                for part, entry in model.parts_.items())
    np.testing.assert_allclose(cov_r, np.einsum("ia,nab,jb->nij", Rk, cov, Rk), rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(std_r ** 2, np.einsum("nii->ni", cov_r).reshape(std_r.shape), rtol=0,
                               atol=1e-12 * scale)
    assert np.abs(cov).max() > 1e-3 * scale  # a real covariance, not zeros
    _, blocks = model.predict_spherical(test, return_cov=True)
    _, blocks_r = model.predict_spherical([rotated(a, R_full) for a in test], return_cov=True)
    for (lam, sig), block in blocks.items():
        # the part's paths rotate alike with D(R) (an inversion's sign cancels in a covariance)
        n_paths = len(model.parts_[(lam, sig)]["paths"])
        D = np.kron(np.eye(n_paths), wigner_d_real(lam, R))
        np.testing.assert_allclose(blocks_r[(lam, sig)], np.einsum("ia,nab,jb->nij", D, block, D), rtol=0,
                                   atol=1e-10 * scale)
    if rank == 3:  # the channel mixing of several paths of one (lambda, sigma) is exercised
        assert any(len(entry["paths"]) > 1 for entry in model.parts_.values())


def test_covariance_invariant_to_permutation_and_translation(models):
    frames, fitted = models
    model = fitted[2]
    test = molecules(3, seed=22)
    _, cov = model.predict(test, return_cov=True)
    moved = []
    for k, atoms in enumerate(test):
        order = np.random.default_rng(k).permutation(len(atoms))
        copy = atoms[order]
        copy.positions += np.array([3.0, -7.5, 12.25])
        moved.append(copy)
    _, cov_moved = model.predict(moved, return_cov=True)
    np.testing.assert_allclose(cov_moved, cov, rtol=0, atol=1e-10 * np.abs(cov).max())


@pytest.mark.parametrize("level, intensive", [("structure", False), ("structure", True), ("atom", False)])
def test_variance_vanishes_at_training_data_with_every_environment_active(level, intensive):
    """n_sparse=None and a tiny regularizer: the model has observed each training structure's
    value (noise variance s), so its variance there is ~s, far below the prior k**."""
    train = molecules(8, seed=1)
    y = targets(train, 2)
    if level == "atom":
        y = np.concatenate([np.einsum("ni,nj->nij", a.positions, 1.5 * a.positions + 0.1) for a in train])
    model = CartesianTensorModel(rank=2, level=level, intensive=intensive,
                                 **{**HYPERS, "n_sparse": None, "regularizer": 1e-10}).fit(train, y)
    _, blocks = model.predict_spherical(train, return_cov=True)
    prior = prior_blocks(model, train)
    test = molecules(3, seed=23)
    _, test_blocks = model.predict_spherical(test, return_cov=True)
    for part, block in blocks.items():
        var = np.trace(block, axis1=1, axis2=2)
        ref = np.trace(prior[part], axis1=1, axis2=2)
        assert ref.max() > 0
        assert np.all(var <= 1e-6 * ref + 1e-300), (part, (var / np.maximum(ref, 1e-300)).max())
        # unseen structures keep a sizeable share of their prior variance
        assert np.trace(test_blocks[part], axis1=1, axis2=2).max() > 1e-3 * ref.max()


@pytest.mark.parametrize("intensive", [False, True])
def test_every_environment_active_gives_the_exact_gp_of_the_sums(intensive):
    """With every training environment active the DTC covariance is the full GP posterior of the
    structure values, k** - k*N (K_NN + s I)^-1 kN*, built here from the atomic kernel directly."""
    train, test = molecules(6, seed=4), molecules(3, seed=5)
    # a cutoff that takes in the whole molecule: no planar (two-neighbour) environment, whose
    # lambda > 0 features have rank < 2 lambda + 1 and make K_MM singular (its factor then
    # carries the automatic jitter and the Nystroem term is no longer exact)
    hypers = {**HYPERS, "n_sparse": None, "regularizer": 1e-3, "cutoff": 6.0, "max_radial": 4, "max_angular": 4}
    model = CartesianTensorModel(rank=2, intensive=intensive, **hypers).fit(train, targets(train, 2))
    _, blocks = model.predict_spherical(test, return_cov=True)
    numbers, group, sizes, scale, feats = model._prediction_setup(train + test)
    for part, block in blocks.items():
        d = 2 * part[0] + 1
        K = np.zeros((len(sizes) * d, len(sizes) * d))
        for z in feats:
            x, x0 = feats[z][part], feats[z][(0, 1)][:, 0, :]
            sums = np.zeros((len(sizes), len(x)))
            sums[group[numbers == z], np.arange(len(x))] = scale[group[numbers == z]]
            K += np.einsum("gi,iajb,hj->gahb", sums, gpr.kernel(x, x0, x, x0, model.zeta), sums).reshape(K.shape)
        n = len(train) * d
        post = K[n:, n:] - K[n:, :n] @ np.linalg.solve(K[:n, :n] + model.regularizer * np.eye(n), K[:n, n:])
        expected = np.einsum("iaib->iab", post.reshape(len(test), d, len(test), d))
        np.testing.assert_allclose(block, expected, rtol=0, atol=1e-8 * np.abs(expected).max())


def test_variance_grows_away_from_the_training_data(models):
    frames, fitted = models
    model = fitted[2]
    near = frames[:6]
    strained = []
    for atoms in near:
        copy = atoms.copy()
        copy.positions *= 1.35
        strained.append(copy)
    _, std_near = model.predict(near, return_std=True)
    _, std_far = model.predict(strained, return_std=True)
    v_near = (std_near ** 2).reshape(6, -1).sum(axis=1)
    v_far = (std_far ** 2).reshape(6, -1).sum(axis=1)
    assert np.all(v_far > v_near), (v_near, v_far)
    assert np.mean(v_far / v_near) > 2.0


def _read_tensoap(name, n):
    path = os.path.join(TENSOAP, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} absent: ../shared/data/tensoap is provided beside the project for CI")
    from ase.io import read

    frames = read(path, index=f":{n}")
    for atoms in frames:
        atoms.pbc = False  # molecules in a zero cell
    return frames


def test_symmetric_polarizability_covariance_stays_in_the_symmetric_subspace():
    frames = _read_tensoap("water_monomer.xyz", 14)
    model = CartesianTensorModel(rank=2, target="alpha", **{**HYPERS, "n_sparse": 12}).fit(frames[:10])
    assert set(model.parts_) == {(0, 1), (2, 1)}  # no lambda = 1 part: alpha is symmetric
    mean, std, cov = model.predict(frames[10:], return_std=True, return_cov=True)
    swap = np.eye(9).reshape(3, 3, 9).transpose(1, 0, 2).reshape(9, 9)  # T_ij -> T_ji
    anti = 0.5 * (np.eye(9) - swap)
    scale = np.abs(cov).max()
    assert scale > 0
    assert np.abs(anti @ cov).max() < 1e-12 * scale
    assert np.abs(cov @ anti).max() < 1e-12 * scale
    np.testing.assert_allclose(std, np.swapaxes(std, 1, 2), rtol=0, atol=1e-12 * np.abs(std).max())


def test_kleinman_symmetric_rank3_covariance_stays_in_the_symmetric_subspace(models):
    """A fully symmetric rank-3 target has one channel in each of lambda = 1 and 3 (of the three
    lambda = 1 paths): the mixing must confine the covariance to the symmetric tensors."""
    import itertools

    frames, _ = models
    raw = targets(frames, 3)
    y = sum(np.transpose(raw, (0,) + tuple(1 + np.array(p))) for p in itertools.permutations(range(3))) / 6
    model = CartesianTensorModel(rank=3, **HYPERS).fit(frames, y)
    assert {part: len(e["channels"]) for part, e in model.parts_.items()} == {(1, 1): 1, (3, 1): 1}
    _, cov = model.predict(molecules(3, seed=27), return_cov=True)
    units = np.eye(27).reshape(27, 3, 3, 3)
    sym = sum(np.transpose(units, (0,) + tuple(1 + np.array(p))) for p in itertools.permutations(range(3))) / 6
    outside = np.eye(27) - sym.reshape(27, 27)
    assert np.abs(cov).max() > 0
    assert np.abs(outside @ cov).max() < 1e-12 * np.abs(cov).max()


def test_save_load_gives_identical_uncertainties_and_old_files_refuse(models, tmp_path, monkeypatch):
    frames, fitted = models
    model = fitted[3]
    test = molecules(3, seed=24)
    mean, std, cov = model.predict(test, return_std=True, return_cov=True)
    model.save(tmp_path / "m.sagpr")
    loaded = load(tmp_path / "m.sagpr")
    mean2, std2, cov2 = loaded.predict(test, return_std=True, return_cov=True)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)
    np.testing.assert_array_equal(cov2, cov)
    # a file written before the factors were stored: it loads and predicts, and says what to do
    meta, arrays = model._get_state()
    old = {k: v for k, v in arrays.items() if not k.endswith("_factor")}
    assert len(old) < len(arrays)
    monkeypatch.setattr(model, "_get_state", lambda: (meta, old))
    model.save(tmp_path / "old.sagpr")
    monkeypatch.undo()
    legacy = load(tmp_path / "old.sagpr")
    np.testing.assert_array_equal(legacy.predict(test), mean)
    assert not legacy.has_variance()
    for kwargs in ({"return_std": True}, {"return_cov": True}):
        with pytest.raises(ValueError, match="refit it"):
            legacy.predict(test, **kwargs)
    with pytest.raises(ValueError, match="refit it"):
        legacy.predict_spherical(test, return_cov=True)


def test_dask_fit_and_predict_give_the_serial_uncertainties():
    distributed = pytest.importorskip("distributed")
    frames = molecules(14, seed=8)
    y = targets(frames, 2)
    test = molecules(4, seed=25)
    serial = CartesianTensorModel(**HYPERS).fit(frames, y, block_size=4)
    _, std, cov = serial.predict(test, return_std=True, return_cov=True)
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        remote = CartesianTensorModel(**HYPERS).fit(frames, y, block_size=4, client=client)
        _, std_c, cov_c = remote.predict(test, return_std=True, return_cov=True, client=client, chunk_size=2)
    # the same sums in the same order (see test_structure_model): equal to the solve's round-off
    np.testing.assert_allclose(cov_c, cov, rtol=0, atol=1e-9 * np.abs(cov).max())
    np.testing.assert_allclose(std_c, std, rtol=0, atol=1e-9 * np.abs(std).max())


def test_covariance_shapes_and_mean_unchanged(models):
    frames, fitted = models
    model = fitted[3]
    test = molecules(2, seed=26)
    mean, std, cov = model.predict(test, return_std=True, return_cov=True)
    assert mean.shape == std.shape == (2, 3, 3, 3) and cov.shape == (2, 27, 27)
    np.testing.assert_array_equal(mean, model.predict(test))
    # the covariance is positive semi-definite
    assert np.linalg.eigvalsh(cov).min() > -1e-10 * np.abs(cov).max()
    values, blocks = model.predict_spherical(test, return_cov=True)
    for part, block in blocks.items():
        d = 2 * part[0] + 1
        assert block.shape == (2, len(model.parts_[part]["paths"]) * d, len(model.parts_[part]["paths"]) * d)


def test_prior_sum_in_row_blocks_and_bad_flags(models):
    frames, fitted = models
    model = fitted[2]
    test = molecules(4, seed=28)
    numbers, group, sizes, scale, feats = model._prediction_setup(test)
    env_group = {z: group[numbers == z] for z in feats}
    for part in model.parts_:
        # blocks smaller than a structure (what large cells use) add the same pairs
        np.testing.assert_allclose(model._summed_prior(feats, env_group, part, 1, 4, rows=2),
                                   model._summed_prior(feats, env_group, part, 0, 4)[1:], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="return_std must be True or False"):
        model.predict(test, return_std="yes")
    with pytest.raises(ValueError, match="return_cov must be True or False"):
        model.predict_spherical(test, return_cov="cartesian")


def test_calibration_scales_each_part_saves_and_leaves_the_mean(tmp_path):
    frames = molecules(20, seed=9)
    y = targets(frames, 3)
    test = molecules(3, seed=29)
    model = CartesianTensorModel(**HYPERS).fit(frames, y)
    mean, raw = model.predict(test, return_cov=True)
    _, raw_blocks = model.predict_spherical(test, return_cov=True)
    fitted = model.calibrate(frames, y, n_folds=4, power_law=False)
    assert set(fitted) == {f"{lam}/{sig}" for lam, sig in model.parts_}
    for result in fitted.values():
        assert result["scale"] > 0 and result["power"] == 1.0 and result["n_folds"] == 4
        assert 0.0 <= result["coverage95"] <= 1.0
    mean_c, cal = model.predict(test, return_cov=True)
    np.testing.assert_array_equal(mean_c, mean)
    _, cal_blocks = model.predict_spherical(test, return_cov=True)
    _, again_raw = model.predict_spherical(test, return_cov=True, calibrated=False)
    for part, block in raw_blocks.items():
        np.testing.assert_allclose(cal_blocks[part], fitted[f"{part[0]}/{part[1]}"]["scale"] * block, rtol=1e-12)
        np.testing.assert_array_equal(again_raw[part], block)
    assert not np.allclose(cal, raw)
    # the raw covariance does not see the targets, the residuals scale with them: 10 y -> 100 a
    scaled = CartesianTensorModel(**HYPERS).fit(frames, 10.0 * y).calibrate(frames, 10.0 * y, n_folds=4,
                                                                           power_law=False)
    for key, result in fitted.items():
        np.testing.assert_allclose(scaled[key]["scale"], 100.0 * result["scale"], rtol=1e-4)  # solve round-off
    model.save(tmp_path / "c.sagpr")
    loaded = load(tmp_path / "c.sagpr")
    assert loaded.calibration_ == model.calibration_
    np.testing.assert_array_equal(loaded.predict(test, return_cov=True)[1], cal)
    # a refit forgets a calibration made for another fit
    assert model.fit(frames[:15], y[:15]).calibration_ is None


def test_calibrated_covariance_rotates_and_covers_held_out_structures():
    rng = np.random.default_rng(4)
    frames = molecules(40, seed=10)
    y = targets(frames, 2)
    model = CartesianTensorModel(**HYPERS).fit(frames[:30], y[:30])
    model.calibrate(frames[:30], y[:30], power_law=True)
    test = frames[30:]
    R = random_rotation(rng)
    mean, cov = model.predict(test, return_cov=True)
    _, cov_r = model.predict([rotated(a, R) for a in test], return_cov=True)
    Rk = kron_power(R, 2)
    np.testing.assert_allclose(cov_r, np.einsum("ia,nab,jb->nij", Rk, cov, Rk), rtol=0, atol=1e-9 * np.abs(cov).max())
    # held-out structures: calibrated sigma is the right size (coverage of the 95 % interval of
    # every component, 10 molecules x 9 components: loose bounds)
    std = np.sqrt(np.einsum("nii->ni", cov)).reshape(mean.shape)
    inside = np.mean(np.abs(y[30:] - mean) <= 1.96 * std)
    assert 0.7 <= inside <= 1.0


def test_calibrate_needs_variances_and_two_groups(models):
    frames, fitted = models
    with pytest.raises(ValueError, match="two groups"):
        fitted[2].calibrate(frames, targets(frames, 2), groups=np.zeros(len(frames)))
