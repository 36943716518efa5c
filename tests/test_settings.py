"""sagpr.settings, the one owner of hyperparameters, and what relies on it: the workflows
cross-validate exactly the model they save, and predict changes nothing on the estimator."""
import ast
import pathlib
import pickle

import numpy as np
import pytest

import sagpr
from sagpr import settings
from sagpr.descriptors import LambdaSOAP
from sagpr.models import SAGPR, ScalarModel, TensorModel
from sagpr.workflows.comparison.compare import CompareSettings, run_comparison
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.tuning.fits import final_tensor_model, make_model
from sagpr.workflows.tuning.options import parse_factor, parse_fixed
from sagpr.workflows.sites import collect_sites

from synthetic_efg import random_cells

pytestmark = pytest.mark.usefixtures("one_thread")

PACKAGE = pathlib.Path(sagpr.__file__).parent


def test_every_default_passes_its_own_rule():
    for name, setting in settings.SETTINGS.items():
        if setting.default is not None or name not in ("o3_lambda",):
            setting.check(setting.default)


@pytest.mark.parametrize("name, value", [
    ("cutoff", 0.0), ("cutoff", float("nan")), ("cutoff", "5"), ("max_radial", 0), ("max_radial", 2.5),
    ("regularizer", 0.0), ("regularizer", -1e-6), ("center_atom_weight", -0.5), ("center_atom_weight", float("inf")),
    ("zeta", True), ("jitter", "big"), ("feature_selection", "random"), ("species", "Li"), ("n_sparse", 0),
])
def test_one_rule_per_parameter_everywhere(name, value):
    # the same value is refused with the same message by the settings, the estimators and the descriptor
    with pytest.raises(ValueError, match=name) as direct:
        settings.check(name, value)
    with pytest.raises(ValueError) as model:
        TensorModel(**{name: value})
    assert str(model.value) == str(direct.value)
    if name in settings.DESCRIPTOR:
        params = {"o3_lambda": 0, "cutoff": 4.0, "max_radial": 4, "max_angular": 3, "atomic_gaussian_width": 0.3,
                  name: value}
        with pytest.raises(ValueError) as descriptor:
            LambdaSOAP(**params)
        assert str(descriptor.value) == str(direct.value)


def test_cross_rules():
    with pytest.raises(ValueError, match="cutoff_smooth_width"):
        settings.check_all({"cutoff": 3.0, "cutoff_smooth_width": 3.5})
    with pytest.raises(ValueError, match="max_angular"):
        LambdaSOAP(o3_lambda=5, cutoff=4.0, max_radial=4, max_angular=2, atomic_gaussian_width=0.3)
    with pytest.raises(ValueError, match="contracted"):
        SAGPR(o3_lambda=2, zeta=3, prediction="contracted")


def test_estimator_defaults_are_the_settings_defaults():
    for cls, extra in ((SAGPR, {"o3_lambda": 2}), (TensorModel, {}), (ScalarModel, {})):
        params = cls(**extra).get_params()
        for name in settings.DESCRIPTOR + settings.GPR:
            assert params[name] == settings.default(name), (cls.__name__, name)


def test_split_fills_defaults_rounds_integers_and_rejects_unknown_names():
    desc, gpr = settings.split({"cutoff": 4.5, "max_radial": 5.6, "zeta": 1.9})
    assert desc["cutoff"] == 4.5 and desc["max_radial"] == 6 and gpr["zeta"] == 2
    assert desc["max_angular"] == settings.default("max_angular") and gpr["n_sparse"] == settings.default("n_sparse")
    assert tuple(desc) == settings.DESCRIPTOR and tuple(gpr) == settings.GPR
    with pytest.raises(ValueError, match="max_radail"):
        settings.split({"max_radail": 6})
    with pytest.raises(ValueError, match="o3_lambda"):
        settings.split({"o3_lambda": 2})


def test_command_line_values_parse_by_the_settings_types():
    assert parse_fixed(["max_radial=6", "n_sparse=none", "feature_selection=pca", "regularizer=1e-7"]) == {
        "max_radial": 6, "n_sparse": None, "feature_selection": "pca", "regularizer": 1e-7}
    with pytest.raises(ValueError, match="max_radial"):
        parse_fixed(["max_radial=6.5"])
    assert parse_factor("zeta:1:3").integer and not parse_factor("cutoff:3:5").integer
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        parse_factor("cutof:3:5")


def test_no_other_default_table_in_the_package():
    # a dict literal giving literal values to two or more hyperparameters is a second default table
    names = set(settings.DESCRIPTOR + settings.GPR)
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {k.value for k, v in zip(node.keys, node.values)
                        if isinstance(k, ast.Constant) and k.value in names and isinstance(v, ast.Constant)}
                if len(keys) >= 2:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {sorted(keys)}")
    assert not found, "\n".join(found)


def _spy(monkeypatch, cls, record):
    original = cls.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        record.append(self.get_params())

    monkeypatch.setattr(cls, "__init__", init)


def test_saved_model_is_the_cross_validated_one_whatever_is_left_unset(monkeypatch):
    # Regression: with fixed={} the comparison cross-validated max_radial 6 / max_angular 4 (a
    # workflow default) but the saved model took the estimators' 8 / 6.
    sites = collect_sites(random_cells(6), "Li", source="synthetic")
    cv_descriptors, cv_models = [], []
    _spy(monkeypatch, LambdaSOAP, cv_descriptors)
    _spy(monkeypatch, SAGPR, cv_models)
    options = CompareSettings(factors=[Factor("cutoff", 3.0, 3.5), Factor("atomic_gaussian_width", 0.4, 0.5),
                                       Factor("regularizer", 1e-6, 1e-4, scale="log")],
                              fixed={}, n_folds=2, train_sizes=(1.0,), models=("tensor",))
    result = run_comparison(sites, options, progress=False)
    best = result.best_params["tensor"]
    final_descriptors, final_models = [], []
    _spy(monkeypatch, LambdaSOAP, final_descriptors)
    _spy(monkeypatch, SAGPR, final_models)
    final_tensor_model(sites.frames, "Li", best, progress=False)

    def descriptor(p):
        return tuple(p[n] for n in settings.DESCRIPTOR if n != "species")

    assert {descriptor(p) for p in final_descriptors} <= {descriptor(p) for p in cv_descriptors}
    assert {p["max_radial"] for p in final_descriptors} == {settings.default("max_radial")}
    shared = [n for n in settings.GPR if n not in ("progress", "n_sparse")]
    gpr_of = {tuple(p[n] for n in shared) for p in cv_models}
    assert final_models and all(tuple(p[n] for n in shared) in gpr_of for p in final_models)
    assert make_model(2, best, 10 ** 6).get_params()["max_angular"] == final_models[0]["max_angular"]


def _state(model):
    return pickle.dumps(model.__dict__)


def test_predict_changes_nothing_on_the_estimator():
    frames = random_cells(4)
    for model in (TensorModel(center_species="Li", cutoff=3.5, max_radial=3, max_angular=2, n_sparse=20,
                              progress=False),
                  TensorModel(center_species="Li", cutoff=3.5, max_radial=3, max_angular=2, n_sparse=20,
                              prediction="contracted", progress=False)):
        model.fit(frames[:3])
        before = _state(model)
        model.predict(frames[3:])
        assert _state(model) == before
        for part in model.models_[3].values():
            x, x0 = part.compute_features(frames[3:])
            before = _state(part)
            part.predict_features(x, x0)
            assert _state(part) == before
    assert np.isfinite(model.predict(frames[3:])).all()
