"""CartesianTensorModel: Cartesian tensors of rank 1-4, per structure or per atom, from one
sparse SA-GPR per independent spherical part (lambda, sigma).

A structure-level property is learned as a sum of atomic contributions, as TENSOAP does
(Grisafi et al., PRL 120, 036002 (2018); Wilkins et al., PNAS 116, 3401 (2019)): the kernel
between a structure A and an active environment m is the sum over A's environments,
K_{A,m} = sum_{i in A} k(i, m) (divided by the number of environments for an intensive
property), environments of different centre species never compared (one active set each), and
the weights solve the sparse normal equations (K_MN K_NM + sigma^2 K_MM) w = K_MN y
(models/solver.py), K_MN K_NM accumulated over blocks of structures. Per-atom targets are the
special case of one environment per "structure".

Targets are split by sagpr.cartesian into coupling-path parts; the parts with the same
(lambda, sigma) rotate alike, so they are mixed into orthonormal channels (eigenvectors of
their Gram matrix over the training set) and only the channels with weight in the training
targets are learned: the parts present are detected (a symmetric rank 2 has no lambda = 1,
a Kleinman-symmetric rank 3 only lambda 1 and 3, one channel each). sigma = -1 parts use the
pseudotensor lambda-SOAP features (l1 + l2 + lambda odd).

Predictive covariances (predict(return_std / return_cov)): a structure's value is a linear
functional of the atomic GP, so each part's DTC covariance is SAGPR's with k*M the summed kernel
and k** the double sum over the structure's pairs of environments (docs/uncertainty.md).
"""
from __future__ import annotations

import time

import numpy as np

from sagpr import settings
from sagpr.frames import as_frame_list

from . import _features, calibration, gpr, solver
from ._estimator import Estimator, center_numbers

#: a channel whose share of the targets' sum of squares is below this is absent
CHANNEL_THRESHOLD = 1e-12

LEVELS = ("structure", "atom")

Part = tuple  # (lambda, sigma)


def _cartesian():
    from sagpr import cartesian

    return cartesian


