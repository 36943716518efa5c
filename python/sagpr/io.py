"""Reading and writing structures with per-atom EFG tensors.

In memory every frame is an ase.Atoms with ``atoms.arrays["efg"]`` of shape (N, 3, 3) (float64)
and ``atoms.info["efg_units"]``, either "au" (Hartree/(e bohr^2), as CASTEP writes) or "V/A^2".
On disk: CASTEP .magres (one structure, EFG always in au) or extended XYZ, where the tensors are a
9-column per-atom property ``efg`` (row-major V_xx, V_xy, V_xz, V_yx, ...) and the units a
frame-level ``efg_units`` entry.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from ase import Atoms

from .atomic import atomic_path
from .frames import as_frame_list
from .qe import is_qe_magres, normalise_qe_magres
from .tensors import remove_print_rounding
from .units import convert_efg, normalize_units
from .vasp import is_outcar, read_outcar_efg

__all__ = ["read_efg", "write_efg", "check_text_file", "expand_inputs", "is_input_file", "iread_structures"]

#: the files a folder given as input contributes (anything else is listed as skipped)
INPUT_SUFFIXES = (".magres", ".xyz", ".extxyz")

PathLike = Union[str, os.PathLike]
_FORMATS = {".magres": "magres", ".xyz": "extxyz", ".extxyz": "extxyz"}


def _format(path: Path, format: Optional[str]) -> str:
    if format is not None:
        fmt = format.lower()
        if fmt == "xyz":
            fmt = "extxyz"
        if fmt not in ("magres", "extxyz"):
            raise ValueError(f"{path}: unsupported EFG file format {format!r}; use 'extxyz' or 'magres'")
        return fmt
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: cannot tell the file format from the extension {path.suffix!r}; "
            f"pass format='extxyz' or format='magres'"
        )
    return fmt


def is_input_file(path: PathLike) -> bool:
    """Whether a file found in an input folder is one sagpr reads (.magres, extended XYZ, OUTCAR)."""
    path = Path(path)
    return path.suffix.lower() in INPUT_SUFFIXES or is_outcar(path)


def expand_inputs(patterns: Sequence[PathLike]) -> "tuple[List[Path], List[Path]]":
    """(files, skipped): the files named by `patterns` (files, folders or globs, in the given order,
    each folder and glob sorted), and the files of those folders that are not of a kind sagpr reads.

    A pattern that matches nothing is an error naming it.
    """
    import glob

    files: List[Path] = []
    skipped: List[Path] = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            members = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
            matches = [q for q in members if is_input_file(q)]
            skipped.extend(q for q in members if not is_input_file(q))
            if not matches:
                raise FileNotFoundError(f"{pattern}: no .magres, .xyz, .extxyz or OUTCAR files in this folder")
        elif any(c in str(pattern) for c in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(str(pattern)))]
            if not matches:
                raise FileNotFoundError(f"{pattern}: no files match")
        else:
            if not p.exists():
                raise FileNotFoundError(f"{pattern}: no such file")
            matches = [p]
        files.extend(matches)
    return files, skipped


def check_text_file(path: PathLike, probe: int = 1 << 20) -> None:
    """Fail with "not a text file" when the start of `path` holds NUL bytes or is not UTF-8."""
    with open(path, "rb") as f:
        head = f.read(probe)
    nul = head.find(b"\0")
    if nul >= 0:
        raise ValueError(f"{path}: not a text file (byte {nul} is NUL)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4 or len(head) < probe:  # not just a character cut by the probe's end
            raise ValueError(f"{path}: not a text file (byte {err.start} is not UTF-8 text)") from None


_MAGRES_BLOCK = re.compile(r"^\s*[\[<](/?)(\w+)[\]>]\s*$", re.M)
_EFG_LINE = re.compile(r"^\s*efg\s+\S+\s+\d+((?:\s+\S+){9})\s*$", re.M)


def _read_magres(path: Path) -> Atoms:
    """One frame from a magres file (CASTEP, or QE-GIPAW's layout), with its print rounding removed."""
    from ase.io import read

    check_text_file(path)
    text = path.read_text()
    open_blocks = []
    for m in _MAGRES_BLOCK.finditer(text):
        if m.group(1):
            if open_blocks and open_blocks[-1] == m.group(2):
                open_blocks.pop()
        else:
            open_blocks.append(m.group(2))
    if open_blocks:
        raise ValueError(f"{path}: the file ends inside the [{open_blocks[-1]}] block (cut short?)")
    if is_qe_magres(text):
        text = normalise_qe_magres(text)
    try:
        atoms = read(io.StringIO(text), format="magres")
    except Exception as err:  # ase raises many kinds for malformed input
        raise ValueError(f"{path}: cannot read as magres: {type(err).__name__}: {err}") from err
    values = " ".join(m.group(1) for m in _EFG_LINE.finditer(text)).split()
    fixed = values and not any(c in v for v in values for c in "eEdD")
    decimals = {len(v.partition(".")[2]) for v in values}
    if fixed and len(decimals) == 1 and min(decimals) <= 6:
        # A fixed format with few decimals (QE-GIPAW: F12.4) is symmetric and traceless only to its rounding.
        atoms.info["efg_print_precision"] = 0.5 * 10.0 ** -min(decimals)
    return atoms


def _remove_rounding(atoms: Atoms, efg: np.ndarray, where: str, units: str) -> np.ndarray:
    half_step = atoms.info.pop("efg_print_precision", None)
    if half_step is None:
        return efg
    efg, correction = remove_print_rounding(efg, half_step, where, units)
    atoms.info["efg_rounding_correction"] = correction
    return efg


def _efg_array(atoms: Atoms, where: str) -> np.ndarray:
    if "efg" not in atoms.arrays:
        have = ", ".join(sorted(k for k in atoms.arrays if k not in ("numbers", "positions"))) or "none"
        raise ValueError(f"{where}: no per-atom 'efg' array (per-atom arrays present: {have})")
    raw = atoms.arrays["efg"]
    if raw.dtype == object:  # ase leaves None for atoms the magres file gives no tensor
        missing = [i for i, v in enumerate(raw) if v is None]
        if missing:
            symbols = atoms.get_chemical_symbols()
            named = ", ".join(f"{i} ({symbols[i]})" for i in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(f"{where}: {len(missing)} of {len(atoms)} atoms have no EFG tensor: atom {named}{more}")
        raw = np.array([np.asarray(v, dtype=np.float64) for v in raw])
    try:
        efg = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: the 'efg' array is not numeric ({err})") from None
    n = len(atoms)
    if efg.shape == (n, 9):
        efg = efg.reshape(n, 3, 3)
    if efg.shape != (n, 3, 3):
        raise ValueError(f"{where}: the 'efg' array has shape {efg.shape}; expected ({n}, 9) or ({n}, 3, 3)")
    bad = np.flatnonzero(~np.isfinite(efg).all(axis=(1, 2)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{where}: atom {i} ({atoms.get_chemical_symbols()[i]}) has a non-finite EFG tensor")
    return np.ascontiguousarray(efg)


def read_efg(
    path: PathLike,
    index: Union[int, str, slice] = ":",
    *,
    format: Optional[str] = None,
    units: Optional[str] = None,
    default_units: Optional[str] = None,
) -> List[Atoms]:
    """Frames (list of ase.Atoms) with per-atom EFG tensors from a .magres or extended XYZ file.

    Each frame gets ``arrays["efg"]`` (N, 3, 3) and ``info["efg_units"]`` ("au" or "V/A^2") as the
    file states them (magres "units efg au"; extxyz frame key efg_units). A file that does not state
    units is taken to be in ``default_units``; without it, "au" is assumed with a warning. ``units`` converts every frame to
    the given units. Errors name the file and frame.
    """
    from ase.io import read

    path = Path(path)
    if format is None and is_outcar(path) or (format or "").lower() in ("outcar", "vasp-out"):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        frames = read_outcar_efg(path)
        if units is not None:
            frames[0].arrays["efg"] = convert_efg(frames[0].arrays["efg"], "V/A^2", normalize_units(units))
            frames[0].info["efg_units"] = normalize_units(units)
        return frames
    fmt = _format(path, format)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    target = normalize_units(units) if units is not None else None
    fallback = normalize_units(default_units) if default_units is not None else None
    if fmt == "magres":
        frames = _read_magres(path)
    else:
        check_text_file(path)
        try:
            frames = read(path, index=index, format=fmt)
        except Exception as err:  # ase raises many kinds for malformed input
            raise ValueError(f"{path}: cannot read as {fmt}: {type(err).__name__}: {err}") from err
    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    if not frames:
        raise ValueError(f"{path}: no structures found")
    out = []
    for i, atoms in enumerate(frames):
        where = f"{path}: frame {i}"
        efg = _efg_array(atoms, where)
        if fmt == "magres":
            stated = (atoms.info.get("magres_units") or {}).get("efg")
        else:
            stated = atoms.info.get("efg_units")
        if stated is None:
            if fallback is None:
                warnings.warn(f"{where}: EFG units not stated, assuming 'au' (pass default_units=...)", stacklevel=2)
            file_units = fallback or "au"
        else:
            try:
                file_units = normalize_units(str(stated))
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        efg = _remove_rounding(atoms, efg, where, file_units)
        if target is not None and target != file_units:
            efg = convert_efg(efg, file_units, target)
            file_units = target
        atoms.arrays["efg"] = efg
        atoms.info["efg_units"] = file_units
        out.append(atoms)
    return out


def _tag(atoms: Atoms, path: Path, k: int) -> Atoms:
    atoms.info["source_file"] = str(path)
    atoms.info["source_frame"] = k
    return atoms


def iread_structures(path: PathLike) -> Iterator[Atoms]:
    """Every frame of a structure file (any format ase reads; .magres and OUTCAR as `read_efg` reads
    them), one at a time, each with ``info["source_file"]`` and ``info["source_frame"]``.

    An EFG the file holds is kept (``arrays["efg"]`` (N, 3, 3), ``info["efg_units"]``) as the
    reference of a prediction; a file without one is read as structures only.
    """
    from ase.io import iread

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in _FORMATS or is_outcar(path):
        check_text_file(path)
    if suffix == ".magres":
        atoms = _read_magres(path)
        if "efg" in atoms.arrays:
            where = f"{path}: frame 0"
            atoms.arrays["efg"] = _remove_rounding(atoms, _efg_array(atoms, where), where, "au")
            atoms.info["efg_units"] = "au"
        yield _tag(atoms, path, 0)
        return
    if is_outcar(path) and "Electric field gradients" in path.read_text():
        yield _tag(read_outcar_efg(path)[0], path, 0)
        return
    fmt = "vasp-out" if is_outcar(path) else ("extxyz" if suffix in (".xyz", ".extxyz") else None)
    k = 0
    try:
        for atoms in iread(path, index=":", format=fmt):
            if "efg" in atoms.arrays:
                atoms.arrays["efg"] = _efg_array(atoms, f"{path}: frame {k}")
            yield _tag(atoms, path, k)
            k += 1
    except ValueError as err:
        if str(err).startswith(str(path)):
            raise
        raise ValueError(f"{path}: frame {k}: cannot read: {err}") from err
    except Exception as err:  # ase raises many kinds for malformed input
        raise ValueError(f"{path}: frame {k}: cannot read: {type(err).__name__}: {err}") from err
    if k == 0:
        raise ValueError(f"{path}: no structures found")


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def write_efg(
    path: PathLike,
    frames: Union[Atoms, Sequence[Atoms]],
    *,
    format: Optional[str] = None,
    units: Optional[str] = None,
) -> None:
    """Write frames with ``arrays["efg"]`` (N, 3, 3) to extended XYZ or .magres, atomically.

    Format from the extension (.xyz/.extxyz, .magres) or ``format``. Frame units come from
    ``info["efg_units"]`` ("au" if absent). extxyz: written in ``units`` (default: each frame's own)
    with ``efg_units`` recorded; other numeric per-atom arrays of at most 2 dimensions and scalar
    or string info entries are kept (ase writes floats with 8 decimals). magres: one frame only, always in au (converted), readable by
    MagresView and soprano.
    """
    from ase.io import write

    path = Path(path)
    fmt = _format(path, format)
    frames = as_frame_list(frames)
    if not frames:
        raise ValueError(f"{path}: no frames to write")
    target = normalize_units(units) if units is not None else None
    if fmt == "magres":
        if len(frames) != 1:
            raise ValueError(f"{path}: a .magres file holds one structure, got {len(frames)} frames; write one file each")
        if target not in (None, "au"):
            raise ValueError(f"{path}: .magres files store EFG in atomic units, not {units!r}")
        target = "au"
    out = []
    for i, atoms in enumerate(frames):
        where = f"{path}: frame {i}"
        efg = _efg_array(atoms, where)
        try:
            own = normalize_units(atoms.info.get("efg_units", "au"))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        unit = target or own
        efg = convert_efg(efg, own, unit)
        copy = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        if fmt == "magres" and atoms.pbc.any() and not atoms.pbc.all():
            # magres has a lattice (3D-periodic) or none (a molecule): a slab would read back as another system
            raise ValueError(f"{where}: a .magres file holds a 3D-periodic crystal or a molecule, not "
                             f"pbc={tuple(bool(p) for p in atoms.pbc)}; write extended XYZ, or make the cell "
                             f"periodic in all three directions")
        if fmt == "magres":
            for key in ("labels", "indices"):
                if key in atoms.arrays:
                    copy.arrays[key] = atoms.arrays[key].copy()
            if "labels" in copy.arrays and "indices" not in copy.arrays:
                labels = list(copy.arrays["labels"])
                copy.arrays["indices"] = np.array([labels[: j + 1].count(lab) for j, lab in enumerate(labels)])
            copy.arrays["efg"] = efg
            copy.info["magres_units"] = {"efg": "au"}
        else:
            for key, value in atoms.arrays.items():
                if key not in ("numbers", "positions", "efg") and value.ndim <= 2 and value.dtype != object:
                    copy.arrays[key] = value.copy()
            for key, value in atoms.info.items():
                if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
                    copy.info[key] = value
            copy.arrays["efg"] = efg.reshape(len(copy), 9)
            copy.info["efg_units"] = unit
        out.append(copy)
    _atomic_write(path, lambda tmp: write(tmp, out if fmt == "extxyz" else out[0], format=fmt))
