"""Objectives of the hyperparameter search: what a model is tuned to predict well.

- "metric" (tensorial models, the study's choice): mean of MAE(C~Q), MAE(eta~) and (1 - mean q~),
  all from sagpr.metrics.metrics with the training set's |Vzz| statistics;
- "vij" (tensorial, conventional): MAE of the six independent Cartesian components V_ij;
- a scalar target name ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q"): MAE of that target
  (angles as folded distances, sagpr.workflows.comparison.targets.errors).
Lower is better for all of them.
"""
from __future__ import annotations

import numpy as np

from ..comparison.targets import TARGETS, errors

TENSOR_OBJECTIVES = ("metric", "vij")
OBJECTIVES = TENSOR_OBJECTIVES + TARGETS


def tensor_objective(V_ref, V_pred, isotope, stats, *, kind: str = "metric", units: str = "au", b0=(0.0, 0.0, 1.0),
                     sign_convention: str = "signed") -> float:
    """Objective of predicted EFGs V_pred (n, 3, 3) against V_ref; `stats` from the training set
    (the V_ij objective does not depend on the sign convention)."""
    if kind not in TENSOR_OBJECTIVES:
        raise ValueError(f"tensor objective must be one of {TENSOR_OBJECTIVES}, got {kind!r}")
    if kind == "vij":
        from sagpr.tensors import symmetric_traceless_part

        d = symmetric_traceless_part(np.asarray(V_pred)) - symmetric_traceless_part(np.asarray(V_ref))
        iu = np.triu_indices(3)
        return float(np.mean(np.abs(d[:, iu[0], iu[1]])))
    from sagpr import metrics

    report = metrics.metrics(V_ref, V_pred, isotope, stats=stats, units=units, b0=b0, sign_convention=sign_convention)
    return metric_objective(report)


def metric_objective(report) -> float:
    """mean(MAE C~Q, MAE eta~, 1 - q~) of a sagpr.metrics.MetricsReport."""
    return float((report["C~Q"]["mae"] + report["eta~"]["mae"] + (1.0 - report.orientation["q_tilde_mean"])) / 3.0)


def scalar_objective(name: str, ref, pred) -> float:
    """MAE of scalar target `name`."""
    if name not in TARGETS:
        raise ValueError(f"scalar target must be one of {TARGETS}, got {name!r}")
    return float(np.mean(errors(name, ref, pred)))
