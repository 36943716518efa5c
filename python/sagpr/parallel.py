"""Threads of the C++ core (OpenMP). OMP_NUM_THREADS sets the default at start-up."""
from . import _core


def set_num_threads(n: int) -> None:
    """Use `n` OpenMP threads in the C++ core from now on (features, kernels, Ewald sums)."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of OpenMP threads the C++ core uses."""
    return int(_core.get_num_threads())
