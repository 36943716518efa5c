"""`sagpr train` and `sagpr score`: from reference files to a saved model and its test scores."""
import json

import numpy as np
import pytest

import sagpr
from sagpr.cli import main
from sagpr.io import write_efg

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ["max_radial=3", "max_angular=2", "n_sparse=40", "cutoff=3.5"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    frames = random_cells(8)
    write_efg(d / "train.xyz", frames[:6])
    write_efg(d / "test.xyz", frames[6:])
    return d


def test_train_then_score(files, tmp_path, capsys):
    model_path = tmp_path / "li.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL,
                 "--out", str(model_path), "--no-progress"]) == 0
    model = sagpr.load(model_path)
    assert model.get_params()["max_radial"] == 3 and model.get_params()["max_angular"] == 2
    assert model.get_params()["zeta"] == sagpr.settings.default("zeta")  # unset: the settings default
    report = tmp_path / "score.json"
    assert main(["score", "--model", str(model_path), "--data", str(files / "test.xyz"), "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "C~Q" in out and "q~" in out
    data = json.loads(report.read_text())
    frames = sagpr.io.read_efg(files / "test.xyz")
    n_li = sum(int((a.numbers == 3).sum()) for a in frames)
    assert data["n_sites"] == n_li
    # the scores are those of the Python API on the same predictions
    V_ref = np.concatenate([a.arrays["efg"][a.numbers == 3] for a in frames])
    direct = sagpr.metrics.metrics(V_ref, model.predict(frames), "7Li", units=frames[0].info.get("efg_units", "au"))
    assert data["scores"]["C~Q"]["mae"] == pytest.approx(direct["C~Q"]["mae"], rel=1e-9)


def test_train_takes_optimize_results(files, tmp_path):
    best = tmp_path / "best_tensor.json"
    best.write_text(json.dumps({"model": "tensor", "params": {"max_radial": 3, "max_angular": 2, "n_sparse": 30,
                                                                "cutoff": 3.2, "regularizer": 1e-5}}))
    model_path = tmp_path / "m.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--params", str(best),
                 "--set", "cutoff=3.4", "--out", str(model_path), "--no-progress"]) == 0
    params = sagpr.load(model_path).get_params()
    assert params["cutoff"] == 3.4 and params["regularizer"] == 1e-5 and params["n_sparse"] == 30


@pytest.mark.parametrize("extra, message", [
    (["--set", "max_radail=3"], "max_radail"),
    (["--set", "regularizer=0"], "regularizer"),
])
def test_train_bad_hyperparameters_fail_before_reading(files, tmp_path, capsys, extra, message):
    code = main(["train", "--data", str(tmp_path / "missing.xyz"), "--species", "Li", *extra,
                 "--out", str(tmp_path / "m.sagpr")])
    err = capsys.readouterr().err
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1


def test_train_out_is_checked_first(files, tmp_path, capsys):
    code = main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and "is a folder" in err


def test_isotope_of_another_element_is_refused(files, tmp_path, capsys):
    code = main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--isotope", "27Al",
                 "--out", str(tmp_path / "m.sagpr")])
    err = capsys.readouterr().err
    assert code != 0 and "27Al is not an isotope of Li" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.sagpr").exists()
