"""Curricula: a task grown in stages, each a set of the task's own parameters (docs/tasks.md, "Curricula").

A task with a ``stages`` parameter (the bit-vector tasks, the T-maze and the season
task; ``entm evolve --stages``) is evolved in stages: easier versions of itself that
differ in a few parameters (fewer items, shorter sequences, fewer repeats, fewer
rounds), ending with the task itself.  The parameter
is a string:

* ``""`` (the default) or ``none``: no curriculum, the task as it is (``none`` turns a preset's off);
* ``auto``: the task's own schedule (:attr:`default_curriculum` of its class);
* ``PARAM=V1,V2,... [PARAM=...] [advance=F] [after=G | restart=G]``: the stages' values of each
  named parameter, in order (a single value holds for every stage; lists of
  more than one value have one length), e.g. ``max_items=2,3,4,5``,
  ``max_length=2,4,6,8 max_repeats=2,4,6,8`` or ``item_size=2 after=1000``.

The task itself (all its parameters as given) is always the last stage; a
listed last stage equal to it is not repeated.  ``advance`` (default
:data:`DEFAULT_ADVANCE`) is the criterion to leave a stage: the share of a
generation's episodes that its best genome gets perfect; ``after`` (default
none) a limit: a stage is left after G generations in it, criterion met or
not; ``restart`` (default none, not with ``after``) the other way out of a
stall: a stage short of the task held G generations without its criterion
met sends the run back to the first stage with a new random population.
What a stage changes is only how episodes are drawn; the task's inputs and
outputs stay the same (a stage is a :meth:`Task.stage_task`).  Running the stages is the evolution
loop's part (:mod:`entm.evolution.curriculum`).
"""

from __future__ import annotations

import dataclasses

from entm.errors import EntmError
from entm.tasks.base import TRUTH_WORDS

#: the default criterion to leave a stage: the generation's best genome perfect on every episode
DEFAULT_ADVANCE = 1.0

#: the ``stages`` values that mean no curriculum (``none`` turns a preset's off)
NONE = ("", "none")


def names_curriculum(spec) -> bool:
    """Whether a ``stages`` value asks for a curriculum (anything but :data:`NONE`)."""
    return str(spec or "").strip() not in NONE


#: parameters a curriculum may not change (they change what the task is, or how it is scored)
FIXED = ("stages", "shaping", "vector_size")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A parsed curriculum: the stages' parameter overrides, the last one ({}) the task itself."""

    stages: tuple
    """One dict of parameter values per stage; the last is {} (the full task)."""
    advance: float = DEFAULT_ADVANCE
    after: int | None = None
    """Leave a stage after this many generations in it, its criterion met or not (None: only on it)."""
    restart: int | None = None
    """A stage short of the last held this many generations without its criterion met sends the run back to the
    first stage with a new random population (None: never)."""


def value_of(text: str, like, what: str = "curriculum value"):
    """``text`` as the type of the parameter's current value ``like`` (``what`` names it in an error)."""
    if isinstance(like, bool):
        if text.lower() not in TRUTH_WORDS:
            raise EntmError(f"{what} {text!r} is not true or false (1 or 0)")
        return TRUTH_WORDS[text.lower()]
    try:
        return type(like)(text) if isinstance(like, (int, float)) else text
    except ValueError:
        kind = {"int": "an integer", "float": "a number"}.get(type(like).__name__, type(like).__name__)
        raise EntmError(f"{what} {text!r} is not {kind}") from None


def parse(task) -> Schedule | None:
    """The task's curriculum (None: it has none); every stage is built once here, so a bad stage is a
    one-line EntmError before any work."""
    spec = str(getattr(task, "stages", "") or "").strip()
    if not names_curriculum(spec):
        return None
    if spec == "auto":
        spec = getattr(task, "default_curriculum", "")
        if not spec:
            raise EntmError(f"task {task.name!r} has no default curriculum; give one as PARAM=V1,V2,...")
    names = {f.name for f in dataclasses.fields(task)}
    lists: dict = {}
    advance, limits = DEFAULT_ADVANCE, {"after": None, "restart": None}
    for token in spec.replace(";", " ").split():
        key, eq, values = token.partition("=")
        if not eq or not values:
            raise EntmError(f"curriculum {spec!r}: {token!r} is not PARAM=V1,V2,...")
        if key == "advance":
            try:
                advance = float(values)
            except ValueError:
                advance = -1.0
            if not 0.0 < advance <= 1.0:
                raise EntmError(f"curriculum advance must be a number in (0, 1], got {values!r}")
            continue
        if key in limits:
            limits[key] = int(values) if values.isdigit() else 0
            if limits[key] < 1:
                raise EntmError(f"curriculum {key} must be a whole number of generations >= 1, got {values!r}")
            continue
        if key not in names:
            raise EntmError(f"curriculum {spec!r}: task {task.name!r} has no parameter {key!r}; its parameters are "
                            f"{', '.join(sorted(names - set(FIXED)))}")
        if key in FIXED:
            raise EntmError(f"curriculum {spec!r}: {key} cannot change between stages")
        lists[key] = [value_of(v, getattr(task, key)) for v in values.split(",")]
    if not lists:
        raise EntmError(f"curriculum {spec!r} names no parameter; give PARAM=V1,V2,...")
    if None not in limits.values():
        raise EntmError(f"curriculum {spec!r}: give after (a stalled stage is left) or restart (a stalled stage "
                        f"starts the curriculum again), not both")
    n = max(len(v) for v in lists.values())
    bad = [k for k, v in lists.items() if len(v) not in (1, n)]
    if bad:
        raise EntmError(f"curriculum {spec!r}: {bad[0]} has {len(lists[bad[0]])} values, the others {n}")
    stages = [{k: (v[i] if len(v) > 1 else v[0]) for k, v in lists.items()} for i in range(n)]
    if all(getattr(task, k) == v for k, v in stages[-1].items()):
        stages.pop()  # the task itself is the last stage anyway
    stages.append({})
    for i, s in enumerate(stages[:-1]):
        try:
            task.stage_task(s)  # every stage is a valid task
        except EntmError as e:
            raise EntmError(f"curriculum {spec!r}, stage {i + 1} ({_words(s)}): {e}") from None
    return Schedule(stages=tuple(stages), advance=advance, **limits)


def _words(overrides: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in overrides.items()) or "the task itself"


def describe(schedule: Schedule) -> list[str]:
    """One phrase per stage, e.g. ``max_items=3``; the last ``the task itself``."""
    return [_words(s) for s in schedule.stages]
