"""lambda-SOAP features of every site of a nucleus, computed once per descriptor setting.

Cross-validation folds, the scalar targets and the tensor model all reuse the same features of a
descriptor setting, so they are kept in a small least-recently-used store.
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

    def pair(self, o3_lambda: int, params: dict) -> Dict[str, np.ndarray]:
        """{"x": lambda features, "x0": lambda=0 features (n, F0)} for a SAGPR of `o3_lambda`."""
        from sagpr.descriptors import sagpr_pair

        x, x0 = sagpr_pair(self.get_many((o3_lambda, 0), params), o3_lambda)
        return {"x": x, "x0": x0}
