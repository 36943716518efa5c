"""sagpr view: a chemiscope dataset of the sites that chemiscope's own reader loads back unchanged."""
import sys

import numpy as np
import pytest

pytest.importorskip("chemiscope", reason="needs the 'view' extra (chemiscope)")

from sagpr.nmr import observables, principal_components  # noqa: E402
from sagpr.workflows.prediction.view import read_site_map, write_site_map  # noqa: E402


def _frames(rng, n_frames=2, with_reference=True, std=False):
    from ase import Atoms

    frames = []
    for k in range(n_frames):
        symbols = ["Al", "Al", "Al", "O", "Si", "Al"]
        n = len(symbols)
        pos = np.column_stack([np.arange(n) * 1.8, rng.uniform(0, 5, n), rng.uniform(0, 5, n)])
        atoms = Atoms(symbols, positions=pos, cell=np.eye(3) * 14, pbc=True)
        A = rng.normal(size=(n, 3, 3)) * 0.05
        V = A + np.swapaxes(A, 1, 2)
        V -= np.trace(V, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
        V[4] = 0.0  # Si (no quadrupolar isotope): never a site
        atoms.arrays["efg"] = V.reshape(n, 9)
        if with_reference:
            atoms.arrays["efg_reference"] = (V * 1.05).reshape(n, 9)
        if std:
            atoms.arrays["cq_std"] = rng.uniform(0.1, 0.3, n)
        atoms.info["efg_units"] = "au"
        frames.append(atoms)
    return frames


def test_site_map_loads_back_with_the_same_per_atom_values(tmp_path):
    rng = np.random.default_rng(0)
    frames = _frames(rng, std=True)
    out = tmp_path / "sites.chemiscope.json.gz"
    labels = np.array([0, 1, 0, -1, 1, 0, 1, -1])  # 4 Al per frame
    write_site_map(frames, out, species="Al", region_labels=labels)
    data = read_site_map(out)
    al = [(k, i) for k, a in enumerate(frames) for i, s in enumerate(a.get_chemical_symbols()) if s == "Al"]
    assert [tuple(e[:2]) for e in [(env["structure"], env["center"]) for env in data["environments"]]] == al
    V = np.array([frames[k].arrays["efg"].reshape(-1, 3, 3)[i] for k, i in al])
    Vr = np.array([frames[k].arrays["efg_reference"].reshape(-1, 3, 3)[i] for k, i in al])
    obs, ref = observables(V, "27Al"), observables(Vr, "27Al")
    props = data["properties"]
    assert np.allclose(props["omega_Q"]["values"], obs["omega_q"])
    assert np.allclose(props["C_Q"]["values"], obs["cq"])
    assert np.allclose(props["eta"]["values"], obs["eta"])
    assert np.allclose(props["reference_C_Q"]["values"], ref["cq"])
    assert props["C_Q"]["units"] == "MHz" and props["omega_Q"]["units"] == "kHz"
    assert props["region"]["values"] == labels.tolist()
    assert np.allclose(props["cq_std"]["values"], [frames[k].arrays["cq_std"][i] for k, i in al])
    assert len(data["structures"]) == 2 and data["structures"][0]["size"] == 6


def test_ellipsoids_lie_along_the_principal_axes(tmp_path):
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(1)
    frames = _frames(rng, n_frames=1, with_reference=False)
    out = tmp_path / "sites.json"
    write_site_map(frames, out)  # every quadrupolar site (Al and O), no species given
    data = read_site_map(out)
    atoms = data["shapes"]["efg"]["parameters"]["atom"]
    assert len(atoms) == 6
    assert atoms[4]["semiaxes"] == [0.0, 0.0, 0.0]  # Si
    V = frames[0].arrays["efg"].reshape(-1, 3, 3)
    values, _ = principal_components(V[[0, 1, 2, 3, 5]])
    vmax = np.abs(values[:, 2]).max()
    for n, i in enumerate([0, 1, 2, 3, 5]):
        shape = atoms[i]
        R = Rotation.from_quat(shape["orientation"]).as_matrix()
        axes = np.array(shape["semiaxes"])
        # the tensor is diagonal in the ellipsoid's frame, with |principal values| as the axes (less the 0.05 A floor)
        D = R.T @ V[i] @ R
        assert np.allclose(D - np.diag(np.diag(D)), 0.0, atol=1e-9)
        assert np.allclose(np.abs(np.diag(D)) / vmax, axes - 0.05, atol=1e-9)
        assert shape["color"] == ("#d62728" if values[n, 2] > 0 else "#1f77b4")


def test_cli_view_and_its_errors(tmp_path, capsys):
    from sagpr.cli import main
    from sagpr.io import write_efg

    rng = np.random.default_rng(2)
    src = tmp_path / "pred.xyz"
    write_efg(src, _frames(rng, n_frames=3))
    out = tmp_path / "sites.chemiscope.json.gz"
    assert main(["view", str(src), "--species", "Al", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "12 sites in 3 frame(s)" in text and "region" in text
    data = read_site_map(out)
    assert set(data["properties"]) >= {"omega_Q", "C_Q", "eta", "reference_omega_Q", "region", "element"}
    assert main(["view", str(src), "--out", str(tmp_path / "sites.txt")]) == 1
    assert ".json" in capsys.readouterr().err
    assert main(["view", str(src), "--species", "Li", "--no-regions", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no Li sites" in err and err.count("\n") == 1


def test_cli_view_without_the_extra_names_it(tmp_path, capsys, monkeypatch):
    from sagpr.cli import main
    from sagpr.io import write_efg

    src = tmp_path / "pred.xyz"
    write_efg(src, _frames(np.random.default_rng(3), n_frames=1))
    monkeypatch.setitem(sys.modules, "chemiscope", None)
    assert main(["view", str(src), "--out", str(tmp_path / "s.json.gz")]) == 1
    err = capsys.readouterr().err
    assert "'view' extra" in err and "pip install 'sagpr[view]'" in err and err.count("\n") == 1
