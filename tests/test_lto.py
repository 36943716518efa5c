"""The LTO benchmark set: spinel cells, the 6 orbits of the 42-atom cell, generated data, files, CLI."""
import itertools
from collections import Counter

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from sagpr.datasets import lto, write_extxyz
from sagpr.reference import point_charge_efg


def _formula(atoms):
    return dict(Counter(atoms.get_chemical_symbols()))


def test_cells_and_compositions():
    conv = lto.conventional_cell()
    assert _formula(conv) == {"Li": 8, "Ti": 16, "O": 32}
    tags = Counter(conv.get_tags())
    assert tags == {1: 8, 2: 16, 3: 32}
    assert _formula(lto.primitive_cell()) == {"Li": 2, "Ti": 4, "O": 8}
    hexa = lto.hexagonal_cell()
    assert _formula(hexa) == {"Li": 6, "Ti": 12, "O": 24}
    a, b, c, alpha, beta, gamma = hexa.cell.cellpar()
    assert a == pytest.approx(lto.LATTICE_CONSTANT / np.sqrt(2)) and b == pytest.approx(a)
    assert c == pytest.approx(lto.LATTICE_CONSTANT * np.sqrt(3))
    assert (alpha, beta, gamma) == pytest.approx((90, 90, 120))
    assert hexa.get_volume() == pytest.approx(3 * lto.LATTICE_CONSTANT**3 / 4)
    # ideal spinel distances: 8a-O and 16d-O bonds for x = 0.2625
    i, j, d = neighbor_list("ijd", conv, 2.2)
    sym = np.array(conv.get_chemical_symbols())
    li_o = d[(sym[i] == "Li") & (sym[j] == "O")]
    ti_o = d[(sym[i] == "Ti") & (sym[j] == "O")]
    a0, x = lto.LATTICE_CONSTANT, lto.OXYGEN_X
    assert li_o == pytest.approx(np.full(len(li_o), a0 * np.sqrt(3) * (x - 1 / 8)))
    assert len(li_o) == 8 * 4 and len(ti_o) == 16 * 6
    for structure in lto.unique_structures():
        assert _formula(structure) == {"Li": 8, "Ti": 10, "O": 24}


def test_36_compatible_operations_form_a_group():
    perms = lto.compatible_operations()
    assert perms.shape == (36, 12)
    as_set = {tuple(p) for p in perms}
    assert tuple(range(12)) in as_set
    for g, h in itertools.product(perms, repeat=2):
        assert tuple(g[h]) in as_set


def test_six_orbits():
    orbits = lto.arrangements()
    assert [len(o) for o in orbits] == [18, 3, 9, 9, 9, 18]
    members = [p for o in orbits for p in o]
    assert sorted(members) == list(itertools.combinations(range(12), 2))


def _sorted_principal_values(atoms):
    efg = point_charge_efg(atoms, accuracy=1e-10)
    sym = np.array(atoms.get_chemical_symbols())
    return {s: np.sort(np.linalg.eigvalsh(efg[sym == s]).ravel()) for s in ("Li", "Ti", "O")}


def test_orbits_are_physically_equivalent_and_distinct():
    # Members of one orbit are the same structure: identical EFG spectra; different orbits differ.
    base = lto.hexagonal_cell()
    sites = np.flatnonzero(base.get_tags() == lto.WYCKOFF_TAGS["16d"])
    spectra = []
    for orbit in lto.arrangements():
        found = []
        for placement in orbit[:4]:
            atoms = base.copy()
            atoms.numbers[sites[list(placement)]] = 3
            found.append(_sorted_principal_values(atoms))
        for other in found[1:]:
            for s in found[0]:
                np.testing.assert_allclose(other[s], found[0][s], rtol=0, atol=1e-8)
        spectra.append(found[0])
    for p, q in itertools.combinations(spectra, 2):
        assert max(np.abs(p[s] - q[s]).max() for s in p) > 1e-3


def test_generate_is_reproducible_and_physical():
    frames = lto.generate(12, seed=3, progress=False)
    again = lto.generate(12, seed=3, progress=False)
    other = lto.generate(12, seed=4, progress=False, label=False)
    assert len(frames) == 12
    for f, g, h in zip(frames, again, other):
        np.testing.assert_array_equal(f.positions, g.positions)
        np.testing.assert_array_equal(f.arrays["efg"], g.arrays["efg"])
        assert not np.allclose(f.positions, h.positions)
    for k, atoms in enumerate(frames):
        assert _formula(atoms) == {"Li": 8, "Ti": 10, "O": 24}
        assert atoms.info["config"] == k % 6
        assert 0.94 <= atoms.info["scale"] <= 1.06
        assert neighbor_list("d", atoms, 3.0).min() >= 1.5
        efg = atoms.arrays["efg"]
        assert efg.shape == (42, 3, 3)
        np.testing.assert_allclose(efg, efg.transpose(0, 2, 1), atol=1e-12)
        assert atoms.info["efg_units"] == "V/A^2"
        assert atoms.info["generator"] == "sagpr.datasets.lto.generate"
    # the rattling really moves atoms off the ideal sites
    assert np.abs(frames[0].arrays["efg"]).max() > 0.1


def test_generate_spreads_distances_around_the_bond_length():
    frames = lto.generate(30, seed=0, progress=False, label=False)
    d = []
    for atoms in frames:
        i, j, dist = neighbor_list("ijd", atoms, 2.5)
        sym = np.array(atoms.get_chemical_symbols())
        d.append(dist[(sym[i] == "Ti") & (sym[j] == "O")])
    d = np.concatenate(d)
    assert 1.9 < d.mean() < 2.1
    assert np.percentile(d, 95) - np.percentile(d, 5) > 0.3  # a wide spread, not a lattice


