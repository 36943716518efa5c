"""EFG principal frames, C_Q, eta, omega_Q and orientation agreement.

Reference values: real CASTEP .magres files in ../shared/data/magres (see its README), MagresView
1.6.1 tables and Euler angles cross-checked with TensorView for MATLAB.
"""
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sagpr.metrics as metrics
import sagpr.nmr as nmr
from sagpr.isotopes import DEFAULT_ISOTOPES, ISOTOPES, Isotope, get_isotope
from sagpr.rotations import matrix_to_quaternion, quaternion_to_matrix
from sagpr.tensors import l2_to_symmetric_traceless, rotate_cartesian, symmetric_traceless_part
from symmetry import random_rotation

# ../shared/data beside the repository; SAGPR_SHARED_DATA overrides (e.g. for git worktrees)
SHARED = Path(os.environ.get("SAGPR_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
MAGRES = SHARED / "magres"
needs_magres = pytest.mark.skipif(
    not (MAGRES / "ethanol.magres").is_file(), reason=f"CASTEP reference files not found in {MAGRES}"
)
rng = np.random.default_rng(7)


def random_efg(n, rng=rng, scale=1.0):
    return l2_to_symmetric_traceless(scale * rng.normal(size=(n, 5)))


def read_magres(name):
    from ase.io import read

    atoms = read(MAGRES / name, format="magres")
    return atoms, np.asarray(atoms.arrays["efg"], dtype=float), np.array(atoms.get_chemical_symbols())


# ---------------------------------------------------------------- real CASTEP data
@needs_magres
def test_ethanol_oxygen():
    atoms, V, sym = read_magres("ethanol.magres")
    o = np.flatnonzero(sym == "O")
    values, _ = nmr.principal_components(V[o])
    assert round(values[0, 2], 5) == -1.86151
    assert round(nmr.asymmetry(V[o])[0], 5) == 0.82329
    assert round(nmr.quadrupolar_coupling(V[o], "17O")[0], 5) == 11.18840
    assert round(nmr.quadrupolar_coupling(V[o], "O")[0], 5) == 11.18840  # default isotope


@needs_magres
def test_ethanol_deuterium_and_magresview_table():
    atoms, V, sym = read_magres("ethanol.magres")
    h = np.flatnonzero(sym == "H")
    cq = nmr.quadrupolar_coupling(V[h], "2H")
    assert round(cq[0], 5) == 0.19381
    # every H and the O of the MagresView 1.6.1 table: Chi (Hz) and eta
    table = {}
    for line in (MAGRES / "ethanol_efg.dat").read_text().splitlines():
        parts = line.split()
        if parts and "_" in parts[0] and parts[0][0] in "HCO":
            table[parts[0]] = (float(parts[1]), float(parts[2]))
    counters = {}
    eta = nmr.asymmetry(V)
    for i, s in enumerate(sym):
        counters[s] = counters.get(s, 0) + 1
        chi, eta_ref = table[f"{s}_{counters[s]}"]
        if s == "C":
            continue  # MagresView gives Chi = 0 for 13C (spin 1/2)
        cq_i = nmr.quadrupolar_coupling(V[i], s)[0]
        # MagresView uses slightly older constants: agreement to 1e-6 relative
        np.testing.assert_allclose(abs(cq_i) * 1e6, chi, rtol=1e-6)
        np.testing.assert_allclose(eta[i], eta_ref, atol=5e-8)


@needs_magres
def test_edizum_nitrogen_and_oxygen():
    atoms, V, sym = read_magres("EDIZUM.magres")
    cq_n = nmr.quadrupolar_coupling(V[sym == "N"], "14N")
    assert np.all(np.round(cq_n, 5) == -3.30180)
    cq_o = nmr.quadrupolar_coupling(V[sym == "O"], "17O")
    assert round(cq_o[0], 5) == 3.94073
    assert np.any(np.round(cq_o, 5) == 3.94073)


@needs_magres
def test_nacl_cubic_sites_do_not_crash():
    atoms, V, sym = read_magres("nacl.magres")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, frames = nmr.principal_components(V)
        eta = nmr.asymmetry(V)
        cq = nmr.quadrupolar_coupling(V, list(sym))
        om = nmr.quadrupolar_frequency(V, list(sym))
    assert np.abs(values).max() < 1e-12
    np.testing.assert_array_equal(eta, 0.0)
    assert np.abs(cq).max() < 1e-10 and np.abs(om).max() < 1e-7
    np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-12)


@needs_magres
def test_frames_match_tensorview_euler_angles():
    # ethanol_efg_eulers.dat: ZYZ active Euler angles, NQR order, cross-checked with TensorView.
    # The principal axes must agree up to sign with R = Rz(alpha) Ry(beta) Rz(gamma).
    atoms, V, sym = read_magres("ethanol.magres")
    euler = np.radians(np.loadtxt(MAGRES / "ethanol_efg_eulers.dat"))

    def rz(a):
        return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    def ry(a):
        return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])

    _, frames = nmr.principal_components(V)
    ref = np.array([rz(a) @ ry(b) @ rz(g) for a, b, g in euler])
    np.testing.assert_allclose(np.abs(np.einsum("nji,njk->nik", frames, ref)), np.broadcast_to(np.eye(3), ref.shape), atol=1e-7)
    np.testing.assert_allclose(nmr.orientation_agreement(ref, frames), 1.0, atol=1e-12)


# ---------------------------------------------------------------- constants and isotopes
def test_constants():
    assert round(nmr.CQ_MHZ_PER_AU_MB, 9) == 0.234964778
    assert round(nmr.AU_TO_V_PER_A2, 6) == 97.173624


