"""Compiled ENTM tape (numba): the tape fused with the networks, and the closed loop's tape step.

:func:`run_discrete` evaluates every genome of a packed chunk on every episode
for every step, network and tape together, recording the light trace the
fitness shaping needs; no Python runs per step or per genome.
:func:`tape_rows` steps every row's tape once (the numpy closed loop, where the
environment runs between steps), :func:`tape_columns` the tapes of given rows
(the fused closed loop, :mod:`entm.closed_kernel`).  The tape's semantics are those of
:mod:`entm.memory.tape` (docs/design.md, "Discrete tape"); the head parameters'
columns come from :class:`entm.memory.layout.HeadLayout`.
"""

from __future__ import annotations

import numpy as np

from entm.jit import njit
from entm.phenotype.kernels import active_rows, machine_step, zero_tails


@njit(cache=True, error_model="numpy", inline="always")
def tape_step(cells, lo, hi, pos, rows, n, h, X, off, M, cols, write_mode, min_sim, max_cells, expand):
    """One step of head h of the tapes of rows ``rows[:n]`` (docs/design.md, "Discrete tape"), head
    parameters X[off:, row] at the columns ``cols`` = (a, w, j, shift left) of
    :meth:`entm.memory.layout.HeadLayout.kernel_columns` (it jumped when j >= 0.5; w is its write strength).
    ``expand``: the expand location's did-write threshold, NaN when it is off; the buffer then needs room
    for two more cells at the right end.

    Many rows per call: numba counts the references of a function's array arguments atomically on
    every call, which costs more than a short step."""
    for q in range(n):
        b = rows[q]
        p = pos[b, h]
        ca = off + cols[0]
        wv = X[off + cols[1], b]
        j = X[off + cols[2], b]
        # 1. write
        on_end = expand == expand and p == hi[b] - 1  # expand is NaN when off
        d = 0.0  # how much the write changed the cell (the expand location's test, at the last cell only)
        if write_mode == 0:
            for k in range(M):
                old = cells[b, p, k]
                cells[b, p, k] = wv * X[ca + k, b] + (1.0 - wv) * old
                if on_end:
                    d += abs(cells[b, p, k] - old)
        elif wv >= 0.5:
            for k in range(M):
                old = cells[b, p, k]
                cells[b, p, k] = X[ca + k, b]
                if on_end:
                    d += abs(cells[b, p, k] - old)
        if on_end and 1.0 - d / M <= expand:
            if not (max_cells > 0 and (hi[b] - lo[b]) >= max_cells):
                hi[b] += 1
        # 2. content jump
        if j >= 0.5:
            best = -np.inf
            best_i = lo[b]
            if M == 2:  # the loop below unrolled, the same sums (0 + x + y is x + y) and quotient:
                k0 = X[ca, b]  # the T-mazes' width, whose tapes grow to thousands of cells
                k1 = X[ca + 1, b]
                for i in range(lo[b], hi[b]):
                    s = 1.0 - (abs(k0 - cells[b, i, 0]) + abs(k1 - cells[b, i, 1])) / 2.0
                    if s > best:
                        best = s
                        best_i = i
                        if s == 1.0:  # no cell is more similar than 1: the first maximum is found
                            break
            else:
                for i in range(lo[b], hi[b]):
                    d = 0.0
                    for k in range(M):
                        d += abs(X[ca + k, b] - cells[b, i, k])
                    s = 1.0 - d / M
                    if s > best:
                        best = s
                        best_i = i
                        if s == 1.0:
                            break
            if min_sim == min_sim and best < min_sim:  # min_sim is NaN when unset
                best_i = hi[b] - 1
            p = best_i
        # 3. shift (first maximum)
        cs = off + cols[3]
        sl = X[cs, b]
        ss = X[cs + 1, b]
        sr = X[cs + 2, b]
        o = 0
        m = sl
        if ss > m:
            o = 1
            m = ss
        if sr > m:
            o = 2
        p = p + o - 1
        # 4. grow
        full = max_cells > 0 and (hi[b] - lo[b]) >= max_cells
        if p < lo[b]:
            if full:
                p = lo[b]
            else:
                lo[b] = p
        elif p >= hi[b]:
            if full:
                p = hi[b] - 1
            else:
                hi[b] = p + 1
        pos[b, h] = p

