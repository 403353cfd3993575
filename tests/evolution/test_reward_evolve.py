"""The reward tasks under evolution: two generations each (serial, and once through Ray), the champion
evaluated closed-loop, the command line as a user runs it."""

import json

import pytest
from helpers import assert_champion_scores_as_recorded, comparable_champion, comparable_metrics, main_error

from entm import runs
from entm.analysis.deployment import render_deployment
from entm.champion import evaluate_lengths, load_champion
from entm.evolution.loop import EvolveSettings, evolve
from entm.tasks import make_task

#: small versions of each reward task
SMALL = {
    "tmaze-discrete": ("tmaze", {"variant": "discrete", "maze": "double", "rounds": 6}),
    "tmaze-continuous": ("tmaze", {"variant": "continuous", "maze": "single", "rounds": 4, "max_steps": 60}),
    "season": ("season", {"years": 2, "max_days": 2}),
}


def _settings(tmp_path, case, name, **kw):
    task, params = SMALL[case]
    base = dict(task=task, task_params=params, generations=2, seed=5, run_dir=str(tmp_path / name),
                episodes=4, stop_when_solved=False, evaluator="serial")
    base.update(kw)
    return EvolveSettings(**base)


@pytest.mark.parametrize("case", sorted(SMALL))
def test_two_generations(tmp_path, case):
    res = evolve(_settings(tmp_path, case, "a"), progress=False)
    metrics = runs.read_metrics(res.run_dir)
    assert [m["generation"] for m in metrics] == [0, 1]
    for m in metrics:
        assert 0.0 <= m["best_score"] <= 1.0 and 0.0 <= m["best_fitness"] <= 1.0
        assert m["population"] == 150 and m["genome_steps"] > 0 and m["nonfinite"] == 0
        assert 0.0 <= m["best_bit_errors"]
    task, params = SMALL[case]
    meta = res.champion["metadata"]["entm"]
    assert meta["task"] == task and meta["task_params"] == {**make_task(task).params(), **params}
    champ = load_champion(res.run_dir)
    lengths = (6, 12) if case == "tmaze-discrete" else (4, 8) if case == "tmaze-continuous" else (2, 3)
    out = evaluate_lengths(champ.machine, champ.network, lengths, episodes=4)
    assert list(out) == [str(L) for L in lengths]
    assert all(0.0 <= r["score"] <= 1.0 and r["episodes"] == 4 for r in out.values())
    assert_champion_scores_as_recorded(res.run_dir)  # champion.json alone, closed-loop, scores as recorded
    # an episode of the champion rendered for the plots: the paths (continuous maze) or a table
    out = render_deployment(champ.machine, champ.network, tmp_path / "episode", deployment=1)
    data = out.read_bytes()
    if case == "tmaze-continuous":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert len(data.decode().splitlines()) > 4
    again = evolve(_settings(tmp_path, case, "b"), progress=False)
    assert comparable_metrics(res.run_dir) == comparable_metrics(again.run_dir)
    assert comparable_champion(res.run_dir) == comparable_champion(again.run_dir)


def test_ray_gives_the_serial_run(tmp_path):
    serial = evolve(_settings(tmp_path, "tmaze-discrete", "serial"), progress=False)
    ray = evolve(_settings(tmp_path, "tmaze-discrete", "ray", evaluator="ray", workers=1), progress=False)
    assert comparable_metrics(serial.run_dir) == comparable_metrics(ray.run_dir)
    assert comparable_champion(serial.run_dir) == comparable_champion(ray.run_dir)


