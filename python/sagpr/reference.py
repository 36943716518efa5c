"""Reference electric field gradients from point charges (Ewald summation in the C++ core).

The point-charge EFG is a *synthetic* target: an exact, cheap, symmetry-correct tensor property of a
structure that lets the whole learning workflow run without DFT data. It is not a proxy for the
DFT (electronic) EFG, which is dominated by the valence electrons near the nucleus.

Units: charges in e, lengths in Angstrom. EFGs in V/A^2 by default (e/A^3 x 14.399645), atomic
units (Hartree/(e bohr^2); 1 au = 97.173624292 V/A^2) or e/A^3, with the constants and spellings
of sagpr.units. Energies in eV.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np
from ase import Atoms

from .frames import frame_arrays
from .units import AU_TO_V_PER_A2, COULOMB_EV_ANGSTROM, E_PER_A3, POINT_CHARGE_UNITS, convert_efg, normalize_units

__all__ = [
    "FORMAL_CHARGES",
    "COULOMB_EV_ANGSTROM",
    "VA2_PER_AU",
    "formal_charges",
    "ewald_parameters",
    "point_charge_efg",
    "point_charge_potential",
    "point_charge_energy",
    "ewald_coupling_matrix",
]

# COULOMB_EV_ANGSTROM: e^2/(4 pi eps0) in eV A (sagpr.units): converts e/A -> V, e/A^3 -> V/A^2, e^2/A -> eV.
#: One atomic unit of EFG (Hartree/(e bohr^2)) in V/A^2: sagpr.units.AU_TO_V_PER_A2.
VA2_PER_AU = AU_TO_V_PER_A2

#: Formal (oxidation-state) charges used when none are given.
FORMAL_CHARGES: Dict[str, float] = {
    "H": 1, "Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Ag": 1,
    "Be": 2, "Mg": 2, "Ca": 2, "Sr": 2, "Ba": 2, "Zn": 2, "Cd": 2,
    "B": 3, "Al": 3, "Ga": 3, "Sc": 3, "Y": 3, "La": 3,
    "Si": 4, "Ti": 4, "Zr": 4, "Hf": 4, "Ge": 4, "Sn": 4,
    "Nb": 5, "Ta": 5, "P": 5, "V": 5,
    "O": -2, "S": -2, "Se": -2, "N": -3, "F": -1, "Cl": -1, "Br": -1, "I": -1,
}

ChargesInput = Union[None, Mapping[str, float], Sequence[float], np.ndarray]


def formal_charges(atoms: Atoms, charges: ChargesInput = None) -> np.ndarray:
    """Per-atom charges (e): formal charges, overridden per species by a dict, or given per atom.

    ``charges`` may be None (formal charges from :data:`FORMAL_CHARGES`), a mapping from element
    symbol to charge (overrides/extends the formal charges), or a sequence of one charge per atom.
    Raises ValueError naming the first atom whose species has no charge.
    """
    symbols = atoms.get_chemical_symbols()
    if charges is not None and not isinstance(charges, Mapping):
        q = np.asarray(charges, dtype=np.float64)
        if q.shape != (len(atoms),):
            raise ValueError(f"charges has shape {q.shape}, expected ({len(atoms)},): one charge per atom")
        if not np.isfinite(q).all():
            raise ValueError(f"atom {int(np.flatnonzero(~np.isfinite(q))[0])} has a non-finite charge")
        return q
    table = dict(FORMAL_CHARGES)
    if charges is not None:
        table.update({str(k): float(v) for k, v in charges.items()})
    q = np.empty(len(atoms))
    for i, s in enumerate(symbols):
        if s not in table:
            raise ValueError(
                f"atom {i} ({s}) has no formal charge: pass charges={{'{s}': ...}} or one charge per atom"
            )
        q[i] = table[s]
    return q


def _checked(atoms: Atoms, charges: ChargesInput):
    if not isinstance(atoms, Atoms):
        raise TypeError(f"expected ase.Atoms, got {type(atoms).__name__}")
    positions, numbers, cell, pbc = frame_arrays(atoms)
    if any(pbc) and not all(pbc):
        raise ValueError(f"point-charge sums need pbc all True or all False, got pbc={pbc}")
    q = formal_charges(atoms, charges)
    if all(pbc) and abs(q.sum()) > 1e-8 * max(1.0, np.abs(q).sum()):
        raise ValueError(
            f"the periodic cell is not charge-neutral: total charge {q.sum():+.6g} e "
            f"({atoms.get_chemical_formula()}); adjust the charges"
        )
    return positions, numbers, cell, pbc, q


def ewald_parameters(atoms: Atoms, accuracy: float = 1e-8, alpha: Optional[float] = None) -> Dict[str, float]:
    """Splitting parameter ``alpha`` (1/A) and cutoffs used for a requested relative accuracy.

    The cutoffs keep the RMS truncation error of each EFG component below
    ``accuracy x q_rms x N/V`` (the field-gradient scale of charges at the mean interatomic
    spacing), using random-phase error estimates in the manner of Kolafa & Perram,
    Mol. Simul. 9, 351 (1992), derived for the second derivative of the potential. With
    ``alpha=None`` alpha balances real- and reciprocal-space work. All zero for a cluster.
    """
    from . import _core

    positions, numbers, cell, pbc = frame_arrays(atoms)
    a, rc, kc = _core.ewald_parameters(positions, numbers, cell, pbc, float(accuracy), float(alpha or 0.0))
    return {"alpha": a, "real_cutoff": rc, "kspace_cutoff": kc}


def _field(atoms, charges, accuracy, alpha, sites):
    from . import _core

    positions, numbers, cell, pbc, q = _checked(atoms, charges)
    params = ewald_parameters(atoms, accuracy, alpha)
    if sites is None:
        sites = range(len(atoms))
    sites = [int(s) for s in sites]
    return _core.point_charge_field(
        positions, numbers, cell, pbc, q, sites, (params["alpha"], params["real_cutoff"], params["kspace_cutoff"])
    )


def point_charge_efg(
    atoms: Atoms,
    charges: ChargesInput = None,
    accuracy: float = 1e-8,
    *,
    units: str = "V/A^2",
    alpha: Optional[float] = None,
    sites: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Electric field gradient V_ab = d_a d_b phi at every atom from point charges on all others.

    A synthetic reference, not a DFT proxy: the field gradient at each nucleus produced by bare
    point charges (formal charges by default) on all other atoms and all periodic images,
    excluding the atom's own charge. Periodic cells (pbc all True) are summed by Ewald's method
    to the requested relative ``accuracy`` (see :func:`ewald_parameters`) and must be
    charge-neutral; clusters (pbc all False) by direct summation.

    Parameters
    ----------
    atoms : ase.Atoms
    charges : None, dict of symbol -> charge, or sequence of per-atom charges (e)
    accuracy : relative accuracy of the Ewald sum (default 1e-8)
    units : "V/A^2" (default), "au" (Hartree/(e bohr^2)) or "e/A^3", any spelling sagpr.units accepts
    alpha : Ewald splitting parameter (1/A); default chosen for speed. Results do not depend on it.
    sites : atom indices to compute (default: all)

    Returns
    -------
    (n_sites, 3, 3) float64 array, symmetric and traceless.
    """
    units = normalize_units(units, POINT_CHARGE_UNITS)
    _, efg = _field(atoms, charges, accuracy, alpha, sites)
    return convert_efg(efg, E_PER_A3, units, POINT_CHARGE_UNITS)


