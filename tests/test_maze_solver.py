"""The continuous double T-maze preset is solvable in its own semantics: a hand-built agent.

``greve2016-double-tmaze`` gives the agent three rangefinders and the reward, one steering output
(at most 45 degrees a step) and a tape two values wide; no junction signal.  The evolved champions
stop at about 0.95 of the rounds right with 4-5 links (docs/presets.md).  The agent below is logically
right in every round of every reward permutation: it shows what a solution takes in this setup.

One tape cell, the head never moves, holds the goal being tried in one of two forms:

- *S* ``(c0, c1)``, both 0 or 1: the turns to the goal (0 left, first turn first).  The blank cell
  (0, 0) is goal 0.
- *T* ``(c1, 0.3 + 0.3 c0)``: the same goal once the first junction is passed.

The steering side at a junction is always the first value read, so the first junction turns by c0
and the second by c1.  The first step with a wall close ahead (``range_ahead`` < 0.215) while the cell
is in S form (its second value 0 or 1) rewrites it in T form; the T form's second value is never 0
or 1, so later steps leave it alone.  On the reward step the cell goes back to S form: the same goal
after the high reward, the next goal of the Gray cycle 00 -> 01 -> 11 -> 10 -> 00 after a low one
((c0, c1) -> (c1, 1 - c0)).  The goals of a cycle are all different, so every exploration is of goals
not tried since the last high reward.  Driving: turn towards the more open front diagonal (centring,
weight 0.5), and with a wall close ahead towards the code's side (weight 4).

13 hidden nodes and 36 links: a wall-ahead detector, three detectors of the second value's level, two of
the reward's, and the gates that combine them.
"""

import numpy as np
import pytest
from helpers import network_json

from entm.closed_loop import evaluate_deployments, run_closed_loop
from entm.evolution.reporters import Validator
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.phenotype import Network
from entm.presets import PRESETS
from entm.tasks import make_task

PRESET = PRESETS["greve2016-double-tmaze"].settings


def maze_solver(centring: float = 0.5, turn: float = 4.0, rewrite: bool = True) -> dict:
    """The agent of the module docstring as network JSON (sigmoid nodes: neat-python's sigmoid(5 z));
    ``rewrite=False`` leaves out the junction's write (the link from the S-to-T gate to the write strength)."""
    left, ahead, right, reward, r0, r1 = -1, -2, -3, -4, -5, -6
    steer, a0, a1, w, jump, s_left, s_stay, s_right = range(8)
    wall, s_one, s_zero, t_one, rewarded, high, to_t, m1, m2, p, q, go_left, go_right = range(8, 21)
    B = 30.0  # |z| >= 12 saturates neat-python's sigmoid exactly (it clamps 5 z at +-60)
    tau0, tau1 = np.log(0.3 / 0.7) / 5, np.log(0.6 / 0.4) / 5  # sigmoid(5 z) = 0.3, 0.6
    bias = {wall: 1000 * 0.215, s_one: -0.8 * 2 * B, s_zero: 0.15 * 2 * B, t_one: -0.45 * 2 * B,
            rewarded: -0.05 * 600, high: -0.5 * 60, to_t: -1.5 * B, m1: -0.5 * B, m2: -1.5 * B, p: -1.5 * B,
            q: -0.5 * B, go_left: -0.5 * B, go_right: -1.5 * B,
            a0: -0.5 * B, a1: tau0, w: -0.5 * B, jump: -B, s_left: -B, s_stay: B, s_right: -B}
    links = [(ahead, wall, -1000.0),  # a wall closer ahead than 0.215 (off the 1/30 lattice of straight runs)
             (r1, s_one, 2 * B), (r1, s_zero, -2 * B), (r1, t_one, 2 * B),  # r1 > 0.8, < 0.15, > 0.45
             (reward, rewarded, 600.0), (reward, high, 60.0),  # reward > 0.05, > 0.5
             (wall, to_t, B), (s_one, to_t, B), (s_zero, to_t, B),  # wall ahead and S form: rewrite as T
             (t_one, m1, B), (rewarded, m1, -B), (high, m1, B),  # a0 = c0 after high / to T ...
             (rewarded, m2, B), (high, m2, -B), (r0, m2, B),  # ... = c1 after low
             (high, p, B), (r0, p, B),  # a1 = c1 after high
             (rewarded, q, B), (high, q, -B), (t_one, q, -B),  # a1 = 1 - c0 after low
             (wall, go_left, B), (r0, go_left, -B), (wall, go_right, B), (r0, go_right, B),
             (left, steer, centring), (right, steer, -centring), (go_left, steer, turn), (go_right, steer, -turn),
             (m1, a0, B), (m2, a0, B),
             (r0, a1, tau1 - tau0), (rewarded, a1, -12.0), (p, a1, 24.0), (q, a1, 24.0),
             (rewarded, w, B)] + ([(to_t, w, B)] if rewrite else [])
    hidden = [wall, s_one, s_zero, t_one, rewarded, high, to_t, m1, m2, p, q, go_left, go_right]
    return network_json([left, ahead, right, reward, r0, r1], 8, hidden, bias, links)


