"""Frames of any trajectory ase reads, one at a time, so a long run never sits in memory.

Extended XYZ is indexed by byte offset (`sagpr.trajectory`) and read a chunk at a time; every
other format (ASE .traj, LAMMPS text dumps, VASP XDATCAR, ...) through ``ase.io.iread``. LAMMPS
dumps carry atom types, not elements: ``types=("Li", "Ti", "O")`` names type 1, 2, 3 (a dump with
an ``element`` column needs none). Atoms keep the order of the file (ase sorts dump atoms by id),
which is how sites are followed from frame to frame.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

from ase import Atoms

PathLike = Union[str, os.PathLike]

#: chunk of extended-XYZ frames parsed at once (memory stays a few frames' worth)
XYZ_CHUNK = 32


def trajectory_format(path: PathLike, format: Optional[str] = None) -> str:
    """The ase format name of `path` (given, or guessed from its name and content)."""
    from ase.io.formats import filetype

    path = Path(path)
    if format:
        return format
    if path.suffix.lower() in (".xyz", ".extxyz"):
        return "extxyz"
    if path.suffix.lower() in (".lammpstrj", ".dump"):
        return "lammps-dump-text"
    try:
        return filetype(str(path))
    except Exception as err:
        raise ValueError(f"{path}: cannot tell the trajectory format ({err}); give it (an ase format name)") from err


def iter_frames(path: PathLike, *, format: Optional[str] = None, types: Optional[Sequence[str]] = None,
                start: int = 0, stop: Optional[int] = None, step: int = 1) -> Iterator[Atoms]:
    """Frames start, start + step, ... (< stop) of the trajectory `path`, lazily.

    Each frame has ``info["source_file"]`` and ``info["source_frame"]`` (its index in the file).
    Errors name the file and the frame.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if start < 0 or step < 1 or (stop is not None and stop < 0):
        raise ValueError(f"{path}: frames need start >= 0, stop >= 0 and step >= 1 (got {start}, {stop}, {step})")
    fmt = trajectory_format(path, format)
    if fmt in ("extxyz", "xyz"):
        yield from _extxyz_frames(path, start, stop, step)
        return
    from ase.io import iread

    kwargs = {}
    if fmt.startswith("lammps-dump") and types:
        kwargs["specorder"] = list(types)
    k = start
    try:
        for atoms in iread(str(path), index=slice(start, stop, step), format=fmt, **kwargs):
            yield _tagged(atoms, path, k)
            k += step
    except (ValueError, FileNotFoundError) as err:
        if str(err).startswith(str(path)):
            raise
        raise ValueError(f"{path}: frame {k}: cannot read as {fmt}: {err}") from err
    except Exception as err:  # ase raises many kinds for malformed input
        raise ValueError(f"{path}: frame {k}: cannot read as {fmt}: {type(err).__name__}: {err}") from err


def _tagged(atoms: Atoms, path: Path, k: int) -> Atoms:
    atoms.info["source_file"] = str(path)
    atoms.info["source_frame"] = k
    return atoms


def _extxyz_frames(path: Path, start: int, stop: Optional[int], step: int) -> Iterator[Atoms]:
    from ..trajectory import index_frames, read_span

    index = index_frames(path)
    wanted = range(start, len(index) if stop is None else min(stop, len(index)), step)
    # read runs of consecutive frames in one parse; with step > 1 each wanted frame is its own span
    block = XYZ_CHUNK if step == 1 else 1
    for first in range(0, len(wanted), block):
        ks = wanted[first : first + block]
        frames = read_span(index.span(ks[0], ks[-1] + 1)) if step == 1 else read_span(index.span(ks[0], ks[0] + 1))
        for k, atoms in zip(ks, frames):
            yield _tagged(atoms, path, k)
