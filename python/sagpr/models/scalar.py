"""ScalarModel: a lambda = 0 SAGPR of any per-atom scalar (C_Q, eta, angles, ...)."""
from __future__ import annotations

import numpy as np

from sagpr import settings
from sagpr.frames import as_frame_list
from sagpr.distributed import distributed_predict

from . import _features
from ._per_species import PerSpeciesModel


class ScalarModel(PerSpeciesModel):
    """Per-atom scalar property: one lambda = 0 SAGPR (SOAP kernel ^ zeta) per centre species.

    The per-species training mean is subtracted before the fit and added back to the
    predictions (so far from the training data the prediction falls back to the mean).

    Parameters (keyword-only): center_species, target (name of a per-atom (N,) array in
    atoms.arrays, or None to always pass y), and the descriptor/GPR keywords of sagpr.SAGPR.
    Fitted attributes: models_ ({atomic number: {0: SAGPR}}), species_, center_species_,
    units_, timings_.
    """

    _param_names = ("center_species", "target") + settings.DESCRIPTOR + settings.GPR

    def __init__(self, *, center_species=None, target=None,
                 cutoff=settings.default("cutoff"), max_radial=settings.default("max_radial"),
                 max_angular=settings.default("max_angular"),
                 atomic_gaussian_width=settings.default("atomic_gaussian_width"),
                 cutoff_smooth_width=settings.default("cutoff_smooth_width"),
                 center_atom_weight=settings.default("center_atom_weight"), species=None,
                 zeta=settings.default("zeta"), regularizer=settings.default("regularizer"), n_sparse=settings.default("n_sparse"),
                 n_features=settings.default("n_features"), feature_selection=settings.default("feature_selection"),
                 jitter=settings.default("jitter"),
                 prediction=settings.default("prediction"), random_state=settings.default("random_state"),
                 progress=settings.default("progress"),
                 uncertainty_n_sparse=settings.default("uncertainty_n_sparse"),
                 uncertainty_projection=settings.default("uncertainty_projection")):
        self.center_species = center_species
        self.target = target
        self.cutoff = cutoff
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.atomic_gaussian_width = atomic_gaussian_width
        self.cutoff_smooth_width = cutoff_smooth_width
        self.center_atom_weight = center_atom_weight
        self.species = species
        self.zeta = zeta
        self.regularizer = regularizer
        self.n_sparse = n_sparse
        self.n_features = n_features
        self.feature_selection = feature_selection
        self.jitter = jitter
        self.prediction = prediction
        self.random_state = random_state
        self.progress = progress
        self.uncertainty_n_sparse = uncertainty_n_sparse
        self.uncertainty_projection = uncertainty_projection
        self._validate_params()

    def _extra_checks(self):
        if self.target is not None and not isinstance(self.target, str):
            raise ValueError(f"target must be None or the name of a per-atom array, got {self.target!r}")
        if self.prediction == "contracted" and self.zeta not in (1, 2):
            raise ValueError(f"prediction='contracted' needs zeta 1 or 2, got zeta={self.zeta}")

    def fit(self, frames, y=None, active=None, *, client=None, block_size=512):
        """Fit on the centres of `frames`; y (n_centres,) or None to read atoms.arrays[target].

        active: optional indices (or mask) of centres (frame then atom order) to use as the
        active set instead of farthest-point sampling.
        client: a Dask client: features and the sums of the normal equations are computed on
        the cluster, one task per block of ``block_size`` environments; serial and distributed
        fits with the same block_size give the same model (the same sums in the same order).
        """
        self._validate_params()
        frames = as_frame_list(frames)
        self.species_, self.center_species_ = self._setup(frames)
        index = _features.centre_indices(frames, self.center_species_)
        if y is not None:
            y = np.asarray(y, dtype=np.float64)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
        y = self._read_targets(frames, index, y, ())
        self._fit_parts(frames, index, {0: y[:, None]}, active, client=client, block_size=block_size)
        return self

    def predict(self, frames, *, return_std=False, return_cov=False, client=None, chunk_size=32):
        """Scalars (n_centres,) of the model's centre species, frame then atom order.

        return_std / return_cov: also the predictive standard deviation / variance of each site
        (n_centres,), calibrated when the model is (see calibrate).
        With a Dask ``client`` the frames are predicted in chunks of ``chunk_size`` on the
        cluster (the model is sent once to every worker); results are identical.
        """
        if client is not None:
            return distributed_predict(self, frames, client=client, chunk_size=chunk_size, return_std=return_std,
                                       return_cov=return_cov)
        if return_std or return_cov:
            means, covs = self._spherical_with_cov(frames)
            var = covs[0][:, 0, 0]
            out = (means[0][:, 0],)
            if return_std:
                out += (np.sqrt(np.maximum(var, 0.0)),)
            if return_cov:
                out += (var,)
            return out
        frames = as_frame_list(frames)
        index, parts = self._predict_parts(frames)
        return self._scatter(frames, index, parts, (), lambda b: b[0][:, 0])

    def _calibration_targets(self, frames, index, y):
        units = getattr(self, "units_", None)
        if y is not None:
            y = np.asarray(y, dtype=np.float64)
            y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        try:
            y = self._read_targets(frames, index, y, ())
        finally:
            self.units_ = units
        return {0: y[:, None]}

    def score(self, frames, y):
        """Coefficient of determination R^2."""
        y = np.asarray(y, dtype=np.float64).ravel()
        pred = self.predict(frames)
        return 1.0 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
