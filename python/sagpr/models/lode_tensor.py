"""LodeTensorModel: TensorModel on local lambda-SOAP + long-range (LODE) features.

Features are concatenated, not kernels summed inside the model: each lambda's local features and
LODE features are joined with weights sqrt(1 - w), sqrt(w) (sagpr.lode.combine), so every
kernel the SAGPRs build is the weighted sum (1 - w) K_local + w K_LODE. FPS, feature selection,
both prediction routes and the model file then work unchanged; the LODE hyperparameters
(sagpr.settings part "lode") are saved with the others.

lode_features:
  "potential" (default): the lambda block of the LODE expansion itself, V^b_{n' lambda mu}
      (nu = 1), divided by one scale per (species, lambda) fixed at fit time (the root mean
      square norm over the training centres, saved in the model): the kernel stays linear in the
      potential, whose far field is exactly the multipole sum of an EFG. lambda = 0 features
      (the zeta - 1 factor and lambda = 0 targets) stay local.
  "product": the rho x V multi-scale features (sagpr.lode.MultiScaleLambdaSOAP), normalised per
      centre like lambda-SOAP, for every lambda including 0.
On the LTO set "potential" is the better of the two (bench/lode_lto.py, docs/lode.md).
"""
from __future__ import annotations

import numpy as np

from sagpr import settings

from .tensor import TensorModel


def lode_calculator(lode: dict, species, local: dict):
    """What computes the LODE part of a model's features: a sagpr.lode.LODE expansion
    ("potential") or MultiScaleLambdaSOAP ("product", which also takes the local descriptor
    settings `local`). lode: the lode_* settings (sagpr.settings.lode_part)."""
    from sagpr.lode import LODE, MultiScaleLambdaSOAP

    expansion = {n: lode[n] for n in ("lode_cutoff", "lode_max_radial", "lode_max_angular",
                                      "lode_atomic_gaussian_width", "lode_ewald_width", "lode_accuracy",
                                      "lode_include_center")}
    if lode["lode_features"] == "product":
        return MultiScaleLambdaSOAP(species=list(species), **local, **expansion)
    return LODE(species=list(species), **{k[len("lode_"):]: v for k, v in expansion.items()})


def potential_blocks(v: np.ndarray, lambdas, max_angular: int) -> dict:
    """{lambda: (n, 2 lambda + 1, n_species * max_radial)} blocks V^b_{n' lambda mu} of a LODE
    expansion v (n, n_species, max_radial, lm) for every lambda > 0 of `lambdas`."""
    lambdas = [int(lam) for lam in lambdas if lam > 0]
    if lambdas and max(lambdas) > max_angular:
        raise ValueError(f"lode_features='potential' needs lode_max_angular >= {max(lambdas)}, got {max_angular}")
    return {lam: v[..., lam * lam:(lam + 1) ** 2].reshape(len(v), -1, 2 * lam + 1).transpose(0, 2, 1)
            for lam in lambdas}


def potential_scale(block: np.ndarray) -> float:
    """The one scale of a potential block: the root mean square norm over the (training) centres."""
    return float(np.sqrt(np.mean(np.sum(block**2, axis=(1, 2))))) or 1.0


def with_lode(local: dict, lode: dict, params: dict, scales=None) -> dict:
    """{lambda: features} of a local + LODE model: local {lambda: lambda-SOAP} joined by
    sagpr.lode.combine (weight params["lode_weight"]) with `lode`: the potential blocks divided
    by `scales` {lambda: scale} ("potential"; lambda = 0 stays local) or the rho x V features of
    every lambda ("product"). The one rule of LodeTensorModel and the tuning workflows."""
    from sagpr.lode import combine

    w = params["lode_weight"]
    if params["lode_features"] == "product":
        return {lam: combine(local[lam], lode[lam], w) for lam in local}
    return {lam: local[lam] if lam == 0 else combine(local[lam], lode[lam] / scales[lam], w) for lam in local}


