"""Box-Behnken designs and response surfaces."""
import numpy as np
import pytest

from sagpr.workflows.tuning.design import Factor, ResponseSurface, box_behnken, decode_point, design_points


@pytest.mark.parametrize("k, runs", [(3, 15), (4, 27), (5, 46)])
def test_run_counts_and_levels(k, runs):
    d = box_behnken(k)
    assert d.shape == (runs, k)
    assert set(np.unique(d)) == {-1.0, 0.0, 1.0}
    # Every non-centre run moves exactly two factors; no run is a corner of the whole box.
    moved = np.count_nonzero(d, axis=1)
    assert set(moved) == {0, 2}
    # Every factor is at each of its three levels, balanced between -1 and +1.
    for j in range(k):
        assert np.sum(d[:, j] == 1) == np.sum(d[:, j] == -1) > 0


def test_rejects_too_few_factors():
    with pytest.raises(ValueError, match="3 to 7"):
        box_behnken(2)


def test_response_surface_recovers_known_quadratic_minimum():
    rng = np.random.default_rng(0)
    k = 3
    a = rng.normal(size=(k, k))
    hessian = a @ a.T + k * np.eye(k)
    x_star = np.array([0.3, -0.5, 0.1])

    def f(x):
        dx = np.atleast_2d(x) - x_star
        return 2.0 + 0.5 * np.einsum("ni,ij,nj->n", dx, hessian, dx)

    d = box_behnken(k)
    surface = ResponseSurface.fit(d, f(d))
    assert surface.r2 == pytest.approx(1.0)
    np.testing.assert_allclose(surface.minimum(), x_star, atol=1e-5)
    np.testing.assert_allclose(surface(d), f(d), atol=1e-10)


def test_minimum_stays_inside_bounds_for_indefinite_surface():
    d = box_behnken(3)
    values = d[:, 0] ** 2 - d[:, 1] ** 2 + 0.5 * d[:, 2]  # saddle: minimum on the boundary
    x = ResponseSurface.fit(d, values).minimum()
    assert np.all(np.abs(x) <= 1.0)
    np.testing.assert_allclose(np.abs(x[1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(x[2], -1.0, atol=1e-6)


def test_factors_decode_linear_log_integer():
    cutoff = Factor("cutoff", 3.0, 6.0)
    reg = Factor("regularizer", 1e-8, 1e-2, scale="log")
    zeta = Factor("zeta", 1, 4, integer=True)
    point = decode_point([cutoff, reg, zeta], [0.0, 0.0, 0.0])
    assert point == {"cutoff": 4.5, "regularizer": pytest.approx(1e-5), "zeta": 2}
    assert reg.encode(1e-2) == pytest.approx(1.0)
    runs = design_points([cutoff, reg, zeta])
    assert len(runs) == 15 and all(3.0 <= r["cutoff"] <= 6.0 for r in runs)
    with pytest.raises(ValueError, match="low < high"):
        Factor("cutoff", 5.0, 3.0)
    with pytest.raises(ValueError, match="positive"):
        Factor("regularizer", 0.0, 1.0, scale="log")
