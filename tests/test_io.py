"""Reading and writing EFG tensors: CASTEP .magres and extended XYZ."""
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from sagpr.io import read_efg, write_efg
from sagpr.nmr import quadrupolar_coupling
from sagpr.tensors import l2_to_symmetric_traceless

# ../shared/data beside the repository; SAGPR_SHARED_DATA overrides (e.g. for git worktrees)
SHARED = Path(os.environ.get("SAGPR_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
MAGRES = SHARED / "magres"
GEHLENITE = SHARED / "gehlenite"
needs_magres = pytest.mark.skipif(
    not (MAGRES / "ethanol.magres").is_file(), reason=f"CASTEP reference files not found in {MAGRES}"
)


def frames_with_efg(n_frames=3, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_frames):
        atoms = bulk("MgO", "rocksalt", a=4.2).repeat((1, 1, i + 1))
        atoms.rattle(0.05, seed=i)
        atoms.arrays["efg"] = l2_to_symmetric_traceless(rng.normal(size=(len(atoms), 5)))
        atoms.info["efg_units"] = "au"
        atoms.info["config_type"] = f"cell{i}"
        frames.append(atoms)
    return frames


@needs_magres
def test_read_castep_magres():
    from ase.io import read

    (atoms,) = read_efg(MAGRES / "ethanol.magres")
    raw = read(MAGRES / "ethanol.magres", format="magres")
    assert atoms.info["efg_units"] == "au"
    assert atoms.arrays["efg"].shape == (9, 3, 3) and atoms.arrays["efg"].dtype == np.float64
    np.testing.assert_array_equal(atoms.arrays["efg"], raw.arrays["efg"])
    assert atoms.get_chemical_formula() == "C2H6O"
    assert round(quadrupolar_coupling(atoms.arrays["efg"][-1:], "17O")[0], 5) == 11.18840
    # conversion on read
    (v,) = read_efg(MAGRES / "ethanol.magres", units="V/A^2")
    assert v.info["efg_units"] == "V/A^2"
    np.testing.assert_allclose(v.arrays["efg"], 97.173624292 * raw.arrays["efg"], rtol=1e-15)


@pytest.mark.skipif(not (GEHLENITE / "T1Si0.magres").is_file(), reason=f"gehlenite files not found in {GEHLENITE}")
def test_read_gehlenite():
    from sagpr.tensors import check_efg

    (atoms,) = read_efg(GEHLENITE / "T1Si0.magres")
    assert len(atoms) == 288 and atoms.arrays["efg"].shape == (288, 3, 3)
    check_efg(atoms.arrays["efg"], labels=atoms.get_chemical_symbols())


def test_extxyz_round_trip(tmp_path):
    frames = frames_with_efg()
    path = tmp_path / "train.xyz"
    write_efg(path, frames)
    back = read_efg(path)
    assert len(back) == 3
    for a, b in zip(frames, back):
        assert b.info["efg_units"] == "au" and b.info["config_type"] == a.info["config_type"]
        # ase writes extxyz floats with 8 decimals
        np.testing.assert_allclose(b.arrays["efg"], a.arrays["efg"], rtol=0, atol=5e-9)
        np.testing.assert_allclose(b.positions, a.positions, atol=5e-9)
    header = path.read_text().splitlines()[1]
    assert "efg:R:9" in header and "efg_units=au" in header
    # row-major flattening of the 3x3 tensor into 9 columns
    first = path.read_text().splitlines()[2].split()
    np.testing.assert_allclose(np.array(first[-9:], float), frames[0].arrays["efg"][0].ravel(), atol=5e-9)
    # units: write converted, read back converted
    write_efg(tmp_path / "v.extxyz", frames, units="V/A^2")
    v = read_efg(tmp_path / "v.extxyz")
    assert v[1].info["efg_units"] == "V/A^2"
    np.testing.assert_allclose(v[1].arrays["efg"], 97.173624292 * frames[1].arrays["efg"], rtol=0, atol=5e-9)
    au = read_efg(tmp_path / "v.extxyz", units="au")
    np.testing.assert_allclose(au[1].arrays["efg"], frames[1].arrays["efg"], rtol=0, atol=1e-10)
    one = read_efg(path, index=1)
    assert len(one) == 1 and len(one[0]) == len(frames[1])


def test_magres_round_trip(tmp_path):
    (atoms,) = frames_with_efg(1)
    atoms.info["efg_units"] = "V/A^2"  # converted to au for .magres
    path = tmp_path / "pred.magres"
    write_efg(path, atoms)
    (back,) = read_efg(path)
    assert back.info["efg_units"] == "au"
    np.testing.assert_allclose(back.arrays["efg"], atoms.arrays["efg"] / 97.173624292, rtol=1e-14)
    np.testing.assert_allclose(back.positions, atoms.positions, atol=1e-12)
    from ase.io import read

    plain = read(path, format="magres")  # what soprano / MagresView-style readers see
    assert plain.info["magres_units"]["efg"] == "au"
    assert list(plain.arrays["labels"]) == ["Mg", "O"] and list(plain.arrays["indices"]) == [1, 1]


@needs_magres
def test_castep_magres_rewritten(tmp_path):
    (atoms,) = read_efg(MAGRES / "EDIZUM.magres")
    write_efg(tmp_path / "copy.magres", atoms)
    (back,) = read_efg(tmp_path / "copy.magres")
    np.testing.assert_array_equal(back.arrays["efg"], atoms.arrays["efg"])
    assert list(back.arrays["labels"]) == list(atoms.arrays["labels"])


def test_missing_efg_names_file_and_frame(tmp_path):
    from ase.io import write

    frames = frames_with_efg(2)
    del frames[1].arrays["efg"]
    path = tmp_path / "no_efg.xyz"
    write(path, [Atoms("H", positions=[[0, 0, 0]]), Atoms("He", positions=[[0, 0, 0]])])
    with pytest.raises(ValueError, match=r"no_efg\.xyz: frame 0: no per-atom 'efg' array"):
        read_efg(path)
    with pytest.raises(ValueError, match=r"out\.xyz: frame 1: no per-atom 'efg'"):
        write_efg(tmp_path / "out.xyz", frames)


def test_bad_efg_columns(tmp_path):
    from ase.io import write

    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]])
    atoms.arrays["efg"] = np.zeros((2, 3))
    write(tmp_path / "three.xyz", atoms)
    with pytest.raises(ValueError, match=r"three\.xyz: frame 0: the 'efg' array has shape \(2, 3\)"):
        read_efg(tmp_path / "three.xyz")


