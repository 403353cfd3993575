"""``entm presets`` and the options of ``entm evolve`` that presets and novelty search add (argument
parsing and calls only; :mod:`entm.presets`, :mod:`entm.evolution.novelty`)."""

from __future__ import annotations

import json

from entm.errors import EntmError
from entm.evolution.novelty import DESCRIPTORS, SEARCHES

#: the search's command-line options: option -> NoveltyParams field (or lexicase's parameter)
NOVELTY_OPTIONS = {"novelty_k": "k", "novelty_archive": "archive_size", "novelty_threshold": "threshold",
                   "novelty_floor": "threshold_floor",
                   "novelty_switch_score": "switch_score", "novelty_generations": "switch_generations",
                   "novelty_exponent": "objective_exponent", "novelty_descriptor": "descriptor",
                   "lexicase_elites": "lexicase_elites"}


def add_evolve_options(e) -> None:
    g = e.add_argument_group("presets and search (see `entm presets`, docs/presets.md)")
    g.add_argument("--preset", default=None, metavar="NAME",
                   help="start from a published setup (task, memory, episodes, NEAT config); options given "
                        "explicitly override its values")
    g.add_argument("--fixed-episodes", action="store_true", default=None,
                   help="evaluate every generation on generation 0's episodes (the C# port's fixed seed)")
    g.add_argument("--restart-every", type=int, default=None, metavar="G",
                   help="an unsolved run starts again from a new random population every G generations "
                        "(the champion stays; default 0: never)")
    g.add_argument("--init-from", default=None, metavar="PATH",
                   help="grow the first population from this network (a champion.json, or a run directory): "
                        "one genome as it is, the others mutated once; a hyper run takes a hyper champion's CPPN")
    g.add_argument("--replay", type=int, default=None, metavar="N",
                   help="up to N fresh training episodes that rejected candidates failed join every later "
                        "generation's episodes (sequence tasks; default 0: none)")
    g.add_argument("--search", default=None, choices=list(SEARCHES),
                   help="fitness (default): the objective; novelty: novelty search over the task's behaviour "
                        "descriptor, switching to the objective; hybrid: novelty x objective; lexicase: "
                        "epsilon-lexicase selection over the generation's episodes")
    g.add_argument("--novelty-k", type=int, default=None, help="novelty: nearest neighbours (default 10)")
    g.add_argument("--novelty-archive", type=int, default=None, help="novelty: archive size (default 500)")
    g.add_argument("--novelty-threshold", type=float, default=None,
                   help="novelty: initial archive threshold on the novelty (default 15, adjusted as it runs)")
    g.add_argument("--novelty-floor", type=float, default=None,
                   help="novelty: the threshold falling below this ends the novelty phase (default 1)")
    g.add_argument("--novelty-switch-score", type=float, default=None,
                   help="novelty: switch to the objective once a task score reaches this (default 0.9)")
    g.add_argument("--novelty-generations", type=int, default=None,
                   help="novelty: switch to the objective after this many generations (default 500)")
    g.add_argument("--novelty-exponent", type=float, default=None,
                   help="hybrid: search score = novelty x objective ** this (default 1)")
    g.add_argument("--lexicase-elites", type=int, default=None, metavar="E",
                   help="lexicase: the E genomes best by the objective are scored above all others, so that "
                        "elitism keeps them (default 0: the genomes drawn most)")
    g.add_argument("--novelty-descriptor", default=None, choices=list(DESCRIPTORS),
                   help="novelty: the task's behaviour descriptor (default), the tape head's shift, jump and "
                        "write strength per step of the first deployment (head: reward tasks), or the memory's "
                        "reads at the scored steps of the first episodes (reads: sequence tasks; the season "
                        "task: at its decisions), or per food and read value what the reads tell of the food's "
                        "goodness (lookup: the season task)")


def add_parser(sub) -> None:
    p = sub.add_parser("presets", help="list the published setups (--preset), or show one's settings")
    p.add_argument("name", nargs="?", metavar="NAME", help="show this preset's full settings")
    p.add_argument("--json", action="store_true", help="print JSON")


