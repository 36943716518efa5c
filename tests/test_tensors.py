"""Cartesian <-> spherical components of rank-2 tensors, and EFG validation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagpr.tensors import (
    cartesian_to_spherical,
    check_efg,
    l2_to_symmetric_traceless,
    rotate_cartesian,
    spherical_to_cartesian,
    symmetric_traceless_part,
    symmetric_traceless_to_l2,
)
from symmetry import assert_rotates, random_rotation, real_spherical_harmonics, wigner_d_real

rng = np.random.default_rng(2024)


def test_round_trip_general_tensors():
    T = rng.normal(size=(50, 3, 3))
    parts = cartesian_to_spherical(T)
    assert parts[0].shape == (50, 1) and parts[1].shape == (50, 3) and parts[2].shape == (50, 5)
    np.testing.assert_allclose(spherical_to_cartesian(parts), T, rtol=0, atol=1e-12)


def test_round_trip_l2():
    c = rng.normal(size=(40, 5))
    S = l2_to_symmetric_traceless(c)
    np.testing.assert_allclose(S, np.swapaxes(S, 1, 2), atol=0)
    np.testing.assert_allclose(np.trace(S, axis1=1, axis2=2), 0, atol=1e-14)
    np.testing.assert_allclose(symmetric_traceless_to_l2(S), c, rtol=0, atol=1e-12)


def test_components_are_orthonormal():
    # the Frobenius norm of every Cartesian part equals the norm of its components
    T = rng.normal(size=(30, 3, 3))
    parts = cartesian_to_spherical(T)
    for lam, c in parts.items():
        back = spherical_to_cartesian({lam: c})
        np.testing.assert_allclose(np.linalg.norm(back, axis=(1, 2)), np.linalg.norm(c, axis=1), rtol=1e-13)
    total = sum((c**2).sum(axis=1) for c in parts.values())
    np.testing.assert_allclose(total, (T**2).sum(axis=(1, 2)), rtol=1e-13)


def test_l2_weights_match_the_documented_basis():
    T = rng.normal(size=(3, 3))
    S = 0.5 * (T + T.T)
    c = symmetric_traceless_to_l2(T[None])[0]
    s2, s6 = np.sqrt(2), np.sqrt(6)
    expected = [s2 * S[0, 1], s2 * S[1, 2], (2 * S[2, 2] - S[0, 0] - S[1, 1]) / s6, s2 * S[0, 2], (S[0, 0] - S[1, 1]) / s2]
    np.testing.assert_allclose(c, expected, rtol=1e-14)
    np.testing.assert_allclose(cartesian_to_spherical(T[None])[0][0, 0], np.trace(T) / np.sqrt(3), rtol=1e-14)


def test_l2_components_are_coefficients_of_real_harmonics():
    # r^T S r = sqrt(8 pi / 15) sum_m c_m Y_2m(r) on the unit sphere: the same m order and
    # normalisation as the real spherical harmonics of tests/symmetry.py
    S = symmetric_traceless_part(rng.normal(size=(1, 3, 3)))[0]
    c = symmetric_traceless_to_l2(S[None])[0]
    pts = rng.normal(size=(20, 3))
    pts /= np.linalg.norm(pts, axis=1)[:, None]
    lhs = np.einsum("ni,ij,nj->n", pts, S, pts)
    rhs = np.sqrt(8 * np.pi / 15) * real_spherical_harmonics(2, pts) @ c
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_components_rotate_with_wigner_d(seed):
    r = np.random.default_rng(seed)
    R = random_rotation(r)
    T = r.normal(size=(8, 3, 3))
    parts = cartesian_to_spherical(T)
    rotated = cartesian_to_spherical(rotate_cartesian(T, R))
    np.testing.assert_allclose(rotated[0], parts[0], rtol=0, atol=1e-12)
    assert_rotates(parts[1], rotated[1], R, 1)
    assert_rotates(parts[2], rotated[2], R, 2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-6, 1e6))
def test_rotation_and_scaling_property(seed, scale):
    r = np.random.default_rng(seed)
    R = random_rotation(r)
    c = r.normal(size=(4, 5))
    S = l2_to_symmetric_traceless(scale * c)
    back = symmetric_traceless_to_l2(rotate_cartesian(S, R))
    D = wigner_d_real(2, R)
    np.testing.assert_allclose(back, scale * c @ D.T, rtol=0, atol=1e-10 * scale * np.abs(c).max())


def test_missing_parts_are_zero():
    c2 = rng.normal(size=(6, 5))
    only2 = spherical_to_cartesian({2: c2})
    np.testing.assert_allclose(only2, l2_to_symmetric_traceless(c2), atol=0)
    only1 = spherical_to_cartesian({1: rng.normal(size=(6, 3))})
    np.testing.assert_allclose(only1, -np.swapaxes(only1, 1, 2), atol=0)
    only0 = spherical_to_cartesian({0: np.full((2, 1), np.sqrt(3))})
    np.testing.assert_allclose(only0, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-15)


def test_lambda1_is_the_antisymmetric_part():
    T = rng.normal(size=(5, 3, 3))
    A = spherical_to_cartesian({1: cartesian_to_spherical(T)[1]})
    np.testing.assert_allclose(A, 0.5 * (T - np.swapaxes(T, 1, 2)), atol=1e-14)


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"\(N, 3, 3\)"):
        cartesian_to_spherical(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="lambda=2"):
        l2_to_symmetric_traceless(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="lambda = 0, 1, 2"):
        spherical_to_cartesian({3: np.zeros((1, 7))})
    with pytest.raises(ValueError, match="at least one"):
        spherical_to_cartesian({})
    with pytest.raises(ValueError, match="number of sites"):
        spherical_to_cartesian({0: np.zeros((2, 1)), 2: np.zeros((3, 5))})


def test_check_efg_accepts_valid_and_names_bad_sites():
    V = l2_to_symmetric_traceless(rng.normal(size=(4, 5)))
    out = check_efg(V)
    assert out.shape == (4, 3, 3) and out.dtype == np.float64
    assert check_efg(V[0]).shape == (1, 3, 3)
    bad = V.copy()
    bad[2, 0, 1] += 1e-2
    with pytest.raises(ValueError, match=r"site 2 \(O3\).*not symmetric"):
        check_efg(bad, labels=["Li1", "Li2", "O3", "Ti4"])
    bad = V.copy()
    bad[3] += 1e-2 * np.eye(3)
    with pytest.raises(ValueError, match="site 3: .*not traceless"):
        check_efg(bad)
    bad = V.copy()
    bad[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="site 1: .*non-finite"):
        check_efg(bad)
    with pytest.raises(ValueError, match="labels"):
        check_efg(V, labels=["a"])


def test_check_efg_tolerance_is_relative_to_the_norm():
    V = l2_to_symmetric_traceless(rng.normal(size=(1, 5)))
    norm = np.linalg.norm(V)
    small = V + 0.5e-4 * norm / np.sqrt(3) * np.eye(3)  # |tr| = 0.87e-4 |V|
    for scale in (1e-3, 1.0, 1e3):
        check_efg(scale * small, atol=0)
        with pytest.raises(ValueError, match="traceless"):
            check_efg(scale * small, rtol=1e-5, atol=0)
    # numerically-zero tensors (cubic sites) pass through atol
    check_efg(1e-14 * rng.normal(size=(3, 3, 3)))


def test_l2_components_share_the_lambda_soap_convention():
    # End to end: a linear map of lambda=2 features turned into Cartesian tensors by
    # l2_to_symmetric_traceless must rotate as R T R^T when the structure rotates, which holds
    # only if features and tensor components use the same real-harmonic order and signs.
    try:
        from sagpr import LambdaSOAP

        calc = LambdaSOAP(o3_lambda=2, cutoff=4.0, max_radial=4, max_angular=4, atomic_gaussian_width=0.4)
    except (ImportError, AttributeError) as err:
        pytest.skip(f"sagpr.LambdaSOAP not available: {err}")
    from ase.build import molecule

    from symmetry import rotated

    atoms = molecule("CH3CH2OH")
    atoms.rattle(0.05, seed=1)
    R = random_rotation(np.random.default_rng(8))
    x = calc.compute(atoms)
    xr = calc.compute(rotated(atoms, R))
    w = np.random.default_rng(9).normal(size=x.shape[2])
    T = l2_to_symmetric_traceless(x @ w)
    Tr = l2_to_symmetric_traceless(xr @ w)
    np.testing.assert_allclose(Tr, rotate_cartesian(T, R), rtol=0, atol=1e-9 * np.abs(T).max())
    # and a mismatched convention would fail: swapping the m = -2 and m = 2 components breaks it
    swapped = l2_to_symmetric_traceless((xr @ w)[:, [4, 1, 2, 3, 0]])
    assert np.abs(swapped - rotate_cartesian(l2_to_symmetric_traceless((x @ w)[:, [4, 1, 2, 3, 0]]), R)).max() > 1e-3
