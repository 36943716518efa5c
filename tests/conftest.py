"""Fixtures shared by several test modules."""
import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one OpenMP thread: their fits are tiny, and OpenMP start-up costs
    more than it saves (2.4x slower on a busy machine)."""
    from sagpr.parallel import get_num_threads, set_num_threads

    n = get_num_threads()
    set_num_threads(1)
    yield
    set_num_threads(n)