def evolve_fields(args, task_params: dict, memory_params: dict) -> dict:
    """The EvolveSettings fields the task, memory, episodes, preset and search options give: the preset's
    values (if any) under what was given explicitly, then entm's defaults."""
    novelty = {field: getattr(args, opt) for opt, field in NOVELTY_OPTIONS.items() if getattr(args, opt) is not None}
    given = {"task": args.task, "task_params": task_params, "memory": args.memory, "memory_params": memory_params,
             "heads": args.heads, "episodes": args.episodes, "search": args.search, "novelty": novelty,
             "fixed_episodes": args.fixed_episodes, "restart_every": args.restart_every,
             "replay": args.replay}
    if args.preset is not None:
        from entm.presets import preset_settings

        out = preset_settings(args.preset, given)
    else:
        out = {k: v for k, v in given.items() if v is not None}
    defaults = {"task": "copy", "memory": "discrete", "heads": 1, "search": "fitness", "fixed_episodes": False,
                "restart_every": 0, "replay": 0}
    if args.init_from is not None:
        from entm.evolution.seeding import read_init

        out.update(read_init(args.init_from))
    return {**defaults, **out}


def bench_fields(args, task_params: dict) -> dict:
    """``entm bench``'s task, memory and episodes: the preset's (if any) under what was given explicitly."""
    given = {"task": args.task, "task_params": task_params, "memory": args.memory, "episodes": args.episodes}
    if args.preset is not None:
        from entm.presets import preset_settings

        out = preset_settings(args.preset, given)
        out = {k: out[k] for k in ("task", "task_params", "memory", "memory_params", "heads", "episodes") if k in out}
    else:
        out = {k: v for k, v in given.items() if v is not None}
    return {"task": "copy", "memory": "discrete", "episodes": 50, **out}


def cmd_presets(args) -> int:
    from entm.baseline.presets import TRAIN_PRESETS
    from entm.presets import PRESETS, preset

    if args.name is None:
        if args.json:
            out = {n: {"kind": "evolution", "description": p.description, "source": p.source}
                   for n, p in PRESETS.items()}
            out.update({n: {"kind": "training", "description": p.description, "source": p.source}
                        for n, p in TRAIN_PRESETS.items()})
            print(json.dumps(out))
            return 0
        print("evolution (entm evolve --preset NAME):")
        for n, p in PRESETS.items():
            print(f"{n}: {p.description}")
            print(f"  source: {p.source}")
        print("\ntraining (entm train --preset NAME):")
        for n, p in TRAIN_PRESETS.items():
            print(f"{n}: {p.description}")
            print(f"  source: {p.source}")
        return 0
    training = args.name in TRAIN_PRESETS
    p = TRAIN_PRESETS[args.name] if training else preset(args.name)
    data = {"name": p.name, "kind": "training" if training else "evolution", "description": p.description,
            "source": p.source, "settings": p.settings, "evaluate": p.evaluate}
    if not training:
        data["config"] = str(p.config)
    if args.json:
        print(json.dumps(data))
        return 0
    print(f"{p.name}: {p.description}\nsource: {p.source}\nsettings (entm {'train' if training else 'evolve'} "
          f"--preset {p.name}; explicit options override them):")
    for k, v in p.settings.items():
        print(f"  {k}: {json.dumps(v)}")
    lengths = p.evaluate.get("lengths")
    if lengths:
        print(f"test (the paper's): entm evaluate RUN --lengths {lengths} --episodes {p.evaluate.get('episodes', 20)}")
    if not training:
        from entm.neatconfig import read_config_text

        print(f"NEAT config: {p.config}")
        text = read_config_text(p.config)
        print("".join(f"  {line}\n" for line in text.splitlines() if line.strip() and not line.startswith("#")),
              end="")
    return 0


def check_evolve_fields(fields: dict) -> None:
    if fields.get("memory") != "differentiable" and "cells" in fields.get("memory_params", {}):
        raise EntmError("--cells applies to --memory differentiable only")
