"""NMR observables of electric field gradient (EFG) tensors, vectorised over sites.

Conventions (documented in docs/nmr.md):

- Principal values in NQR order |Vxx| <= |Vyy| <= |Vzz| of the symmetric traceless part of V;
  eta = (Vxx - Vyy) / Vzz in [0, 1] (0 where |Vzz| <= atol, e.g. cubic sites).
- Principal frames are rotation matrices with the PAS axes (x, y, z) as columns, so
  V = F diag(Vxx, Vyy, Vzz) F^T. Eigenvectors are only defined up to sign: the x and z axes are
  oriented so that their component of largest magnitude is positive, and y = z cross x
  (right-handed, det F = +1). Any of the four frames F diag(+-1, +-1, +-1) with det +1 (the D2
  frame symmetry) describes the same tensor; use orientation_agreement to compare frames.
- C_Q = e Q Vzz / h in MHz: C_Q[MHz] = 0.2349647782 * Vzz[au] * Q[mb]
  (1 au = E_h / (e a0^2) = 9.7173624292e21 V/m^2 = 97.173624292 V/A^2, CODATA 2018).
- omega_Q = 3 / (2I(2I - 1)) * C_Q * (3 cos^2 theta - 1 + eta sin^2 theta cos 2phi) / 2 in kHz,
  the first-order quadrupolar frequency, theta and phi the polar and azimuthal angles of the field
  direction b in the PAS, phi measured from the PAS x axis (smallest |V|). Equivalently
  omega_Q = 3 / (2I(2I - 1)) (e Q / h) b^T V b, which needs no eigenvectors. Texts that measure phi
  from the PAS y axis write "- eta sin^2 theta cos 2phi" (cos 2(phi + 90 deg) = -cos 2phi).
  For I = 3/2, omega_Q is half the splitting of the two satellite transitions.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .isotopes import DEFAULT_ISOTOPES, ISOTOPES, Isotope, get_isotope
from .rotations import matrix_to_quaternion, quaternion_conjugate, quaternion_multiply, quaternion_to_matrix
from .tensors import check_efg, symmetric_traceless_part

__all__ = [
    "AU_TO_V_PER_A2",
    "CQ_MHZ_PER_AU_MB",
    "Isotope",
    "ISOTOPES",
    "DEFAULT_ISOTOPES",
    "get_isotope",
    "convert_efg",
    "principal_components",
    "asymmetry",
    "principal_quaternions",
    "quadrupolar_coupling",
    "quadrupolar_frequency",
    "quadrupolar_frequency_from_angles",
    "field_angles",
    "observables",
    "normalize_units",
    "orientation_agreement",
    "align_frames",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "metrics",
    "reference_stats",
    "ReferenceStats",
    "MetricsReport",
]

# CODATA 2018: e and h exact, atomic unit of electric field gradient E_h / (e a0^2).
_E = 1.602176634e-19  # C
_H = 6.62607015e-34  # J s
_AU_EFG = 9.7173624292e21  # V / m^2
AU_TO_V_PER_A2 = _AU_EFG * 1e-20  # 97.173624292 V/A^2 per au
CQ_MHZ_PER_AU_MB = _E * 1e-31 * _AU_EFG / _H * 1e-6  # C_Q in MHz per (Vzz in au * Q in mb)

_UNIT_ALIASES = {
    "au": "au", "a.u.": "au", "a.u": "au", "atomic": "au", "atomic units": "au", "hartree/(e*bohr^2)": "au",
    "hartree/(e bohr^2)": "au", "ha/(e*bohr^2)": "au", "ha/(e bohr^2)": "au", "ha/bohr^2": "au",
    "v/a^2": "V/A^2", "v/a2": "V/A^2", "v/å^2": "V/A^2", "v/å2": "V/A^2", "v/angstrom^2": "V/A^2",
    "v/ang^2": "V/A^2", "v a^-2": "V/A^2", "v/a**2": "V/A^2",
}


def normalize_units(units: str) -> str:
    """"au" or "V/A^2" for the spellings sagpr recognises; ValueError otherwise."""
    if not isinstance(units, str) or units.strip().lower() not in _UNIT_ALIASES:
        raise ValueError(f"unknown EFG units {units!r}: use 'au' (Hartree/(e bohr^2)) or 'V/A^2'")
    return _UNIT_ALIASES[units.strip().lower()]


def convert_efg(V, from_units: str, to_units: str) -> np.ndarray:
    """EFG values converted between "au" and "V/A^2" (1 au = 97.173624292 V/A^2)."""
    a, b = normalize_units(from_units), normalize_units(to_units)
    V = np.asarray(V, dtype=np.float64)
    if a == b:
        return V.copy()
    return V * AU_TO_V_PER_A2 if a == "au" else V / AU_TO_V_PER_A2


def _eig_nqr(S: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    w, U = np.linalg.eigh(S)
    # stable sort of |w|: among equal magnitudes eigh's ascending order decides
    order = np.argsort(np.abs(w), axis=1, kind="stable")
    w = np.take_along_axis(w, order, axis=1)
    U = np.take_along_axis(U, order[:, None, :], axis=2)
    for k in (0, 2):
        col = U[:, :, k]
        big = np.take_along_axis(col, np.argmax(np.abs(col), axis=1)[:, None], axis=1)
        U[:, :, k] = col * np.where(big < 0, -1.0, 1.0)
    U[:, :, 1] = np.cross(U[:, :, 2], U[:, :, 0])
    return w, U


def principal_components(
    V, *, rtol: float = 1e-4, atol: float = 1e-8, labels: Optional[Sequence[str]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Principal values (N, 3) in NQR order (Vxx, Vyy, Vzz) and frames (N, 3, 3), PAS axes as columns.

    V (N, 3, 3) is validated by sagpr.tensors.check_efg(rtol, atol, labels) and its symmetric
    traceless part is diagonalised, so V = frames @ diag(values) @ frames^T for a valid EFG.
    """
    S = symmetric_traceless_part(check_efg(V, rtol=rtol, atol=atol, labels=labels))
    return _eig_nqr(S)


