"""Distributed prediction on a local Dask cluster: 1 and 2 workers against the serial path.

Trains a Li model on the built-in LTO set, generates `--cells` 1512-atom models and predicts
all Li (a) serially on one thread, (b) on LocalClusters of 1 and 2 single-threaded workers.
Then estimates throughput for a 10^6-frame trajectory on 100 workers from the measured
per-frame cost and the transfer sizes (model once per worker, frames and results per chunk).

    OMP_NUM_THREADS=1 python bench/distributed_predict.py [--cells 16] [--chunk-size 2]
"""
from __future__ import annotations

import argparse
import pickle
import time

import numpy as np

import sagpr
from sagpr.datasets import lto


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--chunk-size", type=int, default=2)
    parser.add_argument("--train-envs", type=int, default=2000)
    parser.add_argument("--n-sparse", type=int, default=500)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    train = lto.generate(-(-args.train_envs // 8), seed=0, progress=False)
    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=5.0, max_radial=8, max_angular=6,
                              atomic_gaussian_width=0.4, n_sparse=args.n_sparse, progress=False).fit(train)
    cells = lto.large_models(args.cells, 3, seed=2, label=False, progress=False)
    n_li = sum(int((a.numbers == 3).sum()) for a in cells)
    model.predict(cells[:1])

    t0 = time.perf_counter()
    serial = model.predict(cells)
    t_serial = time.perf_counter() - t0
    print(f"{len(cells)} cells, {n_li} Li; serial (1 thread): {t_serial:.2f} s, {1e3 * t_serial / len(cells):.0f} ms/frame")

    rates = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
            model.predict(cells[:workers], client=client, chunk_size=1)  # warm-up: model shipped, tables built
            t0 = time.perf_counter()
            out = model.predict(cells, client=client, chunk_size=args.chunk_size)
            t = time.perf_counter() - t0
            assert np.allclose(out, serial, rtol=0, atol=1e-10)
            rates[workers] = len(cells) / t
            print(f"{workers} worker(s): {t:.2f} s, {rates[workers]:.2f} frames/s, "
                  f"speed-up vs serial {t_serial / t:.2f}x")

    model_bytes = len(pickle.dumps(model))
    frame_bytes = len(pickle.dumps(cells[0]))
    result_bytes = 9 * 8 * n_li / len(cells)
    per_frame = t_serial / len(cells)
    n_frames, n_workers, bandwidth = 1e6, 100, 1e9 / 8 * 10  # 10 Gbit/s to the scheduler's side
    compute = n_frames * per_frame / n_workers
    transfer = (n_workers * model_bytes + n_frames * (frame_bytes + result_bytes)) / bandwidth
    print(f"transfer sizes: model {model_bytes / 1e6:.1f} MB (once per worker), frame {frame_bytes / 1e3:.1f} kB, "
          f"result {result_bytes / 1e3:.1f} kB")
    print(f"paper estimate, 10^6 frames on {n_workers} workers: compute {compute / 3600:.2f} h, "
          f"serialised transfer through one 10 Gbit/s link {transfer / 3600:.3f} h -> "
          f"~{n_frames / max(compute, transfer):.0f} frames/s if transfers overlap compute")


if __name__ == "__main__":
    main()
