"""`sagpr compare`: scalar vs tensorial learning of one nucleus' NMR observables, with a report."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="tune and compare scalar and tensorial models of one nucleus' EFG observables",
        description="Tune (Box-Behnken search, k-fold CV) five scalar models (C~Q, eta~, theta, phi, omega_Q) and "
                    "one tensorial EFG model, score them on a held-out test set, write report.md/json, "
                    "predictions.npz and figures. Finished fits are cached in OUT/cache: rerun to resume.")
    from ._tuning_options import add_common_arguments

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
    p.add_argument("--search-features", type=int, default=None, metavar="N",
                   help="the searches' CV fits keep N selected features (a cheaper kernel; final models use all)")
    p.add_argument("--search-max-sites", type=int, default=None, metavar="N",
                   help="the searches cross-validate on a seeded subset of at most N training sites (whole "
                        "structures with --by-structure); final models and learning curves use all")
    p.add_argument("--tensor-screen", type=float, default=None, metavar="F",
                   help="screen the tensor model's search by CV on a seeded fraction F (<= 1) or count (> 1) of "
                        "the search's training sites, then re-score on all sites only the runs within "
                        "--tensor-screen-tolerance of the screen's best (sagpr reproduce: 0.25)")
    p.add_argument("--tensor-screen-tolerance", type=float, default=0.05, metavar="T",
                   help="relative CV-score margin of the screened runs that are re-scored (default 0.05)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--save-model", action="store_true",
                   help="also write the tuned tensor model of all sites to OUT/<species>.sagpr, e.g. li.sagpr "
                        "(for sagpr predict --model): the final fit extended by the test sites, its active "
                        "set chosen among the training sites")
    p.set_defaults(func=run)


def run(args):
    import time

    from sagpr.workflows.comparison.compare import run_comparison
    from sagpr.workflows.tuning.crossval import check_models
    from sagpr.workflows.tuning.options import load_sites
    from sagpr.workflows.comparison.report import comparison_table, write_report

    from ._tuning_options import settings_from_args

    from ._paths import check_output_dir

    check_output_dir(args.out)
    settings = settings_from_args(args)
    settings.all_sites_model = bool(args.save_model)
    check_models(settings.models)
    if args.save_model and "tensor" not in settings.models:
        raise ValueError("--save-model saves the tuned tensor model: include 'tensor' in --models")
    start = time.perf_counter()
    sites = load_sites(args.data, args.species, isotope=args.isotope, units=args.units)
    from ._paths import report_skipped

    report_skipped(sites.skipped)
    print(f"{len(sites)} {sites.species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    result = run_comparison(sites, settings, out_dir=args.out, progress=not args.no_progress)
    files = write_report(result, args.out, figures=not args.no_figures)
    print(comparison_table({"tensorial": None if result.tensorial is None else result.tensorial["scores"],
                            "scalar": None if result.scalar is None else result.scalar["scores"]}))
    written = [str(p) for p in files.values()]
    if args.save_model and result.model is not None:
        from pathlib import Path

        path = Path(args.out) / f"{sites.species.lower()}.sagpr"
        result.model.save(path)  # the final fit extended by the test sites (CompareSettings.all_sites_model)
        written.append(str(path))
    print(f"wrote {', '.join(written)} ({time.perf_counter() - start:.1f} s)")
    return 0
