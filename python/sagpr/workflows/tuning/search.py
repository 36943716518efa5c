"""Box-Behnken hyperparameter search: evaluate the design, fit the surface, verify its minimum."""
from __future__ import annotations

import json
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
                value = evaluate(full)
                scores = [float(v) for v in np.atleast_1d(value)]
                result = {"score": float(np.mean(scores)), "scores": scores}
                if not np.isfinite(result["score"]):
                    raise ValueError(f"the objective returned a non-finite score for {full}")
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
