"""Li4Ti5O12 (LTO) spinel structures, as in the study's data set, labelled with point-charge EFGs.

Spinel Fd-3m (No. 227, origin choice 2), a = 8.3595 A: Li on 8a (1/8, 1/8, 1/8), Li1/6 Ti5/6 on
16d (1/2, 1/2, 1/2), O on 32e (x, x, x) with x = 0.2625; 16c (0, 0, 0) is empty (the sites extra Li
fills on lithiation). Wyckoff sites are recorded in ``atoms.get_tags()`` (:data:`WYCKOFF_TAGS`).

* :func:`hexagonal_cell` - the 42-atom cell of three primitive cells (P = [[1,-1,0],[0,1,-1],[1,1,1]]
  on the fcc primitive vectors a/2 (0,1,1), a/2 (1,0,1), a/2 (1,1,0)), with c along [111];
  Li8 Ti10 O24 once 2 of its 12 16d sites hold Li.
* :func:`arrangements` - the 66 ways to put 2 Li on the 12 16d sites fall into 6 orbits (sizes 18, 3,
  9, 9, 9, 18) under the 36 operations of Fd-3m compatible with the cell.
* :func:`generate` - rattled and rescaled copies of the 6 inequivalent structures, EFG-labelled.
* :func:`large_models` - 3x3x3 conventional cells (1512 atoms) with Li/Ti disorder on 16d sampled by
  Metropolis Monte Carlo on the point-charge (Ewald) energy, optionally lithiated on 16c.
"""
from __future__ import annotations

import itertools
from typing import Dict, List, Optional, Tuple

import numpy as np
from ase import Atoms

from .. import __version__
from ..reference import point_charge_efg

__all__ = [
    "LATTICE_CONSTANT",
    "OXYGEN_X",
    "HEXAGONAL_TRANSFORM",
    "WYCKOFF_TAGS",
    "conventional_cell",
    "primitive_cell",
    "hexagonal_cell",
    "compatible_operations",
    "arrangements",
    "unique_structures",
    "generate",
    "large_models",
    "REFERENCE_METHOD",
]

LATTICE_CONSTANT = 8.3595
OXYGEN_X = 0.2625
HEXAGONAL_TRANSFORM = np.array([[1, -1, 0], [0, 1, -1], [1, 1, 1]])
#: atoms.get_tags() values of the spinel Wyckoff sites.
WYCKOFF_TAGS = {"8a": 1, "16d": 2, "32e": 3, "16c": 4}
REFERENCE_METHOD = "point-charge Ewald EFG (sagpr.reference.point_charge_efg), formal charges"
_FCC_PRIMITIVE = 0.5 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])


def _spinel_sites(x: float, with_16c: bool):
    symbols = ["Li", "Ti", "O"] + (["Li"] if with_16c else [])
    basis = [(1 / 8, 1 / 8, 1 / 8), (1 / 2, 1 / 2, 1 / 2), (x, x, x)] + ([(0, 0, 0)] if with_16c else [])
    tags = [WYCKOFF_TAGS[w] for w in ("8a", "16d", "32e", "16c")[: len(symbols)]]
    return symbols, basis, tags


def conventional_cell(a: float = LATTICE_CONSTANT, x: float = OXYGEN_X, *, with_16c: bool = False) -> Atoms:
    """The 56-atom cubic spinel cell, Li8 [Ti16] O32 with every 16d site Ti (tags mark the sites).

    With ``with_16c=True`` the 16 empty 16c sites are added as Li (tag 4), for lithiation.
    """
    from ase.spacegroup import crystal

    symbols, basis, tags = _spinel_sites(x, with_16c)
    atoms = crystal(symbols, basis=basis, spacegroup=227, setting=2, cellpar=[a, a, a, 90, 90, 90])
    # crystal() lists the orbits in basis order; tag them by kind.
    kinds = crystal(
        list(range(1, len(symbols) + 1)), basis=basis, spacegroup=227, setting=2, cellpar=[a, a, a, 90, 90, 90]
    ).numbers
    atoms.set_tags([tags[k - 1] for k in kinds])
    return atoms


