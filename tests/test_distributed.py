"""Frame-chunked Dask execution: ordered results, equality with the serial path, a lost worker."""
import contextlib
import os
import re
import threading
import time

import numpy as np
import pytest
from ase.build import bulk

import sagpr
from sagpr.distributed import chunked, map_frames

distributed = pytest.importorskip("distributed", reason="Dask is an optional extra (pip install 'sagpr[dask]')")

HYPERS = dict(o3_lambda=2, cutoff=3.5, max_radial=4, max_angular=3, atomic_gaussian_width=0.5, species=["Na", "Cl"])


def frames(n):
    out = []
    for k in range(n):
        atoms = bulk("NaCl", "rocksalt", a=5.64)
        atoms.rattle(0.1, seed=k)
        out.append(atoms)
    return out


def features(calc, chunk):
    return calc.compute(chunk)


def slow_features(calc, chunk):
    time.sleep(0.2)
    return calc.compute(chunk)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@contextlib.contextmanager
def one_worker_killed(client, after: float):
    """Kill one of the client's workers `after` seconds into the block; on exit, check it died."""
    victim = sorted(client.scheduler_info()["workers"])[0]

    def kill():
        time.sleep(after)
        try:
            client.run(lambda: os._exit(1), workers=[victim])
        except Exception:
            pass  # the worker dies before it can answer

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    yield
    killer.join(timeout=60)  # the call to a dying worker must not hang the test run
    assert victim not in client.scheduler_info()["workers"]  # the worker really died


def test_chunked():
    assert [len(c) for c in chunked(range(10), 4)] == [4, 4, 2]
    with pytest.raises(ValueError):
        list(chunked([1], 0))


def test_distributed_equals_serial_and_streams(client):
    calc = sagpr.LambdaSOAP(**HYPERS)
    data = frames(24)
    serial = calc.compute(data)

    # A generator input: frames are read lazily, never all held by the client.
    produced = []

    def source():
        for atoms in data:
            produced.append(1)
            yield atoms

    results = map_frames(features, calc, source(), client=client, chunk_size=3, max_in_flight=2)
    first = next(results)
    assert len(produced) < len(data)  # streaming: not everything was consumed up front
    out = np.concatenate([first] + list(results))
    np.testing.assert_allclose(out, serial, rtol=0, atol=1e-10)


def test_lost_worker_is_recomputed(client):
    calc = sagpr.LambdaSOAP(**HYPERS)
    data = frames(30)
    serial = calc.compute(data)
    with one_worker_killed(client, after=0.5):
        out = np.concatenate(list(map_frames(slow_features, calc, data, client=client, chunk_size=2)))
    np.testing.assert_allclose(out, serial, rtol=0, atol=1e-10)


def test_bad_frame_is_named(client):
    calc = sagpr.LambdaSOAP(**HYPERS)
    data = frames(6)
    data[4].positions[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"^frame 4: atom 1 "):
        list(map_frames(features, calc, data, client=client, chunk_size=2))


@pytest.fixture(scope="module")
def li_model():
    from sagpr.datasets.lto import generate

    frames = generate(14, seed=5, progress=False)
    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=4.0, max_radial=4, max_angular=3,
                              atomic_gaussian_width=0.5, n_sparse=40, progress=False).fit(frames[:8])
    return model, frames[8:]


def test_model_predict_on_cluster_equals_serial(client, li_model):
    model, frames = li_model
    serial = model.predict(frames)
    np.testing.assert_allclose(model.predict(frames, client=client, chunk_size=2), serial, rtol=0, atol=1e-10)


