"""Predict the EFG of every Li in twenty 1512-atom LTO models with one Li model (issue: at scale).

Trains a lambda=2 TensorModel for Li on the built-in LTO set (rattled/rescaled 42-atom cells,
point-charge Ewald EFGs), generates `--models` large cells by Monte Carlo (sagpr.datasets.lto),
then streams them through the model on the current thread count and reports total seconds and
microseconds per Li site, for model.predict alone and for the whole `sagpr predict` path
(observables and file writing included).

    OMP_NUM_THREADS=1 python bench/predict_large.py [--train-envs 5000] [--n-sparse 1000] [--models 20]
    OMP_NUM_THREADS=1 python bench/predict_large.py --model run/li.sagpr   # e.g. sagpr reproduce's final model
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import sagpr
from sagpr.datasets import lto
from sagpr.workflows.prediction.predict import predict_file


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-envs", type=int, default=5000)
    parser.add_argument("--n-sparse", type=int, default=1000)
    parser.add_argument("--n-features", type=int, default=None)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None, help="a saved Li model to use instead of training one")
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  {vars(args)}")

    t0 = time.perf_counter()
    if args.model is not None:
        model = sagpr.load(args.model)
        model.progress = False
        print(f"loaded {args.model}: {model.get_params()}")
    else:
        train = lto.generate(-(-args.train_envs // 8), seed=0, progress=False)
        model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=5.0, max_radial=8, max_angular=6,
                                  atomic_gaussian_width=0.4, zeta=2, regularizer=1e-6, n_sparse=args.n_sparse,
                                  n_features=args.n_features, progress=False).fit(train)
        print(f"trained on {sum(int((a.numbers == 3).sum()) for a in train)} Li in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    cells = lto.large_models(args.models, 3, seed=1, label=False, progress=False)
    n_li = sum(int((a.numbers == 3).sum()) for a in cells)
    print(f"{len(cells)} models of {len(cells[0])} atoms, {n_li} Li sites, generated in {time.perf_counter() - t0:.1f} s")

    model.predict(cells[:1])  # warm-up: descriptor tables, weight contraction
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for atoms in cells:
            model.predict([atoms])
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    print(f"model.predict, cell by cell: {t:.2f} s total (median of {args.repeats}), {1e6 * t / n_li:.0f} us per Li site; "
          f"11,808 sites at this rate: {11808 * t / n_li:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        predict_file(model, iter(cells), Path(tmp) / "predicted.xyz", chunk_size=1, progress=False)
        t = time.perf_counter() - t0
    print(f"sagpr predict path (observables + extended XYZ output): {t:.2f} s, {1e6 * t / n_li:.0f} us per Li site")


if __name__ == "__main__":
    main()
