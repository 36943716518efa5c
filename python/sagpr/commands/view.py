"""`sagpr view`: an interactive chemiscope site map of the EFG tensors and NMR observables of a file."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "view",
        help="chemiscope dataset of the sites of a file: omega_Q, C_Q, eta, region, EFG ellipsoids",
        description="Write a chemiscope dataset (open it at https://chemiscope.org or with chemiscope.show_input) "
        "of the quadrupolar sites of FILE: per-atom omega_Q (kHz, field along z), C_Q (MHz) and eta of its "
        "'efg' tensors (and of 'efg_reference', as written by `sagpr predict`), uncertainties the file carries "
        "(per-atom arrays ending in _std), the omega_Q histogram region of each site (with --species) and "
        "every EFG drawn as an ellipsoid (red: V_zz > 0, blue: V_zz < 0). Needs the 'view' extra.",
    )
    p.add_argument("file", type=Path, help=".magres, extended XYZ (e.g. from sagpr predict) or OUTCAR file")
    p.add_argument("--out", type=Path, required=True, help="output file, e.g. sites.chemiscope.json.gz")
    p.add_argument("--species", help="only the sites of this element, with their omega_Q histogram regions")
    p.add_argument("--isotope", help="isotope of --species (default: its usual quadrupolar one)")
    p.add_argument("--n-peaks", type=int, default=5, help="omega_Q histogram regions (default: 5, as sagpr histogram)")
    p.add_argument("--no-regions", action="store_true", help="no region labels")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io import read_efg
    from ..workflows.prediction.view import require_chemiscope, write_site_map
    from ._paths import check_output_file

    require_chemiscope()
    if not (args.out.name.endswith(".json") or args.out.name.endswith(".json.gz")):
        raise ValueError(f"{args.out}: a chemiscope dataset ends in .json or .json.gz")
    check_output_file(args.out)
    if args.isotope and not args.species:
        raise ValueError("--isotope needs --species")
    frames = read_efg(args.file, default_units="au")
    isotopes = {args.species: args.isotope} if args.isotope else None
    labels = None
    if args.species and not args.no_regions:
        import numpy as np

        from ..workflows.prediction.histogram import classify

        _, per_frame = classify(frames, args.species, n_peaks=args.n_peaks, bin_width=None, min_count=None,
                                isotope=args.isotope)
        labels = np.concatenate(per_frame)
    try:
        sites = write_site_map(frames, args.out, species=args.species, isotopes=isotopes, region_labels=labels,
                               name=args.file.name)
    except ValueError as err:
        raise ValueError(f"{args.file}: {err}") from None
    names = ", ".join(sites["properties"])
    print(f"{len(sites['environments'])} sites in {len(frames)} frame(s); per-atom properties: {names}")
    print(f"wrote {args.out}")
    return 0
