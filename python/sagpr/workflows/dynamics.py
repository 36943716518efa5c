"""`sagpr dynamics`: a model over every frame of a trajectory, and what NMR sees of the motion.

One streaming pass predicts the tensor of every site (the atoms of the model's species, followed
by atom index) chunk by chunk, appends the series to raw files (memory flat in the number of
frames) and writes each window's averaged tensors as it completes. The analyses then read the
memory-mapped series: histograms of instantaneous and averaged omega_Q, the SAE correlation
F2(t_p, t_m) and its fit, and hops between environments. The physics lives in sagpr.dynamics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import tee
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

import numpy as np
from ase import Atoms

from ..atomic import atomic_directory
from ..distributed import chunked, map_frames
from ..dynamics.averaging import residual_observables, running_average
from ..dynamics.correlation import f2_sums, fit_f2, normalised_f2, omega_q_scale, omega_series, sphere_directions
from ..dynamics.hops import drop_short_stays, hop_rates, labels_from_intervals, nearest_site_labels, residence_times
from ..dynamics.series import RawSeries, write_npz
from ..progress import progress_bar
from ..units import normalize_units
from .cache import write_json_atomic

SERIES_FILE = "series.npz"
AVERAGED_FILE = "averaged.xyz"


@dataclass
class DynamicsSettings:
    """What `run_dynamics` computes; times in picoseconds, t_p in microseconds."""

    timestep: float  # ps between frames
    window: int = 100  # frames per motional average
    t_p: Sequence[float] = (1.0, 5.0, 20.0)  # evolution times (us)
    lags: Optional[Sequence[int]] = None  # mixing times in frames; None: ~40 log-spaced up to frames / 2
    kind: str = "sin"  # "sin", "cos" or "both"
    directions: int = 30  # field directions of the powder average (1: along z only)
    f2_window: int = 1  # frames of the running average of each tensor before omega_Q enters F2
    isotopes: dict = field(default_factory=dict)  # element -> isotope label
    regions: Optional[list] = None  # [(low, high) kHz, ...] of the omega_Q environments; None: found from the data
    n_regions: int = 5
    sites: Optional[Atoms] = None  # reference sites for nearest-site hops (positions, cell)
    min_stay: int = 1  # frames a nucleus must stay at a new site for the visit to count as a hop
    chunk_size: int = 16  # frames predicted at a time, at most
    chunk_sites: int = 300  # ... and at most about this many sites (a 1512-atom LTO frame, 288 Li, alone)
    figures: bool = True  # the .png figures (matplotlib)


def _predict_chunk(model, frames):
    return np.asarray(model.predict(frames), dtype=np.float64)


def _site_mask(atoms: Atoms, centres) -> np.ndarray:
    return np.isin(atoms.numbers, list(centres))


def _where(atoms: Atoms, k: int) -> str:
    info = atoms.info
    if "source_file" in info:
        return f"{info['source_file']}: frame {info.get('source_frame', k)}"
    return f"frame {k}"


def _site_chunks(frames: Iterable[Atoms], chunk_size: int, chunk_sites: int, centres):
    """Consecutive lists of at most `chunk_size` frames holding at most ~`chunk_sites` sites (at
    least one frame): one predict call on many large frames is slower per frame than on a few
    (measured on 1512-atom LTO frames: 0.32 s per frame alone, 0.43 in pairs, 0.8 sixteen at a time)."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    chunk, sites = [], 0
    for atoms in frames:
        n = int(np.count_nonzero(_site_mask(atoms, centres)))
        if chunk and (len(chunk) == chunk_size or sites + n > chunk_sites):
            yield chunk
            chunk, sites = [], 0
        chunk.append(atoms)
        sites += n
    if chunk:
        yield chunk


def _tensor_chunks(model, frames: Iterable[Atoms], chunk_size: int, client, chunk_sites: int = 300):
    """(frames, their site tensors (m, sites, 3, 3)) chunk by chunk, in order."""
    if client is None:
        for chunk in _site_chunks(frames, chunk_size, chunk_sites, model.center_species_):
            yield chunk, _predict_chunk(model, chunk)
        return
    # the client keeps its own copy of the frames in flight (a bounded tee buffer) for the outputs
    frames, mine = tee(frames)
    for chunk, tensors in zip(chunked(mine, chunk_size),
                              map_frames(_predict_chunk, model, frames, client=client, chunk_size=chunk_size)):
        yield chunk, tensors


@dataclass
class DynamicsResult:
    frames: int
    sites: int
    windows: int
    files: List[Path]
    summary: dict


