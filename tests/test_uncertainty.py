"""Predictive covariances (SAGPR, TensorModel, ScalarModel), their calibration, and error bars of
the NMR observables (sagpr.uncertainty)."""
import numpy as np
import pytest

import sagpr
from sagpr import tensors, uncertainty
from sagpr.models import calibration

from symmetry import random_rotation, rotated, wigner_d_real
from synthetic_efg import random_cells

HYPERS = dict(center_species="Li", cutoff=4.0, max_radial=4, max_angular=3, progress=False)


@pytest.fixture(scope="module")
def frames():
    return random_cells(10, seed=3)


@pytest.fixture(scope="module")
def models(frames):
    """A sparse and a full-GPR EFG model on the first 7 frames."""
    return {"sparse": sagpr.TensorModel(n_sparse=15, regularizer=1e-6, **HYPERS).fit(frames[:7]),
            "full": sagpr.TensorModel(n_sparse=None, regularizer=1e-6, **HYPERS).fit(frames[:7])}


def _blocks(model, frames):
    return model.predict(frames, return_cov=True)[1][2]


# ------------------------------------------------------------------ covariance symmetry
@pytest.mark.parametrize("kind", ["sparse", "full"])
def test_covariance_rotates_as_d_tensor_d(models, frames, kind):
    rng = np.random.default_rng(5)
    R = random_rotation(rng)
    D = wigner_d_real(2, R)
    cov = _blocks(models[kind], frames[7:])
    cov_rot = _blocks(models[kind], [rotated(a, R) for a in frames[7:]])
    expected = np.einsum("am,imn,bn->iab", D, cov, D)
    assert np.abs(cov).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(cov_rot, expected, rtol=0, atol=1e-10 * np.abs(cov).max())


def test_covariance_invariant_to_translation_and_permutation(models, frames):
    model = models["sparse"]
    atoms = frames[8]
    cov = _blocks(model, [atoms])
    moved = atoms.copy()
    moved.positions += np.array([0.37, -1.2, 2.9])
    np.testing.assert_allclose(_blocks(model, [moved]), cov, rtol=0, atol=1e-10 * np.abs(cov).max())
    order = np.random.default_rng(0).permutation(len(atoms))
    perm = atoms[order]
    li = np.flatnonzero(atoms.numbers == 3)
    # the Li sites of the permuted frame, in the permuted order
    where = [int(np.flatnonzero(li == o)[0]) for o in order if atoms.numbers[o] == 3]
    np.testing.assert_allclose(_blocks(model, [perm]), cov[where], rtol=0, atol=1e-10 * np.abs(cov).max())


def test_covariance_is_symmetric_positive_semidefinite(models, frames):
    for model in models.values():
        cov = _blocks(model, frames[7:])
        np.testing.assert_allclose(cov, np.swapaxes(cov, 1, 2), atol=1e-14)
        assert np.linalg.eigvalsh(cov).min() > -1e-10 * np.abs(cov).max()


# ------------------------------------------------------------------ values of the variance
def test_full_gpr_variance_vanishes_at_training_sites(frames):
    model = sagpr.TensorModel(n_sparse=None, regularizer=1e-10, **HYPERS).fit(frames[:7])
    train = _blocks(model, frames[:7])
    test = _blocks(model, frames[7:])
    assert np.abs(train).max() < 1e-8
    assert np.trace(test, axis1=1, axis2=2).min() > 1e-4


def test_sparse_with_every_environment_active_equals_full_gpr(frames):
    """DTC with the active set = all training points is the full GPR, variance included."""
    n = sum(int((a.numbers == 3).sum()) for a in frames[:7])
    full = sagpr.TensorModel(n_sparse=None, regularizer=1e-3, jitter=0.0, **HYPERS).fit(frames[:7])
    sparse = sagpr.TensorModel(regularizer=1e-3, jitter=0.0, **HYPERS).fit(frames[:7], active=np.arange(n))
    assert sparse.models_[3][2].solver_ == "sparse" and full.models_[3][2].solver_ == "full"
    a, b = _blocks(full, frames[7:]), _blocks(sparse, frames[7:])
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-7 * np.abs(a).max())


