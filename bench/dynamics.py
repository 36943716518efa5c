"""`sagpr dynamics` throughput on 1512-atom LTO frames: frames and Li sites per second, 1 and 2 threads.

Baseline measured in the same run: model.predict on the same frames one by one (the prediction
alone). The dynamics path adds streaming into the series files, window averages written as
extended XYZ, histograms, F2 (both forms, 30 field directions, 3 t_p) and hops. Frames are a
trajectory file (--trajectory, e.g. the MD example) or rattled copies of a Monte Carlo model.

    python bench/dynamics.py [--model li.sagpr] [--trajectory md.xyz] [--frames 40] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np

import sagpr
from sagpr.datasets import lto
from sagpr.dynamics.reading import iter_frames
from sagpr.parallel import get_num_threads, set_num_threads
from sagpr.workflows.dynamics import DynamicsSettings, run_dynamics


def _frames(args):
    if args.trajectory is not None:
        return list(islice(iter_frames(args.trajectory), args.frames))
    base = lto.large_models(1, 3, seed=1, label=False, progress=False)[0]
    rng = np.random.default_rng(0)
    out = []
    for _ in range(args.frames):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
        out.append(atoms)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a saved Li model (default: train a small one)")
    parser.add_argument("--trajectory", type=Path, help="frames to use (default: rattled Monte Carlo model)")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    if args.model is not None:
        model = sagpr.load(args.model)
        model.progress = False
    else:
        t0 = time.perf_counter()
        model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=5.0, max_radial=6, max_angular=4,
                                  atomic_gaussian_width=0.4, zeta=2, n_sparse=300, progress=False)
        model.fit(lto.generate(100, seed=0, progress=False))
        print(f"trained a small Li model in {time.perf_counter() - t0:.1f} s")
    frames = _frames(args)
    sites = sum(int((a.numbers == 3).sum()) for a in frames)
    print(f"{len(frames)} frames of {len(frames[0])} atoms, {sites // len(frames)} Li sites each; model "
          f"max_radial={model.max_radial} max_angular={model.max_angular} n_sparse={model.n_sparse}")
    before = get_num_threads()
    settings = DynamicsSettings(timestep=0.01, window=10, t_p=(1.0, 5.0, 20.0), kind="both", directions=30,
                                figures=False)
    with_figures = DynamicsSettings(**{**vars(settings), "figures": True})
    try:
        for threads in [int(t) for t in args.threads.split(",")]:
            set_num_threads(threads)
            model.predict(frames[:1])  # warm-up
            base, full = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for atoms in frames:
                    model.predict([atoms])
                base.append(time.perf_counter() - t0)
                with tempfile.TemporaryDirectory() as tmp:
                    t0 = time.perf_counter()
                    run_dynamics(model, iter(frames), Path(tmp) / "dyn", settings, progress=False)
                    full.append(time.perf_counter() - t0)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                run_dynamics(model, iter(frames), Path(tmp) / "dyn", with_figures, progress=False)
                figures = time.perf_counter() - t0
            b, f = statistics.median(base), statistics.median(full)
            print(f"threads={threads}: model.predict frame by frame {len(frames) / b:.2f} frames/s "
                  f"({sites / b:.0f} sites/s); sagpr dynamics (no figures) {len(frames) / f:.2f} frames/s "
                  f"({sites / f:.0f} sites/s); dynamics / predict time {f / b:.2f} (medians of {args.repeats}); "
                  f"with the two figures once: {figures:.1f} s")
    finally:
        set_num_threads(before)


if __name__ == "__main__":
    main()
