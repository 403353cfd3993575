"""Repeat copy (Graves, Wayne & Danihelka 2014, section 4.2), with ENTM-style steps.

A sequence of L random bit vectors and a repeat count R: output the sequence
R times, then an end marker.  L is uniform in [min_length, max_length] (1-10)
and R in [min_repeats, max_repeats] (1-10) in training.

Task inputs (V + 3): the V bits of a vector, *start*, *delimiter* and
*repeats*, the repeat count normalised as ``R / max_repeats`` (1.0 for the
longest training count, above 1 for the sweep's longer ones; the paper
normalised it to zero mean and unit variance).  Task outputs (V + 1): V bits
and the *end* marker.  An episode has ``(R + 1) L + 4`` steps:

=============================  =============================================
step 0                         start = 1
steps 1 .. L                   the L bit vectors
step L + 1                     delimiter = 1, repeats = R / max_repeats
step L + 2                     idle (all inputs zero)
steps L + 3 .. L + 2 + R L     zero input; output k is scored against vector
                               k mod L, end = 0
step (R + 1) L + 3             zero input; scored: all bits 0, end = 1
=============================  =============================================

Every output channel of the R L + 1 output steps is scored (strict close, see
:mod:`tasks.common`): uniformly random outputs score 0.125 in expectation.

The generalisation sweep's *length* sets both the sequence length and the
repeat count (``sample(..., length=L)`` gives L vectors repeated L times;
``repeats=`` sets the count apart): lengths 5, 10, 15, 20, so 15 and 20 are
longer and more often repeated than anything in training, as in the paper's
test (which doubled one of the two).

Shaping (``trace``, see :mod:`tasks.common`): the store steps are 1 .. L;
output step k's source is input step 1 + (k mod L); the end marker has none.
With ``marker_term`` (opt-in; not with ``shaping="none"``) the fitness also
averages in a term for the end marker alone: the mean of its strict-close
score on the end step (target 1) and on the other scored steps (target 0).  In
the score the marker is one bit of V + 1 on one step of R L + 1, so a machine
that copies every vector but never signals the end already scores about 0.99;
with the term the marker is one of the terms the fitness averages, and a
constant marker (always 0 or always 1) earns half of it.  ``store_lag`` 1
(opt-in) looks for each vector's write on the step after its input step
(*alignment* and *writes*), as a recurrent controller that writes a step late
does.

Heads: with one tape head and a feedforward controller a machine cannot make
a second pass at every length (the last vector's cell cannot be marked with
the count; docs/results.md); two heads can, and so can one head with a
recurrent controller (``feed_forward = False``), which writes each vector a
step late and so still stands on the last vector's cell on the delimiter step
(hand-built machines of both kinds in tests/tasks/test_repeat_copy.py).  An
evolution run that is to solve it needs ``--heads 2`` or ``--controller recurrent``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Episodes, check_bool, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.common import StrictCloseTask, check_range, check_shaping, episodes_from, random_bits
from entm.tasks.copy import strict_close


@dataclass
class RepeatCopyTask(StrictCloseTask):
    """Copy a sequence of bit vectors a given number of times, then signal the end."""

    vector_size: int = 8
    """V: bits per vector (8 in the paper)."""
    min_length: int = 1
    """Shortest sequence in training episodes."""
    max_length: int = 10
    """Longest sequence in training episodes."""
    min_repeats: int = 1
    """Fewest repeats in training episodes."""
    max_repeats: int = 10
    """Most repeats in training episodes; the repeats input is R / max_repeats."""
    shaping: str = "trace"
    """Fitness shaping: ``trace`` (score, recall, alignment and writes; see tasks.common), ``readout`` (those and
    the readout term) or ``none``."""
    repeats_norm: int = 0
    """The repeats input is R / repeats_norm; 0 (the default): ``max_repeats``.  A curriculum stage with fewer
    repeats keeps the full task's (:meth:`stage_task`), so that the input means the same in every stage."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" or ``none`` none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F] [after=G | restart=G]`` (:mod:`entm.tasks.curriculum`)."""
    marker_term: bool = False
    """Add the end marker's own term to the fitness shaping (see the module docstring)."""
    store_lag: int = 0
    """Shaping: the step after its input step on which the trace terms (*alignment*, *writes*) look for a
    vector's write: 0 (the default) its own step; 1 the next, as a recurrent controller does that writes each
    vector a step late (the one-head solution, see the module docstring)."""
    sweep_repeats: int = 0
    """The repeats of episodes drawn at a given length (the generalisation sweep, ``entm evaluate
    --repeats``): 0 (the default) repeats L vectors L times, as the NTM paper's sweep; R > 0 repeats every
    length R times (lengths beyond training at counts inside it).  Training episodes are not affected."""

    name = "repeat_copy"
    description = "copy a sequence of bit vectors R times, then an end marker (NTM paper)"
    dynamics_defaults = {"repeats_norm": 0, "stages": "", "sweep_repeats": 0, "store_lag": 0}
    default_curriculum = "max_length=4,10,10,10 max_repeats=1,1,2,5"
    """Copy with the end marker first (one repeat), then more repeats: a stage of 2 vectors repeated up to twice
    already needs the jump back and the count, and a 3-minute hyper run (seed 0) stayed in it, never perfect."""

    extra_inputs = ("start", "delimiter", "repeats")
    extra_outputs = ("end",)

    def __post_init__(self):
        self.vector_size = check_int("vector_size", self.vector_size)
        check_range(self, "min_length", "max_length")
        check_range(self, "min_repeats", "max_repeats")
        self.repeats_norm = check_int("repeats_norm", self.repeats_norm, low=0)
        check_shaping(self.name, self.shaping)
        self.marker_term = check_bool("marker_term", self.marker_term)
        self.sweep_repeats = check_int("sweep_repeats", self.sweep_repeats, low=0)
        self.store_lag = check_int("store_lag", self.store_lag, low=0)
        if self.store_lag > 1:
            raise EntmError(f"store_lag must be 0 or 1, got {self.store_lag}")
        parse_curriculum(self)  # a bad curriculum is an error before any work

    generalization_lengths = (5, 10, 15, 20)
    default_episodes = 50

    @property
    def example_length(self) -> int:
        """The longest training length."""
        return self.max_length

    def stage_task(self, overrides: dict) -> "RepeatCopyTask":
        """A curriculum stage, its repeats input normalised by this task's count (see :attr:`repeats_norm`)."""
        return super().stage_task({"repeats_norm": self.repeats_norm or self.max_repeats, **overrides})

    @property
    def validation(self) -> tuple[int, int]:
        """(length, episodes) to call a run solved: sequences two vectors longer than the longest in training
        (12 by default), repeated the most times training has (:meth:`validation_sample`).  Longer, as copy's
        guard; not more repeats, whose input would leave the range it had in training (the NTM paper's trained
        machine missed the end marker there too), so that a run on a narrow range can be solved."""
        return self.max_length + 2, 10

    def validation_sample(self, rng: np.random.Generator, n: int, length: int | None) -> Episodes:
        return self.sample(rng, n, length=length, repeats=self.max_repeats)

    def sample(self, rng: np.random.Generator, n: int, length: int | None = None,
               repeats: int | None = None) -> Episodes:
        """``n`` episodes.  Training: L and R uniform in their ranges.  ``length`` fixes L (and R too, to L or
        to :attr:`sweep_repeats`, unless ``repeats`` is given); ``repeats`` alone fixes R."""
        V = self.vector_size
        if length is None:
            lengths = rng.integers(self.min_length, self.max_length + 1, size=n)
        else:
            lengths = np.full(n, check_int("length", length), dtype=np.int64)
        if repeats is not None:
            reps = np.full(n, check_int("repeats", repeats), dtype=np.int64)
        elif length is not None:
            reps = np.full(n, self.sweep_repeats, dtype=np.int64) if self.sweep_repeats else lengths.copy()
        else:
            reps = rng.integers(self.min_repeats, self.max_repeats + 1, size=n)
        Lmax = int(lengths.max())
        steps = (reps + 1) * lengths + 4
        T = int(steps.max())
        bits = random_bits(rng, (n, Lmax, V))
        bits *= (np.arange(Lmax)[None, :] < lengths[:, None])[:, :, None]
        inputs = np.zeros((n, T, V + 3))
        targets = np.zeros((n, T, V + 1))
        mask = np.zeros((n, T), dtype=bool)
        rows = np.arange(n)
        inputs[:, 0, V] = 1.0
        inputs[:, 1:Lmax + 1, :V] = bits
        inputs[rows, lengths + 1, V + 1] = 1.0
        inputs[rows, lengths + 1, V + 2] = reps / (self.repeats_norm or self.max_repeats)
        t = np.arange(T)[None, :]
        k = t - (lengths[:, None] + 3)  # index of the output step
        out = (k >= 0) & (k < (reps * lengths)[:, None])
        src = np.where(out, k % lengths[:, None], 0)
        targets[:, :, :V] = np.take_along_axis(bits, src[:, :, None], axis=1) * out[:, :, None]
        end = steps - 1
        targets[rows, end, V] = 1.0
        mask[:] = out
        mask[rows, end] = True
        store = (t >= 1) & (t <= lengths[:, None])
        source = np.where(out, 1 + src, -1)
        return episodes_from(inputs, targets, mask, lengths, steps, repeats=reps, store=store, source=source)

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """The trace terms, and with :attr:`marker_term` the end marker's (see the module docstring)."""
        if self.store_lag:  # each vector's write looked for on the step after its input step
            info = dict(episodes.info)
            info["store"] = np.roll(info["store"], 1, axis=1)  # the last step is never a store step
            info["source"] = np.where(info["source"] >= 0, info["source"] + 1, -1)
            episodes = replace(episodes, info=info)
        terms = super().shape(episodes, outputs, trace, groups)
        if self.marker_term and terms:
            terms["marker"] = marker_score(episodes, outputs, self.vector_size)
        return terms


def marker_score(episodes: Episodes, outputs: np.ndarray, V: int) -> np.ndarray:
    """Per episode: the mean of the end channel's strict-close score on the end step and its mean on the other
    scored steps."""
    close = strict_close(episodes.targets[:, :, V], outputs[:, :, V])
    end = np.zeros_like(episodes.mask)
    end[np.arange(episodes.batch), episodes.steps - 1] = True
    rest = episodes.mask & ~end
    on_end = close[end]  # one end step per episode, in row order
    off_end = (close * rest).sum(axis=1) / np.maximum(rest.sum(axis=1), 1)
    return 0.5 * (on_end + off_end)