def test_isotope_table():
    required = {
        "2H": (1, 2.860), "6Li": (1, -0.808), "7Li": (1.5, -40.1), "11B": (1.5, 40.59), "14N": (1, 20.44),
        "17O": (2.5, -25.58), "23Na": (1.5, 104), "25Mg": (2.5, 199.4), "27Al": (2.5, 146.6), "33S": (1.5, -67.8),
        "35Cl": (1.5, -81.65), "43Ca": (3.5, -40.8), "47Ti": (2.5, 302), "49Ti": (3.5, 247), "51V": (3.5, -52),
        "69Ga": (1.5, 171), "71Ga": (1.5, 107), "87Sr": (4.5, 305), "93Nb": (4.5, -320), "139La": (3.5, 200),
    }
    for label, (spin, q) in required.items():
        iso = ISOTOPES[label]
        assert (iso.spin, iso.quadrupole_moment) == (spin, q), label
    for element, label in {"Li": "7Li", "O": "17O", "Ti": "47Ti", "Al": "27Al", "H": "2H", "N": "14N"}.items():
        assert DEFAULT_ISOTOPES[element] == label
        assert get_isotope(element) is ISOTOPES[label]
    assert get_isotope("O17") is get_isotope("O-17") is ISOTOPES["17O"]
    assert get_isotope("Ti", {"Ti": "49Ti"}) is ISOTOPES["49Ti"]


def test_isotope_errors_and_overrides():
    V = random_efg(3)
    with pytest.raises(ValueError, match="no default quadrupolar isotope for 'C'"):
        nmr.quadrupolar_coupling(V, "C")
    with pytest.raises(ValueError, match="13C"):
        nmr.quadrupolar_coupling(V, "13C")
    with pytest.raises(ValueError, match="site 1: no default"):
        nmr.quadrupolar_coupling(V, ["O", "C", "O"])
    with pytest.raises(ValueError, match="2 isotopes for 3"):
        nmr.quadrupolar_coupling(V, ["O", "O"])
    with pytest.raises(ValueError, match="spin"):
        Isotope("1H", "H", 1, 0.5, 0.0)
    custom = Isotope("47Ti", "Ti", 47, 2.5, 290.0)
    np.testing.assert_allclose(
        nmr.quadrupolar_coupling(V, custom), nmr.quadrupolar_coupling(V, "47Ti") * 290.0 / 302.0, rtol=1e-14
    )
    np.testing.assert_allclose(
        nmr.quadrupolar_coupling(V, "Ti", defaults={"Ti": "49Ti"}), nmr.quadrupolar_coupling(V, "49Ti"), rtol=0
    )
    per_site = nmr.quadrupolar_coupling(V, ["17O", "7Li", "27Al"])
    for i, label in enumerate(["17O", "7Li", "27Al"]):
        assert per_site[i] == nmr.quadrupolar_coupling(V[i : i + 1], label)[0]


def test_units():
    V = random_efg(5)
    cq_au = nmr.quadrupolar_coupling(V, "27Al")
    np.testing.assert_allclose(nmr.quadrupolar_coupling(V * 97.173624292, "27Al", units="V/A^2"), cq_au, rtol=1e-13)
    np.testing.assert_allclose(
        nmr.quadrupolar_frequency(V * 97.173624292, "27Al", units="V/Å^2"), nmr.quadrupolar_frequency(V, "27Al"), rtol=1e-13
    )
    np.testing.assert_allclose(nmr.convert_efg(nmr.convert_efg(V, "au", "V/A^2"), "V/A^2", "au"), V, rtol=1e-15)
    with pytest.raises(ValueError, match="unknown EFG units 'T'"):
        nmr.quadrupolar_coupling(V, "27Al", units="T")