def primitive_cell(a: float = LATTICE_CONSTANT, x: float = OXYGEN_X) -> Atoms:
    """The 14-atom fcc primitive cell (vectors a/2 (0,1,1), a/2 (1,0,1), a/2 (1,1,0)), 16d all Ti."""
    conv = conventional_cell(a, x)
    cell = a * _FCC_PRIMITIVE
    frac = conv.positions @ np.linalg.inv(cell)
    frac -= np.floor(frac + 1e-9)
    keep: List[int] = []
    for i, f in enumerate(frac):
        if not any(np.abs((f - frac[j] + 0.5) % 1.0 - 0.5).max() < 1e-6 for j in keep):
            keep.append(i)
    return Atoms(
        conv.numbers[keep], scaled_positions=frac[keep], cell=cell, pbc=True, tags=conv.get_tags()[keep]
    )


def hexagonal_cell(a: float = LATTICE_CONSTANT, x: float = OXYGEN_X) -> Atoms:
    """The 42-atom hexagonal cell (3 primitive cells, c along [111]) with every 16d site Ti.

    Cell vectors P @ primitive with P = HEXAGONAL_TRANSFORM: a_hex = a/sqrt(2), c = a sqrt(3).
    """
    from ase.build import make_supercell

    return make_supercell(primitive_cell(a, x), HEXAGONAL_TRANSFORM)


def _sites16d(atoms: Atoms) -> np.ndarray:
    return np.flatnonzero(atoms.get_tags() == WYCKOFF_TAGS["16d"])


def compatible_operations(atoms: Optional[Atoms] = None) -> np.ndarray:
    """Permutations of the 16d sites induced by the Fd-3m operations that map the cell onto itself.

    An operation (R, t) of the parent spinel is compatible with a supercell when R maps the
    supercell lattice onto itself; operations differing by a supercell translation act alike, so
    each is combined with the parent's lattice translations modulo the supercell. For the
    42-atom cell that gives 12 point operations (-3m about [111]) x 3 translations = 36.

    Returns an int array (n_operations, n_16d): row g maps 16d site k to site perm[g, k]
    (indices into the 16d sites, in atom order).
    """
    from ase.spacegroup import Spacegroup

    atoms = hexagonal_cell() if atoms is None else atoms
    cell = atoms.cell.array
    inv = np.linalg.inv(cell)
    sites = _sites16d(atoms)
    frac = atoms.positions[sites] @ inv
    # The parent's cubic lattice constant and primitive translations, from the cell's own metric:
    # every supercell here is an integer combination of fcc primitive vectors of the parent.
    parent_a = _parent_lattice_constant(atoms)
    primitive = parent_a * _FCC_PRIMITIVE
    n_cosets = int(round(abs(np.linalg.det(cell) / np.linalg.det(primitive))))
    translations = _coset_translations(cell, primitive, n_cosets)
    perms = set()
    for rotation, shift in Spacegroup(227, setting=2).get_symop():
        mapped_lattice = cell @ rotation.T @ inv
        if not np.allclose(mapped_lattice, np.round(mapped_lattice), atol=1e-8):
            continue
        for extra in translations:
            new = (atoms.positions[sites] @ rotation.T + parent_a * shift + extra) @ inv
            diff = frac[None, :, :] - new[:, None, :]
            diff -= np.round(diff)
            match = np.abs(diff).max(axis=2) < 1e-5
            if not (match.sum(axis=1) == 1).all():
                raise ValueError("the structure is not a spinel supercell with ideal 16d sites")
            perms.add(tuple(int(j) for j in match.argmax(axis=1)))
    return np.array(sorted(perms))


def _parent_lattice_constant(atoms: Atoms) -> float:
    # 16d-16d nearest distance is a sqrt(2)/4 in the ideal spinel.
    from ase.geometry import get_distances

    sites = _sites16d(atoms)
    _, d = get_distances(atoms.positions[sites], cell=atoms.cell, pbc=atoms.pbc)
    d = d[d > 1e-6].min()
    return d * 4 / np.sqrt(2)


def _coset_translations(cell, primitive, n_cosets) -> List[np.ndarray]:
    """Parent lattice translations, one from each coset modulo the supercell lattice."""
    inv = np.linalg.inv(cell)
    found: List[np.ndarray] = []
    for h in itertools.product(range(-3, 4), repeat=3):
        t = np.array(h) @ primitive
        f = t @ inv
        if not any(np.abs((f - g @ inv) - np.round(f - g @ inv)).max() < 1e-8 for g in found):
            found.append(t)
        if len(found) == n_cosets:
            return found
    raise ValueError("could not find the parent lattice translations of the supercell")