@njit(cache=True, error_model="numpy")
def run_discrete(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
                 inputs, steps, M, H, P, cols, write_mode, min_sim, max_cells, expand, blank, n_task_out,
                 out, reads_tr, wpos_tr, strength_tr, rpos_tr, jump_tr, dest, zero_tail=True):
    """Every genome on every episode (episodes sorted by ``steps``, longest first).

    Writes every element of ``out`` and the trace arrays (zero past an episode's
    ``steps``), so they may be uninitialised or reused; sorted episode b goes to
    row ``dest[b]`` of them (the caller's order).  ``zero_tail=False`` skips
    the zeros past the steps, for buffers whose tails are known to be zero already."""
    G = node0.shape[0] - 1
    B, T, I = inputs.shape
    cap = 3 * T * H + 3  # the origin leaves room for a cell a step and head on the left, two on the right
    Bp = (B + 7) // 8 * 8  # rows padded to whole vectors: the row loops run without scalar remainders
    acc = np.empty(Bp)
    X = np.empty((H * P, B))  # head parameters, non-finite values made harmless
    cells = np.full((B, cap, M), blank)  # reused: each genome blanks the cells it used
    lo = np.empty(B, np.int64)
    hi = np.empty(B, np.int64)
    rows = np.arange(B)
    for g in range(G):
        ns = nslots[g]
        V = np.zeros((ns, Bp))
        V2 = np.zeros((ns, Bp)) if recurrent[g] else V
        if g > 0:
            for b in range(B):
                for i in range(lo[b], hi[b]):
                    for k in range(M):
                        cells[b, i, k] = blank
        for b in range(B):
            lo[b] = T * H + 1
            hi[b] = T * H + 2
        pos = np.empty((B, H), np.int64)
        for b in range(B):
            for h in range(H):
                pos[b, h] = lo[b]
        origin = T * H + 1
        reads = np.full((B, H * M), blank)
        nb = B
        for t in range(T):
            nb = active_rows(steps, t, nb)
            if nb == 0:
                break
            # rows up to a whole SIMD vector are evaluated: the extra ones are finished episodes or padding
            V, V2 = machine_step(V, V2, g, t, nb, min(Bp, (nb + 7) // 8 * 8), inputs, reads, recurrent, node0, slot, act, agg, bias, resp,
                                 link0, link1, src, w, acc, out_slot, n_task_out, out, X, dest)
            for b in range(nb):
                d = dest[b]
                for i in range(H * M):
                    reads_tr[g, d, t, i] = reads[b, i]
                for h in range(H):  # a head's focus moves only in its own step
                    wpos_tr[g, d, t, h] = pos[b, h] - origin
            for h in range(H):  # every row's heads in order (rows are independent)
                tape_step(cells, lo, hi, pos, rows, nb, h, X, h * P, M, cols, write_mode, min_sim, max_cells, expand)
                for b in range(nb):
                    d = dest[b]
                    jump_tr[g, d, t, h] = X[h * P + cols[2], b] >= 0.5
                    strength_tr[g, d, t, h] = X[h * P + cols[1], b]
                    p = pos[b, h]
                    rpos_tr[g, d, t, h] = p - origin
                    for k in range(M):
                        reads[b, h * M + k] = cells[b, p, k]
        if zero_tail:  # the steps past an episode's end: zero
            zero_tails(g, steps, dest, out, reads_tr, wpos_tr, strength_tr, rpos_tr)
            for b in range(B):
                for t in range(steps[b], T):
                    for h in range(H):
                        jump_tr[g, dest[b], t, h] = False


@njit(cache=True)
def recentre_rows(old, new, lo, hi, pos, origin):
    """Move every row's tape [lo, hi) to the middle of the (larger) buffer ``new``; indices follow."""
    cap = new.shape[1]
    for b in range(old.shape[0]):
        span = hi[b] - lo[b]
        shift = (cap - span) // 2 - lo[b]
        for i in range(lo[b], hi[b]):
            for k in range(old.shape[2]):
                new[b, i + shift, k] = old[b, i, k]
        lo[b] += shift
        hi[b] += shift
        origin[b] += shift
        for h in range(pos.shape[1]):
            pos[b, h] += shift

@njit(cache=True, error_model="numpy")
def tape_rows(cells, lo, hi, pos, hp, M, H, P, cols, write_mode, min_sim, max_cells, expand, reads):
    """One step of every row's tape (heads in order), head parameters ``hp`` (rows, H*P);
    the read vectors go to ``reads`` (rows, H*M).  The buffer must have room for one more cell
    per head at the left end of every tape and two more at the right end (the caller regrows it)."""
    B = hp.shape[0]
    tape_columns(cells, lo, hi, pos, hp.T, np.arange(B), B, M, H, P, cols, write_mode, min_sim, max_cells, expand,
                 reads)


@njit(cache=True, error_model="numpy")
def tape_columns(cells, lo, hi, pos, X, rows, n, M, H, P, cols, write_mode, min_sim, max_cells, expand, reads):
    """One step of the tapes of rows ``rows[:n]`` (each row's heads in order), head parameters ``X[:, row]``;
    the read vectors go to ``reads[row]``.  Room as for :func:`tape_rows`."""
    for h in range(H):
        tape_step(cells, lo, hi, pos, rows, n, h, X, h * P, M, cols, write_mode, min_sim, max_cells, expand)
        for q in range(n):  # head h reads before head h + 1 writes
            b = rows[q]
            p = pos[b, h]
            for k in range(M):
                reads[b, h * M + k] = cells[b, p, k]
