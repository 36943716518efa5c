"""`sagpr dynamics`: tensors over a trajectory, motional averages, SAE correlation F2 and hops."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "dynamics",
        help="predict tensors over a trajectory: time series, motional averages, SAE F2(t_p, t_m), hops",
        description="Predict the tensor of every site of the model's species in every frame of TRAJECTORY "
        "(any format ase reads: extended XYZ, ASE .traj, LAMMPS dump, VASP XDATCAR; streamed, memory flat "
        "in the number of frames; sites followed by atom index) and write into OUT: series.npz (the "
        "per-site tensor time series), averaged.xyz (tensors averaged over windows, with their residual "
        "C_Q, eta, omega_Q), omega_Q histograms, the spin-alignment-echo correlation F2(t_p, t_m) with "
        "its stretched-exponential fit (f2.json, f2.png), hops between environments (hops.json) and "
        "summary.json. See docs/dynamics.md.",
    )
    p.add_argument("trajectory", type=Path, help="trajectory file")
    p.add_argument("--model", type=Path, required=True, help="model file written by model.save()")
    p.add_argument("--timestep", required=True, help="time between frames of TRAJECTORY, e.g. 10fs, 0.1ps "
                   "(after --every: the time between the frames read is EVERY x TIMESTEP)")
    p.add_argument("--out", type=Path, required=True, help="output folder (replaced whole at the end)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    p.add_argument("--format", help="ase format name of TRAJECTORY (default: from its name and content)")
    p.add_argument("--types", help="LAMMPS dump without an element column: elements of types 1, 2, ..., "
                   "e.g. Li,Ti,O")
    p.add_argument("--start", type=int, default=0, help="first frame read (default: 0)")
    p.add_argument("--stop", type=int, default=None, help="frame to stop before (default: the end)")
    p.add_argument("--every", type=int, default=1, help="read every N-th frame (default: 1)")
    p.add_argument("--window", default="100",
                   help="motional-averaging window: frames (e.g. 100) or a duration (e.g. 1ps) (default: 100)")
    p.add_argument("--tp", default="1,5,20", help="evolution times t_p in microseconds, comma-separated "
                   "(default: 1,5,20)")
    p.add_argument("--tm", default=None, help="mixing times t_m, comma-separated durations (e.g. 0.1ps,1ps,10ps), "
                   "rounded to frames (default: 40 log-spaced up to half the trajectory)")
    p.add_argument("--kind", choices=("sin", "cos", "both"), default="both",
                   help="F2 form: sin-sin (spin alignment), cos-cos (Zeeman) or both (default: both)")
    p.add_argument("--directions", type=int, default=30,
                   help="field directions of the powder average (quasi-uniform hemisphere); 1: field along z, "
                   "one crystal orientation (default: 30)")
    p.add_argument("--f2-window", default="1", help="running average of each tensor over this many frames "
                   "(or a duration) before omega_Q enters F2: the phase over t_p sees motion faster than t_p "
                   "averaged (default: 1, instantaneous)")
    p.add_argument("--regions", type=Path, help="regions.json of `sagpr histogram` for hops between omega_Q "
                   "regions (default: regions found in the window-averaged omega_Q)")
    p.add_argument("--n-regions", type=int, default=5, help="regions found when --regions is not given (default: 5)")
    p.add_argument("--sites", type=Path, help="structure file whose atoms are reference sites (e.g. every Li "
                   "site of the crystal): hops between nearest sites, counted per frame, kinds by element or a "
                   "per-atom 'site_kind' column")
    p.add_argument("--min-stay", default="1", help="with --sites: frames (or a duration) a nucleus must stay at a "
                   "new site for the visit to count as a hop; shorter visits (e.g. through 16c and back to the "
                   "same 8a site) are none (default: 1, every change)")
    p.add_argument("--isotope", action="append", default=[], metavar="LABEL",
                   help="isotope for the observables, e.g. --isotope 6Li (default: the element's default isotope)")
    p.add_argument("--chunk-size", type=int, default=16,
                   help="frames predicted at a time, at most (default: 16; chunks also hold at most ~300 sites, "
                   "so 1512-atom LTO frames go one by one, which is fastest)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="predict on a Dask cluster, e.g. tcp://host:8786")
    where.add_argument("--workers", type=int, metavar="N", help="predict on a local Dask cluster of N workers")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _frames_or_duration(text: str, timestep: float, name: str) -> int:
    from ..units import parse_duration

    text = str(text).strip()
    if text.isdigit():
        value = int(text)
    else:
        value = int(round(parse_duration(text) / timestep))
    if value < 1:
        raise ValueError(f"--{name} {text}: must be at least one frame ({timestep:g} ps)")
    return value


def _numbers(text: str, name: str):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{name} {text!r}: give comma-separated numbers") from None
    if not values or any(not v > 0 for v in values):
        raise ValueError(f"--{name} {text!r}: give positive numbers")
    return values


def run(args) -> int:
    import json

    from ..atomic import check_output_folder
    from ..dynamics.reading import iter_frames
    from ..units import parse_duration
    from ..io import iread_structures
    from ..isotopes import get_isotope
    from ..models import load
    from ..workflows.dynamics import DynamicsSettings, run_dynamics

    if not args.trajectory.is_file():
        raise FileNotFoundError(f"{args.trajectory}: no such file")
    check_output_folder(args.out, overwrite=args.overwrite)
    if args.every < 1:
        raise ValueError(f"--every must be at least 1, got {args.every}")
    timestep = parse_duration(args.timestep) * args.every
    regions = None
    if args.regions is not None:
        try:
            regions = [(r["low"], r["high"]) for r in json.loads(args.regions.read_text())["regions"]]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{args.regions}: not a regions.json of `sagpr histogram` ({err})") from None
    sites = None
    if args.sites is not None:
        sites = next(iter(iread_structures(args.sites)))
    model = load(args.model)
    from ase.data import chemical_symbols

    species = [chemical_symbols[int(z)] for z in model.center_species_]
    isotopes = {}
    for label in args.isotope:
        iso = get_isotope(label)
        if iso.element not in species:
            raise ValueError(f"--isotope {label}: {iso.label} is an isotope of {iso.element}, but the model "
                             f"predicts {', '.join(species)}")
        isotopes[iso.element] = iso.label
    lags = None
    if args.tm is not None:
        lags = sorted({int(round(parse_duration(t.strip()) / timestep)) for t in args.tm.split(",") if t.strip()})
    settings = DynamicsSettings(
        timestep=timestep, window=_frames_or_duration(args.window, timestep, "window"),
        t_p=_numbers(args.tp, "tp"), lags=lags, kind=args.kind, directions=args.directions,
        f2_window=_frames_or_duration(args.f2_window, timestep, "f2-window"), isotopes=isotopes,
        regions=regions, n_regions=args.n_regions, sites=sites, chunk_size=args.chunk_size,
        min_stay=_frames_or_duration(args.min_stay, timestep, "min-stay"))
    frames = iter_frames(args.trajectory, format=args.format, start=args.start, stop=args.stop, step=args.every,
                         types=args.types.split(",") if args.types else None)
    client = cluster = None
    if args.scheduler or args.workers:
        from ..distributed import require_dask

        require_dask()
        from distributed import Client, LocalCluster

        if args.workers:
            if args.workers < 1:
                raise ValueError(f"--workers must be at least 1, got {args.workers}")
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster if cluster is not None else args.scheduler)
    try:
        result = run_dynamics(model, frames, args.out, settings, overwrite=args.overwrite,
                              progress=not args.no_progress, client=client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    s = result.summary
    print(f"{result.frames} frames x {result.sites} sites ({s['duration_ps']:g} ps), {result.windows} windows of "
          f"{settings.window} frames")
    for kind, fits in s["f2"].items():
        for fit in fits:
            print(f"F2 {kind}-{kind} t_p = {fit['t_p_us']:g} us: tau = {fit['tau_ps']:.4g} ps, beta = "
                  f"{fit['beta']:.3g}, Z = {fit['z']:.3g}")
    for name, hops in s["hops"].items():
        print(f"hops between {name}: {hops['hops']} ({hops['mean_rate_per_site_per_ps']:.4g} per site per ps)")
    for path in result.files:
        print(f"wrote {path}")
    return 0
