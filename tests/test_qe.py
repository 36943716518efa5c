"""EFG tensors from QE-GIPAW .magres files, compared with the same structure from CASTEP-style
.magres and VASP OUTCAR files; rounding, truncation and binary garbage."""
import numpy as np
import pytest
from ase import Atoms

from sagpr.io import read_efg, write_efg
from sagpr.units import convert_efg
from sagpr.workflows.sites import collect_sites
from test_vasp import write_outcar


def _structure(seed, scale=0.03):
    """Li at the origin and O at the centre of a 4 A cube, with small (7Li-sized, au) EFGs."""
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=scale, size=(2, 3, 3))
    V = A + A.transpose(0, 2, 1)
    V -= np.trace(V, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    atoms = Atoms("LiO", positions=[[0, 0, 0], [2, 2, 2]], cell=np.eye(3) * 4, pbc=True)
    atoms.arrays["efg"] = V
    atoms.info["efg_units"] = "au"
    return atoms


def write_qe_magres(path, atoms, old_tags=False):
    """The layout of QE-GIPAW's output_magres.f90: F12.4 tensors (column-major, symmetric anyway),
    global atom numbers, 'Angstroms'; `old_tags` uses the <block> delimiters of older versions."""
    o, c = ("<", ">") if old_tags else ("[", "]")
    lines = ["#$magres-abinitio-v1.0", "", f"{o}atoms{c}", "  units lattice Angstroms",
             "  lattice " + "".join(f"{v:12.6f}" for v in atoms.cell.array.ravel()), "",
             "  units atom Angstroms"]
    for i, (s, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
        lines.append(f"  atom {s:2s} {s:5s} {i + 1:4d}  " + "".join(f"{v:12.6f}" for v in p))
    lines += [f"{o}/atoms{c}", "", f"{o}magres{c}", "  units efg au"]
    for i, (s, V) in enumerate(zip(atoms.get_chemical_symbols(), atoms.arrays["efg"])):
        lines.append(f"  efg {s:5s} {i + 1:4d}  " + "".join(f"{v:12.4f}" for v in V.T.ravel()))
    lines += [f"{o}/magres{c}", "", f"{o}calculation{c}", "  calc_name          x",
              "  calc_code          QE-GIPAW 5.x", f"{o}/calculation{c}", ""]
    path.write_text("\n".join(lines))
    return path


@pytest.mark.parametrize("old_tags", [False, True])
def test_qe_magres_gives_the_tensors_of_the_castep_file(tmp_path, old_tags):
    for seed in range(50):  # 4-decimal rounding of small tensors: every one must pass the EFG check
        atoms = _structure(seed)
        write_efg(tmp_path / "castep.magres", atoms)
        qe = read_efg(write_qe_magres(tmp_path / "x.efg.magres", atoms, old_tags))[0]
        castep = read_efg(tmp_path / "castep.magres")[0]
        W = qe.arrays["efg"]
        assert qe.info["efg_units"] == "au" and qe.get_chemical_symbols() == ["Li", "O"]
        assert np.allclose(qe.cell.array, castep.cell.array) and np.allclose(qe.positions, castep.positions)
        assert np.allclose(W, W.transpose(0, 2, 1), atol=1e-15) and np.abs(np.trace(W, axis1=1, axis2=2)).max() < 1e-12
        assert np.abs(W - castep.arrays["efg"]).max() <= 2 * 0.00005 + 1e-12
        assert 0 <= qe.info["efg_rounding_correction"] <= 2 * 0.00005
        collect_sites([qe], "Li")  # the symmetric/traceless check that the raw rounded values fail
    assert "efg_rounding_correction" not in castep.info  # full-precision files are left as they are


def test_vasp_qe_and_castep_files_of_one_structure_agree_in_both_units(tmp_path):
    atoms = _structure(3, scale=0.3)
    V_au = atoms.arrays["efg"]
    write_efg(tmp_path / "castep.magres", atoms)
    write_qe_magres(tmp_path / "qe.efg.magres", atoms)
    write_outcar(tmp_path / "OUTCAR", convert_efg(V_au, "au", "V/A^2"))
    for units, tol in (("au", 0.0005 / 97.17 * 2 + 1e-4), ("V/A^2", 0.0005 * 2 + 1e-2)):
        got = [read_efg(tmp_path / name, units=units)[0] for name in ("castep.magres", "qe.efg.magres", "OUTCAR")]
        for frame in got:
            assert frame.info["efg_units"] == units
            assert np.allclose(frame.positions, got[0].positions)
            assert np.abs(frame.arrays["efg"] - convert_efg(V_au, "au", units)).max() <= tol


def test_asymmetry_beyond_the_print_precision_is_rejected_naming_file_and_atom(tmp_path):
    atoms = _structure(4)
    atoms.arrays["efg"][1, 0, 1] += 0.01  # no 4-decimal rounding explains this
    path = write_qe_magres(tmp_path / "bad.efg.magres", atoms)
    with pytest.raises(ValueError, match=r"bad\.efg\.magres: frame 0: atom 1: EFG tensor is not symmetric"):
        read_efg(path)


def test_cut_and_binary_files(tmp_path):
    path = write_efg(tmp_path / "a.magres", _structure(5)) or tmp_path / "a.magres"
    text = path.read_text()
    cut = tmp_path / "cut.magres"
    cut.write_text(text[: text.index("[/magres]") - 40])
    with pytest.raises(ValueError, match=r"cut\.magres: the file ends inside the \[magres\] block"):
        read_efg(cut)
    for name in ("junk.magres", "junk.xyz"):
        (tmp_path / name).write_bytes(bytes(range(256)) * 4)
        with pytest.raises(ValueError, match=rf"{name}: not a text file"):
            read_efg(tmp_path / name)
    (tmp_path / "latin.xyz").write_bytes(b"2\nc\xe9\nLi 0 0 0\n")
    with pytest.raises(ValueError, match="latin.xyz: not a text file"):
        read_efg(tmp_path / "latin.xyz")


def test_slab_is_refused_as_magres_and_kept_as_extxyz(tmp_path):
    slab = _structure(6)
    slab.pbc = (True, True, False)
    with pytest.raises(ValueError, match=r"slab\.magres: frame 0: a \.magres file holds a 3D-periodic crystal "
                                         r"or a molecule, not pbc=\(True, True, False\)"):
        write_efg(tmp_path / "slab.magres", slab)
    assert not (tmp_path / "slab.magres").exists()
    write_efg(tmp_path / "slab.xyz", slab)
    back = read_efg(tmp_path / "slab.xyz")[0]
    assert list(back.pbc) == [True, True, False] and np.allclose(back.cell.array, slab.cell.array)
    for pbc in (True, False):  # a crystal and a molecule round-trip through .magres
        atoms = _structure(7)
        atoms.pbc = pbc
        write_efg(tmp_path / "x.magres", atoms)
        assert list(read_efg(tmp_path / "x.magres")[0].pbc) == [pbc] * 3
