"""Lexicase selection (--search lexicase): the selection rule, the cases the evaluators give, determinism,
exact resume, and its one-line errors."""

import dataclasses

import numpy as np
import pytest
from helpers import comparable_champion, comparable_metrics, main_error, mutated_population

from entm import runs
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator, GenomeResult
from entm.evolution.lexicase import Lexicase, epsilons, select
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.tasks.maze_logic import phase_cases, phases, round_rights

SMALL_MAZE = {"variant": "discrete", "maze": "double", "rounds": 6}


def test_epsilon_is_the_median_absolute_deviation_per_case():
    F = np.array([[0.0, 1.0], [0.2, 1.0], [0.6, 1.0], [1.0, 0.0]])
    # case 0: median 0.4, deviations 0.4, 0.2, 0.2, 0.6 -> 0.3; case 1: median 1, deviations 0, 0, 0, 1 -> 0
    np.testing.assert_allclose(epsilons(F), [0.3, 0.0])


def test_a_specialist_is_selected_when_its_case_comes_first():
    """Genome 0 is best on cases 0 and 1, genome 1 on case 2 alone, genome 2 second everywhere (the best
    mean): with ε = 0, genome 1 is selected exactly when case 2 comes first (1/3 of the shuffles), genome 0
    otherwise, genome 2 never."""
    F = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.9, 0.9, 0.9]])
    picks = select(F, np.zeros(3), 3000, np.random.default_rng(0))
    counts = np.bincount(picks, minlength=3)
    assert counts[2] == 0 and counts[0] + counts[1] == 3000
    assert 900 < counts[1] < 1100
    # ε wide enough to keep genome 2 beside the best on each case: it survives every case and wins
    assert set(select(F, np.full(3, 0.15), 200, np.random.default_rng(0))) == {2}


def test_ties_left_after_every_case_are_drawn_at_random():
    F = np.ones((4, 3))
    picks = select(F, np.zeros(3), 400, np.random.default_rng(1))
    assert set(picks) == {0, 1, 2, 3}


class _G:
    def __init__(self):
        self.fitness = None


def test_search_score_counts_selections_ties_broken_by_the_objective():
    cases = [np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([0.5, 0.5, 0.5]),
             np.array([0.4, 0.4, 0.4]), np.array([np.nan, 1.0, 1.0])]
    res = {i: GenomeResult(fitness=float(np.nanmean(c)) if i < 4 else 0.0, score=0.0, perfect=0.0,
                           bit_errors=0.0, nonfinite=i == 4, behaviour=c) for i, c in enumerate(cases)}
    genomes = [(i, _G()) for i in range(5)]
    lex = Lexicase(seed=7)
    out = lex.assign(genomes, res)
    fit = [g.fitness for _, g in genomes]
    assert max(fit) == pytest.approx(0.99)
    assert fit[4] == 0.0  # a genome with a NaN output is never selected and scores nothing
    assert fit[0] > fit[2] > fit[3] > 0 and fit[1] > fit[2]  # selected ones first, then the objective
    assert out == {"search": "lexicase", "cases": 3, "selected": 2, "most_selected": out["most_selected"]}
    assert lex.state["generation"] == 1
    again = [(i, _G()) for i in range(5)]
    Lexicase(seed=7).assign(again, res)
    assert [g.fitness for _, g in again] == fit  # the draws are a function of (seed, generation)


def test_elites_put_the_objectives_best_above_the_most_drawn_with_the_same_draws():
    """Genome 0 is best on every case (drawn every time), genomes 1 and 2 best by the objective but on no
    case; with elites=2 they score above every other genome, in the objective's order, and the other
    genomes keep the scores the same draws give them."""
    rng = np.random.default_rng(4)
    cases = [np.full(6, 1.0), np.full(6, 0.5), np.full(6, 0.5)] + [rng.uniform(0, 0.3, 6) for _ in range(5)]
    objective = [0.5, 0.9, 0.8] + [0.1] * 5
    res = {i: GenomeResult(fitness=objective[i], score=0.0, perfect=0.0, bit_errors=0.0, nonfinite=False,
                           behaviour=c) for i, c in enumerate(cases)}
    plain = [(i, _G()) for i in range(8)]
    Lexicase(seed=3).assign(plain, res)
    kept = [(i, _G()) for i in range(8)]
    out = Lexicase(seed=3, elites=2).assign(kept, res)
    p, k = [g.fitness for _, g in plain], [g.fitness for _, g in kept]
    assert p[0] == pytest.approx(0.99) and p[1] < p[0] and p[2] < p[0]  # without: the most drawn first
    assert k[1] == pytest.approx(0.99) and k[2] < k[1] and all(k[2] > x for j, x in enumerate(k) if j > 2 or j == 0)
    others = [j for j in range(8) if j not in (1, 2)]
    scale = k[0] / p[0]
    assert [k[j] for j in others] == pytest.approx([p[j] * scale for j in others])  # same draws, one rescale
    assert out["selected"] >= 1


