"""7Li (or 47Ti, 17O) tensorial errors on the built-in LTO set: local lambda-SOAP vs local + LODE.

    python bench/lode_lto.py --structures 300 --species Li

Structure split (80/20 by structure, fixed seed). Both models are SAGPR(o3_lambda=2) on the
same local lambda-SOAP settings; local + LODE concatenates the local features with the rho x V
multi-scale features (sagpr.lode.combine, weight w: kernel (1-w) K_local + w K_LODE on the lambda
and lambda=0 parts). The regularizer (and w) are picked on a validation split of the training
structures; the test MAE of C~Q, eta~ and omega_Q (metrics.metrics) and the feature, fit and
predict times are printed.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from sagpr import LambdaSOAP, settings
from sagpr.datasets import lto
from sagpr.lode import LODE, MultiScaleLambdaSOAP, combine
from sagpr.metrics import metrics
from sagpr.models.spherical import SAGPR
from sagpr.quantities import QUANTITIES
from sagpr.tensors import l2_to_symmetric_traceless, symmetric_traceless_to_l2

ISOTOPES = {"Li": "7Li", "Ti": "47Ti", "O": "17O", "Al": "27Al"}
GEHLENITE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gehlenite"


def site_targets(frames, symbol):
    from ase.data import atomic_numbers

    z = atomic_numbers[symbol]
    efg = [a.arrays["efg"][a.numbers == z] for a in frames]
    owner = np.concatenate([np.full(len(e), i) for i, e in enumerate(efg)])
    return np.concatenate(efg), owner


def fit_predict(x2, x0, y, train, test, regularizer, n_sparse):
    model = SAGPR(o3_lambda=2, zeta=2, regularizer=regularizer, n_sparse=n_sparse, progress=False)
    start = time.perf_counter()
    model.fit_features(x2[train], x0[train], y[train])
    fit = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict_features(x2[test], x0[test])
    return pred, fit, time.perf_counter() - start


def scores(V_ref, pred, isotope, units):
    report = metrics(V_ref, l2_to_symmetric_traceless(pred), isotope, units=units)
    return {k: report[QUANTITIES[k].name]["mae"] for k in ("cq_tilde", "eta_tilde", "omega_q")}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", type=int, default=300)
    p.add_argument("--species", default="Li")
    p.add_argument("--gehlenite", action="store_true",
                   help="the CASTEP gehlenite cells of ../shared/data/gehlenite (EFGs in au) instead of LTO")
    p.add_argument("--cutoff", type=float, default=6.0)
    p.add_argument("--small-cutoff", type=float, default=4.5, help="local cutoff of the cheaper local + LODE model")
    p.add_argument("--max-radial", type=int, default=6)
    p.add_argument("--max-angular", type=int, default=4)
    p.add_argument("--width", type=float, default=0.4)
    p.add_argument("--lode-cutoff", type=float, default=settings.default("lode_cutoff"))
    p.add_argument("--lode-max-radial", type=int, default=settings.default("lode_max_radial"))
    p.add_argument("--lode-max-angular", type=int, default=settings.default("lode_max_angular"))
    p.add_argument("--lode-width", type=float, default=settings.default("lode_atomic_gaussian_width"))
    p.add_argument("--n-sparse", type=int, default=500)
    p.add_argument("--regularizers", type=float, nargs="+", default=[1e-8, 1e-6, 1e-4, 1e-2])
    p.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.5, 0.7, 0.9])
    p.add_argument("--local-cutoffs", type=float, nargs="+", default=None,
                   help="local cutoffs of the local + LODE models (default: --cutoff and --small-cutoff)")
    p.add_argument("--lode-scaling", choices=("centre", "global"), default="centre",
                   help="rho x V features normalised per centre, or divided by their mean training norm")
    p.add_argument("--lode-features", choices=("product", "potential"), default=settings.default("lode_features"),
                   help="rho x V products, or the lambda=2 block of the LODE expansion itself (nu = 1, "
                        "scaled globally; the lambda=0 factor stays local)")
    args = p.parse_args()

    if args.gehlenite:
        import ase.io

        paths = sorted(GEHLENITE.glob("*.magres"))
        if not paths:
            raise SystemExit(f"no data at {GEHLENITE}")
        frames = [ase.io.read(path, format="magres") for path in paths]
        args.structures = len(frames)
        units = "au"
    else:
        frames = lto.generate(args.structures, progress=False)
        units = "V/A^2"
    species = sorted({int(z) for a in frames for z in a.numbers})
    V, owner = site_targets(frames, args.species)
    y = symmetric_traceless_to_l2(V)
    rng = np.random.default_rng(0)
    structures = rng.permutation(args.structures)
    n_test = args.structures // 5
    test = np.isin(owner, structures[:n_test])
    valid = np.isin(owner, structures[n_test:2 * n_test])
    train_all = ~test
    train = ~test & ~valid
    iso = ISOTOPES[args.species]
    print(f"{iso}: {len(V)} sites, {train_all.sum()} train / {test.sum()} test sites, structure split")

    def local(cutoff):
        start = time.perf_counter()
        calc = LambdaSOAP(o3_lambda=2, cutoff=cutoff, max_radial=args.max_radial, max_angular=args.max_angular,
                          atomic_gaussian_width=args.width, species=species)
        x = calc.compute_many(frames, (0, 2), center_species=args.species)
        return x[2], x[0][:, 0], time.perf_counter() - start

    def multiscale(cutoff):
        start = time.perf_counter()
        ms = MultiScaleLambdaSOAP(cutoff=cutoff, max_radial=args.max_radial, max_angular=args.max_angular,
                                  atomic_gaussian_width=args.width, lode_cutoff=args.lode_cutoff,
                                  lode_max_radial=args.lode_max_radial, lode_max_angular=args.lode_max_angular,
                                  lode_atomic_gaussian_width=args.lode_width, species=species,
                                  normalize=args.lode_scaling == "centre")
        x = ms.compute_many(frames, (0, 2), center_species=args.species)
        x2, x0 = x[2], x[0][:, 0]
        if args.lode_scaling == "global":  # one scale for all centres, from the training set
            x2 = x2 / np.sqrt(np.mean(np.sum(x2[train_all] ** 2, axis=(1, 2))))
            x0 = x0 / np.sqrt(np.mean(np.sum(x0[train_all] ** 2, axis=1)))
        return x2, x0, time.perf_counter() - start

    def potential():
        start = time.perf_counter()
        lode = LODE(cutoff=args.lode_cutoff, max_radial=args.lode_max_radial, max_angular=2,
                    atomic_gaussian_width=args.lode_width, species=species)
        v = lode.compute(frames, center_species=args.species)
        v2 = np.moveaxis(v[..., 4:9].reshape(len(v), -1, 5), 2, 1)  # (n, 5, n_species * max_radial)
        v2 = v2 / np.sqrt(np.mean(np.sum(v2[train_all] ** 2, axis=(1, 2))))
        return v2, time.perf_counter() - start

    def run(name, x2, x0, t_features, weights=(None,)):
        best = None
        for w in weights:
            a2, a0 = combined(x2, x0, w)
            for reg in args.regularizers:
                pred, _, _ = fit_predict(a2, a0, y, train, valid, reg, args.n_sparse)
                s = scores(V[valid], pred, iso, units)["omega_q"]
                if best is None or s < best[0]:
                    best = (s, w, reg)
        _, w, reg = best
        a2, a0 = combined(x2, x0, w)
        pred, t_fit, t_pred = fit_predict(a2, a0, y, train_all, test, reg, args.n_sparse)
        s = scores(V[test], pred, iso, units)
        print(f"{name:34s} C~Q {s['cq_tilde']:.4f}  eta~ {s['eta_tilde']:.4f}  omega_Q {s['omega_q']:.3f} kHz  "
              f"| w={w} reg={reg:g} features {t_features:.1f} s fit {t_fit:.1f} s predict {t_pred:.2f} s "
              f"(F={a2.shape[2]}, F0={a0.shape[1]})")
        return s

    def combined(x2, x0, w):
        if w is None:
            return x2, x0
        return combine(x2[0], x2[1], w), (x0 if not isinstance(x0, tuple) else combine(x0[0], x0[1], w))

    x2, x0, t = local(args.cutoff)
    base = run(f"local rc={args.cutoff}", x2, x0, t)
    weights = tuple(args.weights)
    for rc in args.local_cutoffs or (args.cutoff, args.small_cutoff):
        l2, l0, tl = (x2, x0, t) if rc == args.cutoff else local(rc)
        if args.lode_features == "product":
            m2, m0, tm = multiscale(rc)
            s = run(f"local rc={rc} + LODE rho x V", (l2, m2), (l0, m0), tl + tm, weights)
        else:
            v2, tm = potential()
            s = run(f"local rc={rc} + LODE V (nu=1)", (l2, v2), l0, tl + tm, weights)
        print(f"    omega_Q ratio local/(local+LODE): {base['omega_q'] / s['omega_q']:.2f}")


if __name__ == "__main__":
    main()
