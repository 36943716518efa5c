"""lambda-SOAP descriptors: equivariant power spectra of smooth neighbour densities."""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, settings
from .frames import FrameInput, as_frame_list, frame_arrays, species_numbers
from .neighbors import check_min_distance

Species = Sequence[Union[int, str]]


class LambdaSOAP:
    """lambda-SOAP features of atomic environments (Grisafi et al., PRL 120, 036002, 2018).

    Each neighbour of species a contributes a normalised Gaussian of width
    ``atomic_gaussian_width`` (Angstrom) to a density expanded on ``max_radial`` orthonormal GTO
    radial functions times real spherical harmonics up to ``max_angular``, inside ``cutoff`` with a
    cosine switch over the last ``cutoff_smooth_width``. Pairs of density channels (a, n, l1) and
    (b, n', l2) are coupled with real Clebsch-Gordan coefficients into 2*o3_lambda+1 components,
    keeping l1 + l2 + o3_lambda even (proper tensors). ``o3_lambda=0`` is the usual SOAP power
    spectrum. Features rotate with the real Wigner-D matrix of ``o3_lambda`` in sagpr's real
    spherical-harmonic convention (m = -l..l, no Condon-Shortley phase; l=2 order xy, yz,
    3z^2-r^2, xz, x^2-y^2), the same as ``sagpr.tensors``.

    Radial integrals are tabulated once per calculator by Gauss-Legendre quadrature and
    interpolated with cubic Hermite splines on a grid of spacing width/100 (relative error
    below 1e-10, tested).

    Parameters are keyword-only. ``species`` fixes the neighbour channels (element symbols or
    atomic numbers) so that features of different datasets line up; without it the species of
    the frames passed to :meth:`compute` are used. With ``normalize=True`` each centre's
    (2*o3_lambda+1, n_features) block has unit Frobenius norm, and a centre whose features vanish
    by symmetry (norm below 1e-10 relative to its density) gets exactly zero features instead of
    normalised round-off noise.

    :meth:`compute_many` gives the features of several angular orders (e.g. the lambda=2 and
    lambda=0 features a tensor model needs) from one neighbour list and one density expansion per
    centre; each lambda's features equal those of a calculator of that ``o3_lambda`` alone.
    """

    def __init__(
        self,
        *,
        o3_lambda: int,
        cutoff: float,
        max_radial: int,
        max_angular: int,
        atomic_gaussian_width: float,
        cutoff_smooth_width: float = settings.default("cutoff_smooth_width"),
        center_atom_weight: float = settings.default("center_atom_weight"),
        species: Optional[Species] = None,
        normalize: bool = True,
    ):
        settings.check_all({"o3_lambda": o3_lambda, "cutoff": cutoff, "max_radial": max_radial,
                            "max_angular": max_angular, "atomic_gaussian_width": atomic_gaussian_width,
                            "cutoff_smooth_width": cutoff_smooth_width, "center_atom_weight": center_atom_weight,
                            "species": species})
        self.o3_lambda = int(o3_lambda)
        self.cutoff = float(cutoff)
        self.max_radial = int(max_radial)
        self.max_angular = int(max_angular)
        self.atomic_gaussian_width = float(atomic_gaussian_width)
        self.cutoff_smooth_width = float(cutoff_smooth_width)
        self.center_atom_weight = float(center_atom_weight)
        self.species = None if species is None else species_numbers(species)
        if self.species is not None and not self.species:
            raise ValueError("species must not be empty")
        self.normalize = bool(normalize)
        self._calculators = {}

    def get_params(self) -> dict:
        """The hyperparameters, as keyword arguments of the constructor."""
        return {
            "o3_lambda": self.o3_lambda,
            "cutoff": self.cutoff,
            "max_radial": self.max_radial,
            "max_angular": self.max_angular,
            "atomic_gaussian_width": self.atomic_gaussian_width,
            "cutoff_smooth_width": self.cutoff_smooth_width,
            "center_atom_weight": self.center_atom_weight,
            "species": None if self.species is None else list(self.species),
            "normalize": self.normalize,
        }

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"LambdaSOAP({args})"

    def __getstate__(self):
        # C++ calculators are rebuilt on demand after unpickling (e.g. on a Dask worker).
        state = dict(self.__dict__)
        state["_calculators"] = {}
        return state

    def _calculator(self, species, o3_lambdas=None, o3_sigmas=()):
        # one C++ calculator per (lambdas, sigmas, species): each tabulates its own radial integrals
        lambdas = (self.o3_lambda,) if o3_lambdas is None else tuple(o3_lambdas)
        key = (lambdas, tuple(species)) if not o3_sigmas else (lambdas, tuple(species), tuple(o3_sigmas))
        if key not in self._calculators:
            self._calculators[key] = _core.LambdaSoap(
                list(lambdas),
                self.cutoff,
                self.max_radial,
                self.max_angular,
                self.atomic_gaussian_width,
                self.cutoff_smooth_width,
                self.center_atom_weight,
                self.normalize,
                list(species),
                list(o3_sigmas),
            )
        return self._calculators[key]

    def _species_of(self, frames):
        if self.species is not None:
            return self.species
        found = set()
        for atoms in frames:
            found.update(int(z) for z in np.unique(atoms.numbers))
        if not found:
            raise ValueError("no atoms in the frames")
        return sorted(found)

    def _prepare(self, frames: FrameInput, center_species, o3_lambdas=None, first_atom_only=False):
        frames = as_frame_list(frames)
        species = self._species_of(frames)
        allowed = np.zeros(119, dtype=bool)
        allowed[species] = True
        data = []
        for index, atoms in enumerate(frames):
            arrays = frame_arrays(atoms, index)
            check_min_distance(atoms, index)
            numbers = arrays[1]
            unknown = np.flatnonzero(~allowed[np.clip(numbers, 0, 118)])
            if unknown.size:
                atom = int(unknown[0])
                raise ValueError(
                    f"frame {index}: atom {atom} is {atoms.get_chemical_symbols()[atom]}, which is not among "
                    f"the descriptor's species {_symbols(species)}"
                )
            data.append(arrays)
        centers = [] if center_species is None else species_numbers(
            [center_species] if isinstance(center_species, (str, int)) else center_species
        )
        if first_atom_only:
            centers = [0]  # the C++ core's "first atom of each frame"
        return self._calculator(species, o3_lambdas), data, centers

    def compute(self, frames: FrameInput, center_species=None) -> np.ndarray:
        """Features of every centre: float64 array (n_centers, 2*o3_lambda+1, n_features).

        Centres are the atoms of ``center_species`` (a symbol, number or list of them; all atoms
        if None), in frame order then atom order.
        """
        calculator, data, centers = self._prepare(frames, center_species)
        return calculator.compute(data, centers)[0]

    def compute_many(self, frames: FrameInput, o3_lambdas: Sequence[int], center_species=None, *,
                     first_atom_only: bool = False) -> Dict[int, np.ndarray]:
        """Features of several angular orders in one pass: {lambda: (n_centers, 2*lambda+1, n_features_lambda)}.

        Every centre's neighbour list and density expansion are built once and coupled into each
        of ``o3_lambdas`` (the constructor's ``o3_lambda`` is not used; repeated values are
        computed once). ``result[lam]`` equals ``LambdaSOAP(o3_lambda=lam, <same settings>).compute(...)``
        to round-off, normalisation and symmetry zeros included; centres as in :meth:`compute`.
        first_atom_only=True: the first atom of every frame is its one centre (environments stored as
        clusters with their centre first, sagpr.models.environments), whatever its species.
        """
        if isinstance(o3_lambdas, (int, np.integer)):
            raise TypeError("o3_lambdas must be a sequence of angular orders, e.g. (0, 2)")
        lambdas = tuple(dict.fromkeys(o3_lambdas))
        if not lambdas:
            raise ValueError("o3_lambdas must list at least one angular order")
        for lam in lambdas:
            settings.check_all({"o3_lambda": lam, "max_angular": self.max_angular})
        lambdas = tuple(int(lam) for lam in lambdas)
        calculator, data, centers = self._prepare(frames, center_species, lambdas, first_atom_only)
        return dict(zip(lambdas, calculator.compute(data, centers)))

    def compute_parts(self, frames: FrameInput, parts: Sequence[Tuple[int, int]],
                      center_species=None) -> Dict[Tuple[int, int], np.ndarray]:
        """Features of several (o3_lambda, o3_sigma) pairs in one pass: {(lambda, sigma): (n_centers, 2*lambda+1, F)}.

        sigma = +1 are the features of :meth:`compute_many` (l1 + l2 + lambda even); sigma = -1
        couples l1 + l2 + lambda odd (real Clebsch-Gordan coefficients of the improper coupling,
        :func:`real_clebsch_gordan`): these are pseudotensor features, multiplied by -(-1)^lambda under
        inversion instead of (-1)^lambda, what the parts of a Cartesian tensor with
        sigma = -1 need (e.g. lambda = 2 of a rank-3 polar tensor; see sagpr.cartesian). Pairs
        (a n l) = (b n' l) vanish for them and are not kept. Normalisation and symmetry zeros
        are per pair, as for sigma = +1; (0, -1) has no feature.
        """
        pairs = tuple(dict.fromkeys((int(lam), int(sig)) for lam, sig in parts))
        if not pairs:
            raise ValueError("parts must list at least one (o3_lambda, o3_sigma) pair")
        for lam, sig in pairs:
            settings.check_all({"o3_lambda": lam, "max_angular": self.max_angular})
            if sig not in (1, -1):
                raise ValueError(f"o3_sigma must be 1 or -1, got {sig!r}")
            if sig == -1 and lam == 0:
                raise ValueError("o3_lambda=0 with o3_sigma=-1 has no lambda-SOAP feature (pseudoscalars need "
                                 "three-body correlations)")
        frames = as_frame_list(frames)
        _, data, centers = self._prepare(frames, center_species, (0,))  # checked frames and centres
        calculator = self._calculator(self._species_of(frames), [p[0] for p in pairs],
                                      [p[1] for p in pairs])
        return dict(zip(pairs, calculator.compute(data, centers)))

    def density(self, frames: FrameInput, center_species=None) -> np.ndarray:
        """Density coefficients (n_centers, n_species, max_radial, (max_angular+1)^2), lm = l*l+l+m."""
        calculator, data, centers = self._prepare(frames, center_species)
        return calculator.density(data, centers)

    def _fixed_calculator(self):
        if self.species is None:
            raise ValueError("n_features and feature_labels need the species fixed: pass species=[...]")
        return self._calculator(self.species)

    @property
    def n_features(self) -> int:
        """Number of features per component (needs ``species``)."""
        return int(self._fixed_calculator().n_features[0])

    def part_labels(self, o3_lambda: int, o3_sigma: int = 1) -> np.ndarray:
        """(n_features, 6) labels (Z_a, n, l1, Z_b, n', l2) of the (o3_lambda, o3_sigma) features of
        :meth:`compute_parts` (needs ``species``)."""
        if self.species is None:
            raise ValueError("part_labels needs the species fixed: pass species=[...]")
        return np.asarray(self._calculator(self.species, (int(o3_lambda),), (int(o3_sigma),)).labels[0])

    @property
    def feature_labels(self) -> np.ndarray:
        """(n_features, 6) int array: (Z_a, n, l1, Z_b, n', l2) of each feature (needs ``species``).

        Each unordered pair of density channels appears once; off-diagonal pairs carry a factor
        sqrt(2), so dot products equal those of the full ordered tensor product.
        """
        return np.asarray(self._fixed_calculator().labels[0])


