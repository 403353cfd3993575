"""What every task provides.

Tasks know nothing of NEAT, Ray or plotting.  A *sequence task* produces
batches of episodes (inputs, targets and a mask of scored steps) from a
``numpy.random.Generator`` and scores a batch of outputs; the same episodes
serve the evolved machine and the gradient-trained baselines.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from entm.errors import EntmError


@dataclass
class Episodes:
    """A batch of sequence episodes, padded to a common number of steps T."""

    inputs: np.ndarray
    """(B, T, task inputs) float64."""
    targets: np.ndarray
    """(B, T, task outputs) float64; zero where not scored."""
    mask: np.ndarray
    """(B, T) bool: the steps whose outputs are scored."""
    lengths: np.ndarray
    """(B,) the sequence length of each episode (task specific meaning)."""
    steps: np.ndarray
    """(B,) the number of real (unpadded) steps of each episode."""
    info: dict = field(default_factory=dict)
    """Task-specific extras (for fitness shaping and plots)."""

    @property
    def batch(self) -> int:
        return self.inputs.shape[0]


@dataclass
class Scores:
    """Per-episode results of scoring a batch of outputs."""

    score: np.ndarray
    """(B,) task score in [0, 1]."""
    perfect: np.ndarray
    """(B,) bool: no wrong bit (every scored bit on the right side of 0.5)."""
    bit_errors: np.ndarray
    """(B,) number of wrong bits."""


class Task:
    """Base class of the task registry's entries (a dataclass of its parameters).

    Subclasses define ``name``, ``num_inputs``, ``num_outputs``,
    ``input_names``, ``output_names``, ``default_memory_width``,
    ``generalization_lengths``, ``sample`` and ``score``.
    """

    name: str = ""
    kind: str = "sequence"
    description: str = ""

    @classmethod
    def from_params(cls, params: dict | None) -> "Task":
        """Build the task from a ``task_params`` dict, rejecting unknown keys."""
        params = dict(params or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise EntmError(
                f"task {cls.name!r} has no parameter {unknown[0]!r}; its parameters are {', '.join(sorted(names))}")
        return cls(**params)

    def params(self) -> dict:
        """The task's parameters as a JSON-ready dict (``metadata.entm.task_params``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def fitness(self, episodes: Episodes, outputs: np.ndarray, scores: Scores, trace=None) -> np.ndarray:
        """Per-episode fitness; the default is the task score itself."""
        return scores.score


def check_int(name: str, value, low: int = 1) -> int:
    """``value`` as an int >= ``low``, else a one-line EntmError."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise EntmError(f"{name} must be an integer, got {value!r}") from None
    if v != value and not isinstance(value, str):
        raise EntmError(f"{name} must be an integer, got {value!r}")
    if v < low:
        raise EntmError(f"{name} must be at least {low}, got {v}")
    return v
