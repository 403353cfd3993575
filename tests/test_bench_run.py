"""``entm bench --run RUN``: a run's own population (its latest checkpoint) timed with the run's task, memory,
config and that generation's episodes (figures are checked for what was timed, never for speed)."""

import json
import shutil

import numpy as np
import pytest

from entm.bench import run_population
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from helpers import main_error, run_main, small_evolution_run


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("bench") / "copy", task_params={"vector_size": 2},
                               generations=3)


@pytest.fixture(scope="module")
def maze_run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("bench") / "maze", task="tmaze",
                               task_params={"maze": "single"}, generations=2)


def _evaluated(run_dir):
    """The run's checkpointed population evaluated as its evolution evaluates it: the genome-steps, the fitness."""
    p = run_population(run_dir)
    ev = GenomeEvaluator(EvalSettings(config_text=p.config_text, task=p.task.name, task_params=p.task.params(),
                                      memory=p.spec, seed=p.seed, episodes=p.episodes, fixed_episodes=p.fixed_episodes))
    results, stats = ev.evaluate(p.genomes, p.generation)
    return p.genomes, p.generation, stats["genome_steps"], results


@pytest.mark.parametrize("which", ["copy_run", "maze_run"])
def test_bench_times_the_runs_last_checkpointed_population(capsys, request, which):
    run_dir = request.getfixturevalue(which)
    genomes, generation, steps, results = _evaluated(run_dir)
    metrics = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    last = metrics[-1]
    # the checkpoint is the population after the run's last generation: the run's own genomes, not a first one
    assert generation == last["generation"] + 1 and len(genomes) == last["population"]
    assert len({round(r.fitness, 12) for r in results.values()}) > 1

    status, out, _ = run_main(capsys, "bench", "--run", str(run_dir), "--repeats", "1", "--json")
    assert status == 0
    r = json.loads(out)
    assert r["run"] == str(run_dir) and r["generation"] == generation
    assert r["population"] == len(genomes) and r["genome_steps"] == steps
    assert r["task"] == json.loads((run_dir / "run.json").read_text())["task"]
    assert r["connections_per_genome"] == pytest.approx(
        np.mean([sum(c.enabled for c in g.connections.values()) for _, g in genomes]))
    assert r["steps_per_second"] > 0 and r["plain_steps_per_second"] > 0

    status, out, _ = run_main(capsys, "bench", "--run", str(run_dir), "--repeats", "1")
    assert status == 0 and out.splitlines()[0] == f"the population of generation {generation} of {run_dir}"


def test_bench_run_bad_input(capsys, copy_run, tmp_path):
    main_error(capsys, "bench", "--run", str(copy_run), "--population", "4", words=("--population", "--run"))
    main_error(capsys, "bench", "--run", str(copy_run), "--vector-size", "3", "--preset", "luders2017-season",
               words=("--vector-size", "--preset"))
    main_error(capsys, "bench", "--run", str(tmp_path / "none"), words=("run.json",))
    bare = tmp_path / "bare"  # a run directory without a checkpoint
    bare.mkdir()
    for name in ("run.json", "config.ini"):
        shutil.copy(copy_run / name, bare / name)
    main_error(capsys, "bench", "--run", str(bare), words=("no checkpoint",))
    hyper = small_evolution_run(tmp_path / "hyper", task_params={"vector_size": 2}, encoding="hyper")
    main_error(capsys, "bench", "--run", str(hyper), words=("hyper", "direct"))
