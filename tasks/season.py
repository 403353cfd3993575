"""The season task (Lüders, Schläger, Korach & Risi, EvoApplications 2017).

An agent lives ``years`` years of ``seasons`` seasons; a season lasts a number
of days drawn per (year, season) uniformly in ``[min_days, max_days]``.  Every
day it meets each of the ``foods`` foods once, in a random order.  In each
season ``poisonous`` of the foods are poisonous; which ones is drawn per
deployment and per season, and holds for that season in every year.  The
seasons are not announced: the agent must notice them by what it is fed.

Each food is presented for ``steps_per_food`` steps (4 by default), its
one-hot code on the food inputs throughout.  The output of the step before
the feedback is the decision: *eat* when it is above 0.7, *avoid* when below
0.3, undecided in between.  The last ``steps_per_food // 2`` steps give the
feedback on the two other inputs: ``reward`` = 1 after eating a good food,
``punishment`` = 1 after eating a poisonous one, both 0 otherwise.  With 4
steps: food shown on steps 0-3, decision on step 1, feedback on steps 2-3.

Score: the fraction of *scored* decisions that are right (eat good food,
avoid poison; undecided is wrong).  The first day of every season in the
first year is not scored: nothing can be known then.  A deployment with no
scored decision (possible only with one year and one-day seasons) scores 1.
*Perfect*: every scored decision right; ``bit_errors``: the wrong ones.

Fitness (``credit``): ``threshold`` (default, the authors'), the score;
``graded``, the mean over scored decisions of a credit that rises linearly
from 0 at the wrong threshold to 1 at the right one (good food: (y - 0.3) /
0.4, poison: (0.7 - y) / 0.4, clipped to [0, 1]).  It is 1 exactly where the
score is, and it pays a decision moved towards right before it crosses a
threshold (measured: docs/presets.md).  The score, the solved check and the
champion's score are the same either way.

``memory_term`` adds a term to the fitness (the mean of the two): per network, over its scored
decisions, the largest difference between a read column's mean before good food and its mean before
poison (in [0, 1]).  Only a memory that holds each food's feedback and is found again by the food
earns it (which food is good is drawn per deployment), before any output is wired to it; without the
term each part of that loop alone scores what always eating scores (docs/presets.md).

``showings`` (a curriculum's first stage, ``--stages auto``): every food item is
shown ``showings`` times in a row, and only the repeats are scored (on every
day): the feedback on an item decides the next one, with no lookup.
``foods_shown`` (a curriculum's early stages): each day meets only the first
``foods_shown`` of each season's foods, from the same draws (0: all), so a
lookup over fewer foods pays first.

``length`` (``entm evaluate --lengths``) is the number of years, with season
lengths drawn from ``[gen_min_days, gen_max_days]`` (the paper's
generalisation test: 20 years, 4-10 days).

The authors' environment (``SeasonTaskEnvironment``, docs/presets.md):
``foods_per_season = "distinct"`` (each season has its own ``foods`` foods:
``foods * seasons`` food inputs), ``season_days = "deployment"`` (one season
length per deployment), ``feedback = "right"`` (after every decision,
``reward`` = 1 when it was right, ``punishment`` = 1 when wrong, eaten or
not), ``feedback_length = 1`` (decision on the third of 4 steps, feedback on
the fourth; 0: ``steps_per_food // 2``).  Their defaults give the environment
above exactly (:meth:`Task.nondefault_dynamics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Scores, check_choice, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.reward import Environment, RewardTask, tile_rows

EAT = 0.7
AVOID = 0.3
LEXICASE_CASES = ("deployments", "foods")


def right_decisions(y: np.ndarray, poison: np.ndarray) -> np.ndarray:
    """Which decisions (eat outputs ``y``) are right: good food eaten (> EAT) or poison avoided (< AVOID)."""
    return ((y > EAT) & ~poison) | ((y < AVOID) & poison)


@dataclass
class SeasonDeployments:
    """A batch of season-task deployments, as a schedule of food items (padded to the longest)."""

    food: np.ndarray
    """(n, I) the food of each item (-1 past the end)."""
    poison: np.ndarray
    """(n, I) bool: the item's food is poisonous in its season."""
    scored: np.ndarray
    """(n, I) bool: the item's decision is scored."""
    year: np.ndarray
    """(n, I) year of each item."""
    season: np.ndarray
    """(n, I) season of each item."""
    day: np.ndarray
    """(n, I) day of each item within its season."""
    items: np.ndarray
    """(n,) items per deployment."""
    poisonous: np.ndarray
    """(n, seasons, foods) bool: which foods are poisonous in which season."""
    days: np.ndarray
    """(n, years, seasons) days of each season."""

    @property
    def n(self) -> int:
        return len(self.items)


