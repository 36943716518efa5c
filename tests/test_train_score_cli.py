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


def test_train_prints_a_cv_estimate_by_structure_and_tunes(files, tmp_path, capsys):
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL,
                 "--folds", "3", "--out", str(tmp_path / "a.sagpr"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3-fold CV estimate (by structure): |C_Q| MAE" in out and "mean q~" in out
    small = [s for s in SMALL if not s.startswith("cutoff")]  # the searched factors stay unset
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *small,
                 "--folds", "2", "--tune", "--out", str(tmp_path / "t.sagpr"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tuned: cutoff=" in out and "2-fold CV estimate" in out
    tuned = sagpr.load(tmp_path / "t.sagpr").get_params()
    assert 3.5 <= tuned["cutoff"] <= 6.0 and tuned["max_radial"] == 3  # searched within bounds, --set kept
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--folds", "9",
                 "--out", str(tmp_path / "x.sagpr")]) == 1
    assert "6 structures cannot be split into 9 folds" in capsys.readouterr().err


def test_out_of_fold_predictions_never_see_their_structure():
    from sagpr.workflows.sites import collect_sites
    from sagpr.workflows.tuning.splits import k_fold

    sites = collect_sites(random_cells(7, seed=3), "Li")
    folds = list(k_fold(len(sites), n_folds=3, seed=0, groups=sites.groups))
    seen = np.zeros(len(sites), dtype=int)
    for train, test in folds:
        assert not set(sites.groups[train]) & set(sites.groups[test])  # no structure on both sides
        seen[test] += 1
    assert np.all(seen == 1)  # every site predicted exactly once


def test_score_a_predicted_file_equals_scoring_the_model(files, tmp_path, capsys):
    model_path = tmp_path / "li.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL, "--folds", "0",
                 "--out", str(model_path), "--no-progress"]) == 0
    assert main(["predict", str(files / "test.xyz"), "--model", str(model_path), "--out", str(tmp_path / "p.xyz"),
                 "--no-progress"]) == 0
    assert main(["score", "--model", str(model_path), "--data", str(files / "test.xyz"),
                 "--out", str(tmp_path / "a.json")]) == 0
    assert main(["score", "--data", str(tmp_path / "p.xyz"), "--out", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["n_sites"] == b["n_sites"]
    for name in ("C~Q", "eta", "omega_Q", "theta"):  # the written file holds 8 decimals: equal to ~1e-6
        assert b["scores"][name]["mae"] == pytest.approx(a["scores"][name]["mae"], rel=1e-4, abs=1e-6)
    assert (tmp_path / "b.md").is_file()
    capsys.readouterr()
    assert main(["score", "--data", str(files / "test.xyz")]) == 1
    assert "no 'efg_reference' and 'predicted' columns" in capsys.readouterr().err


def test_train_a_scalar_model_of_a_named_target(files, tmp_path, capsys):
    from sagpr.nmr import observables

    frames = sagpr.io.read_efg(files / "train.xyz")
    for atoms in frames:  # a per-atom scalar to learn: C_Q of the Li, 0 elsewhere
        cq = np.zeros(len(atoms))
        li = atoms.numbers == 3
        cq[li] = observables(atoms.arrays["efg"][li], "7Li")["cq"]
        atoms.arrays["cq_dft"] = cq
    write_efg(tmp_path / "scalar.xyz", frames)
    assert main(["train", "--data", str(tmp_path / "scalar.xyz"), "--species", "Li", "--target", "cq_dft",
                 "--set", *SMALL, "--folds", "3", "--out", str(tmp_path / "s.sagpr"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "target 'cq_dft'" in out and "3-fold CV estimate (by structure): MAE" in out
    model = sagpr.load(tmp_path / "s.sagpr")
    assert isinstance(model, sagpr.ScalarModel) and model.predict(frames[:1]).shape == (4,)
    assert main(["train", "--data", str(tmp_path / "scalar.xyz"), "--species", "Li", "--target", "nope",
                 "--out", str(tmp_path / "x.sagpr")]) == 1
    assert "no per-atom 'nope' array" in capsys.readouterr().err


def test_train_calibrates_and_predict_gives_error_bars(files, tmp_path, capsys):
    model_path = tmp_path / "c.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL, "--folds", "3",
                 "--calibrate", "--out", str(model_path), "--no-progress"]) == 0
    assert "calibrated Li lambda=2: scale" in capsys.readouterr().out
    model = sagpr.load(model_path)
    assert model.calibration()[(3, 2)] is not None
    assert main(["predict", str(files / "test.xyz"), "--model", str(model_path), "--out", str(tmp_path / "p.xyz"),
                 "--uncertainty", "--no-progress"]) == 0
    from ase.io import read

    out = read(tmp_path / "p.xyz", ":")
    assert all(np.isfinite(a.arrays["omega_q_std"][a.numbers == 3]).all() for a in out)
    # --set uncertainty_n_sparse=N: calibrated for (and saved with) the covariance on N active points
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL,
                 "uncertainty_n_sparse=4", "--folds", "3", "--calibrate", "--out", str(tmp_path / "n.sagpr"),
                 "--no-progress"]) == 0
    prefix = sagpr.load(tmp_path / "n.sagpr")
    assert prefix.uncertainty_n_sparse == 4 and prefix.calibration()[(3, 2)]["uncertainty_n_sparse"] == 4


def test_score_reports_interval_coverage(files, tmp_path, capsys):
    model_path = tmp_path / "c.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", *SMALL, "--folds", "0",
                 "--out", str(model_path), "--no-progress"]) == 0
    assert main(["score", "--model", str(model_path), "--data", str(files / "test.xyz"), "--uncertainty",
                 "--out", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "coverage of the 95 % intervals: cq" in out
    data = json.loads((tmp_path / "s.json").read_text())
    assert 0.0 <= data["coverage"]["95"]["omega_q"] <= 1.0 and "C~Q" in data["scores"]
    # --uncertainty-n-sparse: the coverage of a sparse model's covariance on its first N active points
    sparse_path = tmp_path / "s.sagpr"
    assert main(["train", "--data", str(files / "train.xyz"), "--species", "Li", "--set", "max_radial=3",
                 "max_angular=2", "n_sparse=10", "cutoff=3.5", "--folds", "0", "--out", str(sparse_path),
                 "--no-progress"]) == 0
    reports = {}
    for n in ("none", "1"):
        assert main(["score", "--model", str(sparse_path), "--data", str(files / "test.xyz"), "--uncertainty",
                     "--uncertainty-n-sparse", n, "--out", str(tmp_path / f"n{n}.json")]) == 0
        reports[n] = json.loads((tmp_path / f"n{n}.json").read_text())["coverage"]
    capsys.readouterr()
    assert reports["1"] != reports["none"]
    for extra, message in ((["--uncertainty-n-sparse", "0"], "uncertainty_n_sparse must be an integer >= 1, None or 'auto', got 0"),
                           (["--uncertainty-n-sparse", "3"], "--uncertainty-n-sparse sets the covariance of "
                                                             "--uncertainty: give --uncertainty too")):
        args = ["score", "--model", str(model_path), "--data", str(files / "test.xyz"), *extra]
        if "0" in extra:
            args.append("--uncertainty")
        assert main(args) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["score", "--data", str(files / "test.xyz"), "--uncertainty-n-sparse", "3"]) == 1
    assert "--uncertainty needs --model" in capsys.readouterr().err
