"""sagpr: symmetry-adapted Gaussian process regression of tensorial atomic properties.

Learns per-atom tensors (electric field gradients, shieldings, ...) with lambda-SOAP
kernels and turns EFG tensors into the NMR observables experiments measure.
"""
from importlib import import_module

__version__ = "0.1.0"

# Public names resolved lazily, so importing sagpr stays cheap and each layer
# is loaded only when used.
_EXPORTS = {
    "LambdaSOAP": "sagpr.descriptors",
    "SAGPR": "sagpr.models",
    "TensorModel": "sagpr.models",
    "ScalarModel": "sagpr.models",
    "CartesianTensorModel": "sagpr.models.structure",
    "LodeTensorModel": "sagpr.models.lode_tensor",
    "load": "sagpr.models",
    "set_num_threads": "sagpr.parallel",
    "get_num_threads": "sagpr.parallel",
    "MetricsReport": "sagpr.metrics",
    "ReferenceStats": "sagpr.nmr",
    "reference_stats": "sagpr.nmr",
}
_SUBMODULES = {
    "io", "nmr", "tensors", "isotopes", "rotations", "metrics", "reference", "datasets", "descriptors",
    "models", "workflows", "plots", "distributed", "parallel", "units", "quantities", "uncertainty", "spectra",
    "cartesian", "lode",
}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return import_module(f"sagpr.{name}")
    raise AttributeError(f"module 'sagpr' has no attribute {name!r}")


def __dir__():
    return __all__
