"""The machine: a controller network coupled to an external memory through heads.

Per time step (docs/design.md, "Network input/output layout")::

    network input  = task input ++ read vector of head 0 ++ read vector of head 1 ...
    network output = task output ++ parameters of head 0 ++ parameters of head 1 ...

The head parameters (sigmoid outputs in [0, 1]) go to the memory, which writes,
moves the heads and returns the read vectors that the network sees on the next
step.  Many episodes run at once; :func:`run_population` runs many networks,
each on the same batch of episodes, sharing one batched memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.memory import MemorySpec, make_memory
from entm.phenotype.pack import Packed, PopulationStepper
from entm.phenotype.soft_kernel import run_soft
from entm.phenotype.tape_kernel import run_discrete


@dataclass
class Trace:
    """What a run recorded, per episode and step (T steps, H heads)."""

    reads: np.ndarray
    """(B, T, H*M) the read vectors fed to the network at each step."""
    write_pos: np.ndarray
    """(B, T, H) focus of each head when it wrote (tape position or weighting argmax)."""
    write_strength: np.ndarray
    """(B, T, H) write strength (tape: w; soft memory: the peak of the write weighting)."""
    read_pos: np.ndarray
    """(B, T, H) focus of each head after the step (where the next read came from)."""
    jumps: np.ndarray | None = None
    """(B, T, H) content jumps (discrete tape only, else None)."""
    steps: list | None = None
    """With ``record=True``: the memory's own per-step trace (contents, focus, jumps ...)."""


@dataclass
class RunResult:
    outputs: np.ndarray
    """(B, T, task outputs) the task part of the network's outputs."""
    head_outputs: np.ndarray | None
    """(B, T, H*P) the head part, when recorded."""
    trace: Trace | None = None


class Machine:
    """A task's layout, a memory mode and a number of heads: the wiring every network must fit."""

    def __init__(self, task, memory: MemorySpec):
        self.task = task
        self.spec = memory
        self.memory = make_memory(memory)
        self.heads = self.memory.heads
        self.width = self.memory.width
        self.num_inputs = task.num_inputs + self.heads * self.width
        self.num_outputs = task.num_outputs + self.heads * self.memory.head_param_size

    def layout(self) -> str:
        """The expected sizes, spelled out (for error messages)."""
        return (f"{self.task.num_inputs} task inputs + {self.heads} x {self.width} read values = "
                f"{self.num_inputs} inputs; {self.task.num_outputs} task outputs + {self.heads} x "
                f"{self.memory.head_param_size} {self.spec.mode} head parameters = {self.num_outputs} outputs")

    def check_sizes(self, num_inputs: int, num_outputs: int, what: str = "network") -> None:
        if num_inputs != self.num_inputs or num_outputs != self.num_outputs:
            raise EntmError(
                f"{what} has {num_inputs} inputs and {num_outputs} outputs, but task {self.task.name!r} with "
                f"{self.spec.mode} memory of width {self.width} needs {self.layout()}")

    def run(self, network, inputs: np.ndarray, record: bool = False, shaping: bool = False) -> RunResult:
        """Run one network on a batch of episodes' inputs (B, T, task inputs)."""
        return run_population(self, [network], inputs, record=record, shaping=shaping)[0]


def run_population(machine: Machine, networks, inputs: np.ndarray, record: bool = False,
                   shaping: bool = False, steps: np.ndarray | None = None, fast: bool = True) -> list[RunResult]:
    """Run every network on the same episodes; the memory is batched over all of them.

    One RunResult per network (views into :func:`run_stacked`'s arrays).
    """
    stacked = run_stacked(machine, networks, inputs, record=record, shaping=shaping, steps=steps, fast=fast)
    G = stacked.outputs.shape[0] // inputs.shape[0]
    B = inputs.shape[0]
    results = []
    for g in range(G):
        sl = slice(g * B, (g + 1) * B)
        trace = None
        if stacked.trace is not None:
            t = stacked.trace
            trace = Trace(reads=t.reads[sl], write_pos=t.write_pos[sl], write_strength=t.write_strength[sl],
                          read_pos=t.read_pos[sl], jumps=t.jumps[sl] if t.jumps is not None else None,
                          steps=_split_trace(t.steps, sl) if t.steps is not None else None)
        head = stacked.head_outputs[sl] if stacked.head_outputs is not None else None
        results.append(RunResult(outputs=stacked.outputs[sl], head_outputs=head, trace=trace))
    return results


