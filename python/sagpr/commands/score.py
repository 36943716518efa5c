"""`sagpr score`: how well a saved model predicts the reference EFGs of given files."""
from __future__ import annotations

from ._uncertainty_options import add_uncertainty_n_sparse_argument, apply_uncertainty_n_sparse


def register(subparsers):
    p = subparsers.add_parser(
        "score",
        help="score a saved model on reference files, or a predicted file against its reference column",
        description="Predict every site of the model's species in --data (.magres, extended XYZ or OUTCAR "
                    "files with a per-atom EFG; files, folders or globs) and compare with the reference tensors; "
                    "without --model, compare the predictions in --data files written by `sagpr predict` with "
                    "their efg_reference column. Scores: MAE, Pearson r and distribution distances of C_Q, eta, "
                    "C~Q, eta~, theta, phi (degrees), omega_Q and the orientation agreement q~. Prints a table; "
                    "--out writes it as JSON and markdown, --figure a parity figure.")
    p.add_argument("--model", default=None,
                   help="model file written by model.save() / sagpr train (default: score predicted files)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="reference files, folders or globs")
    p.add_argument("--species", default=None, help="element scored (default: the model's only centre species)")
    p.add_argument("--isotope", default=None, help="isotope label, e.g. 7Li (default: the element's)")
    p.add_argument("--sign-convention", choices=("signed", "positive"), default="signed",
                   help="observables as they are, or each tensor with V_ZZ > 0 (the study's)")
    p.add_argument("--out", default=None, help="JSON report to write (with per-site values), and a .md beside it")
    p.add_argument("--figure", default=None, metavar="PNG", help="parity figure of the scored observables")
    p.add_argument("--uncertainty", action="store_true",
                   help="with --model: also the coverage of the model's 68 and 95 %% intervals of C_Q, eta, theta, "
                        "phi, q~ and omega_Q (the fraction of reference values inside them)")
    add_uncertainty_n_sparse_argument(p)
    p.set_defaults(func=run)


def _predicted_sites(args):
    """(reference sites, predicted tensors, units) of files written by `sagpr predict`."""
    import numpy as np
    from ase.io import read

    from sagpr.io import expand_inputs
    from sagpr.workflows.sites import collect_sites

    from ._paths import report_skipped

    paths, skipped = expand_inputs(args.data)
    report_skipped(skipped)
    frames = []
    for path in paths:
        try:
            frames += read(path, index=":", format="extxyz")
        except Exception as err:
            raise ValueError(f"{path}: cannot read as extended XYZ: {err}") from None
    for k, atoms in enumerate(frames):
        if "efg_reference" not in atoms.arrays or "predicted" not in atoms.arrays:
            raise ValueError(f"frame {k}: no 'efg_reference' and 'predicted' columns: score a file written by "
                             f"sagpr predict from inputs with reference tensors, or give --model")
    species = args.species
    if species is None:
        found = {s for a in frames for s in np.array(a.get_chemical_symbols())[a.arrays["predicted"].astype(bool)]}
        if len(found) != 1:
            raise ValueError(f"the files hold predictions for {', '.join(sorted(found)) or 'no species'}: give --species")
        species = found.pop()
    units = frames[0].info.get("efg_units", "au")
    ref = collect_sites(frames, species, isotope=args.isotope, efg_key="efg_reference", units=units,
                        source=str(paths[0]) if len(paths) == 1 else f"{len(paths)} files")
    pred = collect_sites(frames, species, isotope=args.isotope, efg_key="efg", units=units)
    if len(ref) == 0:
        raise ValueError(f"{ref.source}: no {species} site")
    return ref, pred.V, units


def _coverage(V_ref, V_pred, cov2, isotope, units, sign_convention):
    """{68: {quantity: fraction}, 95: {...}} of reference observables inside the predicted intervals."""
    from sagpr import uncertainty

    result = uncertainty.observable_uncertainty(V_pred, cov2, isotope, units=units, seed=0,
                                                sign_convention=sign_convention)
    reference = uncertainty.reference_observables(V_ref, V_pred, isotope, units=units, sign_convention=sign_convention)
    return {level: uncertainty.coverage(result, reference, level) for level in (68, 95)}


def run(args) -> int:
    import numpy as np
    from ase.data import chemical_symbols

    from sagpr import load
    from sagpr.metrics import metrics
    from sagpr.workflows.tuning.options import load_sites

    from ._paths import check_output_file

    out = check_output_file(args.out) if args.out else None
    figure = check_output_file(args.figure) if args.figure else None
    if figure is not None:
        from sagpr.plots.common import pyplot

        pyplot()  # the plot extra is there, before any work
    if args.model is None and (args.uncertainty or args.uncertainty_n_sparse is not None):
        raise ValueError("--uncertainty needs --model (a predicted file holds no covariances)")
    if args.model is None:
        sites, V_pred, units = _predicted_sites(args)
        species = sites.species
    else:
        model = load(args.model)
        apply_uncertainty_n_sparse(args, model)
        centres = [chemical_symbols[z] for z in model.center_species_]
        species = args.species or (centres[0] if len(centres) == 1 else None)
        if species is None:
            raise ValueError(f"{args.model}: the model has several centre species ({', '.join(centres)}): give --species")
        if species not in centres:
            raise ValueError(f"{args.model}: the model predicts {', '.join(centres)}, not {species}")
        sites = load_sites(args.data, species, isotope=args.isotope)
        from ._paths import report_skipped

        report_skipped(sites.skipped)
        if len(sites) == 0:
            raise ValueError(f"{sites.source}: no {species} site")
        units = model.units_ or sites.units
        if args.uncertainty:
            V_pred, covs = model.predict(sites.frames, return_cov=True)
            cov2 = covs[2]
        else:
            V_pred = np.asarray(model.predict(sites.frames))  # every centre of the model, frame then atom order
        if len(centres) > 1:
            z = chemical_symbols.index(species)
            numbers = np.concatenate([atoms.numbers[np.isin(atoms.numbers, model.center_species_)]
                                      for atoms in sites.frames])
            V_pred = V_pred[numbers == z]
            if args.uncertainty:
                cov2 = cov2[numbers == z]
    # the predictions are in the model's units; the reference is converted to them
    from sagpr.units import convert_efg

    report = metrics(convert_efg(sites.V, sites.units, units), V_pred, sites.isotope, units=units,
                     labels=sites.labels(), sign_convention=args.sign_convention)
    coverage = None
    if args.uncertainty:
        if args.model is None:
            raise ValueError("--uncertainty needs --model (a predicted file holds no covariances)")
        coverage = _coverage(convert_efg(sites.V, sites.units, units), V_pred, cov2, sites.isotope, units,
                             args.sign_convention)
    head = f"{len(sites)} {species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}"
    print(head)
    print(report)
    if coverage is not None:
        for level in (68, 95):
            print(f"coverage of the {level} % intervals: " + ", ".join(f"{q} {v:.3f}" for q, v in coverage[level].items()))
    if out is not None:
        from sagpr.atomic import write_text_atomic

        report.to_json(out, per_site=True)
        if coverage is not None:
            import json

            data = json.loads(out.read_text())
            data["coverage"] = {str(k): v for k, v in coverage.items()}
            write_text_atomic(out, json.dumps(data, indent=2) + "\n")
        write_text_atomic(out.with_suffix(".md"), f"# sagpr score\n\n{head}\n\n```\n{report}\n```\n")
        print(f"wrote {out} and {out.with_suffix('.md')}")
    if figure is not None:
        from sagpr.plots.common import save_figure
        from sagpr.plots.parity import metrics_parity_figure

        save_figure(metrics_parity_figure(report, title=head), figure)
        print(f"wrote {figure}")
    return 0
