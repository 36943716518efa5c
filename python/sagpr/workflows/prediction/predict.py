"""Streaming prediction of per-atom EFG tensors and their NMR observables, frame chunk by chunk."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
from ase import Atoms

from ...atomic import atomic_path
from ...frames import FRAME_PREFIX, renumber_frame_error
from ...distributed import chunked, map_file_ranges, map_frames
from ...nmr import observables
from ...progress import progress_bar
from ...units import convert_efg, normalize_units

OBSERVABLES = ("cq", "eta", "omega_q", "theta", "phi")  # MHz, -, kHz, degrees, degrees


#: observables that get error-bar columns with uncertainty=True (name_std, name_low95, ...)
UNCERTAIN = ("cq", "eta", "theta", "phi", "omega_q")


def annotate(frames, tensors: np.ndarray, center_numbers, units: str, *, isotopes=None, b0=(0.0, 0.0, 1.0),
             uncertainty=None):
    """Copies of `frames` with the predicted tensors and their observables as per-atom arrays.

    ``efg`` (N, 9; zero for atoms not predicted), ``predicted`` (bool) and ``cq`` (MHz), ``eta``,
    ``omega_q`` (kHz), ``theta``, ``phi`` (degrees; field b0 in the principal axis system), NaN
    for atoms not predicted. An ``efg`` array already present (a reference) is kept as
    ``efg_reference``, converted to `units`. `uncertainty`: {column: (n_sites,)} error-bar columns
    (sagpr.uncertainty.as_columns) written beside the values, NaN for atoms not predicted. `isotopes` maps element symbols to isotope labels (default isotopes otherwise).
    """
    isotopes = dict(isotopes or {})
    out, start = [], 0
    for atoms in frames:
        mask = np.isin(atoms.numbers, list(center_numbers))
        n = int(mask.sum())
        copy = atoms.copy()
        if "efg" in copy.arrays:
            # Every tensor column of a frame is in the frame's one unit (the model's).
            reference = np.asarray(copy.arrays.pop("efg"), dtype=float).reshape(len(copy), 3, 3)
            reference = convert_efg(reference, normalize_units(copy.info.get("efg_units", "au")), units)
            copy.arrays["efg_reference"] = reference.reshape(len(copy), 9)
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
        for key, values in (uncertainty or {}).items():
            column = np.full(len(copy), np.nan)
            column[mask] = values[start - n : start]
            copy.arrays[key] = column
        copy.info["efg_units"] = units
        out.append(copy)
    if start != len(tensors):
        raise ValueError(f"{len(tensors)} predicted tensors for {start} centre atoms")
    return out


def _annotated_prediction(model, frames, *, units, isotopes, b0, uncertainty=False):
    if not uncertainty:
        tensors = model.predict(frames)
        return annotate(frames, tensors, model.center_species_, units, isotopes=isotopes, b0=b0)
    from ...uncertainty import as_columns, observable_uncertainty

    tensors, covs = model.predict(frames, return_cov=True)
    symbols = np.concatenate([np.array(a.get_chemical_symbols())[np.isin(a.numbers, model.center_species_)]
                              for a in frames]) if frames else np.zeros(0, str)
    labels = [isotopes.get(s, s) for s in symbols]
    columns = {}
    if len(tensors):
        # seeded sampling of each site's Gaussian (sagpr.uncertainty): the same file gives the same bars
        result = observable_uncertainty(tensors, covs[2], labels, b0=b0, units=units, n_samples=500, seed=0)
        columns = as_columns(result, UNCERTAIN)
        columns["relative_std"] = model.relative_uncertainty(frames, covs)
    return annotate(frames, tensors, model.center_species_, units, isotopes=isotopes, b0=b0, uncertainty=columns)


#: a site whose predicted standard deviation exceeds this fraction of the training targets' spread
#: is reported as out of the model's domain (a strained or different structure, an unseen bonding)
OUT_OF_DOMAIN = 0.5


def predict_stream(model, frames, *, chunk_size: int = 16, isotopes=None, b0=(0.0, 0.0, 1.0), client=None,
                   shared_file: bool = False, uncertainty: bool = False) -> Iterator[Atoms]:
    """Yield annotated frames (see `annotate`) for any number of input frames.

    Frames are read and predicted `chunk_size` at a time, so memory does not grow with the
    number of frames; with a Dask ``client`` the chunks run on the cluster, results in input
    order. uncertainty=True adds error-bar columns of the observables (name_std, name_low68,
    name_high68, name_low95, name_high95, from the model's calibrated predictive covariance). With
    ``shared_file=True`` (needs ``client``), `frames` is the path of an extended-XYZ
    file on a filesystem the workers share (or its `sagpr.trajectory.FrameIndex`): the client
    sends only frame ranges and each worker reads its own frames. Errors name the frame's
    position in the whole input.
    """
    units = normalize_units(getattr(model, "units_", None) or "au")
    work = partial(_annotated_prediction, units=units, isotopes=dict(isotopes or {}), b0=tuple(b0),
                   uncertainty=uncertainty)
    if shared_file:
        if client is None:
            raise ValueError("shared_file=True needs a Dask client: workers read the file themselves")
        path = str(getattr(frames, "path", frames))
        k = 0
        for annotated in map_file_ranges(work, model, frames, client=client, chunk_size=chunk_size):
            for atoms in annotated:  # the same source tags as frames read by sagpr.io.iread_structures
                atoms.info.setdefault("source_file", path)
                atoms.info.setdefault("source_frame", k)
                k += 1
                yield atoms
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
            raise _located(err, chunk, first) from err
        first += len(chunk)
        yield from annotated


def _located(err: ValueError, chunk, first: int) -> Exception:
    """The error with its frame named by source file and frame there (or by position in the input)."""
    located = renumber_frame_error(err, 0, len(chunk))
    match = FRAME_PREFIX.match(str(located))
    if match and int(match.group(1)) < len(chunk):
        info = chunk[int(match.group(1))].info
        if "source_file" in info:
            rest = str(located)[match.end():]
            return type(err)(f"{info['source_file']}: frame {info['source_frame']}: {rest}")
    return renumber_frame_error(err, first, len(chunk))


@dataclass
class PredictionSummary:
    """What a prediction run wrote: frames, predicted sites, and the frames that had no site."""

    frames: int = 0
    sites: int = 0
    files: int = 0
    without_site: List[str] = field(default_factory=list)  # "file: frame k" (or "frame k") of each
    out_of_domain: List[str] = field(default_factory=list)  # "file: frame k: atom i (x sigma/spread)"

    def __int__(self) -> int:  # the number of frames, as predict_file returned before
        return self.frames


def magres_names(sources: Sequence[Path]) -> Dict[str, str]:
    """A distinct .magres stem for every input file: its stem; its folder's name and its stem where
    two inputs share a stem; a ~2, ~3 suffix where even those agree."""
    sources = [Path(s) for s in sources]
    stems = [s.stem for s in sources]
    names = [f"{s.parent.name}_{s.stem}" if stems.count(s.stem) > 1 and s.parent.name else s.stem for s in sources]
    out: Dict[str, str] = {}
    seen: Dict[str, int] = {}
    for source, name in zip(sources, names):
        seen[name] = seen.get(name, 0) + 1
        out.setdefault(str(source), name if seen[name] == 1 else f"{name}~{seen[name]}")
    return out


def _magres_name(atoms: Atoms, count: int, stems: Dict[str, str]) -> str:
    info = atoms.info
    source = info.get("source_file")
    if source is None:
        return f"frame_{count:06d}.magres"
    stem = stems.get(str(source), Path(source).stem)
    if Path(source).suffix.lower() == ".magres":
        return f"{stem}.magres"
    return f"{stem}_{int(info.get('source_frame', 0)):06d}.magres"


def predict_file(model, source, out: Path, *, magres_dir: Optional[Path] = None, overwrite: bool = False,
                 chunk_size: int = 16, isotopes=None, progress: bool = True, total: Optional[int] = None,
                 client=None, shared_file: bool = False, sources: Sequence[Path] = (),
                 uncertainty: bool = False) -> PredictionSummary:
    """Stream predictions of `source` (frames) into the extended-XYZ file `out` (and .magres files).

    With ``shared_file=True`` and a Dask ``client``, `source` is the path of an extended-XYZ file
    the workers read themselves (see `predict_stream`). The XYZ file is written to a temporary
    file beside `out` and renamed when complete, and `magres_dir` is filled as a temporary folder
    that replaces it whole at the end (a non-empty one needs ``overwrite=True``), so an interrupted
    run leaves no half-written output and two runs are never mixed. Frames that carry
    ``info["source_file"]`` (`sagpr.io.iread_structures`) name their .magres file after it;
    `sources` (the input files, if known) makes those names distinct.
    """
    from contextlib import ExitStack

    from ase.io import write

    from ...atomic import atomic_directory
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
    stems = magres_names(sources)
    summary = PredictionSummary(files=len(sources))
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out))
        magres_tmp = (stack.enter_context(atomic_directory(magres_dir, overwrite=overwrite))
                      if magres_dir is not None else None)
        with open(tmp, "w") as handle:
            stream = predict_stream(model, source, chunk_size=chunk_size, isotopes=isotopes, client=client,
                                    shared_file=shared_file, uncertainty=uncertainty)
            stream = progress_bar(stream, enabled=progress, total=total, desc="predicting", unit="frame")
            for atoms in stream:
                write(handle, atoms, format="extxyz")
                n_sites = int(np.count_nonzero(atoms.arrays["predicted"]))
                summary.sites += n_sites
                where = f"frame {summary.frames}"
                if "source_file" in atoms.info:
                    where = f"{atoms.info['source_file']}: frame {atoms.info['source_frame']}"
                if not n_sites:
                    summary.without_site.append(where)
                if "relative_std" in atoms.arrays:
                    relative = atoms.arrays["relative_std"]
                    for i in np.flatnonzero(relative > OUT_OF_DOMAIN):
                        summary.out_of_domain.append(f"{where}: atom {i} ({atoms.get_chemical_symbols()[i]}, "
                                                     f"sigma {relative[i]:.2f} x the training spread)")
                if magres_tmp is not None:
                    # Other species carry a zero tensor: .magres files hold one per atom.
                    mag = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
                    mag.arrays["efg"] = atoms.arrays["efg"].reshape(len(atoms), 3, 3)
                    mag.info["efg_units"] = atoms.info["efg_units"]
                    write_efg(magres_tmp / _magres_name(atoms, summary.frames, stems), mag)
                summary.frames += 1
    return summary
