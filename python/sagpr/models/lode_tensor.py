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

    def _calculator(self):
        from sagpr.lode import LODE, MultiScaleLambdaSOAP

        key = (tuple(self.species_),) + tuple(repr(getattr(self, n)) for n in settings.DESCRIPTOR + settings.LODE)
        cache = self.__dict__.setdefault("_lode_cache", {})
        if key not in cache:
            cache.clear()
            lode = dict(lode_cutoff=self.lode_cutoff, lode_max_radial=self.lode_max_radial,
                        lode_max_angular=self.lode_max_angular,
                        lode_atomic_gaussian_width=self.lode_atomic_gaussian_width,
                        lode_ewald_width=self.lode_ewald_width, lode_accuracy=self.lode_accuracy,
                        lode_include_center=self.lode_include_center)
            if self.lode_features == "product":
                cache[key] = MultiScaleLambdaSOAP(
                    cutoff=self.cutoff, max_radial=self.max_radial, max_angular=self.max_angular,
                    atomic_gaussian_width=self.atomic_gaussian_width, cutoff_smooth_width=self.cutoff_smooth_width,
                    center_atom_weight=self.center_atom_weight, species=self.species_, **lode)
            else:
                cache[key] = LODE(species=self.species_, **{k[len("lode_"):]: v for k, v in lode.items()})
        return cache[key]

    def _features(self, frames, z, lambdas):
        from sagpr.lode import combine

        local = super()._features(frames, z, lambdas)
        w = self.lode_weight
        if self.lode_features == "product":
            multi = self._calculator().compute_many(frames, sorted(local), center_species=[z])
            return {lam: combine(local[lam], multi[lam], w) for lam in local}
        top = max(local)
        if top > self.lode_max_angular:
            raise ValueError(f"lode_features='potential' needs lode_max_angular >= {top}, got {self.lode_max_angular}")
        v = self._calculator().compute(frames, center_species=[z])
        out = {0: local[0]}
        for lam in local:
            if lam == 0:
                continue
            block = v[..., lam * lam:(lam + 1) ** 2].reshape(len(v), -1, 2 * lam + 1).transpose(0, 2, 1)
            scales = self.lode_scales_.setdefault(int(z), {})
            if getattr(self, "_fitting", False) and lam not in scales:
                scales[lam] = float(np.sqrt(np.mean(np.sum(block**2, axis=(1, 2))))) or 1.0
            out[lam] = combine(local[lam], block / scales[lam], w)
        return out

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
