"""The discrete ENTM tape (Greve, Jacobsen & Risi, GECCO 2016; Lüders et al. 2017).

Hard focus, content jump, shift, and a tape that grows on demand.  Per step and
per head, in head order (docs/design.md, "Discrete tape"):

1. Write at the focused cell ``h``: ``M[h] <- w*a + (1-w)*M[h]`` (``interpolate``,
   the default) or ``M[h] <- a`` if ``w >= 0.5`` (``overwrite``).  With
   ``expand_location`` set (the ENTM C# port's ``UseMemoryExpandLocation``), a
   write that changes the tape's last cell appends a blank cell after it, so
   that the last cell is always blank until written: the write changed the cell
   when the similarity of its old and new values (below) is at most
   ``did_write_threshold``.  The focus stays on the written cell.
2. Content jump if ``j >= 0.5``: similarity ``s_i = 1 - mean_k |a_k - M[i]_k|``;
   the focus moves to the most similar cell, the first one on a tie.  With
   ``min_jump_similarity`` set, a best similarity below it sends the focus to
   the tape's last cell instead.
3. Shift by ``argmax(left, stay, right) - 1`` (first maximum on a tie).
4. Grow: moving left of the first cell prepends a blank cell, right of the last
   appends one.  With ``max_cells`` set, a tape of that many cells no longer
   grows and the focus stays on the end cell instead.
5. Read: the read vector is a copy of the focused cell.

The tape starts as one blank cell with the focus on it; the first read vector
is blank.

Implementation: a batch of tapes lives in one buffer ``cells`` of shape
``(B, capacity, M)``; each row's tape is the slice ``[lo, hi)`` of its buffer
row and the focus ``pos`` is a buffer index.  Buffer cells outside a row's tape
are always blank, so growing is a change of ``lo``/``hi`` only.  ``origin`` is
the buffer index of the tape's first cell at reset, so ``pos - origin`` is a
focus position that does not change when cells are prepended (used to align
tapes over time in plots and for fitness shaping).  When a row would leave
the buffer, the buffer is re-allocated with more room on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.memory.layout import head_layout

WRITE_MODES = ("interpolate", "overwrite")


def _check_unit(name: str, value) -> None:
    """A tape setting that must be a number in [0, 1] (a similarity): else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise EntmError(f"tape {name} must be a number in [0, 1], got {value!r}")


@dataclass(frozen=True)
class TapeParams:
    """Settings of the discrete tape."""

    width: int
    """M: the number of values per cell."""
    write_mode: str = "interpolate"
    """``interpolate`` (M[h] <- w*a + (1-w)*M[h]) or ``overwrite`` (M[h] <- a if w >= 0.5)."""
    min_jump_similarity: float | None = None
    """If set, a content jump whose best similarity is below it goes to the tape's last cell."""
    max_cells: int | None = None
    """If set, the tape stops growing at this many cells (the focus stays on the end cell)."""
    blank: float = 0.0
    """The value of every entry of a new cell."""
    expand_location: bool = False
    """If set, a write that changes the tape's last cell appends a blank cell (the C# port's expand location)."""
    did_write_threshold: float = 0.9
    """With ``expand_location``: a write changed its cell when old and new are at most this similar."""

    def __post_init__(self):
        if int(self.width) < 1:
            raise EntmError(f"tape width must be at least 1, got {self.width}")
        if self.write_mode not in WRITE_MODES:
            raise EntmError(f"unknown tape write_mode {self.write_mode!r}; expected one of {', '.join(WRITE_MODES)}")
        if self.min_jump_similarity is not None:
            _check_unit("min_jump_similarity", self.min_jump_similarity)
        if self.max_cells is not None and int(self.max_cells) < 1:
            raise EntmError(f"tape max_cells must be at least 1, got {self.max_cells}")
        if not isinstance(self.expand_location, bool):
            raise EntmError(f"tape expand_location must be true or false, got {self.expand_location!r}")
        _check_unit("did_write_threshold", self.did_write_threshold)


@dataclass
class TapeState:
    """The explicit state of a batch of tapes (see the module docstring)."""

    cells: np.ndarray  # (B, capacity, M)
    lo: np.ndarray  # (B,) first buffer index of each tape
    hi: np.ndarray  # (B,) one past the last buffer index of each tape
    pos: np.ndarray  # (B, H) focus of each head, buffer index
    origin: np.ndarray  # (B,) buffer index of the tape's first cell at reset
    reads: np.ndarray  # (B, H*M) the latest read vectors
    trace: list | None = None  # one dict per step when recording

    @property
    def batch(self) -> int:
        return self.cells.shape[0]

    def tape(self, row: int) -> np.ndarray:
        """The tape of one batch row as a (cells, M) array (a copy)."""
        return self.cells[row, self.lo[row]:self.hi[row]].copy()

    def focus(self, row: int, head: int = 0) -> int:
        """The focus of a head as an index into :meth:`tape`."""
        return int(self.pos[row, head] - self.lo[row])


