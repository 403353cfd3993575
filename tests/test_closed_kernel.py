"""The fused closed loop (entm.closed_kernel, entm.closed_env) against the numpy closed loop: per step,
per row, to the bit; the environments' final states, scores and fitness; the fallback for what the
compiled environment does not know; the plain environments of the bench."""

import dataclasses

import neat
import numpy as np
import pytest
from helpers import mutated_population

from entm.bench.plain import PlainTape
from entm.bench.plain_env import plain_environment, run_plain_closed
from entm.closed_env import ray_distance
from entm.closed_kernel import kernel_supports, run_fused_loop
from entm.closed_loop import run_closed_loop
from entm.evolution.loop import EvolveSettings
from entm.phenotype import Network, pack_genomes
from entm.tasks import make_task
from entm.tasks.maze import SENSOR_CUTOFF, maze, rangefinder_rows
from entm.tasks.tmaze import TMazeTask

CASES = {
    "tmaze-discrete-double": ("tmaze", {"variant": "discrete", "maze": "double"}),
    "tmaze-discrete-single": ("tmaze", {"variant": "discrete", "maze": "single", "rounds": 9}),
    "tmaze-continuous-double": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 8}),
    "tmaze-continuous-single": ("tmaze", {"variant": "continuous", "maze": "single", "rounds": 5,
                                          "max_steps": 70}),
    "season": ("season", {}),
    "season-short-food": ("season", {"steps_per_food": 3, "foods": 3, "poisonous": 1, "years": 2}),
    # the authors' settings the compiled environments know (docs/presets.md)
    "tmaze-continuous-authors": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6,
                                           "swap_fraction": 0.4}),
    "tmaze-continuous-no-junction": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6,
                                               "junction_input": 0}),
    # the steering agent: the greve2016-double-tmaze preset's settings, and with the junction input
    "tmaze-steering": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6, "swap_fraction": 0.6,
                                 "steering": "angle", "steer_max": 45.0, "junction_input": 0}),
    "tmaze-steering-junction": ("tmaze", {"variant": "continuous", "maze": "single", "rounds": 5, "max_steps": 70,
                                          "steering": "angle", "steer_max": 30.0}),
    # the authors' final setup: three steering outputs turning 22 degrees, their turn signal, centred swap
    "tmaze-argmax": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6, "swap_fraction": 0.6,
                               "swap_fix": True, "steering": "argmax", "steer_max": 22.0,
                               "junction_rule": "corridor"}),
    "season-authors": ("season", {"foods_per_season": "distinct", "season_days": "deployment",
                                  "feedback": "right", "feedback_length": 1, "years": 2}),
    # the same with the C# port's tape (below): the default jump, blank 0.5, 8 cells, the expand location
    "season-authors-tape": ("season", {"foods_per_season": "distinct", "season_days": "deployment",
                                       "feedback": "right", "feedback_length": 1, "years": 2}),
    "tmaze-steering-expand": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 6,
                                        "steering": "angle", "steer_max": 45.0, "junction_input": 0}),
    # the high reward moving three times (the discrete maze, and the steering agent of the preset; among goals
    # 0, 1 and 3 only, a curriculum stage's goal set)
    "tmaze-discrete-swaps": ("tmaze", {"variant": "discrete", "maze": "double", "rounds": 10, "swaps": 3}),
    "tmaze-steering-goal-set": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 8, "swaps": 3,
                                          "goal_set": "013", "steering": "angle", "junction_input": 0}),
    "tmaze-steering-swaps": ("tmaze", {"variant": "continuous", "maze": "double", "rounds": 8, "swaps": 3,
                                       "steering": "angle", "steer_max": 45.0, "junction_input": 0}),
    # the season curriculum's first stage: every item shown twice, the repeats scored
    "season-showings": ("season", {"foods_per_season": "distinct", "season_days": "deployment",
                                   "feedback": "right", "feedback_length": 1, "years": 2, "showings": 2}),
    # a foods curriculum's stage: two of each season's four foods met each day
    "season-foods-shown": ("season", {"foods_per_season": "distinct", "season_days": "deployment",
                                      "feedback": "right", "feedback_length": 1, "years": 2, "foods_shown": 2}),
}

