"""The closed loop fused (numba): environment, network and memory in one compiled loop.

:func:`run_fused` runs every genome of a packed chunk on every deployment to
its end, step after step::

    inputs  = the environment's observation of the row (entm.closed_env) ++ read vectors
    outputs = the network's step (entm.phenotype.kernels.network_step, the rows as SIMD lanes)
    the environment consumes the task outputs (non-finite -> 0, counted);
    the memory steps with the head outputs (cleaned): the tape (tape_kernel.tape_step)
    or the differentiable memory (soft_kernel.soft_step)

No Python runs per step.  Rows that finish leave the batch: their network
column is swapped with the last running one, so the SIMD lanes stay full and a
finished deployment costs nothing (the numpy loop steps every row until the
last one ends, and ignores the finished ones).  Each operation is the numpy
loop's (:func:`entm.closed_loop.run_closed_loop` with ``fused=False``) for
that row, in the same order and in float64, so the results are the same to the
bit: the environment's final state, the scores, the step counts, the
non-finite flags.  :func:`kernel_supports` says when the fused loop applies;
everything else (recording, an environment or task parameter the compiled
environment does not know) runs in the numpy loop.
"""

from __future__ import annotations

import numpy as np

from entm.closed_env import ENVIRONMENTS, env_act, env_observe, env_supported, pack_env, season_reads, unpack_env
from entm.jit import njit
from entm.memory.layout import head_layout
from entm.phenotype.kernels import clean, network_step
from entm.phenotype.soft_kernel import cells_inner, soft_step_scratch
from entm.phenotype.tape_kernel import recentre_rows, tape_columns
from entm.tasks.maze import HEADINGS

MODES = ("discrete", "differentiable")


def kernel_supports(machine, env, record: bool = False) -> bool:
    """Whether :func:`run_fused_loop` runs ``env`` for ``machine`` exactly as the numpy loop would:
    nothing recorded, a memory mode it has, an environment and task parameters
    :mod:`entm.closed_env` re-states (:func:`entm.closed_env.env_supported`)."""
    return (not record and machine.spec.mode in MODES and type(env) in ENVIRONMENTS
            and env_supported(machine.task, env))


