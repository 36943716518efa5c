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


def fit_sites(store, o3_lambda: int, params: dict, train, y_train):
    """A SAGPR of `o3_lambda` fitted on sites `train` with targets y_train (n, 2 lambda + 1)."""
    train = np.asarray(train)
    f = store.pair(o3_lambda, params, scale_rows=train)  # LODE scales from the training sites, as a model's
    model = make_model(o3_lambda, params, len(train))
    y = np.asarray(y_train, dtype=np.float64).reshape(len(train), 2 * o3_lambda + 1)
    model.fit_features(f["x"][train], f["x0"][train], y)
    return model


def predict_sites(store, model, params: dict, train, predict) -> np.ndarray:
    """Predictions (n, 2 lambda + 1) of `model` (fitted by fit_sites on sites `train`) at sites `predict`."""
    f = store.pair(model.o3_lambda, params, scale_rows=np.asarray(train))
    predict = np.asarray(predict)
    return model.predict_features(f["x"][predict], f["x0"][predict])


def fit_predict(store, o3_lambda: int, params: dict, train, predict, y_train) -> np.ndarray:
    """Fit a SAGPR of `o3_lambda` on sites `train` with targets y_train (n, 2 lambda + 1); predict sites `predict`."""
    return predict_sites(store, fit_sites(store, o3_lambda, params, train, y_train), params, train, predict)


def fit_tensor(store, params: dict, train, V_train):
    """The lambda = 2 SAGPR of the EFGs V_train (n, 3, 3) of sites `train`."""
    from sagpr.tensors import symmetric_traceless_to_l2

    return fit_sites(store, 2, params, train, symmetric_traceless_to_l2(np.asarray(V_train)))


def tensor_from_sums(store, params: dict, train, sums):
    """The fit_tensor model of sites `train` made from the sums a cross-validation run left
    (CrossValidator.full_fit): the same active set and normal equations, no pass over the data."""
    train = np.asarray(train)
    f = store.pair(2, params, scale_rows=train)
    at = train[sums["active"]]
    model = make_model(2, params, len(train))
    return model.fit_sums(sums["gram"], sums["rhs"], f["x"][at], f["x0"][at], n_train=sums["n_train"],
                          y_spread=sums["y_spread"], active_indices=sums["active"])


def predict_tensor(store, model, params: dict, train, predict) -> np.ndarray:
    """EFGs (n, 3, 3) of sites `predict` from a fit_tensor model of sites `train`."""
    from sagpr.tensors import l2_to_symmetric_traceless

    return l2_to_symmetric_traceless(predict_sites(store, model, params, train, predict))


def fit_predict_tensor(store, params: dict, train, predict, V_train) -> np.ndarray:
    """EFGs (n, 3, 3) of sites `predict` from a lambda = 2 model trained on V_train of sites `train`."""
    return predict_tensor(store, fit_tensor(store, params, train, V_train), params, train, predict)


def extended_tensor_model(sites, store, model, params: dict, train, rest):
    """The TensorModel of every site of `sites`: `model` (fit_tensor on sites `train`) extended by
    the sites `rest` (SAGPR.partial_fit_features), so its active set is the one farthest-point
    sampling chose among the training sites. What compare --save-model and reproduce save: it
    costs the sums of `rest` only, where a fresh fit on all sites repeats the training sites'.
    None when that route does not apply (LODE settings, or a full GPR); final_tensor_model then."""
    from ase.data import atomic_numbers

    from sagpr.models import TensorModel
    from sagpr.tensors import symmetric_traceless_to_l2

    if settings.lode_part(params) is not None or model.solver_ != "sparse":
        return None
    train, rest = np.asarray(train), np.asarray(rest)
    if len(np.intersect1d(train, rest)) or len(train) + len(rest) != len(sites):
        raise ValueError("the training sites and the rest must split the sites")
    f = store.pair(2, params)
    model.partial_fit_features(f["x"][rest], f["x0"][rest], symmetric_traceless_to_l2(sites.V[rest]))
    desc, gpr = settings.split(params)
    gpr["progress"] = False
    z = atomic_numbers[sites.species]
    # sites are the species' centres in frame-then-atom order: site i is centre i
    return TensorModel.from_parts(sites.frames, {z: {2: (model, np.concatenate([train, rest]))}}, units=sites.units,
                                  center_species=sites.species, target="efg", **desc, **gpr)


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
