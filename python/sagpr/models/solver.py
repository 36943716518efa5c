"""The GPR solver: normal equations held once, solved for one or several regularizers.

Sparse GPR (subset of regressors / projected process; Quinonero-Candela and Rasmussen, JMLR 6,
1939 (2005)) solves (K_MN K_NM + sigma^2 K_MM) w = K_MN (y - mean); the full GPR solves
(K_NN + sigma^2 I) w = y - mean. Both are "gram + sigma^2 metric" with metric K_MM or I, so one
object serves SAGPR.fit, the shared cross-validation folds and the Dask fit: it holds the sums
(built once, by whoever iterates over the data), K_MM, the target mean and the jitter policy,
and keeps the Cholesky factor of the last system it solved (what predictive variances need:
(K_MN K_NM + sigma^2 K_MM)^-1 = L^-T L^-1).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from sagpr import _core, settings


def jitter_argument(jitter) -> float:
    """The C++ solves' jitter argument: -1 asks for the automatic diagonal shift ("auto")."""
    settings.check("jitter", jitter)
    return -1.0 if jitter == "auto" else float(jitter)


class GPRSolver:
    """(gram + regularizer * metric) w = rhs, solved by Cholesky with a diagonal-shift policy.

    gram : (P, P) K_MN K_NM (sparse) or K_NN (full); only its lower triangle is read.
    rhs : (P,) K_MN (y - y_mean) or y - y_mean.
    metric : (P, P) K_MM, or None for the identity (full GPR).
    y_mean : (d,) the mean subtracted from the targets (zeros for lambda > 0).
    jitter : "auto" (grown from zero only as needed) or a fixed shift >= 0.

    After solve(): factor_ (lower triangle: the Cholesky factor of the shifted system), jitter_
    (the shift used), regularizer_.
    """

    def __init__(self, gram, rhs, *, metric=None, y_mean, jitter="auto"):
        self.gram = np.ascontiguousarray(gram, dtype=np.float64)
        self.rhs = np.ascontiguousarray(rhs, dtype=np.float64).ravel()
        p = len(self.rhs)
        if self.gram.shape != (p, p):
            raise ValueError(f"the system matrix must be ({p}, {p}) for {p} right-hand-side values, got {self.gram.shape}")
        self.metric = None if metric is None else np.ascontiguousarray(metric, dtype=np.float64)
        if self.metric is not None and self.metric.shape != (p, p):
            raise ValueError(f"K_MM must be ({p}, {p}), got {self.metric.shape}")
        self.y_mean = np.asarray(y_mean, dtype=np.float64).ravel()
        self._jitter = jitter_argument(jitter)
        self.jitter = jitter

    @property
    def size(self) -> int:
        return len(self.rhs)

    def system(self, regularizer) -> np.ndarray:
        """A new array gram + regularizer * metric (lower triangle meaningful)."""
        settings.check("regularizer", regularizer)
        a = self.gram.copy()
        self._add_regularizer(a, regularizer)
        return a

    def _add_regularizer(self, a, regularizer):
        if self.metric is None:
            a[np.diag_indices_from(a)] += float(regularizer)
        else:
            a += float(regularizer) * self.metric

    def solve(self, regularizer, *, overwrite: bool = False) -> np.ndarray:
        """Weights (P,) for `regularizer`. overwrite=True builds the system in the gram's own
        memory (peak one fewer (P, P) matrix; the solver then cannot solve again)."""
        if self.gram is None:
            raise RuntimeError("this solver's sums were consumed by solve(overwrite=True)")
        if overwrite:
            settings.check("regularizer", regularizer)
            a = self.gram
            self._add_regularizer(a, regularizer)
            self.gram = None
        else:
            a = self.system(regularizer)
        w, self.jitter_ = _core.cholesky_solve(a, self.rhs, self._jitter, overwrite_a=True)
        # cholesky_solve leaves L in the lower triangle (and the system in the upper one)
        self.factor_ = a
        self.regularizer_ = float(regularizer)
        return w

    def solve_path(self, regularizers: Sequence[float]):
        """Weights for each regularizer, from the same sums (no pass over the data)."""
        return [self.solve(r) for r in regularizers]

    def whiten(self, k) -> np.ndarray:
        """L^-1 k for the factor L of the last solve: k (P, r) -> (P, r), so that
        k^T (gram + regularizer metric)^-1 k = |L^-1 k|^2 (predictive variances, no second solve)."""
        if not hasattr(self, "factor_"):
            raise RuntimeError("solve() first: the factor of the system is kept by the last solve")
        return whiten(self.factor_, k)

    def metric_factor(self, *, overwrite: bool = False) -> np.ndarray:
        """The lower Cholesky factor of the metric K_MM (shifted by the jitter policy when needed;
        sparse solvers only): Q_** = |L_MM^-1 k_M*|^2 is the Nystroem approximation of k_**.
        overwrite=True factorises in the metric's own memory (the solver then has no metric)."""
        if self.metric is None:
            raise RuntimeError("the full GPR has no K_MM metric")
        a = self.metric if overwrite else self.metric.copy()
        if overwrite:
            self.metric = None
        a, self.metric_jitter_ = factor_metric(a, self._jitter, overwrite=True)
        return a

    def restrict(self, columns, *, gram=None, rhs=None) -> "GPRSolver":
        """The problem on a subset of the unknowns (an active subset); `gram` / `rhs` replace
        this solver's (already restricted) when the sums differ, e.g. a CV fold's."""
        columns = np.asarray(columns)
        sub_gram = self.gram[np.ix_(columns, columns)] if gram is None else gram
        sub_rhs = self.rhs[columns] if rhs is None else rhs
        metric = None if self.metric is None else self.metric[np.ix_(columns, columns)]
        return GPRSolver(sub_gram, sub_rhs, metric=metric, y_mean=self.y_mean, jitter=self.jitter)


