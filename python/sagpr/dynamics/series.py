"""Per-site time series written frame chunk by frame chunk, then packed into one compressed .npz.

`RawSeries` appends fixed-shape rows to a raw binary file (memory flat in the number of frames)
and maps the whole series back read-only (``numpy.memmap``) for the analysis. `write_npz` packs
arrays (memory-mapped or not) into a zip-deflated ``.npz`` a block at a time; ``numpy.load``
reads it as any ``np.savez_compressed`` file.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Mapping, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: bytes of an array packed per write into the zip (bounds memory, not the result)
_BLOCK_BYTES = 1 << 24


class RawSeries:
    """Rows of shape `row_shape` (one per frame) appended to the raw file `path`."""

    def __init__(self, path: PathLike, row_shape: Tuple[int, ...], dtype=np.float64):
        self.path = Path(path)
        self.row_shape = tuple(int(s) for s in row_shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self._handle = open(self.path, "wb")

    def append(self, rows) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"rows of shape {rows.shape[1:]} for a series of rows {self.row_shape}")
        self._handle.write(rows.tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    def array(self) -> np.ndarray:
        """The whole series (rows, *row_shape), memory-mapped read-only."""
        self.close()
        if self.rows == 0:
            return np.zeros((0, *self.row_shape), dtype=self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.rows, *self.row_shape))


def write_npz(path: PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """A compressed .npz of `arrays`, each written a block of rows at a time (see module doc)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, value in arrays.items():
            value = np.asanyarray(value)
            if value.dtype == object:
                raise ValueError(f"{name}: object arrays are not written (they would need pickle to read)")
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                header = np.lib.format.header_data_from_array_1_0(value)
                header["fortran_order"] = False
                np.lib.format.write_array_header_2_0(member, header)
                if value.ndim == 0 or value.size == 0:
                    member.write(np.ascontiguousarray(value).tobytes())
                    continue
                row_bytes = max(1, value[0].nbytes)
                step = max(1, _BLOCK_BYTES // row_bytes)
                for first in range(0, len(value), step):
                    member.write(np.ascontiguousarray(value[first : first + step]).tobytes())
    return path