def _eta(values: np.ndarray, atol: float) -> np.ndarray:
    vzz = values[:, 2]
    zero = np.abs(vzz) <= atol
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(zero, 0.0, (values[:, 0] - values[:, 1]) / np.where(zero, 1.0, vzz))
    return np.clip(eta, 0.0, 1.0)  # only rounding can leave [0, 1] in NQR order


def asymmetry(V, *, rtol: float = 1e-4, atol: float = 1e-8, labels=None) -> np.ndarray:
    """eta = (Vxx - Vyy) / Vzz in [0, 1] per site (N,); 0 where |Vzz| <= atol (no 0/0)."""
    values, _ = principal_components(V, rtol=rtol, atol=atol, labels=labels)
    return _eta(values, atol)


def principal_quaternions(V, *, rtol: float = 1e-4, atol: float = 1e-8, labels=None) -> np.ndarray:
    """Unit quaternions (N, 4) = (w, x, y, z), w >= 0, of the principal frames (Shepperd's method)."""
    _, frames = principal_components(V, rtol=rtol, atol=atol, labels=labels)
    return matrix_to_quaternion(frames, check=False)


IsotopeSpec = Union[str, Isotope, Sequence[Union[str, Isotope]]]


def _isotopes(isotopes: IsotopeSpec, n: int, defaults) -> Tuple[np.ndarray, np.ndarray]:
    """(spin, Q in mb) arrays (n,) for one isotope or one per site."""
    if isinstance(isotopes, (str, Isotope)):
        iso = get_isotope(isotopes, defaults)
        return np.full(n, iso.spin), np.full(n, iso.quadrupole_moment)
    isotopes = list(isotopes)
    if len(isotopes) != n:
        raise ValueError(f"got {len(isotopes)} isotopes for {n} EFG tensors")
    cache = {}
    spin = np.empty(n)
    q = np.empty(n)
    for i, name in enumerate(isotopes):
        key = name if isinstance(name, Isotope) else str(name)
        if key not in cache:
            try:
                cache[key] = get_isotope(name, defaults)
            except (ValueError, TypeError) as err:
                raise type(err)(f"site {i}: {err}") from None
        spin[i] = cache[key].spin
        q[i] = cache[key].quadrupole_moment
    return spin, q


