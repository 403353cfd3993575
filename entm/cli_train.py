"""``entm train``: the gradient-trained baselines (docs/baselines.md).  Argument parsing and calls only."""

from __future__ import annotations

import argparse

from entm.cli_options import add_task_options, set_threads, task_params
from entm.cli_status import check_training_size
from entm.errors import EntmError


def add_parser(sub) -> None:
    """Add ``train`` to an argparse subparsers object."""
    from entm.baseline.settings import DEFAULT_STEPS, TrainSettings

    td = TrainSettings()  # the defaults live in one place
    t = sub.add_parser("train", help="train a baseline (NTM or LSTM) by gradient descent on a sequence task",
                       description="Gradient-trained baselines (Graves et al. 2014): an NTM with an LSTM or "
                                   "feedforward controller, or a plain multi-layer LSTM. Writes a run directory "
                                   "(run.json, metrics.jsonl, checkpoints/, model.pt); `entm resume` continues it.")
    t.add_argument("--preset", default=None, metavar="NAME",
                   help="start from the NTM paper's set-up for a task (controller, heads, memory, optimiser; `entm presets`); options given explicitly override its values")
    t.add_argument("--task", default=None, help="sequence task (default: copy)")
    t.add_argument("--model", default=None, choices=["ntm", "lstm"], help="ntm (default) or a plain lstm")
    t.add_argument("--controller", default=None, choices=["lstm", "feedforward"],
                   help="NTM controller (default lstm)")
    t.add_argument("--hidden-size", type=int, default=None,
                   help="units per controller layer (NTM, default 100) or per LSTM layer (LSTM, default 256)")
    t.add_argument("--layers", type=int, default=None, help="controller layers (NTM, default 1) or LSTM layers "
                                                            "(LSTM, default 3)")
    t.add_argument("--cells", type=int, default=None, help="memory cells N (default 128)")
    t.add_argument("--width", type=int, default=None, help="memory width M (default 20)")
    t.add_argument("--read-heads", type=int, default=None, help="read heads (default 1)")
    t.add_argument("--write-heads", type=int, default=None, help="write heads (default 1)")
    t.add_argument("--memory-init", default=None, choices=["constant", "learned", "random"],
                   help="initial memory: a small constant (default, 1e-6), learned, or a fixed random matrix")
    t.add_argument("--batch-size", type=int, default=None,
                   help=f"sequences per update (default {td.batch_size})")
    t.add_argument("--steps", type=int, default=None,
                   help=f"update budget (default {DEFAULT_STEPS}; none when --minutes is given alone)")
    t.add_argument("--minutes", type=float, default=None,
                   help="wall-time budget in minutes: stop after the step that runs out of it (resumable); "
                        "alone it is the only budget, with --steps whichever runs out first")
    t.add_argument("--stop-bit-errors", type=float, default=None, metavar="B",
                   help="stop as solved once --stop-reports reports in a row average fewer than B wrong bits per "
                        "sequence (default: never)")
    t.add_argument("--stop-reports", type=int, default=None, metavar="K",
                   help=f"reports in a row below --stop-bit-errors that stop the run (default {td.stop_reports})")
    t.add_argument("--restart-after", type=int, default=None, metavar="N",
                   help="random restarts: a report N or more sequences after the last start that still averages "
                        "--restart-bit-errors wrong bits per sequence starts again from new initial parameters "
                        "(default: never)")
    t.add_argument("--restart-bit-errors", type=float, default=None, metavar="B",
                   help=f"wrong bits per sequence at or above which --restart-after starts again "
                        f"(default {td.restart_bit_errors:g})")
    t.add_argument("--optimizer", default=None, choices=["adam", "rmsprop"],
                   help=f"adam (lr 3e-3) or Graves' rmsprop (lr 1e-4, momentum 0.9, decay 0.95); "
                        f"default {td.optimizer}")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    t.add_argument("--lr-schedule", default=None, metavar="STEP:LR,...",
                   help="learning-rate steps: from update STEP on the rate is LR, e.g. 25000:1e-4 (default: "
                        "--lr throughout)")
    t.add_argument("--clip", default=None, choices=["norm", "value", "none"],
                   help=f"gradient clipping: global norm (norm), elementwise (value) or none; default {td.clip}")
    t.add_argument("--clip-value", type=float, default=None,
                   help="clipping bound (default: 50 for norm, 10 for value)")
    t.add_argument("--equal-lengths", action=argparse.BooleanOptionalAction, default=None,
                   help="one sequence length per batch, drawn uniformly (no padding; same lengths overall); "
                        f"default {'on' if td.equal_lengths else 'off'}")
    t.add_argument("--curriculum", action=argparse.BooleanOptionalAction, default=None,
                   help="curriculum: start a max_* task parameter (--curriculum-param) low, raise it as bit "
                        f"errors fall (default {'on' if td.curriculum else 'off'})")
    t.add_argument("--curriculum-param", default=None, metavar="PARAM",
                   help=f"the task parameter the curriculum raises (default {td.curriculum_param}; repeat copy "
                        "also max_repeats)")
    t.add_argument("--curriculum-start", type=int, default=None, metavar="V",
                   help=f"its first value (default {td.curriculum_start})")
    t.add_argument("--curriculum-step", type=int, default=None, metavar="V",
                   help=f"how much it grows each time (default {td.curriculum_step})")
    t.add_argument("--curriculum-threshold", type=float, default=None, metavar="B",
                   help="grow it after a report under B bit errors per sequence on the training batches "
                        f"(default {td.curriculum_threshold})")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
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
    t.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse (one line) a run whose training step is estimated to need more memory than this, "
                        "e.g. 4G (default: half of this machine's physical memory)")
    add_task_options(t)


