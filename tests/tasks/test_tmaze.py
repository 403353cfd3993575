"""The T-maze: mazes, sensors and collisions by hand, scores of hand-written policies, rendering."""

from __future__ import annotations

import numpy as np
import pytest

from entm.analysis.deployment import draw_deployment
from entm.errors import EntmError
from entm.tasks import make_task
from entm.tasks.maze import GOALS, SCALE, maze, rangefinder


class IdealAgent:
    """Explore untried goals until the high reward is found, then go back to it; explore again when it moves.

    Works from the reward input alone (what a network sees); one instance per row.
    """

    def __init__(self, goals: int):
        self.goals = goals
        self.known = -1
        self.tried: set = set()
        self.target = self.pick()

    def pick(self) -> int:
        if self.known >= 0:
            return self.known
        return min(set(range(self.goals)) - self.tried)

    def rewarded(self, reward: float) -> None:
        if reward == 1.0:
            self.known = self.target
        elif self.known == self.target:  # the reward moved away
            self.known, self.tried = -1, {self.target}
        else:
            self.tried.add(self.target)
            if len(self.tried) == self.goals:
                self.tried = {self.target}
        self.target = self.pick()


class StayAgent(IdealAgent):
    """The ideal agent until it first finds the high reward; from then on it goes there every round."""

    def rewarded(self, reward: float) -> None:
        if self.known < 0:
            super().rewarded(reward)


class AlwaysLeft:
    target = 0

    def rewarded(self, reward):
        pass


def run_discrete(task, env, agents):
    D = task.depth
    while not env.done:
        x = env.observe()
        out = np.zeros((env.batch, 2))
        for row, agent in enumerate(agents):
            if not env.active[row]:
                continue
            if x[row, :D].any():
                d = int(np.argmax(x[row, :D]))
                bit = (agent.target >> (D - 1 - d)) & 1
                out[row, bit] = 1.0
            else:
                agent.rewarded(x[row, D])
        env.act(out)
    return task.score(env)


def run_continuous(task, env, agents):
    """Drive the agents along their target's route: straight, and the target's turn at junction centres."""
    D = task.depth
    passed = np.zeros(env.batch, dtype=int)
    while not env.done:
        x = env.observe()
        out = np.zeros((env.batch, 3))
        out[:, 1] = 1.0
        for row, agent in enumerate(agents):
            if not env.active[row]:
                continue
            if env.rewarding[row]:
                agent.rewarded(x[row, 3])
                passed[row] = 0
                continue
            centre = env.ix[row] % SCALE == SCALE // 2 and env.iy[row] % SCALE == SCALE // 2
            if x[row, 4] == 1.0 and centre:
                bit = (agent.target >> (D - 1 - passed[row])) & 1
                out[row] = (0.0, 0.0, 1.0) if bit else (1.0, 0.0, 0.0)
                passed[row] += 1
        env.act(out)
    return task.score(env)


RUNNERS = {"discrete": run_discrete, "continuous": run_continuous}
CASES = [(v, m) for v in ("discrete", "continuous") for m in ("single", "double")]


@pytest.mark.parametrize("variant,maze_kind", CASES)
def test_ideal_policy_gets_every_round_right(variant, maze_kind):
    task = make_task("tmaze", {"variant": variant, "maze": maze_kind})
    deps = task.sample(np.random.default_rng(1), task.default_episodes)
    env = task.environment(deps)
    sc = RUNNERS[variant](task, env, [IdealAgent(task.goals) for _ in range(env.batch)])
    assert sc.perfect.all() and np.all(sc.score == 1.0) and np.all(sc.bit_errors == 0)
    assert np.all(env.reached == task.rounds)


def always_left_rounds(first, second, switch, rounds):
    """Right rounds of an agent that always goes to goal 0, worked out by hand.

    Goal 0 holds the high reward first: right until and including the round that shows it moved
    (switch + 1 rounds), then wrong (goal 0 is known to be empty).  Goal 0 gets it after the move:
    round 1 right (untried), then wrong (tried, empty) until the round after the move finds it there,
    which is wrong too (it was tried), and right from then on (rounds - switch - 1).  Neither: round 1 only.
    """
    if first == 0:
        return switch + 1
    if second == 0:
        return 1 + rounds - switch - 1
    return 1