def test_cli_evolves_and_evaluates(tmp_path, cli, capsys):
    r = cli("tasks")
    assert r.returncode == 0
    assert "\ntmaze: " in "\n" + r.stdout and "\nseason: " in "\n" + r.stdout
    d = tmp_path / "tm"
    r = cli("evolve", "--task", "tmaze", "--variant", "continuous", "--maze", "single", "--rounds", "4",
            "--generations", "2", "--episodes", "2", "--serial", "--quiet", "--run-dir", d)
    assert r.returncode == 0, r.stderr
    assert json.loads((d / "run.json").read_text())["task_params"]["variant"] == "continuous"
    assert json.loads((d / "run.json").read_text())["network_inputs"] == 5 + 2
    r = cli("evaluate", d, "--lengths", "4,8", "--episodes", "2", "--json")
    assert r.returncode == 0, r.stderr
    assert sorted(json.loads(r.stdout)["lengths"]) == ["4", "8"]
    line = main_error(capsys, "evolve", "--task", "tmaze", "--variant", "grid", "--serial", "--run-dir",
                      tmp_path / "x")
    assert line.startswith("entm: error: unknown tmaze variant 'grid'")
    assert not (tmp_path / "x").exists()
    line = main_error(capsys, "bench", "--task", "season", "--population", "4", "--episodes", "1", "--repeats", "1",
                      "--workers", "2")
    assert line == "entm: error: --workers is not measured on a reward task; leave it out"


@pytest.mark.parametrize("args", [("--task", "season", "--years", "1"), ("--task", "tmaze", "--variant", "continuous",
                                                                         "--rounds", "3")])
def test_bench_on_a_reward_task(cli, args):
    """`entm bench` on a reward task: the fused loop, the numpy loop and the plain way in one run (figures only)."""
    r = cli("bench", *args, "--json", "--population", "4", "--episodes", "3", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "reward" and out["genome_steps"] > 0 and out["plain_genome_steps"] > 0
    for key in ("steps_per_second", "evaluation_steps_per_second", "numpy_steps_per_second", "plain_steps_per_second",
                "ratio", "numpy_ratio", "load_average"):
        assert out[key] > 0, key
    r = cli("bench", *args, "--population", "4", "--episodes", "2", "--repeats", "1")
    assert r.returncode == 0 and "x the numpy closed loop" in r.stdout and "load average" in r.stdout


def test_differentiable_memory(tmp_path):
    res = evolve(_settings(tmp_path, "tmaze-discrete", "soft", memory="differentiable", memory_params={"cells": 8}),
                 progress=False)
    champ = load_champion(res.run_dir)
    assert champ.network.num_outputs == champ.task.num_outputs + 3 * 2 + 6
    metrics = runs.read_metrics(res.run_dir)
    assert len(metrics) == 2 and all(m["genome_steps"] > 0 for m in metrics)
    assert_champion_scores_as_recorded(res.run_dir)


def test_resume_gives_the_uninterrupted_run(tmp_path):
    from entm.evolution.loop import resume

    whole = evolve(_settings(tmp_path, "tmaze-discrete", "whole", generations=4), progress=False)
    part = evolve(_settings(tmp_path, "tmaze-discrete", "part", generations=2, checkpoint_every=1), progress=False)
    resume(part.run_dir, generations=4, evaluator="serial", progress=False)
    assert comparable_metrics(whole.run_dir) == comparable_metrics(part.run_dir)
    assert comparable_champion(whole.run_dir) == comparable_champion(part.run_dir)


def test_memory_plot_of_a_reward_run(tmp_path, cli):
    """entm plot memory replays one deployment closed-loop, recording the tape; the recorded run
    scores as the compiled one does."""
    import numpy as np

    from entm.closed_loop import evaluate_deployments

    d = tmp_path / "tm"
    r = cli("evolve", "--task", "tmaze", "--rounds", "6", "--generations", "2", "--episodes", "4", "--serial",
            "--quiet", "--run-dir", d)
    assert r.returncode == 0, r.stderr
    r = cli("plot", "memory", d, "-o", tmp_path / "mem.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mem.png").stat().st_size > 10_000
    champ = load_champion(d)
    deps = champ.task.sample(np.random.default_rng(0), 3, length=6)
    plain, _ = evaluate_deployments(champ.machine, champ.network, deps)
    recorded, _, run = evaluate_deployments(champ.machine, champ.network, deps, run_record=True)
    np.testing.assert_array_equal(plain.score, recorded.score)
    assert run.inputs.shape[:2] == run.outputs.shape[:2] == (3, run.steps) == run.head_outputs.shape[:2]
    assert len(run.memory_trace) == run.steps
