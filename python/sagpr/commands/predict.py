"""`sagpr predict`: EFG tensors and NMR observables for every atom of the model's species."""
from __future__ import annotations

from pathlib import Path

from ._uncertainty_options import add_uncertainty_n_sparse_argument, apply_uncertainty_n_sparse


def register(subparsers):
    p = subparsers.add_parser(
        "predict",
        help="predict EFG tensors and NMR observables with a saved model",
        description="Predict the tensor of every atom of the model's centre species in every frame of "
        "STRUCTURES (files, folders or globs, streamed chunk by chunk through one model load, so memory "
        "stays flat), and write them with C_Q (MHz), eta, omega_Q (kHz), theta, phi (degrees, field along "
        "z) as per-atom columns of one extended XYZ file; each frame keeps its source_file and source_frame.",
    )
    p.add_argument("structures", nargs="+", help="input structures: files (any format ase reads), folders "
                   "(their .magres, .xyz, .extxyz and OUTCAR files) or globs")
    p.add_argument("--model", type=Path, required=True, help="model file written by model.save()")
    p.add_argument("--out", type=Path, required=True, help="output extended XYZ file")
    p.add_argument("--magres", type=Path, metavar="DIR",
                   help="also write one .magres file per frame into DIR, named after its source file "
                   "(NAME.magres for a .magres input, NAME_000003.magres for frame 3 of another file); DIR "
                   "holds one whole run: it is written aside and replaces DIR at the end")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --magres DIR whole")
    p.add_argument("--uncertainty", action="store_true",
                   help="also error bars of C_Q, eta, theta, phi and omega_Q: columns NAME_std, NAME_low68, "
                        "NAME_high68, NAME_low95, NAME_high95 from the model's (calibrated) predictive covariance")
    add_uncertainty_n_sparse_argument(p)
    p.add_argument("--chunk-size", type=int, default=16, help="frames predicted at a time (default: 16)")
    p.add_argument("--isotope", action="append", default=[], metavar="LABEL",
                   help="isotope for the observables, e.g. --isotope 6Li (default: the element's default isotope)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster (needs pip install 'sagpr[dask]'), e.g. tcp://host:8786")
    where.add_argument("--workers", type=int, metavar="N",
                       help="run on a local Dask cluster of N single-threaded worker processes")
    p.add_argument("--shared-file", action="store_true",
                   help="with --workers/--scheduler: the workers read their own frames from STRUCTURES (an "
                   "uncompressed extended XYZ file on a filesystem they share); the client only indexes it "
                   "and sends frame ranges")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _isotope_map(labels, species):
    """{element: isotope label} from --isotope labels, each an isotope of a species the model predicts."""
    from ..isotopes import get_isotope

    out = {}
    for label in labels:
        iso = get_isotope(label)
        if iso.element not in species:
            raise ValueError(f"--isotope {label}: {iso.label} is an isotope of {iso.element}, but the model "
                             f"predicts {', '.join(species)}")
        out[iso.element] = iso.label
    return out


def run(args) -> int:
    import os
    import sys
    from itertools import chain

    from ..atomic import check_output_folder
    from ..io import expand_inputs, iread_structures
    from ..models import load
    from ..workflows.prediction.predict import predict_file
    from ._paths import check_output_file, report_skipped

    paths, skipped = expand_inputs(args.structures)
    check_output_file(args.out)
    if args.magres is not None:
        check_output_folder(args.magres, overwrite=args.overwrite)
    if args.shared_file:
        if args.scheduler is None and args.workers is None:
            raise ValueError("--shared-file needs --workers N or --scheduler ADDRESS (the workers read the file)")
        if len(paths) != 1:
            raise ValueError(f"--shared-file reads one extended XYZ file, got {len(paths)} inputs")
        from ..trajectory import require_extxyz

        require_extxyz(paths[0])  # before starting a cluster
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    model = load(args.model)
    apply_uncertainty_n_sparse(args, model)
    from ase.data import chemical_symbols

    species = [chemical_symbols[int(z)] for z in model.center_species_]
    isotopes = _isotope_map(args.isotope, species)
    report_skipped(skipped)

    client = cluster = None
    if args.scheduler or args.workers:
        from ..distributed import require_dask

        require_dask()
        from distributed import Client, LocalCluster

        if args.workers:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster if cluster is not None else args.scheduler)
    try:
        source = paths[0] if args.shared_file else chain.from_iterable(iread_structures(p) for p in paths)
        summary = predict_file(model, source, args.out, magres_dir=args.magres, overwrite=args.overwrite,
                               chunk_size=args.chunk_size, isotopes=isotopes, progress=not args.no_progress,
                               client=client, shared_file=args.shared_file, sources=paths,
                               uncertainty=args.uncertainty)
    except ValueError as err:
        message = str(err)
        if len(paths) == 1 and not message.startswith((str(paths[0]), os.path.abspath(paths[0]))):
            message = f"{paths[0]}: {message}"
        raise ValueError(message) from None
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    files = f" from {len(paths)} files" if len(paths) > 1 else ""
    print(f"wrote {summary.frames} frames ({summary.sites} {'/'.join(species)} sites){files} to {args.out}"
          + (f" and one .magres file per frame to {args.magres}" if args.magres else ""))
    if summary.out_of_domain:
        from ..workflows.prediction.predict import OUT_OF_DOMAIN

        named = "; ".join(summary.out_of_domain[:5]) + (f" and {len(summary.out_of_domain) - 5} more"
                                                        if len(summary.out_of_domain) > 5 else "")
        print(f"warning: {len(summary.out_of_domain)} sites are out of the model's domain (predicted sigma above "
              f"{OUT_OF_DOMAIN:g} x the training spread; their column relative_std): {named}", file=sys.stderr)
    if summary.without_site:
        named = "; ".join(summary.without_site[:5]) + (f" and {len(summary.without_site) - 5} more"
                                                       if len(summary.without_site) > 5 else "")
        print(f"{len(summary.without_site)} of {summary.frames} frames had no {'/'.join(species)} site "
              f"(written unpredicted): {named}")
    return 0
