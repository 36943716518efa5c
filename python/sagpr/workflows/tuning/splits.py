"""Seeded train/test splits and k-fold cross-validation over environments or structures."""
from __future__ import annotations

from typing import Iterator, Optional, Sequence, Tuple

import numpy as np


def _groups(n_items: int, groups: Optional[Sequence[int]]) -> np.ndarray:
    if groups is None:
        return np.arange(n_items)
    groups = np.asarray(groups)
    if groups.shape != (n_items,):
        raise ValueError(f"groups must have one entry per item ({n_items}), got shape {groups.shape}")
    return groups


def train_test_split(n_items: int, *, test_fraction: float = 0.2, seed: int = 0,
                     groups: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) index arrays; test_fraction=0.2 is the study's 4:1 split.

    With `groups` (e.g. the structure index of every environment) whole groups go to one side,
    so no structure is in both sets; the test side then holds about `test_fraction` of the groups.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    g = _groups(n_items, groups)
    unique = np.unique(g)
    if len(unique) < 2:
        raise ValueError("need at least two items (or groups) to split")
    rng = np.random.default_rng(seed)
    n_test = min(len(unique) - 1, max(1, int(round(test_fraction * len(unique)))))
    test_groups = rng.choice(unique, size=n_test, replace=False)
    test = np.isin(g, test_groups)
    return np.flatnonzero(~test), np.flatnonzero(test)


def k_fold(n_items: int, *, n_folds: int = 5, seed: int = 0,
           groups: Optional[Sequence[int]] = None) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Yield (train, validation) index arrays of a shuffled k-fold split (group-aware)."""
    g = _groups(n_items, groups)
    unique = np.unique(g)
    if not 2 <= n_folds <= len(unique):
        raise ValueError(f"n_folds must be between 2 and the number of items/groups ({len(unique)}), got {n_folds}")
    order = np.random.default_rng(seed).permutation(unique)
    for fold in np.array_split(order, n_folds):
        val = np.isin(g, fold)
        yield np.flatnonzero(~val), np.flatnonzero(val)


def subsample(items, max_items: Optional[int], *, seed: int = 0, groups: Optional[Sequence[int]] = None) -> np.ndarray:
    """A seeded, sorted subset of at most about `max_items` of `items` (indices), or all of them
    (None, or no more than max_items). With `groups` (of every item index, e.g. its structure)
    whole groups are kept, as many as fit (at least one)."""
    items = np.asarray(items, dtype=int)
    if max_items is not None and max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items!r}")
    if max_items is None or len(items) <= max_items:
        return items
    rng = np.random.default_rng(seed)
    if groups is None:
        return np.sort(rng.choice(items, size=int(max_items), replace=False))
    g = np.asarray(groups)[items]
    unique, counts = np.unique(g, return_counts=True)
    order = rng.permutation(len(unique))
    n_keep = max(1, int(np.searchsorted(np.cumsum(counts[order]), max_items, side="right")))
    return np.sort(items[np.isin(g, unique[order[:n_keep]])])
