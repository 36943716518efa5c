"""SAGPR: symmetry-adapted GPR of the 2 lambda + 1 spherical components of a per-centre property."""
from __future__ import annotations

import time

import numpy as np

from sagpr.frames import as_frame_list
from sagpr.distributed import distributed_predict

from . import _features, calibration, gpr, solver, sources
from sagpr import settings

from ._estimator import Estimator, center_numbers


#: "auto" prediction avoids contracted weights larger than this many entries (1 GiB of float64)
CONTRACTED_MAX_ENTRIES = 2 ** 27
#: the smallest prefix uncertainty_n_sparse="auto" gives (a model whose mean is very cheap, zeta 1
#: for instance, still gets covariances spread over this many farthest-point-ordered points)
AUTO_MIN_COVARIANCE_SIZE = 50
#: principal directions of the lambda = 0 active features the projected covariance keeps
#: (uncertainty_projection): 3 ranked the held-out errors of LTO Li best of 1-10 (docs/uncertainty.md)
PROJECTION_RANK0 = 3


def _user_active_set(active, n):
    """A user-given active set as sorted unique indices into n training environments."""
    active = np.asarray(active)
    if active.dtype == bool:
        if active.shape != (n,):
            raise ValueError(f"an active-set mask must have one entry per training environment ({n}), got {active.shape}")
        active = np.flatnonzero(active)
    if active.ndim != 1 or active.size == 0 or not np.issubdtype(active.dtype, np.integer):
        raise ValueError("active must be a non-empty 1-d array of training-environment indices or a boolean mask")
    if active.min() < -n or active.max() >= n:
        raise ValueError(f"active-set index out of range for {n} training environments")
    active = np.unique(np.where(active < 0, active + n, active))
    return active


