"""sagpr.dynamics physics: motional averaging, the SAE correlation F2 and its fit, hops, series files."""
import ast
import pathlib

import numpy as np
import pytest

from sagpr.dynamics.averaging import residual_observables, running_average, weighted_average, window_average
from sagpr.dynamics.correlation import f2, fit_f2, omega_q_scale, omega_series, sphere_directions
from sagpr.dynamics.hops import (drop_short_stays, fill_unassigned, hop_rates, labels_from_intervals, nearest_site_labels,
                                 residence_times)
from sagpr.dynamics.series import RawSeries, write_npz
from sagpr.units import parse_duration
from sagpr.nmr import observables, quadrupolar_frequency
from symmetry import random_rotation


def _uniaxial(axis, vzz=1.0):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return vzz * (1.5 * np.outer(axis, axis) - 0.5 * np.eye(3))


def _random_tensor(rng):
    a = rng.normal(size=(3, 3))
    s = a + a.T
    return s - np.trace(s) / 3 * np.eye(3)


def test_two_state_hopping_gives_the_weighted_mean_tensor():
    rng = np.random.default_rng(1)
    v1, v2 = _random_tensor(rng), _random_tensor(rng)
    states = rng.permutation(np.r_[np.zeros(30, int), np.ones(70, int)])  # occupation 0.3 / 0.7
    series = np.stack([v1, v2])[states][:, None]  # (100 frames, 1 site, 3, 3)
    mean = window_average(series, 100)[0, 0]
    np.testing.assert_allclose(mean, 0.3 * v1 + 0.7 * v2, atol=1e-13)
    np.testing.assert_allclose(weighted_average([v1, v2], [3, 7]), mean, atol=1e-13)
    # the residual observables are those of the mean tensor, not averages of C_Q or eta
    obs = residual_observables(mean[None], "7Li", "au")
    expected = observables(mean[None], "7Li", units="au")
    np.testing.assert_allclose(obs["cq"], expected["cq"])
    np.testing.assert_allclose(obs["eta"], expected["eta"])
    per_frame = observables(series[:, 0], "7Li", units="au")
    assert not np.isclose(obs["cq"][0], per_frame["cq"].mean())


def test_window_average_drops_a_partial_window_and_reads_memmaps(tmp_path):
    rng = np.random.default_rng(2)
    series = rng.normal(size=(23, 4, 3, 3))
    raw = RawSeries(tmp_path / "t.raw", (4, 3, 3))
    raw.append(series[:10])
    raw.append(series[10:])
    mapped = raw.array()
    assert isinstance(mapped, np.memmap)
    avg = window_average(mapped, 5)
    assert avg.shape == (4, 4, 3, 3)
    np.testing.assert_allclose(avg[2], series[10:15].mean(axis=0))
    np.testing.assert_allclose(running_average(series, 4)[3], series[3:7].mean(axis=0))


@pytest.mark.parametrize("beta_deg", [0.0, 30.0, 54.7356, 90.0])
def test_fast_rotation_about_an_axis_gives_the_uniaxial_result(beta_deg):
    rng = np.random.default_rng(int(beta_deg))
    frame = random_rotation(rng)  # lab axis n = frame[:, 2]
    n = frame[:, 2]
    beta = np.radians(beta_deg)
    z = frame @ np.array([np.sin(beta), 0.0, np.cos(beta)])  # tensor axis at beta to n
    v = _uniaxial(z, vzz=2.0)
    angles = 2 * np.pi * np.arange(12) / 12
    series = []
    for a in angles:  # rotation about n by a (Rodrigues)
        k = np.array([[0, -n[2], n[1]], [n[2], 0, -n[0]], [-n[1], n[0], 0]])
        r = np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k
        series.append(r @ v @ r.T)
    mean = window_average(np.array(series)[:, None], len(angles))[0, 0]
    p2 = 0.5 * (3 * np.cos(beta) ** 2 - 1)
    np.testing.assert_allclose(mean, _uniaxial(n, 2.0 * p2), atol=1e-12)
    if abs(p2) > 1e-3:
        obs = residual_observables(mean[None], "7Li", "au")
        assert obs["eta"][0] == pytest.approx(0.0, abs=1e-9)
        assert obs["vzz"][0] == pytest.approx(2.0 * p2, rel=1e-10)
        assert abs(abs(obs["frames"][0][:, 2] @ n) - 1) < 1e-9