def test_elites_are_off_by_default_and_need_lexicase(capsys, tmp_path):
    assert Lexicase(seed=1).elites == 0
    main_error(capsys, "evolve", "--task", "tmaze", "--lexicase-elites", "2", "--run-dir", str(tmp_path / "a"),
               words=("--lexicase-elites needs --search lexicase",))
    main_error(capsys, "evolve", "--task", "tmaze", "--search", "novelty", "--lexicase-elites", "1",
               "--run-dir", str(tmp_path / "b"), words=("--lexicase-elites needs --search lexicase",))
    main_error(capsys, "evolve", "--task", "tmaze", "--search", "lexicase", "--lexicase-elites", "-1",
               "--run-dir", str(tmp_path / "c"), words=("lexicase_elites must be an integer >= 0",))
    assert not any((tmp_path / d).exists() for d in "abc")


def test_a_run_with_elites_keeps_the_objectives_best_and_resumes_exactly(tmp_path):
    """The season task on fixed deployments (the preset's way): without elites the generation's best by the
    objective falls in this run (the most drawn are kept), with one it never does; the setting is in
    run.json and a resumed run equals the whole one."""
    kw = dict(task="season", params={"years": 2}, fixed_episodes=True)
    plain = evolve(_settings(tmp_path / "plain", generations=6, **kw), progress=False)
    best = [m["best_fitness"] for m in runs.read_metrics(plain.run_dir)]
    assert best != sorted(best)
    kw["novelty"] = {"lexicase_elites": 1}
    whole = evolve(_settings(tmp_path / "whole", generations=6, **kw), progress=False)
    best = [m["best_fitness"] for m in runs.read_metrics(whole.run_dir)]
    assert best == sorted(best) and best[-1] > best[0]
    assert runs.read_run_json(whole.run_dir)["novelty"] == {"lexicase_elites": 1}
    part = evolve(_settings(tmp_path / "part", generations=4, **kw), progress=False)
    resumed = resume(part.run_dir, generations=6, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)


@pytest.mark.parametrize("task, params", [("copy", {"vector_size": 2}), ("tmaze", SMALL_MAZE)])
def test_the_cases_are_the_fitness_of_each_episode(task, params):
    """The evaluators' cases for lexicase (behaviour ``cases``): one fitness per episode (per deployment),
    whose mean is the genome's fitness, in a real evaluation of mutated genomes."""
    settings = EvolveSettings(task=task, task_params=params)
    t, spec, _, config, genomes = mutated_population(settings, 6, seed=2)
    from entm.evolution.loop import prepare

    text = prepare(settings)[3]
    ev = GenomeEvaluator(EvalSettings(config_text=text, task=task, task_params=t.params(), memory=spec, seed=0,
                                      episodes=12, behaviour="cases"))
    results, _ = ev.evaluate(list(enumerate(genomes)), generation=3)
    rows = np.stack([r.behaviour for r in results.values()])
    assert rows.shape == (6, 12)
    np.testing.assert_allclose(rows.mean(axis=1), [r.fitness for r in results.values()], rtol=1e-12)
    assert len({tuple(r) for r in rows}) > 1  # the genomes differ case by case


