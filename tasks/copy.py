"""The copy task, as in the ENTM papers (Greve et al. 2016; Lüders et al. 2017).

Task inputs (V + 2): the V bits of a vector, a *start* flag and a *delimiter*
flag.  Task outputs: V bits.  An episode of length L has ``2L + 3`` steps:

====================  =========================================
step 0                start = 1
steps 1 .. L          the L bit vectors to remember
step L + 1            delimiter = 1
step L + 2            idle (all inputs zero)
steps L + 3 .. 2L + 2 zero input; output i is scored against vector i
====================  =========================================

Score per scored vector: the mean over bits of ``1 - min(0.25, |t - y|)/0.25``
(ENTM's "strict close"); an episode's score is the mean over its vectors, and
the episode is *perfect* when every scored bit is on the right side of 0.5.

Fitness shaping
---------------
The task score alone is deceptive for NEAT: constant outputs already score
about 0.5.  With ``shaping = "trace"`` (the default) the fitness is the mean of the task
score and terms read off the memory's trace, each in [0, 1] and all equal to 1
for a perfect copier:

* ``recall``: whether the right content reaches the network: for every target
  bit j, over the read channels, the largest |Pearson correlation| between bit
  j and the channel at the scored steps times the gap between the channel's
  mean when the bit is 1 and when it is 0; averaged over the bits (over all
  episodes of the evaluation);
* ``alignment``: for every scored vector i, whether the cell read for it is the
  cell where vector i was written (strength >= 0.5) and not overwritten since;
  a near miss at distance d earns 0.5 ** (1 + d).  Positions come from the
  trace (tape focus, or the argmax of the soft weighting);
* ``writes``: the fraction of input vectors written (strength >= 0.5) into a
  cell that no earlier step wrote;
* ``jumps`` (discrete tape only): half for a content jump on the delimiter step,
  half for the fraction of other steps without one;
* ``signed`` (opt-in, ``shaping = "signed"``): ``trace`` with ``recall`` counting only channels that
  follow the bit (positive correlation and gap), not ones that invert it.  A machine that stores the bits
  inverted needs inverted read -> output links, and the hyper encoding's runs stall there (docs/memory.md);
* ``bits`` (opt-in, ``shaping = "bits"``): ``trace`` plus ``2a - 1`` (at least 0) for the share ``a`` of
  scored bits on the right side of 0.5.  The strict-close score gives outputs that are right but near 0.5
  almost nothing, and the trace terms reward one way of addressing: hyper-encoded 8-bit runs had genomes
  perfect on 90-98 % of their episodes less fit than constant-output ones (docs/memory.md);
* ``outputs`` (opt-in, ``shaping = "outputs"``; differentiable memory only, in the place of ``jumps``): the
  ``recall`` measure applied to the task outputs, output j against target bit
  j: graded credit for outputs that follow the targets before they are on the
  right side of 0.5 (the soft memory's machines reach perfect alignment, writes
  and recall long before they wire reads to outputs; docs/memory.md).

Together they reward "write forward, jump back, read forward" step by step,
before the outputs are right.
``shaping = "outputs"`` is ``trace`` plus the ``outputs`` term (not the default: in the runs measured
so far it did not raise the solve rate; docs/memory.md).  ``shaping = "none"`` makes the fitness the task score.  Whatever the shaping,
the pure task score is reported beside the fitness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.tasks.curriculum import parse as parse_curriculum
from entm.tasks.base import Episodes, Scores, SequenceTask, check_int

SHAPINGS = ("trace", "none", "outputs", "signed", "bits")


@dataclass
class CopyTask(SequenceTask):
    """Copy a sequence of random bit vectors after a delimiter."""

    vector_size: int = 8
    """V: bits per vector."""
    min_length: int = 1
    """Shortest sequence in training episodes."""
    max_length: int = 10
    """Longest sequence in training episodes."""
    shaping: str = "trace"
    """Fitness shaping: ``trace`` (score, recall and alignment; see the module docstring), ``none``, or the
    opt-in ``outputs`` and ``signed``."""
    stages: str = ""
    """A curriculum for evolution (``--stages``): "" or ``none`` none, ``auto`` the task's own, or
    ``PARAM=V1,V2,... [advance=F] [after=G | restart=G]`` (:mod:`entm.tasks.curriculum`)."""
    ones: float = 0.0
    """Opt-in: the share of training episodes (drawn with random lengths) in which one vector, at a random
    position, is all ones.  Episodes of a given length (``entm evaluate --lengths``) are never changed.  A
    machine that writes its start marker uniformly across the bits cannot tell that cell from the vector
    11111111 by content, which random bits give in only ~2 % of training episodes (docs/memory.md)."""

    name = "copy"
    description = "copy a sequence of bit vectors after a delimiter (ENTM papers)"
    dynamics_defaults = {"stages": "", "ones": 0.0}
    default_curriculum = "max_length=2,4,6,8"
    score_name = "strict close"

    def __post_init__(self):
        self.vector_size = check_int("vector_size", self.vector_size)
        self.min_length = check_int("min_length", self.min_length)
        self.max_length = check_int("max_length", self.max_length)
        if self.max_length < self.min_length:
            raise EntmError(f"max_length ({self.max_length}) must be at least min_length ({self.min_length})")
        self.ones = float(self.ones)
        if not 0.0 <= self.ones <= 1.0:
            raise EntmError(f"ones must be a share between 0 and 1, got {self.ones:g}")
        if self.shaping not in SHAPINGS:
            raise EntmError(f"unknown copy shaping {self.shaping!r}; expected one of {', '.join(SHAPINGS)}")
        parse_curriculum(self)  # a bad curriculum is an error before any work

    # -- layout ----------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return self.vector_size + 2

    @property
    def num_outputs(self) -> int:
        return self.vector_size

    @property
    def input_names(self) -> list[str]:
        return [f"bit{i}" for i in range(self.vector_size)] + ["start", "delimiter"]

    @property
    def output_names(self) -> list[str]:
        return [f"out{i}" for i in range(self.vector_size)]

    def hyper_layout(self) -> tuple[list, list]:
        """The task's part of the hyper encoding's substrate (entm.hyper): [(kind, size, vector?)] for the
        inputs and the outputs, in the network's order; bit j of the vectors lines up with the memory's."""
        V = self.vector_size
        return [("bits", V, True), ("start", 1, False), ("delimiter", 1, False)], [("out", V, True)]

    @property
    def default_memory_width(self) -> int:
        """M = V + 3, as in the ENTM papers."""
        return self.vector_size + 3

    generalization_lengths = (10, 20, 50, 100, 200, 1000)
    default_episodes = 50

    @property
    def example_length(self) -> int:
        """The longest training length."""
        return self.max_length

    validation = (100, 100)
    """(length, episodes) of the validation batch that a solution must also get perfect, besides ten times as
    many fresh episodes of the training lengths.  100 episodes: with 10, soft-addressing champions that get
    3-5 % of fresh episodes wrong passed; without the training-length batch, one that got 1-2 % of short ones
    wrong (docs/memory.md)."""

    # -- episodes --------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int, length: int | None = None) -> Episodes:
        """``n`` episodes; lengths uniform in [min_length, max_length] unless ``length`` is given."""
        V = self.vector_size
        if length is None:
            lengths = rng.integers(self.min_length, self.max_length + 1, size=n)
        else:
            lengths = np.full(n, check_int("length", length), dtype=np.int64)
        Lmax = int(lengths.max())
        T = 2 * Lmax + 3
        bits = rng.integers(0, 2, size=(n, Lmax, V)).astype(np.float64)
        ar = np.arange(Lmax)
        bits *= (ar[None, :] < lengths[:, None])[:, :, None]
        if self.ones > 0 and length is None:  # opt-in: one all-ones vector in this share of the episodes
            pick = np.nonzero(rng.random(n) < self.ones)[0]
            bits[pick, rng.integers(0, lengths[pick])] = 1.0
        inputs = np.zeros((n, T, V + 2))
        targets = np.zeros((n, T, V))
        mask = np.zeros((n, T), dtype=bool)
        inputs[:, 0, V] = 1.0
        rows = np.arange(n)
        for i in range(Lmax):
            live = lengths > i
            r = rows[live]
            inputs[r, 1 + i, :V] = bits[r, i]
            out_t = lengths[r] + 3 + i
            targets[r, out_t] = bits[r, i]
            mask[r, out_t] = True
        inputs[rows, lengths + 1, V + 1] = 1.0
        return Episodes(inputs=inputs, targets=targets, mask=mask, lengths=lengths.astype(np.int64),
                        steps=2 * lengths + 3, info={"bits": bits})

    # -- scoring ---------------------------------------------------------------
    def score(self, episodes: Episodes, outputs: np.ndarray) -> Scores:
        """Strict-close score, perfect flags and bit errors per episode (scored steps only)."""
        m = episodes.mask
        B = episodes.batch
        rows = np.nonzero(m)[0]  # the episode of each scored step
        y = np.asarray(outputs, dtype=np.float64)[m]  # (S, V)
        t = episodes.targets[m]
        close = strict_close(t, y)
        with np.errstate(invalid="ignore"):
            wrong = ((y > 0.5) != (t > 0.5)) | ~np.isfinite(y)
        n_scored = np.bincount(rows, minlength=B)
        score = np.bincount(rows, close.mean(axis=1), minlength=B) / np.maximum(n_scored, 1)
        bit_errors = np.bincount(rows, wrong.sum(axis=1), minlength=B).astype(np.float64)
        return Scores(score=score, perfect=bit_errors == 0, bit_errors=bit_errors)

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """The "trace" shaping terms per episode (see the module docstring); none for ``shaping="none"``."""
        if self.shaping == "none":
            return {}
        terms = {
            "recall": self.recall(episodes, trace.reads, groups, signed=self.shaping == "signed"),
            "alignment": self.alignment(episodes, trace.write_pos, trace.write_strength, trace.read_pos),
            "writes": self.writes(episodes, trace.write_pos, trace.write_strength),
        }
        if trace.jumps is not None:
            terms["jumps"] = self.jumps(episodes, trace.jumps)
        elif outputs is not None and self.shaping == "outputs":  # opt-in, differentiable memory: do the outputs follow
            terms["outputs"] = self.recall(episodes, outputs, groups, own=True)
        if outputs is not None and self.shaping == "bits":  # opt-in: the share of bits on the right side of 0.5
            terms["bits"] = self.bits(episodes, outputs)
        return terms

    def recall(self, episodes: Episodes, reads: np.ndarray, groups: int = 1, own: bool = False,
               signed: bool = False) -> np.ndarray:
        """Information about the targets in the read vectors at scored steps, pooled over each
        group's episodes (broadcast per episode).  ``own``: bit j is measured on channel j only, and
        only a channel that follows the bit counts, not one that inverts it (the ``outputs`` term:
        ``reads`` are then the task outputs); ``signed``: any channel, but only one that follows the bit."""
        follow = own or signed
        m = episodes.mask
        B = episodes.batch
        t = episodes.targets[m]  # (G*S, V), group-major
        r = reads[m]  # (G*S, C)
        S = t.shape[0] // groups
        if S < 2:
            return np.zeros(B)
        t = t.reshape(groups, S, -1)
        r = r.reshape(groups, S, -1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            tc = t - t.mean(axis=1, keepdims=True)
            rc = r - r.mean(axis=1, keepdims=True)
            cov = tc.transpose(0, 2, 1) @ rc  # (G, V, C)
            norm = np.sqrt((tc * tc).sum(axis=1))[:, :, None] * np.sqrt((rc * rc).sum(axis=1))[:, None, :]
            corr = np.where(norm > 1e-12, (cov if follow else np.abs(cov)) / np.where(norm > 1e-12, norm, 1.0), 0.0)
            corr = np.where(np.isfinite(corr), corr, 0.0)
            # amplitude: how far apart the channel's values are for target 1 and target 0
            on = (t > 0.5).astype(np.float64)
            off = 1.0 - on
            n_on = on.sum(axis=1)[:, :, None]
            n_off = off.sum(axis=1)[:, :, None]
            mean_on = (on.transpose(0, 2, 1) @ r) / np.maximum(n_on, 1)
            mean_off = (off.transpose(0, 2, 1) @ r) / np.maximum(n_off, 1)
            gap = np.where((n_on > 0) & (n_off > 0), (mean_on - mean_off) if follow else np.abs(mean_on - mean_off),
                           0.0)
            gap = np.where(np.isfinite(gap), np.clip(gap, 0.0, 1.0), 0.0)
        if own:  # an inverted output (negative correlation and gap) earns nothing
            best = np.diagonal(np.clip(corr, 0.0, None) * gap, axis1=1, axis2=2)
        elif signed:  # an inverted channel earns nothing
            best = (np.clip(corr, 0.0, None) * gap).max(axis=2)
        else:
            best = (corr * gap).max(axis=2)
        value = np.clip(best, 0.0, 1.0).mean(axis=1)  # (G,)
        return np.repeat(value, B // groups)

    def bits(self, episodes: Episodes, outputs: np.ndarray) -> np.ndarray:
        """Per episode, ``2a - 1`` (at least 0) for the share ``a`` of scored bits on the right side of 0.5:
        0 for constant or chance outputs, 1 for a perfect episode, whatever the outputs' distance from 0.5
        (:meth:`score`'s bit errors)."""
        scored = episodes.mask.sum(axis=1) * self.vector_size
        share = 1.0 - self.score(episodes, outputs).bit_errors / np.maximum(scored, 1)
        return np.clip(2.0 * share - 1.0, 0.0, 1.0)

    def alignment(self, episodes: Episodes, write_pos: np.ndarray, write_strength: np.ndarray,
                  read_pos: np.ndarray) -> np.ndarray:
        """Fraction of scored vectors read from the cell they were written to.

        ``write_pos``/``write_strength``/``read_pos`` are (B, T, H): per step and
        head, the focus written at, the write strength, and the focus read
        from at the end of the step (read at step t feeds step t + 1).
        """
        L = episodes.lengths
        B = episodes.batch
        Lmax = int(L.max())
        rows = np.arange(B)
        hits = np.zeros(B)
        for i in range(Lmax):
            live = L > i
            r = rows[live]
            w_step = 1 + i  # the input step of vector i
            read_step = L[r] + 2 + i  # read at this step feeds output step L + 3 + i
            cell = write_pos[r, w_step]  # (R, H)
            ok = (read_pos[r, read_step] == cell) & (write_strength[r, w_step] >= 0.5)
            # ... and not overwritten (strength >= 0.5, same head) before it is read
            steps = np.arange(write_pos.shape[1])[None, :]
            between = (steps > w_step) & (steps <= read_step[:, None])  # (R, T)
            over = (write_pos[r] == cell[:, None, :]) & (write_strength[r] >= 0.5) & between[:, :, None]
            ok &= ~over.any(axis=1)
            # partial credit for reading near the cell: 0.5 ** (1 + distance)
            dist = np.abs(read_pos[r, read_step] - cell)
            near = np.where(dist > 0, 0.5 ** (1.0 + dist), 0.0)
            hits[r] += np.where(ok, 1.0, near).max(axis=1)
        return hits / np.maximum(L, 1)

    def writes(self, episodes: Episodes, write_pos: np.ndarray, write_strength: np.ndarray) -> np.ndarray:
        """Fraction of input vectors written (strength >= 0.5) into a cell no earlier step wrote."""
        L = episodes.lengths
        B, T, H = write_pos.shape
        Lmax = int(L.max())
        steps = np.arange(T)[None, :, None]
        strong = write_strength >= 0.5
        fresh = np.zeros(B)
        for i in range(Lmax):
            s = 1 + i
            live = L > i
            earlier = (steps < s) & strong & (write_pos == write_pos[:, s:s + 1, :])  # (B, T, H)
            ok = strong[:, s] & ~earlier.any(axis=1)  # (B, H)
            fresh += live * ok.any(axis=1)
        return fresh / np.maximum(L, 1)

    def jumps(self, episodes: Episodes, jumps: np.ndarray) -> np.ndarray:
        """Half for jumping on the delimiter step, half for not jumping on the other steps."""
        B, T, H = jumps.shape
        rows = np.arange(B)
        delim = episodes.lengths + 1
        at_delim = jumps[rows, delim].any(axis=1)
        steps = np.arange(T)[None, :]
        others = (steps < episodes.steps[:, None]) & (steps != delim[:, None])
        stray = (jumps.any(axis=2) & others).sum(axis=1) / np.maximum(others.sum(axis=1), 1)
        return 0.5 * at_delim + 0.5 * (1.0 - stray)


def strict_close(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per bit ``1 - min(0.25, |t - y|)/0.25`` (ENTM's "strict close"); 0 where the output is not finite."""
    with np.errstate(invalid="ignore"):
        close = 1.0 - np.minimum(0.25, np.abs(t - y)) / 0.25
    return np.where(np.isfinite(close), close, 0.0)