def test_sparse_variance_does_not_vanish_far_from_the_active_set(frames):
    """Far from the data the DTC variance tends to the prior k** (SoR's would go to zero)."""
    model = sagpr.TensorModel(n_sparse=10, **HYPERS).fit(frames[:7])
    far = frames[8].copy()
    far.set_cell(far.cell.array * 1.6, scale_atoms=True)  # stretched: bonds beyond training
    blocks = _blocks(model, [far])
    sagpr_model = model.models_[3][2]
    x, x0 = sagpr_model.compute_features([far])
    xt, x0t = sagpr_model._transform(x, x0)
    prior = sagpr_model._prior_blocks(xt, x0t)
    ratio = np.trace(blocks, axis1=1, axis2=2) / np.trace(prior, axis1=1, axis2=2)
    assert ratio.min() > 0.3


def test_variance_grows_as_environment_leaves_the_training_data(frames):
    """A site's environment stretched step by step away from a training frame: its variance
    rises monotonically."""
    model = sagpr.TensorModel(n_sparse=None, regularizer=1e-8, **HYPERS).fit(frames[:7])
    base = frames[2]
    traces = []
    for s in np.linspace(1.0, 1.3, 7):
        atoms = base.copy()
        atoms.set_cell(base.cell.array * s, scale_atoms=True)
        traces.append(np.trace(_blocks(model, [atoms]), axis1=1, axis2=2))
    traces = np.array(traces)  # (steps, sites)
    assert np.all(np.diff(traces, axis=0) > 0)
    assert traces[0].max() < 1e-6 < traces[-1].min()


def test_scalar_model_variance(frames):
    y = np.concatenate([a.arrays["efg"][a.numbers == 3][:, 2, 2] for a in frames[:7]])
    model = sagpr.ScalarModel(target=None, n_sparse=None, regularizer=1e-10, **HYPERS).fit(frames[:7], y)
    mean, std, var = model.predict(frames, return_std=True, return_cov=True)
    np.testing.assert_array_equal(mean, model.predict(frames))
    np.testing.assert_allclose(std ** 2, var)
    assert std[: len(y)].max() < 1e-4 and std[len(y):].min() > 1e-3


def test_mean_unchanged_by_return_std(models, frames):
    for model in models.values():
        T, std = model.predict(frames[7:], return_std=True)
        np.testing.assert_array_equal(T, model.predict(frames[7:]))
        assert std.shape == T.shape


# ------------------------------------------------------------------ Cartesian covariance
def test_cartesian_covariance_of_symmetric_traceless_prediction_is_lambda_2(models, frames):
    model = models["sparse"]
    _, cart = model.predict(frames[7:], return_cov="cartesian")
    blocks = _blocks(model, frames[7:])
    n = len(cart)
    c9 = cart.reshape(n, 9, 9)
    B = tensors.spherical_to_cartesian({2: np.eye(5)}).reshape(5, 9)  # orthonormal rows
    P2 = B.T @ B
    other = np.eye(9) - P2  # lambda = 0 and 1 directions
    assert np.abs(np.einsum("ab,nbc,cd->nad", other, c9, other)).max() < 1e-14 * np.abs(c9).max()
    assert np.abs(np.einsum("ab,nbc->nac", other, c9)).max() < 1e-14 * np.abs(c9).max()
    np.testing.assert_allclose(np.einsum("ia,nab,jb->nij", B, c9, B), blocks, atol=1e-14)
    _, std = model.predict(frames[7:], return_std=True)
    np.testing.assert_allclose(std.reshape(n, 9) ** 2, np.einsum("nii->ni", c9), atol=1e-15)


# ------------------------------------------------------------------ persistence
def test_saved_model_gives_identical_uncertainties(models, frames, tmp_path):
    for name, model in models.items():
        model.calibrate(frames[:7], n_folds=3)
        path = tmp_path / f"{name}.sagpr"
        model.save(path)
        loaded = sagpr.load(path)
        T, std, cov = model.predict(frames[7:], return_std=True, return_cov=True)
        T2, std2, cov2 = loaded.predict(frames[7:], return_std=True, return_cov=True)
        np.testing.assert_array_equal(std2, std)
        np.testing.assert_array_equal(cov2[2], cov[2])
        assert loaded.calibration() == model.calibration()


