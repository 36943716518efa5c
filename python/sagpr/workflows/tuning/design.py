"""Box-Behnken designs and quadratic response surfaces for hyperparameter search.

A Box-Behnken design (Box & Behnken, Technometrics 2, 455 (1960)) puts every pair of factors
at the four corners (+-1, +-1) of their square with all other factors at the centre level, plus
replicated centre points: three levels per factor, no extreme corners of the whole box, and
enough points for a full quadratic model. With the classical centre-point counts this gives
15 runs for 3 factors, 27 for 4 and 46 for 5 (NIST/SEMATECH e-Handbook, section 5.3.3.6.2).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

# Centre points of the classical designs (Box & Behnken 1960, Table 1 as tabulated by NIST).
_CENTER_POINTS = {3: 3, 4: 3, 5: 6, 6: 6, 7: 6}


@dataclass(frozen=True)
class Factor:
    """One hyperparameter searched over three levels between `low` and `high`.

    ``scale="log"`` places the middle level at the geometric mean (for regularizers, widths
    spanning decades); ``integer=True`` rounds levels and the optimum (for zeta, max_radial).
    """

    name: str
    low: float
    high: float
    scale: str = "linear"
    integer: bool = False

    def __post_init__(self):
        if not (np.isfinite(self.low) and np.isfinite(self.high)) or not self.low < self.high:
            raise ValueError(f"factor {self.name!r}: need low < high, got {self.low!r}, {self.high!r}")
        if self.scale not in ("linear", "log"):
            raise ValueError(f"factor {self.name!r}: scale must be 'linear' or 'log', got {self.scale!r}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"factor {self.name!r}: a log scale needs positive bounds")

    def decode(self, coded):
        """Coded level(s) in [-1, 1] to the hyperparameter value(s)."""
        coded = np.clip(np.asarray(coded, dtype=float), -1.0, 1.0)
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            value = np.exp(lo + (coded + 1.0) * 0.5 * (hi - lo))
        else:
            value = self.low + (coded + 1.0) * 0.5 * (self.high - self.low)
        if self.integer:
            value = np.rint(value)
        return value

    def encode(self, value):
        """Hyperparameter value(s) to coded level(s)."""
        value = np.asarray(value, dtype=float)
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            return 2.0 * (np.log(value) - lo) / (hi - lo) - 1.0
        return 2.0 * (value - self.low) / (self.high - self.low) - 1.0


def box_behnken(n_factors: int, center_points: Optional[int] = None) -> np.ndarray:
    """Coded Box-Behnken design, shape (n_runs, n_factors), levels -1, 0, +1.

    All pairs of factors at (+-1, +-1), the others at 0, then `center_points` centre runs
    (default: the classical count, 3 for 3-4 factors, 6 for 5-7). For 3-5 factors this is the
    classical design; for 6-7 it is the pairwise variant, with more runs than the classical
    incomplete-block designs (66 and 90 instead of 54 and 62).
    """
    if not 3 <= n_factors <= 7:
        raise ValueError(f"Box-Behnken designs here take 3 to 7 factors, got {n_factors}")
    if center_points is None:
        center_points = _CENTER_POINTS[n_factors]
    runs = []
    for i, j in itertools.combinations(range(n_factors), 2):
        for a, b in itertools.product((-1.0, 1.0), repeat=2):
            row = np.zeros(n_factors)
            row[i], row[j] = a, b
            runs.append(row)
    runs.extend(np.zeros(n_factors) for _ in range(center_points))
    return np.array(runs)


def _quadratic_terms(x: np.ndarray) -> np.ndarray:
    """Columns 1, x_i, x_i x_j (i <= j) of a full quadratic model."""
    x = np.atleast_2d(x)
    cols = [np.ones(len(x))]
    cols.extend(x[:, i] for i in range(x.shape[1]))
    cols.extend(x[:, i] * x[:, j] for i, j in itertools.combinations_with_replacement(range(x.shape[1]), 2))
    return np.stack(cols, axis=1)


@dataclass
class ResponseSurface:
    """A full quadratic model y = b0 + sum b_i x_i + sum_{i<=j} b_ij x_i x_j in coded units."""

    coefficients: np.ndarray
    n_factors: int
    r2: float

    @classmethod
    def fit(cls, coded: np.ndarray, values: Sequence[float]) -> "ResponseSurface":
        coded = np.asarray(coded, dtype=float)
        values = np.asarray(values, dtype=float)
        if coded.ndim != 2 or len(coded) != len(values):
            raise ValueError("coded points (n_runs, n_factors) and values (n_runs,) do not match")
        if not np.all(np.isfinite(values)):
            raise ValueError("response values must be finite")
        design = _quadratic_terms(coded)
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise ValueError("the design does not determine a full quadratic model")
        coef, *_ = np.linalg.lstsq(design, values, rcond=None)
        residual = values - design @ coef
        total = np.sum((values - values.mean()) ** 2)
        r2 = 1.0 - np.sum(residual**2) / total if total > 0 else 1.0
        return cls(coef, coded.shape[1], float(r2))

    def __call__(self, coded) -> np.ndarray:
        return _quadratic_terms(np.asarray(coded, dtype=float)) @ self.coefficients

    def minimum(self) -> np.ndarray:
        """Coded point of the smallest predicted value inside the box [-1, 1]^k.

        The quadratic may be indefinite, so the box-constrained problem is solved by L-BFGS-B
        from the centre, every vertex-free design point and the unconstrained stationary point.
        """
        from scipy.optimize import minimize

        k = self.n_factors
        starts = [np.zeros(k)] + list(box_behnken(k, 0) if k >= 3 else np.eye(k))
        best, best_value = None, np.inf
        for x0 in starts:
            res = minimize(lambda x: float(self(x)[0]), x0, method="L-BFGS-B", bounds=[(-1.0, 1.0)] * k)
            if res.fun < best_value:
                best, best_value = np.clip(res.x, -1.0, 1.0), res.fun
        return best


def design_points(factors: Sequence[Factor], center_points: Optional[int] = None) -> List[Dict[str, float]]:
    """The Box-Behnken runs of `factors` as hyperparameter dictionaries, in design order."""
    coded = box_behnken(len(factors), center_points)
    return [decode_point(factors, row) for row in coded]


def decode_point(factors: Sequence[Factor], coded: Sequence[float]) -> Dict[str, float]:
    out = {}
    for factor, c in zip(factors, coded):
        value = factor.decode(c)
        out[factor.name] = int(value) if factor.integer else float(value)
    return out
