"""Peak/region classification of histograms."""
import numpy as np
import pytest

from sagpr.workflows.prediction.regions import find_regions


def synthetic(seed=0):
    rng = np.random.default_rng(seed)
    centers = [-60.0, -20.0, 10.0, 45.0, 80.0]
    values = np.concatenate([rng.normal(c, 3.0, 400) for c in centers] + [rng.uniform(-100, 120, 50)])
    return values, centers


def test_finds_known_peaks_without_overlap():
    values, centers = synthetic()
    result = find_regions(values, n_peaks=5, bin_width=2.0, min_count=10)
    assert len(result.regions) == 5
    peaks = [r.peak for r in result.regions]
    np.testing.assert_allclose(peaks, centers, atol=4.0)
    for a, b in zip(result.regions, result.regions[1:]):
        assert a.high <= b.low
    for r in result.regions:
        assert r.low <= r.peak <= r.high
        assert np.all((values[result.labels == r.label] >= r.low) & (values[result.labels == r.label] < r.high + 1e-12))
        # Counts written per site agree with the histogram bins of the region.
        in_bins = (result.edges[:-1] >= r.low - 1e-9) & (result.edges[1:] <= r.high + 1e-9)
        assert r.count == result.counts[in_bins].sum() == np.sum(result.labels == r.label)
    # The uniform background far from the peaks is left unclassified.
    assert np.sum(result.labels == -1) > 0


def test_touching_peaks_split_at_valley():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 4, 2000), rng.normal(14, 4, 2000)])
    result = find_regions(values, n_peaks=2, bin_width=1.0, min_count=10)
    assert len(result.regions) == 2
    a, b = result.regions
    assert a.high == b.low
    assert 4 < a.high < 10


def test_fewer_peaks_than_requested_and_bad_input():
    values = np.random.default_rng(2).normal(0, 1, 500)
    result = find_regions(values, n_peaks=5, bin_width=0.5, min_count=10)
    assert 1 <= len(result.regions) <= 5
    with pytest.raises(ValueError, match="non-finite"):
        find_regions([1.0, np.nan], bin_width=1.0)
    with pytest.raises(ValueError, match="bin_width"):
        find_regions([1.0, 2.0], bin_width=0.0)


def test_region_figures(tmp_path):
    pytest.importorskip("matplotlib")
    from ase.build import bulk

    from sagpr.plots.common import save_figure
    from sagpr.plots.regions import plot_region_histogram, plot_sites_by_region

    values, _ = synthetic()
    result = find_regions(values, bin_width=2.0)
    path = save_figure(plot_region_histogram(result), tmp_path / "hist.png")
    assert path.stat().st_size > 1000
    atoms = bulk("Li", "bcc", a=3.5, cubic=True).repeat(3)
    labels = np.arange(len(atoms)) % 3 - 1
    path = save_figure(plot_sites_by_region(atoms, labels), tmp_path / "sites.png")
    assert path.stat().st_size > 1000
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    with pytest.raises(ValueError, match="labels"):
        plot_sites_by_region(atoms, labels[:-1])
