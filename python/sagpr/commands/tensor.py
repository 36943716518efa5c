"""`sagpr tensor train` / `sagpr tensor score`: Cartesian tensors of rank 1-4 (dipoles,
polarizabilities, hyperpolarizabilities, ...) per structure or per atom, with CartesianTensorModel."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "tensor",
        help="fit / score a model of a rank 1-4 Cartesian tensor per structure or per atom",
        description="Learn any Cartesian tensor of rank 1 to 4 stored in extended XYZ files: per structure "
                    "(atoms.info, e.g. mu, alpha, beta; the sum of atomic contributions, or their mean with "
                    "--intensive) or per atom (atoms.arrays). Each spherical part (lambda, sigma) present in "
                    "the training data is learned by its own sparse SA-GPR.")
    sub = p.add_subparsers(dest="action", required=True)
    train = sub.add_parser("train", help="fit a model and save it")
    train.add_argument("--data", nargs="+", required=True, metavar="FILE", help="extended XYZ files, folders or globs")
    train.add_argument("--target", required=True, help="property name, e.g. mu, alpha, beta")
    train.add_argument("--rank", type=int, default=None, help="tensor rank 1-4 (default: from the number of components)")
    train.add_argument("--level", choices=("structure", "atom"), default="structure",
                       help="one tensor per structure (atoms.info) or per atom (atoms.arrays)")
    train.add_argument("--intensive", action="store_true", help="structure tensor = mean of atomic contributions")
    train.add_argument("--center-species", nargs="*", default=None, help="elements whose environments contribute")
    train.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                       help="hyperparameters (descriptor, zeta, regularizer, n_sparse, jitter, random_state)")
    train.add_argument("--out", required=True, help="model file to write")
    train.add_argument("--folds", type=int, default=5,
                       help="cross-validation folds of whole structures for the printed accuracy estimate "
                            "(default 5; 0: none)")
    train.add_argument("--seed", type=int, default=0, help="seed of the CV folds")
    train.add_argument("--calibrate", action="store_true",
                       help="calibrate the predictive covariance of every spherical part on the residuals of the "
                            "--folds cross-validation folds (by structure) and save it with the model")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=run_train)
    score = sub.add_parser("score", help="% RMSE / STD of a saved model per spherical part")
    score.add_argument("--model", required=True, help="model file written by sagpr tensor train")
    score.add_argument("--data", nargs="+", required=True, metavar="FILE", help="extended XYZ files, folders or globs")
    score.add_argument("--target", default=None, help="property name (default: the model's)")
    score.add_argument("--out", default=None, help="JSON report to write")
    score.set_defaults(func=run_score)


def _paths(patterns):
    """Files named by `patterns`: files, folders (their .xyz / .extxyz files) or globs, in order."""
    import glob
    from pathlib import Path

    out = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            matches = sorted(q for q in p.iterdir() if q.suffix.lower() in (".xyz", ".extxyz"))
        elif any(c in str(pattern) for c in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(str(pattern)))]
        else:
            matches = [p] if p.exists() else []
        if not matches:
            raise FileNotFoundError(f"{pattern}: no such file, or no extended XYZ file matches")
        out.extend(matches)
    return out


def _frames(patterns):
    import ase.io

    from sagpr.io import check_text_file

    frames = []
    for path in _paths(patterns):
        check_text_file(path)
        try:
            read = ase.io.read(str(path), ":")
        except Exception as err:  # ase raises many types for unreadable files
            raise ValueError(f"{path}: cannot read structures ({err})") from None
        for atoms in read:
            if abs(atoms.cell.volume) < 1e-12:
                atoms.pbc = False  # molecules in a zero cell are not periodic
        frames.extend(read)
    if not frames:
        raise ValueError(f"{' '.join(map(str, patterns))}: no structures")
    return frames


def run_train(args) -> int:
    import time

    from sagpr.models.structure import CartesianTensorModel
    from sagpr.workflows.tuning.options import parse_fixed

    from ._paths import check_output_file

    out = check_output_file(args.out)
    params = parse_fixed(args.set)
    allowed = set(CartesianTensorModel._param_names) - {"rank", "level", "intensive", "target", "center_species"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown} for sagpr tensor; known: {', '.join(sorted(allowed))}")
    params.setdefault("progress", not args.no_progress)
    model = CartesianTensorModel(rank=args.rank, level=args.level, intensive=args.intensive, target=args.target,
                                 center_species=args.center_species or None, **params)
    start = time.perf_counter()
    frames = _frames(args.data)
    model.fit(frames)  # first: bad targets fail before the folds are fitted
    if args.folds and not 2 <= args.folds <= len(frames):
        raise ValueError(f"--folds must be 0 or 2 to {len(frames)} (the number of structures), got {args.folds}")
    if args.calibrate and not args.folds:
        raise ValueError("--calibrate needs --folds of at least 2")
    if args.folds:
        _print_cv_estimate(model, frames, args)
    if args.calibrate:
        from sagpr.models import calibration

        for key, fitted in model.calibrate(frames, n_folds=args.folds, random_state=args.seed).items():
            lam, sig = key.split("/")
            print(f"calibrated lambda={lam} sigma={int(sig):+d}: {calibration.describe(fitted)}")
    model.save(out)
    print(f"{len(frames)} structures, rank {model.rank_}, parts {sorted(model.parts_)}; wrote {out} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


def _print_cv_estimate(model, frames, args):
    """% RMSE / STD per part, the mean over folds of whole structures of models fitted on the others."""
    import numpy as np

    from sagpr.workflows.tuning.splits import k_fold

    scores = []
    for train, test in k_fold(len(frames), n_folds=args.folds, seed=args.seed):
        fitted = type(model)(**model.get_params()).fit([frames[i] for i in train])
        scores.append(fitted.score([frames[i] for i in test]))
    parts = [k for k in scores[0] if all(k in s for s in scores)]
    text = ", ".join(f"{'total' if k == 'total' else f'lambda={k[0]} sigma={k[1]:+d}'} "
                     f"{np.mean([s[k] for s in scores]):.4g}" for k in parts)
    print(f"{args.folds}-fold CV estimate (by structure), % RMSE / STD: {text}")


def run_score(args) -> int:
    import json

    from sagpr import load
    from sagpr.atomic import write_text_atomic
    from sagpr.models.structure import CartesianTensorModel

    from ._paths import check_output_file

    out = check_output_file(args.out) if args.out else None
    model = load(args.model)
    if not isinstance(model, CartesianTensorModel):
        raise ValueError(f"{args.model}: a {type(model).__name__}, not a model of sagpr tensor train")
    if args.target:
        model.target = args.target
    frames = _frames(args.data)
    scores = model.score(frames)
    rows = {("total" if k == "total" else f"lambda={k[0]} sigma={k[1]:+d}"): v for k, v in scores.items()}
    print(f"{len(frames)} structures, target {model.target!r}: % RMSE / STD")
    for name, value in rows.items():
        print(f"  {name:16s} {value:9.4f}")
    report = {"target": model.target, "rank": model.rank_, "percent_rmse_std": rows}
    if model.has_variance():
        report["coverage95"] = model.coverage(frames)
        report["calibrated"] = bool(model.calibration_)
        kind = "calibrated" if report["calibrated"] else "raw (uncalibrated: sagpr tensor train --calibrate)"
        print(f"  95% interval coverage of the components: {report['coverage95']:.3f} ({kind})")
    if out is not None:
        write_text_atomic(out, json.dumps(report, indent=1))
        print(f"wrote {out}")
    return 0

