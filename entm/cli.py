"""The ``entm`` command.

Bad input of any kind ends with ``entm: error: <one line>`` on stderr and exit
status 2, without a traceback, and leaves existing files as they were.

Each subcommand imports what it runs inside its own function: importing every
command's modules up front would load torch, numba's kernels and Ray (seconds)
for every ``entm`` call, ``entm --help`` and every one-line error included.
"""

from __future__ import annotations

import argparse
import json
import sys

from entm import interrupts
from entm.errors import EntmError
from entm.cli_status import (
    CLOSED_PIPE,
    INTERRUPTED,
    OS_FAILURE,
    USAGE,
    check_evolution_size,
    exit_with,
    refuse_empty,
)
from entm.cli_bench import add_parser as add_bench_parser, cmd_bench
from entm.cli_options import add_task_options, cells_option, set_threads, task_params, task_sets, truth
from entm.cli_train import add_parser as add_train_parser, cmd_train
from entm.runs import check_seed


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2): ``entm: error: <message>``, or
    ``entm: error: <command>: <message>`` for a subcommand's."""

    def error(self, message):
        command = self.prog.partition(" ")[2]  # "entm evolve" -> "evolve"; "entm" -> ""
        raise EntmError(f"{command}: {message}" if command else message)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("entm")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="entm", description="Evolvable Neural Turing Machines: evolve, evaluate and compare.")
    p.add_argument("--version", action="version", version=f"entm {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    e = sub.add_parser("evolve", help="evolve a controller with NEAT")
    e.add_argument("--task", default=None, help="task name (default: copy)")
    e.add_argument("--config", default=None, help="neat-python config (default: evolution_configs/<task>.ini)")
    e.add_argument("--memory", default=None, choices=["discrete", "differentiable"],
                   help="ENTM tape (discrete, default) or NTM memory (differentiable)")
    e.add_argument("--width", type=int, default=None, help="memory width M (default: the task's)")
    e.add_argument("--cells", type=cells_option, default=None,
                   help="cells N of the differentiable memory: a fixed N, or auto (default: each episode's steps)")
    e.add_argument("--heads", type=int, default=None, help="combined read/write heads (default 1)")
    e.add_argument("--max-cells", type=int, default=None,
                   help="discrete tape: the most cells it grows to (default: unbounded, or the preset's)")
    e.add_argument("--min-jump-similarity", type=float, default=None, metavar="S",
                   help="discrete tape: a content jump whose best similarity is below S goes to the tape's last "
                        "cell instead (the default jump; default: none, or the preset's)")
    e.add_argument("--expand-location", type=truth, default=None, metavar="BOOL",
                   help="discrete tape: a write that changes the last cell appends a blank one (true|false; "
                        "default false, or the preset's)")
    e.add_argument("--generations", type=int, default=None,
                   help="generation budget (default 500; none when --minutes is given alone)")
    e.add_argument("--minutes", type=float, default=None,
                   help="wall-time budget in minutes: stop after the generation that runs out of it (resumable); "
                        "alone it is the only budget, with --generations whichever runs out first")
    e.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    e.add_argument("--episodes", type=int, default=None, help="episodes per generation (default: the task's)")
    e.add_argument("--serial", action="store_true", help="evaluate in this process (no Ray)")
    e.add_argument("--workers", type=int, default=None,
                   help="Ray workers (default: all local cores, or all of the cluster's CPUs)")
    e.add_argument("--ray-address", default=None,
                   help="connect to an existing Ray cluster (auto, HOST:PORT, ray://HOST:PORT); starts nothing")
    e.add_argument("--ray-verbose", action="store_true", help="show Ray's worker logs")
    e.add_argument("--run-dir", default=None,
                   help="run directory (default: runs/<task>[-<param>_<value>...]-<memory>-<encoding>-seed<S>, "
                        "naming the task parameters and memory options that differ from the defaults; "
                        "an existing one is an error)")
    e.add_argument("--checkpoint-every", type=int, default=10, help="checkpoint period in generations (default 10)")
    e.add_argument("--no-stop-when-solved", dest="stop_when_solved", action="store_false",
                   help="run the whole budget even after a validated solution (the champion stays a validated "
                        "solver; only a fitter validated solver replaces it)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.add_argument("--reproduction", default="driver", choices=["driver", "workers"],
                   help="driver: neat-python's evolution, exactly (default); workers (opt-in): the workers make and "
                        "evaluate the children, the driver only plans (not neat-python's run: docs/performance.md)")
    e.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse (one line) a run whose population and evaluation are estimated to need more memory "
                        "than this, e.g. 4G (default: half of this machine's physical memory)")
    e.add_argument("--threads", type=int, default=1, help="CPU threads of this process's compute libraries (torch, numba; default 1, one per evaluating process: Ray workers run one each)")
    e.add_argument("--encoding", default="direct", choices=["direct", "hyper"],
                   help="direct: genomes are the controllers (default); hyper: genomes are CPPNs that paint the "
                        "controller onto a substrate (HyperNTM; copy task; default config <task>-hyper.ini)")
    e.add_argument("--controller", default=None, choices=["feedforward", "recurrent"],
                   help="direct encoding: the controller network the config's feed_forward gives (default: the "
                        "config's; the shipped ones are feedforward); recurrent nodes read the previous step's values")
    e.add_argument("--hyper-radius", default=None,
                   help="hyper: links between two vectors join elements at most this far apart (default 0: bit j to "
                        "bit j only; 'all': every pair)")
    e.add_argument("--hyper-threshold", type=float, default=None,
                   help="hyper: a link exists where |CPPN value| >= this (default 0.2)")
    e.add_argument("--hyper-scale", type=float, default=None,
                   help="hyper: weight = scale x CPPN value in [-1, 1] (default 5)")
    e.add_argument("--hyper-blocks", type=int, default=None,
                   help="hyper: memory vectors are this many aligned blocks of the task's V bits, then extras "
                        "(default 1; needs --width >= blocks x V; e.g. whole items in one cell)")
    e.add_argument("--hyper-block-steps", action="store_true", default=None,
                   help="hyper, with --hyper-blocks: give the CPPN inputs for a link within one block and from block "
                        "b to b + 1 (a push), as 'aligned' is for bits")
    e.add_argument("--hyper-block-onehot", action="store_true", default=None,
                   help="hyper, with --hyper-blocks: give the CPPN a link's source and target block one-hot, so that "
                        "a link to or from one block alone is one input")
    e.add_argument("--hyper-no-block-coords", action="store_true", default=None,
                   help="hyper, with --hyper-block-steps or --hyper-block-onehot: leave the blocks' coordinates and "
                        "offset out of the CPPN's inputs, so that only those inputs tell blocks apart")
    e.add_argument("--hyper-element", action="store_true", default=None,
                   help="hyper: give the CPPN the vector element (j / (V - 1)) of a link between a vector element "
                        "and a scalar, and of an element's bias, so that they may differ by element")
    add_task_options(e)
    from entm.cli_presets import add_evolve_options, add_parser as add_presets_parser

    add_evolve_options(e)

    r = sub.add_parser("resume", help="continue an evolution or training run from its newest valid checkpoint")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("--generations", type=int, default=None, help="new generation budget (total; evolution)")
    r.add_argument("--steps", type=int, default=None, help="new step budget (total; training)")
    r.add_argument("--device", default=None, help="training: device to continue on (default: the run's)")
    r.add_argument("--threads", type=int, default=None, help="CPU threads of this process's compute libraries (torch, numba; default 1, one per evaluating process: Ray workers run one each)")
    r.add_argument("--minutes", type=float, default=None,
                   help="wall-time budget of this session in minutes (default: none, or the run's own "
                        "--minutes for a run started with --minutes alone)")
    r.add_argument("--serial", action="store_true", help="evaluate in this process (no Ray)")
    r.add_argument("--workers", type=int, default=None)
    r.add_argument("--ray-address", default=None)
    r.add_argument("--quiet", action="store_true")

    v = sub.add_parser("evaluate", help="score a champion (or a run's) at several sequence lengths")
    v.add_argument("champion", metavar="CHAMPION_OR_RUN")
    v.add_argument("--lengths", default=None, help="comma-separated lengths (default: the task's sweep)")
    v.add_argument("--episodes", type=int, default=20)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--terms", action="store_true",
                   help="also the means of the task's shaping terms (what evolution's fitness averaged with the "
                        "score) on the same episodes; evolved champions")
    v.add_argument("--probe", action="store_true",
                   help="also what a linear readout of the inputs and reads, fitted on 200 training episodes, gets "
                        "on the same episodes: whether the memory holds the answer, wired to the outputs or not")
    v.add_argument("--phases", action="store_true",
                   help="T-maze: also the rounds by where the high reward is, per first high goal and per move "
                        "(from > to): the share of such phases right in every round")
    v.add_argument("--threads", type=int, default=1, help="CPU threads of this process's compute libraries (torch, numba; default 1, one per evaluating process: Ray workers run one each)")
    v.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse (one line) an evaluation estimated to need more memory than this, e.g. 4G "
                        "(default: half of this machine's physical memory)")
    v.add_argument("--vector-size", type=int, default=None,
                   help="evaluate at another vector width: a hyper-encoding champion's CPPN is re-painted for it")
    v.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", dest="task_set",
                   help="evaluate with a task parameter changed, e.g. --set swaps=1 (repeatable; a parameter that "
                        "changes the network's inputs or outputs is refused)")
    v.add_argument("--repeats", default=None, metavar="R[,R...]",
                   help="repeat copy: every length's sequences repeated R times, one sweep per count given (default: "
                        "L vectors L times, the NTM paper's sweep)")

    add_train_parser(sub)
    add_bench_parser(sub)
    sub.add_parser("tasks", help="list the tasks with their defaults")
    add_presets_parser(sub)

    from entm.cli_analysis import add_parsers
    from entm.cli_campaign import add_parser as add_campaign_parser

    add_parsers(sub)
    add_campaign_parser(sub)
    return p