def test_the_maze_rounds_as_cases_replay_the_logical_score():
    """``lexicase_cases rounds``: one case per round of each deployment, replayed from the goals reached
    (:func:`entm.tasks.maze_logic.round_rights`); a deployment's rounds average to its fitness exactly, so the
    replay agrees with the environment's own count of right rounds (the steering maze's fused loop:
    tests/test_maze_solver.py)."""
    params = {**SMALL_MAZE, "lexicase_cases": "rounds", "goal_bonus": 0.25}
    settings = EvolveSettings(task="tmaze", task_params=params)
    t, spec, _, config, genomes = mutated_population(settings, 6, seed=2)
    from entm.evolution.loop import prepare

    text = prepare(settings)[3]
    ev = GenomeEvaluator(EvalSettings(config_text=text, task="tmaze", task_params=t.params(), memory=spec, seed=0,
                                      episodes=12, behaviour="cases"))
    results, _ = ev.evaluate(list(enumerate(genomes)), generation=3)
    cases = np.stack([r.behaviour for r in results.values()]).reshape(6, 12, 6)
    per_deployment = cases.mean(axis=2)
    np.testing.assert_allclose(per_deployment.mean(axis=1), [r.fitness for r in results.values()], rtol=1e-12)
    plain = GenomeEvaluator(EvalSettings(config_text=text, task="tmaze", task_params={**t.params(),
                                         "lexicase_cases": "deployments"}, memory=spec, seed=0, episodes=12,
                                         behaviour="cases"))
    rows = np.stack([r.behaviour for r in plain.evaluate(list(enumerate(genomes)), generation=3)[0].values()])
    np.testing.assert_allclose(per_deployment, rows, rtol=1e-12)  # deployment by deployment
    assert set(np.unique(cases)) <= {0.0, 0.2, 1.0}  # wrong and no goal, wrong at a goal, right
    assert (cases == 1.0).any() and (cases < 1.0).any()


def test_round_rights_follows_the_logic_round_by_round():
    """By hand: the high reward at goal 2, then (before round 4) at goal 1."""
    schedule = np.array([[2, 2, 2, 2, 1, 1, 1, 1]] * 2)
    goals = np.array([[0, 2, 2, 2, 2, 0, 1, 1],    # explore, find, exploit, exploit, moved, explore, find, exploit
                      [0, 0, 2, -1, 3, 2, 3, 1]])  # 0 again (tried), find, crash, leave the known goal, ...
    right = round_rights(goals, schedule, 4)
    assert right[0].tolist() == [True] * 8
    # row 1: goal 0 again (tried, wrong), goal 2 found (known), a crash (wrong), goal 3 while 2 is known
    # (wrong), back to 2 (right: low, so the move is seen and only 2 counts as tried), 3 and 1 untried (right)
    assert right[1].tolist() == [True, False, True, False, False, True, True, True]


def test_phases_group_the_rounds_by_where_the_high_reward_is():
    """By hand: the two rows above (one phase before the move to goal 1, one after), and a row whose high
    reward moves twice (0, then 3 before round 3, then 0 again before round 6)."""
    schedule = np.array([[2, 2, 2, 2, 1, 1, 1, 1]] * 2 + [[0, 0, 0, 3, 3, 3, 0, 0]])
    goals = np.array([[0, 2, 2, 2, 2, 0, 1, 1], [0, 0, 2, -1, 3, 2, 3, 1],
                      [0, 0, 0, 0, 3, 3, 1, 0]])  # find 0, exploit; moved: 0 (right, known), find 3; moved: wrong
    assert round_rights(goals, schedule, 4)[2].tolist() == [True] * 6 + [False] * 2
    assert phases(goals, schedule, 4) == {
        "first": {"0": {"phases": 1, "right": 1.0}, "2": {"phases": 2, "right": 0.5}},
        "moves": {"0>3": {"phases": 1, "right": 1.0}, "2>1": {"phases": 2, "right": 0.5},
                  "3>0": {"phases": 1, "right": 0.0}}}


