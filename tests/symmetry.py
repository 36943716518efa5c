"""Shared helpers for symmetry tests: random rotations and real Wigner-D matrices.

The real Wigner-D matrix is obtained from its definition, Y_l(R r) = D^l(R) Y_l(r),
by least squares over random points, so it does not depend on any closed formula.
"""
import numpy as np
from ase import Atoms


def random_rotation(rng):
    """A uniformly random proper rotation matrix (det = +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def real_spherical_harmonics(l, points):
    """Real spherical harmonics Y_lm, m = -l..l, of unit vectors (n, 3).

    Convention (sagpr's): no Condon-Shortley phase, Y_1 = sqrt(3/4pi) (y, z, x),
    Y_2 ~ (xy, yz, 3z^2 - r^2, xz, x^2 - y^2); orthonormal on the sphere. Built from
    scipy's complex harmonics as a slow, independent reference.
    """
    from scipy.special import sph_harm_y

    x, y, z = points.T
    theta = np.arccos(np.clip(z / np.linalg.norm(points, axis=1), -1, 1))
    phi = np.arctan2(y, x)
    out = np.empty((len(points), 2 * l + 1))
    for m in range(-l, l + 1):
        ylm = sph_harm_y(l, abs(m), theta, phi)
        # scipy includes the Condon-Shortley phase (-1)^m; remove it.
        ylm = ylm * (-1) ** abs(m)
        if m < 0:
            out[:, m + l] = np.sqrt(2) * ylm.imag
        elif m == 0:
            out[:, l] = ylm.real
        else:
            out[:, m + l] = np.sqrt(2) * ylm.real
    return out


def wigner_d_real(l, rotation, rng=None):
    """Real Wigner-D matrix D with Y_l(R r) = D Y_l(r)."""
    rng = rng or np.random.default_rng(12345)
    points = rng.normal(size=(4 * (2 * l + 1) + 10, 3))
    points /= np.linalg.norm(points, axis=1)[:, None]
    y = real_spherical_harmonics(l, points)
    y_rot = real_spherical_harmonics(l, points @ rotation.T)
    d, *_ = np.linalg.lstsq(y, y_rot, rcond=None)
    return d.T


def rotated(atoms: Atoms, rotation) -> Atoms:
    """A copy with positions and cell rotated by `rotation` (r -> R r)."""
    out = atoms.copy()
    out.positions = atoms.positions @ rotation.T
    out.cell = atoms.cell.array @ rotation.T
    return out


def assert_rotates(original, rotated_values, rotation, o3_lambda, rtol=1e-10):
    """rotated_values[i] == D(R) original[i] for arrays shaped (n, 2l+1, ...)."""
    d = wigner_d_real(o3_lambda, rotation)
    expected = np.einsum("mn,in...->im...", d, original)
    scale = max(np.abs(original).max(), 1e-300)
    np.testing.assert_allclose(rotated_values, expected, rtol=0, atol=rtol * scale)
