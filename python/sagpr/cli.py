"""The `sagpr` command line. Each subcommand lives in its own module under sagpr/commands/."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagpr",
        description="Symmetry-adapted GPR of tensorial atomic properties and NMR observables.",
    )
    parser.add_argument("--version", action="version", version=f"sagpr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands

    # Every public module in sagpr.commands defines `register(subparsers)` (_modules are helpers).
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sagpr.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"sagpr {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
