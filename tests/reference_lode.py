"""A slow, obviously-correct NumPy reference of sagpr's LODE expansion, sharing no code with the C++.

The potential of the Gaussian-smeared species densities is evaluated pointwise on a spherical
product grid around the centre and projected on the GTO x real-harmonic basis:
clusters by the direct sum of erf(r/(sqrt2 sigma))/r, periodic cells by the plain reciprocal
sum (4pi/V) sum_{k!=0} e^{-sigma^2 k^2/2}/k^2 Re[S(k) e^{ik.x}] (zero cell average), with the
centre's own Gaussian subtracted when it is excluded. No Ewald split, no Bessel functions.
"""
import numpy as np
from scipy.special import erf as _erf

from reference_lambda_soap import gauss_legendre, radial_basis, sphere_grid
from symmetry import real_spherical_harmonics



def _gaussian_potential(r, sigma):
    r = np.asarray(r, float)
    out = np.empty_like(r)
    small = r < 1e-6
    out[small] = np.sqrt(2 / np.pi) / sigma
    out[~small] = _erf(r[~small] / (np.sqrt(2) * sigma)) / r[~small]
    return out


def _kvectors(cell, kmax):
    recip = 2 * np.pi * np.linalg.inv(cell).T
    hmax = [int(np.floor(kmax * np.linalg.norm(cell[d]) / (2 * np.pi))) for d in range(3)]
    grid = np.stack(np.meshgrid(*[np.arange(-h, h + 1) for h in hmax], indexing="ij"), -1).reshape(-1, 3)
    k = grid @ recip
    norm = np.linalg.norm(k, axis=1)
    keep = (norm > 0) & (norm < kmax)
    return k[keep]


def lode(atoms, center, species, *, cutoff, max_radial, max_angular, atomic_gaussian_width,
         include_center=False, n_r=90, n_theta=36, n_phi=72):
    """Coefficients (n_species, max_radial, (max_angular+1)^2) of the centre `center`."""
    sigma = atomic_gaussian_width
    n = np.arange(max_radial)
    s = cutoff * np.maximum(np.sqrt(n), 1) / max_radial
    extent = np.max(s * (np.sqrt(n) + 8.0))
    rq, wq = gauss_legendre(n_r, 0.0, extent)
    dirs, wd = sphere_grid(n_theta, n_phi)
    points = (rq[:, None, None] * dirs[None, :, :]).reshape(-1, 3)
    weights = (wq[:, None] * rq[:, None] ** 2 * wd[None, :]).ravel()
    basis = radial_basis(max_radial, cutoff, rq)  # (max_radial, n_r)
    ylm = np.concatenate([real_spherical_harmonics(l, dirs) for l in range(max_angular + 1)], axis=1)
    functions = (basis[:, :, None, None] * ylm[None, None, :, :]).reshape(max_radial, -1, ylm.shape[1])
    functions = np.moveaxis(functions, 1, 2).reshape(max_radial, ylm.shape[1], -1)  # (n, lm, point)

    pos = atoms.get_positions()
    numbers = atoms.get_atomic_numbers()
    x = pos[center] + points
    out = np.zeros((len(species), max_radial, ylm.shape[1]))
    periodic = bool(np.any(atoms.pbc))
    if periodic:
        cell = np.asarray(atoms.cell)
        volume = abs(np.linalg.det(cell))
        k = _kvectors(cell, np.sqrt(2 * 40.0) / sigma)
        k2 = np.sum(k**2, axis=1)
        factor = 4 * np.pi / volume * np.exp(-0.5 * sigma**2 * k2) / k2
    for a, z in enumerate(species):
        mine = np.flatnonzero(numbers == z)
        if periodic:
            structure = np.exp(-1j * pos[mine] @ k.T).sum(axis=0)  # (n_k,)
            v = np.zeros(len(x))
            for chunk in range(0, len(x), 4096):
                phase = np.exp(1j * x[chunk:chunk + 4096] @ k.T)
                v[chunk:chunk + 4096] = (phase * (factor * structure)).real.sum(axis=1)
            if not include_center and numbers[center] == z:
                v -= _gaussian_potential(np.linalg.norm(points, axis=1), sigma)
        else:
            v = np.zeros(len(x))
            for j in mine:
                if j == center and not include_center:
                    continue
                v += _gaussian_potential(np.linalg.norm(x - pos[j], axis=1), sigma)
        out[a] = functions @ (weights * v)
    return out
