"""`sagpr spectrum`: powder NMR spectrum of one nucleus from predicted, averaged or reference tensors."""
from __future__ import annotations

from pathlib import Path

def parse_field(text: str) -> float:
    from ..units import parse_field as parse

    try:
        return parse(text)
    except ValueError as err:
        raise ValueError(f"--{err}") from None


def parse_rate(text: str) -> float:
    from ..units import parse_frequency

    try:
        return parse_frequency(text)
    except ValueError as err:
        raise ValueError(f"--spinning {err} (or --static)") from None


def register(subparsers):
    p = subparsers.add_parser(
        "spectrum",
        help="powder NMR spectrum (static or MAS) of one nucleus from the EFG tensors of a file (mrsimulator)",
        description="Simulate the powder spectrum of every SPECIES site of FILE with mrsimulator (the 'spectra' "
        "extra): a file written by `sagpr predict` gives the predicted spectrum over the reference one (its "
        "'efg_reference'), any other file the spectrum of its 'efg' tensors. Shielding tensors ('ms' of "
        ".magres files) are included when present. Writes spectrum.csv, spectrum.png (ppm, with a kHz axis), "
        "the spectrum of each omega_Q histogram region (regions.csv, regions.png) and summary.json into OUT.",
    )
    p.add_argument("file", type=Path, help=".magres, extended XYZ (e.g. from sagpr predict) or OUTCAR file")
    p.add_argument("--species", required=True, help="element whose sites are simulated, e.g. Al, Li, O")
    p.add_argument("--isotope", help="isotope (default: the species' usual quadrupolar one, e.g. 27Al)")
    p.add_argument("--field", required=True, help="magnetic field, e.g. 14.1T (or a 1H frequency: 600MHz)")
    spin = p.add_mutually_exclusive_group()
    spin.add_argument("--spinning", help="magic-angle spinning rate, e.g. 15kHz ('inf' for infinitely fast)")
    spin.add_argument("--static", action="store_true", help="static sample (the default)")
    p.add_argument("--transition", choices=("central", "all"), default="central",
                   help="central transition only, or all single-quantum transitions (default: central)")
    p.add_argument("--out", type=Path, required=True, help="output folder (replaced whole; see --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--experimental", type=Path, help="measured spectrum to overlay: two columns, ppm and intensity")
    p.add_argument("--broadening", type=float, default=200.0, metavar="HZ",
                   help="line broadening, full width at half maximum in Hz (default: 200; 0: none)")
    p.add_argument("--line-shape", choices=("gaussian", "lorentzian"), default="gaussian",
                   help="shape of the broadening (default: gaussian)")
    p.add_argument("--density", type=int, default=50, metavar="N",
                   help="orientation grid: mrsimulator's integration density (default: 50; its own default 70 "
                   "is finer and slower)")
    p.add_argument("--gamma-angles", type=int, default=1, metavar="N",
                   help="rotor gamma angles averaged (default: 1)")
    p.add_argument("--points", type=int, default=2048, help="points of the spectrum (default: 2048)")
    p.add_argument("--width", type=float, metavar="KHZ", help="spectral width in kHz (default: from the tensors)")
    p.add_argument("--offset", type=float, metavar="KHZ", help="centre of the window in kHz from the reference "
                   "frequency (default: from the tensors)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="processes mrsimulator runs on (default: 1)")
    p.add_argument("--no-shielding", action="store_true", help="ignore shielding tensors in the file")
    p.add_argument("--shielding-reference", type=float, metavar="PPM",
                   help="reference shielding: shift = reference - sigma_iso (default: none, shift = -sigma_iso)")
    p.add_argument("--no-regions", action="store_true", help="no per-region spectra")
    p.add_argument("--n-peaks", type=int, default=5, help="omega_Q histogram regions (default: 5, as sagpr histogram)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..atomic import atomic_directory, check_output_folder
    from ..io import read_efg
    from ..spectra import require_mrsimulator
    from ..workflows.prediction.spectra import (
        collect_spectrum_sites, read_experimental, spectra_of_sites, write_spectrum_report)

    require_mrsimulator()
    field = parse_field(args.field)
    if args.spinning is None:
        spinning = 0.0
    elif args.spinning.strip().lower() in ("inf", "infinite"):
        spinning = 1e12  # mrsimulator's infinite-speed limit (no sidebands)
    else:
        spinning = parse_rate(args.spinning)
    for name in ("density", "gamma_angles", "points", "jobs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.broadening < 0:
        raise ValueError(f"--broadening must be 0 or positive, got {args.broadening}")
    check_output_folder(args.out, overwrite=args.overwrite)
    experimental = read_experimental(args.experimental) if args.experimental is not None else None
    frames = read_efg(args.file, default_units="au")
    sites = collect_spectrum_sites(frames, args.species, isotope=args.isotope, shielding=not args.no_shielding,
                                   source=str(args.file))
    labels = None
    if not args.no_regions:
        from ..workflows.prediction.histogram import classify

        _, per_frame = classify(frames, args.species, n_peaks=args.n_peaks, bin_width=None, min_count=None,
                                isotope=sites.isotope)
        import numpy as np

        labels = np.concatenate(per_frame)
    result = spectra_of_sites(
        sites, field, region_labels=labels, shielding_reference=args.shielding_reference,
        width_hz=None if args.width is None else args.width * 1e3,
        offset_hz=None if args.offset is None else args.offset * 1e3,
        spinning_hz=spinning, transition=args.transition, count=args.points, integration_density=args.density,
        gamma_angles=args.gamma_angles, broadening_hz=args.broadening, line_shape=args.line_shape, n_jobs=args.jobs)
    with atomic_directory(args.out, overwrite=args.overwrite) as tmp:
        written = write_spectrum_report(result, tmp, species=args.species, experimental=experimental)
    mode = "static" if spinning == 0 else f"MAS {spinning / 1e3:g} kHz"
    shielding = "with shielding" if sites.shielding is not None else "no shielding tensors"
    print(f"{len(sites)} {sites.isotope} sites, {field:g} T, {mode}, {args.transition} transition, {shielding}; "
          f"spectra: {', '.join(result.spectra)}")
    if sites.shielding is not None and args.shielding_reference is None:
        print("note: no --shielding-reference: the shift axis is -sigma_iso")
    if result.difference is not None:
        print(f"spectral difference predicted vs reference: {100 * result.difference:.2f} % "
              f"(sum |pred - ref| / sum |ref|)")
    for path in written:
        print(f"wrote {args.out / path.name}")
    return 0
