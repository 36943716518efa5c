"""lambda-SOAP features of the centres a model works on, with progress and clear errors."""
from __future__ import annotations

import numpy as np

from sagpr.frames import as_frame_list

from sagpr import settings


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

    kwargs = {name: params[name] for name in settings.DESCRIPTOR if name != "species"}
    return LambdaSOAP(o3_lambda=o3_lambda, species=list(species), normalize=True, **kwargs)


def cached_calculator(owner, params, o3_lambda, species):
    """calculator(...) memoised on `owner`: building a LambdaSOAP tabulates its radial
    integrals (~0.1 s), too much to repeat on every predict call of a streamed prediction."""
    key = (o3_lambda, tuple(species)) + tuple((name, repr(params[name])) for name in settings.DESCRIPTOR)
    cache = owner.__dict__.setdefault("_calculator_cache", {})
    if key not in cache:
        cache[key] = calculator(params, o3_lambda, species)
    return cache[key]


def compute(calc, frames, centers, progress=False, what="features", chunk=None):
    """Features (n_centres, 2 lambda + 1, F) of the centres of `centers` (atomic numbers), chunked over frames."""
    run = lambda block: [calc.compute(block, center_species=list(centers))]  # noqa: E731
    empty = [(2 * calc.o3_lambda + 1 if hasattr(calc, "o3_lambda") else 1)]
    return _chunked(run, empty, frames, centers, progress, what, chunk)[0]


def compute_many(calc, frames, centers, o3_lambdas, progress=False, what="features", chunk=None):
    """{lambda: (n_centres, 2 lambda + 1, F_lambda)} of a LambdaSOAP, all lambdas from one pass per chunk."""
    lambdas = tuple(dict.fromkeys(int(lam) for lam in o3_lambdas))

    def run(block):
        feats = calc.compute_many(block, o3_lambdas=lambdas, center_species=list(centers))
        return [feats[lam] for lam in lambdas]

    return dict(zip(lambdas, _chunked(run, [2 * lam + 1 for lam in lambdas], frames, centers, progress, what, chunk)))


def features(owner, params, o3_lambdas, species, frames, centers, progress=False, what="features"):
    """{lambda: features} of the centres for each of `o3_lambdas`, calculators memoised on `owner`.

    A LambdaSOAP gives them all from one neighbour list and density per centre; a stand-in
    calculator without compute_many (tests) is called once per lambda.
    """
    lambdas = tuple(dict.fromkeys(int(lam) for lam in o3_lambdas))
    calc = cached_calculator(owner, params, lambdas[0], species)
    if hasattr(calc, "compute_many"):
        return compute_many(calc, frames, centers, lambdas, progress, what)
    return {lam: compute(cached_calculator(owner, params, lam, species), frames, centers, progress, what)
            for lam in lambdas}


def first_atom_features(owner, params, o3_lambdas, species, frames, z):
    """{lambda: features} of the first atom (of species z) of every frame: stored environments,
    centre first (sagpr.models.environments). A LambdaSOAP computes only those centres; a
    stand-in calculator (tests) computes every z atom and the first of each frame is kept."""
    lambdas = tuple(dict.fromkeys(int(lam) for lam in o3_lambdas))
    calc = cached_calculator(owner, params, lambdas[0], species)
    if hasattr(calc, "compute_many"):
        return calc.compute_many(frames, lambdas, first_atom_only=True)
    counts = np.array([int(np.count_nonzero(a.numbers == z)) for a in frames])
    rows = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return {lam: compute(cached_calculator(owner, params, lam, species), frames, [z])[rows] for lam in lambdas}


def feature_pair(owner, params, o3_lambda, species, frames, centers, progress=False, what=None):
    """(x, x0) that a SAGPR of `o3_lambda` needs: x (n, 2 lambda + 1, F) and x0 (n, F0), the lambda=0
    features; both from one descriptor pass. For lambda = 0, x is x0[:, None, :] (shared memory)."""
    o3_lambda = int(o3_lambda)
    if what is None:
        what = f"lambda={o3_lambda} and 0 features" if o3_lambda else "lambda=0 features"
    from sagpr.descriptors import sagpr_pair

    return sagpr_pair(features(owner, params, (o3_lambda, 0), species, frames, centers, progress, what), o3_lambda)


def _chunked(run, components, frames, centers, progress, what, chunk):
    """run(block) -> list of arrays per frame chunk (chunks without centres skipped), concatenated per entry;
    `components`: 2 lambda + 1 of each entry, for the shapes of an empty result."""
    frames = as_frame_list(frames)
    if chunk is None:
        chunk = max(1, len(frames) // 20)
    from ..progress import progress_bar

    parts = []
    with progress_bar(total=len(frames), enabled=progress, desc=what, unit="frame", delay=2.0) as bar:
        for start in range(0, len(frames), chunk):
            block = frames[start : start + chunk]
            if any(np.isin(a.numbers, centers).any() for a in block):
                try:
                    parts.append([np.asarray(x, dtype=np.float64) for x in run(block)])
                except ValueError as err:
                    from sagpr.frames import renumber_frame_error

                    raise renumber_frame_error(err, start, len(block)) from err
            bar.update(len(block))
    if not parts:
        return [np.zeros((0, d, 0)) for d in components]
    # one chunk (the usual case for a few frames) is returned as is: no copy of large features
    return [np.ascontiguousarray(column[0] if len(column) == 1 else np.concatenate(column, axis=0))
            for column in zip(*parts)]
