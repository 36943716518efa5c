"""A slow, obviously-correct NumPy reference of sagpr's lambda-SOAP, for tiny clusters.

Everything is done by brute-force numerical quadrature from the definitions, sharing no code
with the C++: the density is evaluated on a spherical grid and projected on the basis; the
Clebsch-Gordan coefficients are real Gaunt integrals (scipy's harmonics) normalised to unit
norm per component.
"""
import numpy as np
from numpy.polynomial.legendre import leggauss

from symmetry import real_spherical_harmonics


def gauss_legendre(n, a, b):
    x, w = leggauss(n)
    return 0.5 * (b - a) * x + 0.5 * (b + a), 0.5 * (b - a) * w


def sphere_grid(n_theta, n_phi):
    """Unit vectors and weights of a product rule on the sphere: Gauss-Legendre in cos(theta),
    uniform in phi; exact for harmonics of degree < min(2 n_theta, n_phi)."""
    ct, wt = leggauss(n_theta)
    phi = np.linspace(0, 2 * np.pi, n_phi, endpoint=False)
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([np.outer(st, np.cos(phi)), np.outer(st, np.sin(phi)), np.outer(ct, np.ones_like(phi))], axis=-1)
    return dirs.reshape(-1, 3), np.outer(wt, np.full(n_phi, 2 * np.pi / n_phi)).ravel()


def radial_basis(max_radial, cutoff, r):
    """GTOs r^n exp(-r^2/2s_n^2), s_n = cutoff max(sqrt n, 1)/max_radial, each normalised, then
    Loewdin-orthonormalised, with the overlap integrated numerically."""
    n = np.arange(max_radial)
    s = cutoff * np.maximum(np.sqrt(n), 1) / max_radial

    def gto(x):
        return x[None, :] ** n[:, None] * np.exp(-0.5 * x[None, :] ** 2 / s[:, None] ** 2)

    rq, wq = gauss_legendre(500, 0.0, 8.0 * cutoff)
    g = gto(rq)
    overlap = (g * wq * rq**2) @ g.T
    d = 1.0 / np.sqrt(np.diag(overlap))
    vals, vecs = np.linalg.eigh(d[:, None] * overlap * d[None, :])
    transform = (vecs / np.sqrt(vals)) @ vecs.T * d[None, :]
    return transform @ gto(r)


def real_cg(l1, l2, lam):
    """C[mu, m1, m2] proportional to int Y_lam,mu Y_l1,m1 Y_l2,m2, unit norm per mu."""
    pts, w = sphere_grid(40, 80)
    y0, y1, y2 = (real_spherical_harmonics(l, pts) for l in (lam, l1, l2))
    c = np.einsum("p,pa,pb,pc->abc", w, y0, y1, y2)
    return c * np.sqrt((2 * lam + 1) / np.sum(c**2))


def real_cg_odd(l1, l2, lam):
    """An improper coupling (l1 + l2 + lam odd), C[mu, m1, m2], from its definition: the one
    solution (up to sign) of D^lam(R) C = C (D^l1(R) x D^l2(R)) for two random rotations, the
    Wigner-D matrices by least squares on the harmonics (symmetry.wigner_d_real); unit norm per
    mu, sign fixed by the first entry of largest size being positive."""
    from symmetry import random_rotation, wigner_d_real

    rng = np.random.default_rng(99)
    d0, d12 = 2 * lam + 1, (2 * l1 + 1) * (2 * l2 + 1)
    rows = []
    for _ in range(2):
        r = random_rotation(rng)
        dl, dk = wigner_d_real(lam, r), np.kron(wigner_d_real(l1, r), wigner_d_real(l2, r))
        # vec(C) (row-major, C (d0, d12)): dl C - C dk = 0
        rows.append(np.kron(dl, np.eye(d12)) - np.kron(np.eye(d0), dk.T))
    _, values, vt = np.linalg.svd(np.concatenate(rows))
    c = vt[-1].reshape(d0, 2 * l1 + 1, 2 * l2 + 1)
    assert values[-1] < 1e-8 * values[0] and values[-2] > 1e-4 * values[0], "not a one-dimensional solution"
    flat = c.ravel()
    c = c * np.sign(flat[np.argmax(np.abs(flat) > 0.5 * np.abs(flat).max())])
    return c * np.sqrt((2 * lam + 1) / np.sum(c**2))


def cutoff_function(r, cutoff, width):
    return np.where(r >= cutoff, 0.0, np.where(r <= cutoff - width, 1.0, 0.5 * (1 + np.cos(np.pi * (r - cutoff + width) / width))))


def density(atoms, center, species, *, cutoff, max_radial, max_angular, atomic_gaussian_width,
            cutoff_smooth_width, center_atom_weight):
    """c[a, n, lm] of a non-periodic cluster, by quadrature of the density on a spherical grid."""
    sigma = atomic_gaussian_width
    rq, wr = gauss_legendre(220, 0.0, cutoff + 9 * sigma)
    dirs, wa = sphere_grid(72, 144)
    ylm = np.concatenate([real_spherical_harmonics(l, dirs) for l in range(max_angular + 1)], axis=1)
    basis = radial_basis(max_radial, cutoff, rq)
    points = rq[:, None, None] * dirs[None, :, :]  # (radial, angular, 3)

    out = np.zeros((len(species), max_radial, (max_angular + 1) ** 2))
    norm = (2 * np.pi * sigma**2) ** -1.5
    for j, atom in enumerate(atoms):
        vec = atom.position - atoms.positions[center]
        dist = np.linalg.norm(vec)
        if j == center:
            weight = center_atom_weight
        else:
            weight = float(cutoff_function(dist, cutoff, cutoff_smooth_width))
        if weight == 0.0:
            continue
        rho = weight * norm * np.exp(-0.5 * np.sum((points - vec) ** 2, axis=-1) / sigma**2)
        angular = (rho * wa[None, :]) @ ylm  # (radial, lm)
        a = species.index(atom.number)
        out[a] += (basis * (wr * rq**2)[None, :]) @ angular
    return out


def features(atoms, center, species, *, o3_lambda, labels, o3_sigma=1, **hypers):
    """lambda-SOAP features (2*o3_lambda+1, n_features) ordered as the given labels (o3_sigma=-1:
    the improper couplings of real_cg_odd, whose sign per (l1, l2) is a convention)."""
    c = density(atoms, center, species, **hypers)
    cache = {}
    out = np.zeros((2 * o3_lambda + 1, len(labels)))
    for f, (za, n1, l1, zb, n2, l2) in enumerate(labels):
        key = (l1, l2)
        if key not in cache:
            cache[key] = real_cg(l1, l2, o3_lambda) if o3_sigma == 1 else real_cg_odd(l1, l2, o3_lambda)
        a, b = species.index(za), species.index(zb)
        x = c[a, n1, l1 * l1 : (l1 + 1) ** 2]
        y = c[b, n2, l2 * l2 : (l2 + 1) ** 2]
        same = (a, n1, l1) == (b, n2, l2)
        out[:, f] = (1.0 if same else np.sqrt(2)) * np.einsum("uab,a,b->u", cache[key], x, y)
    return out
