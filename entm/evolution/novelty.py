"""Novelty search (Lehman & Stanley 2011) as ENTM's C# port runs it (Lüders et al. 2017; docs/presets.md).

A task that declares a behaviour descriptor (``Task.behaviour``: per genome a
vector, e.g. the goal of every round of every T-maze deployment, or the
season task's eat decisions) can be searched for novelty instead of fitness
(``--search novelty|hybrid``); a reward task on the discrete tape also by the
tape head's behaviour (``descriptor="head"``: :func:`head_behaviour`), a sequence
task by what its memory reads (``descriptor="reads"``: :func:`reads_behaviour`; the season task by
what it reads at its decisions, ``SeasonTask.reads_behaviour``, or by what those reads tell of each
food, ``descriptor="lookup"``: ``SeasonTask.lookup_behaviour``).  Per
generation, after the evaluation:

- a genome's *novelty* is the mean squared Euclidean distance of its
  descriptor to its ``k`` nearest neighbours among the generation's other
  genomes and the archive;
- a genome whose novelty exceeds the archive threshold (``threshold``, the C#
  port's PMin) enters the archive (first in, first out beyond
  ``archive_size``); more than ``additions_up`` entries in one generation
  raise the threshold by ``adjust_up``, more than ``generations_down``
  generations without an entry lower it by ``adjust_down``; below
  ``threshold_floor`` the behaviour space counts as exhausted;
- the search score is the novelty (``novelty``) or the novelty times the
  objective (the task's fitness) to the power ``objective_exponent``
  (``hybrid``), scaled so that the generation's best is 0.99 (neat-python
  needs a fitness; its selection only compares genomes of one generation);
- the search switches to the objective for good when a genome's task score
  reaches ``switch_score``, after ``switch_generations`` generations, or when
  the threshold fell below its floor (the C# port's three stop conditions).

The champion, the solved check and ``best_fitness`` in the metrics stay with
the objective.  The whole state (archive, threshold, counters, phase) is plain
data in the loop state, so checkpoints hold it and resume continues exactly.
Everything is computed in the driver, in genome order: deterministic per seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from entm.errors import EntmError
from entm.jit import njit

SEARCHES = ("fitness", "novelty", "hybrid", "lexicase")
"""``fitness``: the objective only (the default, today's runs); ``novelty``: novelty search switching to the
objective; ``hybrid``: novelty times the objective, switching the same way; ``lexicase``: ε-lexicase selection
over the generation's episodes (:mod:`entm.evolution.lexicase`)."""
NOVELTY_SEARCHES = ("novelty", "hybrid")
"""The searches that compare behaviours across generations (an archive): they need the same episodes in every
generation."""
DESCRIPTORS = ("task", "head", "reads", "lookup")
"""What a genome's behaviour is (:attr:`NoveltyParams.descriptor`)."""
HEAD_STEPS = 500
"""The ``head`` descriptor's steps: the first deployment's first ones (zero past its end)."""
TOP = 0.99
"""The search score of a generation's most novel genome (below any fitness_threshold of 1)."""


@dataclass
class NoveltyParams:
    """Novelty search's parameters; the defaults are the C# port's (NoveltySearchParameters,
    ``src/Config/seasontask/*.xml``)."""

    k: int = 10
    """Nearest neighbours (K)."""
    archive_size: int = 500
    """Archive limit (ArchiveLimit); the oldest entry leaves first."""
    threshold: float = 15.0
    """Initial archive threshold on the novelty (PMin)."""
    threshold_floor: float = 1.0
    """Below this threshold the novelty phase ends (PMinLowerThreshold)."""
    adjust_up: float = 1.05
    """Threshold factor after a generation with more than ``additions_up`` entries (PMinAdjustUp)."""
    adjust_down: float = 0.95
    """Threshold factor after more than ``generations_down`` generations without an entry (PMinAdjustDown)."""
    additions_up: int = 4
    """(AdditionsPMinAdjustUp)."""
    generations_down: int = 5
    """(GenerationsPMinAdjustDown)."""
    switch_score: float = 0.9
    """Switch to the objective once a genome's task score reaches this (ObjectiveScoreThreshold)."""
    switch_generations: int = 500
    """Switch to the objective after this many generations (MaxNoveltySearchGenerations)."""
    objective_exponent: float = 1.0
    """``hybrid``: novelty x objective ** this (ObjectiveFactorExponent; ``novelty`` uses 0)."""
    descriptor: str = "task"
    """``task``: the task's behaviour descriptor (``Task.behaviour``); ``head``: the tape head's shift, jump and
    write strength at every step of the generation's first deployment (the C# port's ShiftJumpInterp, the
    descriptor its season configuration names; reward tasks on the discrete tape); ``reads``: the memory's
    reads at the scored steps of the first episodes (sequence tasks: what the outputs could see, where
    ``task`` has what they show), or at every decision of the first deployments (the season task); ``lookup``
    (the season task): per food and read value, how the read differs before the food is good and before it
    is poison."""

    @classmethod
    def from_dict(cls, data: dict | None) -> "NoveltyParams":
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise EntmError(f"novelty search has no parameter {unknown[0]!r}; its parameters are "
                            f"{', '.join(sorted(names))}")
        p = cls(**data)
        if p.descriptor not in DESCRIPTORS:
            raise EntmError(f"unknown novelty descriptor {p.descriptor!r}; expected one of {', '.join(DESCRIPTORS)}")
        for f in fields(cls):
            if f.name == "descriptor":
                continue
            v = getattr(p, f.name)
            want = int if f.type in ("int", int) else float
            try:
                ok = float(v) == want(v) and np.isfinite(float(v))
            except (TypeError, ValueError):
                ok = False
            if not ok or isinstance(v, bool):
                raise EntmError(f"novelty {f.name} must be {'an integer' if want is int else 'a number'}, got {v!r}")
            setattr(p, f.name, want(v))
        for name, low in (("k", 1), ("archive_size", 0), ("additions_up", 0), ("generations_down", 0),
                          ("switch_generations", 0), ("threshold", 0), ("threshold_floor", 0), ("adjust_up", 0),
                          ("adjust_down", 0), ("objective_exponent", 0)):
            if getattr(p, name) < low or (low == 0 and name.startswith("adjust") and getattr(p, name) == 0):
                raise EntmError(f"novelty {name} must be {'positive' if name.startswith('adjust') else f'at least {low}'}"
                                f", got {getattr(p, name)}")
        return p

    def to_dict(self) -> dict:
        return asdict(self)


def check_search(search: str, task, params: dict | None, memory: str = "discrete",
                 fixed_episodes: bool = True) -> NoveltyParams | None:
    """The run's search settings checked (``params``: novelty search's, or lexicase's ``lexicase_elites``):
    None for ``fitness`` and ``lexicase``; a one-line error for an unknown
    search, novelty search on a sequence task whose episodes change every generation (``fixed_episodes``
    False), a task without a behaviour descriptor, the head descriptor where there is no closed loop and
    tape, or the reads descriptor on a reward task other than the season task."""
    from entm.tasks import SequenceTask

    if search not in SEARCHES:
        raise EntmError(f"unknown search {search!r}; expected one of {', '.join(SEARCHES)}")
    params = dict(params or {})
    elites = params.pop("lexicase_elites", None)
    if elites is not None:
        if search != "lexicase":
            raise EntmError("--lexicase-elites needs --search lexicase")
        if isinstance(elites, bool) or not isinstance(elites, int) or elites < 0:
            raise EntmError(f"lexicase_elites must be an integer >= 0, got {elites!r}")
    if search not in NOVELTY_SEARCHES:
        if params:
            raise EntmError("novelty search parameters need --search novelty or hybrid")
        return None
    if isinstance(task, SequenceTask) and not fixed_episodes:
        raise EntmError(f"--search {search} on a sequence task compares outputs on the same episodes "
                        f"every generation: add --fixed-episodes")
    p = NoveltyParams.from_dict(params)
    if p.descriptor == "head":
        from entm.tasks.reward import RewardTask

        if not isinstance(task, RewardTask) or memory != "discrete":
            raise EntmError("novelty descriptor 'head' needs a reward task (tmaze, season) on the discrete tape")
    elif p.descriptor == "reads":
        if not isinstance(task, SequenceTask) and not hasattr(task, "reads_behaviour"):
            raise EntmError("novelty descriptor 'reads' needs a sequence task (copy and the NTM paper's tasks) "
                            "or the season task")
    elif p.descriptor == "lookup":
        if not hasattr(task, "lookup_behaviour"):
            raise EntmError("novelty descriptor 'lookup' needs the season task")
    elif not declares_behaviour(task):
        raise EntmError(f"task {task.name!r} declares no behaviour descriptor: --search {search} needs one "
                        f"(tasks with one: tmaze, season, and the sequence tasks)")
    return p


def descriptor_of(search: str, novelty: dict | None) -> str:
    """The descriptor the evaluators compute: "" (none: ``fitness``), ``task``, ``head`` or ``reads`` (novelty search),
    ``cases`` (lexicase: the fitness per episode)."""
    if search == "lexicase":
        return "cases"
    return "" if search == "fitness" else NoveltyParams.from_dict(novelty).descriptor


def head_behaviour(layout, heads: int, first_heads: np.ndarray, first_steps: np.ndarray) -> np.ndarray:
    """The ``head`` descriptor of G networks, (G, HEAD_STEPS * heads * 3): per step and head, the shift
    (argmax of left, stay, right minus 1, first maximum), the jump (1 when j >= 0.5) and the write strength
    w, from ``first_heads`` (G, T, heads * P) head outputs of each network's first deployment, of which
    ``first_steps`` (G,) ran; zero past them."""
    G, T, _ = first_heads.shape
    P = layout.size
    out = np.zeros((G, HEAD_STEPS, heads, 3))
    n = min(T, HEAD_STEPS)
    ran = (np.arange(n)[None, :] < np.asarray(first_steps)[:, None]).astype(np.float64)
    for h in range(heads):
        x = first_heads[:, :n, h * P:(h + 1) * P]
        out[:, :n, h, 0] = (np.argmax(x[..., layout.shift], axis=2) - 1) * ran
        out[:, :n, h, 1] = (x[..., layout.column("j")] >= 0.5) * ran
        out[:, :n, h, 2] = x[..., layout.column("w")] * ran
    return out.reshape(G, -1)


def reads_behaviour(episodes, reads: np.ndarray, groups: int, first: int) -> np.ndarray:
    """The ``reads`` descriptor of ``groups`` networks whose runs of the same episodes are stacked in
    ``episodes`` (tiled) and ``reads`` (rows, steps, read width): per network, the reads its controller got at
    the scored steps of the first ``first`` episodes, clipped to [0, 1] (non-finite: 0); (groups, D)."""
    from entm.tasks.base import at_scored_steps

    return at_scored_steps(episodes, reads, groups, first)


def declares_behaviour(task) -> bool:
    from entm.tasks import Task

    return type(task).behaviour is not Task.behaviour


class NoveltySearch:
    """Turns a generation's descriptors into search scores (genome.fitness); state in ``state`` (plain data)."""

    def __init__(self, search: str, params: NoveltyParams, state: dict | None = None):
        self.search, self.params = search, params
        self.state = state if state is not None else self._fresh()

    def _fresh(self) -> dict:
        return {"archive": None, "threshold": self.params.threshold, "quiet": -1, "generation": 0,
                "max_score": 0.0, "phase": "novelty", "floor_reached": False}

    def reset(self) -> None:
        """A curriculum's new stage: the archive, its threshold and the best task score start afresh (the
        stage's descriptors and scores are not comparable with the last's); the phase and the generation
        count are the run's (a run switched to the objective stays there; ``switch_generations`` counts the
        whole run).  The dict is changed in place, as the loop's state (so every later checkpoint) holds it."""
        keep = {k: self.state[k] for k in ("phase", "generation")}
        self.state.clear()
        self.state.update({**self._fresh(), **keep})

    def assign(self, genomes: list, results: dict) -> dict:
        """Set every genome's fitness to its search score; returns the generation's search metrics."""
        st, p = self.state, self.params
        if st["phase"] == "objective":
            for gid, g in genomes:
                g.fitness = results[gid].fitness
            return {"search": self.search, "phase": "objective", "archive": self.archive_len,
                    "threshold": st["threshold"]}
        X = np.stack([np.asarray(results[gid].behaviour, dtype=np.float64).ravel() for gid, _ in genomes])
        archive = st["archive"]
        if archive is not None and archive.shape[1] != X.shape[1]:
            raise EntmError(f"behaviour descriptors changed length ({archive.shape[1]} -> {X.shape[1]}): novelty "
                            f"search needs a fixed descriptor")
        pool = X if archive is None else np.concatenate([X, archive])
        novelty = _knn_novelty(X, pool, p.k)
        bad = np.array([results[gid].nonfinite for gid, _ in genomes]) | ~np.isfinite(novelty)
        novelty[bad] = 0.0
        objective = np.array([results[gid].fitness for gid, _ in genomes])
        score = novelty * objective ** p.objective_exponent if self.search == "hybrid" else novelty.copy()
        top = score.max() if len(score) else 0.0
        scaled = TOP * score / top if top > 0 else np.zeros_like(score)
        for (gid, g), s in zip(genomes, scaled):
            g.fitness = float(s)
        added = np.nonzero((novelty > st["threshold"]) & ~bad)[0]
        if len(added) and p.archive_size:
            new = X[added] if archive is None else np.concatenate([archive, X[added]])
            st["archive"] = new[-p.archive_size:].copy()
        self._adjust(len(added))
        scores = np.array([results[gid].score for gid, _ in genomes])
        st["max_score"] = max(st["max_score"], float(scores.max()))
        st["generation"] += 1
        out = {"search": self.search, "phase": "novelty", "novelty_best": float(novelty.max()),
               "novelty_mean": float(novelty.mean()), "archive": self.archive_len, "added": int(len(added)),
               "threshold": st["threshold"]}
        if (st["max_score"] >= p.switch_score or st["generation"] >= p.switch_generations
                or st["floor_reached"]):
            st["phase"] = "objective"  # from the next generation on
        return out

    @property
    def archive_len(self) -> int:
        return 0 if self.state["archive"] is None else len(self.state["archive"])

    def _adjust(self, added: int) -> None:
        st, p = self.state, self.params
        if added:
            st["quiet"] = 0
            if added > p.additions_up:
                st["threshold"] *= p.adjust_up
        else:
            st["quiet"] += 1
            if st["quiet"] > p.generations_down:
                st["threshold"] *= p.adjust_down
                if st["threshold"] < p.threshold_floor:
                    st["floor_reached"] = True


def _knn_novelty(X: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Per row of X (the first rows of ``pool``): the mean squared distance to its k nearest other rows of
    ``pool``.  Differences are summed exactly per pair (no |a|^2 + |b|^2 - 2ab rounding), compiled
    (:func:`_knn_rows`)."""
    n, m = len(X), len(pool)
    kk = min(k, m - 1)
    out = np.zeros(n)
    if kk < 1:
        return out
    _knn_rows(np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(pool, dtype=np.float64), kk, out)
    return out


@njit(cache=True)
def _knn_rows(X, pool, kk, out):
    """:func:`_knn_novelty`'s loop: each pair's squared differences summed in four interleaved partial sums
    (a fixed order: the same result on every machine), the kk smallest distances summed in ascending order.
    Rows of X go in blocks of 8 against each pool row, so that the pool row is read from cache."""
    n, m, D = X.shape[0], pool.shape[0], X.shape[1]
    d2 = np.empty((n, m))
    for i0 in range(0, n, 8):
        i1 = min(i0 + 8, n)
        for j in range(m):
            for i in range(i0, i1):
                s0 = s1 = s2 = s3 = 0.0
                q = 0
                while q + 4 <= D:
                    a0 = X[i, q] - pool[j, q]
                    a1 = X[i, q + 1] - pool[j, q + 1]
                    a2 = X[i, q + 2] - pool[j, q + 2]
                    a3 = X[i, q + 3] - pool[j, q + 3]
                    s0 += a0 * a0
                    s1 += a1 * a1
                    s2 += a2 * a2
                    s3 += a3 * a3
                    q += 4
                while q < D:
                    a0 = X[i, q] - pool[j, q]
                    s0 += a0 * a0
                    q += 1
                d2[i, j] = (s0 + s1) + (s2 + s3)
    for i in range(n):
        d2[i, i] = np.inf  # itself
        near = np.sort(d2[i])
        total = 0.0
        for r in range(kk):
            total += near[r]
        out[i] = total / kk
