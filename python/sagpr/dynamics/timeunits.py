"""Durations written with a unit ("10fs", "0.5 ps", "2e-3ns") as picoseconds, the time unit of sagpr.dynamics."""
from __future__ import annotations

import re

#: one unit in picoseconds
TIME_UNITS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "µs": 1e6, "ms": 1e9, "s": 1e12}

_DURATION = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zµ]*)\s*$")


def parse_duration(text, default_unit: str = "ps") -> float:
    """`text` ("10fs", "0.5 ps", or a bare number in `default_unit`) in picoseconds; must be positive."""
    if isinstance(text, (int, float)):
        value, unit = float(text), default_unit
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"cannot read the duration {text!r}: give a number and a unit, e.g. 10fs or 0.5ps")
        value, unit = float(match.group(1)), match.group(2) or default_unit
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}: use one of {', '.join(TIME_UNITS)}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"duration {text!r} must be positive and finite")
    return value * TIME_UNITS[unit]
