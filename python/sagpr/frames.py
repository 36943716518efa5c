"""Conversion of ase.Atoms to the plain arrays the C++ core takes, with clear errors."""
from __future__ import annotations

import re
from typing import Iterable, List, Sequence, Union

import numpy as np
from ase import Atoms

FrameInput = Union[Atoms, Iterable[Atoms]]


def as_frame_list(frames: FrameInput) -> List[Atoms]:
    """A single ase.Atoms or an iterable of them, as a list."""
    if isinstance(frames, Atoms):
        return [frames]
    frames = list(frames)
    for i, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise TypeError(f"frame {i}: expected ase.Atoms, got {type(atoms).__name__}")
    return frames


def frame_arrays(atoms: Atoms, index: int = 0):
    """(positions, numbers, cell, pbc) of one frame, checked; errors name the frame and atom."""
    positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        raise ValueError(
            f"frame {index}: atom {bad[0]} ({atoms.get_chemical_symbols()[bad[0]]}) has a non-finite position"
        )
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
    pbc = [bool(p) for p in atoms.pbc]
    if any(pbc):
        periodic = cell[np.array(pbc)]
        gram = periodic @ periodic.T
        scale = np.prod(np.linalg.norm(periodic, axis=1)) ** 2
        if scale == 0.0 or np.linalg.det(gram) <= 1e-20 * scale:
            raise ValueError(f"frame {index}: the cell has zero volume in a periodic direction (pbc={pbc})")
    numbers = np.ascontiguousarray(atoms.numbers, dtype=np.int32)
    return positions, numbers, cell, pbc


def species_numbers(species: Sequence[Union[int, str]]) -> List[int]:
    """Atomic numbers of a list of element symbols or numbers, sorted and unique."""
    from ase.data import atomic_numbers

    out = set()
    for s in species:
        if isinstance(s, str):
            if s not in atomic_numbers:
                raise ValueError(f"unknown element symbol {s!r}")
            out.add(atomic_numbers[s])
        else:
            z = int(s)
            if not 0 < z < 119:
                raise ValueError(f"invalid atomic number {s!r}")
            out.add(z)
    return sorted(out)


FRAME_PREFIX = re.compile(r"^frame (\d+): ")


def renumber_frame_error(err: Exception, first_index: int, n_frames: int, numbers=None) -> Exception:
    """The same exception with its "frame k: " prefix counted from `first_index` (for chunked work).

    sagpr's errors start with "frame k: " counted within the frames passed; when those frames are
    a chunk of a longer input, the user needs the position in the whole input. `numbers`, if
    given, are the input positions of the chunk's frames (for chunks that skip frames).
    """
    message = str(err)
    match = FRAME_PREFIX.match(message)
    if numbers is not None:
        numbers = list(numbers)
        if match and int(match.group(1)) < len(numbers):
            message = f"frame {numbers[int(match.group(1))]}: " + message[match.end():]
        else:
            message = f"frames {numbers[0]}-{numbers[-1]}: {message}"
    elif match:
        message = f"frame {first_index + int(match.group(1))}: " + message[match.end():]
    else:
        message = f"frames {first_index}-{first_index + n_frames - 1}: {message}"
    try:
        new = type(err)(message)
    except Exception:  # exception types whose constructor takes other arguments
        new = RuntimeError(message)
    new.__cause__ = err
    return new
