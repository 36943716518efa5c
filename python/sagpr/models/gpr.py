"""Feature-level sparse GPR: active-set and feature selection, fit and predict.

Everything here works on feature arrays, x^lambda (n, 2 lambda + 1, F) and x^0 (n, F0),
so it is independent of how the features were computed. The heavy lifting (kernels,
block accumulation of K_MN K_NM, Cholesky, prediction) is in the C++ core, sagpr._core.

Sparse GPR is the subset-of-regressors / projected-process form (Quinonero-Candela and
Rasmussen, JMLR 6, 1939 (2005)); the symmetry-adapted kernel is that of Grisafi et al.,
PRL 120, 036002 (2018).
"""
from __future__ import annotations

import numpy as np

from sagpr import _core

#: relative norm below which an environment's features count as zero by symmetry
ZERO_THRESHOLD = 1e-10


def as_features(x, x0, name="features"):
    """Validated C-contiguous float64 copies of (x^lambda, x^0)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] % 2 != 1:
        raise ValueError(f"{name}: lambda features must have shape (n, 2*lambda+1, F), got {x.shape}")
    if x0.ndim != 2 or x0.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: lambda=0 features must have shape ({x.shape[0]}, F0), got {x0.shape}")
    if not (np.isfinite(x).all() and np.isfinite(x0).all()):
        raise ValueError(f"{name}: features contain NaN or infinity")
    return x, x0


def nonzero_environments(x, chunk=256):
    """Mask of environments whose lambda features are not (exactly) zero by symmetry."""
    x = x.reshape(len(x), -1)
    mask = np.empty(len(x), dtype=bool)
    for start in range(0, len(x), chunk):  # small temporaries: no GB-sized |x| for 30,000 sites
        mask[start:start + chunk] = np.abs(x[start:start + chunk]).max(axis=1) > 0.0
    return mask


def renormalise(x, reference_norms=None):
    """Each environment's (2 lambda + 1, F) block scaled to unit Frobenius norm.

    Blocks that are zero, or (when reference_norms is given) that lost all but a
    fraction ZERO_THRESHOLD of their norm, become exactly zero instead of noise.
    """
    norms = np.sqrt(np.einsum("imf,imf->i", x, x))
    keep = norms > 0.0
    if reference_norms is not None:
        keep &= norms > ZERO_THRESHOLD * reference_norms
    scale = np.zeros_like(norms)
    scale[keep] = 1.0 / norms[keep]
    return x * scale[:, None, None]


def sample_rows(n, d, random_state, max_rows=2000):
    """Sorted indices of the environments whose features feature selection looks at: at most
    max_rows // d of n (each FPS step reads the whole sample, so this bounds its cost)."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=min(n, max(1, max_rows // d)), replace=False))


def select_features(sample, n_features):
    """Indices of n_features columns of the sampled features (rows, d, F) by farthest-point
    sampling over columns, compared as vectors over rows x components; the first column is the
    one of largest norm."""
    F = sample.shape[2]
    if n_features >= F:
        return np.arange(F)
    columns = np.ascontiguousarray(sample.reshape(-1, F).T)
    first = int(np.argmax(np.einsum("fk,fk->f", columns, columns)))
    idx, _ = _core.farthest_point_sampling(columns, int(n_features), first)
    return np.sort(idx)


def pca_projection(sample, n_features):
    """(F, n_features) orthonormal projection onto the leading right singular vectors of the
    sampled (rows x components, F) feature matrix, uncentred.

    Uncentred because the kernel uses raw dot products: x P P^T x'^T is then the best rank-k
    approximation of the sampled Gram matrix. Acting on the feature index only, the projection
    keeps the features equivariant.
    """
    F = sample.shape[2]
    if n_features >= F:
        return np.eye(F)
    sample = sample.reshape(-1, F)
    if len(sample) >= F:
        values, vectors = np.linalg.eigh(sample.T @ sample)
        order = np.argsort(values)[::-1][:n_features]
        return np.ascontiguousarray(vectors[:, order])
    # fewer sampled rows than features: principal directions from the (rows x rows) Gram
    # matrix, V = S^T U / sqrt(w), much cheaper than an SVD of the wide sample
    values, vectors = np.linalg.eigh(sample @ sample.T)
    order = np.argsort(values)[::-1]
    order = order[values[order] > 1e-12 * max(values.max(), 1e-300)][:n_features]
    return np.ascontiguousarray((sample.T @ vectors[:, order]) / np.sqrt(values[order]))


def reduce_features(x, selection):
    """Columns `selection` (1-d indices) of x (n, d, F), or x projected on `selection` (F, k)."""
    if selection.ndim == 1:
        return np.ascontiguousarray(x[:, :, selection])
    n, d, F = x.shape
    # not a BLAS GEMM: its rounding depends on the batch and thread count, and serial and
    # distributed fits must see identical features
    rows = np.ascontiguousarray(x.reshape(n * d, F), dtype=np.float64)
    return _core.project_rows(rows, np.ascontiguousarray(selection, dtype=np.float64)).reshape(n, d, -1)


def transform(x, x0, o3_lambda, selection, selection0):
    """Features after feature selection (or as they are when `selection` is None), each
    environment renormalised; environments that lose (nearly) all their norm become zero."""
    if selection is None:
        return x, x0
    norms = np.sqrt(np.einsum("imf,imf->i", x, x))
    xs = renormalise(reduce_features(x, selection), norms)
    if o3_lambda == 0:
        return xs, np.ascontiguousarray(xs[:, 0, :])
    norms0 = np.linalg.norm(x0, axis=1)
    x0s = renormalise(reduce_features(x0[:, None, :], selection0), norms0)[:, 0, :]
    return xs, np.ascontiguousarray(x0s)


