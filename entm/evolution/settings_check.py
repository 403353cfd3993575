"""Type and range of every field of an evolution run's settings, wherever they come from.

The command line types its options, but a run being resumed takes its settings from run.json, which may
have been edited (a seed of -1, a period of 0, a string where a number goes): each field is checked here,
before anything is read or written, and a bad one is a one-line EntmError naming the field and the file.
"""

from __future__ import annotations

import math

from entm.errors import EntmError


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int_at_least(lo: int, optional: bool = False):
    def check(x):
        return (optional and x is None) or (_is_int(x) and x >= lo)
    return check, (f"an integer >= {lo}" + (" or null" if optional else ""))


def _text(optional: bool):
    def check(x):
        return (optional and x is None) or (isinstance(x, str) and x.strip() != "")
    return check, "a non-empty string" + (" or null" if optional else "")


def _number_or_none(x) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0)


#: field -> (check, what is allowed); the fields every run has (EvolveSettings')
FIELDS = {
    "task": _text(False),
    "task_params": (lambda x: isinstance(x, dict), "an object"),
    "memory": (lambda x: x in ("discrete", "differentiable"), "discrete or differentiable"),
    "memory_params": (lambda x: isinstance(x, dict), "an object"),
    "heads": _int_at_least(1),
    "config": _text(True),
    "generations": _int_at_least(1, optional=True),
    "seed": _int_at_least(0),
    "episodes": _int_at_least(1, optional=True),
    "stop_when_solved": (lambda x: isinstance(x, bool), "true or false"),
    "run_dir": _text(True),
    "evaluator": (lambda x: x in ("serial", "ray"), "serial or ray"),
    "workers": _int_at_least(1, optional=True),
    "ray_address": _text(True),
    "ray_verbose": (lambda x: isinstance(x, bool), "true or false"),
    "checkpoint_every": _int_at_least(1),
    "minutes": (_number_or_none, "a positive number or null"),
    "encoding": (lambda x: x in ("direct", "hyper"), "direct or hyper"),
    "hyper": (lambda x: isinstance(x, dict), "an object"),
    "controller": (lambda x: x in (None, "feedforward", "recurrent"), "feedforward, recurrent or null"),
    "init_from": _text(True),
    "init_network": (lambda x: x is None or isinstance(x, dict), "a network JSON object or null"),
}


def check_settings(values: dict, source: str) -> None:
    """Each known field of ``values`` (a run.json, or the settings as a dict) has its type and range, else a
    one-line EntmError ``<source>: <field> is <value>; must be <allowed>``."""
    for name, (check, allowed) in FIELDS.items():
        if name in values and not check(values[name]):
            raise EntmError(f"{source}: {name} is {values[name]!r}; must be {allowed}")


def check_minutes(minutes):
    """A wall-time budget in minutes as a float (None: none), else a one-line EntmError."""
    if minutes is None:
        return None
    try:
        m = float(minutes)
    except (TypeError, ValueError):
        raise EntmError(f"minutes must be a number, got {minutes!r}") from None
    if not m > 0 or m == float("inf"):
        raise EntmError(f"minutes must be a positive number, got {minutes!r}")
    return m
