"""Unit quaternions <-> rotation matrices, vectorised over a leading axis.

Quaternions are (w, x, y, z) with w >= 0 (q and -q are the same rotation; w >= 0 picks one,
and when w == 0 the first non-zero component is made positive). The rotation matrix of q is the
active rotation v -> q v q*. Matrix -> quaternion uses Shepperd's method (J. Guidance Control 1,
223 (1978)): take the square root of the largest of (1 + tr R, 1 + 2R_ii - tr R), which is always
>= 1, so the division that follows is well conditioned.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "quaternion_multiply",
    "quaternion_conjugate",
    "check_rotations",
]


def check_rotations(R, *, atol: float = 1e-8, name: str = "rotation") -> np.ndarray:
    """R as float64 (N, 3, 3) proper rotations; ValueError naming the first bad one."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim < 2 or R.shape[-2:] != (3, 3):
        raise ValueError(f"{name} matrices must have shape (N, 3, 3), got {R.shape}")
    flat = R.reshape(-1, 3, 3)
    err = np.abs(flat @ flat.transpose(0, 2, 1) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(flat)
    bad = np.flatnonzero(~(err <= atol) | ~(np.abs(det - 1.0) <= atol))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name} {i} is not a proper rotation (|R R^T - 1| = {err[i]:.3g}, det = {det[i]:.6g})"
        )
    return R


def _canonical_sign(q: np.ndarray) -> np.ndarray:
    # w >= 0; for w == 0 the first non-zero component decides, so the choice is deterministic.
    nonzero = np.abs(q) > 0
    first = np.argmax(nonzero, axis=-1)
    lead = np.take_along_axis(q, first[..., None], axis=-1)[..., 0]
    return q * np.where(lead < 0, -1.0, 1.0)[..., None]


def matrix_to_quaternion(R, *, check: bool = True) -> np.ndarray:
    """Unit quaternions (N, 4) = (w, x, y, z), w >= 0, of proper rotation matrices R (N, 3, 3)."""
    R = check_rotations(R) if check else np.asarray(R, dtype=np.float64)
    lead = R.shape[:-2]
    R = R.reshape(-1, 3, 3)
    tr = np.trace(R, axis1=1, axis2=2)
    d = np.stack([tr, R[:, 0, 0], R[:, 1, 1], R[:, 2, 2]], axis=1)
    pick = np.argmax(d, axis=1)
    q = np.empty((len(R), 4))
    # Each branch: the largest component from a square root, the others from off-diagonal sums.
    for k in range(4):
        sel = pick == k
        if not sel.any():
            continue
        r = R[sel]
        t = tr[sel]
        if k == 0:
            s = np.sqrt(1.0 + t) * 2.0  # s = 4 w
            q[sel] = np.stack(
                [s / 4, (r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s, (r[:, 1, 0] - r[:, 0, 1]) / s],
                axis=1,
            )
        elif k == 1:
            s = np.sqrt(1.0 + 2 * r[:, 0, 0] - t) * 2.0  # s = 4 x
            q[sel] = np.stack(
                [(r[:, 2, 1] - r[:, 1, 2]) / s, s / 4, (r[:, 0, 1] + r[:, 1, 0]) / s, (r[:, 0, 2] + r[:, 2, 0]) / s],
                axis=1,
            )
        elif k == 2:
            s = np.sqrt(1.0 + 2 * r[:, 1, 1] - t) * 2.0  # s = 4 y
            q[sel] = np.stack(
                [(r[:, 0, 2] - r[:, 2, 0]) / s, (r[:, 0, 1] + r[:, 1, 0]) / s, s / 4, (r[:, 1, 2] + r[:, 2, 1]) / s],
                axis=1,
            )
        else:
            s = np.sqrt(1.0 + 2 * r[:, 2, 2] - t) * 2.0  # s = 4 z
            q[sel] = np.stack(
                [(r[:, 1, 0] - r[:, 0, 1]) / s, (r[:, 0, 2] + r[:, 2, 0]) / s, (r[:, 1, 2] + r[:, 2, 1]) / s, s / 4],
                axis=1,
            )
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return _canonical_sign(q).reshape(lead + (4,))


def quaternion_to_matrix(q) -> np.ndarray:
    """Rotation matrices (N, 3, 3) of quaternions (N, 4) = (w, x, y, z) (normalised first)."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim < 1 or q.shape[-1] != 4:
        raise ValueError(f"quaternions must have shape (N, 4), got {q.shape}")
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if not np.all(norm > 0) or not np.all(np.isfinite(norm)):
        raise ValueError("quaternions must be finite and non-zero")
    w, x, y, z = np.moveaxis(q / norm, -1, 0)
    R = np.empty(q.shape[:-1] + (3, 3))
    R[..., 0, 0] = 1 - 2 * (y * y + z * z)
    R[..., 0, 1] = 2 * (x * y - w * z)
    R[..., 0, 2] = 2 * (x * z + w * y)
    R[..., 1, 0] = 2 * (x * y + w * z)
    R[..., 1, 1] = 1 - 2 * (x * x + z * z)
    R[..., 1, 2] = 2 * (y * z - w * x)
    R[..., 2, 0] = 2 * (x * z - w * y)
    R[..., 2, 1] = 2 * (y * z + w * x)
    R[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return R


def quaternion_multiply(a, b) -> np.ndarray:
    """Hamilton product a (x) b of quaternions (..., 4); R(a (x) b) = R(a) R(b)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quaternion_conjugate(q) -> np.ndarray:
    """q* = (w, -x, -y, -z): the inverse rotation of a unit quaternion."""
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])