def run_dynamics(model, frames: Iterable[Atoms], out, settings: DynamicsSettings, *, overwrite: bool = False,
                 progress: bool = True, total: Optional[int] = None, client=None) -> DynamicsResult:
    """Predict every frame of `frames` and write the series and the analyses into the folder `out`
    (replaced whole at the end; see docs/dynamics.md for every file)."""
    from ase.data import chemical_symbols

    out = Path(out)
    units = normalize_units(getattr(model, "units_", None) or "au")
    centres = [int(z) for z in model.center_species_]
    window = int(settings.window)
    if window < 1:
        raise ValueError(f"averaging window must be at least 1 frame, got {window}")
    with atomic_directory(out, overwrite=overwrite) as tmp:
        tensors = positions = cells = omega_raw = None
        first_numbers = index = None
        symbols: List[str] = []
        isotopes: List[str] = []
        win_sum = None
        win_frame = None
        n_frames = n_windows = 0
        averaged_path = tmp / AVERAGED_FILE
        averaged_handle = open(averaged_path, "w")
        avg_omega: List[np.ndarray] = []
        try:
            stream = _tensor_chunks(model, frames, settings.chunk_size, client, settings.chunk_sites)
            bar = progress_bar(total=total, enabled=progress, desc="predicting", unit="frame")
            for chunk, predicted in stream:
                for atoms in chunk:
                    if first_numbers is None:
                        first_numbers = atoms.numbers.copy()
                        index = np.flatnonzero(_site_mask(atoms, centres))
                        if index.size == 0:
                            raise ValueError(f"{_where(atoms, 0)}: no atom of the model's species "
                                             f"{', '.join(chemical_symbols[z] for z in centres)}")
                        symbols = [chemical_symbols[int(z)] for z in atoms.numbers[index]]
                        isotopes = [settings.isotopes.get(s, s) for s in symbols]
                        scale = np.array([omega_q_scale(iso, units) for iso in isotopes])
                        tensors = RawSeries(tmp / ".tensors.raw", (len(index), 3, 3))
                        omega_raw = RawSeries(tmp / ".omega.raw", (len(index),))
                        positions = RawSeries(tmp / ".positions.raw", (len(index), 3))
                        cells = RawSeries(tmp / ".cells.raw", (3, 3))
                    elif len(atoms) != len(first_numbers) or not np.array_equal(atoms.numbers, first_numbers):
                        raise ValueError(f"{_where(atoms, n_frames)}: the atoms differ from frame 0's (number or "
                                         "elements in order): sites are followed by atom index, so every frame must "
                                         "list the same atoms in the same order")
                    n_frames += 1
                n = len(chunk)
                per_frame = predicted.reshape(n, len(index), 3, 3)
                tensors.append(per_frame)
                omega_raw.append(_omega(per_frame, np.array([[0.0, 0.0, 1.0]]), scale)[:, :, 0])
                positions.append(np.stack([a.positions[index] for a in chunk]))
                cells.append(np.stack([np.asarray(a.cell.array) for a in chunk]))
                for k, atoms in enumerate(chunk):
                    if win_sum is None:
                        win_sum, win_frame, win_count = np.zeros((len(index), 3, 3)), atoms, 0
                    win_sum += per_frame[k]
                    win_count += 1
                    if win_count == window:
                        mean = win_sum / window
                        avg_omega.append(_write_window(averaged_handle, win_frame, index, mean, isotopes, units,
                                                       n_windows, window, settings.timestep))
                        n_windows += 1
                        win_sum = None
                bar.update(n)
            bar.close()
        finally:
            averaged_handle.close()
            for series in (tensors, positions, cells, omega_raw):
                if series is not None:
                    series.close()
        if n_frames == 0:
            raise ValueError("the trajectory has no frames")
        if n_windows == 0:
            averaged_path.unlink()
        V, X, C, omega_z = tensors.array(), positions.array(), cells.array(), omega_raw.array()
        time = np.arange(n_frames) * settings.timestep
        summary = {"frames": n_frames, "sites": int(len(index)), "timestep_ps": settings.timestep,
                   "duration_ps": float(n_frames * settings.timestep), "units": units,
                   "species": sorted(set(symbols)), "isotopes": sorted(set(isotopes)), "window_frames": window,
                   "windows": n_windows}
        files = []
        write_npz(tmp / SERIES_FILE, {
            "tensors": V, "positions": X, "cells": C, "time_ps": time, "atom_index": index,
            "numbers": first_numbers[index], "omega_q_z": omega_z,
            "units": np.array(units), "isotopes": np.array(isotopes), "timestep_ps": np.array(settings.timestep),
        })
        files.append(out / SERIES_FILE)
        if n_windows:
            files.append(out / AVERAGED_FILE)
        averaged = np.array(avg_omega) if avg_omega else np.zeros((0, len(index)))
        summary["omega_q"] = _histograms(tmp, omega_z, averaged, settings.figures)
        files += [out / "omega_q_histograms.json"] + ([out / "omega_q_histograms.png"] if settings.figures else [])
        summary["f2"] = _correlations(tmp, V, scale, settings, n_frames)
        files += [out / "f2.json"] + ([out / "f2.png"] if settings.figures else [])
        summary["hops"] = _hops(tmp, averaged, X, C, settings, window)
        files.append(out / "hops.json")
        write_json_atomic(tmp / "summary.json", summary)
        files.append(out / "summary.json")
        del V, X, C, omega_z
        for raw in tmp.glob(".*.raw"):
            raw.unlink()
    return DynamicsResult(n_frames, int(len(index)), n_windows, files, summary)