def test_phase_cases_are_each_networks_phases_by_kind():
    """``lexicase_cases phases``, by hand: two networks on the same two deployments (the high reward at goal 2,
    then at goal 1), one case per kind of phase: first high goal 2, move 2 > 1."""
    schedule = np.array([[2, 2, 2, 2, 1, 1, 1, 1]] * 4)
    goals = np.array([[0, 2, 2, 2, 2, 0, 1, 1], [0, 0, 2, -1, 3, 2, 3, 1],   # network 0: both phases right; wrong
                      [0, 2, 2, 2, 2, 2, 1, 1], [1, 2, 2, 2, 2, 3, 3, 1]])  # network 1: first right, move wrong twice
    cases = phase_cases(goals, schedule, 4, groups=2)
    assert cases.tolist() == [[0.5, 0.5], [1.0, 0.0]]
    for g in range(2):  # the shares phases() gives each network's rows
        found = phases(goals[2 * g:2 * g + 2], schedule[2 * g:2 * g + 2], 4)
        assert cases[g].tolist() == [found["first"]["2"]["right"], found["moves"]["2>1"]["right"]]


def test_the_maze_phases_as_cases_through_the_evaluator():
    """The evaluator's cases under ``lexicase_cases phases``: per genome the 4 first high goals and the 12 moves
    of the generation's 12 deployments, each the share of those phases right in every round, as
    :func:`entm.tasks.maze_logic.phases` finds them on the same deployments run by the environment."""
    from entm.closed_loop import run_closed_loop
    from entm.evolution.evaluator import episode_rng
    from entm.evolution.loop import prepare
    from entm.phenotype import pack_genomes

    params = {**SMALL_MAZE, "lexicase_cases": "phases"}
    settings = EvolveSettings(task="tmaze", task_params=params)
    t, spec, machine, config, genomes = mutated_population(settings, 6, seed=2)
    text = prepare(settings)[3]
    ev = GenomeEvaluator(EvalSettings(config_text=text, task="tmaze", task_params=t.params(), memory=spec, seed=0,
                                      episodes=12, behaviour="cases"))
    cases = np.stack([r.behaviour for r in ev.evaluate(list(enumerate(genomes)), generation=3)[0].values()])
    assert cases.shape == (6, 16)
    env = t.environment(t.sample(episode_rng(0, 3), 12), groups=6)
    run_closed_loop(machine, pack_genomes(genomes, config.genome_config), env)
    for g in range(6):
        found = phases(env.goal_log[12 * g:12 * (g + 1)], env.schedule[12 * g:12 * (g + 1)], 4)
        assert list(found["moves"]) == [f"{a}>{b}" for a in range(4) for b in range(4) if a != b]
        assert cases[g].tolist() == [v["right"] for kind in ("first", "moves") for v in found[kind].values()]
    assert len({tuple(c) for c in cases}) > 1 and (cases > 0).any()


def _settings(run_dir, generations=4, task="tmaze", params=SMALL_MAZE, **kw):
    return EvolveSettings(task=task, task_params=params, generations=generations, seed=3, episodes=4,
                          stop_when_solved=False, evaluator="serial", run_dir=str(run_dir), search="lexicase",
                          checkpoint_every=2, **kw)


