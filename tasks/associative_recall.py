"""Associative recall (Graves, Wayne & Danihelka 2014, section 4.3), with ENTM-style steps.

K items, each ``item_size`` (3) random vectors of V (6) bits, separated by
delimiters; then a query item (a copy of one of the first K - 1 items, chosen
uniformly; of the first K - 2 with ``last_query=False``) between two query
delimiters: output the item that followed the query in the list.  K is
uniform in [min_items, max_items] (2-6) in training.

Task inputs (V + 2): the V bits, *delimiter* (before each item) and *query*
(before and after the query item).  Task outputs: V bits.  With I =
item_size, an episode has ``(I + 1) K + 2 I + 3`` steps (4K + 9 for I = 3):

=================================  =========================================
steps (I+1) k                      delimiter = 1 (item k = 0 .. K-1)
steps (I+1) k + 1 .. (I+1) k + I   the I vectors of item k
step (I+1) K                       query = 1
steps (I+1) K + 1 .. (I+1) K + I   the query item (a copy of item q)
step (I+1) K + I + 1               query = 1
step (I+1) K + I + 2               idle (all inputs zero)
the last I steps                   zero input; scored against item q + 1
=================================  =========================================

Scored with strict close (:mod:`tasks.common`): uniformly random outputs score
0.125 in expectation.  Items are drawn independently, so two items are equal
with probability about K^2 / 2^(I V + 1) (under 1e-4 for 20 items of 18 bits);
the target is then still the item after the queried position.

The generalisation sweep's *length* is the number of items: 6, 10, 15, 20 as
in the paper.

Shaping (``trace``, see :mod:`tasks.common`): the store steps are the items'
vectors (not the query's); output i's source is the step of vector i of item
q + 1.  ``items`` (opt-in) is for machines that keep a whole item in one cell
(the hyper encoding's blocks), whose cells are written on every step: the
fitness is the mean of the score, ``recall`` and three terms of
:func:`item_terms`: ``items`` (each item's vectors all written into one cell
of its own), ``found`` (the head on the queried item's cell or the next one
when the outputs start) and ``lookup`` (the outputs read from item q + 1's
cell).  Only exact cells count, so the terms are earned by the content jump,
not by a head that stays near the last item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Episodes, check_bool, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.common import StrictCloseTask, check_range, check_shaping, episodes_from, per_row, random_bits
from entm.tasks.copy import CopyTask


@dataclass
class AssociativeRecallTask(StrictCloseTask):
    """Recall the item that followed a queried item in a list of items."""

    vector_size: int = 6
    """V: bits per vector (6 in the paper)."""
    item_size: int = 3
    """Vectors per item (3 in the paper)."""
    min_items: int = 2
    """Fewest items in training episodes."""
    max_items: int = 6
    """Most items in training episodes."""
    shaping: str = "trace"
    """Fitness shaping: ``trace`` (score, recall, alignment and writes; see tasks.common), ``readout`` (those and
    the readout term), ``items`` (score, recall, items, found and lookup: for whole items per cell, see the module
    docstring) or ``none``."""
    last_query: bool = True
    """Whether the next-to-last item can be queried.  Its answer is the last item stored, which a machine can
    output without any lookup (the shortcut evolution falls into: docs/results.md); False draws the queried
    item from the first K - 2 only, so nothing but a lookup is rewarded, and needs at least 3 items.  A
    training setting: as a curriculum's first stage (``--stages "last_query=0 min_items=3"``) the full task
    comes after it."""
    score_weight: float = 1.0
    """The score's weight in the fitness, against 1 for each shaping term: the fitness is
    (w score + the terms) / (w + their number).  1 (default): their plain mean.  Below 1 the terms lead, so
    that a layout whose reads hold the answer can beat one whose outputs already decode part of it
    (docs/results.md); 0: the terms alone.  Needs shaping (not ``none``)."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" or ``none`` none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F] [after=G | restart=G]`` (:mod:`entm.tasks.curriculum`)."""

    name = "associative_recall"
    description = "recall the item after a queried item in a list (NTM paper)"
    dynamics_defaults = {"stages": "", "last_query": True, "score_weight": 1.0}
    default_curriculum = "max_items=3,4,5"
    """Not from 2 items: with 2 the queried item is always the first and the target the last item stored, which
    a machine that outputs the last item gets right without looking anything up (measured: docs/tasks.md)."""

    extra_inputs = ("delimiter", "query")

    def __post_init__(self):
        self.vector_size = check_int("vector_size", self.vector_size)
        self.item_size = check_int("item_size", self.item_size)
        self.min_items = check_int("min_items", self.min_items, low=2)
        check_range(self, "min_items", "max_items")
        check_shaping(self.name, self.shaping, extra=("items",))
        self.last_query = check_bool("last_query", self.last_query)
        if not self.last_query and self.min_items < 3:
            raise EntmError(f"last_query=false needs min_items >= 3 (with 2 items only the next-to-last item "
                            f"can be queried), got min_items={self.min_items}")
        w = self.score_weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            raise EntmError(f"score_weight must be a finite number >= 0, got {w!r}")
        self.score_weight = float(w)
        if self.shaping == "none" and self.score_weight != 1.0:
            raise EntmError(f"score_weight {w} needs shaping (the fitness is the score alone with shaping none)")
        parse_curriculum(self)  # a bad curriculum is an error before any work

    def combine(self, score: np.ndarray, terms: dict) -> np.ndarray:
        """Per-episode fitness: the score weighted by :attr:`score_weight`, and the shaping terms."""
        if not terms or self.score_weight == 1.0:
            return super().combine(score, terms)
        return (self.score_weight * score + sum(terms.values())) / (self.score_weight + len(terms))

    generalization_lengths = (6, 10, 15, 20)
    length_name = "items"
    default_episodes = 50
    validation = (10, 10)
    """(items, episodes): 10 items, beyond training, to call a run solved."""

    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> Episodes:
        """``n`` episodes; K uniform in [min_items, max_items] unless ``length`` (the number of items) is given."""
        V, I = self.vector_size, self.item_size
        if length is None:
            K = rng.integers(self.min_items, self.max_items + 1, size=n)
        else:
            K = np.full(n, check_int("length", length, low=2 if self.last_query else 3), dtype=np.int64)
        Kmax = int(K.max())
        steps = (I + 1) * K + 2 * I + 3
        T = int(steps.max())
        items = random_bits(rng, (n, Kmax, I, V))
        items *= (np.arange(Kmax)[None, :] < K[:, None])[:, :, None, None]
        q = (rng.random(n) * (K - 1 if self.last_query else K - 2)).astype(np.int64)  # uniform in 0 .. K-2 (K-3)
        inputs = np.zeros((n, T, V + 2))
        targets = np.zeros((n, T, V))
        mask = np.zeros((n, T), dtype=bool)
        store = np.zeros((n, T), dtype=bool)
        source = np.full((n, T), -1, dtype=np.int64)
        rows = np.arange(n)
        for k in range(Kmax):
            live = rows[K > k]
            base = (I + 1) * k
            inputs[live, base, V] = 1.0
            inputs[live, base + 1:base + 1 + I, :V] = items[live, k]
            store[live, base + 1:base + 1 + I] = True
        qs = (I + 1) * K  # the first query delimiter
        inputs[rows, qs, V + 1] = 1.0
        inputs[rows, qs + I + 1, V + 1] = 1.0
        for i in range(I):
            inputs[rows, qs + 1 + i, :V] = items[rows, q, i]
            targets[rows, steps - I + i] = items[rows, q + 1, i]
            mask[rows, steps - I + i] = True
            source[rows, steps - I + i] = (I + 1) * (q + 1) + 1 + i
        return episodes_from(inputs, targets, mask, K, steps, query=q, store=store, source=source)

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """The shaping terms per episode: tasks.common's, or with ``items`` the score's companions recall,
        items, found and lookup (see the module docstring)."""
        if self.shaping != "items":
            return super().shape(episodes, outputs, trace, groups)
        B = episodes.batch
        q = per_row(episodes.info["query"], B)
        items, found, lookup = item_terms(episodes.lengths, q, episodes.steps, self.item_size, trace.write_pos,
                                          trace.write_strength, trace.read_pos)
        return {"recall": CopyTask.recall(self, episodes, trace.reads, groups), "items": items, "found": found,
                "lookup": lookup}


def item_terms(K: np.ndarray, q: np.ndarray, steps: np.ndarray, I: int, write_pos: np.ndarray,
               write_strength: np.ndarray, read_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(items, found, lookup) per episode, the best head's.  ``items``: the share of items whose I vectors were
    all written (strength >= 0.5) into one cell that is no other item's.  ``found``: 1 if the read fed to the
    first output comes from the queried item's cell or the next item's, when that cell is its own.
    ``lookup``: the share of output steps whose read comes from item q + 1's cell, when it is its own.  Only
    exact cells count, never a near one: a head that stays near the last item (the shortcut) must not earn
    a term that the content jump earns.  ``K``, ``q``, ``steps``: per episode the items, the queried item and
    the steps; the trace arrays are (B, T, H)."""
    B, _, H = write_pos.shape
    Kmax = int(K.max())
    rows = np.arange(B)
    first = (I + 1) * np.arange(Kmax) + 1  # each item's first vector step
    at = first[:, None] + np.arange(I)[None, :]  # (Kmax, I)
    pos = write_pos[:, at.ravel()].reshape(B, Kmax, I, H)
    strong = (write_strength[:, at.ravel()] >= 0.5).reshape(B, Kmax, I, H)
    cell = pos[:, :, -1]  # (B, Kmax, H): each item's cell
    live = np.arange(Kmax)[None, :] < K[:, None]  # (B, Kmax)
    whole = strong.all(axis=2) & (pos == cell[:, :, None]).all(axis=2)  # (B, Kmax, H)
    same = (cell[:, :, None] == cell[:, None, :]) & live[:, None, :, None] & ~np.eye(Kmax, dtype=bool)[None, :, :, None]
    own = whole & ~same.any(axis=2) & live[:, :, None]
    items = (own.sum(axis=1) / np.maximum(K, 1)[:, None]).max(axis=1)
    answer, queried = cell[rows, q + 1], cell[rows, q]  # (B, H)
    reads = np.stack([read_pos[rows, steps - I + i - 1] for i in range(I)], axis=1)  # the reads fed to the outputs
    on_answer = (reads == answer[:, None]) & own[rows, q + 1][:, None]
    on_query = (reads[:, 0] == queried) & own[rows, q]
    found = (on_answer[:, 0] | on_query).astype(float)
    return items, found.max(axis=1), on_answer.mean(axis=1).max(axis=1)
