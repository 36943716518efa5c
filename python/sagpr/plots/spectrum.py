"""Figures of simulated NMR spectra: predicted over reference (with a measured one), and the
spectrum of each omega_Q region stacked. Shift in ppm on the bottom axis, offset in kHz on top;
NMR convention: the shift axis runs from high to low ppm."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from .common import pyplot
from .regions import region_colors

STYLES = {
    "predicted": dict(color="tab:blue", lw=1.4),
    "reference": dict(color="k", lw=1.0, ls="--"),
    "efg": dict(color="tab:blue", lw=1.4),
    "experimental": dict(color="tab:red", lw=0.9, alpha=0.8),
}
LABELS = {"predicted": "predicted tensors", "reference": "reference (DFT) tensors", "efg": "tensors of the file"}


def _khz_axis(ax, larmor_hz: float):
    # ppm -> kHz: offset = ppm * nu_0 * 1e-6 Hz
    factor = larmor_hz * 1e-9
    top = ax.secondary_xaxis("top", functions=(lambda p: p * factor, lambda k: k / factor))
    top.set_xlabel("offset (kHz)")
    return top


def plot_spectra(ppm, curves: Mapping[str, np.ndarray], *, larmor_hz: float, experimental=None,
                 title: str = "", difference: Optional[float] = None, ax=None):
    """Simulated spectra on one ppm grid (intensity per kHz) and an optional measured (ppm,
    intensity) array scaled to the same height as the first curve."""
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
    else:
        fig = ax.figure
    ppm = np.asarray(ppm, dtype=float)
    top = 0.0
    for key, y in curves.items():
        ax.plot(ppm, y, label=LABELS.get(key, key), **STYLES.get(key, {}))
        top = max(top, float(np.max(y)))
    if "predicted" in curves and "reference" in curves:
        # the residual, below the baseline, so a small difference stays visible
        residual = np.asarray(curves["predicted"]) - np.asarray(curves["reference"])
        ax.plot(ppm, residual - 0.12 * top, color="0.5", lw=0.8, label="predicted - reference (offset)")
    if experimental is not None:
        exp = np.asarray(experimental, dtype=float)
        scale = top / exp[:, 1].max() if exp[:, 1].max() > 0 else 1.0
        ax.plot(exp[:, 0], exp[:, 1] * scale, label="experimental (scaled)", **STYLES["experimental"])
    ax.set_xlim(ppm.max(), ppm.min())
    ax.set_xlabel("shift (ppm)")
    ax.set_ylabel("intensity (sites / kHz)")
    _khz_axis(ax, larmor_hz)
    if difference is not None:
        ax.text(0.02, 0.95, f"spectral difference {100 * difference:.1f} %", transform=ax.transAxes, va="top", fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10, pad=28)
    return fig


def plot_region_stack(ppm, rows: Sequence[np.ndarray], names: Sequence[str], *, larmor_hz: float, title: str = "",
                      ax=None):
    """The total spectrum at the top and each region's spectrum below it, offset vertically, in the
    region colours of the omega_Q histogram (unclassified sites grey)."""
    plt = pyplot()
    rows = [np.asarray(r, dtype=float) for r in rows]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.9 * (len(rows) + 1)))
    else:
        fig = ax.figure
    ppm = np.asarray(ppm, dtype=float)
    total = np.sum(rows, axis=0)
    step = 1.1 * float(max(np.max(r) for r in rows + [total]))
    palette = region_colors(len(names))
    ax.plot(ppm, total + step * len(rows), color="k", lw=1.2)
    ax.text(ppm.max(), step * len(rows) + 0.35 * step, " total", fontsize=8, va="bottom")
    for k, (row, name) in enumerate(zip(rows, names)):
        base = step * (len(rows) - 1 - k)
        color = "0.6" if name == "unclassified" else palette[k]
        ax.fill_between(ppm, base, base + row, color=color, alpha=0.35, lw=0)
        ax.plot(ppm, base + row, color=color, lw=1.0)
        ax.text(ppm.max(), base + 0.35 * step, f" {name}", fontsize=8, va="bottom", color=color)
    ax.set_xlim(ppm.max(), ppm.min())
    ax.set_yticks([])
    ax.set_xlabel("shift (ppm)")
    ax.set_ylabel("intensity (offset per region)")
    _khz_axis(ax, larmor_hz)
    if title:
        ax.set_title(title, fontsize=10, pad=28)
    return fig
