"""The one vocabulary of the NMR quantities sagpr computes, scores, reports and plots.

Each quantity has a key (arrays, .npz files, scalar-target names: "cq_tilde"), a display name
(score tables, report.json/report.md, learning curves: "C~Q"), a matplotlib label ("$\\tilde{C}_Q$")
and a unit ("-" dimensionless, "deg", "MHz", "kHz"; None: the units of the EFG). Scores of the
relabelled near-degenerate axes are named corrected(name), omega_Q from separately predicted
scalars derived(name). Every output gives angles in degrees (predict columns, metrics, compare
reports and figures); only the scalar models learn them in radians, internally
(sagpr.workflows.comparison.targets).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional

__all__ = ["Quantity", "QUANTITIES", "quantity", "name", "corrected", "derived", "axis_label"]


@dataclass(frozen=True)
class Quantity:
    key: str
    name: str
    latex: str
    unit: Optional[str]
    description: str

    @property
    def dimensionless(self) -> bool:
        return self.unit == "-"


QUANTITIES: Mapping[str, Quantity] = MappingProxyType({q.key: q for q in (
    Quantity("cq_tilde", "C~Q", r"$\tilde{C}_Q$", "-", "(Vzz - mu) / sigma, mu and sigma of |Vzz| over the training set"),
    Quantity("eta_tilde", "eta~", r"$\tilde{\eta}$", "-", "(Vxx - Vyy) / mu"),
    Quantity("theta", "theta", r"$\theta$", "deg", "polar angle of the field in the principal axis system"),
    Quantity("phi", "phi", r"$\phi$", "deg", "azimuth of the field in the principal axis system, from the PAS x axis"),
    Quantity("omega_q", "omega_Q", r"$\omega_Q$", "kHz", "first-order quadrupolar frequency"),
    Quantity("cq", "C_Q", r"$C_Q$", "MHz", "quadrupolar coupling constant e Q Vzz / h"),
    Quantity("eta", "eta", r"$\eta$", "-", "asymmetry (Vxx - Vyy) / Vzz in [0, 1]"),
    Quantity("q_tilde", "q~", r"$\tilde{q}$", "-", "quaternion agreement of principal frames, in [0.5, 1]"),
    Quantity("vij", "V_ij", r"$V_{ij}$", None, "the six independent Cartesian components"),
    Quantity("vxx", "V_xx", r"$V_{xx}$", None, "principal value of smallest magnitude"),
    Quantity("vyy", "V_yy", r"$V_{yy}$", None, "intermediate principal value"),
    Quantity("vzz", "V_zz", r"$V_{zz}$", None, "principal value of largest magnitude"),
)})


def quantity(key: str) -> Quantity:
    """The Quantity of a key ("cq_tilde") or display name ("C~Q"); KeyError naming the known keys."""
    if key in QUANTITIES:
        return QUANTITIES[key]
    for q in QUANTITIES.values():
        if q.name == key:
            return q
    raise KeyError(f"unknown quantity {key!r}; known: {', '.join(QUANTITIES)}")


def name(key: str) -> str:
    """Display name of a key: name("cq_tilde") == "C~Q"."""
    return quantity(key).name


def corrected(display_name: str) -> str:
    """Name of the score with near-degenerate axis labels reassigned: "C~Q (corrected)"."""
    return f"{display_name} (corrected)"


def derived(display_name: str) -> str:
    """Name of a quantity derived from separately predicted scalars: "omega_Q (derived)"."""
    return f"{display_name} (derived)"


def axis_label(key: str, unit: Optional[str] = None) -> str:
    """Matplotlib label with the unit in brackets unless dimensionless: r"$\\omega_Q$ (kHz)"."""
    q = quantity(key)
    unit = q.unit if unit is None else unit
    return q.latex if unit in (None, "-", "") else f"{q.latex} ({unit})"
