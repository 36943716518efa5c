"""The sites of one nucleus in a dataset: their EFG tensors, where they are, and their structures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np


@dataclass
class Sites:
    """All atoms of one element in `frames` with their EFGs (frame then atom order).

    index: (frame, atom) per site; V: (n, 3, 3) EFGs in `units`; groups: the frame index of every
    site (for split-by-structure); isotope: label used for C_Q and omega_Q.
    """

    frames: list
    species: str
    isotope: str
    units: str
    index: List[Tuple[int, int]]
    V: np.ndarray
    source: str = ""
    skipped: list = field(default_factory=list)  # files of input folders that were not read

    @property
    def groups(self) -> np.ndarray:
        return np.array([f for f, _ in self.index], dtype=int)

    def __len__(self) -> int:
        return len(self.index)

    def labels(self, idx: Optional[Sequence[int]] = None) -> List[str]:
        idx = range(len(self)) if idx is None else idx
        return [f"frame {self.index[i][0]}: atom {self.index[i][1]} ({self.species})" for i in idx]


def collect_sites(frames, species: str, *, isotope: Optional[str] = None, efg_key: str = "efg",
                  units: Optional[str] = None, source: str = "") -> Sites:
    """Sites of element `species` with their per-atom EFG atoms.arrays[efg_key] (N, 3, 3) or (N, 9).

    Units: `units`, else every frame's info["efg_units"] (which must agree), else "au".
    The tensors are checked (symmetric, traceless); errors name the frame and atom.
    """
    from ase.data import atomic_numbers

    from sagpr.frames import as_frame_list
    from sagpr.isotopes import get_isotope
    from sagpr.units import normalize_units
    from sagpr.tensors import check_efg

    frames = as_frame_list(frames)
    if species not in atomic_numbers:
        raise ValueError(f"unknown element {species!r}")
    z = atomic_numbers[species]
    frame_units = {f.info.get("efg_units") for f in frames} - {None}
    if units is None:
        if len(frame_units) > 1:
            raise ValueError(f"{source or 'dataset'}: frames disagree on efg_units: {sorted(frame_units)}; "
                             f"convert them to one with --units au or --units V/A^2 (units= in Python)")
        units = frame_units.pop() if frame_units else "au"
    units = normalize_units(units)
    index, tensors = [], []
    for i, atoms in enumerate(frames):
        mask = atoms.numbers == z
        if not mask.any():
            continue
        if efg_key not in atoms.arrays:
            raise ValueError(f"{source or 'dataset'}: frame {i} has no per-atom {efg_key!r} array")
        V = np.asarray(atoms.arrays[efg_key], dtype=np.float64).reshape(len(atoms), 3, 3)
        for a in np.flatnonzero(mask):
            index.append((i, int(a)))
            tensors.append(V[a])
    if not index:
        raise ValueError(f"{source or 'dataset'}: no {species} atoms in the {len(frames)} frame(s)")
    V = np.array(tensors)
    labels = [f"{source + ': ' if source else ''}frame {f}: atom {a} ({species})" for f, a in index]
    V = check_efg(V, labels=labels)
    iso = get_isotope(isotope if isotope is not None else species)
    if iso.element != species:
        raise ValueError(f"isotope {iso.label} is not an isotope of {species}")
    return Sites(frames, species, iso.label, units, index, V, source)
