"""The closed-loop runner: reward tasks, whose inputs depend on the network's outputs.

Per step, batched over every deployment of every network at once (row
``g*B + b``: network g, deployment b)::

    x = task inputs (from the environment) ++ read vectors   (docs/design.md's layout)
    y = every network's step on its rows (compiled population step, or numpy)
    environment consumes y's task part; the memory steps with y's head part

The memory is reset once per deployment and never between its rounds: what
the network wrote in round 1 is on the tape in round 20.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.closed_kernel import kernel_supports, run_fused_loop
from entm.machine import Machine, pack_networks
from entm.phenotype.pack import PopulationStepper
from entm.phenotype.soft_kernel import cells_inner, soft_rows
from entm.phenotype.tape_kernel import recentre_rows, tape_rows


@dataclass
class ClosedLoopResult:
    steps: int
    """Steps until every row had finished."""
    row_steps: int
    """Steps summed over rows while they were active (genome-steps)."""
    nonfinite: np.ndarray
    """(rows,) bool: a non-finite task output occurred while the row was active."""
    memory_trace: list | None = None
    """With ``record=True``: the memory's per-step trace (all rows)."""
    inputs: np.ndarray | None = None
    """With ``record=True``: (rows, steps, task inputs) what the environment showed."""
    outputs: np.ndarray | None = None
    """With ``record=True``: (rows, steps, task outputs) the networks' task outputs."""
    head_outputs: np.ndarray | None = None
    """With ``record=True``: (rows, steps, head parameters) as the memory received them."""
    first_heads: np.ndarray | None = None
    """With ``head_trace`` T: (networks, T, head parameters) of each network's first deployment, its first T
    running steps (zero past them)."""
    first_steps: np.ndarray | None = None
    """With ``head_trace``: (networks,) the steps each network's first deployment ran."""


