"""Classify sites by peaks of a histogram (e.g. of predicted omega_Q), as in the study's Fig. 6a."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

import numpy as np


@dataclass
class Region:
    """A contiguous run of histogram bins around one peak: values in [low, high)."""

    label: int
    low: float
    high: float
    peak: float
    count: int


@dataclass
class Regions:
    edges: np.ndarray
    counts: np.ndarray
    regions: List[Region]
    labels: np.ndarray = field(repr=False)  # per value: region label, or -1 if unclassified
    min_count: int = 0

    @property
    def bin_width(self) -> float:
        return float(self.edges[1] - self.edges[0])

    def to_dict(self) -> dict:
        return {
            "bin_edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "regions": [vars(r) for r in self.regions],
            "unclassified": int(np.sum(self.labels < 0)),
            "bin_width": self.bin_width,
            "min_count": int(self.min_count),
        }


#: bins a histogram may have (a bin width far below the spread of the data is a mistake, not a request)
MAX_BINS = 1_000_000


def auto_histogram_settings(values):
    """(bin width, min count) that suit the data whatever the nucleus: the Freedman-Diaconis bin
    width 2 IQR n^(-1/3) (Freedman and Diaconis, Z. Wahrscheinlichkeitstheorie 57, 453 (1981)),
    at most the range / 20, rounded down to 1, 2 or 5 x 10^k, and 1 % of the sites (at least 3) per bin inside a region.
    7Li omega_Q spans tens of kHz, 27Al or 17O hundreds to thousands: one fixed width fits none."""
    values = np.asarray(values, dtype=float).ravel()
    q75, q25 = np.percentile(values, [75, 25])
    spread = q75 - q25 if q75 > q25 else max(np.ptp(values), 1e-6)
    # at most range / 20: Freedman-Diaconis alone is too coarse for well-separated peaks
    width = min(2.0 * spread * values.size ** (-1.0 / 3.0), max(np.ptp(values), 1e-6) / 20.0)
    exponent = np.floor(np.log10(width))
    mantissa = max(m for m in (1.0, 2.0, 5.0) if m <= width / 10.0 ** exponent)
    return float(mantissa * 10.0 ** exponent), max(3, int(round(0.01 * values.size)))


def find_regions(values, *, n_peaks: int = 5, bin_width: float, min_count: int = 10) -> Regions:
    """Histogram `values`, take the `n_peaks` most prominent peaks and grow each into a region.

    Each region extends from its peak bin to both sides while the bins hold at least
    `min_count` values; neighbouring regions never overlap: between two selected peaks the
    boundary is the emptiest bin of the valley separating them. Regions are labelled 0, 1, ...
    in increasing value; values outside every region get label -1. Peaks whose own bin holds
    fewer than `min_count` values are not used.
    """
    from scipy.signal import find_peaks, peak_prominences

    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("no values to classify")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"values contain {np.sum(~np.isfinite(values))} non-finite entries")
    if not bin_width > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width!r}")
    if n_peaks < 1 or min_count < 1:
        raise ValueError("n_peaks and min_count must be at least 1")

    lo = np.floor(values.min() / bin_width) * bin_width
    span = (values.max() - lo) / bin_width
    if span > MAX_BINS:  # checked before any array is allocated
        raise ValueError(f"bin width {bin_width:g} gives {span:.3g} bins over the range {values.min():.6g} to "
                         f"{values.max():.6g}: at most {MAX_BINS:,} are allowed; give a wider bin width "
                         f"(or none, for one chosen from the data)")
    n_bins = max(1, int(np.ceil(span + 1e-9)))
    if values.max() >= lo + n_bins * bin_width:
        n_bins += 1
    edges = lo + bin_width * np.arange(n_bins + 1)
    counts, _ = np.histogram(values, bins=edges)

    # Pad with zeros so peaks in the first or last bin are found too.
    padded = np.concatenate([[0], counts, [0]])
    peaks, _ = find_peaks(padded)
    prominence = peak_prominences(padded, peaks)[0]
    peaks = peaks - 1
    keep = counts[peaks] >= min_count
    peaks, prominence = peaks[keep], prominence[keep]
    chosen = np.sort(peaks[np.argsort(-prominence, kind="stable")[:n_peaks]])

    # Boundaries between consecutive chosen peaks: the emptiest bin between them (leftmost on ties).
    limits_low = np.zeros(len(chosen), dtype=int)
    limits_high = np.full(len(chosen), n_bins - 1)
    for k in range(len(chosen) - 1):
        a, b = chosen[k], chosen[k + 1]
        valley = a + 1 + int(np.argmin(counts[a + 1 : b])) if b > a + 1 else a
        limits_high[k] = valley if valley > a else a
        limits_low[k + 1] = valley + 1

    labels = np.full(values.shape, -1, dtype=int)
    bin_of = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    regions = []
    for label, (peak, lo_lim, hi_lim) in enumerate(zip(chosen, limits_low, limits_high)):
        left = peak
        while left - 1 >= lo_lim and counts[left - 1] >= min_count:
            left -= 1
        right = peak
        while right + 1 <= hi_lim and counts[right + 1] >= min_count:
            right += 1
        inside = (bin_of >= left) & (bin_of <= right)
        labels[inside] = label
        regions.append(
            Region(label, float(edges[left]), float(edges[right + 1]),
                   float(0.5 * (edges[peak] + edges[peak + 1])), int(np.sum(inside)))
        )
    return Regions(edges, counts, regions, labels, int(min_count))
