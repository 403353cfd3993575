"""Dynamic N-grams (Graves, Wayne & Danihelka 2014, section 4.4).

Each episode draws a fresh N-gram model over bits: for every one of the 2^(N-1)
contexts (the N - 1 previous bits; 32 for N = 6) the probability that the next
bit is 1, from Beta(1/2, 1/2).  A sequence of ``sequence_length`` (200) bits is
then generated: the first N - 1 uniformly, every later one from the
probability of its context.  The network sees the bits one by one and at every
step gives the probability that the next bit is 1.

Task inputs (2): *bit* (the previous bit) and *start*.  Task output (1): the
predicted probability that this step's bit is 1.  An episode of S bits has S
steps, all scored:

=========  =====================================================
step 0     start = 1; the output predicts bit 0
step t     bit = bit t - 1; the output predicts bit t (t < S)
=========  =====================================================

Targets are the bits themselves (0/1), so the trained baselines' sigmoid
outputs and cross-entropy apply unchanged.

Cost and score
--------------
The cost of a prediction sequence is ``-sum_t log2 P(bit t)`` in bits per
sequence (predictions clipped to [1e-6, 1 - 1e-6]).  The Bayes-optimal
predictor (the paper's yardstick) predicts ½ while fewer than N - 1 bits are
known, then ``(N1 + ½) / (N1 + N0 + 1)`` where N1 and N0 count the ones and
zeros that followed the current context earlier in the sequence.  The score is
``1 - (cost - optimal cost) / S`` clipped to [0, 1]: one minus the excess over
the optimum in bits per step.  The optimum scores 1 (a prediction may beat it
on a given sequence by luck; that also scores 1); the constant ½ predictor
scores ``optimal cost / S`` (about 0.65 on training sequences, whose optimal
cost is about 130 bits); uniformly random outputs cost 1/ln 2 bits per step in
expectation, so before clipping they score ``1 - 1/ln 2 + optimal cost / S``
in expectation (about 0.20; the clipping at 0 lifts the mean to about 0.23).  ``bit_errors`` counts the steps whose prediction is on the other side
of ½ from the optimum's (steps where the optimum is exactly ½ never count);
*perfect* means a cost within 1 bit of the optimum's on that sequence.
``score`` returns :class:`NgramScores`, which also carries both costs.

The generalisation sweep's *length* is the number of bits: 100, 200, 500,
1000 (longer sequences let the optimum learn the model better).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.tasks.base import Episodes, Scores, SequenceTask, check_int
from entm.tasks.common import episodes_from

#: predictions are clipped to [CLIP, 1 - CLIP] before the log
CLIP = 1e-6
#: a prediction within this many bits per sequence of the optimum's cost is perfect
PERFECT_MARGIN = 1.0


@dataclass
class NgramScores(Scores):
    """:class:`Scores` with the costs in bits per sequence."""

    cost: np.ndarray = None
    """(B,) the prediction's cost in bits."""
    optimal_cost: np.ndarray = None
    """(B,) the Bayes-optimal predictor's cost on the same sequence."""


def contexts(bits: np.ndarray, order: int) -> np.ndarray:
    """(B, S) the context index of every position (bit t - order + 1 the most significant of the
    ``order - 1`` previous bits); -1 where fewer bits are known."""
    c = order - 1
    B, S = bits.shape
    ctx = np.full((B, S), -1, dtype=np.int64)
    if S > c:
        val = np.zeros((B, S - c), dtype=np.int64)
        for j in range(c):
            val = 2 * val + bits[:, j:S - c + j].astype(np.int64)
        ctx[:, c:] = val
    return ctx


def bayes_optimal(bits: np.ndarray, order: int) -> np.ndarray:
    """(B, S) the Bayes-optimal P(bit t = 1 | bits 0 .. t-1) under Beta(½, ½) priors per context."""
    B, S = bits.shape
    ctx = contexts(bits, order)
    p = np.full((B, S), 0.5)
    ones = np.zeros((B, 2 ** (order - 1)))
    total = np.zeros_like(ones)
    rows = np.arange(B)
    for t in range(order - 1, S):
        k = ctx[:, t]
        p[:, t] = (ones[rows, k] + 0.5) / (total[rows, k] + 1.0)
        ones[rows, k] += bits[:, t]
        total[rows, k] += 1.0
    return p