def cmd_train(args) -> int:
    from entm.baseline.settings import parse_schedule
    from entm.baseline.train import TrainSettings, train
    from entm.cli_summary import train_summary
    from entm.tasks.curriculum import names_curriculum

    if args.restart_bit_errors is not None and args.restart_after is None:
        raise EntmError("--restart-bit-errors needs --restart-after (the sequences a start gets before it counts)")
    if names_curriculum(task_params(args).get("stages")):
        raise EntmError("--stages is evolution's curriculum (entm evolve); entm train's is --curriculum")
    schedule = None if args.lr_schedule is None else parse_schedule(args.lr_schedule)
    arch = {"model": args.model, "controller": args.controller, "hidden_size": args.hidden_size,
            "layers": args.layers, "cells": args.cells, "width": args.width, "read_heads": args.read_heads,
            "write_heads": args.write_heads, "memory_init": args.memory_init}
    given = {"task": args.task, "task_params": task_params(args), "architecture": arch,
             "batch_size": args.batch_size, "steps": args.steps, "minutes": args.minutes,
             "optimizer": args.optimizer, "lr": args.lr, "lr_schedule": schedule, "clip": args.clip,
             "clip_value": args.clip_value,
             "equal_lengths": args.equal_lengths, "curriculum": args.curriculum, "compile": args.compile,
             "curriculum_param": args.curriculum_param, "curriculum_start": args.curriculum_start,
             "curriculum_step": args.curriculum_step, "curriculum_threshold": args.curriculum_threshold,
             "seed": args.seed, "device": args.device, "report_every": args.report_every,
             "checkpoint_every": args.checkpoint_every, "run_dir": args.run_dir,
             "stop_bit_errors": args.stop_bit_errors, "stop_reports": args.stop_reports,
             "restart_after": args.restart_after, "restart_bit_errors": args.restart_bit_errors}
    if args.preset is not None:
        from entm.baseline.presets import TRAIN_PRESETS, train_preset_settings
        from entm.presets import PRESETS

        if args.preset in PRESETS and args.preset not in TRAIN_PRESETS:
            raise EntmError(f"{args.preset!r} is an evolution preset (entm evolve --preset); training presets: "
                            f"{', '.join(TRAIN_PRESETS)} (see `entm presets`)")

        fields = train_preset_settings(args.preset, given)
    else:
        fields = {k: v for k, v in given.items() if v is not None}
        fields["architecture"] = {k: v for k, v in arch.items() if v is not None}
    settings = TrainSettings(**fields)
    set_threads(args.threads)
    check_training_size(settings, args.max_memory)
    return train_summary(train(settings, progress=not args.quiet))
