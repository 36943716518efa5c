"""LODE expansion and rho x V multi-scale features: a NumPy reference, Ewald-splitting independence,
the direct lattice sum, and exact symmetry (rotation, translation, permutation, supercell)."""
import numpy as np
import pytest
from ase import Atoms

import reference_lode
from reference_lambda_soap import real_cg
from sagpr.lode import LODE, MultiScaleLambdaSOAP, combine
from symmetry import random_rotation, rotated, wigner_d_real

SPECIES = [1, 6, 8]
HYPERS = dict(cutoff=3.0, max_radial=3, max_angular=3, atomic_gaussian_width=0.8)


def _cluster(seed=0, n=5):
    rng = np.random.default_rng(seed)
    while True:
        pos = rng.uniform(0, 4, (n, 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 10 * np.eye(n)
        if d.min() > 0.9:
            return Atoms(numbers=[1, 8, 1, 8, 6][:n], positions=pos)


def _crystal(seed=1):
    rng = np.random.default_rng(seed)
    atoms = _cluster(seed)
    atoms.cell = np.diag([4.2, 4.5, 4.8]) + 0.3 * rng.normal(size=(3, 3))
    atoms.pbc = True
    return atoms


def _by_l(coefficients, l):
    return coefficients[..., l * l:(l + 1) ** 2]


@pytest.mark.parametrize("include_center", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_cluster_matches_numpy_reference(include_center):
    atoms = _cluster()
    got = LODE(**HYPERS, include_center=include_center, species=SPECIES).compute(atoms)
    for center in (0, 4):
        want = reference_lode.lode(atoms, center, SPECIES, **HYPERS, include_center=include_center,
                                   n_r=60, n_theta=24, n_phi=48)
        np.testing.assert_allclose(got[center], want, rtol=0, atol=1e-9 * np.abs(want).max())


@pytest.mark.slow
def test_periodic_matches_numpy_reference():
    atoms = _crystal()
    hypers = dict(cutoff=2.5, max_radial=2, max_angular=2, atomic_gaussian_width=1.0)
    got = LODE(**hypers, accuracy=1e-12, species=SPECIES).compute(atoms)
    want = reference_lode.lode(atoms, 1, SPECIES, **hypers, n_r=50, n_theta=14, n_phi=28)
    np.testing.assert_allclose(got[1], want, rtol=0, atol=3e-8 * np.abs(want).max())


def test_ewald_splitting_independence():
    atoms = _crystal()
    sigma = HYPERS["atomic_gaussian_width"]
    results = [LODE(**HYPERS, ewald_width=w, accuracy=1e-12, species=SPECIES).compute(atoms)
               for w in (sigma, sigma + 0.5, sigma + 1.5)]
    scale = np.abs(results[0]).max()
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=0, atol=1e-9 * scale)


def _lattice_cluster(crystal, radius):
    """All images whose cell origin lies within `radius`, home cell first."""
    cell = crystal.cell.array
    m = int(np.ceil(radius / min(np.linalg.norm(cell, axis=1)))) + 1
    shifts = np.stack(np.meshgrid(*[np.arange(-m, m + 1)] * 3, indexing="ij"), -1).reshape(-1, 3) @ cell
    shifts = shifts[np.linalg.norm(shifts, axis=1) <= radius]
    shifts = shifts[np.argsort(np.linalg.norm(shifts, axis=1), kind="stable")]
    positions = (crystal.positions[None] + shifts[:, None]).reshape(-1, 3)
    return Atoms(numbers=list(crystal.numbers) * len(shifts), positions=positions)


def test_periodic_sum_equals_direct_lattice_sum():
    # A neutral, dipole-free cell (charges +1 on C, -1 on O, inversion-symmetric): the potential
    # sum_a q_a V^a of its images summed over growing spheres converges to the Ewald (tinfoil)
    # value up to a constant, which only moves l = 0 and cancels between centres.
    frac = np.array([[0.1, 0.2, 0.15], [0.9, 0.8, 0.85], [0.4, 0.6, 0.3], [0.6, 0.4, 0.7]])
    crystal = Atoms(numbers=[6, 6, 8, 8], scaled_positions=frac, cell=np.diag([3.1, 3.3, 3.6]), pbc=True)
    lode = LODE(cutoff=2.5, max_radial=2, max_angular=2, atomic_gaussian_width=0.7, species=[6, 8],
                include_center=True)
    charges = np.array([1.0, -1.0])
    periodic = np.einsum("a,ianl->inl", charges, lode.compute(crystal))
    scale = np.abs(periodic).max()
    errors = []
    for radius in (30.0, 60.0):
        direct = np.einsum("a,ianl->inl", charges, lode.compute_atoms(_lattice_cluster(crystal, radius), range(4)))
        errors.append(max(np.abs(direct[..., 1:] - periodic[..., 1:]).max(),
                          np.abs((direct[1:, :, 0] - direct[0, :, 0]) - (periodic[1:, :, 0] - periodic[0, :, 0])).max()))
    assert errors[1] < 0.2 * errors[0]  # converging, as 1/R^3 or faster
    assert errors[1] < 1e-4 * scale


def _rotates(original, new, rotation, max_angular, atol):
    for l in range(max_angular + 1):
        d = wigner_d_real(l, rotation)
        expected = np.einsum("mk,...k->...m", d, _by_l(original, l))
        np.testing.assert_allclose(_by_l(new, l), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("periodic", [False, True])
def test_expansion_rotates_with_wigner_d(periodic):
    atoms = _crystal() if periodic else _cluster()
    rotation = random_rotation(np.random.default_rng(3))
    lode = LODE(**HYPERS, species=SPECIES)
    before, after = lode.compute(atoms), lode.compute(rotated(atoms, rotation))
    _rotates(before, after, rotation, HYPERS["max_angular"], 1e-10 * np.abs(before).max())


def test_expansion_translation_permutation_supercell_invariance():
    atoms = _crystal()
    lode = LODE(**HYPERS, species=SPECIES)
    base = lode.compute(atoms)
    scale = np.abs(base).max()
    moved = atoms.copy()
    moved.positions += [0.37, -1.2, 2.9]
    moved.wrap()
    np.testing.assert_allclose(lode.compute(moved), base, rtol=0, atol=1e-10 * scale)
    order = np.random.default_rng(0).permutation(len(atoms))
    np.testing.assert_allclose(lode.compute(atoms[order]), base[order], rtol=0, atol=1e-10 * scale)
    supercell = atoms.repeat((2, 1, 2))
    np.testing.assert_allclose(lode.compute(supercell)[: len(atoms)], base, rtol=0, atol=1e-9 * scale)


MULTI = dict(cutoff=3.5, max_radial=3, max_angular=3, atomic_gaussian_width=0.4, lode_cutoff=3.0,
             lode_max_radial=2, lode_max_angular=2, lode_atomic_gaussian_width=0.8)


def test_multiscale_features_are_the_coupled_densities():
    from sagpr import LambdaSOAP
    atoms = _crystal()
    ms = MultiScaleLambdaSOAP(**MULTI, species=SPECIES, normalize=False)
    lambdas = (0, 1, 2, 3)
    got = ms.compute_many(atoms, lambdas)
    local = LambdaSOAP(o3_lambda=0, cutoff=3.5, max_radial=3, max_angular=3, atomic_gaussian_width=0.4,
                       species=SPECIES).density(atoms)
    v = LODE(cutoff=3.0, max_radial=2, max_angular=2, atomic_gaussian_width=0.8, species=SPECIES).compute(atoms)
    c = local.reshape(len(atoms), -1, 16)
    v = v.reshape(len(atoms), -1, 9)
    for lam in lambdas:
        blocks = []
        for l1 in range(4):
            for l2 in range(3):
                if abs(l1 - l2) <= lam <= l1 + l2 and (l1 + l2 + lam) % 2 == 0:
                    cg = real_cg(l1, l2, lam)
                    blocks.append(np.einsum("uab,iqa,ipb->iuqp", cg, _by_l(c, l1), _by_l(v, l2)).reshape(
                        len(atoms), 2 * lam + 1, -1))
        want = np.concatenate(blocks, axis=-1)
        np.testing.assert_allclose(got[lam], want, rtol=0, atol=1e-9 * np.abs(want).max())
    labels = ms.feature_labels(2, SPECIES)
    assert labels.shape == (got[2].shape[2], 6)


def test_multiscale_features_rotate_and_are_normalised():
    atoms = _crystal()
    ms = MultiScaleLambdaSOAP(**MULTI, species=SPECIES)
    rotation = random_rotation(np.random.default_rng(7))
    before = ms.compute_many(atoms, (0, 1, 2, 3))
    after = ms.compute_many(rotated(atoms, rotation), (0, 1, 2, 3))
    for lam, x in before.items():
        np.testing.assert_allclose(np.linalg.norm(x.reshape(len(x), -1), axis=1), 1.0, atol=1e-12)
        d = wigner_d_real(lam, rotation)
        np.testing.assert_allclose(after[lam], np.einsum("mk,ikf->imf", d, x), rtol=0, atol=1e-10)
    moved = atoms.copy()
    moved.positions += [1.1, 0.2, -0.7]
    moved.wrap()
    np.testing.assert_allclose(ms.compute_many(moved, (2,))[2], before[2], rtol=0, atol=1e-10)


def test_symmetry_zeros_are_exact():
    # The 8a site of the cubic spinel has Td symmetry: no lambda = 1 or 2 part (its EFG vanishes).
    from sagpr.datasets.lto import conventional_cell
    atoms = conventional_cell()
    ms = MultiScaleLambdaSOAP(**MULTI)
    x = ms.compute_many(atoms, (1, 2, 0), center_species="Li")
    assert np.all(x[1] == 0.0) and np.all(x[2] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(x[0].reshape(len(x[0]), -1), axis=1), 1.0)


def test_combine_is_a_weighted_kernel_sum():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5, 7)), rng.normal(size=(4, 5, 3))
    x = combine(a, b, 0.3)
    k = np.einsum("imf,jnf->ijmn", x, x)
    want = 0.7 * np.einsum("imf,jnf->ijmn", a, a) + 0.3 * np.einsum("imf,jnf->ijmn", b, b)
    np.testing.assert_allclose(k, want, atol=1e-12)
    with pytest.raises(ValueError, match="lode_weight"):
        combine(a, b, 1.5)
    with pytest.raises(ValueError, match="lode_ewald_width must be at least"):
        LODE(**HYPERS, ewald_width=0.5)


def test_errors_name_frame_and_atom():
    atoms = _crystal()
    lode = LODE(**HYPERS, species=[1, 8])
    with pytest.raises(ValueError, match="frame 1: atom 4 .*not among"):
        lode.compute([atoms[:4], atoms])
    partial = atoms.copy()
    partial.pbc = [True, True, False]
    with pytest.raises(ValueError, match="frame 0: LODE needs a fully periodic cell"):
        LODE(**HYPERS, species=SPECIES).compute(partial)