def point_charge_potential(
    atoms: Atoms, charges: ChargesInput = None, accuracy: float = 1e-8, *, alpha: Optional[float] = None
) -> np.ndarray:
    """Electrostatic potential (V) at every atom from all other point charges (Ewald / direct sum)."""
    potential, _ = _field(atoms, charges, accuracy, alpha, None)
    return potential * COULOMB_EV_ANGSTROM


def point_charge_energy(
    atoms: Atoms, charges: ChargesInput = None, accuracy: float = 1e-8, *, alpha: Optional[float] = None
) -> float:
    """Electrostatic (Madelung) energy of the point charges in eV."""
    q = formal_charges(atoms, charges)
    return 0.5 * float(q @ point_charge_potential(atoms, q, accuracy, alpha=alpha))


def ewald_coupling_matrix(
    atoms: Atoms, sites: Sequence[int], accuracy: float = 1e-8, *, alpha: Optional[float] = None
) -> np.ndarray:
    """Ewald pair couplings Phi (n_sites, n_atoms) in V/e for a periodic cell.

    For any neutral charge vector q (e), the potential (V) at site s is ``Phi[s] @ q`` and the
    energy (eV) is ``0.5 * q @ Phi_full @ q`` with sites = all atoms; used to update energies
    cheaply when charges move between sites (Monte Carlo on site occupations).
    """
    from . import _core

    positions, numbers, cell, pbc = frame_arrays(atoms)
    if not all(pbc):
        raise ValueError("the Ewald coupling matrix needs a fully periodic cell")
    params = ewald_parameters(atoms, accuracy, alpha)
    phi = _core.ewald_coupling_matrix(
        positions, numbers, cell, pbc, [int(s) for s in sites],
        (params["alpha"], params["real_cutoff"], params["kspace_cutoff"]),
    )
    return phi * COULOMB_EV_ANGSTROM
