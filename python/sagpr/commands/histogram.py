"""`sagpr histogram`: omega_Q histogram, peak regions and per-site region labels."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "histogram",
        help="histogram of omega_Q over all sites of a species, with peak regions and site labels",
        description="Histogram the quadrupolar frequency omega_Q of every SPECIES site in FILE (per-atom "
        "'omega_q' as written by `sagpr predict`, or computed from per-atom 'efg'), find the most prominent "
        "peaks, grow each into a region down to --min-count sites per bin, and write regions.json, "
        "the figures and FILE's frames with a per-atom 'region' label (-1: unclassified).",
    )
    p.add_argument("file", type=Path, help="file with per-atom omega_q (as sagpr predict writes) or efg: extended XYZ, .magres or OUTCAR")
    p.add_argument("--species", default=None, help="element whose sites are classified, e.g. Li, Al (default: "
                   "the species `sagpr predict` predicted in FILE)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--n-peaks", type=int, default=5, help="number of peaks/regions (default: 5)")
    p.add_argument("--bin-width", type=float, default=None,
                   help="histogram bin width in kHz (default: from the data, Freedman-Diaconis)")
    p.add_argument("--min-count", type=int, default=None,
                   help="minimum sites per bin inside a region (default: 1 %% of the sites, at least 3)")
    p.add_argument("--isotope", help="isotope for omega_Q from efg (default: the species' default, e.g. 7Li)")
    p.set_defaults(func=run)


def _predicted_species(path) -> str:
    """The one element `sagpr predict` predicted in the first frame of `path` (its 'predicted' column)."""
    import numpy as np
    from ase.io import read

    try:
        atoms = read(path, index=0, format="extxyz")
    except Exception as err:
        raise ValueError(f"{path}: cannot read as extended XYZ: {err}") from err
    if "predicted" not in atoms.arrays:
        raise ValueError(f"{path}: no 'predicted' column to take the species from; give --species")
    found = sorted(set(np.array(atoms.get_chemical_symbols())[atoms.arrays["predicted"].astype(bool)]))
    if len(found) != 1:
        raise ValueError(f"{path}: the file holds predictions for {', '.join(found) or 'no species'}; give --species")
    return found[0]


def run(args) -> int:
    from ..atomic import atomic_path
    from ..workflows.prediction.histogram import classify, labelled_frames, uncertain_sites, write_histogram_report

    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file}: no such file")

    from ..io import iread_structures

    def frames():
        yield from iread_structures(args.file)

    if args.species is None:
        args.species = _predicted_species(args.file)
    try:
        regions, labels = classify(frames(), args.species, n_peaks=args.n_peaks, bin_width=args.bin_width,
                                   min_count=args.min_count, isotope=args.isotope)
    except ValueError as err:
        raise ValueError(str(err) if str(err).startswith(str(args.file)) else f"{args.file}: {err}") from None

    from ase.io import write

    first = []
    for k, atoms in enumerate(frames()):
        if k >= 2:
            break
        first.append(atoms)
    written = write_histogram_report(regions, first, labels, args.species, args.out)
    labelled = args.out / f"{args.file.stem}_regions.xyz"
    with atomic_path(labelled) as tmp:
        uncertain = uncertain_sites(frames(), args.species, regions, labels)
        write(tmp, labelled_frames(frames(), args.species, labels, uncertain), format="extxyz")
    written.append(labelled)
    for r in regions.regions:
        print(f"region {r.label}: {r.low:9.2f} .. {r.high:9.2f} kHz  peak {r.peak:9.2f}  {r.count} sites")
    n_out = int((regions.labels < 0).sum())
    print(f"unclassified: {n_out} of {len(regions.labels)} {args.species} sites "
          f"(bin width {regions.bin_width:g} kHz, min count {regions.min_count})")
    n_uncertain = int(sum(u.sum() for u in uncertain))
    if n_uncertain:
        print(f"{n_uncertain} sites have a 95 % omega_Q interval wider than their region (column region_uncertain)")
    if n_out == len(regions.labels):
        print("hint: no bin holds --min-count sites: lower --min-count or widen --bin-width")
    for path in written:
        print(f"wrote {path}")
    return 0
