"""The NTM paper's tasks under evolution: two generations each, the champion evaluated across the sweep."""

import json

import pytest
from helpers import assert_champion_scores_as_recorded, comparable_metrics, main_error

from entm import runs
from entm.champion import evaluate_lengths, load_champion
from entm.evolution.loop import EvolveSettings, evolve
from entm.tasks import make_task

#: small versions of each task, and the shaping terms its metrics must carry
SMALL = {
    "repeat_copy": ({"vector_size": 2, "max_length": 3, "max_repeats": 3}, {"recall", "alignment", "writes"}),
    "associative_recall": ({"vector_size": 2, "item_size": 2, "max_items": 3}, {"recall", "alignment", "writes"}),
    "dynamic_ngrams": ({"ngram": 3, "sequence_length": 30}, set()),
    "priority_sort": ({"vector_size": 2, "num_vectors": 5, "sorted_count": 4}, {"recall", "alignment", "writes"}),
}


def _settings(tmp_path, task, name, **kw):
    base = dict(task=task, task_params=SMALL[task][0], generations=2, seed=3, run_dir=str(tmp_path / name),
                episodes=6, stop_when_solved=False, evaluator="serial")
    base.update(kw)
    return EvolveSettings(**base)


@pytest.mark.parametrize("task", sorted(SMALL))
def test_two_generations(tmp_path, task):
    res = evolve(_settings(tmp_path, task, "a"), progress=False)
    metrics = runs.read_metrics(res.run_dir)
    assert [m["generation"] for m in metrics] == [0, 1]
    for m in metrics:
        assert 0.0 <= m["best_score"] <= 1.0 and 0.0 <= m["best_fitness"] <= 1.0
        assert set(m["best_terms"]) == SMALL[task][1]
        assert m["population"] == 150 and m["genome_steps"] > 0 and m["nonfinite"] == 0
    meta = res.champion["metadata"]["entm"]
    assert meta["task"] == task and meta["task_params"] == {**make_task(task).params(), **SMALL[task][0]}
    champ = load_champion(res.run_dir)
    sweep = champ.task.generalization_lengths
    out = evaluate_lengths(champ.machine, champ.network, sweep[:2], episodes=3)
    assert list(out) == [str(L) for L in sweep[:2]]
    assert all(0.0 <= r["score"] <= 1.0 for r in out.values())
    assert_champion_scores_as_recorded(res.run_dir)  # champion.json alone scores as the run recorded
    # the same settings give the same run
    again = evolve(_settings(tmp_path, task, "b"), progress=False)
    assert comparable_metrics(res.run_dir) == comparable_metrics(again.run_dir)


@pytest.mark.parametrize("task", ["associative_recall", "dynamic_ngrams"])
def test_differentiable_memory(tmp_path, task):
    res = evolve(_settings(tmp_path, task, "soft", memory="differentiable", memory_params={"cells": 8}),
                 progress=False)
    champ = load_champion(res.run_dir)
    M = champ.task.default_memory_width
    assert champ.network.num_outputs == champ.task.num_outputs + 3 * M + 6
    assert len(runs.read_metrics(res.run_dir)) == 2
    assert_champion_scores_as_recorded(res.run_dir)


def test_cli_lists_evolves_and_evaluates(tmp_path, cli, capsys):
    r = cli("tasks")
    assert r.returncode == 0
    for task in SMALL:
        assert f"\n{task}: " in "\n" + r.stdout
    assert "generalisation lengths: 6, 10, 15, 20" in r.stdout
    d = tmp_path / "rc"
    r = cli("evolve", "--task", "repeat_copy", "--vector-size", "2", "--max-length", "3", "--max-repeats", "3",
            "--generations", "2", "--episodes", "4", "--serial", "--quiet", "--run-dir", d)
    assert r.returncode == 0, r.stderr
    assert json.loads((d / "run.json").read_text())["task_params"]["max_repeats"] == 3
    r = cli("evaluate", d, "--lengths", "2,12", "--episodes", "3", "--json")
    assert r.returncode == 0, r.stderr
    assert sorted(json.loads(r.stdout)["lengths"]) == ["12", "2"]
    line = main_error(capsys, "evolve", "--task", "dynamic_ngrams", "--shaping", "none", "--serial", "--run-dir",
                      tmp_path / "x")
    assert line.startswith("entm: error: task 'dynamic_ngrams' has no parameter 'shaping'")
    assert not (tmp_path / "x").exists()