def test_unparsable_files(tmp_path):
    bad = tmp_path / "broken.magres"
    bad.write_text("#$magres-abinitio-v1.0\n[atoms]\n  atom H H 1 0.0 zero 0.0\n[/atoms]\n")
    with pytest.raises(ValueError, match=r"broken\.magres: cannot read as magres"):
        read_efg(bad)
    junk = tmp_path / "junk.xyz"
    junk.write_text("this is not\nan xyz file\n")
    with pytest.raises(ValueError, match=r"junk\.xyz: cannot read as extxyz"):
        read_efg(junk)
    with pytest.raises(FileNotFoundError, match="missing.xyz"):
        read_efg(tmp_path / "missing.xyz")
    with pytest.raises(ValueError, match="extension '.cif'"):
        read_efg(tmp_path / "a.cif")
    with pytest.raises(ValueError, match="unsupported EFG file format 'cif'"):
        write_efg(tmp_path / "a.out", frames_with_efg(1), format="cif")


def test_units_recognised_and_missing_units_warn(tmp_path):
    frames = frames_with_efg(1)
    frames[0].info["efg_units"] = "V/Å^2"
    write_efg(tmp_path / "u.xyz", frames)
    assert read_efg(tmp_path / "u.xyz")[0].info["efg_units"] == "V/A^2"
    from ase.io import write

    raw = frames_with_efg(1)[0]
    raw.arrays["efg"] = raw.arrays["efg"].reshape(len(raw), 9)
    del raw.info["efg_units"]
    write(tmp_path / "nounits.xyz", raw)
    with pytest.warns(UserWarning, match=r"nounits\.xyz: frame 0: EFG units not stated, assuming 'au'"):
        (a,) = read_efg(tmp_path / "nounits.xyz")
    assert a.info["efg_units"] == "au"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (b,) = read_efg(tmp_path / "nounits.xyz", default_units="V/A^2")
    assert b.info["efg_units"] == "V/A^2"
    np.testing.assert_array_equal(b.arrays["efg"], a.arrays["efg"])
    raw.info["efg_units"] = "furlongs"
    write(tmp_path / "weird.xyz", raw)
    with pytest.raises(ValueError, match=r"weird\.xyz: frame 0: unknown EFG units 'furlongs'"):
        read_efg(tmp_path / "weird.xyz")


def test_magres_holds_one_frame_and_au(tmp_path):
    frames = frames_with_efg(2)
    with pytest.raises(ValueError, match="holds one structure, got 2 frames"):
        write_efg(tmp_path / "two.magres", frames)
    with pytest.raises(ValueError, match="atomic units"):
        write_efg(tmp_path / "one.magres", frames[:1], units="V/A^2")


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "data.xyz"
    write_efg(path, frames_with_efg(2))
    before = path.read_bytes()
    frames = frames_with_efg(3)
    del frames[2].arrays["efg"]
    with pytest.raises(ValueError):
        write_efg(path, frames)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.xyz"]


