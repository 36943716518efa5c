"""lambda-SOAP: building blocks, symmetry, smoothness, the NumPy reference, bad input."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import sagpr
from sagpr import _core
from symmetry import assert_rotates, random_rotation, real_spherical_harmonics, rotated, wigner_d_real

import reference_lambda_soap as reference

HYPERS = dict(cutoff=3.5, max_radial=4, max_angular=3, atomic_gaussian_width=0.5)


def cluster(seed=0, n=5, symbols=("Li", "Ti", "O", "O", "Li")):
    rng = np.random.default_rng(seed)
    while True:  # atoms closer than 0.5 A are an input error (sagpr.neighbors.check_min_distance)
        pos = rng.uniform(-1.6, 1.6, (n, 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 10 * np.eye(n)
        if d.min() > 0.8:
            return Atoms(list(symbols)[:n], positions=pos)


def periodic(seed=0):
    atoms = bulk("LiCl", "rocksalt", a=4.2, cubic=True)  # 8 atoms
    atoms.rattle(0.15, seed=seed)
    return atoms


# --- building blocks -----------------------------------------------------------------------

def test_spherical_harmonics_match_scipy_reference():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(50, 3))
    ours = _core.real_spherical_harmonics(6, pts)
    for l in range(7):
        np.testing.assert_allclose(ours[:, l * l : (l + 1) ** 2], real_spherical_harmonics(l, pts), atol=1e-13)


@pytest.mark.parametrize("l1, l2, lam", [(1, 1, 0), (1, 1, 2), (2, 3, 1), (2, 2, 4), (3, 1, 2), (3, 3, 2)])
def test_clebsch_gordan_reference_and_equivariance(l1, l2, lam):
    cg = _core.real_clebsch_gordan(l1, l2, lam)
    np.testing.assert_allclose(cg, reference.real_cg(l1, l2, lam), atol=1e-12)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=2 * l1 + 1), rng.normal(size=2 * l2 + 1)
    rot = random_rotation(rng)
    coupled = np.einsum("uab,a,b->u", cg, a, b)
    coupled_rot = np.einsum("uab,a,b->u", cg, wigner_d_real(l1, rot) @ a, wigner_d_real(l2, rot) @ b)
    np.testing.assert_allclose(coupled_rot, wigner_d_real(lam, rot) @ coupled, atol=1e-12)


def test_clebsch_gordan_rejects_improper_coupling():
    with pytest.raises(ValueError, match="even"):
        _core.real_clebsch_gordan(1, 1, 1)


def test_radial_basis_is_orthonormal():
    r, w = reference.gauss_legendre(600, 0.0, 40.0)
    basis = _core.radial_basis(8, 5.0, r)
    overlap = (basis * (w * r**2)[:, None]).T @ basis
    np.testing.assert_allclose(overlap, np.eye(8), atol=1e-10)
    np.testing.assert_allclose(basis.T, reference.radial_basis(8, 5.0, r), atol=1e-9)


@pytest.mark.parametrize("width", [0.3, 0.5])
def test_radial_spline_accuracy(width):
    d = np.random.default_rng(2).uniform(0, 5.0, 200)
    exact = _core.radial_integrals(8, 6, 5.0, width, d, splined=False)
    spline = _core.radial_integrals(8, 6, 5.0, width, d, splined=True)
    assert np.abs(spline - exact).max() <= 1e-10 * np.abs(exact).max()


# --- symmetry ------------------------------------------------------------------------------

@pytest.mark.parametrize("o3_lambda", [0, 1, 2, 3])
@pytest.mark.parametrize("make", [cluster, periodic])
def test_rotation_equivariance(o3_lambda, make):
    atoms = make(3)
    rng = np.random.default_rng(10 + o3_lambda)
    calc = sagpr.LambdaSOAP(o3_lambda=o3_lambda, **HYPERS)
    x = calc.compute(atoms)
    assert np.linalg.norm(x) > 0
    for _ in range(3):
        rot = random_rotation(rng)
        assert_rotates(x, calc.compute(rotated(atoms, rot)), rot, o3_lambda, rtol=1e-10)


@pytest.mark.parametrize("o3_lambda", [0, 2])
def test_translation_and_permutation_invariance(o3_lambda):
    calc = sagpr.LambdaSOAP(o3_lambda=o3_lambda, **HYPERS)
    for atoms in (cluster(4), periodic(4)):
        x = calc.compute(atoms)
        moved = atoms.copy()
        moved.positions += [0.37, -2.1, 5.3]
        np.testing.assert_allclose(calc.compute(moved), x, atol=1e-10 * np.abs(x).max())
        perm = np.random.default_rng(5).permutation(len(atoms))
        np.testing.assert_allclose(calc.compute(atoms[perm]), x[perm], atol=1e-10 * np.abs(x).max())


@pytest.mark.parametrize("o3_lambda", [0, 2])
def test_supercell_invariance(o3_lambda):
    atoms = periodic(7)
    calc = sagpr.LambdaSOAP(o3_lambda=o3_lambda, **HYPERS, species=["Li", "Cl"])
    x = calc.compute(atoms)
    big = atoms.repeat((2, 2, 2))  # ase repeats the whole cell 8 times, atoms 0..7 first
    np.testing.assert_allclose(calc.compute(big)[: len(atoms)], x, atol=1e-10 * np.abs(x).max())
    # A cutoff longer than the cell: the centre's own images are neighbours too.
    long = sagpr.LambdaSOAP(o3_lambda=o3_lambda, cutoff=6.5, max_radial=4, max_angular=3, atomic_gaussian_width=0.5)
    x = long.compute(atoms)
    np.testing.assert_allclose(long.compute(big)[: len(atoms)], x, atol=1e-10 * np.abs(x).max())


def test_smooth_across_cutoff():
    calc = sagpr.LambdaSOAP(o3_lambda=2, **HYPERS, normalize=False)
    base = Atoms("LiOOTi", positions=[[0, 0, 0], [1.2, 0.3, 0.1], [-0.4, 1.5, 0.2], [0, 0, 0]])
    values = []
    for r in (HYPERS["cutoff"] - 1e-7, HYPERS["cutoff"], HYPERS["cutoff"] + 1e-7):
        atoms = base.copy()
        atoms.positions[3] = r * np.array([0.6, 0.0, 0.8])
        values.append(calc.compute(atoms, center_species="Li")[0])
    assert np.abs(values[0] - values[2]).max() < 1e-8
    assert np.abs(values[1] - values[2]).max() < 1e-8


def test_symmetric_environment_gives_exact_zero():
    # Na and Cl in rock salt sit on cubic sites: the lambda=2 part vanishes by symmetry.
    x = sagpr.LambdaSOAP(o3_lambda=2, **HYPERS).compute(bulk("NaCl", "rocksalt", a=5.64))
    assert np.all(x == 0.0)
    x0 = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS).compute(bulk("NaCl", "rocksalt", a=5.64))
    np.testing.assert_allclose(np.linalg.norm(x0, axis=(1, 2)), 1.0, atol=1e-14)


# --- against the NumPy reference -----------------------------------------------------------

@pytest.mark.parametrize("o3_lambda", [0, 2])
def test_matches_numpy_reference(o3_lambda):
    hypers = dict(HYPERS, cutoff_smooth_width=0.8, center_atom_weight=0.7)
    atoms = cluster(11, n=4, symbols=("Li", "O", "O", "Ti"))
    # One neighbour inside the switching region, to check the cutoff function too.
    atoms.positions[3] = atoms.positions[0] + np.array([0.3, 3.0, 0.9])
    species = [3, 8, 22]
    calc = sagpr.LambdaSOAP(o3_lambda=o3_lambda, **hypers, species=species, normalize=False)
    dens = calc.density(atoms, center_species="Li")
    ref_density = reference.density(atoms, 0, species, **hypers)
    np.testing.assert_allclose(dens[0], ref_density, atol=1e-9 * np.abs(ref_density).max())
    x = calc.compute(atoms, center_species="Li")[0]
    ref = reference.features(atoms, 0, species, o3_lambda=o3_lambda, labels=calc.feature_labels, **hypers)
    np.testing.assert_allclose(x, ref, atol=1e-8 * np.abs(ref).max())


def test_feature_count_and_labels():
    calc = sagpr.LambdaSOAP(o3_lambda=2, cutoff=5.0, max_radial=8, max_angular=6, atomic_gaussian_width=0.3,
                            species=["Li", "Ti", "O"])
    labels = calc.feature_labels
    assert labels.shape == (calc.n_features, 6)
    q = 3 * 8
    # (l, l) blocks for l = 1..6 keep q(q+1)/2 pairs; (l, l+2) blocks for l = 0..4 keep q^2.
    assert calc.n_features == 6 * q * (q + 1) // 2 + 5 * q * q
    assert np.all((labels[:, 2] + labels[:, 5]) % 2 == 0)


def test_centre_selection_order():
    frames = [cluster(1), cluster(2)]
    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS, species=[3, 8, 22])
    full = calc.compute(frames)
    li = calc.compute(frames, center_species="Li")
    idx = [i for k, f in enumerate(frames) for i, z in enumerate(f.numbers, start=5 * k) if z == 3]
    np.testing.assert_array_equal(li, full[idx])


# --- bad input -----------------------------------------------------------------------------

def test_bad_input():
    calc = sagpr.LambdaSOAP(o3_lambda=2, **HYPERS, species=["Li", "O"])
    bad = cluster(0, n=3, symbols=("Li", "O", "O"))
    bad.positions[2, 0] = np.nan
    with pytest.raises(ValueError, match="frame 1: atom 2"):
        calc.compute([cluster(0, n=3, symbols=("Li", "O", "O")), bad])
    with pytest.raises(ValueError, match="frame 0: atom 1 is Ti"):
        calc.compute(cluster(0, n=3, symbols=("Li", "Ti", "O")))
    flat = Atoms("LiO", positions=[[0, 0, 0], [1, 0, 0]], cell=[[3, 0, 0], [6, 0, 0], [0, 0, 3]], pbc=True)
    with pytest.raises(ValueError, match="zero volume"):
        calc.compute(flat)
    for key, value in [("atomic_gaussian_width", -0.1), ("cutoff", 0.0), ("max_radial", 0), ("max_angular", -1)]:
        with pytest.raises(ValueError, match=key):
            sagpr.LambdaSOAP(o3_lambda=0, **dict(HYPERS, **{key: value}))
    with pytest.raises(ValueError, match="o3_lambda"):
        sagpr.LambdaSOAP(o3_lambda=8, **HYPERS)
    with pytest.raises(TypeError):
        sagpr.LambdaSOAP(0, **HYPERS)
    with pytest.raises(ValueError, match="unknown element"):
        sagpr.LambdaSOAP(o3_lambda=0, **HYPERS, species=["Xx"])


def test_thread_count_does_not_change_results_and_pickles():
    import pickle

    atoms = periodic(8).repeat((2, 1, 1))
    calc = sagpr.LambdaSOAP(o3_lambda=2, **HYPERS)
    before = sagpr.get_num_threads()
    try:
        sagpr.set_num_threads(1)
        one = calc.compute(atoms)
        sagpr.set_num_threads(2)
        two = calc.compute(atoms)
    finally:
        sagpr.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    clone = pickle.loads(pickle.dumps(calc))
    np.testing.assert_array_equal(clone.compute(atoms), one)
    with pytest.raises(ValueError, match="at least 1"):
        sagpr.set_num_threads(0)


# --- several lambdas from one density ------------------------------------------------------

@pytest.mark.parametrize("lambdas", [(0, 2), (0, 1, 2), (2, 0)])
@pytest.mark.parametrize("centers", [None, "Li", ["Cl", "Li"]])
@pytest.mark.parametrize("normalize", [True, False])
def test_compute_many_equals_single_lambda_calls(lambdas, centers, normalize):
    frames = [periodic(3), cluster(2, symbols=("Li", "Cl", "Cl", "Li", "Cl")), periodic(5).repeat((1, 2, 1))]
    calc = sagpr.LambdaSOAP(o3_lambda=1, **HYPERS, species=["Li", "Cl"], normalize=normalize)
    many = calc.compute_many(frames, o3_lambdas=lambdas, center_species=centers)
    assert list(many) == list(lambdas)
    for lam in lambdas:
        single = sagpr.LambdaSOAP(o3_lambda=lam, **HYPERS, species=["Li", "Cl"], normalize=normalize)
        x = single.compute(frames, center_species=centers)
        assert many[lam].shape == x.shape == (len(x), 2 * lam + 1, single.n_features)
        np.testing.assert_allclose(many[lam], x, rtol=0, atol=1e-12 * max(1.0, np.abs(x).max()))


def test_compute_many_keeps_symmetry_zeros_per_lambda():
    # cubic sites: lambda=2 vanishes by symmetry (exact zeros), lambda=0 stays unit-norm
    many = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS).compute_many(bulk("NaCl", "rocksalt", a=5.64), o3_lambdas=(2, 0))
    assert np.all(many[2] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(many[0], axis=(1, 2)), 1.0, atol=1e-14)


def test_compute_many_rotates_each_lambda():
    atoms = cluster(6)
    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS)
    rot = random_rotation(np.random.default_rng(4))
    many, turned = calc.compute_many(atoms, (0, 1, 2, 3)), calc.compute_many(rotated(atoms, rot), (0, 1, 2, 3))
    for lam in many:
        assert_rotates(many[lam], turned[lam], rot, lam, rtol=1e-10)


def test_compute_many_bad_lambdas():
    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS)
    atoms = cluster(0)
    with pytest.raises(ValueError, match="o3_lambda"):
        calc.compute_many(atoms, o3_lambdas=(0, 7))
    with pytest.raises(ValueError, match="o3_lambda"):
        calc.compute_many(atoms, o3_lambdas=(-1,))
    with pytest.raises(ValueError, match="at least one"):
        calc.compute_many(atoms, o3_lambdas=())
    with pytest.raises(TypeError, match="sequence"):
        calc.compute_many(atoms, o3_lambdas=2)
    assert list(calc.compute_many(atoms, o3_lambdas=(2, 2, 0))) == [2, 0]  # repeats computed once


def test_sagpr_pair():
    from sagpr.descriptors import sagpr_pair

    calc = sagpr.LambdaSOAP(o3_lambda=0, **HYPERS)
    feats = calc.compute_many(periodic(1), (2, 0))
    x, x0 = sagpr_pair(feats, 2)
    assert x is feats[2] and x0.shape == (8, feats[0].shape[2]) and x0.flags.c_contiguous
    np.testing.assert_array_equal(x0, feats[0][:, 0, :])
    x, x0 = sagpr_pair(feats, 0)
    assert x.shape == feats[0].shape and np.shares_memory(x, x0)
