"""``--replay N``: the fresh training episodes that rejected candidates failed join every later generation."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import comparable_champion, comparable_metrics, main_error

from entm import runs
from entm.evolution import checkpoint
from entm.champion import load_champion
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator, SerialEvaluator, training_validation_batch
from entm.evolution.loop import EvolveSettings, evolve, prepare, resume
from entm.evolution.replay import ReplayReporter
from entm.evolution.reporters import LoopState, Validator
from entm.tasks import make_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEQUENCE_TASKS = {"copy": {"vector_size": 3}, "repeat_copy": {"vector_size": 3},
                  "associative_recall": {}, "dynamic_ngrams": {"sequence_length": 30}, "priority_sort": {}}


@pytest.mark.parametrize("name", sorted(SEQUENCE_TASKS))
def test_two_joined_batches_score_as_each_alone(name):
    task = make_task(name, SEQUENCE_TASKS[name])
    rng = np.random.default_rng(5)
    a = task.sample(rng, 7)
    b = task.sample(rng, 5, length=task.validation[0])  # longer: T differs
    ab = a.concat(b)
    assert ab.batch == 12 and ab.inputs.shape[1] == max(a.inputs.shape[1], b.inputs.shape[1])
    ya, yb = rng.random(a.targets.shape), rng.random(b.targets.shape)
    y = np.full(ab.targets.shape, 0.5)
    y[:7, :ya.shape[1]], y[7:, :yb.shape[1]] = ya, yb
    joined, sa, sb = task.score(ab, y), task.score(a, ya), task.score(b, yb)
    assert np.array_equal(joined.perfect, np.concatenate([sa.perfect, sb.perfect]))
    for field in ("score", "bit_errors"):  # sums over a longer padded axis: the same to rounding
        assert np.allclose(getattr(joined, field), np.concatenate([getattr(sa, field), getattr(sb, field)]),
                           rtol=1e-12, atol=1e-12)
    back = ab.take(np.arange(7, 12))
    assert np.array_equal(back.steps, b.steps) and np.array_equal(back.lengths, b.lengths)
    T = b.inputs.shape[1]
    assert np.array_equal(back.inputs[:, :T], b.inputs) and not back.inputs[:, T:].any()


def test_a_machine_runs_joined_batches_as_each_alone():
    champ = load_champion(FIXTURES / "copy_handbuilt_v8.json")
    rng = np.random.default_rng(1)
    a, b = champ.task.sample(rng, 6), champ.task.sample(rng, 4, length=30)
    out = champ.machine.run(champ.network, a.concat(b).inputs).outputs
    for rows, eps in ((slice(0, 6), a), (slice(6, 10), b)):
        alone = champ.machine.run(champ.network, eps.inputs).outputs
        T = eps.inputs.shape[1]
        live = eps.mask  # the scored steps: padding after an episode's end is never scored
        assert np.allclose(out[rows, :T][live], alone[live], atol=1e-12)


def test_the_validator_keeps_the_training_episodes_a_candidate_failed():
    champ = load_champion(FIXTURES / "copy8_hyper_soft_marginal.json")
    v = Validator(champ.task, champ.spec, None, seed=2)
    assert not v.perfect_network(champ.network)
    failures = v.take_failures()
    assert failures and v.failures == [] and failures == sorted(set(failures))
    failed = training_validation_batch(champ.task, 2).take(failures)
    assert np.array_equal(failed.inputs, v.training.take(failures).inputs)
    perfect = champ.task.score(failed, champ.machine.run(champ.network, failed.inputs).outputs).perfect
    assert not perfect.any()
    good = load_champion(FIXTURES / "copy_handbuilt_v8.json")
    v = Validator(good.task, good.spec, None, seed=2)
    assert v.perfect_network(good.network) and v.take_failures() == []


class _Failures:
    """A validator's failure list as the reporter reads it (take_failures)."""

    def __init__(self, *batches):
        self.batches = list(batches)

    def take_failures(self):
        return self.batches.pop(0)


def _eval_settings(**kw):
    task, spec, _, text = prepare(EvolveSettings(task="copy", task_params={"vector_size": 2}))
    return EvalSettings(config_text=text, task="copy", task_params=task.params(), memory=spec, seed=4, episodes=9,
                        **kw)


