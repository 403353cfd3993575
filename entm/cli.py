"""The ``entm`` command.

Bad input of any kind ends with ``entm: error: <one line>`` on stderr and exit
status 2, without a traceback, and leaves existing files as they were.

Each subcommand imports what it runs inside its own function: importing every
command's modules up front would load torch, numba's kernels and Ray (seconds)
for every ``entm`` call, ``entm --help`` and every one-line error included.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from entm.errors import EntmError
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


def _task_option_fields():
    """Every task parameter of every registered task, as (dest, type, help)."""
    from entm.tasks import TASKS

    seen = {}
    for name, cls in TASKS.items():
        for f in dataclasses.fields(cls):
            if f.name not in seen:
                typ = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str}.get(
                    str(f.type), str)
                seen[f.name] = (typ, [name])
            else:
                seen[f.name][1].append(name)
    return seen


def _add_task_options(p):
    g = p.add_argument_group("task options (see `entm tasks`)")
    for name, (typ, owners) in _task_option_fields().items():
        g.add_argument("--" + name.replace("_", "-"), dest="task__" + name, type=typ, default=None,
                       metavar=name.upper(), help=f"task parameter {name} ({', '.join(owners)})")


def _task_params(args) -> dict:
    return {k[len("task__"):]: v for k, v in vars(args).items() if k.startswith("task__") and v is not None}


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
    e.add_argument("--cells", type=int, default=None, help="cells N of the differentiable memory (default 128)")
    e.add_argument("--heads", type=int, default=None, help="combined read/write heads (default 1)")
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
    e.add_argument("--threads", type=int, default=1, help="CPU threads of this process's compute libraries (torch, numba; default 1, one per evaluating process: Ray workers run one each)")
    e.add_argument("--encoding", default="direct", choices=["direct", "hyper"],
                   help="direct: genomes are the controllers (default); hyper: genomes are CPPNs that paint the "
                        "controller onto a substrate (HyperNTM; copy task; default config <task>-hyper.ini)")
    e.add_argument("--hyper-radius", default=None,
                   help="hyper: links between two vectors join elements at most this far apart (default 0: bit j to "
                        "bit j only; 'all': every pair)")
    e.add_argument("--hyper-threshold", type=float, default=None,
                   help="hyper: a link exists where |CPPN value| >= this (default 0.2)")
    e.add_argument("--hyper-scale", type=float, default=None,
                   help="hyper: weight = scale x CPPN value in [-1, 1] (default 5)")
    _add_task_options(e)
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
    v.add_argument("--threads", type=int, default=1, help="CPU threads of this process's compute libraries (torch, numba; default 1, one per evaluating process: Ray workers run one each)")
    v.add_argument("--vector-size", type=int, default=None,
                   help="evaluate at another vector width: a hyper-encoding champion's CPPN is re-painted for it")

    from entm.baseline.settings import DEFAULT_STEPS, TrainSettings

    td = TrainSettings()  # the defaults live in one place
    t = sub.add_parser("train", help="train a baseline (NTM or LSTM) by gradient descent on a sequence task",
                       description="Gradient-trained baselines (Graves et al. 2014): an NTM with an LSTM or "
                                   "feedforward controller, or a plain multi-layer LSTM. Writes a run directory "
                                   "(run.json, metrics.jsonl, checkpoints/, model.pt); `entm resume` continues it.")
    t.add_argument("--task", default="copy", help="sequence task (default: copy)")
    t.add_argument("--model", default="ntm", choices=["ntm", "lstm"], help="ntm (default) or a plain lstm")
    t.add_argument("--controller", default="lstm", choices=["lstm", "feedforward"],
                   help="NTM controller (default lstm)")
    t.add_argument("--hidden-size", type=int, default=None,
                   help="units per controller layer (NTM, default 100) or per LSTM layer (LSTM, default 256)")
    t.add_argument("--layers", type=int, default=None, help="controller layers (NTM, default 1) or LSTM layers "
                                                            "(LSTM, default 3)")
    t.add_argument("--cells", type=int, default=128, help="memory cells N (default 128)")
    t.add_argument("--width", type=int, default=20, help="memory width M (default 20)")
    t.add_argument("--read-heads", type=int, default=1, help="read heads (default 1)")
    t.add_argument("--write-heads", type=int, default=1, help="write heads (default 1)")
    t.add_argument("--memory-init", default="constant", choices=["constant", "learned", "random"],
                   help="initial memory: a small constant (default, 1e-6), learned, or a fixed random matrix")
    t.add_argument("--batch-size", type=int, default=td.batch_size,
                   help=f"sequences per update (default {td.batch_size})")
    t.add_argument("--steps", type=int, default=None,
                   help=f"update budget (default {DEFAULT_STEPS}; none when --minutes is given alone)")
    t.add_argument("--minutes", type=float, default=None,
                   help="wall-time budget in minutes: stop after the step that runs out of it (resumable); "
                        "alone it is the only budget, with --steps whichever runs out first")
    t.add_argument("--optimizer", default=td.optimizer, choices=["adam", "rmsprop"],
                   help=f"adam (lr 3e-3) or Graves' rmsprop (lr 1e-4, momentum 0.9, decay 0.95); "
                        f"default {td.optimizer}")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    t.add_argument("--clip", default=td.clip, choices=["norm", "value", "none"],
                   help=f"gradient clipping: global norm (norm), elementwise (value) or none; default {td.clip}")
    t.add_argument("--clip-value", type=float, default=None,
                   help="clipping bound (default: 50 for norm, 10 for value)")
    t.add_argument("--equal-lengths", action=argparse.BooleanOptionalAction, default=td.equal_lengths,
                   help="one sequence length per batch, drawn uniformly (no padding; same lengths overall); "
                        f"default {'on' if td.equal_lengths else 'off'}")
    t.add_argument("--curriculum", action=argparse.BooleanOptionalAction, default=td.curriculum,
                   help="length curriculum: start max_length low, raise it as bit errors fall "
                        f"(default {'on' if td.curriculum else 'off'})")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=td.compile,
                   help="run the NTM's time step through torch.compile (about 3x faster on CPU; "
                        f"default {'on' if td.compile else 'off'})")
    t.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    t.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto (cuda when available)")
    t.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the per-step ops are small; more threads only add overhead)")
    t.add_argument("--run-dir", default=None,
                   help="run directory (default: runs/<task>[-<param>_<value>...]-<model>-seed<S>; an existing "
                        "one is an error)")
    t.add_argument("--report-every", type=int, default=td.report_every,
                   help=f"steps per metrics line (default {td.report_every})")
    t.add_argument("--checkpoint-every", type=int, default=td.checkpoint_every,
                   help=f"steps between checkpoints (default {td.checkpoint_every})")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_task_options(t)

    b = sub.add_parser("bench", help="genome-steps per second against plain neat-python")
    b.add_argument("--task", default="copy")
    b.add_argument("--memory", default="discrete", choices=["discrete", "differentiable"])
    b.add_argument("--population", type=int, default=300)
    b.add_argument("--episodes", type=int, default=50)
    b.add_argument("--repeats", type=int, default=7,
                   help="repetitions of each way, interleaved; each rate is the best of them (default 7)")
    b.add_argument("--workers", type=int, default=None, help="also measure Ray with 1 and N workers")
    b.add_argument("--json", action="store_true")
    _add_task_options(b)

    sub.add_parser("tasks", help="list the tasks with their defaults")
    add_presets_parser(sub)

    from entm.cli_analysis import add_parsers
    from entm.cli_campaign import add_parser as add_campaign_parser

    add_parsers(sub)
    add_campaign_parser(sub)
    return p


def cmd_evolve(args) -> int:
    from entm.cli_summary import evolve_summary
    from entm.evolution.loop import EvolveSettings, evolve

    _set_threads(args.threads)

    mp = {}
    if args.width is not None:
        mp["width"] = args.width
    if args.cells is not None:
        mp["cells"] = args.cells
    if args.checkpoint_every < 1:
        raise EntmError(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
    from entm.cli_presets import check_evolve_fields, evolve_fields

    fields = evolve_fields(args, _task_params(args), mp)
    check_evolve_fields(fields)
    settings = EvolveSettings(**fields, config=args.config, generations=args.generations, seed=args.seed,
                              stop_when_solved=args.stop_when_solved, run_dir=args.run_dir,
                              evaluator="serial" if args.serial else "ray", workers=args.workers,
                              ray_address=args.ray_address, ray_verbose=args.ray_verbose,
                              checkpoint_every=args.checkpoint_every, minutes=args.minutes,
                              encoding=args.encoding, hyper=_hyper_params(args))
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
    if hp and args.encoding != "hyper":
        raise EntmError("--hyper-radius, --hyper-threshold and --hyper-scale need --encoding hyper")
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


def cmd_train(args) -> int:
    from entm.baseline.model import ModelSettings
    from entm.baseline.train import TrainSettings, train
    from entm.cli_summary import train_summary

    arch = ModelSettings(model=args.model, controller=args.controller, hidden_size=args.hidden_size,
                         layers=args.layers, cells=args.cells, width=args.width, read_heads=args.read_heads,
                         write_heads=args.write_heads, memory_init=args.memory_init)
    if _task_params(args).get("stages"):
        raise EntmError("--stages is evolution's curriculum (entm evolve); entm train's is --curriculum")
    settings = TrainSettings(task=args.task, task_params=_task_params(args), architecture=arch,
                             batch_size=args.batch_size, steps=args.steps, minutes=args.minutes,
                             optimizer=args.optimizer, lr=args.lr, clip=args.clip, clip_value=args.clip_value,
                             equal_lengths=args.equal_lengths, curriculum=args.curriculum, compile=args.compile, seed=args.seed, device=args.device,
                             report_every=args.report_every, checkpoint_every=args.checkpoint_every,
                             run_dir=args.run_dir)
    _set_threads(args.threads)
    return train_summary(train(settings, progress=not args.quiet))


def _set_threads(n: int) -> None:
    """The CPU threads this process's compute libraries use: torch's and numba's pools (1 by default: an
    evaluating process owns one core; torch's default pool, one thread per core, oversubscribes the cores
    as soon as anything else runs, and more threads only add synchronisation to small ops)."""
    import numba
    import torch

    if isinstance(n, bool) or n < 1:
        raise EntmError(f"--threads must be at least 1, got {n}")
    torch.set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


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
        _set_threads(1 if args.threads is None else args.threads)
        return train_summary(resume_training(args.run_dir, steps=args.steps, minutes=args.minutes,
                                              device=args.device, progress=not args.quiet))
    for name in ("steps", "device"):
        if getattr(args, name) is not None:
            raise EntmError(f"--{name} applies to training runs; {args.run_dir} is not one")
    _set_threads(1 if args.threads is None else args.threads)

    if args.serial and (args.workers is not None or args.ray_address is not None):
        raise EntmError("--serial cannot be combined with --workers or --ray-address")
    result = resume(args.run_dir, generations=args.generations, evaluator="serial" if args.serial else "ray",
                    workers=args.workers, ray_address=args.ray_address, progress=not args.quiet,
                    minutes=args.minutes)
    from entm.runs import read_run_json

    return evolve_summary(result, int(read_run_json(result.run_dir).get("seed", 0)))


def cmd_evaluate(args) -> int:
    from entm.champion import evaluate_lengths, load_champion, parse_lengths
    from entm.cli_summary import table

    if args.episodes < 1:
        raise EntmError(f"--episodes must be at least 1, got {args.episodes}")
    check_seed(args.seed)
    _set_threads(args.threads)
    if _run_kind(args.champion) == "training":
        if args.vector_size is not None:
            raise EntmError("--vector-size re-paints evolved hyper-encoding champions; a trained model has fixed sizes")
        return _evaluate_trained(args)
    overrides = {}
    if args.vector_size is not None:
        if args.vector_size < 1:
            raise EntmError(f"--vector-size must be at least 1, got {args.vector_size}")
        overrides["vector_size"] = args.vector_size
    champ = load_champion(args.champion, task_overrides=overrides)
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(champ.task.generalization_lengths)
    res = evaluate_lengths(champ.machine, champ.network, lengths, episodes=args.episodes, seed=args.seed)
    if args.json:
        nodes, conns = champ.network.size()
        meta = champ.data["metadata"]["entm"]
        out = {"task": champ.task.name, "task_params": champ.task.params(), "memory": champ.spec.mode,
               "memory_params": champ.spec.params(), "encoding": meta.get("encoding", "direct"),
               "size": {"nodes": nodes, "connections": conns}}
        if "cppn_size" in meta:  # hyper: the evolved CPPN's size beside the painted controller's
            out["cppn_size"] = dict(zip(("nodes", "connections"), meta["cppn_size"]))
        print(json.dumps({**out, "lengths": res}))
    else:
        print(f"{champ.path}: task {champ.task.name} {champ.task.params()}, {champ.spec.mode} memory "
              f"{champ.spec.params()}, {champ.spec.heads} head(s)")
        print(table(res, champ.task))
    return 0


def _evaluate_trained(args) -> int:
    from entm.baseline.evaluate import evaluate_lengths, load_trained
    from entm.champion import parse_lengths
    from entm.cli_summary import table

    trained = load_trained(args.champion)
    lengths = parse_lengths(args.lengths) if args.lengths is not None else list(trained.task.generalization_lengths)
    res = evaluate_lengths(trained, lengths, episodes=args.episodes, seed=args.seed)
    if args.json:
        a = trained.architecture
        print(json.dumps({"task": trained.task.name, "task_params": trained.task.params(), "memory": trained.memory,
                          "memory_params": {"cells": a.cells, "width": a.width} if a.model == "ntm" else {},
                          "encoding": None, "size": {"parameters": int(trained.parameters)}, "model": a.model,
                          "lengths": res}))
    else:
        a = trained.architecture
        what = (f"NTM ({a.controller} controller of {a.layers}x{a.hidden_size}, memory {a.cells}x{a.width}, "
                f"{a.read_heads} read / {a.write_heads} write heads)" if a.model == "ntm"
                else f"LSTM ({a.layers}x{a.hidden_size})")
        print(f"{trained.path}: task {trained.task.name} {trained.task.params()}, trained {what}, "
              f"{trained.parameters} parameters, {trained.info['sequences']} sequences seen")
        print(table(res, trained.task))
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


def cmd_bench(args) -> int:
    from entm.bench import format_bench, run_bench

    if args.workers is not None and args.workers < 1:
        raise EntmError(f"--workers must be at least 1, got {args.workers}")
    say = None if args.json else (lambda msg: print(f"bench: {msg}", file=sys.stderr))
    r = run_bench(task=args.task, task_params=_task_params(args), memory=args.memory, population=args.population,
                  episodes=args.episodes, repeats=args.repeats, workers=args.workers, progress=say)
    print(json.dumps(r) if args.json else format_bench(r))
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
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        return _commands()[args.command](args)
    except EntmError as e:
        msg = str(e).replace("\n", " ")
        print(f"entm: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("entm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `entm ... | head`: the reader left; no traceback, and none at exit either
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
