"""Scalar learning targets per site derived from EFG tensors, and how their errors are measured.

Targets (Harper et al., J. Mater. Chem. A 2025), with mu and sigma the mean and standard deviation
of |Vzz| over the *training* set (sagpr.nmr.ReferenceStats), so validation and test sites use the
training set's values:
    cq_tilde  = (Vzz - mu) / sigma          eta_tilde = (Vxx - Vyy) / mu
    theta, phi: angles of the field b0 in the principal axis system (radians)
    omega_q   = first-order quadrupolar frequency (kHz)

Angles are learned and scored in their fundamental domain [0, pi/2]: every observable depends on
them only through cos^2 theta and cos 2 phi (the PAS axes' signs and the sign of b0 are
arbitrary), so theta ~ pi - theta and phi ~ -phi ~ phi + pi. The error between two angles is the
distance of their folded values, the smallest difference over these symmetries; the same rule
scores the angles of predicted tensors, so both approaches are measured alike.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

#: scalar targets in the order of the study's figures, with display names and units
TARGETS = ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q")
LABELS = {"cq_tilde": "C~Q", "eta_tilde": "eta~", "theta": "theta", "phi": "phi", "omega_q": "omega_Q"}
UNITS = {"cq_tilde": "-", "eta_tilde": "-", "theta": "rad", "phi": "rad", "omega_q": "kHz"}
ANGLES = ("theta", "phi")


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
    from sagpr import nmr

    if not isinstance(stats, nmr.ReferenceStats):
        stats = nmr.ReferenceStats.from_dict(stats)
    st = stats.to(units)
    values, frames = nmr.principal_components(V, labels=labels)
    theta, phi = nmr.field_angles(V, b0, frames=frames)
    return {
        "cq_tilde": (values[:, 2] - st.mu) / st.sigma,
        "eta_tilde": (values[:, 0] - values[:, 1]) / st.mu,
        "theta": fold_theta(theta),
        "phi": fold_phi(phi),
        "omega_q": nmr.quadrupolar_frequency(V, isotope, b0, units, labels=labels),
    }


def derived_omega_q(cq_tilde, eta_tilde, theta, phi, isotope, stats, *, units: str = "au") -> np.ndarray:
    """omega_Q (kHz) from separately predicted C~Q, eta~, theta, phi ("derived-scalar").

    Vzz = mu + sigma C~Q and Vxx - Vyy = mu eta~, so
    omega_Q = 3/(2I(2I-1)) (eQ/h) [Vzz (3 cos^2 theta - 1) + (Vxx - Vyy) sin^2 theta cos 2phi] / 2.
    """
    from sagpr import nmr
    from sagpr.isotopes import get_isotope

    if not isinstance(stats, nmr.ReferenceStats):
        stats = nmr.ReferenceStats.from_dict(stats)
    st = stats.to("au")
    iso = get_isotope(isotope)
    vzz = st.mu + st.sigma * np.asarray(cq_tilde, dtype=np.float64)
    dxy = st.mu * np.asarray(eta_tilde, dtype=np.float64)
    c2 = np.cos(np.asarray(theta, dtype=np.float64)) ** 2
    angular = 0.5 * (vzz * (3.0 * c2 - 1.0) + dxy * (1.0 - c2) * np.cos(2.0 * np.asarray(phi, dtype=np.float64)))
    k = 3.0 / (2.0 * iso.spin * (2.0 * iso.spin - 1.0)) * nmr.CQ_MHZ_PER_AU_MB * iso.quadrupole_moment * 1e3
    return k * angular


# Relabellings of the principal axes (new x, y, z taken from old columns) tried for near-degenerate
# reference tensors, as sagpr.metrics does for predicted tensors: z<->y, y<->x and the two cycles.
_RELABEL = {"zy": [0, 2, 1], "yx": [1, 0, 2], "cycle1": [1, 2, 0], "cycle2": [2, 0, 1]}


def corrected_angle_errors(V_ref, theta_pred, phi_pred, *, b0=(0.0, 0.0, 1.0), degeneracy_tol: float = 0.05,
                           labels=None):
    """(theta errors, phi errors) of scalar angle predictions with the near-degenerate correction.

    Where two principal values of the reference are within `degeneracy_tol` (relative to |Vzz|)
    the axis labels are ambiguous; there the reference angles are also taken in the relabelled
    frames and the labelling that best matches the prediction (smallest summed error) is kept,
    the counterpart of the "corrected" scores of sagpr.nmr.metrics for tensors.
    """
    from sagpr import nmr

    values, frames = nmr.principal_components(V_ref, labels=labels)
    theta_r, phi_r = nmr.field_angles(V_ref, b0, frames=frames)
    et, ep = errors("theta", theta_r, theta_pred), errors("phi", phi_r, phi_pred)
    a = np.abs(values)
    vzz = np.where(a[:, 2] > 0, a[:, 2], 1.0)
    amb_zy = (a[:, 2] - a[:, 1]) / vzz < degeneracy_tol
    amb_yx = (a[:, 1] - a[:, 0]) / vzz < degeneracy_tol
    for name, cols in _RELABEL.items():
        allowed = {"zy": amb_zy, "yx": amb_yx}.get(name, amb_zy & amb_yx)
        if not allowed.any():
            continue
        idx = np.flatnonzero(allowed)
        t, p = nmr.field_angles(None, np.asarray(b0, dtype=float), frames=frames[idx][:, :, cols])
        ct, cp = errors("theta", t, np.asarray(theta_pred)[idx]), errors("phi", p, np.asarray(phi_pred)[idx])
        better = ct + cp < et[idx] + ep[idx] - 1e-12
        et[idx[better]], ep[idx[better]] = ct[better], cp[better]
    return et, ep
