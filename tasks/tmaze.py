"""The T-maze of the ENTM papers (Greve, Jacobsen & Risi, GECCO 2016), single and double,
discrete and continuous.

A *deployment* is one life of the agent: ``rounds`` rounds (20 by default) in
the same maze, with one memory (the tape is never reset between rounds).  One
goal gives the high reward (1.0), the others the low one (0.1).  The high
reward moves to another goal once, before round ``switch`` (0-based), drawn
uniformly in ``rounds // 2 - 1 +- switch_spread`` (rounds 10 +- 3 counted from
1 for 20 rounds).  The deployments of a batch cycle through every ordered pair
(first high goal, high goal after the move): 2 pairs for the single maze, 12
for the double one.

Goals are numbered by the turns that lead to them, first turn first, left = 0:
single maze L = 0, R = 1; double maze LL = 0, LR = 1, RL = 2, RR = 3.

Every round ends with a *reward step*: the ``reward`` input carries the reward
just earned (1.0 high, 0.1 low, 0.0 after a crash or a time-out), the step's
outputs move nothing, and the next round starts.

Discrete variant (``variant = "discrete"``)
    Each junction is one step: the input ``junction<d>`` of depth d is 1 and
    the agent goes right when its ``right`` output is larger than its ``left``
    output, left otherwise.  Inputs: one junction flag per depth (1 or 2) and
    ``reward``; outputs: ``left``, ``right``.  A round is 2 (single) or 3
    (double) steps long.

Continuous variant (``variant = "continuous"``, Greve et al. 2016)
    A tile maze (:data:`entm.tasks.maze.MAZES`; the double maze is 9 x 7 tiles with 4 goals,
    the single one 9 x 5 with 2).  The agent starts every round on the start
    tile's centre facing north and moves 0.1 tile per step.  Each step its
    three outputs ``left``, ``straight``, ``right`` are compared (argmax, the
    first on a tie): left and right turn the heading by 90 degrees before the
    move.  Inputs: three rangefinders at -45, 0 and +45 degrees from the
    heading (distance to the nearest wall in tiles / 3, 1.0 beyond the 3-tile
    cutoff), ``reward``, and ``junction`` (1 on a junction tile).  A round
    ends when the agent would enter a wall (it stays where it was), when it
    enters a goal tile, or after ``max_steps`` (100) moves.  Positions are
    kept as integers in tenths of a tile, so there is no rounding drift.
    The 90-degree turns and the rangefinder scaling are this package's
    rendition of details the paper leaves open.

The authors' simulator (``RoundsTMaze``, docs/presets.md): ``steering = "angle"``
    (one ``steer`` output turning (2 steer - 1) * steer_max degrees before each
    0.1-tile move, real-valued position and heading), ``junction_input = 0``
    (no ``junction`` input), ``swap_fraction`` > 0 (the move before a round
    uniform in [R//2, R//2 + int(swap_fraction * R/2)]).  Their defaults give
    the environment above exactly (:meth:`Task.nondefault_dynamics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Scores, check_bool, check_choice, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.maze import HEADINGS, SCALE, maze, rangefinder_rows
from entm.tasks.maze_deployments import MazeDeployments, goal_set_goals, several_moves
from entm.tasks.maze_logic import MazeScores, logic_round, paid, phase_cases, phases, round_cases
from entm.tasks.reward import Environment, RewardTask, tile_rows

VARIANTS = ("discrete", "continuous")
STEERING = ("turns", "angle", "argmax")
JUNCTION_RULES = ("open", "corridor")
MAZE_KINDS = ("single", "double")
LEXICASE_CASES = ("deployments", "rounds", "phases")


@dataclass
class TMazeTask(RewardTask):
    """Find the high reward, remember it across rounds, and find it again when it moves."""

    variant: str = "discrete"
    """``discrete`` (one step per junction) or ``continuous`` (an agent moving in a tile maze)."""
    maze: str = "double"
    """``single`` (one junction, 2 goals) or ``double`` (three junctions, 4 goals)."""
    rounds: int = 20
    """Rounds per deployment."""
    switch_spread: int = 3
    """The high reward moves before round rounds//2 - 1 +- this (0-based)."""
    max_steps: int = 100
    """Continuous variant: moves per round before it times out."""
    goal_bonus: float = 0.1
    """Fitness weight of reaching a goal at all (see the module docstring); 0 turns it off."""
    steering: str = "turns"
    """Continuous variant: ``turns`` (argmax of left/straight/right, 90-degree turns), ``angle`` (one ``steer``
    output: heading += (2 steer - 1) * steer_max degrees) or ``argmax`` (left/straight/right: the largest turns
    steer_max degrees to its side); the last two move real positions (the authors' steer modes)."""
    steer_max: float = 45.0
    """``steering`` ``angle`` or ``argmax``: the largest turn per step in degrees."""
    junction_input: int = 1
    """Continuous variant: 1 gives the agent the ``junction`` input, 0 not."""
    junction_rule: str = "open"
    """The tiles the ``junction`` input marks: ``open`` (open tiles with 3+ open neighbours: both junction levels
    of the double maze) or ``corridor`` (corridor tiles with 3+ corridor neighbours, goal and start tiles not
    counted: the authors' turn signal, ``isIntersection``; in the double maze the first junction only)."""
    swap_fraction: float = 0.0
    """> 0: the high reward moves before a round uniform in [R//2, R//2 + int(swap_fraction * R/2)] (the
    authors' rule); 0: before R//2 - 1 +- switch_spread."""
    swap_fix: bool = False
    """With ``swap_fraction`` > 0: that range moved back by int(swap_fraction * R/2) // 2 (the authors' swapfix)."""
    swaps: int = 1
    """How often the high reward moves in a deployment.  k > 1: move i (1..k) comes before round
    i R // (k + 1) +- (R // (k + 1) - 1) // 2 (0-based), to a goal drawn from the others (the first move to the
    deployment's ``second`` goal, so that the batch still cycles through every pair); needs ``swap_fraction`` 0."""
    goal_set: str = ""
    """The goals that may hold the high reward, as digits (``03``: goals 0 and 3; "": all): the deployments
    cycle through the set's ordered pairs, later moves stay in it; maze, inputs and score stay the task's."""
    lexicase_cases: str = "deployments"
    """``--search lexicase``'s cases: ``deployments`` (a deployment's fitness each), ``rounds`` (each round of
    each deployment: logically right (1) or not, plus ``goal_bonus`` for reaching a goal, scaled as the fitness)
    or ``phases`` (each kind of phase: :func:`maze_logic.phase_cases`).  No effect on fitness or score."""
    stages: str = ""
    """A curriculum for evolution (``--stages``, :mod:`entm.tasks.curriculum`), e.g. ``rounds=8``."""

    dynamics_defaults = {"steering": "turns", "steer_max": 45.0, "junction_input": 1, "junction_rule": "open",
                         "swap_fraction": 0.0, "swap_fix": False, "swaps": 1, "goal_set": "",
                         "lexicase_cases": "deployments", "stages": ""}

    name = "tmaze"
    description = "T-maze: find, remember and re-find a moving high reward (Greve et al. 2016)"
    generalization_lengths = (20, 40, 100)
    """``length`` = rounds per deployment."""
    length_name = "rounds"
    score_name = "logically right rounds"
    default_memory_width = 2

    def __post_init__(self):
        check_choice("tmaze variant", self.variant, VARIANTS)
        check_choice("tmaze maze", self.maze, MAZE_KINDS)
        self.rounds = check_int("rounds", self.rounds, low=2)
        self.switch_spread = check_int("switch_spread", self.switch_spread, low=0)
        self.max_steps = check_int("max_steps", self.max_steps)
        check_choice("tmaze steering", self.steering, STEERING)
        if self.steering != "turns" and self.variant != "continuous":
            raise EntmError(f"steering {self.steering!r} needs the continuous variant (--variant continuous)")
        self.junction_input = check_int("junction_input", self.junction_input, low=0)
        if self.junction_input > 1:
            raise EntmError(f"junction_input must be 0 or 1, got {self.junction_input}")
        check_choice("junction_rule", self.junction_rule, JUNCTION_RULES)
        self.swap_fix = check_bool("swap_fix", self.swap_fix)
        for name, hi in (("goal_bonus", float("inf")), ("steer_max", 180.0), ("swap_fraction", 1.0)):
            try:
                v = float(getattr(self, name))
            except (TypeError, ValueError):
                raise EntmError(f"{name} must be a number, got {getattr(self, name)!r}") from None
            if not (0 <= v <= hi and v < float("inf")):  # NaN fails too
                bound = "a non-negative number" if hi == float("inf") else f"in [0, {hi:g}]"
                raise EntmError(f"{name} must be {bound}, got {v}")
            setattr(self, name, v)
        if self.swap_fix and self.swap_fraction == 0:
            raise EntmError("swap_fix centres the authors' swap rule: it needs swap_fraction > 0")
        self.swaps = check_int("swaps", self.swaps, low=1)
        if self.swaps > 1 and self.swap_fraction > 0:
            raise EntmError(f"swaps {self.swaps} spreads its moves over the rounds itself: it needs swap_fraction 0 "
                            f"(--swap-fraction 0), got {self.swap_fraction:g}")
        self._check_swap_rounds(self.rounds)
        goal_set_goals(self.goal_set, self.goals)  # a bad goal set is an error here
        check_choice("lexicase_cases", self.lexicase_cases, LEXICASE_CASES)
        parse_curriculum(self)  # a bad curriculum is an error before any work

    def _check_swap_rounds(self, rounds: int) -> None:
        if self.swaps > 1 and rounds < 2 * (self.swaps + 1):
            raise EntmError(f"swaps {self.swaps} needs at least {2 * (self.swaps + 1)} rounds per deployment, "
                            f"got {rounds}")

    # -- layout ----------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Junctions on the way to a goal."""
        return 1 if self.maze == "single" else 2

    @property
    def goals(self) -> int:
        return 2 ** self.depth

    @property
    def input_names(self) -> list[str]:
        if self.variant == "discrete":
            return [f"junction{d + 1}" for d in range(self.depth)] + ["reward"]
        return ["range_left", "range_ahead", "range_right", "reward"] + ["junction"] * self.junction_input

    @property
    def output_names(self) -> list[str]:
        if self.variant == "discrete":
            return ["left", "right"]
        return ["steer"] if self.steering == "angle" else ["left", "straight", "right"]

    @property
    def num_inputs(self) -> int:
        return len(self.input_names)

    @property
    def num_outputs(self) -> int:
        return len(self.output_names)

    @property
    def pairs(self) -> np.ndarray:
        """(P, 2) every ordered pair (first, second) of distinct goals of the goal set."""
        G = goal_set_goals(self.goal_set, self.goals)
        return np.array([(a, b) for a in G for b in G if a != b], dtype=np.int64)

    @property
    def default_episodes(self) -> int:
        """Every (first, second) pair of goals once, at least 4 deployments: 12 (double maze), 4 (single)."""
        return max(4, self.goals * (self.goals - 1))

    # -- deployments -------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> MazeDeployments:
        """``n`` deployments cycling through the goal pairs; ``length``: rounds (default ``rounds``)."""
        R = self.rounds if length is None else check_int("length (rounds)", length, low=2)
        pairs = self.pairs
        idx = np.arange(n) % len(pairs)
        if self.swap_fraction > 0:  # the authors' rule (RoundsTMaze): from the middle on, up to a fraction later
            spread = int(self.swap_fraction * R / 2)
            switch = R // 2 + rng.integers(0, spread + 1, size=n) - (spread // 2 if self.swap_fix else 0)
        else:
            centre = R // 2 - 1
            switch = centre + rng.integers(-self.switch_spread, self.switch_spread + 1, size=n)
        first, second = pairs[idx, 0].copy(), pairs[idx, 1].copy()
        if self.swaps == 1:
            return MazeDeployments(first=first, second=second, switch=np.clip(switch, 1, R - 1), rounds=R)
        self._check_swap_rounds(R)  # (the switch draws above go unused here: recorded runs depend on them)
        return several_moves(rng, first, second, R, self.swaps, goal_set_goals(self.goal_set, self.goals))

    def environment(self, deployments: MazeDeployments, groups: int = 1, record: bool = False) -> "MazeEnv":
        cls = DiscreteMazeEnv if self.variant == "discrete" else \
            ContinuousMazeEnv if self.steering == "turns" else SteeringMazeEnv
        return cls(self, deployments, groups, record)

    # -- scoring -----------------------------------------------------------------
    def score(self, env: "MazeEnv") -> MazeScores:
        R = env.rounds
        right = env.right.astype(np.float64)
        return MazeScores(score=right / R, perfect=env.right == R, bit_errors=R - right,
                          reward=paid(env.goal_log, env.schedule).mean(axis=1))

    def fitness_terms(self, env: "MazeEnv") -> dict:
        return {"reached": env.reached / env.rounds}

    def fitness_rows(self, env: "MazeEnv", scores: Scores) -> np.ndarray:
        b = self.goal_bonus
        return (scores.score + b * env.reached / env.rounds) / (1 + b)

    def lexicase_rows(self, env: "MazeEnv", rows: np.ndarray) -> np.ndarray:
        """Per row, its lexicase cases: ``rows``, or its rounds' (:func:`entm.tasks.maze_logic.round_cases`)."""
        rounds = self.lexicase_cases == "rounds"
        return round_cases(env.goal_log, env.schedule, self.goals, self.goal_bonus) if rounds else rows

    def lexicase_values(self, env: "MazeEnv", rows: np.ndarray) -> np.ndarray:
        if self.lexicase_cases == "phases":  # pooled per network over its deployments, as the season's foods
            return phase_cases(env.goal_log, env.schedule, self.goals, env.groups)
        return super().lexicase_values(env, rows)

    def phases(self, env: "MazeEnv") -> dict:
        """The rounds by the high reward's phases (:func:`entm.tasks.maze_logic.phases`)."""
        return phases(env.goal_log, env.schedule, self.goals)

    def behaviour(self, env: "MazeEnv") -> np.ndarray:
        """Per network: the goal each round of each deployment ended at, one-hot over the goals (a crash
        or time-out: all zero); (groups, deployments * rounds * goals)."""
        onehot = env.goal_log[:, :, None] == np.arange(self.goals)
        return onehot.reshape(env.groups, -1).astype(np.float64)


