"""The spin-alignment-echo (SAE) two-time correlation function F2(t_p, t_m) from omega_Q(t).

A stimulated echo with evolution time t_p and mixing time t_m measures, for the sin-sin
(spin-alignment) and cos-cos (Zeeman) forms,

    S_sin(t_p, t_m) = < sin(2 pi nu_Q(0) t_p) sin(2 pi nu_Q(t_m) t_p) >,
    S_cos(t_p, t_m) = < cos(2 pi nu_Q(0) t_p) cos(2 pi nu_Q(t_m) t_p) >,

normalised F2 = S(t_p, t_m) / S(t_p, 0), the average over nuclei, time origins and (for a
powder) field directions. For jumps among N equivalent environments F2 decays from 1 to the
final-state value Z = 1/N when nu_Q t_p >> 1 (distinct phases decorrelate), and the decay is
described by F2 = (1 - Z) exp(-(t_m / tau)^beta) + Z (R. Böhmer, K. R. Jeffrey, M. Vogel,
Prog. Nucl. Magn. Reson. Spectrosc. 50, 87 (2007): two-time correlation functions of
stimulated-echo experiments, their sin-sin and cos-cos forms and final-state values).

nu_Q is the first-order quadrupolar frequency of sagpr.nmr (kHz); t_p is in microseconds and
the phase 2 pi nu_Q t_p assumes nu_Q constant during t_p (give a running average of the tensor
over t_p if the trajectory resolves motion faster than t_p). Averages over sites and directions
sum numerators and denominators separately: the echo is the signal of all nuclei at once.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

KINDS = ("sin", "cos")


def sphere_directions(n: int) -> np.ndarray:
    """(n, 3) quasi-uniform unit vectors on the upper hemisphere (a Fibonacci spiral, equal areas in
    z): omega_Q(b) = omega_Q(-b), so the hemisphere is a full powder average. n = 1: the z axis."""
    if n < 1:
        raise ValueError(f"need at least one field direction, got {n}")
    if n == 1:
        return np.array([[0.0, 0.0, 1.0]])
    k = np.arange(n) + 0.5
    z = 1.0 - k / n  # uniform in z on (0, 1): equal solid angle per point
    golden = np.pi * (3.0 - np.sqrt(5.0))
    phi = golden * np.arange(n)
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def omega_q_scale(isotope: str, units: str) -> float:
    """kHz of omega_Q per unit of b^T V b (V in `units`): omega_Q is linear in V, so one number
    from sagpr.nmr (the one owner of the formula) converts any projected tensor."""
    from ..nmr import quadrupolar_frequency

    probe = np.diag([-0.5, -0.5, 1.0])[None]  # traceless, b^T V b = 1 along z
    return float(quadrupolar_frequency(probe, [isotope], b0=(0.0, 0.0, 1.0), units=units)[0])


def omega_series(tensors, directions, scale: float) -> np.ndarray:
    """(frames, sites, directions) omega_Q in kHz: scale * b^T S b, S the traceless part."""
    tensors = np.asarray(tensors, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64)
    trace = np.trace(tensors, axis1=-2, axis2=-1)[..., None, None] / 3.0
    traceless = tensors - trace * np.eye(3)
    return scale * np.einsum("di,ftij,dj->ftd", directions, traceless, directions)


def _lag_sums(values: np.ndarray, n_lags: int) -> np.ndarray:
    """sum over columns and origins t of values[t] * values[t + k], k = 0 .. n_lags - 1 (FFT)."""
    n = len(values)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(values, n=size, axis=0)
    power = (spectrum * spectrum.conj()).real.sum(axis=1)
    return np.fft.irfft(power, n=size)[:n_lags]


def f2_sums(omega, t_p: Sequence[float], n_lags: int, *, kind: str = "sin", block: int = 4096) -> np.ndarray:
    """(len(t_p), n_lags) sums over columns and time origins of f(phase(t)) f(phase(t + k)), f = sin
    or cos, phase = 2 pi omega t_p, for `omega` (frames, ...) in kHz and t_p in microseconds. Sums of
    blocks of sites add up: divide by the number of pairs (`origin_counts`) at the end."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    omega = np.asarray(omega, dtype=np.float64)
    omega = omega.reshape(len(omega), -1)
    if not 1 <= n_lags <= len(omega):
        raise ValueError(f"lags must lie in 0 .. {len(omega) - 1} frames (the trajectory has {len(omega)})")
    function = np.sin if kind == "sin" else np.cos
    out = np.zeros((len(t_p), n_lags))
    for i, tp in enumerate(np.asarray(t_p, dtype=np.float64)):
        for first in range(0, omega.shape[1], block):
            phase = 2e-3 * np.pi * tp * omega[:, first : first + block]  # kHz x us = 1e-3 cycles
            out[i] += _lag_sums(function(phase), n_lags)
    return out


