"""Summary figure of an EFG data set: distances per species pair, C_Q and eta per nucleus.

The analogue of the study's Fig. 2 for any labelled frames (e.g. sagpr.datasets.lto.generate()).
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
from ase import Atoms

from ..isotopes import get_isotope
from ..quantities import QUANTITIES
from .common import pyplot, save_figure

__all__ = ["pair_distances", "quadrupolar_parameters", "dataset_summary"]

def pair_distances(frames: Iterable[Atoms], cutoff: float = 4.0) -> Dict[Tuple[str, str], np.ndarray]:
    """All interatomic distances below ``cutoff`` (A) per species pair (sorted symbols), periodic
    images included; each pair of atoms counted once."""
    from ase.neighborlist import neighbor_list

    out: Dict[Tuple[str, str], list] = {}
    for atoms in frames:
        i, j, d, shift = neighbor_list("ijdS", atoms, cutoff)
        # Each pair is listed from both sides, (i, j, S) and (j, i, -S): keep one.
        positive = (shift[:, 0] > 0) | ((shift[:, 0] == 0) & ((shift[:, 1] > 0) | ((shift[:, 1] == 0) & (shift[:, 2] > 0))))
        once = (i < j) | ((i == j) & positive)
        symbols = np.array(atoms.get_chemical_symbols())
        si, sj, d = symbols[i[once]], symbols[j[once]], d[once]
        swap = si > sj
        first = np.where(swap, sj, si)
        second = np.where(swap, si, sj)
        for a, b in set(zip(first, second)):
            out.setdefault((a, b), []).append(d[(first == a) & (second == b)])
    return {k: np.concatenate(v) for k, v in sorted(out.items())}


def quadrupolar_parameters(frames: Iterable[Atoms], elements: Sequence[str] = ("Li", "Ti", "O")):
    """{element: (C_Q in MHz, eta)} over all sites of the frames, for the default isotope of each
    element (sagpr.nmr: 7Li, 47Ti, 17O, 27Al, ...)."""
    from ..nmr import asymmetry, quadrupolar_coupling
    from ..units import convert_efg, normalize_units

    efgs: Dict[str, list] = {e: [] for e in elements}
    for k, atoms in enumerate(frames):
        if "efg" not in atoms.arrays:
            raise ValueError(f"frame {k} has no 'efg' array")
        efg = np.asarray(atoms.arrays["efg"], dtype=np.float64).reshape(len(atoms), 3, 3)
        units = normalize_units(str(atoms.info.get("efg_units", "V/A^2")))
        efg = convert_efg(efg, units, "V/A^2")
        symbols = np.array(atoms.get_chemical_symbols())
        for e in elements:
            efgs[e].append(efg[symbols == e])
    out = {}
    for e, parts in efgs.items():
        v = np.concatenate(parts) if parts else np.zeros((0, 3, 3))
        out[e] = (quadrupolar_coupling(v, [e] * len(v), units="V/A^2"), asymmetry(v))
    return out


def dataset_summary(
    frames: Iterable[Atoms],
    path=None,
    *,
    cutoff: float = 4.0,
    elements: Sequence[str] = ("Li", "Ti", "O"),
    bins: int = 60,
    title: Optional[str] = None,
):
    """Figure: distance histograms per species pair (top) and C_Q and eta histograms per nucleus.

    Returns the matplotlib Figure; with ``path`` it is also saved (atomically).
    """
    frames = list(frames)
    plt = pyplot()
    distances = pair_distances(frames, cutoff)
    params = quadrupolar_parameters(frames, elements)
    n = len(elements)
    fig = plt.figure(figsize=(3.2 * n, 8.5), constrained_layout=True)
    grid = fig.add_gridspec(3, n)
    ax = fig.add_subplot(grid[0, :])
    lowest = min((d.min() for d in distances.values() if d.size), default=0.0)
    edges = np.linspace(max(0.0, np.floor(4 * lowest) / 4 - 0.25), cutoff, 2 * bins + 1)
    for (a, b), d in distances.items():
        ax.hist(d, bins=edges, histtype="step", density=False, label=f"{a}-{b}", linewidth=1.2)
    ax.set_xlabel("interatomic distance (A)")
    ax.set_ylabel("pairs")
    ax.legend(ncol=min(6, len(distances)), fontsize="small")
    ax.set_title(title or f"{len(frames)} structures, {sum(len(f) for f in frames)} sites")
    for col, e in enumerate(elements):
        cq, eta = params[e]
        label = get_isotope(e).label
        ax_cq = fig.add_subplot(grid[1, col])
        ax_cq.hist(cq, bins=bins, color=f"C{col}")
        ax_cq.set_xlabel(f"{QUANTITIES['cq'].latex} ({label}) / {QUANTITIES['cq'].unit}")
        ax_cq.set_ylabel("sites")
        ax_eta = fig.add_subplot(grid[2, col])
        ax_eta.hist(eta, bins=np.linspace(0, 1, bins // 2 + 1), color=f"C{col}")
        ax_eta.set_xlabel(f"{QUANTITIES['eta'].latex} ({label})")
        ax_eta.set_ylabel("sites")
    if path is not None:
        save_figure(fig, path)
    return fig
