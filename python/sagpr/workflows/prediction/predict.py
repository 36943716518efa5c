"""Streaming prediction of per-atom EFG tensors and their NMR observables, frame chunk by chunk."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from ase import Atoms

from ...atomic import atomic_path
from ...frames import renumber_frame_error
from ...distributed import chunked, map_file_ranges, map_frames
from ...nmr import observables
from ...units import normalize_units

OBSERVABLES = ("cq", "eta", "omega_q", "theta", "phi")  # MHz, -, kHz, degrees, degrees


def annotate(frames, tensors: np.ndarray, center_numbers, units: str, *, isotopes=None, b0=(0.0, 0.0, 1.0)):
    """Copies of `frames` with the predicted tensors and their observables as per-atom arrays.

    ``efg`` (N, 9; zero for atoms not predicted), ``predicted`` (bool) and ``cq`` (MHz), ``eta``,
    ``omega_q`` (kHz), ``theta``, ``phi`` (degrees; field b0 in the principal axis system), NaN
    for atoms not predicted. An ``efg`` array already present (a reference) is kept as
    ``efg_reference``. `isotopes` maps element symbols to isotope labels (default isotopes otherwise).
    """
    isotopes = dict(isotopes or {})
    out, start = [], 0
    for atoms in frames:
        mask = np.isin(atoms.numbers, list(center_numbers))
        n = int(mask.sum())
        copy = atoms.copy()
        if "efg" in copy.arrays:
            copy.arrays["efg_reference"] = np.asarray(copy.arrays.pop("efg"), dtype=float).reshape(len(copy), 9)
        efg = np.zeros((len(copy), 3, 3))
        efg[mask] = tensors[start : start + n]
        start += n
        copy.arrays["efg"] = efg.reshape(len(copy), 9)
        copy.arrays["predicted"] = mask
        symbols = np.array(copy.get_chemical_symbols())[mask]
        obs = observables(efg[mask], [isotopes.get(s, s) for s in symbols], b0=b0, units=units) if n else None
        for key in OBSERVABLES:
            column = np.full(len(copy), np.nan)
            if n:
                column[mask] = obs[key]
            copy.arrays[key] = column
        copy.info["efg_units"] = units
        out.append(copy)
    if start != len(tensors):
        raise ValueError(f"{len(tensors)} predicted tensors for {start} centre atoms")
    return out


def _annotated_prediction(model, frames, *, units, isotopes, b0):
    tensors = model.predict(frames)
    return annotate(frames, tensors, model.center_species_, units, isotopes=isotopes, b0=b0)


def predict_stream(model, frames, *, chunk_size: int = 16, isotopes=None, b0=(0.0, 0.0, 1.0), client=None,
                   shared_file: bool = False) -> Iterator[Atoms]:
    """Yield annotated frames (see `annotate`) for any number of input frames.

    Frames are read and predicted `chunk_size` at a time, so memory does not grow with the
    number of frames; with a Dask ``client`` the chunks run on the cluster, results in input
    order. With ``shared_file=True`` (needs ``client``), `frames` is the path of an extended-XYZ
    file on a filesystem the workers share (or its `sagpr.trajectory.FrameIndex`): the client
    sends only frame ranges and each worker reads its own frames. Errors name the frame's
    position in the whole input.
    """
    units = normalize_units(getattr(model, "units_", None) or "au")
    work = partial(_annotated_prediction, units=units, isotopes=dict(isotopes or {}), b0=tuple(b0))
    if shared_file:
        if client is None:
            raise ValueError("shared_file=True needs a Dask client: workers read the file themselves")
        for annotated in map_file_ranges(work, model, frames, client=client, chunk_size=chunk_size):
            yield from annotated
        return
    if client is not None:
        for annotated in map_frames(work, model, frames, client=client, chunk_size=chunk_size):
            yield from annotated
        return
    first = 0
    for chunk in chunked(frames, chunk_size):
        try:
            annotated = work(model, chunk)
        except ValueError as err:
            raise renumber_frame_error(err, first, len(chunk)) from err
        first += len(chunk)
        yield from annotated


def predict_file(model, source, out: Path, *, magres_dir: Optional[Path] = None,
                 chunk_size: int = 16, isotopes=None, progress: bool = True, total: Optional[int] = None,
                 client=None, shared_file: bool = False) -> int:
    """Stream predictions of `source` (frames) into the extended-XYZ file `out` (and .magres files).

    With ``shared_file=True`` and a Dask ``client``, `source` is the path of an extended-XYZ file
    the workers read themselves (see `predict_stream`). The XYZ file is written to a temporary
    file beside `out` and renamed when complete, so an interrupted run leaves no half-written
    output. Returns the number of frames written.
    """
    from ase.io import write

    from ...io import write_efg

    if shared_file:
        if client is None:
            raise ValueError("shared_file=True needs a Dask client: workers read the file themselves")
        from ...trajectory import FrameIndex, index_frames

        if not isinstance(source, FrameIndex):
            source = index_frames(source, progress=progress)
        total = len(source) if total is None else total
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if magres_dir is not None:
        Path(magres_dir).mkdir(parents=True, exist_ok=True)
    count = 0
    with atomic_path(out) as tmp:
        with open(tmp, "w") as handle:
            stream = predict_stream(model, source, chunk_size=chunk_size, isotopes=isotopes, client=client,
                                    shared_file=shared_file)
            stream = progress_bar(stream, enabled=progress, total=total, desc="predicting", unit="frame")
            for atoms in stream:
                write(handle, atoms, format="extxyz")
                if magres_dir is not None:
                    # Other species carry a zero tensor: .magres files hold one per atom.
                    mag = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
                    mag.arrays["efg"] = atoms.arrays["efg"].reshape(len(atoms), 3, 3)
                    mag.info["efg_units"] = atoms.info["efg_units"]
                    write_efg(Path(magres_dir) / f"frame_{count:06d}.magres", mag)
                count += 1
    return count
