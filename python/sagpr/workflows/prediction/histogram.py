"""Classify the sites of a species by the peaks of their omega_Q histogram (study Fig. 6)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, List, Optional

import numpy as np
from ase import Atoms

from ...nmr import quadrupolar_frequency
from ...units import normalize_units
from .regions import Regions, auto_histogram_settings, find_regions


def site_frequencies(atoms: Atoms, species: str, *, isotope: Optional[str] = None, where: str = "") -> np.ndarray:
    """omega_Q (kHz) of the `species` atoms of one frame.

    Taken from a per-atom ``omega_q`` array when present (as `sagpr predict` writes it),
    otherwise computed from the per-atom ``efg`` (field along z) in ``info["efg_units"]``.
    """
    mask = np.array(atoms.get_chemical_symbols()) == species
    if "omega_q" in atoms.arrays:
        values = np.asarray(atoms.arrays["omega_q"], dtype=float)[mask]
    elif "efg" in atoms.arrays:
        efg = np.asarray(atoms.arrays["efg"], dtype=float).reshape(len(atoms), 3, 3)[mask]
        units = normalize_units(str(atoms.info.get("efg_units", "au")))
        values = quadrupolar_frequency(efg, [isotope or species] * int(mask.sum()), units=units) if mask.any() else np.zeros(0)
    else:
        raise ValueError(f"{where}no per-atom 'omega_q' or 'efg' array to classify")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        atom = int(np.flatnonzero(mask)[bad[0]])
        raise ValueError(f"{where}atom {atom} ({species}) has no finite omega_Q")
    return values


def classify(frames: Iterable[Atoms], species: str, *, n_peaks: int = 5, bin_width: Optional[float] = 2.0,
             min_count: Optional[int] = 10, isotope: Optional[str] = None) -> tuple:
    """(Regions over all sites of all frames, per-frame label arrays of the species' atoms).

    bin_width / min_count None: chosen from the data (regions.auto_histogram_settings)."""
    per_frame: List[np.ndarray] = []
    for k, atoms in enumerate(frames):
        per_frame.append(site_frequencies(atoms, species, isotope=isotope, where=f"frame {k}: "))
    if not per_frame or sum(len(v) for v in per_frame) == 0:
        raise ValueError(f"no {species} sites in the input")
    values = np.concatenate(per_frame)
    auto_width, auto_count = auto_histogram_settings(values)
    regions = find_regions(values, n_peaks=n_peaks, bin_width=auto_width if bin_width is None else bin_width,
                           min_count=auto_count if min_count is None else min_count)
    splits = np.cumsum([len(v) for v in per_frame])[:-1]
    return regions, np.split(regions.labels, splits)


def uncertain_sites(frames: Iterable[Atoms], species: str, regions: Regions, labels: List[np.ndarray]) -> List[np.ndarray]:
    """Per frame, True for the `species` sites whose 95 % omega_Q interval (the omega_q_low95 /
    omega_q_high95 columns of `sagpr predict --uncertainty`) is wider than their region; all False
    where a frame has no such columns or a site is unclassified."""
    width = {r.label: r.high - r.low for r in regions.regions}
    out = []
    for atoms, site_labels in zip(frames, labels):
        mask = np.array(atoms.get_chemical_symbols()) == species
        flags = np.zeros(int(mask.sum()), dtype=bool)
        if "omega_q_low95" in atoms.arrays and "omega_q_high95" in atoms.arrays:
            spread = (atoms.arrays["omega_q_high95"] - atoms.arrays["omega_q_low95"])[mask]
            limit = np.array([width.get(int(lab), np.inf) for lab in site_labels])
            flags = spread > limit
        out.append(flags)
    return out


def labelled_frames(frames: Iterable[Atoms], species: str, labels: List[np.ndarray],
                    uncertain: Optional[List[np.ndarray]] = None) -> Iterator[Atoms]:
    """Frames with a per-atom ``region`` array: the region label of `species` atoms, -1 elsewhere
    (and ``region_uncertain``: the site's 95 % omega_Q interval is wider than its region)."""
    for k, (atoms, site_labels) in enumerate(zip(frames, labels)):
        out = atoms.copy()
        mask = np.array(out.get_chemical_symbols()) == species
        region = np.full(len(out), -1, dtype=int)
        region[mask] = site_labels
        out.arrays["region"] = region
        if uncertain is not None:
            flag = np.zeros(len(out), dtype=bool)
            flag[mask] = uncertain[k]
            out.arrays["region_uncertain"] = flag
        for key, value in list(out.arrays.items()):  # extended XYZ holds per-atom arrays of at most 2 dims
            if value.ndim > 2:
                out.arrays[key] = value.reshape(len(out), -1)
            elif value.dtype == object:
                del out.arrays[key]
        yield out


def write_histogram_report(regions: Regions, frames_for_picture: List[Atoms], labels: List[np.ndarray],
                           species: str, out: Path) -> List[Path]:
    """regions.json, the histogram figure and a picture of up to two structures, into `out`."""
    from ...plots.common import save_figure
    from ...plots.regions import plot_region_histogram, plot_sites_by_region
    from ..cache import write_json_atomic

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "regions.json"]
    write_json_atomic(written[0], {"species": species, **regions.to_dict()})
    written.append(save_figure(plot_region_histogram(regions), out / "omega_q_histogram.png"))
    for k, atoms in enumerate(frames_for_picture[:2]):
        fig = plot_sites_by_region(atoms, labels[k], species=species, title=f"frame {k}: {species} sites by region")
        written.append(save_figure(fig, out / f"sites_frame{k}.png"))
    return written
