"""Presets (entm presets, entm evolve --preset) and the authors' task parameters they use."""

import json

import numpy as np
import pytest
from helpers import main_error, network_json, run_main, season_preset_spec

from entm import runs
from entm.errors import EntmError
from entm.presets import PRESETS, preset_config_path
from entm.tasks import make_task
from entm.tasks.maze import maze, rangefinder, rangefinder_rows, sensor_directions, SENSOR_CUTOFF

AUTHORS_TMAZE = PRESETS["greve2016-double-tmaze"].settings["task_params"]
AUTHORS_SEASON = PRESETS["luders2017-season"].settings["task_params"]


def test_new_parameters_at_their_defaults_leave_the_tasks_as_they_were():
    for name in ("tmaze", "season"):
        task = make_task(name)
        assert task.nondefault_dynamics() == {}
        assert not set(task.dynamics_defaults) & set(task.params())  # run.json, names and identities unchanged
    assert make_task("tmaze", {"variant": "continuous"}).num_inputs == 5
    assert make_task("tmaze", AUTHORS_TMAZE).nondefault_dynamics() == {
        "steering": "angle", "junction_input": 0, "swap_fraction": 0.6}


def test_the_authors_switch_rule_draws_rounds_10_to_16():
    task = make_task("tmaze", AUTHORS_TMAZE)
    deps = task.sample(np.random.default_rng(0), 2000)
    assert sorted(set(deps.switch.tolist())) == list(range(10, 17))
    assert sorted(set(make_task("tmaze").sample(np.random.default_rng(0), 2000).switch.tolist())) == list(range(6, 13))


def test_rangefinder_of_any_direction_agrees_with_the_lattice_table():
    mz = maze("double")
    rng = np.random.default_rng(1)
    x, y = rng.uniform(1, 8, 200), rng.uniform(1, 6, 200)
    for h in range(4):
        for dx, dy in sensor_directions(h):
            want = rangefinder(mz.wall, x, y, dx, dy) / SENSOR_CUTOFF
            got = rangefinder_rows(mz.wall, x, y, np.full(200, dx), np.full(200, dy))
            np.testing.assert_allclose(got, want, atol=1e-12)


def _drive(task, steer, rounds=2):
    deps = task.sample(np.random.default_rng(0), 1, length=rounds)
    env = task.environment(deps, record=True)
    seen = []
    while not env.done:
        seen.append(env.observe())
        env.act(np.full((1, 1), steer))
    return env, np.array(seen)[:, 0]


def test_the_steering_agent_drives_straight_into_the_wall_and_turns_at_most_steer_max():
    task = make_task("tmaze", AUTHORS_TMAZE)
    assert task.input_names == ["range_left", "range_ahead", "range_right", "reward"]
    assert task.output_names == ["steer"]
    env, seen = _drive(task, 0.5)
    # straight north from the start tile's centre (4.5, 6.5) through the junction row into the wall at row 1:
    # 5.5 tiles, the 55th move enters the wall (a crash: no goal, reward 0)
    assert [r["goal"] for r in env.round_log(0)] == [-1, -1]
    assert env.goal_log.tolist() == [[-1, -1]]
    assert seen[0, 1] == pytest.approx(1.0) and seen.shape[1] == 4
    full_left, _ = _drive(task, 1.0)
    assert [r["goal"] for r in full_left.round_log(0)] == [-1, -1]  # circling left of the start: a wall
    env = task.environment(task.sample(np.random.default_rng(0), 1))
    env.act(np.ones((1, 1)))
    assert env.angle[0] == pytest.approx(np.pi / 2 + np.radians(45))


