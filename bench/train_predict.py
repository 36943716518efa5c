"""Train/predict benchmark of a lambda=2 TensorModel on Li environments of LTO spinel cells.

Fits on ~5000 Li environments (rattled and rescaled 42-atom Li4Ti5O12 cells from
sagpr.datasets.lto.generate, labelled with point-charge Ewald EFGs) with M = 1000 active
environments, then predicts all Li of a 1512-atom (3x3x3) disordered cell
(sagpr.datasets.lto.large_models). Reports medians of seconds for features, kernel
accumulation, solve and prediction (kernel and contracted routes), and the GFLOP/s of the
kernel step against a NumPy matmul of the same shape measured in the same run.

    OMP_NUM_THREADS=1 python bench/train_predict.py [--train-envs 5000] [--n-sparse 1000]
        [--n-features N] [--feature-selection fps|pca] [--repeats 3] [--max-angular 6] [--max-radial 8]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import sagpr
from sagpr.datasets import lto
from sagpr.models import gpr

def median_time(repeats, work):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-envs", type=int, default=5000)
    parser.add_argument("--n-sparse", type=int, default=1000)
    parser.add_argument("--n-features", type=int, default=None)
    parser.add_argument("--feature-selection", choices=["fps", "pca"], default="fps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--max-radial", type=int, default=8)
    parser.add_argument("--max-angular", type=int, default=6)
    parser.add_argument("--width", type=float, default=0.4)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  {vars(args)}")
    start = time.perf_counter()
    train = lto.generate(-(-args.train_envs // 8), seed=0, progress=False)  # 8 Li per 42-atom cell
    n_li = sum(int((a.numbers == 3).sum()) for a in train)
    big = lto.large_models(1, 3, mc_sweeps=20, rattle_std=0.05, seed=1, progress=False)[0]
    n_big = int((big.numbers == 3).sum())
    print(f"data ({time.perf_counter() - start:.1f} s): training {len(train)} cells, {n_li} Li environments; "
          f"prediction cell: {len(big)} atoms, {n_big} Li")

    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=args.cutoff, max_radial=args.max_radial,
                              max_angular=args.max_angular, atomic_gaussian_width=args.width, zeta=2,
                              n_sparse=args.n_sparse, n_features=args.n_features,
                              feature_selection=args.feature_selection, regularizer=1e-6, progress=False)
    start = time.perf_counter()
    model.fit(train)
    fit_total = time.perf_counter() - start
    t = model.timings_
    sub = model.models_[3][2]
    a = sub.active_features_
    print(f"fit: {fit_total:.2f} s total; features {t['features']:.2f} s, feature selection "
          f"{t['feature_selection']:.2f} s, active-set FPS {t['active_selection']:.2f} s, kernel accumulation "
          f"{t['kernel_accumulation']:.2f} s, solve {t['solve']:.2f} s (jitter {sub.jitter_:.1e}); "
          f"M={len(a)}, F={a.shape[2]}, F0={sub.active_features0_.shape[1]}")

    # GFLOP/s of the accumulation against a NumPy matmul of the kernel block's shape
    d, F, F0, M = a.shape[1], a.shape[2], sub.active_features0_.shape[1], len(a)
    n_env = n_li
    flops = n_env * (2.0 * d * M * d * F + 2.0 * M * F0 + d * (M * d) ** 2)
    block = np.ascontiguousarray(a[:64].reshape(-1, F))
    active = a.reshape(-1, F)
    t_np, _ = median_time(args.repeats, lambda: block @ active.T)
    np_rate = 2.0 * block.shape[0] * active.shape[0] * F / t_np * 1e-9
    rate = flops / t["kernel_accumulation"] * 1e-9
    print(f"kernel accumulation: {rate:.1f} GFLOP/s; NumPy matmul {block.shape} x {active.T.shape}: "
          f"{np_rate:.1f} GFLOP/s -> {100 * rate / np_rate:.0f}% of NumPy")

    # prediction on the 1512-atom cell, both routes
    t_feat, feats = median_time(args.repeats, lambda: model._features([big], 3, [2]))
    x, x0 = feats[2], feats[0][:, 0, :]
    sub.contracted_weights()  # contraction is a once-per-model cost, timed separately
    t_contract, _ = median_time(1, lambda: gpr.contract(sub.active_features_, sub.active_features0_, sub.weights_, 2))
    t_kernel, y_kernel = median_time(args.repeats, lambda: sub.predict_features(x, x0, method="kernel"))
    t_con, y_con = median_time(args.repeats, lambda: sub.predict_features(x, x0, method="contracted"))
    t_total, _ = median_time(args.repeats, lambda: model.predict(big))
    print(f"predict {n_big} Li in the {len(big)}-atom cell: features {t_feat:.3f} s; kernel route {t_kernel:.3f} s; "
          f"contracted route {t_con:.4f} s (x{t_kernel / t_con:.0f}; one-off contraction {t_contract:.2f} s); "
          f"max |difference| {np.abs(y_kernel - y_con).max():.1e}; model.predict total {t_total:.3f} s")
    ref = big.arrays["efg"][big.numbers == 3]
    pred = model.predict(big)
    print(f"point-charge EFG accuracy on the big cell: MAE {np.abs(pred - ref).mean():.4g} V/A^2 "
          f"(mean |V| {np.abs(ref).mean():.4g}, std {ref.std():.4g})")


if __name__ == "__main__":
    main()