def _machine():
    task = make_task(PRESET["task"], PRESET["task_params"])
    return task, MemorySpec(PRESET["memory"], PRESET["memory_params"]["width"], heads=PRESET["heads"])


def test_a_hand_built_agent_is_logically_right_in_every_round():
    """Right in every round of the preset's deployments (all 12 permutations), of fresh ones, of 100-round
    deployments, through the fused compiled loop and the numpy loop alike, and on the run's validation."""
    task, spec = _machine()
    net_json = maze_solver()
    assert len(net_json["connections"]) == 36
    solver = Network.from_json(net_json)
    machine = Machine(task, spec)
    for seed, n, rounds in ((0, 12, None), (1, 48, None), (2, 24, 100)):
        deps = task.sample(np.random.default_rng(seed), n, rounds)
        scores, _ = evaluate_deployments(machine, solver, deps)
        assert scores.perfect.all()
        env = task.environment(deps)
        run_closed_loop(machine, [solver], env, fast=False)  # the numpy environment and tape
        assert task.score(env).perfect.all()
    assert Validator(task, spec, config=None, seed=0).perfect_network(solver)


def test_without_the_rewrite_at_the_first_junction_it_reaches_two_goals_only():
    """The T form is what tells the junctions apart: without it both turn by c0, so goals 1 and 2 (one left
    and one right turn) are never reached, and deployments whose high reward is at one of them fail."""
    task, spec = _machine()
    blind = maze_solver(rewrite=False)
    assert len(blind["connections"]) == 35
    scores, env = evaluate_deployments(Machine(task, spec), Network.from_json(blind),
                                       task.sample(np.random.default_rng(0), 12), record=True)
    goals = {r["goal"] for row in range(12) for r in env.round_log(row)}
    assert goals == {0, 3} and not scores.perfect.any()


#: the solver's parts (links named by their ends in :func:`maze_solver`'s numbering) and the score without
#: each: no more than always driving to goal 0 (docs/presets.md, "A maze curriculum")
PARTS = {"the rewrite at the first junction": ({(14, 3)}, 0.254),  # to_t -> w: every junction turns by c0
         "the step after a low reward": ({(16, 1), (18, 2)}, 0.300),  # m2 -> a0, q -> a1: the code never changes
         "the keep after a high reward": ({(15, 1), (17, 2)}, 0.300),  # m1 -> a0, p -> a1
         "the write on the reward step": ({(12, 3)}, 0.300),  # rewarded -> w
         "the code's turn at the junctions": ({(-5, 19), (-5, 20)}, 0.300)}  # r0 -> go_left, go_right


@pytest.fixture(scope="module")
def fresh_deployments():
    """120 fresh deployments of the preset's task, with the machine and the whole solver's (scores, recorded
    environment) on them; the solver is right in every round of every one (checked here once for all)."""
    task, spec = _machine()
    deps = task.sample(np.random.default_rng(123), 120)
    machine = Machine(task, spec)
    solved = evaluate_deployments(machine, Network.from_json(maze_solver()), deps, record=True)
    assert solved[0].perfect.all()
    return machine, deps, solved


def test_the_authors_reward_score_of_a_logically_perfect_agent(fresh_deployments):
    """``reward`` (Greve et al.'s ``RewardScorer``: 1 for the high reward, 0.1 for a low one, 0 for a crash, per
    round) of the solver: it has to explore, so it is below 1.  Over the 12 goal pairs the first high goal is
    found after 0-3 low rounds (1.5 on average: the solver tries the goals in a fixed order), and after the
    move the old goal pays low once and the new one is found after 0-2 more (1 on average): 3.5 low rounds of
    20, (20 - 3.5 * 0.9) / 20 = 0.8425; at best 1 low round (0.955), at worst 6 (0.73).  The figures are the
    rounds' own rewards, summed from the environment's round log."""
    scores, env = fresh_deployments[2]
    paid = np.array([[r["reward"] for r in env.round_log(row)] for row in range(len(scores.reward))])
    np.testing.assert_allclose(scores.reward, paid.mean(axis=1), rtol=1e-12)
    assert scores.reward.mean() == pytest.approx(0.8425, abs=1e-12)
    assert scores.reward.min() == pytest.approx(0.73) and scores.reward.max() == pytest.approx(0.955)
    assert sorted(set(np.round(paid.ravel(), 12))) == [0.1, 1.0]  # no crash


@pytest.mark.parametrize("part", sorted(PARTS))
def test_without_any_one_part_the_solver_scores_what_one_goal_scores(part, fresh_deployments):
    """The landscape around the solution: on 120 fresh deployments of the preset's task the solver is right in
    every round (the fixture), and without any one part it is right in at most 0.30 of the rounds (what
    driving to goal 0 every round scores; the evolved trail clocks score 0.9-0.96), in no deployment in
    every round."""
    links, score = PARTS[part]
    machine, deps, _ = fresh_deployments
    whole = maze_solver()
    cut = {**whole, "connections": [c for c in whole["connections"] if (c["from"], c["to"]) not in links]}
    assert len(cut["connections"]) == 36 - len(links)
    scores, _ = evaluate_deployments(machine, Network.from_json(cut), deps)
    assert scores.score.mean() == pytest.approx(score, abs=5e-4)
    assert not scores.perfect.any()