def test_old_model_files_still_load(models, frames, tmp_path):
    """Files without the stored factors: a full GPR rebuilds its factor, a sparse one says why not."""
    import json
    import zipfile

    for name, model in models.items():
        model.models_[3][2].set_calibration(None)
        path, old = tmp_path / "new.sagpr", tmp_path / f"old_{name}.sagpr"
        model.save(path)
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
            for item in src.namelist():
                if "factor_" in item:
                    continue
                data = src.read(item)
                if item.startswith("__sagpr_header__"):
                    header_npy = data
                    header = json.loads(np.load(__import__("io").BytesIO(header_npy)).tobytes().decode())
                    header["arrays"] = [a for a in header["arrays"] if "factor_" not in a]
                    for part in header["state"]["parts"].values():
                        for key in ("calibration_", "y_spread_", "metric_jitter_"):
                            part.pop(key, None)
                    buf = __import__("io").BytesIO()
                    np.save(buf, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
                    data = buf.getvalue()
                dst.writestr(item, data)
        loaded = sagpr.load(old)
        np.testing.assert_array_equal(loaded.predict(frames[7:]), model.predict(frames[7:]))
        if name == "full":
            np.testing.assert_allclose(_blocks(loaded, frames[7:]), _blocks(model, frames[7:]), rtol=0, atol=1e-12)
        else:
            with pytest.raises(ValueError, match="refit"):
                loaded.predict(frames[7:], return_std=True)


# ------------------------------------------------------------------ calibration
def test_calibration_recovers_a_known_scale():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4000, 5, 5))
    raw = A @ np.swapaxes(A, 1, 2) / 5
    true = 3.7
    r = np.einsum("nij,nj->ni", np.linalg.cholesky(true * raw), rng.normal(size=(4000, 5)))
    fit = calibration.fit(r, raw, power_law=False)
    assert abs(fit["scale"] / true - 1) < 0.05
    assert abs(fit["coverage95"] - 0.95) < 0.01 and fit["coverage95_raw"] < 0.85
    # a power law: residual variance s^2 (b = 2), found as such
    s = np.exp(rng.uniform(-2, 2, 4000))
    r2 = rng.normal(size=4000) * s
    law = calibration.fit(r2, s, power_law=True)
    assert abs(law["power"] - 2.0) < 0.1
    assert calibration.fit(r2, s, power_law="auto")["power"] != 1.0


def test_calibrate_stores_scale_and_changes_std_by_its_root(frames):
    model = sagpr.TensorModel(n_sparse=15, **HYPERS).fit(frames[:7])
    _, raw = model.predict(frames[7:], return_std=True)
    result = model.calibrate(frames[:7], n_folds=3, power_law=False)
    assert set(result) == {(3, 2)} and result[(3, 2)]["n_folds"] == 3
    _, cal = model.predict(frames[7:], return_std=True)
    np.testing.assert_allclose(cal, raw * np.sqrt(result[(3, 2)]["scale"]), rtol=1e-12)
    assert "cross-validation sites" in calibration.describe(result[(3, 2)])


def test_sagpr_calibrate_matches_the_tensor_model(frames):
    """SAGPR.calibrate on the lambda=2 components gives the TensorModel's calibration (same folds)."""
    model = sagpr.TensorModel(n_sparse=15, **HYPERS).fit(frames[:7])
    expected = model.calibrate(frames[:7], n_folds=3, power_law=False)[(3, 2)]
    y = np.concatenate([tensors.symmetric_traceless_to_l2(a.arrays["efg"][a.numbers == 3]) for a in frames[:7]])
    kw = {k: v for k, v in HYPERS.items() if k != "center_species"}
    single = sagpr.SAGPR(o3_lambda=2, center_species="Li", n_sparse=15, **kw).fit(frames[:7], y)
    got = single.calibrate(frames[:7], y, n_folds=3, power_law=False)
    assert abs(got["scale"] / expected["scale"] - 1) < 1e-6 and got["n_sites"] == expected["n_sites"]
    _, std = single.predict(frames[7:], return_std=True)
    _, raw = single.predict_features(*single.compute_features(frames[7:]), return_std=True, calibrated=False)
    np.testing.assert_allclose(std, raw * np.sqrt(got["scale"]), rtol=1e-12)
    with pytest.raises(ValueError, match="two groups"):
        single.calibrate(frames[:7], y, groups=[0] * 7)


