"""TensorModel: per-atom Cartesian rank-2 tensors (EFG, shielding, ...) from SAGPR models of
their lambda = 0, 1, 2 spherical parts."""
from __future__ import annotations

import numpy as np

from sagpr import settings
from sagpr.frames import as_frame_list
from sagpr.distributed import distributed_predict

from . import _features
from ._per_species import PerSpeciesModel

#: relative size below which a spherical part of the training targets counts as absent
PART_THRESHOLD = 1e-8
#: relative tolerance of the symmetric / traceless checks on declared EFG targets (as
#: sagpr.tensors.check_efg); the small trace allowed is projected out before the fit
EFG_TOLERANCE = 1e-4

KINDS = ("auto", "efg", "symmetric", "general")


def _tensors():
    from sagpr import tensors

    return tensors


def check_efg_targets(y, frames, index, tolerance=EFG_TOLERANCE):
    """Raise ValueError naming the frame and atom of the first EFG that is not symmetric and traceless."""
    labels = [f"frame {f}: atom {a} ({frames[f].get_chemical_symbols()[a]})" for f, a in index]
    _tensors().check_efg(y, rtol=tolerance, atol=1e-10 * max(np.abs(y).max(initial=0.0), 1e-300), labels=labels)


def spherical_basis(o3_lambda):
    """(2 lambda + 1, 3, 3): the Cartesian tensor of each unit spherical component (sagpr.tensors'
    convention), so T = sum_m c_m B_m and Cov(T) = B^T C B."""
    d = 2 * o3_lambda + 1
    return _tensors().spherical_to_cartesian({o3_lambda: np.eye(d)})


def cartesian_covariance(blocks):
    """Per-site Cartesian covariances (n, 3, 3, 3, 3) of independent spherical parts with
    covariance blocks {lambda: (n, 2 lambda + 1, 2 lambda + 1)}: sum over lambda of B C B^T."""
    out = None
    for lam, cov in blocks.items():
        B = spherical_basis(lam)
        part = np.einsum("aij,nab,bkl->nijkl", B, np.asarray(cov, dtype=np.float64), B)
        out = part if out is None else out + part
    return out


