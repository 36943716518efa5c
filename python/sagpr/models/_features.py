"""lambda-SOAP features of the centres a model works on, with progress and clear errors."""
from __future__ import annotations

import numpy as np

from sagpr._frames import as_frame_list

from ._params import DESCRIPTOR_DEFAULTS


def frame_species(frames):
    """Sorted atomic numbers present in the frames."""
    return sorted({int(z) for atoms in frames for z in np.unique(atoms.numbers)})


def check_species(frames, species):
    """Raise if a frame holds an element the model has no descriptor channel for."""
    known = set(species)
    for i, atoms in enumerate(frames):
        extra = sorted(set(int(z) for z in atoms.numbers) - known)
        if extra:
            from ase.data import chemical_symbols

            names = ", ".join(chemical_symbols[z] for z in extra)
            raise ValueError(f"frame {i}: element(s) {names} not among the model's species channels {species}")


def centre_indices(frames, centers):
    """(frame index, atom index) of every centre of the given atomic numbers, frame then atom order."""
    out = []
    for i, atoms in enumerate(frames):
        mask = np.isin(atoms.numbers, centers) if centers is not None else np.ones(len(atoms), bool)
        out.extend((i, int(a)) for a in np.flatnonzero(mask))
    return out


def require_centres(frames, centers):
    index = centre_indices(frames, centers)
    if not index:
        from ase.data import chemical_symbols

        names = ", ".join(chemical_symbols[z] for z in centers)
        raise ValueError(f"centre species {names} absent from the {len(frames)} frame(s)")
    return index


def calculator(params, o3_lambda, species):
    from sagpr.descriptors import LambdaSOAP

    kwargs = {name: params[name] for name in DESCRIPTOR_DEFAULTS if name != "species"}
    return LambdaSOAP(o3_lambda=o3_lambda, species=list(species), normalize=True, **kwargs)


def cached_calculator(owner, params, o3_lambda, species):
    """calculator(...) memoised on `owner`: building a LambdaSOAP tabulates its radial
    integrals (~0.1 s), too much to repeat on every predict call of a streamed prediction."""
    key = (o3_lambda, tuple(species)) + tuple((name, repr(params[name])) for name in DESCRIPTOR_DEFAULTS)
    cache = owner.__dict__.setdefault("_calculator_cache", {})
    if key not in cache:
        cache[key] = calculator(params, o3_lambda, species)
    return cache[key]


def compute(calc, frames, centers, progress=False, what="features", chunk=None):
    """Features (n_centres, 2 lambda + 1, F) of the centres of `centers` (atomic numbers), chunked over frames."""
    frames = as_frame_list(frames)
    if chunk is None:
        chunk = max(1, len(frames) // 20)
    from tqdm.auto import tqdm

    parts = []
    with tqdm(total=len(frames), desc=what, unit="frame", disable=not progress, delay=2.0) as bar:
        for start in range(0, len(frames), chunk):
            block = frames[start : start + chunk]
            if any(np.isin(a.numbers, centers).any() for a in block):
                try:
                    parts.append(np.asarray(calc.compute(block, center_species=list(centers)), dtype=np.float64))
                except ValueError as err:
                    from sagpr._frames import renumber_frame_error

                    raise renumber_frame_error(err, start, len(block)) from err
            bar.update(len(block))
    if not parts:
        return np.zeros((0, 2 * calc.o3_lambda + 1 if hasattr(calc, "o3_lambda") else 1, 0))
    return np.ascontiguousarray(np.concatenate(parts, axis=0))
