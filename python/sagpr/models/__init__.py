"""Estimators: symmetry-adapted sparse GPR on lambda-SOAP kernels (scikit-learn conventions).

SAGPR        spherical components (n, 2 lambda + 1) of a per-centre property
TensorModel  per-atom Cartesian rank-2 tensors (EFG, shielding, ...): lambda 0/1/2 parts
ScalarModel  per-atom scalars: lambda = 0 model with mean handling
load         read any of them back from the file written by .save(path)
"""
from ._persistence import FORMAT_VERSION, load
from .gpr import kernel
from .scalar import ScalarModel
from .spherical import SAGPR
from .tensor import TensorModel

__all__ = ["SAGPR", "TensorModel", "ScalarModel", "load", "kernel", "FORMAT_VERSION"]
