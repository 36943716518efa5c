"""Writing EFG-labelled frames as extended XYZ (the format sagpr.io.read_efg reads)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

import numpy as np
from ase import Atoms

from ..atomic import atomic_path

__all__ = ["write_extxyz"]


def write_extxyz(frames: Union[Atoms, Iterable[Atoms]], path: Union[str, os.PathLike]) -> Path:
    """Write frames to ``path`` as extended XYZ, atomically (temp file in the same folder, then rename).

    A per-atom EFG ``arrays["efg"]`` of shape (N, 3, 3) is written as the 9-column array ``efg``
    (row-major); ``info`` (generator, parameters, reference method, ``efg_units``) goes on each
    frame's comment line. Readable by ``ase.io.read(path, ":")`` and ``sagpr.io.read_efg``.
    """
    import ase.io

    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    out = []
    for i, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise TypeError(f"frame {i}: expected ase.Atoms, got {type(atoms).__name__}")
        atoms = atoms.copy()
        if "efg" in atoms.arrays:
            efg = np.asarray(atoms.arrays.pop("efg"), dtype=np.float64)
            if efg.shape not in ((len(atoms), 3, 3), (len(atoms), 9)):
                raise ValueError(f"frame {i}: efg has shape {efg.shape}, expected ({len(atoms)}, 3, 3)")
            atoms.arrays["efg"] = efg.reshape(len(atoms), 9)
        out.append(atoms)
    path = Path(path)
    with atomic_path(path) as tmp:
        ase.io.write(tmp, out, format="extxyz")
    return path
