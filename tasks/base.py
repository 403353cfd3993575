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

    def sorted_by_steps(self) -> "Episodes":
        """The same episodes, longest first (the compiled evaluator skips finished episodes)."""
        order = np.argsort(-self.steps, kind="stable")
        if np.array_equal(order, np.arange(self.batch)):
            return self
        info = {k: (v[order] if isinstance(v, np.ndarray) and v.shape[:1] == (self.batch,) else v)
                for k, v in self.info.items()}
        return Episodes(inputs=self.inputs[order], targets=self.targets[order], mask=self.mask[order],
                        lengths=self.lengths[order], steps=self.steps[order], info=info)

    def tile(self, n: int) -> "Episodes":
        """The batch repeated ``n`` times (row g*B + b is episode b), for scoring n networks at once."""
        if n == 1:
            return self
        rep = lambda a: np.concatenate([a] * n, axis=0)  # noqa: E731
        return Episodes(inputs=rep(self.inputs), targets=rep(self.targets), mask=rep(self.mask),
                        lengths=rep(self.lengths), steps=rep(self.steps), info=self.info)


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

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """Per-episode fitness-shaping terms in [0, 1] (none by default).

        ``groups``: the batch holds that many networks' runs of the same
        episodes one after the other (terms that pool over episodes pool per group).
        """
        return {}

    @staticmethod
    def combine(score: np.ndarray, terms: dict) -> np.ndarray:
        """Per-episode fitness: the score, or the mean of the score and the shaping terms."""
        if not terms:
            return score
        return (score + sum(terms.values())) / (1 + len(terms))

    def fitness(self, episodes: Episodes, outputs: np.ndarray, scores: Scores, trace=None,
                groups: int = 1) -> np.ndarray:
        """Per-episode fitness (NEAT maximises it; in [0, 1])."""
        terms = self.shape(episodes, outputs, trace, groups) if trace is not None else {}
        return self.combine(scores.score, terms)

    def shaping_terms(self, episodes: Episodes, trace, outputs=None) -> dict:
        """The shaping terms' means over the batch, for reporting."""
        if trace is None:
            return {}
        return {k: float(np.mean(v)) for k, v in self.shape(episodes, outputs, trace).items()}


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
