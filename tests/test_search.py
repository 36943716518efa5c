"""Splits, the run cache and the Box-Behnken search driver."""
import json

import numpy as np
import pytest

from sagpr.workflows.cache import RunCache
from sagpr.workflows.tuning.design import Factor
from sagpr.workflows.tuning.search import box_behnken_search, screened_search
from sagpr.workflows.tuning.splits import k_fold, subsample, train_test_split


def test_train_test_split_is_seeded_and_disjoint():
    train, test = train_test_split(100, seed=3)
    assert len(test) == 20 and len(train) == 80
    assert not set(train) & set(test)
    again = train_test_split(100, seed=3)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(train_test_split(100, seed=4)[1], test)


def test_split_by_structure_keeps_groups_together():
    groups = np.repeat(np.arange(10), 7)
    train, test = train_test_split(len(groups), groups=groups, seed=0)
    assert not set(groups[train]) & set(groups[test])
    for tr, va in k_fold(len(groups), n_folds=5, groups=groups, seed=1):
        assert not set(groups[tr]) & set(groups[va])


def test_k_fold_partitions_everything_once():
    seen = []
    for train, val in k_fold(23, n_folds=5, seed=0):
        assert not set(train) & set(val)
        assert len(train) + len(val) == 23
        seen.extend(val)
    assert sorted(seen) == list(range(23))
    with pytest.raises(ValueError, match="n_folds"):
        list(k_fold(3, n_folds=5))


def test_subsample_is_seeded_and_keeps_whole_groups():
    items = np.arange(3, 103)
    assert subsample(items, None) is not None and np.array_equal(subsample(items, None), items)
    assert np.array_equal(subsample(items, 500), items)
    a = subsample(items, 30, seed=1)
    assert len(a) == 30 and len(np.unique(a)) == 30 and np.all(np.isin(a, items)) and np.all(np.diff(a) > 0)
    assert np.array_equal(subsample(items, 30, seed=1), a) and not np.array_equal(subsample(items, 30, seed=2), a)
    groups = np.repeat(np.arange(30), 4)[:103]  # 4 items per structure
    b = subsample(items, 30, seed=1, groups=groups)
    assert len(b) <= 30 and len(b) >= 26
    kept = np.unique(groups[b])
    assert np.array_equal(np.sort(b), items[np.isin(groups[items], kept)])  # whole structures only
    with pytest.raises(ValueError, match="at least 1"):
        subsample(items, 0)
    with pytest.raises(ValueError, match="at least 1"):
        subsample(items[:0], 0)


def test_search_finds_minimum_and_uses_cache(tmp_path):
    factors = [Factor("cutoff", 3.0, 7.0), Factor("regularizer", 1e-8, 1e-2, scale="log"), Factor("width", 0.2, 0.6)]
    calls = []

    def objective(p):
        calls.append(p)
        x = np.array([p["cutoff"] - 5.5, np.log10(p["regularizer"]) + 4, 10 * (p["width"] - 0.35)])
        return [1.0 + x @ x + 0.01 * k for k in range(5)]  # five "folds"

    result = box_behnken_search(factors, objective, cache_dir=tmp_path, progress=False)
    assert len(result.runs) == 16  # 15 design runs + the surface minimum
    assert len(calls) == 14  # the three centre replicates are evaluated once
    best = result.best["params"]
    assert best["cutoff"] == pytest.approx(5.5, abs=1e-3)
    assert best["regularizer"] == pytest.approx(1e-4, rel=1e-2)
    assert best["width"] == pytest.approx(0.35, abs=1e-3)
    assert "**best**" in result.table()
    json.loads(result.to_json())
    # Run again: everything comes from the cache.
    calls.clear()
    again = box_behnken_search(factors, objective, cache_dir=tmp_path, progress=False)
    assert calls == [] and again.best["score"] == result.best["score"]


def test_screened_search_rescores_only_the_near_best_runs(tmp_path):
    factors = [Factor("cutoff", 3.0, 7.0), Factor("width", 0.2, 0.6), Factor("regularizer", 1e-8, 1e-2, scale="log")]

    def bowl(p, tilt=0.0):
        x = np.array([p["cutoff"] - 5.0, 5 * (p["width"] - 0.4), np.log10(p["regularizer"]) + 5])
        return 1.0 + x @ x + tilt * (p["width"] - 0.4)

    screened, full = [], []
    # the screen ranks like the truth up to a tilt that favours wide Gaussians: a near-tie it gets wrong
    screen = lambda p: screened.append(p) or bowl(p, tilt=-1.0)
    truth = lambda p: full.append(p) or bowl(p, tilt=+1.0)
    result = screened_search(factors, screen, truth, tolerance=0.6, fixed={"zeta": 2}, cache_dir=tmp_path)
    plain = box_behnken_search(factors, screen, fixed={"zeta": 2}, progress=False)
    assert len(screened) == 13 + 1 + 13 + 1  # distinct design points + surface minimum (twice: plain too)
    # re-scored: every distinct screen run within 60 % of the screen's best, nothing else
    best_screen = plain.best["score"]
    near = {json.dumps(r["params"], sort_keys=True) for r in plain.runs if r["score"] <= 1.6 * best_screen}
    assert {json.dumps({k: v for k, v in p.items() if k != "zeta"}, sort_keys=True) for p in full} == near
    assert len(full) == len(near) < 13 and all(p["zeta"] == 2 for p in full)
    rescored = [r for r in result.runs if r["kind"].startswith("all sites")]
    assert len(result.runs) == len(plain.runs) + len(rescored)
    # the truth decides between the near-tied candidates: the narrower Gaussian wins, not the screen's pick
    assert result.best in rescored and result.best["score"] == min(truth(r["params"]) for r in rescored)
    assert result.best["params"]["width"] < plain.best["params"]["width"]
    assert "**best**" in result.table() and "screen: design" in result.table()
    json.loads(result.to_json())
    # a second run takes the re-scored runs from the cache
    full.clear()
    screened_search(factors, screen, truth, tolerance=0.6, fixed={"zeta": 2}, cache_dir=tmp_path)
    assert full == []
    # tolerance 0: only the screen's best (and its exact ties) is re-scored
    full.clear()
    zero = screened_search(factors, screen, truth, tolerance=0.0)
    assert len(full) == 1 and zero.best["params"] == plain.best["params"]
    # `order` sets the order of the re-scored runs (e.g. by descriptor setting)
    full.clear()
    screened_search(factors, screen, truth, tolerance=1e3, order=lambda p: -p["width"])
    assert len(full) >= 13 and [p["width"] for p in full] == sorted((p["width"] for p in full), reverse=True)
    with pytest.raises(ValueError, match="tolerance"):
        screened_search(factors, screen, truth, tolerance=-0.1)


def test_cache_ignores_damaged_entries(tmp_path):
    cache = RunCache(tmp_path)
    cache.put({"a": 1}, {"score": 2.0})
    assert cache.get({"a": 1}) == {"score": 2.0}
    for f in tmp_path.glob("*.json"):
        f.write_text("{not json")
    assert cache.get({"a": 1}) is None