# -- environments ----------------------------------------------------------------

class MazeEnv(Environment):
    """Rounds, rewards and the logical score, shared by both variants.

    Per row: the current round, whether the row is on its reward step, and
    the ideal agent's knowledge (``known``: the goal known to hold the high
    reward or -1; ``tried``: goals tried without it since the last move).
    """

    def __init__(self, task: TMazeTask, deps: MazeDeployments, groups: int, record: bool):
        self.task = task
        self.groups = int(groups)
        self.rounds = deps.rounds
        self.schedule = tile_rows(deps.schedule(), self.groups)  # (rows, rounds) the high goal per round
        N = len(self.schedule)
        self.batch = N
        self.rows = np.arange(N)
        self.active = np.ones(N, dtype=bool)
        self.round = np.zeros(N, dtype=np.int64)
        self.rewarding = np.zeros(N, dtype=bool)
        self.reward = np.zeros(N)
        self.known = np.full(N, -1, dtype=np.int64)
        self.tried = np.zeros((N, task.goals), dtype=bool)
        self.right = np.zeros(N, dtype=np.int64)
        self.reached = np.zeros(N, dtype=np.int64)
        self.goal_log = np.full((N, self.rounds), -1, dtype=np.int64)
        """(rows, rounds) the goal each round ended at (-1: crash or time-out), for :meth:`TMazeTask.behaviour`."""
        self.log = [] if record else None

    def high(self) -> np.ndarray:
        """(N,) the goal holding the high reward in each row's current round."""
        return self.schedule[self.rows, np.minimum(self.round, self.rounds - 1)]

    def end_round(self, rows: np.ndarray, goal: np.ndarray) -> None:
        """Rows ``rows`` reached ``goal`` (-1: crash or time-out): score the choice, set the reward."""
        if len(rows) == 0:
            return
        high = self.high()[rows]
        right, _, self.known[rows], self.tried[rows] = logic_round(self.known[rows], self.tried[rows],
                                                                          goal, high)
        at_goal = goal >= 0
        self.reward[rows] = paid(goal, high)
        self.right[rows] += right
        self.reached[rows] += at_goal
        self.goal_log[rows, self.round[rows]] = goal
        self.rewarding[rows] = True
        if self.log is not None:
            self._log_round_end(rows, goal, high, right)

    def finish_reward_steps(self) -> np.ndarray:
        """Rows on their reward step move to the next round (or finish); returns those rows."""
        rows = np.nonzero(self.rewarding & self.active)[0]
        self.rewarding[rows] = False
        self.reward[rows] = 0.0
        self.round[rows] += 1
        self.active[rows] = self.round[rows] < self.rounds
        return rows

    def _log_round_end(self, rows, goal, high, right):
        self.log.append(("end", rows.copy(), goal.copy(), high.copy(), right.copy(), self.reward[rows].copy(),
                         self.round[rows].copy()))

    def round_log(self, row: int) -> list[dict]:
        """The rounds of one row: round, high goal, goal reached, reward, right (and the path, continuous)."""
        out = []
        path_x, path_y = [], []
        for entry in self.log:
            if entry[0] == "pos":
                _, xs, ys = entry
                path_x.append(xs[row] / SCALE)
                path_y.append(ys[row] / SCALE)
                continue
            _, rows, goal, high, right, reward, rnd = entry
            hit = np.nonzero(rows == row)[0]
            if len(hit):
                i = hit[0]
                out.append({"round": int(rnd[i]), "high": int(high[i]), "goal": int(goal[i]),
                            "reward": float(reward[i]), "right": bool(right[i]),
                            "x": np.array(path_x), "y": np.array(path_y)})
                path_x, path_y = [], []
        return out