def run_fused_loop(machine, packed, env, trace_steps: int = 0, trace_first: bool = False) -> tuple:
    """Run ``env`` (G*B rows, G = the packed networks) to the end in :func:`run_fused`; returns (steps
    until every row finished, (rows,) steps of each row while it ran, (rows,) non-finite task output
    seen).  ``env`` is left in the state the numpy loop leaves it in.

    ``trace_steps`` > 0 also returns what each row saw and did in its first ``trace_steps`` running
    steps: (rows, trace_steps, ·) task inputs, task outputs (as the environment got them) and head
    outputs (as the memory got them), zero past a row's steps (for the tests).  ``trace_first``: of each
    network's first deployment only, (G, trace_steps, ·) (novelty search's head descriptor)."""
    G, N = packed.G, env.batch
    B = N // G
    ip, fp, S, F, D, sensors, grid, LI, LF = pack_env(env, B)
    mem = machine.memory
    H, M, P = machine.heads, machine.width, mem.layout.size
    soft = machine.spec.mode == "differentiable"
    tape_cols = head_layout("discrete", M).kernel_columns()
    soft_cols = head_layout("differentiable", M).kernel_columns()
    if soft:  # the memory's own initial state, copied for every genome
        state = mem.reset(B)
        mem0, w0 = cells_inner(state.memory.numpy()), state.weights.numpy().copy()
        reads0 = np.ascontiguousarray(mem.initial_reads(state), dtype=np.float64)
        write_mode, min_sim, max_cells, expand, blank = 0, np.nan, -1, np.nan, 0.0
        beta_max, gamma_max = float(mem.params.beta_max), float(mem.params.gamma_max)
    else:
        mem0, w0 = np.zeros((1, 1, 1)), np.zeros((1, 1, 1))
        write_mode, min_sim, max_cells, expand, blank = mem.kernel_options()
        reads0 = np.full((B, H * M), blank)
        beta_max = gamma_max = 0.0
    row_steps = np.zeros(N, np.int64)
    nonfinite = np.zeros(N, np.bool_)
    T = int(trace_steps)
    R = G if trace_first else N
    trace = (np.zeros((R, T, machine.task.num_inputs)), np.zeros((R, T, machine.task.num_outputs)),
             np.zeros((R, T, H * P)))
    # the season task's reads: summed at scored decisions (its memory term), kept at every decision of the
    # first deployments (the reads descriptor)
    wants_reads = getattr(env, "wants_reads", False)
    sums = wants_reads and bool(getattr(machine.task, "memory_term", False))
    KR = np.zeros((N, 2, H * M + 1)) if sums and env.read_sums is None else \
        env.read_sums.copy() if sums else np.zeros((1, 2, 1))
    first = getattr(env, "decision_first", 0)  # set only with wants_reads
    DR = np.zeros((G, first, D.shape[1] // 3, H * M)) if first and env.decision_reads is None else \
        env.decision_reads.copy() if first else np.zeros((1, 0, 1, 1))
    run_fused(*packed.arrays(), B, machine.task.num_inputs, machine.task.num_outputs, H, M, P, soft,
              tape_cols, write_mode, min_sim, max_cells, expand, blank, soft_cols, mem0, w0, reads0, beta_max,
              gamma_max, ip, fp, S, F, D, sensors, grid, HEADINGS, LI, LF, row_steps, nonfinite, *trace,
              trace_first, wants_reads, sums, KR, DR)
    steps = int(row_steps.max()) if N else 0
    unpack_env(env, S, F, LI, LF, steps)
    if sums:
        env.read_sums = KR
    if first:
        env.decision_reads = DR
    if T:
        return steps, row_steps, nonfinite, trace
    return steps, row_steps, nonfinite


@njit(cache=True)
def _regrown(cells, lo, hi, pos, H, blank):
    """Every tape moved to the middle of a buffer with room to grow (as the numpy loop's recentring):
    the longest tape plus a quarter (at least 32 cells) on either side."""
    B = cells.shape[0]
    span = 0
    for b in range(B):
        span = max(span, hi[b] - lo[b])
    margin = max(32, span // 4) + H
    cap = max(cells.shape[1], span + 2 * margin)
    new = np.full((B, cap, cells.shape[2]), blank)
    recentre_rows(cells, new, lo, hi, pos, np.zeros(B, np.int64))
    return new


@njit(cache=True, error_model="numpy")
def run_fused(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
              B, n_in, n_out, H, M, P, soft, tape_cols, write_mode, min_sim, max_cells, expand, blank,
              soft_cols, mem0, w0, reads0, beta_max, gamma_max,
              ip, fp, S, F, D, sensors, grid, headings, LI, LF, row_steps, nonfinite, tr_in, tr_out, tr_head,
              trace_first, wants_reads, sums, KR, DR):
    """Every genome (G) on its B rows (row g*B + b) to the end: environment (``ip``... ``grid``, see
    :mod:`entm.closed_env`), network and memory (``soft``: the differentiable memory, initial state
    ``mem0``, ``w0``, ``reads0``; else the tape) fused.  Adds each row's steps to ``row_steps`` and
    sets ``nonfinite`` where a task output was not finite.  ``tr_in``, ``tr_out``, ``tr_head`` (rows,
    T, ·) receive each row's first T steps' task inputs, task outputs and head outputs (T = 0: none); with
    ``trace_first`` only of each genome's first deployment, at row g.  ``wants_reads``: the season task's
    reads at its scored decisions are summed into ``KR`` (``sums``), and kept at every decision of the first
    deployments in ``DR`` (:func:`entm.closed_env.season_reads`)."""
    G = node0.shape[0] - 1
    Bp = (B + 7) // 8 * 8
    R = H * M
    acc = np.empty(Bp)
    X = np.empty((H * P, B))  # head parameters, cleaned, per deployment
    Y = np.empty((max(n_out, 1), Bp))  # task outputs as the environment gets them
    ended = np.empty(B, np.int64)
    goals = np.empty(B, np.int64)
    rid = np.empty(B, np.int64)  # the deployment in each network column
    cells = np.full((B, 64 + 4 * H, M), blank)
    lo = np.empty(B, np.int64)
    hi = np.empty(B, np.int64)
    pos = np.empty((B, H), np.int64)
    mem = mem0.copy()
    wts = w0.copy()
    sc = np.empty((3, mem0.shape[2]))
    kea = np.empty(4 * M)
    reads = np.empty((B, R))
    T = tr_in.shape[1]
    for g in range(G):
        base = g * B
        ns = nslots[g]
        V = np.zeros((ns, Bp))
        V2 = np.zeros((ns, Bp)) if recurrent[g] else V
        if soft:
            mem[:] = mem0
            wts[:] = w0
        else:
            if g > 0:  # blank what the last genome wrote
                for b in range(B):
                    for i in range(lo[b], hi[b]):
                        for k in range(M):
                            cells[b, i, k] = blank
            for b in range(B):
                lo[b] = cells.shape[1] // 2
                hi[b] = lo[b] + 1
                for h in range(H):
                    pos[b, h] = lo[b]
        reads[:] = reads0
        nb = 0
        for b in range(B):
            if S[base + b, 0] != 0:  # column 0: active, in every environment
                rid[nb] = b
                nb += 1
        while nb > 0:
            env_observe(ip, fp, S, F, D, sensors, grid, rid, nb, base, V)
            for j in range(nb):
                b = rid[j]
                for i in range(R):
                    V[n_in + i, j] = reads[b, i]
            nbv = min(Bp, (nb + 7) // 8 * 8)  # whole SIMD vectors; the extra columns are never read
            V, V2 = network_step(V, V2, g, n_in + R, nb, nbv, recurrent, node0, slot, act, agg, bias, resp, link0,
                                 link1, src, w, acc)
            for j in range(nb):
                b = rid[j]
                r = base + b
                for o in range(n_out):  # a non-finite task output: the environment sees 0
                    v = V[out_slot[g, o], j]
                    if not np.isfinite(v):
                        nonfinite[r] = True
                        v = 0.0
                    Y[o, j] = v
                for o in range(H * P):
                    X[o, b] = clean(V[out_slot[g, n_out + o], j])
                t = row_steps[r]
                if t < T and (b == 0 or not trace_first):
                    q = g if trace_first else r
                    for i in range(n_in):
                        tr_in[q, t, i] = V[i, j]  # the input slots are never written by the network
                    for o in range(n_out):
                        tr_out[q, t, o] = Y[o, j]
                    for o in range(H * P):
                        tr_head[q, t, o] = X[o, b]
            if wants_reads:
                season_reads(ip, S, D, rid, nb, base, reads, sums, KR, g, DR)
            env_act(ip, fp, S, F, D, grid, headings, rid, nb, base, Y, ended, goals, LI, LF)
            if soft:
                for j in range(nb):
                    b = rid[j]
                    for h in range(H):
                        soft_step_scratch(mem, wts[b, h], X, b, h * P, M, mem.shape[2], soft_cols, beta_max,
                                          gamma_max, sc, kea, reads, h * M)
            else:
                for j in range(nb):  # room for every head to grow a cell on the left, two on the right
                    b = rid[j]
                    if lo[b] < H or hi[b] + 2 * H > cells.shape[1]:
                        cells = _regrown(cells, lo, hi, pos, H, blank)
                tape_columns(cells, lo, hi, pos, X, rid, nb, M, H, P, tape_cols, write_mode, min_sim, max_cells,
                             expand, reads)
            for j in range(nb):
                row_steps[base + rid[j]] += 1
            j = 0
            while j < nb:  # finished rows leave: the last running column takes their place
                b = rid[j]
                if S[base + b, 0] != 0:
                    j += 1
                    continue
                nb -= 1
                rid[j] = rid[nb]
                rid[nb] = b
                for s in range(ns):
                    v = V[s, j]
                    V[s, j] = V[s, nb]
                    V[s, nb] = v
                    if recurrent[g]:
                        v = V2[s, j]
                        V2[s, j] = V2[s, nb]
                        V2[s, nb] = v