def test_omega_series_matches_nmr():
    rng = np.random.default_rng(3)
    tensors = np.stack([[_random_tensor(rng) for _ in range(3)] for _ in range(4)])
    dirs = sphere_directions(5)
    omega = omega_series(tensors, dirs, omega_q_scale("7Li", "V/A^2"))
    for d, b in enumerate(dirs):
        np.testing.assert_allclose(omega[:, :, d].ravel(),
                                   quadrupolar_frequency(tensors.reshape(-1, 3, 3), "7Li", b0=b, units="V/A^2"),
                                   rtol=1e-12)


def test_sphere_directions_are_unit_and_quasi_uniform():
    dirs = sphere_directions(200)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0)
    assert np.all(dirs[:, 2] > 0)
    # a powder average of P2(cos) about any axis vanishes (the second moment is isotropic)
    second = dirs.T @ dirs / len(dirs)
    np.testing.assert_allclose(second, np.eye(3) / 3, atol=2e-3)
    np.testing.assert_array_equal(sphere_directions(1), [[0.0, 0.0, 1.0]])


def _slow_f2(omega, tp, lags, function):
    """Direct double loop over origins and nuclei: the definition, without FFTs."""
    omega = omega.reshape(len(omega), -1)
    g = function(2e-3 * np.pi * tp * omega)
    means = [np.mean([g[t] * g[t + k] for t in range(len(g) - k)]) for k in lags]
    return np.array(means) / np.mean(g * g)


@pytest.mark.parametrize("kind,function", [("sin", np.sin), ("cos", np.cos)])
def test_f2_equals_the_direct_definition(kind, function):
    rng = np.random.default_rng(4)
    omega = rng.normal(scale=30.0, size=(50, 3, 2))
    lags = [0, 1, 3, 10, 49]
    got = f2(omega, [2.0, 7.0], lags, kind=kind)
    for i, tp in enumerate([2.0, 7.0]):
        np.testing.assert_allclose(got[i], _slow_f2(omega, tp, lags, function), rtol=1e-10, atol=1e-12)


def test_static_site_gives_f2_of_one():
    rng = np.random.default_rng(5)
    tensors = np.broadcast_to(np.stack([_random_tensor(rng) for _ in range(6)]), (40, 6, 3, 3))
    omega = omega_series(tensors, sphere_directions(10), 25.0)
    for kind in ("sin", "cos"):
        np.testing.assert_allclose(f2(omega, [0.5, 3.0, 40.0], range(0, 39, 3), kind=kind), 1.0, atol=1e-12)


def _jump_series(rng, n_frames, n_nuclei, n_sites, rate):
    """Each nucleus redraws its site uniformly among n_sites at rate `rate` per frame, so
    P(same site after t) = 1/N + (1 - 1/N) exp(-rate t) and F2 decays at exactly `rate`."""
    state = rng.integers(0, n_sites, size=n_nuclei)
    out = np.empty((n_frames, n_nuclei), dtype=int)
    p = 1 - np.exp(-rate)
    for t in range(n_frames):
        redraw = rng.random(n_nuclei) < p
        state = np.where(redraw, rng.integers(0, n_sites, size=n_nuclei), state)
        out[t] = state
    return out


def test_jumps_among_n_sites_decay_at_the_known_rate_with_plateau_one_over_n():
    rng = np.random.default_rng(6)
    n_sites, rate = 3, 0.02  # octahedral-like jumps among tensors along x, y, z
    sites = np.stack([_uniaxial(a) for a in np.eye(3)])
    states = _jump_series(rng, 2000, 16, n_sites, rate)
    omega = omega_series(sites[states], sphere_directions(20), 100.0)
    lags = np.r_[0, np.unique(np.geomspace(1, 600, 40).astype(int))]
    fits = {tp: fit_f2(lags, f2(omega, [tp], lags, kind="sin")[0]) for tp in (0.5, 50.0)}
    for fit in fits.values():
        assert fit["tau"] == pytest.approx(1 / rate, rel=0.12)
    # large omega_Q t_p: distinct environments decorrelate, Z -> 1/N; small: Z of the residual tensor (0 here)
    assert fits[50.0]["z"] == pytest.approx(1 / n_sites, abs=0.07)
    assert fits[0.5]["z"] < 0.1
    # the hops counted directly: rate (N - 1) / N per frame leave the site
    counted = hop_rates(states, 1.0)
    assert counted["hops"] / (counted["time_in"].sum()) == pytest.approx(rate * (n_sites - 1) / n_sites, rel=0.1)