class DiscreteMazeEnv(MazeEnv):
    """One step per junction, then the reward step."""

    def __init__(self, task, deps, groups, record):
        super().__init__(task, deps, groups, record)
        self.depth = np.zeros(self.batch, dtype=np.int64)  # junctions passed this round
        self.path = np.zeros(self.batch, dtype=np.int64)  # turns so far, first turn as the high bit

    def observe(self) -> np.ndarray:
        D = self.task.depth
        x = np.zeros((self.batch, D + 1))
        at_junction = ~self.rewarding & self.active
        r = self.rows[at_junction]
        x[r, self.depth[r]] = 1.0
        x[:, D] = self.reward
        return x

    def act(self, outputs: np.ndarray) -> None:
        done_reward = self.finish_reward_steps()
        self.depth[done_reward] = 0
        self.path[done_reward] = 0
        choosing = self.active & ~self.rewarding
        choosing[done_reward] = False
        r = self.rows[choosing]
        turn_right = outputs[r, 1] > outputs[r, 0]
        self.path[r] = 2 * self.path[r] + turn_right
        self.depth[r] += 1
        ended = r[self.depth[r] == self.task.depth]
        self.end_round(ended, self.path[ended])


class ContinuousMazeEnv(MazeEnv):
    """An agent moving 0.1 tile per step in the tile maze; rangefinders, junction signal, reward."""

    def __init__(self, task, deps, groups, record):
        super().__init__(task, deps, groups, record)
        self.maze = maze(task.maze)
        self.junctions = self.maze.junctions(task.junction_rule)
        sx, sy = self.maze.start_position()
        self.start = (sx, sy)
        self.ix = np.full(self.batch, sx, dtype=np.int64)
        self.iy = np.full(self.batch, sy, dtype=np.int64)
        self.heading = np.zeros(self.batch, dtype=np.int64)
        self.moves = np.zeros(self.batch, dtype=np.int64)
        if self.log is not None:
            self.log.append(("pos", self.ix.copy(), self.iy.copy()))

    def observe(self) -> np.ndarray:
        x = np.empty((self.batch, 4 + self.task.junction_input))
        x[:, :3] = self.maze.sensors[self.ix, self.iy, self.heading]
        x[:, 3] = self.reward
        if self.task.junction_input:
            tx, ty = self.ix // SCALE, self.iy // SCALE
            x[:, 4] = self.junctions[ty, tx] & ~self.rewarding
        return x

    def act(self, outputs: np.ndarray) -> None:
        done_reward = self.finish_reward_steps()
        self.ix[done_reward], self.iy[done_reward] = self.start
        self.heading[done_reward] = 0
        self.moves[done_reward] = 0
        moving = self.active & ~self.rewarding
        moving[done_reward] = False
        r = self.rows[moving]
        turn = np.argmax(outputs[r, :3], axis=1) - 1
        h = (self.heading[r] + turn) % 4
        self.heading[r] = h
        nx = self.ix[r] + HEADINGS[h, 0]
        ny = self.iy[r] + HEADINGS[h, 1]
        mz = self.maze
        tx, ty = nx // SCALE, ny // SCALE
        inside = (tx >= 0) & (tx < mz.width) & (ty >= 0) & (ty < mz.height)
        txc, tyc = np.clip(tx, 0, mz.width - 1), np.clip(ty, 0, mz.height - 1)
        crash = ~inside | mz.wall[tyc, txc]
        ok = ~crash
        self.ix[r[ok]] = nx[ok]
        self.iy[r[ok]] = ny[ok]
        self.moves[r] += 1
        goal = np.where(ok, mz.goal_of[tyc, txc], -1)
        ended = crash | (goal >= 0) | (self.moves[r] >= self.task.max_steps)
        if self.log is not None:
            self.log.append(("pos", self.ix.copy(), self.iy.copy()))
        self.end_round(r[ended], goal[ended])


