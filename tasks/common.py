"""What the bit-vector tasks of Graves et al. 2014 share: strict-close scoring and recall shaping.

Repeat copy, associative recall and priority sort score bit targets the way
the copy task does (ENTM's "strict close", per bit ``1 - min(0.25, |t - y|)/0.25``,
averaged over the output channels of each scored step and over an episode's
scored steps; perfect when every scored bit is on the right side of 0.5).
Uniformly random outputs in [0, 1] score 0.125 in expectation against any
0/1 target (the integral of ``1 - u/0.25`` over u in [0, 0.25]).

Fitness shaping ``trace`` (the default of these tasks) adds the copy task's
``recall`` term: how much the read vectors at the scored steps tell about the
targets (see :mod:`tasks.copy`); ``none`` makes the fitness the task score.
The other terms of the copy task (alignment, writes, jumps) assume the copy
layout and are not used.
"""

from __future__ import annotations

import numpy as np

from entm.errors import EntmError
from tasks.base import Episodes, Scores, Task, check_int
from tasks.copy import CopyTask

SHAPINGS = ("trace", "none")

#: expected strict-close score of outputs drawn uniformly from [0, 1]
RANDOM_SCORE = 0.125


def check_shaping(task: str, shaping: str) -> str:
    if shaping not in SHAPINGS:
        raise EntmError(f"unknown {task} shaping {shaping!r}; expected one of {', '.join(SHAPINGS)}")
    return shaping


def check_range(task, low: str, high: str) -> None:
    """Check the int parameters ``low`` <= ``high`` of ``task`` (each at least 1), storing them as ints."""
    for name in (low, high):
        setattr(task, name, check_int(name, getattr(task, name)))
    if getattr(task, high) < getattr(task, low):
        raise EntmError(f"{high} ({getattr(task, high)}) must be at least {low} ({getattr(task, low)})")


class StrictCloseTask(Task):
    """Base of the sequence tasks with 0/1 targets scored like copy.

    Subclasses are dataclasses with ``vector_size`` (V) and ``shaping`` fields;
    their inputs are V bits then ``extra_inputs``, their outputs V bits then
    ``extra_outputs``.
    """

    extra_inputs: tuple = ()
    extra_outputs: tuple = ()

    @property
    def num_inputs(self) -> int:
        return self.vector_size + len(self.extra_inputs)

    @property
    def num_outputs(self) -> int:
        return self.vector_size + len(self.extra_outputs)

    @property
    def input_names(self) -> list[str]:
        return [f"bit{i}" for i in range(self.vector_size)] + list(self.extra_inputs)

    @property
    def output_names(self) -> list[str]:
        return [f"out{i}" for i in range(self.vector_size)] + list(self.extra_outputs)

    @property
    def default_memory_width(self) -> int:
        """M = V + 3, as for copy."""
        return self.vector_size + 3

    def score(self, episodes: Episodes, outputs: np.ndarray) -> Scores:
        """Strict-close score, perfect flags and bit errors per episode (scored steps only)."""
        return CopyTask.score(self, episodes, outputs)

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """``{"recall": ...}`` per episode (the copy task's recall term); none for ``shaping="none"``."""
        if self.shaping == "none":
            return {}
        return {"recall": CopyTask.recall(self, episodes, trace.reads, groups)}


def episodes_from(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, lengths: np.ndarray,
                  steps: np.ndarray, **info) -> Episodes:
    """Episodes with zeroed targets outside the mask (the convention of :class:`Episodes`)."""
    targets = np.where(mask[:, :, None], targets, 0.0)
    return Episodes(inputs=inputs, targets=targets, mask=mask, lengths=np.asarray(lengths, dtype=np.int64),
                    steps=np.asarray(steps, dtype=np.int64), info=info)


def random_bits(rng: np.random.Generator, shape) -> np.ndarray:
    """0/1 float64 bits, uniformly random."""
    return rng.integers(0, 2, size=shape).astype(np.float64)
