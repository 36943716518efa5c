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

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .isotopes import DEFAULT_ISOTOPES, ISOTOPES, Isotope, get_isotope
from .rotations import matrix_to_quaternion, quaternion_conjugate, quaternion_multiply, quaternion_to_matrix
from .tensors import check_efg, symmetric_traceless_part
from .units import AU_TO_V_PER_A2, CQ_MHZ_PER_AU_MB, convert_efg, efg_factor, normalize_units

__all__ = [
    "AU_TO_V_PER_A2",
    "CQ_MHZ_PER_AU_MB",
    "Isotope",
    "ISOTOPES",
    "DEFAULT_ISOTOPES",
    "get_isotope",
    "convert_efg",
    "normalize_units",
    "principal_components",
    "asymmetry",
    "principal_quaternions",
    "omega_q_prefactor",
    "quadrupolar_coupling",
    "quadrupolar_frequency",
    "quadrupolar_frequency_from_angles",
    "quadrupolar_frequency_from_principal",
    "field_angles",
    "observables",
    "ReferenceStats",
    "reference_stats",
    "normalized_observables",
    "principal_from_normalized",
    "AXIS_RELABELLINGS",
    "DEGENERACY_TOL",
    "degeneracy_gaps",
    "ambiguous_axes",
    "axis_relabellings",
    "orientation_agreement",
    "align_frames",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
]


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


def omega_q_prefactor(spin):
    """3 / (2I(2I - 1)), the spin factor of the first-order quadrupolar frequency:
    omega_Q = 3 / (2I(2I - 1)) (e Q / h) b^T V b. I = 1: 3/2; 3/2 (7Li): 1/2; 5/2 (17O, 27Al): 3/20;
    7/2: 1/14. A float for a scalar spin, else an array of the same shape."""
    spin = np.asarray(spin, dtype=np.float64)
    out = 3.0 / (2.0 * spin * (2.0 * spin - 1.0))
    return float(out) if out.ndim == 0 else out


def _cq_mhz(vzz_au, q) -> np.ndarray:
    """C_Q in MHz of Vzz in au and Q in mb."""
    return CQ_MHZ_PER_AU_MB * vzz_au * q


def _omega_q_khz(bvb_au, spin, q) -> np.ndarray:
    """omega_Q in kHz of b^T V b in au, spin I and Q in mb."""
    return omega_q_prefactor(spin) * CQ_MHZ_PER_AU_MB * q * bvb_au * 1e3


def _angular(theta, phi, vzz, vxx_minus_vyy) -> np.ndarray:
    """b^T V b = [Vzz (3 cos^2 theta - 1) + (Vxx - Vyy) sin^2 theta cos 2phi] / 2 for b at (theta, phi) in the PAS."""
    c2 = np.cos(theta) ** 2
    return 0.5 * (vzz * (3.0 * c2 - 1.0) + vxx_minus_vyy * (1.0 - c2) * np.cos(2.0 * phi))


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
    return _cq_mhz(vzz_au, q)


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
    return _omega_q_khz(bvb, spin, q)


def quadrupolar_frequency_from_angles(cq_mhz, eta, theta, phi, spin) -> np.ndarray:
    """omega_Q in kHz = 3/(2I(2I-1)) C_Q (3cos^2 theta - 1 + eta sin^2 theta cos 2phi) / 2.

    theta, phi in radians, phi from the PAS x axis (smallest |V|). Arrays broadcast.
    """
    cq, eta, theta, phi, spin = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (cq_mhz, eta, theta, phi, spin)))
    return omega_q_prefactor(spin) * cq * _angular(theta, phi, 1.0, eta) * 1e3


