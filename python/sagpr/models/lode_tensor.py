"""LodeTensorModel: TensorModel on local lambda-SOAP + long-range (LODE) multi-scale features.

Features are concatenated, not kernels summed inside the model: each lambda's normalised local
features and rho x V features (sagpr.lode.MultiScaleLambdaSOAP) are joined with weights
sqrt(1 - w), sqrt(w) (sagpr.lode.combine), so every kernel the SAGPRs build is the weighted sum
(1 - w) K_local + w K_LODE (also inside the zeta - 1 power of the lambda = 0 factor). FPS,
feature selection, both prediction routes and the model file then work unchanged; the LODE
hyperparameters (sagpr.settings part "lode") are saved with the others.
"""
from __future__ import annotations

from sagpr import settings

from .tensor import TensorModel


class LodeTensorModel(TensorModel):
    """TensorModel with long-range features. Keywords: those of TensorModel, plus lode_cutoff,
    lode_max_radial, lode_max_angular, lode_atomic_gaussian_width, lode_ewald_width,
    lode_accuracy, lode_include_center and lode_weight (w of (1 - w) K_local + w K_LODE); see
    sagpr.settings. Distributed (Dask) fits are not supported yet."""

    _param_names = TensorModel._param_names + settings.LODE

    def __init__(self, *, lode_cutoff=settings.default("lode_cutoff"),
                 lode_max_radial=settings.default("lode_max_radial"),
                 lode_max_angular=settings.default("lode_max_angular"),
                 lode_atomic_gaussian_width=settings.default("lode_atomic_gaussian_width"),
                 lode_ewald_width=settings.default("lode_ewald_width"),
                 lode_accuracy=settings.default("lode_accuracy"),
                 lode_include_center=settings.default("lode_include_center"),
                 lode_weight=settings.default("lode_weight"), **kwargs):
        self.lode_cutoff = lode_cutoff
        self.lode_max_radial = lode_max_radial
        self.lode_max_angular = lode_max_angular
        self.lode_atomic_gaussian_width = lode_atomic_gaussian_width
        self.lode_ewald_width = lode_ewald_width
        self.lode_accuracy = lode_accuracy
        self.lode_include_center = lode_include_center
        self.lode_weight = lode_weight
        super().__init__(**kwargs)

    def fit(self, frames, y=None, active=None, *, client=None, block_size=512):
        if client is not None:
            raise ValueError("LodeTensorModel cannot fit on a Dask cluster yet: fit without client")
        return super().fit(frames, y, active, block_size=block_size)

    def predict(self, frames, *, client=None, chunk_size=32):
        if client is not None:
            raise ValueError("LodeTensorModel cannot predict on a Dask cluster yet: predict without client")
        return super().predict(frames)

    def _multiscale(self):
        from sagpr.lode import MultiScaleLambdaSOAP

        key = (tuple(self.species_),) + tuple(repr(getattr(self, n)) for n in settings.DESCRIPTOR + settings.LODE)
        cache = self.__dict__.setdefault("_multiscale_cache", {})
        if key not in cache:
            cache.clear()
            cache[key] = MultiScaleLambdaSOAP(
                cutoff=self.cutoff, max_radial=self.max_radial, max_angular=self.max_angular,
                atomic_gaussian_width=self.atomic_gaussian_width, cutoff_smooth_width=self.cutoff_smooth_width,
                center_atom_weight=self.center_atom_weight, lode_cutoff=self.lode_cutoff,
                lode_max_radial=self.lode_max_radial, lode_max_angular=self.lode_max_angular,
                lode_atomic_gaussian_width=self.lode_atomic_gaussian_width, lode_ewald_width=self.lode_ewald_width,
                lode_accuracy=self.lode_accuracy, lode_include_center=self.lode_include_center,
                species=self.species_)
        return cache[key]

    def _features(self, frames, z, lambdas):
        from sagpr.lode import combine

        local = super()._features(frames, z, lambdas)
        multi = self._multiscale().compute_many(frames, sorted(local), center_species=[z])
        return {lam: combine(local[lam], multi[lam], self.lode_weight) for lam in local}

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_multiscale_cache", None)
        return state