def test_the_authors_season_environment():
    task = make_task("season", AUTHORS_SEASON)
    assert task.num_inputs == 10 and (task.decision_step, task.feedback_steps) == (2, 1)
    deps = task.sample(np.random.default_rng(3), 6)
    assert (deps.days == deps.days[:, :1, :1]).all()  # one season length per deployment
    env = task.environment(deps, groups=1)
    inputs = []
    while not env.done:
        x = env.observe()
        inputs.append(x)
        env.act(np.full((6, 1), 0.9))  # always eat
    x = np.array(inputs)  # (steps, rows, inputs)
    S = task.steps_per_food
    food = x[0::S, :, :8].argmax(axis=2)  # the food input of each item
    for b in range(6):
        n = deps.items[b]
        assert (food[:n, b] == deps.season[b, :n] * 4 + deps.food[b, :n]).all()
        feedback = x[S - 1::S, b, 8:][:n]  # the item's last step
        assert (feedback[:, 0] == ~deps.poison[b, :n]).all() and (feedback[:, 1] == deps.poison[b, :n]).all()
        assert (x[S - 2::S, b, 8:][:n] == 0).all()  # the decision step shows no feedback
    # never eating: right on poison (reward), wrong on good food (punishment) -- feedback after every decision
    env = task.environment(deps, groups=1)
    inputs = []
    while not env.done:
        inputs.append(env.observe())
        env.act(np.full((6, 1), 0.1))
    feedback = np.array(inputs)[S - 1::S, 0, 8:][:deps.items[0]]
    assert (feedback[:, 0] == deps.poison[0, :deps.items[0]]).all()


def test_behaviour_descriptors_have_one_row_per_network():
    task = make_task("tmaze", {"rounds": 4})
    deps = task.sample(np.random.default_rng(0), 3)
    env = task.environment(deps, groups=2)
    while not env.done:
        env.observe()
        env.act(np.tile([[0.0, 1.0]], (6, 1)))  # always right: goal RR = 3
    d = task.behaviour(env)
    assert d.shape == (2, 3 * 4 * 4) and (d.reshape(2, 3, 4, 4).argmax(axis=3) == 3).all()


def test_presets_command_lists_each_with_its_source(capsys):
    status, out, _ = run_main(capsys, "presets")
    assert status == 0
    for name, p in PRESETS.items():
        assert f"{name}: {p.description}" in out and p.source in out
    status, out, _ = run_main(capsys, "presets", "greve2016-double-tmaze", "--json")
    data = json.loads(out)
    assert data["settings"]["task_params"]["swap_fraction"] == 0.6
    assert data["config"].endswith("greve2016-double-tmaze.ini")
    main_error(capsys, "presets", "nope", words=("unknown preset 'nope'", "greve2016-double-tmaze"))
    main_error(capsys, "evolve", "--preset", "nope", words=("unknown preset",))
    main_error(capsys, "evolve", "--preset", "luders2017-season", "--task", "tmaze", words=("contradicts",))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_configs_are_valid_and_fit_their_setup(name):
    from entm.evolution.loop import EvolveSettings, prepare
    from entm.neatconfig import config_sizes, read_config_text

    p = PRESETS[name]
    task, spec, machine, text = prepare(EvolveSettings(**p.settings, preset=name))
    path = preset_config_path(name)
    assert config_sizes(read_config_text(path)) == (machine.num_inputs, machine.num_outputs)


def test_evolve_with_a_preset_records_it_and_explicit_options_override(tmp_path, capsys):
    d = tmp_path / "run"
    status, _, err = run_main(capsys, "evolve", "--preset", "greve2016-double-tmaze", "--rounds", "2",
                              "--episodes", "2", "--max-steps", "20", "--width", "3", "--generations", "1",
                              "--serial", "--quiet", "--run-dir", d)
    assert status == 0, err
    run = json.loads((d / "run.json").read_text())
    assert run["preset"] == "greve2016-double-tmaze" and run["episodes"] == 2
    assert run["task_params"]["rounds"] == 2 and run["task_params"]["steering"] == "angle"
    assert run["memory_params"]["width"] == 3
    assert run["network_inputs"] == 4 + 3 and run["network_outputs"] == 1 + 3 + 5
    assert "pop_size              = 300" in (d / "config.ini").read_text()
    # the season preset's tape options, one of them overridden (the others kept)
    d = tmp_path / "season"
    status, _, err = run_main(capsys, "evolve", "--preset", "luders2017-season", "--years", "1", "--episodes", "2",
                              "--expand-location", "false", "--generations", "1", "--serial", "--quiet",
                              "--run-dir", d)
    assert status == 0, err
    assert json.loads((d / "run.json").read_text())["memory_params"] == {
        "width": 10, "min_jump_similarity": 0.6, "blank": 0.5, "max_cells": 8, "expand_location": False}


