"""Shared machinery of TensorModel and ScalarModel: one set of SAGPRs per centre species,
targets read from atoms.arrays, features computed once and shared between the parts."""
from __future__ import annotations

import time

import numpy as np

from sagpr.frames import as_frame_list

from . import _features, environments, sources
from sagpr import settings

from ._estimator import Estimator, center_numbers
from .spherical import SAGPR


class PerSpeciesModel(Estimator):
    _extra_params: tuple = ()
    _param_names: tuple = ()

    def _sagpr_params(self, o3_lambda):
        params = {name: getattr(self, name) for name in settings.DESCRIPTOR + settings.GPR}
        return dict(params, o3_lambda=o3_lambda)

    def _read_targets(self, frames, index, y, per_atom_shape):
        """Targets of the centres, from y or atoms.arrays[target]; units from atoms.info."""
        if y is None:
            if self.target is None:
                raise ValueError("no targets: give y to fit, or a target name read from atoms.arrays")
            rows = []
            for i, atoms in enumerate(frames):
                atom_ids = [a for f, a in index if f == i]
                if not atom_ids:
                    continue
                if self.target not in atoms.arrays:
                    raise ValueError(f"frame {i}: no per-atom array {self.target!r} (has {sorted(atoms.arrays)})")
                values = np.asarray(atoms.arrays[self.target], dtype=np.float64)
                values = values.reshape((len(atoms),) + per_atom_shape)
                rows.append(values[atom_ids])
            y = np.concatenate(rows, axis=0)
            units = {atoms.info.get(f"{self.target}_units") for atoms in frames}
            if len(units) > 1:
                raise ValueError(f"frames give different units for {self.target!r}: {sorted(map(str, units))}")
            self.units_ = units.pop()
        else:
            y = np.asarray(y, dtype=np.float64)
            self.units_ = None
        if y.shape[1:] != per_atom_shape or y.shape[0] != len(index):
            raise ValueError(f"targets must have shape ({len(index)}, {', '.join(map(str, per_atom_shape))}), got {y.shape}")
        bad = np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).all(axis=1))
        if bad.size:
            f, a = index[bad[0]]
            raise ValueError(f"frame {f}: atom {a} ({frames[f].get_chemical_symbols()[a]}) has a NaN or infinite target")
        return y

    def _setup(self, frames):
        """Species channels and centre species (atomic numbers) of a fit."""
        from sagpr.frames import species_numbers

        species = species_numbers(self.species) if self.species is not None else _features.frame_species(frames)
        _features.check_species(frames, species)
        centers = center_numbers(self.center_species)
        if centers is None:
            centers = _features.frame_species(frames)
        for z in centers:
            _features.require_centres(frames, [z])
        return species, centers

    def _features(self, frames, z, lambdas):
        """{lambda: features} of the centres of species z, lambda=0 always included."""
        from ase.data import chemical_symbols

        lambdas = sorted(set(lambdas) | {0})  # all from one descriptor pass
        return _features.features(self, self._sagpr_params(0), lambdas, self.species_, frames, [z], self.progress,
                                  f"{chemical_symbols[z]} lambda={','.join(map(str, lambdas))} features")

    def _check_fitted(self):
        if not hasattr(self, "models_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def _sync_covariance_size(self):
        """Give the parts this model's uncertainty_n_sparse: it only changes covariances, so it can
        be set (set_params, or the attribute) after the fit, and the parts must follow."""
        settings.check("uncertainty_n_sparse", self.uncertainty_n_sparse)
        settings.check("uncertainty_projection", self.uncertainty_projection)
        for parts in self.models_.values():
            for model in parts.values():
                model.uncertainty_n_sparse = self.uncertainty_n_sparse
                model.uncertainty_projection = self.uncertainty_projection

    def _predict_parts(self, frames, with_cov=False, calibrated=True):
        """(index, {z: {lambda: (n_z, 2 lambda + 1) predictions}}) for the model's centres;
        with_cov: each value is (prediction, covariance blocks (n_z, 2 lambda + 1, 2 lambda + 1))."""
        self._check_fitted()
        frames = as_frame_list(frames)
        _features.check_species(frames, self.species_)
        index = _features.centre_indices(frames, self.center_species_)
        if with_cov:
            self._sync_covariance_size()
        out = {}
        for z, parts in self.models_.items():
            if not any(np.isin(a.numbers, [z]).any() for a in frames):
                continue
            feats = self._features(frames, z, list(parts))
            x0 = feats[0][:, 0, :]
            if with_cov:
                out[z] = {lam: model.predict_features(feats[lam], x0, return_cov=True, calibrated=calibrated)
                          for lam, model in parts.items()}
            else:
                out[z] = {lam: model.predict_features(feats[lam], x0) for lam, model in parts.items()}
        return index, out

    def site_index(self, frames):
        """(frame, atom) of every predicted site, frame then atom order (the rows of predict)."""
        self._check_fitted()
        return _features.centre_indices(as_frame_list(frames), self.center_species_)

    def _spherical_with_cov(self, frames, calibrated=True):
        """({lambda: (n, 2 lambda + 1)}, {lambda: (n, 2 lambda + 1, 2 lambda + 1)}) in site order."""
        frames = as_frame_list(frames)
        index, parts = self._predict_parts(frames, with_cov=True, calibrated=calibrated)
        lambdas = sorted({lam for by in self.models_.values() for lam in by})
        means = {lam: self._scatter(frames, index, parts, (2 * lam + 1,), lambda b, lam=lam: b[lam][0]) for lam in lambdas}
        covs = {lam: self._scatter(frames, index, parts, (2 * lam + 1, 2 * lam + 1), lambda b, lam=lam: b[lam][1])
                for lam in lambdas}
        return means, covs

    # ----------------------------------------------------------- uncertainty
    def calibrate(self, frames, y=None, groups=None, *, n_folds=5, power_law="auto", random_state=0):
        """Fit the scale (and, when it helps, a power law) of every part's predictive covariance on
        cross-validation residuals, and store it in the model (saved with it).

        The folds are split by structure: `groups` (one label per frame; default: each frame its
        own group) are dealt to n_folds folds at random (`random_state`); each fold is predicted by
        a model of the same hyperparameters fitted on the other folds (the full fit itself is kept).
        Returns {(atomic number, lambda): calibration dict} (see sagpr.models.calibration.fit).
        """
        from sagpr.models import calibration

        self._check_fitted()
        self._sync_covariance_size()  # the folds and the stored scale are for the covariance in use
        frames = as_frame_list(frames)
        fold = calibration.structure_folds(len(frames), groups, n_folds, random_state)
        n_folds = int(fold.max()) + 1
        index = self.site_index(frames)
        targets = self._calibration_targets(frames, index, y)
        site_fold = np.array([fold[f] for f, _ in index])
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        residuals, covs = {}, {}
        for k in range(n_folds):
            train = [i for i in range(len(frames)) if fold[i] != k]
            test = [i for i in range(len(frames)) if fold[i] == k]
            train_sites = site_fold != k
            model = type(self)(**self.get_params())
            model.fit([frames[i] for i in train], self._fold_targets(y, train_sites))
            means, blocks = model._spherical_with_cov([frames[i] for i in test], calibrated=False)
            test_sites = site_fold == k
            for z, parts in self.models_.items():
                mine = numbers[test_sites] == z
                for lam in parts:
                    r = targets[lam][test_sites][mine] - means[lam][mine]
                    residuals.setdefault((z, lam), []).append(r)
                    covs.setdefault((z, lam), []).append(blocks[lam][mine])
        result = {}
        for (z, lam), parts in residuals.items():
            fitted = calibration.fit(np.concatenate(parts), np.concatenate(covs[(z, lam)]), power_law=power_law)
            fitted["n_folds"] = n_folds
            self.models_[z][lam].set_calibration(fitted)
            result[(z, lam)] = self.models_[z][lam].calibration_
        return result

    def joint_covariance(self, frames, *, calibrated=False):
        """{(atomic number, lambda): (joint covariance (n_z d, n_z d) of all the species' sites,
        frame index of each site (n_z,))}: what active selection conditions on. Raw (units of each
        part's prior amplitude, noise variance = regularizer) unless calibrated."""
        self._check_fitted()
        self._sync_covariance_size()
        frames = as_frame_list(frames)
        _features.check_species(frames, self.species_)
        index = _features.centre_indices(frames, self.center_species_)
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        site_frames = np.array([f for f, _ in index], dtype=int)
        out = {}
        for z, parts in self.models_.items():
            if not (numbers == z).any():
                continue
            feats = self._features(frames, z, list(parts))
            x0 = feats[0][:, 0, :]
            for lam, model in parts.items():
                out[(z, lam)] = (model.joint_covariance_features(feats[lam], x0, calibrated=calibrated),
                                 site_frames[numbers == z])
        return out

    def relative_uncertainty(self, frames, covs):
        """Per site (n,), the predicted sigma relative to the training targets' spread (the largest
        over the site's parts; NaN for files saved before the spread was stored), from the blocks
        {lambda: (n, 2 lambda + 1, 2 lambda + 1)} predict(frames, return_cov=True) gave; feed it to
        sagpr.models.calibration.out_of_domain with site_index(frames)."""
        from sagpr.models import calibration

        index = self.site_index(frames)
        frames = as_frame_list(frames)
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        out = np.full(len(index), -np.inf)
        for z, parts in self.models_.items():
            mine = numbers == z
            for lam, model in parts.items():
                spread = getattr(model, "y_spread_", None)
                rel = np.full(int(mine.sum()), np.nan) if spread is None else \
                    calibration.relative_std(np.asarray(covs[lam])[mine], spread)
                out[mine] = np.fmax(out[mine], rel)
        out[np.isneginf(out)] = np.nan
        return out

    def current_calibration(self):
        """{(atomic number, lambda): the calibration of the covariances the parts give now, or None};
        ValueError when one was fitted for another uncertainty_n_sparse (SAGPR.current_calibration)."""
        self._check_fitted()
        self._sync_covariance_size()
        return {(z, lam): m.current_calibration() for z, parts in self.models_.items() for lam, m in parts.items()}

    def calibration(self):
        """{(atomic number, lambda): calibration dict or None} of the parts."""
        self._check_fitted()
        return {(z, lam): getattr(m, "calibration_", None) for z, parts in self.models_.items() for lam, m in parts.items()}

    def _fold_targets(self, y, sites):
        return None if y is None else np.asarray(y, dtype=np.float64)[sites]

    def _scatter(self, frames, index, parts, shape, combine):
        """Per-species predictions back into frame-then-atom order."""
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        result = np.zeros((len(index),) + shape)
        for z, by_lambda in parts.items():
            result[numbers == z] = combine(by_lambda)
        return result

    def _fit_parts(self, frames, index, targets_by_lambda, active=None, client=None, block_size=sources.BLOCK_SIZE):
        """Fit one SAGPR per (species, lambda); targets_by_lambda: {lambda: (n_centres, 2 lambda + 1)}.

        active: optional indices (or mask) into all centres (frame then atom order) to use as
        the active sets instead of farthest-point sampling. client: a Dask client to compute
        features and normal equations on (see SAGPR.fit).
        """
        if client is not None:
            from sagpr.distributed import require_dask

            require_dask()
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        if active is not None:
            from .spherical import _user_active_set

            chosen = np.zeros(len(index), dtype=bool)
            chosen[_user_active_set(active, len(index))] = True
        self.models_ = {}
        self.active_environments_ = {}
        timings = {"features": 0.0}
        for z in self.center_species_:
            mask = numbers == z
            if client is None:  # on a cluster features are computed inside the fit's passes
                t0 = time.perf_counter()
                feats = self._features(frames, z, list(targets_by_lambda))
                x0 = feats[0][:, 0, :]
                timings["features"] += time.perf_counter() - t0
            self.models_[z] = {}
            for lam, y in targets_by_lambda.items():
                model = SAGPR(**self._sagpr_params(lam))
                local = None
                if active is not None:
                    local = np.flatnonzero(chosen[mask])
                    if local.size == 0:
                        from ase.data import chemical_symbols

                        raise ValueError(f"the given active set has no {chemical_symbols[z]} centre")
                if client is None:
                    model.fit_features(feats[lam], x0, y[mask], active=local, block_size=block_size)
                else:
                    params = self._sagpr_params(lam)
                    model.n_features_in_ = sources.feature_sizes(params, lam, self.species_)
                    source = sources.cluster_source(client, params, lam, self.species_, [z], frames,
                                                     np.ascontiguousarray(y[mask], dtype=np.float64),
                                                     block_size=block_size)
                    model._fit_source(source, np.ascontiguousarray(y[mask], dtype=np.float64), active=local)
                self._keep_part(frames, [index[i] for i in np.flatnonzero(mask)], z, lam, model)
                for key, value in model.timings_.items():
                    timings[key] = timings.get(key, 0.0) + value
        self.timings_ = timings

    def _keep_part(self, frames, sites, z, lam, model):
        """Make the fitted SAGPR `model` the part (z, lam); sites: (frame, atom) of each of its
        training environments."""
        model.species_ = list(self.species_)
        model.center_species_ = [z]
        # the active environments as geometry, for compact model files (models.environments)
        active = [sites[i] for i in model.active_indices_]
        self.active_environments_[f"{z}/{lam}"] = environments.neighbourhoods(frames, active, self.cutoff)
        self.models_.setdefault(z, {})[lam] = model

    def _adopt_parts(self, frames, parts, units=None):
        """Fitted state from SAGPRs fitted elsewhere on centres of `frames` (see from_parts)."""
        from ase.data import chemical_symbols

        frames = as_frame_list(frames)
        self.species_, self.center_species_ = self._setup(frames)
        self.models_, self.active_environments_ = {}, {}
        if set(parts) != set(self.center_species_):
            raise ValueError(f"parts are given for {sorted(parts)}, the model's centre species are {self.center_species_}")
        for z, by_lambda in parts.items():
            index = _features.centre_indices(frames, [z])
            for lam, (model, rows) in by_lambda.items():
                expected = self._sagpr_params(lam)
                given = model.get_params()
                wrong = [k for k, v in expected.items() if k not in ("progress", "species", "center_species")
                         and given.get(k) != v]
                if wrong:
                    raise ValueError(f"the {chemical_symbols[z]} lambda={lam} part was fitted with other "
                                     f"hyperparameters: {', '.join(f'{k} {given.get(k)!r} (model: {expected[k]!r})' for k in wrong)}")
                rows = np.asarray(rows, dtype=int)
                if len(rows) != model.n_train_ or (len(rows) and (rows.min() < 0 or rows.max() >= len(index))):
                    raise ValueError(f"the {chemical_symbols[z]} lambda={lam} part needs one centre index per training "
                                     f"environment ({model.n_train_}, each below {len(index)})")
                self._keep_part(frames, [index[r] for r in rows], z, lam, model)
        self.units_ = units
        self.timings_ = {}

    # ---------------------------------------------------------------- saving
    def save(self, path):
        """Write the fitted model to one versioned file (see sagpr.load)."""
        from ._persistence import save

        save(self, path)

    def _get_state(self):
        self._check_fitted()
        meta = {"species_": self.species_, "center_species_": self.center_species_, "units_": self.units_,
                "extra": self._extra_state(), "parts": {}}
        arrays = {}
        envs = getattr(self, "active_environments_", {})
        for z, parts in self.models_.items():
            for lam, model in parts.items():
                key = f"{z}/{lam}"
                sub_meta, sub_arrays = model._get_state(rebuildable=False) if key in envs else model._get_state()
                if key in envs:  # features recomputed from geometry on loading (compact files)
                    sub_arrays.pop("active_features_", None)
                    sub_arrays.pop("active_features0_", None)
                    sub_arrays.update({f"environment_{k}": v for k, v in envs[key].items()})
                meta["parts"][key] = sub_meta
                arrays.update({f"{key}/{k}": v for k, v in sub_arrays.items()})
        return meta, arrays

    def _environment_features(self, z, lam, env, arrays):
        """(active features, lambda=0 active features) of a part, recomputed from its stored
        environments and reduced by its feature selection, as the fit held them."""
        from . import gpr

        frames = environments.clusters(env)
        feats = _features.first_atom_features(self, self._sagpr_params(0), sorted({lam, 0}), self.species_, frames, z)
        x, x0 = feats[lam], feats[0][:, 0, :]
        a, a0 = gpr.transform(x, x0, lam, arrays.get("feature_indices_"), arrays.get("feature_indices0_"))
        return np.ascontiguousarray(a), np.ascontiguousarray(a0)

    def _extra_state(self):
        return {}

    def _set_extra_state(self, extra):
        pass

    def _set_state(self, meta, arrays):
        self.species_ = [int(z) for z in meta["species_"]]
        self.center_species_ = [int(z) for z in meta["center_species_"]]
        self.units_ = meta["units_"]
        self._set_extra_state(meta["extra"])
        self.models_ = {}
        self.active_environments_ = {}
        for key, sub_meta in meta["parts"].items():
            z, lam = (int(v) for v in key.split("/"))
            model = SAGPR(**self._sagpr_params(lam))
            prefix = f"{z}/{lam}/"
            sub = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            env = {k[len("environment_"):]: sub.pop(k) for k in list(sub) if k.startswith("environment_")}
            if env:
                self.active_environments_[key] = env
                sub["active_features_"], sub["active_features0_"] = self._environment_features(z, lam, env, sub)
            model._set_state(sub_meta, sub)
            self.models_.setdefault(z, {})[lam] = model
        self.timings_ = {}
