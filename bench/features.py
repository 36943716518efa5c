"""Time lambda-SOAP features on a 1512-atom LTO-like cell, against featomic and dscribe if installed.

    python bench/features.py [--repeats 5] [--cpp build/bench/bench_features]

Settings as in the issue: cutoff 5 A, max_radial 8, max_angular 6, Gaussian width 0.3 A,
cosine smoothing 0.5 A. Each (library, thread count) runs in its own subprocess with
OMP_NUM_THREADS / RAYON_NUM_THREADS set, so thread pools start with the right size.
featomic and dscribe are optional (`pip install featomic dscribe` in the bench environment).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lto_cell import lto_cell, write_plain  # noqa: E402

HYPERS = dict(cutoff=5.0, max_radial=8, max_angular=6, atomic_gaussian_width=0.3, cutoff_smooth_width=0.5)


def median_time(fn, repeats):
    fn()  # warm-up (tables, thread pools)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_sagpr(atoms, o3_lambda, repeats):
    import sagpr

    calc = sagpr.LambdaSOAP(o3_lambda=o3_lambda, species=[3, 8, 22], **HYPERS)
    return median_time(lambda: calc.compute(atoms), repeats), calc.n_features


def run_featomic(atoms, o3_lambda, repeats):
    import featomic
    from featomic.clebsch_gordan import EquivariantPowerSpectrum
    from metatensor import Labels

    hypers = {
        "cutoff": {"radius": HYPERS["cutoff"], "smoothing": {"type": "ShiftedCosine", "width": HYPERS["cutoff_smooth_width"]}},
        "density": {"type": "Gaussian", "width": HYPERS["atomic_gaussian_width"]},
        "basis": {
            "type": "TensorProduct",
            "max_angular": HYPERS["max_angular"],
            "radial": {"type": "Gto", "max_radial": HYPERS["max_radial"] - 1},
        },
    }
    if o3_lambda == 0:
        calc = featomic.SoapPowerSpectrum(**hypers)
        run = lambda: calc.compute(atoms)  # noqa: E731
    else:
        calc = EquivariantPowerSpectrum(featomic.SphericalExpansion(**hypers))
        keys = Labels(["o3_lambda", "o3_sigma"], __import__("numpy").array([[o3_lambda, 1]]))
        run = lambda: calc.compute(atoms, selected_keys=keys, neighbors_to_properties=True)  # noqa: E731
    out = run()
    n_features = sum(block.values.shape[-1] for block in out.blocks()) // len(out.keys)
    return median_time(run, repeats), n_features


def run_dscribe(atoms, o3_lambda, repeats):
    if o3_lambda != 0:
        return None, None
    from dscribe.descriptors import SOAP

    soap = SOAP(r_cut=HYPERS["cutoff"], n_max=HYPERS["max_radial"], l_max=HYPERS["max_angular"],
                sigma=HYPERS["atomic_gaussian_width"], species=["Li", "O", "Ti"], periodic=True)
    return median_time(lambda: soap.create(atoms, n_jobs=1), repeats), soap.get_number_of_features()


RUNNERS = {"sagpr": run_sagpr, "featomic": run_featomic, "dscribe": run_dscribe}


def child(args):
    atoms = lto_cell()
    t, nf = RUNNERS[args.library](atoms, args.o3_lambda, args.repeats)
    print(json.dumps({"seconds": t, "n_features": nf, "n_centers": len(atoms)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpp", help="path of the bench_features executable, to run it on the same cell")
    parser.add_argument("--child", nargs=3, metavar=("LIBRARY", "LAMBDA", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.library, args.o3_lambda = args.child[0], int(args.child[1])
        return child(args)

    results = {}
    print(f"{'library':10s} {'lambda':>6s} {'threads':>7s} {'features':>9s} {'us/centre':>10s}")
    for o3_lambda in (0, 2):
        for threads in (1, 2):
            for library in RUNNERS:
                env = dict(os.environ, OMP_NUM_THREADS=str(threads), RAYON_NUM_THREADS=str(threads))
                proc = subprocess.run(
                    [sys.executable, __file__, "--repeats", str(args.repeats), "--child", library, str(o3_lambda), str(threads)],
                    env=env, capture_output=True, text=True,
                )
                if proc.returncode != 0:
                    reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                    print(f"{library:10s} {o3_lambda:6d} {threads:7d}   unavailable: {reason[:70]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                if r["seconds"] is None:
                    continue
                us = 1e6 * r["seconds"] / r["n_centers"]
                results[(library, o3_lambda, threads)] = us
                print(f"{library:10s} {o3_lambda:6d} {threads:7d} {r['n_features']:9d} {us:10.1f}")
    print()
    for (library, o3_lambda, threads), us in sorted(results.items()):
        if library != "sagpr" and ("sagpr", o3_lambda, threads) in results:
            ratio = us / results[("sagpr", o3_lambda, threads)]
            print(f"sagpr is {ratio:.1f}x faster than {library} (lambda={o3_lambda}, {threads} thread(s))")
    if args.cpp:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "lto1512.txt"
            write_plain(lto_cell(), path)
            print()
            subprocess.run([args.cpp, str(path), str(args.repeats)], check=True)


if __name__ == "__main__":
    main()
