"""What a run shows while it works: start-up phases and a progress bar that follows its budget.

A run has a unit budget (generations, steps), a wall-time budget (``minutes``), or both, and
stops at whichever runs out first.  :class:`BudgetBar` measures progress against the budget that
applies:

- a unit budget alone: tqdm's usual bar, ``52/500 gen [00:16<02:21, ...]``;
- a time budget (alone or with a unit budget): the bar fills with the larger of the elapsed
  fraction of the time and the done fraction of the units, and shows ``52 gen`` (or ``52/500 gen``)
  and ``elapsed of budget, ~left``; the estimate of what is left follows whichever budget
  runs out first.

:func:`phase` writes one line per start-up phase (``entm: starting a local Ray ... done (4.1 s)``).
Both write to ``out`` (default: stderr at the time of the call) and only where asked (``--quiet`` turns them off).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from tqdm import tqdm


class BudgetBar:
    """A tqdm bar over a run's budget: ``total`` units (None: no unit budget) and/or ``minutes``.

    ``initial`` units are already done (a resumed run); the time budget is this session's, counted
    from the bar's creation.  Call :meth:`advance` with the units done so far.
    """

    def __init__(self, unit: str, total: int | None = None, minutes: float | None = None, initial: int = 0,
                 out=None, desc: str | None = None, disable: bool = False):
        self.unit, self.total, self.desc = unit, total, desc
        out = sys.stderr if out is None else out
        self.budget = None if minutes is None else 60.0 * float(minutes)
        self.done = int(initial)
        self.t0 = time.perf_counter()
        common = dict(file=out, dynamic_ncols=True, mininterval=0.5, disable=disable)
        if self.budget is None:
            self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, **common)
        else:
            budget = tqdm.format_interval(self.budget)
            self.bar = tqdm(total=self.budget, desc=self._counter(), bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                            "{elapsed} of " + budget + ", ~{remaining} left{postfix}", **common)

    @property
    def time_based(self) -> bool:
        return self.budget is not None

    def _counter(self) -> str:
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.desc + ' ' if self.desc else ''}{self.done}{of} {self.unit}"

    def fraction(self, elapsed: float) -> float:
        """How much of the budget is used: the larger of the time's and the units' fractions (at most 1)."""
        f = elapsed / self.budget if self.budget else 0.0
        if self.total:
            f = max(f, self.done / self.total)
        return min(1.0, f)

    def advance(self, done: int) -> None:
        """``done`` units are done (the run's total so far)."""
        if self.budget is None:
            self.bar.update(done - self.done)
            self.done = done
            return
        self.done = done
        self.bar.set_description_str(self._counter(), refresh=False)
        n = self.budget * self.fraction(time.perf_counter() - self.t0)
        self.bar.update(max(0.0, n - self.bar.n))

    def set_postfix_str(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self.bar.close()


@contextmanager
def phase(text: str, out=None, enabled: bool = True):
    """``entm: <text> ...`` on one line, completed with `` done (x.x s)`` (or a bare newline on an error)."""
    if not enabled:
        yield
        return
    out = sys.stderr if out is None else out
    print(f"entm: {text} ...", end="", file=out, flush=True)
    t0 = time.perf_counter()
    try:
        yield
    except BaseException:
        print(file=out, flush=True)
        raise
    print(f" done ({time.perf_counter() - t0:.1f} s)", file=out, flush=True)