def select_active(x0, n_active, random_state, candidates=None):
    """Farthest-point sampling of up to n_active environments on x^0.

    The first point is drawn from `random_state`; picks stop early when the next farthest
    environment coincides with a chosen one (duplicates would make K_MM singular).
    Returns indices into x0.
    """
    if candidates is None:
        candidates = np.arange(len(x0))
    if len(candidates) == 0:
        raise ValueError("no environment with non-zero features to build the model from")
    pool = np.ascontiguousarray(x0[candidates])
    rng = np.random.default_rng(random_state)
    first = int(rng.integers(len(pool)))
    k = min(int(n_active), len(pool))
    idx, dist = _core.farthest_point_sampling(pool, k, first)
    scale = max(float(np.einsum("ij,ij->i", pool, pool).max()), 1e-300)
    duplicate = np.flatnonzero(dist[1:] <= 1e-12 * scale)
    if duplicate.size:
        idx = idx[: duplicate[0] + 1]
    return candidates[idx]


def kernel(x, x0, a, a0, zeta, out=None):
    """Kernel (n, d, m, d) between two feature sets: (x_i a_j^T) (x0_i . a0_j)^(zeta - 1).

    The two products are NumPy's BLAS GEMMs (about twice _core.kernel's Eigen GEMM on the CV
    kernels measured here); the fits' accumulations, whose sums must not depend on the thread
    count, stay in the C++ core. out: an optional C-contiguous float64 array of n d x m d
    elements to write the kernel into (returned reshaped to (n, d, m, d)).
    """
    x, x0 = as_features(x, x0)
    a, a0 = as_features(a, a0)
    if x.shape[1:] != a.shape[1:] or x0.shape[1] != a0.shape[1]:
        raise ValueError(f"features {x.shape[1:]} / {x0.shape[1]} and {a.shape[1:]} / {a0.shape[1]} cannot be paired "
                         f"in a kernel")
    zeta = int(zeta)
    if zeta < 1:
        raise ValueError(f"zeta must be at least 1, got {zeta}")
    n, d, F = x.shape
    if out is None:
        k = (x.reshape(n * d, F) @ a.reshape(-1, F).T).reshape(n, d, len(a), d)
    else:
        if out.dtype != np.float64 or not out.flags.c_contiguous or out.size != n * d * len(a) * d:
            raise ValueError(f"out must be a C-contiguous float64 array of {n * d} x {len(a) * d} elements")
        k = out.reshape(n, d, len(a), d)
        np.matmul(x.reshape(n * d, F), a.reshape(-1, F).T, out=out.reshape(n * d, len(a) * d))
    if zeta > 1:
        scalar = x0 @ a0.T
        if zeta > 2:
            scalar **= zeta - 1
        k *= scalar[:, None, :, None]
    return k


def accumulate(x, x0, y, a, a0, zeta, chunk=512, block=64, progress=None):
    """(K_MN K_NM lower triangle, K_MN y) accumulated over training chunks."""
    md = a.shape[0] * a.shape[1]
    ktk = np.zeros((md, md))
    kty = np.zeros(md)
    y = np.ascontiguousarray(y, dtype=np.float64)
    for start in range(0, len(x), chunk):
        stop = min(start + chunk, len(x))
        _core.accumulate_normal_equations(x[start:stop], x0[start:stop], y[start:stop], a, a0, int(zeta), ktk, kty, block)
        if progress is not None:
            progress.update(stop - start)
    return ktk, kty


def kernel_symmetric(a, a0, zeta):
    """K_MM (M d, M d) of one feature set with itself."""
    return _core.kernel_symmetric(a, a0, int(zeta))


def predict_kernel(x, x0, a, a0, w, zeta, chunk=2048, progress=None):
    out = np.empty((len(x), x.shape[1]))
    w = np.ascontiguousarray(w, dtype=np.float64).ravel()
    for start in range(0, len(x), chunk):
        stop = min(start + chunk, len(x))
        out[start:stop] = _core.predict(x[start:stop], x0[start:stop], a, a0, w, int(zeta)).reshape(stop - start, -1)
        if progress is not None:
            progress.update(stop - start)
    return out


def predict_contracted(x, x0, contracted, zeta):
    return _core.predict_contracted(x, x0, contracted, int(zeta)).reshape(len(x), x.shape[1])


def contract(a, a0, w, zeta):
    return _core.contract_weights(a, a0, np.ascontiguousarray(w, dtype=np.float64).ravel(), int(zeta))


def covariance_cost(d, F, F0, m):
    """Flops per predicted site of a DTC covariance block on m active points: the kernel rows
    (as the kernel route), two triangular solves with d right-hand sides each, k_** itself."""
    return 2.0 * m * (d * d * F + F0 + d * d) + 2.0 * (m * d) ** 2 * d + 2.0 * d * d * F


def prediction_costs(d, F, F0, m, zeta):
    """Flops per predicted site: (kernel route, contracted route or None)."""
    kernel_cost = 2.0 * m * (d * d * F + F0 + d * d)
    if zeta == 1:
        return kernel_cost, 2.0 * d * F
    if zeta == 2:
        return kernel_cost, 2.0 * (F * F0 + d * F)
    return kernel_cost, None
