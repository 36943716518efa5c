"""Output paths of the commands, checked before any work is done (not a command itself)."""
from __future__ import annotations


def check_output_file(path):
    """Fail before any work when `path` cannot be written as a file."""
    from pathlib import Path

    from sagpr.atomic import check_parents

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name")
    return check_parents(path)


def check_output_dir(path):
    """Fail before any work when `path` cannot be (or become) a folder: it is a file, or lies under one.
    An existing folder is fine (compare and optimize resume from the cache inside it)."""
    from sagpr.atomic import check_output_folder

    return check_output_folder(path, overwrite=True)


def report_skipped(skipped) -> None:
    """Tell the user which files of their input folders were not read (never skip silently)."""
    import sys

    if skipped:
        names = ", ".join(str(p) for p in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        print(f"skipped {len(skipped)} file(s) of a kind sagpr does not read (.magres, .xyz, .extxyz, OUTCAR): "
              f"{names}", file=sys.stderr)