class SteeringMazeEnv(MazeEnv):
    """The authors' agent (``steering`` ``angle`` or ``argmax``): real position and heading, turning at most
    ``steer_max`` per step (``angle``: (2 steer - 1) steer_max; ``argmax``: steer_max, 0 or -steer_max as left,
    straight or right is the largest output, the first on a tie), rangefinders cast from the exact position."""

    def __init__(self, task, deps, groups, record):
        super().__init__(task, deps, groups, record)
        self.maze = maze(task.maze)
        self.junctions = self.maze.junctions(task.junction_rule)
        sx, sy = self.maze.start_position()
        self.start = (sx / SCALE, sy / SCALE)
        self.x = np.full(self.batch, self.start[0])
        self.y = np.full(self.batch, self.start[1])
        self.angle = np.full(self.batch, np.pi / 2)  # radians, counter-clockwise from east: north
        self.moves = np.zeros(self.batch, dtype=np.int64)
        self.steer_max = np.radians(task.steer_max)
        if self.log is not None:
            self.log.append(("pos", self.x * SCALE, self.y * SCALE))

    def observe(self) -> np.ndarray:
        x = np.empty((self.batch, 4 + self.task.junction_input))
        for i, offset in enumerate((np.pi / 4, 0.0, -np.pi / 4)):  # left, ahead, right
            a = self.angle + offset
            x[:, i] = rangefinder_rows(self.maze.wall, self.x, self.y, np.cos(a), -np.sin(a))
        x[:, 3] = self.reward
        if self.task.junction_input:
            tx, ty = self._tiles(self.x, self.y)
            x[:, 4] = self.junctions[ty, tx] & ~self.rewarding
        return x

    def _tiles(self, x, y):
        mz = self.maze
        return (np.clip(np.floor(x), 0, mz.width - 1).astype(np.int64),
                np.clip(np.floor(y), 0, mz.height - 1).astype(np.int64))

    def act(self, outputs: np.ndarray) -> None:
        done_reward = self.finish_reward_steps()
        self.x[done_reward], self.y[done_reward] = self.start
        self.angle[done_reward] = np.pi / 2
        self.moves[done_reward] = 0
        moving = self.active & ~self.rewarding
        moving[done_reward] = False
        r = self.rows[moving]
        argmax = self.task.steering == "argmax"
        turn = 1 - np.argmax(outputs[r, :3], axis=1) if argmax else 2 * outputs[r, 0] - 1  # of steer_max
        a = self.angle[r] + turn * self.steer_max
        self.angle[r] = a
        nx = self.x[r] + 0.1 * np.cos(a)
        ny = self.y[r] - 0.1 * np.sin(a)  # y grows southwards
        mz = self.maze
        inside = (nx >= 0) & (nx < mz.width) & (ny >= 0) & (ny < mz.height)
        tx, ty = self._tiles(nx, ny)
        crash = ~inside | mz.wall[ty, tx]
        ok = ~crash
        self.x[r[ok]] = nx[ok]
        self.y[r[ok]] = ny[ok]
        self.moves[r] += 1
        goal = np.where(ok, mz.goal_of[ty, tx], -1)
        ended = crash | (goal >= 0) | (self.moves[r] >= self.task.max_steps)
        if self.log is not None:
            self.log.append(("pos", self.x * SCALE, self.y * SCALE))
        self.end_round(r[ended], goal[ended])
