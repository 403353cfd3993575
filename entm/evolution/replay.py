"""``replay``: the fresh training-distribution episodes that rejected candidates failed join every later
generation's episodes (``entm evolve --replay N``; docs/design.md, "The evolution loop").

A genome perfect on its generation's episodes is validated (:class:`entm.evolution.reporters.Validator`);
when it fails some of the validation's fresh episodes of the training distribution, those episodes are the
cases the generation's random sample misses: 8-bit copy with the differentiable memory settles on a start
marker that the data vector 11111111 also matches, wrong on about 1 episode in 50 of lengths 1-10, which a
generation of 50 episodes shows too rarely to select against (docs/memory.md).  With ``replay`` N, the new
failures of a generation's rejected candidates are added to the episodes every later generation is
evaluated on, up to N in all (the oldest go first); they stay across restarts.  The
validation's long batch is never replayed, and the training batch still decides a solution: a genome must
be perfect on all of it, the replayed episodes included.
"""

from __future__ import annotations

from neat.reporting import BaseReporter

from entm.errors import EntmError
from entm.evolution.novelty import NOVELTY_SEARCHES
from entm.evolution.reporters import LoopState
from entm.tasks import SequenceTask


def check_replay(replay, task, search: str) -> None:
    """A one-line EntmError for a ``replay`` that cannot work with this task or search."""
    if isinstance(replay, bool) or not isinstance(replay, int) or replay < 0:
        raise EntmError(f"--replay must be a whole number of episodes >= 0 (0: none), got {replay!r}")
    if not replay:
        return
    if not isinstance(task, SequenceTask) or not task.training_validation:
        raise EntmError(f"--replay needs a sequence task whose validation has fresh training episodes; task "
                        f"{task.name!r} has none")
    if search in NOVELTY_SEARCHES:
        raise EntmError(f"--replay changes a generation's episodes, which --search {search} compares across "
                        f"generations: use it with --search fitness or lexicase")


class ReplayReporter(BaseReporter):
    """After each generation (and after the champion's validation), adds the validator's new failures to
    ``state.replay`` and points the evaluator at them; on a resume, points it at the checkpoint's."""

    def __init__(self, limit: int, state: LoopState, validator, evaluator):
        self.limit, self.state, self.validator, self.evaluator = int(limit), state, validator, evaluator
        if state.replay:
            evaluator.retarget(replay=tuple(state.replay))

    def post_evaluate(self, config, population, species, best_genome):
        known = set(self.state.replay or [])
        new = [i for i in dict.fromkeys(self.validator.take_failures()) if i not in known]  # once each, in order
        if not new:
            return
        self.state.replay = [*(self.state.replay or []), *new[:self.limit]][-self.limit:]
        self.evaluator.retarget(replay=tuple(self.state.replay))
