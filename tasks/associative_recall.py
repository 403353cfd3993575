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
q + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Episodes, check_bool, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.common import StrictCloseTask, check_range, check_shaping, episodes_from, random_bits


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
    the readout term) or ``none``."""
    last_query: bool = True
    """Whether the next-to-last item can be queried.  Its answer is the last item stored, which a machine can
    output without any lookup (the shortcut evolution falls into: docs/results.md); False draws the queried
    item from the first K - 2 only, so nothing but a lookup is rewarded, and needs at least 3 items.  A
    training setting: as a curriculum's first stage (``--stages "last_query=0 min_items=3"``) the full task
    comes after it."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F]`` (:mod:`entm.tasks.curriculum`)."""

    name = "associative_recall"
    description = "recall the item after a queried item in a list (NTM paper)"
    dynamics_defaults = {"stages": "", "last_query": True}
    default_curriculum = "max_items=3,4,5"
    """Not from 2 items: with 2 the queried item is always the first and the target the last item stored, which
    a machine that outputs the last item gets right without looking anything up (measured: docs/tasks.md)."""

    extra_inputs = ("delimiter", "query")

    def __post_init__(self):
        self.vector_size = check_int("vector_size", self.vector_size)
        self.item_size = check_int("item_size", self.item_size)
        self.min_items = check_int("min_items", self.min_items, low=2)
        check_range(self, "min_items", "max_items")
        check_shaping(self.name, self.shaping)
        self.last_query = check_bool("last_query", self.last_query)
        if not self.last_query and self.min_items < 3:
            raise EntmError(f"last_query=false needs min_items >= 3 (with 2 items only the next-to-last item "
                            f"can be queried), got min_items={self.min_items}")
        parse_curriculum(self)  # a bad curriculum is an error before any work

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