def test_the_season_preset_grows_the_foods_met_and_stages_none_is_the_authors_schedule(tmp_path, capsys):
    """The season preset's curriculum (entm's, not the authors'): its first generation meets one of each
    season's four foods every day, a quarter of the task's items on the same deployments; ``--stages none``
    is the authors' schedule, every food every day, with no stage recorded."""
    steps = {}
    for name, extra in (("preset", []), ("none", ["--stages", "none"])):
        d = tmp_path / name
        status, _, err = run_main(capsys, "evolve", "--preset", "luders2017-season", "--episodes", "4", *extra,
                                  "--generations", "1", "--serial", "--quiet", "--run-dir", d)
        assert status == 0, err
        (m,) = runs.read_metrics(d)
        steps[name] = m["genome_steps"]
        assert m.get("stage") == (0 if name == "preset" else None)
    assert json.loads((tmp_path / "preset" / "run.json").read_text())["task_params"]["stages"] == \
        "foods_shown=1,2,3 advance=0.9 restart=500"
    assert 4 * steps["preset"] == steps["none"]


def test_discrete_maze_preset_evaluates_every_generation_on_its_seeds_deployments(tmp_path, capsys):
    """The discrete-double-tmaze preset keeps generation 0's deployments (drawn from the run's seed): the
    switch rounds are the same in every generation and differ between seeds."""
    from entm.evolution.evaluator import EvalSettings, GenomeEvaluator

    d = tmp_path / "run"
    status, _, err = run_main(capsys, "evolve", "--preset", "discrete-double-tmaze", "--generations", "2",
                              "--serial", "--quiet", "--run-dir", d)
    assert status == 0, err
    run = json.loads((d / "run.json").read_text())
    assert run["fixed_episodes"] is True and run["episodes"] == 12

    def evaluator(fixed, seed=0):
        from entm.evolution.loop import EvolveSettings, prepare

        task, spec, machine, text = prepare(EvolveSettings(**PRESETS["discrete-double-tmaze"].settings,
                                                           preset="discrete-double-tmaze"))
        return GenomeEvaluator(EvalSettings(config_text=text, task="tmaze", task_params=task.params(), memory=spec,
                                            seed=seed, episodes=12, fixed_episodes=fixed))

    fixed, fresh, other = evaluator(True), evaluator(False), evaluator(True, seed=1)
    switches = [fixed.deployments(g).switch.copy() for g in (0, 1, 7)]
    assert all((s == switches[0]).all() for s in switches)
    assert not all((fresh.deployments(g).switch == switches[0]).all() for g in (1, 2, 3))
    assert not (other.deployments(0).switch == switches[0]).all()


def _gray_code_maze_solver(advance: bool = True) -> dict:
    """A hand-built discrete double T-maze solver (network JSON).  One tape cell holds a goal code
    (c0, c1), blank (0, 0) at first; the head never moves.  Junction k turns right iff c_k is 1
    (hidden node h_k = junction k AND c_k); a low reward (0.1) rewrites the cell with the next code of
    the cycle 00 -> 01 -> 11 -> 10 -> 00 (a0 = c1, a1 = 1 - c0), a high one leaves it.  The goals of a
    cycle are all different, so every round is logically right.  ``advance=False`` writes a1 = c0: the
    code stays 00, the agent always drives to goal 0."""
    BIG = 30.0  # 5 * 15 = 75: neat-python's sigmoid clamps at 60, so +-15 saturates exactly
    j1, j2, reward, c0, c1 = -1, -2, -3, -4, -5
    left, right, a0, a1, w, jump, sl, ss, sr, h0, h1 = range(11)
    bias = {left: 0.0, right: -BIG / 2, a0: -BIG / 2, a1: BIG / 2 if advance else -BIG / 2, w: 6.0,
            jump: -BIG / 2, sl: -BIG / 2, ss: BIG / 2, sr: -BIG / 2, h0: -1.5 * BIG, h1: -1.5 * BIG}
    links = [(j1, h0, BIG), (c0, h0, BIG), (j2, h1, BIG), (c1, h1, BIG), (h0, right, BIG), (h1, right, BIG),
             (c1, a0, BIG), (c0, a1, -BIG if advance else BIG),
             (reward, w, -12.0), (j1, w, -BIG), (j2, w, -BIG)]

    return network_json([j1, j2, reward, c0, c1], 9, [h0, h1], bias, links)


