"""The T-maze's deployments (:mod:`tasks.tmaze`): which goal holds the high reward in each round."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError


@dataclass
class MazeDeployments:
    """A batch of T-maze deployments."""

    first: np.ndarray
    """(n,) the high-reward goal before the move."""
    second: np.ndarray
    """(n,) the high-reward goal from round ``switch`` on."""
    switch: np.ndarray
    """(n,) 0-based round from which ``second`` holds the high reward."""
    rounds: int
    """Rounds per deployment."""
    later: np.ndarray | None = None
    """With ``swaps`` k > 1: (n, k - 1, 2) each later move's first round and new high goal, in order."""

    @property
    def n(self) -> int:
        return len(self.first)

    def schedule(self) -> np.ndarray:
        """(n, rounds) the goal holding the high reward in each round."""
        r = np.arange(self.rounds)[None, :]
        high = np.where(r < self.switch[:, None], self.first[:, None], self.second[:, None])
        for i in range(0 if self.later is None else self.later.shape[1]):
            high = np.where(r >= self.later[:, i, 0, None], self.later[:, i, 1, None], high)
        return np.ascontiguousarray(high, dtype=np.int64)


def goal_set_goals(goal_set: str, goals: int) -> np.ndarray:
    """The goals a ``goal_set`` (digits, e.g. ``03``; "" for every goal) names, ascending, of ``goals``."""
    text = str(goal_set).strip()
    if not text:
        return np.arange(goals, dtype=np.int64)
    if not text.isdigit() or len(set(text)) != len(text) or len(text) < 2 or max(map(int, text)) >= goals:
        raise EntmError(f"goal_set {goal_set!r} must be two or more different goal digits 0-{goals - 1} "
                        f"(e.g. {'03' if goals == 4 else '01'}), or empty for every goal")
    return np.array(sorted(map(int, text)), dtype=np.int64)


def several_moves(rng: np.random.Generator, first: np.ndarray, second: np.ndarray, rounds: int, k: int,
                  goals: np.ndarray) -> MazeDeployments:
    """Deployments whose high reward moves ``k`` > 1 times: move i (1..k) before round i R // (k + 1) +- (R //
    (k + 1) - 1) // 2 (0-based), the first to ``second``, each later one to a goal drawn from the other
    ``goals`` (the goals that may hold the high reward, ascending)."""
    R = rounds
    spread = (R // (k + 1) - 1) // 2
    n = len(first)
    moves = np.empty((n, k, 2), dtype=np.int64)
    moves[:, :, 0] = (np.arange(1, k + 1) * R // (k + 1))[None, :] + rng.integers(-spread, spread + 1, (n, k))
    moves[:, 0, 1] = second
    G = len(goals)
    index = np.searchsorted(goals, second)  # each deployment's high goal, as its place in `goals`
    for i in range(1, k):  # each later move to one of the other goals
        index = (index + rng.integers(1, G, size=n)) % G
        moves[:, i, 1] = goals[index]
    return MazeDeployments(first=first, second=second, switch=moves[:, 0, 0].copy(), rounds=R,
                           later=moves[:, 1:].copy())
