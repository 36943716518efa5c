"""Progress bars: one place decides when they are shown.

Bars go to stderr only when it is a terminal, so a log file never fills with carriage returns,
and never when the user asked for none (``--no-progress`` / ``progress=False``).
"""
from __future__ import annotations


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """A tqdm bar (also usable as a context manager) shown only on a terminal and when `enabled`."""
    from tqdm.auto import tqdm

    # tqdm's disable=None means: disabled unless the output stream is a TTY.
    return tqdm(iterable, disable=None if enabled else True, **kwargs)