def test_reward_tasks_validate_a_solution_on_fresh_deployments():
    """A solver of a reward task must also be perfect on the task's validation deployments (drawn from
    the run's seed, apart from the generation's): a hand-built solver passes, the same network without
    the code's advance does not."""
    from entm.closed_loop import evaluate_deployments
    from entm.evolution.reporters import Validator
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    s = PRESETS["discrete-double-tmaze"].settings
    task = make_task(s["task"], s["task_params"])
    spec = MemorySpec(s["memory"], s["memory_params"]["width"], heads=s["heads"])
    assert task.validation == (None, 48)
    v = Validator(task, spec, config=None, seed=0)
    assert len(v.episodes.first) == 48 and v.episodes.rounds == 20
    solver, stuck = Network.from_json(_gray_code_maze_solver()), Network.from_json(_gray_code_maze_solver(False))
    assert v.perfect_network(solver) and not v.perfect_network(stuck)
    machine = Machine(task, spec)
    for rounds in (20, 100):  # and at five times the training rounds
        scores, _ = evaluate_deployments(machine, solver, task.sample(np.random.default_rng(rounds), 24, rounds))
        assert scores.perfect.all()
    scores, _ = evaluate_deployments(machine, stuck, task.sample(np.random.default_rng(1), 12))
    assert 0.2 < scores.score.mean() < 0.5  # right until goal 0 has given a low reward
    # the authors' reward score: the solver explores (3.5 low rounds of 20 on average over the 12 goal pairs,
    # as the steering maze's solver: tests/test_maze_solver.py); the stuck agent, always at goal 0, is paid
    # high exactly in the rounds whose high goal is goal 0 and low in the others
    deps = task.sample(np.random.default_rng(2), 120)
    assert evaluate_deployments(machine, solver, deps)[0].reward.mean() == pytest.approx(0.8425, abs=1e-12)
    paid = np.where(deps.schedule() == 0, 1.0, 0.1).mean(axis=1)
    np.testing.assert_allclose(evaluate_deployments(machine, stuck, deps)[0].reward, paid, rtol=1e-12)


