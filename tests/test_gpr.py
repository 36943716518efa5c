"""Sparse and full GPR on feature arrays: exactness, blocking, contraction, symmetry zeros,
jitter, feature sparsification, equivariance, learning, persistence."""
import numpy as np
import pytest

from sagpr import _core
from sagpr.models import SAGPR, gpr, load
from symmetry import random_rotation, real_spherical_harmonics, wigner_d_real

CENTRES = np.linspace(0.5, 3.0, 10)


def environments(rng, n, n_neighbours=6):
    return [rng.normal(size=(n_neighbours, 3)) * 1.2 for _ in range(n)]


def radial(r):
    return np.exp(-((r[:, None] - CENTRES[None, :]) ** 2) / 0.3)


def features(envs, o3_lambda):
    """Equivariant synthetic features: x^lambda_{mu f} = sum_k g_f(r_k) Y_lambda,mu(r_k),
    x^0 = their l = 0..2 power spectrum, both normalised."""
    lam, zero = [], []
    for r in envs:
        dist = np.linalg.norm(r, axis=1)
        dens = {l: real_spherical_harmonics(l, r).T @ radial(dist) for l in range(3)}  # (2l+1, F)
        lam.append(dens[o3_lambda])
        zero.append(np.concatenate([(dens[l].T @ dens[l]).ravel() for l in range(3)]))
    lam, zero = np.array(lam), np.array(zero)
    lam /= np.sqrt(np.einsum("imf,imf->i", lam, lam))[:, None, None]
    zero /= np.linalg.norm(zero, axis=1)[:, None]
    return lam, zero


def target(envs):
    """A smooth lambda=2 field: sum over neighbours of f(r) Y_2(r^) (learnable by the kernel)."""
    out = []
    for r in envs:
        dist = np.linalg.norm(r, axis=1)
        out.append((np.exp(-dist) * dist ** 2)[:, None].T @ real_spherical_harmonics(2, r))
    return np.array(out)[:, 0, :]


def random_features(rng, n, d, f, f0):
    x = rng.normal(size=(n, d, f))
    x /= np.sqrt(np.einsum("imf,imf->i", x, x))[:, None, None]
    x0 = rng.normal(size=(n, f0)) + 3.0  # positive overlaps, like SOAP power spectra
    x0 /= np.linalg.norm(x0, axis=1)[:, None]
    return x, x0


def test_blocked_accumulation_equals_one_shot():
    rng = np.random.default_rng(0)
    x, x0 = random_features(rng, 45, 5, 12, 7)
    a, a0 = x[:6].copy(), x0[:6].copy()
    y = rng.normal(size=(45, 5))
    k = gpr.kernel(x, x0, a, a0, 2).reshape(45 * 5, 30)
    ktk, kty = gpr.accumulate(x, x0, y, a, a0, 2, chunk=13, block=4)
    np.testing.assert_allclose(np.tril(ktk), np.tril(k.T @ k), rtol=0, atol=1e-12)
    np.testing.assert_allclose(kty, k.T @ y.ravel(), rtol=0, atol=1e-12)
    with pytest.raises(TypeError):  # accumulators must be float64 arrays updated in place
        _core.accumulate_normal_equations(x, x0, y, a, a0, 2, ktk.astype(np.float32), kty, 4)


@pytest.mark.parametrize("o3_lambda", [0, 2])
def test_sparse_with_all_points_equals_full(o3_lambda):
    rng = np.random.default_rng(1)
    d = 2 * o3_lambda + 1
    x, x0 = random_features(rng, 30, d, 200, 40)
    if o3_lambda == 0:
        x = x0[:, None, :]
    y = rng.normal(size=(30, d))
    xt, x0t = random_features(rng, 10, d, 200, 40)
    if o3_lambda == 0:
        xt = x0t[:, None, :]
    kw = dict(o3_lambda=o3_lambda, regularizer=1e-3, progress=False, prediction="kernel")
    full = SAGPR(n_sparse=None, **kw).fit_features(x, x0, y)
    sparse = SAGPR(**kw).fit_features(x, x0, y, active=np.arange(30))  # M = N, sparse solver forced
    assert full.solver_ == "full" and sparse.solver_ == "sparse" and len(sparse.weights_) == 30
    assert SAGPR(n_sparse=30, **kw).fit_features(x, x0, y).solver_ == "full"  # M >= N: full GPR
    ref = full.predict_features(xt, x0t)
    np.testing.assert_allclose(sparse.predict_features(xt, x0t), ref, rtol=0, atol=1e-8 * np.abs(ref).max())


