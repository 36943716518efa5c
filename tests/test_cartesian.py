"""sagpr.cartesian: rank 1-4 Cartesian <-> spherical parts, exact round trip and equivariance."""
import numpy as np
import pytest

from sagpr import cartesian, tensors
from symmetry import random_rotation, wigner_d_real

RANKS = (1, 2, 3, 4)


@pytest.mark.parametrize("rank", RANKS)
def test_round_trip_and_orthogonality(rank):
    rng = np.random.default_rng(rank)
    T = rng.normal(size=(6,) + (3,) * rank)
    parts = cartesian.cartesian_to_spherical(T, rank)
    assert sum(2 * p[-1] + 1 for p in parts) == 3 ** rank
    assert set(parts) == set(cartesian.coupling_paths(rank))
    back = cartesian.spherical_to_cartesian(parts, rank)
    np.testing.assert_allclose(back, T, rtol=0, atol=1e-13 * np.abs(T).max())
    # orthonormal basis: sums of squares kept, flat input accepted
    total = sum(np.sum(v ** 2) for v in parts.values())
    assert np.isclose(total, np.sum(T ** 2), rtol=1e-13)
    flat = cartesian.cartesian_to_spherical(T.reshape(6, -1), rank)
    for path in parts:
        np.testing.assert_array_equal(flat[path], parts[path])
    stacked = np.concatenate([cartesian.basis(p) for p in cartesian.coupling_paths(rank)])
    np.testing.assert_allclose(stacked @ stacked.T, np.eye(3 ** rank), atol=1e-13)


def test_rank2_matches_tensors_module():
    T = np.random.default_rng(3).normal(size=(4, 3, 3))
    mine = cartesian.cartesian_to_spherical(T, 2)
    theirs = tensors.cartesian_to_spherical(T)
    for lam in (0, 1, 2):
        np.testing.assert_allclose(mine[(1, lam)], theirs[lam], atol=1e-14)


def test_rank1_is_y_z_x():
    v = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(cartesian.cartesian_to_spherical(v, 1)[(1,)], [[2.0, 3.0, 1.0]])


@pytest.mark.parametrize("rank", RANKS)
def test_parts_rotate_with_wigner_d_and_parity(rank):
    rng = np.random.default_rng(10 + rank)
    T = rng.normal(size=(3,) + (3,) * rank)
    parts = cartesian.cartesian_to_spherical(T, rank)
    for improper in (False, True):
        rot = random_rotation(rng)
        R = -rot if improper else rot
        rotated = cartesian.cartesian_to_spherical(cartesian.rotate_cartesian(T, R, rank), rank)
        for path, values in parts.items():
            lam = path[-1]
            sigma = cartesian.path_sigma(path)
            assert sigma == (-1) ** (rank + lam)
            # an improper R = -rot multiplies a lambda part by sigma (-1)^lambda on top of D(rot)
            factor = sigma * (-1) ** lam if improper else 1.0
            expected = factor * values @ wigner_d_real(lam, rot).T
            np.testing.assert_allclose(rotated[path], expected, rtol=0, atol=1e-9 * np.abs(T).max())


def test_symmetric_tensors_have_only_their_parts():
    rng = np.random.default_rng(5)
    v = rng.normal(size=(4, 3))
    # fully symmetric rank 3 (Kleinman beta): lambda 1 and 3 only, no sigma = -1 part
    beta = np.einsum("ni,nj,nk->nijk", v, v, v) + np.einsum("ni,jk->nijk", v, np.eye(3))
    beta = (beta + beta.transpose(0, 2, 3, 1) + beta.transpose(0, 3, 1, 2)) / 3
    parts = cartesian.cartesian_to_spherical(beta, 3)
    lams = {p[-1] for p, c in parts.items() if np.abs(c).max() > 1e-12}
    assert lams == {1, 3}
    # symmetric rank 2: no lambda = 1
    alpha = np.einsum("ni,nj->nij", v, v)
    assert np.abs(cartesian.cartesian_to_spherical(alpha, 2)[(1, 1)]).max() < 1e-14


def test_bad_input():
    with pytest.raises(ValueError, match="rank"):
        cartesian.coupling_paths(5)
    with pytest.raises(ValueError, match="shape"):
        cartesian.cartesian_to_spherical(np.zeros((2, 3, 3)), 3)
    with pytest.raises(ValueError, match="coupling path"):
        cartesian.spherical_to_cartesian({(1, 3): np.zeros((1, 7))}, 2)