def _season_solver(hidden: bool = True) -> dict:
    """A hand-built solver of the authors' season task (network JSON), in the preset's memory (M 10, default
    jump below 0.6, blank 0.5, at most 8 cells).  Each of the 8 foods has a cell: columns a0-a7 hold the
    food's code, a linear Reed-Muller word (bit k of food f = parity of f AND k; any two codes differ in 4
    of the 8 columns), a8 is 0 and a9 says whether the food is good.  While a food is shown without
    feedback the head jumps with the key (code, 0, 0.5): to the food's cell (similarity 0.95), or, for a
    food not stored yet (another food's cell or a blank one: similarity 0.55), to the tape's last cell.
    It eats unless the cell read says poison (a9 = 0; a blank read, 0.5, eats).  On the feedback step it
    writes (code, 0, good) where it stands and shifts right (past the last cell the tape grows: a new
    spare), with good = (ate AND reward) OR (avoided AND punishment), hidden nodes h1 and h2.  Every first
    sight of a food is on an unscored day, so every scored decision is right.

    ``hidden=False``: input-output links only.  a8 is 1 (a stored-cell mark), a cell is written only
    while it is blank (w from feedback minus the read a8), and good = reward: the first decision is
    always "eat"."""
    BIG = 30.0  # 5 * 15 = 75: neat-python's sigmoid clamps at 60, so +-15 saturates exactly
    food = [-(f + 1) for f in range(8)]
    reward, punishment, mark_read, flag_read = -9, -10, -19, -20  # r8, r9: the reads of a8, a9
    eat, a, w, jump, sl, ss, sr, h1, h2 = 0, list(range(1, 11)), 11, 12, 13, 14, 15, 16, 17
    bias = {eat: -8.0, **{a[k]: -BIG / 2 for k in range(9)}, w: -10.0, jump: 10.0, sl: -BIG / 2, ss: 10.0,
            sr: -10.0, h1: -25.0, h2: -5.0}
    links = [(food[f], a[k], BIG) for k in range(8) for f in range(8) if bin(f & k).count("1") % 2]
    links += [(flag_read, eat, 20.0)]
    if hidden:
        links += [(flag_read, h1, 20.0), (reward, h1, 20.0), (flag_read, h2, -20.0), (punishment, h2, 10.0),
                  (h1, a[9], 20.0), (h2, a[9], 20.0), (reward, a[9], -10.0), (punishment, a[9], -10.0),
                  (reward, w, 20.0), (punishment, w, 20.0)]
    else:
        bias.update({a[8]: BIG / 2, w: 10.0})
        links += [(reward, a[9], 20.0), (punishment, a[9], -20.0),
                  (reward, w, 20.0), (punishment, w, 20.0), (mark_read, w, -40.0)]
    for out, sign in ((jump, -1), (ss, -1), (sr, 1)):  # feedback: shift right; else jump
        links += [(reward, out, sign * 20.0), (punishment, out, sign * 20.0)]
    return network_json(list(range(-1, -21, -1)), 16, [h1, h2] if hidden else [], bias, links)


@pytest.mark.parametrize("hidden, size", [(True, 45), (False, 40)])
def test_a_hand_built_season_solver_is_perfect_in_the_authors_setup(hidden, size):
    """The season preset is solvable in its own memory semantics: the hand-built solvers above (2 hidden
    nodes and 45 links, or 40 input-output links, against the ~10 of the evolved champions) are right on
    every scored decision of the preset's deployments, of fresh ones, and of the 20-year generalisation
    test, and pass the validator; without reading the good/poison flag (always eating) one scores the share
    of good food."""
    from entm.closed_loop import evaluate_deployments
    from entm.evolution.reporters import Validator
    from entm.machine import Machine
    from entm.phenotype import Network

    task, spec = season_preset_spec()
    net_json = _season_solver(hidden)
    assert len(net_json["connections"]) == size
    solver = Network.from_json(net_json)
    machine = Machine(task, spec)
    for length, seed in ((None, 0), (None, 1), (20, 2)):  # training deployments; the 20-year, 4-10-day test
        scores, _ = evaluate_deployments(machine, solver, task.sample(np.random.default_rng(seed), 50, length))
        assert scores.perfect.all()
    assert Validator(task, spec, config=None, seed=0).perfect_network(solver)
    blind = json.loads(json.dumps(net_json))
    blind["connections"] = [c for c in blind["connections"] if (c["from"], c["to"]) != (-20, 0)]
    scores, _ = evaluate_deployments(machine, Network.from_json(blind), task.sample(np.random.default_rng(0), 50))
    assert not scores.perfect.any() and 0.4 < scores.score.mean() < 0.6


