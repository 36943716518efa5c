"""lambda-SOAP (and LODE) features of every site of a nucleus, computed once per setting.

Cross-validation folds, the scalar targets and the tensor model all reuse the same features of a
descriptor setting, so they are kept in a small least-recently-used store. A parameter set
that names lode_* hyperparameters (sagpr.settings.lode_part) gets local + LODE features, built
as sagpr.models.lode_tensor.LodeTensorModel builds them: the LODE expansion is computed once per
LODE setting (lode_weight and the local settings do not change it) and joined to the stored
local features by concatenation only.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict

import numpy as np

from sagpr import settings

class FeatureStore:
    """Features (n_sites, 2 lambda + 1, F) of all sites of `sites`, memoised per (lambda, descriptor).

    The oldest entries are dropped once the store holds more than `max_bytes`.
    """

    def __init__(self, sites, *, max_bytes: float = 1.5e9):
        self.sites = sites
        self.max_bytes = float(max_bytes)
        self._store: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
        self.species = sorted({int(z) for atoms in sites.frames for z in np.unique(atoms.numbers)})
        self.n_computed = 0  # feature sets computed
        self.n_passes = 0  # descriptor calls (one can give several lambdas)
        self._lode: "OrderedDict[tuple, object]" = OrderedDict()
        self.n_lode_passes = 0  # LODE expansions (or rho x V passes) computed

    def get(self, o3_lambda: int, params: dict) -> np.ndarray:
        return self.get_many((o3_lambda,), params)[int(o3_lambda)]

    def get_many(self, o3_lambdas, params: dict) -> Dict[int, np.ndarray]:
        """{lambda: features} of several lambdas; those not stored come from one descriptor pass."""
        from sagpr.descriptors import LambdaSOAP

        desc, _ = settings.split(params)
        desc.pop("species")  # the store's channels are those of its sites
        keys = {int(lam): (int(lam),) + tuple(float(v) for v in desc.values()) for lam in o3_lambdas}
        missing = [lam for lam, key in keys.items() if key not in self._store]
        if missing:
            # drop old settings before computing, not after: old and new features of 40,000 sites
            # must not be held at once
            wanted = set(keys.values())
            for old in [k for k in self._store if k not in wanted]:  # oldest first
                if sum(v.nbytes for v in self._store.values()) <= self.max_bytes:
                    break
                del self._store[old]
            calc = LambdaSOAP(o3_lambda=missing[0], species=self.species, normalize=True, **desc)
            feats = calc.compute_many(self.sites.frames, o3_lambdas=missing, center_species=[self.sites.species])
            for lam in missing:
                x = np.asarray(feats[lam], dtype=np.float64)
                if len(x) != len(self.sites):
                    raise RuntimeError(f"descriptor returned {len(x)} centres for {len(self.sites)} sites")
                self.n_computed += 1  # feature sets, as before; n_passes counts descriptor calls
                self._store[keys[lam]] = x
            self.n_passes += 1
        for key in keys.values():
            self._store.move_to_end(key)
        out = {lam: self._store[key] for lam, key in keys.items()}
        # keep the newest two (a lambda and its lambda = 0 partner) whatever their size
        while len(self._store) > max(2, len(keys)) and sum(v.nbytes for v in self._store.values()) > self.max_bytes:
            self._store.popitem(last=False)
        return out

    def pair(self, o3_lambda: int, params: dict, *, scale_rows=None) -> Dict[str, np.ndarray]:
        """{"x": lambda features, "x0": lambda=0 features (n, F0)} for a SAGPR of `o3_lambda`.

        With LODE settings in `params`, the local + LODE features; scale_rows: the sites whose
        root mean square sets the scale of the potential blocks (a model's training sites; None:
        all sites)."""
        from sagpr.descriptors import sagpr_pair

        lambdas = (o3_lambda, 0)
        feats = self.get_many(lambdas, params)
        lode = settings.lode_part(params)
        if lode is not None:
            feats = self._with_lode(feats, params, lode, scale_rows)
        x, x0 = sagpr_pair(feats, o3_lambda)
        return {"x": x, "x0": x0}

    def lode_settings(self, o3_lambda: int, params: dict):
        """The LODE settings the features of `o3_lambda` depend on, None when none (no LODE, or
        lambda = 0 of "potential" features, which stay local): a key for what is built on them."""
        lode = settings.lode_part(params)
        if lode is None or (lode["lode_features"] == "potential" and int(o3_lambda) == 0):
            return None
        return lode

    def _with_lode(self, local, params, lode, scale_rows):
        from sagpr.models.lode_tensor import potential_blocks, potential_scale, with_lode

        if lode["lode_features"] == "product":
            return with_lode(local, {lam: self._lode_features(params, lode, lam) for lam in local}, lode)
        v = self._lode_features(params, lode, None)
        blocks = potential_blocks(v, local, lode["lode_max_angular"])
        rows = slice(None) if scale_rows is None else np.asarray(scale_rows)
        scales = {lam: potential_scale(block[rows]) for lam, block in blocks.items()}
        return with_lode(local, blocks, lode, scales)

    def _lode_features(self, params, lode, o3_lambda):
        """The LODE expansion (o3_lambda None) or the rho x V features of o3_lambda, memoised.

        Kept apart from the local features (small: n_species * max_radial * 16 numbers a site);
        at most max_bytes / 4 of them, the newest always."""
        from sagpr.models.lode_tensor import lode_calculator

        expansion = tuple(repr(v) for k, v in lode.items() if k not in ("lode_weight", "lode_features"))
        desc, _ = settings.split(params)
        desc.pop("species")
        if o3_lambda is None:
            key = ("potential",) + expansion
            lambdas = None
        else:  # rho x V depends on the local settings too; all lambdas of a pass are stored
            key = ("product", int(o3_lambda)) + expansion + tuple(float(v) for v in desc.values())
            lambdas = (int(o3_lambda), 0)
        if key not in self._lode:
            calc = lode_calculator(lode, self.species, desc)
            centers = [self.sites.species]
            if lambdas is None:
                computed = {key: np.asarray(calc.compute(self.sites.frames, center_species=centers))}
            else:
                multi = calc.compute_many(self.sites.frames, lambdas, center_species=centers)
                computed = {key[:1] + (lam,) + key[2:]: np.asarray(x) for lam, x in multi.items()}
            for k, x in computed.items():
                if len(x) != len(self.sites):
                    raise RuntimeError(f"LODE returned {len(x)} centres for {len(self.sites)} sites")
                self._lode[k] = x
            self.n_lode_passes += 1
        self._lode.move_to_end(key)
        value = self._lode[key]
        while len(self._lode) > 2 and sum(x.nbytes for x in self._lode.values()) > self.max_bytes / 4:
            self._lode.popitem(last=False)
        return value
