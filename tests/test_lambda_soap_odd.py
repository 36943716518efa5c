"""Pseudotensor lambda-SOAP features (o3_sigma = -1): the NumPy reference, exact symmetries
(rotation, inversion, mirror), the improper Clebsch-Gordan coefficients, bad input."""
import numpy as np
import pytest
from ase import Atoms

import sagpr
from sagpr.descriptors import real_clebsch_gordan
from symmetry import random_rotation, wigner_d_real

import reference_lambda_soap as reference

HYPERS = dict(cutoff=3.5, max_radial=3, max_angular=3, atomic_gaussian_width=0.5)


def cluster(seed=0, symbols=("Li", "O", "O", "Ti", "O")):
    rng = np.random.default_rng(seed)
    n = len(symbols)
    while True:  # atoms closer than 0.5 A are an input error (sagpr.neighbors.check_min_distance)
        pos = rng.uniform(-1.6, 1.6, (n, 3))
        if (np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 10 * np.eye(n)).min() > 0.8:
            return Atoms(list(symbols), positions=pos)


@pytest.mark.parametrize("l1, l2, lam", [(1, 1, 1), (1, 2, 2), (2, 2, 1), pytest.param(1, 3, 3, marks=pytest.mark.slow),
                                         pytest.param(2, 3, 4, marks=pytest.mark.slow),
                                         pytest.param(3, 3, 3, marks=pytest.mark.slow)])
def test_odd_clebsch_gordan_is_equivariant_and_matches_the_reference(l1, l2, lam):
    c = real_clebsch_gordan(l1, l2, lam)
    r = random_rotation(np.random.default_rng(l1 + 10 * l2 + 100 * lam))
    lhs = np.einsum("uv,vab->uab", wigner_d_real(lam, r), c)
    rhs = np.einsum("uab,ac,bd->ucd", c, wigner_d_real(l1, r), wigner_d_real(l2, r))
    np.testing.assert_allclose(lhs, rhs, atol=1e-10)
    np.testing.assert_allclose(np.sum(c**2, axis=(1, 2)), 1.0, atol=1e-13)
    ref = reference.real_cg_odd(l1, l2, lam)
    sign = np.sign(np.sum(ref * c))
    np.testing.assert_allclose(c, sign * ref, atol=1e-8)


def test_cross_product():
    c = real_clebsch_gordan(1, 1, 1)
    a, b = np.array([0.3, -1.1, 0.7]), np.array([-0.4, 0.2, 1.3])
    yzx = [1, 2, 0]
    np.testing.assert_allclose(np.einsum("uab,a,b->u", c, a[yzx], b[yzx]), np.cross(a, b)[yzx] / np.sqrt(2), atol=1e-15)


@pytest.mark.slow
@pytest.mark.parametrize("o3_lambda", [1, 2])
def test_matches_numpy_reference(o3_lambda):
    hypers = dict(HYPERS, cutoff_smooth_width=0.8, center_atom_weight=0.7)
    atoms = cluster(11, symbols=("Li", "O", "O", "Ti"))
    species = [3, 8, 22]
    calc = sagpr.LambdaSOAP(o3_lambda=0, **hypers, species=species, normalize=False)
    x = calc.compute_parts(atoms, [(o3_lambda, -1)], center_species="Li")[(o3_lambda, -1)][0]
    labels = calc.part_labels(o3_lambda, -1)
    assert np.all((labels[:, 2] + labels[:, 5] + o3_lambda) % 2 == 1)
    ref = reference.features(atoms, 0, species, o3_lambda=o3_lambda, o3_sigma=-1, labels=labels, **hypers)
    # the sign of each (l1, l2) coupling is a convention: compare block by block up to it
    for l1, l2 in {(int(a), int(b)) for a, b in labels[:, [2, 5]]}:
        cols = (labels[:, 2] == l1) & (labels[:, 5] == l2)
        sign = np.sign(np.sum(x[:, cols] * ref[:, cols]))
        np.testing.assert_allclose(x[:, cols], sign * ref[:, cols], atol=1e-8 * np.abs(ref).max())


def test_symmetries_and_proper_features_unchanged():
    atoms = cluster(3)
    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS)
    pairs = [(1, -1), (2, -1), (3, -1), (2, 1)]
    base = calc.compute_parts(atoms, pairs)
    assert all(np.linalg.norm(base[p], axis=(1, 2)).min() > 0.99 for p in pairs)  # no symmetry: nothing zero
    # the proper features are those of compute_many (to round-off: the GEMM blocks differ)
    np.testing.assert_allclose(base[(2, 1)], calc.compute_many(atoms, [2])[2], rtol=0, atol=1e-14)
    rng = np.random.default_rng(4)
    rot = random_rotation(rng)
    mirror = np.diag([1.0, -1.0, 1.0])  # = inversion times a rotation by pi about y
    for R, proper in ((rot, rot), (-rot, rot), (mirror, -mirror)):
        moved = atoms.copy()
        moved.positions = atoms.positions @ R.T
        out = calc.compute_parts(moved, pairs)
        for (lam, sig), x in base.items():
            factor = 1.0 if np.linalg.det(R) > 0 else sig * (-1) ** lam
            np.testing.assert_allclose(out[(lam, sig)], factor * np.einsum("uv,ivf->iuf", wigner_d_real(lam, proper), x),
                                       atol=1e-10)


def test_planar_environment_has_zero_pseudoscalar_like_parts():
    # a planar molecule is its own mirror image: lambda = 1 sigma = -1 features of a centre in
    # the plane are an axial vector, normal to the plane (only one Cartesian direction survives)
    atoms = Atoms("OHH", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    x = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS).compute_parts(atoms, [(1, -1)])[(1, -1)]
    # (y, z, x) order: only z survives
    assert np.abs(x[:, [0, 2], :]).max() < 1e-12 and np.abs(x[:, 1, :]).max() > 0.1


def test_bad_input():
    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS)
    with pytest.raises(ValueError, match="no lambda-SOAP feature"):
        calc.compute_parts(cluster(), [(0, -1)])
    with pytest.raises(ValueError, match="o3_sigma"):
        calc.compute_parts(cluster(), [(2, 0)])
    with pytest.raises(ValueError, match="at least one"):
        calc.compute_parts(cluster(), [])
    with pytest.raises(ValueError, match="no coupling"):
        real_clebsch_gordan(1, 1, 3)
