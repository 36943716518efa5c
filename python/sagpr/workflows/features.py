"""lambda-SOAP features of every site of a nucleus, computed once per descriptor setting.

Cross-validation folds, the scalar targets and the tensor model all reuse the same features of a
descriptor setting, so they are kept in a small least-recently-used store.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Tuple

import numpy as np

#: lambda-SOAP hyperparameters (the rest of a parameter set goes to the GPR)
DESCRIPTOR_KEYS = ("cutoff", "max_radial", "max_angular", "atomic_gaussian_width", "cutoff_smooth_width",
                   "center_atom_weight")
DESCRIPTOR_DEFAULTS = {"cutoff": 5.0, "max_radial": 6, "max_angular": 4, "atomic_gaussian_width": 0.4,
                       "cutoff_smooth_width": 0.5, "center_atom_weight": 1.0}


def split_params(params: dict) -> Tuple[dict, dict]:
    """(descriptor, GPR) parts of a parameter set; missing descriptor keys take DESCRIPTOR_DEFAULTS."""
    desc = {k: params.get(k, DESCRIPTOR_DEFAULTS[k]) for k in DESCRIPTOR_KEYS}
    for k in ("max_radial", "max_angular"):
        desc[k] = int(round(desc[k]))
    gpr = {k: v for k, v in params.items() if k not in DESCRIPTOR_KEYS}
    return desc, gpr


class FeatureStore:
    """Features (n_sites, 2 lambda + 1, F) of all sites of `sites`, memoised per (lambda, descriptor).

    The oldest entries are dropped once the store holds more than `max_bytes`.
    """

    def __init__(self, sites, *, max_bytes: float = 1.5e9):
        self.sites = sites
        self.max_bytes = float(max_bytes)
        self._store: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
        self.species = sorted({int(z) for atoms in sites.frames for z in np.unique(atoms.numbers)})
        self.n_computed = 0

    def get(self, o3_lambda: int, params: dict) -> np.ndarray:
        from sagpr.descriptors import LambdaSOAP

        desc, _ = split_params(params)
        key = (int(o3_lambda),) + tuple(float(desc[k]) for k in DESCRIPTOR_KEYS)
        if key in self._store:
            self._store.move_to_end(key)
            return self._store[key]
        calc = LambdaSOAP(o3_lambda=int(o3_lambda), species=self.species, normalize=True, **desc)
        frames = self.sites.frames
        x = np.asarray(calc.compute(frames, center_species=[self.sites.species]), dtype=np.float64)
        if len(x) != len(self.sites):
            raise RuntimeError(f"descriptor returned {len(x)} centres for {len(self.sites)} sites")
        self.n_computed += 1
        self._store[key] = x
        # keep the newest two (a lambda and its lambda = 0 partner) whatever their size
        while len(self._store) > 2 and sum(v.nbytes for v in self._store.values()) > self.max_bytes:
            self._store.popitem(last=False)
        return x

    def pair(self, o3_lambda: int, params: dict) -> Dict[str, np.ndarray]:
        """{"x": lambda features, "x0": lambda=0 features (n, F0)} for a SAGPR of `o3_lambda`."""
        x0 = self.get(0, params)[:, 0, :]
        x = self.get(o3_lambda, params) if o3_lambda else None
        return {"x": x if x is not None else x0[:, None, :], "x0": x0}
