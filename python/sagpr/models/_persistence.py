"""One-file model persistence: a NumPy .npz archive holding a JSON header and the arrays.

Why .npz + JSON: a zip of .npy arrays is portable, needs nothing beyond NumPy, is read
with allow_pickle=False (so loading a file never executes code), and zip CRCs catch
corruption; the JSON header makes the file self-describing (format name and version,
sagpr version, estimator class, hyperparameters, fitted scalars, target units).
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

FORMAT = "sagpr-model"
FORMAT_VERSION = 1
HEADER = "__sagpr_header__"


#: where the classes of files written before the header recorded a module live
_LEGACY_MODULES = {"SAGPR": "sagpr.models.spherical", "TensorModel": "sagpr.models.tensor",
                   "ScalarModel": "sagpr.models.scalar"}


def _model_class(header):
    """The estimator class a header names (its module must be part of sagpr.models)."""
    import importlib

    name = header.get("class")
    module = header.get("module") or _LEGACY_MODULES.get(name)
    if not isinstance(name, str) or not isinstance(module, str) or not module.startswith("sagpr.models."):
        raise ValueError(f"unknown model class {name!r}")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(f"unknown model class {module}.{name}") from None
    from ._estimator import Estimator

    if not (isinstance(cls, type) and issubclass(cls, Estimator) and hasattr(cls, "_set_state")):
        raise ValueError(f"{module}.{name} is not a sagpr model class")
    return cls


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def save(model, path):
    """Write `model` atomically to `path` (temp file in the same folder, then os.replace,
    via sagpr.atomic: usual file permissions)."""
    from sagpr import __version__

    meta, arrays = model._get_state()
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sagpr_version": __version__,
        "class": type(model).__name__,
        "module": type(model).__module__,
        "params": _jsonable(model.get_params()),
        "state": _jsonable(meta),
        "arrays": sorted(arrays),
    }
    payload = {HEADER: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    for name, value in arrays.items():
        payload["a/" + name] = np.asarray(value)
    from sagpr.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())


def load(path):
    """Read a model written by .save(): SAGPR, TensorModel or ScalarModel.

    Raises ValueError for files that are not sagpr models, are corrupted, or were written
    by an incompatible format version.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ValueError(f"{path}: cannot read model file: {error}") from error
    if not raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # not a zip archive: never let np.load guess
        raise ValueError(f"{path}: not a sagpr model file (those are written by sagpr train or model.save)")
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        names = set(archive.files)
        if HEADER not in names:
            raise ValueError("no sagpr header")
        header = json.loads(bytes(archive[HEADER]).decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("header does not describe a sagpr model")
        arrays = {name: archive["a/" + name] for name in header["arrays"]}
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"{path}: not a sagpr model file ({error})") from error
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path}: sagpr model format version {version!r} (written by sagpr {header.get('sagpr_version')}); "
            f"this sagpr reads version {FORMAT_VERSION}"
        )
    try:
        cls = _model_class(header)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    try:
        legacy = {k: v for k, v in cls._legacy_params.items() if k in cls._param_names}
        model = cls(**{**legacy, **header["params"]})
        model._set_state(header["state"], arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: inconsistent sagpr model file ({error})") from error
    return model
