"""Frame-chunked work on a Dask cluster (optional extra: pip install "sagpr[dask]").

The input is cut into chunks of frames; the object doing the work (a model, a descriptor) is
sent once and replicated to every worker (broadcast); chunks are submitted with a bounded
number in flight, so the client never holds all frames or results; results come back in input order. Dask recomputes
the chunks of a worker that dies, so a lost worker costs time, not results. The chunks are
either frames sent by the client (`map_frames`) or frame ranges of a shared extended-XYZ file
that the workers read themselves (`map_file_ranges`).
"""
from __future__ import annotations

import functools
from collections import deque
from typing import Any, Callable, Iterable, Iterator, List, Optional

import numpy as np

from .frames import as_frame_list, renumber_frame_error


def require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "distributed computing needs Dask: pip install 'sagpr[dask]' (or pip install 'dask[distributed]'); "
            "without it, leave client=None to use the local OpenMP path"
        ) from err


def _identity(obj):
    return obj


def broadcast(client, obj):
    """A future of `obj` for tasks to share (the model, an active set, ...).

    Not client.scatter: scattered data that is lost with a worker cannot be recomputed, and a
    worker dying during a broadcast scatter leaves the copies in doubt. As the result of a task
    carrying `obj`, it is held by a worker, fetched by the others as needed, and recomputed from
    the task if its holder dies.
    """
    import warnings

    with warnings.catch_warnings():
        # the object travels inside the task on purpose (see above): Dask's size hint is moot
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        future = client.submit(_identity, obj, pure=False)
    try:
        client.replicate([future])  # a copy on every worker: no single holder to lose
    except Exception:  # replication is an optimisation; the task can always be recomputed
        pass
    return future


def chunked(frames: Iterable, size: int) -> Iterator[List]:
    """Consecutive lists of at most `size` items, read lazily from any iterable."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    chunk = []
    for item in frames:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_chunk(function, worker_object, frames, first_index):
    try:
        return function(worker_object, as_frame_list(frames))
    except Exception as err:
        raise renumber_frame_error(err, first_index, len(frames)) from err


def _in_order(futures: Iterable, max_in_flight: int) -> Iterator[Any]:
    """Results of lazily submitted futures in submission order, at most `max_in_flight` pending."""
    pending = deque()
    for future in futures:
        pending.append(future)
        if len(pending) >= max_in_flight:
            future = pending.popleft()
            yield future.result()
            future.release()
    while pending:
        future = pending.popleft()
        yield future.result()
        future.release()


def _default_in_flight(client, max_in_flight):
    if max_in_flight is None:
        return 4 * (sum(client.nthreads().values()) or 1)
    return max_in_flight


def map_frames(
    function: Callable[[Any, list], Any],
    obj: Any,
    frames: Iterable,
    *,
    client,
    chunk_size: int = 32,
    max_in_flight: Optional[int] = None,
) -> Iterator[Any]:
    """Yield function(obj, chunk) for consecutive chunks of `frames`, in input order, on `client`.

    `obj` is sent once and replicated to every worker (broadcast). At most `max_in_flight` chunks
    (default: 4 per worker thread) are submitted at a time, so memory stays flat however many
    frames stream in. An error in a chunk is raised here, naming the chunk's frame range.
    """
    require_dask()
    max_in_flight = _default_in_flight(client, max_in_flight)
    remote = broadcast(client, obj)

    def submitted():
        first = 0
        for chunk in chunked(frames, chunk_size):
            yield client.submit(_run_chunk, function, remote, chunk, first, pure=False)
            first += len(chunk)

    yield from _in_order(submitted(), max_in_flight)


def _run_span(function, worker_object, span):
    from .trajectory import read_span

    frames = read_span(span)  # its errors already name the file and the frame's place in it
    try:
        return function(worker_object, frames)
    except Exception as err:
        renumbered = renumber_frame_error(err, span.first, len(span))
        named = type(renumbered)(f"{span.path}: {renumbered}")
        raise named from err


def map_file_ranges(
    function: Callable[[Any, list], Any],
    obj: Any,
    source,
    *,
    client,
    chunk_size: int = 32,
    max_in_flight: Optional[int] = None,
    progress: bool = False,
) -> Iterator[Any]:
    """Like `map_frames`, but each worker reads its own chunk of frames from a shared file.

    `source` is the path of an extended-XYZ file that every worker can open (a shared
    filesystem) or its `sagpr.trajectory.FrameIndex`. The client only indexes the file (one
    streaming pass; `progress` shows it) and sends each task a frame range with its byte
    offsets, never frames. Tasks hold no scattered per-chunk data, so Dask recomputes those of
    a worker that dies. Errors name the file and the frame's position in the whole file.
    """
    from .trajectory import FrameIndex, index_frames

    require_dask()
    index = source if isinstance(source, FrameIndex) else index_frames(source, progress=progress)
    max_in_flight = _default_in_flight(client, max_in_flight)
    remote = broadcast(client, obj)
    futures = (client.submit(_run_span, function, remote, span, pure=False) for span in index.spans(chunk_size))
    yield from _in_order(futures, max_in_flight)


def _predict_chunk(model, frames, **options):
    return model.predict(frames, **options)


def distributed_predict(model, frames: Iterable, *, client, chunk_size: int = 32, **predict_options):
    """model.predict(frames, **predict_options) computed chunk by chunk on a Dask cluster and
    concatenated in order (tuples and {lambda: array} dicts of per-site arrays part by part, so
    return_std / return_cov give what the local call gives; options left False are not passed)."""
    predict_options = {k: v for k, v in predict_options.items() if v is not False}
    function = functools.partial(_predict_chunk, **predict_options) if predict_options else _predict_chunk
    parts = list(map_frames(function, model, frames, client=client, chunk_size=chunk_size))
    if not parts:
        raise ValueError("no frames to predict")
    return _concatenate(parts)


def _concatenate(parts):
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_concatenate([p[i] for p in parts]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: _concatenate([p[key] for p in parts]) for key in first}
    return np.concatenate(parts, axis=0)
