"""One fit-and-predict of a SAGPR model on subsets of the sites, from precomputed features.

Training and prediction sets are sets of sites (environments), not of structures, so the study's
random split of environments is possible; features come from a FeatureStore.
"""
from __future__ import annotations

import numpy as np

from .features import split_params

GPR_KEYS = ("zeta", "regularizer", "n_sparse", "n_features", "feature_selection", "jitter", "prediction",
            "random_state")
GPR_DEFAULTS = {"zeta": 2, "regularizer": 1e-6, "n_sparse": 500}


def _model(o3_lambda: int, params: dict, n_train: int):
    from sagpr.models import SAGPR

    desc, gpr = split_params({**GPR_DEFAULTS, **params})
    unknown = set(gpr) - set(GPR_KEYS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)}; descriptor: cutoff, max_radial, max_angular, "
                         f"atomic_gaussian_width, cutoff_smooth_width, center_atom_weight; GPR: {', '.join(GPR_KEYS)}")
    gpr = dict(gpr)
    if "zeta" in gpr:
        gpr["zeta"] = int(round(gpr["zeta"]))
    if gpr.get("n_sparse") is not None:
        # as many active points as training sites: the full GPR gives the same model without
        # the farthest-point selection
        gpr["n_sparse"] = None if int(gpr["n_sparse"]) >= n_train else int(gpr["n_sparse"])
    return SAGPR(o3_lambda=o3_lambda, progress=False, **desc, **gpr)


def fit_predict(store, o3_lambda: int, params: dict, train, predict, y_train) -> np.ndarray:
    """Fit a SAGPR of `o3_lambda` on sites `train` with targets y_train (n, 2 lambda + 1); predict sites `predict`."""
    train, predict = np.asarray(train), np.asarray(predict)
    f = store.pair(o3_lambda, params)
    model = _model(o3_lambda, params, len(train))
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
