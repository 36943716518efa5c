"""`sagpr predict` on many files: one model load, each frame's source kept, .magres files named
after their source, output folders that hold one whole run, and the summary of what was written."""
import os

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import sagpr
from sagpr.cli import main
from sagpr.io import write_efg
from sagpr.units import convert_efg

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")

HYPERS = dict(cutoff=3.5, max_radial=3, max_angular=2, n_sparse=30, progress=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict_files")
    frames = random_cells(9, seed=4)
    model = sagpr.TensorModel(center_species="Li", target="efg", **HYPERS).fit(frames[:5])
    model.save(d / "li.sagpr")
    (d / "in").mkdir()
    write_efg(d / "in" / "a.xyz", frames[5:7])
    write_efg(d / "in" / "b.magres", frames[7])
    write_efg(d / "in" / "c.magres", frames[8])
    return d, frames[5:]


def _predict(d, *args):
    return main(["predict", "--model", str(d / "li.sagpr"), "--no-progress", *map(str, args)])


def test_many_files_equal_one_file_at_a_time(setup, tmp_path, capsys):
    d, frames = setup
    (d / "in" / "notes.txt").write_text("not a structure")
    assert _predict(d, d / "in", "--out", tmp_path / "all.xyz", "--magres", tmp_path / "mag") == 0
    captured = capsys.readouterr()
    assert "wrote 4 frames (16 Li sites) from 3 files" in captured.out
    assert "skipped 1 file" in captured.err and "notes.txt" in captured.err
    together = read(tmp_path / "all.xyz", ":")
    single = []
    for name in ("a.xyz", "b.magres", "c.magres"):
        assert _predict(d, d / "in" / name, "--out", tmp_path / f"{name}.xyz") == 0
        single += read(tmp_path / f"{name}.xyz", ":")
    assert len(together) == len(single) == 4
    for a, b in zip(together, single):
        np.testing.assert_allclose(a.arrays["efg"], b.arrays["efg"], rtol=0, atol=1e-12)
        assert a.info["source_file"] == b.info["source_file"] and a.info["source_frame"] == b.info["source_frame"]
    assert [(os.path.basename(a.info["source_file"]), a.info["source_frame"]) for a in together] == [
        ("a.xyz", 0), ("a.xyz", 1), ("b.magres", 0), ("c.magres", 0)]
    assert sorted(os.listdir(tmp_path / "mag")) == ["a_000000.magres", "a_000001.magres", "b.magres", "c.magres"]
    (d / "in" / "notes.txt").unlink()


def test_magres_folder_holds_one_whole_run(setup, tmp_path):
    d, _ = setup
    mag = tmp_path / "mag"
    assert _predict(d, d / "in", "--out", tmp_path / "1.xyz", "--magres", mag) == 0
    # a second run into the same folder is refused before any work, unless asked to replace it whole
    assert _predict(d, d / "in" / "b.magres", "--out", tmp_path / "2.xyz", "--magres", mag) == 1
    assert not (tmp_path / "2.xyz").exists() and len(os.listdir(mag)) == 4
    assert _predict(d, d / "in" / "b.magres", "--out", tmp_path / "2.xyz", "--magres", mag, "--overwrite") == 0
    assert os.listdir(mag) == ["b.magres"]
    # a run that fails half-way leaves the folder and the output file as they were
    bad = tmp_path / "bad.xyz"
    atoms = read(d / "in" / "a.xyz")
    atoms.positions[1] = np.nan
    atoms.write(bad, format="extxyz")
    before = (tmp_path / "2.xyz").read_bytes()
    assert _predict(d, d / "in" / "c.magres", bad, "--out", tmp_path / "2.xyz", "--magres", mag, "--overwrite") == 1
    assert os.listdir(mag) == ["b.magres"] and (tmp_path / "2.xyz").read_bytes() == before
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary left behind


def test_errors_name_file_frame_and_fail_before_work(setup, tmp_path, capsys):
    d, _ = setup
    bad = tmp_path / "bad.xyz"
    atoms = read(d / "in" / "a.xyz", ":")
    atoms[1].positions[2] = np.nan
    sagpr.io.write_efg(bad, atoms)
    assert _predict(d, d / "in" / "c.magres", bad, "--out", tmp_path / "o.xyz") == 1
    assert f"{bad}: frame 1: atom 2" in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    for out, message in ((tmp_path / "folder", "is a folder"), (tmp_path / "file" / "o.xyz", "is a file")):
        assert _predict(d, d / "in", "--out", out) == 1
        assert message in capsys.readouterr().err
    assert _predict(d, d / "in", "--out", tmp_path / "o.xyz", "--isotope", "17O") == 1
    assert "17O is an isotope of O, but the model predicts Li" in capsys.readouterr().err


def test_frames_without_site_are_counted_and_references_converted(setup, tmp_path, capsys):
    d, frames = setup
    no_li = Atoms("O2", positions=[[0, 0, 0], [1.2, 0, 0]], cell=[6] * 3, pbc=True)
    no_li.arrays["efg"] = np.zeros((2, 3, 3))
    write_efg(tmp_path / "o2.xyz", [no_li])
    volts = frames[0].copy()
    volts.arrays["efg"] = convert_efg(frames[0].arrays["efg"], "au", "V/A^2")
    volts.info["efg_units"] = "V/A^2"
    write_efg(tmp_path / "volts.xyz", [volts])
    assert _predict(d, tmp_path / "o2.xyz", tmp_path / "volts.xyz", "--out", tmp_path / "p.xyz") == 0
    assert f"1 of 2 frames had no Li site (written unpredicted): {tmp_path / 'o2.xyz'}: frame 0" in capsys.readouterr().out
    out = read(tmp_path / "p.xyz", ":")[1]
    assert out.info["efg_units"] == "au"  # the model's units, for every tensor column of the frame
    np.testing.assert_allclose(out.arrays["efg_reference"].reshape(-1, 3, 3), frames[0].arrays["efg"], atol=1e-7)


def test_ctrl_c_keeps_nothing_half_written(setup, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    d, frames = setup
    many = tmp_path / "many.xyz"
    write_efg(many, frames[:1] * 3000)
    mag = tmp_path / "mag"
    # a runner started in the background of a non-interactive shell ignores SIGINT, and so would the
    # child: a handler here makes the child start with the default disposition (exec resets handlers)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "sagpr", "predict", str(many), "--model", str(d / "li.sagpr"),
                                 "--out", str(tmp_path / "p.xyz"), "--magres", str(mag), "--chunk-size", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:  # interrupt once .magres files are being written
        started = [p for p in tmp_path.iterdir() if p.name.startswith(".mag.") and any(p.iterdir())]
        if started:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "Traceback" not in err
    assert not mag.exists() and not (tmp_path / "p.xyz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.xyz"]


@pytest.mark.parametrize("shift, message", [(0.0, "are at the same position"), (0.3, "are 0.3 A apart")])
def test_overlapping_atoms_are_errors_naming_frame_and_both_atoms(setup, tmp_path, capsys, shift, message):
    d, frames = setup
    bad = [f.copy() for f in frames[:3]]
    bad[2].positions[5] = bad[2].positions[1] + [shift, 0, 0]
    write_efg(tmp_path / "bad.xyz", bad)
    assert _predict(d, tmp_path / "bad.xyz", "--out", tmp_path / "p.xyz") == 1
    err = capsys.readouterr().err
    assert f"bad.xyz: frame 2: atoms 1 (Li) and 5 (O) {message}" in err and len(err.strip().splitlines()) == 1
    # the limit is an option: 0.2 A lets the 0.3 A pair through (to a finite prediction)
    if shift:
        assert _predict(d, tmp_path / "bad.xyz", "--out", tmp_path / "p.xyz", "--min-distance", "0.2") == 0
        assert np.isfinite(read(tmp_path / "p.xyz", ":")[2].arrays["efg"]).all()
    with pytest.raises(ValueError, match="frame 2: atoms 1 .Li. and 5 .O."):
        sagpr.load(d / "li.sagpr").predict(bad)


def test_uncertainty_columns(setup, tmp_path):
    from sagpr.uncertainty import observable_uncertainty

    d, frames = setup
    assert _predict(d, d / "in" / "a.xyz", "--out", tmp_path / "u.xyz", "--uncertainty") == 0
    out = read(tmp_path / "u.xyz", ":")
    model = sagpr.load(d / "li.sagpr")
    T, covs = model.predict(frames[:2], return_cov=True)
    expected = observable_uncertainty(T, covs[2], "7Li", n_samples=500, seed=0)
    got = np.concatenate([a.arrays["omega_q_std"][a.numbers == 3] for a in out])
    np.testing.assert_allclose(got, expected["omega_q"]["std"], rtol=1e-6)
    for a in out:
        li = a.numbers == 3
        assert np.all(a.arrays["cq_low95"][li] <= a.arrays["cq_high95"][li])
        assert np.all(np.isnan(a.arrays["cq_std"][~li]))


def test_uncertainty_n_sparse_option(setup, tmp_path, capsys):
    """--uncertainty-n-sparse N: the columns of the model with uncertainty_n_sparse=N; bad values
    and a calibration of another N are one-line errors before any output."""
    d, frames = setup
    sparse = sagpr.TensorModel(center_species="Li", target="efg", **dict(HYPERS, n_sparse=10))
    sparse.fit(random_cells(9, seed=4)[:5]).save(tmp_path / "sparse.sagpr")

    def run(model, *args):
        return main(["predict", "--model", str(model), "--no-progress", str(d / "in" / "a.xyz"), "--uncertainty",
                     *map(str, args)])

    assert run(tmp_path / "sparse.sagpr", "--out", tmp_path / "p.xyz", "--uncertainty-n-sparse", "5") == 0
    model = sagpr.load(tmp_path / "sparse.sagpr").set_params(uncertainty_n_sparse=5)
    _, std = model.predict(frames[:2], return_std=True)
    _, exact = sagpr.load(tmp_path / "sparse.sagpr").predict(frames[:2], return_std=True)
    assert not np.allclose(std, exact)
    out = read(tmp_path / "p.xyz", ":")
    from sagpr.uncertainty import observable_uncertainty

    T, covs = model.predict(frames[:2], return_cov=True)
    expected = observable_uncertainty(T, covs[2], "7Li", n_samples=500, seed=0)
    got = np.concatenate([a.arrays["omega_q_std"][a.numbers == 3] for a in out])
    np.testing.assert_allclose(got, expected["omega_q"]["std"], rtol=1e-6)
    capsys.readouterr()
    for value, message in (("0", "uncertainty_n_sparse must be an integer >= 1, None or 'auto', got 0"),
                           ("abc", "uncertainty_n_sparse must be an integer, got 'abc'")):
        assert run(tmp_path / "sparse.sagpr", "--out", tmp_path / "q.xyz", "--uncertainty-n-sparse", value) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    model.calibrate(frames, n_folds=2, power_law=False)
    model.save(tmp_path / "cal.sagpr")
    assert run(tmp_path / "cal.sagpr", "--out", tmp_path / "r.xyz", "--uncertainty-n-sparse", "none") == 1
    err = capsys.readouterr().err
    assert "calibration was fitted for covariances on 5 active points" in err and err.count("\n") == 1
    assert not (tmp_path / "r.xyz").exists() and not (tmp_path / "q.xyz").exists()


def test_uncertainty_projection_option(setup, tmp_path, capsys):
    """--uncertainty-projection R: the columns of the model with uncertainty_projection=R; a bad
    value and a calibration of another route are one-line errors before any output."""
    d, frames = setup
    sparse = sagpr.TensorModel(center_species="Li", target="efg", **dict(HYPERS, n_sparse=10))
    sparse.fit(random_cells(9, seed=4)[:5]).save(tmp_path / "sparse.sagpr")

    def run(model, *args):
        return main(["predict", "--model", str(model), "--no-progress", str(d / "in" / "a.xyz"), "--uncertainty",
                     *map(str, args)])

    assert run(tmp_path / "sparse.sagpr", "--out", tmp_path / "p.xyz", "--uncertainty-projection", "6") == 0
    model = sagpr.load(tmp_path / "sparse.sagpr").set_params(uncertainty_projection=6)
    from sagpr.uncertainty import observable_uncertainty

    T, covs = model.predict(frames[:2], return_cov=True)
    expected = observable_uncertainty(T, covs[2], "7Li", n_samples=500, seed=0)
    got = np.concatenate([a.arrays["omega_q_std"][a.numbers == 3] for a in read(tmp_path / "p.xyz", ":")])
    np.testing.assert_allclose(got, expected["omega_q"]["std"], rtol=1e-6)
    capsys.readouterr()
    assert run(tmp_path / "sparse.sagpr", "--out", tmp_path / "q.xyz", "--uncertainty-projection", "0") == 1
    err = capsys.readouterr().err
    assert "uncertainty_projection must be an integer >= 1 or None, got 0" in err and err.count("\n") == 1
    model.calibrate(frames, n_folds=2, power_law=False)
    model.save(tmp_path / "cal.sagpr")
    assert run(tmp_path / "cal.sagpr", "--out", tmp_path / "r.xyz", "--uncertainty-projection", "none") == 1
    err = capsys.readouterr().err
    assert "uncertainty_projection=6, but the model now uses uncertainty_projection=None" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "r.xyz").exists() and not (tmp_path / "q.xyz").exists()


def test_out_of_domain_sites_are_named(setup, tmp_path, capsys):
    d, frames = setup
    far = frames[0].copy()
    far.set_cell(far.cell * 1.6, scale_atoms=True)  # a strained structure, unlike any training one
    write_efg(tmp_path / "far.xyz", [frames[1], far])
    assert _predict(d, tmp_path / "far.xyz", "--out", tmp_path / "o.xyz", "--uncertainty") == 0
    err = capsys.readouterr().err
    assert "out of the model's domain" in err and f"{tmp_path / 'far.xyz'}: frame 1: atom" in err
    assert f"{tmp_path / 'far.xyz'}: frame 0: atom" not in err
    out = read(tmp_path / "o.xyz", ":")
    li = out[1].numbers == 3
    assert np.nanmin(out[1].arrays["relative_std"][li]) > np.nanmax(out[0].arrays["relative_std"][li])


@pytest.mark.parametrize("argv", [["dynamics", "{junk}", "--model", "{model}", "--timestep", "10fs", "--out", "{out}"],
                                  ["tensor", "train", "--data", "{junk}", "--target", "mu", "--out", "{out}"],
                                  ["spectrum", "{junk}", "--species", "Li", "--field", "14.1T", "--out", "{out}"]])
def test_binary_garbage_is_not_a_text_file_for_every_reader(setup, tmp_path, capsys, argv):
    d, _ = setup
    junk = tmp_path / "junk.xyz"
    junk.write_bytes(bytes(range(256)) * 2)
    args = [a.format(junk=junk, model=d / "li.sagpr", out=tmp_path / "out") for a in argv]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{junk.name}: not a text file" in err and len(err.strip().splitlines()) == 1