# ---------------------------------------------------------------- one units module
def test_units_constants_are_shared():
    from sagpr import nmr, reference, units

    assert units.AU_TO_V_PER_A2 == 97.173624292
    assert units.AU_TO_V_PER_A2 == pytest.approx(units.AU_EFG_V_PER_M2 * 1e-20, rel=1e-15)
    assert units.AU_EFG_V_PER_M2 == 9.7173624292e21  # CODATA 2018: E_h / (e a0^2)
    assert units.CQ_MHZ_PER_AU_MB == pytest.approx(0.2349647782, rel=1e-9)
    assert nmr.AU_TO_V_PER_A2 is units.AU_TO_V_PER_A2 and nmr.CQ_MHZ_PER_AU_MB is units.CQ_MHZ_PER_AU_MB
    assert reference.VA2_PER_AU is units.AU_TO_V_PER_A2
    assert reference.COULOMB_EV_ANGSTROM is units.COULOMB_EV_ANGSTROM
    assert nmr.convert_efg is units.convert_efg and nmr.normalize_units is units.normalize_units


# every spelling sagpr.nmr or sagpr.reference accepted before there was one table, and V/Å²
OLD_SPELLINGS = {
    "au": ["au", "a.u.", "a.u", "atomic", "atomic units", "hartree/(e*bohr^2)", "Hartree/(e bohr^2)",
           "ha/(e*bohr^2)", "ha/(e bohr^2)", "Ha/bohr^2", "AU", " au "],
    "V/A^2": ["V/A^2", "v/a2", "V/A2", "V/Å^2", "V/Å2", "V/Å²", "V/angstrom^2", "V/ang^2", "V A^-2", "V/A**2"],
}


def test_every_unit_alias_converts_identically():
    from sagpr import units

    V = l2_to_symmetric_traceless(np.random.default_rng(5).normal(size=(7, 5)))
    for canonical, spellings in OLD_SPELLINGS.items():
        other = "au" if canonical == "V/A^2" else "V/A^2"
        for s in spellings:
            assert units.normalize_units(s) == canonical, s
            np.testing.assert_array_equal(units.convert_efg(V, s, other), units.convert_efg(V, canonical, other))
            np.testing.assert_array_equal(units.convert_efg(V, other, s), units.convert_efg(V, other, canonical))
    for s, canonical in units.UNIT_ALIASES.items():
        for spelling in (s, s.upper(), f" {s}\t"):
            if canonical in units.EFG_UNITS:
                assert units.normalize_units(spelling) == canonical, spelling
            else:
                with pytest.raises(ValueError, match="unknown EFG units"):
                    units.normalize_units(spelling)  # e/A^3 only where asked for (sagpr.reference)
            assert units.normalize_units(spelling, units.POINT_CHARGE_UNITS) == canonical
    assert units.efg_factor("au", "V/A^2") == units.AU_TO_V_PER_A2 and units.efg_factor("V/Å²", "a.u.") == 1 / units.AU_TO_V_PER_A2
    for bad in ("T", "MHz", "", None, 3):
        with pytest.raises(ValueError, match="unknown EFG units"):
            units.normalize_units(bad)


def _point_charge_cell():
    atoms = bulk("LiF", "rocksalt", a=4.0).repeat((2, 1, 1))
    atoms.rattle(0.1, seed=3)
    return atoms


def test_reference_and_io_convert_with_the_same_constant(tmp_path):
    from sagpr import reference, units

    atoms = _point_charge_cell()
    va2 = reference.point_charge_efg(atoms)
    au = reference.point_charge_efg(atoms, units="au")
    np.testing.assert_allclose(au, va2 / units.AU_TO_V_PER_A2, rtol=1e-14, atol=1e-14)
    # every spelling of the units gives the same point-charge EFG
    for canonical, spellings in OLD_SPELLINGS.items():
        expected = va2 if canonical == "V/A^2" else au
        for s in spellings:
            np.testing.assert_array_equal(reference.point_charge_efg(atoms, units=s), expected)
    np.testing.assert_array_equal(reference.point_charge_efg(atoms, units="e/Å^3") * units.COULOMB_EV_ANGSTROM, va2)
    # io converts V/A^2 -> au (a .magres file is written in au, at full precision) as reference does
    atoms.arrays["efg"] = va2
    atoms.info["efg_units"] = "V/A^2"
    write_efg(tmp_path / "pc.magres", atoms)
    (back,) = read_efg(tmp_path / "pc.magres")
    np.testing.assert_allclose(back.arrays["efg"], au, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(read_efg(tmp_path / "pc.magres", units="V/Å²")[0].arrays["efg"], va2, rtol=1e-13, atol=1e-12)
    assert np.abs(va2).max() > 0.1  # the 3e-9 relative change of the old reference constant is visible
    assert np.abs(au * 97.173624 - va2).max() > 1e-10
    with pytest.raises(ValueError, match="unknown EFG units 'MHz'"):
        reference.point_charge_efg(atoms, units="MHz")
