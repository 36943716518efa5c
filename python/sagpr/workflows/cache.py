"""An on-disk cache of finished runs, so interrupted searches resume instead of starting over."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

from ..atomic import write_text_atomic


def _key(params: Any) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_json_atomic(path, data) -> None:
    """Write JSON to `path` through a temporary file in the same folder and an atomic rename."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=float))


class RunCache:
    """JSON results keyed by their (JSON-serialisable) parameters, one file per run."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, params) -> Path:
        return self.directory / f"{_key(params)}.json"

    def get(self, params) -> Optional[Any]:
        path = self._path(params)
        if not path.exists():
            return None
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is recomputed, not trusted
        if record.get("params") != json.loads(json.dumps(params, sort_keys=True, default=str)):
            return None
        return record.get("result")

    def put(self, params, result) -> None:
        write_json_atomic(self._path(params), {"params": params, "result": result})
