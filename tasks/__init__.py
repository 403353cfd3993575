"""The task suite: a registry (a plain dict) and one module per task.

``TASKS`` maps a task name to its class; ``make_task(name, params)`` builds
one, checking the name and the parameters.  Every task is a
:class:`SequenceTask` or a :class:`RewardTask` (the interface: ``tasks/base.py``).
Tasks know nothing of NEAT, Ray or plotting (drawing a deployment:
``entm.analysis.deployment``).
"""

from __future__ import annotations

from entm.errors import EntmError
from entm.tasks.base import Episodes, Scores, SequenceTask, Task
from entm.tasks.associative_recall import AssociativeRecallTask
from entm.tasks.copy import CopyTask
from entm.tasks.dynamic_ngrams import DynamicNgramsTask
from entm.tasks.priority_sort import PrioritySortTask
from entm.tasks.repeat_copy import RepeatCopyTask
from entm.tasks.reward import RewardTask
from entm.tasks.season import SeasonTask
from entm.tasks.tmaze import TMazeTask

TASKS: dict[str, type[Task]] = {
    "copy": CopyTask,
    "repeat_copy": RepeatCopyTask,
    "associative_recall": AssociativeRecallTask,
    "dynamic_ngrams": DynamicNgramsTask,
    "priority_sort": PrioritySortTask,
    "tmaze": TMazeTask,
    "season": SeasonTask,
}


def make_task(name: str, params: dict | None = None) -> Task:
    """The task registered under ``name``, built from ``params``."""
    if name not in TASKS:
        raise EntmError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name].from_params(params)


__all__ = ["TASKS", "make_task", "Task", "SequenceTask", "RewardTask", "Episodes", "Scores"]
