"""The T-maze's logical score, round by round: which goal choices are right (Greve et al.'s ``LogicScorer``).

An ideal agent's bookkeeping decides it: ``known``, the goal known to hold the high reward (-1: none), and
``tried``, the goals tried without it since the last move.  A round's choice is right when it reaches a
goal and that goal is the known one, or, with none known, a goal not tried yet.  :func:`logic_round` is
one round of it for many rows at once (the environments call it at every round's end);
:func:`round_rights` replays it over a finished environment's log of goals, for the rounds as lexicase
selection's cases (``TMazeTask.lexicase_cases``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.tasks.base import Scores

HIGH_REWARD = 1.0
LOW_REWARD = 0.1

@dataclass
class MazeScores(Scores):
    """:class:`Scores` with the rewards the rounds paid."""

    reward: np.ndarray = None
    """(B,) the mean reward per round (the high reward 1, the low 0.1, a crash or time-out 0): the score of
    Greve et al.'s ``RewardScorer``.  An agent has to explore to find the high reward, so a logically perfect
    one gets less than 1 (0.8425 on average over the double maze's 12 goal pairs, 0.9325 over the single
    maze's 2, at 20 rounds: docs/tasks.md)."""


def paid(goal: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The reward a round paid: the high reward at ``goal == high``, the low one at any other goal, 0 after
    a crash or time-out (``goal`` -1)."""
    return np.where(goal == high, HIGH_REWARD, np.where(goal >= 0, LOW_REWARD, 0.0))


def logic_round(known: np.ndarray, tried: np.ndarray, goal: np.ndarray, high: np.ndarray):
    """One round for rows that reached ``goal`` (-1: a crash or a time-out) while ``high`` held the high
    reward, from the bookkeeping (``known`` (n,), ``tried`` (n, goals)) before it.  Returns ``right`` (the
    choice was logically right), ``got_high`` and the bookkeeping after the round (new arrays)."""
    at_goal = goal >= 0
    g = np.where(at_goal, goal, 0)
    untried = ~tried[np.arange(len(goal)), g]
    right = at_goal & np.where(known >= 0, goal == known, untried)
    got_high = at_goal & (goal == high)
    moved = at_goal & ~got_high & (known >= 0) & (goal == known)
    new_known = np.where(got_high, goal, np.where(moved, -1, known))
    tried = tried.copy()
    tried[moved] = False
    low = at_goal & ~got_high
    tried[np.nonzero(low)[0], g[low]] = True
    # every goal tried without the high reward: it moved during the search; search again
    full = tried.all(axis=1)
    tried[full] = False
    tried[np.nonzero(full)[0], g[full]] = True
    return right, got_high, new_known, tried


def round_rights(goal_log: np.ndarray, schedule: np.ndarray, goals: int) -> np.ndarray:
    """(rows, rounds) bool: whether each round's choice was right, replayed from ``goal_log`` (rows, rounds:
    the goal each round ended at, -1 for none) and ``schedule`` (rows, rounds: the high goal per round)."""
    N, R = goal_log.shape
    known = np.full(N, -1, dtype=np.int64)
    tried = np.zeros((N, goals), dtype=bool)
    out = np.zeros((N, R), dtype=bool)
    for r in range(R):
        out[:, r], _, known, tried = logic_round(known, tried, goal_log[:, r], schedule[:, r])
    return out


def phases(goal_log: np.ndarray, schedule: np.ndarray, goals: int) -> dict:
    """The rounds grouped by where the high reward is: a deployment's *phases* are its runs of rounds with
    one high goal, the first (the search for the first high goal) and one after each move.  Per kind of
    phase, how many there were and the share right in every round of it: ``{"first": {"g": {"phases": n,
    "right": share}}, "moves": {"a>b": {...}}}`` (``g`` the first high goal; ``a>b`` a move from goal a to
    goal b), keys in goal order.  A logically perfect agent is right in every phase; an agent whose
    exploration misses a goal fails every phase that needs it, whatever round the move came in."""
    right = round_rights(goal_log, schedule, goals)
    counts: dict = {}
    for row in range(len(schedule)):
        starts = [0] + [int(r) for r in np.nonzero(np.diff(schedule[row]))[0] + 1]
        for k, (a, b) in enumerate(zip(starts, starts[1:] + [schedule.shape[1]])):
            kind, key = ("first", str(schedule[row, 0])) if k == 0 else \
                ("moves", f"{schedule[row, a - 1]}>{schedule[row, a]}")
            n, ok = counts.setdefault(kind, {}).get(key, (0, 0))
            counts[kind][key] = (n + 1, ok + bool(right[row, a:b].all()))
    return {kind: {key: {"phases": n, "right": ok / n} for key, (n, ok) in sorted(found.items())}
            for kind, found in sorted(counts.items())}


def round_cases(goal_log: np.ndarray, schedule: np.ndarray, goals: int, bonus: float) -> np.ndarray:
    """Lexicase cases by round (``lexicase_cases rounds``), per row: each round's (right + ``bonus`` * a goal
    reached) / (1 + ``bonus``), so that a deployment's rounds average to its fitness."""
    return (round_rights(goal_log, schedule, goals) + bonus * (goal_log >= 0)) / (1 + bonus)


def phase_cases(goal_log: np.ndarray, schedule: np.ndarray, goals: int, groups: int) -> np.ndarray:
    """Lexicase cases by phase (``lexicase_cases phases``): per network (``groups`` consecutive blocks of rows,
    the same deployments each), per kind of phase in :func:`phases`' order (each first high goal, each move
    ``a>b`` the deployments hold), the share of that network's phases of the kind right in every round;
    (groups, kinds).  A genome right in a move the others miss is best on that move's case."""
    rows = len(schedule) // groups
    per = [phases(goal_log[g * rows:(g + 1) * rows], schedule[g * rows:(g + 1) * rows], goals)
           for g in range(groups)]
    return np.array([[v["right"] for kind in ("first", "moves") for v in p.get(kind, {}).values()] for p in per])
