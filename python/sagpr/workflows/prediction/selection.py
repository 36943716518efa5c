"""Active selection: the structures of a pool whose reference calculation would reduce the model's
predictive uncertainty over the whole pool most.

Greedy with the posterior updated after each pick (so the picks are diverse): for every part
(centre species, lambda) the joint predictive covariance S of all pool sites is computed once;
labelling structure s (its sites J, observation noise s2 = the regularizer, in the raw GPR units)
conditions it, S <- S - S[:, J] (S[J, J] + s2 I)^-1 S[J, :], and removes
tr(S[:, J] (S[J, J] + s2 I)^-1 S[J, :]) of the total variance. Each round picks the structure that
removes the most, summed over the parts, each weighted by its calibration scale (so parts of
different species and lambda add in the target's units squared; 1 when uncalibrated). This is
the greedy maximisation of the variance reduction (an "integrated variance" criterion, e.g.
Seeger, Williams and Lawrence, AISTATS 2003 for the sparse-GP information gain) over the pool.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np


@dataclass
class Pick:
    """One selected structure and why: its pool index, the pool variance it removes (absolute and
    as a fraction of what was left), its own largest site standard deviation before the pick, and
    the pool's total variance left after it."""

    rank: int
    frame: int
    gain: float
    fraction: float
    max_std: float
    remaining: float
    n_sites: int

    def reason(self) -> str:
        return (f"removes {100 * self.fraction:.1f}% of the pool's remaining predictive variance "
                f"({self.n_sites} site(s), largest sigma {self.max_std:.3g})")


def _weights(model, parts):
    """The factor turning each part's raw variances into calibrated ones (1 when uncalibrated)."""
    from sagpr.models import calibration

    out = {}
    for key, (cov, _) in parts.items():
        z, lam = key
        cal = model.models_[z][lam].current_calibration()
        if not cal:
            out[key] = 1.0
            continue
        d = 2 * lam + 1
        n = len(cov) // d
        blocks = np.einsum("iaib->iab", cov.reshape(n, d, n, d))
        f = calibration.scale_factors(blocks, cal["scale"], cal.get("power", 1.0))
        out[key] = float(np.mean(f))
    return out


def _gain(cov, columns, noise):
    """(variance removed by observing `columns`, L^-1 S[J, :]) for the conditioning update."""
    block = cov[np.ix_(columns, columns)] + noise * np.eye(len(columns))
    L = np.linalg.cholesky(block)
    from scipy.linalg import solve_triangular

    v = solve_triangular(L, cov[columns], lower=True, check_finite=False)
    return float(np.einsum("ij,ij->", v, v)), v


def select(model, pool, n: int, *, exclude=()) -> List[Pick]:
    """Up to n structures of `pool` (frames) picked greedily (see the module); `exclude`: pool
    indices never picked (e.g. already computed). Returns the picks in order."""
    from sagpr.frames import as_frame_list

    pool = as_frame_list(pool)
    if int(n) < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    if not hasattr(model, "joint_covariance"):
        raise ValueError(f"active selection needs a TensorModel or ScalarModel, got {type(model).__name__}")
    parts = model.joint_covariance(pool)
    if not parts:
        raise ValueError("no site of the model's species in the pool")
    weights = _weights(model, parts)
    state = {}
    for key, (cov, site_frames) in parts.items():
        d = 2 * key[1] + 1
        columns = {f: np.flatnonzero(np.repeat(site_frames, d) == f) for f in np.unique(site_frames)}
        noise = model.models_[key[0]][key[1]].regularizer
        state[key] = (cov.copy(), columns, noise, d)
    candidates = sorted({f for _, cols, _, _ in state.values() for f in cols} - set(int(e) for e in exclude))
    picks: List[Pick] = []
    while candidates and len(picks) < int(n):
        total = sum(weights[k] * np.trace(s[0]) for k, s in state.items())
        best, best_gain = None, -1.0
        for f in candidates:
            gain = sum(weights[k] * _gain(cov, cols[f], noise)[0] for k, (cov, cols, noise, _) in state.items() if f in cols)
            if gain > best_gain:
                best, best_gain = f, gain
        max_std, n_sites = 0.0, 0
        for key, (cov, cols, noise, d) in state.items():
            if best not in cols:
                continue
            c = cols[best]
            max_std = max(max_std, float(np.sqrt(weights[key] * np.max(np.diag(cov)[c]))))
            n_sites += len(c) // d
            _, v = _gain(cov, c, noise)
            cov -= v.T @ v  # the posterior after observing the picked structure's sites
        remaining = sum(weights[k] * np.trace(s[0]) for k, s in state.items())
        picks.append(Pick(rank=len(picks) + 1, frame=int(best), gain=best_gain,
                          fraction=best_gain / total if total > 0 else 0.0, max_std=max_std,
                          remaining=float(remaining), n_sites=n_sites))
        candidates.remove(best)
    return picks


def write_picks(path, pool, picks: List[Pick]) -> None:
    """The picked frames, in pick order, to an extended XYZ file (atomically), each with its
    selection_rank, selection_gain, selection_fraction and selection_max_std in info."""
    from ase.io import write

    from sagpr.atomic import atomic_path

    out = []
    for pick in picks:
        atoms = pool[pick.frame].copy()
        atoms.calc = None
        for key in list(atoms.arrays):
            if atoms.arrays[key].ndim > 2:  # (N, 3, 3) tensors: the 9-column extended XYZ layout
                atoms.arrays[key] = atoms.arrays[key].reshape(len(atoms), -1)
        atoms.info.update(selection_rank=pick.rank, selection_gain=pick.gain, selection_fraction=pick.fraction,
                          selection_max_std=pick.max_std)
        out.append(atoms)
    with atomic_path(path) as tmp:
        write(tmp, out, format="extxyz")


def random_picks(pool_size: int, n: int, seed: int = 0) -> List[int]:
    """n pool indices drawn at random without replacement (the baseline of active selection)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(pool_size)[: int(n)]]


__all__ = ["Pick", "select", "write_picks", "random_picks"]