def quadrupolar_coupling(
    V,
    isotopes: IsotopeSpec,
    units: str = "au",
    *,
    defaults: Optional[Mapping[str, Union[str, Isotope]]] = None,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    labels=None,
) -> np.ndarray:
    """C_Q = e Q Vzz / h in MHz (N,), signed.

    isotopes: one label ("17O", or an element symbol meaning its default isotope, or an Isotope)
    for all sites, or a sequence with one per site. units: "au" or "V/A^2" of V. ``defaults``
    overrides the default isotope of elements, e.g. {"Ti": "49Ti"}. ``atol`` is in the units of V.
    """
    values, _ = principal_components(V, rtol=rtol, atol=atol, labels=labels)
    _, q = _isotopes(isotopes, len(values), defaults)
    vzz_au = convert_efg(values[:, 2], units, "au")
    return CQ_MHZ_PER_AU_MB * vzz_au * q


def _directions(b0, n: int) -> np.ndarray:
    b = np.asarray(b0, dtype=np.float64)
    if b.shape == (3,):
        b = np.broadcast_to(b, (n, 3))
    if b.shape != (n, 3):
        raise ValueError(f"field direction b0 must have shape (3,) or ({n}, 3), got {b.shape}")
    norm = np.linalg.norm(b, axis=1, keepdims=True)
    if not np.all(norm > 0) or not np.all(np.isfinite(norm)):
        raise ValueError("field direction b0 must be finite and non-zero")
    return b / norm


def quadrupolar_frequency(
    V,
    isotopes: IsotopeSpec,
    b0=(0.0, 0.0, 1.0),
    units: str = "au",
    *,
    defaults: Optional[Mapping[str, Union[str, Isotope]]] = None,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    labels=None,
) -> np.ndarray:
    """First-order quadrupolar frequency omega_Q in kHz (N,) for field direction b0.

    omega_Q = 3 / (2I(2I - 1)) (e Q / h) b^T V b, from the lab-frame tensor (no eigenvectors);
    equal to quadrupolar_frequency_from_angles(C_Q, eta, theta, phi, I). b0: (3,) or (N, 3).
    """
    V = check_efg(V, rtol=rtol, atol=atol, labels=labels)
    S = symmetric_traceless_part(V)
    spin, q = _isotopes(isotopes, len(S), defaults)
    b = _directions(b0, len(S))
    bvb = convert_efg(np.einsum("ni,nij,nj->n", b, S, b), units, "au")
    return 3.0 / (2.0 * spin * (2.0 * spin - 1.0)) * CQ_MHZ_PER_AU_MB * q * bvb * 1e3


def quadrupolar_frequency_from_angles(cq_mhz, eta, theta, phi, spin) -> np.ndarray:
    """omega_Q in kHz = 3/(2I(2I-1)) C_Q (3cos^2 theta - 1 + eta sin^2 theta cos 2phi) / 2.

    theta, phi in radians, phi from the PAS x axis (smallest |V|). Arrays broadcast.
    """
    cq, eta, theta, phi, spin = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (cq_mhz, eta, theta, phi, spin)))
    c2 = np.cos(theta) ** 2
    angular = 0.5 * (3.0 * c2 - 1.0 + eta * (1.0 - c2) * np.cos(2.0 * phi))
    return 3.0 / (2.0 * spin * (2.0 * spin - 1.0)) * cq * angular * 1e3


