"""Output paths of the commands, checked before any work is done (not a command itself)."""
from __future__ import annotations


def check_output_file(path):
    """Fail before any work when `path` cannot be written as a file."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{path}: folder {parent} does not exist")
    return path
