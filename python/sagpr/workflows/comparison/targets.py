"""Scalar learning targets per site derived from EFG tensors, and how their errors are measured.

Targets (Harper et al., J. Mater. Chem. A 2025), with mu and sigma the mean and standard deviation
of |Vzz| over the *training* set (sagpr.nmr.ReferenceStats), so validation and test sites use the
training set's values:
    cq_tilde  = (Vzz - mu) / sigma          eta_tilde = (Vxx - Vyy) / mu
    theta, phi: angles of the field b0 in the principal axis system (radians)
    omega_q   = first-order quadrupolar frequency (kHz)
The formulas are sagpr.nmr's (normalized_observables, quadrupolar_frequency_from_principal,
axis_relabellings); names and units come from sagpr.quantities.

Angles are learned and scored in their fundamental domain [0, pi/2]: every observable depends on
them only through cos^2 theta and cos 2 phi (the PAS axes' signs and the sign of b0 are
arbitrary), so theta ~ pi - theta and phi ~ -phi ~ phi + pi. The error between two angles is the
distance of their folded values, the smallest difference over these symmetries; the same rule
scores the angles of predicted tensors, so both approaches are measured alike.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from sagpr import nmr
from sagpr.quantities import QUANTITIES

#: scalar targets in the order of the study's figures, with display names and units
TARGETS = ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q")
LABELS = {k: QUANTITIES[k].name for k in TARGETS}
ANGLES = ("theta", "phi")
#: units the scalar models learn in (angles in radians; reports convert them to degrees)
UNITS = {k: "rad" if k in ANGLES else QUANTITIES[k].unit for k in TARGETS}


def fold_theta(theta) -> np.ndarray:
    """theta (radians) mapped to [0, pi/2] using theta ~ pi - theta (and period 2 pi)."""
    t = np.mod(np.asarray(theta, dtype=np.float64), np.pi)
    return np.minimum(t, np.pi - t)


def fold_phi(phi) -> np.ndarray:
    """phi (radians) mapped to [0, pi/2] using phi ~ -phi ~ phi + pi."""
    p = np.mod(np.asarray(phi, dtype=np.float64), np.pi)
    return np.minimum(p, np.pi - p)


def errors(name: str, ref, pred) -> np.ndarray:
    """Absolute errors of target `name`; angles as distances of the folded values."""
    ref, pred = np.asarray(ref, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    if name == "theta":
        return np.abs(fold_theta(pred) - fold_theta(ref))
    if name == "phi":
        return np.abs(fold_phi(pred) - fold_phi(ref))
    return np.abs(pred - ref)


def canonical(name: str, values) -> np.ndarray:
    """Values as they are compared (angles folded), e.g. for parity plots and Pearson r."""
    if name == "theta":
        return fold_theta(values)
    if name == "phi":
        return fold_phi(values)
    return np.asarray(values, dtype=np.float64)


def scalar_targets(V, isotope, stats, *, b0=(0.0, 0.0, 1.0), units: str = "au", labels=None) -> Dict[str, np.ndarray]:
    """The five scalar targets (n,) of EFGs V (n, 3, 3) with training statistics `stats`.

    Angles in radians, folded into [0, pi/2]; omega_q in kHz.
    """
    values, frames = nmr.principal_components(V, labels=labels)
    theta, phi = nmr.field_angles(V, b0, frames=frames)
    cq_tilde, eta_tilde = nmr.normalized_observables(values, stats, units)
    return {
        "cq_tilde": cq_tilde,
        "eta_tilde": eta_tilde,
        "theta": fold_theta(theta),
        "phi": fold_phi(phi),
        "omega_q": nmr.quadrupolar_frequency(V, isotope, b0, units, labels=labels),
    }


def derived_omega_q(cq_tilde, eta_tilde, theta, phi, isotope, stats, *, units: str = "au") -> np.ndarray:
    """omega_Q (kHz) from separately predicted C~Q, eta~, theta, phi ("derived-scalar").

    Vzz = mu + sigma C~Q and Vxx - Vyy = mu eta~, so
    omega_Q = 3/(2I(2I-1)) (eQ/h) [Vzz (3 cos^2 theta - 1) + (Vxx - Vyy) sin^2 theta cos 2phi] / 2.
    """
    vzz, dxy = nmr.principal_from_normalized(cq_tilde, eta_tilde, stats, "au")
    return nmr.quadrupolar_frequency_from_principal(vzz, dxy, theta, phi, isotope, "au")


def corrected_angle_errors(V_ref, theta_pred, phi_pred, *, b0=(0.0, 0.0, 1.0), degeneracy_tol: float = nmr.DEGENERACY_TOL,
                           labels=None):
    """(theta errors, phi errors) of scalar angle predictions with the near-degenerate correction.

    Where two principal values of the reference are within `degeneracy_tol` (relative to |Vzz|)
    the axis labels are ambiguous; there the reference angles are also taken in the relabelled
    frames and the labelling that best matches the prediction (smallest summed error) is kept,
    the counterpart of the "corrected" scores of sagpr.metrics.metrics for tensors.
    """
    values, frames = nmr.principal_components(V_ref, labels=labels)
    theta_r, phi_r = nmr.field_angles(V_ref, b0, frames=frames)
    et, ep = errors("theta", theta_r, theta_pred), errors("phi", phi_r, phi_pred)
    for _, idx, cols, signs in nmr.axis_relabellings(*nmr.ambiguous_axes(values, degeneracy_tol)):
        t, p = nmr.field_angles(None, np.asarray(b0, dtype=float), frames=frames[idx][:, :, cols] * signs)
        ct, cp = errors("theta", t, np.asarray(theta_pred)[idx]), errors("phi", p, np.asarray(phi_pred)[idx])
        better = ct + cp < et[idx] + ep[idx] - 1e-12
        et[idx[better]], ep[idx[better]] = ct[better], cp[better]
    return et, ep
