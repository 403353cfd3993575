"""Exit statuses of the ``entm`` command and the checks around its arguments and its exit.

0 done; 1 an unexpected failure (a bug: Python's traceback); 2 bad input or a refused size (one line
``entm: error: ...``); 74 the environment failed (a full disk, a read-only run directory: one line);
130 interrupted (Ctrl-C / SIGINT: one line); 141 the reader of standard output left (silence).
docs/commands.md, "Exit status", documents them.
"""

from __future__ import annotations

import sys

from entm.errors import EntmError

#: exit statuses (docs/commands.md, "Exit status"): 0 done, 1 an unexpected failure (a bug: traceback),
#: 2 bad input or a refused size (one line), 74 the environment failed (full disk, read-only directory: one
#: line), 130 interrupted (Ctrl-C / SIGINT), 141 the reader of stdout left
USAGE, OS_FAILURE, INTERRUPTED, CLOSED_PIPE = 2, 74, 130, 141


def refuse_empty(command: str, argv: list) -> None:
    """An empty (or blank) value is never read as "not given": ``--run-dir ''``, ``--lengths=``, ``evaluate ''``."""
    for i, tok in enumerate(argv):
        if tok.startswith("--") and "=" in tok and not tok.partition("=")[2].strip():
            name = tok.partition("=")[0]
        elif not tok.strip():
            prev = argv[i - 1] if i else ""
            name = prev if prev[:1] == "-" and not prev[1:2].isdigit() else "an argument"
        else:
            continue
        raise EntmError(f"{command}: {name} is empty; give a value, or leave it out for its default")


def exit_with(status: int) -> None:
    """End the process with ``status``.  After Ctrl-C the exit handlers (Ray's shutdown among them) run and
    the process ends with 130 itself: CPython would otherwise re-raise SIGINT at exit (status -2) when the
    interrupt landed in code an extension ran through ``PyRun_*``."""
    if status == INTERRUPTED:
        import atexit
        import os

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)
    sys.exit(status)


def check_evolution_size(settings, max_memory) -> None:
    """Refuse, before the run directory exists, a population and evaluation that cannot fit (entm.budget)."""
    import copy
    import os

    from entm.budget import check_evolution
    from entm.evolution.loop import prepare
    from entm.neatconfig import load_config

    _task, _spec, machine, text = prepare(copy.copy(settings))
    workers = 1 if settings.evaluator == "serial" or settings.ray_address else (settings.workers or os.cpu_count())
    check_evolution(machine, load_config(text), settings.episodes or machine.task.default_episodes, workers,
                    max_memory)


def check_training_size(settings, max_memory) -> None:
    """Refuse, before the run directory exists, a training step that cannot fit (entm.budget)."""
    from entm.baseline.sequences import sequence_task
    from entm.budget import check_training

    check_training(settings.architecture, sequence_task(settings.task, settings.task_params), settings.batch_size,
                   max_memory)
