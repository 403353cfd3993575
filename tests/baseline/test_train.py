"""Training the baselines for real: a few steps of every model, the NaN guard, exact resume,
every registered sequence task, and the run directory that `entm train` writes."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from entm import runs
from entm.baseline import checkpoint
from entm.baseline.evaluate import load_trained
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.baseline.train import resume, train
from entm.errors import EntmError
from entm.tasks import TASKS, SequenceTask
from helpers import main_error

SMALL = {"hidden_size": 16, "cells": 12, "width": 6}
COPY = {"vector_size": 4, "min_length": 1, "max_length": 4}
MODELS = {
    "ntm-lstm": ModelSettings(model="ntm", controller="lstm", **SMALL),
    "ntm-feedforward": ModelSettings(model="ntm", controller="feedforward", **SMALL),
    "ntm-2read-2write-learned": ModelSettings(model="ntm", read_heads=2, write_heads=2, memory_init="learned",
                                              **SMALL),
    "ntm-random-memory": ModelSettings(model="ntm", memory_init="random", **SMALL),
    "lstm": ModelSettings(model="lstm", hidden_size=16, layers=2),
}


def _settings(tmp_path, name="run", **kw):
    base = dict(task="copy", task_params=COPY, architecture=MODELS["ntm-lstm"], batch_size=4, steps=10,
                report_every=3, checkpoint_every=4, test_sequences=20, compile=False, run_dir=str(tmp_path / name))
    base.update(kw)
    return TrainSettings(**base)


def _state(run_dir):
    return torch.load(runs_path(run_dir), weights_only=True)["state_dict"]


def runs_path(run_dir):
    return checkpoint.MODEL_FILE if run_dir is None else Path(run_dir) / checkpoint.MODEL_FILE


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_a_few_training_steps(tmp_path, name, optimizer):
    s = _settings(tmp_path, architecture=MODELS[name], optimizer=optimizer, steps=12)
    before = load_model_params(s)
    result = train(s, progress=False)
    assert result.stopped == "steps" and result.steps == 12 and result.sequences == 48
    metrics = runs.read_metrics(result.run_dir)
    assert [m["step"] for m in metrics] == [3, 6, 9, 12]
    assert [m["sequences"] for m in metrics] == [12, 24, 36, 48]
    for m in metrics:
        assert math.isfinite(m["loss"]) and m["loss"] > 0 and 0 <= m["bit_errors"] <= 4 * 4
        assert m["seconds"] > 0 and m["skipped"] == 0
    info = runs.read_run_json(result.run_dir)
    assert info["kind"] == "training" and info["model"] == MODELS[name].model
    assert info["optimizer"] == optimizer and info["lr"] == {"adam": 3e-3, "rmsprop": 1e-4}[optimizer]
    assert info["clip"] == "norm" and info["clip_value"] == 50.0
    trained = load_trained(result.run_dir)
    assert info["parameters"] == trained.parameters > 0
    after = {k: v for k, v in trained.model.state_dict().items()}
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "no parameter moved"
    assert set(json.loads((result.run_dir / "test.json").read_text())) == {
        "sequences", "bit_errors", "score", "perfect", "step", "sequences_seen", "seconds"}


def load_model_params(s):
    from entm.baseline.model import build_model

    task = TASKS[s.task].from_params(s.task_params)
    return {k: v.clone() for k, v in build_model(s.architecture, task.num_inputs, task.num_outputs,
                                                 s.seed).state_dict().items()}


SEQUENCE_TASKS = [name for name, cls in TASKS.items() if issubclass(cls, SequenceTask)]


def test_the_registry_has_sequence_tasks():
    assert "copy" in SEQUENCE_TASKS


@pytest.mark.parametrize("task", SEQUENCE_TASKS)
def test_ten_steps_on_every_registered_sequence_task(tmp_path, task):
    s = TrainSettings(task=task, architecture=ModelSettings(**SMALL), batch_size=2, steps=10, report_every=5,
                      checkpoint_every=5, test_sequences=4, compile=False, run_dir=str(tmp_path / task))
    result = train(s, progress=False)
    metrics = runs.read_metrics(result.run_dir)
    assert len(metrics) == 2 and all(math.isfinite(m["loss"]) for m in metrics)
    assert math.isfinite(result.test["bit_errors"])


def test_nan_guard_stops_with_a_message_and_keeps_finite_parameters(tmp_path):
    s = _settings(tmp_path, optimizer="rmsprop", lr=1e30, clip="none", steps=200, max_nonfinite=5,
                  checkpoint_every=1000)
    with pytest.raises(EntmError) as e:
        train(s, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and "non-finite" in msg and "5 steps in a row" in msg and "--lr" in msg
    run_dir = tmp_path / "run"
    metrics = runs.read_metrics(run_dir)
    assert metrics and metrics[-1]["nonfinite_total"] >= 5 and sum(m["skipped"] for m in metrics) >= 5
    assert metrics[-1]["step"] < 200
    for path in checkpoint.list_checkpoints(run_dir) + [run_dir / checkpoint.MODEL_FILE]:
        payload = torch.load(path, weights_only=True)
        sd = payload.get("state_dict") or payload["model"]
        assert all(torch.isfinite(v).all() for v in sd.values()), path
    trained = load_trained(run_dir)  # the last finite model still evaluates
    assert all(torch.isfinite(p).all() for p in trained.model.parameters())


def test_nan_guard_in_the_cli(capsys, tmp_path):
    line = main_error(capsys, "train", "--task", "copy", "--vector-size", "4", "--max-length", "4", "--hidden-size",
                      "16", "--cells", "12", "--width", "6", "--batch-size", "4", "--steps", "200", "--optimizer",
                      "rmsprop", "--lr", "1e30", "--clip", "none", "--no-compile", "--quiet", "--run-dir",
                      tmp_path / "r")
    assert line.startswith("entm: error: training stopped")
    assert (tmp_path / "r" / checkpoint.MODEL_FILE).is_file()


def _comparable(run_dir):
    return [{k: v for k, v in m.items() if k not in ("seconds", "cpu_seconds")} for m in runs.read_metrics(run_dir)]


@pytest.mark.parametrize("name", ["ntm-lstm", "lstm"])
def test_resume_equals_uninterrupted(tmp_path, name):
    arch = MODELS[name]
    full = train(_settings(tmp_path, "full", architecture=arch, steps=14, curriculum=True, curriculum_start=2,
                           curriculum_step=1, curriculum_threshold=30.0), progress=False)
    # an interrupted run: it stopped after 11 steps (checkpoints at 4, 8, and the end), then lost its
    # newest checkpoint, so resuming rewinds to step 8 and cuts metrics.jsonl back to that point
    part = train(_settings(tmp_path, "part", architecture=arch, steps=11, curriculum=True, curriculum_start=2,
                           curriculum_step=1, curriculum_threshold=30.0), progress=False)
    newest = checkpoint.list_checkpoints(part.run_dir)[-1]
    assert newest.name == "step-00000011.pt"
    assert runs.read_metrics(part.run_dir)[-1]["step"] == 11  # the last steps are reported ...
    newest.unlink()
    resumed = resume(part.run_dir, steps=14, progress=False)  # ... and that line is dropped on resume
    assert resumed.steps == full.steps == 14 and resumed.sequences == full.sequences
    assert _comparable(resumed.run_dir) == _comparable(full.run_dir)
    assert any("max_length" in m for m in runs.read_metrics(full.run_dir))  # the curriculum was exercised
    a, b = _state(full.run_dir), _state(resumed.run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert {k: v for k, v in resumed.test.items() if k != "seconds"} == {
        k: v for k, v in full.test.items() if k != "seconds"}


def test_a_repeats_curriculum_raises_max_repeats_and_keeps_the_count_input(tmp_path):
    from entm.baseline.train import curriculum_task

    params = {"vector_size": 3, "min_length": 1, "max_length": 3, "max_repeats": 4}
    r = train(_settings(tmp_path, task="repeat_copy", task_params=params, steps=9, report_every=2,
                        curriculum=True, curriculum_param="max_repeats", curriculum_start=1, curriculum_step=1,
                        curriculum_threshold=1e9), progress=False)
    values = [m.get("max_repeats") for m in runs.read_metrics(r.run_dir)]
    assert values == [1, 2, 3, None, None]  # raised after every report, then the task itself
    staged = train(_settings(tmp_path, "staged", task="repeat_copy", task_params=params, steps=20, report_every=2,
                             curriculum=True, curriculum_param="max_repeats", curriculum_start=1,
                             curriculum_step=1, curriculum_threshold=1e9, stop_bit_errors=1e9, stop_reports=2),
                   progress=False)
    assert staged.stopped == "solved" and staged.steps == 10  # the stages' 3 reports did not count: 3 + 2
    task = load_trained(r.run_dir).task
    stage = curriculum_task(task, "max_repeats", 1)
    eps = stage.sample(np.random.default_rng(0), 200)
    assert (eps.info["repeats"] == 1).all()
    count = eps.inputs[np.arange(200), eps.lengths + 1, 5]
    assert np.allclose(count, 1 / 4)  # R / the full task's max_repeats, in every stage
    assert curriculum_task(task, "max_repeats", None) is task and curriculum_task(task, "max_repeats", 4) is task
    with pytest.raises(EntmError, match="has no such max_\\*/min_\\* pair \\(it has max_length, max_repeats\\)"):
        train(_settings(tmp_path, "bad", task="repeat_copy", task_params=params, curriculum=True,
                        curriculum_param="repeats"), progress=False)
    assert not (tmp_path / "bad").exists()


def test_resume_refuses_a_finished_run(tmp_path):
    r = train(_settings(tmp_path, steps=4), progress=False)
    with pytest.raises(EntmError, match="raise --steps"):
        resume(r.run_dir, progress=False)


def test_a_corrupted_checkpoint_is_skipped(tmp_path):
    r = train(_settings(tmp_path, steps=9), progress=False)
    newest = checkpoint.list_checkpoints(r.run_dir)[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    warnings = []
    payload = checkpoint.load_latest(r.run_dir, "cpu", warn=warnings.append)
    assert payload["state"]["step"] == 8 and "skipping unreadable checkpoint" in warnings[0]


def test_runs_are_a_function_of_their_seed(tmp_path):
    a = train(_settings(tmp_path, "a", seed=3), progress=False)
    b = train(_settings(tmp_path, "b", seed=3), progress=False)
    c = train(_settings(tmp_path, "c", seed=4), progress=False)
    assert _comparable(a.run_dir) == _comparable(b.run_dir) != _comparable(c.run_dir)


def test_bad_settings_are_one_line_errors(tmp_path):
    for kw, words in [({"optimizer": "sgd"}, "optimizer"), ({"lr": -1.0}, "--lr"), ({"batch_size": 0}, "batch-size"),
                      ({"clip": "x"}, "clip"), ({"clip_value": -1.0}, "clip-value"),
                      ({"device": "tpu9"}, "device")]:
        with pytest.raises(EntmError, match=words):
            s = _settings(tmp_path, **kw)
            train(s, progress=False)
    with pytest.raises(EntmError, match="controller"):
        ModelSettings(controller="gru")
    with pytest.raises(EntmError, match="cells"):
        ModelSettings(cells=0)


def test_cli_train_evaluate_resume(cli, capsys, tmp_path, fixtures):
    run = tmp_path / "r"
    r = cli("train", "--task", "copy", "--vector-size", "4", "--max-length", "4", "--hidden-size", "16",
            "--cells", "12", "--width", "6", "--batch-size", "4", "--steps", "6", "--report-every", "2",
            "--no-compile", "--quiet", "--run-dir", run)
    assert r.returncode == 0, r.stderr
    assert "sequences seen: 24" in r.stdout and "wrong bits per sequence" in r.stdout
    sweep = ",".join(map(str, TASKS["copy"].generalization_lengths))
    assert f"next: entm evaluate {run} --lengths {sweep}\n" in r.stdout  # the task's own sweep
    assert {p.name for p in run.iterdir()} >= {"run.json", "metrics.jsonl", "checkpoints", "model.pt", "test.json"}
    # `entm evaluate --json` gives the shape of an evolved champion's evaluation
    r = cli("evaluate", run, "--lengths", "2,5", "--episodes", "3", "--json")
    assert r.returncode == 0, r.stderr
    trained = json.loads(r.stdout)
    evolved = json.loads(cli("evaluate", fixtures / "copy_handbuilt_v2.json", "--lengths", "2,5", "--episodes", "3",
                             "--json").stdout)
    assert set(evolved) <= set(trained) and trained["task"] == "copy" and trained["memory"] == "differentiable"
    assert list(trained["lengths"]) == list(evolved["lengths"]) == ["2", "5"]
    for L in ("2", "5"):
        assert set(trained["lengths"][L]) == set(evolved["lengths"][L])
        assert trained["lengths"][L]["episodes"] == 3 and 0 <= trained["lengths"][L]["score"] <= 1
    r = cli("evaluate", run, "--lengths", "3")
    assert r.returncode == 0 and "trained NTM" in r.stdout and "parameters" in r.stdout
    # resume: one more step budget, the same run directory
    r = cli("resume", run, "--steps", "8", "--quiet")
    assert r.returncode == 0, r.stderr
    assert runs.read_metrics(run)[-1]["step"] == 8
    for bad, word in [(["resume", run, "--generations", "3"], "--generations"),
                      (["train", "--run-dir", run, "--steps", "2"], "already exists"),
                      (["train", "--lr", "-1", "--run-dir", tmp_path / "x"], "--lr"),
                      (["train", "--model", "ntm", "--cells", "0", "--run-dir", tmp_path / "y"], "cells"),
                      (["train", "--restart-after", "0", "--run-dir", tmp_path / "x"], "--restart-after"),
                      (["train", "--restart-bit-errors", "3", "--run-dir", tmp_path / "x"], "needs --restart-after"),
                      (["train", "--task", "associative_recall", "--curriculum", "--run-dir", tmp_path / "x"],
                       "(it has max_items)"),
                      (["train", "--curriculum-threshold", "0", "--run-dir", tmp_path / "x"],
                       "--curriculum-threshold"),
                      (["train", "--lr-schedule", "100", "--run-dir", tmp_path / "x"], "not STEP:LR"),
                      (["train", "--lr-schedule", "100:1e-4,50:1e-5", "--run-dir", tmp_path / "x"],
                       "must increase"),
                      (["train", "--lr-schedule", "100:0", "--run-dir", tmp_path / "x"], "rate")]:
        before = (run / "metrics.jsonl").read_bytes()
        main_error(capsys, *bad, words=[word])
        assert (run / "metrics.jsonl").read_bytes() == before
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_learning_rate_schedule_sets_the_rate_from_its_steps_on_and_resumes_exactly(tmp_path):
    """lr_schedule: from update STEP on the rate is LR (metrics say which); a schedule whose first step is
    beyond the run changes nothing; a run resumed before a step follows the schedule as the uninterrupted
    run does, and one with a lower rate ends elsewhere."""
    sched = [[4, 1e-4], [7, 1e-5]]
    s = _settings(tmp_path, "probe", lr=3e-3, lr_schedule=sched)
    assert [s.lr_at(k) for k in (0, 3, 4, 6, 7, 99)] == [3e-3, 3e-3, 1e-4, 1e-4, 1e-5, 1e-5]
    full = train(_settings(tmp_path, "full", steps=10, lr_schedule=sched), progress=False)
    assert [m["lr"] for m in runs.read_metrics(full.run_dir)] == [3e-3, 1e-4, 1e-5, 1e-5]
    plain = train(_settings(tmp_path, "plain", steps=10), progress=False)
    later = train(_settings(tmp_path, "later", steps=10, lr_schedule=[[50, 1e-4]]), progress=False)
    assert all(torch.equal(_state(plain.run_dir)[k], _state(later.run_dir)[k]) for k in _state(plain.run_dir))
    assert not all(torch.equal(_state(plain.run_dir)[k], _state(full.run_dir)[k]) for k in _state(plain.run_dir))
    part = train(_settings(tmp_path, "part", steps=5, lr_schedule=sched), progress=False)
    checkpoint.list_checkpoints(part.run_dir)[-1].unlink()  # resumes from step 4, before the second step
    resumed = resume(part.run_dir, steps=10, progress=False)
    assert _comparable(resumed.run_dir) == _comparable(full.run_dir)
    assert all(torch.equal(_state(full.run_dir)[k], _state(resumed.run_dir)[k]) for k in _state(full.run_dir))
    for bad, words in [([[0, 1e-4]], "step"), ([[5, 1e-4], [5, 1e-5]], "increase"), ([[5, -1.0]], "rate"),
                       ([5], "pair"), ("5:1e-4", "STEP:LR")]:
        with pytest.raises(EntmError, match=words):
            _settings(tmp_path, "bad", lr_schedule=bad)


def test_evaluation_matches_the_episodes_of_evolved_champions(tmp_path):
    """The same seed and length give the same episodes as entm.champion.evaluate_lengths."""
    from entm.baseline.evaluate import evaluate_lengths, run_model

    r = train(_settings(tmp_path, steps=3), progress=False)
    trained = load_trained(r.run_dir)
    res = evaluate_lengths(trained, [3], episodes=5, seed=7)
    eps = trained.task.sample(np.random.default_rng([7, 3]), 5, length=3)
    sc = trained.task.score(eps, run_model(trained.model, eps.inputs))
    assert res["3"]["bit_errors"] == pytest.approx(float(np.mean(sc.bit_errors)))


def test_compiled_step_trains_like_the_eager_one(tmp_path):
    """torch.compile fuses the NTM's step; the losses stay those of the eager model (to rounding)."""
    eager = train(_settings(tmp_path, "eager", steps=6, report_every=1), progress=False)
    compiled = train(_settings(tmp_path, "compiled", steps=6, report_every=1, compile=True), progress=False)
    a = [m["loss"] for m in runs.read_metrics(eager.run_dir)]
    b = [m["loss"] for m in runs.read_metrics(compiled.run_dir)]
    assert a == pytest.approx(b, rel=1e-4)


