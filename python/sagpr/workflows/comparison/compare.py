"""The scalar-vs-tensorial comparison (Harper et al., J. Mater. Chem. A 2025) for one nucleus.

1. Seeded 4:1 train/test split of the sites (optionally by structure).
2. Every model tuned by a Box-Behnken search scored by k-fold CV inside the training set:
   the lambda = 2 EFG model on the metric objective (or MAE(V_ij)), and five lambda = 0 models,
   C~Q, eta~, theta, phi and omega_Q, each on its own MAE.
3. Final fits on the whole training set, scored on the test set (sagpr.workflows.comparison.evaluation).
4. Learning curves: the tuned models refitted on nested random subsets of the training set.

Every finished fit is cached under `<out>/cache`, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from sagpr import settings as hyperparameters

from ..cache import RunCache, write_json_atomic
from ..tuning.crossval import MODELS, CrossValidator, check_models, fingerprint, index_hash
from ..tuning.design import Factor, box_behnken, design_points
from .evaluation import score_scalar, score_tensorial
from ..tuning.features import FeatureStore
from ..tuning.fits import (extended_tensor_model, final_tensor_model, fit_predict_scalar, fit_tensor, predict_tensor,
                           tensor_from_sums)
from ..tuning.search import box_behnken_search, screened_search
from ..tuning.splits import subsample, train_test_split
from .targets import TARGETS, scalar_targets

DEFAULT_FACTORS = (
    Factor("cutoff", 3.5, 6.0),
    Factor("atomic_gaussian_width", 0.3, 0.6),
    Factor("regularizer", 1e-8, 1e-2, scale="log"),
)
#: searched besides DEFAULT_FACTORS when LODE is switched on (sagpr compare/optimize/train --lode);
#: on LTO 7Li the tuned values sit near 0.99 and 0.3 A (bench/lode_tuned.py, docs/lode.md)
DEFAULT_LODE_FACTORS = (
    Factor("lode_weight", 0.7, 0.99),
    Factor("lode_atomic_gaussian_width", 0.3, 0.8),
)
#: the comparison's fixed hyperparameters (a preset: anything it leaves out takes its sagpr.settings default)
DEFAULT_FIXED = hyperparameters.PRESETS["compare"]
DEFAULT_TRAIN_FRACTIONS = (0.1, 0.2, 0.4, 0.7, 1.0)


@dataclass
class CompareSettings:
    """Settings of a comparison run (see sagpr compare --help)."""

    factors: Sequence[Factor] = DEFAULT_FACTORS
    fixed: Dict[str, object] = field(default_factory=lambda: dict(DEFAULT_FIXED))
    n_folds: int = 5
    test_fraction: float = 0.2
    seed: int = 0
    by_structure: bool = True  # honest default; False is the study's random split of sites
    sign_convention: str = "signed"  # or "positive": the study's V_ZZ > 0 (sagpr.nmr.with_sign_convention)
    shared_active_set: bool = True  # CV folds share one active set (see fold_fits)
    tensor_objective: str = "metric"
    train_sizes: Sequence[float] = DEFAULT_TRAIN_FRACTIONS  # fractions (<= 1) or counts (> 1) of the training set
    degeneracy_tol: float = 0.05
    b0: Sequence[float] = (0.0, 0.0, 1.0)
    resolution_khz: float = 10.0
    models: Sequence[str] = MODELS
    # n_features of the CV fits during the searches (None: all features); the final models and
    # learning curves always use every feature: a cheaper kernel for the search.
    search_n_features: Optional[int] = None
    # at most this many training sites (whole structures with by_structure) in the searches' CV, a
    # seeded subset; None: all. The final models and learning curves always use the whole set.
    search_max_sites: Optional[int] = None
    # the tensor model's search screened first: its whole Box-Behnken search CV-scored on a seeded
    # subset of the search's training sites (a fraction <= 1 or a count > 1; whole structures with
    # by_structure), then only the runs within tensor_screen_tolerance (relative) of the screen's
    # best scored on all of them, the best of those picked (search.screened_search). None: every
    # run on all sites. The scalar models are always searched on all sites (lambda = 0 is cheap).
    tensor_screen: Optional[float] = None
    tensor_screen_tolerance: float = 0.05
    # also the tuned tensor model of every site (ComparisonResult.model): the final fit extended
    # by the test sites (fits.extended_tensor_model), what compare --save-model and reproduce save
    all_sites_model: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["factors"] = [vars(f) for f in self.factors]
        return d


@dataclass
class ComparisonResult:
    settings: CompareSettings
    sites_info: dict
    train: np.ndarray
    test: np.ndarray
    searches: Dict[str, dict]
    best_params: Dict[str, dict]
    stats: dict
    predictions: Dict[str, np.ndarray]
    tensorial: Optional[dict]
    scalar: Optional[dict]
    learning: List[dict]
    timings: Dict[str, float]
    n_fits: int
    model: Optional[object] = None  # the TensorModel of every site (settings.all_sites_model)


def training_sizes(n_train: int, sizes: Sequence[float]) -> List[int]:
    """Training-set sizes from fractions (<= 1) or counts (> 1), clipped, unique, ascending."""
    out = set()
    for s in sizes:
        n = int(round(s * n_train)) if s <= 1.0 else int(s)
        out.add(min(max(n, 2), n_train))
    return sorted(out)


def _n_unique_runs(n_factors: int) -> int:
    return len(np.unique(box_behnken(n_factors), axis=0)) + 1


class _FitCache:
    """Predictions of finished final / learning-curve fits, on disk (JSON) and counted."""

    def __init__(self, directory, base: dict):
        self.cache = RunCache(directory) if directory is not None else None
        self.base = base
        self.n_fits = 0

    def get_or_fit(self, key: dict, fit) -> np.ndarray:
        key = {**self.base, **key}
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return np.asarray(hit, dtype=float)
        value = np.asarray(fit(), dtype=float)
        self.n_fits += 1
        if self.cache is not None:
            self.cache.put(key, value.tolist())
        return value


def _learning_point(n, tensorial, scalar):
    return {"n_train": int(n), "tensorial": None if tensorial is None else tensorial["scores"],
            "scalar": None if scalar is None else scalar["scores"]}


def _progress_bar(progress, total, species):
    """(tick(n), close()) of an optional tqdm bar over the comparison's runs."""
    if not progress:
        return (lambda n=1: None), (lambda: None)
    from ...progress import progress_bar

    bar = progress_bar(total=total, desc=f"compare {species}", unit="run")
    return (lambda n=1: bar.update(n)), bar.close


