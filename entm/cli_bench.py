"""``entm bench``: evaluation speed against the plain way, and a generation's driver phases
(docs/performance.md).  Argument parsing and calls only."""

from __future__ import annotations

import json
import sys

from entm.cli_options import add_task_options, cells_option, task_params
from entm.cli_presets import bench_fields
from entm.errors import EntmError


def add_parser(sub) -> None:
    """Add ``bench`` to an argparse subparsers object."""
    b = sub.add_parser("bench", help="genome-steps per second against plain neat-python")
    b.add_argument("--task", default=None, help="task name (default: copy, or the preset's)")
    b.add_argument("--memory", default=None, choices=["discrete", "differentiable"],
                   help="default: discrete, or the preset's")
    b.add_argument("--preset", default=None, metavar="NAME",
                   help="bench a published setup's task, task parameters, memory and episodes (see `entm "
                        "presets`); options given explicitly override its values")
    b.add_argument("--run", default=None, metavar="RUN",
                   help="time an evolution run's own population (its latest checkpoint, with the run's task, "
                        "memory, config and that generation's episodes) instead of a first one")
    b.add_argument("--population", "--pop-size", type=int, default=None,
                   help="genomes (default 300; with --generation 150)")
    b.add_argument("--generation", action="store_true",
                   help="time whole generations: the driver's phases against one core's evaluation, Ray with 1 and "
                        "--workers workers, Amdahl projections (docs/performance.md)")
    b.add_argument("--generations", type=int, default=20, help="with --generation: generations run (default 20)")
    b.add_argument("--reproduction", default="driver", choices=["driver", "workers"],
                   help="with --generation: the reproduction mode (as entm evolve --reproduction)")
    b.add_argument("--scale-to", type=int, default=None, metavar="N",
                   help="with --generation: also time 3 generations at population N with Ray and 1 worker (the "
                        "driver's cost per genome at both sizes)")
    b.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help="with --generation: measure Ray on the cluster at ADDRESS (as entm evolve --ray-address) "
                        "instead of an embedded local Ray")
    b.add_argument("--local-cluster", type=int, default=None, metavar="K",
                   help="with --generation: start a K-node Ray cluster on this machine (1 CPU per node, its own "
                        "processes, ended afterwards) and measure Ray on it; --workers defaults to K")
    b.add_argument("--episodes", type=int, default=None, help="default: 50, or the preset's")
    b.add_argument("--repeats", type=int, default=None,
                   help="repetitions of each way, interleaved; each rate is the best of them (default 7); with "
                        "--generation: Ray runs of 1 and --workers workers, interleaved, the median of each "
                        "(default 1)")
    b.add_argument("--workers", type=int, default=None, help="also measure Ray with 1 and N workers")
    b.add_argument("--cells", type=cells_option, default=None,
                   help="differentiable memory: a fixed N, or auto (default: each episode's steps)")
    b.add_argument("--json", action="store_true")
    add_task_options(b)


def cmd_bench(args) -> int:
    from entm.bench import format_bench, run_bench

    if args.workers is not None and args.workers < 1:
        raise EntmError(f"--workers must be at least 1, got {args.workers}")
    say = None if args.json else (lambda msg: print(f"bench: {msg}", file=sys.stderr))
    if args.run is not None:
        names = ("task", "memory", "preset", "population", "episodes", "cells", "generation", "workers", "scale_to",
                 "ray_address", "local_cluster")
        given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) not in (None, False)]
        given += [f"--{k.replace('_', '-')}" for k in task_params(args)]
        if given:
            raise EntmError(f"--run times the run's own task, memory, population and episodes: leave out "
                            f"{', '.join(given)}")
        r = run_bench(run_dir=args.run, repeats=7 if args.repeats is None else args.repeats, progress=say)
        print(json.dumps(r) if args.json else format_bench(r))
        return 0
    fields = bench_fields(args, task_params(args))
    if args.generation:
        from entm.bench.generation import format_generation_bench, run_generation_bench

        if args.preset is not None:
            raise EntmError("--preset is not measured with --generation yet; give --task and its options")
        if args.local_cluster is not None and args.ray_address is not None:
            raise EntmError("--local-cluster starts its own cluster: give it or --ray-address, not both")
        if args.local_cluster is not None and args.local_cluster < 1:
            raise EntmError(f"--local-cluster must be at least 1 node, got {args.local_cluster}")
        run = lambda address, workers: run_generation_bench(  # noqa: E731
            task=fields["task"], task_params=fields.get("task_params"), memory=fields["memory"],
            population=args.population or 150, generations=args.generations, workers=workers,
            reproduction=args.reproduction, progress=say, scale_to=args.scale_to, ray_address=address,
            repeats=1 if args.repeats is None else args.repeats)
        if args.local_cluster is None:
            r = run(args.ray_address, args.workers)
        else:
            import os

            from entm.bench.local_cluster import LocalCluster

            if say:
                say(f"starting a local Ray cluster of {args.local_cluster} nodes, 1 CPU each")
            with LocalCluster(nodes=args.local_cluster, cpus=1) as cluster:
                os.environ["RAY_AUTH_MODE"] = "disabled"  # the cluster's own setting (127.0.0.1 only)
                r = run(cluster.address, args.workers or args.local_cluster)
            r["local_cluster_nodes"] = args.local_cluster
        print(json.dumps(r) if args.json else format_generation_bench(r))
        return 0
    for name in ("scale_to", "ray_address", "local_cluster"):
        if getattr(args, name) is not None:
            raise EntmError(f"--{name.replace('_', '-')} goes with --generation")
    args.population = args.population or 300
    if args.cells is not None:
        fields["memory_params"] = {**fields.get("memory_params", {}), "cells": args.cells}
    r = run_bench(**fields, population=args.population, repeats=7 if args.repeats is None else args.repeats,
                  workers=args.workers, progress=say)
    print(json.dumps(r) if args.json else format_bench(r))
    return 0