def test_full_gpr_matches_numpy_solve():
    rng = np.random.default_rng(2)
    x, x0 = random_features(rng, 20, 5, 30, 10)
    y = rng.normal(size=(20, 5))
    model = SAGPR(o3_lambda=2, n_sparse=None, regularizer=1e-2, progress=False).fit_features(x, x0, y)
    k = gpr.kernel(x, x0, x, x0, 2).reshape(100, 100)
    w = np.linalg.solve(k + 1e-2 * np.eye(100), y.ravel())
    np.testing.assert_allclose(model.weights_.ravel(), w, rtol=0, atol=1e-10 * np.abs(w).max())
    assert model.jitter_ == 0.0


def test_sparse_reproduces_training_targets():
    rng = np.random.default_rng(3)
    x, x0 = random_features(rng, 25, 5, 300, 50)
    y = rng.normal(size=(25, 5))
    model = SAGPR(o3_lambda=2, regularizer=1e-10, progress=False).fit_features(x, x0, y, active=np.arange(25))
    assert model.solver_ == "sparse"
    np.testing.assert_allclose(model.predict_features(x, x0), y, rtol=0, atol=1e-7)


@pytest.mark.parametrize("zeta", [1, 2])
@pytest.mark.parametrize("o3_lambda", [0, 2])
@pytest.mark.parametrize("n_features", [None, 15])
def test_contracted_prediction_equals_kernel_prediction(zeta, o3_lambda, n_features):
    rng = np.random.default_rng(4)
    envs = environments(rng, 60)
    x, x0 = features(envs, o3_lambda)
    y = target(envs) if o3_lambda == 2 else rng.normal(size=(60, 1))
    model = SAGPR(o3_lambda=o3_lambda, zeta=zeta, n_sparse=20, n_features=n_features, progress=False)
    model.fit_features(x, None if o3_lambda == 0 else x0, y)
    xt, x0t = features(environments(rng, 15), o3_lambda)
    x0t = None if o3_lambda == 0 else x0t
    a = model.predict_features(xt, x0t, method="kernel")
    b = model.predict_features(xt, x0t, method="contracted")
    # same sum in a different order: round-off is relative to sum |w| (|K| <= 1)
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-14 * np.abs(model.weights_).sum())


def test_auto_prediction_picks_cheaper_route():
    rng = np.random.default_rng(5)
    x, x0 = random_features(rng, 40, 5, 20, 10)
    model = SAGPR(o3_lambda=2, n_sparse=40, progress=False).fit_features(x, x0, rng.normal(size=(40, 5)))
    assert model.prediction_method() == "contracted"  # F F0 = 200 << M (25 F + F0) flops
    model.set_params(zeta=3)
    model.fit_features(x, x0, rng.normal(size=(40, 5)))
    assert model.prediction_method() == "kernel"
    with pytest.raises(ValueError, match="contracted"):
        model.set_params(prediction="contracted")


@pytest.mark.parametrize("method", ["kernel", "contracted"])
def test_symmetry_zero_environments_predict_exact_zero(method):
    rng = np.random.default_rng(6)
    x, x0 = random_features(rng, 30, 5, 20, 10)
    x[[3, 17]] = 0.0  # vanishing lambda=2 features, as LambdaSOAP gives on symmetric sites
    y = rng.normal(size=(30, 5))
    y[[3, 17]] = 0.0
    model = SAGPR(o3_lambda=2, n_sparse=30, regularizer=1e-4, progress=False).fit_features(x, x0, y)
    assert not np.isin([3, 17], model.active_indices_).any()
    assert len(model.active_indices_) == 28
    xt, x0t = random_features(rng, 5, 5, 20, 10)
    xt[1] = 0.0
    pred = model.predict_features(xt, x0t, method=method)
    assert np.all(pred[1] == 0.0)
    assert np.all(pred[[0, 2, 3, 4]] != 0.0)


