"""Point-charge Ewald EFG (C++ core) against exact symmetry, NumPy references and known values."""
import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal
from scipy.special import erfc

from sagpr import reference
from symmetry import random_rotation, rotated

K = reference.COULOMB_EV_ANGSTROM


def _rutile():
    return crystal(
        ["Ti", "O"], basis=[(0, 0, 0), (0.305, 0.305, 0)], spacegroup=136,
        cellpar=[4.594, 4.594, 2.959, 90, 90, 90],
    )


def _spinel_cell():
    """A rattled 14-atom spinel primitive cell with charges made neutral (Li on 8a, Ti on 16d)."""
    atoms = crystal(
        ["Li", "Ti", "O"], basis=[(0.125, 0.125, 0.125), (0.5, 0.5, 0.5), (0.2625, 0.2625, 0.2625)],
        spacegroup=227, setting=2, cellpar=[8.3595] * 3 + [90] * 3, primitive_cell=True,
    )
    atoms.rattle(0.1, seed=7)
    charges = {"Li": 1.0, "Ti": 4.0, "O": -(2 * 1 + 4 * 4) / 8}
    return atoms, charges


def _scale(atoms, charges=None):
    """The field-gradient scale that `accuracy` is relative to: 14.4 q_rms N/V (V/A^2)."""
    q = reference.formal_charges(atoms, charges)
    return K * np.sqrt(np.mean(q**2)) * len(atoms) / atoms.get_volume()


def _numpy_ewald_efg(atoms, q, alpha, n_real, n_recip):
    """Slow, obviously-correct Ewald EFG (e/A^3): explicit lattice and k-vector loops."""
    pos, cell = atoms.positions, atoms.cell.array
    volume = abs(np.linalg.det(cell))
    out = np.zeros((len(atoms), 3, 3))
    shifts = np.array(list(itertools.product(range(-n_real, n_real + 1), repeat=3))) @ cell
    recip = 2 * np.pi * np.linalg.inv(cell).T
    hs = np.array([h for h in itertools.product(range(-n_recip, n_recip + 1), repeat=3) if any(h)])
    ks = hs @ recip
    k2 = (ks**2).sum(1)
    for i in range(len(atoms)):
        x = (pos[None, :, :] + shifts[:, None, :] - pos[i]).reshape(-1, 3)
        qq = np.tile(q, len(shifts))
        r = np.linalg.norm(x, axis=1)
        keep = r > 1e-12
        x, qq, r = x[keep], qq[keep], r[keep]
        g = 2 * alpha * r / np.sqrt(np.pi) * np.exp(-(alpha * r) ** 2)
        b = (erfc(alpha * r) + g) / r**3
        c = (3 * erfc(alpha * r) + g * (3 + 2 * (alpha * r) ** 2)) / r**5
        out[i] = np.einsum("p,pa,pb->ab", qq * c, x, x) - np.eye(3) * (qq * b).sum()
        phase = np.cos(ks @ (pos[i] - pos).T) @ q  # Re sum_j q_j exp(i k.(r_i - r_j))
        w = 4 * np.pi / volume * np.exp(-k2 / (4 * alpha**2)) / k2 * phase
        out[i] -= np.einsum("k,ka,kb->ab", w, ks, ks)
        out[i] += np.eye(3) * q[i] * 4 * alpha**3 / (3 * np.sqrt(np.pi))
    return out


def _numpy_cluster_efg(positions, q, site):
    """Direct sum of d_a d_b (q/r) at `site` over all other charges (e/A^3)."""
    x = positions - positions[site]
    r = np.linalg.norm(x, axis=1)
    keep = r > 1e-12
    x, r, q = x[keep], r[keep], q[keep]
    return np.einsum("p,pa,pb->ab", 3 * q / r**5, x, x) - np.eye(3) * (q / r**3).sum()


# --- exact symmetry ---------------------------------------------------------------------------


@pytest.mark.parametrize("structure", ["rocksalt", "cesiumchloride"])
def test_zero_at_cubic_sites(structure):
    atoms = bulk("NaCl", structure, a=5.64 if structure == "rocksalt" else 4.12)
    efg = reference.point_charge_efg(atoms * (2, 1, 1), accuracy=1e-12)
    assert np.abs(efg).max() < 1e-10


def test_symmetric_and_traceless_without_projection():
    atoms, charges = _spinel_cell()
    efg = reference.point_charge_efg(atoms, charges)
    scale = _scale(atoms, charges)
    assert (efg == efg.transpose(0, 2, 1)).all()  # exactly, by construction
    assert np.abs(np.trace(efg, axis1=1, axis2=2)).max() <= 1e-8 * scale
    tight = reference.point_charge_efg(atoms, charges, accuracy=1e-12)
    assert np.abs(np.trace(tight, axis1=1, axis2=2)).max() <= 1e-12 * scale


