"""Benchmark of the point-charge Ewald EFG (C++ core) on the LTO cells.

Times the EFG at all sites of a 42-atom LTO cell and of a 1512-atom model with 1 and 2 OpenMP
threads (each in its own process, OMP_NUM_THREADS set before the library loads), the labelling
of the full 1640-structure set, and a vectorised NumPy Ewald implementation with the same
parameters as the baseline, measured in the same run. Medians of repeated runs.

    python bench/ewald.py                 # everything (about a minute on 2 cores)
    python bench/ewald.py --quick         # fewer repetitions, no NumPy baseline for 1512 atoms
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _structures():
    from sagpr.datasets import lto

    small = lto.generate(1, seed=0, label=False, progress=False)[0]
    large = lto.large_models(1, mc_sweeps=20, seed=0, label=False, progress=False)[0]
    large.rattle(0.05, seed=1)
    return small, large


def _median_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def numpy_ewald_efg(atoms, charges, alpha, real_cutoff, kspace_cutoff):
    """Vectorised NumPy Ewald EFG (e/A^3) with the same splitting and cutoffs: the baseline."""
    from scipy.special import erfc

    pos, cell = atoms.positions, atoms.cell.array
    volume = abs(np.linalg.det(cell))
    heights = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    reach = np.ceil(real_cutoff / heights).astype(int) + 1
    grids = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], 1) @ cell
    recip = 2 * np.pi * np.linalg.inv(cell).T
    hmax = np.floor(kspace_cutoff * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int)
    grids = np.meshgrid(*[np.arange(-h, h + 1) for h in hmax], indexing="ij")
    ks = np.stack([g.ravel() for g in grids], 1) @ recip
    k2 = (ks**2).sum(1)
    keep = (k2 > 0) & (k2 < kspace_cutoff**2)
    ks, k2 = ks[keep], k2[keep]
    weight = 4 * np.pi / volume * np.exp(-k2 / (4 * alpha**2)) / k2
    phase = ks @ pos.T
    s_cos, s_sin = np.cos(phase) @ charges, np.sin(phase) @ charges
    out = np.empty((len(atoms), 3, 3))
    images = (pos[None] + shifts[:, None]).reshape(-1, 3)
    qq = np.tile(charges, len(shifts))
    for i in range(len(atoms)):
        x = images - pos[i]
        r = np.linalg.norm(x, axis=1)
        m = (r > 1e-10) & (r < real_cutoff)
        x, r, q = x[m], r[m], qq[m]
        g = 2 * alpha * r / np.sqrt(np.pi) * np.exp(-((alpha * r) ** 2))
        e = erfc(alpha * r)
        b = (e + g) / r**3
        c = (3 * e + g * (3 + 2 * (alpha * r) ** 2)) / r**5
        out[i] = (x.T * (q * c)) @ x - np.eye(3) * (q * b).sum()
        re = np.cos(phase[:, i]) * s_cos + np.sin(phase[:, i]) * s_sin
        out[i] -= (ks.T * (weight * re)) @ ks
        out[i] += np.eye(3) * charges[i] * 4 * alpha**3 / (3 * np.sqrt(np.pi))
    return out


def worker(quick: bool) -> dict:
    from sagpr import reference
    from sagpr.datasets import lto

    small, large = _structures()
    result = {"threads": os.environ.get("OMP_NUM_THREADS", "default")}
    result["t42"] = _median_time(lambda: reference.point_charge_efg(small), 50 if quick else 300)
    result["t1512"] = _median_time(lambda: reference.point_charge_efg(large), 3 if quick else 9)
    result["params42"] = reference.ewald_parameters(small)
    result["params1512"] = reference.ewald_parameters(large)
    frames = lto.generate(1640, seed=0, label=False, progress=False)
    result["t_set"] = _median_time(lambda: [reference.point_charge_efg(f) for f in frames], 1 if quick else 3)
    return result


def baseline(quick: bool) -> dict:
    from sagpr import reference

    small, large = _structures()
    out = {}
    for name, atoms in (("42", small), ("1512", large)):
        if quick and name == "1512":
            continue
        p = reference.ewald_parameters(atoms)
        q = reference.formal_charges(atoms)
        t = _median_time(
            lambda: numpy_ewald_efg(atoms, q, p["alpha"], p["real_cutoff"], p["kspace_cutoff"]),
            5 if name == "42" else 1,
        )
        check = numpy_ewald_efg(atoms, q, p["alpha"], p["real_cutoff"], p["kspace_cutoff"]) * reference.COULOMB_EV_ANGSTROM
        diff = float(np.abs(check - reference.point_charge_efg(atoms)).max())
        out[name] = {"time": t, "max_abs_diff_V_A2": diff}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker or args.baseline:
        print(json.dumps(worker(args.quick) if args.worker else baseline(args.quick)))
        return

    def run(flag, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        cmd = [sys.executable, __file__, flag] + (["--quick"] if args.quick else [])
        return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)

    runs = {t: run("--worker", t) for t in (1, 2)}
    base = run("--baseline", 1)
    print("Point-charge Ewald EFG, all sites, accuracy 1e-8 (medians)")
    for n in ("42", "1512"):
        p = runs[1][f"params{n}"]
        print(
            f"  {n:>4}-atom cell: 1 thread {runs[1]['t' + n] * 1e3:9.2f} ms   2 threads {runs[2]['t' + n] * 1e3:9.2f} ms"
            f"   (alpha {p['alpha']:.3f}/A, rc {p['real_cutoff']:.2f} A, kc {p['kspace_cutoff']:.2f}/A)"
        )
        if n in base:
            b = base[n]
            print(
                f"        NumPy baseline (1 thread) {b['time'] * 1e3:9.1f} ms -> C++ is {b['time'] / runs[1]['t' + n]:.0f}x faster;"
                f" max |difference| {b['max_abs_diff_V_A2']:.1e} V/A^2"
            )
    print(f"  1640 x 42-atom set: 1 thread {runs[1]['t_set']:.2f} s   2 threads {runs[2]['t_set']:.2f} s")


if __name__ == "__main__":
    main()
