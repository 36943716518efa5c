"""Figures of histogram regions: the omega_Q histogram (study Fig. 6a) and sites coloured by region (6b)."""
from __future__ import annotations

import numpy as np

from ..quantities import QUANTITIES
from .common import pyplot

_OMEGA_AXIS = f"{QUANTITIES['omega_q'].latex} / {QUANTITIES['omega_q'].unit}"  # $\omega_Q$ / kHz


def region_colors(n):
    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    return [cmap(k % 10) for k in range(n)]


def plot_region_histogram(regions, *, xlabel=_OMEGA_AXIS, ax=None):
    """Bar histogram with the bins of each region coloured and unclassified bins grey."""
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    edges, counts = regions.edges, regions.counts
    colors = ["0.75"] * len(counts)
    palette = region_colors(len(regions.regions))
    for region in regions.regions:
        for b in range(len(counts)):
            if edges[b] >= region.low - 1e-9 and edges[b + 1] <= region.high + 1e-9:
                colors[b] = palette[region.label]
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=colors, edgecolor="none")
    for region in regions.regions:
        ax.annotate(f"{region.label}\n({region.count})", (region.peak, counts.max() * 1.02), ha="center",
                    va="bottom", fontsize=8, color=palette[region.label])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("sites per bin")
    ax.set_ylim(0, counts.max() * 1.2 + 1)
    return fig


def plot_sites_by_region(atoms, labels, *, species="Li", ax=None, title=None):
    """3D scatter of the `species` sites of one structure, coloured by region; other atoms hidden.

    `labels` holds one label per `species` atom (-1: unclassified, grey).
    """
    plt = pyplot()
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    symbols = np.array(atoms.get_chemical_symbols())
    sites = atoms.positions[symbols == species]
    labels = np.asarray(labels)
    if len(labels) != len(sites):
        raise ValueError(f"{len(labels)} labels for {len(sites)} {species} sites")
    palette = region_colors(max(labels.max() + 1, 1))
    grey = (0.75, 0.75, 0.75, 1.0)
    colors = np.array([palette[k] if k >= 0 else grey for k in labels])
    ax.scatter(sites[:, 0], sites[:, 1], sites[:, 2], c=colors, s=18, depthshade=True)
    ax.set_xlabel("x / Å")
    ax.set_ylabel("y / Å")
    ax.set_zlabel("z / Å")
    if title:
        ax.set_title(title)
    return fig
