"""The MD example (sagpr.datasets.md): LAMMPS with the Pedone potential relaxes and runs an LTO cell."""
import numpy as np
import pytest
from ase.io import read

from sagpr.datasets import lto, md


def _lammps_or_skip():
    try:
        md.lammps_instance().close()
    except ImportError as err:
        pytest.skip(str(err))


def test_relax_and_run_a_small_cell(tmp_path):
    _lammps_or_skip()
    atoms = lto.generate(1, seed=2, progress=False)[0]  # Li8 Ti10 O24: charge neutral with Pedone's charges
    charges = {s: q for s, (q, _) in md.PEDONE.items()}
    assert sum(charges[s] for s in atoms.get_chemical_symbols()) == pytest.approx(0.0, abs=1e-12)
    relaxed = md.relax(atoms)
    # the 42-atom cell is 3/4 of a conventional cell: its lattice constant from the volume
    a = (relaxed.get_volume() * 4 / 3) ** (1 / 3)
    assert abs(a / md.EXPERIMENTAL_A - 1) < 0.03
    # LAMMPS works in a rotated (lower-triangular) cell; the results come back in the input's orientation
    scale = relaxed.get_volume() / atoms.get_volume()
    np.testing.assert_allclose(relaxed.cell.array, atoms.cell.array * scale ** (1 / 3), atol=1e-6)
    info = md.run_md(relaxed, tmp_path / "md.xyz", temperature=600.0, steps=20, every=10, equilibration=0,
                     progress=False)
    frames = read(tmp_path / "md.xyz", index=":")
    assert len(frames) == info["frames"] == 2 and frames[0].get_chemical_symbols() == atoms.get_chemical_symbols()
    assert np.all(np.isfinite(frames[-1].positions)) and info["mean_temperature_k"] > 0
    np.testing.assert_allclose(frames[0].cell.array, relaxed.cell.array, atol=1e-8)  # NVT, input orientation
    frac = frames[0].get_scaled_positions() - relaxed.get_scaled_positions()
    assert np.abs(frac - np.round(frac)).max() < 0.1  # 10 steps of 1 fs (a wrong orientation moves atoms ~0.5)


def test_lithium_sites_have_kinds():
    sites = md.lithium_sites(1)
    kinds, counts = np.unique(sites.arrays["site_kind"], return_counts=True)
    assert dict(zip(kinds, counts)) == {"16c": 16, "16d": 16, "8a": 8}
    assert len(md.lithium_sites(3)) == 27 * 40
