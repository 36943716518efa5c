"""Units of electric field gradients: names, accepted spellings, constants and conversion.

The one table of EFG units in sagpr (io, nmr, reference and the workflows all use it):

- "au": the atomic unit E_h / (e a0^2) = 9.7173624292e21 V/m^2 = 97.173624292 V/A^2 (CODATA 2018),
  what CASTEP writes;
- "V/A^2": volt per square angstrom;
- "e/A^3": charge over length cubed, the raw point-charge sum q / r^3 (times e^2/(4 pi eps0) =
  14.399645 eV A gives V/A^2); only sagpr.reference computes in it, so it is accepted only where
  a caller asks for it (``allowed=POINT_CHARGE_UNITS``), never for EFG data files.

Spellings are matched case-insensitively after stripping blanks at the ends: "au", "a.u.",
"atomic", "Hartree/(e bohr^2)", ...; "V/A^2", "V/Å^2", "V/Å²", "V/A2", "V/angstrom^2", ...
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "AU",
    "V_PER_A2",
    "E_PER_A3",
    "EFG_UNITS",
    "POINT_CHARGE_UNITS",
    "UNIT_ALIASES",
    "ELEMENTARY_CHARGE",
    "PLANCK",
    "AU_EFG_V_PER_M2",
    "AU_TO_V_PER_A2",
    "CQ_MHZ_PER_AU_MB",
    "COULOMB_EV_ANGSTROM",
    "normalize_units",
    "efg_factor",
    "convert_efg",
]

#: canonical unit names
AU = "au"
V_PER_A2 = "V/A^2"
E_PER_A3 = "e/A^3"
#: the units EFG data (files, models, metrics) may be in
EFG_UNITS = (AU, V_PER_A2)
#: the units sagpr.reference can return point-charge EFGs in
POINT_CHARGE_UNITS = (V_PER_A2, AU, E_PER_A3)

# CODATA 2018: e and h exact; the atomic unit of electric field gradient E_h / (e a0^2).
ELEMENTARY_CHARGE = 1.602176634e-19  # C
PLANCK = 6.62607015e-34  # J s
AU_EFG_V_PER_M2 = 9.7173624292e21  # V / m^2
#: one atomic unit of EFG in V/A^2: AU_EFG_V_PER_M2 * 1e-20, as the correctly rounded literal
#: (the product rounds to 97.17362429199999)
AU_TO_V_PER_A2 = 97.173624292
#: C_Q = e Q Vzz / h in MHz per (Vzz in au x Q in millibarn = 1e-31 m^2): 0.2349647782
CQ_MHZ_PER_AU_MB = ELEMENTARY_CHARGE * 1e-31 * AU_EFG_V_PER_M2 / PLANCK * 1e-6
#: e^2 / (4 pi eps0) in eV A: e/A -> V, e/A^3 -> V/A^2, e^2/A -> eV (CODATA 2018, 8 digits)
COULOMB_EV_ANGSTROM = 14.399645

#: lower-case spelling -> canonical name
UNIT_ALIASES: Mapping[str, str] = MappingProxyType({
    **{s: AU for s in (
        "au", "a.u.", "a.u", "atomic", "atomic units", "hartree/(e*bohr^2)", "hartree/(e bohr^2)",
        "ha/(e*bohr^2)", "ha/(e bohr^2)", "ha/bohr^2",
    )},
    **{s: V_PER_A2 for s in (
        "v/a^2", "v/a2", "v/a²", "v/å^2", "v/å2", "v/å²", "v/angstrom^2", "v/ang^2", "v a^-2", "v/a**2",
    )},
    **{s: E_PER_A3 for s in ("e/a^3", "e/a3", "e/a³", "e/å^3", "e/å3", "e/å³", "e/a**3")},
})

# value of one unit in V/A^2
_IN_V_PER_A2 = {AU: AU_TO_V_PER_A2, V_PER_A2: 1.0, E_PER_A3: COULOMB_EV_ANGSTROM}
_DESCRIPTION = {AU: "'au' (Hartree/(e bohr^2))", V_PER_A2: "'V/A^2'", E_PER_A3: "'e/A^3' (point-charge sums)"}


def normalize_units(units: str, allowed: Sequence[str] = EFG_UNITS) -> str:
    """The canonical name ("au" or "V/A^2"; "e/A^3" if `allowed` has it) of a spelling of EFG
    units; ValueError for any other spelling or unit."""
    name = UNIT_ALIASES.get(units.strip().lower()) if isinstance(units, str) else None
    if name not in allowed:
        choices = " or ".join(_DESCRIPTION[u] for u in allowed)
        raise ValueError(f"unknown EFG units {units!r}: use {choices}")
    return name


def efg_factor(from_units: str, to_units: str, allowed: Sequence[str] = EFG_UNITS) -> float:
    """The number that multiplies an EFG in `from_units` to give it in `to_units` (1.0 if equal)."""
    a, b = normalize_units(from_units, allowed), normalize_units(to_units, allowed)
    return 1.0 if a == b else _IN_V_PER_A2[a] / _IN_V_PER_A2[b]


def convert_efg(V, from_units: str, to_units: str, allowed: Sequence[str] = EFG_UNITS) -> np.ndarray:
    """EFG values (any shape) converted between units (1 au = 97.173624292 V/A^2); always a new
    float64 array."""
    a, b = normalize_units(from_units, allowed), normalize_units(to_units, allowed)
    V = np.asarray(V, dtype=np.float64)
    if a == b:
        return V.copy()
    if b == V_PER_A2:
        return V * _IN_V_PER_A2[a]
    if a == V_PER_A2:
        return V / _IN_V_PER_A2[b]
    return V * (_IN_V_PER_A2[a] / _IN_V_PER_A2[b])


# ------------------------------------------------- quantities with a unit, as users type them
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"

#: one time unit in picoseconds (the time unit of sagpr.dynamics)
TIME_UNITS = MappingProxyType({"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "µs": 1e6, "ms": 1e9, "s": 1e12})

#: 1H Larmor frequency per tesla (MHz / T, CODATA 2018 gamma_p / 2 pi), to accept "600MHz" as a field
PROTON_MHZ_PER_T = 42.577478518


def parse_duration(text, default_unit: str = "ps") -> float:
    """`text` ("10fs", "0.5 ps", or a bare number in `default_unit`) in picoseconds; must be positive."""
    if isinstance(text, (int, float)):
        value, unit = float(text), default_unit
    else:
        match = re.fullmatch(_NUMBER + r"\s*([a-zµ]*)", str(text).strip())
        if not match:
            raise ValueError(f"cannot read the duration {text!r}: give a number and a unit, e.g. 10fs or 0.5ps")
        value, unit = float(match.group(1)), match.group(2) or default_unit
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}: use one of {', '.join(TIME_UNITS)}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"duration {text!r} must be positive and finite")
    return value * TIME_UNITS[unit]


def parse_field(text: str) -> float:
    """A magnetic field in tesla from "14.1T", "14.1 T", "14.1" or a 1H frequency "600MHz"."""
    m = re.fullmatch(_NUMBER + r"\s*(t|mhz)?", str(text).strip().lower())
    if not m or not 0 < float(m.group(1)) < float("inf"):
        raise ValueError(f"field {text!r}: give a positive field such as 14.1T (or a 1H frequency such as 600MHz)")
    value = float(m.group(1))
    return value / PROTON_MHZ_PER_T if m.group(2) == "mhz" else value


def parse_frequency(text: str) -> float:
    """A rate in Hz from "15kHz", "15 kHz", "15000Hz" or "15000" (Hz)."""
    m = re.fullmatch(_NUMBER + r"\s*(hz|khz|mhz)?", str(text).strip().lower())
    if not m or not 0 < float(m.group(1)) < float("inf"):
        raise ValueError(f"rate {text!r}: give a positive rate such as 15kHz")
    return float(m.group(1)) * {None: 1.0, "hz": 1.0, "khz": 1e3, "mhz": 1e6}[m.group(2)]
