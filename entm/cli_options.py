"""Options shared by several ``entm`` commands: the task parameters as ``--name`` options, and the threads
of the compute libraries."""

from __future__ import annotations

import argparse
import dataclasses

from entm.errors import EntmError


def task_option_fields():
    """Every task parameter of every registered task, as (dest, type, help)."""
    from entm.tasks import TASKS

    seen = {}
    for name, cls in TASKS.items():
        for f in dataclasses.fields(cls):
            if f.name not in seen:
                typ = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str,
                                                                "bool": truth}.get(str(f.type), str)
                seen[f.name] = (typ, [name])
            else:
                seen[f.name][1].append(name)
    return seen


def add_task_options(p):
    g = p.add_argument_group("task options (see `entm tasks`)")
    for name, (typ, owners) in task_option_fields().items():
        g.add_argument("--" + name.replace("_", "-"), dest="task__" + name, type=typ, default=None,
                       metavar=name.upper(), help=f"task parameter {name} ({', '.join(owners)})")


def truth(text: str) -> bool:
    """A true/false task option (an argparse type): true, false, 1 or 0."""
    from entm.tasks.base import TRUTH_WORDS

    if text.strip().lower() not in TRUTH_WORDS:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return TRUTH_WORDS[text.strip().lower()]


def cells_option(text: str):
    """``--cells`` (an argparse type): ``auto`` or a positive integer."""
    if text.strip() == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {text!r}")
    return n


def task_params(args) -> dict:
    return {k[len("task__"):]: v for k, v in vars(args).items() if k.startswith("task__") and v is not None}


def set_threads(n: int) -> None:
    """The CPU threads this process's compute libraries use: torch's and numba's pools (1 by default: an
    evaluating process owns one core; torch's default pool, one thread per core, oversubscribes the cores
    as soon as anything else runs, and more threads only add synchronisation to small ops)."""
    import numba
    import torch

    if isinstance(n, bool) or n < 1:
        raise EntmError(f"--threads must be at least 1, got {n}")
    torch.set_num_threads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def task_sets(items: list, task) -> dict:
    """``entm evaluate --set PARAM=VALUE``: the values typed as the champion's own parameters (an empty VALUE
    for a text parameter, e.g. ``goal_set=``: every goal)."""
    from entm.tasks.curriculum import value_of

    names = {f.name for f in dataclasses.fields(task)} - {"stages"}
    out = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key or not (text or isinstance(getattr(task, key, None), str)):
            raise EntmError(f"--set: {item!r} is not PARAM=VALUE")
        if key not in names:
            raise EntmError(f"--set: task {task.name!r} has no parameter {key!r}")
        out[key] = value_of(text, getattr(task, key), what="--set value")
    return out