def cmd_evolve(args) -> int:
    from entm.cli_summary import evolve_advice, evolve_summary
    from entm.evolution.loop import EvolveSettings, evolve

    set_threads(args.threads)

    mp = {}
    if args.width is not None:
        mp["width"] = args.width
    if args.cells is not None:
        mp["cells"] = args.cells
    if args.max_cells is not None:
        mp["max_cells"] = args.max_cells
    if args.min_jump_similarity is not None:
        mp["min_jump_similarity"] = args.min_jump_similarity
    if args.expand_location is not None:
        mp["expand_location"] = args.expand_location
    if args.checkpoint_every < 1:
        raise EntmError(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
    from entm.cli_presets import check_evolve_fields, evolve_fields

    fields = evolve_fields(args, task_params(args), mp)
    check_evolve_fields(fields)
    settings = EvolveSettings(**fields, config=args.config, generations=args.generations, seed=args.seed,
                              stop_when_solved=args.stop_when_solved, run_dir=args.run_dir,
                              evaluator="serial" if args.serial else "ray", workers=args.workers,
                              ray_address=args.ray_address, ray_verbose=args.ray_verbose,
                              checkpoint_every=args.checkpoint_every, minutes=args.minutes,
                              encoding=args.encoding, hyper=_hyper_params(args), reproduction=args.reproduction,
                              controller=args.controller)
    check_evolution_size(settings, args.max_memory)
    if not args.quiet and (note := evolve_advice(settings)):
        print(note, file=sys.stderr)
    result = evolve(settings, progress=not args.quiet)
    return evolve_summary(result, args.seed)


def _hyper_params(args) -> dict:
    """--hyper-* options -> EvolveSettings.hyper (only what was given); an error without --encoding hyper."""
    hp = {}
    if args.hyper_radius is not None:
        if str(args.hyper_radius).lower() == "all":
            hp["radius"] = None
        else:
            try:
                hp["radius"] = int(args.hyper_radius)
            except ValueError:
                raise EntmError(f"--hyper-radius must be a non-negative integer or 'all', got {args.hyper_radius!r}")
    if args.hyper_threshold is not None:
        hp["threshold"] = args.hyper_threshold
    if args.hyper_scale is not None:
        hp["weight_scale"] = args.hyper_scale
    if args.hyper_blocks is not None:
        hp["blocks"] = args.hyper_blocks
    if args.hyper_block_steps:
        hp["block_steps"] = True
    if args.hyper_block_onehot:
        hp["block_onehot"] = True
    if args.hyper_no_block_coords:
        hp["block_coords"] = False
    if args.hyper_element:
        hp["element"] = True
    if hp and args.encoding != "hyper":
        raise EntmError("--hyper-radius, --hyper-threshold, --hyper-scale, --hyper-blocks, --hyper-block-steps, "
                        "--hyper-block-onehot, --hyper-no-block-coords and --hyper-element need --encoding hyper")
    if hp:
        from entm.hyper import HyperParams

        HyperParams.from_dict(hp)  # a bad value is an error now, before any work
    return hp


def _run_kind(path) -> str | None:
    """run.json's ``kind`` of a run directory (None for anything else, e.g. a champion file)."""
    from pathlib import Path

    from entm.runs import RUN_FILE, read_run_json

    p = Path(path)
    if p.is_dir() and (p / RUN_FILE).is_file():
        return read_run_json(p).get("kind")
    return None


def cmd_resume(args) -> int:
    from entm.cli_summary import evolve_summary, train_summary
    from entm.evolution.loop import resume

    if _run_kind(args.run_dir) == "training":
        from entm.baseline.train import resume as resume_training

        for name in ("generations", "workers", "ray_address"):
            if getattr(args, name) is not None:
                raise EntmError(f"--{name.replace('_', '-')} applies to evolution runs; {args.run_dir} is a "
                                f"training run")
        if args.serial:
            raise EntmError(f"--serial applies to evolution runs; {args.run_dir} is a training run")
        set_threads(1 if args.threads is None else args.threads)
        return train_summary(resume_training(args.run_dir, steps=args.steps, minutes=args.minutes,
                                              device=args.device, progress=not args.quiet))
    for name in ("steps", "device"):
        if getattr(args, name) is not None:
            raise EntmError(f"--{name} applies to training runs; {args.run_dir} is not one")
    set_threads(1 if args.threads is None else args.threads)

    if args.workers is not None and args.workers < 1:
        raise EntmError(f"--workers must be at least 1, got {args.workers}")
    if args.serial and (args.workers is not None or args.ray_address is not None):
        raise EntmError("--serial cannot be combined with --workers or --ray-address")
    result = resume(args.run_dir, generations=args.generations, evaluator="serial" if args.serial else "ray",
                    workers=args.workers, ray_address=args.ray_address, progress=not args.quiet,
                    minutes=args.minutes)
    from entm.runs import read_run_json

    return evolve_summary(result, int(read_run_json(result.run_dir).get("seed", 0)))


def cmd_evaluate(args) -> int:
    from entm.budget import limit_of
    from entm.champion import champion_from_dict, evaluate_lengths, load_champion, parse_lengths

    if args.episodes < 1:
        raise EntmError(f"--episodes must be at least 1, got {args.episodes}")
    check_seed(args.seed)
    set_threads(args.threads)
    if args.lengths is not None:
        parse_lengths(args.lengths)  # before anything is read
    limit_of(args.max_memory)
    counts = [None] if args.repeats is None else parse_lengths(args.repeats, "--repeats", "repeat count")
    if _run_kind(args.champion) == "training":
        if args.vector_size is not None:
            raise EntmError("--vector-size re-paints evolved hyper-encoding champions; a trained model has fixed sizes")
        if args.terms:
            raise EntmError("--terms gives an evolved machine's shaping terms; a trained model has none")
        if args.probe:
            raise EntmError("--probe fits a readout to an evolved machine's reads; a trained model has its own")
        if args.phases:
            raise EntmError("--phases groups a reward task's rounds; a trained model runs sequence tasks")
        return _evaluate_trained(args, counts)
    overrides = {}
    if args.vector_size is not None:
        if args.vector_size < 1:
            raise EntmError(f"--vector-size must be at least 1, got {args.vector_size}")
        overrides["vector_size"] = args.vector_size
    champ = load_champion(args.champion, task_overrides=None if args.task_set else overrides,
                          max_memory=args.max_memory)
    if args.task_set:  # typed as the champion's own parameters; the machine rebuilt, the file read once
        overrides.update(task_sets(args.task_set, champ.task))
        champ = champion_from_dict(champ.data, champ.path, overrides, args.max_memory)
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(champ.task.generalization_lengths)
    sweeps = {}
    for r in counts:
        one = champ
        if r is not None:  # only the sweep's episodes change: the same network and memory
            from dataclasses import replace

            from entm.machine import Machine

            task = _with_repeats(champ.task, r)
            one = replace(champ, task=task, machine=Machine(task, champ.spec))
        sweeps[r] = (one.task, evaluate_lengths(one.machine, one.network, lengths, episodes=args.episodes,
                                                seed=args.seed, max_memory=args.max_memory, terms=args.terms,
                                                phases=args.phases, probe=args.probe))
    if args.json:
        nodes, conns = champ.network.size()
        meta = champ.data["metadata"]["entm"]
        out = {"memory": champ.spec.mode, "memory_params": champ.spec.params(),
               "encoding": meta.get("encoding", "direct"), "size": {"nodes": nodes, "connections": conns}}
        if "cppn_size" in meta:  # hyper: the evolved CPPN's size beside the painted controller's
            out["cppn_size"] = dict(zip(("nodes", "connections"), meta["cppn_size"]))
        print(json.dumps(_sweeps_json(champ.task, sweeps, out)))
    else:
        print(f"{champ.path}: task {champ.task.name} {champ.task.params()}, {champ.spec.mode} memory "
              f"{champ.spec.params()}, {champ.spec.heads} head(s)")
        print(_sweeps_table(sweeps))
    return 0


def _sweeps_json(task, sweeps: dict, out: dict) -> dict:
    """``entm evaluate --json``: one sweep's ``lengths`` (and its task's parameters), or, for several repeat
    counts, the task's parameters without ``sweep_repeats`` and ``repeats``: {count: that count's lengths}."""
    if len(sweeps) == 1:
        (task, res), = sweeps.values()
        return {"task": task.name, "task_params": task.params(), **out, "lengths": res}
    return {"task": task.name, "task_params": task.params(), **out,
            "repeats": {str(r): res for r, (_, res) in sweeps.items()}}


def _sweeps_table(sweeps: dict) -> str:
    from entm.cli_summary import table

    if len(sweeps) == 1:
        (task, res), = sweeps.values()
        return table(res, task)
    return "\n".join(f"repeats {r}:\n{table(res, task)}" for r, (task, res) in sweeps.items())


def _with_repeats(task, repeats: int):
    """Repeat copy's ``task`` with every length's episodes repeated ``repeats`` times (``--repeats``)."""
    from entm.tasks import make_task

    if task.name != "repeat_copy":
        raise EntmError(f"--repeats applies to repeat copy; this is a {task.name} run")
    return make_task(task.name, {**task.params(), "sweep_repeats": repeats})


def _evaluate_trained(args, counts: list) -> int:
    from entm.baseline.evaluate import evaluate_lengths, load_trained
    from entm.champion import parse_lengths

    trained = load_trained(args.champion)
    if args.task_set:  # the same model on episodes of the changed task (typed as the model's own parameters)
        trained = load_trained(args.champion, task_overrides=task_sets(args.task_set, trained.task))
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(trained.task.generalization_lengths)
    sweeps = {}
    for r in counts:
        one = trained
        if r is not None:
            from dataclasses import replace

            one = replace(trained, task=_with_repeats(trained.task, r))
        sweeps[r] = (one.task, evaluate_lengths(one, lengths, episodes=args.episodes, seed=args.seed))
    a = trained.architecture
    if args.json:
        out = {"memory": trained.memory,
               "memory_params": {"cells": a.cells, "width": a.width} if a.model == "ntm" else {},
               "encoding": None, "size": {"parameters": int(trained.parameters)}, "model": a.model}
        print(json.dumps(_sweeps_json(trained.task, sweeps, out)))
    else:
        what = (f"NTM ({a.controller} controller of {a.layers}x{a.hidden_size}, memory {a.cells}x{a.width}, "
                f"{a.read_heads} read / {a.write_heads} write heads)" if a.model == "ntm"
                else f"LSTM ({a.layers}x{a.hidden_size})")
        print(f"{trained.path}: task {trained.task.name} {trained.task.params()}, trained {what}, "
              f"{trained.parameters} parameters, {trained.info['sequences']} sequences seen")
        print(_sweeps_table(sweeps))
    return 0


def cmd_tasks(args) -> int:
    from entm.tasks import TASKS

    for name, cls in TASKS.items():
        t = cls()
        print(f"{name}: {t.description}")
        print(f"  parameters: {json.dumps(t.params())}")
        print(f"  inputs {t.num_inputs} ({', '.join(t.input_names)}), outputs {t.num_outputs}; "
              f"memory width {t.default_memory_width}; episodes per generation {t.default_episodes}")
        print(f"  generalisation lengths: {', '.join(map(str, t.generalization_lengths))}")
    return 0


def cmd_presets(args) -> int:
    from entm.cli_presets import cmd_presets as run

    return run(args)


COMMANDS = {"evolve": cmd_evolve, "resume": cmd_resume, "evaluate": cmd_evaluate, "train": cmd_train,
            "bench": cmd_bench, "tasks": cmd_tasks, "presets": cmd_presets}


def _commands() -> dict:
    from entm.cli_analysis import COMMANDS as ANALYSIS_COMMANDS
    from entm.cli_campaign import COMMANDS as CAMPAIGN_COMMANDS

    return {**COMMANDS, **ANALYSIS_COMMANDS, **CAMPAIGN_COMMANDS}


def main(argv=None) -> int:
    try:
        parser = build_parser()  # imports every task (numpy, numba ...): Ctrl-C lands here too
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        refuse_empty(args.command, sys.argv[1:] if argv is None else [str(a) for a in argv])
        interrupts.check()  # a Ctrl-C dropped during the imports (entm.interrupts): no run starts
        status = _commands()[args.command](args)
        interrupts.check()  # ... or during the command, where it had no safe point after it
        return status
    except EntmError as e:
        msg = str(e).replace("\n", " ")
        print(f"entm: error: {msg}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:  # Ctrl-C at start-up or in a command without its own handling: one line, 130
        print("entm: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `entm ... | head`: the reader left; no traceback, and none at exit either
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE
    except OSError as e:  # the environment failed (a full disk, a read-only directory): one line; files whole
        where = f"{e.filename}: " if e.filename else ""
        print(f"entm: error: {where}{e.strerror or e}", file=sys.stderr)
        return OS_FAILURE


def run() -> None:
    """The ``entm`` program: :func:`main`, exiting with its status (:func:`entm.cli_status.exit_with`)."""
    interrupts.install()  # the `entm` script starts here (python -m entm installed it already)
    exit_with(main())


if __name__ == "__main__":
    run()