def test_rotating_the_structure_rotates_the_tensor():
    atoms, charges = _spinel_cell()
    efg = reference.point_charge_efg(atoms, charges)
    rng = np.random.default_rng(11)
    for _ in range(2):
        rot = random_rotation(rng)
        turned = reference.point_charge_efg(rotated(atoms, rot), charges)
        expected = np.einsum("ab,ibc,dc->iad", rot, efg, rot)
        np.testing.assert_allclose(turned, expected, rtol=0, atol=1e-10 * np.abs(efg).max())


def test_unit_cell_equals_supercell():
    atoms, charges = _spinel_cell()
    small = reference.point_charge_efg(atoms, charges)
    big = reference.point_charge_efg(atoms * (2, 2, 2), charges)
    tol = 1e-8 * _scale(atoms, charges)
    np.testing.assert_allclose(big[: len(atoms)], small, rtol=0, atol=tol)
    # every image of a site carries the same tensor
    np.testing.assert_allclose(big.reshape(8, len(atoms), 3, 3) - small, 0, atol=tol)
    # a subset of sites gives the same tensors
    np.testing.assert_array_equal(reference.point_charge_efg(atoms, charges, sites=[3, 1]), small[[3, 1]])


# --- accuracy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.9, 1.4])
def test_independent_of_splitting_parameter(alpha):
    atoms, charges = _spinel_cell()
    ref = reference.point_charge_efg(atoms, charges, accuracy=1e-10)
    other = reference.point_charge_efg(atoms, charges, accuracy=1e-10, alpha=alpha)
    np.testing.assert_allclose(other, ref, rtol=0, atol=1e-8 * np.abs(ref).max())


@pytest.mark.parametrize("accuracy", [1e-4, 1e-6, 1e-8])
def test_requested_accuracy_is_met(accuracy):
    rng = np.random.default_rng(5)
    cells = [_spinel_cell(), (_rutile(), None)]
    box = Atoms("Li40Ti10O40", positions=rng.uniform(0, 9, (90, 3)), cell=[9, 9.5, 10], pbc=True)
    cells.append((box, None))
    for atoms, charges in cells:
        exact = reference.point_charge_efg(atoms, charges, accuracy=1e-14)
        for alpha in (None, 0.4, 0.9):
            approx = reference.point_charge_efg(atoms, charges, accuracy=accuracy, alpha=alpha)
            assert np.abs(approx - exact).max() <= accuracy * _scale(atoms, charges)


def test_matches_numpy_ewald():
    atoms, charges = _spinel_cell()
    q = reference.formal_charges(atoms, charges)
    alpha = 0.6
    expected = _numpy_ewald_efg(atoms, q, alpha, n_real=3, n_recip=8) * K
    got = reference.point_charge_efg(atoms, charges, accuracy=1e-12, alpha=alpha)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_equals_direct_sum_over_large_neutral_cluster():
    # A cell symmetric under inversion through its centre has no dipole, so a cube of whole cells
    # around the site converges (error ~ quadrupole / R^2): extrapolate in 1/R^2 from two sizes.
    cell = np.diag([5.0, 5.6, 6.3])
    centre = cell.sum(0) / 2
    half = np.array([[0.9, 0.3, 0.2], [1.1, -0.8, 1.3], [-0.4, 1.7, -0.6]])
    positions = np.vstack([centre + half, centre - half])
    q = np.array([1.0, -2.0, 1.0, 1.0, -2.0, 1.0])
    atoms = Atoms("H6", positions=positions, cell=cell, pbc=True)
    ewald = reference.point_charge_efg(atoms, q, accuracy=1e-12, units="e/A^3")

    def cluster(m):
        shifts = np.array(list(itertools.product(range(-m, m + 1), repeat=3))) @ cell
        pos = (positions[None] + shifts[:, None]).reshape(-1, 3)
        qq = np.tile(q, len(shifts))
        home = len(shifts) // 2 * len(q)  # the (0,0,0) block
        return np.array([_numpy_cluster_efg(pos, qq, home + i) for i in range(len(q))])

    small, large = cluster(12), cluster(24)
    extrapolated = large + (large - small) / 3  # error ~ 1/m^2
    scale = np.abs(ewald).max()
    assert np.abs(large - ewald).max() < 2e-5 * scale  # the plain cluster sum is close ...
    np.testing.assert_allclose(extrapolated, ewald, rtol=0, atol=1e-6 * scale)  # ... and converges to it