def test_generate_bad_arguments():
    with pytest.raises(ValueError, match="n_structures"):
        lto.generate(0, progress=False)
    with pytest.raises(ValueError, match="scale_range"):
        lto.generate(2, scale_range=(1.1, 0.9), progress=False)
    with pytest.raises(ValueError, match="distances"):
        lto.generate(1, rattle_std=0.8, min_distance=2.5, label=False, progress=False)


def test_dataset_file_round_trip(tmp_path):
    import ase.io

    frames = lto.generate(3, seed=1, progress=False)
    path = write_extxyz(frames, tmp_path / "lto.xyz")
    assert [p.name for p in tmp_path.iterdir()] == ["lto.xyz"]  # no temp file left behind
    back = ase.io.read(path, ":")
    assert len(back) == 3
    for f, b in zip(frames, back):
        assert b.arrays["efg"].shape == (42, 9)
        np.testing.assert_allclose(b.arrays["efg"].reshape(42, 3, 3), f.arrays["efg"], atol=1e-8)
        assert b.info["efg_units"] == "V/A^2"
        assert b.info["reference"] == lto.REFERENCE_METHOD
        assert b.info["rattle_std"] == f.info["rattle_std"]
    try:
        from sagpr.io import read_efg
    except ImportError:
        return
    read = read_efg(path)
    np.testing.assert_allclose(read[0].arrays["efg"], frames[0].arrays["efg"], atol=1e-8)


def test_large_models_are_low_energy():
    random = lto.large_models(2, mc_sweeps=0, seed=5, progress=False, label=False)
    sampled = lto.large_models(2, mc_sweeps=20, seed=5, progress=False, label=False)
    for atoms in sampled:
        assert len(atoms) == 1512
        assert _formula(atoms) == {"Li": 288, "Ti": 360, "O": 864}
    # Monte Carlo removes most of the electrostatic excess of a random arrangement
    assert max(a.info["mc_energy"] for a in sampled) < min(a.info["mc_energy"] for a in random) - 500
    again = lto.large_models(1, mc_sweeps=20, seed=5, progress=False, label=False)
    np.testing.assert_array_equal(again[0].numbers, sampled[0].numbers)


def test_mc_energy_differences_match_ewald():
    # The Monte Carlo bookkeeping (coupling matrix + fixed-charge potential) tracks the true energy.
    from sagpr.reference import point_charge_energy

    a, b = lto.large_models(2, mc_sweeps=2, seed=9, progress=False, label=False)
    exact = point_charge_energy(a, accuracy=1e-8) - point_charge_energy(b, accuracy=1e-8)
    assert a.info["mc_energy"] - b.info["mc_energy"] == pytest.approx(exact, abs=1e-3)


def test_lithiated_large_model():
    (atoms,) = lto.large_models(1, mc_sweeps=5, lithiation=1.5, progress=False)
    assert _formula(atoms) == {"Li": 288 + 108, "Ti": 360, "O": 864}
    np.testing.assert_allclose(np.trace(atoms.arrays["efg"], axis1=1, axis2=2), 0, atol=1e-6)


def test_cli_dataset_lto(tmp_path):
    import ase.io

    from sagpr.cli import main

    out = tmp_path / "lto_efg.xyz"
    assert main(["dataset", "lto", "--n-structures", "4", "--out", str(out), "--no-progress"]) == 0
    frames = ase.io.read(out, ":")
    assert len(frames) == 4 and frames[0].info["efg_units"] == "V/A^2"
    assert main(["dataset", "lto", "--n-structures", "0", "--out", str(out)]) == 1


def test_pair_distances_count_each_pair_once():
    from ase.build import bulk

    from sagpr.plots.dataset import pair_distances

    nacl = bulk("NaCl", "rocksalt", a=5.64)  # 2 atoms: 6 Na-Cl at a/2, 12 Na-Na and 12 Cl-Cl at a/sqrt(2)
    d = pair_distances([nacl], cutoff=4.0)
    assert sorted(d) == [("Cl", "Cl"), ("Cl", "Na"), ("Na", "Na")]
    assert len(d[("Cl", "Na")]) == 6 and len(d[("Na", "Na")]) == 6 and len(d[("Cl", "Cl")]) == 6
    np.testing.assert_allclose(d[("Cl", "Na")], 2.82)


def test_dataset_summary_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from sagpr.plots.dataset import dataset_summary, quadrupolar_parameters

    frames = lto.generate(6, seed=0, progress=False)
    params = quadrupolar_parameters(frames)
    assert params["Li"][0].shape == (48,) and params["O"][1].shape == (144,)
    assert ((params["Ti"][1] >= 0) & (params["Ti"][1] <= 1)).all()
    path = tmp_path / "summary.png"
    fig = dataset_summary(frames, path)
    assert path.stat().st_size > 10_000 and len(fig.axes) == 7


def test_cli_dataset_large(tmp_path):
    import ase.io

    from sagpr.cli import main

    out = tmp_path / "lto_1512.xyz"
    args = ["dataset", "large", "--n", "1", "--mc-sweeps", "2", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    (atoms,) = ase.io.read(out, ":")
    assert len(atoms) == 1512 and atoms.arrays["efg"].shape == (1512, 9)
    assert atoms.info["generator"] == "sagpr.datasets.lto.large_models"
    assert main(["dataset", "large", "--size", "2", "--out", str(out)]) == 1