def test_jitter_grows_only_as_needed():
    rng = np.random.default_rng(7)
    v = rng.normal(size=(10, 4))
    singular = v @ v.T  # rank 4 of 10
    b = singular @ rng.normal(size=10)
    original = singular.copy()
    w, jitter = _core.cholesky_solve(singular, b, -1.0)
    assert jitter > 0.0
    np.testing.assert_array_equal(singular, original)  # not overwritten unless asked
    np.testing.assert_allclose(singular @ w, b, atol=1e-4 * np.abs(b).max())
    w, jitter = _core.cholesky_solve(singular + np.eye(10), b, -1.0)
    assert jitter == 0.0
    with pytest.raises(RuntimeError, match="not positive definite"):
        _core.cholesky_solve(singular - np.eye(10), b, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        _core.cholesky_solve(np.full((2, 2), np.nan), np.ones(2), -1.0)


@pytest.mark.parametrize("method", ["fps", "pca"])
def test_feature_sparsification_error_shrinks_with_more_features(method):
    rng = np.random.default_rng(8)
    envs = environments(rng, 120)
    x, x0 = features(envs, 2)
    full = gpr.kernel(x, x0, x, x0, 2)
    errors = []
    for n in (300, 40, 8):
        model = SAGPR(o3_lambda=2, n_features=n, feature_selection=method, n_sparse=120,
                      progress=False).fit_features(x, x0, target(envs))
        xs, x0s = model._transform(x, x0)
        errors.append(np.abs(gpr.kernel(xs, x0s, xs, x0s, 2) - full).max())
    assert errors[0] == pytest.approx(0.0, abs=1e-12)  # all features kept (F = 10, F0 = 300)
    assert errors[0] < errors[1] < errors[2]
    print(method, "max kernel error with 300, 40, 8 features:", errors)


def test_pca_approximates_the_kernel_better_than_fps():
    rng = np.random.default_rng(16)
    envs = environments(rng, 150)
    x, x0 = features(envs, 2)
    full = gpr.kernel(x, x0, x, x0, 2)
    error = {}
    for method in ("fps", "pca"):
        model = SAGPR(o3_lambda=2, n_features=6, feature_selection=method, progress=False).fit_features(x, x0, target(envs))
        xs, x0s = model._transform(x, x0)
        error[method] = np.sqrt(((gpr.kernel(xs, x0s, xs, x0s, 2) - full) ** 2).mean())
    print("RMS kernel error with 6 features:", error)
    assert error["pca"] < error["fps"]


@pytest.mark.parametrize("selection", [None, "fps", "pca"])
def test_equivariant_predictions(selection):
    rng = np.random.default_rng(9)
    envs = environments(rng, 80)
    x, x0 = features(envs, 2)
    kw = {} if selection is None else dict(n_features=7, feature_selection=selection)
    model = SAGPR(o3_lambda=2, n_sparse=40, progress=False, **kw).fit_features(x, x0, target(envs))
    test = environments(rng, 5)
    rot = random_rotation(rng)
    pred = model.predict_features(*features(test, 2))
    pred_rot = model.predict_features(*features([r @ rot.T for r in test], 2))
    np.testing.assert_allclose(pred_rot, pred @ wigner_d_real(2, rot).T, rtol=0, atol=1e-10 * np.abs(pred).max())


def test_learning_curve_decreases():
    rng = np.random.default_rng(10)
    envs = environments(rng, 400)
    x, x0 = features(envs, 2)
    y = target(envs)
    test_envs = environments(rng, 100)
    xt, x0t = features(test_envs, 2)
    yt = target(test_envs)
    errors = []
    for n in (25, 100, 400):
        model = SAGPR(o3_lambda=2, n_sparse=200, regularizer=1e-8, progress=False).fit_features(x[:n], x0[:n], y[:n])
        errors.append(np.sqrt(((model.predict_features(xt, x0t) - yt) ** 2).mean()))
    assert errors[0] > errors[1] > errors[2]
    print("learning curve RMSE", errors, "target std", yt.std())
    assert errors[2] < 0.5 * errors[0]


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(11)
    envs = environments(rng, 50)
    x, x0 = features(envs, 2)
    model = SAGPR(o3_lambda=2, n_sparse=20, n_features=12, feature_selection="pca",
                  progress=False).fit_features(x, x0, target(envs))
    path = tmp_path / "model.sagpr"
    model.save(path)
    loaded = load(path)
    assert type(loaded) is SAGPR and loaded.get_params() == model.get_params()
    xt, x0t = features(environments(rng, 7), 2)
    np.testing.assert_array_equal(loaded.predict_features(xt, x0t), model.predict_features(xt, x0t))
    assert [p.name for p in tmp_path.iterdir()] == ["model.sagpr"]  # no temp file left behind


def test_load_rejects_foreign_corrupt_and_newer_files(tmp_path):
    import json
    import zipfile

    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="not a sagpr model file"):
        load(foreign)
    for name, content in (("text.txt", b"hello"), ("x.magres", b"[atoms]\n[/atoms]\n"), ("empty", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"{name}: not a sagpr model file") as info:
            load(tmp_path / name)
        assert "pickle" not in str(info.value)  # never advice to load a foreign file unsafely
    rng = np.random.default_rng(12)
    x, x0 = random_features(rng, 10, 5, 8, 4)
    good = tmp_path / "good.sagpr"
    SAGPR(o3_lambda=2, n_sparse=5, progress=False).fit_features(x, x0, rng.normal(size=(10, 5))).save(good)
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.sagpr"
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=str(corrupt.name)):
        load(corrupt)
    with zipfile.ZipFile(good) as z:
        header = json.loads(np.load(z.open("__sagpr_header__.npy")).tobytes())
    header["format_version"] = 99
    newer = tmp_path / "newer.sagpr"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(newer, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "__sagpr_header__.npy":
                import io
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
                data = buf.getvalue()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="format version 99"):
        load(newer)


