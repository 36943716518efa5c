"""Old against new LODE defaults (lode_atomic_gaussian_width, lode_weight) on the built-in LTO set.

    OMP_NUM_THREADS=1 python bench/lode_defaults.py --species Li --structures 150

Same split and CV as bench/lode_tuned.py (structure split 80/20, seed 0; 5-fold CV by structure,
objective "metric"): for each (width, weight) pair the regularizer is the better of --regularizers
by CV, then the final model is fitted on the training structures and scored on the test ones.
Printed per pair: CV score, test C~Q / eta~ / omega_Q MAE.
"""
import argparse
import json

import numpy as np

from sagpr import settings
from sagpr.datasets import lto
from sagpr.metrics import metrics
from sagpr.nmr import reference_stats
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.crossval import CrossValidator
from sagpr.workflows.tuning.fits import final_tensor_model
from sagpr.workflows.tuning.splits import train_test_split

ISOTOPES = {"Li": "7Li", "Ti": "47Ti", "O": "17O"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", type=int, default=150)
    p.add_argument("--species", default="Li", choices=sorted(ISOTOPES))
    p.add_argument("--pairs", default="0.5:0.9,0.3:0.99", help="width:weight pairs, comma separated")
    p.add_argument("--regularizers", default="1e-8,1e-5")
    p.add_argument("--fix", nargs="*", default=["cutoff=4.5", "max_radial=6", "max_angular=4", "zeta=2",
                                                 "n_sparse=400"])
    p.add_argument("--json", default=None)
    args = p.parse_args()

    frames = lto.generate(args.structures, progress=False)
    sites = collect_sites(frames, args.species, isotope=ISOTOPES[args.species], source="lto")
    train, test = train_test_split(len(sites), test_fraction=0.2, seed=0, groups=sites.groups)
    train_frames, test_frames = sorted(set(sites.groups[train])), sorted(set(sites.groups[test]))
    fixed = {}
    for item in args.fix:
        name, value = item.split("=", 1)
        fixed[name] = settings.parse(name, value)
    stats = reference_stats(sites.V[train], sites.units)
    cv = CrossValidator(sites, train, models=["tensor"], n_folds=5, seed=0).evaluate("tensor")
    results = []
    for pair in args.pairs.split(","):
        width, weight = (float(x) for x in pair.split(":"))
        scored = []
        for reg in (float(r) for r in args.regularizers.split(",")):
            params = {**fixed, "lode_atomic_gaussian_width": width, "lode_weight": weight, "regularizer": reg}
            scored.append((float(np.mean(cv(params))), reg, params))
        score, reg, params = min(scored, key=lambda t: t[0])
        model = final_tensor_model([frames[i] for i in train_frames], sites.species, params, progress=False)
        r = metrics(sites.V[test], model.predict([frames[i] for i in test_frames]), sites.isotope, stats=stats,
                    units=sites.units)
        row = {"width": width, "weight": weight, "regularizer": reg, "cv": score,
               "cv all": [(s, g) for s, g, _ in scored], "C~Q": r["C~Q"]["mae"], "eta~": r["eta~"]["mae"],
               "omega_Q kHz": r["omega_Q"]["mae"]}
        results.append(row)
        print(f"{sites.isotope} width {width} weight {weight}: reg {reg:g} CV {score:.5f} | test C~Q {row['C~Q']:.4f} "
              f"eta~ {row['eta~']:.4f} omega_Q {row['omega_Q kHz']:.3f} kHz", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
