"""Hops between environments: which site or region each nucleus occupies over time, how long it
stays (residence times) and how often it moves from one kind of environment to another.

Labels are integers per frame and nucleus, -1 where no environment is assigned (e.g. between two
omega_Q regions while passing a saddle point); such frames keep the last assigned label, so a
nucleus that returns to where it came from has not hopped.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np


def labels_from_intervals(values, lows, highs) -> np.ndarray:
    """Label k where lows[k] <= value < highs[k] (e.g. the omega_Q regions of `sagpr histogram`), else -1."""
    values = np.asarray(values, dtype=np.float64)
    labels = np.full(values.shape, -1, dtype=int)
    for k, (lo, hi) in enumerate(zip(lows, highs)):
        labels[(values >= lo) & (values < hi) & (labels < 0)] = k
    return labels


def nearest_site_labels(positions, sites, cell, *, max_distance: Optional[float] = None) -> np.ndarray:
    """(frames, nuclei) index of the nearest of `sites` (S, 3) under periodic boundaries of `cell`
    (3 x 3 rows); -1 where the nearest is farther than `max_distance` (A)."""
    positions = np.asarray(positions, dtype=np.float64)
    sites = np.asarray(sites, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    inverse = np.linalg.inv(cell)
    site_frac = sites @ inverse
    out = np.empty(positions.shape[:2], dtype=int)
    for f, frame in enumerate(positions):
        d = frame[:, None, :] @ inverse - site_frac[None]
        d -= np.round(d)  # minimum image in fractional coordinates (fine for cells not too skewed)
        dist2 = np.einsum("nsi,nsi->ns", d @ cell, d @ cell)
        out[f] = np.argmin(dist2, axis=1)
        if max_distance is not None:
            out[f][np.sqrt(dist2[np.arange(len(frame)), out[f]]) > max_distance] = -1
    return out


def fill_unassigned(labels) -> np.ndarray:
    """Labels with every -1 replaced by the last assigned label before it (the first assigned one
    for leading -1s); a nucleus never assigned keeps -1 throughout."""
    labels = np.array(labels, dtype=int, copy=True)
    for j in range(labels.shape[1]):
        column = labels[:, j]
        known = np.flatnonzero(column >= 0)
        if known.size == 0:
            continue
        index = np.maximum.accumulate(np.where(column >= 0, np.arange(len(column)), -1))
        index[index < 0] = known[0]
        labels[:, j] = column[index]
    return labels


def drop_short_stays(labels, min_frames: int) -> np.ndarray:
    """Labels with every stay shorter than `min_frames` frames made unassigned (-1), so a brief
    visit (a vibration across a boundary, a pass through a transition site such as 16c on the way
    from one 8a site back to the same one) is no hop once `fill_unassigned` carries the label on.
    The first and last stays of each nucleus are kept whatever their length (they are cut short)."""
    labels = np.array(labels, dtype=int, copy=True)
    if min_frames <= 1:
        return labels
    for j in range(labels.shape[1]):
        column = labels[:, j]
        edges = np.concatenate([[0], np.flatnonzero(np.diff(column) != 0) + 1, [len(column)]])
        for a, b in zip(edges[1:-2], edges[2:-1]):
            if b - a < min_frames:
                column[a:b] = -1
    return labels


def residence_times(labels, timestep: float, kinds=None) -> Dict[int, np.ndarray]:
    """{label: durations} of every complete stay (both ends seen: the first and last stay of each
    nucleus are cut by the trajectory and left out), in units of `timestep`; with `kinds` (label ->
    kind) the stays at each site are grouped by the site's kind."""
    labels = fill_unassigned(labels)
    kinds = None if kinds is None else np.asarray(kinds, dtype=int)
    out: Dict[int, list] = {}
    for column in labels.T:
        if column[0] < 0:
            continue
        change = np.flatnonzero(np.diff(column) != 0) + 1
        for a, b in zip(change[:-1], change[1:]):
            key = int(column[a]) if kinds is None else int(kinds[column[a]])
            out.setdefault(key, []).append((b - a) * timestep)
    return {k: np.asarray(v) for k, v in sorted(out.items())}


def hop_counts(labels, kinds=None, n_kinds: Optional[int] = None):
    """(counts, frames_in): counts[i, j] hops from a site of kind i to another site of kind j, and
    frames spent in each kind (frame transitions, i.e. frames - 1 per nucleus). `kinds` maps a
    label to its kind (default: the label itself), so hops between two sites of one kind land on
    the diagonal."""
    labels = fill_unassigned(labels)
    valid = labels[:, labels[0] >= 0] if labels.size else labels
    kinds = np.arange(valid.max() + 1 if valid.size else 0) if kinds is None else np.asarray(kinds, dtype=int)
    n_kinds = int(kinds.max()) + 1 if n_kinds is None else n_kinds
    counts = np.zeros((n_kinds, n_kinds), dtype=np.int64)
    frames_in = np.zeros(n_kinds, dtype=np.int64)
    if valid.size == 0 or len(valid) < 2:
        return counts, frames_in
    before, after = valid[:-1], valid[1:]
    hopped = before != after
    np.add.at(counts, (kinds[before[hopped]], kinds[after[hopped]]), 1)
    np.add.at(frames_in, kinds[before].ravel(), 1)
    return counts, frames_in


def hop_rates(labels, timestep: float, kinds=None, n_kinds: Optional[int] = None) -> dict:
    """Hop-rate matrix k[i, j] = hops from kind i to kind j per unit time spent in kind i (1 /
    units of `timestep`), the escape rate of each kind (row sums) and the counts behind them."""
    counts, frames_in = hop_counts(labels, kinds, n_kinds)
    time_in = frames_in * float(timestep)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(time_in[:, None] > 0, counts / time_in[:, None], np.nan)
    return {"rates": rates, "escape_rates": np.nansum(rates, axis=1), "counts": counts, "time_in": time_in,
            "hops": int(counts.sum())}
