"""Test-set scores of both approaches for every NMR quantity, from saved predictions.

Tensorial: predicted EFGs are scored with sagpr.metrics.metrics (training-set |Vzz| statistics); their
angles are compared as folded distances (sagpr.workflows.comparison.targets), uncorrected (predicted frame's
own axis labels) and corrected (near-degenerate labels reassigned by metrics).
Scalar: each target's own prediction; omega_Q both learned directly and derived from the four
predicted C~Q, eta~, theta, phi. Corrected angles reassign near-degenerate reference labels.
Every entry: {"mae", "r" (Pearson, sagpr.metrics.pearson), "wasserstein" (1-Wasserstein distance of the
reference and predicted distributions), "overlap" (of their histograms), "unit", "n"}; angles also "mae_deg";
omega_Q "mae" in kHz. Entry names are the display names of sagpr.quantities.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from sagpr.metrics import metrics as tensor_metrics
from sagpr.nmr import DEGENERACY_TOL
from sagpr.metrics import histogram_overlap, pearson, wasserstein_1d
from sagpr.quantities import QUANTITIES as _VOCABULARY
from sagpr.quantities import corrected, derived

from .targets import TARGETS, canonical, corrected_angle_errors, derived_omega_q, errors, scalar_targets

_NAME = {k: q.name for k, q in _VOCABULARY.items()}
_UNIT = {k: q.unit for k, q in _VOCABULARY.items()}

#: quantities of the comparison table, in order (display names)
QUANTITIES = (
    _NAME["cq_tilde"], _NAME["eta_tilde"], _NAME["theta"], _NAME["phi"], corrected(_NAME["theta"]),
    corrected(_NAME["phi"]), corrected(_NAME["cq_tilde"]), corrected(_NAME["eta_tilde"]), _NAME["omega_q"],
    derived(_NAME["omega_q"]), _NAME["q_tilde"], corrected(_NAME["q_tilde"]), _NAME["vij"],
)


def _entry(err, ref, pred, unit) -> dict:
    # distribution distances besides the per-site errors: the study weighs reproducing the
    # distribution of each observable above per-site accuracy
    if unit == "deg":  # the targets hold angles in radians; every output gives degrees
        err, ref, pred = np.degrees(err), np.degrees(ref), np.degrees(pred)
    return {"mae": float(np.mean(np.abs(err))), "r": pearson(ref, pred), "unit": unit, "n": int(np.size(err)),
            "wasserstein": wasserstein_1d(ref, pred), "overlap": histogram_overlap(ref, pred)}


def score_tensorial(V_ref, V_pred, isotope, stats, *, units: str = "au", b0=(0.0, 0.0, 1.0),
                    degeneracy_tol: float = DEGENERACY_TOL) -> Dict[str, dict]:
    """Scores of predicted EFGs (n, 3, 3) against the reference, plus the per-site values for plots."""
    rep = tensor_metrics(V_ref, V_pred, isotope, stats=stats, units=units, b0=b0, degeneracy_tol=degeneracy_tol)
    v = rep.values
    ref_t = scalar_targets(V_ref, isotope, stats, b0=b0, units=units)
    pred_t = scalar_targets(V_pred, isotope, stats, b0=b0, units=units)
    th_c, ph_c = np.radians(v["theta_pred_corrected"]), np.radians(v["phi_pred_corrected"])
    out = {}
    for key in ("cq_tilde", "eta_tilde", "theta", "phi"):  # as the scalar models are: errors() folds angles
        out[_NAME[key]] = _entry(errors(key, ref_t[key], pred_t[key]), ref_t[key], pred_t[key], _UNIT[key])
    for key, pred in (("theta", th_c), ("phi", ph_c)):
        out[corrected(_NAME[key])] = _entry(errors(key, ref_t[key], pred), ref_t[key], canonical(key, pred), _UNIT[key])
    key = "omega_q"
    out[_NAME[key]] = _entry(errors(key, ref_t[key], pred_t[key]), ref_t[key], pred_t[key], _UNIT[key])
    for key in ("cq_tilde", "eta_tilde"):
        sc = rep[corrected(_NAME[key])]
        out[corrected(_NAME[key])] = {"mae": sc["mae"], "r": sc["r"], "unit": _UNIT[key], "n": rep.n_sites}
    o = rep.orientation
    out[_NAME["q_tilde"]] = {"mean": o["q_tilde_mean"], "mae": 1.0 - o["q_tilde_mean"], "unit": _UNIT["q_tilde"],
                             "n": rep.n_sites}
    out[corrected(_NAME["q_tilde"])] = {"mean": o["q_tilde_mean_corrected"], "mae": 1.0 - o["q_tilde_mean_corrected"],
                                        "unit": _UNIT["q_tilde"], "n": rep.n_sites}
    vij = rep[_NAME["vij"]]
    out[_NAME["vij"]] = {"mae": vij["mae"], "r": vij["r"], "unit": units, "n": rep.n_sites}
    values = {"ref": ref_t, "pred": pred_t,
              "pred_corrected": {"theta": canonical("theta", th_c), "phi": canonical("phi", ph_c)}}
    return {"scores": out, "values": values, "n_ambiguous": o["n_ambiguous"], "n_relabelled": o["n_relabelled"]}


def score_scalar(V_ref, predictions: Dict[str, np.ndarray], isotope, stats, *, units: str = "au",
                 b0=(0.0, 0.0, 1.0), degeneracy_tol: float = DEGENERACY_TOL) -> Dict[str, dict]:
    """Scores of the scalar models' predictions {target: (n,)} against the reference EFGs."""
    ref_t = scalar_targets(V_ref, isotope, stats, b0=b0, units=units)
    pred = {k: canonical(k, np.asarray(v, dtype=float)) for k, v in predictions.items()}
    out = {}
    for key in TARGETS:
        if key in pred:
            out[_NAME[key]] = _entry(errors(key, ref_t[key], pred[key]), ref_t[key], pred[key], _UNIT[key])
    values = {"ref": ref_t, "pred": dict(pred)}
    if "theta" in pred and "phi" in pred:
        et, ep = corrected_angle_errors(V_ref, pred["theta"], pred["phi"], b0=b0, degeneracy_tol=degeneracy_tol)
        out[corrected(_NAME["theta"])] = _entry(et, ref_t["theta"], pred["theta"], _UNIT["theta"])
        out[corrected(_NAME["phi"])] = _entry(ep, ref_t["phi"], pred["phi"], _UNIT["phi"])
        # the correction concerns axis labels, which scalar C~Q and eta~ do not have
        for key in ("cq_tilde", "eta_tilde"):
            if _NAME[key] in out:
                out[corrected(_NAME[key])] = dict(out[_NAME[key]])
    if all(k in pred for k in ("cq_tilde", "eta_tilde", "theta", "phi")):
        om = derived_omega_q(pred["cq_tilde"], pred["eta_tilde"], pred["theta"], pred["phi"], isotope, stats, units=units)
        out[derived(_NAME["omega_q"])] = _entry(om - ref_t["omega_q"], ref_t["omega_q"], om, _UNIT["omega_q"])
        values["pred"]["omega_q_derived"] = om
    return {"scores": {k: out[k] for k in QUANTITIES if k in out}, "values": values}
