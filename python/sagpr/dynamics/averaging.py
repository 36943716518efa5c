"""Motional averaging: the mean Cartesian tensor of each site over windows of frames.

What a slow measurement sees of a fast-moving site is the time average of its tensor V(t) (the
first-order quadrupolar Hamiltonian is linear in V), so C_Q, eta and omega_Q of the average are
those of <V>, never averages of C_Q or eta (Abragam, The Principles of Nuclear Magnetism, ch. X;
Slichter, Principles of Magnetic Resonance, ch. 10): a site hopping between tensors V_k with
occupations p_k shows sum_k p_k V_k, and a uniaxial tensor rotating fast about an axis at angle
beta to its own z axis shows a uniaxial tensor along that axis with V_zz scaled by
P2(cos beta) = (3 cos^2 beta - 1) / 2.
"""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np


def window_bounds(n_frames: int, window: int) -> Iterator[Tuple[int, int]]:
    """Frame ranges [start, stop) of consecutive full windows of `window` frames (a partial last
    window is left out, so every average is over the same length of time)."""
    if window < 1:
        raise ValueError(f"averaging window must be at least 1 frame, got {window}")
    for start in range(0, n_frames - window + 1, window):
        yield start, start + window


def window_average(tensors, window: int) -> np.ndarray:
    """(n_windows, n_sites, 3, 3) means of `tensors` (n_frames, n_sites, 3, 3) over consecutive
    windows of `window` frames; `tensors` may be memory-mapped (read one window at a time)."""
    tensors = np.asanyarray(tensors)
    if tensors.ndim != 4 or tensors.shape[2:] != (3, 3):
        raise ValueError(f"tensors must have shape (frames, sites, 3, 3), got {tensors.shape}")
    bounds = list(window_bounds(len(tensors), window))
    out = np.empty((len(bounds), *tensors.shape[1:]))
    for k, (a, b) in enumerate(bounds):
        out[k] = np.asarray(tensors[a:b], dtype=np.float64).mean(axis=0)
    return out


def weighted_average(tensors, weights) -> np.ndarray:
    """sum_k w_k V_k / sum_k w_k over the first axis (e.g. occupations of the sites a nucleus visits)."""
    tensors = np.asarray(tensors, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != tensors.shape[:1] or not np.all(weights >= 0) or not weights.sum() > 0:
        raise ValueError("weights must be non-negative, one per tensor, and not all zero")
    return np.tensordot(weights, tensors, axes=1) / weights.sum()


def running_average(values, window: int) -> np.ndarray:
    """Centred-on-the-start running mean over `window` frames along axis 0: row t is the mean of
    rows t .. t + window - 1 (n_frames - window + 1 rows). The phase a spin gathers during an
    evolution time that spans `window` frames is set by this mean."""
    values = np.asarray(values, dtype=np.float64)
    if window < 1 or window > len(values):
        raise ValueError(f"running window must be 1 .. {len(values)} frames, got {window}")
    if window == 1:
        return values.copy()
    csum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return (csum[window:] - csum[:-window]) / window


def residual_observables(averaged, isotope: str, units: str, *, b0=(0.0, 0.0, 1.0), atol: Optional[float] = None) -> dict:
    """nmr.observables of averaged tensors (any leading shape, last two 3 x 3), reshaped back.

    Averaging can leave a (nearly) zero tensor (e.g. an isotropic jump): its C_Q is ~0, eta 0 by
    convention and theta/phi NaN. ``atol`` (units of V) defaults to 1e-8 times the largest |V|.
    """
    from ..nmr import observables

    averaged = np.asarray(averaged, dtype=np.float64)
    shape = averaged.shape[:-2]
    flat = averaged.reshape(-1, 3, 3)
    if flat.shape[0] == 0:
        return {}
    if atol is None:
        atol = 1e-8 * max(float(np.abs(flat).max()), 1e-300)
    # the average of symmetric tensors is symmetric up to rounding: symmetrise before the check
    flat = 0.5 * (flat + flat.transpose(0, 2, 1))
    obs = observables(flat, isotope, b0=b0, units=units, atol=atol)
    return {key: value.reshape(shape + value.shape[1:]) for key, value in obs.items()}
