"""What every reward task provides (:class:`RewardTask`, the other kind beside ``SequenceTask``).

A reward task reacts to the network's outputs step by step, so its episodes
cannot be precomputed: the machine runs it closed-loop
(:func:`entm.closed_loop.run_closed_loop`).  A batch of *deployments* (the
reward-task word for episodes: one deployment is one life of the agent, many
rounds or days long, with one memory throughout) is drawn from a
``numpy.random.Generator``; an :class:`Environment` then runs that batch for
``groups`` networks at once (row ``g*B + b``: network g, deployment b)::

    deployments = task.sample(rng, n)                  # or length=L (the task's meaning)
    env = task.environment(deployments, groups=G)
    while not env.done:
        x = env.observe()                              # (G*B, task inputs)
        env.act(outputs)                               # (G*B, task outputs), finite
    scores = task.score(env)                           # entm.tasks.base.Scores per row
    fitness = task.fitness_rows(env, scores)           # (G*B,) in [0, 1]

Rows that have finished (``~env.active``) still receive outputs; they ignore
them.  Environments are vectorised numpy over all rows; nothing loops over
rows in Python per step.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from entm.tasks.base import Scores, Task


class Environment:
    """A batch of running deployments (G networks x B deployments rows)."""

    batch: int
    """Rows: groups x deployments."""
    groups: int
    """Networks the rows belong to (row g*B + b: network g)."""
    active: np.ndarray
    """(batch,) bool: rows still running."""

    @property
    def done(self) -> bool:
        return not bool(self.active.any())

    def observe(self) -> np.ndarray:
        """(batch, task inputs) the task inputs of the current step."""
        raise NotImplementedError

    def act(self, outputs: np.ndarray) -> None:
        """Consume the task outputs (batch, task outputs) of the current step and advance one step."""
        raise NotImplementedError


class RewardTask(Task):
    """Base of the reward tasks: ``sample``, ``environment``, ``score``."""

    kind_name = "reward"
    validation = (None, 48)
    """A solution must also be perfect on 48 fresh deployments of the training length (drawn once per run,
    apart from the generation's: with ``--fixed-episodes`` they are the check that it did not learn its
    deployments by heart)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None):
        """``n`` deployments; ``length`` is the task's generalisation knob (see each task)."""

    @abstractmethod
    def environment(self, deployments, groups: int = 1, record: bool = False) -> Environment:
        """The deployments run for ``groups`` networks at once; ``record`` keeps what the environment's
        drawing (``entm.analysis.deployment``) needs."""

    @abstractmethod
    def score(self, env: Environment) -> Scores:
        """Per-row scores of a finished environment."""

    def fitness_rows(self, env: Environment, scores: Scores) -> np.ndarray:
        """Per-row fitness in [0, 1] (NEAT maximises it); the score unless the task shapes it."""
        return scores.score

    def fitness_terms(self, env: Environment) -> dict:
        """Per-row extra terms reported beside the score (none by default)."""
        return {}

    def lexicase_rows(self, env: Environment, rows: np.ndarray) -> np.ndarray:
        """Per row, its cases for ``--search lexicase`` (rows, cases): by default one, ``rows``, its fitness."""
        return rows

    def lexicase_values(self, env: Environment, rows: np.ndarray) -> np.ndarray:
        """Per network (``env.groups``), its cases for ``--search lexicase`` (groups, cases): its rows' cases
        (:meth:`lexicase_rows`) one after the other, unless the task pools them over its deployments."""
        return np.asarray(self.lexicase_rows(env, rows), dtype=np.float64).reshape(env.groups, -1)

    def phases(self, env: Environment) -> dict | None:
        """The deployments' rounds grouped by the task's phases, for ``entm evaluate --phases`` (None: the
        task has none; the T-maze groups them by where the high reward is)."""
        return None


def tile_rows(a: np.ndarray, groups: int) -> np.ndarray:
    """A per-deployment array repeated for ``groups`` networks (row g*B + b is deployment b)."""
    return np.concatenate([a] * groups, axis=0) if groups > 1 else a