#: tape options of the discrete memory per case (default: none)
AUTHORS_SEASON_TAPE = {"min_jump_similarity": 0.6, "blank": 0.5, "max_cells": 8, "expand_location": True}
CASES_TAPE = {"season-authors-tape": AUTHORS_SEASON_TAPE, "season-showings": AUTHORS_SEASON_TAPE,
              "season-foods-shown": AUTHORS_SEASON_TAPE,
              "tmaze-steering-expand": {"expand_location": True, "did_write_threshold": 0.99}}

#: season's default memory is 10 wide; the recorded (numpy tape) comparison stays at 7 or less, where
#: the numpy tape sums in the kernel's order (tests/test_closed_loop.py)
CASES_WIDTH = {"season": 7, "season-short-food": 5, "season-authors": 6, "season-authors-tape": 6,
               "season-showings": 6, "season-foods-shown": 6}


def _population(case, n=40, seed=0, memory="discrete", width=None, recurrent=False, options=None):
    name, params = CASES[case]
    mp = dict(options or (CASES_TAPE.get(case, {}) if memory == "discrete" else {}))
    if width is not None:
        mp["width"] = width
    settings = EvolveSettings(task=name, task_params=params, memory=memory, memory_params=mp)
    task, _, machine, config, genomes = mutated_population(settings, n, seed=seed, hidden=2, mutations=10,
                                                           recurrent=recurrent)
    if name == "tmaze" and task.variant == "continuous":
        for g in genomes[::2]:
            (_make_steerer if task.steering == "angle" else _make_driver)(g, config.genome_config)
    return task, machine, config, genomes


def _make_driver(genome, gc):
    """Mutated genomes crash in the continuous maze every round: this one drives on while the way ahead is
    clear (more than 0.3 tiles) and otherwise turns where its other links (memory, reward, junction) say,
    so that it reaches goals, earns rewards and scores."""
    for (i, o), c in genome.connections.items():
        if o == 1 or (o in (0, 2) and i in (-1, -2, -3)):
            c.weight = 0.0
    conn = genome.connections.get((-2, 1)) or genome.create_connection(gc, -2, 1)
    conn.weight, conn.enabled = 10.0, True
    genome.connections[(-2, 1)] = conn
    genome.nodes[1].bias, genome.nodes[1].response, genome.nodes[1].activation = -1.0, 1.0, "sigmoid"
    genome.nodes[1].aggregation = "sum"


def _make_steerer(genome, gc):
    """The steering agent's driver: its ``steer`` output turns towards the side whose rangefinder sees
    farther (sigmoid(12 (left - right))), its other links (memory, reward) bend the turns, so that it
    reaches goals, earns rewards and scores."""
    for (i, o), c in genome.connections.items():
        if o == 0 and i in (-1, -2, -3):
            c.weight = 0.0
    for i, weight in ((-1, 12.0), (-3, -12.0)):
        conn = genome.connections.get((i, 0)) or genome.create_connection(gc, i, 0)
        conn.weight, conn.enabled = weight, True
        genome.connections[(i, 0)] = conn
    node = genome.nodes[0]
    node.bias, node.response, node.activation, node.aggregation = 0.0, 1.0, "sigmoid", "sum"


def _runs(task, machine, packed, deps, **numpy_kw):
    """(fused env, fused run, numpy env, numpy run) on the same deployments."""
    out = []
    for fused in (True, False):
        env = task.environment(deps, groups=packed.G)
        out += [env, run_closed_loop(machine, packed, env, fused=fused, **numpy_kw)]
    return out