def cost_bits(bits: np.ndarray, p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(B,) ``-sum log2 P(bit)`` over the masked steps, with P clipped to [CLIP, 1 - CLIP]."""
    with np.errstate(invalid="ignore"):
        q = np.clip(p, CLIP, 1.0 - CLIP)
        nll = -np.log2(np.where(bits > 0.5, q, 1.0 - q))
    return np.where(mask, nll, 0.0).sum(axis=1)


@dataclass
class DynamicNgramsTask(SequenceTask):
    """Predict each next bit of a sequence drawn from a random N-gram model."""

    ngram: int = 6
    """N: the next bit depends on the N - 1 previous ones (6 in the paper: 32 contexts)."""
    sequence_length: int = 200
    """S: bits per training sequence (200 in the paper)."""

    name = "dynamic_ngrams"
    description = "predict the next bit of a random 6-gram sequence, against the Bayes optimum (NTM paper)"

    def __post_init__(self):
        self.ngram = check_int("ngram", self.ngram)
        self.sequence_length = check_int("sequence_length", self.sequence_length)

    @property
    def num_inputs(self) -> int:
        return 2

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def input_names(self) -> list[str]:
        return ["bit", "start"]

    @property
    def output_names(self) -> list[str]:
        return ["p_one"]

    @property
    def default_memory_width(self) -> int:
        """M = N + 2: room for a context (N - 1 bits) and a few counters."""
        return self.ngram + 2

    generalization_lengths = (100, 200, 500, 1000)
    length_name = "bits"
    score_name = "1 - excess cost over the Bayes optimum per bit"
    default_episodes = 20
    validation = (500, 10)
    """(bits, episodes): 500-bit sequences that a solution must also predict within 1 bit of the optimum."""

    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> Episodes:
        """``n`` sequences of ``sequence_length`` bits (``length`` bits when given), each from its own model."""
        S = self.sequence_length if length is None else check_int("length", length)
        c = self.ngram - 1
        probs = rng.beta(0.5, 0.5, size=(n, 2 ** c))
        u = rng.random((n, S))
        bits = np.zeros((n, S))
        bits[:, :c] = u[:, :c] < 0.5
        rows = np.arange(n)
        ctx = np.zeros(n, dtype=np.int64)
        for j in range(min(c, S)):
            ctx = 2 * ctx + bits[:, j].astype(np.int64)
        high = 2 ** max(c - 1, 0)
        for t in range(c, S):
            bits[:, t] = u[:, t] < probs[rows, ctx]
            if c:
                ctx = 2 * (ctx % high) + bits[:, t].astype(np.int64)
        inputs = np.zeros((n, S, 2))
        inputs[:, 0, 1] = 1.0
        inputs[:, 1:, 0] = bits[:, :-1]
        mask = np.ones((n, S), dtype=bool)
        return episodes_from(inputs, bits[:, :, None], mask, np.full(n, S), np.full(n, S), probs=probs)

    def score(self, episodes: Episodes, outputs: np.ndarray) -> NgramScores:
        """Score, perfect flags, bit errors and both costs per sequence (see the module docstring)."""
        mask = episodes.mask
        bits = episodes.targets[:, :, 0]
        y = np.asarray(outputs, dtype=np.float64)[:, :, 0]
        opt = bayes_optimal(bits, self.ngram)
        cost = cost_bits(bits, y, mask)
        optimal = cost_bits(bits, opt, mask)
        n = np.maximum(mask.sum(axis=1), 1)
        finite = np.where(mask, np.isfinite(y), True).all(axis=1)
        with np.errstate(invalid="ignore"):
            score = np.where(finite, np.clip(1.0 - (cost - optimal) / n, 0.0, 1.0), 0.0)
            wrong = mask & (opt != 0.5) & (((y > 0.5) != (opt > 0.5)) | ~np.isfinite(y))
        bit_errors = wrong.sum(axis=1).astype(np.float64)
        perfect = finite & (cost - optimal <= PERFECT_MARGIN)
        return NgramScores(score=score, perfect=perfect, bit_errors=bit_errors, cost=np.where(finite, cost, np.inf),
                           optimal_cost=optimal)