class TensorModel(PerSpeciesModel):
    """Per-atom Cartesian rank-2 tensors: one SAGPR per spherical part and centre species.

    Parameters (keyword-only)
    -------------------------
    center_species : element(s) whose tensors are learned, one set of models each
        (None: every element of the training frames).
    target : name of the per-atom (N, 3, 3) array in atoms.arrays read by fit(frames)
        ("efg" by default; units from atoms.info["<target>_units"] when present).
    kind : "efg" (symmetric traceless, checked; lambda=2 only), "symmetric" (lambda 0 + 2),
        "general" (lambda 0 + 1 + 2) or "auto" ("efg" when target == "efg", otherwise the
        parts present in the training targets).
    Other keywords: as sagpr.SAGPR (descriptor and GPR hyperparameters).

    Fitted attributes: models_ ({atomic number: {lambda: SAGPR}}), o3_lambdas_, species_,
    center_species_, units_, timings_.
    """

    _param_names = ("center_species", "target", "kind") + settings.DESCRIPTOR + settings.GPR

    def __init__(self, *, center_species=None, target="efg", kind="auto",
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
        self.kind = kind
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
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {self.kind!r}")
        if self.target is not None and not isinstance(self.target, str):
            raise ValueError(f"target must be None or the name of a per-atom array, got {self.target!r}")
        if self.prediction == "contracted" and self.zeta not in (1, 2):
            raise ValueError(f"prediction='contracted' needs zeta 1 or 2, got zeta={self.zeta}")

    def _kind(self):
        if self.kind == "auto" and self.target == "efg":
            return "efg"
        return self.kind

    def fit(self, frames, y=None, active=None, *, client=None, block_size=512):
        """Fit on the centres of `frames`; y (n_centres, 3, 3) or None to read atoms.arrays[target].

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
        y = self._read_targets(frames, index, y, (3, 3))
        kind = self._kind()
        if kind == "efg":
            check_efg_targets(y, frames, index)
        parts = _tensors().cartesian_to_spherical(y)
        if kind == "efg":
            lambdas = [2]
        elif kind == "symmetric":
            lambdas = [0, 2]
        elif kind == "general":
            lambdas = [0, 1, 2]
        else:
            scale = max(np.abs(y).max(), 1e-300)
            lambdas = [lam for lam in (0, 1, 2) if np.abs(parts[lam]).max() > PART_THRESHOLD * scale]
            if not lambdas:
                lambdas = [2]
        if 1 in lambdas:
            import warnings

            warnings.warn("the antisymmetric (lambda=1) part of a rank-2 tensor is an axial vector, but "
                          "LambdaSOAP features are proper (l1 + l2 + lambda even): the lambda=1 model is "
                          "rotation-equivariant but cannot follow the part's sign under inversion", stacklevel=2)
        self.o3_lambdas_ = lambdas
        self._fit_parts(frames, index, {lam: np.asarray(parts[lam]).reshape(len(y), 2 * lam + 1) for lam in lambdas},
                        active, client=client, block_size=block_size)
        return self

    @classmethod
    def from_parts(cls, frames, parts, *, units=None, **params):
        """A TensorModel made of SAGPRs already fitted on centres of `frames` (for instance on a
        subset of their sites from precomputed features, then extended with
        SAGPR.partial_fit_features, as the comparison workflow does).

        parts: {atomic number: {lambda: (SAGPR, rows)}}, rows giving, for each of the SAGPR's
        training environments in order, its index among that species' centres of `frames`
        (frame then atom order). params: the TensorModel's keywords; every part must have been
        fitted with the same hyperparameters. units: those of the targets (units_).
        """
        model = cls(**params)
        model._adopt_parts(frames, parts, units)
        lambdas = sorted({int(lam) for by in parts.values() for lam in by})
        if model._kind() == "efg" and lambdas != [2]:
            raise ValueError(f"an EFG model has one lambda = 2 part per species, got lambdas {lambdas}")
        model.o3_lambdas_ = lambdas
        return model

    def predict(self, frames, *, return_std=False, return_cov=False, client=None, chunk_size=32):
        """Cartesian tensors (n_centres, 3, 3) of the model's centre species, frame then atom order.

        return_std: also the standard deviation of each Cartesian component (n, 3, 3).
        return_cov: also the covariance: True gives the per-site spherical blocks
        {lambda: (n, 2 lambda + 1, 2 lambda + 1)} (lambda = 2: the 5 x 5 EFG block), "cartesian"
        the per-site (n, 3, 3, 3, 3) Cartesian covariance Cov(T_ij, T_kl). Calibrated when the
        model is (see calibrate); the parts are independent models, so they add.
        With a Dask ``client`` the frames are predicted in chunks of ``chunk_size`` on the
        cluster (the model is sent once to every worker); results are identical.
        """
        if return_cov not in (False, True, "cartesian"):
            raise ValueError(f"return_cov must be False, True or 'cartesian', got {return_cov!r}")
        if client is not None:
            return distributed_predict(self, frames, client=client, chunk_size=chunk_size, return_std=return_std,
                                       return_cov=return_cov)
        if return_std or return_cov:
            means, covs = self._spherical_with_cov(frames)
            n = len(next(iter(means.values())))
            full = {lam: means.get(lam, np.zeros((n, 2 * lam + 1))) for lam in (0, 1, 2)}
            T = _tensors().spherical_to_cartesian(full)
            cart = cartesian_covariance(covs) if (return_std or return_cov == "cartesian") else None
            out = (T,)
            if return_std:
                out += (np.sqrt(np.maximum(np.einsum("nijij->nij", cart), 0.0)),)
            if return_cov:
                out += (cart if return_cov == "cartesian" else covs,)
            return out
        frames = as_frame_list(frames)
        index, parts = self._predict_parts(frames)
        tensors = _tensors()

        def combine(by_lambda):
            n = len(next(iter(by_lambda.values())))
            full = {lam: by_lambda.get(lam, np.zeros((n, 2 * lam + 1))) for lam in (0, 1, 2)}
            return tensors.spherical_to_cartesian(full)

        return self._scatter(frames, index, parts, (3, 3), combine)

    def predict_spherical(self, frames, *, return_cov=False):
        """{lambda: (n_centres, 2 lambda + 1)} spherical parts, frame then atom order;
        return_cov: also {lambda: (n_centres, 2 lambda + 1, 2 lambda + 1)} covariance blocks."""
        if return_cov:
            return self._spherical_with_cov(frames)
        frames = as_frame_list(frames)
        index, parts = self._predict_parts(frames)
        return {lam: self._scatter(frames, index, parts, (2 * lam + 1,), lambda b, lam=lam: b[lam])
                for lam in self.o3_lambdas_}

    def _calibration_targets(self, frames, index, y):
        units = getattr(self, "units_", None)
        try:
            y = self._read_targets(frames, index, y, (3, 3))
        finally:
            self.units_ = units  # reading targets records their units: keep the model's
        return _tensors().cartesian_to_spherical(y)

    def training_spread(self):
        """{(atomic number, lambda): RMS deviation per component of the training targets}."""
        self._check_fitted()
        return {(z, lam): getattr(m, "y_spread_", None) for z, parts in self.models_.items() for lam, m in parts.items()}

    def _extra_state(self):
        return {"o3_lambdas_": list(self.o3_lambdas_)}

    def _set_extra_state(self, extra):
        self.o3_lambdas_ = [int(v) for v in extra["o3_lambdas_"]]
