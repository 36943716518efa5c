"""lambda-SOAP kernels and FPS of the C++ core against slow NumPy references."""
import numpy as np
import pytest

from sagpr import _core
from sagpr.models import gpr, kernel


def reference_kernel(x, x0, a, a0, zeta):
    """K[i, mu, j, nu] = (x_{i mu} . a_{j nu}) (x0_i . a0_j)^(zeta - 1), by explicit loops."""
    n, d, _ = x.shape
    m = len(a)
    k = np.zeros((n, d, m, d))
    for i in range(n):
        for j in range(m):
            s = float(x0[i] @ a0[j]) ** (zeta - 1)
            for mu in range(d):
                for nu in range(d):
                    k[i, mu, j, nu] = float(x[i, mu] @ a[j, nu]) * s
    return k


def normalised(rng, n, d, f):
    x = rng.normal(size=(n, d, f))
    return x / np.sqrt(np.einsum("imf,imf->i", x, x))[:, None, None]


@pytest.mark.parametrize("zeta", [1, 2, 3, 4])
@pytest.mark.parametrize("d", [1, 3, 5])
def test_kernel_matches_reference(zeta, d):
    rng = np.random.default_rng(zeta * 10 + d)
    x, a = normalised(rng, 7, d, 13), normalised(rng, 5, d, 13)
    x0, a0 = normalised(rng, 7, 1, 6)[:, 0], normalised(rng, 5, 1, 6)[:, 0]
    np.testing.assert_allclose(kernel(x, x0, a, a0, zeta), reference_kernel(x, x0, a, a0, zeta), rtol=0, atol=1e-14)


def test_kernel_blocks_larger_than_one_block():
    # more rows than the internal 256-environment block, so the OpenMP split is exercised
    rng = np.random.default_rng(1)
    x, a = normalised(rng, 600, 5, 8), normalised(rng, 4, 5, 8)
    x0, a0 = rng.normal(size=(600, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(kernel(x, x0, a, a0, 2), reference_kernel(x, x0, a, a0, 2), rtol=0, atol=1e-13)


def test_lambda0_kernel_is_soap_kernel_power():
    rng = np.random.default_rng(2)
    x0 = normalised(rng, 6, 1, 9)[:, 0]
    k = kernel(x0[:, None, :], x0, x0[:, None, :], x0, 3)[:, 0, :, 0]
    np.testing.assert_allclose(k, (x0 @ x0.T) ** 3, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.diag(k), 1.0, atol=1e-14)


def test_kernel_is_equivariant():
    """Rotating environment i's lambda features by D rotates its kernel rows by D."""
    from symmetry import random_rotation, wigner_d_real

    rng = np.random.default_rng(3)
    x, a = normalised(rng, 3, 5, 10), normalised(rng, 4, 5, 10)
    x0, a0 = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    d = wigner_d_real(2, random_rotation(rng))
    k = kernel(x, x0, a, a0, 2)
    k_rot = kernel(np.einsum("mn,inf->imf", d, x), x0, a, a0, 2)
    np.testing.assert_allclose(k_rot, np.einsum("mn,injb->imjb", d, k), rtol=0, atol=1e-13)


def test_kernel_bad_input():
    rng = np.random.default_rng(4)
    x, x0 = rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 2))
    with pytest.raises(ValueError, match="zeta"):
        _core.kernel(x, x0, x, x0, 0)
    with pytest.raises(ValueError, match="shapes differ"):
        _core.kernel(x, x0, x[:, :3], x0, 2)
    with pytest.raises(ValueError, match="different numbers of environments"):
        _core.kernel(x, x0[:2], x, x0, 2)
    with pytest.raises(ValueError, match="NaN"):
        gpr.as_features(np.full((2, 1, 3), np.nan), np.zeros((2, 3)))
    # the NumPy-GEMM kernel the workflows use checks the same
    with pytest.raises(ValueError, match="zeta"):
        gpr.kernel(x, x0, x, x0, 0)
    with pytest.raises(ValueError, match="cannot be paired"):
        gpr.kernel(x, x0, x[:, :3], x0, 2)
    with pytest.raises(ValueError, match="cannot be paired"):
        gpr.kernel(x, x0, x, x0[:, :1], 2)


def reference_fps(x, k, first):
    chosen = [first]
    dist = np.full(len(x), np.inf)
    for _ in range(k - 1):
        dist = np.minimum(dist, ((x - x[chosen[-1]]) ** 2).sum(axis=1))
        dist[chosen] = -1
        chosen.append(int(np.argmax(dist)))
    return chosen


