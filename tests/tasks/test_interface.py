"""The Task interface (tasks/base.py): every registered task provides everything declared there, with
values of the right type, so a new task is checked the moment it is registered in ``entm.tasks.TASKS``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from entm.analysis.deployment import DRAWINGS
from entm.tasks import TASKS, Episodes, RewardTask, Scores, SequenceTask, Task

NAMES = sorted(TASKS)


def _positive_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def _words(v) -> bool:
    return isinstance(v, str) and v.strip() != ""


@pytest.fixture(params=NAMES)
def task(request) -> Task:
    return TASKS[request.param]()


def test_name_description_and_kind(task):
    assert task.name in TASKS and TASKS[task.name] is type(task)
    assert _words(task.description)
    kinds = [k for k in (SequenceTask, RewardTask) if isinstance(task, k)]
    assert len(kinds) == 1, "a task is exactly one of the two kinds"
    assert task.kind_name == {SequenceTask: "sequence", RewardTask: "reward"}[kinds[0]]


def test_layout(task):
    assert _positive_int(task.num_inputs) and _positive_int(task.num_outputs)
    for names, n in ((task.input_names, task.num_inputs), (task.output_names, task.num_outputs)):
        assert isinstance(names, list) and len(names) == n and all(_words(x) for x in names)
        assert len(set(names)) == n, names
    assert _positive_int(task.default_memory_width)


def test_sweep_episodes_validation_and_words(task):
    lengths = task.generalization_lengths
    assert isinstance(lengths, tuple) and lengths and all(_positive_int(L) for L in lengths)
    assert list(lengths) == sorted(set(lengths))
    assert _positive_int(task.default_episodes)
    length, n = task.validation
    assert (length, n) == (None, 0) or (_positive_int(n) and (length is None or _positive_int(length)))
    if isinstance(task, RewardTask):  # a fixed set of deployments is not evidence enough
        assert _positive_int(n)
    assert _words(task.length_name) and _words(task.score_name)


def test_hyper_layout(task):
    layout = task.hyper_layout()
    if layout is None:
        return
    ins, outs = layout
    for groups, n in ((ins, task.num_inputs), (outs, task.num_outputs)):
        assert all(_words(kind) and _positive_int(size) and isinstance(vec, bool) for kind, size, vec in groups)
        assert sum(size for _, size, _ in groups) == n
        assert len({kind for kind, _, _ in groups}) == len(groups)


def test_params_round_trip(task):
    params = task.params()
    assert isinstance(params, dict)
    assert type(task).from_params(params) == task


def _run_reward(task: RewardTask, deps):
    env = task.environment(deps, groups=2)
    assert env.batch == 2 * deps.n and env.groups == 2
    steps = 0
    while not env.done:
        x = env.observe()
        assert x.shape == (env.batch, task.num_inputs) and np.isfinite(x).all()
        env.act(np.full((env.batch, task.num_outputs), 0.5))
        steps += 1
        assert steps < 100_000
    return task.score(env), env


@pytest.mark.parametrize("length", [None, "sweep"])
def test_sample_and_score(task, length):
    L = None if length is None else task.generalization_lengths[0]
    n = 3
    eps = task.sample(np.random.default_rng(1), n, length=L)
    if isinstance(task, SequenceTask):
        assert isinstance(eps, Episodes) and eps.batch == n
        T = eps.inputs.shape[1]
        assert eps.inputs.shape == (n, T, task.num_inputs) and eps.targets.shape == (n, T, task.num_outputs)
        if L is not None:
            assert (eps.lengths == L).all()
        sc = task.score(eps, np.full(eps.targets.shape, 0.5))
        rows = n
    else:
        sc, env = _run_reward(task, eps)
        rows = env.batch
    assert isinstance(sc, Scores)
    assert sc.score.shape == sc.perfect.shape == sc.bit_errors.shape == (rows,)
    assert ((sc.score >= 0) & (sc.score <= 1)).all() and (sc.bit_errors >= 0).all()


def test_sequence_tasks_have_an_example_length(task):
    if isinstance(task, SequenceTask):
        assert _positive_int(task.example_length)
        eps = task.sample(np.random.default_rng(0), 1, length=task.example_length)
        assert eps.batch == 1


def test_reward_tasks_can_be_drawn(task):
    if isinstance(task, RewardTask):
        assert type(task) in DRAWINGS


def test_the_kinds_are_abstract():
    for cls in (Task, SequenceTask, RewardTask):
        with pytest.raises(TypeError):
            cls()

    @dataclass
    class NoScore(SequenceTask):
        name = "no_score"
        num_inputs = 1
        num_outputs = 1
        input_names = ["x"]
        output_names = ["y"]
        default_memory_width = 2

        def sample(self, rng, n, length=None):
            raise AssertionError

    with pytest.raises(TypeError, match="score"):
        NoScore()
