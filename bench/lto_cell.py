"""The benchmark structure: a 1512-atom spinel Li4Ti5O12-like cell (3x3x3 conventional Fd-3m cells).

Li on 8a, a random 1:5 Li:Ti mix on 16d, O on 32e (x = 0.2625), a = 8.36 A, origin choice 2.
"""
import numpy as np
from ase.spacegroup import crystal


def lto_cell(size=3, a=8.36, seed=0):
    unit = crystal(
        ["Li", "Ti", "O"],
        basis=[(0.125, 0.125, 0.125), (0.5, 0.5, 0.5), (0.2625, 0.2625, 0.2625)],
        spacegroup=227,
        setting=2,
        cellpar=[a, a, a, 90, 90, 90],
    )
    atoms = unit.repeat((size, size, size))
    rng = np.random.default_rng(seed)
    octahedral = np.flatnonzero(atoms.numbers == 22)
    lithium = rng.choice(octahedral, size=len(octahedral) // 6, replace=False)
    atoms.numbers[lithium] = 3
    return atoms


def write_plain(atoms, path):
    """A plain text file for the C++ benchmarks: n, cell rows, then 'Z x y z' lines."""
    with open(path, "w") as f:
        f.write(f"{len(atoms)}\n")
        for row in atoms.cell.array:
            f.write(" ".join(f"{v:.12f}" for v in row) + "\n")
        for z, p in zip(atoms.numbers, atoms.positions):
            f.write(f"{z} {p[0]:.12f} {p[1]:.12f} {p[2]:.12f}\n")