@pytest.mark.parametrize("variant,maze_kind", CASES)
def test_always_left_gets_the_expected_lower_score(variant, maze_kind):
    task = make_task("tmaze", {"variant": variant, "maze": maze_kind})
    deps = task.sample(np.random.default_rng(2), task.default_episodes)
    env = task.environment(deps)
    sc = RUNNERS[variant](task, env, [AlwaysLeft() for _ in range(env.batch)])
    expected = [always_left_rounds(f, s, w, task.rounds) for f, s, w in zip(deps.first, deps.second, deps.switch)]
    np.testing.assert_array_equal(sc.score * task.rounds, expected)
    assert not sc.perfect.any()
    # goal 0 is the first or the second high goal in 1/2 of the single maze's pairs, 1/2 of the double's too,
    # but the other double-maze pairs give 1 right round of 20
    assert sc.score.mean() < (0.7 if maze_kind == "single" else 0.35)


def test_deployments_cover_every_pair_and_switch_near_the_middle():
    task = make_task("tmaze", {"maze": "double"})
    deps = task.sample(np.random.default_rng(0), 24)
    pairs = set(zip(deps.first.tolist(), deps.second.tolist()))
    assert len(pairs) == 12 and all(a != b for a, b in pairs)
    big = task.sample(np.random.default_rng(0), 2000)
    assert big.switch.min() == 6 and big.switch.max() == 12  # 0-based: rounds 7..13 counted from 1 = 10 +- 3


@pytest.mark.parametrize("fix, low, high", [(False, 10, 16), (True, 7, 13)])
def test_the_authors_swap_rule_and_its_centred_form(fix, low, high):
    """RoundsTMaze with 20 rounds and swap fraction 0.6: the move before round 10 + U{0..6}; with the
    authors' ``swapfix``, minus 6 // 2 (before rounds 7..13, 0-based)."""
    task = make_task("tmaze", {"maze": "double", "swap_fraction": 0.6, "swap_fix": fix})
    big = task.sample(np.random.default_rng(0), 2000)
    assert (big.switch.min(), big.switch.max()) == (low, high)
    assert set(np.bincount(big.switch)[low:high + 1] > 200) == {True}  # every round of the range, evenly


def test_several_moves_of_the_high_reward():
    """``swaps`` 3 in 20 rounds: the moves before rounds 5 +- 2, 10 +- 2 and 15 +- 2 (0-based), each to
    another goal, the first to the deployment's ``second`` goal, the batch cycling through every pair."""
    task = make_task("tmaze", {"maze": "double", "swaps": 3})
    deps = task.sample(np.random.default_rng(0), 2400)
    sched = deps.schedule()
    assert sched.shape == (2400, 20)
    assert set(zip(deps.first[:12].tolist(), deps.second[:12].tolist())) == set(map(tuple, task.pairs.tolist()))
    rounds = [np.nonzero(row[1:] != row[:-1])[0] + 1 for row in sched]
    assert all(len(r) == 3 for r in rounds)  # every move goes to another goal
    rounds = np.array(rounds)
    for i, centre in enumerate((5, 10, 15)):
        assert (rounds[:, i].min(), rounds[:, i].max()) == (centre - 2, centre + 2)
    np.testing.assert_array_equal(rounds[:, 0], deps.switch)
    np.testing.assert_array_equal(sched[:, 0], deps.first)
    np.testing.assert_array_equal(sched[np.arange(2400), deps.switch], deps.second)
    # later moves reach every other goal
    assert {(a, b) for a, b in zip(sched[:, 12].tolist(), sched[:, 19].tolist()) if a != b} >= \
        {(a, b) for a in range(4) for b in range(4) if a != b}
    # one move: the schedule is first / second around switch, the draws as they always were
    one = make_task("tmaze", {"maze": "double"}).sample(np.random.default_rng(0), 24)
    assert one.later is None
    np.testing.assert_array_equal(one.schedule(), np.where(np.arange(20) < one.switch[:, None],
                                                           one.first[:, None], one.second[:, None]))


@pytest.mark.parametrize("variant,maze_kind", CASES)
def test_ideal_policy_is_right_with_several_moves(variant, maze_kind):
    task = make_task("tmaze", {"variant": variant, "maze": maze_kind, "swaps": 3})
    deps = task.sample(np.random.default_rng(3), 24)
    env = task.environment(deps)
    sc = RUNNERS[variant](task, env, [IdealAgent(task.goals) for _ in range(env.batch)])
    assert sc.perfect.all()
    # an agent that never explores again once it found the high reward loses more with every move (the single
    # maze's moves alternate between its two goals, which brings the reward back to it: not there)
    if maze_kind == "single":
        return
    one = make_task("tmaze", {"variant": variant, "maze": maze_kind})
    stay = [RUNNERS[variant](t, t.environment(d), [StayAgent(t.goals) for _ in range(len(d.first))]).score.mean()
            for t, d in ((task, deps), (one, one.sample(np.random.default_rng(3), 24)))]
    assert stay[0] < stay[1], stay


