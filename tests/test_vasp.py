"""EFG tensors from VASP OUTCAR files (LEFG): the printed table, its rounding, and errors."""
import numpy as np
import pytest

from sagpr.io import read_efg
from sagpr.workflows.sites import collect_sites
from sagpr.workflows.tuning.options import load_sites

#: a minimal OUTCAR (Li at the origin, O at the centre of a 4 A cube) that ase's reader accepts
HEAD = ' vasp.6.3.0 18Jan22 (build Feb 08 2022) complex\n POTCAR:    PAW_PBE Li_sv 10Sep2004\n POTCAR:    PAW_PBE O 08Apr2002\n POTCAR:    PAW_PBE Li_sv 10Sep2004\n POTCAR:    PAW_PBE O 08Apr2002\n   ions per type =               1   1\n   ISPIN  =      1    spin polarized calculation?\n--------------------------------------- Iteration      1(   1)  ---------------------------------------\n\n direct lattice vectors                 reciprocal lattice vectors\n     4.000000000  0.000000000  0.000000000     0.250000000  0.000000000  0.000000000\n     0.000000000  4.000000000  0.000000000     0.000000000  0.250000000  0.000000000\n     0.000000000  0.000000000  4.000000000     0.000000000  0.000000000  0.250000000\n\n POSITION                                       TOTAL-FORCE (eV/Angst)\n -----------------------------------------------------------------------------------\n      0.00000      0.00000      0.00000         0.000000      0.000000      0.000000\n      2.00000      2.00000      2.00000         0.000000      0.000000      0.000000\n -----------------------------------------------------------------------------------\n    total drift:                                0.000000      0.000000      0.000000\n\n  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)\n  ---------------------------------------------------\n  free  energy   TOTEN  =       -10.00000000 eV\n\n  energy  without entropy=      -10.00000000  energy(sigma->0) =      -10.00000000\n\n Electric field gradients (V/A^2)\n ---------------------------------------------------------------------\n  ion       V_xx      V_yy      V_zz      V_xy      V_xz      V_yz\n ---------------------------------------------------------------------\n'


def write_outcar(path, V):
    rows = "".join(f"{i + 1:5d} " + " ".join(f"{v:9.3f}" for v in (t[0, 0], t[1, 1], t[2, 2], t[0, 1], t[0, 2], t[1, 2]))
                   + "\n" for i, t in enumerate(V))
    path.write_text(HEAD + rows + " " + "-" * 69 + "\n")
    return path


def _li_sized(seed, n=2):
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=0.3, size=(n, 3, 3))
    V = A + A.transpose(0, 2, 1)
    return V - np.trace(V, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3


def test_rounded_tables_read_as_traceless_efgs(tmp_path):
    for seed in range(200):  # 3-decimal rounding of small tensors: every one must pass the EFG check
        V = _li_sized(seed)
        frames = read_efg(write_outcar(tmp_path / "OUTCAR", V))
        W = frames[0].arrays["efg"]
        assert frames[0].info["efg_units"] == "V/A^2" and frames[0].get_chemical_symbols() == ["Li", "O"]
        assert np.allclose(W, W.transpose(0, 2, 1)) and np.abs(np.trace(W, axis1=1, axis2=2)).max() < 1e-12
        assert np.abs(W - V).max() <= 0.0005 * 2 + 1e-12
        collect_sites(frames, "Li")  # the symmetric/traceless check that raw rounded values failed


def test_units_conversion_and_folders(tmp_path):
    V = _li_sized(1)
    write_outcar(tmp_path / "OUTCAR", V)
    au = read_efg(tmp_path / "OUTCAR", units="au")[0]
    assert au.info["efg_units"] == "au"
    assert np.allclose(au.arrays["efg"] * 97.173624292, read_efg(tmp_path / "OUTCAR")[0].arrays["efg"])
    assert len(load_sites([str(tmp_path)], "Li")) == 1  # an OUTCAR inside a --data folder is read


def test_bad_tables(tmp_path):
    V = _li_sized(2)
    V[1, 0, 0] += 0.05  # a trace no rounding explains
    with pytest.raises(ValueError, match="atom 1: EFG trace"):
        read_efg(write_outcar(tmp_path / "OUTCAR", V))
    (tmp_path / "OUTCAR").write_text(HEAD.split(" Electric field gradients")[0])
    with pytest.raises(ValueError, match="LEFG"):
        read_efg(tmp_path / "OUTCAR")