def test_uncertainties_on_cluster_equal_serial(client, li_model, lto_frames):
    model, frames = li_model
    for kw in (dict(return_std=True), dict(return_cov="cartesian"), dict(return_std=True, return_cov=True)):
        serial = model.predict(frames, **kw)
        remote = model.predict(frames, client=client, chunk_size=2, **kw)
        assert len(remote) == len(serial)
        for a, b in zip(serial, remote):
            if isinstance(a, dict):  # {lambda: spherical covariance blocks}
                assert sorted(a) == sorted(b)
                for lam in a:
                    np.testing.assert_allclose(b[lam], a[lam], rtol=0, atol=1e-12)
            else:
                np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
    o = [a.arrays["efg"][a.numbers == 8][:, 2, 2] for a in lto_frames[:6]]
    scalar = sagpr.ScalarModel(center_species="O", target=None, cutoff=3.5, max_radial=3, max_angular=2,
                               n_sparse=20, progress=False).fit(lto_frames[:6], np.concatenate(o))
    mean, std = scalar.predict(lto_frames[6:], return_std=True)
    remote_mean, remote_std = scalar.predict(lto_frames[6:], return_std=True, client=client, chunk_size=2)
    np.testing.assert_allclose(remote_mean, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(remote_std, std, rtol=0, atol=1e-12)
    assert std.shape == mean.shape and np.all(std > 0)


def test_predict_stream_on_cluster_equals_serial(client, li_model):
    from sagpr.workflows.prediction.predict import predict_stream

    model, frames = li_model
    serial = list(predict_stream(model, iter(frames), chunk_size=2))
    remote = list(predict_stream(model, iter(frames), chunk_size=2, client=client))
    assert len(remote) == len(serial)
    for a, b in zip(serial, remote):
        np.testing.assert_allclose(b.arrays["efg"], a.arrays["efg"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(b.arrays["omega_q"], a.arrays["omega_q"], rtol=0, atol=1e-9)


def test_error_bar_columns_on_cluster_equal_serial(client, li_model):
    from sagpr.workflows.prediction.predict import predict_stream

    model, frames = li_model
    serial = list(predict_stream(model, iter(frames), chunk_size=2, uncertainty=True))
    remote = list(predict_stream(model, iter(frames), chunk_size=2, client=client, uncertainty=True))
    columns = [k for k in serial[0].arrays if k.endswith(("_std", "_low95", "_high95"))]
    assert "cq_std" in columns and "omega_q_high95" in columns
    for a, b in zip(serial, remote):
        for key in columns + ["efg"]:
            np.testing.assert_allclose(b.arrays[key], a.arrays[key], rtol=0, atol=1e-9, equal_nan=True)


def test_cli_predict_with_local_workers(li_model, tmp_path):
    from ase.io import read

    from sagpr.cli import main
    from sagpr.datasets import write_extxyz

    model, frames = li_model
    model.save(tmp_path / "li.sagpr")
    write_extxyz(frames, tmp_path / "in.xyz")
    assert main(["predict", str(tmp_path / "in.xyz"), "--model", str(tmp_path / "li.sagpr"),
                 "--out", str(tmp_path / "out.xyz"), "--workers", "2", "--chunk-size", "2", "--no-progress"]) == 0
    got = np.concatenate([a.arrays["efg"].reshape(-1, 3, 3)[a.numbers == 3] for a in read(tmp_path / "out.xyz", ":")])
    np.testing.assert_allclose(got, model.predict(frames), rtol=1e-6, atol=1e-7)  # extxyz: ~7 digits
    assert main(["predict", str(tmp_path / "in.xyz"), "--model", str(tmp_path / "li.sagpr"),
                 "--out", str(tmp_path / "out.xyz"), "--workers", "0"]) == 1


# ------------------------------------------------------------------ distributed training
@pytest.fixture(scope="module")
def lto_frames():
    from sagpr.datasets.lto import generate

    return generate(12, seed=11, progress=False)


#: environments per block of the normal equations: 10 does not divide a frame's 8 Li, so blocks
#: straddle frames
BLOCK = 10
TENSOR_HYPERS = dict(center_species="Li", target="efg", cutoff=4.0, max_radial=4, max_angular=3,
                     atomic_gaussian_width=0.5, regularizer=1e-4, progress=False)


@pytest.mark.parametrize("extra", [dict(n_sparse=30), dict(n_sparse=30, n_features=60),
                                   dict(n_sparse=30, n_features=40, feature_selection="pca"),
                                   dict(n_sparse=None)], ids=["sparse", "fps", "pca", "full"])
def test_tensor_fit_on_cluster_equals_serial(client, lto_frames, extra):
    train, test = lto_frames[:8], lto_frames[8:]
    serial = sagpr.TensorModel(**TENSOR_HYPERS, **extra).fit(train, block_size=BLOCK)
    remote = sagpr.TensorModel(**TENSOR_HYPERS, **extra).fit(train, client=client, block_size=BLOCK)
    lam = serial.models_[3][2]
    other = remote.models_[3][2]
    assert other.solver_ == lam.solver_
    np.testing.assert_array_equal(other.active_indices_, lam.active_indices_)
    np.testing.assert_array_equal(other.active_features_, lam.active_features_)
    expected = serial.predict(test)
    scale = np.abs(expected).max()
    np.testing.assert_array_equal(remote.predict(test), expected)  # bit-identical


def test_scalar_and_sagpr_fit_on_cluster_equal_serial(client, lto_frames):
    train, test = lto_frames[:8], lto_frames[8:]
    y = np.concatenate([a.arrays["efg"][a.numbers == 8][:, 2, 2] for a in train])
    kw = dict(center_species="O", cutoff=3.5, max_radial=3, max_angular=2, atomic_gaussian_width=0.5,
              regularizer=1e-4, n_sparse=25, progress=False)
    serial = sagpr.ScalarModel(target=None, **kw).fit(train, y, block_size=BLOCK)
    remote = sagpr.ScalarModel(target=None, **kw).fit(train, y, client=client, block_size=BLOCK)
    expected = serial.predict(test)
    np.testing.assert_array_equal(remote.predict(test), expected)

    from sagpr.tensors import symmetric_traceless_to_l2

    V = np.concatenate([a.arrays["efg"][a.numbers == 3] for a in train])
    kw2 = dict(TENSOR_HYPERS, n_sparse=30)
    for key in ("target",):
        kw2.pop(key)
    a = sagpr.SAGPR(o3_lambda=2, **kw2).fit(train, symmetric_traceless_to_l2(V), block_size=BLOCK)
    b = sagpr.SAGPR(o3_lambda=2, **kw2).fit(train, symmetric_traceless_to_l2(V), client=client, block_size=BLOCK)
    expected = a.predict(test)
    np.testing.assert_array_equal(b.predict(test), expected)


def test_fit_survives_a_lost_worker(lto_frames):
    # a cluster of its own: the worker killed here must not take the shared fixture's with it
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        train = lto_frames[:10]
        serial = sagpr.TensorModel(**TENSOR_HYPERS, n_sparse=30).fit(train, block_size=BLOCK)
        # small blocks, each slowed down, so the kill lands mid-fit
        remote = sagpr.TensorModel(**TENSOR_HYPERS, n_sparse=30)
        client.run(_slow_down_features)
        with one_worker_killed(client, after=1.0):
            remote.fit(train, client=client, block_size=BLOCK)
        expected = serial.predict(lto_frames[10:])
        np.testing.assert_array_equal(remote.predict(lto_frames[10:]), expected)
    finally:
        client.close()
        cluster.close()


def _slow_down_features():
    """Make every chunk on this worker take at least 0.15 s (wraps the feature calculator)."""
    from sagpr.models import sources

    original = sources.Featurizer.__call__
    if getattr(original, "_slowed", False):
        return

    def slow(self, frames):
        time.sleep(0.15)
        return original(self, frames)

    slow._slowed = True
    sources.Featurizer.__call__ = slow


def test_fit_on_cluster_names_a_bad_frame(client, lto_frames):
    from ase import Atoms

    # frame 1 holds no Li (the fit skips it), so block-local and input positions differ
    train = [lto_frames[0], Atoms("O2", positions=[[0, 0, 0], [0, 0, 1.3]], cell=[6, 6, 6], pbc=True)]
    train[1].arrays["efg"] = np.zeros((2, 3, 3))
    train[1].info["efg_units"] = lto_frames[0].info["efg_units"]
    train += [a.copy() for a in lto_frames[1:5]]
    bad = np.flatnonzero(train[4].numbers == 8)[0]
    train[4].positions[bad, 0] = np.nan
    with pytest.raises(ValueError, match=rf"^frame 4: atom {bad} "):
        sagpr.TensorModel(**TENSOR_HYPERS, n_sparse=20).fit(train, block_size=BLOCK)
    with pytest.raises(ValueError, match=rf"^frame 4: atom {bad} "):
        sagpr.TensorModel(**TENSOR_HYPERS, n_sparse=20).fit(train, client=client, block_size=BLOCK)


# ------------------------------------------------------------------ workers read a shared file
def _li_frames_file(frames, path, odd=None):
    """Write `frames` (frame `odd` with a Na the model never saw) and return them as read back."""
    from ase.io import read

    from sagpr.datasets import write_extxyz

    frames = [a.copy() for a in frames]
    if odd is not None:
        first_o = np.flatnonzero(frames[odd].numbers == 8)[0]
        frames[odd].numbers[first_o] = 11
    write_extxyz(frames, path)
    return read(path, ":")


def test_predict_from_shared_file_equals_serial(client, li_model, tmp_path, monkeypatch):
    from sagpr import trajectory
    from sagpr.workflows.prediction.predict import predict_stream

    model, frames = li_model
    written = _li_frames_file(frames, tmp_path / "in.xyz")

    # the client only indexes the file: reading frames here would fail (workers are other processes)
    def no_reading(*args, **kwargs):
        raise AssertionError("the client read frames")

    monkeypatch.setattr(trajectory, "read_span", no_reading)
    monkeypatch.setattr("ase.io.read", no_reading)
    monkeypatch.setattr("ase.io.iread", no_reading)
    remote = list(predict_stream(model, tmp_path / "in.xyz", chunk_size=2, client=client, shared_file=True))
    monkeypatch.undo()
    expected = model.predict(written)
    assert len(remote) == len(written)
    got = np.concatenate([a.arrays["efg"].reshape(-1, 3, 3)[a.arrays["predicted"]] for a in remote])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    for a, b in zip(remote, written):
        np.testing.assert_array_equal(a.positions, b.positions)
    with pytest.raises(ValueError, match="needs a Dask client"):
        list(predict_stream(model, tmp_path / "in.xyz", shared_file=True))


def test_map_file_ranges_survives_a_lost_worker(client, tmp_path):
    from sagpr.distributed import map_file_ranges
    from sagpr.trajectory import index_frames

    from ase.io import read

    from sagpr.datasets import write_extxyz

    calc = sagpr.LambdaSOAP(**HYPERS)
    write_extxyz(frames(20), tmp_path / "nacl.xyz")
    serial = calc.compute(read(tmp_path / "nacl.xyz", ":"))
    index = index_frames(tmp_path / "nacl.xyz")
    with one_worker_killed(client, after=0.4):
        out = np.concatenate(list(map_file_ranges(slow_features, calc, index, client=client, chunk_size=2)))
    np.testing.assert_allclose(out, serial, rtol=0, atol=1e-10)


def test_shared_file_errors_name_file_and_frame(client, li_model, tmp_path):
    from sagpr.distributed import map_file_ranges
    from sagpr.trajectory import index_frames
    from sagpr.workflows.prediction.predict import predict_stream

    model, frames = li_model
    path = tmp_path / "in.xyz"
    _li_frames_file(frames, path, odd=3)  # frame 3 is the second of its chunk [2, 4)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: frame 3: .*Na"):
        list(predict_stream(model, path, chunk_size=2, client=client, shared_file=True))

    # a garbled atom line: the worker that reads it names the frame and its line
    _li_frames_file(frames, path)
    lines = path.read_text().splitlines(keepends=True)
    count_line = int(index_frames(path).lines[5])
    lines[count_line + 2] = "Li 1.0 nan? 2.0\n"
    path.write_text("".join(lines))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: frame 5 \(line {count_line}\): cannot parse"):
        list(map_file_ranges(features, sagpr.LambdaSOAP(**dict(HYPERS, species=["Li", "O", "Ti"])), path,
                             client=client, chunk_size=2))


def test_cli_shared_file_equals_streamed(client, li_model, tmp_path, capsys):
    from ase.io import read

    from sagpr.cli import main
    from sagpr.datasets import write_extxyz

    model, frames = li_model
    model.save(tmp_path / "li.sagpr")
    write_extxyz(frames, tmp_path / "in.xyz")
    common = ["predict", str(tmp_path / "in.xyz"), "--model", str(tmp_path / "li.sagpr"), "--chunk-size", "2",
              "--no-progress"]
    assert main(common + ["--out", str(tmp_path / "streamed.xyz")]) == 0
    # the fixture's cluster, not a new one (--workers N is tested above)
    address = client.scheduler.address
    assert main(common + ["--out", str(tmp_path / "shared.xyz"), "--scheduler", address, "--shared-file"]) == 0
    streamed, shared = read(tmp_path / "streamed.xyz", ":"), read(tmp_path / "shared.xyz", ":")
    assert len(shared) == len(streamed) == len(frames)
    for a, b in zip(shared, streamed):
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.positions, b.positions)
        assert sorted(a.info) == sorted(b.info) and sorted(a.arrays) == sorted(b.arrays)
        for key in a.info:
            np.testing.assert_array_equal(a.info[key], b.info[key])
        for key in a.arrays:
            np.testing.assert_allclose(a.arrays[key], b.arrays[key], rtol=1e-6, atol=1e-7)  # extxyz: ~7 digits

    capsys.readouterr()
    assert main(common + ["--out", str(tmp_path / "x.xyz"), "--shared-file"]) == 1
    assert "--shared-file needs --workers N or --scheduler" in capsys.readouterr().err
    (tmp_path / "in.cif").write_text("data_x\n")
    assert main(["predict", str(tmp_path / "in.cif"), "--model", str(tmp_path / "li.sagpr"), "--out",
                 str(tmp_path / "x.xyz"), "--scheduler", address, "--shared-file"]) == 1
    assert "needs an extended XYZ file" in capsys.readouterr().err
    assert not (tmp_path / "x.xyz").exists()