def test_refit_drops_the_calibration(frames):
    model = sagpr.TensorModel(n_sparse=15, **HYPERS).fit(frames[:7])
    model.calibrate(frames[:7], n_folds=3)
    model.fit(frames[:7])
    assert model.calibration() == {(3, 2): None}


def test_out_of_domain_flags_stretched_frames(frames):
    model = sagpr.TensorModel(n_sparse=None, **HYPERS).fit(frames[:7])
    far = frames[8].copy()
    far.set_cell(far.cell.array * 1.6, scale_atoms=True)
    test = [frames[1], far]
    blocks = _blocks(model, test)
    rel = calibration.relative_std(blocks, model.training_spread()[(3, 2)])
    flagged = calibration.out_of_domain(rel, model.site_index(test), threshold=0.3)
    assert flagged and {f for f, _, _ in flagged} == {1}
    np.testing.assert_allclose(model.relative_uncertainty(test, {2: blocks}), rel)
    line = calibration.describe_out_of_domain(flagged, test, 0.3)
    assert line.startswith(f"{len(flagged)} site(s)") and "frame 1: atom" in line and "\n" not in line
    assert calibration.describe_out_of_domain([], test, 0.3) == ""


def test_joint_covariance_diagonal_blocks_are_the_site_blocks(models, frames):
    model = models["sparse"]
    model.calibrate(frames[:7], n_folds=3, power_law=True)
    for calibrated in (False, True):
        (joint, site_frames), = model.joint_covariance(frames[7:], calibrated=calibrated).values()
        n = len(site_frames)
        diag = np.einsum("iaib->iab", joint.reshape(n, 5, n, 5))
        blocks = model.predict_spherical(frames[7:], return_cov=True)[1][2] if calibrated else \
            model.models_[3][2].covariance_features(*model.models_[3][2].compute_features(frames[7:]), calibrated=False)
        np.testing.assert_allclose(diag, blocks, rtol=0, atol=1e-10 * np.abs(blocks).max())
    model.models_[3][2].set_calibration(None)


# ------------------------------------------------------------------ prefix covariance
PREFIX = dict(n_sparse=20, regularizer=1e-4, jitter=1e-10, **HYPERS)  # a fixed jitter: the same in every fit


@pytest.fixture(scope="module")
def prefix_model(frames):
    """A sparse model (20 of 28 Li active) whose covariance uses its first 8 active points."""
    return sagpr.TensorModel(uncertainty_n_sparse=8, **PREFIX).fit(frames[:7])


@pytest.mark.parametrize("m", [1, 8, 13])
def test_prefix_covariance_is_that_of_the_model_fitted_on_the_prefix(prefix_model, frames, m):
    """The leading blocks of the stored factors give exactly the DTC covariance of the sparse GP
    whose active set is the first m active points (fitted here explicitly)."""
    model = sagpr.TensorModel(uncertainty_n_sparse=m, **PREFIX).fit(frames[:7])
    order = model.models_[3][2].active_indices_
    assert list(order) == list(prefix_model.models_[3][2].active_indices_)
    small = sagpr.TensorModel(**PREFIX).fit(frames[:7], active=order[:m])
    assert len(small.models_[3][2].weights_) == m and small.models_[3][2].solver_ == "sparse"
    # FPS is greedy: the prefix is the active set a model of m active points would pick itself
    fps = sagpr.TensorModel(**dict(PREFIX, n_sparse=m)).fit(frames[:7])
    assert list(fps.models_[3][2].active_indices_) == list(order[:m])
    T, cov = model.predict(frames[7:], return_cov=True)
    expected = _blocks(small, frames[7:])
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(cov[2], expected, rtol=0, atol=1e-10 * np.abs(expected).max())
    np.testing.assert_array_equal(T, model.predict(frames[7:]))  # the mean stays the full model's
    full = sagpr.TensorModel(**PREFIX).fit(frames[:7])
    # fewer active points: the Nystroem residual k** - Q** can only grow
    assert np.trace(cov[2], axis1=1, axis2=2).sum() > np.trace(_blocks(full, frames[7:]), axis1=1, axis2=2).sum()