# ---------------------------------------------------------------- principal frames
def test_principal_components_decompose_and_order():
    V = random_efg(200)
    values, frames = nmr.principal_components(V)
    a = np.abs(values)
    assert np.all(a[:, 0] <= a[:, 1]) and np.all(a[:, 1] <= a[:, 2])
    np.testing.assert_allclose(np.einsum("nij,nj,nkj->nik", frames, values, frames), V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("nji,njk->nik", frames, frames), np.broadcast_to(np.eye(3), V.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-12)
    # sign rule: the largest-magnitude component of the x and z axes is positive
    for k in (0, 2):
        col = frames[:, :, k]
        assert np.all(np.take_along_axis(col, np.argmax(np.abs(col), axis=1)[:, None], axis=1) > 0)
    eta = nmr.asymmetry(V)
    assert np.all((eta >= 0) & (eta <= 1))
    np.testing.assert_allclose(eta, (values[:, 0] - values[:, 1]) / values[:, 2], rtol=1e-12)


def test_principal_components_deterministic_and_diagonal_input():
    V = random_efg(10)
    a = nmr.principal_components(V)
    b = nmr.principal_components(V.copy())
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    values, frames = nmr.principal_components(np.diag([1.0, -3.0, 2.0])[None])
    np.testing.assert_allclose(values, [[1.0, 2.0, -3.0]], atol=1e-15)
    np.testing.assert_allclose(np.abs(frames[0]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=1e-15)


def test_validation_names_the_site():
    V = random_efg(3)
    V[1, 0, 0] += 0.5
    with pytest.raises(ValueError, match=r"site 1 \(Li2\).*traceless"):
        nmr.quadrupolar_coupling(V, "7Li", labels=["Li1", "Li2", "Li3"])


# ---------------------------------------------------------------- quaternions and q~
def _all_branch_rotations(r):
    Rs = [random_rotation(r) for _ in range(20)]
    # rotations by ~pi about each axis exercise every branch of Shepperd's method
    for axis in np.eye(3):
        for angle in (np.pi, np.pi - 1e-9, 3.0):
            k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
            Rs.append(np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k)
    Rs.append(np.eye(3))
    return np.array(Rs)


def test_quaternion_round_trips():
    R = _all_branch_rotations(np.random.default_rng(3))
    q = matrix_to_quaternion(R)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)
    assert np.all(q[:, 0] >= 0)
    np.testing.assert_allclose(quaternion_to_matrix(q), R, rtol=0, atol=1e-12)
    q2 = np.random.default_rng(4).normal(size=(50, 4))
    q2 /= np.linalg.norm(q2, axis=1)[:, None]
    q2 *= np.sign(q2[:, :1])
    np.testing.assert_allclose(matrix_to_quaternion(quaternion_to_matrix(q2)), q2, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="rotation 0 is not a proper rotation"):
        matrix_to_quaternion(-np.eye(3)[None])


def _q_tilde_from_traces(Fr, Fp):
    # independent formula: |q0| of a rotation M is sqrt((1 + tr M) / 4); maximise over D2
    best = np.zeros(len(Fr))
    for s in ([1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]):
        M = np.einsum("nji,njk->nik", Fr, Fp * np.array(s, float))
        best = np.maximum(best, np.sqrt(np.clip(1 + np.trace(M, axis1=1, axis2=2), 0, None) / 4))
    return best


def test_q_tilde_is_one_under_every_eigenvector_sign_flip():
    V = random_efg(30)
    _, frames = nmr.principal_components(V)
    for signs in np.array(np.meshgrid([1, -1], [1, -1], [1, -1])).T.reshape(-1, 3):
        flipped = frames * signs
        np.testing.assert_allclose(nmr.orientation_agreement(frames, flipped), 1.0, atol=1e-12)
        np.testing.assert_allclose(nmr.orientation_agreement(flipped, frames), 1.0, atol=1e-12)
    # raw eigh output (arbitrary signs, det +-1)
    _, U = np.linalg.eigh(V)
    order = np.argsort(np.abs(np.linalg.eigvalsh(V)), axis=1)
    U = np.take_along_axis(U, order[:, None, :], axis=2)
    np.testing.assert_allclose(nmr.orientation_agreement(frames, U), 1.0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_q_tilde_range_and_formula(seed):
    r = np.random.default_rng(seed)
    Fr = np.array([random_rotation(r) for _ in range(10)])
    Fp = np.array([random_rotation(r) for _ in range(10)])
    qt = nmr.orientation_agreement(Fr, Fp)
    assert np.all((qt >= 0.5 - 1e-12) & (qt <= 1 + 1e-12))
    np.testing.assert_allclose(qt, _q_tilde_from_traces(Fr, Fp), atol=1e-12)
    np.testing.assert_allclose(qt, nmr.orientation_agreement(Fp, Fr), atol=1e-12)
    aligned = nmr.align_frames(Fr, Fp)
    np.testing.assert_allclose(nmr.orientation_agreement(Fr, aligned), qt, atol=1e-12)
    np.testing.assert_allclose(matrix_to_quaternion(np.einsum("nji,njk->nik", Fr, aligned))[:, 0], qt, atol=1e-12)


def test_q_tilde_continuous_along_a_smooth_path():
    # rotate a tensor about a generic axis through 2 pi: the sign rule makes the frames jump,
    # q~ against the start must not (it is Lipschitz: |dq~| <= dt / 2) and returns to 1
    r = np.random.default_rng(11)
    V0 = random_efg(1, r)
    axis = r.normal(size=3)
    axis /= np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = np.linspace(0, 2 * np.pi, 2001)
    R = np.array([np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k for a in t])
    V = rotate_cartesian(np.repeat(V0, len(t), axis=0), R)
    _, frames = nmr.principal_components(V)
    _, f0 = nmr.principal_components(V0)
    qt = nmr.orientation_agreement(np.repeat(f0, len(t), axis=0), frames)
    assert np.all(np.abs(np.diff(qt)) <= np.diff(t) / 2 + 1e-9)
    np.testing.assert_allclose(qt[[0, -1]], 1.0, atol=1e-12)
    np.testing.assert_allclose(qt[:50], np.cos(t[:50] / 2), atol=1e-10)
    jumps = np.abs(np.diff(frames, axis=0)).max(axis=(1, 2))
    assert jumps.max() > 0.5  # the path does cross sign-rule discontinuities


# ---------------------------------------------------------------- omega_Q and field angles
def test_field_angles_ranges_and_special_directions():
    V = random_efg(100)
    theta, phi = nmr.field_angles(V, (0.3, -0.2, 0.9))
    assert np.all((theta >= 0) & (theta <= np.pi)) and np.all(np.abs(phi) <= np.pi / 2)
    _, frames = nmr.principal_components(V)
    th, _ = nmr.field_angles(V, frames[:, :, 2])
    np.testing.assert_allclose(th, 0.0, atol=1e-7)
    th, ph = nmr.field_angles(V, frames[:, :, 0])
    np.testing.assert_allclose(th, np.pi / 2, atol=1e-12)
    np.testing.assert_allclose(ph, 0.0, atol=1e-12)
    th, ph = nmr.field_angles(V, -frames[:, :, 1])
    np.testing.assert_allclose(np.abs(ph), np.pi / 2, atol=1e-12)


@pytest.mark.parametrize("isotope", ["2H", "7Li", "17O", "43Ca", "87Sr"])
def test_omega_q_angle_form_equals_lab_form(isotope):
    r = np.random.default_rng(5)
    V = random_efg(300, r)
    b = r.normal(size=(300, 3))
    lab = nmr.quadrupolar_frequency(V, isotope, b)
    cq = nmr.quadrupolar_coupling(V, isotope)
    theta, phi = nmr.field_angles(V, b)
    ang = nmr.quadrupolar_frequency_from_angles(cq, nmr.asymmetry(V), theta, phi, ISOTOPES[isotope].spin)
    scale = np.abs(cq).max() * 1e3
    np.testing.assert_allclose(ang, lab, rtol=0, atol=1e-10 * scale)
    # default field along lab z
    np.testing.assert_allclose(nmr.quadrupolar_frequency(V, isotope), nmr.quadrupolar_frequency(V, isotope, (0, 0, 2)), rtol=1e-15)


def _spin_matrices(spin):
    m = np.arange(spin, -spin - 1, -1)
    jp = np.diag(np.sqrt(spin * (spin + 1) - m[1:] * (m[1:] + 1)), 1)
    ix = (jp + jp.T) / 2
    iy = (jp - jp.T) / 2j
    iz = np.diag(m)
    return np.array([ix, iy, iz])


@pytest.mark.parametrize("seed", range(4))
def test_omega_q_is_half_the_satellite_splitting_for_spin_3_2(seed):
    # exact diagonalisation of H = nu_L b.I + e Q / (2I(2I-1) h) sum_ij V_ij I_i I_j (in kHz) at
    # high field; for I = 3/2 second-order shifts of the two satellites are equal, so half their
    # difference is the first-order omega_Q up to third-order terms ~ (omega_Q / nu_L)^2 = 1e-10
    r = np.random.default_rng(seed)
    V = random_efg(1, r)
    b = r.normal(size=3)
    b /= np.linalg.norm(b)
    iso = ISOTOPES["7Li"]
    kq = nmr.CQ_MHZ_PER_AU_MB * iso.quadrupole_moment * 1e3  # kHz per au
    spin_ops = _spin_matrices(1.5)
    nu_l = 1e5 * abs(kq) * np.abs(V).max()
    H = nu_l * np.einsum("i,imn->mn", b, spin_ops)
    H = H + kq / (2 * 1.5 * 2.0) * np.einsum("ij,imk,jkn->mn", V[0], spin_ops, spin_ops)
    E = np.linalg.eigvalsh(H)
    splitting = (E[3] - E[2]) - (E[1] - E[0])
    omega = nmr.quadrupolar_frequency(V, "7Li", b)[0]
    np.testing.assert_allclose(splitting / 2, omega, rtol=1e-8)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(-1e3, 1e3).filter(lambda s: abs(s) > 1e-3))
def test_rotation_and_scaling_properties(seed, scale):
    r = np.random.default_rng(seed)
    R = random_rotation(r)
    V = random_efg(6, r)
    VR = rotate_cartesian(V, R)
    values, frames = nmr.principal_components(V)
    values_r, frames_r = nmr.principal_components(VR)
    tol = 1e-10 * np.abs(values).max()
    np.testing.assert_allclose(values_r, values, rtol=0, atol=tol)
    # frames rotate with the tensor (up to the D2 symmetry)
    np.testing.assert_allclose(nmr.orientation_agreement(R @ frames, frames_r), 1.0, atol=1e-8)
    # the field angles are invariant when tensor and field rotate together
    b = r.normal(size=3)
    np.testing.assert_allclose(
        nmr.quadrupolar_frequency(VR, "27Al", R @ b), nmr.quadrupolar_frequency(V, "27Al", b), rtol=1e-9, atol=1e-9 * np.abs(values).max()
    )
    # scaling: values scale, eta is invariant (also for negative scale), C_Q scales
    values_s, _ = nmr.principal_components(scale * V)
    np.testing.assert_allclose(values_s, scale * values, rtol=1e-10, atol=1e-12 * abs(scale))
    np.testing.assert_allclose(nmr.asymmetry(scale * V), nmr.asymmetry(V), atol=1e-9)
    np.testing.assert_allclose(
        nmr.quadrupolar_coupling(scale * V, "17O"), scale * nmr.quadrupolar_coupling(V, "17O"), rtol=1e-10
    )


# ---------------------------------------------------------------- metrics
GEHLENITE = SHARED / "gehlenite"


def _tensors(values, frames):
    return np.einsum("nij,nj,nkj->nik", frames, values, frames)


def test_metrics_perfect_prediction():
    V = random_efg(50)
    rep = metrics.metrics(V, V.copy(), "27Al")
    for name, sc in rep.scores.items():
        assert sc["mae"] == pytest.approx(0, abs=1e-12), name
        assert sc["r"] == pytest.approx(1, abs=1e-12), name
    assert rep.orientation["q_tilde_min"] == pytest.approx(1, abs=1e-12)
    assert rep.n_sites == 50 and rep.isotope == "27Al"


def test_metrics_formulas_and_stored_stats():
    r = np.random.default_rng(1)
    train = random_efg(80, r)
    test_ref = random_efg(30, r)
    test_pred = test_ref + 0.05 * random_efg(30, r)
    stats = nmr.reference_stats(train)
    values_train, _ = nmr.principal_components(train)
    assert stats.mu == pytest.approx(np.abs(values_train[:, 2]).mean(), rel=1e-14)
    assert stats.sigma == pytest.approx(np.abs(values_train[:, 2]).std(), rel=1e-14)
    stored = nmr.ReferenceStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    rep = metrics.metrics(test_ref, test_pred, "O", stats=stored)
    vr, _ = nmr.principal_components(test_ref)
    vp, _ = nmr.principal_components(test_pred)
    np.testing.assert_allclose(rep.values["cq_tilde_ref"], (vr[:, 2] - stats.mu) / stats.sigma, rtol=1e-14)
    np.testing.assert_allclose(rep.values["eta_tilde_pred"], (vp[:, 0] - vp[:, 1]) / stats.mu, rtol=1e-14)
    assert rep["C~Q"]["mae"] == pytest.approx(np.mean(np.abs(vp[:, 2] - vr[:, 2])) / stats.sigma, rel=1e-12)
    cq_r, cq_p = nmr.quadrupolar_coupling(test_ref, "17O"), nmr.quadrupolar_coupling(test_pred, "17O")
    assert rep["C_Q"]["mae"] == pytest.approx(np.mean(np.abs(cq_p - cq_r)), rel=1e-12)
    assert rep["C_Q"]["r"] == pytest.approx(np.corrcoef(cq_r, cq_p)[0, 1], rel=1e-12)
    om_r, om_p = nmr.quadrupolar_frequency(test_ref, "17O"), nmr.quadrupolar_frequency(test_pred, "17O")
    assert rep["omega_Q"]["rmse"] == pytest.approx(np.sqrt(np.mean((om_p - om_r) ** 2)), rel=1e-12)
    iu = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    d = np.array([[p[i, j] - q[i, j] for i, j in iu] for p, q in zip(test_pred, test_ref)])
    assert rep["V_ij"]["mae"] == pytest.approx(np.abs(d).mean(), rel=1e-12)
    assert rep.vij_mae["xy"] == pytest.approx(np.abs(d[:, 3]).mean(), rel=1e-12)
    # the same scores from tensors in V/A^2 with the stats in au
    rep2 = metrics.metrics(97.173624292 * test_ref, 97.173624292 * test_pred, "17O", stats=stats, units="V/A^2")
    np.testing.assert_allclose(rep2.values["cq_tilde_pred"], rep.values["cq_tilde_pred"], rtol=1e-12)
    assert rep2["omega_Q"]["mae"] == pytest.approx(rep["omega_Q"]["mae"], rel=1e-12)


def test_metrics_report_prints_and_serialises(tmp_path):
    V = random_efg(20)
    rep = metrics.metrics(V, V + 0.1 * random_efg(20), "7Li")
    text = str(rep)
    for name in ("C~Q", "eta~", "theta (corrected)", "phi", "omega_Q", "V_ij", "q~: mean"):
        assert name in text
    d = json.loads(rep.to_json())
    assert d["isotope"] == "7Li" and d["n_sites"] == 20 and set(d["scores"]["C~Q"]) == {"mae", "rmse", "r", "unit"}
    assert "values" not in d and len(rep.to_dict(per_site=True)["values"]["q_tilde"]) == 20
    out = tmp_path / "report.json"
    rep.to_json(out)
    assert json.loads(out.read_text()) == d
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    # one site: correlation undefined -> NaN in Python, null in JSON
    one = metrics.metrics(V[:1], V[:1] * 1.1, "7Li", stats=rep.stats)
    assert np.isnan(one["C~Q"]["r"]) and json.loads(one.to_json())["scores"]["C~Q"]["r"] is None


def test_metrics_errors():
    V = random_efg(4)
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.metrics(V, V[:3], "17O")
    with pytest.raises(ValueError, match="mu > 0"):
        nmr.ReferenceStats(0.0, 1.0)
    with pytest.raises(ValueError, match="no default quadrupolar isotope"):
        metrics.metrics(V, V, "Si")


def test_metrics_near_degenerate_relabelling():
    # reference: |Vyy| close to |Vzz| (eta = 0.94); prediction: the same axes with the two largest
    # magnitudes swapped, so its NQR z axis is the reference's y axis. Uncorrected angles are off by
    # a 90 degree relabelling; the corrected assignment recovers them exactly.
    r = np.random.default_rng(3)
    n = 40
    frames = np.array([random_rotation(r) for _ in range(n)])
    ref = _tensors(np.tile([-0.03, -0.97, 1.0], (n, 1)), frames)
    pred = _tensors(np.tile([0.03, -1.0, 0.97], (n, 1)), frames)
    b = (0.2, 0.5, 0.84)
    rep = metrics.metrics(ref, pred, "7Li", b0=b, stats=nmr.ReferenceStats(1.0, 0.5))
    assert rep.orientation["n_ambiguous"] == n and rep.orientation["n_relabelled"] == n
    np.testing.assert_allclose(rep.values["q_tilde"], np.cos(np.pi / 4), atol=1e-12)
    np.testing.assert_allclose(rep.values["q_tilde_corrected"], 1.0, atol=1e-12)
    assert rep["theta"]["mae"] > 10
    assert rep["theta (corrected)"]["mae"] < 1e-6 and rep["phi (corrected)"]["mae"] < 1e-6
    # principal values: uncorrected, the prediction's NQR Vzz is -1.0 (the reference's y axis);
    # relabelled, the value along the reference z axis is 0.97 (mu = 1, sigma = 0.5 given)
    assert rep["C~Q"]["mae"] == pytest.approx(2.0 / 0.5, rel=1e-10)
    assert rep["C~Q (corrected)"]["mae"] == pytest.approx(0.03 / 0.5, rel=1e-8)
    assert rep["eta~"]["mae"] == pytest.approx(0.94 + 0.94, rel=1e-10)
    assert rep["eta~ (corrected)"]["mae"] == pytest.approx((0.03 + 1.0) - 0.94, rel=1e-8)
    # omega_Q needs no labels: its error is the physical one
    np.testing.assert_allclose(
        rep["omega_Q"]["mae"],
        np.mean(np.abs(nmr.quadrupolar_frequency(pred, "7Li", b) - nmr.quadrupolar_frequency(ref, "7Li", b))),
    )
    # a tolerance below the gap turns the correction off
    strict = metrics.metrics(ref, pred, "7Li", b0=b, stats=rep.stats, degeneracy_tol=0.01)
    assert strict.orientation["n_relabelled"] == 0
    assert strict["theta (corrected)"]["mae"] == strict["theta"]["mae"]
    assert strict["C~Q (corrected)"]["mae"] == strict["C~Q"]["mae"]


@pytest.mark.skipif(not (GEHLENITE / "T1Si0.magres").is_file(), reason=f"gehlenite CASTEP files not found in {GEHLENITE}")
def test_metrics_on_real_gehlenite_tensors():
    from ase.io import read

    atoms = read(GEHLENITE / "T1Si0.magres", format="magres")
    al = np.array(atoms.get_chemical_symbols()) == "Al"
    V = np.asarray(atoms.arrays["efg"], float)[al]
    noise = 0.1 * np.abs(V).mean() * random_efg(len(V), np.random.default_rng(0))
    rep = metrics.metrics(V, V + noise, "Al")
    cq = nmr.quadrupolar_coupling(V, "27Al")
    assert 5 < np.mean(np.abs(cq)) < 12  # README: |C_Q(27Al)| ~ 8.6 MHz on average
    assert np.all(rep.values["q_tilde_corrected"] >= rep.values["q_tilde"])
    assert rep["theta (corrected)"]["mae"] <= rep["theta"]["mae"]
    assert 0.5 <= rep.orientation["q_tilde_min"] <= rep.orientation["q_tilde_mean"] <= 1
    assert rep["C~Q"]["r"] > 0.9


def test_observables_agree_with_the_single_functions():
    r = np.random.default_rng(21)
    V = random_efg(25, r)
    isos = list(r.choice(["7Li", "17O", "47Ti", "Al"], size=25))
    b = (0.1, -0.3, 1.0)
    obs = nmr.observables(V, isos, b)
    values, frames = nmr.principal_components(V)
    np.testing.assert_array_equal(obs["vzz"], values[:, 2])
    np.testing.assert_array_equal(obs["frames"], frames)
    np.testing.assert_array_equal(obs["eta"], nmr.asymmetry(V))
    np.testing.assert_allclose(obs["cq"], nmr.quadrupolar_coupling(V, isos), rtol=1e-15)
    np.testing.assert_allclose(obs["omega_q"], nmr.quadrupolar_frequency(V, isos, b), rtol=1e-13)
    theta, phi = nmr.field_angles(V, b)
    np.testing.assert_allclose(obs["theta"], np.degrees(theta), rtol=1e-15)
    np.testing.assert_allclose(obs["phi"], np.degrees(phi), rtol=1e-15)
    np.testing.assert_allclose(quaternion_to_matrix(obs["quaternions"]), frames, atol=1e-12)


def test_docs_examples_run(tmp_path, monkeypatch):
    import re

    doc = Path(__file__).resolve().parents[1] / "docs" / "nmr.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        if "../shared/data" in code:
            if not (MAGRES / "ethanol.magres").is_file():
                continue
            code = code.replace("../shared/data", str(SHARED))
        exec(compile(code, str(doc), "exec"), {})


# ---------------------------------------------------------------- one implementation of each quantity
def _old_prefactor(spin):  # as nmr.py, metrics.py and workflows/targets.py wrote it before
    return 3.0 / (2.0 * spin * (2.0 * spin - 1.0))


def test_omega_q_prefactor():
    assert nmr.omega_q_prefactor(get_isotope("7Li").spin) == 0.5
    assert nmr.omega_q_prefactor(get_isotope("27Al").spin) == pytest.approx(3 / 20, rel=1e-15)
    assert nmr.omega_q_prefactor(get_isotope("17O").spin) == pytest.approx(3 / 20, rel=1e-15)
    assert nmr.omega_q_prefactor(1) == 1.5 and nmr.omega_q_prefactor(3.5) == pytest.approx(1 / 14, rel=1e-15)
    assert isinstance(nmr.omega_q_prefactor(1.5), float)
    spins = np.array([iso.spin for iso in ISOTOPES.values()])
    np.testing.assert_array_equal(nmr.omega_q_prefactor(spins), _old_prefactor(spins))


def test_omega_q_single_implementation_gives_the_old_values():
    from sagpr.workflows.comparison.targets import derived_omega_q, scalar_targets

    r = np.random.default_rng(31)
    V = random_efg(40, r)
    b = (0.3, -0.2, 0.9)
    bn = np.broadcast_to(np.array(b) / np.linalg.norm(b), (len(V), 3))
    S = symmetric_traceless_part(V)
    for label in ("7Li", "17O", "27Al", "2H", "43Ca"):
        iso = get_isotope(label)
        bvb = np.einsum("ni,nij,nj->n", bn, S, bn)
        spin, q = np.full(len(V), iso.spin), np.full(len(V), iso.quadrupole_moment)
        old = _old_prefactor(spin) * nmr.CQ_MHZ_PER_AU_MB * q * bvb * 1e3  # the old code, bit for bit
        np.testing.assert_array_equal(nmr.quadrupolar_frequency(V, label, b), old)
        np.testing.assert_allclose(nmr.observables(V, label, b)["omega_q"], old, rtol=1e-15)
        rep = metrics.metrics(V, V, label, b0=b)
        np.testing.assert_allclose(rep.values["omega_q_ref"], old, rtol=1e-14)
        values, frames = nmr.principal_components(V)
        cq, eta = nmr.quadrupolar_coupling(V, label), nmr.asymmetry(V)
        theta, phi = nmr.field_angles(V, b)
        np.testing.assert_allclose(nmr.quadrupolar_frequency_from_angles(cq, eta, theta, phi, iso.spin), old, rtol=0, atol=1e-9)
        # derived-scalar omega_Q from C~Q, eta~ and the angles: the old closed form
        stats = nmr.reference_stats(V)
        t = scalar_targets(V, label, stats, b0=b)
        vzz = stats.mu + stats.sigma * t["cq_tilde"]
        dxy = stats.mu * t["eta_tilde"]
        c2 = np.cos(theta) ** 2
        k = _old_prefactor(iso.spin) * nmr.CQ_MHZ_PER_AU_MB * iso.quadrupole_moment * 1e3
        old_derived = k * 0.5 * (vzz * (3.0 * c2 - 1.0) + dxy * (1.0 - c2) * np.cos(2.0 * phi))
        np.testing.assert_allclose(derived_omega_q(t["cq_tilde"], t["eta_tilde"], theta, phi, label, stats), old_derived, rtol=1e-13)
        np.testing.assert_allclose(old_derived, old, rtol=0, atol=1e-9)


def test_normalized_observables_single_implementation():
    from sagpr.workflows.comparison.targets import scalar_targets

    r = np.random.default_rng(32)
    train, V = random_efg(60, r), random_efg(20, r)
    stats = nmr.reference_stats(train)
    values, _ = nmr.principal_components(V)
    cqt, etat = nmr.normalized_observables(values, stats)
    np.testing.assert_array_equal(cqt, (values[:, 2] - stats.mu) / stats.sigma)
    np.testing.assert_array_equal(etat, (values[:, 0] - values[:, 1]) / stats.mu)
    # a dict and other units give the same; the inverse recovers Vzz and Vxx - Vyy
    in_va2 = nmr.normalized_observables(values * nmr.AU_TO_V_PER_A2, stats.to_dict(), "V/A^2")
    np.testing.assert_allclose(in_va2, (cqt, etat), rtol=1e-12, atol=1e-12)
    vzz, dxy = nmr.principal_from_normalized(cqt, etat, stats)
    np.testing.assert_allclose(vzz, values[:, 2], rtol=1e-13)
    np.testing.assert_allclose(dxy, values[:, 0] - values[:, 1], rtol=1e-12, atol=1e-14)
    # metrics and the scalar targets use it
    t = scalar_targets(V, "7Li", stats)
    np.testing.assert_array_equal(t["cq_tilde"], cqt)
    np.testing.assert_array_equal(t["eta_tilde"], etat)
    rep = metrics.metrics(V, V, "7Li", stats=stats)
    np.testing.assert_array_equal(rep.values["cq_tilde_ref"], cqt)
    np.testing.assert_array_equal(rep.values["eta_tilde_pred"], etat)
    assert metrics.ReferenceStats is nmr.ReferenceStats and metrics.reference_stats is nmr.reference_stats
    assert nmr.ReferenceStats.coerce(stats) is stats and nmr.ReferenceStats.coerce(stats.to_dict()) == stats


def test_axis_relabellings_single_table():
    from sagpr.workflows.comparison.targets import corrected_angle_errors, errors

    for name, (cols, signs) in nmr.AXIS_RELABELLINGS.items():
        F = np.eye(3)[:, list(cols)] * np.array(signs)
        assert np.linalg.det(F) == pytest.approx(1.0), name
    values = np.array([[0.0, -0.99, 1.0], [-0.5, -0.5, 1.0], [-0.49, -0.5, 0.99], [0.0, 0.0, 0.0], [-0.2, -0.8, 1.0]])
    zy, yx = nmr.degeneracy_gaps(values)
    np.testing.assert_allclose(zy, [0.01, 0.5, 0.49 / 0.99, 0.0, 0.2])
    amb_zy, amb_yx = nmr.ambiguous_axes(values, 0.05)
    assert amb_zy.tolist() == [True, False, False, True, False] and amb_yx.tolist() == [False, True, True, True, False]
    got = {name: idx.tolist() for name, idx, _, _ in nmr.axis_relabellings(amb_zy, amb_yx)}
    assert got == {"zy": [0, 3], "yx": [1, 2, 3], "cycle1": [3], "cycle2": [3]}
    # the scalar-angle correction (reference frames relabelled) gives what the old copy gave
    r = np.random.default_rng(33)
    n = 60
    frames = np.array([random_rotation(r) for _ in range(n)])
    pv = np.where(r.random((n, 1)) < 0.5, [-0.02, -0.97, 0.99], [-0.4, -0.6, 1.0]) + 0.01 * r.normal(size=(n, 3))
    pv[:, 2] = -pv[:, 0] - pv[:, 1]
    V = _tensors(pv, frames)
    b = (0.2, 0.5, 0.84)
    theta_p, phi_p = r.uniform(0, np.pi / 2, n), r.uniform(0, np.pi / 2, n)
    values, F = nmr.principal_components(V)
    th, ph = nmr.field_angles(V, b, frames=F)
    et, ep = errors("theta", th, theta_p), errors("phi", ph, phi_p)
    a = np.abs(values)
    vzz = np.where(a[:, 2] > 0, a[:, 2], 1.0)
    old_zy, old_yx = (a[:, 2] - a[:, 1]) / vzz < 0.05, (a[:, 1] - a[:, 0]) / vzz < 0.05
    for name, cols in {"zy": [0, 2, 1], "yx": [1, 0, 2], "cycle1": [1, 2, 0], "cycle2": [2, 0, 1]}.items():
        idx = np.flatnonzero({"zy": old_zy, "yx": old_yx}.get(name, old_zy & old_yx))
        t, p = nmr.field_angles(None, np.asarray(b, dtype=float), frames=F[idx][:, :, cols])
        ct, cp = errors("theta", t, theta_p[idx]), errors("phi", p, phi_p[idx])
        better = ct + cp < et[idx] + ep[idx] - 1e-12
        et[idx[better]], ep[idx[better]] = ct[better], cp[better]
    assert old_zy.sum() > 10
    new_t, new_p = corrected_angle_errors(V, theta_p, phi_p, b0=b)
    np.testing.assert_allclose(new_t, et, rtol=0, atol=1e-12)
    np.testing.assert_allclose(new_p, ep, rtol=0, atol=1e-12)


def test_pearson_single_implementation():
    from sagpr.plots import parity
    from sagpr.workflows.comparison import evaluation

    r = np.random.default_rng(34)
    a, b = r.normal(size=30), r.normal(size=30)
    assert metrics.pearson(a, a + 0.3 * b) == np.corrcoef(a, a + 0.3 * b)[0, 1]
    assert np.isnan(metrics.pearson(a[:1], b[:1])) and np.isnan(metrics.pearson(np.ones(5), b[:5]))
    assert evaluation.pearson is metrics.pearson and parity.pearson is metrics.pearson
    rep = metrics.metrics(random_efg(20, r), random_efg(20, r), "7Li")
    assert rep["C~Q"]["r"] == metrics.pearson(rep.values["cq_tilde_ref"], rep.values["cq_tilde_pred"])


def test_one_vocabulary_of_names():
    from sagpr.plots import learning, parity
    from sagpr.quantities import QUANTITIES, axis_label, corrected, name, quantity
    from sagpr.workflows.comparison import evaluation, targets

    # the names saved files and reports use, unchanged
    assert {k: q.name for k, q in QUANTITIES.items() if k in targets.TARGETS} == {
        "cq_tilde": "C~Q", "eta_tilde": "eta~", "theta": "theta", "phi": "phi", "omega_q": "omega_Q"}
    assert targets.LABELS == {"cq_tilde": "C~Q", "eta_tilde": "eta~", "theta": "theta", "phi": "phi", "omega_q": "omega_Q"}
    assert targets.UNITS == {"cq_tilde": "-", "eta_tilde": "-", "theta": "rad", "phi": "rad", "omega_q": "kHz"}
    assert evaluation.QUANTITIES == ("C~Q", "eta~", "theta", "phi", "theta (corrected)", "phi (corrected)",
                                     "C~Q (corrected)", "eta~ (corrected)", "omega_Q", "omega_Q (derived)", "q~",
                                     "q~ (corrected)", "V_ij")
    assert parity.QUANTITY_LABELS == {"cq_tilde": r"$\tilde{C}_Q$", "eta_tilde": r"$\tilde{\eta}$",
                                      "theta": r"$\theta$ (deg)", "phi": r"$\phi$ (deg)", "omega_q": r"$\omega_Q$ (kHz)"}
    assert learning.PANELS == (("C~Q", r"MAE $\tilde{C}_Q$"), ("eta~", r"MAE $\tilde{\eta}$"),
                               ("theta", r"MAE $\theta$ (deg)"), ("phi", r"MAE $\phi$ (deg)"),
                               ("omega_Q", r"MAE $\omega_Q$ (kHz)"), ("q~", r"$1 - \tilde{q}$"))
    rep = metrics.metrics(random_efg(10), random_efg(10), "7Li")
    keys = ["cq_tilde", "eta_tilde", "eta", "cq", "omega_q", "theta", "phi", "vij"]
    expected = {name(k) for k in keys} | {corrected(name(k)) for k in ("cq_tilde", "eta_tilde", "theta", "phi")}
    assert set(rep.scores) == expected
    assert rep["C_Q"]["unit"] == "MHz" and rep["theta"]["unit"] == "deg" and rep["V_ij"]["unit"] == "au"
    assert quantity("C~Q") is QUANTITIES["cq_tilde"] and axis_label("cq") == "$C_Q$ (MHz)"
    with pytest.raises(KeyError, match="unknown quantity"):
        quantity("nope")


def test_nmr_does_not_import_metrics():
    import ast

    import sagpr

    tree = ast.parse(Path(nmr.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names} | {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not {m for m in imported if m.split(".")[-1] in ("metrics", "quantities") or m == "sagpr"}
    with pytest.raises(AttributeError, match=r"sagpr\.metrics\.metrics"):
        nmr.metrics  # noqa: B018 - moved: scoring lives in sagpr.metrics
    assert sagpr.ReferenceStats is nmr.ReferenceStats and sagpr.MetricsReport is metrics.MetricsReport
    assert sagpr.units.AU_TO_V_PER_A2 == nmr.AU_TO_V_PER_A2


def test_sign_conventions():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 3, 3))
    V = A + A.transpose(0, 2, 1)
    V -= np.trace(V, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    P = V + 0.05 * rng.normal(size=V.shape)
    P = 0.5 * (P + P.transpose(0, 2, 1))
    P -= np.trace(P, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    keys = ("cq_tilde", "eta_tilde", "eta", "cq", "omega_q", "theta", "phi")
    pos = metrics.metrics(V, P, "7Li", sign_convention="positive")
    pos_neg = metrics.metrics(-V, -P, "7Li", sign_convention="positive")
    for k in keys:
        assert np.allclose(pos.values[f"{k}_ref"], pos_neg.values[f"{k}_ref"], atol=1e-9)
        assert np.allclose(pos.values[f"{k}_pred"], pos_neg.values[f"{k}_pred"], atol=1e-9)
    assert (pos.values["vzz_ref"] > 0).all()  # V_ZZ > 0; C_Q then has the sign of Q (negative for 7Li)
    assert (pos.values["cq_ref"] < 0).all()
    signed = metrics.metrics(V, P, "7Li")
    signed_neg = metrics.metrics(-V, -P, "7Li")
    assert np.allclose(signed_neg.values["cq_ref"], -signed.values["cq_ref"])
    assert np.allclose(signed_neg.values["omega_q_ref"], -signed.values["omega_q_ref"])
    for k in ("eta", "theta", "phi"):
        assert np.allclose(signed.values[f"{k}_ref"], pos.values[f"{k}_ref"], atol=1e-9)
    assert np.allclose(signed.orientation["q_tilde_mean"], pos.orientation["q_tilde_mean"])
    flipped = nmr.with_sign_convention(V, "positive")
    assert np.array_equal(nmr.with_sign_convention(V, "signed"), V)
    assert np.allclose(np.abs(flipped), np.abs(V))
    with pytest.raises(ValueError, match="sign convention"):
        nmr.with_sign_convention(V, "absolute")


def test_distribution_distances():
    rng = np.random.default_rng(5)
    a = rng.normal(size=500)
    assert metrics.wasserstein_1d(a, rng.permutation(a)) == 0.0
    assert metrics.wasserstein_1d(a, a + 0.3) == pytest.approx(0.3, rel=1e-12)
    assert metrics.wasserstein_1d(a, a + 0.6) > metrics.wasserstein_1d(a, a + 0.3)
    # different sizes: two point masses at 0 and 1 against one at 0.5
    assert metrics.wasserstein_1d([0.0, 1.0], [0.5]) == pytest.approx(0.5)
    assert metrics.histogram_overlap(a, a) == pytest.approx(1.0)
    assert metrics.histogram_overlap(a, a + 100.0) == 0.0
    assert 0.0 < metrics.histogram_overlap(a, a + 0.5) < 1.0


def test_zero_tensor_has_undefined_angles():
    from sagpr.nmr import observables

    V = np.zeros((2, 3, 3))
    V[1] = np.diag([-1.0, -2.0, 3.0]) * 0.1
    obs = observables(V, "7Li")
    assert np.isnan(obs["theta"][0]) and np.isnan(obs["phi"][0])  # no principal axes: not 0
    assert obs["eta"][0] == 0 and obs["cq"][0] == 0 and obs["omega_q"][0] == 0
    assert np.isfinite(obs["theta"][1]) and np.isfinite(obs["phi"][1])
