"""Powder spectra of the sites of one nucleus in predicted (or reference, or averaged) structures:
predicted over reference, an experimental overlay, and the spectrum of each omega_Q histogram region."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ...isotopes import get_isotope
from ...spectra import SiteParameters, Spectrum, auto_window, simulate, site_parameters, spectral_difference
from ...units import normalize_units

#: per-atom arrays read as shielding tensors (ppm): CASTEP .magres "ms" as ase reads it
SHIELDING_KEYS = ("ms",)


@dataclass
class SpectrumSites:
    """The `species` sites of some frames: their tensors ("predicted"/"reference", or "efg" for a
    file with one set), shielding (ppm) when the frames hold it, and (frame, atom) of each."""

    species: str
    isotope: str
    units: str
    index: List[tuple]
    tensors: Dict[str, np.ndarray]
    shielding: Optional[np.ndarray] = None
    labels: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)


def _tensor_array(atoms, key, where):
    value = np.asarray(atoms.arrays[key], dtype=np.float64)
    if value.shape == (len(atoms), 9):
        value = value.reshape(len(atoms), 3, 3)
    if value.shape != (len(atoms), 3, 3):
        raise ValueError(f"{where}: per-atom {key!r} has shape {value.shape}; expected ({len(atoms)}, 9) or ({len(atoms)}, 3, 3)")
    return value


def collect_spectrum_sites(frames, species: str, *, isotope: Optional[str] = None, shielding: bool = True,
                           source: str = "") -> SpectrumSites:
    """Tensors of every `species` atom of `frames`. A frame with ``efg_reference`` (as `sagpr
    predict` writes it) gives "predicted" (``efg``) and "reference" tensors, else its ``efg`` is the one
    set ("efg"). All frames must agree on that and on ``efg_units``. Shielding ("ms", ppm) is used when
    every frame has it and `shielding` is True."""
    iso = get_isotope(isotope if isotope is not None else species)
    if iso.element != species:
        raise ValueError(f"isotope {iso.label} is not an isotope of {species}")
    prefix = f"{source}: " if source else ""
    frames = list(frames)
    index, labels = [], []
    per_key: Dict[str, list] = {}
    ms: list = []
    units, kind, use_ms = None, None, shielding
    for k, atoms in enumerate(frames):
        where = f"{prefix}frame {k}"
        mask = np.array(atoms.get_chemical_symbols()) == species
        if not mask.any():
            continue
        if "efg" not in atoms.arrays:
            raise ValueError(f"{where}: no per-atom 'efg' array")
        frame_units = normalize_units(str(atoms.info.get("efg_units", "au")))
        if units is not None and frame_units != units:
            raise ValueError(f"{where}: efg_units {frame_units!r} differ from the earlier frames' {units!r}")
        units = frame_units
        frame_kind = ("predicted", "reference") if "efg_reference" in atoms.arrays else ("efg",)
        if kind is not None and frame_kind != kind:
            raise ValueError(f"{where}: has {'an' if len(frame_kind) == 2 else 'no'} 'efg_reference' array, "
                             f"unlike the earlier frames")
        kind = frame_kind
        arrays = {kind[0]: _tensor_array(atoms, "efg", where)}
        if len(kind) == 2:
            arrays["reference"] = _tensor_array(atoms, "efg_reference", where)
        if "predicted" in atoms.arrays and len(kind) == 2:
            not_predicted = mask & ~np.asarray(atoms.arrays["predicted"], dtype=bool)
            if not_predicted.any():
                raise ValueError(f"{where}: atom {int(np.flatnonzero(not_predicted)[0])} ({species}) was not predicted "
                                 f"(the model's species do not include {species})")
        for key, value in arrays.items():
            per_key.setdefault(key, []).append(value[mask])
        key_ms = next((key for key in SHIELDING_KEYS if key in atoms.arrays), None)
        if use_ms and key_ms is not None:
            ms.append(_tensor_array(atoms, key_ms, where)[mask])
        else:
            use_ms = False
        for a in np.flatnonzero(mask):
            index.append((k, int(a)))
            labels.append(f"{where}: atom {int(a)} ({species})")
    if not index:
        raise ValueError(f"{prefix}no {species} atoms in the {len(frames)} frame(s)")
    tensors = {key: np.concatenate(values) for key, values in per_key.items()}
    return SpectrumSites(species, iso.label, units, index, tensors,
                         np.concatenate(ms) if use_ms and ms else None, labels)


@dataclass
class SpectrumResult:
    """Spectra of one run: one Spectrum per tensor set (same grid), per-region rows of the first set,
    the region labels used, and the predicted-vs-reference difference when both were given."""

    spectra: Dict[str, Spectrum]
    regions: Optional[Spectrum] = None
    region_names: List[str] = field(default_factory=list)
    difference: Optional[float] = None


def spectra_of_sites(sites: SpectrumSites, field_tesla: float, *, region_labels=None, shielding_reference=None,
                     width_hz=None, offset_hz=None, **simulate_options) -> SpectrumResult:
    """Simulate every tensor set of `sites` on one shared window (and each region of the first set
    when `region_labels`, one per site with -1 unclassified, is given)."""
    params: Dict[str, SiteParameters] = {
        key: site_parameters(V, sites.isotope, sites.units, shielding=sites.shielding,
                             shielding_reference=shielding_reference, labels=sites.labels)
        for key, V in sites.tensors.items()
    }
    if width_hz is None or offset_hz is None:
        opts = dict(transition=simulate_options.get("transition", "central"),
                    spinning_hz=simulate_options.get("spinning_hz", 0.0))
        windows = [auto_window(p, field_tesla, **opts) for p in params.values()]
        lo = min(o - w / 2 for w, o in windows)
        hi = max(o + w / 2 for w, o in windows)
        width_hz = hi - lo if width_hz is None else width_hz
        offset_hz = 0.5 * (lo + hi) if offset_hz is None else offset_hz
    out = {key: simulate(p, field_tesla, width_hz=width_hz, offset_hz=offset_hz, **simulate_options)
           for key, p in params.items()}
    result = SpectrumResult(out)
    if region_labels is not None:
        labels = np.asarray(region_labels, dtype=int)
        names = [f"region {r}" for r in sorted(set(labels.tolist()) - {-1})]
        groups = [np.flatnonzero(labels == r) for r in sorted(set(labels.tolist()) - {-1})]
        if (labels < 0).any():
            names.append("unclassified")
            groups.append(np.flatnonzero(labels < 0))
        first = next(iter(params.values()))
        result.regions = simulate(first, field_tesla, width_hz=width_hz, offset_hz=offset_hz, groups=groups,
                                  **simulate_options)
        result.region_names = names
    if "reference" in out:
        result.difference = spectral_difference(out["predicted"].intensity, out["reference"].intensity)
    return result


def read_experimental(path) -> np.ndarray:
    """A measured spectrum: two columns (ppm, intensity), whitespace or comma separated, '#' comments.
    Returns (n, 2) sorted by ppm; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].replace(",", " ").strip()
        if not text:
            continue
        parts = text.split()
        try:
            values = [float(p) for p in parts[:2]]
        except ValueError:
            if not rows:  # a header line
                continue
            raise ValueError(f"{path}: line {number}: not two numbers: {line.strip()!r}") from None
        if len(values) < 2:
            raise ValueError(f"{path}: line {number}: expected two columns (ppm, intensity), got {len(parts)}")
        rows.append(values)
    if len(rows) < 2:
        raise ValueError(f"{path}: fewer than two (ppm, intensity) rows")
    data = np.array(rows)
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{path}: non-finite values")
    return data[np.argsort(data[:, 0])]