def test_a_goal_set_keeps_the_high_reward_among_its_goals():
    """``goal_set`` 013: the deployments cycle through the set's 6 ordered pairs and the later moves stay in
    it; the draws are those of the full task's rule (one move: the same switch rounds), and the ideal
    agent, which knows nothing of the set, is right in every round."""
    full = make_task("tmaze", {"maze": "double", "swap_fraction": 0.6})
    task = make_task("tmaze", {"maze": "double", "swap_fraction": 0.6, "goal_set": "301"})
    assert set(task.pairs.ravel().tolist()) == {0, 1, 3}
    assert task.default_episodes == full.default_episodes == 12
    deps = task.sample(np.random.default_rng(0), 12)
    assert sorted(zip(deps.first.tolist(), deps.second.tolist())) == \
        sorted([(a, b) for a in (0, 1, 3) for b in (0, 1, 3) if a != b] * 2)
    np.testing.assert_array_equal(deps.switch, full.sample(np.random.default_rng(0), 12).switch)
    many = make_task("tmaze", {"maze": "double", "swaps": 3, "goal_set": "013"}).sample(np.random.default_rng(1),
                                                                                      600)
    sched = many.schedule()
    assert set(np.unique(sched).tolist()) == {0, 1, 3}
    assert all(len(np.nonzero(row[1:] != row[:-1])[0]) == 3 for row in sched)  # every move to another goal
    for variant in ("discrete", "continuous"):
        t = make_task("tmaze", {"variant": variant, "maze": "double", "swaps": 3, "goal_set": "03"})
        d = t.sample(np.random.default_rng(3), 8)
        env = t.environment(d)
        assert RUNNERS[variant](t, env, [IdealAgent(t.goals) for _ in range(env.batch)]).perfect.all()
    # the default is every goal, and the task's parameters leave it out
    assert "goal_set" not in make_task("tmaze", {"maze": "double"}).params()
    for params in ({"goal_set": "0"}, {"goal_set": "04"}, {"goal_set": "0a"}, {"goal_set": "011"},
                   {"maze": "single", "goal_set": "02"}):
        with pytest.raises(EntmError, match="goal_set .* must be two or more different goal digits"):
            make_task("tmaze", {"maze": "double", **params})


def test_swaps_errors():
    for params, match in (({"swaps": 0}, "swaps must be at least 1"),
                          ({"swaps": 2, "swap_fraction": 0.6}, "swaps 2 .* needs swap_fraction 0"),
                          ({"swaps": 5, "rounds": 10}, "swaps 5 needs at least 12 rounds")):
        with pytest.raises(EntmError, match=match):
            make_task("tmaze", params)
    with pytest.raises(EntmError, match="swaps 3 needs at least 8 rounds"):
        make_task("tmaze", {"swaps": 3}).sample(np.random.default_rng(0), 4, length=6)


def test_tape_style_timing_discrete():
    """The double discrete maze: 3 steps a round (two junctions, the reward step), 60 in all."""
    task = make_task("tmaze", {"variant": "discrete", "maze": "double"})
    env = task.environment(task.sample(np.random.default_rng(0), 2))
    steps = 0
    first = env.observe()
    np.testing.assert_array_equal(first[0], [1.0, 0.0, 0.0])
    while not env.done:
        env.observe()
        env.act(np.zeros((2, 2)))  # a tie: left
        steps += 1
    assert steps == 60
    assert np.all(env.reached == 20)


