"""`sagpr train`: fit a tensor model on the sites of DFT / reference files and save it."""
from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "train",
        help="fit an EFG tensor model on reference files and save it (no tuning)",
        description="Fit a TensorModel of one nucleus on every site of --data (.magres or extended XYZ files, "
                    "folders or globs) with given hyperparameters: those of a `sagpr optimize` result "
                    "(--params OUT/best_tensor.json) or of a `sagpr compare` report (--params OUT/report.json), "
                    "changed by --set; unset ones take the sagpr.settings defaults. Writes one model file.")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="files, folders or globs with a per-atom EFG")
    p.add_argument("--species", required=True, help="element of the nucleus, e.g. Li, Al, O")
    p.add_argument("--isotope", default=None, help="isotope label, e.g. 7Li (default: the element's)")
    p.add_argument("--units", default=None, help="convert EFGs to these units on reading (au or V/A^2)")
    p.add_argument("--params", default=None, metavar="JSON",
                   help="hyperparameters: best_<model>.json of sagpr optimize or report.json of sagpr compare")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="hyperparameters to set or override")
    p.add_argument("--out", required=True, help="model file to write, e.g. li.sagpr")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _params_from(path):
    import json

    try:
        data = json.loads(open(path).read())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read hyperparameters ({err})") from None
    if isinstance(data, dict) and isinstance(data.get("params"), dict):  # sagpr optimize: best_<model>.json
        if data.get("model", "tensor") != "tensor":
            raise ValueError(f"{path}: hyperparameters of the scalar model {data['model']!r}, not of the tensor model")
        return data["params"]
    if isinstance(data, dict) and isinstance(data.get("best_params"), dict) and "tensor" in data["best_params"]:
        return data["best_params"]["tensor"]  # sagpr compare: report.json
    raise ValueError(f"{path}: no tensor-model hyperparameters (expected sagpr optimize's best_tensor.json "
                     "or sagpr compare's report.json)")


def run(args) -> int:
    import time

    from sagpr import settings
    from sagpr.workflows.tuning.fits import final_tensor_model
    from sagpr.workflows.tuning.options import load_sites, parse_fixed

    from ._paths import check_output_file

    out = check_output_file(args.out)
    params = dict(_params_from(args.params)) if args.params else {}
    params.update(parse_fixed(args.set))
    settings.split(params)  # unknown names and bad values fail before reading any data
    start = time.perf_counter()
    sites = load_sites(args.data, args.species, isotope=args.isotope, units=args.units)
    from ._paths import report_skipped

    report_skipped(sites.skipped)
    print(f"{len(sites)} {sites.species} sites ({sites.isotope}) in {len(sites.frames)} structures from {sites.source}")
    model = final_tensor_model(sites.frames, sites.species, params, V=sites.V, units=sites.units,
                               progress=not args.no_progress)
    model.save(out)
    shown = {k: v for k, v in model.get_params().items() if k in params}
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s; set: {shown or 'all defaults'})")
    return 0
