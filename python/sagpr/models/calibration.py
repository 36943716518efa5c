"""Calibration of GPR predictive covariances, their coverage, and the out-of-domain test.

The raw GPR covariance is in units of the (unknown) prior amplitude of the kernel: the model
fixes only the ratio noise / amplitude (the regularizer). Its scale is fitted here on
cross-validation residuals, by maximum likelihood of Gaussian residuals (Musil, Willatt,
Langovoy and Ceriotti, JCTC 15, 906 (2019), who also discuss a power law sigma -> a sigma^b):

    C_cal = a * s^(b - 1) * C_raw,    s = tr(C_raw) / d  (the site's mean raw variance)

so b = 1 is a pure scale. For given b the likelihood's maximum is closed-form,
a(b) = sum_i m_i s_i^(1 - b) / (n d) with m_i = r_i^T C_i^-1 r_i, and b is a 1-d search.
"""
from __future__ import annotations

import numpy as np

#: a site whose raw mean variance is below this (relative to the largest) carries no information
#: for the calibration (a symmetry-zero environment: exact zero prediction and variance)
NEGLIGIBLE_VARIANCE = 1e-14
#: the power law is kept only when it lowers the negative log-likelihood by more than this
#: (Akaike: one more parameter must pay for itself)
POWER_LAW_GAIN = 1.0
#: the range searched for the exponent b
POWER_RANGE = (0.25, 4.0)


def _blocks(cov):
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim == 1:
        cov = cov[:, None, None]
    if cov.ndim != 3 or cov.shape[1] != cov.shape[2]:
        raise ValueError(f"covariances must be (n, d, d) blocks or (n,) variances, got {cov.shape}")
    return cov


def _residuals(r, d):
    r = np.asarray(r, dtype=np.float64)
    return r.reshape(len(r), d)


def structure_folds(n_frames, groups=None, n_folds=5, random_state=0):
    """Fold number of each frame (n_frames,): the groups (one label per frame; default each frame
    its own) dealt at random to min(n_folds, number of groups) folds, so no structure (group) is
    split between training and held-out data."""
    groups = np.arange(n_frames) if groups is None else np.asarray(groups)
    if len(groups) != n_frames:
        raise ValueError(f"groups must have one label per frame ({n_frames}), got {len(groups)}")
    labels = np.unique(groups)
    n_folds = min(int(n_folds), len(labels))
    if n_folds < 2:
        raise ValueError("calibration needs at least two groups of frames (structures)")
    rng = np.random.default_rng(random_state)
    fold_of_label = dict(zip(labels[rng.permutation(len(labels))], np.arange(len(labels)) % n_folds))
    return np.array([fold_of_label[g] for g in groups])


def mahalanobis(residuals, cov):
    """r^T C^+ r per site (pseudo-inverse on the non-negligible eigen-directions of C)."""
    cov = _blocks(cov)
    r = _residuals(residuals, cov.shape[1])
    w, u = np.linalg.eigh(cov)
    top = np.maximum(w.max(axis=1, keepdims=True), 1e-300)
    keep = w > 1e-12 * top
    proj = np.einsum("nji,nj->ni", u, r)
    inv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
    return np.einsum("ni,ni->n", proj ** 2, inv)


def scale_factors(cov, scale, power=1.0):
    """The factor a * s^(b - 1) applied to each site's raw block (s = tr(C) / d)."""
    cov = _blocks(cov)
    s = np.trace(cov, axis1=1, axis2=2) / cov.shape[1]
    if power == 1.0:
        return np.full(len(cov), float(scale))
    with np.errstate(divide="ignore"):
        return float(scale) * np.where(s > 0, np.maximum(s, 1e-300) ** (float(power) - 1.0), 0.0)