def test_rangefinders_on_hand_checked_positions():
    mz = maze("double")
    # start tile centre (4.5, 6.5) facing north: the stem is open up to the top wall row (y = 1)
    ahead = rangefinder(mz.wall, 4.5, 6.5, 0.0, -1.0)
    assert ahead == pytest.approx(3.0)  # 4.5 tiles to y = 2.0... capped at the 3-tile cutoff
    assert rangefinder(mz.wall, 4.5, 3.5, 0.0, -1.0) == pytest.approx(1.5)  # wall tile (4, 1) starts at y = 2
    # diagonals from the stem centre: the walls beside the stem are 0.5 tile away sideways
    r = 1 / np.sqrt(2)
    assert rangefinder(mz.wall, 4.5, 5.5, -r, -r) == pytest.approx(0.5 * np.sqrt(2))
    assert rangefinder(mz.wall, 4.5, 5.5, r, -r) == pytest.approx(0.5 * np.sqrt(2))
    # at the first junction's centre facing north, the diagonals run along the corridor to the top wall
    assert rangefinder(mz.wall, 4.5, 2.5, -r, -r) == pytest.approx(0.5 * np.sqrt(2))
    # facing west from the junction: 3.5 tiles to the west wall at x = 1... goal column x = 1 is open, wall at x < 1
    assert rangefinder(mz.wall, 4.5, 2.5, -1.0, 0.0) == pytest.approx(3.0)
    assert rangefinder(mz.wall, 3.5, 2.5, -1.0, 0.0) == pytest.approx(2.5)
    # the table the environment reads: tenths of a tile, heading, sensor; readings / 3
    off_centre = mz.sensors[43, 55, 0]  # (4.3, 5.5) facing north: walls 0.3 tile left, 0.7 tile right
    np.testing.assert_allclose(off_centre, [0.3 * np.sqrt(2) / 3, 1.0, 0.7 * np.sqrt(2) / 3])
    # a ray through a wall tile's corner point passes it: from (4.5, 3.5) facing north the diagonals
    # graze the corners (4, 3) and (5, 3), run through the corridor row and hit the top wall's
    # corners (3, 2) and (6, 2), 1.5 * sqrt(2) tiles away
    env_obs = mz.sensors[45, 35, 0]
    np.testing.assert_allclose(env_obs, [1.5 * np.sqrt(2) / 3, 1.5 / 3, 1.5 * np.sqrt(2) / 3])
    west = mz.sensors[35, 25, 3]  # (3.5, 2.5) facing west: -45 deg is south-west, +45 north-west
    np.testing.assert_allclose(west, [0.5 * np.sqrt(2) / 3, 2.5 / 3, 0.5 * np.sqrt(2) / 3])


def test_maze_layout():
    mz = maze("double")
    assert (mz.width, mz.height) == (9, 7)
    assert sorted(map(tuple, np.argwhere(mz.junction)[:, ::-1].tolist())) == [(1, 2), (4, 2), (7, 2)]
    assert [int(mz.goal_of[y, x]) for x, y in GOALS["double"]] == [0, 1, 2, 3]
    assert (maze("single").width, maze("single").height) == (9, 5)
    # the authors' turn signal counts corridor neighbours only: the second-level junctions sit between goals
    assert np.argwhere(mz.corridor_junction)[:, ::-1].tolist() == [[4, 2]]
    assert np.argwhere(maze("single").corridor_junction)[:, ::-1].tolist() == [[4, 1]]


@pytest.mark.parametrize("rule, marked", [("open", {(1, 2), (4, 2), (7, 2)}), ("corridor", {(4, 2)})])
def test_the_junction_input_marks_the_rules_tiles(rule, marked):
    """The steering agent driven along the junction row, west then east: the junction input is 1 exactly on
    the rule's tiles."""
    task = make_task("tmaze", {"variant": "continuous", "steering": "argmax", "steer_max": 90.0,
                               "junction_rule": rule, "rounds": 2, "max_steps": 200})
    env = task.environment(task.sample(np.random.default_rng(0), 1))
    seen = set()
    turns = [1] * 40 + [0] + [1] * 29 + [2, 2] + [1] * 60  # north 4 tiles, west 3, back east 6
    for o in turns:
        x = env.observe()
        if x[0, 4] == 1:
            seen.add((int(np.floor(env.x[0])), int(np.floor(env.y[0]))))
        out = np.zeros((1, 3))
        out[0, o] = 1.0
        env.act(out)
        if env.rewarding[0] or not env.active[0]:
            break
    assert seen == marked


def test_collision_ends_the_round_where_the_agent_was():
    task = make_task("tmaze", {"variant": "continuous", "maze": "double"})
    env = task.environment(task.sample(np.random.default_rng(0), 1))
    left = np.array([[1.0, 0.0, 0.0]])
    straight = np.array([[0.0, 1.0, 0.0]])
    # turning left on the start tile: heading west, 0.1 tile later... still on the start tile (4.4, 6.5)
    env.act(left)
    assert (env.ix[0], env.iy[0], env.heading[0]) == (44, 65, 3) and not env.rewarding[0]
    for _ in range(4):  # 4.3 .. 4.0: still tile 4
        env.act(straight)
    assert env.ix[0] == 40 and not env.rewarding[0]
    env.act(straight)  # 3.9 would be in the wall tile (3, 6): crash, stays at 4.0
    assert env.rewarding[0] and env.ix[0] == 40
    assert env.observe()[0, 3] == 0.0  # no reward after a crash
    assert env.reached[0] == 0 and env.right[0] == 0
    env.act(straight)  # the reward step: back to the start facing north, round 2
    assert (env.ix[0], env.iy[0], env.heading[0], env.round[0]) == (45, 65, 0, 1)


