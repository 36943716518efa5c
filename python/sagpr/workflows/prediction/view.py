"""Interactive site maps: a chemiscope dataset of the quadrupolar sites of some structures, with
per-atom omega_Q, C_Q, eta (predicted and reference when both are there), histogram region,
uncertainties the file carries, and each site's EFG drawn as an ellipsoid."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ...isotopes import DEFAULT_ISOTOPES
from ...nmr import observables
from ...units import normalize_units

MISSING_EXTRA = "sagpr view needs the 'view' extra (chemiscope): pip install 'sagpr[view]'"
#: per-atom arrays taken as uncertainties of a property when the file has them
UNCERTAINTY_SUFFIXES = ("_std", "_uncertainty", "_sigma")
#: environment cutoff drawn around a site in chemiscope (A)
CUTOFF = 3.5
#: the largest |V_zz| of the dataset is drawn as an ellipsoid of this semi-axis (A)
ELLIPSOID_SIZE = 1.0


def require_chemiscope():
    """The chemiscope module, or an ImportError of one line naming the extra."""
    try:
        import chemiscope
    except ImportError:
        raise ImportError(MISSING_EXTRA) from None
    return chemiscope


def _efg(atoms, key):
    value = np.asarray(atoms.arrays[key], dtype=np.float64)
    return value.reshape(len(atoms), 3, 3)


def site_properties(frames, *, species: Optional[str] = None, isotopes: Optional[Dict[str, str]] = None,
                    region_labels=None, b0=(0.0, 0.0, 1.0)) -> dict:
    """The environments (frame, atom) of the sites and their per-site properties.

    Sites: the atoms of `species`, or (None) every atom of an element with a quadrupolar isotope
    that has a non-zero EFG (and was predicted, when the file says). Returns {"environments": [(k,
    i)], "properties": {name: {"values", "units", "description"}}, "tensors": (n, 3, 3) in au,
    "units"}. region_labels: one per site (-1 unclassified)."""
    isotopes = dict(isotopes or {})
    envs: list = []
    per: Dict[str, list] = {}
    tensors, units_seen = [], None
    for k, atoms in enumerate(frames):
        if "efg" not in atoms.arrays:
            raise ValueError(f"frame {k}: no per-atom 'efg' array")
        units = normalize_units(str(atoms.info.get("efg_units", "au")))
        if units_seen is not None and units != units_seen:
            raise ValueError(f"frame {k}: efg_units {units!r} differ from the earlier frames' {units_seen!r}")
        units_seen = units
        symbols = np.array(atoms.get_chemical_symbols())
        V = _efg(atoms, "efg")
        if species is not None:
            mask = symbols == species
        else:
            mask = np.isin(symbols, list(set(DEFAULT_ISOTOPES) | {s for s in isotopes}))
            mask &= np.abs(V).max(axis=(1, 2)) > 0
        if "predicted" in atoms.arrays:
            mask &= np.asarray(atoms.arrays["predicted"], dtype=bool)
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        labels = [isotopes.get(s, s) for s in symbols[idx]]
        sets = {"": V[idx]}
        if "efg_reference" in atoms.arrays:
            sets["reference "] = _efg(atoms, "efg_reference")[idx]
        for prefix, T in sets.items():
            obs = observables(T, labels, b0=b0, units=units, labels=[f"frame {k}: atom {i} ({symbols[i]})" for i in idx])
            per.setdefault(prefix + "omega_Q", []).append(obs["omega_q"])
            per.setdefault(prefix + "C_Q", []).append(obs["cq"])
            per.setdefault(prefix + "eta", []).append(obs["eta"])
        for key, value in atoms.arrays.items():
            if key.endswith(UNCERTAINTY_SUFFIXES) and np.asarray(value).ndim == 1:
                per.setdefault(key, []).append(np.asarray(value, dtype=float)[idx])
        per.setdefault("element", []).append(symbols[idx])
        envs.extend((k, int(i)) for i in idx)
        tensors.append(V[idx] if units == "au" else V[idx] / _au_factor(units))
    if not envs:
        raise ValueError("no quadrupolar sites with an EFG tensor in the input" if species is None
                         else f"no {species} sites in the input")
    props = {}
    meta = {"omega_Q": ("kHz", "first-order quadrupolar frequency, field along z"),
            "C_Q": ("MHz", "quadrupolar coupling constant e Q Vzz / h"), "eta": ("", "asymmetry (Vxx - Vyy) / Vzz")}
    for name, chunks in per.items():
        values = np.concatenate(chunks)
        base = name.replace("reference ", "")
        unit, text = meta.get(base, ("", f"per-atom array {name!r} of the file"))
        if name.startswith("reference "):
            text = "reference tensors: " + text
        entry = {"target": "atom", "values": values.tolist() if values.dtype.kind in "US" else values}
        if unit:
            entry["units"] = unit
        entry["description"] = text
        props[name.replace(" ", "_")] = entry
    if region_labels is not None:
        region_labels = np.asarray(region_labels, dtype=int)
        if len(region_labels) != len(envs):
            raise ValueError(f"{len(region_labels)} region labels for {len(envs)} sites")
        props["region"] = {"target": "atom", "values": region_labels,
                           "description": "omega_Q histogram region (-1: unclassified)"}
    return {"environments": envs, "properties": props, "tensors": np.concatenate(tensors), "units": "au"}


def _au_factor(units):
    from ...units import efg_factor

    return efg_factor("au", units)


def efg_ellipsoids(frames, environments, tensors) -> dict:
    """A chemiscope "ellipsoid" shape per atom: at each site, semi-axes |V_xx|, |V_yy|, |V_zz| along
    its principal axes (the largest |V_zz| of the dataset drawn ELLIPSOID_SIZE A, 0.05 A at least), red
    where V_zz > 0 and blue where V_zz < 0; other atoms get none (zero size)."""
    from scipy.spatial.transform import Rotation

    from ...nmr import principal_components

    values, F = principal_components(tensors)
    F = F.copy()
    F[np.linalg.det(F) < 0, :, 2] *= -1.0
    quats = Rotation.from_matrix(F).as_quat()  # (x, y, z, w) as chemiscope reads orientations
    vmax = float(np.abs(values[:, 2]).max()) or 1.0
    site_of = {env: n for n, env in enumerate(environments)}
    atom_params = []
    for k, atoms in enumerate(frames):
        for i in range(len(atoms)):
            n = site_of.get((k, i))
            if n is None:
                atom_params.append({"semiaxes": [0.0, 0.0, 0.0]})
                continue
            axes = (ELLIPSOID_SIZE * np.abs(values[n]) / vmax + 0.05).tolist()
            atom_params.append({"semiaxes": axes, "orientation": quats[n].tolist(),
                                "color": "#d62728" if values[n, 2] > 0 else "#1f77b4"})
    return {"kind": "ellipsoid", "parameters": {"global": {}, "atom": atom_params}}


def write_site_map(frames, out: Path, *, species: Optional[str] = None, isotopes=None, region_labels=None,
                   name: str = "sagpr sites") -> dict:
    """Write the chemiscope dataset (JSON, gzip-compressed when `out` ends in .gz) atomically; returns
    the site properties written."""
    chemiscope = require_chemiscope()
    from ...atomic import atomic_path

    frames = list(frames)
    sites = site_properties(frames, species=species, isotopes=isotopes, region_labels=region_labels)
    environments = [(k, i, CUTOFF) for k, i in sites["environments"]]
    shapes = {"efg": efg_ellipsoids(frames, sites["environments"], sites["tensors"])}
    color = "region" if "region" in sites["properties"] else "omega_Q"
    settings = {"map": {"x": {"property": "C_Q"}, "y": {"property": "eta"}, "color": {"property": color}},
                "structure": [{"shape": ["efg"], "environments": {"activated": True}}]}
    clean = [_structure_only(a) for a in frames]
    out = Path(out)
    suffix = ".json.gz" if out.name.endswith(".gz") else ".json"
    with atomic_path(out, suffix=suffix) as tmp:
        chemiscope.write_input(tmp, structures=clean, properties=sites["properties"], environments=environments,
                               shapes=shapes, settings=settings,
                               metadata={"name": name, "description": "EFG tensors and NMR observables per site "
                                         "(sagpr view); ellipsoids: |principal values| of the EFG along its axes"})
    return sites


def _structure_only(atoms):
    """The frame without per-atom arrays (chemiscope would add every array as a property)."""
    from ase import Atoms

    return Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def read_site_map(path) -> dict:
    """A chemiscope dataset as chemiscope's own reader loads it: chemiscope.show_input(path) (which
    reads .json and .json.gz) and the JSON its widget holds."""
    import json

    chemiscope = require_chemiscope()
    return json.loads(chemiscope.show_input(str(path), cache_structures=False).value)


__all__: List[str] = ["require_chemiscope", "site_properties", "efg_ellipsoids", "write_site_map", "read_site_map"]
