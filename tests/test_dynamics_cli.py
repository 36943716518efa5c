"""`sagpr dynamics`: trajectory formats, streaming equal to frame by frame, flat memory, the output folder."""
import gc
import weakref

import numpy as np
import pytest
from ase.io import read, write

import sagpr
from ase import Atoms
from sagpr.cli import main
from sagpr.datasets.lto import conventional_cell, generate
from sagpr.dynamics.reading import iter_frames
from sagpr.workflows.dynamics import SERIES_FILE, DynamicsSettings, run_dynamics

HYPERS = dict(cutoff=3.5, max_radial=3, max_angular=2, atomic_gaussian_width=0.5, n_sparse=20, progress=False)


@pytest.fixture(scope="module")
def model(one_thread):
    frames = generate(6, seed=11, progress=False)
    return sagpr.TensorModel(center_species="Li", target="efg", **HYPERS).fit(frames)


def _frames(n, seed=0):
    """A 42-atom LTO cell whose atoms vibrate and whose first Li moves a little each frame, lazily."""
    rng = np.random.default_rng(seed)
    base = generate(1, seed=2, progress=False)[0]
    del base.arrays["efg"]
    for k in range(n):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.positions[np.flatnonzero(atoms.numbers == 3)[0]] += 0.02 * k
        yield atoms


def _trajectory(n=24, seed=0):
    return list(_frames(n, seed))


def _write_lammps_dump(path, frames, types):
    with open(path, "w") as f:
        for k, atoms in enumerate(frames):
            f.write(f"ITEM: TIMESTEP\n{10 * k}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n")
            f.write("ITEM: BOX BOUNDS pp pp pp\n")
            for i in range(3):
                f.write(f"0.0 {atoms.cell[i, i]:.10f}\n")
            f.write("ITEM: ATOMS id type x y z\n")
            order = np.random.default_rng(k).permutation(len(atoms))  # ase sorts by id
            for i in order:
                x, y, z = atoms.positions[i]
                f.write(f"{i + 1} {types.index(atoms.get_chemical_symbols()[i]) + 1} {x:.10f} {y:.10f} {z:.10f}\n")


@pytest.mark.parametrize("suffix", [".xyz", ".traj", ".lammpstrj"])
def test_reader_handles_extxyz_traj_and_lammps_dump(tmp_path, suffix):
    rng = np.random.default_rng(1)
    frames = [conventional_cell() for _ in range(5)]  # cubic: an orthogonal dump box
    for atoms in frames:
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    path = tmp_path / f"t{suffix}"
    types = ["Li", "Ti", "O"]
    if suffix == ".lammpstrj":
        _write_lammps_dump(path, frames, types)
    else:
        write(path, frames)
    got = list(iter_frames(path, types=types))
    assert len(got) == 5
    for a, b in zip(frames, got):
        assert b.get_chemical_symbols() == a.get_chemical_symbols()
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-8)
    sub = list(iter_frames(path, types=types, start=1, stop=5, step=2))
    assert [a.info["source_frame"] for a in sub] == [1, 3]
    np.testing.assert_allclose(sub[1].positions, frames[3].positions, atol=1e-8)


def _settings(**kw):
    base = dict(timestep=0.01, window=4, t_p=(1.0, 20.0), kind="both", directions=4, chunk_size=3, figures=False)
    base.update(kw)
    return DynamicsSettings(**base)


def test_chunked_stream_equals_frame_by_frame(model, tmp_path):
    frames = _trajectory(10)
    run_dynamics(model, iter(frames), tmp_path / "a", _settings(chunk_size=4), progress=False)
    run_dynamics(model, iter(frames), tmp_path / "b", _settings(chunk_size=1), progress=False)
    with np.load(tmp_path / "a" / SERIES_FILE) as a, np.load(tmp_path / "b" / SERIES_FILE) as b:
        np.testing.assert_allclose(a["tensors"], b["tensors"], atol=1e-12)
        li = np.flatnonzero(frames[0].numbers == 3)
        np.testing.assert_array_equal(a["atom_index"], li)
        for k, atoms in enumerate(frames):
            np.testing.assert_allclose(a["tensors"][k], model.predict([atoms]), atol=1e-12)
            np.testing.assert_allclose(a["positions"][k], atoms.positions[li])
        np.testing.assert_allclose(a["time_ps"], 0.01 * np.arange(10))
    # window averages of the series, with their residual observables, in averaged.xyz
    averaged = read(tmp_path / "a" / "averaged.xyz", index=":")
    assert len(averaged) == 2  # 10 frames, windows of 4: the partial last window is left out
    with np.load(tmp_path / "a" / SERIES_FILE) as a:
        mean = a["tensors"][4:8].mean(axis=0)
    got = averaged[1].arrays["efg"].reshape(-1, 3, 3)[li]
    np.testing.assert_allclose(got, mean, rtol=1e-6, atol=1e-8)
    obs = sagpr.nmr.observables(mean, "7Li", units=model.units_ or "au")
    np.testing.assert_allclose(averaged[1].arrays["cq"][li], obs["cq"], rtol=1e-6)


