"""k-fold cross-validation fits that share their work between folds, models and regularizers.

The sparse GPR of a fold solves (K_MN K_NM + sigma^2 K_MM) w = K_MN y over the fold's training
part. The folds' active sets are taken from one farthest-point ordering of the whole training set
(labels unused): fold k uses the first n_sparse points of the ordering that lie in its training
part, so no fold has a validation site in its basis. With U the union of these sets, K_UN K_NU is
a sum of per-fold blocks: computed once, a fold's system is the sum of the other folds' blocks,
restricted to its own active set. The kernel K between every training site and U gives K_MN y
for any targets and the validation predictions as K_vM w (lambda > 0 systems, which serve one
tensor target, sum K_MN y as they are built and keep only each fold's K_vM: a fifth less
memory). So a cross-validation run costs one
accumulation over the training set with |U| ~ 1.3 n_sparse (5 folds) instead of n_folds - 1 with
n_sparse, and the blocks are reused by every model with the same lambda and kernel (the five
scalar models) and every regularizer (Box-Behnken runs that differ only in sigma^2).

Difference from fitting each fold separately (fits.fit_predict): which training points the
ordering picks, and a feature selection (n_features), depend on the features (never the
labels) of the validation part too.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np

from sagpr import settings
from sagpr.models import gpr, solver, sources

from .fits import make_model


class FoldSystems:
    """Kernel and per-fold normal-equation blocks of one (lambda, descriptor, GPR kernel) setting.

    Build with FoldSystems.build, which returns None when the shared route does not apply.
    """

    @classmethod
    def build(cls, model, x, x0, folds: Sequence[np.ndarray], *, rows=None, max_kernel_bytes: float = 8e9,
              orderings: Optional[_Orderings] = None, keep_full_fit: bool = False, targets=None):
        """x, x0: features of the n training sites (or, with `rows`, of more sites: the training
        sites are x[rows]); folds: validation indices (into the n) of each fold, disjoint. None when
        a fold's training part has no more usable sites than n_sparse (a per-fold fit is then a
        full GPR) or the kernel would exceed max_kernel_bytes. orderings: farthest-point
        orderings kept from earlier builds (the lambda = 2 and lambda = 0 models of a descriptor
        setting order the same x^0).

        targets: (trains, ys) of every fold, lambda > 0 only: the training targets these systems
        are built for (predict_folds then serves these alone, see serves). The kernel is then not
        kept: K_MN y is summed chunk by chunk, and of the kernel only each fold's validation rows
        on its own active set stay, what its predictions need (for 31,488 O sites 3.15 instead of
        4.1 GB: the union of the folds' active sets is 1.3 n_sparse). None: the whole kernel is
        kept, for any targets (the scalar models of a setting share it)."""
        d = x.shape[1]
        n = len(x) if rows is None else len(rows)
        n_active = int(model.n_sparse)
        grow = _growth(len(folds))
        if targets is not None and d == 1:
            raise ValueError("targets are given to lambda > 0 systems only (lambda = 0 targets are centred per fold)")
        if cls.kernel_bytes(n, d, n_active, len(folds), kept=targets is None) > max_kernel_bytes:
            return None
        # The kernel's rows are stored fold after fold, so a fold's block of rows is a view (no
        # copy of a GB-sized slice per fold); positions map a training site to its row.
        order = np.concatenate([np.asarray(va, dtype=int) for va in folds])
        if len(order) != n or len(np.unique(order)) != n:
            raise ValueError("the folds' validation parts must cover the training sites once each")
        take = order if rows is None else np.asarray(rows)[order]
        self = cls()
        self.position = np.empty(n, dtype=int)
        self.position[order] = np.arange(n)
        bounds = np.cumsum([0] + [len(va) for va in folds])
        self.fold_rows = [slice(int(a) * d, int(b) * d) for a, b in zip(bounds[:-1], bounds[1:])]
        sel, sel0 = (None, None) if model.n_features is None else model.select_features(_TakenRows(x, x0, take))
        lam = model.o3_lambda
        # The training rows are never gathered as a whole (for 30,000 O sites a GB-sized copy):
        # they are transformed and turned into kernel rows chunk by chunk, a fold's rows in
        # chunks of their own. Feature selection and renormalisation act row by row, so the
        # chunks give the same numbers as one pass.
        usable, x0_parts = [], []
        for start, stop in _spans(bounds, _CHUNK):
            xc, x0c = gpr.transform(x[take[start:stop]], x0[take[start:stop]], lam, sel, sel0)
            usable.append(gpr.nonzero_environments(xc))
            x0_parts.append(x0c)
        del xc
        usable = np.concatenate(usable)[self.position]  # by training site
        if any(usable.sum() - usable[va].sum() <= n_active for va in folds):
            return None
        self.d = d
        candidates = np.flatnonzero(usable)
        x0_sites = np.concatenate(x0_parts)[self.position]  # site order: the same farthest-point ordering as before
        del x0_parts
        # Each fold's active set: the first n_sparse points of one farthest-point ordering of the
        # whole training set that lie in the fold's training part, so the basis of a fold never
        # holds its own validation sites (basis functions sitting on validation sites, with
        # weights no training data pins down, raise CV errors by ~10 %: measured). The ordering
        # is extended until every fold has its n_sparse points; a fold gets fewer only when FPS
        # runs out of distinct environments, as a per-fold fit would.
        length = min(len(candidates), int(np.ceil(grow * n_active)))
        orderings = orderings if orderings is not None else _Orderings(0)
        while True:
            order_fps = orderings.select_active(x0_sites, length, model.random_state, candidates)
            fold_active = [np.flatnonzero(~np.isin(order_fps, va))[:n_active] for va in folds]
            if all(len(f) == n_active for f in fold_active) or len(order_fps) < length or length == len(candidates):
                break
            length = min(len(candidates), 2 * length)
        del x0_sites
        needed = max(int(f[-1]) + 1 for f in fold_active)
        if n * d * (needed if targets is None else n_active) * d * 8 > max_kernel_bytes:
            return None
        self.active = order_fps[:needed]  # training-site indices
        self.fold_active = fold_active  # per fold: positions in self.active
        at = take[self.position[self.active]]
        a, a0 = gpr.transform(x[at], x0[at], lam, sel, sel0)
        a, a0 = np.ascontiguousarray(a), np.ascontiguousarray(a0)
        zeta = int(model.zeta)
        self.kmm = gpr.kernel_symmetric(a, a0, zeta)
        self.n_active = n_active
        p = n_active * d
        keep_full_fit = keep_full_fit and len(order_fps) >= n_active
        width = len(self.active) * d
        if targets is None:
            # K (n d, U d): kernel of every training site (rows fold by fold) with the union U of
            # the folds' active sets, written chunk by chunk into one array
            self.k = np.empty((n * d, width))
            self.k_own = self.kty = self.served = None
        else:
            t, _ = self._targets(*targets)
            self.served = [_digest(t[:, :, j]) for j in range(len(folds))]
            y = self._whole_set_targets(t) if keep_full_fit else None
            # one GEMM per chunk for every fold's K_MN y and, as the last column, the whole set's
            t = t.reshape(n * d, len(folds))
            if y is not None:
                t = np.column_stack([t, y])
            self.k = None
            # per fold: its validation rows on its own active set (its predictions need no more)
            self.k_own = [np.empty((r.stop - r.start, len(f) * d)) for r, f in zip(self.fold_rows, fold_active)]
            kty = np.zeros((width, t.shape[1]))
            square = np.empty((width, width))
        # kernel rows made a chunk at a time; without a kernel to write into, chunks of at most
        # _CHUNK_BYTES (a buffer of 2048 O sites would be 0.27 GB at the peak; 1000 sites of 128 MB cost
        # 4 % more time than the kept kernel, 500 of 64 MB 7 %: bench/fold_systems_memory.py)
        size = _CHUNK if targets is None else max(16, min(_CHUNK, int(_CHUNK_BYTES // (d * width * 8))))
        spans = _spans(bounds, size)
        if targets is not None:
            chunk = np.empty((min(size, n) * d, width))
        # fold k's system K_MN K_NM = (sum of all blocks - block k) on its own active set: one full
        # (U d)^2 block alive at a time beside the total, each kept only on its fold's active set,
        # then turned into the fold's system in place (for 30,000 O sites that halves their GB)
        total, own = None, []
        at_fold = 0
        xc = x0c = None
        for f, rows_f in enumerate(self.fold_rows):
            block = None if targets is None else np.zeros((width, width))
            cols = _rows(fold_active[f], d)
            first = rows_f.start
            while at_fold < len(spans) and spans[at_fold][0] * d < rows_f.stop:
                start, stop = spans[at_fold]
                at_fold += 1
                xc, x0c = gpr.transform(x[take[start:stop]], x0[take[start:stop]], lam, sel, sel0)
                lo, hi = start * d, stop * d
                if targets is None:
                    gpr.kernel(xc, x0c, a, a0, zeta, out=self.k[lo:hi])
                    continue
                kc = chunk[:hi - lo]
                gpr.kernel(xc, x0c, a, a0, zeta, out=kc)
                np.matmul(kc.T, kc, out=square)  # syrk: kc.T and kc share their buffer
                block += square
                np.take(kc, cols, axis=1, out=self.k_own[f][lo - first:hi - first], mode="clip")  # unbuffered
                kty += kc.T @ t[lo:hi]
            if targets is None:
                kb = self.k[rows_f]
                block = kb.T @ kb  # a contiguous view: NumPy calls syrk for a.T @ a
            own.append(block[self._square(f)])
            if total is None:
                total = block
            else:
                total += block
            del block
        del xc, x0c
        for f, restricted in enumerate(own):
            np.subtract(total[self._square(f)], restricted, out=restricted)
        self.systems = own  # per fold: K_MN K_NM of its training part on its active set
        # The whole training set's K_MN K_NM on the first n_sparse points of the ordering: the
        # active set a fit on the whole training set picks (the same farthest-point sampling),
        # so that fit needs no pass of its own (full_fit). Small: (n_sparse d)^2.
        self.full_gram = total[:p, :p].copy() if keep_full_fit else None
        self.full_fit = None
        if targets is not None:
            self.kty = kty[:, :len(folds)]
            if y is not None:
                self.full_fit = self._full_sums(kty[:p, -1].copy(), y)
        del total, own
        kernel = self.k.nbytes if self.k is not None else sum(k.nbytes for k in self.k_own) + self.kty.nbytes
        self.nbytes = kernel + self.kmm.nbytes + sum(b.nbytes for b in self.systems)
        return self

    def _targets(self, trains, ys):
        """(targets (n, d, n_folds) in kernel-row order, each fold's column its centred training
        targets and zero at its own validation sites; the means taken off (zero for lambda > 0))."""
        d = self.d
        n_sites = len(self.position)
        targets = np.zeros((n_sites, d, len(trains)))
        means = []
        for j, (train, y) in enumerate(zip(trains, ys)):
            y = np.asarray(y, dtype=np.float64).reshape(len(train), d)
            means.append(y.mean(axis=0) if d == 1 else np.zeros(d))
            targets[self.position[np.asarray(train)], :, j] = y - means[-1]
        return targets, means

    def serves(self, fold_ids, trains, ys) -> bool:
        """Whether predict_folds can serve these targets: any, when the kernel is kept; else the
        targets of the build (a fold's own)."""
        if self.served is None:
            return True
        targets, _ = self._targets(trains, ys)
        return all(_digest(targets[:, :, j]) == self.served[f] for j, f in enumerate(fold_ids))

    def _whole_set_targets(self, targets):
        """The targets (n d,) of a fit on the whole training set, in kernel-row order, when the
        folds' targets are the same targets (lambda > 0 tensors, not the scalar targets
        standardised per fold); else None. targets as _targets gives them, for every fold."""
        if targets.shape[2] != len(self.fold_rows):
            return None
        d, n = self.d, len(targets)
        own = np.empty(n, dtype=int)
        for f, rows in enumerate(self.fold_rows):
            own[rows.start // d:rows.stop // d] = f
        y = targets[np.arange(n), :, (own + 1) % len(self.fold_rows)]
        training = own[:, None] != np.arange(len(self.fold_rows))[None, :]
        if not np.all((targets == y[:, :, None]) | ~training[:, None, :]):
            return None
        return y.ravel()

    def _full_sums(self, rhs, y):
        return {"active": self.active[:self.n_active], "gram": self.full_gram, "rhs": rhs,
                "n_train": len(y) // self.d, "y_spread": float(np.sqrt(np.mean(y ** 2)))}

    def _keep_full_fit(self, targets):
        """The sums of a fit on the whole training set (see full_gram and _whole_set_targets)."""
        if self.full_gram is None or self.full_fit is not None:
            return
        y = self._whole_set_targets(targets)
        if y is not None:
            self.full_fit = self._full_sums(self.k[:, :self.n_active * self.d].T @ y, y)

    def _square(self, fold):
        """Index of fold `fold`'s active set in a (U d) x (U d) matrix."""
        cols = _rows(self.fold_active[fold], self.d)
        return np.ix_(cols, cols)

    @staticmethod
    def kernel_bytes(n, d, n_active, n_folds, *, kept: bool = True) -> float:
        """Expected size of the kernel K (n d, U d) before the active sets are known (kept=False:
        what stays of it when targets are given to build, n d x n_sparse d)."""
        return n * d * (np.ceil(_growth(n_folds) * n_active) if kept else n_active) * d * 8.0

    def fit_predict(self, train: np.ndarray, val: np.ndarray, fold: int, y_train, regularizer, jitter) -> np.ndarray:
        """Predictions (len(val), d) of fold `fold` from targets y_train (len(train), d)."""
        return self.predict_folds([fold], [train], [val], [y_train], regularizer, jitter)[0]

    def predict_folds(self, fold_ids, trains, vals, ys, regularizer, jitter) -> List[np.ndarray]:
        """fit_predict of several folds at once: K_MN y of all of them from one pass over the
        kernel (a GEMM with one target column per fold, zero on the fold's validation rows), or
        from the build's sums when it was given the targets; each fold's validation rows read as
        a view of its block when they are that block."""
        d = self.d
        if not self.serves(fold_ids, trains, ys):
            raise ValueError("these fold systems were built for other targets and keep no kernel for new ones")
        if self.k is None:
            means = [np.zeros(d) for _ in fold_ids]
            kty = self.kty[:, list(fold_ids)]
        else:
            targets, means = self._targets(trains, ys)
            kty = self.k.T @ targets.reshape(len(targets) * d, len(fold_ids))
            if d > 1 and list(fold_ids) == list(range(len(self.fold_rows))):  # zero means: sums of the whole set
                self._keep_full_fit(targets)
        out = []
        for j, (fold, val) in enumerate(zip(fold_ids, vals)):
            cols = _rows(self.fold_active[fold], d)
            system = solver.sparse_solver(self.systems[fold].copy(), kty[cols, j], self.kmm[self._square(fold)],
                                          y_mean=means[j], jitter=jitter)
            w = system.solve(regularizer, overwrite=True)
            first = self.fold_rows[fold].start // d
            positions = self.position[np.asarray(val)] - first  # within the fold's block
            count = (self.fold_rows[fold].stop - self.fold_rows[fold].start) // d
            if np.any((positions < 0) | (positions >= count)):
                raise ValueError(f"fold {fold}'s predictions are of its own validation sites only")
            if self.k is None:
                block = self.k_own[fold]  # the fold's active set only
            else:
                block = self.k[self.fold_rows[fold]]
                w_all = np.zeros(self.k.shape[1])
                w_all[cols] = w
                w = w_all
            if np.array_equal(positions, np.arange(len(positions))):
                rows = slice(0, len(positions) * d)  # the fold's own block: a view
            else:
                rows = _rows(positions, d)
            out.append((block[rows] @ w).reshape(len(val), d) + means[j])
        return out


#: training sites per chunk of the kernel's rows (bounds the temporaries of a build)
_CHUNK = 2048
#: at most this many bytes of kernel rows per chunk when the kernel is not kept
_CHUNK_BYTES = 128e6


def _spans(bounds, size):
    """(start, stop) chunks of at most `size` rows, fold by fold (bounds: the folds' row bounds)."""
    return [(int(s), int(min(s + size, b))) for a, b in zip(bounds[:-1], bounds[1:]) for s in range(a, b, size)]


class _TakenRows:
    """Rows `take` of (x, x0) as the source feature selection samples from (sources.select_features),
    gathering only the sampled rows."""

    def __init__(self, x, x0, take):
        self.x, self.x0, self.take, self.n = x, x0, take, len(take)

    def raw_map(self, function, state):
        if function is not sources.take_rows:  # the only pass feature selection makes
            raise NotImplementedError("_TakenRows serves the feature-selection samples only")
        rows, rows0 = state  # sorted sample indices into the taken rows
        return [(self.x[self.take[rows]], self.x0[self.take[rows0]])]


class _Orderings:
    """gpr.select_active's results, memoised on the content of its inputs (the newest `size`)."""

    def __init__(self, size=4):
        self.size = int(size)
        self._kept: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
        self.n_computed = 0

    def select_active(self, x0, length, random_state, candidates):
        if not isinstance(random_state, (int, np.integer)):  # a generator or None draws anew each time
            return gpr.select_active(x0, length, random_state, candidates)
        key = (_digest(x0), _digest(candidates), int(length), int(random_state))
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key].copy()
        order = gpr.select_active(x0, length, random_state, candidates)
        self.n_computed += 1
        if self.size > 0:
            self._kept[key] = order.copy()
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return order


def _digest(a):
    a = np.ascontiguousarray(a)
    return (a.shape, str(a.dtype), hashlib.blake2b(a.data, digest_size=16).hexdigest())


def _growth(n_folds):
    """|U| / n_sparse expected for the union of the folds' active sets (margin included)."""
    return 1.2 * n_folds / max(n_folds - 1, 1)


def _rows(sites, d):
    """Kernel rows of the given sites (d components each)."""
    return (np.asarray(sites)[:, None] * d + np.arange(d)).ravel()


class FoldFitter:
    """Cross-validation predictions of SAGPR models on the folds of a training set.

    train: site indices of the training set; folds: [(fold training sites, fold validation
    sites)] whose union is `train`. Keeps the FoldSystems of recent settings, at most `max_bytes`
    of them (the newest always); a setting whose kernel alone would exceed `max_kernel_bytes` is
    fitted fold by fold instead.
    """

    def __init__(self, store, train, folds, *, max_bytes: float = 4e9, max_kernel_bytes: float = 8e9,
                 keep_full_fits: bool = True):
        self.store = store
        self.train = np.asarray(train, dtype=int)
        position = {int(s): i for i, s in enumerate(self.train)}
        self.folds = [(np.array([position[int(s)] for s in tr]), np.array([position[int(s)] for s in va]))
                      for tr, va in folds]
        self.max_bytes = float(max_bytes)
        self.max_kernel_bytes = float(max_kernel_bytes)
        self._systems: "OrderedDict[str, FoldSystems]" = OrderedDict()
        self._unusable = set()  # settings FoldSystems.build declined
        self._orderings = _Orderings()
        # the sums of whole-training-set fits (FoldSystems.full_fit) of the newest settings: small,
        # and kept beyond release() for the final fit (CrossValidator.full_fit)
        self._full: "OrderedDict[str, dict]" = OrderedDict()
        self.keep_full_fits = bool(keep_full_fits)  # False: a screen's folds, whose sums no final fit uses

    def _systems_for(self, o3_lambda: int, params: dict, model, targets=None):
        key = self.setting_key(o3_lambda, params)
        if key in self._systems:
            self._systems.move_to_end(key)
            return self._systems[key]
        if key in self._unusable:
            return None
        # make room first: the systems of an old setting and those being built must not both be
        # held (for 30,000 sites the kernel alone is 4 GB)
        estimate = FoldSystems.kernel_bytes(len(self.train), 2 * o3_lambda + 1, model.n_sparse, len(self.folds),
                                            kept=targets is None)
        while self._systems and sum(v.nbytes for v in self._systems.values()) + estimate > self.max_bytes:
            self._systems.popitem(last=False)
        # LODE potential scales from the whole CV training set, like the active-set ordering (labels unused)
        f = self.store.pair(o3_lambda, params, scale_rows=self.train)
        systems = FoldSystems.build(model, f["x"], f["x0"], [va for _, va in self.folds], rows=self.train,
                                    max_kernel_bytes=self.max_kernel_bytes, orderings=self._orderings,
                                    keep_full_fit=self.keep_full_fits, targets=targets)
        if systems is None:
            self._unusable.add(key)
            return None
        self._systems[key] = systems
        while len(self._systems) > 1 and sum(v.nbytes for v in self._systems.values()) > self.max_bytes:
            self._systems.popitem(last=False)
        return systems

    def release(self):
        """Drop the kept systems (GBs for large sets) once no more CV fits are coming."""
        self._systems.clear()

    def full_fit(self, o3_lambda: int, params: dict) -> Optional[dict]:
        """The sums of a fit of `params` on the whole training set, when a CV run of the setting
        left them: {"active": training-site indices (into train) of the active set, "gram",
        "rhs", "n_train", "y_spread"} (SAGPR.fit_sums), or None."""
        return self._full.get(self.setting_key(o3_lambda, params))

    def setting_key(self, o3_lambda, params) -> str:
        """What the sums of a setting depend on (not the regularizer, for one)."""
        desc, gpr_params = settings.split(params)
        unused = ("regularizer", "jitter", "prediction", "uncertainty_n_sparse", "uncertainty_projection")  # settings the sums do not depend on
        shared = {k: v for k, v in {**desc, **gpr_params}.items() if k not in unused}
        return repr((o3_lambda, sorted(shared.items()), self.store.lode_settings(o3_lambda, params)))

    def predict(self, o3_lambda: int, params: dict, y_by_fold: Sequence) -> List[np.ndarray]:
        """Per fold: predictions (n_val, 2 lambda + 1) of the validation part from a model fitted
        on the training part with targets y_by_fold[k] (n_train_k, 2 lambda + 1), or None when the
        setting needs the separate per-fold fits (full GPR: as many active points as sites, or a
        kernel larger than max_bytes)."""
        model = make_model(o3_lambda, params, len(self.train))
        if model.n_sparse is None or model.n_sparse >= min(len(tr) for tr, _ in self.folds):
            return None
        trains = [tr for tr, _ in self.folds]
        # lambda > 0: the systems are built for these targets and keep no kernel (a fifth less
        # memory); other targets of the setting rebuild them
        targets = (trains, y_by_fold) if o3_lambda > 0 else None
        systems = self._systems_for(o3_lambda, params, model, targets)
        if systems is not None and not systems.serves(range(len(self.folds)), trains, y_by_fold):
            del self._systems[self.setting_key(o3_lambda, params)]
            systems = self._systems_for(o3_lambda, params, model, targets)
        if systems is None:
            return None
        out = systems.predict_folds(range(len(self.folds)), trains, [va for _, va in self.folds],
                                    y_by_fold, model.regularizer, model.jitter)
        if systems.full_fit is not None:
            key = self.setting_key(o3_lambda, params)
            self._full[key] = systems.full_fit
            self._full.move_to_end(key)
            while len(self._full) > 1:  # the newest; CrossValidator keeps the best one's too
                self._full.popitem(last=False)
        return out