def test_fit_recovers_a_stretched_exponential():
    t = np.geomspace(0.01, 100, 60)
    y = 0.8 * np.exp(-(t / 3.0) ** 0.6) + 0.2
    fit = fit_f2(t, y)
    assert fit["tau"] == pytest.approx(3.0, rel=1e-4) and fit["beta"] == pytest.approx(0.6, rel=1e-4)
    assert fit["z"] == pytest.approx(0.2, abs=1e-5)
    assert np.isnan(fit_f2(t, np.ones_like(t))["tau"])


def test_hops_residence_times_and_rates_of_a_hand_made_history():
    labels = np.array([[0, 0, -1, 1, 1, 1, 0, 0, 2, 2]]).T  # one nucleus
    filled = fill_unassigned(labels)
    np.testing.assert_array_equal(filled[:, 0], [0, 0, 0, 1, 1, 1, 0, 0, 2, 2])
    stays = residence_times(labels, 0.5)
    assert set(stays) == {1, 0} and stays[1].tolist() == [1.5] and stays[0].tolist() == [1.0]
    rates = hop_rates(labels, 0.5, n_kinds=3)
    assert rates["hops"] == 3
    np.testing.assert_array_equal(rates["counts"], [[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(rates["time_in"], [2.5, 1.5, 0.5])
    np.testing.assert_allclose(rates["rates"][0], [0, 0.4, 0.4])
    # sites of one kind: a hop between two of them lands on the diagonal
    same = hop_rates(np.array([[0, 1, 1, 2]]).T, 1.0, kinds=[0, 0, 1])
    np.testing.assert_array_equal(same["counts"], [[1, 1], [0, 0]])
    grouped = residence_times(np.array([[0, 1, 1, 1, 0, 0, 2, 2, 0]]).T, 1.0, kinds=[0, 0, 1])
    assert grouped[0].tolist() == [3.0, 2.0] and grouped[1].tolist() == [2.0]
    np.testing.assert_array_equal(labels_from_intervals([-5, 1, 3, 9], [0, 2], [2, 5]), [-1, 0, 1, -1])


def test_short_stays_are_no_hops():
    # 8a site 0 -> transit site 5 for one frame -> back to 0, later a real hop to 2
    labels = np.array([[0, 0, 0, 5, 0, 0, 0, 2, 2, 2, 5]]).T
    np.testing.assert_array_equal(drop_short_stays(labels, 2)[:, 0], [0, 0, 0, -1, 0, 0, 0, 2, 2, 2, 5])
    assert hop_rates(drop_short_stays(labels, 2), 1.0, n_kinds=6)["hops"] == 2  # 0 -> 2, and the cut last stay
    assert hop_rates(labels, 1.0, n_kinds=6)["hops"] == 4
    np.testing.assert_array_equal(drop_short_stays(labels, 1), labels)


def test_nearest_site_labels_use_the_minimum_image():
    cell = np.diag([10.0, 10.0, 10.0])
    sites = np.array([[0.5, 0.5, 0.5], [5.0, 5.0, 5.0]])
    positions = np.array([[[9.8, 9.9, 0.1], [4.0, 5.0, 5.5]]])
    np.testing.assert_array_equal(nearest_site_labels(positions, sites, cell), [[0, 1]])
    np.testing.assert_array_equal(nearest_site_labels(positions, sites, cell, max_distance=0.5), [[-1, -1]])


def test_write_npz_streams_arrays_numpy_reads(tmp_path):
    rng = np.random.default_rng(7)
    arrays = {"tensors": rng.normal(size=(7, 3, 3, 3)), "index": np.arange(3), "units": np.array("au"),
              "empty": np.zeros((0, 3))}
    write_npz(tmp_path / "s.npz", arrays)
    with np.load(tmp_path / "s.npz") as back:
        for key, value in arrays.items():
            np.testing.assert_array_equal(back[key], value)


def test_parse_duration():
    assert parse_duration("10fs") == pytest.approx(0.01)
    assert parse_duration("0.5 ps") == 0.5 and parse_duration("2e-3ns") == pytest.approx(2.0)
    assert parse_duration(3) == 3.0
    for bad in ("ten fs", "5 parsecs", "-1ps", "0fs"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_dynamics_physics_imports_no_workflow():
    root = pathlib.Path(__file__).resolve().parents[1] / "python" / "sagpr" / "dynamics"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("workflows", "commands", "plots")), path
                assert "workflows" not in (node.module or ""), path


def test_docs_example_runs(capsys):
    import re

    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "dynamics.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "docs/dynamics.md", "exec"), {})
    printed = capsys.readouterr().out
    fit = eval(printed.strip().splitlines()[-1], {})
    assert fit["tau"] == pytest.approx(50, rel=0.15) and fit["z"] == pytest.approx(1 / 3, abs=0.07)