def test_fps_matches_reference_and_is_deterministic():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 7))
    idx, dist = _core.farthest_point_sampling(x, 40, 11)
    assert list(idx) == reference_fps(x, 40, 11)
    assert np.all(np.diff(dist[1:]) <= 1e-12)  # max-min distances never grow
    again, _ = _core.farthest_point_sampling(x, 40, 11)
    np.testing.assert_array_equal(idx, again)


def test_pruned_fps_picks_exactly_what_the_plain_algorithm_picks():
    """The C++ FPS skips rows by the triangle inequality: on clustered data (where most rows are
    skipped late in the run), with near-duplicates and all picks, it must equal the plain max-min
    selection pick for pick, distances included."""
    rng = np.random.default_rng(8)
    centres = rng.normal(size=(12, 6))
    x = np.repeat(centres, 40, axis=0) + 1e-3 * rng.normal(size=(480, 6))
    x[100] = x[101]  # an exact duplicate inside a cluster
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for first in (0, 137):
        idx, dist = _core.farthest_point_sampling(x, len(x), first)
        ref = reference_fps(x, len(x), first)
        assert list(idx) == ref
        d_ref = [min(((x[ref[i]] - x[ref[j]]) ** 2).sum() for j in range(i)) for i in range(1, 60)]
        np.testing.assert_allclose(dist[1:60], d_ref, rtol=0, atol=1e-12)


def test_fps_never_repeats_and_active_set_stops_at_duplicates():
    x = np.repeat(np.eye(3), 4, axis=0)  # 3 distinct points, each 4 times
    idx, _ = _core.farthest_point_sampling(x, 12, 0)
    assert len(set(idx)) == 12
    active = gpr.select_active(x, 10, random_state=0)
    assert len(active) == 3 and len({tuple(x[i]) for i in active}) == 3
    with pytest.raises(ValueError, match="cannot select"):
        _core.farthest_point_sampling(x, 13, 0)


@pytest.mark.parametrize("zeta", [1, 2, 3])
def test_symmetric_kernel_equals_general_kernel(zeta):
    rng = np.random.default_rng(6)
    x = normalised(rng, 300, 5, 9)  # several 128-environment tiles
    x0 = rng.normal(size=(300, 4))
    k = _core.kernel_symmetric(x, x0, zeta)
    np.testing.assert_allclose(k, _core.kernel(x, x0, x, x0, zeta), rtol=0, atol=1e-13 * np.abs(k).max())
    np.testing.assert_allclose(k, gpr.kernel(x, x0, x, x0, zeta).reshape(k.shape), rtol=0, atol=1e-13 * np.abs(k).max())
    np.testing.assert_array_equal(k, k.T)


def test_projection_is_exact_per_row_and_independent_of_batching():
    rng = np.random.default_rng(3)
    rows, proj = rng.normal(size=(37, 50)), rng.normal(size=(50, 7))
    whole = _core.project_rows(rows, proj)
    np.testing.assert_allclose(whole, rows @ proj, rtol=0, atol=1e-12)
    # bit-identical whatever the batch: serial and distributed fits project different batches
    parts = np.concatenate([_core.project_rows(rows[i:i + 5], proj) for i in range(0, 37, 5)])
    np.testing.assert_array_equal(parts, whole)
    with pytest.raises(ValueError, match="columns"):
        _core.project_rows(rows, proj[:10])


def test_normal_equations_do_not_depend_on_the_thread_count():
    import sagpr

    rng = np.random.default_rng(4)
    x, x0 = rng.normal(size=(150, 5, 40)), rng.normal(size=(150, 12))
    a, a0 = x[:70].copy(), x0[:70].copy()  # 70 active: two panels of 64, one partial
    y = rng.normal(size=(150, 5))
    before = sagpr.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            sagpr.set_num_threads(threads)
            results.append(gpr.accumulate(x, x0, y, a, a0, 2))
    finally:
        sagpr.set_num_threads(before)
    for ktk, kty in results[1:]:
        np.testing.assert_array_equal(ktk, results[0][0])
        np.testing.assert_array_equal(kty, results[0][1])
    k = kernel(x, x0, a, a0, 2).reshape(150 * 5, 70 * 5)
    np.testing.assert_allclose(np.tril(results[0][0]), np.tril(k.T @ k), rtol=1e-12, atol=1e-9)