@pytest.mark.parametrize("task, params", [("tmaze", SMALL_MAZE), ("repeat_copy", {"vector_size": 2})])
def test_lexicase_run_is_deterministic_and_resumes_exactly(tmp_path, task, params):
    """New episodes every generation (no --fixed-episodes needed): the cases are compared within a
    generation only."""
    kw = {"task": task, "params": params}
    whole = evolve(_settings(tmp_path / "whole", **kw), progress=False)
    again = evolve(_settings(tmp_path / "again", **kw), progress=False)
    assert comparable_metrics(whole.run_dir) == comparable_metrics(again.run_dir)
    part = evolve(_settings(tmp_path / "part", generations=2, **kw), progress=False)
    resumed = resume(part.run_dir, generations=4, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
    assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    metrics = runs.read_metrics(whole.run_dir)
    assert all(m["search"]["search"] == "lexicase" and m["search"]["cases"] == 4 for m in metrics)
    assert all(m["search"]["selected"] >= 1 and m["search"]["most_selected"] >= 1 for m in metrics)
    # the champion is the objective's: the best fitness over the generations
    assert metrics[-1]["champion_fitness"] == max(m["best_fitness"] for m in metrics)
    assert runs.read_run_json(whole.run_dir)["search"] == "lexicase"


def test_lexicase_works_with_a_curriculum(tmp_path):
    res = evolve(EvolveSettings(task="associative_recall", task_params={"stages": "auto"}, generations=2, seed=0,
                                episodes=4, evaluator="serial", stop_when_solved=False,
                                run_dir=str(tmp_path / "c"), search="lexicase"), progress=False)
    m = runs.read_metrics(res.run_dir)
    assert [x["search"]["search"] for x in m] == ["lexicase", "lexicase"] and m[0]["stage"] == 0


def test_bad_lexicase_settings_are_one_line_errors(capsys, tmp_path):
    main_error(capsys, "evolve", "--task", "tmaze", "--search", "lexicase", "--novelty-k", "3",
               words=("need --search novelty",))
    main_error(capsys, "evolve", "--task", "tmaze", "--search", "lexicas", words=("invalid choice", "lexicase"))
    main_error(capsys, "evolve", "--task", "season", "--lexicase-cases", "rounds", "--run-dir", str(tmp_path / "r"),
               words=("lexicase_cases", "'rounds'", "deployments", "foods"))
    assert not (tmp_path / "r").exists()


SEASON_AUTHORS = {"foods_per_season": "distinct", "season_days": "deployment", "feedback": "right",
                  "feedback_length": 1, "years": 2}


def test_the_season_foods_as_cases_count_each_foods_decisions():
    """``lexicase_cases foods`` (season): per network and food, the share of that food's scored decisions
    right over all its deployments (1 where it has none), from the fused loop, against a count item by item
    over the numpy loop's recorded decisions; pooled over the foods they are the environment's own count of
    right decisions."""
    from entm.closed_loop import run_closed_loop
    from entm.phenotype import Network

    settings = EvolveSettings(task="season", task_params={**SEASON_AUTHORS, "lexicase_cases": "foods"})
    task, spec, machine, config, genomes = mutated_population(settings, 5, seed=3)
    nets = [Network.from_genome(g, config.genome_config) for g in genomes]
    deps = task.sample(np.random.default_rng(4), 6)
    env = task.environment(deps, groups=5)
    run_closed_loop(machine, nets, env)  # fused
    cases = task.lexicase_values(env, task.fitness_rows(env, task.score(env)))
    F = task.food_inputs
    assert cases.shape == (5, F)
    rec = task.environment(deps, groups=5, record=True)
    run_closed_loop(machine, nets, rec, fused=False)
    want = np.ones((5, F))
    for g in range(5):
        right, n = np.zeros(F), np.zeros(F)
        for d in range(6):
            for i in range(deps.items[d]):
                if not deps.scored[d, i]:
                    continue
                f = deps.food[d, i] + deps.season[d, i] * task.foods
                y = rec.decisions[g * 6 + d, i]
                n[f] += 1
                right[f] += (y > 0.7) if not deps.poison[d, i] else (y < 0.3)
        want[g, n > 0] = right[n > 0] / n[n > 0]
        rows = slice(g * 6, g * 6 + 6)
        assert (cases[g] * n).sum() == pytest.approx(env.right_count[rows].sum(), abs=1e-9)
        assert n.sum() == env.scored_count[rows].sum()
    np.testing.assert_allclose(cases, want, rtol=1e-12)
    assert ((cases > 0) & (cases < 1)).any()  # shares, not one value per network
    assert len({tuple(r) for r in cases}) > 1  # the networks differ food by food
    plain = dataclasses.replace(task, lexicase_cases="deployments")
    np.testing.assert_allclose(plain.lexicase_values(env, np.arange(30.0)), np.arange(30.0).reshape(5, 6))


def test_the_season_foods_cases_reach_the_evaluator():
    """Through the evaluator (behaviour ``cases``): one case per food per genome."""
    settings = EvolveSettings(task="season", task_params={**SEASON_AUTHORS, "lexicase_cases": "foods"})
    t, spec, _, config, genomes = mutated_population(settings, 4, seed=2)
    from entm.evolution.loop import prepare

    ev = GenomeEvaluator(EvalSettings(config_text=prepare(settings)[3], task="season", task_params=t.params(),
                                      memory=spec, seed=0, episodes=5, behaviour="cases"))
    results, _ = ev.evaluate(list(enumerate(genomes)), generation=1)
    rows = np.stack([r.behaviour for r in results.values()])
    assert rows.shape == (4, 8)
    assert set(np.unique(rows)) - {0.0, 1.0}  # shares of each food's decisions
