"""Test-set scores of both approaches for every NMR quantity, from saved predictions.

Tensorial: predicted EFGs are scored with sagpr.nmr.metrics (training-set |Vzz| statistics); their
angles are compared as folded distances (sagpr.workflows.targets), uncorrected (predicted frame's
own axis labels) and corrected (near-degenerate labels reassigned by metrics).
Scalar: each target's own prediction; omega_Q both learned directly and derived from the four
predicted C~Q, eta~, theta, phi. Corrected angles reassign near-degenerate reference labels.
Every entry: {"mae", "r" (Pearson), "unit", "n"}; angles also "mae_deg"; omega_Q "mae" in kHz.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from .targets import canonical, corrected_angle_errors, derived_omega_q, errors, scalar_targets

#: quantities of the comparison table, in order
QUANTITIES = ("C~Q", "eta~", "theta", "phi", "theta (corrected)", "phi (corrected)", "C~Q (corrected)",
              "eta~ (corrected)", "omega_Q", "omega_Q (derived)", "q~", "q~ (corrected)", "V_ij")


def pearson(ref, pred) -> float:
    ref, pred = np.asarray(ref, dtype=float), np.asarray(pred, dtype=float)
    if ref.size < 2 or np.std(ref) == 0 or np.std(pred) == 0:
        return float("nan")
    return float(np.corrcoef(ref, pred)[0, 1])


def _entry(err, ref, pred, unit) -> dict:
    out = {"mae": float(np.mean(np.abs(err))), "r": pearson(ref, pred), "unit": unit, "n": int(np.size(err))}
    if unit == "rad":
        out["mae_deg"] = float(np.degrees(out["mae"]))
    return out


def score_tensorial(V_ref, V_pred, isotope, stats, *, units: str = "au", b0=(0.0, 0.0, 1.0),
                    degeneracy_tol: float = 0.05) -> Dict[str, dict]:
    """Scores of predicted EFGs (n, 3, 3) against the reference, plus the per-site values for plots."""
    from sagpr import nmr

    rep = nmr.metrics(V_ref, V_pred, isotope, stats=stats, units=units, b0=b0, degeneracy_tol=degeneracy_tol)
    v = rep.values
    ref_t = scalar_targets(V_ref, isotope, stats, b0=b0, units=units)
    pred_t = scalar_targets(V_pred, isotope, stats, b0=b0, units=units)
    th_c, ph_c = np.radians(v["theta_pred_corrected"]), np.radians(v["phi_pred_corrected"])
    out = {
        "C~Q": _entry(pred_t["cq_tilde"] - ref_t["cq_tilde"], ref_t["cq_tilde"], pred_t["cq_tilde"], "-"),
        "eta~": _entry(pred_t["eta_tilde"] - ref_t["eta_tilde"], ref_t["eta_tilde"], pred_t["eta_tilde"], "-"),
        "theta": _entry(errors("theta", ref_t["theta"], pred_t["theta"]), ref_t["theta"], pred_t["theta"], "rad"),
        "phi": _entry(errors("phi", ref_t["phi"], pred_t["phi"]), ref_t["phi"], pred_t["phi"], "rad"),
        "theta (corrected)": _entry(errors("theta", ref_t["theta"], th_c), ref_t["theta"], canonical("theta", th_c), "rad"),
        "phi (corrected)": _entry(errors("phi", ref_t["phi"], ph_c), ref_t["phi"], canonical("phi", ph_c), "rad"),
        "omega_Q": _entry(pred_t["omega_q"] - ref_t["omega_q"], ref_t["omega_q"], pred_t["omega_q"], "kHz"),
    }
    for name in ("C~Q (corrected)", "eta~ (corrected)"):
        sc = rep[name]
        out[name] = {"mae": sc["mae"], "r": sc["r"], "unit": "-", "n": rep.n_sites}
    o = rep.orientation
    out["q~"] = {"mean": o["q_tilde_mean"], "mae": 1.0 - o["q_tilde_mean"], "unit": "-",
                 "n": rep.n_sites}
    out["q~ (corrected)"] = {"mean": o["q_tilde_mean_corrected"], "mae": 1.0 - o["q_tilde_mean_corrected"],
                             "unit": "-", "n": rep.n_sites}
    out["V_ij"] = {"mae": rep["V_ij"]["mae"], "r": rep["V_ij"]["r"], "unit": units, "n": rep.n_sites}
    values = {"ref": ref_t, "pred": pred_t,
              "pred_corrected": {"theta": canonical("theta", th_c), "phi": canonical("phi", ph_c)}}
    return {"scores": out, "values": values, "n_ambiguous": o["n_ambiguous"], "n_relabelled": o["n_relabelled"]}


def score_scalar(V_ref, predictions: Dict[str, np.ndarray], isotope, stats, *, units: str = "au",
                 b0=(0.0, 0.0, 1.0), degeneracy_tol: float = 0.05) -> Dict[str, dict]:
    """Scores of the scalar models' predictions {target: (n,)} against the reference EFGs."""
    ref_t = scalar_targets(V_ref, isotope, stats, b0=b0, units=units)
    pred = {k: canonical(k, np.asarray(v, dtype=float)) for k, v in predictions.items()}
    out = {}
    for name, key in (("C~Q", "cq_tilde"), ("eta~", "eta_tilde"), ("theta", "theta"), ("phi", "phi"),
                      ("omega_Q", "omega_q")):
        if key in pred:
            unit = {"theta": "rad", "phi": "rad", "omega_q": "kHz"}.get(key, "-")
            out[name] = _entry(errors(key, ref_t[key], pred[key]), ref_t[key], pred[key], unit)
    values = {"ref": ref_t, "pred": dict(pred)}
    if "theta" in pred and "phi" in pred:
        et, ep = corrected_angle_errors(V_ref, pred["theta"], pred["phi"], b0=b0, degeneracy_tol=degeneracy_tol)
        out["theta (corrected)"] = _entry(et, ref_t["theta"], pred["theta"], "rad")
        out["phi (corrected)"] = _entry(ep, ref_t["phi"], pred["phi"], "rad")
        # the correction concerns axis labels, which scalar C~Q and eta~ do not have
        for name in ("C~Q", "eta~"):
            if name in out:
                out[f"{name} (corrected)"] = dict(out[name])
    if all(k in pred for k in ("cq_tilde", "eta_tilde", "theta", "phi")):
        om = derived_omega_q(pred["cq_tilde"], pred["eta_tilde"], pred["theta"], pred["phi"], isotope, stats, units=units)
        out["omega_Q (derived)"] = _entry(om - ref_t["omega_q"], ref_t["omega_q"], om, "kHz")
        values["pred"]["omega_q_derived"] = om
    return {"scores": {k: out[k] for k in QUANTITIES if k in out}, "values": values}
