"""What every task provides: the :class:`Task` interface and its two kinds.

Tasks know nothing of NEAT, Ray or plotting.  Everything a caller reads from a
task is declared on :class:`Task`, with one documented default where a default
makes sense; what each task must provide is abstract.  There are two kinds of
task, two classes (see docs/design.md):

* a :class:`SequenceTask` produces batches of episodes (inputs, targets and a
  mask of scored steps) from a ``numpy.random.Generator`` and scores a batch
  of outputs; the same episodes serve the evolved machine and the
  gradient-trained baselines;
* a :class:`entm.tasks.reward.RewardTask` reacts to the network's outputs step
  by step, so it runs closed-loop.

Callers tell them apart with ``isinstance``; ``kind_name`` only words messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import ClassVar

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
        return self.take(order)

    def take(self, rows) -> "Episodes":
        """The episodes ``rows`` (indices), in that order, still padded to T steps."""
        rows = np.asarray(rows, dtype=np.int64)
        info = {k: (v[rows] if isinstance(v, np.ndarray) and v.shape[:1] == (self.batch,) else v)
                for k, v in self.info.items()}
        return Episodes(inputs=self.inputs[rows], targets=self.targets[rows], mask=self.mask[rows],
                        lengths=self.lengths[rows], steps=self.steps[rows], info=info)

    def concat(self, other: "Episodes") -> "Episodes":
        """This batch followed by ``other``, both padded to the longer T.  Per-episode ``info`` arrays are
        padded on their other axes too (-1 for signed integers, an index's "none"; else 0 or False); any other
        ``info`` entry must be the same in both."""
        info = {}
        for k in self.info.keys() | other.info.keys():
            a, b = self.info.get(k), other.info.get(k)
            if _per_episode(a, self.batch) and _per_episode(b, other.batch) and a.ndim == b.ndim:
                info[k] = _stack(a, b)
            elif not (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)) and a == b:
                info[k] = a
            else:
                raise EntmError(f"episode info {k!r} cannot be joined across two batches")
        return Episodes(inputs=_stack(self.inputs, other.inputs), targets=_stack(self.targets, other.targets),
                        mask=_stack(self.mask, other.mask), lengths=np.concatenate([self.lengths, other.lengths]),
                        steps=np.concatenate([self.steps, other.steps]), info=info)

    def tile(self, n: int) -> "Episodes":
        """The batch repeated ``n`` times (row g*B + b is episode b), for scoring n networks at once."""
        if n == 1:
            return self
        rep = lambda a: np.concatenate([a] * n, axis=0)  # noqa: E731
        return Episodes(inputs=rep(self.inputs), targets=rep(self.targets), mask=rep(self.mask),
                        lengths=rep(self.lengths), steps=rep(self.steps), info=self.info)


def _per_episode(a, batch: int) -> bool:
    return isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == batch


def _stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` then ``b`` along axis 0, every other axis padded to the larger size (-1 for signed integers, else
    0 or False)."""
    shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]
    fill = -1 if np.issubdtype(np.result_type(a, b), np.signedinteger) else 0
    out = np.full((a.shape[0] + b.shape[0], *shape), fill, dtype=np.result_type(a, b))
    out[(slice(0, a.shape[0]), *(slice(0, n) for n in a.shape[1:]))] = a
    out[(slice(a.shape[0], None), *(slice(0, n) for n in b.shape[1:]))] = b
    return out


@dataclass
class Scores:
    """Per-episode results of scoring a batch of outputs."""

    score: np.ndarray
    """(B,) task score in [0, 1]."""
    perfect: np.ndarray
    """(B,) bool: no wrong bit (every scored bit on the right side of 0.5)."""
    bit_errors: np.ndarray
    """(B,) number of wrong bits."""


