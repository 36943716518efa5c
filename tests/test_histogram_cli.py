"""`sagpr histogram` end to end on a synthetic predicted file."""
import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

from sagpr.cli import main


def predicted_file(path, n_frames=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([-40.0, 0.0, 35.0])
    frames = []
    for _ in range(n_frames):
        atoms = bulk("LiF", "rocksalt", a=4.0, cubic=True).repeat(3)  # 108 Li + 108 F
        li = np.array(atoms.get_chemical_symbols()) == "Li"
        omega = np.full(len(atoms), np.nan)
        omega[li] = rng.choice(centers, li.sum()) + rng.normal(0, 2.0, li.sum())
        atoms.arrays["omega_q"] = np.where(li, omega, 0.0)
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return frames


def test_histogram_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    frames = predicted_file(tmp_path / "pred.xyz")
    out = tmp_path / "fig"
    assert main(["histogram", str(tmp_path / "pred.xyz"), "--species", "Li", "--out", str(out),
                 "--n-peaks", "3", "--bin-width", "1.0", "--min-count", "5"]) == 0
    report = json.loads((out / "regions.json").read_text())
    assert len(report["regions"]) == 3
    assert (out / "omega_q_histogram.png").stat().st_size > 1000
    assert (out / "sites_frame0.png").exists() and (out / "sites_frame1.png").exists()
    labelled = read(out / "pred_regions.xyz", index=":")
    assert len(labelled) == len(frames)
    region = np.concatenate([a.arrays["region"][a.numbers == 3] for a in labelled])
    omega = np.concatenate([a.arrays["omega_q"][a.numbers == 3] for a in labelled])
    # Labels in the file match the counts in the report and the peaks they belong to.
    for r in report["regions"]:
        assert np.sum(region == r["label"]) == r["count"]
        assert np.all(np.abs(omega[region == r["label"]] - r["peak"]) < 12)
    assert np.all(np.concatenate([a.arrays["region"][a.numbers != 3] for a in labelled]) == -1)
    assert "region 0" in capsys.readouterr().out


def test_histogram_errors(tmp_path, capsys):
    atoms = bulk("LiF", "rocksalt", a=4.0)
    write(tmp_path / "plain.xyz", atoms, format="extxyz")
    assert main(["histogram", str(tmp_path / "plain.xyz"), "--species", "Li", "--out", str(tmp_path / "o")]) == 1
    assert "no per-atom 'omega_q' or 'efg'" in capsys.readouterr().err
    assert main(["histogram", str(tmp_path / "missing.xyz"), "--species", "Li", "--out", str(tmp_path / "o")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_frequencies_from_efg_match_nmr():
    from sagpr.nmr import quadrupolar_frequency
    from sagpr.workflows.prediction.histogram import site_frequencies

    atoms = bulk("LiF", "rocksalt", a=4.0, cubic=True)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(len(atoms), 3, 3))
    v = a + a.transpose(0, 2, 1)
    v -= np.trace(v, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    atoms.arrays["efg"] = v.reshape(len(atoms), 9)
    atoms.info["efg_units"] = "V/A^2"
    li = atoms.numbers == 3
    expected = quadrupolar_frequency(v[li], ["7Li"] * li.sum(), units="V/A^2")
    np.testing.assert_allclose(site_frequencies(atoms, "Li"), expected, rtol=1e-12)
    np.testing.assert_allclose(site_frequencies(atoms, "Li", isotope="6Li"),
                               quadrupolar_frequency(v[li], ["6Li"] * li.sum(), units="V/A^2"), rtol=1e-12)


def test_histogram_defaults_come_from_the_data():
    from sagpr.workflows.prediction.regions import auto_histogram_settings, find_regions

    rng = np.random.default_rng(0)
    for scale in (10.0, 1000.0):  # 7Li-like kHz spreads and 27Al-like ones
        values = np.concatenate([rng.normal(-3 * scale, 0.3 * scale, 200), rng.normal(2 * scale, 0.3 * scale, 184)])
        width, count = auto_histogram_settings(values)
        assert 0.01 * scale < width < scale and str(width / 10 ** np.floor(np.log10(width)))[0] in "125"
        assert count == max(3, round(0.01 * len(values)))
        regions = find_regions(values, n_peaks=2, bin_width=width, min_count=count)
        assert len(regions.regions) == 2 and (regions.labels >= 0).mean() > 0.8  # nothing left unclassified


def test_a_tiny_bin_width_fails_before_allocating(tmp_path, capsys):
    import tracemalloc

    predicted_file(tmp_path / "pred.xyz", n_frames=1)
    tracemalloc.start()
    code = main(["histogram", str(tmp_path / "pred.xyz"), "--species", "Li", "--out", str(tmp_path / "o"),
                 "--bin-width", "1e-6"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 1 and "bins" in err and "give a wider bin width" in err and len(err.strip().splitlines()) == 1
    assert peak < 200e6 and not (tmp_path / "o").exists()


def test_mixed_units_name_the_fix(tmp_path, capsys):
    from sagpr.io import write_efg

    from synthetic_efg import random_cells

    a, b = random_cells(2)
    b.arrays["efg"] = b.arrays["efg"] * 97.17
    b.info["efg_units"] = "V/A^2"
    write_efg(tmp_path / "mixed.xyz", [a, b])
    assert main(["train", "--data", str(tmp_path / "mixed.xyz"), "--species", "Li", "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "frames disagree on efg_units" in err and "--units" in err


def test_species_comes_from_a_predicted_file(tmp_path, capsys):
    frames = predicted_file(tmp_path / "pred.xyz", n_frames=1)
    for atoms in frames:
        atoms.arrays["predicted"] = atoms.numbers == 3
    write(tmp_path / "pred.xyz", frames, format="extxyz")
    assert main(["histogram", str(tmp_path / "pred.xyz"), "--out", str(tmp_path / "o")]) == 0
    assert "of 108 Li sites" in capsys.readouterr().out


def test_outputs_under_a_file_fail_before_any_work_and_magres_inputs_work(tmp_path, capsys):
    from sagpr.io import write_efg

    from synthetic_efg import random_cells

    (tmp_path / "afile").write_text("")
    for argv in (["dataset", "lto", "--n-structures", "2", "--out", str(tmp_path)],
                 ["compare", "--data", str(tmp_path / "none.xyz"), "--species", "Li", "--out", str(tmp_path / "afile" / "x")],
                 ["optimize", "--data", str(tmp_path / "none.xyz"), "--species", "Li", "--out", str(tmp_path / "afile")],
                 ["reproduce", "--quick", "--out", str(tmp_path / "afile" / "r")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert ("is a folder" in err or "is a file" in err) and len(err.strip().splitlines()) == 1, err
    write_efg(tmp_path / "one.magres", random_cells(1)[0])
    assert main(["histogram", str(tmp_path / "one.magres"), "--species", "Li", "--out", str(tmp_path / "h"),
                 "--min-count", "1"]) == 0
    labelled = read(tmp_path / "h" / "one_regions.xyz")
    assert labelled.arrays["efg"].shape == (len(labelled), 9) and "region" in labelled.arrays


def test_sites_with_wide_intervals_are_flagged(tmp_path, capsys):
    frames = predicted_file(tmp_path / "pred.xyz", n_frames=2)
    for k, atoms in enumerate(frames):
        li = atoms.numbers == 3
        half = np.where(li, 1.0, np.nan)
        if k == 1:
            half[np.flatnonzero(li)[:3]] = 500.0  # three sites far less certain than any region is wide
        atoms.arrays["omega_q_low95"] = atoms.arrays["omega_q"] - half
        atoms.arrays["omega_q_high95"] = atoms.arrays["omega_q"] + half
    write(tmp_path / "pred.xyz", frames, format="extxyz")
    assert main(["histogram", str(tmp_path / "pred.xyz"), "--species", "Li", "--out", str(tmp_path / "o"),
                 "--n-peaks", "3", "--bin-width", "1.0", "--min-count", "5"]) == 0
    assert "3 sites have a 95 % omega_Q interval wider than their region" in capsys.readouterr().out
    labelled = read(tmp_path / "o" / "pred_regions.xyz", ":")
    assert labelled[1].arrays["region_uncertain"].sum() == 3 and labelled[0].arrays["region_uncertain"].sum() == 0
