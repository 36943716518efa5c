"""EFG tensors from VASP: the OUTCAR of a run with LEFG = .TRUE.

VASP prints the EFG of every ion once, after the last electronic step, as

     Electric field gradients (V/A^2)
    ---------------------------------------------------------------------
     ion       V_xx      V_yy      V_zz      V_xy      V_xz      V_yz
    ---------------------------------------------------------------------
       1      0.123    -0.456     0.333     0.010     0.000    -0.020

in V/A^2 with three decimals. The structure comes from ase's OUTCAR reader (the last ionic step).
Rounded to 0.0005 V/A^2, a small tensor (7Li: ~0.1-1 V/A^2) is not traceless to the relative
tolerance sagpr checks EFGs with: the trace left by rounding (at most 3 x 0.0005) is projected
out, and a trace beyond the print precision is an error naming the file and atom.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List

import numpy as np

from .tensors import remove_print_rounding

#: half the last printed digit of VASP's EFG table (V/A^2)
PRINT_PRECISION = 0.0005

_HEADER = re.compile(r"Electric field gradients \(V/A\^2\)\s*\n\s*-+\s*\n\s*ion\s+V_xx\s+V_yy\s+V_zz\s+V_xy\s+V_xz\s+V_yz"
                     r"\s*\n\s*-+\s*\n")
_ROW = re.compile(r"\s*(\d+)" + r"\s+(-?\d+\.\d*(?:[eE][-+]?\d+)?)" * 6 + r"\s*$")


def is_outcar(path) -> bool:
    """Whether `path` is named like a VASP OUTCAR (OUTCAR, OUTCAR.relax, run.OUTCAR, ...)."""
    return "OUTCAR" in Path(path).name


def parse_efg_table(text: str, where: str) -> np.ndarray:
    """The (N, 3, 3) EFGs (V/A^2) of the last EFG table in OUTCAR text."""
    matches = list(_HEADER.finditer(text))
    if not matches:
        raise ValueError(f"{where}: no 'Electric field gradients (V/A^2)' table (was the run made with LEFG = .TRUE.?)")
    rows = []
    for line in text[matches[-1].end():].splitlines():
        m = _ROW.match(line)
        if not m:
            break
        if int(m.group(1)) != len(rows) + 1:
            raise ValueError(f"{where}: EFG table: ion {m.group(1)} where ion {len(rows) + 1} was expected")
        rows.append([float(v) for v in m.groups()[1:]])
    if not rows:
        raise ValueError(f"{where}: the EFG table has no rows (file cut short?)")
    xx, yy, zz, xy, xz, yz = np.asarray(rows).T
    return np.stack([np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1), np.stack([xz, yz, zz], -1)], axis=1)


def read_outcar_efg(path) -> List:
    """[ase.Atoms] (one frame: the last ionic step) with arrays["efg"] (N, 3, 3) in V/A^2."""
    from ase.io import read

    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    V, correction = remove_print_rounding(parse_efg_table(text, str(path)), PRINT_PRECISION, str(path), "V/A^2")
    try:
        atoms = read(path, format="vasp-out", index=-1)
    except Exception as err:  # ase raises many kinds for malformed input
        raise ValueError(f"{path}: cannot read the structure as a VASP OUTCAR: {type(err).__name__}: {err}") from err
    if len(atoms) != len(V):
        raise ValueError(f"{path}: {len(V)} EFGs for {len(atoms)} atoms")
    atoms.arrays["efg"] = V
    atoms.info["efg_units"] = "V/A^2"
    atoms.info["efg_source"] = "VASP OUTCAR (LEFG), 3 decimals"
    atoms.info["efg_rounding_correction"] = correction
    return [atoms]