def test_chunks_hold_few_sites():
    from sagpr.workflows.dynamics import _site_chunks

    frames = _trajectory(7)  # 8 Li each
    sizes = [len(c) for c in _site_chunks(iter(frames), 16, 20, [3])]
    assert sizes == [2, 2, 2, 1]
    assert [len(c) for c in _site_chunks(iter(frames), 3, 300, [3])] == [3, 3, 1]
    assert [len(c) for c in _site_chunks(iter(frames), 16, 4, [3])] == [1] * 7  # a frame above the cap alone


def test_generator_input_holds_only_a_chunk_of_frames(model, tmp_path):
    alive = []
    most = [0]

    def source():
        for atoms in _frames(20):
            gc.collect()
            most[0] = max(most[0], sum(r() is not None for r in alive))
            alive.append(weakref.ref(atoms))
            yield atoms

    run_dynamics(model, source(), tmp_path / "g", _settings(chunk_size=3, window=5), progress=False)
    # a chunk being filled, the chunk before it and the window's first frame: never the whole run
    assert most[0] <= 2 * 3 + 1
    with np.load(tmp_path / "g" / SERIES_FILE) as s:
        assert s["tensors"].shape == (20, 8, 3, 3)


def test_frames_with_other_atoms_are_an_error_naming_the_frame(model, tmp_path):
    frames = _trajectory(6)
    frames[4] = frames[4][:-1]
    with pytest.raises(ValueError, match="frame 4: the atoms differ"):
        run_dynamics(model, iter(frames), tmp_path / "e", _settings(), progress=False)
    assert not (tmp_path / "e").exists()  # nothing half-written


def test_cli_writes_the_documented_folder(model, tmp_path, capsys):
    import json

    model.save(tmp_path / "li.sagpr")
    traj = tmp_path / "traj.traj"
    write(traj, _trajectory(24))
    sites = generate(1, seed=2, progress=False)[0]
    sites = Atoms(numbers=sites.numbers, positions=sites.positions, cell=sites.cell, pbc=True)[sites.numbers == 3]
    write(tmp_path / "sites.xyz", sites)
    out = tmp_path / "dyn"
    assert main(["dynamics", str(traj), "--model", str(tmp_path / "li.sagpr"), "--timestep", "10fs", "--out", str(out),
                 "--window", "40fs", "--tp", "1,20", "--tm", "10fs,50fs,0.1ps", "--directions", "3",
                 "--sites", str(tmp_path / "sites.xyz"), "--min-stay", "20fs", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "24 frames x 8 sites" in text and "6 windows of 4 frames" in text
    for name in ("series.npz", "averaged.xyz", "omega_q_histograms.json", "omega_q_histograms.png", "f2.json",
                 "f2.png", "hops.json", "summary.json"):
        assert (out / name).is_file(), name
    f2 = json.loads((out / "f2.json").read_text())
    assert f2["lags"] == [0, 1, 5, 10] and set(f2) >= {"sin", "cos"}
    assert np.allclose(np.array(f2["sin"]["f2"])[:, 0], 1.0)
    hops = json.loads((out / "hops.json").read_text())
    assert hops["sites"]["kinds"] == ["Li"] and hops["sites"]["reference_sites"] == 8
    assert hops["sites"]["min_stay_frames"] == 2 and set(hops["sites"]["mean_residence_ps"]) <= {"Li"}
    # a second run into the same folder needs --overwrite
    assert main(["dynamics", str(traj), "--model", str(tmp_path / "li.sagpr"), "--timestep", "10fs",
                 "--out", str(out), "--no-progress"]) == 1
    assert "not empty" in capsys.readouterr().err


def test_dask_client_gives_the_local_series(model, tmp_path):
    distributed = pytest.importorskip("distributed")
    frames = _trajectory(7)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as c, \
            distributed.Client(c) as client:
        run_dynamics(model, iter(frames), tmp_path / "d", _settings(chunk_size=3), progress=False, client=client)
    run_dynamics(model, iter(frames), tmp_path / "l", _settings(chunk_size=3), progress=False)
    with np.load(tmp_path / "d" / SERIES_FILE) as d, np.load(tmp_path / "l" / SERIES_FILE) as l:
        np.testing.assert_array_equal(d["tensors"], l["tensors"])
        np.testing.assert_array_equal(d["positions"], l["positions"])
