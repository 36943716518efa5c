"""Distributed training on a local Dask cluster: 1 and 2 workers against the serial fit.

Fits a lambda = 2 Li model of the built-in LTO set (a) serially on one thread, (b) on
LocalClusters of 1 and 2 single-threaded workers, checks that the models are identical, and
reports medians and speed-ups measured in the same run. Then estimates, from the measured
per-environment cost and the transfer sizes, a fit of 10^6 environments on 100 workers.

    OMP_NUM_THREADS=1 python bench/distributed_fit.py [--train-envs 4000] [--n-sparse 500]
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import time

import numpy as np

import sagpr
from sagpr.datasets import lto


def timed(repeats, fn):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def steps(model):
    """Seconds per fit step of the lambda = 2 Li model (features are part of the passes on a cluster)."""
    t = dict(model.timings_)
    t.update(model.models_[3][2].timings_)
    return ", ".join(f"{k} {v:.2f}" for k, v in t.items() if v >= 0.01)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-envs", type=int, default=4000)
    parser.add_argument("--n-sparse", type=int, default=500)
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    sagpr.set_num_threads(1)
    frames = lto.generate(-(-args.train_envs // 8), seed=0, progress=False)
    hypers = dict(center_species="Li", target="efg", cutoff=5.0, max_radial=6, max_angular=4,
                  atomic_gaussian_width=0.4, regularizer=1e-6, n_sparse=args.n_sparse, progress=False)
    n_env = sum(int((a.numbers == 3).sum()) for a in frames)

    t_serial, serial = timed(args.repeats, lambda: sagpr.TensorModel(**hypers).fit(frames, block_size=args.block_size))
    probe = frames[:4]
    reference = serial.predict(probe)
    print(f"{n_env} Li environments, n_sparse {args.n_sparse}, block {args.block_size}: "
          f"serial (1 thread) {t_serial:.2f} s, {1e3 * t_serial / n_env:.2f} ms/environment; steps: {steps(serial)}")

    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            sagpr.TensorModel(**dict(hypers, n_sparse=20)).fit(frames[:8], client=client)  # warm-up
            t, model = timed(args.repeats, lambda: sagpr.TensorModel(**hypers).fit(
                frames, client=client, block_size=args.block_size))
            same = np.array_equal(model.predict(probe), reference)
            print(f"{workers} worker(s): {t:.2f} s, speed-up vs serial {t_serial / t:.2f}x, "
                  f"model identical to serial: {same}; steps: {steps(model)}")

    sub = serial.models_[3][2]
    md = sub.active_features_.shape[0] * sub.active_features_.shape[1]
    state_bytes = sub.active_features_.nbytes + sub.active_features0_.nbytes
    block_result = 8 * (md * md + md)
    x0_bytes = 8 * sub.active_features0_.shape[1]
    frame_bytes = len(pickle.dumps(frames[0])) / 8  # per Li environment (8 Li per cell)
    per_env = t_serial / n_env
    n, workers, bandwidth = 1e6, 100, 10e9 / 8
    compute = n * per_env / workers
    n_blocks = n / args.block_size
    # pass traffic: frames 4x, x0 back once, block sums up the tree (fan-in 2: ~n_blocks adds)
    transfer = (4 * n * frame_bytes + n * x0_bytes + workers * state_bytes + n_blocks * block_result) / bandwidth
    solve = (md ** 3 / 3) / 20e9
    print(f"sizes: active set {state_bytes / 1e6:.1f} MB (to every worker), one block sum {block_result / 1e6:.0f} MB, "
          f"lambda=0 features {x0_bytes / 1e3:.1f} kB/environment (held by the client for the active-set choice)")
    print(f"paper estimate, 10^6 environments on {workers} workers: compute {compute / 60:.1f} min, "
          f"transfers through one 10 Gbit/s link {transfer / 60:.1f} min, final solve ~{solve:.1f} s; "
          f"client memory for x^0: {n * x0_bytes / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
