"""lambda-SOAP descriptors: equivariant power spectra of smooth neighbour densities."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from . import _core
from ._frames import FrameInput, as_frame_list, frame_arrays, species_numbers

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
    """

    def __init__(
        self,
        *,
        o3_lambda: int,
        cutoff: float,
        max_radial: int,
        max_angular: int,
        atomic_gaussian_width: float,
        cutoff_smooth_width: float = 0.5,
        center_atom_weight: float = 1.0,
        species: Optional[Species] = None,
        normalize: bool = True,
    ):
        self.o3_lambda = _integer("o3_lambda", o3_lambda, minimum=0)
        self.cutoff = _positive("cutoff", cutoff)
        self.max_radial = _integer("max_radial", max_radial, minimum=1)
        self.max_angular = _integer("max_angular", max_angular, minimum=0)
        self.atomic_gaussian_width = _positive("atomic_gaussian_width", atomic_gaussian_width)
        self.cutoff_smooth_width = float(cutoff_smooth_width)
        if not 0.0 <= self.cutoff_smooth_width <= self.cutoff:
            raise ValueError(f"cutoff_smooth_width must be between 0 and cutoff, got {cutoff_smooth_width!r}")
        self.center_atom_weight = float(center_atom_weight)
        if not np.isfinite(self.center_atom_weight):
            raise ValueError("center_atom_weight must be finite")
        if self.o3_lambda > 2 * self.max_angular:
            raise ValueError(
                f"o3_lambda={self.o3_lambda} needs max_angular >= {(self.o3_lambda + 1) // 2} to have any feature"
            )
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

    def _calculator(self, species):
        key = tuple(species)
        if key not in self._calculators:
            self._calculators[key] = _core.LambdaSoap(
                self.o3_lambda,
                self.cutoff,
                self.max_radial,
                self.max_angular,
                self.atomic_gaussian_width,
                self.cutoff_smooth_width,
                self.center_atom_weight,
                self.normalize,
                list(key),
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

    def _prepare(self, frames: FrameInput, center_species):
        frames = as_frame_list(frames)
        species = self._species_of(frames)
        allowed = np.zeros(119, dtype=bool)
        allowed[species] = True
        data = []
        for index, atoms in enumerate(frames):
            arrays = frame_arrays(atoms, index)
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
        return self._calculator(species), data, centers

    def compute(self, frames: FrameInput, center_species=None) -> np.ndarray:
        """Features of every centre: float64 array (n_centers, 2*o3_lambda+1, n_features).

        Centres are the atoms of ``center_species`` (a symbol, number or list of them; all atoms
        if None), in frame order then atom order.
        """
        calculator, data, centers = self._prepare(frames, center_species)
        return calculator.compute(data, centers)

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
        return int(self._fixed_calculator().n_features)

    @property
    def feature_labels(self) -> np.ndarray:
        """(n_features, 6) int array: (Z_a, n, l1, Z_b, n', l2) of each feature (needs ``species``).

        Each unordered pair of density channels appears once; off-diagonal pairs carry a factor
        sqrt(2), so dot products equal those of the full ordered tensor product.
        """
        return np.asarray(self._fixed_calculator().labels)


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive(name, value):
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _symbols(numbers):
    from ase.data import chemical_symbols

    return [chemical_symbols[z] for z in numbers]
