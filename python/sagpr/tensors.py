"""Irreducible spherical components of Cartesian rank-2 tensors, and EFG validation.

A rank-2 tensor T (3x3) splits into a trace part (lambda=0), an antisymmetric part (lambda=1)
and a symmetric traceless part (lambda=2). Components are orthonormal: the Frobenius norm of
each Cartesian part equals the Euclidean norm of its components, so the sum of squares is kept.

Convention (shared with sagpr.LambdaSOAP, the real spherical harmonics without Condon-Shortley
phase, m = -lambda..lambda):

- lambda=0: tr(T)/sqrt(3)
- lambda=1: order (y, z, x) of the axial vector w of the antisymmetric part A = (T - T^T)/2,
  A = [w]_x (A v = w x v), scaled by sqrt(2): sqrt(2) * (w_y, w_z, w_x)
  = ((T_xz - T_zx), (T_yx - T_xy), (T_zy - T_yz)) / sqrt(2).
- lambda=2: (sqrt2 T_xy, sqrt2 T_yz, (2T_zz - T_xx - T_yy)/sqrt6, sqrt2 T_xz, (T_xx - T_yy)/sqrt2),
  i.e. m order (xy, yz, 3z^2-r^2, xz, x^2-y^2), the basis of TENSOAP.

With this convention, rotating T -> R T R^T multiplies the lambda components by the real
Wigner-D matrix D^lambda(R) that rotates the lambda-SOAP features (tested in tests/test_tensors.py).

All functions are vectorised over a leading site axis: T is (N, 3, 3) (any leading shape works).
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    "cartesian_to_spherical",
    "spherical_to_cartesian",
    "symmetric_traceless_to_l2",
    "l2_to_symmetric_traceless",
    "symmetric_traceless_part",
    "rotate_cartesian",
    "check_efg",
]

_S2 = np.sqrt(2.0)
_S3 = np.sqrt(3.0)
_S6 = np.sqrt(6.0)


def _as_tensors(T, name="T") -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim < 2 or T.shape[-2:] != (3, 3):
        raise ValueError(f"{name} must have shape (N, 3, 3), got {T.shape}")
    return T


def _as_components(c, o3_lambda: int) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    n = 2 * o3_lambda + 1
    if c.ndim < 1 or c.shape[-1] != n:
        raise ValueError(f"lambda={o3_lambda} components must have shape (N, {n}), got {c.shape}")
    return c


def symmetric_traceless_to_l2(T) -> np.ndarray:
    """The 5 lambda=2 components (N, 5) of the symmetric traceless part of T (N, 3, 3)."""
    T = _as_tensors(T)
    S = 0.5 * (T + np.swapaxes(T, -1, -2))
    out = np.empty(T.shape[:-2] + (5,))
    out[..., 0] = _S2 * S[..., 0, 1]
    out[..., 1] = _S2 * S[..., 1, 2]
    out[..., 2] = (2.0 * S[..., 2, 2] - S[..., 0, 0] - S[..., 1, 1]) / _S6
    out[..., 3] = _S2 * S[..., 0, 2]
    out[..., 4] = (S[..., 0, 0] - S[..., 1, 1]) / _S2
    return out


def l2_to_symmetric_traceless(c) -> np.ndarray:
    """The symmetric traceless tensors (N, 3, 3) with lambda=2 components c (N, 5)."""
    c = _as_components(c, 2)
    T = np.empty(c.shape[:-1] + (3, 3))
    zz = 2.0 * c[..., 2] / _S6
    T[..., 0, 0] = -0.5 * zz + c[..., 4] / _S2
    T[..., 1, 1] = -0.5 * zz - c[..., 4] / _S2
    T[..., 2, 2] = zz
    T[..., 0, 1] = T[..., 1, 0] = c[..., 0] / _S2
    T[..., 1, 2] = T[..., 2, 1] = c[..., 1] / _S2
    T[..., 0, 2] = T[..., 2, 0] = c[..., 3] / _S2
    return T


def cartesian_to_spherical(T) -> Dict[int, np.ndarray]:
    """Irreducible components {0: (N, 1), 1: (N, 3), 2: (N, 5)} of tensors T (N, 3, 3)."""
    T = _as_tensors(T)
    l0 = (np.trace(T, axis1=-2, axis2=-1) / _S3)[..., None]
    l1 = np.stack(
        [
            T[..., 0, 2] - T[..., 2, 0],
            T[..., 1, 0] - T[..., 0, 1],
            T[..., 2, 1] - T[..., 1, 2],
        ],
        axis=-1,
    ) / _S2
    return {0: l0, 1: l1, 2: symmetric_traceless_to_l2(T)}


def spherical_to_cartesian(parts: Mapping[int, np.ndarray]) -> np.ndarray:
    """Cartesian tensors (N, 3, 3) from irreducible components; missing lambdas are zero.

    Inverse of cartesian_to_spherical: ``spherical_to_cartesian(cartesian_to_spherical(T)) == T``.
    """
    unknown = set(parts) - {0, 1, 2}
    if unknown:
        raise ValueError(f"rank-2 tensors only have lambda = 0, 1, 2; got keys {sorted(unknown)}")
    if not parts:
        raise ValueError("spherical_to_cartesian needs at least one of the lambda = 0, 1, 2 parts")
    arrays = {lam: _as_components(c, lam) for lam, c in parts.items()}
    shapes = {c.shape[:-1] for c in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"the lambda parts disagree on the number of sites: {sorted(shapes)}")
    lead = shapes.pop()
    T = np.zeros(lead + (3, 3))
    if 0 in arrays:
        iso = arrays[0][..., 0] / _S3
        for i in range(3):
            T[..., i, i] += iso
    if 1 in arrays:
        # w = (w_x, w_y, w_z) from the (y, z, x) components, A = [w]_x
        wy, wz, wx = np.moveaxis(arrays[1], -1, 0) / _S2
        T[..., 0, 1] -= wz
        T[..., 1, 0] += wz
        T[..., 0, 2] += wy
        T[..., 2, 0] -= wy
        T[..., 1, 2] -= wx
        T[..., 2, 1] += wx
    if 2 in arrays:
        T += l2_to_symmetric_traceless(arrays[2])
    return T


def symmetric_traceless_part(T) -> np.ndarray:
    """(T + T^T)/2 - tr(T)/3 * I, for tensors (N, 3, 3)."""
    T = _as_tensors(T)
    S = 0.5 * (T + np.swapaxes(T, -1, -2))
    tr = np.trace(S, axis1=-2, axis2=-1) / 3.0
    return S - tr[..., None, None] * np.eye(3)


def rotate_cartesian(T, R) -> np.ndarray:
    """R T R^T for tensors T (N, 3, 3) and one rotation (3, 3) or one per site (N, 3, 3)."""
    T = _as_tensors(T)
    R = _as_tensors(R, "R")
    return R @ T @ np.swapaxes(R, -1, -2)


def remove_print_rounding(V, half_step: float, where: str, units: str = "") -> "tuple[np.ndarray, float]":
    """EFGs read from a file that prints them rounded (to +-`half_step`), made symmetric and traceless.

    Rounding each printed component by at most `half_step` leaves an antisymmetric part of at most
    `half_step` and a trace of at most 3 `half_step`: those are removed. Anything larger is not
    rounding, and is an error naming the atom. Returns (V, largest change of any component).
    """
    V = _as_tensors(V)
    antisym = 0.5 * (V - np.swapaxes(V, 1, 2))
    trace = np.trace(V, axis1=1, axis2=2)
    slack = 1e-9 * max(1.0, float(np.abs(V).max(initial=0.0)))
    bad = np.flatnonzero(np.abs(antisym).max(axis=(1, 2)) > half_step + slack)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{where}: atom {i}: EFG tensor is not symmetric (max |V - V^T| / 2 = "
                         f"{np.abs(antisym[i]).max():.4g} {units}, beyond the print precision {half_step:g})".replace("  ", " "))
    bad = np.flatnonzero(np.abs(trace) > 3 * half_step + slack)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{where}: atom {i}: EFG trace {trace[i]:.4g} {units} exceeds the print precision "
                         f"(3 x {half_step:g}): not rounding".replace("  ", " "))
    out = V - antisym - trace[:, None, None] * np.eye(3) / 3.0
    return out, float(np.abs(out - V).max(initial=0.0))


def check_efg(
    V,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    labels: Optional[Sequence[str]] = None,
) -> np.ndarray:
    """Validate EFG tensors (N, 3, 3): finite, symmetric and traceless within tolerance.

    A site passes when max|V - V^T| and |tr V| are both <= rtol * ||V||_F + atol (atol in the
    units of V; it lets numerically-zero tensors such as cubic sites pass). Returns V as a
    float64 array of shape (N, 3, 3); a single (3, 3) tensor is accepted as N = 1.
    Raises ValueError naming the first bad site (by ``labels[i]`` if given, else its index).
    """
    V = np.asarray(V, dtype=np.float64)
    if V.shape == (3, 3):
        V = V[None]
    if V.ndim != 3 or V.shape[1:] != (3, 3):
        raise ValueError(f"EFG tensors must have shape (N, 3, 3), got {V.shape}")
    if labels is not None and len(labels) != len(V):
        raise ValueError(f"got {len(labels)} labels for {len(V)} EFG tensors")

    def name(i):
        return f"site {i}" + (f" ({labels[i]})" if labels is not None else "")

    finite = np.isfinite(V).all(axis=(1, 2))
    if not finite.all():
        raise ValueError(f"{name(int(np.flatnonzero(~finite)[0]))}: EFG tensor has non-finite entries")
    norm = np.linalg.norm(V, axis=(1, 2))
    limit = rtol * norm + atol
    asym = np.abs(V - V.transpose(0, 2, 1)).max(axis=(1, 2))
    bad = np.flatnonzero(asym > limit)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name(i)}: EFG tensor is not symmetric (max |V - V^T| = {asym[i]:.3g}, "
            f"allowed {limit[i]:.3g} = rtol {rtol:g} * |V| {norm[i]:.3g} + atol {atol:g})"
        )
    trace = np.abs(np.trace(V, axis1=1, axis2=2))
    bad = np.flatnonzero(trace > limit)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name(i)}: EFG tensor is not traceless (|tr V| = {trace[i]:.3g}, "
            f"allowed {limit[i]:.3g} = rtol {rtol:g} * |V| {norm[i]:.3g} + atol {atol:g})"
        )
    return V
