"""Accuracy and time of 27Al EFG models on real CASTEP data (../shared/data/gehlenite).

Trains on 16 of the 24 gehlenite cells (every third file held out), tests on the other 8;
reports |C_Q| MAE (MHz and % of the std of |C_Q|), mean q~ (principal-frame agreement) and
seconds for features / fit / predict, for a few model choices (full GPR, sparse, feature
sparsification, prediction route), plus a lambda=0 model of |C_Q| as the scalar baseline.

    OMP_NUM_THREADS=2 python bench/gehlenite_al.py [--quick]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import ase.io
import numpy as np

import sagpr
from sagpr import nmr

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"
HYPERS = dict(cutoff=5.0, max_radial=8, max_angular=6, atomic_gaussian_width=0.4, zeta=2, regularizer=1e-6,
              progress=False)


def al_efg(frames):
    return np.concatenate([a.arrays["efg"][a.numbers == 13] for a in frames])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the default model")
    args = parser.parse_args()
    paths = sorted(DATA.glob("*.magres"))
    if not paths:
        raise SystemExit(f"no data at {DATA}")
    frames = [ase.io.read(p, format="magres") for p in paths]
    train = [f for i, f in enumerate(frames) if i % 3 != 2]
    test = frames[2::3]
    ref = al_efg(test)
    cq_ref = np.abs(nmr.quadrupolar_coupling(ref, "27Al", units="au"))
    spread = cq_ref.std()
    _, frames_ref = nmr.principal_components(ref)
    print(f"train {len(train)} cells ({len(al_efg(train))} Al), test {len(test)} cells ({len(ref)} Al); "
          f"|C_Q| std {spread:.3f} MHz, mean {cq_ref.mean():.3f} MHz")

    choices = [dict(n_sparse=None)]
    if not args.quick:
        choices += [dict(n_sparse=400), dict(n_sparse=200)]
        choices += [dict(n_sparse=None, n_features=n, feature_selection=method)
                    for method in ("fps", "pca") for n in (400, 200, 100)]
    for choice in choices:
        model = sagpr.TensorModel(center_species="Al", target="efg", **HYPERS, **choice)
        start = time.perf_counter()
        model.fit(train)
        fit_time = time.perf_counter() - start
        sub = model.models_[13][2]
        for route in ("kernel", "contracted"):
            model.set_params(prediction=route)
            for m in model.models_[13].values():
                m.set_params(prediction=route)
            start = time.perf_counter()
            pred = model.predict(test)
            predict_time = time.perf_counter() - start
            cq = np.abs(nmr.quadrupolar_coupling(pred, "27Al", units="au"))
            mae = np.abs(cq - cq_ref).mean()
            _, frames_pred = nmr.principal_components(pred)
            qt = nmr.orientation_agreement(frames_ref, frames_pred)
            print(f"{str(choice):70s} {route:10s}: |C_Q| MAE {mae:.4f} MHz ({100 * mae / spread:.2f}% of std), "
                  f"mean q~ {qt.mean():.5f}, min q~ {qt.min():.4f} | fit {fit_time:.1f} s (features "
                  f"{model.timings_['features']:.1f}, solve {model.timings_.get('solve', 0):.2f}, M={len(sub.weights_)}, "
                  f"F={sub.active_features_.shape[2]}, jitter {sub.jitter_:.1e}) | predict {predict_time:.2f} s")

    for atoms in frames:
        al = atoms.numbers == 13
        atoms.arrays["abs_cq"] = np.zeros(len(atoms))
        atoms.arrays["abs_cq"][al] = np.abs(nmr.quadrupolar_coupling(atoms.arrays["efg"][al], "27Al", units="au"))
    scalar = sagpr.ScalarModel(center_species="Al", target="abs_cq", n_sparse=None, **HYPERS).fit(train)
    mae = np.abs(scalar.predict(test) - cq_ref).mean()
    print(f"scalar lambda=0 model of |C_Q|: MAE {mae:.4f} MHz ({100 * mae / spread:.2f}% of std)")


if __name__ == "__main__":
    main()