def test_time_out_after_max_steps():
    task = make_task("tmaze", {"variant": "continuous", "maze": "double", "max_steps": 10})
    env = task.environment(task.sample(np.random.default_rng(0), 1))
    straight = np.array([[0.0, 1.0, 0.0]])
    for _ in range(9):
        env.act(straight)
    assert not env.rewarding[0]
    env.act(straight)
    assert env.rewarding[0] and env.iy[0] == 55


def test_goal_gives_its_reward():
    """Single maze, turning left at the junction's centre: goal 0, high for pair (0, 1), low for (1, 0)."""
    task = make_task("tmaze", {"variant": "continuous", "maze": "single"})
    env = task.environment(task.sample(np.random.default_rng(0), 2))  # pairs (0, 1) and (1, 0)
    moves = 0
    while not env.rewarding.all():
        x = env.observe()
        out = np.zeros((2, 3))
        out[:, 1] = 1
        at = (env.ix % SCALE == 5) & (env.iy % SCALE == 5) & (x[:, 4] == 1)
        out[at] = (1, 0, 0)
        env.act(out)
        moves += 1
    # 3 tiles up the stem to the junction's centre (30 moves), then west from x = 4.5 into the goal tile at x < 2
    assert moves == 30 + 26
    np.testing.assert_allclose(env.observe()[:, 3], [1.0, 0.1])
    assert list(env.reached) == [1, 1] and list(env.right) == [1, 1]


def test_bad_parameters():
    with pytest.raises(EntmError, match="variant"):
        make_task("tmaze", {"variant": "grid"})
    with pytest.raises(EntmError, match="maze"):
        make_task("tmaze", {"maze": "triple"})
    with pytest.raises(EntmError, match="rounds"):
        make_task("tmaze", {"rounds": 1})
    with pytest.raises(EntmError, match="junction_rule"):
        make_task("tmaze", {"variant": "continuous", "junction_rule": "wide"})
    with pytest.raises(EntmError, match="swap_fix.*swap_fraction"):
        make_task("tmaze", {"swap_fix": True})
    with pytest.raises(EntmError, match="swap_fix must be true or false"):
        make_task("tmaze", {"swap_fraction": 0.6, "swap_fix": 2})
    with pytest.raises(EntmError, match="steering 'argmax' needs the continuous variant"):
        make_task("tmaze", {"steering": "argmax"})


def test_render_continuous_png_and_discrete_table(tmp_path):
    task = make_task("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6})
    deps = task.sample(np.random.default_rng(3), 2)
    env = task.environment(deps, record=True)
    run_continuous(task, env, [IdealAgent(4) for _ in range(2)])
    p = draw_deployment(task, env, 0, tmp_path / "paths.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rounds = env.round_log(0)
    assert len(rounds) == 6 and all(r["right"] for r in rounds)
    assert rounds[0]["x"][0] == 4.5 and rounds[0]["y"][0] == 6.5

    task = make_task("tmaze", {"variant": "discrete", "maze": "double", "rounds": 6})
    env = task.environment(task.sample(np.random.default_rng(3), 2), record=True)
    run_discrete(task, env, [AlwaysLeft(), AlwaysLeft()])
    text = draw_deployment(task, env, 1, tmp_path / "rounds.txt").read_text()
    assert len(text.splitlines()) == 7 and "round" in text


@pytest.mark.parametrize("steering", ["turns", "angle", "argmax"])
@pytest.mark.parametrize("junction", [0, 1])
def test_observation_has_the_declared_inputs_and_the_numpy_loop_runs(steering, junction):
    """``junction_input = 0`` drops the junction column for both agents (the 90-degree agent returned 5
    columns for 4 declared inputs, and the closed loop failed on it)."""
    from helpers import mutated_population

    from entm.closed_loop import run_closed_loop
    from entm.evolution.loop import EvolveSettings
    from entm.phenotype import pack_genomes

    params = {"variant": "continuous", "maze": "single", "rounds": 3, "max_steps": 30, "steering": steering,
              "junction_input": junction}
    task, _, machine, config, genomes = mutated_population(EvolveSettings(task="tmaze", task_params=params), 6)
    deps = task.sample(np.random.default_rng(0), 2)
    x = task.environment(deps).observe()
    assert x.shape == (2, task.num_inputs) == (2, 4 + junction)
    assert (x[:, :3] > 0).all() and (x[:, 3] == 0).all()
    env = task.environment(deps, groups=len(genomes))
    run = run_closed_loop(machine, pack_genomes(genomes, config.genome_config), env, fused=False)
    assert run.steps > 3 and not env.active.any() and (env.round == 3).all()