def _assert_same_end(task, env_a, run_a, env_b, run_b):
    """The two environments end in the same state; the same scores, fitness, terms, steps, flags."""
    for key, value in vars(env_b).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(env_a, key), value, err_msg=key)
        elif isinstance(value, (int, float, np.integer)):
            assert getattr(env_a, key) == value, key
    sa, sb = task.score(env_a), task.score(env_b)
    for f in ("score", "perfect", "bit_errors"):
        np.testing.assert_array_equal(getattr(sa, f), getattr(sb, f))
    np.testing.assert_array_equal(task.fitness_rows(env_a, sa), task.fitness_rows(env_b, sb))
    for k, v in task.fitness_terms(env_b).items():
        np.testing.assert_array_equal(task.fitness_terms(env_a)[k], v)
    assert (run_a.steps, run_a.row_steps) == (run_b.steps, run_b.row_steps)
    np.testing.assert_array_equal(run_a.nonfinite, run_b.nonfinite)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_loop_replays_the_recorded_numpy_loop_step_by_step(case):
    """The numpy loop's record (what each row saw, its task outputs, its head outputs) is the fused
    loop's, bit for bit, for every running step of every row, on 40 mutated genomes x 12 deployments."""
    name = CASES[case][0]
    task, machine, config, genomes = _population(case, width=CASES_WIDTH.get(case))
    packed = pack_genomes(genomes, config.genome_config)
    deps = task.sample(np.random.default_rng(3), 12)
    env = task.environment(deps, groups=packed.G)
    rec = run_closed_loop(machine, packed, env, record=True)  # the numpy loop, the numpy tape, recorded
    fenv = task.environment(deps, groups=packed.G)
    steps, per_row, nonfinite, (x, y, hp) = run_fused_loop(machine, packed, fenv, trace_steps=rec.steps)
    assert steps == rec.steps and per_row.sum() == rec.row_steps
    running = np.arange(rec.steps)[None, :] < per_row[:, None]
    assert running.sum() > 5000
    if name == "tmaze":
        assert task.score(env).score.max() > 0.3  # some rows reach goals and score
    if getattr(task, "variant", None) == "continuous" or task.name == "season":
        assert len(set(per_row)) > 1  # rows finish at different steps (the discrete maze's rounds are fixed)
    for mine, recorded in ((x, rec.inputs), (y, rec.outputs), (hp, rec.head_outputs)):
        np.testing.assert_array_equal(mine[running], recorded[running])
    np.testing.assert_array_equal(nonfinite, rec.nonfinite)
    np.testing.assert_array_equal(task.score(fenv).score, task.score(env).score)
    assert len(set(np.round(task.score(env).score, 6))) > 2  # the genomes behave differently


@pytest.mark.parametrize("case,memory,recurrent", [
    ("tmaze-discrete-double", "discrete", True),
    ("tmaze-continuous-double", "discrete", False),
    ("tmaze-continuous-double", "discrete", True),
    ("season", "discrete", False),
    ("season", "discrete", True),
    ("tmaze-continuous-single", "differentiable", False),
    ("season", "differentiable", True),
    ("tmaze-continuous-authors", "discrete", True),
    ("season-authors", "discrete", False),
    ("tmaze-continuous-no-junction", "discrete", False),
    ("tmaze-steering", "discrete", False),
    ("tmaze-steering", "discrete", True),
    ("tmaze-steering-junction", "differentiable", False),
    ("tmaze-argmax", "discrete", False),
    ("tmaze-argmax", "differentiable", True),
    ("season-authors-tape", "discrete", False),
    ("season-authors-tape", "discrete", True),
    ("tmaze-steering-expand", "discrete", False),
])
def test_fused_loop_ends_where_the_numpy_loop_ends(case, memory, recurrent):
    """Default widths, both memories, feed-forward and recurrent networks: the environment's whole final
    state, scores, fitness, terms, step counts and non-finite flags equal the numpy loop's (compiled
    memory step) to the bit."""
    task, machine, config, genomes = _population(case, n=48, seed=1, memory=memory, recurrent=recurrent,
                                                 options={"cells": 12} if memory == "differentiable" else None)
    packed = pack_genomes(genomes, config.genome_config)
    assert packed.recurrent.all() == recurrent
    env_a, run_a, env_b, run_b = _runs(task, machine, packed, task.sample(np.random.default_rng(4), 16))
    _assert_same_end(task, env_a, run_a, env_b, run_b)
    assert len(set(np.round(task.score(env_a).score, 6))) > 2


def test_non_finite_outputs_are_counted_and_seen_as_zero():
    """A `cube` output node overflows to inf on some rows: the fused loop flags exactly the numpy loop's rows."""
    task, machine, config, genomes = _population("tmaze-continuous-single", n=12, seed=2)
    for g in genomes[::2]:
        g.nodes[1].activation = "cube"
        g.nodes[1].bias = 1e120
    packed = pack_genomes(genomes, config.genome_config)
    env_a, run_a, env_b, run_b = _runs(task, machine, packed, task.sample(np.random.default_rng(0), 6))
    assert run_b.nonfinite.any()
    _assert_same_end(task, env_a, run_a, env_b, run_b)


@dataclasses.dataclass
class _SteeringTMaze(TMazeTask):
    """A T-maze with a parameter the compiled environment does not know (as a later task version may add)."""

    wind: float = 0.0


