"""Cartesian tensors of rank 1 to 4 and their irreducible spherical parts (lambda, sigma).

A rank-n Cartesian tensor is an element of (l=1)^(x n). Its indices are coupled one at a time,
left to right: the first pair as in :mod:`sagpr.tensors` (lambda 0, 1, 2 of a rank-2 tensor, the
convention shared with the EFG models), then each further index with the real Clebsch-Gordan
coefficients of (L x 1 -> L') (:func:`sagpr.descriptors.real_clebsch_gordan`, proper and
improper couplings). A part is named by its coupling path, the tuple of the L's after each
index, e.g. (1, 2, 3) for the lambda = 3 part of a rank-3 tensor reached through L = 2; the last
entry is its lambda. The map from the 3^n Cartesian components to all parts is orthogonal, so
sums of squares are kept and recomposition is exact (to round-off).

Parity: under an improper rotation R = -R' (R' proper) a polar rank-n tensor takes a factor
(-1)^n on top of the rotation, so its lambda part rotates as D^lambda(R') times
sigma (-1)^lambda with sigma = (-1)^(n + lambda): sigma = +1 parts transform like Y_lambda
(learnable from proper lambda-SOAP features), sigma = -1 parts (the lambda = 2 part of a rank-3
polar tensor, the lambda = 1 antisymmetric part of a rank-2 one) need the pseudotensor features
of LambdaSOAP.compute_parts (l1 + l2 + lambda odd). Under a proper rotation every part rotates
with D^lambda(R) (sagpr's real harmonics: Y_1 ~ (y, z, x)).

Coupling-scheme reference: e.g. Stone, Molecular Physics 29, 1461 (1975) (reduction of Cartesian
tensors by successive coupling); TENSOAP's irreducible decomposition of alpha, beta, gamma
(Wilkins et al., PNAS 116, 3401 (2019)).

    >>> import numpy as np
    >>> from sagpr import cartesian
    >>> beta = np.random.default_rng(0).normal(size=(5, 3, 3, 3))
    >>> parts = cartesian.cartesian_to_spherical(beta, rank=3)
    >>> sorted(parts)
    [(1, 0, 1), (1, 1, 0), (1, 1, 1), (1, 1, 2), (1, 2, 1), (1, 2, 2), (1, 2, 3)]
    >>> np.allclose(cartesian.spherical_to_cartesian(parts, rank=3), beta)
    True
"""
from __future__ import annotations

import functools
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

__all__ = [
    "MAX_RANK",
    "coupling_paths",
    "path_sigma",
    "basis",
    "cartesian_to_spherical",
    "spherical_to_cartesian",
    "rotate_cartesian",
    "as_cartesian",
]

#: largest rank handled (gamma, the second hyperpolarizability, is rank 4)
MAX_RANK = 4

Path = Tuple[int, ...]


def _check_rank(rank) -> int:
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= MAX_RANK:
        raise ValueError(f"rank must be an integer from 1 to {MAX_RANK}, got {rank!r}")
    return int(rank)


def coupling_paths(rank: int) -> Tuple[Path, ...]:
    """Every coupling path of a rank-n tensor, e.g. rank 2: ((1, 0), (1, 1), (1, 2))."""
    rank = _check_rank(rank)
    paths = [(1,)]
    for _ in range(rank - 1):
        paths = [p + (L,) for p in paths for L in range(abs(p[-1] - 1), p[-1] + 2)]
    return tuple(paths)


def path_sigma(path: Sequence[int]) -> int:
    """sigma = (-1)^(rank + lambda) of the part a path leads to (polar tensors)."""
    return 1 if (len(path) + path[-1]) % 2 == 0 else -1


