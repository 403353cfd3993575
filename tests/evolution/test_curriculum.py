"""Curricula (entm.tasks.curriculum, entm.evolution.curriculum): stages advance on their criterion, the
evaluator draws each stage's episodes, a resumed run equals an uninterrupted one, bad schedules are one line."""

import gzip
import json
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import assert_same_run, comparable_champion, main_error, run_main, stage_champions

from entm import runs
from entm.evolution import checkpoint
from entm.evolution.curriculum import rewind_stage_champions
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.tasks import make_task
from entm.tasks.curriculum import parse

#: 1-bit copy, first one vector, then two, then the task itself (1-10): a constant output is perfect on
#: about half the one-vector episodes, so stage 0 is left at once
PARAMS = {"vector_size": 1, "stages": "max_length=1,2 advance=0.5"}


def _settings(run_dir, generations, **kw):
    return EvolveSettings(task="copy", task_params=dict(PARAMS), generations=generations, seed=1, episodes=8,
                          evaluator="serial", stop_when_solved=False, run_dir=str(run_dir), checkpoint_every=1, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("curriculum") / "ref"
    evolve(_settings(d, 5), progress=False)
    return d


def test_stages_advance_and_are_recorded(reference):
    metrics = runs.read_metrics(reference)
    stages = [m["stage"] for m in metrics]
    assert stages[0] == 0 and stages[-1] == 2 and stages == sorted(stages)
    # the evaluator drew each stage's episodes: copy of L vectors has 2L + 3 steps, so stage 0 (L = 1) has
    # 5 steps per episode and per genome, the full task more
    first = metrics[0]
    assert first["genome_steps"] == first["population"] * 8 * 5
    assert metrics[-1]["genome_steps"] > first["genome_steps"]
    # the checkpoint holds the stage and the generations each stage was left at
    with gzip.open(checkpoint.list_checkpoints(reference)[-1], "rb") as f:
        loop = pickle.load(f)["loop"]
    left = loop["curriculum"]["left"]
    assert loop["curriculum"]["stage"] == 2 and len(left) == 2
    assert [stages[g + 1] for g in left] == [1, 2] and all(stages[g] == i for i, g in enumerate(left))
    # each stage left keeps its champion: the fittest genome of that stage, as the metrics had it when it was left
    kept = stage_champions(reference)
    assert sorted(kept) == ["champion-stage-1.json", "champion-stage-2.json"]
    for k, g in enumerate(left):
        meta = kept[f"champion-stage-{k + 1}.json"]["metadata"]["entm"]
        assert meta["stage"] == k and stages[meta["generation"]] == k
        assert meta["task_params"]["max_length"] == k + 1  # the stage's own episodes (lengths 1, then 1-2)
        assert meta["fitness"] == metrics[g]["champion_fitness"]
        assert meta["fitness"] == max(m["best_fitness"] for m in metrics if m["stage"] == k)
    assert comparable_champion(reference)["metadata"]["entm"]["stage"] == 2


def test_a_resume_from_before_a_stage_was_left_removes_its_champion(tmp_path):
    """The files of the stages a checkpoint had not left yet go (the resumed run writes them again)."""
    for k in (1, 2, 3):
        (tmp_path / f"champion-stage-{k}.json").write_text("{}")
    (tmp_path / "champion-stage-x.json").write_text("{}")  # not one of entm's: left alone
    rewind_stage_champions(tmp_path, SimpleNamespace(curriculum={"stage": 1, "left": [7]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion-stage-1.json", "champion-stage-x.json"]
    rewind_stage_champions(tmp_path, SimpleNamespace(curriculum=None))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion-stage-x.json"]


def test_no_advance_below_the_criterion(tmp_path):
    params = {"vector_size": 1, "stages": "max_length=3 advance=1"}  # 3 vectors perfect on every episode
    evolve(EvolveSettings(task="copy", task_params=params, generations=2, seed=1, episodes=8, evaluator="serial",
                          stop_when_solved=False, run_dir=str(tmp_path / "r")), progress=False)
    metrics = runs.read_metrics(tmp_path / "r")
    assert [m["stage"] for m in metrics] == [0, 0]
    assert all(m["best_perfect"] < 1 for m in metrics)


def test_resume_equals_uninterrupted(tmp_path, reference):
    d = tmp_path / "a"
    evolve(_settings(d, 1), progress=False)  # stops at stage 1, before the evaluator has seen it
    assert runs.read_metrics(d)[-1]["stage"] == 0
    resume(d, generations=3, evaluator="serial", progress=False)
    resume(d, generations=5, evaluator="serial", progress=False)
    assert_same_run("evolution", d, reference)


def test_without_a_curriculum_nothing_changes(tmp_path):
    """The parameter at its default is left out of the task's parameters (run names, identities and
    metrics of existing runs unchanged)."""
    for name in ("copy", "repeat_copy", "associative_recall", "priority_sort", "tmaze", "season"):
        task = make_task(name)
        assert "stages" not in task.params() and parse(task) is None
    d = tmp_path / "plain"
    evolve(EvolveSettings(task="copy", task_params={"vector_size": 1}, generations=1, seed=1, episodes=4,
                          evaluator="serial", run_dir=str(d)), progress=False)
    assert "stage" not in runs.read_metrics(d)[0]
    with gzip.open(checkpoint.list_checkpoints(d)[-1], "rb") as f:
        assert "curriculum" not in pickle.load(f)["loop"]


def test_auto_schedules_and_the_last_stage_is_the_task():
    for name in ("copy", "repeat_copy", "associative_recall", "priority_sort"):
        task = make_task(name, {"stages": "auto"})
        schedule = parse(task)
        assert len(schedule.stages) >= 3 and schedule.stages[-1] == {}
        assert schedule.advance == 1.0
    season = parse(make_task("season", {"stages": "auto"}))
    assert season.stages == ({"showings": 2}, {}) and season.advance == 0.9
    recall = parse(make_task("associative_recall", {"stages": "max_items=2,3,6"}))
    assert recall.stages == ({"max_items": 2}, {"max_items": 3}, {})


def test_repeat_copy_stages_keep_the_repeats_input():
    """A stage with fewer repeats normalises the repeats input by the full task's count."""
    task = make_task("repeat_copy", {"stages": "auto"})
    stage = task.stage_task(parse(task).stages[0])
    assert stage.max_repeats == 1 and stage.repeats_norm == 10
    eps = stage.sample(np.random.default_rng(0), 20)
    reps = eps.info["repeats"]
    marker = eps.inputs[np.arange(20), eps.lengths + 1, -1]
    assert np.allclose(marker, reps / 10)
    full = make_task("repeat_copy").sample(np.random.default_rng(0), 20)
    assert np.allclose(full.inputs[np.arange(20), full.lengths + 1, -1], full.info["repeats"] / 10)


@pytest.mark.parametrize("spec, words", [
    ("max_items=1,2", ["stage 1", "max_items", "min_items"]),
    ("max_items=a", ["not an integer"]),
    ("items=2,3", ["no parameter", "items"]),
    ("max_items=2,3 min_items=2,2,2", ["values"]),
    ("shaping=none", ["cannot change"]),
    ("advance=2 max_items=3", ["advance"]),
    ("advance=0.5", ["names no parameter"]),
    ("max_items", ["PARAM=V1,V2"]),
])
def test_bad_curricula_are_one_line(capsys, tmp_path, spec, words):
    main_error(capsys, "evolve", "--task", "associative_recall", "--stages", spec, "--serial",
               "--generations", "1", "--run-dir", str(tmp_path / "r"), words=words)
    assert not (tmp_path / "r").exists()


def test_dynamic_ngrams_has_no_stages(capsys, tmp_path):
    main_error(capsys, "evolve", "--task", "dynamic_ngrams", "--stages", "auto", "--serial",
               "--generations", "1", "--run-dir", str(tmp_path / "r"), words=["stages"])


def test_after_leaves_a_stage_and_item_size_may_change():
    task = make_task("associative_recall", {"stages": "item_size=2 max_items=3 after=50"})
    schedule = parse(task)
    assert schedule.stages == ({"item_size": 2, "max_items": 3}, {}) and schedule.after == 50
    assert task.stage_task(schedule.stages[0]).item_size == 2 and parse(make_task("copy", {"stages": "auto"})).after \
        is None


@pytest.mark.parametrize("spec", ["item_size=2 after=0", "item_size=2 after=x", "item_size=2 after=1.5"])
def test_bad_after_is_one_line(capsys, tmp_path, spec):
    main_error(capsys, "evolve", "--task", "associative_recall", "--stages", spec, "--serial",
               "--generations", "1", "--run-dir", str(tmp_path / "r"), words=["after", "generations"])


def _novelty_stages(run_dir, generations):
    """Associative recall of 1-vector items for two generations (``after=2``: never perfect), then of 2-vector
    items, under novelty x objective on the reads: the descriptor changes length with the item size."""
    return EvolveSettings(task="associative_recall", task_params={"item_size": 2, "max_items": 3,
                                                                  "stages": "item_size=1 after=2"},
                          generations=generations, seed=3, episodes=4, evaluator="serial", stop_when_solved=False,
                          run_dir=str(run_dir), search="hybrid", fixed_episodes=True, checkpoint_every=1,
                          novelty={"descriptor": "reads", "threshold": 1e-3, "threshold_floor": 1e-6})


def test_novelty_search_starts_afresh_at_each_stage(tmp_path):
    """A stage left after ``after`` generations; the archive of the first stage is dropped at the second
    (its descriptors are shorter), and a run interrupted on either side of the change resumes exactly."""
    ref = tmp_path / "ref"
    evolve(_novelty_stages(ref, 4), progress=False)
    metrics = runs.read_metrics(ref)
    assert [m["stage"] for m in metrics] == [0, 0, 1, 1]
    assert all(m["best_perfect"] < 1 for m in metrics[:2])
    archive = [m["search"]["archive"] for m in metrics]
    added = [m["search"]["added"] for m in metrics]
    assert archive[1] == added[0] + added[1] > 0  # the first stage's archive grew ...
    assert archive[2] == added[2]  # ... and the second's started empty
    def loop_of(path):
        with gzip.open(path, "rb") as f:
            return pickle.load(f)["loop"]

    after = [loop_of(p) for p in checkpoint.list_checkpoints(ref)]  # after generations 1, 2 and 3 (3 kept)
    assert [lp["curriculum"] for lp in after] == [{"stage": 1, "left": [1]}] * 3
    assert after[0]["novelty"]["archive"] is None  # the stage was left after generation 1: nothing archived yet
    assert after[2]["novelty"]["archive"].shape[0] == archive[3]
    for stop in (1, 3):  # interrupted in the first stage, and in the second
        d = tmp_path / f"cut{stop}"
        evolve(_novelty_stages(d, stop), progress=False)
        if stop == 1:
            first = loop_of(checkpoint.list_checkpoints(d)[-1])
            assert first["curriculum"] == {"stage": 0, "left": []}
            # two vectors read per answer in the second stage where there was one in the first
            assert after[2]["novelty"]["archive"].shape[1] == 2 * first["novelty"]["archive"].shape[1]
        resume(d, generations=4, evaluator="serial", progress=False)
        assert_same_run("evolution", d, ref)


def test_train_refuses_evolution_stages(capsys, tmp_path):
    main_error(capsys, "train", "--task", "copy", "--stages", "auto", "--steps", "1", "--run-dir",
               str(tmp_path / "t"), words=["--stages", "--curriculum"])


def test_ray_workers_follow_the_stages(tmp_path, reference):
    """On Ray the workers are pointed at each new stage (RayEvaluator.retarget): the same run as serial."""
    d = tmp_path / "ray"
    settings = _settings(d, 5)
    settings.evaluator, settings.workers = "ray", 1
    evolve(settings, progress=False)
    assert_same_run("evolution", d, reference)


def test_cli_summary_names_the_stage(capsys, tmp_path):
    from helpers import run_main

    status, out, err = run_main(capsys, "evolve", "--task", "copy", "--vector-size", "1", "--stages",
                                "max_length=1,2 advance=0.5", "--generations", "3", "--episodes", "8", "--seed", "1",
                                "--serial", "--quiet", "--no-stop-when-solved", "--run-dir", str(tmp_path / "r"))
    assert status == 0, err
    assert "fittest genome of curriculum stage 3" in out


@pytest.mark.parametrize("task, params, stages, factor", [
    ("tmaze", {"variant": "discrete"}, "rounds=2", 0.1),  # the discrete maze's rounds have a fixed length
    ("season", {"years": 1}, "showings=2", 2.0),  # the same deployments, every item twice
])
def test_reward_tasks_evaluate_their_stages(tmp_path, task, params, stages, factor):
    """The closed-loop tasks' curricula: stage 0's generation runs the stage's deployments (its genome
    steps the full task's times ``factor``, on the same fixed draws), and the run records the stage."""
    steps = {}
    for name, p in (("full", params), ("staged", {**params, "stages": stages})):
        evolve(EvolveSettings(task=task, task_params=p, generations=1, seed=2, episodes=6, evaluator="serial",
                              fixed_episodes=True, stop_when_solved=False, run_dir=str(tmp_path / name)),
               progress=False)
        m = runs.read_metrics(tmp_path / name)[0]
        steps[name] = m["genome_steps"]
        assert m.get("stage") == (None if name == "full" else 0)
    assert steps["staged"] == factor * steps["full"]


def test_the_summary_names_the_stage_champions(capsys, tmp_path):
    """``entm evolve`` ends by naming the kept stage champions, and ``entm evaluate`` takes one of them."""
    run = tmp_path / "r"
    status, out, _ = run_main(capsys, "evolve", "--task", "associative_recall", "--stages", "item_size=2 after=2",
                              "--generations", "4", "--episodes", "4", "--serial", "--quiet", "--run-dir", str(run))
    kept = run / "champion-stage-1.json"
    assert status == 0 and kept.exists() and not (run / "champion-stage-2.json").exists()
    assert f"champions of the curriculum stages left: {kept}" in out
    # it was chosen on two-vector items: its file says so, and entm evaluate measures it there by default
    meta = json.loads(kept.read_text())["metadata"]["entm"]
    assert meta["task_params"]["item_size"] == 2 and "stages" not in meta["task_params"]
    assert meta["run_task_params"]["item_size"] == 3 and meta["run_task_params"]["stages"] == "item_size=2 after=2"
    status, out, _ = run_main(capsys, "evaluate", str(kept), "--lengths", "3", "--episodes", "4")
    assert status == 0 and "'item_size': 2" in out
    status, out, _ = run_main(capsys, "evaluate", str(kept), "--lengths", "3", "--episodes", "4", "--set",
                              "item_size=3")
    assert status == 0 and "'item_size': 3" in out


def _restarting(run_dir, generations):
    """1-bit copy of 1 vector, of up to 2, of up to 4 (never perfect for three generations here), then 1-6;
    ``restart=3``: a stage short of the task held three generations starts the curriculum again."""
    return EvolveSettings(task="copy", task_params={"vector_size": 1, "max_length": 6,
                                                    "stages": "max_length=1,2,4 advance=1 restart=3"},
                          generations=generations, seed=1, episodes=4, evaluator="serial", stop_when_solved=False,
                          run_dir=str(run_dir), checkpoint_every=1)


def test_restart_starts_the_curriculum_again_with_a_new_population(tmp_path):
    """Stages 1 and 2 left at once, stage 3 held three generations without its criterion met: generation 5 is
    a new random population at stage 1 (new genome ids, the restart recorded), and the second pass goes the
    same way; a run interrupted before a restart or after it resumes exactly, and a resume keeps the first
    pass's stage files that the second pass has not written again yet."""
    ref = tmp_path / "ref"
    evolve(_restarting(ref, 10), progress=False)
    metrics = runs.read_metrics(ref)
    assert [m["stage"] for m in metrics] == [0, 1, 2, 2, 2, 0, 1, 2, 2, 2]
    assert [m.get("restarts", 0) for m in metrics] == [0] * 5 + [1] * 5
    assert min(m["best_genome"] for m in metrics[5:]) > max(m["best_genome"] for m in metrics[:5])
    assert sorted(stage_champions(ref)) == ["champion-stage-1.json", "champion-stage-2.json"]
    for stop in (5, 6):  # the checkpoint where the restart is marked, and the one after it
        d = tmp_path / f"cut{stop}"
        evolve(_restarting(d, stop), progress=False)
        if stop == 6:  # the second pass has left stage 1 only: stage 2's file is the first pass's, kept
            with gzip.open(checkpoint.list_checkpoints(d)[-1], "rb") as f:
                curriculum = pickle.load(f)["loop"]["curriculum"]
            assert curriculum == {"stage": 1, "left": [5], "start": 5, "kept": 2}
            rewind_stage_champions(d, SimpleNamespace(curriculum=curriculum))
            assert sorted(stage_champions(d)) == ["champion-stage-1.json", "champion-stage-2.json"]
        resume(d, generations=10, evaluator="serial", progress=False)
        assert_same_run("evolution", d, ref)

@pytest.mark.parametrize("spec, words", [
    ("max_length=1,2 after=5 restart=5", ["after", "restart", "not both"]),
    ("max_length=1,2 restart=0", ["restart", "generations"]),
])
def test_bad_restart_is_one_line(capsys, tmp_path, spec, words):
    main_error(capsys, "evolve", "--task", "copy", "--stages", spec, "--serial", "--generations", "1",
               "--run-dir", str(tmp_path / "r"), words=words)
    main_error(capsys, "evolve", "--task", "copy", "--stages", "max_length=1,2 restart=5", "--reproduction",
               "workers", "--workers", "1", "--generations", "1", "--run-dir", str(tmp_path / "w"),
               words=["curriculum's restart", "--reproduction driver"])


def test_none_is_no_curriculum():
    """``none`` (a preset's curriculum turned off) parses as no curriculum, as the empty default does."""
    assert parse(make_task("copy", {"stages": "none"})) is None and parse(make_task("copy", {})) is None
    assert parse(make_task("season", {"stages": "foods_shown=1,2,3 restart=50"})).restart == 50
