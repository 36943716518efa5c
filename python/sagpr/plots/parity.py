"""Parity plots of the comparison: scalar vs tensorial predictions of the NMR quantities.

parity_figure: the study's Fig. 3 layout, one column per quantity (C~Q, eta~, theta, phi), a
parity panel per approach and the distributions of reference and predicted values underneath.
omega_parity_figure: Fig. 4, omega_Q parity for direct-scalar, derived-scalar and tensorial
predictions with a +- resolution band (10 kHz for 7Li).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from ..metrics import pearson
from ..quantities import axis_label
from .common import pyplot

#: axis labels of the scalar targets (sagpr.quantities): r"$\tilde{C}_Q$", r"$\theta$ (rad)", ...
QUANTITY_LABELS = {k: axis_label(k) for k in ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q")}
COLORS = {"scalar": "tab:orange", "tensorial": "tab:blue", "reference": "0.3", "derived": "tab:green"}


def _parity(ax, ref, pred, color, title=None, band=None):
    ref, pred = np.asarray(ref, float), np.asarray(pred, float)
    lo = float(min(ref.min(), pred.min()))
    hi = float(max(ref.max(), pred.max()))
    pad = 0.03 * (hi - lo if hi > lo else 1.0)
    lo, hi = lo - pad, hi + pad
    if band is not None:
        ax.fill_between([lo, hi], [lo - band, hi - band], [lo + band, hi + band], color="0.85", lw=0,
                        label=rf"$\pm${band:g}")
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.scatter(ref, pred, s=6, alpha=0.6, color=color, edgecolors="none")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    mae = np.mean(np.abs(pred - ref))
    r = pearson(ref, pred)
    ax.text(0.03, 0.97, f"MAE {mae:.3g}\nr {r:.3f}", transform=ax.transAxes, va="top", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)


def parity_figure(reference: Mapping[str, np.ndarray], predictions: Mapping[str, Mapping[str, np.ndarray]],
                  quantities: Sequence[str] = ("cq_tilde", "eta_tilde", "theta", "phi"), *, bins: int = 30):
    """Figure: row per approach in `predictions` ({"scalar": {...}, "tensorial": {...}}), column per
    quantity, then a row of value histograms (reference and each approach). Angles folded, given in
    radians (as the scalar targets hold them) and shown in degrees."""
    plt = pyplot()
    approaches = list(predictions)
    nrow, ncol = len(approaches) + 1, len(quantities)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.5 * nrow), squeeze=False)
    def shown(q, values):  # angles are held in radians, shown in degrees like every output
        values = np.asarray(values, float)
        return np.degrees(values) if q in ("theta", "phi") else values

    reference = {q: shown(q, reference[q]) for q in quantities}
    predictions = {n: {q: shown(q, v) for q, v in p.items() if q in quantities} for n, p in predictions.items()}
    for j, q in enumerate(quantities):
        ref = np.asarray(reference[q], float)
        for i, name in enumerate(approaches):
            ax = axes[i, j]
            if q in predictions[name]:
                _parity(ax, ref, predictions[name][q], COLORS.get(name, f"C{i}"),
                        title=f"{name}: {QUANTITY_LABELS.get(q, q)}")
            else:
                ax.set_axis_off()
            if j == 0:
                ax.set_ylabel("predicted")
            ax.set_xlabel("reference", fontsize=8)
        ax = axes[-1, j]
        all_values = [ref] + [np.asarray(predictions[n][q], float) for n in approaches if q in predictions[n]]
        edges = np.histogram_bin_edges(np.concatenate(all_values), bins=bins)
        ax.hist(ref, bins=edges, histtype="stepfilled", color=COLORS["reference"], alpha=0.3, label="reference")
        for i, name in enumerate(approaches):
            if q in predictions[name]:
                ax.hist(predictions[name][q], bins=edges, histtype="step", color=COLORS.get(name, f"C{i}"), label=name)
        ax.set_xlabel(QUANTITY_LABELS.get(q, q))
        if j == 0:
            ax.set_ylabel("sites")
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def omega_parity_figure(reference: np.ndarray, predictions: Mapping[str, np.ndarray], *, resolution: float = 10.0,
                        title: Optional[str] = None):
    """omega_Q parity (kHz), one panel per entry of `predictions`, with a +-resolution band; a
    second row shows the errors against the reference, where the band is visible at any scale."""
    plt = pyplot()
    names = list(predictions)
    reference = np.asarray(reference, float)
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 5.6), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.6]})
    palette = {"direct scalar": COLORS["scalar"], "derived scalar": COLORS["derived"], "tensorial": COLORS["tensorial"]}
    for j, name in enumerate(names):
        ax = axes[0, j]
        pred = np.asarray(predictions[name], float)
        color = palette.get(name, "C0")
        _parity(ax, reference, pred, color, title=name, band=resolution)
        within = np.mean(np.abs(pred - reference) <= resolution)
        ax.text(0.97, 0.03, f"{100 * within:.0f}% within $\\pm${resolution:g} kHz", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7)
        ax = axes[1, j]
        lo, hi = reference.min(), reference.max()
        ax.axhspan(-resolution, resolution, color="0.85", lw=0)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.scatter(reference, pred - reference, s=6, alpha=0.6, color=color, edgecolors="none")
        ax.set_xlim(lo - 0.03 * (hi - lo), hi + 0.03 * (hi - lo))
        ax.set_xlabel(f"reference {axis_label('omega_q')}")
    axes[1, 0].set_ylabel("error (kHz)")
    axes[0, 0].set_ylabel(f"predicted {axis_label('omega_q')}")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


#: (values key, label) of the panels of metrics_parity_figure, in the units of sagpr.metrics
REPORT_PANELS = (("cq", r"$C_Q$ (MHz)"), ("eta", r"$\eta$"), ("theta", r"$\theta$ (deg)"), ("phi", r"$\phi$ (deg)"),
                 ("omega_q", r"$\omega_Q$ (kHz)"))


def metrics_parity_figure(report, *, title: Optional[str] = None, bins: int = 30):
    """Parity of every observable of a `sagpr.metrics.MetricsReport` (C_Q, eta, theta, phi, omega_Q:
    what `sagpr score` scores), with the reference and predicted distributions overlaid below."""
    plt = pyplot()
    v = report.values
    fig, axes = plt.subplots(2, len(REPORT_PANELS), figsize=(2.7 * len(REPORT_PANELS), 5.2), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.6]})
    for j, (key, label) in enumerate(REPORT_PANELS):
        ref, pred = np.asarray(v[f"{key}_ref"], float), np.asarray(v[f"{key}_pred"], float)
        _parity(axes[0, j], ref, pred, COLORS["tensorial"], title=label)
        axes[0, j].set_xlabel("reference", fontsize=8)
        edges = np.histogram_bin_edges(np.concatenate([ref, pred]), bins=bins)
        ax = axes[1, j]
        ax.hist(ref, bins=edges, histtype="stepfilled", color=COLORS["reference"], alpha=0.3, label="reference")
        ax.hist(pred, bins=edges, histtype="step", color=COLORS["tensorial"], label="predicted")
        ax.set_xlabel(label)
    axes[0, 0].set_ylabel("predicted")
    axes[1, 0].set_ylabel("sites")
    axes[1, 0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