@functools.lru_cache(maxsize=None)
def _bases(rank: int) -> Dict[Path, np.ndarray]:
    from sagpr import descriptors, tensors

    # rank 1: the spherical components of a vector are (v_y, v_z, v_x)
    p1 = np.zeros((3, 3))
    p1[0, 1] = p1[1, 2] = p1[2, 0] = 1.0
    if rank == 1:
        return {(1,): p1}
    # rank 2: tensors.cartesian_to_spherical of the 9 unit tensors, so both modules agree
    units = np.eye(9).reshape(9, 3, 3)
    out = {(1, lam): np.ascontiguousarray(c.T) for lam, c in tensors.cartesian_to_spherical(units).items()}
    for _ in range(rank - 2):
        grown = {}
        for path, b in out.items():
            L = path[-1]
            for L2 in range(abs(L - 1), L + 2):
                cg = descriptors.real_clebsch_gordan(L, 1, L2)  # (2L2+1, 2L+1, 3)
                # new[mu, (I, j)] = sum_{m, m'} C[mu, m, m'] b[m, I] p1[m', j]
                grown[path + (L2,)] = np.einsum("umn,mI,nj->uIj", cg, b, p1).reshape(2 * L2 + 1, -1)
        out = grown
    return out


def basis(path: Sequence[int]) -> np.ndarray:
    """The (2 lambda + 1, 3^rank) orthonormal rows that project a flattened (row-major) Cartesian
    tensor on the part of `path`."""
    path = tuple(int(v) for v in path)
    bases = _bases(_check_rank(len(path)))
    if path not in bases:
        raise ValueError(f"{path} is not a coupling path of a rank-{len(path)} tensor; paths: {sorted(bases)}")
    return bases[path]


def as_cartesian(values, rank: int, name: str = "tensor") -> np.ndarray:
    """(N, 3, ..., 3) float64 tensors from (N, 3^rank) flat row-major components or (N, 3, ..., 3)."""
    rank = _check_rank(rank)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim >= 1 and values.shape[-1] == 3 ** rank and not (rank == 1 and values.ndim == 1):
        return values.reshape(values.shape[:-1] + (3,) * rank)
    if values.ndim >= rank + 1 and values.shape[-rank:] == (3,) * rank:
        return values
    raise ValueError(f"{name} must have shape (N, {3 ** rank}) or (N{', 3' * rank}) for rank {rank}, got {values.shape}")


def cartesian_to_spherical(T, rank: int) -> Dict[Path, np.ndarray]:
    """{path: (N, 2 lambda + 1)} parts of tensors T, (N, 3, ..., 3) or flat (N, 3^rank)."""
    T = as_cartesian(T, rank)
    flat = T.reshape(T.shape[:T.ndim - rank] + (3 ** rank,))
    return {path: flat @ b.T for path, b in _bases(rank).items()}


def spherical_to_cartesian(parts: Mapping[Sequence[int], np.ndarray], rank: int) -> np.ndarray:
    """Tensors (N, 3, ..., 3) from {path: (N, 2 lambda + 1)}; missing paths are zero.

    Inverse of cartesian_to_spherical (exact: the basis is orthonormal)."""
    rank = _check_rank(rank)
    if not parts:
        raise ValueError("spherical_to_cartesian needs at least one part")
    total = None
    for path, values in parts.items():
        b = basis(path) if len(path) == rank else None
        if b is None:
            raise ValueError(f"{tuple(path)} is not a coupling path of a rank-{rank} tensor")
        values = np.asarray(values, dtype=np.float64)
        if values.shape[-1:] != (b.shape[0],):
            raise ValueError(f"part {tuple(path)} must have shape (N, {b.shape[0]}), got {values.shape}")
        term = values @ b
        if total is None:
            total = term
        elif total.shape != term.shape:
            raise ValueError(f"the parts disagree on the number of tensors: {total.shape[:-1]} and {term.shape[:-1]}")
        else:
            total = total + term
    return total.reshape(total.shape[:-1] + (3,) * rank)


def rotate_cartesian(T, R, rank: int) -> np.ndarray:
    """T (N, 3, ..., 3) with every index transformed by the 3x3 matrix R (proper or improper):
    T'_{ij..} = R_ia R_jb ... T_{ab..}."""
    T = as_cartesian(T, rank)
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3):
        raise ValueError(f"R must be a 3x3 matrix, got {R.shape}")
    for axis in range(T.ndim - rank, T.ndim):
        T = np.moveaxis(np.tensordot(T, R, axes=([axis], [1])), -1, axis)
    return T
