"""Novelty search (--search novelty|hybrid): archive, switch to the objective, determinism, exact resume."""

import numpy as np
import pytest
from helpers import assert_one_line_error, comparable_champion, comparable_metrics, main_error, run_main

from entm import runs
from entm.errors import EntmError
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.evolution.novelty import NoveltyParams, NoveltySearch
from entm.evolution.evaluator import GenomeResult

SMALL = {"variant": "discrete", "maze": "double", "rounds": 6}


def _settings(run_dir, search="novelty", generations=4, **kw):
    return EvolveSettings(task="tmaze", task_params=SMALL, generations=generations, seed=3, episodes=4,
                          stop_when_solved=False, evaluator="serial", run_dir=str(run_dir), search=search,
                          checkpoint_every=2, **kw)


@pytest.mark.parametrize("search, descriptor", [("novelty", "task"), ("hybrid", "task"), ("hybrid", "head")])
def test_novelty_run_is_deterministic_and_resumes_exactly(tmp_path, search, descriptor):
    kw = {"novelty": {"descriptor": descriptor}}
    whole = evolve(_settings(tmp_path / "whole", search, **kw), progress=False)
    again = evolve(_settings(tmp_path / "again", search, **kw), progress=False)
    assert comparable_metrics(whole.run_dir) == comparable_metrics(again.run_dir)
    part = evolve(_settings(tmp_path / "part", search, generations=2, **kw), progress=False)
    resumed = resume(part.run_dir, generations=4, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
    assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    metrics = runs.read_metrics(whole.run_dir)
    assert all(m["search"]["search"] == search for m in metrics)
    assert metrics[-1]["search"]["archive"] > 0
    # the champion is the objective's: the best fitness over the generations
    assert metrics[-1]["champion_fitness"] == max(m["best_fitness"] for m in metrics)


def test_fitness_search_adds_nothing(tmp_path):
    res = evolve(_settings(tmp_path / "f", "fitness", generations=1), progress=False)
    assert "search" not in runs.read_metrics(res.run_dir)[0]
    assert "identity" in runs.read_run_json(res.run_dir)


class _G:
    def __init__(self):
        self.fitness = None


def test_archive_threshold_and_switch_follow_the_c_sharp_rules():
    import numpy as np

    p = NoveltyParams(k=1, threshold=0.5, additions_up=0, switch_score=0.8, generations_down=0)
    ns = NoveltySearch("novelty", p)
    genomes = [(i, _G()) for i in range(3)]
    res = {i: GenomeResult(fitness=0.1 * i, score=0.1 * i, perfect=0, bit_errors=0,
                           behaviour=np.array([float(i), 0.0])) for i in range(3)}
    out = ns.assign(genomes, res)
    # nearest-neighbour squared distances: 1, 1, 1 -> all above 0.5: archived, threshold raised
    assert out["archive"] == 3 and out["added"] == 3 and ns.state["threshold"] == pytest.approx(0.525)
    assert [g.fitness for _, g in genomes] == [0.99, 0.99, 0.99]
    res[2].score = 0.9  # a task score at the switch: objective from the next generation on
    ns.assign(genomes, res)
    assert ns.state["phase"] == "objective"
    ns.assign(genomes, res)
    assert [g.fitness for _, g in genomes] == [0.0, 0.1, 0.2]


def test_bad_novelty_settings_are_one_line_errors(capsys):
    main_error(capsys, "evolve", "--task", "tmaze", "--novelty-k", "3", words=("need --search novelty",))
    main_error(capsys, "evolve", "--task", "tmaze", "--search", "novelty", "--novelty-k", "0",
               words=("novelty k must be at least 1",))
    for args in (("--task", "copy", "--fixed-episodes"), ("--task", "season", "--memory", "differentiable")):
        main_error(capsys, "evolve", *args, "--search", "novelty", "--novelty-descriptor", "head",
                   words=("novelty descriptor 'head' needs a reward task",))
    with pytest.raises(EntmError, match="unknown novelty descriptor 'tape'"):
        NoveltyParams.from_dict({"descriptor": "tape"})


def test_head_descriptor_is_the_first_deployments_shift_jump_and_write_strength():
    """The C# port's ShiftJumpInterp descriptor: the fused loop and the numpy loop keep the same head outputs of
    each network's first deployment, those the recorded numpy loop saw; the descriptor is, per step, the shift
    (first maximum of left, stay, right, minus 1), the jump (j >= 0.5) and w, zero past the deployment's end."""
    import numpy as np
    from helpers import mutated_population

    from entm.closed_loop import run_closed_loop
    from entm.evolution.novelty import HEAD_STEPS, head_behaviour
    from entm.phenotype import pack_genomes

    settings = EvolveSettings(task="season", task_params={"years": 2},
                              memory_params={"min_jump_similarity": 0.6, "blank": 0.5, "expand_location": True})
    task, _, machine, config, genomes = mutated_population(settings, 12, seed=2, mutations=10)
    packed = pack_genomes(genomes, config.genome_config)
    deps = task.sample(np.random.default_rng(5), 6)
    runs_ = [run_closed_loop(machine, packed, task.environment(deps, groups=12), fused=f, head_trace=HEAD_STEPS)
             for f in (True, False)]
    rec = run_closed_loop(machine, packed, task.environment(deps, groups=12), record=True)
    for run in runs_:
        np.testing.assert_array_equal(run.first_steps, np.minimum(deps.items[0] * task.steps_per_food, HEAD_STEPS))
        np.testing.assert_array_equal(run.first_heads, runs_[0].first_heads)
    T = int(runs_[0].first_steps[0])
    assert 0 < T < HEAD_STEPS
    layout = machine.memory.layout
    want = np.zeros((12, HEAD_STEPS, 3))
    for g in range(12):
        for t in range(T):
            x = rec.head_outputs[g * 6, t]
            s = x[layout.shift]
            want[g, t] = (int(np.argmax(s)) - 1, float(x[layout.column("j")] >= 0.5), x[layout.column("w")])
    got = head_behaviour(layout, 1, runs_[0].first_heads, runs_[0].first_steps)
    np.testing.assert_array_equal(got, want.reshape(12, -1))
    assert len({tuple(np.round(r, 6)) for r in got}) > 6  # the networks behave differently


def test_sequence_tasks_search_novelty_over_their_outputs(tmp_path):
    res = evolve(EvolveSettings(task="copy", task_params={"vector_size": 2}, generations=2, seed=1, episodes=4,
                                evaluator="serial", stop_when_solved=False, run_dir=str(tmp_path / "c"),
                                search="novelty", fixed_episodes=True), progress=False)
    m = runs.read_metrics(res.run_dir)
    assert m[0]["search"]["phase"] == "novelty" and m[0]["search"]["novelty_best"] > 0
    assert runs.read_run_json(res.run_dir)["fixed_episodes"] is True


def test_novelty_on_a_sequence_task_needs_fixed_episodes(capsys, tmp_path):
    """A sequence task's descriptor is its outputs on the generation's episodes: without --fixed-episodes
    they change (and change length) every generation, so the run is refused in one line before it starts."""
    status, _, err = run_main(capsys, "evolve", "--task", "copy", "--vector-size", "2", "--search", "novelty",
                              "--serial", "--generations", "2", "--run-dir", tmp_path / "run")
    assert_one_line_error(status, err, "--fixed-episodes")
    assert not (tmp_path / "run").exists()


def test_reads_descriptor_is_what_each_network_read_at_the_scored_steps():
    """``--novelty-descriptor reads``: per network, the memory's reads at the scored steps of the generation's
    first episodes, as a recorded run of that network alone on those episodes got them (the compiled
    evaluation and the stepwise machine agree), clipped to [0, 1]; refused on a reward task."""
    import numpy as np
    from helpers import mutated_population

    from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
    from entm.evolution.loop import prepare
    from entm.evolution.novelty import check_search
    from entm.phenotype import Network
    from entm.tasks import make_task

    settings = EvolveSettings(task="associative_recall", task_params={"max_items": 3})
    t, spec, machine, config, genomes = mutated_population(settings, 5, seed=4, mutations=12)
    text = prepare(settings)[3]
    ev = GenomeEvaluator(EvalSettings(config_text=text, task=t.name, task_params=t.params(), memory=spec, seed=0,
                                      episodes=6, behaviour="reads", fixed_episodes=True))
    results, _ = ev.evaluate(list(enumerate(genomes)), generation=7)
    eps = ev.episodes(7)
    k = t.BEHAVIOUR_EPISODES
    for gid, g in enumerate(genomes):
        want = []
        for b in range(k):
            run = machine.run(Network.from_genome(g, config.genome_config), eps.inputs[b:b + 1], record=True)
            steps = np.nonzero(eps.mask[b])[0]
            want.append(run.trace.reads[0, steps])
        want = np.clip(np.concatenate(want).ravel(), 0.0, 1.0)
        np.testing.assert_allclose(results[gid].behaviour, want, rtol=0, atol=1e-12)
    assert len({tuple(np.round(r.behaviour, 6)) for r in results.values()}) > 1
    with pytest.raises(EntmError, match="novelty descriptor 'reads' needs a sequence task .* or the season task"):
        check_search("novelty", make_task("tmaze", SMALL), {"descriptor": "reads"})


def test_season_reads_descriptor_is_what_each_network_read_at_its_decisions():
    """``--novelty-descriptor reads`` on the season task: per network, the reads it saw at every decision of
    the first 8 deployments (0 past a deployment's end); ``lookup``: per food and read value, the value's mean
    before the food is good minus before it is poison.  The compiled evaluation gives what the stepwise
    numpy loop (the tape's own step) gives each network alone (what the reads are: tests/test_presets.py,
    the memory term's test)."""
    from helpers import mutated_population

    from entm.closed_loop import run_closed_loop
    from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
    from entm.evolution.loop import prepare
    from entm.evolution.novelty import check_search
    from entm.phenotype import Network
    from entm.tasks import make_task

    from entm.presets import PRESETS

    settings = EvolveSettings(**{**PRESETS["luders2017-season"].settings, "preset": "luders2017-season",
                                 "search": "hybrid", "novelty": {"descriptor": "reads"}})
    t, spec, machine, config, genomes = mutated_population(settings, 4, seed=2, mutations=10)
    text = prepare(settings)[3]
    for kind, k in (("reads", t.BEHAVIOUR_DEPLOYMENTS), ("lookup", 10)):
        ev = GenomeEvaluator(EvalSettings(config_text=text, task=t.name, task_params=t.params(), memory=spec,
                                          seed=0, episodes=10, behaviour=kind, fixed_episodes=True))
        results, _ = ev.evaluate(list(enumerate(genomes)), generation=3)
        deps = ev.deployments(3)
        for gid, g in enumerate(genomes):
            env = t.environment(deps)
            env.keep_decision_reads(k)
            run_closed_loop(machine, [Network.from_genome(g, config.genome_config)], env, record=True)
            assert env.decision_reads.shape == (1, k, deps.food.shape[1], machine.heads * machine.width)
            want = np.clip(env.decision_reads, 0, 1).ravel() if kind == "reads" else t.lookup_behaviour(env)[0]
            np.testing.assert_array_equal(results[gid].behaviour, want)
        assert len({tuple(r.behaviour) for r in results.values()}) > 1
    with pytest.raises(EntmError, match="novelty descriptor 'lookup' needs the season task"):
        check_search("novelty", make_task("tmaze", SMALL), {"descriptor": "lookup"})


@pytest.mark.parametrize("task, task_params, seed, episodes, novelty", [
    ("copy", {"vector_size": 2}, 2, 4, {"descriptor": "reads"}),
    ("season", {"years": 2}, 1, 6, {"descriptor": "reads", "threshold": 0.01}),
    ("season", {"years": 2}, 1, 6, {"descriptor": "lookup", "threshold": 0.01}),
])
def test_memory_novelty_runs_are_deterministic_and_resume_exactly(tmp_path, task, task_params, seed, episodes,
                                                                  novelty):
    """Hybrid runs on the memory's descriptors (a sequence task's reads; the season task's reads at its
    decisions and its lookup): a run resumed from its checkpoint equals the uninterrupted one (archive
    included)."""
    def settings(name, generations):
        return EvolveSettings(task=task, task_params=task_params, generations=generations, seed=seed,
                              episodes=episodes, evaluator="serial", stop_when_solved=False,
                              run_dir=str(tmp_path / name), search="hybrid", fixed_episodes=True, checkpoint_every=2,
                              novelty=novelty)

    whole = evolve(settings("whole", 4), progress=False)
    part = evolve(settings("part", 2), progress=False)
    resumed = resume(part.run_dir, generations=4, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
    assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    m = runs.read_metrics(whole.run_dir)
    assert m[-1]["search"]["archive"] > 0 and m[0]["search"]["novelty_best"] > 0
    assert runs.read_run_json(whole.run_dir)["novelty"]["descriptor"] == novelty["descriptor"]


def test_the_novelty_floor_keeps_novelty_search_on_small_descriptors(capsys, tmp_path):
    """``--novelty-floor``: the novelty phase ends when the archive threshold falls below it (default 1), so a
    lower floor keeps novelty search going on descriptors of small values; recorded in run.json."""
    def phases(name, floor):  # no genome is that novel: every generation quiet, the threshold falling by 5 %
        status, _, err = run_main(capsys, "evolve", "--task", "copy", "--vector-size", "2", "--search", "novelty",
                                  "--fixed-episodes", "--novelty-threshold", "1e6", "--novelty-floor", floor,
                                  "--serial", "--quiet", "--generations", "12", "--episodes", "4", "--run-dir",
                                  tmp_path / name)
        assert status == 0, err
        return [m["search"]["phase"] for m in runs.read_metrics(tmp_path / name)]

    assert phases("near", "9.6e5")[-1] == "objective"  # the threshold fell below the floor: the objective ...
    assert set(phases("low", "1e4")) == {"novelty"}  # ... where a lower floor keeps the novelty phase
    assert runs.read_run_json(tmp_path / "low")["novelty"]["threshold_floor"] == 1e4
    main_error(capsys, "evolve", "--task", "copy", "--search", "novelty", "--fixed-episodes", "--novelty-floor",
               "-1", words=("threshold_floor",))


def test_a_new_stage_empties_the_archive_and_keeps_the_runs_phase():
    """``NoveltySearch.reset`` (a curriculum's new stage): the archive, its threshold and the best score start
    afresh; the phase and the generation count are the run's, in the very dict the loop's state holds."""
    search = NoveltySearch("hybrid", NoveltyParams.from_dict({"threshold": 2.0}))
    state = search.state
    state.update(archive=np.ones((3, 4)), threshold=0.5, quiet=4, generation=7, max_score=0.8, phase="objective",
                 floor_reached=True)
    search.reset()
    assert search.state is state
    assert state == {"archive": None, "threshold": 2.0, "quiet": -1, "generation": 7, "max_score": 0.0,
                     "phase": "objective", "floor_reached": False}
