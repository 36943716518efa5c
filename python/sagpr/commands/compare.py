"""`sagpr compare`: scalar vs tensorial learning of one nucleus' NMR observables, with a report."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="tune and compare scalar and tensorial models of one nucleus' EFG observables",
        description="Tune (Box-Behnken search, k-fold CV) five scalar models (C~Q, eta~, theta, phi, omega_Q) and "
                    "one tensorial EFG model, score them on a held-out test set, write report.md/json, "
                    "predictions.npz and figures. Finished fits are cached in OUT/cache: rerun to resume.")
    add_common_arguments(p)
    p.add_argument("--train-sizes", default=None,
                   help="learning-curve training sizes: fractions (<=1) or counts, comma-separated "
                        "(default 0.1,0.2,0.4,0.7,1; --quick 0.25,0.5,1)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="test share of the sites (default 0.2: 4:1)")
    p.add_argument("--models", default=None,
                   help="subset of tensor,cq_tilde,eta_tilde,theta,phi,omega_q (default: all)")
    p.add_argument("--resolution", type=float, default=10.0, help="omega_Q resolution in kHz for the report (10)")
    p.add_argument("--degeneracy-tol", type=float, default=0.05,
                   help="relative principal-value gap below which axis labels count as ambiguous (0.05)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--save-model", action="store_true",
                   help="also fit the tuned tensor model on all sites and write OUT/<species>.sagpr, e.g. li.sagpr "
                        "(for sagpr predict --model)")
    p.set_defaults(func=run)


def add_common_arguments(p):
    p.add_argument("--data", nargs="+", required=True, metavar="FILE",
                   help="extended XYZ or .magres file(s), folders or globs with a per-atom EFG")
    p.add_argument("--species", required=True, help="element of the nucleus, e.g. Li, Al, O")
    p.add_argument("--isotope", default=None, help="isotope label, e.g. 7Li, 27Al (default: the element's)")
    p.add_argument("--units", default=None, help="convert EFGs to these units on reading (au or V/A^2)")
    p.add_argument("--out", required=True, help="output folder (also holds the cache)")
    p.add_argument("--factors", default=None,
                   help="searched hyperparameters as name:low:high[:log][:int], comma-separated, 3 to 7 of them "
                        "(default cutoff:3.5:6,atomic_gaussian_width:0.3:0.6,regularizer:1e-8:1e-2:log)")
    p.add_argument("--fix", nargs="*", default=[], metavar="NAME=VALUE",
                   help="fixed hyperparameters (default max_radial=6 max_angular=4 zeta=2 n_sparse=500)")
    p.add_argument("--folds", type=int, default=None, help="cross-validation folds (default 5, --quick 3)")
    p.add_argument("--objective", choices=("metric", "vij"), default="metric",
                   help="tensor model objective: the NMR metric (default) or MAE(V_ij)")
    p.add_argument("--by-structure", action="store_true", help="split by structure instead of by site")
    p.add_argument("--per-fold-active-sets", action="store_true",
                   help="choose the active set on each CV fold's training part and fit folds separately "
                        "(default: one active set from the whole training set, shared by the folds: several times faster)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="small fast setting: 3 folds, max_radial=4, max_angular=3, n_sparse=200, narrow bounds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from_args(args):
    from sagpr.workflows.compare import DEFAULT_FACTORS, DEFAULT_FIXED, DEFAULT_TRAIN_FRACTIONS, CompareSettings
    from sagpr.workflows.options import QUICK, parse_factors, parse_fixed

    factors = parse_factors(args.factors) if args.factors else list(QUICK["factors"] if args.quick else DEFAULT_FACTORS)
    fixed = dict(QUICK["fixed"] if args.quick else DEFAULT_FIXED)
    fixed.update(parse_fixed(args.fix))
    for f in factors:
        fixed.pop(f.name, None)
    folds = args.folds or (QUICK["n_folds"] if args.quick else 5)
    kwargs = dict(factors=factors, fixed=fixed, n_folds=folds, seed=args.seed, by_structure=args.by_structure,
                  tensor_objective=args.objective, shared_active_set=not args.per_fold_active_sets)
    if hasattr(args, "train_sizes"):
        sizes = ([float(s) for s in args.train_sizes.split(",") if s.strip()] if args.train_sizes
                 else list(QUICK["train_sizes"] if args.quick else DEFAULT_TRAIN_FRACTIONS))
        kwargs.update(train_sizes=sizes, test_fraction=args.test_fraction, resolution_khz=args.resolution,
                      degeneracy_tol=args.degeneracy_tol)
        if args.models:
            kwargs["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    return CompareSettings(**kwargs)


def run(args):
    import sys
    import time

    import numpy as np

    from sagpr.workflows.compare import run_comparison
    from sagpr.workflows.crossval import check_models
    from sagpr.workflows.options import load_sites
    from sagpr.workflows.report import comparison_table, write_report

    settings = settings_from_args(args)
    check_models(settings.models)
    if args.save_model and "tensor" not in settings.models:
        print("sagpr compare: --save-model saves the tuned tensor model: include 'tensor' in --models", file=sys.stderr)
        return 2
    start = time.perf_counter()
    sites = load_sites(args.data, args.species, isotope=args.isotope, units=args.units)
    print(f"{len(sites)} {sites.species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    result = run_comparison(sites, settings, out_dir=args.out, progress=not args.no_progress)
    files = write_report(result, args.out, figures=not args.no_figures)
    print(comparison_table({"tensorial": None if result.tensorial is None else result.tensorial["scores"],
                            "scalar": None if result.scalar is None else result.scalar["scores"]}))
    written = [str(p) for p in files.values()]
    if args.save_model and result.best_params.get("tensor"):
        from pathlib import Path

        from sagpr.models import TensorModel

        path = Path(args.out) / f"{sites.species.lower()}.sagpr"
        model = TensorModel(center_species=sites.species, target="efg", progress=not args.no_progress,
                            **result.best_params["tensor"])
        model.fit(sites.frames, y=np.asarray(sites.V))
        model.units_ = sites.units
        model.save(path)
        written.append(str(path))
    print(f"wrote {', '.join(written)} ({time.perf_counter() - start:.1f} s)")
    return 0