class Task(ABC):
    """Base class of the task registry's entries (a dataclass of its parameters).

    Subclass :class:`SequenceTask` or :class:`entm.tasks.reward.RewardTask`,
    not this class.  A task provides the abstract members; the others have the
    default documented here.
    """

    name: str = ""
    """The registry name (``entm.tasks.TASKS`` key); every task sets it."""
    description: str = ""
    """One line for ``entm tasks`` and the docs; every task sets it."""
    kind_name: str
    """The kind's word in messages ("sequence", "reward"); set by the two kinds.  Branch with
    ``isinstance``, never on this."""
    generalization_lengths: tuple[int, ...] = ()
    """The lengths (in the task's own sense, see :attr:`length_name`) that ``entm evaluate`` sweeps
    by default; none by default."""
    default_episodes: int = 50
    """Episodes (deployments) per generation when the settings give none."""
    validation: tuple[int | None, int] = (None, 0)
    """(length, episodes) of the validation batch that a solution must also get perfect (length None: the
    training length); episodes 0: none, solved means perfect on every episode of a generation.  With a
    length, the solution must also be perfect on :attr:`training_validation` fresh episodes of the training
    distribution (:class:`entm.evolution.reporters.Validator`)."""

    def validation_sample(self, rng: np.random.Generator, n: int, length: int | None):
        """The validation batch: ``n`` episodes at ``length`` (None: of the training distribution)."""
        return self.sample(rng, n, length=length)

    @property
    def training_validation(self) -> int:
        """Episodes of the training-distribution validation batch: ten times the validation batch's when that
        has a length of its own (outputs a hair from 0.5 can pass the long batch and the generation's own
        episodes and still flip a bit on a short fresh episode in a few hundred; short episodes are cheap), else
        0."""
        length, n = self.validation
        return 10 * n if length is not None else 0
    length_name: str = "length"
    """What ``length`` counts, for tables: "length" of a sequence, "items", "rounds", "years" ..."""
    score_name: str = "score"
    """What the score measures, for summaries ("strict close", "logically right rounds" ...)."""

    @property
    @abstractmethod
    def num_inputs(self) -> int:
        """Task inputs per step."""

    @property
    @abstractmethod
    def num_outputs(self) -> int:
        """Task outputs per step."""

    @property
    @abstractmethod
    def input_names(self) -> list[str]:
        """One name per task input, in order."""

    @property
    @abstractmethod
    def output_names(self) -> list[str]:
        """One name per task output, in order."""

    @property
    @abstractmethod
    def default_memory_width(self) -> int:
        """The memory's width M (values per cell) when the settings give none."""

    def hyper_layout(self) -> tuple[list, list] | None:
        """The task's part of the hyper encoding's substrate (entm.hyper): [(kind, size, vector?)] for the
        inputs and the outputs, in the network's order; None (the default): the task has no substrate."""
        return None

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None):
        """``n`` episodes (deployments) drawn from ``rng``; ``length`` is the task's generalisation knob."""

    @abstractmethod
    def score(self, *args) -> Scores:
        """Per-episode scores (see each kind for the arguments)."""

    dynamics_defaults: ClassVar[dict] = {}
    """Parameters added after the task's first version (to reproduce a published setup, docs/presets.md; a
    curriculum, :mod:`entm.tasks.curriculum`), each with the value that gives the task's original environment.
    At those values the task behaves, draws and scores exactly as before
    the parameter existed, and :meth:`params` leaves the parameter out (so earlier runs' settings, names and
    identities are unchanged)."""

    def nondefault_dynamics(self) -> dict:
        """The :attr:`dynamics_defaults` parameters set to another value: empty when the task runs its original
        environment (what a compiled copy of that environment supports)."""
        return {k: getattr(self, k) for k, v in self.dynamics_defaults.items() if getattr(self, k) != v}

    default_curriculum: ClassVar[str] = ""
    """The schedule ``stages="auto"`` stands for (:mod:`entm.tasks.curriculum`); "": the task has none."""

    def stage_task(self, overrides: dict) -> "Task":
        """A curriculum stage: this task with the parameters ``overrides`` and no curriculum of its own
        (:mod:`entm.tasks.curriculum`); its inputs and outputs are this task's."""
        params = {**self.params(), **overrides}
        params.pop("stages", None)
        return type(self).from_params(params)

    def behaviour(self, *args) -> np.ndarray | None:
        """Per-network behaviour descriptors (networks, D) for novelty search (:mod:`entm.evolution.novelty`), or None:
        the task declares none (the default)."""
        return None

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
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in self.dynamics_defaults or getattr(self, f.name) != self.dynamics_defaults[f.name]}


class SequenceTask(Task):
    """A task whose episodes are precomputed: ``sample`` gives :class:`Episodes`, ``score`` scores outputs."""

    kind_name = "sequence"
    example_length: int = 10
    """The length of the single episode ``entm plot memory`` replays when none is given."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> Episodes:
        """``n`` episodes; training lengths unless ``length`` is given."""

    @abstractmethod
    def score(self, episodes: Episodes, outputs: np.ndarray) -> Scores:
        """Per-episode scores of ``outputs`` (B, T, task outputs) against the episodes' targets."""

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

    #: episodes (the first of the batch) whose outputs make up the default behaviour descriptor
    BEHAVIOUR_EPISODES = 4

    def behaviour(self, episodes: Episodes, outputs: np.ndarray, groups: int = 1) -> np.ndarray:
        """Per network (the batch holds ``groups`` networks' runs of the same episodes): its task outputs at
        the scored steps of the first :data:`BEHAVIOUR_EPISODES` episodes, clipped to [0, 1] (non-finite: 0);
        (groups, D).  With fixed episodes the descriptor means the same every generation."""
        return at_scored_steps(episodes, outputs, groups, self.BEHAVIOUR_EPISODES)

    def shaping_terms(self, episodes: Episodes, trace, outputs=None) -> dict:
        """The shaping terms' means over the batch, for reporting."""
        if trace is None:
            return {}
        return {k: float(np.mean(v)) for k, v in self.shape(episodes, outputs, trace).items()}


def at_scored_steps(episodes: Episodes, values: np.ndarray, groups: int, first: int) -> np.ndarray:
    """Per network (the batch holds ``groups`` networks' runs of the same episodes): ``values`` (rows, steps,
    ·) at the scored steps of the first ``first`` episodes, clipped to [0, 1] (non-finite: 0); (groups, D)."""
    B = episodes.batch // groups
    k = min(B, first)
    out = values.reshape(groups, B, *values.shape[1:])[:, :k][:, episodes.mask[:k]]
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0).reshape(groups, -1)


TRUTH_WORDS = {"true": True, "1": True, "false": False, "0": False}
"""How a true/false task parameter is written on the command line and in a curriculum."""


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


def check_choice(what: str, value, choices) -> None:
    """A one-line EntmError unless ``value`` is one of ``choices``; ``what`` names it (e.g. ``"tmaze variant"``)."""
    if value not in choices:
        raise EntmError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")


def check_bool(name: str, value) -> bool:
    """``value`` (a bool, or 1 or 0) as a bool, else a one-line EntmError."""
    if not isinstance(value, (bool, int, np.integer)) or value not in (0, 1):
        raise EntmError(f"{name} must be true or false (1 or 0), got {value!r}")
    return bool(value)
