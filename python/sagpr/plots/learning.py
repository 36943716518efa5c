"""Learning curves of the comparison (the study's Fig. 5): test MAE vs training size, log-log."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..quantities import QUANTITIES, axis_label, derived
from .common import pyplot

#: (score name, panel title): MAE of the scalar targets, then 1 - mean q~ (sagpr.quantities)
PANELS = tuple((QUANTITIES[k].name, f"MAE {axis_label(k)}") for k in ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q")) + (
    (QUANTITIES["q_tilde"].name, f"$1 - {QUANTITIES['q_tilde'].latex[1:-1]}$"),)
_OMEGA = QUANTITIES["omega_q"].name


def learning_figure(learning: Sequence[dict], panels=PANELS, *, resolution: float = None):
    """One panel per quantity, MAE vs n_train for each approach present in `learning` entries
    ({"n_train", "tensorial": scores, "scalar": scores}); derived-scalar omega_Q dashed."""
    plt = pyplot()
    from matplotlib.ticker import FixedFormatter, NullFormatter

    ncol = min(3, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.9 * nrow), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    n = np.array([entry["n_train"] for entry in learning], dtype=float)
    styles = {"scalar": dict(color="tab:orange", marker="s"), "tensorial": dict(color="tab:blue", marker="o")}
    for ax, (key, label) in zip(axes.ravel(), panels):
        for approach, style in styles.items():
            values = [(e.get(approach) or {}).get(key, {}).get("mae", np.nan) for e in learning]
            values = np.array([np.nan if v is None else v for v in values], dtype=float)
            if np.isfinite(values).any():
                ax.plot(n, values, label=approach, **style)
            if key == _OMEGA and approach == "scalar":
                from_scalars = [(e.get("scalar") or {}).get(derived(_OMEGA), {}).get("mae", np.nan) for e in learning]
                from_scalars = np.array([np.nan if v is None else v for v in from_scalars], dtype=float)
                if np.isfinite(from_scalars).any():
                    ax.plot(n, from_scalars, ls="--", label="derived scalar", color="tab:green", marker="^")
        if key == _OMEGA and resolution:
            ax.axhline(resolution, color="0.5", lw=0.8, ls=":", label=f"{resolution:g} kHz")
        if key == _OMEGA:
            ax.legend(fontsize=6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(n)
        ax.xaxis.set_major_formatter(FixedFormatter([f"{int(v)}" for v in n]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
        ax.set_xlabel("training sites")
        ax.set_title(label, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
