"""Where a SAGPR fit reads its training features from: memory, or blocks computed on a Dask cluster.

A fit makes a few passes over the training environments (feature-selection sample, lambda=0
features for the active-set choice, the active rows, then the normal equations). Each pass is
a function applied block by block, ``function(state, x, x0, y, offset)``, with x, x0 a block's
features after feature selection, y its targets and offset the index of its first environment.

The normal equations are sums over environments (K_MN K_NM = sum_i K_Mi K_iM). They are summed
over fixed blocks of `block_size` consecutive environments, and the block sums are added in
block order ((b0 + b1) + b2) + ...: the serial fit (ArraySource) and the distributed one
(ClusterSource, one task per block, the additions a chain of small tasks) do the same
floating-point operations in the same order, so their models are bit-identical, however many
workers there are and whichever finishes first. At most two (M d)^2 sums are alive at a time in
the serial fit (the running total and one block).
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from sagpr.distributed import broadcast

from . import gpr

#: environments per block of the normal-equation sum (and per task on a cluster)
BLOCK_SIZE = 512


def ordered_sum(parts, add):
    """((p0 + p1) + p2) + ... of the items of `parts`, in their order."""
    total = None
    for part in parts:
        total = part if total is None else add(total, part)
    if total is None:
        raise ValueError("nothing to sum")
    return total


def _add(first, second):
    """Element-wise sum of two tuples of arrays (new arrays: inputs may be shared)."""
    return tuple(np.add(p, q) for p, q in zip(first, second))


class ArraySource:
    """Training features already in memory (the serial fit)."""

    def __init__(self, x, x0, y, *, block_size=BLOCK_SIZE):
        self.x, self.x0, self.y = x, x0, y
        self.n = len(x)
        self.block_size = _check_block_size(block_size)
        self._selection = (None, None, None)
        self._transformed = None

    def raw_map(self, function: Callable, state) -> List:
        """function(state, x, x0, y, offset) on the features before feature selection."""
        return [function(state, self.x, self.x0, self.y, 0)]

    def set_transform(self, o3_lambda, selection, selection0):
        self._selection = (o3_lambda, selection, selection0)
        self._transformed = None

    def _features(self):
        if self._transformed is None:
            lam, sel, sel0 = self._selection
            if sel is None:
                self._transformed = (self.x, self.x0)
            else:
                # block by block, as ClusterSource does (projections are row by row, so this
                # only keeps the two paths' code alike; it also bounds temporaries)
                parts = [gpr.transform(self.x[i:i + self.block_size], self.x0[i:i + self.block_size], lam, sel, sel0)
                         for i in range(0, self.n, self.block_size)]
                self._transformed = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        return self._transformed

    def map(self, function: Callable, state) -> List:
        x, x0 = self._features()
        return [function(state, x, x0, self.y, 0)]

    def sum(self, function: Callable, state, progress=None):
        x, x0 = self._features()
        size = self.block_size

        def blocks():
            for start in range(0, self.n, size):
                stop = min(start + size, self.n)
                yield function(state, x[start:stop], x0[start:stop], self.y[start:stop], start)
                if progress is not None:
                    progress.update(stop - start)

        return ordered_sum(blocks(), _add_in_place)


def _add_in_place(first, second):
    for p, q in zip(first, second):
        p += q
    return first


def _check_block_size(block_size):
    if int(block_size) != block_size or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    return int(block_size)


class Featurizer:
    """Picklable (x^lambda, x^0) of the centres of given species in a list of frames."""

    def __init__(self, params: dict, o3_lambda: int, species: Sequence[int], centers: Sequence[int]):
        self.params = dict(params)
        self.o3_lambda = int(o3_lambda)
        self.species = [int(z) for z in species]
        self.centers = [int(z) for z in centers]

    def __call__(self, frames):
        from . import _features

        return _features.feature_pair(self, self.params, self.o3_lambda, self.species, frames, self.centers)


def _block_task(function, state, featurizer, selection, frames, y, offset, local, numbers):
    """Features of `frames` (input positions `numbers`), rows local[0]:local[1] (the block), then function(...)."""
    from sagpr.frames import renumber_frame_error

    try:
        x, x0 = featurizer(frames)
    except Exception as err:
        raise renumber_frame_error(err, numbers[0], len(frames), numbers) from err
    x, x0 = x[local[0]:local[1]], x0[local[0]:local[1]]
    if len(x) != len(y):
        raise RuntimeError(f"frames {numbers[0]}-{numbers[-1]}: {len(x)} centres for {len(y)} targets")
    if selection is not None:
        x, x0 = gpr.transform(x, x0, *selection)
    return function(state, np.ascontiguousarray(x), np.ascontiguousarray(x0), y, offset)


def cluster_source(client, params, o3_lambda, species, centers, frames, y, *, block_size=BLOCK_SIZE):
    """A ClusterSource over the frames that hold centres of `centers`, y their centres' targets."""
    counts = [int(np.isin(atoms.numbers, centers).sum()) for atoms in frames]
    keep = [i for i, c in enumerate(counts) if c]
    featurizer = Featurizer(params, o3_lambda, species, centers)
    return ClusterSource(client, featurizer, [frames[i] for i in keep], y, [counts[i] for i in keep],
                         block_size=block_size, frame_numbers=keep)


