"""Box-Behnken hyperparameter search: evaluate the design, fit the surface, verify its minimum."""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..cache import RunCache
from .design import Factor, ResponseSurface, box_behnken, decode_point


@dataclass
class SearchResult:
    factors: List[Factor]
    runs: List[dict] = field(default_factory=list)  # {"params", "score", "scores", "kind"}
    surface: Optional[ResponseSurface] = None
    best: Optional[dict] = None

    def table(self) -> str:
        """The runs as a markdown table, best run marked."""
        names = [f.name for f in self.factors]
        lines = ["| run | kind | " + " | ".join(names) + " | score |", "|---" * (len(names) + 3) + "|"]
        for i, run in enumerate(self.runs):
            mark = " **best**" if self.best is not None and run is self.best else ""
            values = " | ".join(f"{run['params'][n]:.6g}" for n in names)
            lines.append(f"| {i} | {run['kind']} | {values} | {run['score']:.6g}{mark} |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "factors": [vars(f) for f in self.factors],
            "runs": self.runs,
            "surface": None if self.surface is None else {
                "coefficients": self.surface.coefficients.tolist(), "r2": self.surface.r2},
            "best": self.best,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=float)


def _mean_score(value, params) -> dict:
    scores = [float(v) for v in np.atleast_1d(value)]
    result = {"score": float(np.mean(scores)), "scores": scores}
    if not np.isfinite(result["score"]):
        raise ValueError(f"the objective returned a non-finite score for {params}")
    return result


def box_behnken_search(
    factors: Sequence[Factor],
    evaluate: Callable[[Dict[str, float]], "float | Sequence[float]"],
    *,
    fixed: Optional[dict] = None,
    cache_dir=None,
    progress: bool = True,
) -> SearchResult:
    """Minimise `evaluate(params)` over `factors` by a Box-Behnken design and a quadratic surface.

    `evaluate` returns a score, or per-fold scores whose mean is the score. Identical design
    points (the replicated centre runs) are evaluated once. With `cache_dir` finished runs are
    stored on disk and reused when the search is run again. The surface minimum inside the
    bounds is evaluated as one more run, and the best measured run is returned as `best`.
    """
    factors = list(factors)
    fixed = dict(fixed or {})
    cache = RunCache(cache_dir) if cache_dir is not None else None
    memo: Dict[str, dict] = {}

    def run(params: dict, kind: str) -> dict:
        full = {**fixed, **params}
        key = json.dumps(full, sort_keys=True)
        if key not in memo:
            result = cache.get(full) if cache else None
            if result is None:
                result = _mean_score(evaluate(full), full)
                if cache:
                    cache.put(full, result)
            memo[key] = result
        return {"params": dict(params), "kind": kind, **memo[key]}

    coded = box_behnken(len(factors))
    result = SearchResult(factors)
    points = [decode_point(factors, row) for row in coded]
    from ...progress import progress_bar

    for params in progress_bar(points, enabled=progress, desc="Box-Behnken runs", unit="run"):
        result.runs.append(run(params, "design"))

    encoded = np.array([[f.encode(r["params"][f.name]) for f in factors] for r in result.runs])
    result.surface = ResponseSurface.fit(encoded, [r["score"] for r in result.runs])
    optimum = decode_point(factors, result.surface.minimum())
    result.runs.append(run(optimum, "surface minimum"))
    result.best = min(result.runs, key=lambda r: r["score"])
    return result


def screened_search(
    factors: Sequence[Factor],
    screen: Callable[[Dict[str, float]], "float | Sequence[float]"],
    evaluate: Callable[[Dict[str, float]], "float | Sequence[float]"],
    *,
    tolerance: float = 0.05,
    fixed: Optional[dict] = None,
    cache_dir=None,
    between: Optional[Callable[[], None]] = None,
    order: Optional[Callable[[dict], object]] = None,
) -> SearchResult:
    """A Box-Behnken search in two stages: the whole search (design and surface minimum) scored by
    the cheap `screen` (e.g. CV on a subset of the sites), then every distinct run whose screened
    score is within `tolerance` (relative) of the screen's best scored again by `evaluate`; `best`
    is the best of those; `between()` is called between the stages (e.g. to free the screen's
    memory); `order(params)` sorts the re-scored runs (e.g. runs sharing the features of a
    descriptor setting one after the other). Scores must be errors (>= 0). The runs list holds
    the screen's runs (kind "screen: ...") and the re-scored ones (kind "all sites: ..."); the
    surface is the screen's.

    Why: on the LTO EFGs a quarter of the sites ranks the tensor model's design points like all of
    them up to near-ties of a few per cent (measured, 7Li/47Ti/17O), and the near-ties are exactly
    what the re-scoring decides.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    fixed = dict(fixed or {})
    cache = RunCache(cache_dir) if cache_dir is not None else None
    first = box_behnken_search(factors, screen, fixed=fixed, progress=False,
                               cache_dir=None if cache_dir is None else Path(cache_dir) / "screen")
    if between is not None:
        between()
    result = SearchResult(list(factors), surface=first.surface)
    result.runs = [{**run, "kind": f"screen: {run['kind']}"} for run in first.runs]
    limit = first.best["score"] * (1.0 + tolerance)
    chosen = {}
    for run in first.runs:
        if run["score"] <= limit:
            chosen.setdefault(json.dumps(run["params"], sort_keys=True), run)
    chosen = list(chosen.values())
    if order is not None:
        chosen.sort(key=lambda run: order({**fixed, **run["params"]}))
    for run in chosen:
        full = {**fixed, **run["params"]}
        scored = cache.get(full) if cache else None
        if scored is None:
            scored = _mean_score(evaluate(full), full)
            if cache:
                cache.put(full, scored)
        result.runs.append({"params": dict(run["params"]), "kind": f"all sites: {run['kind']}", **scored,
                            "screen_score": run["score"]})
    result.best = min((r for r in result.runs if r["kind"].startswith("all sites")), key=lambda r: r["score"])
    return result