def test_cluster_direct_sum_matches_numpy():
    rng = np.random.default_rng(2)
    atoms = Atoms("Li3O2Ti", positions=rng.uniform(-3, 3, (6, 3)))
    q = np.array([1, 1, 1, -2, -2, 4.0])  # a charged cluster is fine without periodicity
    got = reference.point_charge_efg(atoms, q, units="e/A^3")
    for i in range(6):
        np.testing.assert_allclose(got[i], _numpy_cluster_efg(atoms.positions, q, i), rtol=1e-12, atol=1e-14)


def test_units():
    atoms, charges = _spinel_cell()
    v = reference.point_charge_efg(atoms, charges)
    au = reference.point_charge_efg(atoms, charges, units="au")
    np.testing.assert_allclose(au * reference.VA2_PER_AU, v, rtol=1e-12)
    with pytest.raises(ValueError, match="units"):
        reference.point_charge_efg(atoms, charges, units="MHz")


# --- known values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "structure, a, madelung, nearest",
    [("rocksalt", 5.64, 1.747564594633, 5.64 / 2), ("cesiumchloride", 4.12, 1.762674773070, 4.12 * np.sqrt(3) / 2)],
)
def test_madelung_energy(structure, a, madelung, nearest):
    atoms = bulk("NaCl", structure, a=a)
    energy = reference.point_charge_energy(atoms, accuracy=1e-12)
    assert energy == pytest.approx(-madelung * K / nearest, rel=1e-10)


def test_coupling_matrix_reproduces_energy_and_potential():
    atoms, charges = _spinel_cell()
    q = reference.formal_charges(atoms, charges)
    phi = reference.ewald_coupling_matrix(atoms, range(len(atoms)), accuracy=1e-12)
    np.testing.assert_allclose(phi, phi.T, rtol=0, atol=1e-10 * np.abs(phi).max())
    potential = reference.point_charge_potential(atoms, q, accuracy=1e-12)
    np.testing.assert_allclose(phi @ q, potential, rtol=0, atol=1e-9 * np.abs(potential).max())
    assert 0.5 * q @ phi @ q == pytest.approx(reference.point_charge_energy(atoms, q, accuracy=1e-12), rel=1e-10)
    # independent of alpha thanks to the background term, even for a single (charged) column
    other = reference.ewald_coupling_matrix(atoms, [0, 3], accuracy=1e-12, alpha=1.1)
    np.testing.assert_allclose(other, phi[[0, 3]], rtol=0, atol=1e-9 * np.abs(phi).max())


def test_rutile_titanium_cross_check():
    """Bare point-charge rutile TiO2: Ti principal values (V/A^2) and asymmetry.

    Our value, from both this Ewald sum and the NumPy one: (-0.7240, 0.2100, 0.5140), eta 0.419.
    """
    atoms = _rutile()
    efg = reference.point_charge_efg(atoms, accuracy=1e-12)
    q = reference.formal_charges(atoms)
    expected = _numpy_ewald_efg(atoms, q, 0.7, n_real=4, n_recip=8) * K
    np.testing.assert_allclose(efg, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    ti = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Ti"]
    for i in ti:
        w = np.linalg.eigvalsh(efg[i])
        vzz, vyy, vxx = w[np.argsort(-np.abs(w))]
        np.testing.assert_allclose(w, [-0.72401766, 0.2100048, 0.51401305], atol=5e-8)
        assert (vxx - vyy) / vzz == pytest.approx(0.4199, abs=1e-4)


# --- bad input ----------------------------------------------------------------------------------


def test_non_neutral_cell_is_rejected():
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    with pytest.raises(ValueError, match="not charge-neutral"):
        reference.point_charge_efg(atoms, {"Na": 1.0, "Cl": -0.5})


def test_overlapping_atoms_are_rejected():
    atoms = bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1)
    atoms.positions[3] = atoms.positions[0] + 1e-5
    atoms.numbers[3] = 11
    atoms.numbers[2] = 17
    with pytest.raises(ValueError, match="overlap"):
        reference.point_charge_efg(atoms)
    cluster = Atoms("NaCl", positions=[[0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="overlap"):
        reference.point_charge_efg(cluster)


def test_unknown_species_needs_a_charge():
    atoms = Atoms("XeO", positions=[[0, 0, 0], [2, 0, 0]])
    with pytest.raises(ValueError, match=r"atom 0 \(Xe\) has no formal charge"):
        reference.point_charge_efg(atoms)
    assert np.isfinite(reference.point_charge_efg(atoms, {"Xe": 2})).all()


def test_other_bad_input():
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    with pytest.raises(ValueError, match="one charge per atom"):
        reference.point_charge_efg(atoms, [1.0, -1.0, 0.0])
    slab = atoms.copy()
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="pbc"):
        reference.point_charge_efg(slab)
    with pytest.raises(ValueError, match="accuracy"):
        reference.point_charge_efg(atoms, accuracy=2.0)
