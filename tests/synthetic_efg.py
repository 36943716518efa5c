"""Small synthetic EFG datasets for workflow tests: random periodic cells whose per-atom tensor
is an exactly learnable sum over neighbours, V_i = sum_j q_j f(r_ij) (3 r r^T - r^2 I) / r^5,
f a smooth cosine cutoff (the field-gradient form of point charges, truncated)."""
import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

CHARGES = {"Li": 1.0, "O": -2.0, "Al": 3.0, "Ca": 2.0}


def efg_of(atoms, cutoff=4.0, width=1.0):
    i, j, D = neighbor_list("ijD", atoms, cutoff)
    r = np.linalg.norm(D, axis=1)
    q = np.array([CHARGES[s] for s in atoms.get_chemical_symbols()])[j]
    fc = np.where(r < cutoff - width, 1.0, 0.5 * (1 + np.cos(np.pi * (r - cutoff + width) / width)))
    outer = 3.0 * D[:, :, None] * D[:, None, :] - (r**2)[:, None, None] * np.eye(3)
    contrib = (q * fc / r**5)[:, None, None] * outer
    V = np.zeros((len(atoms), 3, 3))
    np.add.at(V, i, contrib)
    return V


def random_cells(n_frames=20, symbols=("Li",) * 4 + ("O",) * 4, a=5.0, min_dist=1.6, seed=0, cutoff=4.0):
    rng = np.random.default_rng(seed)
    frames = []
    while len(frames) < n_frames:
        pos = []
        while len(pos) < len(symbols):
            p = rng.uniform(0, a, 3)
            trial = Atoms("X" * (len(pos) + 1), positions=pos + [p], cell=[a] * 3, pbc=True)
            if len(pos) == 0 or np.min(trial.get_distances(len(pos), range(len(pos)), mic=True)) > min_dist:
                pos.append(p)
        atoms = Atoms("".join(symbols), positions=pos, cell=[a] * 3, pbc=True)
        atoms.arrays["efg"] = efg_of(atoms, cutoff)
        atoms.info["efg_units"] = "au"
        frames.append(atoms)
    return frames
