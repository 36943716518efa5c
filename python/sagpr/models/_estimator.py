"""The estimator base class: get_params / set_params / repr and validation against sagpr.settings.

Estimators keep the values exactly as given (scikit-learn convention) and validate them in
__init__, set_params and fit through sagpr.settings, the one owner of names, defaults and rules.
"""
from __future__ import annotations

import numbers

from sagpr import settings


def center_numbers(value):
    """center_species as a sorted list of atomic numbers (None stays None)."""
    if value is None:
        return None
    from sagpr.frames import species_numbers

    items = [value] if isinstance(value, (str, numbers.Integral)) else list(value)
    return species_numbers(items)


class Estimator:
    """get_params / set_params / repr over the names in _param_names (scikit-learn style)."""

    _param_names: tuple = ()
    #: values of parameters added after model files existed, as files written before them imply
    #: (a file records every parameter it was saved with; a missing one is not at today's default)
    _legacy_params = dict.fromkeys(("uncertainty_n_sparse", "uncertainty_projection"))  # both None: the exact covariance

    def _validate_params(self):
        settings.check_all({name: getattr(self, name) for name in self._param_names if name in settings.SETTINGS})
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
