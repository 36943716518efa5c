"""Command-line options shared by `sagpr compare` and `sagpr optimize` (not a command itself)."""
from __future__ import annotations


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
    add_lode_argument(p, "also search lode_weight and lode_atomic_gaussian_width (unless --factors is given)")
    p.add_argument("--fix", nargs="*", default=[], metavar="NAME=VALUE",
                   help="fixed hyperparameters (default " + _preset_text("compare") + "; others at "
                        "their defaults: " + _defaults_text() + ")")
    p.add_argument("--folds", type=int, default=None, help="cross-validation folds (default 5, --quick 3)")
    p.add_argument("--objective", choices=("metric", "vij"), default="metric",
                   help="tensor model objective: the NMR metric (default) or MAE(V_ij)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--by-structure", dest="by_structure", action="store_true", default=True,
                       help="test set and CV folds hold whole structures (default: sites of one structure share "
                            "environments, so a site split flatters the model against new structures)")
    split.add_argument("--by-site", dest="by_structure", action="store_false",
                       help="the study's split: sites drawn at random, whatever structure they belong to")
    p.add_argument("--sign-convention", choices=("signed", "positive"), default="signed",
                   help="observables of the tensors as they are (signed, default) or each with V_ZZ > 0 "
                        "(positive: the study's convention)")
    p.add_argument("--per-fold-active-sets", action="store_true",
                   help="choose the active set on each CV fold's training part and fit folds separately "
                        "(default: one active set from the whole training set, shared by the folds: several times faster)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="small fast setting: 3 folds, " + _preset_text("quick") + ", narrow bounds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_lode_argument(p, searched):
    p.add_argument("--lode", action="store_true",
                   help="local + long-range (LODE) features: a LodeTensorModel (docs/lode.md); " + searched +
                        "; lode_* settings can be fixed (--fix lode_cutoff=2) or searched like the others "
                        "(lode_weight:0.7:0.99 in --factors). Naming a lode_* setting switches LODE on too")


def lode_factors(args, quick=False):
    """The LODE factors --lode adds to a search."""
    from sagpr.workflows.comparison.compare import DEFAULT_LODE_FACTORS
    from sagpr.workflows.tuning.options import QUICK

    return tuple(QUICK["lode_factors"] if quick else DEFAULT_LODE_FACTORS) if args.lode else ()


def _preset_text(name):
    from sagpr import settings

    return " ".join(f"{k}={v}" for k, v in settings.PRESETS[name].items())


def _defaults_text():
    from sagpr import settings

    return settings.describe([n for n in settings.DESCRIPTOR + settings.GPR if n not in ("species", "progress")])


def settings_from_args(args):
    from sagpr.workflows.comparison.compare import DEFAULT_FACTORS, DEFAULT_FIXED, DEFAULT_TRAIN_FRACTIONS, CompareSettings
    from sagpr.workflows.tuning.options import QUICK, parse_factors, parse_fixed, with_lode

    factors = parse_factors(args.factors) if args.factors else list(QUICK["factors"] if args.quick else DEFAULT_FACTORS)
    fixed = dict(QUICK["fixed"] if args.quick else DEFAULT_FIXED)  # presets; the rest at settings defaults
    fixed.update(parse_fixed(args.fix))
    for f in factors:
        fixed.pop(f.name, None)
    if args.lode:  # explicit --factors are searched as given
        factors, fixed = with_lode(factors, fixed, () if args.factors else lode_factors(args, args.quick))
    from sagpr import settings

    settings.check_all(fixed)  # bad values fail before any data is read
    folds = args.folds or (QUICK["n_folds"] if args.quick else 5)
    kwargs = dict(factors=factors, fixed=fixed, n_folds=folds, seed=args.seed, by_structure=args.by_structure,
                  tensor_objective=args.objective, shared_active_set=not args.per_fold_active_sets,
                  sign_convention=args.sign_convention)
    if hasattr(args, "train_sizes"):
        sizes = ([float(s) for s in args.train_sizes.split(",") if s.strip()] if args.train_sizes
                 else list(QUICK["train_sizes"] if args.quick else DEFAULT_TRAIN_FRACTIONS))
        kwargs.update(train_sizes=sizes, test_fraction=args.test_fraction, resolution_khz=args.resolution,
                      degeneracy_tol=args.degeneracy_tol, search_n_features=args.search_features,
                      search_max_sites=args.search_max_sites)
        if getattr(args, "tensor_screen", None) is not None:
            from sagpr.workflows.comparison.compare import check_tensor_screen

            check_tensor_screen(args.tensor_screen, args.tensor_screen_tolerance,
                                names=("--tensor-screen", "--tensor-screen-tolerance"))
            kwargs.update(tensor_screen=args.tensor_screen, tensor_screen_tolerance=args.tensor_screen_tolerance)
        for name in ("search_features", "search_max_sites"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if args.models:
            kwargs["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    return CompareSettings(**kwargs)
