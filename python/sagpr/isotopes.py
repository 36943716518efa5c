"""Spins and nuclear electric quadrupole moments of quadrupolar isotopes (I >= 1).

Quadrupole moments Q (millibarn) are the recommended values of P. Pyykkö, "Year-2008 nuclear
quadrupole moments", Mol. Phys. 106, 1965 (2008); the update (Mol. Phys. 116, 1328 (2018))
keeps the values used here for the light nuclei the tests check (2H 2.860, 14N 20.44,
17O -25.58, 27Al 146.6 mb). These are the values CASTEP, MagresView and soprano use, so C_Q
computed here matches their output. Spins are the ground-state nuclear spins (IUPAC NMR
table: Harris et al., Pure Appl. Chem. 73, 1795 (2001)).

Override a value by passing an `Isotope` instead of a label, and the default isotope of an
element with ``defaults={"Ti": "49Ti"}`` in the sagpr.nmr functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Mapping, Optional, Union

__all__ = ["Isotope", "ISOTOPES", "DEFAULT_ISOTOPES", "get_isotope"]


@dataclass(frozen=True)
class Isotope:
    """A nucleus: label such as "17O", element symbol, mass number, spin I, Q in millibarn."""

    label: str
    element: str
    mass_number: int
    spin: float
    quadrupole_moment: float  # mb = 1e-31 m^2

    def __post_init__(self):
        if self.spin < 1 or (2 * self.spin) % 1:
            raise ValueError(f"isotope {self.label}: a quadrupolar nucleus has spin I >= 1 (2I integer), got {self.spin}")


# label: (spin, Q / mb)
_TABLE = {
    "2H": (1, 2.860),
    "6Li": (1, -0.808),
    "7Li": (Fraction(3, 2), -40.1),
    "9Be": (Fraction(3, 2), 52.88),
    "10B": (3, 84.59),
    "11B": (Fraction(3, 2), 40.59),
    "14N": (1, 20.44),
    "17O": (Fraction(5, 2), -25.58),
    "21Ne": (Fraction(3, 2), 101.55),
    "23Na": (Fraction(3, 2), 104.0),
    "25Mg": (Fraction(5, 2), 199.4),
    "27Al": (Fraction(5, 2), 146.6),
    "33S": (Fraction(3, 2), -67.8),
    "35Cl": (Fraction(3, 2), -81.65),
    "37Cl": (Fraction(3, 2), -64.35),
    "39K": (Fraction(3, 2), 58.5),
    "41K": (Fraction(3, 2), 71.1),
    "43Ca": (Fraction(7, 2), -40.8),
    "45Sc": (Fraction(7, 2), -220.0),
    "47Ti": (Fraction(5, 2), 302.0),
    "49Ti": (Fraction(7, 2), 247.0),
    "51V": (Fraction(7, 2), -52.0),
    "53Cr": (Fraction(3, 2), -150.0),
    "55Mn": (Fraction(5, 2), 330.0),
    "59Co": (Fraction(7, 2), 420.0),
    "61Ni": (Fraction(3, 2), 162.0),
    "63Cu": (Fraction(3, 2), -220.0),
    "65Cu": (Fraction(3, 2), -204.0),
    "67Zn": (Fraction(5, 2), 150.0),
    "69Ga": (Fraction(3, 2), 171.0),
    "71Ga": (Fraction(3, 2), 107.0),
    "73Ge": (Fraction(9, 2), -196.0),
    "75As": (Fraction(3, 2), 314.0),
    "79Br": (Fraction(3, 2), 313.0),
    "81Br": (Fraction(3, 2), 262.0),
    "85Rb": (Fraction(5, 2), 276.0),
    "87Rb": (Fraction(3, 2), 133.5),
    "87Sr": (Fraction(9, 2), 305.0),
    "91Zr": (Fraction(5, 2), -176.0),
    "93Nb": (Fraction(9, 2), -320.0),
    "95Mo": (Fraction(5, 2), -22.0),
    "115In": (Fraction(9, 2), 770.0),
    "121Sb": (Fraction(5, 2), -543.0),
    "127I": (Fraction(5, 2), -696.0),
    "133Cs": (Fraction(7, 2), -3.43),
    "137Ba": (Fraction(3, 2), 245.0),
    "139La": (Fraction(7, 2), 200.0),
    "181Ta": (Fraction(7, 2), 3170.0),
    "209Bi": (Fraction(9, 2), -516.0),
}

_LABEL = re.compile(r"^(\d+)([A-Z][a-z]?)$")
_LABEL_REVERSED = re.compile(r"^([A-Z][a-z]?)-?(\d+)$")


def _make(label, spin, q):
    mass, element = _LABEL.match(label).groups()
    return Isotope(label, element, int(mass), float(spin), float(q))


ISOTOPES: Mapping[str, Isotope] = MappingProxyType({k: _make(k, *v) for k, v in _TABLE.items()})

# The usual NMR-observed quadrupolar isotope of each element (the only one, or the better one).
DEFAULT_ISOTOPES: Mapping[str, str] = MappingProxyType(
    {
        "H": "2H", "Li": "7Li", "Be": "9Be", "B": "11B", "N": "14N", "O": "17O", "Ne": "21Ne",
        "Na": "23Na", "Mg": "25Mg", "Al": "27Al", "S": "33S", "Cl": "35Cl", "K": "39K", "Ca": "43Ca",
        "Sc": "45Sc", "Ti": "47Ti", "V": "51V", "Cr": "53Cr", "Mn": "55Mn", "Co": "59Co", "Ni": "61Ni",
        "Cu": "63Cu", "Zn": "67Zn", "Ga": "71Ga", "Ge": "73Ge", "As": "75As", "Br": "81Br", "Rb": "87Rb",
        "Sr": "87Sr", "Zr": "91Zr", "Nb": "93Nb", "Mo": "95Mo", "In": "115In", "Sb": "121Sb", "I": "127I",
        "Cs": "133Cs", "Ba": "137Ba", "La": "139La", "Ta": "181Ta", "Bi": "209Bi",
    }
)


def get_isotope(name: Union[str, Isotope], defaults: Optional[Mapping[str, Union[str, Isotope]]] = None) -> Isotope:
    """The Isotope for a label ("17O", "O17", "O-17"), an element symbol (its default isotope,
    from ``defaults`` first, then DEFAULT_ISOTOPES) or an Isotope (returned as is)."""
    if isinstance(name, Isotope):
        return name
    if not isinstance(name, str):
        raise TypeError(f"isotope must be a label such as '17O', an element symbol or an Isotope, got {name!r}")
    key = name.strip()
    if defaults and key in defaults:
        return get_isotope(defaults[key])
    if key in DEFAULT_ISOTOPES:
        return ISOTOPES[DEFAULT_ISOTOPES[key]]
    m = _LABEL_REVERSED.match(key)
    if m:
        key = m.group(2) + m.group(1)
    if key in ISOTOPES:
        return ISOTOPES[key]
    if _LABEL.match(key):
        raise ValueError(
            f"isotope {name!r} is not in the table of quadrupolar nuclei (spin-1/2 and spin-0 nuclei have no "
            f"quadrupole moment); pass sagpr.isotopes.Isotope(...) to use your own values"
        )
    raise ValueError(
        f"no default quadrupolar isotope for {name!r}; give an isotope label such as '17O' "
        f"or defaults={{{name!r}: ...}}"
    )