def run_closed_loop(machine: Machine, networks, env, record: bool = False, fast: bool = True,
                    fused: bool = True, head_trace: int = 0) -> ClosedLoopResult:
    """Run ``env`` (a :class:`entm.tasks.reward.Environment` with ``groups`` = number of networks) to the end.

    ``networks``: a list of :class:`entm.phenotype.Network` or a
    :class:`entm.phenotype.Packed` population (run by the compiled population step).  A
    non-finite task output is replaced by 0 before the environment sees it
    (and counted); non-finite head outputs are cleaned as in the open-loop
    runner, so they never poison the memory.  ``record`` keeps the memory's
    own per-step trace.  ``fast``: the memory steps in a compiled kernel
    (:func:`entm.phenotype.tape_kernel.tape_rows`, the numpy tape's results exactly;
    :func:`entm.phenotype.soft_kernel.soft_rows`, the torch memory's to rounding).
    ``fused`` (with ``fast``): environment, network and memory run in one compiled loop
    (:mod:`entm.closed_kernel`) wherever :func:`entm.closed_kernel.kernel_supports` says it
    reproduces this numpy loop exactly; ``fused=False`` always runs the numpy loop.  ``head_trace`` T > 0
    keeps the head outputs of each network's first deployment for T steps (``first_heads``).
    """
    packed = pack_networks(machine, networks)
    G = packed.G
    N = env.batch
    if G < 1 or N % G or env.groups != G:
        raise ValueError(f"environment has {N} rows in {env.groups} groups for {G} networks")
    B = N // G
    T = int(head_trace)
    if fast and fused and kernel_supports(machine, env, record):
        if T:
            steps, per_row, nonfinite, (_, _, first) = run_fused_loop(machine, packed, env, T, trace_first=True)
            return ClosedLoopResult(steps=steps, row_steps=int(per_row.sum()), nonfinite=nonfinite,
                                    first_heads=first, first_steps=np.minimum(per_row[::B], T))
        steps, per_row, nonfinite = run_fused_loop(machine, packed, env)
        return ClosedLoopResult(steps=steps, row_steps=int(per_row.sum()), nonfinite=nonfinite)
    mem = machine.memory
    n_in, n_out = machine.task.num_inputs, machine.task.num_outputs
    nets = PopulationStepper(packed, B)
    state = mem.reset(N, record=record)
    reads = mem.initial_reads(state)
    compiled_tape = fast and not record and machine.spec.mode == "discrete"
    compiled_soft = fast and not record and machine.spec.mode == "differentiable"
    if compiled_tape:
        tape_args = (machine.width, machine.heads, mem.layout.size, mem.layout.kernel_columns(),
                     *mem.kernel_options()[:4])
    if compiled_soft:  # the state as numpy arrays the kernel updates in place
        soft_mem, soft_w = cells_inner(state.memory.numpy()), state.weights.numpy().copy()
        soft_args = (machine.width, machine.heads, mem.layout.size, mem.layout.kernel_columns(),
                     float(mem.params.beta_max), float(mem.params.gamma_max))
    x = np.empty((N, machine.num_inputs))
    y = np.empty((N, machine.num_outputs))
    nonfinite = np.zeros(N, dtype=bool)
    steps = row_steps = 0
    seen = ([], [], []) if record else None
    first = np.zeros((G, T, y.shape[1] - n_out)) if T else None
    first_steps = np.zeros(G, dtype=np.int64) if T else None
    wants_reads = getattr(env, "wants_reads", False)
    while not env.done:
        active = env.active.copy()
        x[:, :n_in] = env.observe()
        x[:, n_in:] = reads
        nets.step(x, y)
        out = y[:, :n_out]
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            nonfinite |= bad & active
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        if wants_reads:
            env.see_reads(x[:, n_in:])
        env.act(out)
        hp = np.nan_to_num(y[:, n_out:], nan=0.0, posinf=1.0, neginf=0.0)
        if record:
            for kept, a in zip(seen, (x[:, :n_in], out, hp)):
                kept.append(a.copy())
        if T:
            ran = active[::B]
            if steps < T:
                first[ran, steps] = hp[::B][ran]
            first_steps += ran & (first_steps < T)
        if compiled_tape:
            # room for every head to grow one cell on the left, two on the right (the expand location)
            if int(state.lo.min()) < machine.heads or int(state.hi.max()) + 2 * machine.heads > state.cells.shape[1]:
                _recentre(state, machine.heads, mem.params.blank)
            tape_rows(state.cells, state.lo, state.hi, state.pos, hp, *tape_args, reads)
        elif compiled_soft:
            soft_rows(soft_mem, soft_w, hp, *soft_args, reads)
        else:
            state, reads = mem.step(state, hp)
        steps += 1
        row_steps += int(active.sum())
    kept = [np.stack(k, axis=1) for k in seen] if record and steps else [None] * 3
    return ClosedLoopResult(steps=steps, row_steps=row_steps, nonfinite=nonfinite,
                            memory_trace=list(state.trace) if record else None,
                            inputs=kept[0], outputs=kept[1], head_outputs=kept[2],
                            first_heads=first, first_steps=first_steps)


def evaluate_deployments(machine: Machine, network, deployments, record: bool = False, run_record: bool = False):
    """Run one network on a batch of deployments; returns (scores, environment), and the
    :class:`ClosedLoopResult` too with ``run_record`` (which records the memory and every step).

    ``record`` makes the environment keep what :func:`entm.analysis.deployment.draw_deployment` draws.
    """
    task = machine.task
    env = task.environment(deployments, groups=1, record=record)
    run = run_closed_loop(machine, [network], env, record=run_record)
    if run_record:
        return task.score(env), env, run
    return task.score(env), env


def _recentre(state, heads: int, blank: float) -> None:
    """Give every tape room to grow: each row's tape moves to the middle of its buffer row, and the
    buffer is enlarged to the longest tape plus a quarter (at least 32 cells) on either side.

    Rows are centred one by one, so the buffer grows with the longest tape, not with the union
    of the rows' spans (one tape growing left and another right need no more room than either).
    """
    span = int((state.hi - state.lo).max())
    margin = max(32, span // 4) + heads
    cap = max(state.cells.shape[1], span + 2 * margin)
    cells = np.full((state.batch, cap, state.cells.shape[2]), blank)
    recentre_rows(state.cells, cells, state.lo, state.hi, state.pos, state.origin)
    state.cells = cells