def test_prefix_covariance_of_a_scalar_model(frames):
    y = np.concatenate([a.arrays["efg"][a.numbers == 3][:, 2, 2] for a in frames[:7]])
    model = sagpr.ScalarModel(target=None, uncertainty_n_sparse=6, **PREFIX).fit(frames[:7], y)
    small = sagpr.ScalarModel(target=None, **PREFIX).fit(frames[:7], y, active=model.models_[3][0].active_indices_[:6])
    var, expected = model.predict(frames[7:], return_cov=True)[1], small.predict(frames[7:], return_cov=True)[1]
    np.testing.assert_allclose(var, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_prefix_of_every_active_point_is_the_exact_route(frames):
    exact = sagpr.TensorModel(**PREFIX).fit(frames[:7])
    reference = _blocks(exact, frames[7:])
    for m in (20, 21, 10 ** 6):
        exact.set_params(uncertainty_n_sparse=m)
        assert exact.models_[3][2].covariance_size() == 20
        np.testing.assert_array_equal(_blocks(exact, frames[7:]), reference)
    full = sagpr.TensorModel(**dict(PREFIX, n_sparse=None)).fit(frames[:7])
    reference = _blocks(full, frames[7:])
    full.set_params(uncertainty_n_sparse=3)  # a full GPR stays exact
    assert full.models_[3][2].covariance_size() == 28
    np.testing.assert_array_equal(_blocks(full, frames[7:]), reference)


def test_auto_covariance_size_is_the_largest_prefix_within_the_prediction_flops(frames, monkeypatch):
    """uncertainty_n_sparse="auto": the largest prefix whose covariance costs no more flops per
    site than the model's mean prediction, at least AUTO_MIN_COVARIANCE_SIZE points; its
    covariance is that of the same prefix asked for by number."""
    from sagpr.models import gpr, spherical

    assert sagpr.TensorModel().uncertainty_n_sparse is None  # the exact covariance by default
    model = sagpr.TensorModel(uncertainty_n_sparse="auto", **PREFIX).fit(frames[:7])
    part = model.models_[3][2]
    m_all, d, f = part.active_features_.shape
    f0 = part.active_features0_.shape[1]
    kernel_cost, contracted_cost = gpr.prediction_costs(d, f, f0, m_all, part.zeta)
    budget = contracted_cost if part.prediction_method() == "contracted" else kernel_cost
    rule = max(m for m in range(1, m_all + 1) if gpr.covariance_cost(d, f, f0, m) <= budget)
    assert 1 < rule < m_all  # the rule bites on this model (small features, 20 active points)
    assert part.covariance_size() == min(m_all, spherical.AUTO_MIN_COVARIANCE_SIZE) == m_all  # the floor
    monkeypatch.setattr(spherical, "AUTO_MIN_COVARIANCE_SIZE", 1)
    assert part.covariance_size() == rule
    auto = _blocks(model, frames[7:])
    model.set_params(uncertainty_n_sparse=rule)
    np.testing.assert_array_equal(_blocks(model, frames[7:]), auto)
    model.set_params(uncertainty_n_sparse=None)
    assert not np.allclose(_blocks(model, frames[7:]), auto)
    # the route the mean takes sets the budget: the kernel route affords more points
    part.uncertainty_n_sparse = "auto"
    assert part.covariance_size() == rule
    part.prediction = "kernel"
    assert rule < part.covariance_size() < m_all
    # at sagpr's default descriptor (F = 4680 lambda=2 and 2100 lambda=0 features for LTO Li, M = 1000):
    # ~75 points for an EFG, ~870 for a scalar, whose kernel rows are d^2 = 25 times cheaper
    sizes = np.arange(1, 1001)
    efg = sizes[gpr.covariance_cost(5, 4680, 2100, sizes) <= gpr.prediction_costs(5, 4680, 2100, 1000, 2)[1]]
    scalar = sizes[gpr.covariance_cost(1, 2100, 2100, sizes) <= gpr.prediction_costs(1, 2100, 2100, 1000, 2)[1]]
    assert 60 <= efg[-1] <= 90 and scalar[-1] >= 850


def test_auto_is_read_from_the_command_line_and_checked():
    from sagpr import settings

    assert settings.parse("uncertainty_n_sparse", "auto") == "auto"
    assert settings.parse("uncertainty_n_sparse", "none") is None
    assert settings.parse("uncertainty_n_sparse", "40") == 40
    assert settings.parse("uncertainty_n_sparse", "Auto") == "auto"
    for bad in ("automatic", "all"):
        with pytest.raises(ValueError, match="uncertainty_n_sparse must be an integer"):
            settings.check("uncertainty_n_sparse", settings.parse("uncertainty_n_sparse", bad))


def test_prefix_covariance_rotates_as_d_tensor_d(prefix_model, frames):
    R = random_rotation(np.random.default_rng(11))
    D = wigner_d_real(2, R)
    cov = _blocks(prefix_model, frames[7:])
    cov_rot = _blocks(prefix_model, [rotated(a, R) for a in frames[7:]])
    assert np.abs(cov).max() > 1e-3
    np.testing.assert_allclose(cov_rot, np.einsum("am,imn,bn->iab", D, cov, D), rtol=0,
                               atol=1e-10 * np.abs(cov).max())
    (joint, _), = prefix_model.joint_covariance(frames[7:]).values()
    n = len(cov)
    np.testing.assert_allclose(np.einsum("iaib->iab", joint.reshape(n, 5, n, 5)), cov, rtol=0,
                               atol=1e-10 * np.abs(cov).max())


def test_calibration_belongs_to_its_prefix_and_is_saved_with_it(frames, tmp_path):
    import io
    import json
    import zipfile

    # 10 active points: the 3 folds' models (about 18 Li each) are sparse too, so their covariances
    # are prefix covariances (a fold smaller than n_sparse would be a full GPR, exact whatever M')
    model = sagpr.TensorModel(uncertainty_n_sparse=8, **dict(PREFIX, n_sparse=10)).fit(frames[:7])
    cal = model.calibrate(frames[:7], n_folds=3, power_law=False)[(3, 2)]
    assert cal["covariance_size"] == 8 and cal["uncertainty_n_sparse"] == 8
    T, std = model.predict(frames[7:], return_std=True)
    model.save(tmp_path / "m.sagpr")
    loaded = sagpr.load(tmp_path / "m.sagpr")
    assert loaded.uncertainty_n_sparse == 8 and loaded.calibration() == model.calibration()
    T2, std2, cov2 = loaded.predict(frames[7:], return_std=True, return_cov=True)
    np.testing.assert_array_equal(std2, std)
    np.testing.assert_array_equal(cov2[2], model.predict(frames[7:], return_cov=True)[1][2])
    # the scale of the 8-point covariance is refused for another one, until calibrated again
    loaded.set_params(uncertainty_n_sparse=None)
    with pytest.raises(ValueError, match=r"fitted for covariances on 8 active points.*uses 10: calibrate again") as err:
        loaded.predict(frames[7:], return_std=True)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="calibrate again"):
        loaded.joint_covariance(frames[7:], calibrated=True)
    loaded.uncertainty_n_sparse = 8  # set as an attribute: the parts follow too
    np.testing.assert_array_equal(loaded.predict(frames[7:], return_std=True)[1], std)
    loaded.set_params(uncertainty_n_sparse=None)
    exact = loaded.calibrate(frames[:7], n_folds=3, power_law=False)[(3, 2)]
    assert exact["covariance_size"] == 10 and exact["scale"] != cal["scale"]
    assert np.isfinite(loaded.predict(frames[7:], return_std=True)[1]).all()
    # files written before the setting existed load with None (their calibration is of every point)
    old = tmp_path / "old.sagpr"
    with zipfile.ZipFile(tmp_path / "m.sagpr") as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item.startswith("__sagpr_header__"):
                header = json.loads(np.load(io.BytesIO(data)).tobytes().decode())
                del header["params"]["uncertainty_n_sparse"]
                for part in header["state"]["parts"].values():
                    part["calibration_"] = {k: v for k, v in part["calibration_"].items()
                                            if k not in ("covariance_size", "uncertainty_n_sparse")}
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
                data = buf.getvalue()
            dst.writestr(item, data)
    legacy = sagpr.load(old)
    assert legacy.uncertainty_n_sparse is None and legacy.models_[3][2].uncertainty_n_sparse is None
    assert legacy.models_[3][2].current_calibration()["scale"] == cal["scale"]  # taken as the exact route's