def test_what_the_kernel_does_not_know_runs_in_the_numpy_loop():
    task, machine, config, genomes = _population("tmaze-discrete-single", n=4)
    deps = task.sample(np.random.default_rng(0), 4)
    assert kernel_supports(machine, task.environment(deps, groups=4))
    assert not kernel_supports(machine, task.environment(deps, groups=4, record=True))
    assert not kernel_supports(machine, task.environment(deps, groups=4), record=True)
    angle = make_task("tmaze", {"variant": "continuous", "steering": "angle"})
    assert kernel_supports(machine, angle.environment(angle.sample(np.random.default_rng(0), 2)))
    new = _SteeringTMaze(variant="discrete", maze="single", rounds=9)
    machine.task = new
    assert not kernel_supports(machine, new.environment(deps, groups=4))
    env = new.environment(deps, groups=4)
    packed = pack_genomes(genomes, config.genome_config)
    run = run_closed_loop(machine, packed, env)  # the numpy loop, whatever fused says
    env_b = new.environment(deps, groups=4)
    _assert_same_end(new, env, run, env_b, run_closed_loop(machine, packed, env_b, fused=False))


@pytest.mark.parametrize("case", ["tmaze-discrete-double", "tmaze-continuous-double", "tmaze-continuous-authors",
                                  "tmaze-continuous-no-junction", "tmaze-steering", "tmaze-steering-junction",
                                  "tmaze-argmax", "season", "season-authors"])
def test_plain_environments_score_as_the_tasks(case):
    """The bench's plain way (neat-python activate, plain environment, plain tape) scores each deployment
    as the fused loop does."""
    task, machine, config, genomes = _population(case, n=6, seed=5)
    deps = task.sample(np.random.default_rng(2), 5)
    env = task.environment(deps, groups=len(genomes))
    _, per_row, _ = run_fused_loop(machine, pack_genomes(genomes, config.genome_config), env)
    right = env.right if task.name == "tmaze" else env.right_count
    for g, genome in enumerate(genomes):
        net = neat.nn.FeedForwardNetwork.create(genome, config)
        for b in range(deps.n):
            plain = plain_environment(task, deps, b)
            steps = run_plain_closed(net, plain, PlainTape(machine.width), task.num_outputs)
            assert (steps, plain.right) == (per_row[g * deps.n + b], right[g * deps.n + b]), (g, b)


def test_network_list_and_packed_population_agree():
    """Networks given as Network descriptions run the same fused loop as a packed population."""
    task, machine, config, genomes = _population("season-short-food", n=6, seed=7)
    deps = task.sample(np.random.default_rng(1), 5)
    env_a = task.environment(deps, groups=6)
    run_a = run_closed_loop(machine, [Network.from_genome(g, config.genome_config) for g in genomes], env_a)
    env_b = task.environment(deps, groups=6)
    run_b = run_closed_loop(machine, pack_genomes(genomes, config.genome_config), env_b)
    _assert_same_end(task, env_a, run_a, env_b, run_b)


def test_the_compiled_ray_caster_is_the_numpy_one():
    """entm.closed_env.ray_distance against entm.tasks.maze.rangefinder_rows, to the bit: random points
    and directions, points on tile boundaries and lattice points, directions along the axes."""
    mz = maze("double")
    grid = np.stack([mz.wall, mz.goal_of, mz.junction]).astype(np.int64)
    rng = np.random.default_rng(5)
    n = 4000
    x = np.concatenate([rng.uniform(-0.5, 9.5, n), np.round(rng.uniform(0, 9, n), 1), rng.integers(0, 10, n)])
    y = np.concatenate([rng.uniform(-0.5, 7.5, n), np.round(rng.uniform(0, 7, n), 1), rng.uniform(0, 7, n)])
    a = np.concatenate([rng.uniform(-10, 10, n), rng.integers(-8, 8, n) * np.pi / 4, rng.uniform(-4, 4, n)])
    dx, dy = np.cos(a), -np.sin(a)
    dx[::7], dy[::7] = 0.0, 1.0
    dx[1::7], dy[1::7] = -1.0, 0.0
    want = rangefinder_rows(mz.wall, x, y, dx, dy)
    got = np.array([ray_distance(grid, *p, SENSOR_CUTOFF) / SENSOR_CUTOFF for p in zip(x, y, dx, dy)])
    np.testing.assert_array_equal(got, want)
    assert 0.1 < (want < 1).mean() < 0.99 and (want == 0).any()