@dataclass
class SeasonTask(RewardTask):
    """Learn which foods are poisonous in each season, and remember it across the years."""

    years: int = 3
    """Years per deployment (training)."""
    seasons: int = 2
    """Seasons per year."""
    min_days: int = 1
    """Shortest season in days (training)."""
    max_days: int = 5
    """Longest season in days (training)."""
    foods: int = 4
    """Foods, each met once a day."""
    poisonous: int = 2
    """Poisonous foods per season."""
    steps_per_food: int = 4
    """Steps each food is presented (decision on the step before the feedback)."""
    gen_min_days: int = 4
    """Shortest season in the generalisation test (``length`` = years)."""
    gen_max_days: int = 10
    """Longest season in the generalisation test."""
    foods_per_season: str = "shared"
    """``shared``: the same foods every season; ``distinct``: each season its own (the authors')."""
    season_days: str = "each"
    """``each``: days drawn per (year, season); ``deployment``: once per deployment (the authors')."""
    feedback: str = "eaten"
    """``eaten``: reward/punishment after eating good/poisonous food; ``right``: reward after a right
    decision, punishment after a wrong one, eaten or not (the authors' "vanilla feedback")."""
    feedback_length: int = 0
    """Steps of feedback at the end of each food item; 0: ``steps_per_food // 2``."""

    credit: str = "threshold"
    """The fitness: ``threshold``, the score; ``graded``, partial credit for decisions between the thresholds
    (see the module docstring)."""
    memory_term: bool = False
    """Add the *memory* term to the fitness (the mean of the two): how well what the heads read at the scored
    decisions tells good food from poison (see the module docstring)."""
    showings: int = 1
    """Each food item is shown this many times in a row; above 1 only the repeats are scored (a curriculum's
    first stage: the feedback on a food is needed by its very next item, see the module docstring)."""
    foods_shown: int = 0
    """Foods met each day, per season: the first ``foods_shown`` of each season's foods (0: all ``foods``).
    A curriculum's early stages (``--stages "foods_shown=1,2,3 ..."``): a lookup over fewer foods pays
    before the task's; which foods are poisonous is drawn over all ``foods`` as before."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" or ``none`` none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F] [after=G | restart=G]`` (:mod:`entm.tasks.curriculum`)."""
    lexicase_cases: str = "deployments"
    """``--search lexicase``'s cases: ``deployments`` (a deployment's fitness each) or ``foods`` (each food: the
    share of its scored decisions right over the generation's deployments, 1 where it has none).  No effect
    on the fitness or the score."""

    dynamics_defaults = {"foods_per_season": "shared", "season_days": "each", "feedback": "eaten",
                         "feedback_length": 0, "credit": "threshold", "memory_term": False, "showings": 1,
                         "foods_shown": 0, "stages": "", "lexicase_cases": "deployments"}
    default_curriculum = "showings=2 advance=0.9"
    """The repeats first (the feedback on a food decides its next item), then the task."""

    name = "season"
    description = "season task: eat good food, avoid poison that changes with the seasons (Lüders et al. 2017)"
    default_episodes = 20
    generalization_lengths = (3, 20)
    """``length`` = years, with seasons of gen_min_days..gen_max_days days."""
    length_name = "years"
    score_name = "right scored decisions"
    default_memory_width = 10

    def __post_init__(self):
        for name in ("years", "seasons", "min_days", "max_days", "foods", "gen_min_days", "gen_max_days"):
            setattr(self, name, check_int(name, getattr(self, name)))
        self.poisonous = check_int("poisonous", self.poisonous, low=0)
        self.steps_per_food = check_int("steps_per_food", self.steps_per_food, low=2)
        if self.max_days < self.min_days:
            raise EntmError(f"max_days ({self.max_days}) must be at least min_days ({self.min_days})")
        if self.gen_max_days < self.gen_min_days:
            raise EntmError(f"gen_max_days ({self.gen_max_days}) must be at least gen_min_days ({self.gen_min_days})")
        if self.poisonous > self.foods:
            raise EntmError(f"poisonous ({self.poisonous}) cannot exceed foods ({self.foods})")
        for name, options in (("foods_per_season", ("shared", "distinct")), ("season_days", ("each", "deployment")),
                              ("feedback", ("eaten", "right")), ("credit", ("threshold", "graded"))):
            check_choice(f"season {name}", getattr(self, name), options)
        check_choice("lexicase_cases", self.lexicase_cases, LEXICASE_CASES)
        self.feedback_length = check_int("feedback_length", self.feedback_length, low=0)
        self.showings = check_int("showings", self.showings)
        self.foods_shown = check_int("foods_shown", self.foods_shown, low=0)
        if self.foods_shown > self.foods:
            raise EntmError(f"foods_shown ({self.foods_shown}) cannot exceed foods ({self.foods})")
        if self.feedback_length > self.steps_per_food - 1:
            raise EntmError(f"feedback_length ({self.feedback_length}) must leave a decision step: at most "
                            f"steps_per_food - 1 = {self.steps_per_food - 1}")
        parse_curriculum(self)  # a bad curriculum is an error before any work

    # -- layout ----------------------------------------------------------------
    @property
    def food_inputs(self) -> int:
        return self.foods * (self.seasons if self.foods_per_season == "distinct" else 1)

    @property
    def input_names(self) -> list[str]:
        return [f"food{i}" for i in range(self.food_inputs)] + ["reward", "punishment"]

    output_names = ["eat"]

    def hyper_layout(self) -> tuple[list, list]:
        """The task's part of the hyper encoding's substrate (entm.hyper): the one-hot food inputs as a vector
        (food j lines up with the memory's value j, so "food j is written to, and read back from, value j" is
        one regularity however many foods there are), reward and punishment as scalars, eat a scalar."""
        return [("food", self.food_inputs, True), ("reward", 1, False), ("punishment", 1, False)], [("eat", 1, False)]

    @property
    def num_inputs(self) -> int:
        return self.food_inputs + 2

    num_outputs = 1

    @property
    def feedback_steps(self) -> int:
        """Steps of feedback per food item (``feedback_length``, or ``steps_per_food // 2``)."""
        return self.feedback_length or self.steps_per_food // 2

    @property
    def decision_step(self) -> int:
        """The step of a food item whose output is the decision."""
        return self.steps_per_food - self.feedback_steps - 1

    # -- deployments -------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> SeasonDeployments:
        """``n`` deployments; ``length``: years, with the generalisation season lengths."""
        if length is None:
            years, lo, hi = self.years, self.min_days, self.max_days
        else:
            years, lo, hi = check_int("length (years)", length), self.gen_min_days, self.gen_max_days
        S, F = self.seasons, self.foods
        poisonous = np.argsort(rng.random((n, S, F)), axis=2).argsort(axis=2) < self.poisonous
        shown = self.foods_shown or F  # the first `shown` foods each day (the same draws either way)
        if self.season_days == "deployment":
            days = np.broadcast_to(rng.integers(lo, hi + 1, size=(n, 1, 1)), (n, years, S)).copy()
        else:
            days = rng.integers(lo, hi + 1, size=(n, years, S))
        total_days = days.sum(axis=(1, 2))
        orders = np.argsort(rng.random((n, int(total_days.max()), F))[:, :, :shown], axis=2)
        I = int(total_days.max()) * shown
        food = np.full((n, I), -1, dtype=np.int64)
        poison = np.zeros((n, I), dtype=bool)
        scored = np.zeros((n, I), dtype=bool)
        year = np.zeros((n, I), dtype=np.int64)
        season = np.zeros((n, I), dtype=np.int64)
        day = np.zeros((n, I), dtype=np.int64)
        for b in range(n):
            d = days[b].ravel()  # (years*S) in order year-major
            ys = np.repeat(np.repeat(np.arange(years), S), d)
            ss = np.repeat(np.tile(np.arange(S), years), d)
            dd = np.concatenate([np.arange(k) for k in d])
            D = len(dd)
            f = orders[b, :D].ravel()
            k = D * shown
            food[b, :k] = f
            year[b, :k] = np.repeat(ys, shown)
            season[b, :k] = np.repeat(ss, shown)
            day[b, :k] = np.repeat(dd, shown)
            poison[b, :k] = poisonous[b, season[b, :k], f]
            scored[b, :k] = ~((year[b, :k] == 0) & (day[b, :k] == 0))
        items = total_days * shown
        if self.showings > 1:  # every item shown `showings` times in a row, only the repeats scored
            k = self.showings
            food, poison, year, season, day = (np.repeat(a, k, axis=1) for a in (food, poison, year, season, day))
            scored = np.tile(np.arange(k) > 0, I)[None, :] & (food >= 0)
            items = items * k
        return SeasonDeployments(food=food, poison=poison, scored=scored, year=year, season=season, day=day,
                                 items=items, poisonous=poisonous, days=days)

    def environment(self, deployments: SeasonDeployments, groups: int = 1, record: bool = False) -> "SeasonEnv":
        return SeasonEnv(self, deployments, groups, record)

    # -- scoring -----------------------------------------------------------------
    def score(self, env: "SeasonEnv") -> Scores:
        n_scored = env.scored_count
        score = np.where(n_scored > 0, env.right_count / np.maximum(n_scored, 1), 1.0)
        wrong = (n_scored - env.right_count).astype(np.float64)
        return Scores(score=score, perfect=wrong == 0, bit_errors=wrong)

    def fitness_rows(self, env: "SeasonEnv", scores: Scores) -> np.ndarray:
        """The score, or with ``credit="graded"`` the mean graded credit of the scored decisions."""
        if self.credit == "threshold":
            fit = scores.score
        else:
            y = np.nan_to_num(env.eaten, nan=0.5)
            credit = np.clip(np.where(env.poison, EAT - y, y - AVOID) / (EAT - AVOID), 0.0, 1.0)
            n = env.scored_count  # as the score counts them (no scored decision: 1, as the score)
            fit = np.where(n > 0, (credit * env.scored).sum(axis=1) / np.maximum(n, 1), 1.0)
        return (fit + self.memory_rows(env)) / 2 if self.memory_term else fit

    def fitness_terms(self, env: "SeasonEnv") -> dict:
        return {"memory": self.memory_rows(env)} if self.memory_term else {}

    def memory_rows(self, env: "SeasonEnv") -> np.ndarray:
        """Per row, its network's *memory* term: max over read columns of |mean before good food - mean
        before poison| over the network's scored decisions (0 where it has none of either)."""
        if env.read_sums is None:
            return np.zeros(env.batch)
        K = env.read_sums.reshape(env.groups, -1, 2, env.read_sums.shape[2]).sum(axis=1)  # (G, 2, R + 1)
        n = K[:, :, -1:]
        means = K[:, :, :-1] / np.maximum(n, 1)
        term = np.where((n > 0).all(axis=1)[:, 0], np.abs(means[:, 0] - means[:, 1]).max(axis=1, initial=0.0), 0.0)
        return np.repeat(np.clip(term, 0.0, 1.0), env.batch // env.groups)

    def lexicase_values(self, env: "SeasonEnv", rows: np.ndarray) -> np.ndarray:
        """Per network, its lexicase cases: its deployments' fitness, or per food the share of its scored
        decisions right over all the network's deployments (1 where it has none)."""
        if self.lexicase_cases == "deployments":
            return super().lexicase_values(env, rows)
        right = (env.scored & right_decisions(env.eaten, env.poison)).reshape(env.groups, -1)
        food = np.where(env.scored, env.food_input, -1).reshape(env.groups, -1)
        of_food = food[:, :, None] == np.arange(self.food_inputs)  # (groups, items, foods)
        n, r = of_food.sum(axis=1), (of_food & right[:, :, None]).sum(axis=1)
        return np.where(n > 0, r / np.maximum(n, 1), 1.0)

    #: deployments whose decisions (or reads at them) make up a behaviour descriptor
    BEHAVIOUR_DEPLOYMENTS = 8

    def lookup_behaviour(self, env: "SeasonEnv") -> np.ndarray:
        """Per network, what its reads tell of each food: per food and read value, the value's mean at the
        scored decisions on the food while it is good minus its mean while it is poison, over all the
        run's deployments (0 where the food has no scored decision of either kind), in [-1, 1]; (groups,
        food inputs * R).  A tape that keeps every food's feedback and is found again by the food has 1 or -1
        in the flag's column for every food; reads that do not depend on the goodness average to about 0.
        The run needs :meth:`SeasonEnv.keep_decision_reads` of every deployment (the ``lookup`` descriptor,
        docs/presets.md)."""
        d = self.reads_behaviour(env).reshape(env.decision_reads.shape)
        G, B, n_items, R = d.shape
        food, poison, scored = env.food_input[:B], env.poison[:B], env.scored[:B]  # never scored past the end
        F = self.food_inputs
        out = np.zeros((G, F, R))
        for f in range(F):
            good, bad = scored & (food == f) & ~poison, scored & (food == f) & poison
            if good.any() and bad.any():
                out[:, f] = d[:, good].mean(axis=1) - d[:, bad].mean(axis=1)
        return out.reshape(G, -1)

    def reads_behaviour(self, env: "SeasonEnv") -> np.ndarray:
        """Per network: the reads it saw at every decision of the first :data:`BEHAVIOUR_DEPLOYMENTS`
        deployments (0 past a deployment's end), clipped to [0, 1] (non-finite: 0), (groups, D); the run
        needs :meth:`SeasonEnv.keep_decision_reads` (the ``reads`` descriptor, docs/presets.md)."""
        d = np.nan_to_num(env.decision_reads, nan=0.0, posinf=0.0, neginf=0.0)
        return np.clip(d, 0.0, 1.0).reshape(env.groups, -1)

    def behaviour(self, env: "SeasonEnv") -> np.ndarray:
        """Per network: its decisions (the eat output clipped to [0, 1]; 0 past the end) on the first
        :data:`BEHAVIOUR_DEPLOYMENTS` deployments of the batch, (groups, D)."""
        B = env.batch // env.groups
        d = env.eaten.reshape(env.groups, B, -1)[:, :min(B, self.BEHAVIOUR_DEPLOYMENTS)]
        return np.clip(d, 0.0, 1.0).reshape(env.groups, -1)


class SeasonEnv(Environment):
    """Rows step through their schedules in lockstep (step t: item t // steps_per_food)."""

    def __init__(self, task: SeasonTask, deps: SeasonDeployments, groups: int, record: bool):
        self.task = task
        self.deps = deps
        self.groups = int(groups)
        self.food = tile_rows(deps.food, self.groups)
        self.poison = tile_rows(deps.poison, self.groups)
        self.scored = tile_rows(deps.scored, self.groups)
        self.length = tile_rows(deps.items, self.groups) * task.steps_per_food
        N = len(self.length)
        self.batch = N
        self.rows = np.arange(N)
        self.t = 0
        self.active = self.length > 0
        self.feedback = np.zeros((N, 2))
        self.right_count = np.zeros(N, dtype=np.int64)
        self.scored_count = np.zeros(N, dtype=np.int64)
        self.decisions = np.full(self.food.shape, np.nan) if record else None
        self.eaten = np.zeros(self.food.shape)
        """(rows, items) each decision's eat output (for :meth:`SeasonTask.behaviour`)."""
        self.wants_reads = bool(task.memory_term)
        """The closed loop gives :meth:`see_reads` the reads of every step (the memory term, or
        :meth:`keep_decision_reads`)."""
        self.read_sums = None
        """(rows, 2, R + 1): per row, the reads summed over the scored decisions before good food (0) and
        before poison (1), and their counts (the last column); set by the first :meth:`see_reads` (with the
        memory term)."""
        self.decision_first = 0
        self.decision_reads = None
        """(groups, first, items, R): the reads each network saw at every decision of its first ``first``
        deployments (0 past a deployment's end); set by the first :meth:`see_reads` after
        :meth:`keep_decision_reads`."""
        F = task.foods
        self.food_input = self.food + (self.season_of(deps) * F if task.foods_per_season == "distinct" else 0)

    def season_of(self, deps) -> np.ndarray:
        return tile_rows(deps.season, self.groups)

    def observe(self) -> np.ndarray:
        F = self.task.food_inputs
        x = np.zeros((self.batch, F + 2))
        item = min(self.t // self.task.steps_per_food, self.food.shape[1] - 1)
        r = self.rows[self.active]
        x[r, self.food_input[r, item]] = 1.0
        if self.t % self.task.steps_per_food > self.task.decision_step:
            x[:, F:] = self.feedback
        return x

    def keep_decision_reads(self, first: int) -> None:
        """Keep the reads at every decision of each network's first ``first`` deployments
        (:attr:`decision_reads`; the ``reads`` behaviour descriptor)."""
        self.decision_first = min(int(first), self.batch // self.groups)
        self.wants_reads = True

    def see_reads(self, reads: np.ndarray) -> None:
        """The reads (rows, R) the network saw this step, before :meth:`act`: summed at scored decisions
        (the memory term), kept at every decision (:meth:`keep_decision_reads`)."""
        R = reads.shape[1]
        if self.read_sums is None and self.task.memory_term:
            self.read_sums = np.zeros((self.batch, 2, R + 1))
        if self.decision_reads is None and self.decision_first:
            self.decision_reads = np.zeros((self.groups, self.decision_first, self.food.shape[1], R))
        S = self.task.steps_per_food
        if self.t % S != self.task.decision_step:
            return
        item = self.t // S
        r = self.rows[self.active]
        if self.decision_reads is not None:
            B = self.batch // self.groups
            kept = r[r % B < self.decision_first]
            self.decision_reads[kept // B, kept % B, item] = reads[kept]
        if self.read_sums is None:
            return
        r = r[self.scored[r, item]]
        p = self.poison[r, item].astype(np.int64)
        self.read_sums[r, p, :-1] += reads[r]
        self.read_sums[r, p, -1] += 1.0

    def act(self, outputs: np.ndarray) -> None:
        S = self.task.steps_per_food
        item, phase = self.t // S, self.t % S
        if phase == self.task.decision_step:
            r = self.rows[self.active]
            y = outputs[r, 0]
            ate = y > EAT
            poison = self.poison[r, item]
            right = right_decisions(y, poison)
            scored = self.scored[r, item]
            self.right_count[r] += right & scored
            self.scored_count[r] += scored
            self.feedback[:] = 0.0
            if self.task.feedback == "right":
                self.feedback[r, 0] = right
                self.feedback[r, 1] = ~right
            else:
                self.feedback[r, 0] = ate & ~poison
                self.feedback[r, 1] = ate & poison
            self.eaten[r, item] = y
            if self.decisions is not None:
                self.decisions[r, item] = y
        self.t += 1
        self.active = self.t < self.length