def test_bad_uncertainty_n_sparse_is_a_one_line_error(prefix_model, frames):
    for bad in (0, -3, 2.5, "all", True):
        with pytest.raises(ValueError, match="uncertainty_n_sparse must be an integer >= 1") as err:
            sagpr.SAGPR(o3_lambda=2, uncertainty_n_sparse=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="uncertainty_n_sparse"):
        sagpr.TensorModel(**HYPERS).set_params(uncertainty_n_sparse=0)
    model = sagpr.TensorModel(**PREFIX).fit(frames[:7])
    model.uncertainty_n_sparse = 0
    with pytest.raises(ValueError, match="uncertainty_n_sparse must be an integer >= 1"):
        model.predict(frames[7:], return_std=True)


# ------------------------------------------------------------------ observables
def _gaussian(n, scale, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(n, 5))
    A = rng.normal(size=(n, 5, 5)) * scale
    return c, A @ np.swapaxes(A, 1, 2)


def test_sampling_and_linearisation_agree_for_small_uncertainty():
    c, cov = _gaussian(20, 1e-3)
    kw = dict(isotopes="27Al", b0=(0.3, 0.2, 1.0))
    s = uncertainty.observable_uncertainty(c, cov, n_samples=4000, seed=2, **kw)
    lin = uncertainty.observable_uncertainty(c, cov, method="linear", **kw)
    for name in ("cq", "eta", "theta", "phi", "omega_q"):
        np.testing.assert_allclose(s[name]["std"], lin[name]["std"], rtol=0.08)
        np.testing.assert_array_equal(s[name]["value"], lin[name]["value"])
        assert np.all(s[name]["low95"] < s[name]["value"]) and np.all(s[name]["value"] < s[name]["high95"])
    np.testing.assert_allclose(s["q_tilde"]["value"], 1.0, atol=1e-12)
    assert np.all(s["q_tilde"]["low95"] < 1.0)


