"""Cross-validation cost: folds fitted separately against folds sharing one active set.

Scores all six models of `sagpr compare` (the lambda = 2 tensor model and five lambda = 0
scalar models) at Box-Behnken-like points on the Li sites of the built-in LTO set, 5 folds,
default descriptor (max_radial 6, max_angular 4) and n_sparse 500, once with per-fold fits
(fits.fit_predict: each fold its own active set and normal equations) and once with
fold_fits (one active set, per-fold blocks shared). Features are computed before the clock
starts. Reports medians over the points and the per-fold scores of both.

    python bench/cv_folds.py [--structures 200] [--points 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sagpr.datasets import lto
from sagpr.workflows.tuning.crossval import CrossValidator
from sagpr.workflows.tuning.features import FeatureStore
from sagpr.workflows.sites import collect_sites


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structures", type=int, default=200)
    parser.add_argument("--points", type=int, default=3, help="regularizer values at one descriptor setting")
    args = parser.parse_args()

    sites = collect_sites(lto.generate(args.structures, seed=0, progress=False), "Li")
    train = np.arange(len(sites))
    store = FeatureStore(sites)
    base = dict(cutoff=5.0, atomic_gaussian_width=0.45, max_radial=6, max_angular=4, zeta=2, n_sparse=500)
    store.pair(2, base)
    store.pair(0, base)
    regs = np.logspace(-6, -2, args.points)
    print(f"{len(sites)} Li sites, 5 folds, n_sparse 500, {args.points} regularizer values, all six models")
    times = {}
    for shared in (False, True):
        cv = CrossValidator(sites, train, n_folds=5, store=store, shared_active_set=shared)
        per_point, scores = [], []
        for reg in regs:
            t0 = time.perf_counter()
            scores.append(cv.scores(dict(base, regularizer=float(reg))))
            per_point.append(time.perf_counter() - t0)
        name = "shared active set" if shared else "per-fold fits"
        times[shared] = per_point
        print(f"{name:18s}: first point {per_point[0]:.1f} s, median {statistics.median(per_point):.1f} s, "
              f"total {sum(per_point):.1f} s")
        for model in ("tensor", "theta", "omega_q"):
            print(f"    {model:8s} CV score at regularizer {regs[0]:.0e}: {np.mean(scores[0][model]):.4f}")
    print(f"speed-up: first point {times[False][0] / times[True][0]:.1f}x, "
          f"whole set {sum(times[False]) / sum(times[True]):.1f}x")


if __name__ == "__main__":
    main()