def test_params_follow_sklearn_conventions():
    model = SAGPR(o3_lambda=2, zeta=3)
    params = model.get_params()
    assert params["zeta"] == 3 and params["o3_lambda"] == 2
    clone = SAGPR(**params)
    assert clone.get_params() == params
    assert model.set_params(regularizer=1e-3) is model and model.regularizer == 1e-3
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(bogus=1)
    with pytest.raises(TypeError):
        SAGPR(2)  # keyword-only
    for bad in (dict(zeta=0), dict(zeta=1.5), dict(regularizer=-1.0), dict(n_sparse=0), dict(jitter="big"),
                dict(cutoff=0.0), dict(prediction="fast"), dict(center_species="Xx")):
        with pytest.raises(ValueError):
            SAGPR(o3_lambda=2, **bad)
    with pytest.raises(RuntimeError, match="not fitted"):
        SAGPR(o3_lambda=2).predict_features(np.zeros((1, 5, 3)), np.zeros((1, 2)))


def test_fit_returns_self_and_checks_targets():
    rng = np.random.default_rng(13)
    x, x0 = random_features(rng, 10, 5, 8, 4)
    model = SAGPR(o3_lambda=2, n_sparse=5, progress=False)
    assert model.fit_features(x, x0, rng.normal(size=(10, 5))) is model
    with pytest.raises(ValueError, match="shape"):
        model.fit_features(x, x0, rng.normal(size=(10, 3)))
    y = rng.normal(size=(10, 5))
    y[4, 2] = np.nan
    with pytest.raises(ValueError, match="centre 4"):
        model.fit_features(x, x0, y)
    x[:] = 0.0
    with pytest.raises(ValueError, match="zero lambda features"):
        model.fit_features(x, x0, rng.normal(size=(10, 5)))


def test_prediction_checks_feature_shapes():
    rng = np.random.default_rng(14)
    x, x0 = random_features(rng, 12, 5, 8, 4)
    model = SAGPR(o3_lambda=2, n_sparse=5, n_features=3, progress=False).fit_features(x, x0, rng.normal(size=(12, 5)))
    with pytest.raises(ValueError, match="do not match"):
        model.predict_features(x[:, :, :6], x0)
    with pytest.raises(ValueError, match="do not match"):
        model.predict_features(x, x0[:, :3])
    with pytest.raises(ValueError, match="do not match"):
        model.predict_features(x[:, :3], x0)


def test_user_given_active_set():
    rng = np.random.default_rng(15)
    x, x0 = random_features(rng, 30, 5, 12, 6)
    y = rng.normal(size=(30, 5))
    fps = SAGPR(o3_lambda=2, n_sparse=8, progress=False).fit_features(x, x0, y)
    given = SAGPR(o3_lambda=2, n_sparse=3, progress=False).fit_features(x, x0, y, active=fps.active_indices_[::-1])
    np.testing.assert_array_equal(given.active_indices_, np.sort(fps.active_indices_))
    xt, x0t = random_features(rng, 4, 5, 12, 6)
    np.testing.assert_allclose(given.predict_features(xt, x0t), fps.predict_features(xt, x0t), rtol=0, atol=1e-10)
    mask = np.zeros(30, bool)
    mask[[1, 5]] = True
    assert list(SAGPR(o3_lambda=2, progress=False).fit_features(x, x0, y, active=mask).active_indices_) == [1, 5]
    for bad in ([], [30], np.zeros(5, bool), [0.5]):
        with pytest.raises(ValueError, match="active"):
            SAGPR(o3_lambda=2, progress=False).fit_features(x, x0, y, active=bad)
    x[2] = 0.0
    with pytest.raises(ValueError, match="active environment 2 has zero"):
        SAGPR(o3_lambda=2, progress=False).fit_features(x, x0, y, active=[2, 3])


def test_saved_file_has_usual_permissions(tmp_path):
    import os

    rng = np.random.default_rng(17)
    x, x0 = random_features(rng, 6, 5, 8, 4)
    path = tmp_path / "m.sagpr"
    SAGPR(o3_lambda=2, n_sparse=3, progress=False).fit_features(x, x0, rng.normal(size=(6, 5))).save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)
