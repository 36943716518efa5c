"""Scores of predicted EFG tensors against reference ones, for one nucleus.

Public entry point: sagpr.metrics.metrics(V_ref, V_pred, isotope, ...) -> MetricsReport.
The per-tensor quantities come from sagpr.nmr (this module imports it, never the reverse): C~Q and
eta~ (nmr.normalized_observables), the near-degenerate relabellings (nmr.axis_relabellings),
C_Q and omega_Q; names and units from sagpr.quantities. pearson() is the one Pearson r of sagpr.

Normalised quantities (Harper et al., J. Mater. Chem. A 2025), with mu and sigma the mean and
standard deviation of |Vzz| over the reference (training) set, stored in ReferenceStats so that a
test set is scored with the training set's values:
    C~Q  = (Vzz - mu) / sigma        eta~ = (Vxx - Vyy) / mu
Orientation: q~ (sagpr.nmr.orientation_agreement) and the angles theta, phi of the field in the
PAS, compared after aligning the predicted frame with the reference one over the D2 frame
symmetry. When two principal values are nearly equal in magnitude (relative gap below
degeneracy_tol in the reference or the prediction) the axis labels are ambiguous; the
"corrected" scores also try the swapped labelling of the predicted frame and keep the one that
best matches the reference (largest q~); the principal values follow the new labels.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np

from .atomic import write_text_atomic
from .isotopes import Isotope, get_isotope
from .nmr import (
    _D2_SIGNS,
    ReferenceStats,
    _angles_in_frames,
    _cq_mhz,
    _directions,
    _eig_nqr,
    _eta,
    _omega_q_khz,
    _stats_of_values,
    DEGENERACY_TOL,
    ambiguous_axes,
    axis_relabellings,
    normalized_observables,
    orientation_agreement,
    reference_stats,
    with_sign_convention,
)
from .quantities import QUANTITIES, corrected
from .tensors import check_efg, symmetric_traceless_part
from .units import convert_efg, normalize_units

__all__ = ["ReferenceStats", "reference_stats", "MetricsReport", "metrics", "pearson"]

_COMPONENTS = {"xx": (0, 0), "yy": (1, 1), "zz": (2, 2), "xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}


def pearson(ref, pred) -> float:
    """Pearson correlation coefficient r of two 1-d samples; NaN for fewer than two values or a
    constant sample (r undefined)."""
    ref, pred = np.asarray(ref, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    if ref.size < 2 or np.std(ref) == 0 or np.std(pred) == 0:
        return float("nan")
    return float(np.corrcoef(ref, pred)[0, 1])


def wasserstein_1d(ref, pred) -> float:
    """1-Wasserstein (earth mover's) distance between the empirical distributions of two 1-d
    samples: the integral of |F_ref(x) - F_pred(x)| over x (Villani, Optimal Transport (2009),
    Remark 2.19: for 1-d measures it is the L1 distance of the CDFs). Same units as the values;
    0 for identical samples, whatever the order."""
    ref = np.sort(np.asarray(ref, dtype=np.float64).ravel())
    pred = np.sort(np.asarray(pred, dtype=np.float64).ravel())
    if ref.size == 0 or pred.size == 0:
        return float("nan")
    grid = np.concatenate([ref, pred])
    grid.sort(kind="mergesort")
    cdf_r = np.searchsorted(ref, grid[:-1], side="right") / ref.size
    cdf_p = np.searchsorted(pred, grid[:-1], side="right") / pred.size
    return float(np.sum(np.abs(cdf_r - cdf_p) * np.diff(grid)))


def histogram_overlap(ref, pred, bins: int = 30) -> float:
    """Overlap sum_k min(p_k, q_k) of the two samples' normalised histograms on common bins
    spanning both: 1 for identical distributions, 0 for disjoint ones."""
    ref = np.asarray(ref, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if ref.size == 0 or pred.size == 0:
        return float("nan")
    lo, hi = min(ref.min(), pred.min()), max(ref.max(), pred.max())
    if hi == lo:
        return 1.0
    edges = np.linspace(lo, hi, int(bins) + 1)
    p = np.histogram(ref, edges)[0] / ref.size
    q = np.histogram(pred, edges)[0] / pred.size
    return float(np.minimum(p, q).sum())


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class MetricsReport:
    """Scores of one nucleus. ``scores[name]`` is {"mae", "rmse", "r", "unit"}; angles in degrees.

    Names: "C~Q", "eta~", "eta", "C_Q" (MHz), "omega_Q" (kHz), "theta", "phi", "V_ij" (all six
    independent components, units of V), and "C~Q (corrected)", "eta~ (corrected)",
    "theta (corrected)", "phi (corrected)" with the near-degenerate axis labels reassigned.
    ``orientation`` has q~ statistics; ``vij_mae`` the MAE per component; ``values`` per-site arrays
    (reference/predicted normalised quantities, angles, q~) for plots.
    """

    isotope: str
    n_sites: int
    units: str
    stats: ReferenceStats
    scores: Dict[str, Dict[str, float]]
    orientation: Dict[str, float]
    vij_mae: Dict[str, float]
    settings: Dict[str, object]
    values: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> Dict[str, float]:
        return self.scores[name]

    def to_dict(self, per_site: bool = False) -> dict:
        out = {
            "isotope": self.isotope,
            "n_sites": self.n_sites,
            "units": self.units,
            "stats": self.stats.to_dict(),
            "scores": self.scores,
            "orientation": self.orientation,
            "vij_mae": self.vij_mae,
            "settings": self.settings,
        }
        if per_site:
            out["values"] = self.values
        return _jsonable(out)

    def to_json(self, path: Union[str, os.PathLike, None] = None, *, per_site: bool = False, indent: int = 2) -> str:
        """The report as JSON (NaN as null); written atomically to `path` if given."""
        text = json.dumps(self.to_dict(per_site=per_site), indent=indent)
        if path is not None:
            write_text_atomic(path, text + "\n")
        return text

    def __str__(self) -> str:
        s = self.stats
        lines = [
            f"EFG metrics for {self.isotope}: {self.n_sites} sites, "
            f"mu(|Vzz|) = {s.mu:.6g} {s.units}, sigma(|Vzz|) = {s.sigma:.6g} {s.units}",
            f"{'quantity':<20}{'unit':>6}{'MAE':>12}{'RMSE':>12}{'r':>9}",
        ]
        for name, sc in self.scores.items():
            r = "" if not np.isfinite(sc["r"]) else f"{sc['r']:.4f}"
            lines.append(f"{name:<20}{sc['unit']:>6}{sc['mae']:>12.5g}{sc['rmse']:>12.5g}{r:>9}")
        o = self.orientation
        lines.append(
            f"q~: mean {o['q_tilde_mean']:.5f} (corrected {o['q_tilde_mean_corrected']:.5f}), "
            f"median {o['q_tilde_median']:.5f}, min {o['q_tilde_min']:.5f}; "
            f"mean misorientation {o['misorientation_mean_deg']:.3f} deg"
        )
        lines.append(
            f"near-degenerate sites (relative gap < {self.settings['degeneracy_tol']:g}): "
            f"{o['n_ambiguous']} of {self.n_sites}, relabelled: {o['n_relabelled']}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"MetricsReport(isotope={self.isotope!r}, n_sites={self.n_sites})"


def _score(ref: np.ndarray, pred: np.ndarray, unit: str, err: Optional[np.ndarray] = None) -> Dict[str, float]:
    err = pred - ref if err is None else err
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))), "r": pearson(ref, pred), "unit": unit}


def _names():
    """Display names and report units of the scored quantities (angles in degrees)."""
    q = QUANTITIES
    return {k: q[k].name for k in q}, {k: "deg" if q[k].unit == "rad" else q[k].unit for k in q}


def _site_observables(w, S, stats, units, iso, b, atol):
    """(C~Q, eta~, eta, C_Q in MHz, omega_Q in kHz) per site from principal values w (NQR order)
    and tensors S, through the one implementation of each in sagpr.nmr."""
    cqt, etat = normalized_observables(w, stats, units)
    cq = _cq_mhz(convert_efg(w[:, 2], units, "au"), iso.quadrupole_moment)
    om = _omega_q_khz(convert_efg(np.einsum("ni,nij,nj->n", b, S, b), units, "au"), iso.spin, iso.quadrupole_moment)
    return cqt, etat, _eta(w, atol), cq, om


def _corrected_frames(wr, Fr, wp, Fp, Fp_aligned, q_unc, degeneracy_tol):
    """Predicted frames with the swapped axis labels tried where either tensor is near-degenerate
    (kept where they agree better with the reference): (q~, frames, principal values, ambiguous,
    relabelled), per site."""
    zy_r, yx_r = ambiguous_axes(wr, degeneracy_tol)
    zy_p, yx_p = ambiguous_axes(wp, degeneracy_tol)
    amb_zy, amb_yx = zy_r | zy_p, yx_r | yx_p
    q_cor, F_cor, wp_cor = q_unc.copy(), Fp_aligned.copy(), wp.copy()
    relabelled = np.zeros(len(wr), dtype=bool)
    for _, idx, cols, signs in axis_relabellings(amb_zy, amb_yx):
        cand = Fp[idx][:, :, cols] * signs
        qc, kc = orientation_agreement(Fr[idx], cand, return_index=True)
        better = qc > q_cor[idx] + 1e-12
        sel = idx[better]
        q_cor[sel] = qc[better]
        F_cor[sel] = cand[better] * _D2_SIGNS[kc[better]][:, None, :]
        wp_cor[sel] = wp[sel][:, cols]
        relabelled[sel] = True
    return q_cor, F_cor, wp_cor, amb_zy | amb_yx, relabelled


def _orientation_summary(q_unc, q_cor, ambiguous, relabelled):
    deg = 180.0 / np.pi
    return {
        "q_tilde_mean": float(q_unc.mean()),
        "q_tilde_median": float(np.median(q_unc)),
        "q_tilde_min": float(q_unc.min()),
        "q_tilde_mean_corrected": float(q_cor.mean()),
        "misorientation_mean_deg": float(np.mean(2.0 * np.arccos(np.clip(q_unc, 0.0, 1.0))) * deg),
        "misorientation_mean_deg_corrected": float(np.mean(2.0 * np.arccos(np.clip(q_cor, 0.0, 1.0))) * deg),
        "n_ambiguous": int(np.count_nonzero(ambiguous)),
        "n_relabelled": int(np.count_nonzero(relabelled)),
    }


def metrics(
    V_ref,
    V_pred,
    isotope: Union[str, Isotope],
    *,
    b0=(0.0, 0.0, 1.0),
    units: str = "au",
    stats: Optional[Union[ReferenceStats, Mapping]] = None,
    degeneracy_tol: float = DEGENERACY_TOL,
    defaults=None,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    labels: Optional[Sequence[str]] = None,
    sign_convention: str = "signed",
) -> MetricsReport:
    """Score predicted EFG tensors V_pred against V_ref (both (N, 3, 3), `units`) for one nucleus.

    stats: ReferenceStats (or its dict) giving mu, sigma of |Vzz|; default: from V_ref.
    degeneracy_tol: relative gap (|Vzz| - |Vyy|)/|Vzz| or (|Vyy| - |Vxx|)/|Vzz| below which axis
    labels count as ambiguous for the corrected angles. b0: field direction for theta, phi, omega_Q.
    sign_convention: "signed" or "positive" (the study's: each tensor with V_ZZ > 0; see
    sagpr.nmr.with_sign_convention).
    """
    units = normalize_units(units)
    Vr = check_efg(V_ref, rtol=rtol, atol=atol, labels=labels)
    Vp = check_efg(V_pred, rtol=rtol, atol=atol, labels=labels)
    Vr, Vp = with_sign_convention(Vr, sign_convention), with_sign_convention(Vp, sign_convention)
    if Vr.shape != Vp.shape:
        raise ValueError(f"V_ref and V_pred differ in shape: {Vr.shape} vs {Vp.shape}")
    if len(Vr) == 0:
        raise ValueError("metrics need at least one site")
    if not 0 <= degeneracy_tol < 1:
        raise ValueError(f"degeneracy_tol must be in [0, 1), got {degeneracy_tol}")
    iso = get_isotope(isotope, defaults)
    n = len(Vr)
    Sr, Sp = symmetric_traceless_part(Vr), symmetric_traceless_part(Vp)
    wr, Fr = _eig_nqr(Sr)
    wp, Fp = _eig_nqr(Sp)

    if stats is None:
        stats = _stats_of_values(wr, units)
    else:
        stats = ReferenceStats.coerce(stats)
    st = stats.to(units)

    b = _directions(b0, n)
    cqt_r, etat_r, eta_r, cq_r, om_r = _site_observables(wr, Sr, st, units, iso, b, atol)
    cqt_p, etat_p, eta_p, cq_p, om_p = _site_observables(wp, Sp, st, units, iso, b, atol)

    # orientation, uncorrected: NQR labels as they are, signs aligned over D2
    q_unc, k = orientation_agreement(Fr, Fp, return_index=True)
    Fp_aligned = Fp * _D2_SIGNS[k][:, None, :]
    th_r, ph_r = _angles_in_frames(Fr, b)
    th_p, ph_p = _angles_in_frames(Fp_aligned, b)

    q_cor, F_cor, wp_cor, ambiguous, relabelled = _corrected_frames(wr, Fr, wp, Fp, Fp_aligned, q_unc, degeneracy_tol)
    th_c, ph_c = _angles_in_frames(F_cor, b)
    cqt_c, etat_c = normalized_observables(wp_cor, st, units)

    def wrap_phi(d):  # phi is defined modulo pi
        return (d + np.pi / 2) % np.pi - np.pi / 2

    deg = 180.0 / np.pi
    dph, dph_c = wrap_phi(ph_p - ph_r), wrap_phi(ph_c - ph_r)
    name, unit = _names()
    scores = {
        name["cq_tilde"]: _score(cqt_r, cqt_p, unit["cq_tilde"]),
        name["eta_tilde"]: _score(etat_r, etat_p, unit["eta_tilde"]),
        name["eta"]: _score(eta_r, eta_p, unit["eta"]),
        name["cq"]: _score(cq_r, cq_p, unit["cq"]),
        name["omega_q"]: _score(om_r, om_p, unit["omega_q"]),
        corrected(name["cq_tilde"]): _score(cqt_r, cqt_c, unit["cq_tilde"]),
        corrected(name["eta_tilde"]): _score(etat_r, etat_c, unit["eta_tilde"]),
        name["theta"]: _score(th_r * deg, th_p * deg, unit["theta"]),
        name["phi"]: _score(ph_r * deg, (ph_r + dph) * deg, unit["phi"]),
        corrected(name["theta"]): _score(th_r * deg, th_c * deg, unit["theta"]),
        corrected(name["phi"]): _score(ph_r * deg, (ph_r + dph_c) * deg, unit["phi"]),
    }
    comp_r = np.stack([Sr[:, i, j] for i, j in _COMPONENTS.values()], axis=1)
    comp_p = np.stack([Sp[:, i, j] for i, j in _COMPONENTS.values()], axis=1)
    scores[name["vij"]] = _score(comp_r.ravel(), comp_p.ravel(), units)
    vij_mae = {name: float(np.mean(np.abs(comp_p[:, c] - comp_r[:, c]))) for c, name in enumerate(_COMPONENTS)}

    orientation = _orientation_summary(q_unc, q_cor, ambiguous, relabelled)
    values = {
        "vzz_ref": wr[:, 2], "vzz_pred": wp[:, 2],
        "cq_tilde_ref": cqt_r, "cq_tilde_pred": cqt_p,
        "eta_tilde_ref": etat_r, "eta_tilde_pred": etat_p,
        "eta_ref": eta_r, "eta_pred": eta_p,
        "cq_ref": cq_r, "cq_pred": cq_p,
        "omega_q_ref": om_r, "omega_q_pred": om_p,
        "theta_ref": th_r * deg, "theta_pred": th_p * deg, "theta_pred_corrected": th_c * deg,
        "phi_ref": ph_r * deg, "phi_pred": ph_p * deg, "phi_pred_corrected": ph_c * deg,
        "q_tilde": q_unc, "q_tilde_corrected": q_cor,
        "ambiguous": ambiguous, "relabelled": relabelled,
    }
    settings = {"b0": b[0].tolist() if np.allclose(b, b[0]) else "per-site", "degeneracy_tol": degeneracy_tol,
                "sign_convention": sign_convention}
    return MetricsReport(iso.label, n, units, st, scores, orientation, vij_mae, settings, values)
