"""`sagpr optimize`: Box-Behnken hyperparameter search of one model, scored by k-fold CV."""
from __future__ import annotations


def register(subparsers):
    from ._tuning_options import add_common_arguments

    p = subparsers.add_parser(
        "optimize",
        help="tune one model's hyperparameters by a Box-Behnken search with k-fold CV",
        description="Search the hyperparameters of the tensorial EFG model (objective: NMR metric or MAE(V_ij)) "
                    "or of a scalar model (cq_tilde, eta_tilde, theta, phi, omega_q; its own MAE) on all sites "
                    "of the data. Writes OUT/search_<model>.json, OUT/search_<model>.md and OUT/best_<model>.json; "
                    "finished runs are cached in OUT/cache.")
    add_common_arguments(p)
    p.add_argument("--model", default="tensor",
                   help="tensor (default) or a scalar target: cq_tilde, eta_tilde, theta, phi, omega_q")
    p.set_defaults(func=run)


def run(args):
    from pathlib import Path

    from ._tuning_options import settings_from_args
    from sagpr.workflows.cache import write_json_atomic
    from sagpr.workflows.tuning.crossval import CrossValidator, check_models
    from sagpr.workflows.tuning.options import load_sites
    from sagpr.atomic import write_text_atomic
    from sagpr.workflows.comparison.report import search_table
    from sagpr.workflows.tuning.search import box_behnken_search

    from ._paths import check_output_dir

    check_output_dir(args.out)
    settings = settings_from_args(args)
    model = check_models([args.model])[0]
    sites = load_sites(args.data, args.species, isotope=args.isotope, units=args.units)
    from ._paths import report_skipped

    report_skipped(sites.skipped)
    print(f"{len(sites)} {sites.species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    cv = CrossValidator(sites, np.arange(len(sites)), models=[model], tensor_objective=settings.tensor_objective,
                        n_folds=settings.n_folds, seed=settings.seed, by_structure=settings.by_structure,
                        cache_dir=out / "cache" / "cv", shared_active_set=settings.shared_active_set,
                        sign_convention=settings.sign_convention)
    result = box_behnken_search(settings.factors, cv.evaluate(model), fixed=settings.fixed,
                                cache_dir=out / "cache" / f"search_{model}", progress=not args.no_progress)
    objective = settings.tensor_objective if model == "tensor" else f"MAE({model})"
    data = {**result.to_dict(), "model": model, "objective": objective, "n_folds": settings.n_folds,
            "sites": {"species": sites.species, "isotope": sites.isotope, "n_sites": len(sites), "source": sites.source}}
    write_json_atomic(out / f"search_{model}.json", data)
    best = {**settings.fixed, **result.best["params"]}
    write_json_atomic(out / f"best_{model}.json", {"model": model, "objective": objective, "score": result.best["score"],
                                                   "scores": result.best["scores"], "params": best})
    surface = f"response surface R^2 = {result.surface.r2:.4f}" if result.surface is not None else ""
    text = f"# {model} ({objective}), {settings.n_folds}-fold CV\n\n{search_table(result.to_dict())}\n\n{surface}\n"
    write_text_atomic(out / f"search_{model}.md", text)
    print(result.table())
    print(f"best: {best} (score {result.best['score']:.6g}); wrote {out}")
    return 0
