"""The C++ neighbour list against ase's, including cutoffs longer than the cell."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list

from sagpr import _core


def _pairs(atoms, cutoff):
    centers = list(range(len(atoms)))
    c, j, d = _core.neighbor_list(
        atoms.positions, atoms.numbers, atoms.cell.array, list(atoms.pbc), cutoff, centers
    )
    return sorted((int(a), int(b), *np.round(v, 8)) for a, b, v in zip(c, j, d))


def _ase_pairs(atoms, cutoff):
    i, j, d = ase_neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    return sorted((int(a), int(b), *np.round(v, 8)) for a, b, v in zip(i, j, d))


@pytest.mark.parametrize(
    "atoms, cutoff",
    [
        (bulk("NaCl", "rocksalt", a=5.64), 4.5),
        (bulk("Cu", "fcc", a=3.6), 7.9),  # cutoff > 3 cell lengths: own images included
        (bulk("Si", "diamond", a=5.43, cubic=True), 3.0),
    ],
)
def test_matches_ase_periodic(atoms, cutoff):
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=1)
    atoms.positions += 7.3  # outside the home cell: wrapping must not matter
    assert _pairs(atoms, cutoff) == _ase_pairs(atoms, cutoff)


def test_triclinic_and_mixed_pbc():
    rng = np.random.default_rng(3)
    cell = [[4.0, 0.0, 0.0], [1.3, 3.5, 0.0], [0.7, -0.9, 3.1]]
    atoms = Atoms("LiTiO2", positions=rng.uniform(0, 3, (4, 3)), cell=cell, pbc=True)
    assert _pairs(atoms, 6.5) == _ase_pairs(atoms, 6.5)
    atoms.pbc = [True, False, True]
    assert _pairs(atoms, 6.5) == _ase_pairs(atoms, 6.5)


def test_cluster_without_cell():
    rng = np.random.default_rng(4)
    atoms = Atoms("H10", positions=rng.uniform(-3, 3, (10, 3)))
    assert _pairs(atoms, 2.5) == _ase_pairs(atoms, 2.5)


def test_errors():
    atoms = bulk("Cu", "fcc", a=3.6)
    with pytest.raises(ValueError, match="cutoff"):
        _pairs(atoms, -1.0)
    bad = atoms.copy()
    bad.positions[0, 1] = np.nan
    with pytest.raises(ValueError, match="atom 0"):
        _pairs(bad, 3.0)
    flat = Atoms("Cu", cell=[[1, 0, 0], [2, 0, 0], [0, 0, 1]], pbc=True)
    with pytest.raises(ValueError, match="zero volume"):
        _pairs(flat, 3.0)
