"""Text forms of workflow settings (as the command line takes them) and loading a dataset's sites."""
from __future__ import annotations

from typing import Dict, List, Sequence

from sagpr import settings

from .design import Factor

#: a small, fast setting for trying the workflow (and for CI): 3 folds, small descriptors
QUICK = {
    "factors": (Factor("cutoff", 3.5, 5.0), Factor("atomic_gaussian_width", 0.3, 0.5),
                Factor("regularizer", 1e-8, 1e-3, scale="log")),
    "fixed": settings.PRESETS["quick"],
    "n_folds": 3,
    "train_sizes": (0.25, 0.5, 1.0),
    # ranges that hold the LODE defaults (lode_weight 0.99, lode_atomic_gaussian_width 0.3 A)
    "lode_factors": (Factor("lode_weight", 0.7, 0.99), Factor("lode_atomic_gaussian_width", 0.3, 0.8)),
}


def with_lode(factors: Sequence[Factor], fixed: Dict[str, object], lode_factors: Sequence[Factor] = ()):
    """(factors, fixed) of a search of local + LODE models: `lode_factors` are added unless their
    names are fixed or searched already; when no lode_* name is searched or fixed, lode_weight is
    fixed at its default (a parameter set naming a lode_* setting is a LODE model, see
    sagpr.settings.lode_part)."""
    factors, fixed = list(factors), dict(fixed)
    taken = set(fixed) | {f.name for f in factors}
    factors += [f for f in lode_factors if f.name not in taken]
    if not any(name in settings.LODE for name in set(fixed) | {f.name for f in factors}):
        fixed["lode_weight"] = settings.default("lode_weight")
    return factors, fixed


def parse_factor(spec: str) -> Factor:
    """"name:low:high[:log][:int]" -> Factor, e.g. "regularizer:1e-8:1e-2:log", "zeta:1:3:int"."""
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) < 3:
        raise ValueError(f"factor {spec!r}: expected name:low:high[:log][:int]")
    name, low, high, flags = parts[0], parts[1], parts[2], set(parts[3:])
    unknown = flags - {"log", "linear", "int"}
    if unknown:
        raise ValueError(f"factor {spec!r}: unknown flag(s) {sorted(unknown)} (use log, linear, int)")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise ValueError(f"factor {spec!r}: bounds must be numbers") from None
    integer = "int" in flags or settings.is_integer(name)
    for bound in (lo, hi):  # the bounds obey the hyperparameter's own rule (lode_weight <= 1, ...)
        try:
            settings.check(name, int(round(bound)) if settings.is_integer(name) else bound)
        except ValueError as err:
            raise ValueError(f"factor {spec!r}: {err}") from None
    return Factor(name, lo, hi, scale="log" if "log" in flags else "linear", integer=integer)


def parse_factors(text: str) -> List[Factor]:
    """Comma-separated factor specs."""
    return [parse_factor(s) for s in text.split(",") if s.strip()]


def parse_fixed(items: Sequence[str]) -> Dict[str, object]:
    """["name=value", ...] -> {name: value parsed by sagpr.settings.parse}, e.g. feature_selection=pca."""
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"fixed hyperparameter {item!r}: expected name=value")
        name, value = (s.strip() for s in item.split("=", 1))
        out[name] = settings.parse(name, value)
    return out


def load_sites(patterns: Sequence[str], species: str, *, isotope=None, units=None):
    """Sites of `species` from .magres / extended XYZ / OUTCAR files (several files are concatenated);
    `sites.skipped` lists the files of input folders that were not read."""
    from sagpr.io import expand_inputs, read_efg

    from ..sites import collect_sites

    paths, skipped = expand_inputs(patterns)
    frames = []
    for path in paths:
        frames.extend(read_efg(path, units=units, default_units="au"))
    source = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files ({paths[0].parent})"
    sites = collect_sites(frames, species, isotope=isotope, units=units, source=source)
    sites.skipped = skipped
    return sites
