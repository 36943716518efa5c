"""Predictive uncertainties: their cost, their calibration, and active selection.

--cost      one thread, default settings: a lambda=2 TensorModel (n_sparse 1000) fitted on LTO Li
            environments (sagpr.datasets.lto), then medians of model.predict on a 1512-atom cell
            with and without return_std / return_cov; the ratio is the cost of the uncertainty.
--coverage  95 % interval coverage on held-out structures, raw and calibrated (scale fitted by
            model.calibrate on structure-grouped CV of the training set), per spherical component
            and for C_Q, eta, omega_Q (sagpr.uncertainty sampling); Spearman rank correlation
            of the predicted sigma with the actual error. LTO Li (built-in, 30 train / 10 test
            cells) and gehlenite 27Al (../shared/data/gehlenite: every third file held out).
--active    gehlenite: held-out |C_Q| MAE against the number of training structures, starting
            from 2 and adding 2 at a time up to 16, picking by sagpr select (greedy variance
            reduction) or at random (several seeds).
--prefix    the prefix covariance (uncertainty_n_sparse = M' of the M active points) against the
            exact one (M' = M): with --cost, the cost ratio of return_cov per M' (baseline predict
            of the same run); with --coverage, sparse models (LTO Li: M = --lto-sparse, on enough
            cells that the CV folds stay sparse; gehlenite: M = 500) calibrated for each M'
            (model.calibrate with that M') and their held-out 95 % coverage and Spearman(sigma,
            |error|); --lto-seed, --datasets lto,gehlenite choose the data; M' may be "auto"
            (uncertainty_n_sparse="auto") or "none"; --default-settings: sagpr's default
            descriptor and GPR settings instead of SMALL.
--projection the projected covariance (uncertainty_projection = r principal directions) against
            the exact one, as --prefix (cost and calibrated coverage / Spearman).

    OMP_NUM_THREADS=1 python bench/uncertainty.py [--cost] [--coverage] [--active] [--quick]
                                                  [--prefix 100,200,400]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import sagpr
from sagpr import nmr, tensors, uncertainty
from sagpr.models import calibration

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"
SMALL = dict(cutoff=5.0, max_radial=6, max_angular=4, atomic_gaussian_width=0.4, zeta=2, regularizer=1e-6,
             progress=False)


def median_time(repeats, work):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _routes(prefixes, projections):
    """(label, parameters) of each covariance route compared with the exact one."""
    return ([(f"uncertainty_n_sparse={m}", {"uncertainty_n_sparse": m, "uncertainty_projection": None}) for m in prefixes]
            + [(f"uncertainty_projection={r}", {"uncertainty_n_sparse": None, "uncertainty_projection": r})
               for r in projections])


EXACT = {"uncertainty_n_sparse": None, "uncertainty_projection": None}


def cost(repeats, quick, prefixes=(), projections=()):
    from sagpr.datasets import lto
    from sagpr.parallel import set_num_threads

    set_num_threads(1)
    n_sparse = 300 if quick else 1000
    train = lto.generate(-(-(n_sparse + 200) // 8), seed=0, progress=False)
    big = lto.large_models(1, 3, mc_sweeps=20, rattle_std=0.05, seed=1, progress=False)[0]
    model = sagpr.TensorModel(center_species="Li", n_sparse=n_sparse, progress=False)  # default settings
    default_route = {k: model.get_params()[k] for k in EXACT}
    model.set_params(**EXACT)  # the exact covariance first, the baseline of the routes below
    start = time.perf_counter()
    model.fit(train)
    sub = model.models_[3][2]
    print(f"fit {time.perf_counter() - start:.1f} s: M={len(sub.weights_)}, F={sub.active_features_.shape[2]}, "
          f"F0={sub.active_features0_.shape[1]}, route {sub.prediction_method()}; predicting "
          f"{int((big.numbers == 3).sum())} Li of a {len(big)}-atom cell; default covariance route {default_route}; "
          f"exact covariance on {sub.covariance_size()} active points")
    feats = model._features([big], 3, [2])
    x, x0 = feats[2], feats[0][:, 0, :]
    t_feat, _ = median_time(repeats, lambda: model._features([big], 3, [2]))
    t_plain, _ = median_time(repeats, lambda: model.predict(big))
    t_std, _ = median_time(repeats, lambda: model.predict(big, return_std=True))
    t_cov, _ = median_time(repeats, lambda: model.predict(big, return_cov=True))
    t_mean, _ = median_time(repeats, lambda: sub.predict_features(x, x0))
    t_kernel, _ = median_time(repeats, lambda: sub.predict_features(x, x0, method="kernel"))
    t_var, _ = median_time(repeats, lambda: sub.covariance_features(x, x0))
    print(f"model.predict: {t_plain:.3f} s; return_std {t_std:.3f} s (x{t_std / t_plain:.2f}); return_cov "
          f"{t_cov:.3f} s (x{t_cov / t_plain:.2f})  [features {t_feat:.3f} s, mean from features {t_mean:.3f} s "
          f"({sub.prediction_method()} route; kernel route {t_kernel:.3f} s), covariance from features {t_var:.3f} s "
          f"= x{t_var / t_kernel:.2f} the kernel route]")
    for label, route in _routes(prefixes, projections):
        model.set_params(**route)
        model.predict(big, return_cov=True)  # a projection is built once per model: not timed
        t_m, _ = median_time(repeats, lambda: model.predict(big, return_cov=True))
        label += f" ({sub.covariance_size()} points)" if route["uncertainty_n_sparse"] == "auto" else ""
        t_s, _ = median_time(repeats, lambda: model.predict(big, return_std=True))
        t_v, _ = median_time(repeats, lambda: sub.covariance_features(x, x0))
        print(f"  {label}: return_cov {t_m:.3f} s (x{t_m / t_plain:.2f} predict), return_std "
              f"{t_s:.3f} s (x{t_s / t_plain:.2f}); covariance from features {t_v:.3f} s")
    model.set_params(**EXACT)


def _components(model, frames):
    means, covs = model.predict_spherical(frames, return_cov=True)
    return means[2], covs[2]


def _spearman(a, b):
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def coverage_report(name, model, train, test, ref_V, isotope, groups=None, n_folds=5):
    start = time.perf_counter()
    model.fit(train)
    raw_mean, raw_cov = _components(model, test)
    cal = model.calibrate(train, groups=groups, n_folds=n_folds)
    (key, fitted), = cal.items()
    cal_mean, cal_cov = _components(model, test)
    ref = tensors.symmetric_traceless_to_l2(ref_V)
    r = ref - raw_mean
    units = "au" if name.startswith("gehlenite") else "V/A^2"
    print(f"{name}: {len(train)} train / {len(test)} test structures, {len(ref)} test sites, "
          f"{time.perf_counter() - start:.0f} s; calibration {calibration.describe(fitted)}")
    err = np.linalg.norm(r, axis=1)
    for label, cov in (("raw", raw_cov), ("calibrated", cal_cov)):
        comp = calibration.coverage(r, cov)
        sig = np.sqrt(np.trace(cov, axis1=1, axis2=2) / 5)
        res = uncertainty.observable_uncertainty(raw_mean, cov, isotope, units=units, n_samples=1000, seed=0)
        refobs = uncertainty.reference_observables(ref_V, raw_mean, isotope, units=units)
        cov95 = uncertainty.coverage(res, refobs, 95)
        cq_err = np.abs(refobs["cq"] - res["cq"]["value"])
        print(f"  {label:10s}: 95% coverage components {comp:.3f}, C_Q {cov95['cq']:.3f}, eta {cov95['eta']:.3f}, "
              f"omega_Q {cov95['omega_q']:.3f}, theta {cov95['theta']:.3f} | median sigma(C_Q) "
              f"{np.median(res['cq']['std']):.3g} MHz vs median |C_Q error| {np.median(cq_err):.3g} MHz")
    sig = np.sqrt(np.trace(cal_cov, axis1=1, axis2=2) / 5)
    res = uncertainty.observable_uncertainty(raw_mean, cal_cov, isotope, units=units, n_samples=1000, seed=0)
    refobs = uncertainty.reference_observables(ref_V, raw_mean, isotope, units=units)
    print(f"  Spearman(sigma, |error|): tensor {_spearman(sig, err):.3f}, C_Q "
          f"{_spearman(res['cq']['std'], np.abs(refobs['cq'] - res['cq']['value'])):.3f}")


def prefix_report(name, model, train, test, ref_V, prefixes, groups=None, n_folds=5, projections=()):
    """Calibrated held-out coverage and rank correlation of the exact covariance (M' = M) and of
    each prefix M': the model is fitted once, calibrated (cross-validation folds) for each M'."""
    start = time.perf_counter()
    model.fit(train)
    (part,) = [m for parts in model.models_.values() for m in parts.values()]
    ref = tensors.symmetric_traceless_to_l2(ref_V)
    n_active = len(part.weights_)
    print(f"{name}: {len(train)} train / {len(test)} test structures, {len(ref)} test sites, M = {n_active} "
          f"active ({part.solver_}), fit {time.perf_counter() - start:.0f} s")
    rows = []
    routes = [("exact", EXACT)] + _routes([p for p in prefixes if p == "auto" or (p is not None and p < n_active)],
                                          projections)
    for route_label, route in routes:
        start = time.perf_counter()
        model.set_params(**route)
        m = route["uncertainty_n_sparse"]
        (fitted,) = model.calibrate(train, groups=groups, n_folds=n_folds).values()
        mean, cov = _components(model, test)
        r = ref - mean
        err = np.linalg.norm(r, axis=1)
        sig = np.sqrt(np.trace(cov, axis1=1, axis2=2) / 5)
        label = f"{part.covariance_size()}" + (" (auto)" if m == "auto" else "")
        if route["uncertainty_projection"] is not None:
            label = f"{part.covariance_size()}, projection {route['uncertainty_projection']}"
        rows.append((label, calibration.coverage(r, cov), _spearman(sig, err), fitted))
        print(f"  M'={label:>5}: calibrated 95% coverage {rows[-1][1]:.3f}, Spearman(sigma, |error|) "
              f"{rows[-1][2]:.3f}; {calibration.describe(fitted)} ({time.perf_counter() - start:.0f} s)", flush=True)
    model.set_params(**EXACT)
    return rows


def prefix_coverage(prefixes, lto_sparse, lto_seed=3, datasets=("lto", "gehlenite"), hypers=None, projections=()):
    from sagpr.datasets import lto

    hypers = SMALL if hypers is None else hypers

    if "lto" in datasets:
        n_train = -(-(lto_sparse * 5 // 4 + 40) // 8)  # CV folds of 4/5 of the cells keep > M Li: sparse folds
        frames = lto.generate(n_train + 40, seed=lto_seed, progress=False)
        train, test = frames[:-40], frames[-40:]
        ref = np.concatenate([a.arrays["efg"][a.numbers == 3] for a in test])
        prefix_report(f"LTO Li (seed {lto_seed})", sagpr.TensorModel(center_species="Li", n_sparse=lto_sparse, **hypers),
                      train, test, ref, prefixes, projections=projections)
    if "gehlenite" not in datasets:
        return
    frames = gehlenite_frames()
    train = [f for i, f in enumerate(frames) if i % 3 != 2]
    test = frames[2::3]
    ref = np.concatenate([a.arrays["efg"][a.numbers == 13] for a in test])
    prefix_report("gehlenite 27Al", sagpr.TensorModel(center_species="Al", n_sparse=500, **hypers), train, test, ref,
                  prefixes, n_folds=4, projections=projections)


def gehlenite_frames():
    import ase.io

    paths = sorted(DATA.glob("*.magres"))
    if not paths:
        raise SystemExit(f"no data at {DATA}")
    return [ase.io.read(p, format="magres") for p in paths]


def coverage(quick):
    from sagpr.datasets import lto

    frames = lto.generate(24 if quick else 40, seed=3, progress=False)
    n_test = len(frames) // 4
    train, test = frames[:-n_test], frames[-n_test:]
    ref = np.concatenate([a.arrays["efg"][a.numbers == 3] for a in test])
    coverage_report("LTO Li", sagpr.TensorModel(center_species="Li", n_sparse=None if quick else 200, **SMALL),
                    train, test, ref, "7Li")
    frames = gehlenite_frames()
    train = [f for i, f in enumerate(frames) if i % 3 != 2]
    test = frames[2::3]
    ref = np.concatenate([a.arrays["efg"][a.numbers == 13] for a in test])
    coverage_report("gehlenite 27Al", sagpr.TensorModel(center_species="Al", n_sparse=None, **SMALL),
                    train, test, ref, "27Al", n_folds=4)


def active(quick, seeds):
    from sagpr.workflows.prediction.selection import select

    frames = gehlenite_frames()
    pool = [f for i, f in enumerate(frames) if i % 3 != 2]
    test = frames[2::3]
    ref = np.concatenate([a.arrays["efg"][a.numbers == 13] for a in test])
    cq_ref = np.abs(nmr.quadrupolar_coupling(ref, "27Al", units="au"))
    hypers = dict(SMALL, max_radial=4, max_angular=3) if quick else SMALL

    def mae(chosen):
        model = sagpr.TensorModel(center_species="Al", n_sparse=None, **hypers).fit([pool[i] for i in chosen])
        cq = np.abs(nmr.quadrupolar_coupling(model.predict(test), "27Al", units="au"))
        return model, float(np.abs(cq - cq_ref).mean())

    sizes = list(range(2, 17, 2))
    curves = {}
    for seed in seeds:
        start = [int(i) for i in np.random.default_rng(seed).permutation(len(pool))[:2]]
        for how in ("active", "random"):
            chosen, curve = list(start), []
            order = [i for i in np.random.default_rng(100 + seed).permutation(len(pool)) if i not in start]
            while True:
                model, m = mae(chosen)
                curve.append(m)
                if len(chosen) >= sizes[-1]:
                    break
                if how == "active":
                    chosen += [p.frame for p in select(model, pool, 2, exclude=chosen)]
                else:
                    chosen += [i for i in order if i not in chosen][:2]
            curves[(how, seed)] = curve
            print(f"seed {seed} {how:6s}: " + "  ".join(f"{n}:{v:.3f}" for n, v in zip(sizes, curve)), flush=True)
    for how in ("active", "random"):
        mean = np.mean([curves[(how, s)] for s in seeds], axis=0)
        print(f"mean {how:6s} |C_Q| MAE (MHz): " + "  ".join(f"{n}:{v:.3f}" for n, v in zip(sizes, mean)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--coverage", action="store_true")
    parser.add_argument("--active", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smaller models and data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="random starts of the active/random curves")
    parser.add_argument("--prefix", default=None, metavar="M1,M2,...",
                        help="prefix covariances (uncertainty_n_sparse) to compare with the exact one")
    parser.add_argument("--projection", default=None, metavar="R1,R2,...",
                        help="projected covariances (uncertainty_projection) to compare with the exact one")
    parser.add_argument("--lto-sparse", type=int, default=1000, help="M of the LTO model of --prefix --coverage")
    parser.add_argument("--lto-seed", type=int, default=3, help="seed of the LTO cells of --prefix --coverage")
    parser.add_argument("--datasets", default="lto,gehlenite", help="data sets of --prefix --coverage")
    parser.add_argument("--default-settings", action="store_true",
                        help="--prefix --coverage with sagpr's default descriptor and GPR settings instead of SMALL")
    args = parser.parse_args()
    prefixes = [v if v == "auto" else None if v == "none" else int(v) for v in args.prefix.split(",")] if args.prefix else []
    projections = [int(v) for v in args.projection.split(",")] if args.projection else []
    if not (args.cost or args.coverage or args.active):
        args.cost = args.coverage = args.active = True
    if args.cost:
        cost(args.repeats, args.quick, prefixes, projections)
    if args.coverage and (prefixes or projections):
        prefix_coverage(prefixes, args.lto_sparse, args.lto_seed, args.datasets.split(","),
                        dict(progress=False) if args.default_settings else SMALL, projections)
    elif args.coverage:
        coverage(args.quick)
    if args.active:
        active(args.quick, list(range(args.seeds)))


if __name__ == "__main__":
    main()
