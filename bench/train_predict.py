"""Train/predict benchmark of a lambda=2 TensorModel on Li environments of LTO-like spinel cells.

Fits on ~5000 Li environments (disordered Li4Ti5O12 spinel supercells, synthetic point-charge
EFGs as targets: only timings matter here) with M = 1000 active environments, then predicts
all Li of a 1512-atom (3x3x3) cell. Reports medians of seconds for features, kernel
accumulation, solve and prediction (kernel and contracted routes), and the GFLOP/s of the
kernel step against a NumPy matmul of the same shape measured in the same run.

    OMP_NUM_THREADS=1 python bench/train_predict.py [--train-envs 5000] [--n-sparse 1000]
        [--n-features N] [--repeats 3] [--max-angular 6] [--max-radial 8]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from ase.neighborlist import neighbor_list
from ase.spacegroup import crystal

import sagpr
from sagpr.models import _gpr

CHARGES = {3: 1.0, 22: 4.0, 8: -2.0}


def spinel_lto(repeat, rng, a=8.357, x=0.2625):
    """Li4Ti5O12 spinel, Li on 8a, (Li1/6 Ti5/6) on 16d (random, seeded), O on 32e."""
    cell = crystal(["Li", "Ti", "O"], basis=[(1 / 8, 1 / 8, 1 / 8), (1 / 2, 1 / 2, 1 / 2), (x, x, x)],
                   spacegroup=227, setting=2, cellpar=[a, a, a, 90, 90, 90]) * repeat
    ti = np.flatnonzero(cell.numbers == 22)
    swap = rng.choice(ti, size=len(ti) // 6, replace=False)
    numbers = cell.numbers.copy()
    numbers[swap] = 3
    cell.numbers = numbers
    cell.positions += rng.normal(scale=0.05, size=cell.positions.shape)  # thermal-like noise
    return cell


def point_charge_efg(atoms, cutoff=6.0):
    """Smooth synthetic EFG: sum_j q_j (3 r r^T - r^2 I) / r^5 times a cosine cutoff."""
    i, j, vec = neighbor_list("ijD", atoms, cutoff)
    r = np.linalg.norm(vec, axis=1)
    q = np.array([CHARGES[z] for z in atoms.numbers[j]])
    f = q * 0.5 * (np.cos(np.pi * r / cutoff) + 1) / r ** 5
    terms = f[:, None, None] * (3 * vec[:, :, None] * vec[:, None, :] - (r ** 2)[:, None, None] * np.eye(3))
    v = np.zeros((len(atoms), 3, 3))
    np.add.at(v, i, terms)
    return v


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--max-radial", type=int, default=8)
    parser.add_argument("--max-angular", type=int, default=6)
    parser.add_argument("--width", type=float, default=0.4)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  {vars(args)}")

    train = []
    n_li = 0
    while n_li < args.train_envs:  # 2x2x2 cells: 448 atoms, ~85 Li each
        atoms = spinel_lto(2, rng)
        atoms.arrays["efg"] = point_charge_efg(atoms)
        train.append(atoms)
        n_li += int((atoms.numbers == 3).sum())
    big = spinel_lto(3, rng)
    n_big = int((big.numbers == 3).sum())
    print(f"training: {len(train)} cells, {n_li} Li environments; prediction cell: {len(big)} atoms, {n_big} Li")

    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=args.cutoff, max_radial=args.max_radial,
                              max_angular=args.max_angular, atomic_gaussian_width=args.width, zeta=2,
                              n_sparse=args.n_sparse, n_features=args.n_features, regularizer=1e-6, progress=False)
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
    t_contract, _ = median_time(1, lambda: _gpr.contract(sub.active_features_, sub.active_features0_, sub.weights_, 2))
    t_kernel, y_kernel = median_time(args.repeats, lambda: sub.predict_features(x, x0, method="kernel"))
    t_con, y_con = median_time(args.repeats, lambda: sub.predict_features(x, x0, method="contracted"))
    t_total, _ = median_time(args.repeats, lambda: model.predict(big))
    print(f"predict {n_big} Li in the {len(big)}-atom cell: features {t_feat:.3f} s; kernel route {t_kernel:.3f} s; "
          f"contracted route {t_con:.4f} s (x{t_kernel / t_con:.0f}; one-off contraction {t_contract:.2f} s); "
          f"max |difference| {np.abs(y_kernel - y_con).max():.1e}; model.predict total {t_total:.3f} s")
    ref = point_charge_efg(big)[big.numbers == 3]
    pred = model.predict(big)
    print(f"synthetic-EFG accuracy on the big cell: MAE {np.abs(pred - ref).mean():.4g} (mean |V| {np.abs(ref).mean():.4g})")


if __name__ == "__main__":
    main()