class LodeTensorModel(TensorModel):
    """TensorModel with long-range features. Keywords: those of TensorModel, plus lode_cutoff,
    lode_max_radial, lode_max_angular, lode_atomic_gaussian_width, lode_ewald_width,
    lode_accuracy, lode_include_center, lode_weight (w of (1 - w) K_local + w K_LODE) and
    lode_features; see sagpr.settings. Distributed (Dask) fits are not supported yet.

    Fitted attributes beyond TensorModel's: lode_scales_ ({atomic number: {lambda: scale}},
    lode_features="potential" only)."""

    _param_names = TensorModel._param_names + settings.LODE

    def __init__(self, *, lode_cutoff=settings.default("lode_cutoff"),
                 lode_max_radial=settings.default("lode_max_radial"),
                 lode_max_angular=settings.default("lode_max_angular"),
                 lode_atomic_gaussian_width=settings.default("lode_atomic_gaussian_width"),
                 lode_ewald_width=settings.default("lode_ewald_width"),
                 lode_accuracy=settings.default("lode_accuracy"),
                 lode_include_center=settings.default("lode_include_center"),
                 lode_weight=settings.default("lode_weight"),
                 lode_features=settings.default("lode_features"), **kwargs):
        self.lode_cutoff = lode_cutoff
        self.lode_max_radial = lode_max_radial
        self.lode_max_angular = lode_max_angular
        self.lode_atomic_gaussian_width = lode_atomic_gaussian_width
        self.lode_ewald_width = lode_ewald_width
        self.lode_accuracy = lode_accuracy
        self.lode_include_center = lode_include_center
        self.lode_weight = lode_weight
        self.lode_features = lode_features
        super().__init__(**kwargs)

    def fit(self, frames, y=None, active=None, *, client=None, block_size=512):
        if client is not None:
            raise ValueError("LodeTensorModel cannot fit on a Dask cluster yet: fit without client")
        self._fitting = True  # the potential scales are set from the training centres
        self.lode_scales_ = {}
        try:
            super().fit(frames, y, active, block_size=block_size)
        finally:
            self._fitting = False
        # LODE features depend on the whole structure: model files keep the active features
        # themselves, never local neighbourhoods to recompute them from (compact files)
        self.active_environments_ = {}
        return self

    def predict(self, frames, *, client=None, **kwargs):
        if client is not None:
            raise ValueError("LodeTensorModel cannot predict on a Dask cluster yet: predict without client")
        kwargs.pop("chunk_size", None)
        return super().predict(frames, **kwargs)

    def _lode_params(self):
        return {n: getattr(self, n) for n in settings.LODE}

    def _calculator(self):
        key = (tuple(self.species_),) + tuple(repr(getattr(self, n)) for n in settings.DESCRIPTOR + settings.LODE)
        cache = self.__dict__.setdefault("_lode_cache", {})
        if key not in cache:
            cache.clear()
            local = {n: getattr(self, n) for n in settings.DESCRIPTOR if n != "species"}
            cache[key] = lode_calculator(self._lode_params(), self.species_, local)
        return cache[key]

    def _features(self, frames, z, lambdas):
        local = super()._features(frames, z, lambdas)
        if self.lode_features == "product":
            multi = self._calculator().compute_many(frames, sorted(local), center_species=[z])
            return with_lode(local, multi, self._lode_params())
        blocks = potential_blocks(self._calculator().compute(frames, center_species=[z]), local, self.lode_max_angular)
        scales = self.lode_scales_.setdefault(int(z), {})
        if getattr(self, "_fitting", False):
            for lam, block in blocks.items():
                scales.setdefault(lam, potential_scale(block))
        return with_lode(local, blocks, self._lode_params(), scales)

    def _extra_state(self):
        extra = super()._extra_state()
        extra["lode_scales_"] = {str(z): {str(lam): s for lam, s in d.items()} for z, d in self.lode_scales_.items()}
        return extra

    def _set_extra_state(self, extra):
        super()._set_extra_state(extra)
        self.lode_scales_ = {int(z): {int(lam): float(s) for lam, s in d.items()}
                             for z, d in extra.get("lode_scales_", {}).items()}

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_lode_cache", None)
        return state
