"""Serial evolution end to end: run directory, determinism, both memory modes."""

import json

from helpers import assert_champion_scores_as_recorded, comparable_champion, comparable_metrics, main_error

from entm import runs
from entm.champion import evaluate_lengths, load_champion
from entm.evolution.loop import EvolveSettings, evolve, run_name


def _settings(tmp_path, name, **kw):
    base = dict(task="copy", task_params={"vector_size": 2}, generations=3, seed=7, run_dir=str(tmp_path / name),
                episodes=10, stop_when_solved=False, evaluator="serial")
    base.update(kw)
    return EvolveSettings(**base)


def test_run_directory_contents(tmp_path):
    res = evolve(_settings(tmp_path, "a"), progress=False)
    d = res.run_dir
    assert sorted(p.name for p in d.iterdir()) == ["champion.json", "checkpoints", "config.ini", "metrics.jsonl",
                                                   "run.json"]
    assert [p.name for p in (d / "checkpoints").iterdir()] == ["gen-000003.pkl.gz"]  # the final one
    run = json.loads((d / "run.json").read_text())
    assert run["seed"] == 7 and run["task"] == "copy" and run["task_params"]["vector_size"] == 2
    assert run["network_inputs"] == 9 and run["network_outputs"] == 12
    assert run["versions"]["neat-python"].startswith("2.")
    assert "num_inputs            = 9" in (d / "config.ini").read_text()
    metrics = runs.read_metrics(d)
    assert [m["generation"] for m in metrics] == [0, 1, 2]
    for m in metrics:
        assert 0.0 <= m["best_score"] <= 1.0 and 0.0 <= m["best_fitness"] <= 1.0
        assert set(m["best_terms"]) == {"recall", "alignment", "writes", "jumps"}
        assert m["population"] == 150 and m["species"] >= 1 and m["genome_steps"] > 0
    meta = res.champion["metadata"]["entm"]
    assert meta["task"] == "copy" and meta["memory"] == "discrete" and meta["memory_params"] == {"width": 5}
    assert meta["heads"] == 1 and meta["generation"] in (0, 1, 2)
    assert meta["fitness"] == max(m["best_fitness"] for m in metrics)
    # the champion file alone rebuilds the machine and scores like the run said
    champ = load_champion(d)
    assert champ.network.num_inputs == 9
    assert_champion_scores_as_recorded(d)


def test_same_seed_same_run(tmp_path):
    a = evolve(_settings(tmp_path, "a"), progress=False)
    b = evolve(_settings(tmp_path, "b"), progress=False)
    assert comparable_metrics(a.run_dir) == comparable_metrics(b.run_dir)
    assert comparable_champion(a.run_dir) == comparable_champion(b.run_dir)
    c = evolve(_settings(tmp_path, "c", seed=8), progress=False)
    assert comparable_metrics(a.run_dir) != comparable_metrics(c.run_dir)


def test_differentiable_mode_evolves(tmp_path):
    res = evolve(_settings(tmp_path, "soft", memory="differentiable", memory_params={"cells": 16}, generations=2),
                 progress=False)
    meta = res.champion["metadata"]["entm"]
    assert meta["memory"] == "differentiable" and meta["memory_params"] == {"width": 5, "cells": 16}
    champ = load_champion(res.run_dir)
    assert champ.network.num_outputs == 2 + 3 * 5 + 6
    m = runs.read_metrics(res.run_dir)
    # the differentiable memory's copy fitness: recall, alignment and writes (no jumps; outputs is opt-in)
    assert len(m) == 2 and set(m[0]["best_terms"]) == {"recall", "alignment", "writes"}
    out = evaluate_lengths(champ.machine, champ.network, [3], episodes=4)
    assert 0.0 <= out["3"]["score"] <= 1.0
    assert_champion_scores_as_recorded(res.run_dir)


def test_recurrent_controller(tmp_path, capsys):
    """--controller recurrent sets the config's feed_forward: the run's networks are neat-python's recurrent ones
    (each node reads the previous step's values), recorded in run.json, config.ini, the name and the champion."""
    res = evolve(_settings(tmp_path, "rec", task="repeat_copy", task_params={"vector_size": 2, "max_repeats": 2},
                           controller="recurrent"), progress=False)
    text = (res.run_dir / "config.ini").read_text()
    assert "feed_forward          = False" in text and "feed_forward          = True" not in text
    assert json.loads((res.run_dir / "run.json").read_text())["controller"] == "recurrent"
    assert res.champion["network_type"] == "recurrent"
    assert_champion_scores_as_recorded(res.run_dir)
    ff = evolve(_settings(tmp_path, "ff", task="repeat_copy", task_params={"vector_size": 2, "max_repeats": 2}),
                progress=False)
    assert ff.champion["network_type"] == "feedforward"
    # the same config with feedforward asked for is the feedforward run, to the metrics
    back = evolve(_settings(tmp_path, "back", task="repeat_copy", task_params={"vector_size": 2, "max_repeats": 2},
                            config=str(res.run_dir / "config.ini"), controller="feedforward"), progress=False)
    assert comparable_metrics(back.run_dir) == comparable_metrics(ff.run_dir)
    assert run_name(EvolveSettings(task="copy", controller="recurrent")) == "copy-discrete-recurrent-direct-seed0"
    assert run_name(EvolveSettings(task="copy", controller="feedforward")) == "copy-discrete-direct-seed0"
    assert run_name(EvolveSettings(task="copy", search="lexicase", seed=2)) == "copy-discrete-direct-lexicase-seed2"
    assert run_name(EvolveSettings(preset="luders2017-season", controller="recurrent", search="novelty",
                                   seed=2)) == "luders2017-season-novelty-recurrent-seed2"
    main_error(capsys, "evolve", "--encoding", "hyper", "--controller", "recurrent", "--serial", "--run-dir",
               tmp_path / "x", words=["--controller", "hyper", "feedforward"])
    assert not (tmp_path / "x").exists()


def test_minutes_budget_stops_early_and_resumes(tmp_path):
    from entm.evolution.loop import resume

    res = evolve(_settings(tmp_path, "t", generations=1000, minutes=1e-6), progress=False)
    assert res.out_of_time and not res.solved
    assert 1 <= res.generations < 1000  # at least the first generation ran
    assert len(runs.read_metrics(res.run_dir)) == res.generations
    more = resume(res.run_dir, evaluator="serial", progress=False, minutes=1e-6)
    assert more.out_of_time and more.generations == res.generations + 1


def test_minutes_must_be_positive(tmp_path, capsys):
    line = main_error(capsys, "evolve", "--task", "copy", "--serial", "--minutes", "0", "--run-dir", tmp_path / "x")
    assert line == "entm: error: minutes must be a positive number, got 0.0"
    assert not (tmp_path / "x").exists()
