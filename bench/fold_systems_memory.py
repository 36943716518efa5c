"""The lambda = 2 CV fold systems with the kernel kept against those built for their targets.

Builds fold_fits.FoldSystems for the tensor model on the O sites of the built-in LTO set (5
folds, max_radial 6, max_angular 4, n_sparse 500) twice per repeat: keeping the whole kernel
(any targets; how every setting was built before) and built for the tensor targets (K_MN y
summed at the build, only each fold's validation rows on its own active set kept, what the
search uses now). Features are computed before the clock starts. Reports the median time of
build + predictions, the bytes held and the largest difference of the predictions.

    python bench/fold_systems_memory.py [--structures 400] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sagpr.datasets import lto
from sagpr.models import SAGPR
from sagpr.tensors import symmetric_traceless_to_l2
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.features import FeatureStore
from sagpr.workflows.tuning.fold_fits import FoldSystems
from sagpr.workflows.tuning.splits import k_fold


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structures", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    sites = collect_sites(lto.generate(args.structures, seed=0, progress=False), "O")
    params = dict(cutoff=5.0, atomic_gaussian_width=0.45, max_radial=6, max_angular=4, zeta=2, n_sparse=500,
                  regularizer=1e-5)
    f = FeatureStore(sites).pair(2, params)
    n = len(sites)
    folds = [va for _, va in k_fold(n, n_folds=5, seed=0)]
    trains = [np.setdiff1d(np.arange(n), va) for va in folds]
    ys = [symmetric_traceless_to_l2(sites.V[t]) for t in trains]
    model = SAGPR(o3_lambda=2, zeta=2, n_sparse=500)
    print(f"{n} O sites, 5 folds, n_sparse 500, lambda = 2, median of {args.repeats}")
    times, held, predictions = {}, {}, {}
    for mode in ("kernel kept", "built for targets"):
        runs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            systems = FoldSystems.build(model, f["x"], f["x0"], folds, keep_full_fit=True,
                                        targets=None if mode == "kernel kept" else (trains, ys))
            out = systems.predict_folds(range(5), trains, folds, ys, 1e-5, 0.0)
            runs.append(time.perf_counter() - t0)
            held[mode] = systems.nbytes
            predictions[mode] = np.concatenate(out)
            del systems
        times[mode] = statistics.median(runs)
        print(f"{mode:18s}: {times[mode]:.2f} s (build + predictions), {held[mode] / 1e9:.3f} GB held")
    base, new = "kernel kept", "built for targets"
    diff = np.abs(predictions[new] - predictions[base]).max() / np.abs(predictions[base]).max()
    print(f"time ratio (built for targets / kernel kept): {times[new] / times[base]:.2f}; "
          f"bytes ratio: {held[new] / held[base]:.2f}; largest prediction difference {diff:.1e} (relative)")


if __name__ == "__main__":
    main()
