"""`sagpr train`: fit a tensor model on the sites of DFT / reference files and save it."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "train",
        help="fit an EFG tensor model on reference files, estimate its accuracy by CV and save it",
        description="Fit a TensorModel of one nucleus on every site of --data (.magres, extended XYZ or VASP "
                    "OUTCAR files, folders or globs) with given hyperparameters: those of a `sagpr optimize` "
                    "result (--params OUT/best_tensor.json) or of a `sagpr compare` report (--params "
                    "OUT/report.json), changed by --set; unset ones take the sagpr.settings defaults; --tune "
                    "searches cutoff, atomic_gaussian_width and regularizer first (Box-Behnken, CV); --lode fits a local + "
                    "long-range (LODE) model, a LodeTensorModel. Prints a "
                    "cross-validated estimate of the model's accuracy (folds of whole structures) and writes "
                    "one model file.")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="files, folders or globs with a per-atom EFG")
    p.add_argument("--species", required=True, help="element of the nucleus, e.g. Li, Al, O")
    p.add_argument("--isotope", default=None, help="isotope label, e.g. 7Li (default: the element's)")
    p.add_argument("--units", default=None, help="convert EFGs to these units on reading (au or V/A^2)")
    p.add_argument("--params", default=None, metavar="JSON",
                   help="hyperparameters: best_<model>.json of sagpr optimize or report.json of sagpr compare")
    p.add_argument("--target", default=None, metavar="NAME",
                   help="fit a ScalarModel of the per-atom scalar array NAME of the files (e.g. a chemical shift) "
                        "instead of the EFG tensor model")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="hyperparameters to set or override")
    p.add_argument("--out", required=True, help="model file to write, e.g. li.sagpr")
    p.add_argument("--folds", type=int, default=5,
                   help="cross-validation folds of the accuracy estimate and of --tune (default 5; 0: no estimate)")
    p.add_argument("--by-site", dest="by_structure", action="store_false", default=True,
                   help="CV folds of random sites (the study's protocol; flatters the model against new structures)")
    p.add_argument("--tune", action="store_true",
                   help="search cutoff, atomic_gaussian_width and regularizer (Box-Behnken, CV) before fitting; "
                        "--set values are kept fixed")
    from ._tuning_options import add_lode_argument

    add_lode_argument(p, "--tune also searches lode_weight and lode_atomic_gaussian_width")
    p.add_argument("--seed", type=int, default=0, help="seed of the CV folds")
    p.add_argument("--calibrate", action="store_true",
                   help="calibrate the model's predictive covariance on cross-validation residuals (folds of "
                        "whole structures, --folds of them) before saving: what sagpr predict --uncertainty uses")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _params_from(path):
    import json

    try:
        data = json.loads(open(path).read())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read hyperparameters ({err})") from None
    if isinstance(data, dict) and isinstance(data.get("params"), dict):  # sagpr optimize: best_<model>.json
        if data.get("model", "tensor") != "tensor":
            raise ValueError(f"{path}: hyperparameters of the scalar model {data['model']!r}, not of the tensor model")
        return data["params"]
    if isinstance(data, dict) and isinstance(data.get("best_params"), dict) and "tensor" in data["best_params"]:
        return data["best_params"]["tensor"]  # sagpr compare: report.json
    raise ValueError(f"{path}: no tensor-model hyperparameters (expected sagpr optimize's best_tensor.json "
                     "or sagpr compare's report.json)")


def run(args) -> int:
    import time

    from sagpr import settings
    from sagpr.workflows.tuning.fits import final_tensor_model
    from sagpr.workflows.tuning.options import load_sites, parse_fixed

    from ._paths import check_output_file

    out = check_output_file(args.out)
    params = dict(_params_from(args.params)) if args.params else {}
    params.update(parse_fixed(args.set))
    settings.split(params)  # unknown names and bad values fail before reading any data
    start = time.perf_counter()
    if args.target is not None:
        if args.tune:
            raise ValueError("--tune searches the EFG tensor model; for --target use sagpr optimize's settings")
        if args.lode or settings.lode_part(params) is not None:
            raise ValueError("LODE features (--lode, lode_* settings) are for the EFG tensor model, not --target")
        return _train_scalar(args, params, out, start)
    if args.lode and not args.tune:
        from sagpr.workflows.tuning.options import with_lode

        params = with_lode([], params)[1]
    sites = load_sites(args.data, args.species, isotope=args.isotope, units=args.units)
    from ._paths import report_skipped

    report_skipped(sites.skipped)
    print(f"{len(sites)} {sites.species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    if args.folds < 0 or args.folds == 1 or ((args.tune or args.folds) and args.folds < 2):
        raise ValueError(f"--folds must be 0 or at least 2, got {args.folds}")
    split = "by structure" if args.by_structure else "by site"
    store = None
    if args.tune:
        params, store = _tune(sites, params, args)
    if args.folds:
        _print_cv_estimate(sites, params, args, store, split)
    model = final_tensor_model(sites.frames, sites.species, params, V=sites.V, units=sites.units,
                               progress=not args.no_progress)
    if args.calibrate:
        _calibrate(model, sites.frames, sites.V, args)
    model.save(out)
    shown = {k: v for k, v in model.get_params().items() if k in params}
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s; set: {shown or 'all defaults'})")
    return 0


def _tune(sites, params, args):
    """(params with the best searched values, the feature store of the search)."""
    import tempfile

    import numpy as np

    from sagpr.workflows.comparison.compare import DEFAULT_FACTORS
    from sagpr.workflows.tuning.crossval import CrossValidator
    from sagpr.workflows.tuning.options import with_lode
    from sagpr.workflows.tuning.search import box_behnken_search

    from ._tuning_options import lode_factors

    factors = [f for f in DEFAULT_FACTORS if f.name not in params]  # --set values stay fixed
    if args.lode:
        factors, params = with_lode(factors, params, lode_factors(args))
    if len(factors) < 3:
        raise ValueError("--tune searches cutoff, atomic_gaussian_width and regularizer (with --lode also "
                         "lode_weight and lode_atomic_gaussian_width): leave at least three of them unset")
    cv = CrossValidator(sites, np.arange(len(sites)), models=["tensor"], n_folds=args.folds, seed=args.seed,
                        by_structure=args.by_structure)
    with tempfile.TemporaryDirectory(prefix="sagpr-tune-") as cache:
        result = box_behnken_search(factors, cv.evaluate("tensor"), fixed=params, cache_dir=cache,
                                    progress=not args.no_progress)
    print(result.table())
    best = {**params, **result.best["params"]}
    print(f"tuned: {', '.join(f'{f.name}={best[f.name]:.4g}' for f in factors)} (CV objective "
          f"{result.best['score']:.4g}, {len(result.runs)} runs)")
    return best, cv.store


def _print_cv_estimate(sites, params, args, store, split):
    from sagpr.metrics import metrics
    from sagpr.workflows.tuning.crossval import out_of_fold_tensors

    V = out_of_fold_tensors(sites, params, n_folds=args.folds, seed=args.seed, by_structure=args.by_structure,
                            store=store)
    import numpy as np

    r = metrics(sites.V, V, sites.isotope, units=sites.units)
    ref, pred = np.abs(r.values["cq_ref"]), np.abs(r.values["cq_pred"])
    cq = float(np.mean(np.abs(pred - ref)))
    spread = float(np.ptp(ref)) or float("nan")
    print(f"{args.folds}-fold CV estimate ({split}): |C_Q| MAE {cq:.4g} MHz ({100 * cq / spread:.1f} % of its "
          f"range), C~Q MAE {r['C~Q']['mae']:.4g}, eta MAE {r['eta']['mae']:.4g}, mean q~ "
          f"{r.orientation['q_tilde_mean']:.4f}, omega_Q MAE {r['omega_Q']['mae']:.4g} kHz")


def _train_scalar(args, params, out, start) -> int:
    """A ScalarModel of the per-atom array args.target, with a CV estimate (folds of whole files' frames)."""
    import time

    import numpy as np
    from ase.data import atomic_numbers

    from sagpr import settings
    from sagpr.io import expand_inputs, iread_structures
    from sagpr.metrics import pearson
    from sagpr.models import ScalarModel
    from sagpr.workflows.tuning.splits import k_fold

    from ._paths import report_skipped

    paths, skipped = expand_inputs(args.data)
    report_skipped(skipped)
    frames = [atoms for path in paths for atoms in iread_structures(path)]
    z = atomic_numbers.get(args.species)
    if z is None:
        raise ValueError(f"unknown element {args.species!r}")
    for atoms in frames:
        if np.any(atoms.numbers == z) and args.target not in atoms.arrays:
            raise ValueError(f"{atoms.info['source_file']}: frame {atoms.info['source_frame']}: no per-atom "
                             f"{args.target!r} array (has {', '.join(sorted(atoms.arrays))})")
    frames = [atoms for atoms in frames if np.any(atoms.numbers == z)]
    if not frames:
        raise ValueError(f"no {args.species} atom in {len(paths)} file(s)")
    y = np.concatenate([np.asarray(a.arrays[args.target], float).reshape(len(a))[a.numbers == z] for a in frames])
    print(f"{len(y)} {args.species} sites in {len(frames)} structures: target {args.target!r}")
    desc, gpr = settings.split(params)
    gpr["progress"] = not args.no_progress

    def model():
        return ScalarModel(center_species=args.species, target=args.target, **desc, **gpr)

    if args.folds:
        if len(frames) < args.folds:
            raise ValueError(f"{len(frames)} structures cannot be split into {args.folds} folds by structure; "
                             "give fewer folds")
        pred = np.zeros(len(frames), dtype=object)
        for train, test in k_fold(len(frames), n_folds=args.folds, seed=args.seed):
            fitted = model().fit([frames[i] for i in train])
            for i in test:
                pred[i] = fitted.predict([frames[i]])
        oof = np.concatenate(list(pred))
        print(f"{args.folds}-fold CV estimate (by structure): MAE {np.mean(np.abs(oof - y)):.4g}, "
              f"RMSE {np.sqrt(np.mean((oof - y) ** 2)):.4g}, r {pearson(y, oof):.4f} (target spread {np.std(y):.4g})")
    fitted = model().fit(frames)
    fitted.save(out)
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s)")
    return 0


def _calibrate(model, frames, y, args):
    from sagpr.models import calibration

    if args.folds < 2:
        raise ValueError("--calibrate needs --folds of at least 2")
    from ase.data import chemical_symbols

    for (z, lam), fitted in model.calibrate(frames, y, n_folds=args.folds, random_state=args.seed).items():
        print(f"calibrated {chemical_symbols[z]} lambda={lam}: {calibration.describe(fitted)}")
