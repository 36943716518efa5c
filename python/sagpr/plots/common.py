"""Shared figure helpers: a headless matplotlib and atomic saving."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend, with a clear error if missing."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'sagpr[plot]'") from err
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi: int = 150) -> Path:
    """Save `fig` to `path` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    with atomic_path(path, suffix=path.suffix) as tmp:  # savefig picks the format from the suffix
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path
