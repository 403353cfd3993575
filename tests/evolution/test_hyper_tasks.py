"""The hyper encoding on every bit-vector task at its full size (the NTM paper's tasks at their defaults):
generations run, a resumed run equals an uninterrupted one, the champion is the painted controller;
with a curriculum too."""

import pytest
from helpers import assert_same_run

from entm import runs
from entm.champion import load_champion
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.tasks import make_task


def _settings(run_dir, task, generations, **params):
    return EvolveSettings(task=task, task_params=params, generations=generations, seed=2, episodes=4,
                          evaluator="serial", stop_when_solved=False, run_dir=str(run_dir), encoding="hyper",
                          checkpoint_every=1)


@pytest.mark.parametrize("task, params", [
    ("repeat_copy", {}),
    ("associative_recall", {}),
    ("priority_sort", {}),
    ("associative_recall", {"stages": "max_items=2,3 advance=0.25", "shaping": "readout"}),
])
def test_hyper_at_full_size_runs_and_resumes_exactly(tmp_path, task, params):
    full = evolve(_settings(tmp_path / "full", task, 3, **params), progress=False)
    part = evolve(_settings(tmp_path / "part", task, 1, **params), progress=False)
    resume(part.run_dir, generations=3, evaluator="serial", progress=False)
    assert_same_run("evolution", full.run_dir, part.run_dir)
    t = make_task(task, params)
    metrics = runs.read_metrics(full.run_dir)
    assert all(m["nonfinite"] == 0 and m["population"] == 150 for m in metrics)
    # the controller is painted for the task's full sizes: task inputs + read vector, task outputs + head
    width = t.default_memory_width
    assert all(m["best_size"][0] == t.num_outputs + width + 5 for m in metrics)
    champ = load_champion(full.run_dir)
    assert champ.network.num_inputs == t.num_inputs + width and champ.network.num_outputs == t.num_outputs + width + 5
    if "stages" in params:
        assert "stage" in metrics[0] and set(metrics[-1]["best_terms"]) == {"recall", "alignment", "writes",
                                                                          "readout"}