def _run_searches(cv, models, factors, fixed, cache_root, out, tick, screen_cv=None, tolerance=0.05):
    """1. The searches: ({model: search record}, {model: best parameters}). All models are scored
    at every design point first (they share the features of a descriptor setting), then each
    model's search reuses those scores and verifies its own optimum. With screen_cv (a
    CrossValidator of the tensor model on fewer sites) the tensor search is screened on it first
    and only its near-best runs are scored on all sites (search.screened_search)."""
    searches, best = {}, {}
    screened = screen_cv is not None and "tensor" in models
    everywhere = [m for m in models if not (screened and m == "tensor")]
    points = list({json.dumps({**fixed, **p}, sort_keys=True): {**fixed, **p} for p in design_points(factors)}.values())
    # points with the same descriptor setting one after the other: each setting's features once
    # (and, for the tensor model's re-scored runs, each setting's CV kernel once)
    def descriptor(p):
        return tuple(float(v) for k, v in hyperparameters.split(p)[0].items() if k != "species")

    points.sort(key=descriptor)
    previous = None
    for point in points:
        setting = descriptor(point)
        if setting != previous:  # the systems of the last setting are not needed again (nor held: 0.2 GB a setting for O)
            cv.release()
            if screened:
                screen_cv.release()
            previous = setting
        if screened:
            screen_cv.scores(point)  # beside the scalar models: one descriptor pass per setting
            tick(1)
        if everywhere:
            cv.scores(point, everywhere)
        tick(len(everywhere))
    for model in models:
        if screened and model == "tensor":
            key = f"search_tensor_screen_{index_hash(screen_cv.train)}_{tolerance:g}"
            result = screened_search(factors, screen_cv.evaluate(model), cv.evaluate(model), tolerance=tolerance,
                                     fixed=fixed, cache_dir=None if cache_root is None else cache_root / key,
                                     between=screen_cv.release,  # the full-size systems need the memory
                                     order=descriptor)
        else:
            result = box_behnken_search(factors, cv.evaluate(model), fixed=fixed, progress=False,
                                        cache_dir=None if cache_root is None else cache_root / f"search_{model}")
        tick(1)  # the surface minimum
        searches[model] = result.to_dict()
        searches[model]["table"] = result.table()
        best[model] = {**fixed, **result.best["params"]}
        if out is not None:
            write_json_atomic(out / "search" / f"{model}.json", searches[model])
    return searches, best


