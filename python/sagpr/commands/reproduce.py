"""`sagpr reproduce`: the study's whole workflow on the built-in LTO data, one report."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "reproduce",
        help="the study's whole workflow on the built-in LTO data, with one report",
        description="Generate the LTO EFG set, compare scalar and tensorial learning for Li (and Ti, O "
        "without --quick), train the final Li model, generate large 1512-atom models, predict omega_Q for "
        "every Li, classify the sites by histogram peaks and write OUT/report.md beside the study's numbers.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="CI-sized run (minutes): 160 structures, Li only, 2 large models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--full-search", action="store_true",
                   help="score every run of the tensor model's search on all training sites (no screen on "
                        "a quarter of them; same picks on the built-in data, about 7 minutes longer)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..workflows.comparison.reproduce import ReproduceSettings, reproduce

    from ._paths import check_output_dir

    check_output_dir(args.out)
    settings = ReproduceSettings.quick_settings(args.seed) if args.quick else ReproduceSettings(seed=args.seed)
    if args.full_search:
        settings.tensor_screen = None
    report = reproduce(args.out, settings, progress=not args.no_progress)
    print(f"wrote {report}")
    return 0