def apply(cov, calibration):
    """Calibrated blocks (same shape as `cov`); calibration None or {} leaves them raw."""
    if not calibration:
        return np.asarray(cov, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    f = scale_factors(cov, calibration["scale"], calibration.get("power", 1.0))
    return cov * f.reshape((-1,) + (1,) * (cov.ndim - 1))


def _nll(m, s, d, power):
    """Negative log-likelihood (up to constants) of the profile-optimal scale for exponent b."""
    t = s ** (1.0 - power)
    a = float(np.sum(m * t) / (len(m) * d))
    factors = a * s ** (power - 1.0)
    return 0.5 * float(np.sum(d * np.log(factors) + m / factors)), a


def fit(residuals, cov, *, power_law="auto"):
    """The calibration of raw covariances `cov` ((n, d, d) or (n,)) on residuals (n, d).

    power_law: False (scale only), True (scale and exponent) or "auto" (the exponent only when it
    lowers the negative log-likelihood by more than POWER_LAW_GAIN). Returns a dict with "scale",
    "power", "n_sites", "nll" and the 95 % coverages before and after ("coverage95_raw",
    "coverage95"): the fraction of residual components within 1.96 sigma.
    """
    cov = _blocks(cov)
    n, d, _ = cov.shape
    r = _residuals(residuals, d)
    if len(r) != n:
        raise ValueError(f"{len(r)} residuals for {n} covariance blocks")
    s = np.trace(cov, axis1=1, axis2=2) / d
    keep = s > NEGLIGIBLE_VARIANCE * max(float(s.max(initial=0.0)), 1e-300)
    if keep.sum() < 2:
        raise ValueError("calibration needs at least two sites with a non-zero predicted variance")
    m, s_kept = mahalanobis(r[keep], cov[keep]), s[keep]
    nll1, a1 = _nll(m, s_kept, d, 1.0)
    result = {"scale": a1, "power": 1.0, "nll": nll1}
    if power_law:
        from scipy.optimize import minimize_scalar

        best = minimize_scalar(lambda b: _nll(m, s_kept, d, b)[0], bounds=POWER_RANGE, method="bounded")
        nll_b, a_b = _nll(m, s_kept, d, float(best.x))
        if power_law is True or nll_b < nll1 - POWER_LAW_GAIN:
            result = {"scale": a_b, "power": float(best.x), "nll": nll_b}
    result["n_sites"] = int(keep.sum())
    result["coverage95_raw"] = coverage(r[keep], cov[keep])
    result["coverage95"] = coverage(r[keep], apply(cov[keep], result))
    return result


def coverage(residuals, cov, z=1.959963984540054):
    """Fraction of residual components with |r| <= z sigma (z = 1.96: the 95 % interval)."""
    cov = _blocks(cov)
    r = _residuals(residuals, cov.shape[1])
    std = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
    return float(np.mean(np.abs(r) <= z * std))


def relative_std(cov, spread):
    """sqrt(tr(C) / d) / spread per site: the predicted uncertainty relative to the training
    targets' spread (their RMS deviation per component)."""
    cov = _blocks(cov)
    s = np.trace(cov, axis1=1, axis2=2) / cov.shape[1]
    return np.sqrt(np.maximum(s, 0.0)) / max(float(spread), 1e-300)


def out_of_domain(relative, index, threshold=0.5):
    """The sites whose relative uncertainty (relative_std) exceeds `threshold`, as a list of
    (frame, atom, relative) in frame-then-atom order; index: (frame, atom) of each site."""
    relative = np.asarray(relative, dtype=np.float64)
    if len(relative) != len(index):
        raise ValueError(f"{len(relative)} uncertainties for {len(index)} sites")
    return [(int(f), int(a), float(v)) for (f, a), v in zip(index, relative) if v > threshold]


def describe_out_of_domain(flagged, frames, threshold, limit=5) -> str:
    """One warning line naming the flagged sites (out_of_domain's list) of `frames`, or ""."""
    if not flagged:
        return ""
    named = []
    for f, a, v in flagged[:limit]:
        atoms = frames[f]
        where = atoms.info.get("source_file")
        frame = f"{where}: frame {atoms.info.get('source_frame', f)}" if where else f"frame {f}"
        named.append(f"{frame}: atom {a} ({atoms.get_chemical_symbols()[a]}) sigma {v:.2f}x the training spread")
    more = f" and {len(flagged) - limit} more" if len(flagged) > limit else ""
    return (f"{len(flagged)} site(s) outside the training domain (predicted sigma above {threshold:g}x the "
            f"training spread): " + "; ".join(named) + more)


def describe(calibration) -> str:
    """One line for a report: the calibration and its effect on the 95 % coverage."""
    if not calibration:
        return "uncalibrated (raw GPR variance)"
    law = f"scale {calibration['scale']:.4g}"
    if calibration.get("power", 1.0) != 1.0:
        law += f", power {calibration['power']:.3g}"
    return (f"{law} from {calibration.get('n_sites', '?')} cross-validation sites; 95% coverage "
            f"{calibration.get('coverage95_raw', float('nan')):.3f} raw -> {calibration.get('coverage95', float('nan')):.3f}")


__all__ = ["structure_folds", "fit", "apply", "coverage", "mahalanobis", "scale_factors", "relative_std", "out_of_domain",
           "describe_out_of_domain", "describe"]
