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
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands

    # Every public module in sagpr.commands defines `register(subparsers)` (_modules are helpers).
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sagpr.commands.{info.name}")
        module.register(sub)
    # Options every command takes, so no command lacks them.
    for command in sub.choices.values():
        options = {o for action in command._actions for o in action.option_strings}
        if "--no-progress" not in options:
            command.add_argument("--no-progress", action="store_true", help="no progress bars (they are shown "
                                 "only on a terminal anyway)")
        if "--min-distance" not in options:  # (sagpr dataset has its own: the distance it redraws at)
            command.add_argument("--min-distance", dest="overlap_distance", type=float, metavar="A", default=None,
                                 help="two atoms closer than this are an input error (default: 0.5 A; 0 turns "
                                 "the check off)")
    return parser


def main(argv=None) -> int:
    """Run one subcommand. An error is one line on stderr and exit status 1 (the traceback only with
    --debug); Ctrl-C is one line and 130. Arguments the parser rejects exit with argparse's 2."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the subcommand
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .neighbors import DEFAULT_MIN_DISTANCE, set_min_distance

    try:
        overlap = getattr(args, "overlap_distance", None)
        set_min_distance(DEFAULT_MIN_DISTANCE if overlap is None else overlap)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"sagpr {args.command}: interrupted: finished outputs are kept whole, the unfinished one was "
              "not written (compare and optimize resume from their cache)", file=sys.stderr)
        return 130
    except Exception as err:  # every error a user can cause ends as one line naming what is wrong
        if args.debug:
            raise
        known = isinstance(err, (ValueError, OSError, TypeError, KeyError, ImportError, RuntimeError))
        message = str(err) or type(err).__name__
        if not known or isinstance(err, (TypeError, KeyError)):
            message = f"{type(err).__name__}: {message} (a bug? rerun with --debug and report the traceback)"
        print(f"sagpr {args.command}: error: {message}", file=sys.stderr)
        return 1
    finally:
        set_min_distance(DEFAULT_MIN_DISTANCE)  # main() called again in one process starts afresh


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
