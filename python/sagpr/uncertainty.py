"""Error bars of NMR observables from the Gaussian predictive distribution of an EFG tensor.

A model gives each site a mean tensor and a covariance block C (5 x 5) of its lambda = 2
spherical components (the symmetric traceless part, sagpr.tensors' basis). The observables
C_Q, eta, theta, phi, q~ (the frame's agreement with the mean prediction's), omega_Q and, with
reference statistics, C~Q and eta~ are non-linear functions of those components, so their
distributions are obtained by seeded sampling of N(mean, C) in the spherical basis
(method="sampling"), or by linearisation J C J^T at the mean (method="linear").

Where linearisation is exact enough: omega_Q = prefactor * b^T V b is linear in V, so it is exact
for omega_Q at any uncertainty. C_Q, eta and the angles are smooth functions of V while the
principal values stay apart: linearisation holds when sigma is small against |V_zz| - |V_yy|
(C_Q, eta, theta) and |V_yy| - |V_xx| (phi; eta near 0 makes phi ill-defined). Near a
degeneracy, and for q~ (at the mean q~ = 1 is a maximum, not a smooth point), use sampling.

Angles are taken in the sample's principal frame aligned to the mean prediction's by the D2
frame symmetry (nmr.align_frames), and phi (period 180 degrees) unwrapped around the mean's, so a
small perturbation never jumps by a folding of the angle conventions.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from . import nmr, tensors

#: the observables every call returns; C~Q and eta~ are added when reference stats are given
QUANTITIES = ("cq", "eta", "theta", "phi", "q_tilde", "omega_q")
#: two-sided normal quantiles of the 68 % and 95 % intervals
Z68 = 0.9944578832097535
Z95 = 1.959963984540054


def _inputs(mean, cov):
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim == 3 and mean.shape[1:] == (3, 3):
        c = tensors.symmetric_traceless_to_l2(mean)
    elif mean.ndim == 2 and mean.shape[1] == 5:
        c = mean
    else:
        raise ValueError(f"mean tensors must be (n, 3, 3) or lambda=2 components (n, 5), got {mean.shape}")
    cov = np.asarray(cov, dtype=np.float64)
    if cov.shape != (len(c), 5, 5):
        raise ValueError(f"covariance blocks must be ({len(c)}, 5, 5) lambda=2 blocks, got {cov.shape}")
    return c, 0.5 * (cov + np.swapaxes(cov, 1, 2))


def _repeat(isotopes, n, k):
    """Per-site isotopes repeated for k evaluations of each site (or one label for all)."""
    if isinstance(isotopes, (str, nmr.Isotope)):
        return isotopes
    isotopes = list(isotopes)
    if len(isotopes) != n:
        raise ValueError(f"{len(isotopes)} isotopes for {n} sites")
    if len({str(iso) for iso in isotopes}) == 1 and all(type(iso) is type(isotopes[0]) for iso in isotopes):
        return isotopes[0]  # one nucleus: no per-evaluation lookup
    return [iso for iso in isotopes for _ in range(k)]


def _directions(b0, n, k):
    b = np.asarray(b0, dtype=np.float64)
    if b.shape == (3,):
        return b
    if b.shape != (n, 3):
        raise ValueError(f"field direction b0 must have shape (3,) or ({n}, 3), got {b.shape}")
    return np.repeat(b, k, axis=0)


def _evaluate(c, mean_frames, mean_phi, isotopes, b0, units, stats, atol, defaults, convention="signed"):
    """Observables of components c (n, k, 5): the k evaluations of each site are compared to its
    mean frame (n, 3, 3) and phi unwrapped around its mean phi (n,) (degrees)."""
    n, k = c.shape[:2]
    V = nmr.with_sign_convention(tensors.l2_to_symmetric_traceless(c.reshape(n * k, 5)), convention)
    iso = _repeat(isotopes, n, k)
    b = _directions(b0, n, k)
    obs = nmr.observables(V, iso, b, units, defaults=defaults, atol=atol)
    ref_frames = np.repeat(mean_frames, k, axis=0)
    aligned = nmr.align_frames(ref_frames, obs["frames"])
    theta, phi = nmr.field_angles(V, b, frames=aligned)
    theta, phi = np.degrees(theta), np.degrees(phi)
    centre = np.repeat(mean_phi, k)
    phi = np.where(np.isfinite(centre), centre + (phi - centre + 90.0) % 180.0 - 90.0, phi)
    no_axes = np.abs(obs["vzz"]) <= atol
    theta[no_axes] = phi[no_axes] = np.nan
    out = {
        "cq": obs["cq"],
        "eta": obs["eta"],
        "theta": theta,
        "phi": phi,
        "q_tilde": nmr.orientation_agreement(ref_frames, obs["frames"]),
        "omega_q": obs["omega_q"],
    }
    if stats is not None:
        values = np.stack([obs["vxx"], obs["vyy"], obs["vzz"]], axis=1)
        out["cq_tilde"], out["eta_tilde"] = nmr.normalized_observables(values, stats, units)
    return {name: v.reshape(n, k) for name, v in out.items()}


def _mean_frame(c, b0, atol):
    """Principal frames and phi (degrees) of the mean tensors, the reference of the alignment."""
    V = tensors.l2_to_symmetric_traceless(c)
    values, frames = nmr.principal_components(V, atol=atol)
    _, phi = nmr.field_angles(V, b0, frames=frames)
    phi = np.degrees(phi)
    phi[np.abs(values[:, 2]) <= atol] = np.nan
    return frames, phi


def _square_roots(cov):
    """The symmetric square roots C^1/2 (n, 5, 5) (C may be singular; unlike a Cholesky or
    eigenvector factor it does not depend on eigenvector signs)."""
    w, u = np.linalg.eigh(cov)
    return np.einsum("nik,nk,njk->nij", u, np.sqrt(np.maximum(w, 0.0)), u)


def observable_uncertainty(
    mean,
    cov,
    isotopes,
    b0=(0.0, 0.0, 1.0),
    units: str = "au",
    *,
    method: str = "sampling",
    n_samples: int = 2000,
    seed: int = 0,
    stats=None,
    sign_convention: str = "signed",
    defaults: Optional[Mapping] = None,
    atol: float = 1e-8,
    chunk: int = 256,
) -> dict:
    """Mean-prediction value, standard deviation and 68 / 95 % intervals of each observable.

    mean: (n, 3, 3) predicted tensors (only their symmetric traceless part matters) or their
    lambda = 2 components (n, 5); cov: (n, 5, 5) lambda = 2 covariance blocks (TensorModel.predict
    (..., return_cov=True)[1][2]), in the units `units` ("au" or "V/A^2") squared. isotopes: one
    label for all sites or one per site; b0: field direction (3,) or (n, 3); stats: a
    nmr.ReferenceStats (or its dict) to add C~Q and eta~; sign_convention: "signed" or "positive"
    (each draw taken with V_ZZ > 0, nmr.with_sign_convention: the study's convention).
    method: "sampling" (n_samples draws per site from N(mean, C), seeded by `seed`; intervals are
    the 16-84 and 2.5-97.5 percentiles) or "linear" (J C J^T by central differences at the mean;
    intervals mean +- 0.994 sigma and +- 1.96 sigma; q~ is NaN: not differentiable at its maximum).

    Returns {quantity: {"value", "std", "low68", "high68", "low95", "high95"}}, arrays (n,) each;
    "value" is the observable of the mean tensor (degrees for theta and phi, MHz for C_Q, kHz for
    omega_Q; q~ is 1 there by definition).
    """
    if method not in ("sampling", "linear"):
        raise ValueError(f"method must be 'sampling' or 'linear', got {method!r}")
    if int(n_samples) < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    c, cov = _inputs(mean, cov)
    n = len(c)
    b0 = np.asarray(b0, dtype=np.float64)
    names = QUANTITIES + (("cq_tilde", "eta_tilde") if stats is not None else ())
    out = {name: {key: np.full(n, np.nan) for key in ("value", "std", "low68", "high68", "low95", "high95")}
           for name in names}
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        m = len(c[sl])
        iso = isotopes if isinstance(isotopes, (str, nmr.Isotope)) else list(isotopes)[sl]
        b = b0 if b0.shape == (3,) else b0[sl]
        frames, phi0 = _mean_frame(c[sl], b, atol)
        value = _evaluate(c[sl][:, None, :], frames, phi0, iso, b, units, stats, atol, defaults, sign_convention)
        if method == "sampling":
            z = rng.standard_normal((m, int(n_samples), 5))
            draws = c[sl][:, None, :] + np.einsum("nij,nkj->nki", _square_roots(cov[sl]), z)
            values = _evaluate(draws, frames, phi0, iso, b, units, stats, atol, defaults, sign_convention)
            for name in names:
                v = values[name]
                res = out[name]
                res["value"][sl] = value[name][:, 0]
                with np.errstate(invalid="ignore"):
                    res["std"][sl] = np.nanstd(v, axis=1, ddof=1) if np.isnan(v).any() else v.std(axis=1, ddof=1)
                    lo68, hi68, lo95, hi95 = np.nanpercentile(v, [15.865525393145708, 84.1344746068543, 2.5, 97.5], axis=1) \
                        if np.isnan(v).any() else np.percentile(v, [15.865525393145708, 84.1344746068543, 2.5, 97.5], axis=1)
                res["low68"][sl], res["high68"][sl], res["low95"][sl], res["high95"][sl] = lo68, hi68, lo95, hi95
        else:
            # central differences along the 5 components, step relative to each tensor's size
            h = 1e-6 * np.maximum(np.linalg.norm(c[sl], axis=1), 1e-300)
            steps = np.concatenate([np.eye(5), -np.eye(5)])[None, :, :] * h[:, None, None]
            shifted = _evaluate(c[sl][:, None, :] + steps, frames, phi0, iso, b, units, stats, atol, defaults, sign_convention)
            for name in names:
                res = out[name]
                res["value"][sl] = value[name][:, 0]
                if name == "q_tilde":
                    continue
                jac = (shifted[name][:, :5] - shifted[name][:, 5:]) / (2.0 * h[:, None])
                std = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", jac, cov[sl], jac), 0.0))
                res["std"][sl] = std
                v = value[name][:, 0]
                res["low68"][sl], res["high68"][sl] = v - Z68 * std, v + Z68 * std
                res["low95"][sl], res["high95"][sl] = v - Z95 * std, v + Z95 * std
    return out


def reference_observables(V_ref, mean, isotopes, b0=(0.0, 0.0, 1.0), units: str = "au", *, stats=None,
                          sign_convention: str = "signed", defaults=None, atol: float = 1e-8) -> dict:
    """Observables of reference tensors V_ref (n, 3, 3) in the conventions of
    observable_uncertainty for the predictions `mean` (angles in the reference's frame aligned to
    the mean prediction's, phi unwrapped around the mean's; q~ against the mean's frame), so a
    reference value can be tested against the intervals (coverage)."""
    c_mean = _inputs(mean, np.zeros((len(np.asarray(mean)), 5, 5)))[0]
    c_ref = tensors.symmetric_traceless_to_l2(np.asarray(V_ref, dtype=np.float64))
    if c_ref.shape != c_mean.shape:
        raise ValueError(f"{len(c_ref)} reference tensors for {len(c_mean)} predictions")
    b0 = np.asarray(b0, dtype=np.float64)
    frames, phi0 = _mean_frame(c_mean, b0, atol)
    values = _evaluate(c_ref[:, None, :], frames, phi0, isotopes, b0, units, stats, atol, defaults, sign_convention)
    return {name: v[:, 0] for name, v in values.items()}


def coverage(result: Mapping, reference: Mapping, level: int = 95) -> dict:
    """{quantity: fraction of sites whose reference value lies in the `level` (68 or 95) interval}
    of observable_uncertainty's result, reference values from reference_observables; sites with
    NaN (undefined angles) are left out."""
    if level not in (68, 95):
        raise ValueError(f"level must be 68 or 95, got {level}")
    out = {}
    for name, res in result.items():
        if name not in reference:
            continue
        ref = np.asarray(reference[name], dtype=np.float64)
        lo, hi = res[f"low{level}"], res[f"high{level}"]
        ok = np.isfinite(ref) & np.isfinite(lo) & np.isfinite(hi)
        out[name] = float(np.mean((ref[ok] >= lo[ok]) & (ref[ok] <= hi[ok]))) if ok.any() else float("nan")
    return out


def as_columns(result: Mapping, quantities=None) -> dict:
    """Flat {column name: (n,) array} of a result, e.g. "cq_std", "cq_low95", "omega_q_high68"
    (what `sagpr predict` writes beside the values)."""
    out = {}
    for name in quantities or result:
        for key in ("std", "low68", "high68", "low95", "high95"):
            out[f"{name}_{key}"] = result[name][key]
    return out


__all__ = ["QUANTITIES", "observable_uncertainty", "reference_observables", "coverage", "as_columns"]