class TapeMemory:
    """A batch of ENTM tapes with ``heads`` heads each, explicit state."""

    mode = "discrete"

    def __init__(self, params: TapeParams, heads: int = 1):
        if int(heads) < 1:
            raise EntmError(f"number of heads must be at least 1, got {heads}")
        self.params = params
        self.width = int(params.width)
        self.heads = int(heads)
        self.layout = head_layout("discrete", self.width)
        self.head_param_size = self.layout.size

    def kernel_options(self) -> tuple:
        """The compiled tape kernel's settings: (write mode code, min jump similarity or NaN,
        max cells or -1, the expand location's did-write threshold or NaN, blank)."""
        p = self.params
        return (0 if p.write_mode == "interpolate" else 1,
                np.nan if p.min_jump_similarity is None else float(p.min_jump_similarity),
                -1 if p.max_cells is None else int(p.max_cells),
                float(p.did_write_threshold) if p.expand_location else np.nan, float(p.blank))

    # -- state -----------------------------------------------------------------
    def reset(self, batch: int, record: bool = False, capacity: int = 64) -> TapeState:
        """A batch of fresh tapes: one blank cell, every head on it."""
        capacity = max(int(capacity), 3)
        cells = np.full((batch, capacity, self.width), self.params.blank, dtype=np.float64)
        mid = capacity // 2
        lo = np.full(batch, mid, dtype=np.int64)
        return TapeState(
            cells=cells,
            lo=lo,
            hi=lo + 1,
            pos=np.full((batch, self.heads), mid, dtype=np.int64),
            origin=lo.copy(),
            reads=np.full((batch, self.heads * self.width), self.params.blank, dtype=np.float64),
            trace=[] if record else None,
        )

    def initial_reads(self, state: TapeState) -> np.ndarray:
        """The read vectors before the first step: blank cells."""
        return state.reads.copy()

    def focus(self, state: TapeState) -> np.ndarray:
        """(B, heads) focus positions relative to the tape's first cell at reset."""
        return state.pos - state.origin[:, None]

    def write_strength(self, state: TapeState, head_outputs: np.ndarray) -> np.ndarray:
        """(B, heads) the write interpolation w each head is about to apply."""
        P, w = self.head_param_size, self.layout.column("w")
        return np.stack([head_outputs[:, h * P + w] for h in range(self.heads)], axis=1)

    def jumps(self, head_outputs: np.ndarray) -> np.ndarray:
        """(B, heads) whether each head content-jumps (j >= 0.5) on this step."""
        P, j = self.head_param_size, self.layout.column("j")
        return np.stack([head_outputs[:, h * P + j] >= 0.5 for h in range(self.heads)], axis=1)

    # -- one step --------------------------------------------------------------
    def step(self, state: TapeState, head_outputs: np.ndarray) -> tuple[TapeState, np.ndarray]:
        """Apply one step of every head; ``head_outputs`` is (B, heads*(M+5)) in [0, 1].

        Returns the state (updated) and the read vectors (B, heads*M).
        """
        M, P = self.width, self.head_param_size
        x = np.asarray(head_outputs, dtype=np.float64)
        B = state.batch
        if x.shape != (B, self.heads * P):
            raise ValueError(f"head outputs have shape {x.shape}, expected {(B, self.heads * P)}")
        rows = np.arange(B)
        reads = np.empty((B, self.heads * M), dtype=np.float64)
        rec = [] if state.trace is not None else None
        for h in range(self.heads):
            xh = x[:, h * P:(h + 1) * P]
            a, w, j, shift = (xh[:, self.layout.slices["a"]], xh[:, self.layout.column("w")],
                              xh[:, self.layout.column("j")], xh[:, self.layout.shift])
            p = state.pos[:, h]
            p_write = p - state.origin
            # 1. write
            cur = state.cells[rows, p]
            if self.params.write_mode == "interpolate":
                new = w[:, None] * a + (1.0 - w[:, None]) * cur
            else:
                new = np.where((w >= 0.5)[:, None], a, cur)
            state.cells[rows, p] = new
            if self.params.expand_location:
                p = self._expand(state, p, cur, new)
            # 2. content jump
            jump = j >= 0.5
            if jump.any():
                jr = np.nonzero(jump)[0]
                p = p.copy()
                p[jr] = self._jump_targets(state, jr, a[jr])
            # 3. shift and 4. grow
            offset = np.argmax(shift, axis=1) - 1
            p = self._move(state, p + offset)
            state.pos[:, h] = p
            # 5. read
            r = state.cells[rows, p]
            reads[:, h * M:(h + 1) * M] = r
            if rec is not None:
                rec.append({
                    "write_pos": p_write.copy(),
                    "a": a.copy(), "w": w.copy(), "jump": jump.copy(),
                    "shift": offset.copy(),
                    "pos": (p - state.origin).copy(),
                    "read": r.copy(),
                })
        state.reads = reads
        if rec is not None:
            state.trace.append({
                "heads": rec,
                "tapes": [state.tape(b) for b in range(B)],
                "first": (state.lo - state.origin).copy(),
            })
        return state, reads.copy()

    # -- helpers ---------------------------------------------------------------
    def _jump_targets(self, state: TapeState, jr: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Buffer index of the most similar cell for rows ``jr`` with keys ``a``."""
        lo, hi = state.lo[jr], state.hi[jr]
        start, stop = int(lo.min()), int(hi.max())
        window = state.cells[jr, start:stop]  # (R, W, M)
        sim = _similarity(window, a[:, None, :])
        idx = np.arange(start, stop)[None, :]
        valid = (idx >= lo[:, None]) & (idx < hi[:, None])
        sim = np.where(valid, sim, -np.inf)
        best = np.argmax(sim, axis=1)  # first maximum
        target = start + best
        thr = self.params.min_jump_similarity
        if thr is not None:
            best_sim = sim[np.arange(len(jr)), best]
            target = np.where(best_sim < thr, hi - 1, target)
        return target

    def _expand(self, state: TapeState, p: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Append a blank cell to the tapes whose last cell (the focus ``p``) the write changed; returns
        the focus (moved with the buffer if it was re-allocated)."""
        grow = (p == state.hi - 1) & (_similarity(new, old) <= self.params.did_write_threshold)
        if self.params.max_cells is not None:
            grow &= (state.hi - state.lo) < self.params.max_cells
        if grow.any():
            if int(state.hi[grow].max()) >= state.cells.shape[1]:
                p = p + self._regrow(state)
            state.hi = np.where(grow, state.hi + 1, state.hi)
        return p

    def _move(self, state: TapeState, p: np.ndarray) -> np.ndarray:
        """Grow tapes where the focus leaves them; returns the new focus."""
        max_cells = self.params.max_cells
        left = p < state.lo
        right = p >= state.hi
        if max_cells is not None:
            full = (state.hi - state.lo) >= max_cells
            p = np.where(left & full, state.lo, p)
            p = np.where(right & full, state.hi - 1, p)
            left &= ~full
            right &= ~full
        if left.any() or right.any():
            cap = state.cells.shape[1]
            if p.min() < 0 or p.max() >= cap:
                p = p + self._regrow(state)
            state.lo = np.where(left, p, state.lo)
            state.hi = np.where(right, p + 1, state.hi)
        return p

    def _regrow(self, state: TapeState) -> int:
        """Double the buffer, centring the used span; returns the index shift."""
        B, cap, M = state.cells.shape
        new_cap = cap * 2
        used_lo, used_hi = int(state.lo.min()), int(state.hi.max())
        span = used_hi - used_lo
        new_lo = (new_cap - span) // 2
        shift = new_lo - used_lo
        cells = np.full((B, new_cap, M), self.params.blank, dtype=np.float64)
        cells[:, new_lo:new_lo + span] = state.cells[:, used_lo:used_hi]
        state.cells = cells
        state.lo = state.lo + shift
        state.hi = state.hi + shift
        state.pos = state.pos + shift
        state.origin = state.origin + shift
        return shift


def _similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``1 - mean_k |x_k - y_k|`` over the last axis (broadcast), the distances added k = 0, 1, ... in order, as
    the compiled kernel and the plain tape add them (numpy's own sum is pairwise from 8 elements on, which can
    flip a near tie)."""
    diff = np.abs(x - y)
    total = diff[..., 0].copy()
    for k in range(1, diff.shape[-1]):
        total += diff[..., k]
    return 1.0 - total / diff.shape[-1]
