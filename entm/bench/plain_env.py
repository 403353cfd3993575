"""The plain way for the reward tasks: one deployment at a time, as plain Python objects and lists.

``entm bench --task tmaze|season`` measures the compiled closed loop against
neat-python's ``activate`` with these environments and the plain tape
(:mod:`entm.bench.plain`): the straightforward program a user would write from
the task's description (:mod:`entm.tasks.tmaze`, :mod:`entm.tasks.season`),
with no numpy in the step.  They are also a second, independent statement of
the environments for the tests.
"""

from __future__ import annotations

import math

from entm.tasks.maze import HEADINGS, SCALE, SENSOR_CUTOFF, maze
from entm.tasks.season import AVOID, EAT
from entm.tasks.maze_logic import HIGH_REWARD, LOW_REWARD


def _largest(y: list) -> int:
    """Which of the outputs left, straight, right is the largest, the first on a tie."""
    return max(range(3), key=lambda i: (y[i], -i))


class PlainTMaze:
    """One T-maze deployment (``deps``' row ``b``), discrete or continuous (90-degree turns or steering)."""

    def __init__(self, task, deps, b: int):
        self.task = task
        self.schedule, self.rounds = deps.schedule()[b].tolist(), int(deps.rounds)
        self.round, self.rewarding, self.reward = 0, False, 0.0
        self.known, self.tried = -1, [False] * task.goals
        self.right = self.reached = 0
        self.active = True
        self.continuous = task.variant == "continuous"
        self.steering = task.steering != "turns"
        if self.continuous:
            mz = maze(task.maze)
            self.wall, self.goal_of = mz.wall.tolist(), mz.goal_of.tolist()
            self.junction = mz.junctions(task.junction_rule).tolist()
            self.sensors = mz.sensors.tolist()
            self.start = mz.start_position()
            if self.steering:
                self.start = (self.start[0] / SCALE, self.start[1] / SCALE)
                self.steer_max = math.radians(task.steer_max)
            self.headings = HEADINGS.tolist()
        self._start_round()

    def _start_round(self):
        self.depth = self.path = 0
        if self.continuous:
            (self.x, self.y), self.heading, self.moves = self.start, 0, 0
            self.angle = math.pi / 2  # steering: radians counter-clockwise from east, north

    def observe(self) -> list:
        if not self.continuous:
            x = [0.0] * (self.task.depth + 1)
            if not self.rewarding:
                x[self.depth] = 1.0
            x[-1] = self.reward
            return x
        if self.steering:
            x = [self._range(self.angle + offset) for offset in (math.pi / 4, 0.0, -math.pi / 4)] + [self.reward]
            tx, ty = math.floor(self.x), math.floor(self.y)
        else:
            x = list(self.sensors[self.x][self.y][self.heading]) + [self.reward]
            tx, ty = self.x // SCALE, self.y // SCALE
        if self.task.junction_input:
            x.append(1.0 if self.junction[ty][tx] and not self.rewarding else 0.0)
        return x

    def _in_wall(self, x: float, y: float) -> bool:
        tx, ty = math.floor(x), math.floor(y)
        return not (0 <= tx < len(self.wall[0]) and 0 <= ty < len(self.wall)) or self.wall[ty][tx]

    def _range(self, angle: float) -> float:
        """The steering agent's rangefinder along ``angle``, in [0, 1]: the nearest tile-boundary crossing
        within the cutoff just past which the ray is in a wall (it can enter a wall nowhere else)."""
        dx, dy, cut = math.cos(angle), -math.sin(angle), SENSOR_CUTOFF
        ts = [0.0]
        for p, d in ((self.x, dx), (self.y, dy)):
            if d != 0:
                ts += [(math.floor(p) + k - p) / d for k in range(-int(cut) - 2, int(cut) + 3)]
        hits = [t for t in ts if 0 <= t <= cut and self._in_wall(self.x + (t + 1e-9) * dx, self.y + (t + 1e-9) * dy)]
        return min(hits + [cut]) / cut

    def act(self, y: list) -> None:
        if self.rewarding:
            self.rewarding, self.reward = False, 0.0
            self.round += 1
            self.active = self.round < self.rounds
            self._start_round()
            return
        if not self.continuous:
            self.path = 2 * self.path + (1 if y[1] > y[0] else 0)
            self.depth += 1
            if self.depth == self.task.depth:
                self._end_round(self.path)
            return
        if self.steering:
            turn = 1 - _largest(y) if self.task.steering == "argmax" else 2 * y[0] - 1  # of steer_max
            self.angle += turn * self.steer_max
            nx, ny = self.x + 0.1 * math.cos(self.angle), self.y - 0.1 * math.sin(self.angle)
            tx, ty = math.floor(nx), math.floor(ny)
            crash = self._in_wall(nx, ny)
        else:
            turn = _largest(y) - 1
            self.heading = (self.heading + turn) % 4
            nx, ny = self.x + self.headings[self.heading][0], self.y + self.headings[self.heading][1]
            tx, ty = nx // SCALE, ny // SCALE
            crash = not (0 <= tx < len(self.wall[0]) and 0 <= ty < len(self.wall)) or self.wall[ty][tx]
        goal = -1
        if not crash:
            self.x, self.y = nx, ny
            goal = self.goal_of[ty][tx]
        self.moves += 1
        if crash or goal >= 0 or self.moves >= self.task.max_steps:
            self._end_round(goal)

    def _end_round(self, goal: int) -> None:
        high = self.schedule[self.round]
        at_goal = goal >= 0
        if at_goal:
            self.right += goal == self.known if self.known >= 0 else not self.tried[goal]
            self.reached += 1
        got_high = at_goal and goal == high
        self.reward = HIGH_REWARD if got_high else LOW_REWARD if at_goal else 0.0
        if got_high:
            self.known = goal
        elif at_goal:
            if goal == self.known:  # the reward moved away from the known goal
                self.known = -1
                self.tried = [False] * len(self.tried)
            self.tried[goal] = True
            if all(self.tried):  # it moved during the search: search again
                self.tried = [i == goal for i in range(len(self.tried))]
        self.rewarding = True