@pytest.mark.parametrize("centring", [0.75, 1.0])
def test_centring_stronger_than_the_junction_turn_allows_misses_the_second_junction(centring):
    """How narrow the driving is: with the centring weight at 0.75 or more the front diagonals, which see
    into both goals at the second junction, outweigh the code's turn there (measured: 0.25 and 0.5 are
    right everywhere, with the turn weight anywhere in 2-8)."""
    task, spec = _machine()
    scores, _ = evaluate_deployments(Machine(task, spec), Network.from_json(maze_solver(centring)),
                                     task.sample(np.random.default_rng(0), 12))
    assert not scores.perfect.any()


def test_the_rounds_as_lexicase_cases_replay_the_fused_loops_score():
    """``lexicase_cases rounds`` replays the logic from the goals the fused loop logged
    (:func:`entm.tasks.maze_logic.round_rights`): for the solver and two broken ones, run together, every
    deployment's rounds average to its fitness, which the compiled environment counted itself."""
    _, spec = _machine()
    task = make_task(PRESET["task"], {**PRESET["task_params"], "lexicase_cases": "rounds"})
    nets = [Network.from_json(maze_solver(**kw)) for kw in ({}, {"rewrite": False}, {"centring": 0.75})]
    deps = task.sample(np.random.default_rng(3), 12)
    env = task.environment(deps, groups=3)
    run_closed_loop(Machine(task, spec), nets, env)
    rows = task.fitness_rows(env, task.score(env))
    cases = task.lexicase_rows(env, rows)
    assert cases.shape == (36, task.rounds)
    np.testing.assert_allclose(cases.mean(axis=1), rows, rtol=1e-12)
    right = cases == 1.0
    assert right[:12].all() and right[12:].any() and not right[12:].all()  # the solver; the broken ones


def test_evaluate_phases_of_the_solver_and_of_an_agent_that_cannot_reach_two_goals(tmp_path, capsys):
    """``entm evaluate --phases``: the solver is right in every phase; the agent without the rewrite, which
    reaches goals 0 and 3 only, in no phase whose high goal is 1 or 2, and its figures are the rounds' own
    (:func:`entm.tasks.maze_logic.round_rights` on the same deployments)."""
    import json

    from entm.cli import main
    from entm.tasks.maze_logic import round_rights

    task, spec = _machine()
    meta = {"entm": {"task": PRESET["task"], "task_params": PRESET["task_params"], "memory": PRESET["memory"],
                     "memory_params": PRESET["memory_params"], "heads": PRESET["heads"]}}

    def evaluate(rewrite: bool, *more) -> str:
        path = tmp_path / f"agent-{rewrite}.json"
        path.write_text(json.dumps({**maze_solver(rewrite=rewrite), "metadata": meta}))
        capsys.readouterr()
        assert main(["evaluate", str(path), "--lengths", "20", "--episodes", "24", "--seed", "4", "--phases",
                     *more]) == 0
        return capsys.readouterr().out

    solver = json.loads(evaluate(True, "--json"))["lengths"]["20"]["phases"]
    assert list(solver["first"]) == ["0", "1", "2", "3"] and len(solver["moves"]) == 12
    assert all(v == {"phases": 6, "right": 1.0} for v in solver["first"].values())
    assert all(v == {"phases": 2, "right": 1.0} for v in solver["moves"].values())
    blind = json.loads(evaluate(False, "--json"))["lengths"]["20"]["phases"]
    for key, v in {**blind["first"], **blind["moves"]}.items():
        if key[-1] in "12":  # the phase's high goal is one it never reaches
            assert v["right"] == 0.0, key
    deps = task.sample(np.random.default_rng([4, 20]), 24, length=20)
    _, env = evaluate_deployments(Machine(task, spec), Network.from_json(maze_solver(rewrite=False)), deps)
    right = round_rights(env.goal_log, env.schedule, task.goals)
    before = np.array([right[i, :deps.switch[i]].all() for i in range(24)])
    after = np.array([right[i, deps.switch[i]:].all() for i in range(24)])
    for g in range(4):
        assert blind["first"][str(g)]["right"] == pytest.approx(before[deps.first == g].mean())
    for a, b in task.pairs:
        pair = (deps.first == a) & (deps.second == b)
        assert blind["moves"][f"{a}>{b}"]["right"] == pytest.approx(after[pair].mean())
    assert 0 < before.mean() < 1 or 0 < after.mean() < 1  # not all one way: the figures say something
    text = evaluate(True)
    assert "phases at 20 rounds" in text and "moves from 3:" in text and "3>2 1.00 (2)" in text
