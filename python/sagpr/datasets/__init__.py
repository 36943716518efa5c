"""Built-in data sets: structures generated on the fly and labelled with reference EFGs.

``sagpr.datasets.lto`` builds the Li4Ti5O12 (LTO) benchmark set of the reference study (42-atom
cells, rattled and rescaled; 1512-atom disordered models) labelled with point-charge Ewald EFGs.
:func:`write_extxyz` writes any labelled frames as extended XYZ, atomically.
"""
from .files import write_extxyz

__all__ = ["write_extxyz", "lto"]


def __getattr__(name):
    if name == "lto":
        from importlib import import_module

        return import_module("sagpr.datasets.lto")
    raise AttributeError(f"module 'sagpr.datasets' has no attribute {name!r}")
