"""Compiled differentiable memory (numba): the NTM memory fused with the networks.

:func:`run_soft` evaluates every genome of a packed chunk on every episode for
every step, network and memory together, as :func:`entm.phenotype.tape_kernel.run_discrete`
does for the tape.  The memory math is that of :mod:`entm.memory.soft` (Graves,
Wayne & Danihelka 2014, eq. 2-9; docs/design.md, "Differentiable memory"), which
stays the reference and the trained baseline's path; the two agree to rounding
(tested to 1e-9).  Per step and per head, in head order: map the head's [0, 1]
outputs to their domains, write with the current weighting (erase, add),
address (content weighting with the cosine similarity and ``eps`` inside both
norms, softmax, interpolation, circular 3-tap shift, stable sharpening), read
with the new weighting.  The head parameters' columns come from
:class:`entm.memory.layout.HeadLayout` (``kernel_columns``).
"""

from __future__ import annotations

import math

import numpy as np

from entm.jit import njit
from entm.phenotype.kernels import active_rows, clean, exp_ieee, log_ieee, machine_step, zero_tails

#: smallest normal float64: the floor of the sharpening's maximum and sum (as torch.finfo(float64).tiny)
_TINY = np.finfo(np.float64).tiny
#: inside both norms of the cosine similarity (entm.memory.soft.content_weighting's eps)
_NORM_EPS = 1e-8
#: added to every raw shift output before normalising (entm.memory.soft.SHIFT_EPSILON)
_SHIFT_EPS = 1e-8


@njit(cache=True, error_model="numpy")
def soft_step(mem, w, X, b, off, M, N, cols, beta_max, gamma_max, sc, reads, r0):
    """One head's step on row b: write with weighting ``w`` (N,), address (``w`` becomes the new
    weighting), read into ``reads[b, r0:r0 + M]``.  ``mem`` (rows, M, cells) holds each row's memory
    with the cells innermost (:func:`cells_inner`).  The head's raw [0, 1] outputs are
    X[off + column, b] (finite: see :func:`clean`) at the columns ``cols`` = (k, beta, g, shift left,
    gamma, e, a); ``sc`` (3, >= N) is scratch.  Returns the new weighting's peak cell."""
    return soft_step_scratch(mem, w, X, b, off, M, N, cols, beta_max, gamma_max, sc, np.empty(4 * M), reads, r0)


@njit(cache=True)
def cells_inner(mem):
    """A memory (rows, N, M), as :mod:`entm.memory.soft` holds it, in the kernels' layout (rows, M, N)."""
    return np.ascontiguousarray(mem.transpose(0, 2, 1))


@njit(cache=True, error_model="numpy", inline="always")
def soft_step_scratch(mem, w, X, b, off, M, N, cols, beta_max, gamma_max, sc, kea, reads, r0):
    """:func:`soft_step` with its scratch given as well: ``sc`` (3, >= N), and ``kea`` (4M,), where the key,
    erase and add vectors are copied first (X's columns are rows apart) and the read is summed.  The
    per-cell passes run over contiguous cells (SIMD); each value is computed with the same operations in
    the same order as a cell-by-cell loop would."""
    ck, cbeta, cg, cs, cgamma, ce, ca = cols
    dots = sc[0]
    nns = sc[1]
    wg = sc[2]
    kk = 0.0
    for m in range(M):
        k = X[off + ck + m, b]
        kea[m] = k
        kea[M + m] = X[off + ce + m, b]
        kea[2 * M + m] = X[off + ca + m, b]
        kk += k * k
    beta = beta_max * X[off + cbeta, b]
    key_norm = math.sqrt(kk + _NORM_EPS)
    # 1. write (eq. 3-4), M_i <- M_i (1 - w_i e) + w_i a (a cell with w_i = 0 keeps its values:
    # v (1 - 0) + 0 = v), and 2. the written cells' dot products with the key and squared norms
    for i in range(N):
        dots[i] = 0.0
        nns[i] = 0.0
    for m in range(M):
        e = kea[M + m]
        a = kea[2 * M + m]
        k = kea[m]
        row = mem[b, m]
        for i in range(N):
            wi = w[i]
            v = row[i] * (1.0 - wi * e) + wi * a
            row[i] = v
            dots[i] += v * k
            nns[i] += v * v
    # content score (eq. 5-6): beta * cos(k, M_i), eps inside both norms; softmax
    for i in range(N):
        dots[i] = beta * (dots[i] / (math.sqrt(nns[i] + _NORM_EPS) * key_norm))
    zmax = -np.inf
    for i in range(N):
        if dots[i] > zmax:
            zmax = dots[i]
    for i in range(N):  # (exp and sum in two loops: the first vectorises)
        dots[i] = exp_ieee(dots[i] - zmax)
    total = 0.0
    for i in range(N):
        total += dots[i]
    # 3. interpolation (eq. 7) and 4. circular shift (eq. 8): w~_i = s_left wg[i+1] + s_stay wg[i] +
    # s_right wg[i-1] (mod N)
    g = X[off + cg, b]
    sl = X[off + cs, b] + _SHIFT_EPS
    ss = X[off + cs + 1, b] + _SHIFT_EPS
    sr = X[off + cs + 2, b] + _SHIFT_EPS
    st = sl + ss + sr
    sl, ss, sr = sl / st, ss / st, sr / st
    for i in range(N):
        wg[i] = g * (dots[i] / total) + (1.0 - g) * w[i]
    w[0] = sl * wg[1 % N] + ss * wg[0] + sr * wg[N - 1]
    for i in range(1, N - 1):
        w[i] = sl * wg[i + 1] + ss * wg[i] + sr * wg[i - 1]
    if N > 1:
        w[N - 1] = sl * wg[0] + ss * wg[N - 1] + sr * wg[N - 2]
    peak = 0.0
    top = 0
    for i in range(N):  # the largest cell (the first, where tied)
        if w[i] > peak:
            peak = w[i]
            top = i
    # 5. sharpening (eq. 9), stably: (w / max)^gamma / sum; the largest stays at ``top`` (monotonic).  The
    # power as exp(gamma log x), faster than libm's pow and within 1e-13 of it
    # (x in [0, 1], gamma in [1, 1 + gamma_max]; log 0 = -inf gives 0, as 0^gamma)
    gamma = 1.0 + gamma_max * X[off + cgamma, b]
    if peak < _TINY:
        peak = _TINY
    for i in range(N):
        w[i] = exp_ieee(gamma * log_ieee(w[i] / peak))
    total = 0.0
    for i in range(N):
        total += w[i]
    if total < _TINY:
        total = _TINY
    # 6. normalise and read (eq. 2): r = sum_i w_i M_i
    for i in range(N):
        w[i] = w[i] / total
    acc = kea[3 * M:]
    for m in range(M):
        acc[m] = 0.0
    for i in range(N):
        wi = w[i]
        if wi != 0.0:
            for m in range(M):
                acc[m] += wi * mem[b, m, i]
    for m in range(M):
        reads[b, r0 + m] = acc[m]
    return top