def _omega(V, directions, scale) -> np.ndarray:
    return omega_series(V, directions, 1.0) * scale[None, :, None]


def _write_window(handle, atoms: Atoms, index, mean, isotopes, units, k, window, timestep) -> np.ndarray:
    """One averaged frame (the window's first structure, the mean tensors and their residual
    observables as per-atom columns, NaN/0 for other atoms); returns the sites' omega_Q."""
    from ase.io import write

    obs = residual_observables(mean, isotopes, units)
    frame = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    efg = np.zeros((len(frame), 3, 3))
    efg[index] = mean
    frame.arrays["efg"] = efg.reshape(len(frame), 9)
    site = np.zeros(len(frame), dtype=bool)
    site[index] = True
    frame.arrays["predicted"] = site
    for key in ("cq", "eta", "omega_q"):
        column = np.full(len(frame), np.nan)
        column[index] = obs[key]
        frame.arrays[key] = column
    frame.info.update(efg_units=units, window=k, first_frame=k * window, frames=window,
                      t_start_ps=k * window * timestep, t_length_ps=window * timestep)
    write(handle, frame, format="extxyz")
    return np.asarray(obs["omega_q"])


def _save(fig, path: Path) -> None:
    from ..plots.common import pyplot, save_figure

    save_figure(fig, path)
    pyplot().close(fig)


def _histograms(tmp: Path, instantaneous: np.ndarray, averaged: np.ndarray, figures: bool) -> dict:

    def blocks():  # a few thousand frames at a time from the memory-mapped series
        for a in range(0, len(instantaneous), 4096):
            yield np.asarray(instantaneous[a : a + 4096])

    lo = min(float(b.min()) for b in blocks())
    hi = max(float(b.max()) for b in blocks())
    if averaged.size:
        lo, hi = min(lo, float(averaged.min())), max(hi, float(averaged.max()))
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 101)
    inst_counts = sum(np.histogram(b, bins=edges)[0] for b in blocks())
    mean_abs = sum(float(np.abs(b).sum()) for b in blocks()) / instantaneous.size
    avg_counts, _ = np.histogram(averaged.ravel(), bins=edges)
    data = {"field": [0.0, 0.0, 1.0], "bin_edges_khz": edges.tolist(), "instantaneous": inst_counts.tolist(),
            "averaged": avg_counts.tolist(),
            "instantaneous_mean_abs_khz": mean_abs,
            "averaged_mean_abs_khz": float(np.mean(np.abs(averaged))) if averaged.size else None}
    write_json_atomic(tmp / "omega_q_histograms.json", data)
    if figures:
        from ..plots.dynamics import plot_omega_histograms

        _save(plot_omega_histograms(edges, inst_counts, avg_counts), tmp / "omega_q_histograms.png")
    return {k: data[k] for k in ("instantaneous_mean_abs_khz", "averaged_mean_abs_khz")}