def test_omega_q_linearisation_is_exact():
    """omega_Q is linear in V: its std is sqrt(g^T C g), g the gradient, at any uncertainty."""
    c, cov = _gaussian(6, 0.5, seed=1)
    b = np.array([0.0, 0.6, 0.8])
    lin = uncertainty.observable_uncertainty(c, cov, "7Li", b0=b, method="linear")
    from sagpr import nmr

    B = tensors.spherical_to_cartesian({2: np.eye(5)})
    g = np.einsum("i,mij,j->m", b, B, b) * nmr.omega_q_prefactor(1.5) * nmr.CQ_MHZ_PER_AU_MB * -40.1 * 1e3
    np.testing.assert_allclose(lin["omega_q"]["std"], np.sqrt(np.einsum("m,nmk,k->n", g, cov, g)), rtol=1e-6)


def test_observable_intervals_cover_draws_of_the_same_gaussian():
    """References drawn from the predicted Gaussian fall in the 95 % interval ~95 % of the time."""
    c, cov = _gaussian(300, 0.05, seed=4)
    rng = np.random.default_rng(9)
    draws = c + np.einsum("nij,nj->ni", np.linalg.cholesky(cov + 1e-15 * np.eye(5)), rng.normal(size=c.shape))
    res = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=500, seed=1)
    ref = uncertainty.reference_observables(tensors.l2_to_symmetric_traceless(draws), c, "27Al")
    cov95 = uncertainty.coverage(res, ref, 95)
    for name in ("cq", "eta", "theta", "phi", "omega_q", "q_tilde"):
        assert 0.91 < cov95[name] < 0.99, (name, cov95[name])
    assert set(uncertainty.as_columns(res, ["cq"])) == {"cq_std", "cq_low68", "cq_high68", "cq_low95", "cq_high95"}