def test_the_reporter_adds_the_new_failures_and_keeps_the_newest():
    evaluator = SerialEvaluator(_eval_settings())
    state = LoopState()
    reporter = ReplayReporter(6, state, _Failures([3, 9, 9, 12], [40, 9, 2, 5], [], [7, 8, 1]), evaluator)
    reporter.post_evaluate(None, None, None, None)
    assert state.replay == [3, 9, 12]  # once each
    reporter.post_evaluate(None, None, None, None)
    assert state.replay == [3, 9, 12, 40, 2, 5]
    reporter.post_evaluate(None, None, None, None)  # nothing new: nothing changes
    reporter.post_evaluate(None, None, None, None)
    assert state.replay == [40, 2, 5, 7, 8, 1]  # at most 6: the oldest went first
    assert evaluator.inner.settings.replay == (40, 2, 5, 7, 8, 1)
    eps = evaluator.inner.episodes(0)
    replayed = training_validation_batch(evaluator.inner.task, 4).take(state.replay)
    assert eps.batch == 9 + 6
    rows = {r.tobytes() for r in eps.inputs[:, :replayed.inputs.shape[1]]}
    assert all(r.tobytes() in rows for r in replayed.inputs)
    many = LoopState()
    ReplayReporter(4, many, _Failures(list(range(10, 20))), SerialEvaluator(_eval_settings())).post_evaluate(
        None, None, None, None)
    assert many.replay == [10, 11, 12, 13]  # one candidate's first failures, up to the limit
    fresh = SerialEvaluator(_eval_settings())
    ReplayReporter(6, LoopState(replay=[12, 40]), _Failures(), fresh)  # a resumed run's evaluator gets them
    assert fresh.inner.settings.replay == (12, 40)
    plain = GenomeEvaluator(_eval_settings()).episodes(0)
    assert plain.batch == 9


def _settings(tmp_path, name, generations, replay=8, **kw):
    # one 1-bit episode a generation: many genomes are perfect on it and fail the validation, at once
    return EvolveSettings(task="copy", task_params={"vector_size": 1}, episodes=1, generations=generations,
                          seed=2, evaluator="serial", replay=replay, run_dir=str(tmp_path / name), **kw)


def test_a_run_replays_its_failures_and_resumes_to_the_same_run(tmp_path):
    whole = evolve(_settings(tmp_path, "whole", 6), progress=False)
    with gzip.open(checkpoint.list_checkpoints(whole.run_dir)[-1], "rb") as f:
        replay = pickle.load(f)["loop"]["replay"]
    assert 0 < len(replay) <= 8
    counts = [m.get("replayed", 0) for m in runs.read_metrics(whole.run_dir)]
    assert counts[0] == 0 and counts == sorted(counts) and 0 < counts[-1] <= len(replay)
    plain = evolve(_settings(tmp_path, "plain", 6, replay=0), progress=False)
    assert comparable_metrics(plain.run_dir) != comparable_metrics(whole.run_dir)
    part = evolve(_settings(tmp_path, "part", 3, checkpoint_every=1), progress=False)
    resumed = resume(part.run_dir, generations=6, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
    assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    assert runs.run_identity({"task": "copy", "replay": 0}, "c") == runs.run_identity({"task": "copy"}, "c")
    assert runs.run_identity({"task": "copy", "replay": 8}, "c") != runs.run_identity({"task": "copy"}, "c")


def test_bad_replay_settings_are_one_line_errors(capsys, tmp_path):
    main_error(capsys, "evolve", "--task", "copy", "--replay", "-1", "--run-dir", tmp_path / "a",
               words=("--replay", "-1"))
    main_error(capsys, "evolve", "--task", "tmaze", "--replay", "8", "--run-dir", tmp_path / "b",
               words=("--replay", "tmaze"))
    main_error(capsys, "evolve", "--task", "copy", "--replay", "8", "--search", "novelty", "--fixed-episodes",
               "--run-dir", tmp_path / "c", words=("--replay", "novelty"))
    assert not any((tmp_path / d).exists() for d in "abc")
