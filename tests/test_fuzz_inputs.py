"""Fuzzing the command line with hypothesis: truncated, byte-flipped and garbage .magres and
extended-XYZ files, and bad hyperparameters, end as a one-line error naming the file (or as a
consistent success), never as a traceback, a partial output file or a silent acceptance; and for
random rattled structures the prediction is finite and round-trips through the written file."""
import numpy as np
import pytest
from ase.io import read

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings as hsettings, strategies as st  # noqa: E402

import sagpr  # noqa: E402
from sagpr import settings  # noqa: E402
from sagpr.cli import main  # noqa: E402
from sagpr.io import write_efg  # noqa: E402

from synthetic_efg import random_cells  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
FUZZ = hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    frames = random_cells(6, seed=8)
    model = sagpr.TensorModel(center_species="Li", target="efg", cutoff=3.5, max_radial=3, max_angular=2,
                              n_sparse=20, progress=False).fit(frames[:4])
    model.save(d / "li.sagpr")
    write_efg(d / "good.xyz", frames[4:])
    write_efg(d / "good.magres", frames[4])
    return d, model


def _mutate(data: bytes, kind: str, position: float, byte: int, garbage: bytes) -> bytes:
    cut = int(position * len(data))
    if kind == "truncate":
        return data[:cut]
    if kind == "flip":
        return data[:cut] + bytes([data[cut] ^ (byte or 1)]) + data[cut + 1:] if cut < len(data) else data
    if kind == "insert":
        return data[:cut] + garbage + data[cut:]
    return garbage  # a file of nothing but garbage


def _check_outcome(code, err, out_path, input_name):
    assert "Traceback" not in err
    if code == 0:  # a mutation can leave a valid file (a cut at a frame's end, a changed digit)
        frames = read(out_path, ":")
        assert frames and all(np.isfinite(a.arrays["efg"]).all() for a in frames)
    else:
        assert code == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sagpr predict: error: ") and input_name in lines[0], err
        assert not out_path.exists()  # nothing half-written


@pytest.mark.parametrize("name", ["good.xyz", "good.magres"])
@FUZZ
@given(kind=st.sampled_from(["truncate", "flip", "insert", "garbage"]), position=st.floats(0, 1),
       byte=st.integers(0, 255), garbage=st.binary(min_size=1, max_size=64))
def test_mutated_inputs_give_one_line_errors(case, tmp_path_factory, capfd, name, kind, position, byte, garbage):
    d, _ = case
    work = tmp_path_factory.mktemp("m")
    bad = work / f"in_{name}"
    bad.write_bytes(_mutate((d / name).read_bytes(), kind, position, byte, garbage))
    out = work / "out.xyz"
    code = main(["predict", str(bad), "--model", str(d / "li.sagpr"), "--out", str(out), "--no-progress"])
    _check_outcome(code, capfd.readouterr().err, out, bad.name)


BAD_VALUES = st.one_of(st.sampled_from(["-1", "0", "nan", "inf", "-inf", "1e400", "abc", "", "none", "True",
                                        "3.5.1", "1e-400", "-0.0", "99999999999999999999"]),
                       st.text(max_size=8))


@FUZZ
@given(name=st.sampled_from(sorted(settings.SETTINGS)), value=BAD_VALUES)
def test_bad_hyperparameters_give_one_line_errors(case, tmp_path_factory, capfd, name, value):
    d, _ = case
    try:
        parsed = settings.parse(name, value)
        settings.check_all({name: parsed})
        assume(False)  # a valid value: not what this test is about
    except ValueError:
        pass
    out = tmp_path_factory.mktemp("h") / "m.sagpr"
    code = main(["train", "--data", str(d / "good.xyz"), "--species", "Li", "--set", f"{name}={value}",
                 "--out", str(out), "--no-progress"])
    err = capfd.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and name in err, err
    assert not out.exists()


@FUZZ
@given(seed=st.integers(0, 2**31 - 1), rattle=st.floats(0.0, 0.3))
def test_rattled_structures_predict_finite_and_round_trip(case, tmp_path_factory, seed, rattle):
    d, model = case
    atoms = read(d / "good.xyz", 0)
    atoms.rattle(stdev=rattle, seed=seed)
    assume(np.min(atoms.get_all_distances(mic=True) + np.eye(len(atoms)) * 10) > 0.6)
    predicted = model.predict([atoms])
    assert np.isfinite(predicted).all()
    work = tmp_path_factory.mktemp("r")
    write_efg(work / "in.xyz", [atoms])
    assert main(["predict", str(work / "in.xyz"), "--model", str(d / "li.sagpr"), "--out", str(work / "p.xyz"),
                 "--no-progress"]) == 0
    back = read(work / "p.xyz")
    li = back.numbers == 3
    np.testing.assert_allclose(back.arrays["efg"].reshape(-1, 3, 3)[li], predicted, rtol=0,
                               atol=1e-7 * max(1.0, np.abs(predicted).max()))
    assert np.isfinite(back.arrays["cq"][li]).all() and np.isfinite(back.arrays["omega_q"][li]).all()
