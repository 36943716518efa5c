"""One fit-and-predict of a SAGPR model on subsets of the sites, from precomputed features.

Training and prediction sets are sets of sites (environments), not of structures, so the study's
random split of environments is possible; features come from a FeatureStore.
"""
from __future__ import annotations

import numpy as np

from sagpr import settings


def make_model(o3_lambda: int, params: dict, n_train: int):
    """The SAGPR a workflow fits for `params` (every unset hyperparameter at its sagpr.settings
    default, as in the model the workflow saves), quiet, on n_train training sites."""
    from sagpr.models import SAGPR

    desc, gpr = settings.split(params)
    gpr["progress"] = False
    if gpr["n_sparse"] is not None and gpr["n_sparse"] >= n_train:
        # as many active points as training sites: the full GPR gives the same model without
        # the farthest-point selection
        gpr["n_sparse"] = None
    return SAGPR(o3_lambda=o3_lambda, **desc, **gpr)


def fit_predict(store, o3_lambda: int, params: dict, train, predict, y_train) -> np.ndarray:
    """Fit a SAGPR of `o3_lambda` on sites `train` with targets y_train (n, 2 lambda + 1); predict sites `predict`."""
    train, predict = np.asarray(train), np.asarray(predict)
    f = store.pair(o3_lambda, params, scale_rows=train)  # LODE scales from the training sites, as a model's
    model = make_model(o3_lambda, params, len(train))
    y = np.asarray(y_train, dtype=np.float64).reshape(len(train), 2 * o3_lambda + 1)
    model.fit_features(f["x"][train], f["x0"][train], y)
    return model.predict_features(f["x"][predict], f["x0"][predict])


def fit_predict_tensor(store, params: dict, train, predict, V_train) -> np.ndarray:
    """EFGs (n, 3, 3) of sites `predict` from a lambda = 2 model trained on V_train of sites `train`."""
    from sagpr.tensors import l2_to_symmetric_traceless, symmetric_traceless_to_l2

    c = fit_predict(store, 2, params, train, predict, symmetric_traceless_to_l2(np.asarray(V_train)))
    return l2_to_symmetric_traceless(c)


def fit_predict_scalar(store, params: dict, train, predict, y_train) -> np.ndarray:
    """Scalars (n,) of sites `predict` from a lambda = 0 model trained on y_train of sites `train`."""
    return fit_predict(store, 0, params, train, predict, np.asarray(y_train)[:, None])[:, 0]


def final_tensor_model(frames, species: str, params: dict, *, V=None, units=None, progress: bool = True):
    """The tuned TensorModel of `species` fitted on every site of `frames`: the model compare
    --save-model and reproduce save. Its hyperparameters are exactly those cross-validated
    (sagpr.settings.split of `params`: unset ones at their defaults in both); a LodeTensorModel
    when `params` name LODE settings (sagpr.settings.lode_part). V: the sites' EFGs (n, 3, 3)
    when they are not atoms.arrays["efg"]; units: recorded as the model's."""
    from sagpr.models import TensorModel
    from sagpr.models.lode_tensor import LodeTensorModel

    desc, gpr = settings.split(params)
    gpr["progress"] = progress
    lode = settings.lode_part(params)
    if lode is None:
        model = TensorModel(center_species=species, target="efg", **desc, **gpr)
    else:
        model = LodeTensorModel(center_species=species, target="efg", **desc, **gpr, **lode)
    model.fit(frames, y=None if V is None else np.asarray(V))
    if units is not None:
        model.units_ = units
    return model
