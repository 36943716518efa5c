"""Output paths of the commands, checked before any work is done (not a command itself)."""
from __future__ import annotations


def check_output_file(path):
    """Fail before any work when `path` cannot be written as a file."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name")
    for parent in path.parents:  # missing folders are made; one that is a file cannot be
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{path}: {parent} is a file, not a folder")
            break
    return path


def check_output_dir(path):
    """Fail before any work when `path` cannot be (or become) a folder: it is a file, or lies under one.
    An existing folder is fine (compare and optimize resume from the cache inside it)."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path}: is a file; give a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{path}: {parent} is a file, not a folder")
            break
    return path


def report_skipped(skipped) -> None:
    """Tell the user which files of their input folders were not read (never skip silently)."""
    import sys

    if skipped:
        names = ", ".join(str(p) for p in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        print(f"skipped {len(skipped)} file(s) of a kind sagpr does not read (.magres, .xyz, .extxyz, OUTCAR): "
              f"{names}", file=sys.stderr)