def default_lags(n_frames: int, count: int = 40) -> np.ndarray:
    """0 and about `count` log-spaced lags up to half the trajectory (origins enough for each)."""
    top = max(1, n_frames // 2)
    return np.unique(np.concatenate([[0], np.geomspace(1, top, count).astype(int)]))


def _correlations(tmp: Path, V, scale, settings: DynamicsSettings, n_frames: int) -> dict:
    f2_window = int(settings.f2_window)
    length = n_frames - f2_window + 1
    lags = default_lags(length) if settings.lags is None else np.asarray(settings.lags, dtype=int)
    if lags.size == 0 or lags.min() < 0 or lags.max() >= length:
        raise ValueError(f"mixing times must lie within the trajectory: lags 0 .. {length - 1} frames, got "
                         f"{lags.min() if lags.size else 'none'} .. {lags.max() if lags.size else ''}")
    if lags[0] != 0:
        lags = np.concatenate([[0], lags])
    directions = sphere_directions(settings.directions)
    kinds = ("sin", "cos") if settings.kind == "both" else (settings.kind,)
    t_p = np.asarray(settings.t_p, dtype=float)
    n_lags = int(lags.max()) + 1
    sums = {kind: np.zeros((len(t_p), n_lags)) for kind in kinds}
    block = max(1, 4_000_000 // max(1, n_frames * len(directions)))  # sites per block: ~32 MB of omega
    for first in range(0, V.shape[1], block):
        tensors = np.asarray(V[:, first : first + block], dtype=np.float64)
        if f2_window > 1:
            tensors = running_average(tensors, f2_window)
        omega = _omega(tensors, directions, scale[first : first + block])
        for kind in kinds:
            sums[kind] += f2_sums(omega, t_p, n_lags, kind=kind)
    t_m = lags * settings.timestep
    result = {"t_p_us": t_p.tolist(), "t_m_ps": t_m.tolist(), "lags": lags.tolist(), "directions": len(directions),
              "f2_window_frames": f2_window, "fit": "F2 = (1 - Z) exp(-(t_m / tau)^beta) + Z"}
    curves = {}
    for kind in kinds:
        values = normalised_f2(sums[kind], length, lags)
        curves[kind] = values
        result[kind] = {"f2": values.tolist(),
                        "fits": [dict(t_p_us=float(tp), **_ps(fit_f2(t_m, row))) for tp, row in zip(t_p, values)]}
    write_json_atomic(tmp / "f2.json", result)
    if settings.figures:
        from ..plots.dynamics import plot_f2

        _save(plot_f2(t_m, t_p, curves, {k: result[k]["fits"] for k in kinds}), tmp / "f2.png")
    return {kind: result[kind]["fits"] for kind in kinds}


def _ps(fit: dict) -> dict:
    return {"tau_ps": fit["tau"], "beta": fit["beta"], "z": fit["z"], "rms": fit["rms"]}


def _hops(tmp: Path, averaged: np.ndarray, X, C, settings: DynamicsSettings, window: int) -> dict:
    """Hops between omega_Q regions of the window-averaged tensors, and between nearest reference sites."""
    from .prediction.regions import auto_histogram_settings, find_regions

    out: dict = {}
    if len(averaged) >= 2:
        if settings.regions is None:
            width, count = auto_histogram_settings(averaged)
            found = find_regions(averaged, n_peaks=settings.n_regions, bin_width=width, min_count=count)
            intervals = [(r.low, r.high) for r in found.regions]
        else:
            intervals = [tuple(map(float, r)) for r in settings.regions]
        labels = labels_from_intervals(averaged, [a for a, _ in intervals], [b for _, b in intervals])
        step = window * settings.timestep
        out["regions"] = {"intervals_khz": intervals, "time_resolution_ps": step, "unassigned_fraction": float(np.mean(labels < 0)),
                          **_rates(labels, step, len(intervals))}
    if settings.sites is not None:
        sites = settings.sites
        # the reference sites follow the cell of each block of frames (constant-pressure runs)
        fractional = sites.get_scaled_positions(wrap=True)
        labels = np.concatenate([nearest_site_labels(X[a : a + 256], fractional @ C[a], C[a])
                                 for a in range(0, len(X), 256)])
        if "site_kind" in sites.arrays:
            names = [str(s) for s in sites.arrays["site_kind"]]
        else:
            names = sites.get_chemical_symbols()
        kinds_names = sorted(set(names))
        kinds = np.array([kinds_names.index(n) for n in names])
        out["sites"] = {"kinds": kinds_names, "reference_sites": len(sites), "time_resolution_ps": settings.timestep,
                        "min_stay_frames": int(settings.min_stay),
                        **_rates(drop_short_stays(labels, settings.min_stay), settings.timestep, len(kinds_names), kinds,
                                 kinds_names)}
    write_json_atomic(tmp / "hops.json", out)
    return {k: {"hops": v["hops"], "mean_rate_per_site_per_ps": v["mean_rate_per_site_per_ps"]} for k, v in out.items()}


def _rates(labels, step, n_kinds, kinds=None, names=None) -> dict:
    rates = hop_rates(labels, step, kinds=kinds, n_kinds=n_kinds)
    stays = {(names[k] if names else str(k)): v for k, v in residence_times(labels, step, kinds).items()}
    frames_total = float(rates["time_in"].sum())
    return {"rates_per_ps": np.nan_to_num(rates["rates"], nan=0.0).tolist(), "counts": rates["counts"].tolist(),
            "time_in_ps": rates["time_in"].tolist(), "hops": rates["hops"],
            "mean_rate_per_site_per_ps": rates["hops"] / frames_total if frames_total > 0 else 0.0,
            "mean_residence_ps": {k: float(v.mean()) for k, v in stays.items()},
            "complete_stays": {k: int(len(v)) for k, v in stays.items()}}
