"""What a run shows and how it ends: budgets (a time budget alone is the budget), going on after a solution,
default run names, the champion explained, the start-up lines and the progress bars' totals."""

import io
import json
import re

import pytest

from entm import runs
from entm.errors import EntmError
from entm.evolution.loop import EvolveSettings, evolve, resume, run_name
from entm.evolution.reporters import LoopState
from entm.progress import BudgetBar
from entm.tasks import make_task
from helpers import main_error, run_main

#: a run that solves quickly: 1-bit copy of up to 3 vectors, seed 0 (a validated solver in generation 19)
FAST = dict(task="copy", task_params={"vector_size": 1, "max_length": 3}, episodes=10, seed=0, evaluator="serial")
FAST_ARGS = ["--serial", "--vector-size", "1", "--max-length", "3", "--episodes", "10", "--seed", "0"]


def test_minutes_alone_is_the_only_budget(tmp_path):
    """--minutes without --generations: no generation budget (run.json says none); the run stops at the time
    budget, and a resumed session without a budget of its own gets the run's --minutes again."""
    s = EvolveSettings(task="copy", task_params={"vector_size": 2}, episodes=5, minutes=1e-6, evaluator="serial",
                       run_dir=str(tmp_path / "t"))
    res = evolve(s, progress=False)
    assert runs.read_run_json(res.run_dir)["generations"] is None
    assert res.stopped == "minutes" and res.out_of_time and res.generations == 1
    more = resume(res.run_dir, evaluator="serial", progress=False)  # no --minutes: the run's own
    assert more.stopped == "minutes" and more.generations == 2
    assert runs.read_run_json(res.run_dir)["minutes"] == 1e-6  # run.json as it was
    assert not LoopState(metrics=10**6).finished(None)


def test_cli_minutes_alone_and_both_budgets(capsys, tmp_path):
    status, out, err = run_main(capsys, "evolve", "--serial", "--quiet", "--vector-size", "2", "--episodes", "5",
                                "--minutes", "1e-6", "--run-dir", tmp_path / "a")
    assert status == 0, err
    assert runs.read_run_json(tmp_path / "a")["generations"] is None
    assert "not solved; stopped at the --minutes budget; entm resume goes on" in out
    # both: whichever runs out first (here the generations)
    status, out, err = run_main(capsys, "evolve", "--serial", "--quiet", "--vector-size", "2", "--episodes", "5",
                                "--minutes", "60", "--generations", "2", "--run-dir", tmp_path / "b")
    assert status == 0, err
    assert "generations: 2," in out and "the generation budget is used up" in out


def test_go_on_after_the_solution(tmp_path):
    """stop_when_solved=False runs the whole budget after a validated solution; the champion stays a validated
    solver (a fitter unvalidated genome never replaces it) and only a fitter validated one takes its place."""
    stop = evolve(EvolveSettings(**FAST, generations=35, run_dir=str(tmp_path / "stop")), progress=False)
    assert stop.solved and stop.stopped == "solved" and stop.generations == 20
    on = evolve(EvolveSettings(**FAST, generations=35, stop_when_solved=False, run_dir=str(tmp_path / "on")),
                progress=False)
    assert on.solved and on.stopped == "generations" and on.generations == 35
    m = runs.read_metrics(on.run_dir)
    assert [x["solved"] for x in m].index(True) == 19
    champions = {}  # genome -> the fitness it was champion with
    for x in m[19:]:
        assert x["champion_fitness"] >= champions.get(x["champion_genome"], 0)
        champions[x["champion_genome"]] = x["champion_fitness"]
        if x["best_perfect"] < 1.0:  # an unvalidated best never becomes the champion
            assert x["champion_genome"] != x["best_genome"]
    assert any(x["best_perfect"] < 1.0 and x["best_fitness"] > x["champion_fitness"] for x in m[19:])
    assert len(champions) > 1  # a fitter validated solver did replace the first one
    meta = on.champion["metadata"]["entm"]
    assert meta["solved"] and meta["perfect"] == 1.0 and meta["fitness"] == m[-1]["champion_fitness"]
    # the same run, stopped at its solution and resumed with a bigger budget, cannot go on: it was started to stop
    with pytest.raises(EntmError, match="it is solved"):
        resume(stop.run_dir, generations=40, evaluator="serial", progress=False)


