"""What the bit-vector tasks of Graves et al. 2014 share: strict-close scoring and trace shaping.

Repeat copy, associative recall and priority sort score bit targets the way
the copy task does (ENTM's "strict close", per bit ``1 - min(0.25, |t - y|)/0.25``,
averaged over the output channels of each scored step and over an episode's
scored steps; perfect when every scored bit is on the right side of 0.5).
Uniformly random outputs in [0, 1] score 0.125 in expectation against any
0/1 target (the integral of ``1 - u/0.25`` over u in [0, 0.25]).

Fitness shaping
---------------
The task score alone gives NEAT little to climb (constant outputs already
score about 0.5).  With ``shaping = "trace"`` (the default of these tasks) the
fitness is the mean of the score and three terms read off the memory's trace,
each in [0, 1] and 1 for a machine that stores every input vector in a cell of
its own and reads each target from the cell its vector went to -- the copy
task's terms (:mod:`tasks.copy`), stated for any layout through two arrays
each task's episodes carry in ``info``:

* ``store`` (B, T) bool: the steps whose input vector is worth storing;
* ``source`` (B, T) int: for a scored step, the input step whose vector its
  target is (-1 where none, e.g. repeat copy's end marker).

The terms:

* ``recall``: the copy task's: how much the read vectors at the scored steps
  tell about the targets (correlation times amplitude, pooled over episodes);
* ``alignment``: the fraction of scored steps (with a source) whose read -- the
  one fed to that step, i.e. the focus after the step before -- comes from the
  cell where the source vector was written (strength >= 0.5), not overwritten
  since; a near miss at distance d earns 0.5 ** (1 + d);
* ``writes``: the fraction of store steps written (strength >= 0.5) into a
  cell that no earlier step wrote.

``shaping = "readout"`` adds a fourth term to the three (opt-in):

* ``readout``: whether the outputs follow the reads that carry the targets.
  Per target bit, the read channel best correlated with it at the scored steps
  (recall's channel) and the sign of that correlation; the term is the
  correlation of the output bit with that channel, times the sign, clipped to
  [0, 1], times the channel's |correlation| with the target (an output that
  follows a read carrying nothing earns nothing), averaged over the bits
  (pooled over each network's episodes).  It is graded: an output weakly wired
  to the right read already earns it, where the strict-close score pays
  nothing until the output is within 0.25 of the target.

``shaping = "none"`` makes the fitness the task score; whatever the shaping,
the pure score is reported beside the fitness.
"""

from __future__ import annotations

import numpy as np

from entm.errors import EntmError
from entm.tasks.base import Episodes, Scores, SequenceTask, check_int
from entm.tasks.copy import CopyTask

SHAPINGS = ("trace", "none", "readout")

#: expected strict-close score of outputs drawn uniformly from [0, 1]
RANDOM_SCORE = 0.125


def check_shaping(task: str, shaping: str, extra: tuple = ()) -> str:
    """``shaping`` if it is one of SHAPINGS or the task's own ``extra`` ones, else a one-line error."""
    if shaping not in SHAPINGS + extra:
        raise EntmError(f"unknown {task} shaping {shaping!r}; expected one of {', '.join(SHAPINGS + extra)}")
    return shaping


def check_range(task, low: str, high: str) -> None:
    """Check the int parameters ``low`` <= ``high`` of ``task`` (each at least 1), storing them as ints."""
    for name in (low, high):
        setattr(task, name, check_int(name, getattr(task, name)))
    if getattr(task, high) < getattr(task, low):
        raise EntmError(f"{high} ({getattr(task, high)}) must be at least {low} ({getattr(task, low)})")


class StrictCloseTask(SequenceTask):
    """Base of the sequence tasks with 0/1 targets scored like copy.

    Subclasses are dataclasses with ``vector_size`` (V) and ``shaping`` fields;
    their inputs are V bits then ``extra_inputs``, their outputs V bits then
    ``extra_outputs``.
    """

    extra_inputs: tuple = ()
    extra_outputs: tuple = ()
    score_name = "strict close"

    @property
    def num_inputs(self) -> int:
        return self.vector_size + len(self.extra_inputs)

    @property
    def num_outputs(self) -> int:
        return self.vector_size + len(self.extra_outputs)

    @property
    def input_names(self) -> list[str]:
        return [f"bit{i}" for i in range(self.vector_size)] + list(self.extra_inputs)

    @property
    def output_names(self) -> list[str]:
        return [f"out{i}" for i in range(self.vector_size)] + list(self.extra_outputs)

    def hyper_layout(self) -> tuple[list, list]:
        """The task's part of the hyper encoding's substrate (entm.hyper): the V bits in and out as vectors
        (bit j lines up with the memory's bit j), every extra input and output a scalar kind of its own."""
        return ([("bits", self.vector_size, True)] + [(name, 1, False) for name in self.extra_inputs],
                [("out", self.vector_size, True)] + [(name, 1, False) for name in self.extra_outputs])

    @property
    def default_memory_width(self) -> int:
        """M = V + 3, as for copy."""
        return self.vector_size + 3

    def score(self, episodes: Episodes, outputs: np.ndarray) -> Scores:
        """Strict-close score, perfect flags and bit errors per episode (scored steps only)."""
        return CopyTask.score(self, episodes, outputs)

    def shape(self, episodes: Episodes, outputs: np.ndarray, trace, groups: int = 1) -> dict:
        """The "trace" shaping terms per episode (see the module docstring); none for ``shaping="none"``."""
        if self.shaping == "none":
            return {}
        B = episodes.batch
        align, fresh = store_terms(episodes.mask, per_row(episodes.info["source"], B),
                                   per_row(episodes.info["store"], B), trace.write_pos, trace.write_strength,
                                   trace.read_pos)
        terms = {"recall": CopyTask.recall(self, episodes, trace.reads, groups), "alignment": align, "writes": fresh}
        if self.shaping == "readout":
            terms["readout"] = readout(episodes, outputs, trace.reads, self.vector_size, groups)
        return terms


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns of ``a`` (G, S, X) with those of ``b`` (G, S, Y): (G, X, Y); 0 where
    a column is constant or not finite."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ac = a - a.mean(axis=1, keepdims=True)
        bc = b - b.mean(axis=1, keepdims=True)
        cov = ac.transpose(0, 2, 1) @ bc
        norm = np.sqrt((ac * ac).sum(axis=1))[:, :, None] * np.sqrt((bc * bc).sum(axis=1))[:, None, :]
        c = np.where(norm > 1e-12, cov / np.where(norm > 1e-12, norm, 1.0), 0.0)
    return np.where(np.isfinite(c), c, 0.0)