@njit(cache=True, error_model="numpy")
def soft_rows(mem, weights, hp, M, H, P, cols, beta_max, gamma_max, reads):
    """One step of every row's memory (heads in order), raw head outputs ``hp`` (rows, H*P), cleaned
    here; the read vectors go to ``reads`` (rows, H*M) (the closed loop)."""
    B = hp.shape[0]
    X = np.empty((H * P, B))
    for b in range(B):
        for o in range(H * P):
            X[o, b] = clean(hp[b, o])
    sc = np.empty((3, mem.shape[2]))
    kea = np.empty(4 * M)
    for b in range(B):
        for h in range(H):
            soft_step_scratch(mem, weights[b, h], X, b, h * P, M, mem.shape[2], cols, beta_max, gamma_max, sc, kea,
                              reads, h * M)


@njit(cache=True, error_model="numpy")
def run_soft(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
             inputs, steps, M, H, P, cols, cells, init_value, beta_max, gamma_max, n_task_out,
             out, reads_tr, wpos_tr, strength_tr, rpos_tr, dest, zero_tail=True):
    """Every genome on every episode (episodes sorted by ``steps``, longest first), network and
    differentiable memory fused.  Writes the task outputs and the light trace (reads fed to the
    network, each head's weighting peak cell and value before the step, its peak cell after): every
    element, zero past an episode's steps, so the arrays may be uninitialised or reused; sorted episode b
    goes to row ``dest[b]`` of them (the caller's order).  ``zero_tail=False`` skips the zeros past the
    steps, for buffers whose tails are known to be zero.
    ``cells`` (B,): each episode's number of memory cells N (docs/memory.md, per-episode memory size)."""
    G = node0.shape[0] - 1
    B, T, I = inputs.shape
    Bp = (B + 7) // 8 * 8
    acc = np.empty(Bp)
    X = np.empty((H * P, B))
    Nmax = 1
    for b in range(B):
        Nmax = max(Nmax, cells[b])
    mem = np.empty((B, M, Nmax))  # cells innermost
    weights = np.empty((B, H, Nmax))
    tops = np.zeros((B, H), dtype=np.int64)  # each weighting's largest cell (the first, where tied)
    reads = np.empty((B, H * M))
    sc = np.empty((3, Nmax))
    kea = np.empty(4 * M)
    for g in range(G):
        ns = nslots[g]
        V = np.zeros((ns, Bp))
        V2 = np.zeros((ns, Bp)) if recurrent[g] else V
        for b in range(B):
            for m in range(M):
                for i in range(cells[b]):
                    mem[b, m, i] = init_value
            for i in range(cells[b]):
                for h in range(H):
                    weights[b, h, i] = 0.0
            for h in range(H):
                weights[b, h, 0] = 1.0
                tops[b, h] = 0
            for k in range(H * M):
                reads[b, k] = init_value  # the one-hot weighting's read of a constant memory
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
                N = cells[b]
                for h in range(H):  # the peak before the step is the one the last step left
                    p = tops[b, h]
                    wpos_tr[g, d, t, h] = p
                    strength_tr[g, d, t, h] = weights[b, h, p]
                for h in range(H):
                    tops[b, h] = soft_step_scratch(mem, weights[b, h, :N], X, b, h * P, M, N, cols, beta_max,
                                                   gamma_max, sc, kea, reads, h * M)
                    rpos_tr[g, d, t, h] = tops[b, h]
        if zero_tail:  # the steps past an episode's end: zero
            zero_tails(g, steps, dest, out, reads_tr, wpos_tr, strength_tr, rpos_tr)
