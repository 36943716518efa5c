"""Hyperparameter settings shared by the estimators: names, defaults and validation.

Estimators keep the values exactly as given (scikit-learn convention) and validate them
in __init__, set_params and fit, so a bad value fails early with a message naming it.
"""
from __future__ import annotations

import numbers

#: lambda-SOAP hyperparameters (sagpr.LambdaSOAP keywords) and their defaults: the
#: settings used for the gehlenite / Li4Ti5O12 calibration runs.
DESCRIPTOR_DEFAULTS = {
    "cutoff": 5.0,
    "max_radial": 8,
    "max_angular": 6,
    "atomic_gaussian_width": 0.4,
    "cutoff_smooth_width": 0.5,
    "center_atom_weight": 1.0,
    "species": None,
}

#: GPR hyperparameters and their defaults.
GPR_DEFAULTS = {
    "zeta": 2,
    "regularizer": 1e-6,
    "n_sparse": 1000,
    "n_features": None,
    "feature_selection": "fps",
    "jitter": "auto",
    "prediction": "auto",
    "random_state": 0,
    "progress": True,
}


def _positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _nonnegative_float(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _int_at_least(lowest):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lowest:
            raise ValueError(f"{name} must be an integer >= {lowest}, got {value!r}")

    return check


def _optional(check):
    def wrapped(name, value):
        if value is not None:
            check(name, value)

    return wrapped


def _species(name, value):
    if value is None:
        return
    if isinstance(value, (str, numbers.Integral)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be None or a list of element symbols or atomic numbers, got {value!r}")
    from sagpr._frames import species_numbers

    species_numbers(list(value))


def _jitter(name, value):
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be 'auto' or a number >= 0, got {value!r}")
        return
    _nonnegative_float(name, value)


def _choice(*options):
    def check(name, value):
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")

    return check


def _bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _center_species(name, value):
    if value is None:
        return
    items = [value] if isinstance(value, (str, numbers.Integral)) else list(value)
    if not items:
        raise ValueError(f"{name} must name at least one species")
    from sagpr._frames import species_numbers

    species_numbers(items)


CHECKS = {
    "o3_lambda": _int_at_least(0),
    "cutoff": _positive_float,
    "max_radial": _int_at_least(1),
    "max_angular": _int_at_least(0),
    "atomic_gaussian_width": _positive_float,
    "cutoff_smooth_width": _nonnegative_float,
    "center_atom_weight": _nonnegative_float,
    "species": _species,
    "zeta": _int_at_least(1),
    "regularizer": _positive_float,
    "n_sparse": _optional(_int_at_least(1)),
    "n_features": _optional(_int_at_least(1)),
    "feature_selection": _choice("fps", "pca"),
    "jitter": _jitter,
    "prediction": _choice("auto", "kernel", "contracted"),
    "random_state": _int_at_least(0),
    "progress": _bool,
    "center_species": _center_species,
}


def center_numbers(value):
    """center_species as a sorted list of atomic numbers (None stays None)."""
    if value is None:
        return None
    from sagpr._frames import species_numbers

    items = [value] if isinstance(value, (str, numbers.Integral)) else list(value)
    return species_numbers(items)


class Estimator:
    """get_params / set_params / repr over the names in _param_names (scikit-learn style)."""

    _param_names: tuple = ()

    def _validate_params(self):
        for name in self._param_names:
            check = CHECKS.get(name)
            if check is not None:
                check(name, getattr(self, name))
        self._extra_checks()

    def _extra_checks(self):
        pass

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in self._param_names:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {', '.join(self._param_names)}")
            setattr(self, name, value)
        self._validate_params()
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_fitted(self):
        if not hasattr(self, "weights_") and not hasattr(self, "models_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit first")
