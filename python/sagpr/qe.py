"""EFG tensors from Quantum ESPRESSO: the .magres file QE-GIPAW writes (``prefix.efg.magres``).

QE-GIPAW (src/output_magres.f90 of dceresoli/qe-gipaw) writes the magres-v1 layout with two
differences from CASTEP that ase's reader rejects: older versions delimit blocks with
``<atoms>`` ... ``</atoms>`` instead of ``[atoms]`` ... ``[/atoms]``, and the units read
``Angstroms``. Its tensors are ``efg_tot`` in Hartree/bohr^2 (atomic units) printed with four
decimals (F12.4), so a small tensor (7Li: ~0.01-0.1 au) is symmetric and traceless only to
+-0.00005 au: `sagpr.io.read_efg` removes that rounding and records the largest correction.

The gipaw.x text output is not read: it prints the tensors (6 decimals) but not the structure,
and it labels the quadrupole moment "Q= ... 1e-30 m^2" (0.01 barn): use its .magres instead.
"""
from __future__ import annotations

import re

_QE_TAG = re.compile(r"^\s*<(/?)(atoms|magres|calculation)>\s*$", re.M)
_QE_UNITS = re.compile(r"^(\s*units\s+(?:lattice|atom)\s+)Angstroms\s*$", re.M)


def is_qe_magres(text: str) -> bool:
    """Whether magres text was written by QE-GIPAW (its calculation block or its block tags)."""
    return "QE-GIPAW" in text or bool(_QE_TAG.search(text))


def normalise_qe_magres(text: str) -> str:
    """QE-GIPAW magres text in the layout ase's magres reader accepts (tags and units spelled as CASTEP)."""
    return _QE_UNITS.sub(r"\1Angstrom", _QE_TAG.sub(r"[\1\2]", text))
