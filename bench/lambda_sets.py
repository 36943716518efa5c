"""The features a TensorModel needs (lambda 0 and 2) from one call against two single-lambda calls.

    python bench/lambda_sets.py [--repeats 15] [--cpp build/bench/bench_lambda_sets]

One thread, the 1512-atom LTO-like cell of bench/lto_cell.py, Li centres, the models' default
descriptor (sagpr.settings: cutoff 5 A, max_radial 8, max_angular 6, Gaussian width 0.4 A,
smoothing 0.5 A). One call builds each centre's neighbour list and density once for both
lambdas; two calls build them twice. Prints median microseconds per centre.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lto_cell import lto_cell, write_plain  # noqa: E402


def median_times(runs, repeats):
    """{name: median seconds}; the runs alternate within each repeat, so load from other processes
    on a shared machine falls on all of them alike."""
    for run in runs.values():
        run()  # warm-up: radial tables, allocations
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--cpp", help="path of the bench_lambda_sets executable, to run it on the same cell")
    args = parser.parse_args()

    import sagpr
    from sagpr import settings

    hypers = {name: settings.default(name) for name in settings.DESCRIPTOR if name != "species"}
    atoms = lto_cell()
    n = int((atoms.numbers == 3).sum())
    calc = {lam: sagpr.LambdaSOAP(o3_lambda=lam, species=[3, 8, 22], **hypers) for lam in (0, 2)}
    sagpr.set_num_threads(1)
    runs = {
        "lambda 2 alone": lambda: calc[2].compute(atoms, center_species="Li"),
        "lambda 0 alone": lambda: calc[0].compute(atoms, center_species="Li"),
        "lambda 0 and 2, one call": lambda: calc[2].compute_many(atoms, o3_lambdas=(2, 0), center_species="Li"),
    }
    print(f"{len(atoms)} atoms, {n} Li centres, 1 thread; {hypers}; median of {args.repeats}")
    us = {name: 1e6 * t / n for name, t in median_times(runs, args.repeats).items()}
    for name in runs:
        print(f"{name:28s} {us[name]:8.1f} us/centre")
    two = us["lambda 2 alone"] + us["lambda 0 alone"]
    print(f"{'two calls':28s} {two:8.1f} us/centre; two calls / one call = {two / us['lambda 0 and 2, one call']:.2f}")
    if args.cpp:
        import subprocess

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "lto1512.txt"
            write_plain(atoms, path)
            print()
            subprocess.run([args.cpp, str(path), str(args.repeats)], check=True)


if __name__ == "__main__":
    main()
