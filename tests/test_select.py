"""Active selection (sagpr select): greedy variance reduction with the posterior updated after each pick."""
import numpy as np
import pytest

import sagpr
from sagpr.cli import main
from sagpr.workflows.prediction.selection import select

from synthetic_efg import random_cells

HYPERS = dict(center_species="Li", cutoff=4.0, max_radial=4, max_angular=3, n_sparse=None, regularizer=1e-6,
              progress=False)


@pytest.fixture(scope="module")
def data():
    frames = random_cells(12, seed=5)
    return sagpr.TensorModel(**HYPERS).fit(frames[:4]), frames[4:]


def _slow_greedy(model, pool, n):
    """Reference: refit nothing, condition the joint Gaussian by hand with numpy (inverse, not Cholesky)."""
    (cov, site_frames), = model.joint_covariance(pool).values()
    cols = np.repeat(site_frames, 5)
    picked = []
    for _ in range(n):
        best = max((f for f in set(site_frames) if f not in picked),
                   key=lambda f: np.trace(cov[:, cols == f] @ np.linalg.inv(cov[np.ix_(cols == f, cols == f)] + 1e-6 * np.eye(int((cols == f).sum()))) @ cov[cols == f]))
        J = cols == best
        cov = cov - cov[:, J] @ np.linalg.inv(cov[np.ix_(J, J)] + 1e-6 * np.eye(int(J.sum()))) @ cov[J]
        picked.append(best)
    return picked


def test_greedy_picks_match_a_slow_reference(data):
    model, pool = data
    picks = select(model, pool, 4)
    assert [p.frame for p in picks] == _slow_greedy(model, pool, 4)
    gains = [p.gain for p in picks]
    assert gains == sorted(gains, reverse=True)  # conditioning only lowers later gains (submodular)
    remaining = [p.remaining for p in picks]
    assert all(b < a for a, b in zip(remaining, remaining[1:]))


def test_duplicate_structure_is_not_picked_twice(data):
    """After a pick its copy carries (almost) no information: the posterior update makes picks diverse."""
    model, pool = data
    first = select(model, pool, 1)[0].frame
    dup = pool + [pool[first].copy()]
    picks = select(model, dup, 2)
    assert {picks[0].frame, picks[1].frame} != {first, len(pool)}
    assert select(model, dup, 2, exclude=[first])[0].frame == len(pool)  # the copy is as good as the original


def test_picking_reduces_the_pool_uncertainty_after_refit(data):
    """Adding the picked structures to the training set lowers the pool's predicted variance more
    than adding the least-ranked ones."""
    model, pool = data
    train = random_cells(12, seed=5)[:4]
    picks = [p.frame for p in select(model, pool, 2)]
    worst = [p.frame for p in select(model, pool, len(pool))][-2:]

    def left(extra):
        m = sagpr.TensorModel(**HYPERS).fit(train + [pool[i] for i in extra])
        return np.trace(m.predict(pool, return_cov=True)[1][2], axis1=1, axis2=2).sum()

    assert left(picks) < left(worst)


def test_cli_select_writes_picks_with_reasons(data, tmp_path, capsys):
    from ase.io import read

    from sagpr.io import write_efg

    model, pool = data
    model.save(tmp_path / "m.sagpr")
    write_efg(tmp_path / "pool.xyz", pool)
    assert main(["select", "--model", str(tmp_path / "m.sagpr"), "--pool", str(tmp_path / "pool.xyz"), "--n", "3",
                 "--out", str(tmp_path / "next.xyz")]) == 0
    text = capsys.readouterr().out
    assert "picked 3 of 8" in text and "removes" in text
    picked = read(tmp_path / "next.xyz", index=":")
    assert [a.info["selection_rank"] for a in picked] == [1, 2, 3]
    assert [a.info["source_frame"] for a in picked] == [p.frame for p in select(model, pool, 3)]
    assert main(["select", "--model", str(tmp_path / "m.sagpr"), "--pool", str(tmp_path / "pool.xyz"), "--n", "0",
                 "--out", str(tmp_path / "x.xyz")]) == 1
