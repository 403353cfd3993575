"""Priority sort (Graves, Wayne & Danihelka 2014, section 4.5), with ENTM-style steps.

N random bit vectors (20 in training), each with a scalar priority drawn
uniformly from [-1, 1]: output the ``sorted_count`` (16) vectors of highest
priority, highest first (all N sorted when N is smaller).

Task inputs (V + 3): the V bits, the *priority* (in [-1, 1], on the step of
its vector), *start* and *delimiter*.  Task outputs: V bits.  With S =
min(sorted_count, N), an episode has ``N + S + 3`` steps:

====================  ================================================
step 0                start = 1
steps 1 .. N          the N vectors, each with its priority
step N + 1            delimiter = 1
step N + 2            idle (all inputs zero)
steps N + 3 ..        zero input; output k is scored against the vector
                      of the k-th highest priority (k = 0 .. S - 1)
====================  ================================================

Scored with strict close (:mod:`tasks.common`): uniformly random outputs score
0.125 in expectation.  Priorities are continuous, so ties have probability 0.

The generalisation sweep's *length* is the number of input vectors: 20, 40,
60, 100 (always sorting out the top ``sorted_count``).

Shaping (``trace``, see :mod:`tasks.common`): the store steps are 1 .. N;
output k's source is the input step of the k-th highest priority.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Episodes, check_int
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.common import StrictCloseTask, check_shaping, episodes_from, random_bits


@dataclass
class PrioritySortTask(StrictCloseTask):
    """Output the vectors of highest priority, sorted by priority."""

    vector_size: int = 8
    """V: bits per vector."""
    num_vectors: int = 20
    """N: input vectors per training episode (20 in the paper)."""
    sorted_count: int = 16
    """How many of the highest-priority vectors to output (16 in the paper)."""
    shaping: str = "trace"
    """Fitness shaping: ``trace`` (score, recall, alignment and writes; see tasks.common), ``readout`` (those and
    the readout term) or ``none``."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" or ``none`` none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F] [after=G | restart=G]`` (:mod:`entm.tasks.curriculum`)."""

    name = "priority_sort"
    description = "output the highest-priority vectors sorted by priority (NTM paper)"
    dynamics_defaults = {"stages": ""}
    default_curriculum = "num_vectors=4,8,12,16 sorted_count=4,8,12,16"

    extra_inputs = ("priority", "start", "delimiter")

    def __post_init__(self):
        self.vector_size = check_int("vector_size", self.vector_size)
        self.num_vectors = check_int("num_vectors", self.num_vectors)
        self.sorted_count = check_int("sorted_count", self.sorted_count)
        if self.sorted_count > self.num_vectors:
            raise EntmError(f"sorted_count ({self.sorted_count}) must be at most num_vectors ({self.num_vectors})")
        check_shaping(self.name, self.shaping)
        parse_curriculum(self)  # a bad curriculum is an error before any work

    @property
    def default_memory_width(self) -> int:
        """M = V + 4: the vector, its priority and copy's three spare channels."""
        return self.vector_size + 4

    generalization_lengths = (20, 40, 60, 100)
    length_name = "vectors"
    default_episodes = 50
    validation = (40, 10)
    """(vectors, episodes): 40 vectors, beyond training, to call a run solved."""

    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> Episodes:
        """``n`` episodes of ``num_vectors`` vectors, or of ``length`` vectors when given."""
        V = self.vector_size
        N = self.num_vectors if length is None else check_int("length", length)
        S = min(self.sorted_count, N)
        T = N + S + 3
        bits = random_bits(rng, (n, N, V))
        priority = rng.uniform(-1.0, 1.0, size=(n, N))
        order = np.argsort(-priority, axis=1, kind="stable")[:, :S]  # highest first
        inputs = np.zeros((n, T, V + 3))
        targets = np.zeros((n, T, V))
        mask = np.zeros((n, T), dtype=bool)
        inputs[:, 0, V + 1] = 1.0
        inputs[:, 1:N + 1, :V] = bits
        inputs[:, 1:N + 1, V] = priority
        inputs[:, N + 1, V + 2] = 1.0
        targets[:, N + 3:, :] = np.take_along_axis(bits, order[:, :, None], axis=1)
        mask[:, N + 3:] = True
        store = np.zeros((n, T), dtype=bool)
        store[:, 1:N + 1] = True
        source = np.full((n, T), -1, dtype=np.int64)
        source[:, N + 3:] = 1 + order
        return episodes_from(inputs, targets, mask, np.full(n, N), np.full(n, T), priority=priority, store=store,
                             source=source)