def run_stacked(machine: Machine, networks, inputs: np.ndarray, record: bool = False, shaping: bool = False,
                steps: np.ndarray | None = None, fast: bool = True, buffers: dict | None = None) -> RunResult:
    """Run every network on the same episodes; one RunResult whose rows are network after network
    (row g*B + b: network g, episode b).

    ``networks``: a list of :class:`entm.phenotype.Network`, or an :class:`entm.phenotype.Packed`
    population.  ``shaping`` records the light trace (reads, write and read
    positions) the fitness shaping needs; ``record`` also keeps the memory's
    full trace and the head outputs (for plots; costly).  ``steps`` (B,) gives
    each episode's real number of steps (outputs past it are left at zero by
    the compiled path).  The networks always run in the compiled kernels
    (:mod:`entm.phenotype.kernels`); ``fast`` runs the memory fused with them
    where nothing is recorded (:mod:`entm.phenotype.tape_kernel`,
    :mod:`entm.phenotype.soft_kernel`), else the memory steps in :mod:`entm.memory`
    (the same results: the tape's exactly, the differentiable memory's to rounding).
    ``buffers``: a dict the compiled paths (tape and differentiable) keep their output arrays in and
    reuses on the next call with the same dict (no fresh allocation per chunk of
    genomes); the returned arrays are then views that the next such call overwrites, and
    must only be read (the zeros past each episode's steps are written once per set of steps).
    """
    packed = pack_networks(machine, networks)
    if fast and not record and machine.spec.mode == "discrete":
        return _run_discrete_fast(machine, packed, inputs, steps, buffers)
    if fast and not record and machine.spec.mode == "differentiable":
        return _run_soft_fast(machine, packed, inputs, steps, buffers)
    return _run_generic(machine, packed, inputs, record, shaping, steps)


def pack_networks(machine: Machine, networks) -> Packed:
    """``networks`` (a list of :class:`entm.phenotype.Network`, or already a Packed population) as a
    Packed population, checked against the machine's wiring."""
    if isinstance(networks, Packed):  # already packed (evaluators pack genomes directly)
        machine.check_sizes(networks.num_inputs, networks.num_outputs)
        return networks
    for net in networks:
        machine.check_sizes(net.num_inputs, net.num_outputs)
    return Packed(networks)


class _Sorted:
    """A batch's episodes longest first, as the fused kernels take them, and where each goes back
    (the kernels write sorted episode b to row ``dest[b]`` of their outputs: the caller's order)."""

    def __init__(self, inputs: np.ndarray, steps):
        B, T, _ = inputs.shape
        steps = np.full(B, T, dtype=np.int64) if steps is None else np.asarray(steps, dtype=np.int64)
        self.original_steps = steps
        order = np.argsort(-steps, kind="stable")
        presorted = np.array_equal(order, np.arange(B))
        self.dest = np.ascontiguousarray(order, dtype=np.int64)
        self.steps = np.ascontiguousarray(steps if presorted else steps[order])
        self.inputs = np.ascontiguousarray(inputs if presorted else inputs[order], dtype=np.float64)


def _rows(arrays, G: int) -> list:
    """(G, B, ...) arrays as (G*B, ...) rows."""
    return [a.reshape((G * a.shape[1],) + a.shape[2:]) for a in arrays]


def _output_arrays(G: int, shapes: tuple, steps: np.ndarray, buffers: dict | None):
    """The fused kernels' output arrays, (G,) + shape each, and whether the kernel must zero the steps past
    each episode's end (``steps``: each episode's, in the caller's order).  ``buffers`` (a dict kept by the
    caller) holds them across calls: the kernels never write past an episode's steps, so rows whose tails
    were zeroed for these same steps are zero there still (the buffers' users only read them) and the
    zeros need not be rewritten."""
    if buffers is None:  # the kernel writes every element
        return [np.empty((G,) + shape, dtype) for shape, dtype in shapes], True
    if buffers.get("key") != shapes or buffers["arrays"][0].shape[0] < G:
        buffers.update(key=shapes, arrays=[np.empty((G,) + shape, dtype) for shape, dtype in shapes],
                       tail_steps=None, tail_rows=0)
    arrays = [a[:G] for a in buffers["arrays"]]
    if buffers["tail_steps"] is not None and G <= buffers["tail_rows"] and \
            np.array_equal(buffers["tail_steps"], steps):
        return arrays, False
    buffers.update(tail_steps=steps.copy(), tail_rows=G)
    return arrays, True


def _run_discrete_fast(machine: Machine, packed, inputs: np.ndarray, steps, buffers: dict | None = None) -> RunResult:
    """Network and tape fused in one compiled loop (:func:`entm.phenotype.tape_kernel.run_discrete`)."""
    G = packed.G
    B, T, _ = inputs.shape
    H, M = machine.heads, machine.width
    O = machine.task.num_outputs
    srt = _Sorted(inputs, steps)
    shapes = (((B, T, O), np.float64), ((B, T, H * M), np.float64), ((B, T, H), np.int64),
              ((B, T, H), np.float64), ((B, T, H), np.int64), ((B, T, H), np.bool_))
    arrays, zero_tail = _output_arrays(G, shapes, srt.original_steps, buffers)
    layout = machine.memory.layout
    run_discrete(*packed.arrays(), srt.inputs, srt.steps, M, H, layout.size, layout.kernel_columns(),
                 *machine.memory.kernel_options(), O, *arrays, srt.dest, zero_tail)
    out, reads, wpos, strength, rpos, jumps = _rows(arrays, G)
    return RunResult(outputs=out, head_outputs=None,
                     trace=Trace(reads=reads, write_pos=wpos, write_strength=strength, read_pos=rpos, jumps=jumps))