def sagpr_pair(features: Mapping[int, np.ndarray], o3_lambda: int) -> Tuple[np.ndarray, np.ndarray]:
    """(x, x0) that a SAGPR of ``o3_lambda`` takes, from ``features`` = {lambda: (n, 2*lambda+1, F)}
    holding ``o3_lambda`` and 0 (as :meth:`LambdaSOAP.compute_many` gives them).

    x is features[o3_lambda] (n, 2*o3_lambda+1, F); x0 the lambda=0 features (n, F0), a view of
    features[0]. For o3_lambda=0, x is x0[:, None, :] (the same memory).
    """
    x0 = features[0][:, 0, :]  # contiguous when features[0] is: (n, 1, F0) has one component
    return (features[int(o3_lambda)] if o3_lambda else x0[:, None, :]), x0


def real_clebsch_gordan(l1: int, l2: int, o3_lambda: int) -> np.ndarray:
    """Real Clebsch-Gordan coefficients C[mu, m1, m2] (2*o3_lambda+1, 2*l1+1, 2*l2+1) in sagpr's
    real-harmonic convention, unit norm per mu: B_mu = sum C[mu, m1, m2] a_m1 b_m2 rotates like
    Y_{o3_lambda} when a and b rotate like Y_l1 and Y_l2. Proper (l1 + l2 + lambda even) couplings
    are the normalised real Gaunt integrals, improper (odd) ones the imaginary part of the complex
    CG carried to real harmonics (1 x 1 -> 1 is the cross product / sqrt 2, up to sign)."""
    l1, l2, o3_lambda = int(l1), int(l2), int(o3_lambda)
    if not abs(l1 - l2) <= o3_lambda <= l1 + l2 or min(l1, l2) < 0:
        raise ValueError(f"no coupling of l1={l1} and l2={l2} to lambda={o3_lambda}")
    if (l1 + l2 + o3_lambda) % 2:
        return _core.real_clebsch_gordan_odd(l1, l2, o3_lambda)
    return _core.real_clebsch_gordan(l1, l2, o3_lambda)


def _symbols(numbers):
    from ase.data import chemical_symbols

    return [chemical_symbols[z] for z in numbers]