def arrangements(n_li: int = 2, atoms: Optional[Atoms] = None) -> List[List[Tuple[int, ...]]]:
    """Orbits of the placements of ``n_li`` Li on the 16d sites of the cell (default: 42-atom cell).

    Each orbit is a sorted list of tuples of 16d-site indices (indices into the 16d sites in atom
    order); orbits are listed by their smallest member. For the 42-atom cell and 2 Li: 66
    placements in 6 orbits of sizes 18, 3, 9, 9, 9, 18.
    """
    atoms = hexagonal_cell() if atoms is None else atoms
    perms = compatible_operations(atoms)
    n_sites = perms.shape[1]
    seen = set()
    orbits = []
    for placement in itertools.combinations(range(n_sites), n_li):
        if placement in seen:
            continue
        orbit = sorted({tuple(sorted(int(g[k]) for k in placement)) for g in perms})
        seen.update(orbit)
        orbits.append(orbit)
    return orbits


def unique_structures(a: float = LATTICE_CONSTANT, x: float = OXYGEN_X) -> List[Atoms]:
    """The 6 symmetry-inequivalent Li8 Ti10 O24 cells, one per orbit (its smallest placement).

    ``info`` records ``config`` (orbit index), ``orbit_size`` and ``li_16d`` (the two 16d sites).
    """
    base = hexagonal_cell(a, x)
    sites = _sites16d(base)
    out = []
    for k, orbit in enumerate(arrangements(2, base)):
        atoms = base.copy()
        placement = orbit[0]
        atoms.numbers[sites[list(placement)]] = 3
        atoms.info.update(config=k, orbit_size=len(orbit), li_16d=" ".join(str(int(sites[p])) for p in placement))
        out.append(atoms)
    return out


def _too_close(atoms: Atoms, min_distance: float) -> bool:
    """True if any two atoms (periodic images included) are closer than min_distance."""
    from ..neighbors import has_close_pair

    return has_close_pair(atoms, min_distance)


def _label(atoms: Atoms, accuracy: float, charges: Optional[Dict[str, float]] = None) -> None:
    atoms.arrays["efg"] = point_charge_efg(atoms, charges, accuracy)
    atoms.info["reference"] = REFERENCE_METHOD
    atoms.info["reference_accuracy"] = accuracy
    atoms.info["efg_units"] = "V/A^2"


def generate(
    n_structures: int = 1640,
    *,
    rattle_std: float = 0.1,
    scale_range: Tuple[float, float] = (0.94, 1.06),
    min_distance: float = 1.5,
    seed: int = 0,
    label: bool = True,
    accuracy: float = 1e-8,
    progress: bool = True,
) -> List[Atoms]:
    """Rattled and rescaled copies of the 6 inequivalent 42-atom LTO cells, EFG-labelled.

    Structure i starts from configuration ``i % 6`` (:func:`unique_structures`); its lattice and
    atoms are scaled by a factor drawn uniformly from ``scale_range`` and every atom is displaced
    by a Gaussian of standard deviation ``rattle_std`` (A) per Cartesian component. A draw with
    two atoms closer than ``min_distance`` (A) is redrawn. The defaults spread every neighbour
    distance over roughly +-15% of its mean (the spread of the study's Fig. 2b).

    With ``label=True`` each structure gets ``arrays["efg"]`` (N, 3, 3) in V/A^2 from
    :func:`sagpr.reference.point_charge_efg` (formal charges Li+1, Ti+4, O-2) - a synthetic
    reference, not DFT. ``info`` records the generator, its parameters and the reference method.
    Reproducible: the same arguments give the same structures.
    """
    n_structures = int(n_structures)
    if n_structures < 1:
        raise ValueError(f"n_structures must be positive, got {n_structures}")
    low, high = (float(v) for v in scale_range)
    if not 0 < low <= high:
        raise ValueError(f"scale_range must satisfy 0 < min <= max, got {scale_range}")
    if rattle_std < 0:
        raise ValueError(f"rattle_std must be non-negative, got {rattle_std}")
    from ..progress import progress_bar

    bases = unique_structures()
    rng = np.random.default_rng(seed)
    frames = []
    for i in progress_bar(range(n_structures), enabled=progress, desc="LTO structures"):
        base = bases[i % len(bases)]
        for _attempt in range(100):
            scale = rng.uniform(low, high)
            atoms = base.copy()
            atoms.set_cell(base.cell.array * scale, scale_atoms=True)
            atoms.positions += rng.normal(scale=rattle_std, size=atoms.positions.shape)
            if not _too_close(atoms, min_distance):
                break
        else:
            raise ValueError(
                f"structure {i}: no draw with all distances >= {min_distance} A in 100 tries: "
                f"reduce rattle_std or min_distance"
            )
        atoms.wrap()
        atoms.info.update(
            generator="sagpr.datasets.lto.generate",
            sagpr_version=__version__,
            index=i,
            seed=seed,
            rattle_std=rattle_std,
            scale_min=low,
            scale_max=high,
            min_distance=min_distance,
            scale=scale,
        )
        if label:
            _label(atoms, accuracy)
        frames.append(atoms)
    return frames


