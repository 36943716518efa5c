"""Wall time of powder spectra (sagpr.spectra on mrsimulator), one thread.

27Al MAS central transition at 14.1 T, 15 kHz, 2048 points, 200 Hz Gaussian broadening, for N
sites: the 1,152 Al EFGs of the gehlenite cells (../shared/data/gehlenite) turned by random
rotations until there are N (random tensors with C_Q ~ 8 MHz when the data are absent).
Baseline, measured in the same run: the spin systems built by hand and simulated by mrsimulator
at its defaults (integration density 70, octant), as a user without sagpr would. Reported: median
(wall and CPU time: the CPU time is what a busy shared machine changes least) of --repeats runs of building the spin systems and of simulating at densities 70 (mrsimulator's
default), 50 (sagpr spectrum's default) and 25, ratios to the baseline, and each coarse grid's
spectral difference sum|a - b| / sum|b| against density 70.

    python bench/spectrum.py [--sizes 1000 10000] [--repeats 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, before numpy loads

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sagpr import spectra  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"
FIELD, RATE, COUNT, BROADENING = 14.1, 15e3, 2048, 200.0


def al_tensors(n, rng):
    paths = sorted(DATA.glob("*.magres"))
    if paths:
        from sagpr.io import read_efg

        base = np.concatenate([a.arrays["efg"][a.numbers == 13] for p in paths for a in read_efg(p)])
        source = f"{len(base)} gehlenite Al EFGs"
    else:
        A = rng.normal(size=(n, 3, 3)) * 0.12
        base = A + np.swapaxes(A, 1, 2)
        base -= np.trace(base, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
        source = "random EFGs (no gehlenite data)"
    from scipy.spatial.transform import Rotation

    R = Rotation.random(n, random_state=int(rng.integers(1 << 31))).as_matrix()
    V = base[np.arange(n) % len(base)]
    return np.einsum("nij,njk,nlk->nil", R, V, R), source


def by_hand(V):
    """What a user writes without sagpr: C_Q and eta per site, mrsimulator defaults."""
    from mrsimulator import Site, Simulator, SpinSystem
    from mrsimulator.method.lib import BlochDecayCTSpectrum
    from mrsimulator.spin_system.tensors import SymmetricTensor

    from sagpr.nmr import asymmetry, quadrupolar_coupling

    cq = quadrupolar_coupling(V, "27Al") * 1e6
    eta = asymmetry(V)
    systems = [SpinSystem(sites=[Site(isotope="27Al", quadrupolar=SymmetricTensor(Cq=float(c), eta=float(e)))])
               for c, e in zip(cq, eta)]
    method = BlochDecayCTSpectrum(channels=["27Al"], magnetic_flux_density=FIELD, rotor_frequency=RATE,
                                  spectral_dimensions=[dict(count=COUNT, spectral_width=80e3, reference_offset=-5e3)])
    sim = Simulator(spin_systems=systems, methods=[method])
    sim.run(n_jobs=1)
    return sim.methods[0].simulation.y[0].components[0].real


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement at the smallest size "
                        "(1 at larger sizes)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    by_hand(al_tensors(10, rng)[0])  # warm-up: imports and mrsimulator's first call are not timed
    densities = (70, 50, 25)
    for n in args.sizes:
        repeats = args.repeats if n == min(args.sizes) else 1
        V, source = al_tensors(n, rng)
        print(f"{n} sites ({source}), 27Al MAS {RATE / 1e3:g} kHz at {FIELD} T, central transition, {COUNT} points, "
              f"one thread, median of {repeats} (runs alternated, so a busy machine slows all alike)")
        times = {key: [] for key in ("baseline", "parameters", "spin systems", *densities)}
        cpu = {key: [] for key in times}
        spectra_of = {}
        for _ in range(repeats):
            def clock(key, fn):
                t0, c0 = time.perf_counter(), time.process_time()
                out = fn()
                times[key].append(time.perf_counter() - t0)
                cpu[key].append(time.process_time() - c0)
                return out

            clock("baseline", lambda: by_hand(V))
            site = clock("parameters", lambda: spectra.site_parameters(V, "27Al"))
            clock("spin systems", lambda: spectra.spin_systems(site))
            for density in densities:
                spectra_of[density] = clock(density, lambda: spectra.simulate(
                    site, FIELD, spinning_hz=RATE, count=COUNT, width_hz=80e3, offset_hz=-5e3,
                    integration_density=density, broadening_hz=BROADENING).intensity)
        med = {key: statistics.median(v) for key, v in times.items()}
        mcpu = {key: statistics.median(v) for key, v in cpu.items()}
        base = med["baseline"]
        print(f"  baseline: by hand, mrsimulator defaults (density 70)   {base:8.2f} s wall  {mcpu['baseline']:8.2f} s CPU")
        print(f"  sagpr: tensors -> parameters {med['parameters']:.3f} s, -> spin systems {med['spin systems']:.3f} s wall")
        for density in densities:
            extra = "" if density == 70 else (", spectral difference vs density 70: "
                                              f"{100 * spectra.spectral_difference(spectra_of[density], spectra_of[70]):.2f} %")
            print(f"  sagpr.spectra.simulate, density {density:2d}               {med[density]:8.2f} s wall  "
                  f"{mcpu[density]:8.2f} s CPU  ({med[density] / base:.2f}x baseline wall){extra}", flush=True)


if __name__ == "__main__":
    main()