class PlainSeason:
    """One season-task deployment (``deps``' row ``b``)."""

    def __init__(self, task, deps, b: int):
        self.task = task
        n = int(deps.items[b])
        self.food = (deps.food[b, :n] + (deps.season[b, :n] * task.foods if task.foods_per_season == "distinct"
                                         else 0)).tolist()
        self.poison = deps.poison[b, :n].tolist()
        self.scored = deps.scored[b, :n].tolist()
        self.t = 0
        self.length = n * task.steps_per_food
        self.active = self.length > 0
        self.feedback = [0.0, 0.0]
        self.right = self.scored_count = 0

    def observe(self) -> list:
        x = [0.0] * (self.task.food_inputs + 2)
        x[self.food[self.t // self.task.steps_per_food]] = 1.0
        if self.t % self.task.steps_per_food > self.task.decision_step:
            x[-2:] = self.feedback
        return x

    def act(self, y: list) -> None:
        item, phase = divmod(self.t, self.task.steps_per_food)
        if phase == self.task.decision_step:
            ate, poison = y[0] > EAT, self.poison[item]
            right = (ate and not poison) or (y[0] < AVOID and poison)
            if self.scored[item]:
                self.right += right
                self.scored_count += 1
            if self.task.feedback == "right":
                self.feedback = [1.0 if right else 0.0, 0.0 if right else 1.0]
            else:
                self.feedback = [1.0 if ate and not poison else 0.0, 1.0 if ate and poison else 0.0]
        self.t += 1
        self.active = self.t < self.length

    @property
    def score(self) -> float:
        return self.right / self.scored_count if self.scored_count else 1.0


def plain_environment(task, deps, b: int):
    """The plain environment of ``task`` for deployment ``b`` of ``deps``."""
    return PlainSeason(task, deps, b) if task.name == "season" else PlainTMaze(task, deps, b)


def run_plain_closed(net, env, memory, num_task_outputs: int) -> int:
    """One deployment: neat-python's ``activate``, the plain environment and memory, step by step;
    returns the steps run.  A non-finite task output counts as 0 (as in the compiled loop)."""
    read = memory.initial_read()
    steps = 0
    while env.active:
        y = net.activate(env.observe() + read)
        env.act([v if v - v == 0.0 else 0.0 for v in y[:num_task_outputs]])
        read = memory.step([_clean(v) for v in y[num_task_outputs:]])
        steps += 1
    return steps


def _clean(v: float) -> float:
    """NaN -> 0, +inf -> 1, -inf -> 0 (the head outputs the memory gets)."""
    if v != v:
        return 0.0
    return 1.0 if v == float("inf") else 0.0 if v == float("-inf") else v
