"""Active environments kept as geometry: what makes model files compact.

A SAGPR needs the features of its active environments to predict. Stored as float64 features
they are (M, 2 lambda + 1, F) numbers, with F in the thousands for a few species (277 MB for 768
27Al environments at default settings). The features are a function of the centre's neighbours
within the cutoff alone, so a model file stores instead each active centre's neighbourhood,
centre first at the origin and each neighbour (periodic images included) at its vector from the
centre: ~60 atoms x 4 numbers per environment. Loading recomputes the features from these
clusters with the model's own descriptor; they equal the fitted ones to round-off (the same
neighbour vectors enter the same expansion), so predictions are unchanged.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
from ase import Atoms

#: atoms this much beyond the cutoff are kept too: the boundary is never decided by round-off
_MARGIN = 1e-6


def neighbourhoods(frames, sites: Sequence[Tuple[int, int]], cutoff: float) -> Dict[str, np.ndarray]:
    """The neighbourhoods of `sites` ((frame, atom) pairs) as three arrays: "numbers" and
    "vectors" (A) of every environment's atoms, the centre first (at the origin), and "counts",
    the number of atoms of each environment."""
    from sagpr.neighbors import neighbor_list

    numbers: List[np.ndarray] = []
    vectors: List[np.ndarray] = []
    counts = np.zeros(len(sites), dtype=np.int64)
    by_frame: Dict[int, List[int]] = {}
    for k, (f, _) in enumerate(sites):
        by_frame.setdefault(int(f), []).append(k)
    parts: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
    for f, ks in by_frame.items():
        atoms = frames[f]
        centres = [int(sites[k][1]) for k in ks]
        center, neighbor, vec = neighbor_list(atoms, cutoff + _MARGIN, centres)
        for k, c in zip(ks, centres):
            mine = center == c
            parts[k] = (np.concatenate([[atoms.numbers[c]], atoms.numbers[neighbor[mine]]]),
                        np.concatenate([np.zeros((1, 3)), vec[mine]]))
    for k in range(len(sites)):
        z, v = parts[k]
        numbers.append(z.astype(np.int32))
        vectors.append(v.astype(np.float64))
        counts[k] = len(z)
    return {"numbers": np.concatenate(numbers) if numbers else np.zeros(0, np.int32),
            "vectors": np.concatenate(vectors) if vectors else np.zeros((0, 3)),
            "counts": counts}


def clusters(env: Dict[str, np.ndarray]) -> List[Atoms]:
    """One finite structure per stored environment (centre at the origin, atom 0)."""
    starts = np.concatenate([[0], np.cumsum(env["counts"])])
    return [Atoms(numbers=env["numbers"][a:b], positions=env["vectors"][a:b], pbc=False)
            for a, b in zip(starts[:-1], starts[1:])]