def test_a_finished_run_extended_equals_the_longer_run(tmp_path):
    """A run that reached its step budget off a report boundary, resumed with a larger budget."""
    full = train(_settings(tmp_path, "full", steps=12), progress=False)
    part = train(_settings(tmp_path, "part", steps=8), progress=False)
    assert [m["step"] for m in runs.read_metrics(part.run_dir)] == [3, 6, 8]
    resume(part.run_dir, steps=12, progress=False)
    assert [m["step"] for m in runs.read_metrics(part.run_dir)] == [3, 6, 9, 12]
    assert _comparable(part.run_dir) == _comparable(full.run_dir)
    a, b = _state(full.run_dir), _state(part.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stop_bit_errors_stops_as_solved_after_enough_reports_below(tmp_path):
    """A bound no report can miss stops the run after stop_reports reports; one no report can meet never does;
    the stopped run's reports are the uninterrupted run's."""
    full = train(_settings(tmp_path, "full", steps=12), progress=False)
    solved = train(_settings(tmp_path, "solved", steps=12, stop_bit_errors=1e9, stop_reports=2), progress=False)
    assert solved.stopped == "solved" and solved.steps == 6 and solved.test is not None
    strip = lambda ms: [{k: v for k, v in m.items() if k not in ("seconds", "cpu_seconds")} for m in ms]
    assert strip(runs.read_metrics(solved.run_dir)) == strip(runs.read_metrics(full.run_dir))[:2]
    never = train(_settings(tmp_path, "never", steps=12, stop_bit_errors=1e-12), progress=False)
    assert never.stopped == "steps" and never.steps == 12
    with pytest.raises(EntmError, match="stop-bit-errors"):
        _settings(tmp_path, "bad", stop_bit_errors=-1.0)


def test_random_restarts_start_again_from_new_parameters_and_resume_exactly(tmp_path):
    """restart_after: a report that many sequences after the last start whose batches still average
    restart_bit_errors or more wrong bits starts the model again from the parameters of restart_seed(seed, k)
    with a new optimiser, the batches going on; a bound no report reaches leaves the run as it was; a
    resumed run restarts where the uninterrupted one does."""
    from entm.baseline.model import build_model
    from entm.baseline.train import restart_seed

    always = dict(restart_after=8, restart_bit_errors=1e-9)  # batch 4, 3 steps a report: every report restarts
    at12 = train(_settings(tmp_path, "at12", steps=12, **always), progress=False)
    assert [m.get("restarts", 0) for m in runs.read_metrics(at12.run_dir)] == [0, 1, 2, 3] and at12.restarts == 4
    task = TASKS["copy"](**COPY)
    fresh = build_model(MODELS["ntm-lstm"], task.num_inputs, task.num_outputs, restart_seed(0, 4)).state_dict()
    got = _state(at12.run_dir)  # the last report (step 12) restarted; nothing trained since
    assert fresh.keys() == got.keys() and all(torch.equal(fresh[k], got[k]) for k in fresh)
    plain = train(_settings(tmp_path, "plain", steps=12), progress=False)
    assert not all(torch.equal(_state(plain.run_dir)[k], got[k]) for k in got)
    never = train(_settings(tmp_path, "never", steps=12, restart_after=8, restart_bit_errors=1e9), progress=False)
    assert _comparable(never.run_dir) == _comparable(plain.run_dir)
    full = train(_settings(tmp_path, "full", steps=14, **always), progress=False)
    part = train(_settings(tmp_path, "part", steps=11, **always), progress=False)
    checkpoint.list_checkpoints(part.run_dir)[-1].unlink()  # resumes from step 8, between two restarts
    resumed = resume(part.run_dir, steps=14, progress=False)
    assert _comparable(resumed.run_dir) == _comparable(full.run_dir)
    a, b = _state(full.run_dir), _state(resumed.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    for kw, words in [({"restart_after": 0}, "restart-after"), ({"restart_bit_errors": 0.0}, "restart-bit-errors")]:
        with pytest.raises(EntmError, match=words):
            _settings(tmp_path, "bad", **kw)