class CartesianTensorModel(Estimator):
    """Cartesian tensors of any rank 1-4 (vectors, polarizabilities, hyperpolarizabilities,
    dielectric tensors, ...), per structure (atoms.info) or per atom (atoms.arrays).

    Parameters (keyword-only)
    -------------------------
    rank : 1..4, or None to infer it from the targets (3^rank components).
    level : "structure" (one tensor per frame, the sum of atomic contributions) or "atom"
        (one tensor per centre atom).
    intensive : structure level only: the tensor is the mean of the atomic contributions
        (e.g. a dielectric tensor) instead of their sum (a dipole, a polarizability).
    target : name read by fit(frames) from atoms.info (structure level) or atoms.arrays
        (atom level), flat row-major 3^rank components or (3, ..., 3).
    center_species : elements whose environments contribute (None: every atom).
    Descriptor keywords as sagpr.LambdaSOAP; zeta, regularizer, jitter, random_state, progress
    as sagpr.SAGPR; n_sparse: active environments per centre species (None: all).

    Fitted attributes: rank_, parts_ ({(lambda, sigma): {"paths", "channels", "mean", "active",
    "weights", "variance_factor", "metric_factor"}}: the last two the Cholesky factors of the
    solved system and of K_MM, kept for predictive covariances), species_, center_species_, n_train_, timings_; models_ (the same dict, for
    the fitted check).
    """

    _param_names = ("rank", "level", "intensive", "target", "center_species") + settings.DESCRIPTOR + (
        "zeta", "regularizer", "n_sparse", "jitter", "random_state", "progress")

    def __init__(self, *, rank=None, level="structure", intensive=False, target=None, center_species=None,
                 cutoff=settings.default("cutoff"), max_radial=settings.default("max_radial"),
                 max_angular=settings.default("max_angular"),
                 atomic_gaussian_width=settings.default("atomic_gaussian_width"),
                 cutoff_smooth_width=settings.default("cutoff_smooth_width"),
                 center_atom_weight=settings.default("center_atom_weight"), species=None,
                 zeta=settings.default("zeta"), regularizer=settings.default("regularizer"),
                 n_sparse=settings.default("n_sparse"), jitter=settings.default("jitter"),
                 random_state=settings.default("random_state"), progress=settings.default("progress")):
        self.rank = rank
        self.level = level
        self.intensive = intensive
        self.target = target
        self.center_species = center_species
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
        self.jitter = jitter
        self.random_state = random_state
        self.progress = progress
        self._validate_params()

    def _extra_checks(self):
        if self.target is not None and not isinstance(self.target, str):
            raise ValueError(f"target must be None or a property name, got {self.target!r}")
        if self.intensive and self.level == "atom":
            raise ValueError("intensive=True is for structure-level targets (level='structure')")

    # ---------------------------------------------------------------- targets
    def _groups(self, frames, centers):
        """(species of each environment, group of each environment, size of each group): a group
        is a frame (structure level) or a centre (atom level); environments in frame-then-atom order."""
        index = _features.centre_indices(frames, centers)
        numbers = np.array([frames[f].numbers[a] for f, a in index], dtype=int)
        if self.level == "structure":
            group = np.array([f for f, _ in index], dtype=int)
            sizes = np.bincount(group, minlength=len(frames))
            empty = np.flatnonzero(sizes == 0)
            if empty.size:
                raise ValueError(f"frame {int(empty[0])}: no atom of the centre species {centers}")
        else:
            group = np.arange(len(index))
            sizes = np.ones(len(index), dtype=int)
        return index, numbers, group, sizes

    def _read_targets(self, frames, index, y):
        if y is None:
            if self.target is None:
                raise ValueError("no targets: give y to fit, or a target name")
            rows = []
            for i, atoms in enumerate(frames):
                store = atoms.info if self.level == "structure" else atoms.arrays
                if self.target not in store:
                    where = "atoms.info" if self.level == "structure" else "atoms.arrays"
                    raise ValueError(f"frame {i}: no {self.target!r} in {where} (has {sorted(store)})")
                values = np.asarray(store[self.target], dtype=np.float64)
                if self.level == "structure":
                    rows.append(values.reshape(1, -1))
                else:
                    atoms_here = [a for f, a in index if f == i]
                    rows.append(values.reshape(len(atoms), -1)[atoms_here])
            y = np.concatenate(rows, axis=0)
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(len(y), -1)
        rank = self.rank
        if rank is None:
            sizes = {3 ** r: r for r in range(1, _cartesian().MAX_RANK + 1)}
            if y.shape[1] not in sizes:
                raise ValueError(f"targets have {y.shape[1]} components, not 3^rank for a rank 1-4 tensor")
            rank = sizes[y.shape[1]]
        elif y.shape[1] != 3 ** rank:
            raise ValueError(f"rank-{rank} targets need {3 ** rank} components, got {y.shape[1]}")
        bad = np.flatnonzero(~np.isfinite(y).all(axis=1))
        if bad.size:
            what = f"frame {int(bad[0])}" if self.level == "structure" else "frame {}: atom {}".format(*index[bad[0]])
            raise ValueError(f"{what}: the target has a NaN or infinite component")
        return y, rank

    # ---------------------------------------------------------------- features
    def _calculator(self):
        params = {name: getattr(self, name) for name in settings.DESCRIPTOR}
        return _features.cached_calculator(self, params, 0, self.species_)

    def _features(self, frames, z, parts):
        """{(lambda, sigma): (n_z, 2 lambda + 1, F)} of the centres of species z, (0, 1) included."""
        wanted = sorted(set(parts) | {(0, 1)})
        return self._calculator().compute_parts(frames, wanted, center_species=[z])

    # ---------------------------------------------------------------- fit
    def fit(self, frames, y=None, *, client=None, block_size=64):
        """Fit on `frames`; y: (n_structures or n_centres, 3^rank) or (…, 3, ..., 3), or None to
        read the target. block_size: groups (structures or centres) per block of the K_MN K_NM
        accumulation. client: a Dask client: the sums of the normal equations (the costly part)
        are computed on the cluster, one task per block of block_size frames, and added in order
        (active sets are chosen locally from the lambda = 0 features)."""
        self._validate_params()
        t_start = time.perf_counter()
        frames = as_frame_list(frames)
        from sagpr.frames import species_numbers

        self.species_ = species_numbers(self.species) if self.species is not None else _features.frame_species(frames)
        _features.check_species(frames, self.species_)
        centers = center_numbers(self.center_species) or _features.frame_species(frames)
        self.center_species_ = list(centers)
        index, numbers, group, sizes = self._groups(frames, centers)
        y, self.rank_ = self._read_targets(frames, index, y)
        n_groups = len(sizes)
        if len(y) != n_groups:
            raise ValueError(f"targets must have one row per {'frame' if self.level == 'structure' else 'centre'} "
                             f"({n_groups}), got {len(y)}")
        cart = _cartesian()
        by_path = cart.cartesian_to_spherical(y, self.rank_)
        # channels: orthonormal mixtures of the paths of one (lambda, sigma)
        grouped = {}
        for path, values in by_path.items():
            grouped.setdefault((path[-1], cart.path_sigma(path)), []).append(path)
        total = max(sum(float(np.sum(v ** 2)) for v in by_path.values()), 1e-300)
        plan = {}
        for part, paths in sorted(grouped.items()):
            stack = np.stack([by_path[p] for p in paths], axis=1)  # (G, n_paths, d)
            values, vectors = np.linalg.eigh(np.einsum("gpd,gqd->pq", stack, stack))
            keep = values > CHANNEL_THRESHOLD * total
            if keep.any():
                channels = vectors[:, keep][:, ::-1].T  # (k, n_paths), largest first
                plan[part] = {"paths": paths, "channels": channels,
                              "targets": np.einsum("kp,gpd->gkd", channels, stack)}
        if not plan:
            raise ValueError("every spherical part of the targets is zero")
        if any(lam == 0 and sig == -1 for lam, sig in plan):
            raise ValueError("the targets have a pseudoscalar (lambda = 0, sigma = -1) part, which lambda-SOAP "
                             "features (two-body correlations) cannot represent")
        timings = {"features": 0.0, "normal_equations": 0.0, "solve": 0.0}
        t0 = time.perf_counter()
        feats = {z: self._features(frames, z, list(plan)) for z in centers}
        timings["features"] = time.perf_counter() - t0
        env_group = {z: group[numbers == z] for z in centers}
        scale = 1.0 / sizes if self.intensive else np.ones(n_groups)
        self.parts_ = {}
        for part, entry in plan.items():
            lam, _ = part
            d = 2 * lam + 1
            targets = entry["targets"].copy()  # (G, k, d)
            mean = np.zeros(len(entry["channels"]))
            if part == (0, 1):
                # a per-atom baseline: extensive targets ~ n_atoms * mean, intensive ones ~ mean
                counts = sizes * scale
                mean = targets[:, :, 0].sum(axis=0) / counts.sum()
                targets[:, :, 0] -= counts[:, None] * mean[None, :]
            entry["mean"] = mean
            active = {}
            for z in centers:
                x, x0 = feats[z][part], feats[z][(0, 1)][:, 0, :]
                candidates = np.flatnonzero(gpr.nonzero_environments(x))
                if candidates.size == 0:
                    continue
                n = len(candidates) if self.n_sparse is None else self.n_sparse
                chosen = gpr.select_active(x0, n, self.random_state, candidates=candidates)
                active[z] = (np.ascontiguousarray(x[chosen]), np.ascontiguousarray(x0[chosen]))
            if not active:
                continue  # no environment can carry this part: it is predicted as zero
            entry["work"] = (targets, active)
        if client is not None:
            sums = self._distributed_sums(frames, plan, index, scale, client, block_size)
        for part, entry in plan.items():
            if "work" not in entry:
                continue
            lam = part[0]
            d = 2 * lam + 1
            targets, active = entry.pop("work")
            mean = entry["mean"]
            t0 = time.perf_counter()
            if client is None:
                ktk, kty = self._normal_equations(feats, env_group, part, active, scale, targets, block_size)
            else:
                ktk, kty = sums[part]
            kmm = _block_diagonal([gpr.kernel_symmetric(a, a0, self.zeta) for a, a0 in active.values()])
            timings["normal_equations"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            weights = []
            for c in range(len(entry["channels"])):
                system = solver.sparse_solver(ktk, kty[:, c], kmm, y_mean=mean[c:c + 1] if lam == 0 else np.zeros(d),
                                              jitter=self.jitter)
                weights.append(system.solve(self.regularizer))
            # kept for predictive covariances, as SAGPR: the factor of the solved system (the same
            # K_MN K_NM + s K_MM for every channel of the part) and K_MM's, for k** - Q**
            metric_factor = system.metric_factor(overwrite=True)
            timings["solve"] += time.perf_counter() - t0
            self.parts_[part] = {"paths": [list(p) for p in entry["paths"]], "channels": entry["channels"],
                                 "mean": mean, "active": active, "weights": np.stack(weights, axis=1),
                                 "variance_factor": system.factor_, "metric_factor": metric_factor}
        self.models_ = self.parts_
        self.n_train_ = n_groups
        self.calibration_ = None  # a calibration belongs to the fit it was made for
        timings["total"] = time.perf_counter() - t_start
        self.timings_ = timings
        return self

    def _distributed_sums(self, frames, plan, index, scale, client, block_size):
        """{part: (K_MN K_NM, K_MN y)} summed over blocks of frames computed on `client`."""
        from sagpr.distributed import map_frames, require_dask

        require_dask()
        parts = {part: entry["work"] for part, entry in plan.items() if "work" in entry}
        frame_of_env = np.array([f for f, _ in index], dtype=int)
        carried = []
        for f, atoms in enumerate(frames):
            # the groups of frame f: itself (structure level) or its centres (atom level)
            mine = np.flatnonzero(frame_of_env == f) if self.level == "atom" else np.array([f])
            copy = atoms.copy()
            copy.info[_CARRIED] = {part: (targets[mine], scale[mine]) for part, (targets, _) in parts.items()}
            carried.append(copy)
        worker = (self, {part: active for part, (_, active) in parts.items()}, block_size)
        total = {}
        for sums in map_frames(_block_sums, worker, carried, client=client, chunk_size=block_size):
            for part, (ktk, kty) in sums.items():
                if part in total:
                    total[part][0].__iadd__(ktk)
                    total[part][1].__iadd__(kty)
                else:
                    total[part] = (ktk, kty)
        return total

    def _normal_equations(self, feats, env_group, part, active, scale, targets, block_size):
        """K_MN K_NM (P, P) and K_MN y (P, k) with K the summed kernel of the groups."""
        lam = part[0]
        d = 2 * lam + 1
        n_groups, k = targets.shape[0], targets.shape[1]
        sizes = [len(a) * d for a, _ in active.values()]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        p = int(offsets[-1])
        ktk = np.zeros((p, p))
        kty = np.zeros((p, k))
        for start in range(0, n_groups, block_size):
            stop = min(start + block_size, n_groups)
            block = self._summed_kernel(feats, env_group, part, active, offsets, start, stop)
            block *= scale[start:stop, None, None]
            block = block.reshape((stop - start) * d, p)
            ktk += block.T @ block
            kty += block.T @ targets[start:stop].transpose(0, 2, 1).reshape((stop - start) * d, k)
        return ktk, kty

    def _summed_kernel(self, feats, env_group, part, active, offsets, start, stop):
        """(stop - start, d, P): sum over each group's environments of k(environment, active)."""
        d = 2 * part[0] + 1
        out = np.zeros((stop - start, d, int(offsets[-1])))
        for slot, (z, (a, a0)) in enumerate(active.items()):
            if z not in env_group:
                continue  # no centre of this species in these frames
            groups = env_group[z]
            lo, hi = np.searchsorted(groups, [start, stop])
            if hi == lo:
                continue
            x = feats[z][part][lo:hi]
            x0 = feats[z][(0, 1)][lo:hi, 0, :]
            kern = gpr.kernel(x, x0, a, a0, self.zeta).reshape(hi - lo, d, -1)
            summed = np.zeros((stop - start, d, kern.shape[2]))
            np.add.at(summed, groups[lo:hi] - start, kern)
            out[:, :, offsets[slot]:offsets[slot + 1]] = summed
        return out

    # ---------------------------------------------------------------- predict
    def _prediction_setup(self, frames):
        """(numbers, group, sizes, scale, features) of the environments of `frames`."""
        self._check_fitted()
        frames = as_frame_list(frames)
        _features.check_species(frames, self.species_)
        index, numbers, group, sizes = self._groups(frames, self.center_species_)
        scale = 1.0 / sizes if self.intensive else np.ones(len(sizes))
        feats = {z: self._features(frames, z, list(self.parts_)) for z in self.center_species_
                 if np.any(numbers == z)}
        return numbers, group, sizes, scale, feats

    def predict_spherical(self, frames, *, return_cov=False, calibrated=True):
        """{path: (n, 2 lambda + 1)} predicted coupling-path parts (n structures or centres).

        return_cov: also {(lambda, sigma): (n, n_paths (2 lambda + 1), n_paths (2 lambda + 1))},
        the predictive covariance of the paths of each part present (ordered as
        parts_[part]["paths"], path-major), kron(C^T C, S) with S the part's DTC block and C its
        channel mixing; parts of different (lambda, sigma) are independent models. S is
        calibrated when the model is (see calibrate) unless calibrated=False."""
        _check_flags(return_cov=return_cov, calibrated=calibrated)
        cal = (getattr(self, "calibration_", None) or {}) if calibrated else {}
        numbers, group, sizes, scale, feats = self._prediction_setup(frames)
        if return_cov:
            self._require_variance()
        cart = _cartesian()
        out = {path: np.zeros((len(sizes), 2 * path[-1] + 1)) for path in cart.coupling_paths(self.rank_)}
        covs = {}
        for part, entry in self.parts_.items():
            lam = part[0]
            d = 2 * lam + 1
            k = len(entry["channels"])
            channel_values = np.zeros((len(sizes), k, d))
            offset = 0
            for z, (a, a0) in entry["active"].items():
                m = len(a) * d
                w = entry["weights"][offset:offset + m]
                offset += m
                if z not in feats:
                    continue
                x, x0 = feats[z][part], feats[z][(0, 1)][:, 0, :]
                for c in range(k):
                    per_env = gpr.predict_kernel(x, x0, a, a0, w[:, c], self.zeta)  # (n_z, d)
                    np.add.at(channel_values[:, c, :], group[numbers == z], per_env)
            channel_values *= scale[:, None, None]
            if part == (0, 1):
                channel_values[:, :, 0] += (sizes * scale)[:, None] * entry["mean"][None, :]
            paths_values = np.einsum("kp,gkd->gpd", entry["channels"], channel_values)
            for i, path in enumerate(entry["paths"]):
                out[tuple(path)] += paths_values[:, i, :]
            if return_cov:
                block = self._part_covariance(part, entry, feats, numbers, group, sizes, scale)
                block = calibration.apply(block, cal.get(_part_key(part)))
                # every channel is an independent GP with the same kernel, so the paths p = C^T c
                # have Cov(p_i, p_j) = (C^T C)_ij S
                mix = entry["channels"].T @ entry["channels"]
                n_paths = len(entry["paths"])
                covs[part] = np.einsum("pq,nab->npaqb", mix, block).reshape(len(sizes), n_paths * d, n_paths * d)
        return (out, covs) if return_cov else out

    def predict(self, frames, *, return_std=False, return_cov=False, client=None, chunk_size=32):
        """Cartesian tensors (n, 3, ..., 3): one per frame (structure level) or per centre atom.

        return_std: also the predictive standard deviation of every component (n, 3, ..., 3);
        return_cov: also the covariance of the flattened (row-major) components, (n, 3^rank,
        3^rank): the DTC covariance of the sum of atomic contributions (docs/uncertainty.md),
        calibrated when the model is (see calibrate), raw GPR units otherwise; the mean is the
        same array as without them.
        With a Dask ``client``, chunks of ``chunk_size`` frames are predicted on the cluster."""
        _check_flags(return_std=return_std, return_cov=return_cov)
        if client is not None:
            from sagpr.distributed import distributed_predict

            return distributed_predict(self, frames, client=client, chunk_size=chunk_size, return_std=return_std,
                                       return_cov=return_cov)
        cart = _cartesian()
        if not (return_std or return_cov):
            return cart.spherical_to_cartesian(self.predict_spherical(frames), self.rank_)
        values, covs = self.predict_spherical(frames, return_cov=True)
        mean = cart.spherical_to_cartesian(values, self.rank_)
        n = len(mean)
        cov = np.zeros((n, 3 ** self.rank_, 3 ** self.rank_))
        for part, block in covs.items():
            # the flat tensor is sum over paths of values_p @ basis(p): Cov(T) = B^T C B
            basis = np.concatenate([cart.basis(p) for p in self.parts_[part]["paths"]], axis=0)
            cov += np.einsum("ai,nab,bj->nij", basis, block, basis)
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        out = (mean,)
        if return_std:
            std = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
            out += (std.reshape(mean.shape),)
        if return_cov:
            out += (cov,)
        return out

    # ----------------------------------------------------------- uncertainty
    def has_variance(self) -> bool:
        """True when the model can give predictive covariances (files written before they were
        stored hold no factors)."""
        self._check_fitted()
        return all(entry.get("variance_factor") is not None and entry.get("metric_factor") is not None
                   for entry in self.parts_.values())

    def _require_variance(self):
        if not self.has_variance():
            raise ValueError("this model was saved before sagpr stored predictive variances: refit it to get "
                             "uncertainties")

    def _part_covariance(self, part, entry, feats, numbers, group, sizes, scale, chunk=64):
        """(n, d, d) raw predictive covariance of one channel of `part` per group (structure or centre).

        A group's value is f_G = s_G sum_{i in G} f(i) (s_G = 1, or 1 / n_G if intensive), a linear
        functional of the atomic GP, so the SAGPR formulas hold with k*M the summed kernel the fit
        used and k** = s_G^2 sum_{i, j in G} k(i, j) (environments of different species are
        independent): the DTC covariance k** - Q** + s k*M (K_MN K_NM + s K_MM)^-1 kM*
        (SAGPR._covariance_transformed; the same stored factors and solver.whiten)."""
        d = 2 * part[0] + 1
        active = entry["active"]
        offsets = np.concatenate([[0], np.cumsum([len(a) * d for a, _ in active.values()])])
        env_group = {z: group[numbers == z] for z in feats}
        n = len(sizes)
        cov = np.zeros((n, d, d))
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            kss = self._summed_prior(feats, env_group, part, start, stop)
            k = self._summed_kernel(feats, env_group, part, active, offsets, start, stop)
            k = (k * scale[start:stop, None, None]).reshape((stop - start) * d, -1).T  # (P, g d)
            v = solver.whiten(entry["variance_factor"], k).reshape(len(k), stop - start, d)
            u = solver.whiten(entry["metric_factor"], k).reshape(len(k), stop - start, d)
            cov[start:stop] = solver.dtc_blocks(kss * (scale[start:stop] ** 2)[:, None, None], u, v, self.regularizer)
        return cov

    def _summed_prior(self, feats, env_group, part, start, stop, rows=128):
        """(stop - start, d, d): sum over pairs of each group's environments of one species of k(i, j)."""
        d = 2 * part[0] + 1
        out = np.zeros((stop - start, d, d))
        for z, groups in env_group.items():
            lo, hi = np.searchsorted(groups, [start, stop])
            x, x0 = feats[z][part], feats[z][(0, 1)][:, 0, :]
            # blocks of `rows` environments against every environment of their groups: memory
            # rows x (group size) x d^2 whatever the size of a structure
            for first in range(lo, hi, rows):
                last = min(first + rows, hi)
                c0, c1 = np.searchsorted(groups, [groups[first], groups[last - 1] + 1])
                kern = gpr.kernel(x[first:last], x0[first:last], x[c0:c1], x0[c0:c1], self.zeta)
                same = groups[first:last, None] == groups[None, c0:c1]
                np.add.at(out, groups[first:last] - start, np.einsum("iajb,ij->iab", kern, same))
        return out

    def calibrate(self, frames, y=None, groups=None, *, n_folds=5, power_law="auto", random_state=0):
        """Fit, per (lambda, sigma) part, the scale (and, when it helps, a power law) of the
        predictive covariance on cross-validation residuals and store it (calibration_, saved
        with the model); predict and predict_spherical then give calibrated covariances.

        The frames (y or the target name, as fit) are split into folds by structure (`groups`:
        one label per frame; default each frame its own): each fold is predicted by a model of
        the same parameters fitted on the others. A part's channels are independent GPs sharing
        the block S, so its residuals are projected on the fold model's channels, each a
        (2 lambda + 1)-vector with covariance S, and calibration.fit fits C_cal = a s^(b-1) S
        (Musil et al., JCTC 15, 906 (2019)). Returns {"lambda/sigma": calibration.fit's dict}."""
        self._check_fitted()
        self._require_variance()
        frames = as_frame_list(frames)
        index, _, _, _ = self._groups(frames, self.center_species_)
        y, _ = self._read_targets(frames, index, y)
        fold = calibration.structure_folds(len(frames), groups, n_folds, random_state)
        row_fold = fold if self.level == "structure" else np.array([fold[f] for f, _ in index], dtype=int)
        if len(y) != len(row_fold):
            raise ValueError(f"targets must have one row per {'frame' if self.level == 'structure' else 'centre'} "
                             f"({len(row_fold)}), got {len(y)}")
        cart = _cartesian()
        reference = cart.cartesian_to_spherical(y, self.rank_)
        residuals, covs = {}, {}
        for k in range(int(fold.max()) + 1):
            model = CartesianTensorModel(**self.get_params())
            model.fit([a for a, f in zip(frames, fold) if f != k], y[row_fold != k])
            test = [a for a, f in zip(frames, fold) if f == k]
            values, blocks = model.predict_spherical(test, return_cov=True, calibrated=False)
            for part, entry in model.parts_.items():
                if part not in self.parts_:
                    continue
                d = 2 * part[0] + 1
                paths = [tuple(p) for p in entry["paths"]]
                r = np.stack([reference[p][row_fold == k] - values[p] for p in paths], axis=1)  # (n, paths, d)
                channel_r = np.einsum("kp,npd->nkd", entry["channels"], r).reshape(-1, d)
                # a channel's block: the paths' block is kron(C^T C, S), so S is C_0 . block . C_0
                # for any unit channel row C_0 of the (orthonormal) mixing
                full = blocks[part].reshape(len(r), len(paths), d, len(paths), d)
                c0 = entry["channels"][0]
                s_block = np.einsum("p,npaqb,q->nab", c0, full, c0)
                residuals.setdefault(part, []).append(channel_r)
                covs.setdefault(part, []).append(np.repeat(s_block, len(entry["channels"]), axis=0))
        fitted = {}
        for part in self.parts_:
            if part not in residuals:
                continue
            result = calibration.fit(np.concatenate(residuals[part]), np.concatenate(covs[part]), power_law=power_law)
            result["n_folds"] = int(fold.max()) + 1
            fitted[_part_key(part)] = result
        self.calibration_ = fitted
        return self.calibration_

    def coverage(self, frames, y=None, z=1.959963984540054):
        """Fraction of the reference tensors' components (y or the target name) inside the
        predicted intervals mean +- z sigma (z = 1.96: 95 %), calibrated when the model is."""
        frames = as_frame_list(frames)
        index, _, _, _ = self._groups(frames, self.center_species_)
        y, _ = self._read_targets(frames, index, y)
        mean, std = self.predict(frames, return_std=True)
        return float(np.mean(np.abs(y - mean.reshape(len(y), -1)) <= z * std.reshape(len(y), -1)))

    def score(self, frames, y=None):
        """{(lambda, sigma): % RMSE / STD, ..., "total": ...} on `frames` (targets from y or the
        target name). The coupling paths of one (lambda, sigma) are pooled (the measure does not
        depend on how they are mixed); parts absent from the reference (RMS below 1e-6 of the
        tensors') are left out."""
        frames = as_frame_list(frames)
        index = _features.centre_indices(frames, self.center_species_)
        y, _ = self._read_targets(frames, index, y)
        cart = _cartesian()
        ref = cart.cartesian_to_spherical(y, self.rank_)
        pred = self.predict_spherical(frames)
        scale = np.sqrt(np.mean(y ** 2))
        out = {}
        for part in sorted({(p[-1], cart.path_sigma(p)) for p in ref}):
            paths = [p for p in ref if (p[-1], cart.path_sigma(p)) == part]
            r = np.concatenate([ref[p] for p in paths], axis=1)
            if np.sqrt(np.mean(r ** 2)) > 1e-6 * scale:
                out[part] = percent_rmse(r, np.concatenate([pred[p] for p in paths], axis=1))
        out["total"] = percent_rmse(y, cart.spherical_to_cartesian(pred, self.rank_).reshape(len(y), -1))
        return out

    # ---------------------------------------------------------------- saving
    def save(self, path):
        """Write the fitted model to one versioned file (see sagpr.load)."""
        from ._persistence import save

        save(self, path)

    def _get_state(self):
        self._check_fitted()
        meta = {"rank_": self.rank_, "species_": self.species_, "center_species_": self.center_species_,
                "n_train_": self.n_train_, "calibration_": getattr(self, "calibration_", None), "parts": {}}
        arrays = {}
        for (lam, sig), entry in self.parts_.items():
            key = f"{lam}/{sig}"
            meta["parts"][key] = {"paths": entry["paths"], "species": [int(z) for z in entry["active"]]}
            arrays[f"{key}/channels"] = entry["channels"]
            arrays[f"{key}/mean"] = entry["mean"]
            arrays[f"{key}/weights"] = entry["weights"]
            for name in ("variance_factor", "metric_factor"):
                if entry.get(name) is not None:
                    arrays[f"{key}/{name}"] = solver.pack_lower(entry[name])
            for z, (a, a0) in entry["active"].items():
                arrays[f"{key}/{z}/active"] = a
                arrays[f"{key}/{z}/active0"] = a0
        return meta, arrays

    def _set_state(self, meta, arrays):
        self.rank_ = int(meta["rank_"])
        self.species_ = [int(z) for z in meta["species_"]]
        self.center_species_ = [int(z) for z in meta["center_species_"]]
        self.n_train_ = int(meta["n_train_"])
        self.calibration_ = meta.get("calibration_")  # files written before calibration: raw
        self.parts_ = {}
        for key, info in meta["parts"].items():
            lam, sig = (int(v) for v in key.split("/"))
            self.parts_[(lam, sig)] = {
                "paths": [list(map(int, p)) for p in info["paths"]],
                "channels": np.asarray(arrays[f"{key}/channels"]),
                "mean": np.asarray(arrays[f"{key}/mean"]),
                "weights": np.asarray(arrays[f"{key}/weights"]),
                "active": {int(z): (np.ascontiguousarray(arrays[f"{key}/{z}/active"]),
                                    np.ascontiguousarray(arrays[f"{key}/{z}/active0"])) for z in info["species"]},
            }
            # files written before predictive variances have no factors: they predict, and say so
            # when asked for an uncertainty
            for name in ("variance_factor", "metric_factor"):
                packed = arrays.get(f"{key}/{name}")
                self.parts_[(lam, sig)][name] = None if packed is None else solver.unpack_lower(packed)
        self.models_ = self.parts_
        self.timings_ = {}


#: atoms.info key carrying a frame's targets to the Dask tasks of a fit
_CARRIED = "_sagpr_structure_targets"


def _block_sums(worker, frames):
    """One Dask task of a distributed fit: the normal-equation sums of a block of frames."""
    model, actives, block_size = worker
    index, numbers, group, sizes = model._groups(frames, model.center_species_)
    feats = {z: model._features(frames, z, list(actives)) for z in model.center_species_ if np.any(numbers == z)}
    env_group = {z: group[numbers == z] for z in feats}
    out = {}
    for part, active in actives.items():
        targets = np.concatenate([atoms.info[_CARRIED][part][0] for atoms in frames])
        scale = np.concatenate([atoms.info[_CARRIED][part][1] for atoms in frames])
        out[part] = model._normal_equations(feats, env_group, part, active, scale, targets, block_size)
    return out


def _part_key(part):
    """The key of a (lambda, sigma) part in calibration_ (a JSON-able string)."""
    return f"{part[0]}/{part[1]}"


def _check_flags(**flags):
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")


def percent_rmse(reference, predicted) -> float:
    """100 * RMSE / STD, the STD over all components about their mean (as TENSOAP reports)."""
    reference = np.asarray(reference, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    std = np.sqrt(np.mean((reference - reference.mean(axis=0)) ** 2))
    rmse = np.sqrt(np.mean((reference - predicted) ** 2))
    return float(100.0 * rmse / std) if std > 0 else float("nan")


def _block_diagonal(blocks):
    size = sum(len(b) for b in blocks)
    out = np.zeros((size, size))
    start = 0
    for b in blocks:
        out[start:start + len(b), start:start + len(b)] = b
        start += len(b)
    return out


__all__ = ["CartesianTensorModel", "percent_rmse", "LEVELS"]