def _angles_in_frames(frames: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    bp = np.einsum("nji,nj->ni", frames, b)  # b in the PAS: F^T b
    theta = np.arccos(np.clip(bp[:, 2], -1.0, 1.0))
    phi = np.arctan2(bp[:, 1], bp[:, 0])
    # phi and phi +- pi give the same cos 2phi (x-axis sign): fold into [-pi/2, pi/2]
    phi = np.where(phi > np.pi / 2, phi - np.pi, np.where(phi < -np.pi / 2, phi + np.pi, phi))
    return theta, phi


def field_angles(
    V, b0=(0.0, 0.0, 1.0), *, frames=None, rtol: float = 1e-4, atol: float = 1e-8, labels=None
) -> Tuple[np.ndarray, np.ndarray]:
    """Polar theta in [0, pi] and azimuth phi in [-pi/2, pi/2] (radians, (N,) each) of the field
    direction b0 in each site's principal axis system; phi measured from the PAS x axis.

    theta depends on the sign of the PAS z axis (see the module's sign rule); pass ``frames`` to
    use given frames (N, 3, 3) instead of principal_components(V)'s.
    """
    if frames is None:
        _, frames = principal_components(V, rtol=rtol, atol=atol, labels=labels)
    frames = np.asarray(frames, dtype=np.float64)
    return _angles_in_frames(frames, _directions(b0, len(frames)))


def observables(
    V,
    isotopes: IsotopeSpec,
    b0=(0.0, 0.0, 1.0),
    units: str = "au",
    *,
    defaults: Optional[Mapping[str, Union[str, Isotope]]] = None,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    labels=None,
) -> dict:
    """All per-site EFG observables in one pass, as a dict of arrays (N,) unless noted:

    "vxx", "vyy", "vzz" (units of V), "eta", "cq" (MHz), "omega_q" (kHz), "theta", "phi" (degrees,
    field b0 in the PAS), "frames" (N, 3, 3) and "quaternions" (N, 4, w >= 0) of the PAS.
    """
    V = check_efg(V, rtol=rtol, atol=atol, labels=labels)
    S = symmetric_traceless_part(V)
    values, frames = _eig_nqr(S)
    spin, q = _isotopes(isotopes, len(S), defaults)
    b = _directions(b0, len(S))
    theta, phi = _angles_in_frames(frames, b)
    bvb = convert_efg(np.einsum("ni,nij,nj->n", b, S, b), units, "au")
    return {
        "vxx": values[:, 0],
        "vyy": values[:, 1],
        "vzz": values[:, 2],
        "eta": _eta(values, atol),
        "cq": CQ_MHZ_PER_AU_MB * convert_efg(values[:, 2], units, "au") * q,
        "omega_q": 3.0 / (2.0 * spin * (2.0 * spin - 1.0)) * CQ_MHZ_PER_AU_MB * q * bvb * 1e3,
        "theta": np.degrees(theta),
        "phi": np.degrees(phi),
        "frames": frames,
        "quaternions": matrix_to_quaternion(frames, check=False),
    }


# Post-multiplying a frame by a rotation of pi about its x, y or z axis: the D2 frame symmetry.
_D2_SIGNS = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])


def _proper(frames, name) -> np.ndarray:
    """Orthonormal frames (N, 3, 3) made proper: det -1 frames get their third column negated
    (for an eigenvector frame every such choice is equivalent under the D2 symmetry)."""
    F = np.array(frames, dtype=np.float64)
    if F.ndim != 3 or F.shape[1:] != (3, 3):
        raise ValueError(f"{name} must have shape (N, 3, 3), got {F.shape}")
    F[np.linalg.det(F) < 0, :, 2] *= -1.0
    return F


def orientation_agreement(frames_ref, frames_pred, *, return_index: bool = False):
    """Quaternion agreement q~ in [0.5, 1] (N,) of two sets of principal frames (N, 3, 3).

    q~ = max over the D2 frame symmetry of |q_ref . (q_pred (x) g)| = max_k |(q_ref* (x) q_pred)_k|:
    right-multiplying q_pred by g in {1, i, j, k} (a pi rotation about a PAS axis) permutes the
    components of the relative quaternion up to sign, so q~ is the largest of its four components.
    It is the cosine of half the smallest misorientation angle, invariant to eigenvector sign flips
    of either frame (frames with det -1, e.g. raw eigenvector matrices, are accepted and made proper by
    negating their third column). With return_index, also the D2 element k (0: identity, 1/2/3: pi about x/y/z)
    that aligns frames_pred with frames_ref.
    """
    q_ref = matrix_to_quaternion(_proper(frames_ref, "frames_ref"))
    q_pred = matrix_to_quaternion(_proper(frames_pred, "frames_pred"))
    rel = np.abs(quaternion_multiply(quaternion_conjugate(q_ref), q_pred))
    k = np.argmax(rel, axis=-1)
    qt = np.minimum(np.take_along_axis(rel, k[..., None], axis=-1)[..., 0], 1.0)
    return (qt, k) if return_index else qt


def align_frames(frames_ref, frames_pred) -> np.ndarray:
    """frames_pred (N, 3, 3) with axis signs flipped (det kept +1) to be closest to frames_ref."""
    frames_pred = _proper(frames_pred, "frames_pred")
    _, k = orientation_agreement(frames_ref, frames_pred, return_index=True)
    return frames_pred * _D2_SIGNS[k][:, None, :]


def __getattr__(name):
    # the metrics live in their own module; sagpr.nmr.metrics(...) is the public name
    if name in ("metrics", "reference_stats", "ReferenceStats", "MetricsReport"):
        from . import metrics as _metrics_module

        return getattr(_metrics_module, name)
    raise AttributeError(f"module 'sagpr.nmr' has no attribute {name!r}")
