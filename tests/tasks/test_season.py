"""The season task: schedule, feedback timing, scoring and the unscored first days, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from entm.analysis.deployment import draw_deployment
from entm.errors import EntmError
from entm.tasks import make_task
from entm.tasks.season import SeasonDeployments

SMALL = {"years": 2, "seasons": 2, "min_days": 1, "max_days": 1, "foods": 2, "poisonous": 1, "steps_per_food": 3}


def hand_deployment() -> SeasonDeployments:
    """Season 1: food 0 poisonous; season 2: food 1.  One day per season, two years.

    item  year season food  poison  scored
      0     1     1     0    yes     no   (first day of a season in the first year)
      1     1     1     1    no      no
      2     1     2     1    yes     no
      3     1     2     0    no      no
      4     2     1     1    no      yes
      5     2     1     0    yes     yes
      6     2     2     0    no      yes
      7     2     2     1    yes     yes
    """
    food = np.array([[0, 1, 1, 0, 1, 0, 0, 1]])
    poison = np.array([[1, 0, 1, 0, 0, 1, 0, 1]], dtype=bool)
    year = np.array([[0, 0, 0, 0, 1, 1, 1, 1]])
    season = np.array([[0, 0, 1, 1, 0, 0, 1, 1]])
    return SeasonDeployments(food=food, poison=poison, scored=year > 0, year=year, season=season,
                             day=np.zeros_like(food), items=np.array([8]),
                             poisonous=np.array([[[True, False], [False, True]]]), days=np.ones((1, 2, 2), int))


def drive(task, env, decisions):
    """Output ``decisions[i]`` throughout food item i; returns the inputs seen at every step."""
    seen = []
    S = task.steps_per_food
    while not env.done:
        x = env.observe()
        seen.append(x[0].copy())
        env.act(np.full((env.batch, 1), decisions[env.t // S]))
    return np.array(seen)


def test_hand_worked_scores_feedback_and_unscored_first_days():
    task = make_task("season", SMALL)
    assert (task.decision_step, task.feedback_steps) == (1, 1)
    env = task.environment(hand_deployment())
    # eat everything in year 1 (unscored); year 2: eat good (right), avoid poison (right),
    # undecided on good food (wrong), eat poison (wrong)
    decisions = [0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.5, 0.8]
    seen = drive(task, env, decisions)
    assert seen.shape == (24, 4)  # 8 items x 3 steps; inputs food0, food1, reward, punishment
    sc = task.score(env)
    assert sc.score[0] == pytest.approx(0.5)
    assert sc.bit_errors[0] == 2 and not sc.perfect[0]
    assert int(env.scored_count[0]) == 4
    # the food is shown on all three steps of its item
    for i, f in enumerate([0, 1, 1, 0, 1, 0, 0, 1]):
        np.testing.assert_array_equal(seen[3 * i:3 * i + 3, f], 1.0)
        np.testing.assert_array_equal(seen[3 * i:3 * i + 3, 1 - f], 0.0)
    # feedback only on the item's last step: punishment after eating poison, reward after eating good food
    feedback = seen[:, 2:]
    expected = np.zeros((24, 2))
    for i, (r, p) in enumerate([(0, 1), (1, 0), (0, 1), (1, 0), (1, 0), (0, 0), (0, 0), (0, 1)]):
        expected[3 * i + 2] = (r, p)
    np.testing.assert_array_equal(feedback, expected)


def test_a_perfect_year_two_is_perfect_whatever_year_one_did():
    task = make_task("season", SMALL)
    env = task.environment(hand_deployment())
    drive(task, env, [0.5, 0.5, 0.5, 0.5, 0.9, 0.1, 0.9, 0.1])  # year 1 undecided: not scored
    sc = task.score(env)
    assert sc.perfect[0] and sc.score[0] == 1.0 and sc.bit_errors[0] == 0


def test_schedule():
    task = make_task("season")
    d = task.sample(np.random.default_rng(5), 30)
    assert d.days.shape == (30, 3, 2) and d.days.min() >= 1 and d.days.max() <= 5
    assert np.all(d.poisonous.sum(axis=2) == 2)
    for b in range(30):
        n = int(d.items[b])
        assert n == 4 * d.days[b].sum()
        assert np.all(d.food[b, n:] == -1)
        food = d.food[b, :n].reshape(-1, 4)
        assert np.all(np.sort(food, axis=1) == np.arange(4))  # every day each food once
        np.testing.assert_array_equal(d.poison[b, :n], d.poisonous[b, d.season[b, :n], d.food[b, :n]])
        # seasons in order within a year, years in order; days counted within their season
        order = d.year[b, :n] * 2 + d.season[b, :n]
        assert np.all(np.diff(order) >= 0)
        for y in range(3):
            for s in range(2):
                sel = (d.year[b, :n] == y) & (d.season[b, :n] == s)
                assert sel.sum() == 4 * d.days[b, y, s]
                np.testing.assert_array_equal(np.unique(d.day[b, :n][sel]), np.arange(d.days[b, y, s]))
        np.testing.assert_array_equal(d.scored[b, :n], ~((d.year[b, :n] == 0) & (d.day[b, :n] == 0)))
    gen = task.sample(np.random.default_rng(5), 10, length=20)
    assert gen.days.shape == (10, 20, 2) and gen.days.min() >= 4 and gen.days.max() <= 10


def test_showings_repeat_every_item_and_score_the_repeats_only():
    """``showings=3``: the schedule of ``showings=1`` from the same draws, each item three times in a row;
    the first showing of each is unscored (on every day), the repeats are scored; an agent that eats on a
    first showing and then decides by the feedback it got is perfect."""
    once = make_task("season", {**SMALL, "years": 3, "max_days": 3})
    thrice = make_task("season", {**SMALL, "years": 3, "max_days": 3, "showings": 3})
    a, b = once.sample(np.random.default_rng(3), 20), thrice.sample(np.random.default_rng(3), 20)
    np.testing.assert_array_equal(b.items, 3 * a.items)
    for name in ("food", "poison", "year", "season", "day"):
        np.testing.assert_array_equal(getattr(b, name), np.repeat(getattr(a, name), 3, axis=1))
    first = np.arange(b.food.shape[1]) % 3 == 0
    assert not b.scored[:, first].any()
    np.testing.assert_array_equal(b.scored[:, ~first], (b.food >= 0)[:, ~first])
    env = thrice.environment(b)
    S, good = thrice.steps_per_food, np.ones(env.batch)
    while not env.done:
        x = env.observe()
        item = env.t // S
        if env.t % S == S - 1:  # the feedback step: what the eaten food turned out to be
            good = np.where(x[:, -1] > 0, 0.0, good)  # punished: poison
        if env.t % S == 0 and item % 3 == 0:
            good = np.ones(env.batch)  # a new food: eat it to find out
        env.act(np.where(good > 0, 0.9, 0.1)[:, None])
    assert thrice.score(env).perfect.all()
    with pytest.raises(EntmError, match="showings"):
        make_task("season", {"showings": 0})


def test_foods_shown_meets_the_first_foods_of_each_season_from_the_same_draws():
    """``foods_shown=2`` of 4: each day meets foods 0 and 1 of its season once each, in the order the full
    task's draws give them, with the same seasons, days and poisonous foods; the unscored first days
    stay; 0 or 4 is the full task; more than ``foods`` is a one-line error."""
    params = {**SMALL, "years": 3, "max_days": 3, "foods": 4, "poisonous": 2}
    full, part = make_task("season", params), make_task("season", {**params, "foods_shown": 2})
    a, b = full.sample(np.random.default_rng(4), 30), part.sample(np.random.default_rng(4), 30)
    np.testing.assert_array_equal(b.poisonous, a.poisonous)
    np.testing.assert_array_equal(b.days, a.days)
    np.testing.assert_array_equal(b.items, a.items // 2)
    for k in range(30):
        n = a.items[k]
        kept = a.food[k, :n] < 2  # the full schedule's items of foods 0 and 1, in their order
        for name in ("food", "poison", "year", "season", "day", "scored"):
            np.testing.assert_array_equal(getattr(b, name)[k, :b.items[k]], getattr(a, name)[k, :n][kept])
        assert (b.food[k, b.items[k]:] == -1).all()
    every = make_task("season", {**params, "foods_shown": 4}).sample(np.random.default_rng(4), 30)
    np.testing.assert_array_equal(every.food, a.food)
    with pytest.raises(EntmError, match="foods_shown"):
        make_task("season", {**params, "foods_shown": 5})


def test_oracle_always_eat_and_undecided():
    """An agent that knows the poison scores 1; always eating scores the share of good food among
    the scored decisions (1/2 here); always undecided scores 0."""
    task = make_task("season")
    deps = task.sample(np.random.default_rng(7), 12)
    for policy, expected in (("oracle", 1.0), ("eat", 0.5), ("undecided", 0.0)):
        env = task.environment(deps, groups=2)
        S = task.steps_per_food
        while not env.done:
            env.observe()
            item = min(env.t // S, env.food.shape[1] - 1)
            if policy == "oracle":
                out = np.where(env.poison[:, item], 0.0, 1.0)
            else:
                out = np.full(env.batch, 1.0 if policy == "eat" else 0.5)
            env.act(out[:, None])
        sc = task.score(env)
        assert sc.score == pytest.approx(np.full(24, expected))
        assert sc.perfect.all() == (expected == 1.0)


def test_bad_parameters():
    with pytest.raises(EntmError, match="max_days"):
        make_task("season", {"min_days": 3, "max_days": 2})
    with pytest.raises(EntmError, match="poisonous"):
        make_task("season", {"foods": 2, "poisonous": 3})
    with pytest.raises(EntmError, match="steps_per_food"):
        make_task("season", {"steps_per_food": 1})


def test_render_table(tmp_path):
    task = make_task("season", SMALL)
    env = task.environment(hand_deployment(), record=True)
    drive(task, env, [0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.5, 0.8])
    text = draw_deployment(task, env, 0, tmp_path / "season.txt").read_text()
    lines = text.splitlines()
    assert len(lines) == 2 + 8 + 1
    assert lines[-1].startswith("score 0.5000: 2 of 4")
    assert "punishment" in lines[2] and "undecided" in lines[8]
