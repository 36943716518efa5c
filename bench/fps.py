"""Farthest-point sampling of LTO O environments: sagpr's pruned C++ FPS against a plain NumPy
max-min selection measured in the same run (same picks checked).

    OMP_NUM_THREADS=2 python bench/fps.py [--structures 600] [--picks 650 1300] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from sagpr import _core
from sagpr.datasets import lto
from sagpr.descriptors import LambdaSOAP


def plain_fps(x, k, first):
    """The textbook max-min selection: every pick reads every row."""
    norms = np.einsum("ij,ij->i", x, x)
    mindist = np.full(len(x), np.inf)
    picks = [first]
    for _ in range(k - 1):
        p = picks[-1]
        np.minimum(mindist, np.maximum(0.0, norms + norms[p] - 2.0 * (x @ x[p])), out=mindist)
        mindist[p] = -1.0
        picks.append(int(np.argmax(mindist)))
    return np.array(picks)


def median_time(repeats, work):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--structures", type=int, default=600)
    ap.add_argument("--picks", type=int, nargs="+", default=[650, 1300])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    frames = lto.generate(args.structures, seed=0, progress=False)
    calc = LambdaSOAP(o3_lambda=0, species=[3, 8, 22], max_radial=6, max_angular=4, cutoff=6.0,
                      atomic_gaussian_width=0.45, normalize=True)
    x0 = np.ascontiguousarray(calc.compute_many(frames, o3_lambdas=[0], center_species=["O"])[0][:, 0, :])
    print(f"{x0.shape[0]} O environments, {x0.shape[1]} features")
    for k in args.picks:
        t_new, (idx, _) = median_time(args.repeats, lambda: _core.farthest_point_sampling(x0, k, 5))
        t_plain, ref = median_time(args.repeats, lambda: plain_fps(x0, k, 5))
        print(f"{k} picks: pruned C++ {t_new:.3f} s, plain NumPy {t_plain:.3f} s (x{t_plain / t_new:.1f}); "
              f"same picks: {np.array_equal(idx, ref)}")


if __name__ == "__main__":
    main()
