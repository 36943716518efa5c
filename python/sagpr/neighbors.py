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


#: closer than this (A), two atoms are taken to be an input error (no bond is shorter than H2's 0.74 A)
DEFAULT_MIN_DISTANCE = 0.5
_min_distance = DEFAULT_MIN_DISTANCE


def set_min_distance(value: float) -> float:
    """Set the distance (A) below which a pair of atoms is an error (0 turns the check off); returns
    the previous value. The command line's ``--min-distance`` sets it."""
    global _min_distance
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"min_distance must be a non-negative distance in A, got {value}")
    previous, _min_distance = _min_distance, value
    return previous


def check_min_distance(atoms, index: int = 0, min_distance: float = None) -> None:
    """Fail, naming the frame and both atoms, when two atoms (periodic images included) are closer
    than `min_distance` (default: the value of `set_min_distance`, 0.5 A)."""
    limit = _min_distance if min_distance is None else float(min_distance)
    if limit <= 0 or len(atoms) < 1:
        return
    center, neighbor, vectors = neighbor_list(atoms, limit)
    if not len(center):
        return
    distances = np.linalg.norm(vectors, axis=1)
    k = int(np.argmin(distances))
    i, j = sorted((int(center[k]), int(neighbor[k])))
    symbols = atoms.get_chemical_symbols()
    what = ("are at the same position" if distances[k] < 1e-8
            else f"are {distances[k]:.3g} A apart, closer than the minimum {limit:g} A")
    same = " (with a periodic image of itself)" if i == j else ""
    raise ValueError(f"frame {index}: atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) {what}{same}: overlapping "
                     f"atoms? (--min-distance / sagpr.neighbors.set_min_distance changes the limit)")


def has_close_pair(atoms, min_distance: float) -> bool:
    """True if any two atoms (periodic images included) are closer than min_distance (A)."""
    if min_distance <= 0:
        return False
    center, _, _ = neighbor_list(atoms, min_distance)
    return len(center) > 0
