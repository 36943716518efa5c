"""Random access to the frames of an extended-XYZ file through an index of their byte offsets.

One streaming pass finds where every frame starts (`index_frames`); any range of frames is then
read by seeking straight to it (`read_frames`, `read_span`). A `FrameSpan` is a small picklable
description of a range (path and a few offsets), so a Dask worker can read its own frames from a
shared file instead of receiving them from the client.
"""
from __future__ import annotations

import io
import os
from array import array
from collections import deque
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import List, Union

import numpy as np
from ase import Atoms

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class FrameSpan:
    """Frames [first, first + len(natoms)) of `path`: all a reader needs, nothing more."""

    path: str
    first: int
    offsets: np.ndarray  # (m + 1,) byte offset of each frame's count line; the last is the end of the range
    natoms: np.ndarray  # (m,)
    lines: np.ndarray  # (m,) 1-based line number of each frame's count line, for error messages

    def __len__(self) -> int:
        return len(self.natoms)


@dataclass(frozen=True)
class FrameIndex:
    """Where each frame of an extended-XYZ file starts. Build it with `index_frames`."""

    path: str  # absolute, so workers with another working directory find the same file
    offsets: np.ndarray  # (n + 1,) int64; offsets[n] is the end of the last frame
    natoms: np.ndarray  # (n,) int64
    lines: np.ndarray  # (n,) int64, 1-based

    def __len__(self) -> int:
        return len(self.natoms)

    def span(self, start: int, stop: int) -> FrameSpan:
        """The frames [start, stop) (Python slice bounds, clipped to the file)."""
        start, stop, _ = slice(start, stop).indices(len(self))
        stop = max(start, stop)
        return FrameSpan(self.path, start, self.offsets[start : stop + 1].copy(), self.natoms[start:stop].copy(),
                         self.lines[start:stop].copy())

    def spans(self, size: int):
        """Consecutive spans of at most `size` frames covering the file."""
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, got {size}")
        for start in range(0, len(self), size):
            yield self.span(start, start + size)


def require_extxyz(path: PathLike) -> None:
    """Raise a clear error unless `path` is an uncompressed (extended) XYZ file."""
    from ase.io.formats import filetype, get_compression

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    _, compression = get_compression(str(path))
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file, no frames to read")
    if compression is not None:
        raise ValueError(f"{path}: reading frames by index range needs an uncompressed extended XYZ file "
                         f"(this one is {compression}-compressed)")
    try:
        kind = filetype(str(path))
    except Exception as err:
        raise ValueError(f"{path}: reading frames by index range needs an extended XYZ file ({err})") from err
    if kind not in ("extxyz", "xyz"):
        raise ValueError(f"{path}: reading frames by index range needs an extended XYZ file, not {kind}")


def index_frames(path: PathLike, *, progress: bool = False) -> FrameIndex:
    """Byte offsets of every frame of the extended-XYZ file `path`, in one streaming pass.

    A frame is an atom-count line, a comment line, that many atom lines and (as ase allows) up to
    three ``VEC`` lines. Trailing blank lines end the file, as in ase. Errors name the file, the
    frame and the line: a count that is not a non-negative integer, a truncated last frame, text
    after a blank line (where ase would silently stop reading).
    """
    require_extxyz(path)
    from .io import check_text_file

    check_text_file(path)  # binary garbage is "not a text file", not a count line made of bytes
    path = os.path.abspath(path)
    offsets, natoms, lines = array("q"), array("q"), array("q")
    line_no = 0  # lines read so far
    end = 0  # end of the last complete frame
    bar = None
    with open(path, "rb") as f:
        if progress:
            from .progress import progress_bar

            bar = progress_bar(total=os.fstat(f.fileno()).st_size, desc="indexing", unit="B", unit_scale=True)
        try:
            while True:
                head = f.readline()
                if not head:
                    break
                line_no += 1
                frame = len(natoms)
                if not head.strip():
                    for extra in f:
                        line_no += 1
                        if extra.strip():
                            raise ValueError(f"{path}: line {line_no}: text after a blank line where frame {frame}'s "
                                             "atom count was expected (ase would stop reading at the blank line)")
                    break
                try:
                    n = int(head)
                except ValueError:
                    raise ValueError(f"{path}: frame {frame} (line {line_no}): expected the number of atoms, got {_shown(head)}") from None
                if n < 0:
                    raise ValueError(f"{path}: frame {frame} (line {line_no}): negative number of atoms {n}")
                if not f.readline():
                    raise ValueError(f"{path}: frame {frame} (line {line_no}): the file ends after the atom count (no comment line): truncated")
                if n:
                    # skip the atom lines at C speed; the last one must exist or the frame is cut short
                    deque(islice(f, n - 1), maxlen=0)
                    if not f.readline():
                        raise ValueError(f"{path}: frame {frame} (line {line_no}): the file ends before the frame's {n} atom lines: truncated")
                nvec = 0
                while nvec < 3:  # ase's pseudo-cell lines belong to the frame before them
                    here = f.tell()
                    if not f.readline().lstrip().startswith(b"VEC"):
                        f.seek(here)
                        break
                    nvec += 1
                offsets.append(end)
                natoms.append(n)
                lines.append(line_no)
                line_no += 1 + n + nvec
                end = f.tell()
                if bar is not None and frame % 1024 == 0:
                    bar.update(end - bar.n)
        finally:
            if bar is not None:
                bar.update(f.tell() - bar.n)
                bar.close()
    offsets.append(end)
    return FrameIndex(path, _int64(offsets), _int64(natoms), _int64(lines))


def _int64(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64).copy()


def _shown(line: bytes) -> str:
    text = line.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _parse(data: bytes) -> List[Atoms]:
    from ase.io import read

    # TextIOWrapper decodes like open(path) in ase.io.read: locale encoding, universal newlines.
    return read(io.TextIOWrapper(io.BytesIO(data)), index=":", format="extxyz")


def read_span(span: FrameSpan) -> List[Atoms]:
    """The frames of `span`, read straight from its file; equal to ase.io.read(path, ":")[range]."""
    m = len(span)
    if m == 0:
        return []
    base = int(span.offsets[0])
    size = int(span.offsets[-1]) - base
    with open(span.path, "rb") as f:
        f.seek(base)
        data = f.read(size)
    last = span.first + m - 1
    if len(data) != size:
        raise ValueError(f"{span.path}: frames {span.first}-{last}: the file is shorter than when it was indexed "
                         "(was it changed?)")
    try:
        frames = _parse(data)
    except Exception:
        frames = None  # find the frame at fault below
    if frames is None or len(frames) != m or any(len(a) != n for a, n in zip(frames, span.natoms)):
        for i in range(m):
            where = f"{span.path}: frame {span.first + i} (line {span.lines[i]})"
            piece = data[int(span.offsets[i]) - base : int(span.offsets[i + 1]) - base]
            try:
                got = _parse(piece)
            except Exception as err:
                raise ValueError(f"{where}: cannot parse: {err}") from err
            if len(got) != 1 or len(got[0]) != span.natoms[i]:
                raise ValueError(f"{where}: does not match the index ({span.natoms[i]} atoms): was the file changed?")
        raise ValueError(f"{span.path}: frames {span.first}-{last}: cannot parse")  # pragma: no cover
    return frames


def read_frames(index: FrameIndex, start: int = 0, stop: int = None) -> List[Atoms]:
    """Frames [start, stop) of the indexed file (stop=None: to the end)."""
    return read_span(index.span(start, len(index) if stop is None else stop))
