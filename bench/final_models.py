"""What the tuned model of every site costs in `sagpr compare --save-model` / `sagpr reproduce`.

On the Li sites of the built-in LTO set (rattled/rescaled 42-atom Li4Ti5O12 cells with
point-charge Ewald EFGs, sagpr.datasets.lto.generate), lambda = 2, M = 500 active points, the
random 4:1 site split of the comparison, features precomputed once (FeatureStore), three ways:

- fresh: a fit on every site (farthest-point sampling on all of them): what was saved before;
- train + extend: the final fit on the training sites, then SAGPR.partial_fit_features with
  the test sites (what is saved now, when the final fit is summed by itself);
- extend only: partial_fit_features alone (what is left when the search's CV already summed
  the training sites: CrossValidator.full_fit).

Prints the median of `--repeats` seconds of each and the largest relative difference between
the predictions of "train + extend" and a fit on every site with the same active set.

    python bench/final_models.py [--structures 1640] [--species Li] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from sagpr.datasets import lto
from sagpr.models import SAGPR
from sagpr.tensors import symmetric_traceless_to_l2
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.features import FeatureStore
from sagpr.workflows.tuning.splits import train_test_split

PARAMS = {"cutoff": 6.0, "atomic_gaussian_width": 0.3, "max_radial": 6, "max_angular": 4, "zeta": 2,
          "n_sparse": 500, "regularizer": 1e-5}


def median_time(repeats, work):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structures", type=int, default=1640)
    parser.add_argument("--species", default="Li")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    sites = collect_sites(lto.generate(args.structures, seed=0, progress=False), args.species)
    train, test = train_test_split(len(sites), test_fraction=0.2, seed=0)
    f = FeatureStore(sites).pair(2, PARAMS)
    x, x0, y = f["x"], f["x0"], symmetric_traceless_to_l2(sites.V)
    gpr = {k: PARAMS[k] for k in ("zeta", "n_sparse", "regularizer")}

    def fresh():
        return SAGPR(o3_lambda=2, progress=False, **gpr).fit_features(x, x0, y)

    def on_train():
        return SAGPR(o3_lambda=2, progress=False, **gpr).fit_features(x[train], x0[train], y[train])

    def train_and_extend():
        return on_train().partial_fit_features(x[test], x0[test], y[test])

    t_fresh, _ = median_time(args.repeats, fresh)
    t_both, extended = median_time(args.repeats, train_and_extend)
    fitted = [on_train() for _ in range(args.repeats)]
    t_extend, _ = median_time(args.repeats, lambda: fitted.pop().partial_fit_features(x[test], x0[test], y[test]))
    rows = np.concatenate([train, test])
    same = SAGPR(o3_lambda=2, progress=False, **gpr).fit_features(x[rows], x0[rows], y[rows],
                                                                 active=extended.active_indices_)
    p_ext, p_same = extended.predict_features(x, x0), same.predict_features(x, x0)
    diff = np.abs(p_ext - p_same).max() / np.abs(p_same).max()
    print(f"{args.species}: {len(train)} training + {len(test)} test sites, M = {PARAMS['n_sparse']}, "
          f"median of {args.repeats}")
    print(f"fresh fit on every site      {t_fresh:7.2f} s")
    print(f"train fit + extend by test   {t_both:7.2f} s  ({t_both / t_fresh:.2f} x the fresh fit's time)")
    print(f"extend only (CV sums reused) {t_extend:7.2f} s  ({t_extend / t_fresh:.2f} x the fresh fit's time)")
    print(f"max relative difference of predictions, extended vs one fit with its active set: {diff:.1e}")


if __name__ == "__main__":
    main()