def _run_soft_fast(machine: Machine, packed, inputs: np.ndarray, steps, buffers: dict | None = None) -> RunResult:
    """Network and differentiable memory fused in one compiled loop
    (:func:`entm.phenotype.soft_kernel.run_soft`); outputs and trace are zero past each episode's steps."""
    G = packed.G
    B, T, _ = inputs.shape
    H, M = machine.heads, machine.width
    O = machine.task.num_outputs
    srt = _Sorted(inputs, steps)
    shapes = (((B, T, O), np.float64), ((B, T, H * M), np.float64), ((B, T, H), np.int64),
              ((B, T, H), np.float64), ((B, T, H), np.int64))
    arrays, zero_tail = _output_arrays(G, shapes, srt.original_steps, buffers)
    mem = machine.memory
    p = mem.params
    run_soft(*packed.arrays(), srt.inputs, srt.steps, M, H, mem.layout.size, mem.layout.kernel_columns(),
             mem.episode_cells(srt.steps), float(p.init_value), float(p.beta_max), float(p.gamma_max), O, *arrays,
             srt.dest, zero_tail)
    out, reads, wpos, strength, rpos = _rows(arrays, G)
    return RunResult(outputs=out, head_outputs=None,
                     trace=Trace(reads=reads, write_pos=wpos, write_strength=strength, read_pos=rpos))


def _run_generic(machine: Machine, packed: Packed, inputs: np.ndarray, record: bool, shaping: bool,
                 steps=None) -> RunResult:
    """Step by step in Python, the memory batched over every network's episodes (stacked rows); a
    differentiable memory gets each episode's N from its ``steps`` (default: all T)."""
    G = packed.G
    B, T, _ = inputs.shape
    mem = machine.memory
    H, M = machine.heads, machine.width
    n_task_out = machine.task.num_outputs
    nets = PopulationStepper(packed, B)
    if machine.spec.mode == "differentiable":
        n = mem.episode_cells(np.full(B, T) if steps is None else steps)
        state = mem.reset(G * B, record=record, cells=np.tile(n, G))
    else:
        state = mem.reset(G * B, record=record)
    reads = mem.initial_reads(state)
    outputs = np.empty((G * B, T, n_task_out))
    head_out = np.empty((G * B, T, H * mem.head_param_size)) if record else None
    keep = record or shaping
    if keep:
        all_reads = np.empty((G * B, T, H * M))
        write_pos = np.empty((G * B, T, H), dtype=np.int64)
        read_pos = np.empty((G * B, T, H), dtype=np.int64)
        strength = np.empty((G * B, T, H))
        has_jumps = hasattr(mem, "jumps")
        jumps = np.zeros((G * B, T, H), dtype=bool) if has_jumps else None
    x = np.empty((G * B, inputs.shape[2] + H * M))
    for t in range(T):
        x[:, :inputs.shape[2]] = np.tile(inputs[:, t], (G, 1)) if G > 1 else inputs[:, t]
        x[:, inputs.shape[2]:] = reads
        y = np.empty((G * B, machine.num_outputs))
        nets.step(x, y)
        outputs[:, t] = y[:, :n_task_out]
        hp = y[:, n_task_out:]
        # non-finite outputs (possible with unbounded activations) must not poison the memory
        hp = np.nan_to_num(hp, nan=0.0, posinf=1.0, neginf=0.0)
        if record:
            head_out[:, t] = hp
        if keep:
            all_reads[:, t] = reads
            write_pos[:, t] = mem.focus(state)
            strength[:, t] = mem.write_strength(state, hp)
            if has_jumps:
                jumps[:, t] = mem.jumps(hp)
        state, reads = mem.step(state, hp)
        if keep:
            read_pos[:, t] = mem.focus(state)
    trace = None
    if keep:
        trace = Trace(reads=all_reads, write_pos=write_pos, write_strength=strength, read_pos=read_pos,
                      jumps=jumps, steps=list(state.trace) if record else None)
    return RunResult(outputs=outputs, head_outputs=head_out, trace=trace)


def _split_trace(steps: list, sl: slice) -> list:
    """The memory's per-step trace restricted to the rows ``sl`` (one network's episodes)."""
    out = []
    for step in steps:
        item = {}
        for k, v in step.items():
            if isinstance(v, np.ndarray):
                item[k] = v[sl]
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                item[k] = [{kk: (vv[sl] if isinstance(vv, np.ndarray) else vv) for kk, vv in d.items()} for d in v]
            elif isinstance(v, list):
                item[k] = v[sl]
            else:
                item[k] = v
        out.append(item)
    return out
