"""`sagpr dataset`: generate the built-in LTO benchmark sets as extended XYZ with reference EFGs."""
from __future__ import annotations

import argparse
import sys


def _add_common_arguments(parser, default_out):
    """Options both kinds of dataset share: reference accuracy, seed and output."""
    parser.add_argument("--accuracy", type=float, default=1e-8, help="relative accuracy of the Ewald EFG")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=default_out, help="output file (extended XYZ)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--plot", metavar="PNG", help="also save a summary figure (distances, C_Q, eta)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="generate a built-in data set (LTO structures with point-charge EFGs)",
        description="Generate a built-in data set as extended XYZ with a per-atom 9-column 'efg' (V/A^2).",
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    lto = kinds.add_parser(
        "lto",
        help="rattled and rescaled 42-atom Li4Ti5O12 cells (the study's training set)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    lto.add_argument("--n-structures", type=int, default=1640, help="number of structures")
    lto.add_argument("--rattle-std", type=float, default=0.1, help="Gaussian displacement per component (A)")
    lto.add_argument("--scale-min", type=float, default=0.94, help="smallest lattice scale factor")
    lto.add_argument("--scale-max", type=float, default=1.06, help="largest lattice scale factor")
    lto.add_argument("--min-distance", type=float, default=1.5, help="redraw structures with closer atoms (A)")
    _add_common_arguments(lto, default_out="lto_efg.xyz")
    lto.set_defaults(func=_run_lto)

    large = kinds.add_parser(
        "large",
        help="1512-atom Li4Ti5O12 models with Monte Carlo sampled Li/Ti disorder",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    large.add_argument("--n", type=int, default=20, help="number of models")
    large.add_argument("--size", type=int, default=3, help="conventional cells per direction (multiple of 3)")
    large.add_argument("--mc-sweeps", type=int, default=200, help="Monte Carlo sweeps per model")
    large.add_argument("--temperature", type=float, default=1000.0, help="Monte Carlo temperature (K)")
    large.add_argument("--lithiation", type=float, default=0.0, help="x in Li(4+x)Ti5O12, extra Li on 16c")
    large.add_argument("--rattle-std", type=float, default=0.0, help="Gaussian displacement after MC (A)")
    _add_common_arguments(large, default_out="lto_1512.xyz")
    large.set_defaults(func=_run_large)


def _run_lto(args) -> int:
    from ..datasets import lto, write_extxyz
    from ._paths import check_output_file

    check_output_file(args.out)
    frames = lto.generate(
        args.n_structures,
        rattle_std=args.rattle_std,
        scale_range=(args.scale_min, args.scale_max),
        min_distance=args.min_distance,
        seed=args.seed,
        accuracy=args.accuracy,
        progress=not args.no_progress,
    )
    path = write_extxyz(frames, args.out)
    _plot(frames, args.plot)
    print(f"wrote {len(frames)} structures ({sum(len(f) for f in frames)} EFG tensors, V/A^2) to {path}", file=sys.stderr)
    return 0


def _run_large(args) -> int:
    from ..datasets import lto, write_extxyz

    from ._paths import check_output_file

    check_output_file(args.out)
    frames = lto.large_models(
        args.n,
        args.size,
        mc_sweeps=args.mc_sweeps,
        temperature=args.temperature,
        lithiation=args.lithiation,
        rattle_std=args.rattle_std,
        seed=args.seed,
        accuracy=args.accuracy,
        progress=not args.no_progress,
    )
    path = write_extxyz(frames, args.out)
    _plot(frames, args.plot)
    print(f"wrote {len(frames)} models ({sum(len(f) for f in frames)} EFG tensors, V/A^2) to {path}", file=sys.stderr)
    return 0


def _plot(frames, path) -> None:
    if path:
        from ..plots.dataset import dataset_summary

        dataset_summary(frames, path)
        print(f"saved the summary figure to {path}", file=sys.stderr)
