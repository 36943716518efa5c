"""Neighbour lists of periodic and finite structures (the C++ cell-list search)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import _core
from .frames import frame_arrays


def neighbor_list(atoms, cutoff: float, centers: Sequence[int] = None):
    """Pairs closer than `cutoff` (A) around `centers` (default: every atom), periodic images included.

    Returns (center, neighbor, vectors): atom indices of each pair's centre and neighbour and the
    vector from centre to neighbour (the neighbour's periodic image), in Angstrom.
    """
    positions, numbers, cell, pbc = frame_arrays(atoms)
    centers = list(range(len(atoms))) if centers is None else [int(c) for c in centers]
    position, neighbor, vectors = _core.neighbor_list(positions, numbers, cell, pbc, float(cutoff), centers)
    return np.asarray(centers, dtype=int)[np.asarray(position, dtype=int)], np.asarray(neighbor), np.asarray(vectors)


def has_close_pair(atoms, min_distance: float) -> bool:
    """True if any two atoms (periodic images included) are closer than min_distance (A)."""
    if min_distance <= 0:
        return False
    center, _, _ = neighbor_list(atoms, min_distance)
    return len(center) > 0
