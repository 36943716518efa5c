"""Long-distance equivariant (LODE) features: the potential of the whole structure around each centre.

The electrostatic part of an EFG decays as 1/r^3, so a 5-6 A local density misses part of it.
LODE (Grisafi & Ceriotti, J. Chem. Phys. 151, 204105 (2019)) expands, around each centre, the
Coulomb potential V^a of the Gaussian-smeared density of each species a of the whole (periodic)
structure on the same GTO x real-harmonic basis as the local density; the multi-scale features
(Grisafi, Nigam & Ceriotti, Chem. Sci. 12, 2078 (2021)) couple the local density c with V:

    x_mu[(a n l1), (b n' l2)] = sum C^{lambda mu}_{l1 m1 l2 m2} c^a_{n l1 m1} V^b_{n' l2 m2}.

Periodic cells are Ewald-summed (the result does not depend on the splitting width, tested) with
each species' k = 0 term dropped (zero cell average); clusters by direct sum. Everything is in
the C++ core (sagpr._core.LodeExpansion / LodeProduct), OpenMP over centres.

    >>> from sagpr.lode import LODE, MultiScaleLambdaSOAP
    >>> lode = LODE(cutoff=4.0, max_radial=4, max_angular=3, atomic_gaussian_width=1.0)
    >>> V = lode.compute(frames, center_species="Li")          # (n, n_species, 4, 16)
    >>> ms = MultiScaleLambdaSOAP(cutoff=5.0, max_radial=6, max_angular=4, atomic_gaussian_width=0.4,
    ...                           lode_cutoff=4.0, lode_max_radial=4, lode_max_angular=3,
    ...                           lode_atomic_gaussian_width=1.0)
    >>> x = ms.compute_many(frames, (0, 2), center_species="Li")   # {lambda: (n, 2 lambda+1, F)}

:func:`combine` concatenates normalised local and multi-scale features with weights
sqrt(1 - w), sqrt(w): dot products, hence lambda-SOAP kernels, become (1 - w) K_local + w K_LODE,
so every model, selection and prediction route of sagpr works on them unchanged. Defaults and
rules of every LODE hyperparameter are in sagpr.settings (part "lode").
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from . import _core, settings
from .frames import as_frame_list, frame_arrays, species_numbers

__all__ = ["LODE", "MultiScaleLambdaSOAP", "combine"]


def _data_and_centers(frames, species, center_species):
    frames = as_frame_list(frames)
    if species is None:
        found = set()
        for atoms in frames:
            found.update(int(z) for z in np.unique(atoms.numbers))
        if not found:
            raise ValueError("no atoms in the frames")
        species = sorted(found)
    data = [frame_arrays(atoms, index) for index, atoms in enumerate(frames)]
    centers = [] if center_species is None else species_numbers(
        [center_species] if isinstance(center_species, (str, int)) else center_species)
    return list(species), data, centers


def _ewald_width(width, ewald_width):
    # Default split: Gaussians twice as wide in reciprocal space. With sigma = 0.5 A it was the
    # fastest of 0.5 (reciprocal only), 0.75, 1 and 1.5 A on 42-atom LTO cells (6x faster than
    # reciprocal only) and on a 1512-atom cell (4.6x); any value >= width gives the same
    # coefficients to the accuracy (tested).
    return float(2.0 * width if ewald_width is None else ewald_width)


class LODE:
    """LODE expansion of the species potentials around each centre (see the module docstring).

    cutoff, max_radial, max_angular : GTO basis, as lambda-SOAP's (the basis decays smoothly;
        cutoff sets its widths, the potential is projected over all space).
    atomic_gaussian_width : sigma of the smeared atoms (A); larger is smoother and cheaper.
    ewald_width : Gaussian width of the reciprocal-space part (>= sigma; None: 2 sigma; sigma: reciprocal only).
    accuracy : relative truncation of the Ewald sums.
    include_center : keep the centre's own Gaussian in its potential (default: excluded, the
        potential "seen" by the centre).
    species : the channels (None: the elements of the frames).
    """

    def __init__(self, *, cutoff: float = settings.default("lode_cutoff"),
                 max_radial: int = settings.default("lode_max_radial"),
                 max_angular: int = settings.default("lode_max_angular"),
                 atomic_gaussian_width: float = settings.default("lode_atomic_gaussian_width"),
                 ewald_width: Optional[float] = settings.default("lode_ewald_width"),
                 accuracy: float = settings.default("lode_accuracy"),
                 include_center: bool = settings.default("lode_include_center"), species=None):
        settings.check_all({"lode_cutoff": cutoff, "lode_max_radial": max_radial, "lode_max_angular": max_angular,
                            "lode_atomic_gaussian_width": atomic_gaussian_width, "lode_ewald_width": ewald_width,
                            "lode_accuracy": accuracy, "lode_include_center": include_center, "species": species})
        self.cutoff = float(cutoff)
        self.max_radial = int(max_radial)
        self.max_angular = int(max_angular)
        self.atomic_gaussian_width = float(atomic_gaussian_width)
        self.ewald_width = _ewald_width(self.atomic_gaussian_width, ewald_width)
        self.accuracy = float(accuracy)
        self.include_center = bool(include_center)
        self.species = None if species is None else species_numbers(species)
        self._calculators = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_calculators"] = {}
        return state

    def _calculator(self, species):
        key = tuple(species)
        if key not in self._calculators:
            self._calculators[key] = _core.LodeExpansion(
                self.cutoff, self.max_radial, self.max_angular, self.atomic_gaussian_width, self.ewald_width,
                self.accuracy, self.include_center, list(species))
        return self._calculators[key]

    def compute(self, frames, center_species=None) -> np.ndarray:
        """Coefficients (n_centers, n_species, max_radial, (max_angular+1)^2), lm = l*l + l + m, in
        the layout of LambdaSOAP.density; centres in frame order then atom order."""
        species, data, centers = _data_and_centers(frames, self.species, center_species)
        return self._calculator(species).compute(data, centers)

    def compute_atoms(self, atoms, indices) -> np.ndarray:
        """Coefficients of the atoms ``indices`` of one structure (n_indices, n_species, max_radial, lm)."""
        species, data, _ = _data_and_centers([atoms], self.species, None)
        return self._calculator(species).compute_atoms(data[0], [int(i) for i in indices])


class MultiScaleLambdaSOAP:
    """Equivariant rho x V features: the local lambda-SOAP density coupled with the LODE expansion.

    Local keywords as sagpr.LambdaSOAP (cutoff, max_radial, max_angular, atomic_gaussian_width,
    cutoff_smooth_width, center_atom_weight); ``lode_*`` keywords as :class:`LODE`. Each
    centre's (2 lambda + 1, F) block has unit norm, and is exactly zero when it vanishes by
    symmetry (norm below 1e-10 |c| |V|), as lambda-SOAP does.
    """

    def __init__(self, *, cutoff: float, max_radial: int, max_angular: int, atomic_gaussian_width: float,
                 lode_cutoff: float = settings.default("lode_cutoff"),
                 lode_max_radial: int = settings.default("lode_max_radial"),
                 lode_max_angular: int = settings.default("lode_max_angular"),
                 lode_atomic_gaussian_width: float = settings.default("lode_atomic_gaussian_width"),
                 lode_ewald_width: Optional[float] = settings.default("lode_ewald_width"),
                 lode_accuracy: float = settings.default("lode_accuracy"),
                 lode_include_center: bool = settings.default("lode_include_center"),
                 cutoff_smooth_width: float = settings.default("cutoff_smooth_width"),
                 center_atom_weight: float = settings.default("center_atom_weight"), species=None,
                 normalize: bool = True):
        settings.check_all({"cutoff": cutoff, "max_radial": max_radial, "max_angular": max_angular,
                            "atomic_gaussian_width": atomic_gaussian_width,
                            "cutoff_smooth_width": cutoff_smooth_width, "center_atom_weight": center_atom_weight,
                            "species": species})
        self.local = dict(cutoff=float(cutoff), max_radial=int(max_radial), max_angular=int(max_angular),
                          atomic_gaussian_width=float(atomic_gaussian_width),
                          cutoff_smooth_width=float(cutoff_smooth_width),
                          center_atom_weight=float(center_atom_weight))
        self.lode = LODE(cutoff=lode_cutoff, max_radial=lode_max_radial, max_angular=lode_max_angular,
                         atomic_gaussian_width=lode_atomic_gaussian_width, ewald_width=lode_ewald_width,
                         accuracy=lode_accuracy, include_center=lode_include_center)
        self.species = None if species is None else species_numbers(species)
        self.normalize = bool(normalize)
        self._calculators = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_calculators"] = {}
        return state

    def _calculator(self, species, lambdas):
        key = (tuple(lambdas), tuple(species))
        if key not in self._calculators:
            lo, l = self.local, self.lode
            self._calculators[key] = _core.LodeProduct(
                list(lambdas), lo["cutoff"], lo["max_radial"], lo["max_angular"], lo["atomic_gaussian_width"],
                lo["cutoff_smooth_width"], lo["center_atom_weight"], self.normalize, l.cutoff, l.max_radial,
                l.max_angular, l.atomic_gaussian_width, l.ewald_width, l.accuracy, l.include_center, list(species))
        return self._calculators[key]

    def compute_many(self, frames, o3_lambdas: Sequence[int], center_species=None) -> Dict[int, np.ndarray]:
        """{lambda: (n_centers, 2 lambda + 1, n_features)} for every lambda of ``o3_lambdas``."""
        lambdas = tuple(int(lam) for lam in dict.fromkeys(o3_lambdas))
        if not lambdas:
            raise ValueError("o3_lambdas must list at least one angular order")
        for lam in lambdas:
            settings.check_all({"o3_lambda": lam, "max_angular": self.local["max_angular"]})
        species, data, centers = _data_and_centers(frames, self.species, center_species)
        return dict(zip(lambdas, self._calculator(species, lambdas).compute(data, centers)))

    def feature_labels(self, o3_lambda: int, species) -> np.ndarray:
        """(n_features, 6): (Z_a, n, l1) of the local density, (Z_b, n', l2) of the potential."""
        return np.asarray(self._calculator(species_numbers(species), (int(o3_lambda),)).labels[0])


def combine(local: np.ndarray, lode: np.ndarray, weight: float = settings.default("lode_weight")) -> np.ndarray:
    """Concatenate normalised local and LODE features along the feature axis with weights sqrt(1 - w)
    and sqrt(w): x.x' = (1 - w) x_local.x_local' + w x_lode.x_lode' (a kernel sum), unit norm kept."""
    settings.check("lode_weight", weight)
    weight = float(weight)
    local, lode = np.asarray(local, float), np.asarray(lode, float)
    if local.shape[:-1] != lode.shape[:-1]:
        raise ValueError(f"local and LODE features differ in shape: {local.shape} vs {lode.shape}")
    return np.concatenate([np.sqrt(1.0 - weight) * local, np.sqrt(weight) * lode], axis=-1)
