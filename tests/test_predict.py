"""Streaming prediction (`sagpr predict`): equal to frame-by-frame, flat memory, observables, errors."""
import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

import sagpr
from sagpr.cli import main
from sagpr.datasets import write_extxyz
from sagpr.datasets.lto import generate
from sagpr.nmr import observables
from sagpr.workflows.prediction.predict import OBSERVABLES, predict_stream

HYPERS = dict(cutoff=4.0, max_radial=4, max_angular=3, atomic_gaussian_width=0.5, n_sparse=40, progress=False)


@pytest.fixture(scope="module")
def model_and_frames():
    frames = generate(16, seed=3, progress=False)
    model = sagpr.TensorModel(center_species="Li", target="efg", **HYPERS).fit(frames[:10])
    return model, frames[10:]


def test_stream_equals_frame_by_frame(model_and_frames):
    model, frames = model_and_frames
    streamed = list(predict_stream(model, iter(frames), chunk_size=4))
    assert len(streamed) == len(frames)
    for atoms, out in zip(frames, streamed):
        li = atoms.numbers == 3
        expected = model.predict([atoms])
        got = out.arrays["efg"].reshape(-1, 3, 3)
        np.testing.assert_allclose(got[li], expected, atol=1e-12)
        assert np.all(got[~li] == 0) and np.array_equal(out.arrays["predicted"], li)
        # The reference EFG of the input is kept beside the prediction.
        np.testing.assert_array_equal(out.arrays["efg_reference"].reshape(-1, 3, 3), atoms.arrays["efg"])
        obs = observables(expected, ["7Li"] * li.sum(), units=model.units_ or "au")
        for key in OBSERVABLES:
            np.testing.assert_allclose(out.arrays[key][li], obs[key], rtol=1e-12, atol=1e-12)
            assert np.all(np.isnan(out.arrays[key][~li]))


def test_stream_reads_input_lazily(model_and_frames):
    model, frames = model_and_frames
    pulled = []

    def source():
        for k in range(40):
            pulled.append(k)
            yield frames[k % len(frames)]

    stream = predict_stream(model, source(), chunk_size=2)
    next(stream)
    assert len(pulled) == 2  # one chunk read, nothing more held
    for k, _ in enumerate(stream, start=1):
        assert len(pulled) <= k + 2
    assert len(pulled) == 40


def test_cli_predict_writes_xyz_and_magres(model_and_frames, tmp_path, capsys):
    model, frames = model_and_frames
    model.save(tmp_path / "li.sagpr")
    write_extxyz(frames, tmp_path / "in.xyz")
    out = tmp_path / "pred.xyz"
    assert main(["predict", str(tmp_path / "in.xyz"), "--model", str(tmp_path / "li.sagpr"), "--out", str(out),
                 "--magres", str(tmp_path / "magres"), "--chunk-size", "3", "--no-progress"]) == 0
    predicted = read(out, index=":")
    assert len(predicted) == len(frames)
    expected = model.predict(frames)
    got = np.concatenate([a.arrays["efg"].reshape(-1, 3, 3)[a.numbers == 3] for a in predicted])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)  # extxyz keeps ~7 digits
    magres = sorted((tmp_path / "magres").glob("*.magres"))
    assert len(magres) == len(frames)
    back = sagpr.io.read_efg(magres[1], units=model.units_ or "au")[0]
    np.testing.assert_allclose(back.arrays["efg"][frames[1].numbers == 3], model.predict([frames[1]]), atol=1e-6)
    assert "wrote" in capsys.readouterr().out


def test_unknown_species_names_the_frame(model_and_frames, tmp_path, capsys):
    model, frames = model_and_frames
    model.save(tmp_path / "li.sagpr")
    odd = bulk("NaCl", "rocksalt", a=5.64)
    write_extxyz(list(frames[:3]) + [odd], tmp_path / "in.xyz")
    code = main(["predict", str(tmp_path / "in.xyz"), "--model", str(tmp_path / "li.sagpr"),
                 "--out", str(tmp_path / "pred.xyz"), "--chunk-size", "2", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "frame 3" in err and "Na" in err
    assert not (tmp_path / "pred.xyz").exists()  # nothing half-written