def whiten(factor, k) -> np.ndarray:
    """L^-1 k by forward substitution; only the lower triangle of `factor` is read (the solve
    leaves the system in the upper one)."""
    from scipy.linalg import solve_triangular

    return solve_triangular(factor, np.asarray(k, dtype=np.float64), lower=True, check_finite=False)


def dtc_blocks(kss, u, v, regularizer) -> np.ndarray:
    """Projected-process (DTC) covariance blocks k** - Q** + s k*M (K_MN K_NM + s K_MM)^-1 kM*
    (Quinonero-Candela and Rasmussen, JMLR 6, 1939 (2005), eq. 22, in units of the prior amplitude)
    from kss (n, d, d), u = L_MM^-1 kM* and v = L^-1 kM*, each (P, n, d); symmetrised."""
    block = kss - np.einsum("pim,pin->imn", u, u) + regularizer * np.einsum("pim,pin->imn", v, v)
    return 0.5 * (block + np.swapaxes(block, 1, 2))


def pack_lower(factor) -> np.ndarray:
    """The lower triangle of a square matrix, row by row (what a model file stores)."""
    return np.asarray(factor)[np.tril_indices(len(factor))]


def unpack_lower(packed) -> np.ndarray:
    """The (P, P) lower-triangular matrix of pack_lower's output (zeros above the diagonal)."""
    packed = np.asarray(packed, dtype=np.float64)
    p = int(round((np.sqrt(8 * len(packed) + 1) - 1) / 2))
    if p * (p + 1) // 2 != len(packed):
        raise ValueError(f"{len(packed)} values are not a packed lower triangle")
    out = np.zeros((p, p))
    out[np.tril_indices(p)] = packed
    return out


def factor_metric(kmm, jitter: float, *, overwrite: bool = False):
    """(L, shift): the lower Cholesky factor of K_MM + shift I, with `jitter` the C++ argument
    (-1: grown from zero only as needed; >= 0: that shift). A model file records the shift, so
    loading rebuilds the same factor from the active features instead of storing it."""
    a = np.ascontiguousarray(kmm, dtype=np.float64)
    a = a if overwrite else a.copy()
    _, shift = _core.cholesky_solve(a, np.zeros(len(a)), float(jitter), overwrite_a=True)
    return a, shift


def sparse_solver(ktk, kty, kmm, *, y_mean, jitter="auto") -> GPRSolver:
    """The solver of (K_MN K_NM + sigma^2 K_MM) w = K_MN (y - mean)."""
    return GPRSolver(ktk, kty, metric=kmm, y_mean=y_mean, jitter=jitter)


def full_solver(knn, y_centred, *, y_mean, jitter="auto") -> GPRSolver:
    """The solver of (K_NN + sigma^2 I) w = y - mean."""
    return GPRSolver(knn, y_centred, metric=None, y_mean=y_mean, jitter=jitter)


__all__ = ["GPRSolver", "sparse_solver", "full_solver", "jitter_argument", "whiten", "pack_lower", "unpack_lower"]