# --- large disordered models --------------------------------------------------------------------

_BOLTZMANN_EV = 8.617333262e-5


def large_models(
    n: int = 20,
    size: int = 3,
    *,
    mc_sweeps: int = 200,
    temperature: float = 1000.0,
    lithiation: float = 0.0,
    rattle_std: float = 0.0,
    seed: int = 0,
    label: bool = True,
    accuracy: float = 1e-8,
    progress: bool = True,
) -> List[Atoms]:
    """Large LTO models: ``size``^3 conventional cells (1512 atoms for 3) with Li/Ti disorder on 16d.

    Each model starts from a random placement of Li1/6 Ti5/6 on the 16d sites and is sampled by
    Metropolis Monte Carlo (``mc_sweeps`` sweeps of one attempted Li/Ti swap per 16d site) on the
    point-charge Ewald energy at ``temperature`` (K), so the disorder is low-energy rather than
    random. Swaps change the energy by dq (phi_a - phi_b) + dq^2/2 (Phi_aa + Phi_bb - 2 Phi_ab),
    from the Ewald coupling matrix of the sites (computed once: every model shares the ideal
    positions), so a sweep costs O(sites^2).

    ``lithiation`` = x gives Li(4+x)Ti5O12: x Li per formula unit on 16c sites (x <= 3), their
    placement sampled by the same Monte Carlo (Li hops between 16c sites), the extra electrons
    spread over Ti as charge 4 - x/5.

    ``info`` records the Monte Carlo acceptance rate and ``mc_energy``, the point-charge energy
    (eV) up to a constant shared by all models of the same size and lithiation.
    Atoms sit on the ideal sites unless ``rattle_std`` (A) > 0 adds Gaussian displacements after
    the Monte Carlo. With ``label=True`` each model gets the point-charge EFG (V/A^2) in
    ``arrays["efg"]``.
    """
    if rattle_std < 0:
        raise ValueError(f"rattle_std must be non-negative, got {rattle_std}")
    if n < 1 or size < 1 or mc_sweeps < 0:
        raise ValueError("n and size must be positive and mc_sweeps non-negative")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive (K), got {temperature}")
    if not 0 <= lithiation <= 3:
        raise ValueError(f"lithiation x must be in [0, 3], got {lithiation}")
    if (16 * size**3) % 6:
        raise ValueError(f"size must be a multiple of 3 for Li1/6 Ti5/6 on 16d (16 size^3 sites), got {size}")
    from ..progress import progress_bar

    lattice = _DisorderLattice(size, lithiation)
    beta = 1.0 / (_BOLTZMANN_EV * temperature)
    rng = np.random.default_rng(seed)
    frames = []
    for model in progress_bar(range(n), enabled=progress, desc="large LTO models"):
        q, groups = lattice.random_occupation(rng)
        accepted, energy = lattice.metropolis(q, groups, mc_sweeps, beta, rng)
        atoms = lattice.structure(q)
        if rattle_std > 0:
            atoms.positions += rng.normal(scale=rattle_std, size=atoms.positions.shape)
        atoms.info.update(
            generator="sagpr.datasets.lto.large_models",
            sagpr_version=__version__,
            index=model,
            seed=seed,
            size=size,
            mc_sweeps=mc_sweeps,
            temperature=temperature,
            lithiation=lithiation,
            rattle_std=rattle_std,
            mc_acceptance=accepted / max(1, mc_sweeps * len(lattice.variable)),
            mc_energy=float(energy),
        )
        if label:
            _label(atoms, accuracy, {"Ti": lattice.ti_charge} if lithiation else None)
        frames.append(atoms)
    return frames