class SAGPR(Estimator):
    """Sparse symmetry-adapted GPR on lambda-SOAP kernels for one o3_lambda.

    K_{mu nu}(i, j) = (x^lambda_{i mu} . x^lambda_{j nu}) (x^0_i . x^0_j)^(zeta - 1) on normalised
    lambda-SOAP features; weights on n_sparse active environments chosen by farthest-point
    sampling on x^0 (subset of regressors), or a full GPR when n_sparse is None.

    Parameters (keyword-only)
    -------------------------
    o3_lambda : int, the angular order of the target (0: scalar, 2: symmetric traceless tensor).
    cutoff, max_radial, max_angular, atomic_gaussian_width, cutoff_smooth_width,
    center_atom_weight, species : lambda-SOAP hyperparameters (see sagpr.LambdaSOAP);
        species=None takes the elements of the training frames.
    center_species : element(s) whose environments are modelled (None: every atom);
        can also be given to fit.
    zeta : integer kernel exponent >= 1.
    regularizer : sigma^2 in (K_MN K_NM + sigma^2 K_MM) w = K_MN y (full GPR: K + sigma^2 I).
    n_sparse : number of active environments (None, or at least the number of training
        environments: full GPR on all of them).
    n_features : keep this many lambda and lambda=0 features, then renormalise (None: keep all).
    feature_selection : "fps" (farthest-point sampling over feature columns, as TENSOAP) or
        "pca" (projection on the leading uncentred principal directions of the features).
    jitter : "auto" (diagonal shift grown from zero only as needed; the value used is jitter_)
        or a fixed shift >= 0.
    prediction : "kernel" (K_*M w), "contracted" (zeta 1 or 2: weights contracted with the
        active set once, then a small contraction per site; same result to round-off) or
        "auto" (the cheaper of the two by flop count, unless the contracted weights would
        exceed 1 GiB). Contracting costs 2 M F F0 flops once per model (cached).
    random_state : seed of the first FPS pick (and feature-selection sub-sample).
    progress : show tqdm progress bars on long steps.
    uncertainty_n_sparse : predictive covariances of a sparse model from the first n active
        points only (farthest-point order): the exact DTC covariance of the sparse GP on that
        prefix, read from the leading blocks of the stored factors (kernel cost n / M, solves
        (n / M)^2; the mean is unchanged). None, n >= M or a full GPR: all active points.
        "auto": the largest prefix whose covariance costs no more flops than the mean prediction
        (75 of 1000 points for an LTO EFG model at the default settings, ~870 for a scalar one),
        at least 50: calibrated intervals at under twice the cost of predict, but sigma then
        hardly ranks the errors (docs/uncertainty.md), which is why None is the default.

    uncertainty_projection : predictive covariances of a sparse model whose kernel to the
        active set is taken in the span of the first r principal directions of the active
        lambda features (PROJECTION_RANK0 of the lambda = 0 ones): k** - phi^T B phi with phi
        the site's projected features and B the DTC posterior of the stored factors pushed onto
        them, once per model (see _projection). The variance outside the span counts as
        unexplained prior, so it still tends to k** far from the data. Costs O(r d F) per site
        instead of the kernel to all M points; None: the exact covariance.

    Fitted attributes: species_, center_species_, active_features_ (M, 2 lambda + 1, F),
    active_features0_ (M, F0), weights_ (M, 2 lambda + 1), active_indices_, feature_indices_ and
    feature_indices0_ (kept columns, or (F, n_features) projections with "pca"), n_features_in_ ((F, F0) before selection), y_mean_, jitter_, solver_,
    timings_.
    """

    _param_names = ("o3_lambda",) + settings.DESCRIPTOR + ("center_species",) + settings.GPR

    def __init__(
        self,
        *,
        o3_lambda,
        cutoff=settings.default("cutoff"),
        max_radial=settings.default("max_radial"),
        max_angular=settings.default("max_angular"),
        atomic_gaussian_width=settings.default("atomic_gaussian_width"),
        cutoff_smooth_width=settings.default("cutoff_smooth_width"),
        center_atom_weight=settings.default("center_atom_weight"),
        species=None,
        center_species=None,
        zeta=settings.default("zeta"),
        regularizer=settings.default("regularizer"),
        n_sparse=settings.default("n_sparse"),
        n_features=settings.default("n_features"),
        feature_selection=settings.default("feature_selection"),
        jitter=settings.default("jitter"),
        prediction=settings.default("prediction"),
        random_state=settings.default("random_state"),
        progress=settings.default("progress"),
        uncertainty_n_sparse=settings.default("uncertainty_n_sparse"),
        uncertainty_projection=settings.default("uncertainty_projection"),
    ):
        self.o3_lambda = o3_lambda
        self.cutoff = cutoff
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.atomic_gaussian_width = atomic_gaussian_width
        self.cutoff_smooth_width = cutoff_smooth_width
        self.center_atom_weight = center_atom_weight
        self.species = species
        self.center_species = center_species
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

    # ---------------------------------------------------------------- frames
    def compute_features(self, frames, center_species=None):
        """(x^lambda, x^0) of the centres: (n, 2 lambda + 1, F) and (n, F0), before feature selection."""
        frames = as_frame_list(frames)
        species = self._species_for(frames)
        centers = center_numbers(center_species) if center_species is not None else self._centers()
        if centers is None:
            centers = _features.frame_species(frames)
        params = self.get_params()
        return _features.feature_pair(self, params, self.o3_lambda, species, frames, centers, self.progress)

    def _species_for(self, frames):
        if hasattr(self, "species_"):
            _features.check_species(frames, self.species_)
            return self.species_
        if self.species is not None:
            from sagpr.frames import species_numbers

            species = species_numbers(self.species)
            _features.check_species(frames, species)
            return species
        return _features.frame_species(frames)

    def _centers(self):
        if hasattr(self, "center_species_"):
            return self.center_species_
        return center_numbers(self.center_species)

    def fit(self, frames, y, center_species=None, active=None, *, client=None, block_size=sources.BLOCK_SIZE):
        """Fit on the centre environments of `frames` (frame then atom order); y: (n_centres, 2 lambda + 1).

        active: optional indices (or mask) of centres to use as the active set instead of FPS.
        client: a Dask client: features and the partial sums of the normal equations are
        computed on the cluster, one task per block of ``block_size`` environments (the client
        holds only the lambda=0 features and the (M (2 lambda + 1))^2 system).
        block_size: environments per block of the normal-equation sum; serial and distributed
        fits with the same block_size add the same numbers in the same order (see sagpr.models.sources).
        """
        self._validate_params()
        frames = as_frame_list(frames)
        for name in ("species_", "center_species_"):
            if hasattr(self, name):
                delattr(self, name)
        centers = center_numbers(center_species if center_species is not None else self.center_species)
        if centers is None:
            centers = _features.frame_species(frames)
        index = _features.require_centres(frames, centers)
        y = self._check_targets(y, len(index))
        species = self._species_for(frames)
        start = time.perf_counter()
        if client is not None:
            params = self.get_params()
            self.n_features_in_ = sources.feature_sizes(params, self.o3_lambda, species)
            source = sources.cluster_source(client, params, self.o3_lambda, species, centers, frames, y,
                                             block_size=block_size)
            self._fit_source(source, y, active)
        else:
            x, x0 = self.compute_features(frames, centers)
            features_time = time.perf_counter() - start
            self.fit_features(x, x0, y, active=active, block_size=block_size)
            self.timings_["features"] = features_time
        self.species_ = list(species)
        self.center_species_ = list(centers)
        return self

    def predict(self, frames, *, return_std=False, return_cov=False, client=None, chunk_size=32):
        """Spherical components (n_centres, 2 lambda + 1) of the centres of `frames`.

        return_std / return_cov: also the predictive standard deviations (n, 2 lambda + 1) /
        covariance blocks (n, 2 lambda + 1, 2 lambda + 1), calibrated when the model is (see
        calibrate). With a Dask ``client`` the frames are predicted in chunks of ``chunk_size``
        on the cluster (the model is sent once to every worker); results are identical.
        """
        if client is not None:
            return distributed_predict(self, frames, client=client, chunk_size=chunk_size, return_std=return_std,
                                       return_cov=return_cov)
        self._check_fitted()
        frames = as_frame_list(frames)
        x, x0 = self.compute_features(frames)
        return self.predict_features(x, x0, return_std=return_std, return_cov=return_cov)

    def score(self, frames, y):
        """Coefficient of determination R^2 over all components."""
        y = self._check_targets(y, None)
        pred = self.predict(frames)
        if pred.shape != y.shape:
            raise ValueError(f"y has shape {y.shape}, the frames have {pred.shape[0]} centres")
        return 1.0 - ((pred - y) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum()

    def _check_targets(self, y, n):
        d = 2 * self.o3_lambda + 1
        y = np.asarray(y, dtype=np.float64)
        if self.o3_lambda == 0 and y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != d or (n is not None and y.shape[0] != n):
            want = f"({n if n is not None else 'n_centres'}, {d})"
            raise ValueError(f"y must have shape {want} for o3_lambda={self.o3_lambda}, got {y.shape}")
        bad = np.flatnonzero(~np.isfinite(y).all(axis=1))
        if bad.size:
            raise ValueError(f"y has NaN or infinite values, first at centre {bad[0]}")
        return y

    # -------------------------------------------------------------- features
    def fit_features(self, x, x0, y, active=None, *, block_size=sources.BLOCK_SIZE):
        """Fit on precomputed features x (n, 2 lambda + 1, F), x0 (n, F0) (None for lambda=0: x[:, 0]).

        active: optional indices (or boolean mask) of the training environments to use as the
        active set instead of farthest-point sampling (n_sparse is then ignored).
        """
        self._validate_params()
        if x0 is None:
            x0 = np.asarray(x)[:, 0, :]
        x, x0 = gpr.as_features(x, x0, "training features")
        d = 2 * self.o3_lambda + 1
        if x.shape[1] != d:
            raise ValueError(f"features have {x.shape[1]} components, o3_lambda={self.o3_lambda} needs {d}")
        y = self._check_targets(y, len(x))
        self.n_features_in_ = (x.shape[2], x0.shape[1])
        return self._fit_source(sources.ArraySource(x, x0, y, block_size=block_size), y, active)

    def select_features(self, source):
        """(selection, lambda=0 selection) from samples of the source's environments, or (None, None)
        without n_features (see sources.select_features)."""
        return sources.select_features(source, self.o3_lambda, self.n_features, self.feature_selection,
                                        self.random_state)

    def _fit_source(self, source, y, active=None):
        """The fit proper, as passes over the training environments of `source` (see sagpr.models.sources)."""
        d = 2 * self.o3_lambda + 1
        self.n_train_ = source.n
        timings = {}
        start = time.perf_counter()
        self.y_mean_ = y.mean(axis=0) if self.o3_lambda == 0 else np.zeros(d)

        self.feature_indices_, self.feature_indices0_ = self.select_features(source)
        source.set_transform(self.o3_lambda, self.feature_indices_, self.feature_indices0_)
        timings["feature_selection"] = time.perf_counter() - start

        # environments whose lambda features vanish by symmetry carry no information (zero
        # kernel rows) and would make K_MM singular: never use them as active points
        start = time.perf_counter()
        parts = source.map(sources.x0_and_mask, None)
        x0 = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        candidates = np.flatnonzero(np.concatenate([p[1] for p in parts]))
        del parts
        if candidates.size == 0:
            raise ValueError("every training environment has zero lambda features (symmetry): nothing to learn")
        if active is not None:
            active = _user_active_set(active, source.n)
            zero = np.setdiff1d(active, candidates)
            if zero.size:
                raise ValueError(f"active environment {zero[0]} has zero lambda features (symmetry) and cannot be active")
            self.solver_ = "sparse"
        elif self.n_sparse is None or self.n_sparse >= len(candidates):
            # every environment active: the full GPR is the same model, better conditioned
            # (K + s I rather than K^2 + s K) and cheaper; force the sparse solver with `active`
            active = candidates
            self.solver_ = "full"
        else:
            active = gpr.select_active(x0, self.n_sparse, self.random_state, candidates)
            self.solver_ = "sparse"
        a0 = np.ascontiguousarray(x0[active])
        del x0
        order = np.argsort(active, kind="stable")  # FPS order; chunks deliver rows in index order
        rows = np.concatenate(source.map(sources.take_active, active[order]))
        a = np.empty_like(rows)
        a[order] = rows
        del rows
        timings["active_selection"] = time.perf_counter() - start
        from tqdm.auto import tqdm

        start = time.perf_counter()
        if self.solver_ == "full":
            system = solver.full_solver(gpr.kernel_symmetric(a, a0, self.zeta), y[active] - self.y_mean_,
                                        y_mean=self.y_mean_, jitter=self.jitter)
        else:
            with tqdm(total=source.n, desc="kernel accumulation", unit="env", disable=not self.progress,
                      delay=2.0) as bar:
                ktk, kty = source.sum(sources.normal_equations, (a, a0, int(self.zeta), self.y_mean_), progress=bar)
            timings["kernel_accumulation"] = time.perf_counter() - start
            start = time.perf_counter()
            system = solver.sparse_solver(ktk, kty, gpr.kernel_symmetric(a, a0, self.zeta), y_mean=self.y_mean_,
                                          jitter=self.jitter)
            del ktk
        self.active_indices_ = active
        self.active_features_ = a
        self.active_features0_ = a0
        self._solve(system)
        self.y_spread_ = float(np.sqrt(np.mean((y - self.y_mean_) ** 2)))
        timings["solve"] = time.perf_counter() - start
        self.timings_ = timings
        return self

    def _solve(self, system):
        """Weights, factors and right-hand side of the model from its solver (consumed)."""
        # the right-hand side K_MN (y - mean) is kept (M d numbers): partial_fit_features adds to it
        self.rhs_ = system.rhs.copy() if self.solver_ == "sparse" else None
        # the system is formed and factorised in the sums' own memory: peak two (M d)^2 matrices
        self.weights_ = system.solve(self.regularizer, overwrite=True).reshape(self.active_features_.shape[:2])
        self.jitter_ = system.jitter_
        # kept for predictive covariances: the factor of the solved system and, for the sparse
        # model's Nystroem residual k** - Q**, the factor of K_MM (factorised in its own memory)
        self.variance_factor_ = system.factor_
        self.metric_factor_ = system.metric_factor(overwrite=True) if self.solver_ == "sparse" else None
        self.metric_jitter_ = getattr(system, "metric_jitter_", None)
        self.calibration_ = None
        self._projection_kept = None
        self._prepare_prediction()

    def fit_sums(self, gram, rhs, active_features, active_features0, *, n_train, y_spread, y_mean=None,
                 active_indices=None):
        """Fit from normal equations summed elsewhere, e.g. by cross-validation folds that share
        their kernel (sagpr.workflows.tuning.fold_fits): gram (M d, M d) K_MN K_NM (lower triangle
        read) and rhs (M d,) K_MN (y - y_mean) of n_train environments on the active environments
        with features active_features (M, d, F) and active_features0 (M, F0). y_spread: the RMS of
        y - y_mean; active_indices: the active environments among the n_train (for the record).
        The same model as fit_features on those environments with that active set, to rounding.
        No feature selection (n_features None): the features are taken as the model uses them."""
        self._validate_params()
        if self.n_features is not None:
            raise ValueError("fit_sums takes the features as the model uses them: n_features must be None")
        start = time.perf_counter()
        a, a0 = gpr.as_features(active_features, active_features0, "active features")
        d = 2 * self.o3_lambda + 1
        p = a.shape[0] * d
        if a.shape[1] != d:
            raise ValueError(f"active features have {a.shape[1]} components, o3_lambda={self.o3_lambda} needs {d}")
        gram = np.array(gram, dtype=np.float64, order="C")  # a copy: the solve works in its memory
        rhs = np.array(rhs, dtype=np.float64).ravel()
        if gram.shape != (p, p) or rhs.shape != (p,):
            raise ValueError(f"{a.shape[0]} active environments need a ({p}, {p}) gram and {p} right-hand-side "
                             f"values, got {gram.shape} and {rhs.shape}")
        self.n_features_in_ = (a.shape[2], a0.shape[1])
        self.feature_indices_ = self.feature_indices0_ = None
        self.n_train_ = int(n_train)
        self.y_mean_ = np.zeros(d) if y_mean is None else np.asarray(y_mean, dtype=np.float64).reshape(d)
        self.solver_ = "sparse"
        self.active_indices_ = np.arange(len(a)) if active_indices is None else np.asarray(active_indices, dtype=int)
        self.active_features_, self.active_features0_ = np.ascontiguousarray(a), np.ascontiguousarray(a0)
        self._solve(solver.sparse_solver(gram, rhs, gpr.kernel_symmetric(self.active_features_, self.active_features0_,
                                                                         self.zeta),
                                         y_mean=self.y_mean_, jitter=self.jitter))
        self.y_spread_ = float(y_spread)
        self.timings_ = {"solve": time.perf_counter() - start}
        return self

    def partial_fit_features(self, x, x0, y, *, block_size=sources.BLOCK_SIZE):
        """Extend a fitted sparse model by more training environments (features as fit_features).

        Their K_MN K_NM and K_MN (y - mean) are added to the model's normal equations and the
        system is solved again: the result is, to rounding, the sparse GPR of both sets on the
        same active set. The active set, the feature selection and the target mean (lambda = 0)
        stay those of the first fit; a calibration is dropped (it was fitted for the old model).
        The sums are recovered from the kept factor, L L^T - sigma^2 K_MM - shift I, so the
        model keeps no (M d)^2 matrix beyond those it already holds."""
        self._check_fitted()
        if self.solver_ != "sparse":
            raise ValueError("partial_fit_features extends a sparse model; this one is a full GPR (every training "
                             "environment active)")
        if getattr(self, "rhs_", None) is None or getattr(self, "variance_factor_", None) is None:
            raise ValueError("this model was saved before sagpr kept its normal equations: refit it to extend it")
        start = time.perf_counter()
        x, x0 = self._matching_features(x, x0, "training features")
        d = self.active_features_.shape[1]
        y = self._check_targets(y, len(x))
        source = sources.ArraySource(x, x0, y, block_size=block_size)
        source.set_transform(self.o3_lambda, self.feature_indices_, self.feature_indices0_)
        a, a0 = self.active_features_, self.active_features0_
        ktk, kty = source.sum(sources.normal_equations, (a, a0, int(self.zeta), self.y_mean_))
        kmm = gpr.kernel_symmetric(a, a0, self.zeta)
        factor = np.tril(self.variance_factor_)
        gram = factor @ factor.T  # the system last solved: K_MN K_NM + sigma^2 K_MM + shift I
        gram -= self.regularizer * kmm
        gram[np.diag_indices_from(gram)] -= self.jitter_
        gram += ktk  # only lower triangles are read
        del ktk, factor
        system = solver.sparse_solver(gram, self.rhs_ + kty, kmm, y_mean=self.y_mean_, jitter=self.jitter)
        n_old = self.n_train_
        self._solve(system)
        self.n_train_ = n_old + len(y)
        if self.y_spread_ is not None:  # the RMS of y - mean over both sets
            squares = self.y_spread_ ** 2 * n_old * d + float(np.sum((y - self.y_mean_) ** 2))
            self.y_spread_ = float(np.sqrt(squares / (self.n_train_ * d)))
        self.timings_ = {"partial_fit": time.perf_counter() - start}
        return self

    def _transform(self, x, x0):
        return gpr.transform(x, x0, self.o3_lambda, self.feature_indices_, self.feature_indices0_)

    def prediction_method(self):
        """'kernel' or 'contracted': the route predict_features takes."""
        if self.prediction != "auto":
            return self.prediction
        a = self.active_features_
        kernel_cost, contracted_cost = gpr.prediction_costs(a.shape[1], a.shape[2], self.active_features0_.shape[1],
                                                             len(a), self.zeta)
        too_big = a.shape[2] * self.active_features0_.shape[1] > CONTRACTED_MAX_ENTRIES
        return "contracted" if contracted_cost is not None and contracted_cost < kernel_cost and not too_big else "kernel"

    def contracted_weights(self):
        """The weights contracted with the active set (zeta 1: (F, 1); zeta 2: (F, F0))."""
        self._check_fitted()
        return self._contraction()

    def _contraction(self):
        # computed once when fitted or loaded with a contracted route, so predict changes nothing
        if self._contracted is not None:
            return self._contracted
        return gpr.contract(self.active_features_, self.active_features0_, self.weights_, self.zeta)

    def _prepare_prediction(self):
        self._contracted = None
        if self.prediction_method() == "contracted":
            self._contracted = gpr.contract(self.active_features_, self.active_features0_, self.weights_, self.zeta)

    def _matching_features(self, x, x0, name):
        """(x, x0) as float64 arrays, checked against the fitted model's feature shapes."""
        if x0 is None:
            x0 = np.asarray(x)[:, 0, :]
        x, x0 = gpr.as_features(x, x0, name)
        d = self.active_features_.shape[1]
        if x.shape[1] != d or (x.shape[2], x0.shape[1]) != tuple(self.n_features_in_):
            raise ValueError(f"features of shape {x.shape[1:]} and lambda=0 features {x0.shape[1]} do not match "
                             f"the model's ({d}, {self.n_features_in_[0]}) and {self.n_features_in_[1]}")
        return x, x0

    def _prediction_features(self, x, x0):
        self._check_fitted()
        return self._transform(*self._matching_features(x, x0, "prediction features"))

    def predict_features(self, x, x0, method=None, *, return_std=False, return_cov=False, calibrated=True):
        """Predictions (n, 2 lambda + 1) from precomputed features (before feature selection).

        return_cov: also the predictive covariance blocks (n, 2 lambda + 1, 2 lambda + 1);
        return_std: also their square-rooted diagonals (n, 2 lambda + 1) (see covariance_features;
        calibrated=False gives the raw GPR covariance even when the model is calibrated).
        """
        x, x0 = self._prediction_features(x, x0)
        y = self._predict_transformed(x, x0, method)
        if not (return_std or return_cov):
            return y
        cov = self._covariance_transformed(x, x0, calibrated)
        out = (y,)
        if return_std:
            out += (np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)),)
        if return_cov:
            out += (cov,)
        return out

    # ----------------------------------------------------------- uncertainty
    def has_variance(self) -> bool:
        """True when the model can give predictive covariances (files written before they were
        stored hold no factor for sparse models)."""
        return getattr(self, "variance_factor_", None) is not None or self._factors_rebuildable()

    def _factors_rebuildable(self) -> bool:
        return self.solver_ == "full" or getattr(self, "metric_jitter_", None) is not None

    def _rebuild_factors(self):
        """The factors a compact file leaves out, rebuilt exactly from the active features on the
        first request for a covariance (predictions never need them; the rebuild costs a K_MM)."""
        if getattr(self, "variance_factor_", None) is None and self.solver_ == "full":
            self.variance_factor_ = self._rebuild_full_factor()
        if (getattr(self, "metric_factor_", None) is None and self.solver_ == "sparse"
                and getattr(self, "metric_jitter_", None) is not None):
            self.metric_factor_ = solver.factor_metric(gpr.kernel_symmetric(self.active_features_, self.active_features0_,
                                                                            self.zeta), self.metric_jitter_)[0]

    def _require_variance(self):
        self._check_fitted()
        self._rebuild_factors()
        if getattr(self, "variance_factor_", None) is None:
            raise ValueError("this model was saved before sagpr stored predictive variances: refit it "
                             "(sagpr train) to get uncertainties")

    def _rebuild_full_factor(self):
        """The full GPR's factor of K_NN + sigma^2 I (+ the recorded jitter) from the model itself
        (files written before the factor was stored)."""
        a, a0 = self.active_features_, self.active_features0_
        system = solver.full_solver(gpr.kernel_symmetric(a, a0, self.zeta), np.zeros(a.shape[0] * a.shape[1]),
                                    y_mean=self.y_mean_, jitter=float(self.jitter_))
        system.solve(self.regularizer, overwrite=True)
        return system.factor_

    def _prior_blocks(self, x, x0):
        """k(x_i, x_i): (n, d, d) blocks of each site with itself, (x_i x_i^T) (x0_i . x0_i)^(zeta - 1)."""
        k = np.einsum("imf,inf->imn", x, x)
        if self.zeta > 1:
            k *= (np.einsum("if,if->i", x0, x0) ** (self.zeta - 1))[:, None, None]
        return k

    def covariance_size(self) -> int:
        """The number of active points the predictive covariance uses: uncertainty_n_sparse capped
        at the active set, every active point when it is None or the model is a full GPR."""
        self._check_fitted()
        m = len(self.weights_)
        if self.solver_ == "full" or self.uncertainty_n_sparse is None:
            return m
        if self.uncertainty_n_sparse == "auto":
            return self._auto_covariance_size()
        return min(int(self.uncertainty_n_sparse), m)

    def _auto_covariance_size(self):
        """uncertainty_n_sparse="auto": the largest prefix whose covariance costs no more flops per
        site than the mean prediction by the model's route (so return_cov costs at most about twice
        predict), at least AUTO_MIN_COVARIANCE_SIZE points; every point when that costs no more."""
        a, a0 = self.active_features_, self.active_features0_
        m_all, d, f = a.shape
        kernel_cost, contracted_cost = gpr.prediction_costs(d, f, a0.shape[1], m_all, self.zeta)
        budget = contracted_cost if self.prediction_method() == "contracted" else kernel_cost
        sizes = np.arange(1, m_all + 1)
        affordable = sizes[gpr.covariance_cost(d, f, a0.shape[1], sizes) <= budget]
        return int(max(affordable[-1] if len(affordable) else 0, min(AUTO_MIN_COVARIANCE_SIZE, m_all)))

    def _covariance_model(self):
        """(variance factor, metric factor or None, active features, lambda=0 active features) of
        the covariance on the first covariance_size() active points.

        The unknowns are ordered active point by active point, so the first m points' system
        A_11 = K_mN K_Nm + s K_mm (+ the fit's jitter) is the leading (m d) x (m d) block of A,
        and the Cholesky factor of a leading block is the leading block of the factor: the
        stored factors give the exact DTC covariance of the sparse GP on that prefix (the
        active points are in farthest-point order, so a prefix is spread over the data) with
        no refit. All points: the stored arrays themselves (the exact route, unchanged)."""
        self._require_variance()
        m = self.covariance_size()
        if m == len(self.weights_):
            return self.variance_factor_, self.metric_factor_, self.active_features_, self.active_features0_
        p = m * self.active_features_.shape[1]
        # contiguous copies: (m d)^2 each, once per call (triangular solves would copy a strided view anyway)
        return (np.ascontiguousarray(self.variance_factor_[:p, :p]), np.ascontiguousarray(self.metric_factor_[:p, :p]),
                self.active_features_[:m], self.active_features0_[:m])

    def _whitened(self, x, x0, parts=None):
        """(L^-1 k_M*, L_MM^-1 k_M* or None, k_**): (P, n d), (P, n d), (n, d, d) of transformed
        features; parts: _covariance_model() (computed here when not given)."""
        factor, metric, a, a0 = self._covariance_model() if parts is None else parts
        n, d = x.shape[:2]
        k = gpr.kernel(x, x0, a, a0, self.zeta).reshape(n * d, -1).T
        v = solver.whiten(factor, k)
        u = None if metric is None else solver.whiten(metric, k)
        return v, u, self._prior_blocks(x, x0)

    def _covariance_transformed(self, x, x0, calibrated=True, chunk=256):
        """Predictive covariance blocks (n, d, d) of transformed features.

        Full GPR: k** - k*N (K_NN + s I)^-1 kN*. Sparse: the projected-process (DTC) covariance
        k** - Q** + s k*M (K_MN K_NM + s K_MM)^-1 kM*, Q** = k*M K_MM^-1 kM* (Quinonero-Candela and
        Rasmussen, JMLR 6, 1939 (2005), eqs. 20 and 22 in units of the prior amplitude): unlike
        the subset-of-regressors covariance it does not vanish far from the active set. With
        uncertainty_n_sparse, that of the first n active points (see _covariance_model).
        """
        n, d = x.shape[:2]
        cov = np.zeros((n, d, d))
        cal = self.current_calibration() if calibrated else None
        parts = self._covariance_model()
        projection = self._projection() if self._projected() else None
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            if projection is not None:
                cov[start:stop] = self._projected_blocks(x[start:stop], x0[start:stop], projection)
                continue
            v, u, kss = self._whitened(x[start:stop], x0[start:stop], parts)
            v = v.reshape(len(v), stop - start, d)
            if u is None:
                block = kss - np.einsum("pim,pin->imn", v, v)
                cov[start:stop] = 0.5 * (block + np.swapaxes(block, 1, 2))
            else:  # dtc_blocks symmetrises its result
                cov[start:stop] = solver.dtc_blocks(kss, u.reshape(len(u), stop - start, d), v, self.regularizer)
        if self.o3_lambda > 0:
            cov[~gpr.nonzero_environments(x)] = 0.0  # the prediction is exactly zero by symmetry
        if cal:
            cov = calibration.apply(cov, cal)
        return cov

    def _projected(self) -> bool:
        """True when predictive covariances take the projected route (uncertainty_projection set
        on a sparse model; a full GPR has no active-set metric and stays exact)."""
        return self.uncertainty_projection is not None and self.solver_ != "full"

    def _projected_features(self, x, x0, projection):
        """phi (n, d, D): the features whose dot products are the kernel of the projected
        features, (x P . y P) (x0 P0 . y0 P0)^(zeta - 1), D = r r0^(zeta - 1)."""
        p0, p = projection[:2]
        z = x @ p
        z0 = x0 @ p0
        for _ in range(int(self.zeta) - 1):
            z = np.einsum("na,nmb->nmab", z0, z).reshape(len(z), z.shape[1], -1)
        return z

    def _projection(self):
        """(P0, P, B) of the projected covariance, computed once per (uncertainty_projection,
        covariance size) from the stored state (no training data) and kept: P (F, r) and P0
        (F0, r0) are principal directions of the active lambda and lambda = 0 features (a
        seeded randomized range finder, Halko, Martinsson and Tropp, SIAM Rev. 53, 217 (2011)),
        and with Phi_M the active points' projected features, B = Phi_M^T (K_MM^-1 - s A^-1)
        Phi_M (A = K_MN K_NM + s K_MM): the DTC formula of _covariance_transformed with k*M
        replaced by its projected part phi^T Phi_M^T. Since K_MM >= Phi_M Phi_M^T, phi^T B phi
        <= |phi|^2 <= k**: the blocks stay positive semi-definite."""
        key = (int(self.uncertainty_projection), self.covariance_size())
        kept = getattr(self, "_projection_kept", None)
        if kept is not None and kept[0] == key:
            return kept[1]
        factor, metric, a, a0 = self._covariance_model()
        m, d, f = a.shape
        rng = np.random.default_rng(self.random_state if isinstance(self.random_state, (int, np.integer)) else 0)
        p = _principal_directions(a.reshape(m * d, f), min(key[0], m * d, f), rng)
        p0 = _principal_directions(a0, min(PROJECTION_RANK0, m, a0.shape[1]), rng)
        phi = self._projected_features(a, a0, (p0, p)).reshape(m * d, -1)
        u = solver.whiten(metric, phi)
        v = solver.whiten(factor, phi)
        b = u.T @ u - self.regularizer * (v.T @ v)
        projection = (p0, p, 0.5 * (b + b.T))
        self._projection_kept = (key, projection)  # a cache of derived data: predictions do not change
        return projection

    def _projected_blocks(self, x, x0, projection):
        """(n, d, d): k** - phi^T B phi (see _projection), symmetrised."""
        phi = self._projected_features(x, x0, projection)
        block = self._prior_blocks(x, x0) - np.einsum("nad,nbd->nab", phi @ projection[2], phi)
        return 0.5 * (block + np.swapaxes(block, 1, 2))

    def covariance_features(self, x, x0, *, calibrated=True):
        """Predictive covariance blocks (n, 2 lambda + 1, 2 lambda + 1) of precomputed features,
        raw (units of the kernel's prior amplitude) or calibrated when the model is."""
        x, x0 = self._prediction_features(x, x0)
        return self._covariance_transformed(x, x0, calibrated)

    def joint_covariance_features(self, x, x0, *, calibrated=True):
        """The joint predictive covariance (n d, n d) of all the sites of precomputed features
        (what active selection updates after each pick; same formulas as covariance_features)."""
        x, x0 = self._prediction_features(x, x0)
        n, d = x.shape[:2]
        cal = self.current_calibration() if calibrated else None
        kss = gpr.kernel(x, x0, x, x0, self.zeta).reshape(n * d, n * d)
        if self._projected():  # the route of covariance_features: the same blocks on the diagonal
            projection = self._projection()
            phi = self._projected_features(x, x0, projection).reshape(n * d, -1)
            cov = kss - phi @ projection[2] @ phi.T
        else:
            v, u, _ = self._whitened(x, x0)
            cov = kss - v.T @ v if u is None else kss - u.T @ u + self.regularizer * (v.T @ v)
        cov = 0.5 * (cov + cov.T)
        if self.o3_lambda > 0:
            zero = np.repeat(~gpr.nonzero_environments(x), d)
            cov[zero] = 0.0
            cov[:, zero] = 0.0
        if cal:
            blocks = np.einsum("iaib->iab", cov.reshape(n, d, n, d))
            f = np.sqrt(calibration.scale_factors(blocks, cal["scale"], cal.get("power", 1.0)))
            f = np.repeat(f, d)
            cov = cov * f[:, None] * f[None, :]
        return cov

    def calibrate(self, frames, y, groups=None, *, n_folds=5, power_law="auto", random_state=0):
        """Fit the scale (and, when it helps, a power law) of the predictive covariance on
        cross-validation residuals split by structure (as TensorModel.calibrate; y: the targets of
        the model's centres of `frames`, frame then atom order) and store it. Returns the dict."""
        self._check_fitted()
        frames = as_frame_list(frames)
        index = _features.centre_indices(frames, self.center_species_)
        y = self._check_targets(y, len(index))
        fold = calibration.structure_folds(len(frames), groups, n_folds, random_state)
        site_fold = np.array([fold[f] for f, _ in index])
        residuals, covs = [], []
        for k in range(int(fold.max()) + 1):
            model = SAGPR(**self.get_params())
            model.fit([a for a, f in zip(frames, fold) if f != k], y[site_fold != k], center_species=self.center_species_)
            mean, cov = model.predict([a for a, f in zip(frames, fold) if f == k], return_cov=True)
            residuals.append(y[site_fold == k] - mean)
            covs.append(cov)
        fitted = calibration.fit(np.concatenate(residuals), np.concatenate(covs), power_law=power_law)
        fitted["n_folds"] = int(fold.max()) + 1
        self.set_calibration(fitted)
        return self.calibration_

    def set_calibration(self, calibration_result):
        """Store a calibration (calibration.fit's dict, or None to go back to raw covariances) for
        the covariances the model gives now: it records covariance_size() as "covariance_size"
        (unless the dict names one), and current_calibration refuses it for another size."""
        self._check_fitted()
        self.calibration_ = None if calibration_result is None else dict(calibration_result)
        if self.calibration_ is not None:
            self.calibration_.setdefault("covariance_size", self.covariance_size())
            self.calibration_.setdefault("uncertainty_n_sparse", self.uncertainty_n_sparse)
            self.calibration_.setdefault("uncertainty_projection", self.uncertainty_projection if self._projected() else None)
        return self

    def current_calibration(self):
        """The calibration of the covariances the model gives now (None when uncalibrated).

        A calibration's scale belongs to the covariance it was fitted for: a prefix covariance
        (uncertainty_n_sparse) is larger than the exact one (fewer active points), so the scale
        of one would make the other's error bars wrong. ValueError when the calibration was
        fitted for another number of active points (calibrations saved before the prefix
        covariance existed belong to all of them)."""
        cal = getattr(self, "calibration_", None)
        if not cal:
            return None
        projected_for = cal.get("uncertainty_projection")  # calibrations saved before it: the exact route
        projected_now = self.uncertainty_projection if self._projected() else None
        if projected_for != projected_now:
            raise ValueError(f"the calibration was fitted for covariances with uncertainty_projection={projected_for}, "
                             f"but the model now uses uncertainty_projection={projected_now}: calibrate again or set it back")
        fitted_for = int(cal.get("covariance_size", len(self.weights_)))
        now = self.covariance_size()
        if fitted_for != now:
            raise ValueError(f"the calibration was fitted for covariances on {fitted_for} active points "
                             f"(uncertainty_n_sparse={cal.get('uncertainty_n_sparse')}), but uncertainty_n_sparse="
                             f"{self.uncertainty_n_sparse} uses {now}: calibrate again or set it back")
        return cal

    def _predict_transformed(self, x, x0, method=None):
        method = method or self.prediction_method()
        from tqdm.auto import tqdm

        if method == "contracted":
            y = gpr.predict_contracted(x, x0, self._contraction(), self.zeta)
        else:
            with tqdm(total=len(x), desc="prediction", unit="env", disable=not self.progress, delay=2.0) as bar:
                y = gpr.predict_kernel(x, x0, self.active_features_, self.active_features0_, self.weights_,
                                        self.zeta, progress=bar)
        # symmetry-zero environments: exactly zero lambda > 0 prediction (already so up to the
        # sign of zero; made explicit so no mean or round-off can creep in)
        if self.o3_lambda > 0:
            y[~gpr.nonzero_environments(x)] = 0.0
        y = y + self.y_mean_
        return y

    # ---------------------------------------------------------------- saving
    def save(self, path):
        """Write the fitted model to one versioned file (see sagpr.load)."""
        from ._persistence import save

        save(self, path)

    _ARRAYS = ("active_features_", "active_features0_", "weights_", "active_indices_", "y_mean_",
               "feature_indices_", "feature_indices0_", "rhs_")

    def _get_state(self, rebuildable: bool = True):
        """(meta, arrays) to save; rebuildable=False leaves out the factors that loading rebuilds
        exactly from the active features (the full GPR's, and K_MM's with its recorded jitter)."""
        self._check_fitted()
        arrays = {name: getattr(self, name) for name in self._ARRAYS if getattr(self, name) is not None}
        if getattr(self, "variance_factor_", None) is not None and (rebuildable or self.solver_ != "full"):
            arrays["variance_factor_"] = solver.pack_lower(self.variance_factor_)
        metric_jitter = getattr(self, "metric_jitter_", None)
        if getattr(self, "metric_factor_", None) is not None and (rebuildable or metric_jitter is None):
            arrays["metric_factor_"] = solver.pack_lower(self.metric_factor_)
        meta = {"calibration_": getattr(self, "calibration_", None), "y_spread_": getattr(self, "y_spread_", None),
                "metric_jitter_": getattr(self, "metric_jitter_", None),
                "species_": self.species_ if hasattr(self, "species_") else None,
                "center_species_": self.center_species_ if hasattr(self, "center_species_") else None,
                "jitter_": float(self.jitter_), "solver_": self.solver_, "n_train_": int(self.n_train_),
                "n_features_in_": [int(v) for v in self.n_features_in_]}
        return meta, arrays

    def _set_state(self, meta, arrays):
        for name in self._ARRAYS:
            setattr(self, name, arrays.get(name))
        for name in ("species_", "center_species_"):
            if meta.get(name) is not None:
                setattr(self, name, [int(z) for z in meta[name]])
        self.jitter_ = meta["jitter_"]
        self.solver_ = meta["solver_"]
        self.n_train_ = meta["n_train_"]
        self.n_features_in_ = tuple(meta["n_features_in_"])
        # files written before predictive variances have none of these (full GPR rebuilds its factor)
        for name in ("variance_factor_", "metric_factor_"):
            setattr(self, name, None if arrays.get(name) is None else solver.unpack_lower(arrays[name]))
        self.metric_jitter_ = meta.get("metric_jitter_")  # missing factors: rebuilt on first use
        self.calibration_ = meta.get("calibration_")
        self.y_spread_ = meta.get("y_spread_")
        self.timings_ = {}
        self._prepare_prediction()


def _principal_directions(a, r, rng, n_power=2, oversample=10):
    """(F, r) orthonormal: the leading right singular vectors of a (n, F), uncentred, by a
    randomized range finder with power iterations (Halko, Martinsson and Tropp 2011, alg. 4.4)."""
    k = min(r + oversample, *a.shape)
    q, _ = np.linalg.qr(a @ rng.standard_normal((a.shape[1], k)))
    for _ in range(n_power):
        q, _ = np.linalg.qr(a.T @ q)
        q, _ = np.linalg.qr(a @ q)
    _, _, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    return np.ascontiguousarray(vt[:r].T)