def test_the_expand_location_makes_the_shift_to_a_spare_unnecessary():
    """With the C# port's expand location (a write that changes the tape's last cell appends a blank one)
    the input-output solver needs no shift: without its 4 shift links (36 links) it stays on the cell it
    wrote, and the next new food's default jump finds the appended blank.  Without the expand location
    the same network finds no spare (the default jump lands on the last food's cell) and is perfect on
    no deployment."""
    from entm.closed_loop import evaluate_deployments
    from entm.machine import Machine
    from entm.phenotype import Network

    net_json = _season_solver(False)
    shift = (14, 15)  # stay, right: the feedback's shift right
    net_json["connections"] = [c for c in net_json["connections"] if c["to"] not in shift]
    assert len(net_json["connections"]) == 36
    solver = Network.from_json(net_json)
    for expand, solved in ((True, True), (False, False)):
        task, spec = season_preset_spec(expand_location=expand)
        scores, _ = evaluate_deployments(Machine(task, spec), solver, task.sample(np.random.default_rng(0), 50))
        assert scores.perfect.all() == solved
        assert (scores.score.mean() > 0.99) == solved


def test_the_season_loop_scores_nothing_without_any_one_of_its_parts():
    """The fitness landscape around the simplest season solution (docs/presets.md, "The expand location"):
    with the expand location and threshold 0.9, 16 input-output links (one-hot codes, no shift) are perfect;
    without any one part (the codes, the write's feedback gate or blank-only gate, the good flag, eating by
    the flag) they score exactly what always eating scores, 0.5; the jump's gate is not needed; with the
    rest in place the codes pay food by food."""
    from entm.closed_loop import evaluate_deployments
    from entm.machine import Machine
    from entm.phenotype import Network

    base = _season_solver(False)
    food, code = range(-8, 0), range(1, 9)
    base["connections"] = [c for c in base["connections"] if not (c["from"] in food and c["to"] in code)
                           and c["to"] not in (14, 15)]
    base["connections"] += [{"from": -(f + 1), "to": 1 + f, "weight": 30.0, "enabled": True} for f in range(8)]
    assert len(base["connections"]) == 16
    task, spec = season_preset_spec(min_jump_similarity=0.9, expand_location=True)
    machine, deps = Machine(task, spec), task.sample(np.random.default_rng(0), 50)

    def score(drop):
        net = json.loads(json.dumps(base))
        net["connections"] = [c for c in net["connections"] if not drop(c)]
        return evaluate_deployments(machine, Network.from_json(net), deps)[0].score.mean()

    parts = {"codes": lambda c: c["from"] in food and c["to"] in code,
             "feedback gate": lambda c: c["to"] == 11 and c["from"] in (-9, -10),
             "blank-only gate": lambda c: c["to"] == 11 and c["from"] == -19,
             "good flag": lambda c: c["to"] == 10, "eat by the flag": lambda c: c["to"] == 0}
    assert score(lambda c: False) == 1.0
    assert {name: score(drop) for name, drop in parts.items()} == {name: 0.5 for name in parts}
    assert score(lambda c: c["to"] == 12) == 1.0  # jumping on every step works as well
    by_codes = [score(lambda c, k=k: c["from"] in food and c["to"] in code and -c["from"] - 1 >= k) for k in range(9)]
    assert by_codes[0] == 0.5 and by_codes[-1] == 1.0
    assert all(a <= b for a, b in zip(by_codes, by_codes[1:])) and len(set(by_codes)) >= 6


def test_a_solver_of_the_eaten_feedback_is_one_link_from_the_authors_task():
    """docs/presets.md, "A season curriculum: feedback on eaten food first": the input-output solver writing
    its cell at every feedback (no blank-only gate) is perfect with feedback only after eating, gets about
    three quarters of the authors' task (an avoided poison's reward rewrites its flag to good), and with
    the write's strength from the flag read (one link, and the write's bias) solves the authors' task."""
    from entm.closed_loop import evaluate_deployments
    from entm.machine import Machine
    from entm.phenotype import Network

    every = _season_solver(False)  # w (node 11) = sigmoid(-10 + 20 feedback): written at every feedback
    every["connections"] = [c for c in every["connections"] if (c["from"], c["to"]) != (-19, 11)]
    gated = json.loads(json.dumps(every))  # w = sigmoid(-25 + 20 feedback + 20 flag): not on a poison cell
    gated["connections"].append({"from": -20, "to": 11, "weight": 20.0, "enabled": True})
    for net, bias in ((every, -10.0), (gated, -25.0)):
        next(n for n in net["nodes"] if n["id"] == 11)["bias"] = bias
    authors, spec = season_preset_spec()
    eaten = make_task("season", {**authors.params(), "feedback": "eaten"})
    deps = authors.sample(np.random.default_rng(0), 50)  # the feedback does not change the draws

    def score(task, net):
        return evaluate_deployments(Machine(task, spec), Network.from_json(net), deps)[0]

    assert score(eaten, every).perfect.all()
    at_every = score(authors, every)
    assert not at_every.perfect.any() and 0.7 < at_every.score.mean() < 0.8
    assert score(authors, gated).perfect.all() and score(eaten, gated).perfect.all()