def quadrupolar_frequency_from_principal(
    vzz, vxx_minus_vyy, theta, phi, isotopes: IsotopeSpec, units: str = "au", *, defaults=None
) -> np.ndarray:
    """omega_Q in kHz from the principal values Vzz and Vxx - Vyy (units of V) and the field angles
    theta, phi (radians, phi from the PAS x axis); arrays broadcast. Needs no division by Vzz:
    omega_Q = 3/(2I(2I-1)) (eQ/h) [Vzz (3 cos^2 theta - 1) + (Vxx - Vyy) sin^2 theta cos 2phi] / 2.
    isotopes: one label for all values or one per value (flattened order)."""
    vzz, dxy, theta, phi = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (vzz, vxx_minus_vyy, theta, phi))
    )
    spin, q = _isotopes(isotopes, vzz.size, defaults)
    bvb = _angular(theta, phi, convert_efg(vzz, units, "au"), convert_efg(dxy, units, "au"))
    return _omega_q_khz(bvb, spin.reshape(vzz.shape), q.reshape(vzz.shape))


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

    A tensor with |V_zz| <= atol (zero, e.g. a site of cubic symmetry or an isolated atom) has no
    principal axes: its theta and phi are NaN (undefined, not 0), its eta is 0 by convention and
    its frame is arbitrary.
    """
    V = check_efg(V, rtol=rtol, atol=atol, labels=labels)
    S = symmetric_traceless_part(V)
    values, frames = _eig_nqr(S)
    spin, q = _isotopes(isotopes, len(S), defaults)
    b = _directions(b0, len(S))
    theta, phi = _angles_in_frames(frames, b)
    no_axes = np.abs(values[:, 2]) <= atol
    theta[no_axes] = phi[no_axes] = np.nan
    bvb = convert_efg(np.einsum("ni,nij,nj->n", b, S, b), units, "au")
    return {
        "vxx": values[:, 0],
        "vyy": values[:, 1],
        "vzz": values[:, 2],
        "eta": _eta(values, atol),
        "cq": _cq_mhz(convert_efg(values[:, 2], units, "au"), q),
        "omega_q": _omega_q_khz(bvb, spin, q),
        "theta": np.degrees(theta),
        "phi": np.degrees(phi),
        "frames": frames,
        "quaternions": matrix_to_quaternion(frames, check=False),
    }


# ---------------------------------------------------------------- normalised observables
@dataclass(frozen=True)
class ReferenceStats:
    """mu and sigma of |Vzz| over a reference set, in `units`; store with to_dict()/to_json()."""

    mu: float
    sigma: float
    units: str = "au"
    n_sites: int = 0

    def __post_init__(self):
        object.__setattr__(self, "units", normalize_units(self.units))
        if not (np.isfinite(self.mu) and self.mu > 0 and np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"reference statistics need mu > 0 and sigma > 0, got mu={self.mu}, sigma={self.sigma}")

    def to(self, units: str) -> "ReferenceStats":
        f = efg_factor(self.units, units)
        return ReferenceStats(self.mu * f, self.sigma * f, units, self.n_sites)

    def to_dict(self) -> dict:
        return {"mu": self.mu, "sigma": self.sigma, "units": self.units, "n_sites": self.n_sites}

    @classmethod
    def from_dict(cls, d: Mapping) -> "ReferenceStats":
        return cls(float(d["mu"]), float(d["sigma"]), d.get("units", "au"), int(d.get("n_sites", 0)))

    @classmethod
    def coerce(cls, stats: Union["ReferenceStats", Mapping]) -> "ReferenceStats":
        """`stats` itself if a ReferenceStats, else ReferenceStats.from_dict(stats)."""
        return stats if isinstance(stats, cls) else cls.from_dict(stats)


def _stats_of_values(values: np.ndarray, units: str) -> ReferenceStats:
    a = np.abs(values[:, 2])
    return ReferenceStats(float(a.mean()), float(a.std()), units, len(a))


def reference_stats(V_ref, units: str = "au", *, rtol: float = 1e-4, atol: float = 1e-8, labels=None) -> ReferenceStats:
    """mu and sigma (population standard deviation) of |Vzz| over reference tensors (N, 3, 3)."""
    values, _ = principal_components(V_ref, rtol=rtol, atol=atol, labels=labels)
    return _stats_of_values(values, units)


def normalized_observables(values, stats: Union[ReferenceStats, Mapping], units: str = "au") -> Tuple[np.ndarray, np.ndarray]:
    """(C~Q, eta~) = ((Vzz - mu) / sigma, (Vxx - Vyy) / mu) of principal values (N, 3) in NQR order
    (units `units`), mu and sigma of |Vzz| from `stats` (a ReferenceStats or its dict, converted)."""
    st = ReferenceStats.coerce(stats).to(units)
    values = np.asarray(values, dtype=np.float64)
    return (values[:, 2] - st.mu) / st.sigma, (values[:, 0] - values[:, 1]) / st.mu


def principal_from_normalized(cq_tilde, eta_tilde, stats: Union[ReferenceStats, Mapping], units: str = "au") -> Tuple[np.ndarray, np.ndarray]:
    """The inverse of normalized_observables: (Vzz, Vxx - Vyy) = (mu + sigma C~Q, mu eta~) in `units`."""
    st = ReferenceStats.coerce(stats).to(units)
    return st.mu + st.sigma * np.asarray(cq_tilde, dtype=np.float64), st.mu * np.asarray(eta_tilde, dtype=np.float64)


# ---------------------------------------------------------------- sign conventions
#: "signed": observables of the tensor as it is. "positive" (Harper et al. 2025, computational
#: details): each tensor taken with its largest-magnitude principal value V_ZZ positive, i.e.
#: V -> sign(V_ZZ) V, for reference and prediction alike. The sign of C_Q is not seen by a
#: powder spectrum or by |omega_Q|-based observables, so the study fixes it to keep DFT and ML
#: eigenvalue signs consistent; it flips C_Q, eta~ and omega_Q of negative tensors and leaves eta,
#: the principal axes (theta, phi) and q~ unchanged.
SIGN_CONVENTIONS = ("signed", "positive")


def with_sign_convention(V, convention: str = "signed") -> np.ndarray:
    """EFGs (N, 3, 3) under `convention` ("signed": unchanged; "positive": V_ZZ made positive)."""
    if convention not in SIGN_CONVENTIONS:
        raise ValueError(f"sign convention must be one of {', '.join(SIGN_CONVENTIONS)}, got {convention!r}")
    V = np.asarray(V, dtype=np.float64)
    if convention == "signed":
        return V
    S = symmetric_traceless_part(V)
    values = np.linalg.eigvalsh(S)  # ascending: V_ZZ is the first or the last
    vzz = np.where(np.abs(values[:, 0]) > np.abs(values[:, 2]), values[:, 0], values[:, 2])
    return V * np.where(vzz < 0, -1.0, 1.0)[:, None, None]


# ---------------------------------------------------------------- near-degenerate principal axes
#: default relative gap below which two principal values count as near-degenerate
DEGENERACY_TOL = 0.05

#: Relabellings of the principal axes tried where two principal values are nearly equal in
#: magnitude (their NQR labels are then ambiguous), in the order they are tried:
#: name -> (old columns that become the new x, y, z; signs applied to the new columns, keeping
#: det +1). "zy" is allowed where |Vzz| ~ |Vyy|, "yx" where |Vyy| ~ |Vxx|, the cycles where both.
AXIS_RELABELLINGS: Mapping[str, Tuple[Tuple[int, int, int], Tuple[float, float, float]]] = MappingProxyType({
    "zy": ((0, 2, 1), (-1.0, 1.0, 1.0)),
    "yx": ((1, 0, 2), (1.0, 1.0, -1.0)),
    "cycle1": ((1, 2, 0), (1.0, 1.0, 1.0)),
    "cycle2": ((2, 0, 1), (1.0, 1.0, 1.0)),
})


def degeneracy_gaps(values) -> Tuple[np.ndarray, np.ndarray]:
    """Relative gaps ((|Vzz| - |Vyy|) / |Vzz|, (|Vyy| - |Vxx|) / |Vzz|) of principal values (N, 3)
    in NQR order, each in [0, 1]; both 0 where Vzz = 0."""
    a = np.abs(np.asarray(values, dtype=np.float64))
    vzz = a[:, 2]
    safe = np.where(vzz > 0, vzz, 1.0)
    zy = np.where(vzz > 0, (a[:, 2] - a[:, 1]) / safe, 0.0)
    yx = np.where(vzz > 0, (a[:, 1] - a[:, 0]) / safe, 0.0)
    return zy, yx


def ambiguous_axes(values, tol: float) -> Tuple[np.ndarray, np.ndarray]:
    """(z/y ambiguous, y/x ambiguous) boolean masks (N,): the relative gaps below `tol`."""
    zy, yx = degeneracy_gaps(values)
    return zy < tol, yx < tol


def axis_relabellings(ambiguous_zy, ambiguous_yx):
    """For each of AXIS_RELABELLINGS allowed at some site, in order: (name, site indices, columns,
    signs); relabel frames F as F[idx][:, :, columns] * signs and principal values as
    values[idx][:, columns]."""
    zy, yx = np.asarray(ambiguous_zy, dtype=bool), np.asarray(ambiguous_yx, dtype=bool)
    for name, (cols, signs) in AXIS_RELABELLINGS.items():
        allowed = zy if name == "zy" else yx if name == "yx" else zy & yx
        idx = np.flatnonzero(allowed)
        if idx.size:
            yield name, idx, list(cols), np.array(signs)


# ---------------------------------------------------------------- frames
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
    # scoring compares two sets of tensors: it lives in sagpr.metrics, which imports this module (never the reverse)
    if name in ("metrics", "MetricsReport"):
        raise AttributeError(f"sagpr.nmr.{name} is now sagpr.metrics.{name} (e.g. sagpr.metrics.metrics(V_ref, V_pred, '7Li'))")
    raise AttributeError(f"module 'sagpr.nmr' has no attribute {name!r}")
