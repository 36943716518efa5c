"""k-fold cross-validation of the tensorial and scalar models inside a training set.

CrossValidator.evaluate(model) is the `evaluate(params) -> per-fold scores` that
sagpr.workflows.tuning.search.box_behnken_search minimises. scores(params) fits all models on every
fold at once (they share the features of a descriptor setting); results are kept in memory and,
with cache_dir, on disk, so a repeated or resumed search refits nothing.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..cache import RunCache
from .features import FeatureStore
from .fits import fit_predict_scalar, fit_predict_tensor
from .fold_fits import FoldFitter
from .objectives import TENSOR_OBJECTIVES, scalar_objective, tensor_objective
from .splits import k_fold
from ..comparison.targets import TARGETS, scalar_targets

#: model names: the lambda = 2 EFG model and one lambda = 0 model per scalar target
MODELS = ("tensor",) + TARGETS


def fingerprint(sites) -> str:
    """A short hash of the sites' EFGs and structures (cache keys must change with the data)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(sites.V).tobytes())
    h.update(np.asarray(sites.index, dtype=np.int64).tobytes())
    for atoms in sites.frames:
        h.update(np.ascontiguousarray(atoms.positions).tobytes())
        h.update(np.ascontiguousarray(atoms.numbers).tobytes())
        h.update(np.ascontiguousarray(atoms.cell.array).tobytes())
    h.update(f"{sites.species}|{sites.isotope}|{sites.units}".encode())
    return h.hexdigest()[:24]


def index_hash(idx) -> str:
    return hashlib.sha256(np.asarray(idx, dtype=np.int64).tobytes()).hexdigest()[:16]


def check_models(models: Sequence[str]) -> List[str]:
    models = list(models)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise ValueError(f"models must be among {MODELS}, got {models}")
    return models


