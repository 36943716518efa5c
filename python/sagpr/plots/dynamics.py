"""Figures of `sagpr dynamics`: omega_Q histograms (instantaneous vs averaged) and F2 against t_m."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .common import pyplot


def plot_omega_histograms(edges, instantaneous, averaged, *, ax=None):
    """Step histograms of instantaneous and window-averaged omega_Q (field along z), as fractions."""
    plt = pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
    edges = np.asarray(edges)
    for counts, label in ((instantaneous, "instantaneous"), (averaged, "window-averaged tensor")):
        counts = np.asarray(counts, dtype=float)
        if counts.sum() > 0:
            ax.stairs(counts / counts.sum(), edges, label=label)
    ax.set_xlabel(r"$\omega_Q$ (kHz, field along z)")
    ax.set_ylabel("fraction of sites")
    ax.legend(frameon=False)
    return fig if fig is not None else ax.figure


def plot_f2(t_m, t_p: Sequence[float], curves: Mapping[str, np.ndarray], fits: Mapping[str, Sequence[dict]]):
    """F2 against t_m (log axis) for every t_p, one panel per form (sin-sin, cos-cos), fits dashed."""
    from ..dynamics.correlation import stretched_exponential

    plt = pyplot()
    kinds = list(curves)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 3.8), squeeze=False)
    t_m = np.asarray(t_m, dtype=float)
    shown = t_m > 0
    dense = np.geomspace(t_m[shown].min(), t_m.max(), 200) if shown.any() else t_m
    for ax, kind in zip(axes[0], kinds):
        for i, tp in enumerate(t_p):
            line, = ax.plot(t_m[shown], curves[kind][i][shown], "o", ms=3, label=f"$t_p$ = {tp:g} µs")
            fit = fits[kind][i]
            if np.isfinite(fit.get("tau_ps", np.nan)):
                ax.plot(dense, stretched_exponential(dense, fit["tau_ps"], fit["beta"], fit["z"]), "--",
                        color=line.get_color(), lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(r"$t_m$ (ps)")
        ax.set_ylabel(r"$F_2(t_p, t_m)$")
        ax.set_title(f"{kind}-{kind}")
        ax.legend(frameon=False, fontsize=8)
    return fig
