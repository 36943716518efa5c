"""`sagpr score`: how well a saved model predicts the reference EFGs of given files."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "score",
        help="score a saved model on reference files (C~Q, eta~, angles, q~, omega_Q errors)",
        description="Predict every site of the model's species in --data (.magres or extended XYZ with a "
                    "per-atom EFG; files, folders or globs) and compare with the reference tensors: MAE, "
                    "Pearson r and distribution distances of C_Q, eta, C~Q, eta~, theta, phi, omega_Q and "
                    "the orientation agreement q~. Prints a table; --out writes the report as JSON.")
    p.add_argument("--model", required=True, help="model file written by model.save() / sagpr train")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="reference files, folders or globs")
    p.add_argument("--species", default=None, help="element scored (default: the model's only centre species)")
    p.add_argument("--isotope", default=None, help="isotope label, e.g. 7Li (default: the element's)")
    p.add_argument("--sign-convention", choices=("signed", "positive"), default="signed",
                   help="observables as they are, or each tensor with V_ZZ > 0 (the study's)")
    p.add_argument("--out", default=None, help="JSON report to write (with per-site values)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    from ase.data import chemical_symbols

    from sagpr import load
    from sagpr.metrics import metrics
    from sagpr.workflows.tuning.options import load_sites

    from ._paths import check_output_file

    out = check_output_file(args.out) if args.out else None
    model = load(args.model)
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
    # the model predicts in its own units; the reference is converted to them
    from sagpr.units import convert_efg

    units = model.units_ or sites.units
    V_pred = np.asarray(model.predict(sites.frames))  # every centre of the model, frame then atom order
    if len(centres) > 1:
        z = chemical_symbols.index(species)
        numbers = np.concatenate([atoms.numbers[np.isin(atoms.numbers, model.center_species_)]
                                  for atoms in sites.frames])
        V_pred = V_pred[numbers == z]
    report = metrics(convert_efg(sites.V, sites.units, units), V_pred, sites.isotope, units=units,
                     labels=sites.labels(), sign_convention=args.sign_convention)
    print(f"{len(sites)} {species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    print(report)
    if out is not None:
        report.to_json(out, per_site=True)
        print(f"wrote {out}")
    return 0