class CrossValidator:
    """k-fold CV of `models` on the training sites `train` of `sites`.

    models: "tensor" (scored by `tensor_objective`, "metric" or "vij") and/or scalar targets
    ("cq_tilde", "eta_tilde", "theta", "phi", "omega_q"), each scored by its own MAE.
    by_structure: folds hold whole structures. Per fold, the |Vzz| statistics come from the
    fold's training part. n_fits counts the models actually fitted (not taken from a cache).
    shared_active_set: one active set for all folds, chosen on the whole training set, so the
    folds, the scalar models and the regularizer values share one kernel (fold_fits; several
    times faster); False fits every fold separately (its own active set). Sparse GPR only: a
    full GPR (n_sparse >= the fold's sites) is always fitted per fold.
    search_params: hyperparameters added to every CV fit but not searched or reported, e.g.
    {"n_features": 400}: the search scores models on selected features (a cheaper kernel), the
    final models use the features whole.
    Parameter sets naming lode_* settings are scored as local + LODE models (FeatureStore.pair).
    """

    def __init__(self, sites, train, *, models: Sequence[str] = MODELS, tensor_objective: str = "metric",
                 n_folds: int = 5, seed: int = 0, by_structure: bool = True, b0=(0.0, 0.0, 1.0),
                 store: Optional[FeatureStore] = None, cache_dir=None, shared_active_set: bool = True,
                 sign_convention: str = "signed", search_params: Optional[dict] = None, keep_full_fits: bool = True):
        if tensor_objective not in TENSOR_OBJECTIVES:
            raise ValueError(f"tensor_objective must be one of {TENSOR_OBJECTIVES}, got {tensor_objective!r}")
        self.sites = sites
        self.train = np.asarray(train, dtype=int)
        self.models = check_models(models)
        self.tensor_objective = tensor_objective
        self.n_folds = int(n_folds)
        self.seed = int(seed)
        self.by_structure = bool(by_structure)
        self.b0 = tuple(float(v) for v in b0)
        from sagpr import nmr

        nmr.with_sign_convention(np.zeros((0, 3, 3)), sign_convention)  # checks the name
        self.sign_convention = sign_convention
        self.store = store if store is not None else FeatureStore(sites)
        self.cache = RunCache(cache_dir) if cache_dir is not None else None
        groups = sites.groups[self.train] if self.by_structure else None
        self.folds = [(self.train[a], self.train[b])
                      for a, b in k_fold(len(self.train), n_folds=self.n_folds, seed=self.seed, groups=groups)]
        self._fold_data = None
        self.shared_active_set = bool(shared_active_set)
        # keep_full_fits: keep the whole-set sums a final fit can be made from (full_fit); a
        # screen's validator, whose training set no final fit has, need not
        self.fitter = (FoldFitter(self.store, self.train, self.folds, keep_full_fits=keep_full_fits)
                       if self.shared_active_set else None)
        self._memo: Dict[str, Dict[str, List[float]]] = {}
        self._best_full = None  # (mean CV score, setting, whole-set sums) of the tensor model's best
        self._key_base = {"data": fingerprint(sites), "train": index_hash(self.train), "folds": self.n_folds,
                          "seed": self.seed, "by_structure": self.by_structure, "b0": list(self.b0),
                          "active_set": "shared" if self.shared_active_set else "per fold",
                          **({"sign_convention": sign_convention} if sign_convention != "signed" else {})}
        self.search_params = dict(search_params or {})
        if self.search_params:
            from sagpr import settings as hyperparameters

            hyperparameters.check_all(self.search_params)
            self._key_base["search_params"] = self.search_params
        self.n_fits = 0

    def _prepare(self):
        """Per fold: training statistics and the scalar targets of both parts."""
        if self._fold_data is None:
            from sagpr import nmr

            s = self.sites
            V = nmr.with_sign_convention(s.V, self.sign_convention)  # what the scalar models learn
            self._fold_data = []
            for tr, va in self.folds:
                stats = nmr.reference_stats(s.V[tr], s.units)
                self._fold_data.append({
                    "stats": stats,
                    "train": scalar_targets(V[tr], s.isotope, stats, b0=self.b0, units=s.units),
                    "val": scalar_targets(V[va], s.isotope, stats, b0=self.b0, units=s.units),
                })
        return self._fold_data

    def _key(self, model: str, params: dict) -> dict:
        objective = self.tensor_objective if model == "tensor" else model
        return {**self._key_base, "model": model, "objective": objective, "params": params}

    def _fit_model(self, model: str, params: dict) -> List[float]:
        params = {**params, **self.search_params}
        s = self.sites
        folds = self._prepare()
        shared = None
        if self.fitter is not None:
            from sagpr.tensors import l2_to_symmetric_traceless, symmetric_traceless_to_l2

            if model == "tensor":
                shared = self.fitter.predict(2, params, [symmetric_traceless_to_l2(s.V[tr]) for tr, _ in self.folds])
                if shared is not None:
                    shared = [l2_to_symmetric_traceless(p) for p in shared]
            else:
                shared = self.fitter.predict(0, params, [data["train"][model][:, None] for data in folds])
                if shared is not None:
                    shared = [p[:, 0] for p in shared]
        scores = []
        for k, ((tr, va), data) in enumerate(zip(self.folds, folds)):
            if model == "tensor":
                V_pred = shared[k] if shared is not None else fit_predict_tensor(self.store, params, tr, va, s.V[tr])
                score = tensor_objective(s.V[va], V_pred, s.isotope, data["stats"], kind=self.tensor_objective,
                                         units=s.units, b0=self.b0, sign_convention=self.sign_convention)
            else:
                pred = shared[k] if shared is not None else fit_predict_scalar(self.store, params, tr, va,
                                                                               data["train"][model])
                score = scalar_objective(model, data["val"][model], pred)
            self.n_fits += 1
            scores.append(float(score))
        if shared is not None and model == "tensor":
            # the whole-set sums of the best-scoring setting so far outlive the fitter's newest few:
            # the final fit of the search's pick is then made from them
            sums = self.fitter.full_fit(2, params)
            if sums is not None and (self._best_full is None or np.mean(scores) < self._best_full[0]):
                self._best_full = (float(np.mean(scores)), self.fitter.setting_key(2, params), sums)
        return scores

    def scores(self, params: dict, models: Optional[Sequence[str]] = None) -> Dict[str, List[float]]:
        """Per-fold scores of `models` (default: all of this validator's) at `params` (cached)."""
        models = self.models if models is None else list(models)
        params = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
        memo_key = repr(sorted(params.items()))
        out = self._memo.setdefault(memo_key, {})
        for model in models:
            if model not in self.models:
                raise ValueError(f"model {model!r} is not among this validator's models {self.models}")
            if model in out:
                continue
            key = self._key(model, params)
            cached = self.cache.get(key) if self.cache else None
            if cached is None:
                cached = self._fit_model(model, params)
                if self.cache:
                    self.cache.put(key, cached)
            out[model] = [float(v) for v in cached]
        return {m: out[m] for m in models}

    def release(self):
        """Free the shared fold systems (scores stay memoised; later CV fits rebuild what they need)."""
        if self.fitter is not None:
            self.fitter.release()

    def full_fit(self, model: str, params: dict) -> Optional[dict]:
        """The sums of `model` fitted on the whole CV training set at `params` when a CV run of
        that setting left them (fold_fits.FoldFitter.full_fit: the tensor model, whose targets do
        not depend on the fold), else None; never with search_params (the final fit differs)."""
        if self.fitter is None or self.search_params or model != "tensor":
            return None
        params = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
        kept = self.fitter.full_fit(2, params)
        if kept is None and self._best_full is not None and self._best_full[1] == self.fitter.setting_key(2, params):
            kept = self._best_full[2]
        return kept

    def evaluate(self, model: str) -> Callable[[dict], List[float]]:
        """evaluate(params) -> per-fold scores of `model`, for box_behnken_search."""
        if model not in self.models:
            raise ValueError(f"model {model!r} is not among this validator's models {self.models}")
        return lambda params: self.scores(params, [model])[model]


def out_of_fold_tensors(sites, params: dict, *, n_folds: int = 5, seed: int = 0, by_structure: bool = True,
                        store: Optional[FeatureStore] = None) -> np.ndarray:
    """EFGs (n, 3, 3) of every site predicted by a model fitted on the other folds: the honest
    estimate of a model's accuracy on new structures that `sagpr train` prints (folds hold whole
    structures unless `by_structure=False`)."""
    store = store if store is not None else FeatureStore(sites)
    groups = sites.groups if by_structure else None
    if by_structure and len(np.unique(groups)) < n_folds:
        raise ValueError(f"{len(np.unique(groups))} structures cannot be split into {n_folds} folds by structure; "
                         f"give fewer folds")
    V = np.zeros((len(sites), 3, 3))
    for train, test in k_fold(len(sites), n_folds=n_folds, seed=seed, groups=groups):
        V[test] = fit_predict_tensor(store, params, train, test, sites.V[train])
    return V
