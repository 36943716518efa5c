"""`sagpr tensor train` / `sagpr tensor score`: structure-level tensors from extended XYZ files."""
import json

import ase.io
import numpy as np
import pytest

import sagpr
from sagpr.cli import main

from test_structure_model import molecules, targets

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ["max_radial=3", "max_angular=3", "n_sparse=40", "cutoff=3.0", "atomic_gaussian_width=0.5",
         "regularizer=1e-8"]


def test_train_then_score(tmp_path, capsys):
    frames = molecules(30, seed=2)
    y = targets(frames, 2)
    for atoms, t in zip(frames, y):
        atoms.info["alpha"] = t.ravel()
    ase.io.write(tmp_path / "train.xyz", frames[:24])
    ase.io.write(tmp_path / "test.xyz", frames[24:])
    model_path = tmp_path / "alpha.sagpr"
    assert main(["tensor", "train", "--data", str(tmp_path / "train.xyz"), "--target", "alpha", "--set", *SMALL,
                 "--out", str(model_path), "--no-progress"]) == 0
    assert "5-fold CV estimate (by structure), % RMSE / STD: " in capsys.readouterr().out
    model = sagpr.load(model_path)
    assert model.rank_ == 2 and (1, -1) in model.parts_
    report = tmp_path / "score.json"
    assert main(["tensor", "score", "--model", str(model_path), "--data", str(tmp_path / "test.xyz"),
                 "--out", str(report)]) == 0
    assert "lambda=1 sigma=-1" in capsys.readouterr().out
    data = json.loads(report.read_text())
    expected = model.score(ase.io.read(tmp_path / "test.xyz", ":"))
    assert np.isclose(data["percent_rmse_std"]["total"], expected["total"])
    assert data["calibrated"] is False and data["coverage95"] == model.coverage(ase.io.read(tmp_path / "test.xyz", ":"))


def test_train_calibrated_then_score_reports_coverage(tmp_path, capsys):
    frames = molecules(30, seed=3)
    for atoms, t in zip(frames, targets(frames, 2)):
        atoms.info["alpha"] = t.ravel()
    ase.io.write(tmp_path / "train.xyz", frames[:24])
    ase.io.write(tmp_path / "test.xyz", frames[24:])
    model_path = tmp_path / "alpha.sagpr"
    assert main(["tensor", "train", "--data", str(tmp_path / "train.xyz"), "--target", "alpha", "--set", *SMALL,
                 "--folds", "4", "--calibrate", "--out", str(model_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "calibrated lambda=2 sigma=+1: scale" in out and "95% coverage" in out
    model = sagpr.load(model_path)
    assert set(model.calibration_) == {f"{lam}/{sig}" for lam, sig in model.parts_}
    report = tmp_path / "score.json"
    assert main(["tensor", "score", "--model", str(model_path), "--data", str(tmp_path / "test.xyz"),
                 "--out", str(report)]) == 0
    assert "95% interval coverage of the components" in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["calibrated"] is True and 0.0 <= data["coverage95"] <= 1.0
    assert main(["tensor", "train", "--data", str(tmp_path / "train.xyz"), "--target", "alpha", "--set", *SMALL,
                 "--folds", "0", "--calibrate", "--out", str(tmp_path / "x.sagpr")]) != 0
    assert "--calibrate needs --folds" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path, capsys):
    ase.io.write(tmp_path / "a.xyz", molecules(3))
    assert main(["tensor", "train", "--data", str(tmp_path / "a.xyz"), "--target", "mu",
                 "--out", str(tmp_path / "m.sagpr")]) != 0
    assert "frame 0: no 'mu'" in capsys.readouterr().err
    assert main(["tensor", "train", "--data", str(tmp_path / "a.xyz"), "--target", "mu", "--set", "bogus=1",
                 "--out", str(tmp_path / "m.sagpr")]) != 0
    assert main(["tensor", "train", "--data", str(tmp_path / "none*.xyz"), "--target", "mu",
                 "--out", str(tmp_path / "m.sagpr")]) != 0
    assert "no such file" in capsys.readouterr().err
