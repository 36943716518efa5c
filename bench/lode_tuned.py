"""Tuned local-only vs tuned local + LODE tensor models on the built-in LTO set, the workflows' way.

    OMP_NUM_THREADS=2 python bench/lode_tuned.py --structures 150 --species Li
    OMP_NUM_THREADS=2 python bench/lode_tuned.py --gehlenite --species Al   # real CASTEP EFGs
    # the cheaper local + LODE model: its own active set and fewer local channels
    OMP_NUM_THREADS=1 python bench/lode_tuned.py --species Li --lode-n-sparse 200 \
        --lode-fix cutoff=4.5 max_radial=4 max_angular=3

Both models go through what `sagpr optimize` / `sagpr train` do: a structure split (80/20,
fixed seed), a Box-Behnken search of the same size (three factors, 15 runs) scored by 5-fold
CV of the tensor model on the training structures (objective "metric": mean of the C~Q and
eta~ MAE and 1 - q~), then the final model (sagpr.workflows.tuning.fits.final_tensor_model:
a TensorModel or a LodeTensorModel) fitted on every training structure and scored on the test
structures. Printed: test MAE of C~Q, eta~, omega_Q, mean q~, the search time and the final
fit + predict time (features included; the median of --repeat fits). --lode-n-sparse and
--lode-fix set the LODE model's own cost knobs (active set, local cutoff and channels).
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from sagpr import settings
from sagpr.datasets import lto
from sagpr.metrics import metrics
from sagpr.nmr import reference_stats
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.crossval import CrossValidator
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.tuning.fits import final_tensor_model
from sagpr.workflows.tuning.search import box_behnken_search
from sagpr.workflows.tuning.splits import train_test_split

ISOTOPES = {"Li": "7Li", "Ti": "47Ti", "O": "17O", "Al": "27Al"}
GEHLENITE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"


def parse_factor(text):
    name, lo, hi, *flags = text.split(":")
    return Factor(name, float(lo), float(hi), scale="log" if "log" in flags else "linear",
                  integer=settings.is_integer(name))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", type=int, default=150)
    p.add_argument("--species", default="Li", choices=sorted(ISOTOPES))
    p.add_argument("--gehlenite", action="store_true",
                   help="the CASTEP gehlenite cells of ../shared/data/gehlenite (EFGs in au) instead of LTO")
    p.add_argument("--n-sparse", type=int, default=400)
    p.add_argument("--lode-n-sparse", type=int, default=None,
                   help="active set of the LODE model (default: --n-sparse)")
    p.add_argument("--repeat", type=int, default=1, help="final fit + predict repeated: median times")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--local-factors", default="cutoff:3.5:6,atomic_gaussian_width:0.3:0.6,regularizer:1e-8:1e-2:log")
    p.add_argument("--lode-factors", default="lode_atomic_gaussian_width:0.3:0.8,lode_weight:0.7:0.99,"
                                             "regularizer:1e-8:1e-2:log")
    p.add_argument("--fix", nargs="*", default=["max_radial=6", "max_angular=4", "zeta=2"],
                   help="fixed for both (NAME=VALUE); n_sparse from --n-sparse")
    p.add_argument("--lode-fix", nargs="*", default=["cutoff=4.5"],
                   help="fixed for the LODE model only (NAME=VALUE; default cutoff=4.5, the smaller local cutoff)")
    p.add_argument("--only", choices=("local", "lode"), default=None)
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args()

    if args.gehlenite:
        from sagpr.workflows.tuning.options import load_sites

        paths = sorted(GEHLENITE.glob("*.magres"))
        if not paths:
            raise SystemExit(f"no data at {GEHLENITE}")
        sites = load_sites([str(path) for path in paths], args.species, isotope=ISOTOPES[args.species])
        frames = sites.frames
    else:
        frames = lto.generate(args.structures, progress=False)
        sites = collect_sites(frames, args.species, isotope=ISOTOPES[args.species], source="lto")
    train, test = train_test_split(len(sites), test_fraction=0.2, seed=0, groups=sites.groups)
    train_frames = sorted(set(sites.groups[train]))
    test_frames = sorted(set(sites.groups[test]))
    print(f"{sites.isotope}: {len(sites)} sites in {len(frames)} structures; {len(train)} train / {len(test)} test "
          f"sites ({len(train_frames)} / {len(test_frames)} structures), units {sites.units}")
    fixed = {"n_sparse": args.n_sparse}
    for item in args.fix:
        name, value = item.split("=", 1)
        fixed[name] = settings.parse(name, value)
    lode_fixed = dict(fixed)
    if args.lode_n_sparse is not None:
        lode_fixed["n_sparse"] = args.lode_n_sparse
    for item in args.lode_fix:
        name, value = item.split("=", 1)
        lode_fixed[name] = settings.parse(name, value)
    stats = reference_stats(sites.V[train], sites.units)
    results = {}
    runs = [("local", args.local_factors, fixed), ("local + LODE", args.lode_factors, lode_fixed)]
    for label, factor_text, base in runs:
        if args.only and (label == "local") != (args.only == "local"):
            continue
        factors = [parse_factor(t) for t in factor_text.split(",")]
        base = {k: v for k, v in base.items() if k not in {f.name for f in factors}}
        if label != "local" and settings.lode_part({**base, **{f.name: f.low for f in factors}}) is None:
            base["lode_weight"] = settings.default("lode_weight")
        cv = CrossValidator(sites, train, models=["tensor"], n_folds=args.folds, seed=0)
        t0 = time.perf_counter()
        search = box_behnken_search(factors, cv.evaluate("tensor"), fixed=base, progress=False)
        t_search = time.perf_counter() - t0
        best = {**base, **search.best["params"]}
        fits, preds = [], []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            model = final_tensor_model([frames[i] for i in train_frames], sites.species, best, progress=False)
            fits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            V_pred = model.predict([frames[i] for i in test_frames])
            preds.append(time.perf_counter() - t0)
        t_fit, t_pred = float(np.median(fits)), float(np.median(preds))
        r = metrics(sites.V[test], V_pred, sites.isotope, stats=stats, units=sites.units)
        row = {"C~Q": r["C~Q"]["mae"], "eta~": r["eta~"]["mae"], "q~": r.orientation["q_tilde_mean"],
               "omega_Q kHz": r["omega_Q"]["mae"], "search s": t_search, "fit s": t_fit, "predict s": t_pred,
               "fit s all": fits, "predict s all": preds, "runs": len(search.runs), "cv score": search.best["score"], "model": type(model).__name__,
               "best": {f.name: best[f.name] for f in factors},
               "search": [{"params": r["params"], "score": r["score"]} for r in search.runs]}
        results[label] = row
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row["best"].items())
        print(f"{label:13s} C~Q {row['C~Q']:.4f}  eta~ {row['eta~']:.4f}  q~ {row['q~']:.5f}  omega_Q "
              f"{row['omega_Q kHz']:.3f} kHz | search {t_search:.0f} s ({row['runs']} runs, CV {row['cv score']:.4g}) "
              f"fit {t_fit:.1f} s predict {t_pred:.2f} s | {shown}", flush=True)
    if len(results) == 2:
        a, b = results["local"], results["local + LODE"]
        print("ratios local / (local + LODE): " + ", ".join(
            f"{k} {a[k] / b[k]:.2f}" for k in ("C~Q", "eta~", "omega_Q kHz")) +
            f", 1 - q~ {(1 - a['q~']) / (1 - b['q~']):.2f}; fit + predict time "
            f"{(b['fit s'] + b['predict s']) / (a['fit s'] + a['predict s']):.2f}x, search time "
            f"{b['search s'] / a['search s']:.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "results": results}, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