def test_summary_and_bar_say_whose_numbers_they_are(capsys, tmp_path):
    """The bar shows the generation's best and the champion side by side; the summary says the champion is a
    validated solver, takes its fitness apart into score and shaping terms, and names the fitter genome of its
    generation that the bar showed."""
    status, out, err = run_main(capsys, "evolve", *FAST_ARGS, "--generations", "35", "--run-dir", tmp_path / "r")
    assert status == 0, err
    meta = json.loads((tmp_path / "r" / "champion.json").read_text())["metadata"]["entm"]
    last = runs.read_metrics(tmp_path / "r")[-1]
    assert "generations: 20," in out and "solved: stopped at the first validated solution" in out
    assert (f"champion: genome {meta['genome_key']} of generation 19, a validated solver: perfect on all 10 of that "
            f"generation's episodes and on the validation batches (100 episodes of length 100, 1000 of the training "
            f"lengths)") in out
    terms = re.search(r"fitness ([0-9.]+): the mean of the task score ([0-9.]+) \(strict close\) and the shaping "
                      r"terms alignment ([0-9.]+), jumps ([0-9.]+), recall ([0-9.]+), writes ([0-9.]+)", out)
    assert terms, out
    values = [float(v) for v in terms.groups()]
    assert values[0] == pytest.approx(sum(values[1:]) / 5, abs=1e-3)  # the fitness is their mean
    assert last["best_genome"] != meta["genome_key"] and last["best_fitness"] > meta["fitness"]
    assert (f"the fittest genome of generation 19 (the progress bar's 'best') was genome {last['best_genome']}: "
            f"fitness {last['best_fitness']:.4f}") in out
    bar = err.replace("\r", "\n").strip().splitlines()[-1]
    assert f"best: fit {last['best_fitness']:.3f}" in bar and f"champion {meta['fitness']:.3f} solved" in bar


def test_start_up_lines(capsys, tmp_path):
    """Before the first generation the run says what takes the time (one line per phase on stderr); --quiet
    says nothing."""
    args = ["evolve", "--serial", "--vector-size", "2", "--episodes", "3", "--generations", "1"]
    status, _, err = run_main(capsys, *args, "--run-dir", tmp_path / "a")
    assert status == 0
    assert err.splitlines()[0] == ("entm: generation 0 first loads the compiled kernels in this process (the first "
                                   "run after an install compiles and caches them, which takes seconds)")
    status, _, err = run_main(capsys, *args, "--quiet", "--run-dir", tmp_path / "b")
    assert status == 0 and err == ""


def test_default_run_names_say_what_the_run_is(capsys, tmp_path, monkeypatch):
    """The default run directory names the task, its parameters that differ from the defaults, the memory, the
    encoding and the seed; an existing one is an error that names a free one (never a silent suffix)."""
    s = EvolveSettings(task="tmaze", task_params={"variant": "continuous"})
    assert run_name(s, make_task("tmaze", {"variant": "continuous"})) == \
        "tmaze-variant_continuous-discrete-direct-seed0"
    s = EvolveSettings(task="copy", task_params={"vector_size": 2, "max_length": 10}, memory="differentiable",
                       memory_params={"cells": 16}, encoding="hyper", seed=3)
    assert run_name(s) == "copy-vector_size_2-differentiable-cells_16-hyper-seed3"
    monkeypatch.chdir(tmp_path)
    args = ["evolve", "--serial", "--quiet", "--vector-size", "2", "--episodes", "3", "--generations", "1"]
    status, out, _ = run_main(capsys, *args)
    assert status == 0 and "run directory: runs/copy-vector_size_2-discrete-direct-seed0\n" in out
    taken = tmp_path / "runs" / "copy-vector_size_2-discrete-direct-seed0"
    (tmp_path / "runs" / "copy-vector_size_2-discrete-direct-seed0-2").mkdir()
    (tmp_path / "runs" / "copy-vector_size_2-discrete-direct-seed0-2" / "x").write_text("")
    before = {p: p.read_bytes() for p in taken.rglob("*") if p.is_file()}
    line = main_error(capsys, *args, words=["runs/copy-vector_size_2-discrete-direct-seed0 already exists",
                                            "--run-dir runs/copy-vector_size_2-discrete-direct-seed0-3 (free)"])
    assert "entm resume" in line
    assert before == {p: p.read_bytes() for p in taken.rglob("*") if p.is_file()}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [taken.name, taken.name + "-2"]


def _bar_text(**kw) -> str:
    out = io.StringIO()
    bar = BudgetBar(out=out, **kw)
    bar.advance(kw.get("initial", 0) + 3)
    bar.close()
    return out.getvalue().replace("\r", "\n").strip().splitlines()[-1]


def test_bars_follow_the_budget():
    """A unit budget alone: tqdm's count and total; a time budget: elapsed of the budget, the units without a
    made-up total (or with the unit budget where there is one too)."""
    assert "3/500" in _bar_text(unit="gen", total=500)
    timed = _bar_text(unit="gen", minutes=3)
    assert timed.startswith("3 gen:") and "of 03:00" in timed and "/" not in timed.split(":")[0]
    assert _bar_text(unit="steps", total=100000, minutes=5, initial=10, desc="train ntm").startswith(
        "train ntm 13/100000 steps:")
    both = BudgetBar(unit="gen", total=10, minutes=60, out=io.StringIO())
    both.advance(5)
    assert both.fraction(0.0) == 0.5 and both.fraction(3600.0) == 1.0  # whichever runs out first
    both.close()