def normalised_f2(sums: np.ndarray, n_frames: int, lags: Sequence[int]) -> np.ndarray:
    """F2 at `lags` from `f2_sums` output: each lag averaged over its n_frames - lag origins, then
    divided by the lag-0 average."""
    lags = np.asarray(lags, dtype=int)
    mean = sums / (n_frames - np.arange(sums.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean[:, :1] > 0, mean[:, lags] / mean[:, :1], np.nan)


def f2(omega, t_p: Sequence[float], lags: Sequence[int], *, kind: str = "sin") -> np.ndarray:
    """F2(t_p, t_m) (len(t_p), len(lags)) from `omega` (frames, ...) in kHz.

    Every trailing column (a site and a field direction) is one nucleus' series; t_p in
    microseconds; lags in frames (t_m = lag x timestep), each averaged over all time origins
    (frames - lag of them) and normalised by the same average at lag 0.
    """
    omega = np.asarray(omega, dtype=np.float64)
    lags = np.asarray(lags, dtype=int)
    if lags.size == 0 or lags.min() < 0 or lags.max() >= len(omega):
        raise ValueError(f"lags must lie in 0 .. {len(omega) - 1} frames (the trajectory has {len(omega)})")
    return normalised_f2(f2_sums(omega, t_p, int(lags.max()) + 1, kind=kind), len(omega), lags)


def stretched_exponential(t, tau, beta, z):
    """(1 - Z) exp(-(t / tau)^beta) + Z."""
    return (1.0 - z) * np.exp(-np.power(np.maximum(t, 0.0) / tau, beta)) + z


def fit_f2(t_m, values, *, beta: Optional[float] = None) -> dict:
    """Least-squares fit of `values` (F2 at times t_m) with the stretched exponential and plateau.

    Returns tau (units of t_m), beta (fixed if given, else fitted in (0, 2]), Z in [0, 1] and the
    rms residual; NaNs where the data do not decay enough to fit.
    """
    from scipy.optimize import curve_fit

    t_m = np.asarray(t_m, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    t, y = t_m[keep], values[keep]
    failed = {"tau": np.nan, "beta": np.nan if beta is None else beta, "z": np.nan, "rms": np.nan}
    if len(t) < 4 or np.ptp(y) < 1e-6:
        return failed
    z0 = float(np.clip(y[-1], 0.0, 0.99))
    # first guess: where F2 has lost 1 - 1/e of its decay
    target = z0 + (1.0 - z0) / np.e
    below = np.flatnonzero(y <= target)
    tau0 = float(t[below[0]]) if below.size and t[below[0]] > 0 else float(np.median(t[t > 0]) if np.any(t > 0) else 1.0)
    try:
        if beta is None:
            p, _ = curve_fit(stretched_exponential, t, y, p0=(tau0, 1.0, z0),
                             bounds=([1e-12 * max(t.max(), 1e-300), 0.05, 0.0], [1e3 * max(t.max(), 1e-300), 2.0, 1.0]))
            tau, b, z = p
        else:
            p, _ = curve_fit(lambda tt, tau, z: stretched_exponential(tt, tau, beta, z), t, y, p0=(tau0, z0),
                             bounds=([1e-12 * max(t.max(), 1e-300), 0.0], [1e3 * max(t.max(), 1e-300), 1.0]))
            (tau, z), b = p, beta
    except (RuntimeError, ValueError):
        return failed
    rms = float(np.sqrt(np.mean((stretched_exponential(t, tau, b, z) - y) ** 2)))
    return {"tau": float(tau), "beta": float(b), "z": float(z), "rms": rms}