def check_tensor_screen(screen, tolerance, *, names=("tensor_screen", "tensor_screen_tolerance")) -> None:
    """The one check of a screen (CompareSettings.tensor_screen) and its tolerance; `names` are
    what the messages call them (the command line passes its option names)."""
    if screen is not None and not screen > 0:
        raise ValueError(f"{names[0]} must be a fraction in (0, 1] or a count > 1, got {screen}")
    if not tolerance >= 0:
        raise ValueError(f"{names[1]} must be >= 0, got {tolerance}")


def _screen_size(screen: float, n: int) -> int:
    """Sites of a screen given as a fraction (<= 1) or a count (> 1) of n."""
    return max(1, int(round(screen * n)) if screen <= 1 else int(screen))


def run_comparison(sites, settings: Optional[CompareSettings] = None, *, out_dir=None,
                   progress: bool = True) -> ComparisonResult:
    """Run the whole comparison on `sites` (sagpr.workflows.sites.Sites); cache under out_dir/cache."""
    from sagpr import nmr

    settings = settings or CompareSettings()
    models = check_models(settings.models)
    factors = list(settings.factors)
    fixed = dict(settings.fixed)
    overlap = set(fixed) & {f.name for f in factors}
    if overlap:
        raise ValueError(f"hyperparameter(s) {sorted(overlap)} are both searched and fixed")
    out = Path(out_dir) if out_dir is not None else None
    cache_root = out / "cache" if out is not None else None
    t_start = time.perf_counter()
    timings: Dict[str, float] = {}

    groups = sites.groups if settings.by_structure else None
    train, test = train_test_split(len(sites), test_fraction=settings.test_fraction, seed=settings.seed, groups=groups)
    sizes = training_sizes(len(train), settings.train_sizes)
    store = FeatureStore(sites)

    n_search = len(models) * _n_unique_runs(len(factors))
    n_total = n_search + len(models) * (1 + len(sizes))
    tick, close_bar = _progress_bar(progress, n_total, sites.species)

    search_train = subsample(train, settings.search_max_sites, seed=settings.seed + 2, groups=groups)
    kept = len(search_train) if groups is None else len(np.unique(groups[search_train]))
    if kept < settings.n_folds:
        raise ValueError(f"search_max_sites={settings.search_max_sites} leaves {kept} "
                         f"{'sites' if groups is None else 'structures'} for {settings.n_folds} CV folds")
    cv = CrossValidator(sites, search_train, models=models, tensor_objective=settings.tensor_objective,
                        n_folds=settings.n_folds, seed=settings.seed, by_structure=settings.by_structure,
                        b0=settings.b0, store=store, cache_dir=None if cache_root is None else cache_root / "cv",
                        shared_active_set=settings.shared_active_set, sign_convention=settings.sign_convention,
                        search_params=({} if settings.search_n_features is None
                                       else {"n_features": int(settings.search_n_features)}))

    screen_cv = None
    check_tensor_screen(settings.tensor_screen, settings.tensor_screen_tolerance)
    if settings.tensor_screen is not None and "tensor" in models:
        screen_train = subsample(search_train, _screen_size(settings.tensor_screen, len(search_train)),
                                 seed=settings.seed + 3, groups=groups)
        kept = len(screen_train) if groups is None else len(np.unique(groups[screen_train]))
        if kept < settings.n_folds:
            raise ValueError(f"tensor_screen={settings.tensor_screen} leaves {kept} "
                             f"{'sites' if groups is None else 'structures'} for {settings.n_folds} CV folds")
        screen_cv = CrossValidator(sites, screen_train, models=["tensor"], tensor_objective=settings.tensor_objective,
                                   n_folds=settings.n_folds, seed=settings.seed, by_structure=settings.by_structure,
                                   b0=settings.b0, store=store, cache_dir=None if cache_root is None else cache_root / "cv",
                                   shared_active_set=settings.shared_active_set,
                                   sign_convention=settings.sign_convention, search_params=cv.search_params,
                                   keep_full_fits=False)

    t0 = time.perf_counter()
    searches, best = _run_searches(cv, models, factors, fixed, cache_root, out, tick, screen_cv,
                                   settings.tensor_screen_tolerance)
    timings["search"] = time.perf_counter() - t0
    cv.release()  # the final fits need the memory, not the CV kernels
    if screen_cv is not None:
        screen_cv.release()

    # 2. final fits and 3. learning curves, each fit cached with its predictions
    stats = nmr.reference_stats(sites.V[train], sites.units)
    convention = settings.sign_convention
    t_train = scalar_targets(nmr.with_sign_convention(sites.V[train], convention), sites.isotope, stats,
                             b0=settings.b0, units=sites.units)
    fits = _FitCache(None if cache_root is None else cache_root / "fits",
                     {"data": fingerprint(sites), "b0": list(settings.b0), "test": index_hash(test),
                      **({"sign_convention": convention} if convention != "signed" else {})})
    perm = np.random.default_rng(settings.seed + 1).permutation(len(train))

    final_tensor = {}  # the tensor SAGPR of the whole training set, once made

    def final_tensor_fit():
        """The tensor SAGPR of the whole training set (also when its test predictions come from
        the cache: the all-sites model is made from it), from the sums the search's CV of the
        setting left when it did, so the final fit makes no pass over the data of its own."""
        if "model" not in final_tensor:
            sums = cv.full_fit("tensor", best["tensor"]) if np.array_equal(cv.train, train) else None
            final_tensor["model"] = (fit_tensor(store, best["tensor"], train, sites.V[train]) if sums is None
                                     else tensor_from_sums(store, best["tensor"], train, sums))
        return final_tensor["model"]

    def fit_model(model, subset):
        tr = train[subset]
        key = {"model": model, "params": best[model], "train": index_hash(tr)}
        if model == "tensor":
            def fit():
                sagpr = final_tensor_fit() if len(subset) == len(train) else fit_tensor(store, best[model], tr,
                                                                                        sites.V[tr])
                return predict_tensor(store, sagpr, best[model], tr, test)

            value = fits.get_or_fit(key, fit)
        else:
            y = t_train[model][subset]
            value = fits.get_or_fit(key, lambda: fit_predict_scalar(store, best[model], tr, test, y))
        tick(1)
        return value

    def score(predictions):
        # the tensor model learns the signed tensor; the convention applies to what is scored
        kw = dict(units=sites.units, b0=settings.b0, degeneracy_tol=settings.degeneracy_tol)
        V_test = nmr.with_sign_convention(sites.V[test], convention)
        tens = (score_tensorial(V_test, nmr.with_sign_convention(predictions["tensor"], convention), sites.isotope,
                                stats, **kw) if "tensor" in predictions else None)
        scal_pred = {m: predictions[m] for m in TARGETS if m in predictions}
        scal = score_scalar(V_test, scal_pred, sites.isotope, stats, **kw) if scal_pred else None
        return tens, scal

    # one model after the other, its final fit then its learning-curve fits: they share the
    # features of the model's tuned descriptor, which the store then computes once (for 30,000 O
    # sites they do not fit in it twice)
    full = np.arange(len(train))
    subsets = {n: np.sort(perm[:n]) for n in sizes if n != len(train)}
    predictions, curves = {}, {n: {} for n in subsets}
    t_final = t_learning = 0.0
    all_sites_model = None
    for m in models:
        t0 = time.perf_counter()
        predictions[m] = fit_model(m, full)
        t1 = time.perf_counter()
        for n, subset in subsets.items():
            curves[n][m] = fit_model(m, subset)
        t_final, t_learning = t_final + t1 - t0, t_learning + time.perf_counter() - t1
        if m == "tensor" and settings.all_sites_model:  # while the store holds the model's features
            t0 = time.perf_counter()
            all_sites_model = _all_sites_model(sites, store, best[m], train, test, final_tensor_fit(), progress)
            timings["all-sites model"] = time.perf_counter() - t0
    tensorial, scalar = score(predictions)
    timings["final"] = t_final

    # learning curves: stats stay those of the whole training set so every size is scored alike
    t0 = time.perf_counter()
    learning = []
    for n in sizes:
        if n == len(train):
            tick(len(models))
        learning.append(_learning_point(n, *score(curves.get(n, predictions))))
    timings["learning"] = t_learning + time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    close_bar()

    info = {"species": sites.species, "isotope": sites.isotope, "units": sites.units, "n_sites": len(sites),
            "n_frames": len(sites.frames), "source": sites.source, "fingerprint": fingerprint(sites)}
    return ComparisonResult(settings, info, train, test, searches, best, stats.to_dict(), predictions,
                            tensorial, scalar, learning, timings,
                            cv.n_fits + fits.n_fits + (0 if screen_cv is None else screen_cv.n_fits), all_sites_model)


def _all_sites_model(sites, store, params, train, test, final, progress):
    """The tuned TensorModel of every site: the final fit `final` (refitted when its predictions
    came from the cache, so a resumed run saves the same model) extended by the test sites; a
    fresh fit on all sites when that route does not apply (fits.extended_tensor_model)."""
    model = extended_tensor_model(sites, store, final, params, train, test)
    if model is None:
        model = final_tensor_model(sites.frames, sites.species, params, V=sites.V, units=sites.units, progress=progress)
    return model
