"""Atomic file output: write to a temporary file beside the target, then rename over it."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


@contextmanager
def atomic_path(path: PathLike, suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary path in the target's folder; on success it replaces `path`.

    Readers never see a half-written file and an existing file survives a failed write. The
    result gets the usual permissions (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def check_parents(path: PathLike) -> Path:
    """Fail when a folder `path` needs is a file (missing folders are made when writing)."""
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{path}: {parent} is a file, not a folder")
            break
    return path


def check_output_folder(path: PathLike, *, overwrite: bool = False) -> Path:
    """Fail before any work when `path` cannot become a folder of one run's output files
    (overwrite=True: an existing folder may keep its content, e.g. a cache to resume from)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path}: is a file, not a folder")
    check_parents(path)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ValueError(f"{path}: folder is not empty; give --overwrite to replace it whole (runs are never mixed)")
    return path


@contextmanager
def atomic_directory(path: PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a new empty folder beside `path`; on success it replaces `path` whole.

    The folder holds one whole run or stays as it was: an error or Ctrl-C leaves `path` untouched,
    and a second run never leaves files of the first beside its own. A non-empty `path` needs
    ``overwrite=True``.
    """
    path = check_output_folder(path, overwrite=overwrite)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp"))
    old = None
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