@pytest.mark.parametrize("threshold, solved", [(0.6, False), (0.8, True), (0.9, True)])
def test_the_default_jump_threshold_decides_whether_the_food_inputs_can_be_the_codes(threshold, solved):
    """The input-output solver with each food's one-hot input copied as its code (8 links instead of 28):
    two one-hot codes differ in 2 of the 10 columns (similarity 0.75 with the good flag), above the authors'
    0.6, so a food without a cell yet jumps to another food's cell and nothing is perfect; from a
    threshold of 0.8 it is the spare's turn and every decision is right.  Under the preset's 0.6 the codes
    must be evolved apart (docs/presets.md)."""
    from entm.closed_loop import evaluate_deployments
    from entm.machine import Machine
    from entm.phenotype import Network

    net_json = _season_solver(False)
    food, code = range(-8, 0), range(1, 9)
    net_json["connections"] = [c for c in net_json["connections"] if not (c["from"] in food and c["to"] in code)]
    net_json["connections"] += [{"from": -(f + 1), "to": 1 + f, "weight": 30.0, "enabled": True} for f in range(8)]
    assert len(net_json["connections"]) == 20
    task, spec = season_preset_spec(min_jump_similarity=threshold)
    scores, _ = evaluate_deployments(Machine(task, spec), Network.from_json(net_json),
                                     task.sample(np.random.default_rng(0), 50))
    assert scores.perfect.all() == solved and (scores.score.mean() > 0.99) == solved


def test_graded_credit_pays_decisions_on_their_way_to_right():
    """``credit="graded"``: per scored decision, 0 at the wrong threshold rising to 1 at the right one.  Always
    eating at 0.9 gets the score; undecided at 0.5 gets 0 as the score and half as the credit; 0.6 leans
    towards eat.  The hand-built solver gets 1 either way, through the compiled loop, which knows the
    parameter (it changes no step).  At its default the parameter is left out of a run's parameters."""
    from entm.closed_env import env_supported
    from entm.closed_loop import evaluate_deployments
    from entm.machine import Machine
    from entm.phenotype import Network

    task = make_task("season", {**AUTHORS_SEASON, "credit": "graded"})
    deps = task.sample(np.random.default_rng(3), 6)
    for y, good, bad in ((0.9, 1.0, 0.0), (0.5, 0.5, 0.5), (0.6, 0.75, 0.25), (0.1, 0.0, 1.0)):
        env = task.environment(deps, groups=1)
        while not env.done:
            env.observe()
            env.act(np.full((6, 1), y))
        scores = task.score(env)
        n = env.scored.sum(axis=1)
        poison = (env.poison & env.scored).sum(axis=1)
        expected = (good * (n - poison) + bad * poison) / n
        np.testing.assert_allclose(task.fitness_rows(env, scores), expected)
        if y in (0.9, 0.1):
            np.testing.assert_allclose(task.fitness_rows(env, scores), scores.score)
        if y == 0.5:
            assert (scores.score == 0).all()
    _, spec = season_preset_spec()
    env = task.environment(task.sample(np.random.default_rng(0), 1))
    assert env_supported(task, env)
    scores, env = evaluate_deployments(Machine(task, spec), Network.from_json(_season_solver(True)),
                                       task.sample(np.random.default_rng(0), 50))
    assert scores.perfect.all() and (task.fitness_rows(env, scores) == 1.0).all()
    assert "credit" not in make_task("season", AUTHORS_SEASON).nondefault_dynamics()
    with pytest.raises(EntmError, match="unknown season credit 'soft'; expected one of threshold, graded"):
        make_task("season", {"credit": "soft"})