def feature_sizes(params, o3_lambda, species):
    """(F, F0): numbers of lambda and lambda=0 features of a descriptor setting."""
    from . import _features

    size = _features.calculator(params, o3_lambda, species).n_features
    size0 = size if o3_lambda == 0 else _features.calculator(params, 0, species).n_features
    return int(size), int(size0)


class ClusterSource:
    """Training features computed block by block on a Dask cluster.

    frames: frames holding centres; y: the targets of their centres (frame then atom order);
    counts: centres per frame. Each block of `block_size` environments is one task, which
    computes the features of the frames the block touches (a frame straddling two blocks is
    computed by both). Dask recomputes the tasks of a worker that dies, so a pass always sees
    every block exactly once.
    """

    def __init__(self, client, featurizer: Featurizer, frames, y, counts, *, block_size=BLOCK_SIZE,
                 frame_numbers=None):
        from sagpr.distributed import require_dask

        require_dask()
        self.client = client
        self.block_size = _check_block_size(block_size)
        counts = np.asarray(counts, dtype=int)
        self.n = int(counts.sum())
        if len(y) != self.n:
            raise ValueError(f"{len(y)} targets for {self.n} centres")
        numbers = list(range(len(frames))) if frame_numbers is None else list(frame_numbers)
        starts = np.concatenate([[0], np.cumsum(counts)])  # first environment of each frame
        self._blocks = []
        for first in range(0, self.n, self.block_size):
            last = min(first + self.block_size, self.n)
            f0 = int(np.searchsorted(starts, first, side="right")) - 1
            f1 = int(np.searchsorted(starts, last, side="left"))  # frames f0 .. f1 - 1
            local = (first - int(starts[f0]), last - int(starts[f0]))
            self._blocks.append((frames[f0:f1], y[first:last], first, local, numbers[f0:f1]))
        self._featurizer = broadcast(client, featurizer)
        self._selection = None

    def set_transform(self, o3_lambda, selection, selection0):
        self._selection = None if selection is None else (o3_lambda, selection, selection0)

    def _submit(self, function, state, selection):
        remote = broadcast(self.client, state) if state is not None else None
        return [self.client.submit(_block_task, function, remote, self._featurizer, selection, frames, y, offset,
                                   local, first, pure=False)
                for frames, y, offset, local, first in self._blocks]

    def raw_map(self, function: Callable, state) -> List:
        return self.client.gather(self._submit(function, state, None))

    def map(self, function: Callable, state) -> List:
        return self.client.gather(self._submit(function, state, self._selection))

    def sum(self, function: Callable, state, progress=None):
        """The blocks' results (tuples of arrays) added on the cluster in block order (the order of
        ordered_sum), so only the total comes back to the client. No block result is held here:
        Dask frees each once it has been added."""
        from distributed import as_completed

        leaves = self._submit(function, state, self._selection)
        sizes = {f.key: len(block[1]) for f, block in zip(leaves, self._blocks)}
        total = ordered_sum(leaves, lambda p, q: self.client.submit(_add, p, q, pure=False))
        pending = as_completed(leaves)
        del leaves
        for done in pending:
            if progress is not None:
                progress.update(sizes[done.key])
        del done
        return total.result()


def select_features(source, o3_lambda, n_features, feature_selection, random_state):
    """(selection, lambda=0 selection) from samples of the source's environments (before feature
    selection), or (None, None) when n_features is None (see gpr.select_features and
    gpr.pca_projection). The samples depend on the features only, never the labels."""
    if n_features is None:
        return None, None
    d = 2 * int(o3_lambda) + 1
    select = gpr.select_features if feature_selection == "fps" else gpr.pca_projection
    rows = gpr.sample_rows(source.n, d, random_state)
    rows0 = gpr.sample_rows(source.n, 1, random_state)
    parts = source.raw_map(take_rows, (rows, rows0))
    selection = select(np.concatenate([p[0] for p in parts]), n_features)
    if o3_lambda == 0:
        return selection, selection
    return selection, select(np.concatenate([p[1] for p in parts])[:, None, :], n_features)


# ------------------------------------------------------------------ pass functions
def _local(indices, offset, n):
    """Indices (sorted, global) falling in [offset, offset + n), as local indices."""
    lo, hi = np.searchsorted(indices, [offset, offset + n])
    return indices[lo:hi] - offset


def take_rows(state, x, x0, y, offset):
    """(x rows `state[0]`, x0 rows `state[1]`) of the block: the feature-selection samples."""
    rows, rows0 = state
    return x[_local(rows, offset, len(x))], x0[_local(rows0, offset, len(x))]


def x0_and_mask(state, x, x0, y, offset):
    """The block's lambda=0 features and which environments have non-zero lambda features."""
    return x0, gpr.nonzero_environments(x)


def take_active(state, x, x0, y, offset):
    """Rows `state` (sorted global indices) of the block's lambda features."""
    return x[_local(state, offset, len(x))]


def normal_equations(state, x, x0, y, offset):
    """The block's (K_MN K_NM lower triangle, K_MN y), environments with zero features left out."""
    a, a0, zeta, y_mean = state
    keep = gpr.nonzero_environments(x)
    if not keep.all():
        x, x0, y = x[keep], x0[keep], y[keep]
    return gpr.accumulate(np.ascontiguousarray(x), np.ascontiguousarray(x0), y - y_mean, a, a0, zeta,
                           chunk=max(len(x), 1))