def write_spectrum_report(result: SpectrumResult, out: Path, *, species: str, experimental=None,
                          title: str = "") -> List[Path]:
    """spectrum.csv, spectrum.png (ppm with a kHz axis), regions.csv/png when there are regions and
    summary.json into the folder `out` (each file written atomically)."""
    from ...atomic import write_text_atomic
    from ...plots.common import save_figure
    from ...plots.spectrum import plot_region_stack, plot_spectra
    from ..cache import write_json_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(iter(result.spectra.values()))
    written = []
    header = ["ppm", "khz"] + [f"{k}_per_khz" for k in result.spectra]
    columns = [first.ppm, first.khz] + [s.intensity * 1e3 for s in result.spectra.values()]
    written.append(out / "spectrum.csv")
    write_text_atomic(written[-1], _csv(header, columns, first))
    fig = plot_spectra(first.ppm, {k: s.intensity * 1e3 for k, s in result.spectra.items()},
                       larmor_hz=first.larmor_hz, experimental=experimental,
                       title=title or _title(first), difference=result.difference)
    written.append(save_figure(fig, out / "spectrum.png"))
    if result.regions is not None:
        rows = np.atleast_2d(result.regions.intensity) * 1e3
        names = [n.replace(" ", "_") + "_per_khz" for n in result.region_names]
        written.append(out / "regions.csv")
        write_text_atomic(written[-1], _csv(["ppm", "khz"] + names, [first.ppm, first.khz] + list(rows), first))
        fig = plot_region_stack(first.ppm, rows, result.region_names, larmor_hz=first.larmor_hz,
                                title=f"{first.isotope}: spectrum of each omega_Q region")
        written.append(save_figure(fig, out / "regions.png"))
    summary = {
        "species": species,
        "isotope": first.isotope,
        "field_tesla": first.field_tesla,
        "larmor_hz": first.larmor_hz,
        "settings": first.settings,
        "spectra": list(result.spectra),
        "spectral_difference": result.difference,
        "spectral_difference_definition": "sum |predicted - reference| / sum |reference| (0 equal, 2 disjoint)",
        "regions": result.region_names,
    }
    written.append(out / "summary.json")
    write_json_atomic(written[-1], summary)
    return written


def _title(spectrum: Spectrum) -> str:
    s = spectrum.settings
    rate = s.get("spinning_hz", 0.0)
    mode = "static" if rate == 0 else ("MAS, infinitely fast" if rate >= 1e9 else f"MAS {rate / 1e3:g} kHz")
    return f"{spectrum.isotope} at {spectrum.field_tesla:g} T, {mode}, {s.get('transition')} transition"


def _csv(header, columns, spectrum: Spectrum) -> str:
    s = spectrum.settings
    lines = [f"# {spectrum.isotope} at {spectrum.field_tesla:g} T, reference frequency {spectrum.larmor_hz:.6f} Hz; "
             f"spinning {s.get('spinning_hz', 0):g} Hz, transition {s.get('transition')}; intensities: sites per kHz",
             ",".join(header)]
    data = np.column_stack(columns)
    lines += [",".join(f"{v:.8g}" for v in row) for row in data]
    return "\n".join(lines) + "\n"