def test_the_memory_term_pays_the_season_loop_before_the_output_is_wired():
    """``memory_term``: the largest difference, over the read columns, between a read's mean before good
    food and before poison.  The 16-link loop (threshold 0.9, expand location) has it at 1 (its flag column
    reads 1 before good food, 0 before poison); without eating by the flag it still has it, where its score
    is always eating's 0.5; without the write's feedback gate or the codes it has less; with nothing
    written it is 0.  The compiled loop sums the same reads as the numpy loop, to the bit."""
    import dataclasses

    from entm.closed_env import env_supported
    from entm.closed_loop import run_closed_loop
    from entm.machine import Machine
    from entm.phenotype import Network

    base = _season_solver(False)
    food, code = range(-8, 0), range(1, 9)
    base["connections"] = [c for c in base["connections"] if not (c["from"] in food and c["to"] in code)
                           and c["to"] not in (14, 15)]
    base["connections"] += [{"from": -(f + 1), "to": 1 + f, "weight": 30.0, "enabled": True} for f in range(8)]
    task, spec = season_preset_spec(min_jump_similarity=0.9, expand_location=True)
    task = dataclasses.replace(task, memory_term=True)
    machine, deps = Machine(task, spec), task.sample(np.random.default_rng(0), 20)
    assert env_supported(task, task.environment(deps))

    def run(drop):
        net = json.loads(json.dumps(base))
        net["connections"] = [c for c in net["connections"] if not drop(c)]
        nets = [Network.from_json(net)] * 2
        envs = [task.environment(deps, groups=2) for _ in range(3)]
        envs[2].keep_decision_reads(20)  # the novelty descriptors' reads beside the memory term
        for env, fused in zip(envs, (True, False, True)):
            run_closed_loop(machine, nets, env, fused=fused)
        np.testing.assert_array_equal(envs[0].read_sums, envs[1].read_sums)
        np.testing.assert_array_equal(envs[0].read_sums, envs[2].read_sums)
        env = envs[0]
        scores = task.score(env)
        memory = task.memory_rows(env)
        np.testing.assert_array_equal(task.fitness_rows(env, scores), (scores.score + memory) / 2)
        assert task.fitness_terms(env)["memory"] is not None
        flag = envs[2].decision_reads[0, :, :, 9]  # the first network's reads of the good flag at its decisions
        lookup = task.lookup_behaviour(envs[2]).reshape(2, task.food_inputs, -1)  # (networks, foods, reads)
        return scores.score.mean(), memory.mean(), flag, lookup

    score, memory, flag, lookup = run(lambda c: False)
    assert (score, memory) == (1.0, 1.0)
    scored = deps.scored  # never past a deployment's end
    np.testing.assert_allclose(flag[scored], 1.0 - deps.poison[scored], rtol=0, atol=1e-9)  # 1: good food; 0: poison
    # the lookup descriptor: the flag's column tells every food's goodness (1), no other column tells any
    np.testing.assert_allclose(lookup[:, :, 9], 1.0, rtol=0, atol=1e-9)
    assert np.abs(lookup[:, :, :9]).max() < 1e-9
    score, memory = run(lambda c: c["to"] == 0)[:2]  # eat by the flag: off
    assert score == 0.5 and memory == 1.0
    for part in (lambda c: c["to"] == 11 and c["from"] in (-9, -10), lambda c: c["from"] in food and c["to"] in code):
        score, memory = run(part)[:2]
        assert score == 0.5 and memory < 0.9
    score, memory, _, lookup = run(lambda c: True)
    assert (score, memory) == (0.5, 0.0) and np.abs(lookup).max() < 1e-9  # nothing written: the reads tell nothing
    assert "memory_term" not in make_task("season", AUTHORS_SEASON).nondefault_dynamics()