class _DisorderLattice:
    """The variable sites of a size^3 LTO supercell (16d: Li +1 / Ti; 16c: Li +1 / empty) and
    their point-charge couplings, computed once and shared by every model of large_models."""

    def __init__(self, size: int, lithiation: float):
        from ..reference import ewald_coupling_matrix

        self.host = conventional_cell(with_16c=lithiation > 0) * (size, size, size)
        tags = self.host.get_tags()
        self.d16 = np.flatnonzero(tags == WYCKOFF_TAGS["16d"])
        self.c16 = np.flatnonzero(tags == WYCKOFF_TAGS["16c"])
        self.n_fu = len(self.d16) // 6  # 6 16d sites per Li4Ti5O12 (one Li, five Ti)
        self.n_li16c = int(round(lithiation * self.n_fu))
        self.ti_charge = 4.0 - lithiation / 5.0
        self.variable = np.concatenate([self.d16, self.c16])
        self.nd = len(self.d16)
        fixed = np.setdiff1d(np.arange(len(self.host)), self.variable)
        fixed_charge = np.where(self.host.numbers[fixed] == 8, -2.0, 1.0)  # O on 32e, Li on 8a
        phi = ewald_coupling_matrix(self.host, self.variable, accuracy=1e-6)  # V/e; energies need far less than EFGs
        self.phi_vv = np.ascontiguousarray(phi[:, self.variable])
        self.diagonal = np.diag(self.phi_vv).copy()
        self.psi = phi[:, fixed] @ fixed_charge

    def random_occupation(self, rng):
        """Charges of the variable sites for a random placement, and the exchange groups
        (occupied, other) of each kind: 16d Li vs Ti, 16c Li vs empty."""
        nd = self.nd
        q = np.full(len(self.variable), 0.0)
        q[:nd] = self.ti_charge
        li_d = rng.choice(nd, self.n_fu, replace=False)
        q[li_d] = 1.0
        li_c = nd + rng.choice(len(self.c16), self.n_li16c, replace=False) if self.n_li16c else np.zeros(0, int)
        q[li_c] = 1.0
        groups = [(li_d.copy(), np.setdiff1d(np.arange(nd), li_d))]
        if self.n_li16c:
            groups.append((li_c.copy(), np.setdiff1d(np.arange(nd, len(self.variable)), li_c)))
        return q, groups

    def metropolis(self, q, groups, mc_sweeps, beta, rng):
        """mc_sweeps sweeps of swaps within the groups, q and groups updated in place.

        A swap changes the energy by dq (phi_a - phi_b) + dq^2/2 (Phi_aa + Phi_bb - 2 Phi_ab).
        Returns (accepted swaps, energy up to the fixed-fixed constant)."""
        phi_vv, diagonal = self.phi_vv, self.diagonal
        weights = np.array([len(g[0]) * len(g[1]) for g in groups], float)
        weights /= weights.sum()
        potential = self.psi + phi_vv @ q
        accepted = 0
        n_steps = mc_sweeps * len(self.variable)
        choice = rng.choice(len(groups), n_steps, p=weights)
        uniform = rng.random((n_steps, 3))
        for step in range(n_steps):
            first, second = groups[choice[step]]
            ia = int(uniform[step, 0] * len(first))
            ib = int(uniform[step, 1] * len(second))
            a, b = first[ia], second[ib]
            dq = q[b] - q[a]
            delta = dq * (potential[a] - potential[b]) + 0.5 * dq * dq * (
                diagonal[a] + diagonal[b] - 2.0 * phi_vv[a, b]
            )
            if delta <= 0.0 or uniform[step, 2] < np.exp(-beta * delta):
                q[a], q[b] = q[b], q[a]
                potential += dq * (phi_vv[:, a] - phi_vv[:, b])
                first[ia], second[ib] = b, a
                accepted += 1
        return accepted, 0.5 * q @ (potential + self.psi)

    def structure(self, q):
        """The host with Li/Ti on 16d and Li on the occupied 16c sites (empty 16c removed)."""
        atoms = self.host.copy()
        numbers = atoms.numbers.copy()
        numbers[self.d16] = np.where(q[:self.nd] == 1.0, 3, 22)
        keep = np.ones(len(atoms), bool)
        if len(self.c16):
            keep[self.c16[q[self.nd:] == 0.0]] = False
        atoms.numbers = numbers
        return atoms[keep]