def test_observables_sampling_is_seeded_and_rotation_invariant():
    c, cov = _gaussian(5, 0.05)
    a = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=300, seed=7)
    b = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=300, seed=7)
    np.testing.assert_array_equal(a["cq"]["std"], b["cq"]["std"])
    R = random_rotation(np.random.default_rng(3))
    D = wigner_d_real(2, R)
    # the structure and the field rotated together: C_Q, eta, the angles and omega_Q keep their
    # distribution (exactly for the linearisation, to sampling noise for the draws)
    args = (c @ D.T, np.einsum("am,nmk,bk->nab", D, cov, D), "27Al")
    b0 = R @ np.array([0.0, 0.0, 1.0])
    lin = uncertainty.observable_uncertainty(c, cov, "27Al", method="linear")
    lin_rot = uncertainty.observable_uncertainty(*args, b0=b0, method="linear")
    rot = uncertainty.observable_uncertainty(*args, b0=b0, n_samples=2000, seed=8)
    ref = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=2000, seed=7)
    # theta depends on the sign rule of the PAS z axis (nmr), not rotation-covariant: theta ~ 180 - theta
    fold = {"theta": lambda t: np.minimum(t, 180.0 - t), "phi": np.abs}
    for name in ("cq", "eta", "theta", "phi", "omega_q"):
        f = fold.get(name, lambda v: v)
        np.testing.assert_allclose(f(lin_rot[name]["value"]), f(lin[name]["value"]), atol=1e-8)
        np.testing.assert_allclose(lin_rot[name]["std"], lin[name]["std"], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(rot[name]["std"], ref[name]["std"], rtol=0.12)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ValueError, match=r"\(2, 5, 5\)"):
        uncertainty.observable_uncertainty(np.zeros((2, 5)), np.zeros((2, 3, 3)), "27Al")
    with pytest.raises(ValueError, match="method"):
        uncertainty.observable_uncertainty(np.zeros((2, 5)), np.zeros((2, 5, 5)), "27Al", method="exact")


# ------------------------------------------------------------------ distributed fit
def test_distributed_fit_gives_the_same_uncertainties(frames):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        serial = sagpr.TensorModel(n_sparse=15, **HYPERS).fit(frames[:7], block_size=10)
        remote = sagpr.TensorModel(n_sparse=15, **HYPERS).fit(frames[:7], client=client, block_size=10)
        serial.set_params(uncertainty_n_sparse=6)  # the workers' copies take the parameter along
        prefix = serial.predict(frames[7:], return_cov=True, client=client)[1][2]
    finally:
        client.close()
        cluster.close()
    np.testing.assert_array_equal(prefix, _blocks(serial, frames[7:]))
    serial.set_params(uncertainty_n_sparse=None)
    np.testing.assert_array_equal(_blocks(remote, frames[7:]), _blocks(serial, frames[7:]))
    assert not np.allclose(prefix, _blocks(serial, frames[7:]))


def test_positive_sign_convention_draws_keep_vzz_positive():
    c, cov = _gaussian(10, 0.3, seed=6)
    res = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=300, sign_convention="positive")
    assert np.all(res["cq"]["low95"] >= 0.0) and np.all(res["cq"]["value"] > 0.0)  # Q(27Al) > 0
    signed = uncertainty.observable_uncertainty(c, cov, "27Al", n_samples=300)
    assert np.any(signed["cq"]["value"] < 0.0)
    np.testing.assert_allclose(res["eta"]["std"], signed["eta"]["std"])  # eta does not see the sign
    ref = uncertainty.reference_observables(-tensors.l2_to_symmetric_traceless(c), c, "27Al", sign_convention="positive")
    np.testing.assert_allclose(ref["cq"], res["cq"]["value"])