def readout(episodes: Episodes, outputs: np.ndarray, reads: np.ndarray, V: int, groups: int = 1) -> np.ndarray:
    """The ``readout`` term per episode (see the module docstring): the outputs' first V bits against the read
    channel that best carries each target bit, pooled over each group's episodes."""
    m = episodes.mask
    B = episodes.batch
    t, y, r = episodes.targets[m][:, :V], outputs[m][:, :V], reads[m]
    S = t.shape[0] // groups
    if S < 2:
        return np.zeros(B)
    t, y, r = (a.reshape(groups, S, -1) for a in (t, y, r))
    y = np.nan_to_num(y, nan=0.5, posinf=1.0, neginf=0.0)
    tr = _corr(t, r)  # (G, V, C)
    best = np.abs(tr).argmax(axis=2)  # (G, V): recall's channel per bit
    sign = np.sign(np.take_along_axis(tr, best[:, :, None], axis=2)[:, :, 0])
    chan = np.take_along_axis(r, best[:, None, :], axis=2)  # (G, S, V): that channel per bit
    yr = np.einsum("gvv->gv", _corr(y, chan))  # (G, V): output bit j against its channel
    carried = np.abs(np.take_along_axis(tr, best[:, :, None], axis=2)[:, :, 0])  # how well the channel carries bit j
    value = (np.clip(sign * yr, 0.0, 1.0) * carried).mean(axis=1)
    return np.repeat(value, B // groups)


def per_row(a: np.ndarray, batch: int) -> np.ndarray:
    """An ``info`` array for a batch that :meth:`Episodes.tile` repeated (info itself is not tiled)."""
    return a if a.shape[0] == batch else np.concatenate([a] * (batch // a.shape[0]), axis=0)


def store_terms(mask: np.ndarray, source: np.ndarray, store: np.ndarray, write_pos: np.ndarray,
                write_strength: np.ndarray, read_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alignment, writes) per episode (see the module docstring); every source is a store step.

    ``write_pos``/``write_strength``/``read_pos``: (B, T, H) per step and head, the focus written at,
    the write strength, and the focus after the step (where the next step's read came from).
    """
    B, T, H = write_pos.shape
    strong = write_strength >= 0.5
    # per store step and head: whether an earlier strong write hit its cell, and the first later one that does
    rows, t = np.nonzero(store)
    fresh = np.zeros(rows.size, dtype=bool)
    next_over = np.full((B, T, H), T, dtype=np.int64)
    steps = np.arange(T)[None, :, None]
    for a in range(0, rows.size, 4096):  # bounded memory: (chunk, T, H)
        r, s = rows[a:a + 4096], t[a:a + 4096]
        hit = strong[r] & (write_pos[r] == write_pos[r, s][:, None, :])
        fresh[a:a + 4096] = (strong[r, s] & ~(hit & (steps < s[:, None, None])).any(axis=1)).any(axis=1)
        later = hit & (steps > s[:, None, None])
        next_over[r, s] = np.where(later.any(axis=1), later.argmax(axis=1), T)
    n_store = np.bincount(rows, minlength=B)
    writes = np.bincount(rows, fresh, minlength=B) / np.maximum(n_store, 1)
    # per scored step with a source: read from the source's cell, written strongly, not overwritten before
    rows, t = np.nonzero(mask & (source >= 0))
    src = source[rows, t]
    cell = write_pos[rows, src]  # (S, H)
    read = read_pos[rows, t - 1]
    ok = (read == cell) & strong[rows, src] & (next_over[rows, src] >= t[:, None])
    dist = np.abs(read - cell)
    credit = np.where(ok, 1.0, np.where(dist > 0, 0.5 ** (1.0 + dist), 0.0)).max(axis=1)
    alignment = np.bincount(rows, credit, minlength=B) / np.maximum(np.bincount(rows, minlength=B), 1)
    return alignment, writes


def episodes_from(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, lengths: np.ndarray,
                  steps: np.ndarray, **info) -> Episodes:
    """Episodes with zeroed targets outside the mask (the convention of :class:`Episodes`)."""
    targets = np.where(mask[:, :, None], targets, 0.0)
    return Episodes(inputs=inputs, targets=targets, mask=mask, lengths=np.asarray(lengths, dtype=np.int64),
                    steps=np.asarray(steps, dtype=np.int64), info=info)


def random_bits(rng: np.random.Generator, shape) -> np.ndarray:
    """0/1 float64 bits, uniformly random."""
    return rng.integers(0, 2, size=shape).astype(np.float64)
