"""Every hyperparameter of sagpr, in one place: name, default, type, check, and the part it belongs to.

The estimators (sagpr.models), the descriptor (sagpr.LambdaSOAP), the workflows (tuning, the
comparison) and the command line all read this table; none keeps defaults or rules of its own.
Parts: "descriptor" (lambda-SOAP), "gpr" (kernel and solver), "model" (what is learned),
"lode" (long-range features, sagpr.lode).

    >>> from sagpr import settings
    >>> settings.default("max_radial")
    8
    >>> settings.split({"cutoff": 4.5, "zeta": 2})[0]["cutoff"]
    4.5
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Tuple

__all__ = ["Setting", "SETTINGS", "DESCRIPTOR", "GPR", "LODE", "PRESETS", "default", "defaults", "check", "check_all",
           "split", "lode_part", "parse", "is_integer", "describe"]


# ------------------------------------------------------------------------------------- rules
def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value or value in (
            float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _positive(name, value):
    _real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _nonnegative(name, value):
    _real(name, value)
    if not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _int_at_least(lowest):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lowest:
            raise ValueError(f"{name} must be an integer >= {lowest}, got {value!r}")

    return check


def _int_between(lowest, highest):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lowest <= value <= highest:
            raise ValueError(f"{name} must be an integer from {lowest} to {highest}, got {value!r}")

    return check


def _optional(rule):
    def check(name, value):
        if value is not None:
            rule(name, value)

    return check


def _choice(*options):
    def check(name, value):
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")

    return check


def _fraction(name, value):
    _real(name, value)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def _bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _jitter(name, value):
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be 'auto' or a number >= 0, got {value!r}")
        return
    _nonnegative(name, value)


def _covariance_points(name, value):
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    try:
        _int_at_least(1)(name, value)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= 1, None or 'auto', got {value!r}") from None


def _optional_int_at_least_one(name, value):
    if value is None:
        return
    try:
        _int_at_least(1)(name, value)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}") from None


def _species_list(name, value):
    if value is None:
        return
    if isinstance(value, (str, numbers.Integral)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be None or a list of element symbols or atomic numbers, got {value!r}")
    from .frames import species_numbers

    if not species_numbers(list(value)):
        raise ValueError(f"{name} must not be empty")


def _center_species(name, value):
    if value is None:
        return
    if isinstance(value, bool) or not (isinstance(value, (str, numbers.Integral)) or hasattr(value, "__iter__")):
        raise ValueError(f"{name} must be an element symbol, an atomic number or a list of them, got {value!r}")
    items = [value] if isinstance(value, (str, numbers.Integral)) else list(value)
    if not items:
        raise ValueError(f"{name} must name at least one species")
    from .frames import species_numbers

    try:
        species_numbers(items)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: {err}") from None


# ------------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Setting:
    """One hyperparameter: its default, which part of a model it configures, its rule and meaning."""

    name: str
    default: object
    part: str  # "descriptor", "gpr", "model" or "lode"
    rule: Callable[[str, object], None]
    help: str
    integer: bool = False

    def check(self, value):
        self.rule(self.name, value)


def _s(name, default, part, rule, help, integer=False):
    return name, Setting(name, default, part, rule, help, integer)


#: name -> Setting. Defaults are those of the gehlenite / Li4Ti5O12 calibration runs.
SETTINGS: Dict[str, Setting] = dict([
    _s("o3_lambda", None, "model", _int_at_least(0), "angular order of the target (0 scalar, 2 EFG)", True),
    _s("center_species", None, "model", _center_species, "element(s) whose environments are modelled"),
    _s("rank", None, "model", _optional(_int_between(1, 4)), "Cartesian rank of a tensor target (None: from its size)",
       True),
    _s("level", "structure", "model", _choice("structure", "atom"), "one target per structure or per atom"),
    _s("intensive", False, "model", _bool, "structure targets are the mean (not the sum) of atomic contributions"),
    _s("cutoff", 5.0, "descriptor", _positive, "neighbour cutoff radius (A)"),
    _s("max_radial", 8, "descriptor", _int_at_least(1), "number of radial basis functions", True),
    _s("max_angular", 6, "descriptor", _int_at_least(0), "largest angular channel of the density", True),
    _s("atomic_gaussian_width", 0.4, "descriptor", _positive, "width of each neighbour's Gaussian (A)"),
    _s("cutoff_smooth_width", 0.5, "descriptor", _nonnegative, "width of the cosine switch at the cutoff (A)"),
    _s("center_atom_weight", 1.0, "descriptor", _nonnegative, "weight of the centre atom's own Gaussian"),
    _s("species", None, "descriptor", _species_list, "neighbour species channels (None: those of the data)"),
    _s("zeta", 2, "gpr", _int_at_least(1), "kernel exponent on the lambda=0 kernel", True),
    _s("regularizer", 1e-6, "gpr", _positive, "sigma^2 of (K_MN K_NM + sigma^2 K_MM) w = K_MN y"),
    _s("n_sparse", 1000, "gpr", _optional(_int_at_least(1)), "active environments (None: full GPR)", True),
    _s("n_features", None, "gpr", _optional(_int_at_least(1)), "features kept by selection (None: all)", True),
    _s("feature_selection", "fps", "gpr", _choice("fps", "pca"), "how features are selected"),
    _s("jitter", "auto", "gpr", _jitter, "diagonal shift of the solves ('auto': grown only as needed)"),
    _s("prediction", "auto", "gpr", _choice("auto", "kernel", "contracted"), "prediction route"),
    _s("random_state", 0, "gpr", _int_at_least(0), "seed of the first FPS pick and of feature sampling", True),
    _s("progress", True, "gpr", _bool, "show progress bars on long steps"),
    # predictive covariances of a sparse model from its first n active points (farthest-point
    # order): the exact DTC covariance of that smaller sparse GP, from the leading blocks of the
    # stored factors (SAGPR._covariance_model; figures in docs/uncertainty.md). "auto": the largest
    # prefix whose covariance costs no more flops than the mean prediction (issue 14's 2x budget);
    # not the default: at the default settings that prefix's sigma no longer ranks the errors
    _s("uncertainty_n_sparse", None, "gpr", _covariance_points,
       "active points the predictive covariance uses: the first n of the active set (None: all; "
       "'auto': as many as cost no more than the prediction)", True),
    # predictive covariances of a sparse model whose kernel to the active set is taken in the
    # span of r principal directions of the active lambda features (and PROJECTION_RANK0 of the
    # lambda = 0 ones): the rest of a site's prior variance counts as unexplained (SAGPR.
    # _projected_covariance; figures in docs/uncertainty.md). None: the exact DTC covariance
    _s("uncertainty_projection", None, "gpr", _optional_int_at_least_one,
       "principal directions of the active features the predictive covariance projects the "
       "kernel to the active set on (None: the exact covariance)", True),
    # long-range (LODE) features, sagpr.lode (issue 18); defaults: the best of bench/lode_lto.py on
    # LTO 7Li (a compact basis, so the potential's l = 2 block is close to the field gradient); width
    # and weight where the tuned searches of bench/lode_tuned.py end on LTO Li, Ti, O (bench/lode_defaults.py)
    _s("lode_cutoff", 1.5, "lode", _positive, "cutoff setting the widths of the LODE GTO basis (A)"),
    _s("lode_max_radial", 3, "lode", _int_at_least(1), "LODE radial basis functions", True),
    _s("lode_max_angular", 3, "lode", _int_at_least(0), "largest angular channel of the LODE expansion", True),
    _s("lode_atomic_gaussian_width", 0.3, "lode", _positive, "width of the Gaussians whose potential LODE expands (A)"),
    _s("lode_ewald_width", None, "lode", _optional(_positive),
       "Ewald splitting width >= lode_atomic_gaussian_width (None: twice it; equal: reciprocal space only)"),
    _s("lode_accuracy", 1e-8, "lode", _positive, "relative truncation of the LODE Ewald sums"),
    _s("lode_include_center", False, "lode", _bool, "keep the centre's own Gaussian in its LODE potential"),
    _s("lode_weight", 0.99, "lode", _fraction, "w of the kernel (1 - w) K_local + w K_LODE"),
    _s("lode_features", "potential", "lode", _choice("potential", "product"),
       "LODE features of a model: the potential's own lambda block (nu = 1, one scale per model) or rho x V"),
])

#: lambda-SOAP hyperparameters, in the order of sagpr.LambdaSOAP's keywords
DESCRIPTOR: Tuple[str, ...] = tuple(n for n, s in SETTINGS.items() if s.part == "descriptor")
#: kernel and solver hyperparameters
GPR: Tuple[str, ...] = tuple(n for n, s in SETTINGS.items() if s.part == "gpr")
#: long-range (LODE) feature hyperparameters (sagpr.lode)
LODE: Tuple[str, ...] = tuple(n for n, s in SETTINGS.items() if s.part == "lode")

#: Named sets of fixed values the workflows start from (explicit choices, not defaults: anything a
#: preset leaves out takes the default above, in cross-validation and in the saved model alike).
PRESETS: Dict[str, Dict[str, object]] = {
    # the study-sized comparison: smaller descriptors and active sets than a production model
    "compare": {"max_radial": 6, "max_angular": 4, "zeta": 2, "n_sparse": 500},
    # a small, fast setting for trying the workflow (and for CI)
    "quick": {"max_radial": 4, "max_angular": 3, "zeta": 2, "n_sparse": 200},
}


# --------------------------------------------------------------------------------- functions
def _setting(name) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise ValueError(f"unknown hyperparameter {name!r}; descriptor: {', '.join(DESCRIPTOR)}; "
                         f"GPR: {', '.join(GPR)}; LODE: {', '.join(LODE)}") from None


def default(name):
    """The default value of hyperparameter `name`."""
    return _setting(name).default


def defaults(part: str) -> Dict[str, object]:
    """{name: default} of every hyperparameter of `part` ("descriptor", "gpr" or "model")."""
    if part not in ("descriptor", "gpr", "model", "lode"):
        raise ValueError(f"part must be 'descriptor', 'gpr', 'model' or 'lode', got {part!r}")
    return {n: s.default for n, s in SETTINGS.items() if s.part == part}


def is_integer(name) -> bool:
    """Whether `name` takes integer values (for parsing and for rounding search points)."""
    return _setting(name).integer


def check(name, value):
    """Raise ValueError naming `name` unless `value` is allowed."""
    _setting(name).check(value)


def check_all(params: Mapping[str, object]):
    """Check every value of `params` and the rules that tie two of them together."""
    for name, value in params.items():
        check(name, value)
    if "cutoff" in params and "cutoff_smooth_width" in params and params["cutoff_smooth_width"] > params["cutoff"]:
        raise ValueError(f"cutoff_smooth_width must be between 0 and cutoff ({params['cutoff']!r}), "
                         f"got {params['cutoff_smooth_width']!r}")
    lam, lmax = params.get("o3_lambda"), params.get("max_angular")
    if lam is not None and lmax is not None and lam > 2 * lmax:
        raise ValueError(f"o3_lambda={lam} needs max_angular >= {(lam + 1) // 2} to have any feature")
    width, ewald = params.get("lode_atomic_gaussian_width"), params.get("lode_ewald_width")
    if width is not None and ewald is not None and ewald < width:
        raise ValueError(f"lode_ewald_width must be at least lode_atomic_gaussian_width ({width!r}), got {ewald!r}")
    if params.get("prediction") == "contracted" and params.get("zeta") not in (None, 1, 2):
        raise ValueError(f"prediction='contracted' needs zeta 1 or 2, got zeta={params['zeta']}")


def _as_integer(name, value):
    """Search points are real numbers: integer hyperparameters are rounded to the nearest integer."""
    if value is None or isinstance(value, bool) or not is_integer(name) or not isinstance(value, numbers.Real):
        return value
    return int(round(value))


def split(params: Mapping[str, object]) -> Tuple[Dict[str, object], Dict[str, object]]:
    """(descriptor, GPR) settings of a parameter set, every missing name at its default.

    Integer hyperparameters given as reals (a search point) are rounded; unknown names and
    model-part names (o3_lambda, center_species) are errors. LODE names (lode_*) are checked
    here and returned by :func:`lode_part`: a parameter set that names one describes a local +
    LODE model (sagpr.models.lode_tensor.LodeTensorModel).
    """
    unknown = [n for n in params if n not in SETTINGS or SETTINGS[n].part == "model"]
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)}; descriptor: {', '.join(DESCRIPTOR)}; "
                         f"GPR: {', '.join(GPR)}; LODE: {', '.join(LODE)}")
    values = {n: _as_integer(n, params.get(n, SETTINGS[n].default)) for n in DESCRIPTOR + GPR}
    check_all({**values, **_lode_values(params)})
    return {n: values[n] for n in DESCRIPTOR}, {n: values[n] for n in GPR}


def _lode_values(params: Mapping[str, object]) -> Dict[str, object]:
    if not any(n in params for n in LODE):
        return {}
    return {n: _as_integer(n, params.get(n, SETTINGS[n].default)) for n in LODE}


def lode_part(params: Mapping[str, object]):
    """The LODE settings {lode_*: value} of a parameter set (unset ones at their defaults, integers
    rounded, checked), or None when it names no lode_* hyperparameter: a local-only model.

        >>> lode_part({"cutoff": 4.0}) is None
        True
        >>> lode_part({"lode_weight": 0.5})["lode_max_radial"]
        3
    """
    values = _lode_values(params)
    if not values:
        return None
    check_all(values)
    return values


def parse(name: str, text: str):
    """A command-line value of `name`: int, float, None ("none"), True/False, or the text itself."""
    setting = _setting(name)
    text = text.strip()
    if text.lower() == "none":
        return None
    if text.lower() == "auto" and _accepts(setting, "auto"):
        return "auto"
    if isinstance(setting.default, bool) or setting.rule is _bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{name} must be true or false, got {text!r}")
        return text.lower() in ("true", "1", "yes")
    if setting.integer:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {text!r}") from None
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be an integer, got {text!r}")
        return int(value)
    try:
        return float(text)
    except ValueError:
        return text


def _accepts(setting, value) -> bool:
    try:
        setting.rule(setting.name, value)
    except ValueError:
        return False
    return True


def describe(names=None) -> str:
    """'name=default' for the given names (all descriptor and GPR names by default), for help texts."""
    names = DESCRIPTOR + GPR if names is None else names
    return " ".join(f"{n}={SETTINGS[n].default}" for n in names)
