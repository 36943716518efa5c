"""Powder spectra from EFG (and shielding) tensors with mrsimulator: conventions checked physically."""
import numpy as np
import pytest

from symmetry import random_rotation

pytest.importorskip("mrsimulator", reason="needs the 'spectra' extra (mrsimulator)")

from sagpr import spectra  # noqa: E402
from sagpr.nmr import asymmetry, principal_components, quadrupolar_coupling, quadrupolar_frequency  # noqa: E402


def random_efg(rng, n, scale=0.05):
    A = rng.normal(size=(n, 3, 3))
    V = A + np.swapaxes(A, 1, 2)
    V -= np.trace(V, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
    return V * scale


def random_shielding(rng, n, aniso=40.0, iso=550.0):
    A = rng.normal(size=(n, 3, 3)) * aniso
    return 0.5 * (A + np.swapaxes(A, 1, 2)) + iso * np.eye(3)


def rotate(T, R):
    return np.einsum("ij,njk,lk->nil", R, T, R)


def test_haeberlen_frames_rebuild_the_tensor_and_euler_angles_are_mrsimulators_reading():
    rng = np.random.default_rng(0)
    V = random_efg(rng, 20)
    values, frames = spectra.haeberlen_frames(*principal_components(V))
    a = np.abs(values)
    assert np.all(a[:, 2] >= a[:, 0]) and np.all(a[:, 0] >= a[:, 1])  # |zz| >= |xx| >= |yy|
    assert np.allclose(np.linalg.det(frames), 1.0)
    R = spectra.frames_from_euler(spectra.euler_angles(frames))
    assert np.allclose(R, frames)
    assert np.allclose(np.einsum("nij,nj,nkj->nik", R, values, R), V)
    # eta is the same number in both orderings
    q = spectra.quadrupolar_parameters(V, "27Al")
    assert np.allclose(q["eta"], asymmetry(V))
    assert np.allclose(q["cq_hz"], quadrupolar_coupling(V, "27Al") * 1e6)


def _satellite_half_splitting(spec):
    """Half the distance between the two satellite peaks of an I = 3/2 single-crystal spectrum."""
    x, y = spec.khz, spec.intensity
    peaks = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] > y[i + 1] and y[i] > 0.05 * y.max()]
    centroid = lambda i: float((x[i - 2:i + 3] * y[i - 2:i + 3]).sum() / y[i - 2:i + 3].sum())  # noqa: E731
    pos = sorted(centroid(i) for i in peaks)
    assert len(pos) == 3, pos  # two satellites and the central line
    return 0.5 * (pos[2] - pos[0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_single_orientation_satellites_sit_at_sagprs_omega_q(seed):
    """The field along the structure's z axis (alpha = beta = 0): for I = 3/2 the satellites are at
    +-omega_Q (second-order shifts are equal for both, so half their splitting is omega_Q)."""
    rng = np.random.default_rng(seed)
    V = random_efg(rng, 1)
    wq = abs(quadrupolar_frequency(V, "7Li", b0=(0, 0, 1))[0])  # kHz
    site = spectra.site_parameters(V, "7Li", frame="lab")
    spec = spectra.simulate(site, 14.1, transition="all", count=8192, width_hz=2.6 * wq * 1e3 + 20e3, offset_hz=0.0,
                            orientations=([0.0], [0.0], [1.0]))
    assert _satellite_half_splitting(spec) == pytest.approx(wq, abs=0.05 + 0.002 * wq)
    # another field direction b: turning the structure by R with R^T z = b is the same experiment
    R = random_rotation(rng)
    b = R.T @ np.array([0.0, 0.0, 1.0])
    wq_b = abs(quadrupolar_frequency(V, "7Li", b0=b)[0])
    spec_b = spectra.simulate(spectra.site_parameters(rotate(V, R), "7Li", frame="lab"), 14.1, transition="all",
                              count=8192, width_hz=2.6 * max(wq, wq_b) * 1e3 + 20e3, offset_hz=0.0,
                              orientations=([0.0], [0.0], [1.0]))
    assert _satellite_half_splitting(spec_b) == pytest.approx(wq_b, abs=0.05 + 0.002 * wq_b)


def test_single_orientation_with_the_transposed_angles_misses_omega_q():
    """The check can fail: the active reading (angles of R^T) puts the satellites elsewhere."""
    rng = np.random.default_rng(1)
    V = random_efg(rng, 1)
    wq = abs(quadrupolar_frequency(V, "7Li")[0])
    site = spectra.site_parameters(V, "7Li", frame="lab")
    site.euler_q = spectra.euler_angles(np.swapaxes(spectra.frames_from_euler(site.euler_q), 1, 2))
    spec = spectra.simulate(site, 14.1, transition="all", count=8192, width_hz=2.6 * wq * 1e3 + 20e3, offset_hz=0.0,
                            orientations=([0.0], [0.0], [1.0]))
    assert abs(_satellite_half_splitting(spec) - wq) > 1.0


def _powder(V, sigma, frame, **kw):
    site = spectra.site_parameters(V, "27Al", shielding=sigma, shielding_reference=550.0 if sigma is not None else None,
                                   frame=frame)
    return spectra.simulate(site, 14.1, spinning_hz=0.0, transition="central", count=512, width_hz=120e3,
                            offset_hz=-10e3, integration_density=40, broadening_hz=500.0, **kw).intensity


@pytest.mark.parametrize("frame", ["lab", "site"])
@pytest.mark.parametrize("with_shielding", [False, True])
def test_rotating_the_structure_leaves_the_powder_spectrum_unchanged(frame, with_shielding):
    rng = np.random.default_rng(7)
    V = random_efg(rng, 3, scale=0.08)
    sigma = random_shielding(rng, 3) if with_shielding else None
    R = random_rotation(rng)
    # lab-frame angles make the orientation matter to the integration grid: use the whole hemisphere
    volume = "hemisphere" if frame == "lab" else None
    a = _powder(V, sigma, frame, integration_volume=volume)
    b = _powder(rotate(V, R), None if sigma is None else rotate(sigma, R), frame, integration_volume=volume)
    assert spectra.spectral_difference(b, a) < 0.01


def test_octant_integration_is_wrong_for_non_coaxial_tensors():
    """Why the hemisphere is chosen with shielding: the default octant changes under a rotation."""
    rng = np.random.default_rng(7)
    V = random_efg(rng, 3, scale=0.08)
    sigma = random_shielding(rng, 3)
    R = random_rotation(rng)
    a = _powder(V, sigma, "site", integration_volume="octant")
    b = _powder(rotate(V, R), rotate(sigma, R), "site", integration_volume="octant")
    c = _powder(V, sigma, "site")  # hemisphere
    assert spectra.spectral_difference(a, c) > 0.02 or spectra.spectral_difference(b, c) > 0.02


def _mas_ct(cq_hz, eta, spin_label="27Al", field=14.1, count=4096, width=40e3, offset=-4e3, density=150):
    # a tensor with given C_Q and eta in its PAS
    from sagpr.isotopes import get_isotope
    from sagpr.units import CQ_MHZ_PER_AU_MB

    q = get_isotope(spin_label).quadrupole_moment
    vzz = cq_hz * 1e-6 / (CQ_MHZ_PER_AU_MB * q)
    V = np.diag([-(1 - eta) / 2 * vzz, -(1 + eta) / 2 * vzz, vzz])[None]
    site = spectra.site_parameters(V, spin_label)
    return spectra.simulate(site, field, spinning_hz=1e9, transition="central", count=count, width_hz=width,
                            offset_hz=offset, integration_density=density)


def _second_order(cq_hz, spin, nu0):
    nuq = 3 * cq_hz / (2 * spin * (2 * spin - 1))
    return nuq ** 2 * (spin * (spin + 1) - 0.75) / nu0


def test_mas_central_transition_centre_of_gravity_is_the_second_order_shift():
    """nu_cg = -(3/40) C_Q^2 / nu_0 [I(I+1) - 3/4] / (I^2 (2I-1)^2) (1 + eta^2/3): the isotropic
    second-order quadrupolar shift (A. Samoson, Chem. Phys. Lett. 119, 29 (1985); D. Freude and
    J. Haase, NMR Basic Principles and Progress 29, 1 (1993))."""
    spin, cq = 2.5, 5e6
    nu0 = spectra.larmor_frequency("27Al", 14.1)
    for eta in (0.0, 0.7):
        spec = _mas_ct(cq, eta)
        cg = (spec.hz * spec.intensity).sum() / spec.intensity.sum()
        expected = -(3 / 40) * cq ** 2 / nu0 * (spin * (spin + 1) - 0.75) / (spin ** 2 * (2 * spin - 1) ** 2) * (1 + eta ** 2 / 3)
        assert cg == pytest.approx(expected, rel=0.01)


def test_mas_central_transition_width_for_eta_zero():
    """eta = 0 under fast MAS: nu = -(nu_Q^2 X / 16 nu_0) (8/15 + (4/5) P4(cos beta)), X = I(I+1) - 3/4,
    nu_Q = 3 C_Q / (2I(2I-1)). Abragam's static central line (Principles of Nuclear Magnetism, 1961,
    ch. VII: -(nu_Q^2 X / 16 nu_0)(1 - cos^2)(9 cos^2 - 1)) written in Legendre polynomials, the P2
    term removed and P4 scaled by P4(cos 54.74 deg) = -7/18 by the spinning. P4 in [-3/7, 1]: the line
    runs from -(4/3) to -(4/21) nu_Q^2 X / (16 nu_0), a width of nu_Q^2 X / (14 nu_0)."""
    spin, cq = 2.5, 5e6
    nu0 = spectra.larmor_frequency("27Al", 14.1)
    spec = _mas_ct(cq, 0.0, count=8192)
    k = _second_order(cq, spin, nu0) / 16
    support = spec.hz[spec.intensity > 1e-3 * spec.intensity.max()]
    step = spec.hz[1] - spec.hz[0]
    assert support.min() == pytest.approx(-(4 / 3) * k, abs=3 * step)
    assert support.max() == pytest.approx(-(4 / 21) * k, abs=3 * step)
    assert support.max() - support.min() == pytest.approx(_second_order(cq, spin, nu0) / 14, rel=0.02)


def test_mas_satellite_sidebands_follow_the_static_pattern():
    """Slow MAS of all transitions: the sideband envelope is the static powder pattern (binned per
    sideband), only if the sidebands reach across the satellites (chosen from the window here)."""
    from sagpr.units import CQ_MHZ_PER_AU_MB

    cq, eta, rate = 2e6, 0.3, 20e3
    vzz = cq * 1e-6 / (CQ_MHZ_PER_AU_MB * 146.6)
    site = spectra.site_parameters(np.diag([-(1 - eta) / 2 * vzz, -(1 + eta) / 2 * vzz, vzz])[None], "27Al")
    extent = 3 * cq / (4 * 2.5)  # outer satellites' first-order edge
    kw = dict(transition="all", count=4096, integration_density=30)
    static = spectra.simulate(site, 14.1, **kw)
    support = static.hz[static.intensity > 1e-4 * static.intensity.max()]
    assert support.min() == pytest.approx(-extent, rel=0.01) and support.max() == pytest.approx(extent, rel=0.01)
    edges = np.arange(-1.2 * extent, 1.2 * extent + rate, rate) + rate / 2
    away = np.abs(0.5 * (edges[1:] + edges[:-1])) > 0.1 * extent  # the satellites, not the central band

    def envelope_difference(spec):
        a = np.histogram(spec.hz, edges, weights=spec.intensity)[0]
        b = np.histogram(static.hz, edges, weights=static.intensity)[0]
        return np.abs(a - b)[away].sum() / b[away].sum()

    mas = spectra.simulate(site, 14.1, spinning_hz=rate, **kw)
    assert mas.settings["sidebands"] >= 1.2 * mas.settings["width_hz"] / rate
    assert envelope_difference(mas) < 0.15
    assert envelope_difference(spectra.simulate(site, 14.1, spinning_hz=rate, sidebands=32, **kw)) > 0.25


def test_shielding_anisotropy_sign_shift_reference_and_ppm_axis():
    """A shielding sigma_zz - sigma_iso = +100 ppm puts the parallel edge at -100 ppm from delta_iso."""
    sigma = np.diag([500.0 - 50, 500.0 - 50, 500.0 + 100])[None]
    V = np.diag([-0.0005, -0.0005, 0.001])[None]  # a tiny EFG: shielding dominates
    site = spectra.site_parameters(V, "27Al", shielding=sigma, shielding_reference=520.0)
    assert site.shift[0] == pytest.approx(20.0)
    assert site.zeta[0] == pytest.approx(100.0)
    nu0 = spectra.larmor_frequency("27Al", 14.1)
    spec = spectra.simulate(site, 14.1, transition="central", count=2048, width_hz=300 * nu0 * 1e-6,
                            offset_hz=20 * nu0 * 1e-6, integration_density=60)
    assert np.allclose(spec.ppm, spec.hz / nu0 * 1e6, rtol=1e-9)
    support = spec.ppm[spec.intensity > 1e-3 * spec.intensity.max()]
    step = spec.ppm[1] - spec.ppm[0]
    assert support.min() == pytest.approx(20.0 - 100.0, abs=3 * step)
    assert spec.ppm[np.argmax(spec.intensity)] == pytest.approx(20.0 + 50.0, abs=3 * step)


def test_groups_add_up_to_the_whole_and_area_is_site_count():
    rng = np.random.default_rng(3)
    V = random_efg(rng, 6, scale=0.05)
    site = spectra.site_parameters(V, "27Al")
    kw = dict(spinning_hz=15e3, count=1024, integration_density=20)
    whole = spectra.simulate(site, 14.1, **kw)
    parts = spectra.simulate(site, 14.1, groups=[[0, 1], [2, 3, 4, 5]], width_hz=whole.settings["width_hz"],
                             offset_hz=whole.settings["offset_hz"], **kw)
    step = whole.hz[1] - whole.hz[0]
    assert whole.intensity.sum() * step == pytest.approx(6.0)
    assert parts.intensity.shape == (2, 1024)
    assert np.allclose(parts.intensity.sum(axis=0), whole.intensity, atol=1e-9 * whole.intensity.max())


def test_broadening_keeps_area_and_widens():
    y = np.zeros(512)
    y[256] = 1.0
    g = spectra.broaden(y, 10.0, 200.0)
    assert g.sum() == pytest.approx(1.0)
    half = np.flatnonzero(g >= g.max() / 2)
    assert (half.max() - half.min() + 1) * 10.0 == pytest.approx(200.0, abs=20.0)


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mrsimulator", None)
    with pytest.raises(ImportError) as err:
        spectra.require_mrsimulator()
    assert "'spectra' extra" in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- the command line
def _tiny_prediction_file(path, rng, n_frames=2, n_al=6, with_reference=True, ms=False):
    """Frames like `sagpr predict` writes them: 'efg' (predicted), 'efg_reference', efg_units."""
    from ase import Atoms

    from sagpr.io import write_efg

    frames = []
    for k in range(n_frames):
        n = n_al + 2
        pos = rng.uniform(0, 8, size=(n, 3))
        pos[:, 0] = np.arange(n) * 1.9  # no overlapping atoms
        atoms = Atoms(["Al"] * n_al + ["O"] * 2, positions=pos, cell=np.eye(3) * 16, pbc=True)
        ref = random_efg(rng, n, scale=0.08)
        pred = ref + random_efg(rng, n, scale=0.004)
        atoms.arrays["efg"] = pred
        if with_reference:
            atoms.arrays["efg_reference"] = ref.reshape(n, 9)
        if ms:
            atoms.arrays["ms"] = random_shielding(rng, n).reshape(n, 9)
        atoms.info["efg_units"] = "au"
        frames.append(atoms)
    write_efg(path, frames)
    return frames


CLI_FAST = ["--density", "12", "--points", "512", "--no-progress"]


def test_cli_spectrum_writes_predicted_over_reference_with_regions(tmp_path, capsys):
    from sagpr.cli import main

    rng = np.random.default_rng(11)
    src = tmp_path / "pred.xyz"
    _tiny_prediction_file(src, rng)
    exp = tmp_path / "exp.dat"
    exp.write_text("# ppm intensity\n" + "\n".join(f"{p} {np.exp(-p * p / 200)}" for p in np.linspace(-100, 50, 40)))
    out = tmp_path / "spec"
    rc = main(["spectrum", str(src), "--species", "Al", "--field", "14.1T", "--spinning", "15kHz", "--out", str(out),
               "--experimental", str(exp), *CLI_FAST])
    assert rc == 0
    text = capsys.readouterr().out
    assert "spectral difference predicted vs reference" in text
    assert sorted(p.name for p in out.iterdir()) == ["regions.csv", "regions.png", "spectrum.csv", "spectrum.png",
                                                      "summary.json"]
    data = np.genfromtxt(out / "spectrum.csv", delimiter=",", skip_header=2)
    assert data.shape == (512, 4)
    header = (out / "spectrum.csv").read_text().splitlines()[1]
    assert header == "ppm,khz,predicted_per_khz,reference_per_khz"
    step = abs(data[1, 1] - data[0, 1])
    assert data[:, 2].sum() * step == pytest.approx(12.0, rel=1e-6)  # 12 Al sites, area in sites
    import json

    summary = json.loads((out / "summary.json").read_text())
    diff = spectra.spectral_difference(data[:, 2], data[:, 3])
    assert summary["spectral_difference"] == pytest.approx(diff, rel=1e-5)
    assert 0 < diff < 0.5
    regions = np.genfromtxt(out / "regions.csv", delimiter=",", skip_header=2)
    assert np.allclose(regions[:, 2:].sum(axis=1), data[:, 2], atol=1e-6 * data[:, 2].max())
    # a second run into the same folder needs --overwrite
    assert main(["spectrum", str(src), "--species", "Al", "--field", "14.1", "--static", "--out", str(out),
                 *CLI_FAST]) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_cli_spectrum_one_set_with_shielding_and_errors(tmp_path, capsys):
    from sagpr.cli import main

    rng = np.random.default_rng(12)
    src = tmp_path / "dft.xyz"
    _tiny_prediction_file(src, rng, n_frames=1, with_reference=False, ms=True)
    out = tmp_path / "spec"
    rc = main(["spectrum", str(src), "--species", "Al", "--field", "600MHz", "--static", "--transition", "all",
               "--shielding-reference", "550", "--no-regions", "--out", str(out), *CLI_FAST])
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "with shielding" in text and "14.09" in text  # 600 MHz 1H is 14.09 T
    assert (out / "spectrum.csv").read_text().splitlines()[1] == "ppm,khz,efg_per_khz"
    assert not (out / "regions.csv").exists()
    for bad, message in ((["--field", "fast"], "--field"), (["--field", "14.1", "--spinning=-3kHz"], "--spinning"),
                         (["--field", "14.1", "--species", "Li"], "no Li atoms")):
        args = ["spectrum", str(src), "--species", "Al", "--out", str(tmp_path / "x"), *CLI_FAST, *bad]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_cli_spectrum_without_the_extra_names_it(tmp_path, capsys, monkeypatch):
    import sys

    from sagpr.cli import main

    rng = np.random.default_rng(13)
    src = tmp_path / "pred.xyz"
    _tiny_prediction_file(src, rng, n_frames=1)
    monkeypatch.setitem(sys.modules, "mrsimulator", None)
    assert main(["spectrum", str(src), "--species", "Al", "--field", "14.1T", "--out", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "'spectra' extra" in err and "pip install 'sagpr[spectra]'" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_read_experimental_two_columns(tmp_path):
    from sagpr.workflows.prediction.spectra import read_experimental

    good = tmp_path / "exp.csv"
    good.write_text("ppm,intensity\n10, 1.0\n-5, 2.0  # a comment\n\n0 3\n")
    assert read_experimental(good).tolist() == [[-5.0, 2.0], [0.0, 3.0], [10.0, 1.0]]
    bad = tmp_path / "bad.dat"
    bad.write_text("1 2\n3 x\n")
    with pytest.raises(ValueError, match="bad.dat: line 2"):
        read_experimental(bad)
    one = tmp_path / "one.dat"
    one.write_text("1 2\n3\n")
    with pytest.raises(ValueError, match="line 2: expected two columns"):
        read_experimental(one)


def test_real_castep_shielding_and_efg_rotated_structure_same_spectrum():
    """CASTEP ethanol (../shared/data/magres): the 17O site's own shielding and EFG tensors."""
    from pathlib import Path

    from sagpr.workflows.prediction.spectra import collect_spectrum_sites

    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "magres" / "ethanol.magres"
    if not path.is_file():
        pytest.skip(f"needs the shared data ({path})")
    from sagpr.io import read_efg

    sites = collect_spectrum_sites(read_efg(path), "O")
    assert sites.shielding is not None and len(sites) == 1
    R = random_rotation(np.random.default_rng(5))
    kw = dict(transition="central", count=512, width_hz=120e3, offset_hz=-10e3, integration_density=40,
              broadening_hz=500.0)
    V, sigma = sites.tensors["efg"], sites.shielding
    a = spectra.simulate(spectra.site_parameters(V, "17O", shielding=sigma), 14.1, **kw).intensity
    b = spectra.simulate(spectra.site_parameters(rotate(V, R), "17O", shielding=rotate(sigma, R)), 14.1, **kw).intensity
    assert spectra.spectral_difference(b, a) < 0.01
    # the shielding matters here: without it the line is another
    c = spectra.simulate(spectra.site_parameters(V, "17O"), 14.1, **kw).intensity
    assert spectra.spectral_difference(c, a) > 0.05


def test_integer_spin_has_no_central_transition():
    V = random_efg(np.random.default_rng(4), 1)
    site = spectra.site_parameters(V, "14N")
    with pytest.raises(ValueError, match="integer spin I = 1: no central transition"):
        spectra.simulate(site, 14.1)
    spec = spectra.simulate(site, 14.1, transition="all", count=256, integration_density=10)
    assert spec.intensity.sum() > 0
