"""Frame-chunked Dask execution: ordered results, equality with the serial path, a lost worker."""
import os
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
    victim = sorted(client.scheduler_info()["workers"])[0]

    def kill():
        time.sleep(0.5)
        try:
            client.run(lambda: os._exit(1), workers=[victim])
        except Exception:
            pass  # the worker dies before it can answer

    killer = threading.Thread(target=kill)
    killer.start()
    out = np.concatenate(list(map_frames(slow_features, calc, data, client=client, chunk_size=2)))
    killer.join()
    assert victim not in client.scheduler_info()["workers"]  # the worker really died
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


def test_predict_stream_on_cluster_equals_serial(client, li_model):
    from sagpr.workflows.predict import predict_stream

    model, frames = li_model
    serial = list(predict_stream(model, iter(frames), chunk_size=2))
    remote = list(predict_stream(model, iter(frames), chunk_size=2, client=client))
    assert len(remote) == len(serial)
    for a, b in zip(serial, remote):
        np.testing.assert_allclose(b.arrays["efg"], a.arrays["efg"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(b.arrays["omega_q"], a.arrays["omega_q"], rtol=0, atol=1e-9)


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
                 "--out", str(tmp_path / "out.xyz"), "--workers", "0"]) == 2
