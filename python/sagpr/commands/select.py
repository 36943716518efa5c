"""`sagpr select`: which structures of a pool to compute with DFT next (active selection)."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "select",
        help="pick the pool structures whose reference calculation would reduce the model's uncertainty most",
        description="Greedy active selection: from the structures in --pool (files, folders or globs), pick --n "
        "whose reference tensors would remove the most predictive variance of the model over the whole pool, "
        "updating the model's posterior after each pick so the picks are diverse. Writes the picked frames (in "
        "pick order, with selection_rank, selection_gain, selection_fraction and selection_max_std in their info "
        "and their source_file/source_frame) to --out, and prints why each was picked.",
    )
    p.add_argument("--model", type=Path, required=True, help="model file written by sagpr train / model.save()")
    p.add_argument("--pool", nargs="+", required=True, metavar="FILE", help="candidate structures: files, folders or globs")
    p.add_argument("--n", type=int, default=10, help="structures to pick (default: 10)")
    p.add_argument("--out", type=Path, required=True, help="extended XYZ file of the picked structures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from itertools import chain

    from ..io import expand_inputs, iread_structures
    from ..models import load
    from ..workflows.prediction.selection import select, write_picks
    from ._paths import check_output_file, report_skipped

    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    check_output_file(args.out)
    paths, skipped = expand_inputs(args.pool)
    report_skipped(skipped)
    model = load(args.model)
    pool = list(chain.from_iterable(iread_structures(p) for p in paths))
    picks = select(model, pool, args.n)
    write_picks(args.out, pool, picks)
    print(f"picked {len(picks)} of {len(pool)} structures, written to {args.out}:")
    for pick in picks:
        atoms = pool[pick.frame]
        name = f"{atoms.info.get('source_file', 'pool')} frame {atoms.info.get('source_frame', pick.frame)}"
        print(f"{pick.rank:3d}. {name}: {pick.reason()}")
    if picks:
        print(f"pool variance left after the picks: {picks[-1].remaining:.4g}")
    return 0
