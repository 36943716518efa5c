"""`sagpr predict`: EFG tensors and NMR observables for every atom of the model's species."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "predict",
        help="predict EFG tensors and NMR observables with a saved model",
        description="Predict the tensor of every atom of the model's centre species in every frame of "
        "STRUCTURES (streamed chunk by chunk, so memory stays flat), and write them with C_Q (MHz), eta, "
        "omega_Q (kHz), theta, phi (degrees, field along z) as per-atom columns of an extended XYZ file.",
    )
    p.add_argument("structures", type=Path, help="input structures (any format ase reads, e.g. extended XYZ)")
    p.add_argument("--model", type=Path, required=True, help="model file written by model.save()")
    p.add_argument("--out", type=Path, required=True, help="output extended XYZ file")
    p.add_argument("--magres", type=Path, metavar="DIR", help="also write one .magres file per frame into DIR")
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


def _isotope_map(labels):
    import re

    out = {}
    for label in labels:
        match = re.fullmatch(r"(\d+)([A-Z][a-z]?)", label)
        if not match:
            raise ValueError(f"--isotope {label!r}: expected a label such as 7Li or 17O")
        out[match.group(2)] = label
    return out


def run(args) -> int:
    import os

    from ase.io import iread

    from ..models import load
    from ..workflows.prediction.predict import predict_file

    if not args.structures.is_file():
        raise FileNotFoundError(f"{args.structures}: no such file")
    if args.shared_file:
        if args.scheduler is None and args.workers is None:
            raise ValueError("--shared-file needs --workers N or --scheduler ADDRESS (the workers read the file)")
        from ..trajectory import require_extxyz

        require_extxyz(args.structures)  # before starting a cluster
    model = load(args.model)
    isotopes = _isotope_map(args.isotope)

    def frames():
        try:
            yield from iread(args.structures, index=":")
        except Exception as err:
            raise ValueError(f"{args.structures}: cannot read: {err}") from err

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    client = cluster = None
    if args.scheduler or args.workers:
        from ..distributed import require_dask

        require_dask()
        from distributed import Client, LocalCluster

        if args.workers:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster if cluster is not None else args.scheduler)
    try:
        source = args.structures if args.shared_file else frames()
        n = predict_file(model, source, args.out, magres_dir=args.magres, chunk_size=args.chunk_size,
                         isotopes=isotopes, progress=not args.no_progress, client=client,
                         shared_file=args.shared_file)
    except ValueError as err:
        message = str(err)
        if not message.startswith(os.path.abspath(args.structures)):  # shared-file errors name it already
            message = f"{args.structures}: {message}"
        raise ValueError(message) from None
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print(f"wrote {n} frames to {args.out}" + (f" and .magres files to {args.magres}" if args.magres else ""))
    return 0
