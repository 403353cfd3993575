"""The indirect (HyperNEAT-style) encoding: NEAT evolves a CPPN that paints the controller.

Direct NEAT must find "bit j of the input goes to slot j of the write vector"
one connection at a time (16 links for 8-bit copy, 2,000 for 1,000 bits).  Here
NEAT (neat-python) evolves a small *CPPN* instead, which is queried for every
connection of a fixed *substrate*: the controller's inputs and outputs, with a
geometry in which bit j of every vector lines up (Merrild, Rasmussen & Risi,
"HyperNTM", EvoApplications 2018).  "Bit j goes to slot j" is then one
regularity of the CPPN, and a controller evolved at one vector width is
re-painted at any other width without further evolution.

Substrate
---------
Every controller input and output is a substrate node with a *kind* and, for
the vector kinds, an element index j (its coordinate):

* inputs: the task's bit vector (``bits``, j = 0 .. V-1), the task's scalar
  inputs (copy: ``start``, ``delimiter``), and per head h the read vector, split
  into its first V values (``read{h}``, j = 0 .. V-1, aligned with the bits) and
  the M - V extra values (``read{h}.extra{k}``, scalars);
* outputs: the task's output vector (``out``), and per head its parameters
  (docs/design.md order): vectors of width M split the same way (discrete:
  ``write{h}`` + extras; differentiable: ``key{h}``, ``erase{h}``, ``add{h}`` +
  extras), the scalar parameters each a kind of its own (``write{h}.w``,
  ``jump{h}``, ``shift{h}.left`` ...).

Tasks opt in with ``hyper_layout()``: copy and the bit-vector tasks of the NTM
paper (repeat copy, associative recall, priority sort: V bits in and out, their
other inputs and outputs scalars).

The controller has no hidden nodes: every output node may be linked from every
input node, and has a bias.

CPPN
----
Inputs (``cppn_inputs``): a one-hot code of the *source* kind (each vector
kind, each scalar kind, and ``bias`` for bias queries), then ``offset`` =
j_source - j_target and ``aligned`` = 1 if the offset is 0 -- both only for a
link between two vector kinds, else 0.

With ``blocks`` B > 1 (:class:`HyperParams`), every memory vector is B aligned blocks of V values (block
b's bit j at (b, j)), then its M - B V extras, and a link between two vectors also gives the CPPN
``src_block``, ``dst_block`` (b / (B - 1)) and ``block_offset`` = b_source - b_target.  With
``block_steps`` two more: ``block_same`` = 1 where b_source = b_target and ``block_next`` = 1 where
b_target = b_source + 1 (a shift register's push), the blocks' counterparts of ``aligned``.  With
``block_onehot`` 2 B more: ``src_block0`` .. and ``dst_block0`` .. (1 for the link's source block, 1 for its
target block), so that a link to or from one block alone is one CPPN input.  ``block_coords`` False leaves
``src_block``, ``dst_block`` and ``block_offset`` out (the blocks told apart only by the steps' and the one-hot
inputs, so that a relation between two blocks other than "same" and "next" takes several links and hidden
nodes).  With ``element`` one more,
``element`` = j / (V - 1) of the vector element at the scalar end's other side: a link from vector element j
into a scalar output, from a scalar input into vector element j, and element j's bias get a value of their
own (queries per source kind and element), where otherwise every element of a vector gets the same.

Outputs (``cppn_outputs``, the multi-spatial-substrate layout of Pugh &
Stanley 2013): one output per (source vector kind, target vector kind) pair,
read for the links between those two vectors; one output per target vector
kind, read for its links from scalar inputs and for its bias; one output per
scalar output node, read for all its links and its bias.

Painting (:class:`HyperParams`): a link's value v is the CPPN output clamped to
[-1, 1]; links between two vectors join only elements at most ``radius`` apart
(a receptive field; default 0: bit j links to bit j only, 1: to j-1, j, j+1);
a link exists when
|v| >= ``threshold`` and has weight ``weight_scale * v``, divided
by V for a link from a vector element into a scalar output (so that a sum over
all bits keeps its size at any width).  A bias is ``weight_scale * v``, always.
Controller nodes are neat-python sigmoid/sum nodes, links in output-major,
input order (the order neat-python sums them in).  The painted controller is
an ordinary network: it runs on the same machine as direct genomes, and is
saved as neat-python network JSON beside its CPPN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from entm.errors import EntmError
from entm.memory.layout import head_layout
from entm.neatconfig import load_config
from entm.phenotype import GenomeData, Network, PopulationStepper, pack_genomes, pack_painted
from entm.phenotype.functions import ACTIVATION_CODES, AGGREGATION_CODES


@dataclass(frozen=True)
class HyperParams:
    """The substrate's painting rules (what entm owns of the hyper encoding; saved with each champion)."""

    weight_scale: float = 5.0
    """A link's weight is ``weight_scale`` times the CPPN's value clamped to [-1, 1] (so is a bias)."""
    threshold: float = 0.2
    """A link exists where the |clamped CPPN value| is at least this."""
    radius: int | None = 0
    """Links between two vectors only join elements at most this far apart (|j_src - j_dst| <= radius,
    a receptive field): 0 (default) links bit j to bit j only; None: every pair of elements."""
    blocks: int = 1
    """A memory vector (read, write, key, erase, add) is this many aligned blocks of V values, then its
    M - blocks V extra scalars (M >= blocks V); the CPPN also gets the two blocks of a link.  1 (default): one
    block, the layout of HyperNTM.  More blocks let a cell hold several vectors (associative recall's items)."""
    block_steps: bool = False
    """With blocks: the CPPN also gets ``block_same`` (1 for a link within one block) and ``block_next`` (1 for a
    link from block b to block b + 1), so that "read block b goes to write block b + 1" (a push) is one input,
    where ``block_offset`` alone needs a hidden node peaked at -1.  False (default): the inputs as before."""
    block_onehot: bool = False
    """With blocks: the CPPN also gets the link's source and target block one-hot (``src_block0`` ..,
    ``dst_block0`` ..), so that "the bits go to write block 0 only" or "the outputs read block b only" is one
    input, where ``src_block``/``dst_block`` alone need a hidden node peaked at b.  False (default): as before."""
    block_coords: bool = True
    """With blocks: the CPPN gets ``src_block``, ``dst_block`` and ``block_offset``.  False leaves them out (needs
    ``block_steps`` or ``block_onehot``, else nothing tells blocks apart): "read block b goes to every higher
    write block" is then no longer one step of ``block_offset`` away, while the push (``block_next``) and a
    block of its own (the one-hot inputs) stay one input each.  True (default): as before."""
    element: bool = False
    """The CPPN also gets ``element`` (j / (V - 1)) for the links between a vector element j and a scalar (either
    way) and for element j's bias, so that they may differ from element to element (e.g. the season task's eat
    output weighing each food's input on its own).  False (default): one value for every element."""

    def __post_init__(self):
        if isinstance(self.weight_scale, bool) or not isinstance(self.weight_scale, (int, float)) or \
                not (self.weight_scale > 0 and np.isfinite(self.weight_scale)):
            raise EntmError(f"hyper weight_scale must be a positive number, got {self.weight_scale!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) or \
                not 0 <= self.threshold < 1:
            raise EntmError(f"hyper threshold must be in [0, 1), got {self.threshold!r}")
        if self.radius is not None and (isinstance(self.radius, bool) or not isinstance(self.radius, int)
                                        or self.radius < 0):
            raise EntmError(f"hyper radius must be a non-negative integer or None, got {self.radius!r}")
        if isinstance(self.blocks, bool) or not isinstance(self.blocks, int) or self.blocks < 1:
            raise EntmError(f"hyper blocks must be a positive integer, got {self.blocks!r}")
        if not isinstance(self.element, bool):
            raise EntmError(f"hyper element must be true or false, got {self.element!r}")
        for name in BLOCK_FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise EntmError(f"hyper {name} must be true or false, got {getattr(self, name)!r}")
            if getattr(self, name) and self.blocks < 2:
                raise EntmError(f"hyper {name} needs blocks >= 2 (--hyper-blocks): its inputs tell blocks apart")
        if not isinstance(self.block_coords, bool):
            raise EntmError(f"hyper block_coords must be true or false, got {self.block_coords!r}")
        if not self.block_coords and (self.blocks < 2 or not (self.block_steps or self.block_onehot)):
            raise EntmError("hyper block_coords false (--hyper-no-block-coords) needs blocks >= 2 and block_steps or "
                            "block_onehot: without the blocks' coordinates only those inputs tell blocks apart")

    @classmethod
    def from_dict(cls, d: dict | None) -> "HyperParams":
        d = dict(d or {})
        unknown = sorted(set(d) - set(FIELDS))
        if unknown:
            raise EntmError(f"unknown hyper encoding parameter {unknown[0]!r}; known: {', '.join(FIELDS)}")
        return cls(**d)

    def as_dict(self) -> dict:
        """The fields; ``blocks`` only when not 1, ``block_steps``, ``block_onehot`` and ``element`` only when set,
        ``block_coords`` only when false (champions and runs from before them stay as they were)."""
        d = {"weight_scale": float(self.weight_scale), "threshold": float(self.threshold), "radius": self.radius}
        if self.blocks != 1:
            d["blocks"] = int(self.blocks)
        d.update({k: True for k in BLOCK_FLAGS if getattr(self, k)})
        if not self.block_coords:
            d["block_coords"] = False
        if self.element:
            d["element"] = True
        return d


BLOCK_FLAGS = ("block_steps", "block_onehot")
"""The :class:`HyperParams` switches that add CPPN inputs for blocks: each needs blocks >= 2, and is saved only
when set."""
FIELDS = ("weight_scale", "threshold", "radius", "blocks") + BLOCK_FLAGS + ("block_coords", "element")
"""The :class:`HyperParams` fields, as saved in a champion's substrate metadata."""


def default_width(task, hyper: dict | None) -> int:
    """The memory width M when none is given: the task's own (V + its extras), with the V values once per block
    of the hyper encoding (``hyper``: its settings; None for the direct encoding)."""
    blocks = HyperParams.from_dict(hyper).blocks if hyper is not None else 1
    return task.default_memory_width + ((blocks - 1) * vector_size(task) if blocks > 1 else 0)


def vector_size(task, layout=None) -> int:
    """V: the size of the task's vectors in its substrate layout (``layout``: the task's ``hyper_layout()``
    when already at hand): the bits, the season task's foods."""
    layout = task.hyper_layout() if layout is None else layout
    return next((int(g[1]) for g in layout[0] if g[2]), 0) if layout is not None else int(task.vector_size)


#: the controller's neat-python config (sizes filled in): sigmoid/sum output nodes, feed-forward; never evolved
#: (its [NEAT] and reproduction items are only there to be valid: entm.config_checks)
CONTROLLER_CONFIG = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 1.0
pop_size              = 2
reset_on_extinction   = False
no_fitness_termination = True

[DefaultGenome]
num_inputs            = {inputs}
num_outputs           = {outputs}
num_hidden            = 0
feed_forward          = True
initial_connection    = full_direct
activation_default      = sigmoid
activation_mutate_rate  = 0.0
activation_options      = sigmoid
aggregation_default     = sum
aggregation_mutate_rate = 0.0
aggregation_options     = sum
bias_init_mean = 0.0
bias_init_stdev = 1.0
bias_max_value = 30.0
bias_min_value = -30.0
bias_mutate_power = 0.5
bias_mutate_rate = 0.7
bias_replace_rate = 0.1
response_init_mean = 1.0
response_init_stdev = 0.0
response_max_value = 1.0
response_min_value = 1.0
response_mutate_power = 0.0
response_mutate_rate = 0.0
response_replace_rate = 0.0
weight_init_mean = 0.0
weight_init_stdev = 1.0
weight_max_value = 30.0
weight_min_value = -30.0
weight_mutate_power = 0.5
weight_mutate_rate = 0.8
weight_replace_rate = 0.1
enabled_default = True
enabled_mutate_rate = 0.0
conn_add_prob = 0.0
conn_delete_prob = 0.0
node_add_prob = 0.0
node_delete_prob = 0.0
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient = 0.5

[DefaultSpeciesSet]
compatibility_threshold = 3.0

[DefaultStagnation]
species_fitness_func = max
max_stagnation = 20
species_elitism = 2

[DefaultReproduction]
elitism = 1
survival_threshold = 0.2
"""


@dataclass(frozen=True)
class SubstrateNode:
    """A controller input or output: its kind and, for vector kinds, its element index j."""

    kind: str
    index: int | None
    """j for vector kinds (the coordinate that lines bit j of every vector up), None for scalars."""
    block: int = 0
    """The block of a memory vector's element (:attr:`HyperParams.blocks`); 0 for every other node."""


def _memory_layout(mode: str, M: int, V: int, h: int, blocks: int = 1) -> tuple[list, list]:
    """(read groups, head parameter groups) of head h: [(kind, size, vector?, block)] in the order of the
    head's :class:`entm.memory.layout.HeadLayout`."""
    def vec(name):  # a width-M vector: blocks of V aligned values, then M - blocks V extra scalars
        return ([(name, V, True, b) for b in range(blocks)]
                + [(f"{name}.extra{k}", 1, False, 0) for k in range(M - blocks * V)])

    out = []
    for p in head_layout(mode, M).params:
        kind = p.kind.format(h=h)
        out += vec(kind) if p.vector else [(kind, 1, False, 0)]
    return vec(f"read{h}"), out


def _expand(groups) -> list[SubstrateNode]:
    nodes = []
    for kind, size, vector, block in groups:
        nodes += [SubstrateNode(kind, j, block) for j in range(size)] if vector else [SubstrateNode(kind, None)]
    return nodes


def _kinds(groups, vector: bool) -> list:
    """The vector (or scalar) kinds of ``groups``, each once, in order."""
    return list(dict.fromkeys(g[0] for g in groups if g[2] == vector))


class Substrate:
    """The controller's nodes and their coordinates for a task and memory, and the CPPN layout."""

    def __init__(self, task, spec, params: HyperParams | dict | None = None):
        layout = task.hyper_layout()
        if layout is None:
            raise EntmError(f"task {task.name!r} has no substrate layout for the hyper encoding (supported: the "
                            "bit-vector tasks copy, repeat_copy, associative_recall, priority_sort, and season); use "
                            "--encoding direct")
        hp = params if isinstance(params, HyperParams) else HyperParams.from_dict(params)
        in_groups, out_groups = ([(*g, 0) for g in groups] for groups in layout)  # the task's vectors: block 0
        V = vector_size(task, layout)
        M = int(spec.width)
        if M < V * hp.blocks:
            raise EntmError(
                f"the hyper encoding lines the memory's first V values up with the bits: memory width {M} must be at "
                f"least the vector size {V}" if hp.blocks == 1 else
                f"hyper blocks {hp.blocks}: the memory holds {hp.blocks} blocks of V = {V} values, so its width {M} "
                f"must be at least {hp.blocks * V} (--width)")
        for h in range(spec.heads):
            read, params = _memory_layout(spec.mode, M, V, h, hp.blocks)
            in_groups = in_groups + read
            out_groups = out_groups + params
        self.task, self.spec = task, spec
        self.vector_size, self.width = V, M
        self.hyper = hp
        self.inputs = _expand(in_groups)
        self.outputs = _expand(out_groups)
        self.vector_in, self.scalar_in = _kinds(in_groups, True), _kinds(in_groups, False)
        self.vector_out, self.scalar_out = _kinds(out_groups, True), _kinds(out_groups, False)
        self.source_kinds = self.vector_in + self.scalar_in + ["bias"]
        self.cppn_inputs = [f"src={k}" for k in self.source_kinds] + ["offset", "aligned"]
        if hp.blocks > 1 and hp.block_coords:  # a vector pair's blocks: source, target (0 .. 1), their offset
            self.cppn_inputs += ["src_block", "dst_block", "block_offset"]
        if hp.block_steps:
            self.cppn_inputs += ["block_same", "block_next"]
        if hp.block_onehot:
            self.cppn_inputs += [f"src_block{b}" for b in range(hp.blocks)] + [f"dst_block{b}" for b in range(hp.blocks)]
        if hp.element:
            self.cppn_inputs += ["element"]
        self.cppn_outputs = ([f"{a}->{b}" for a in self.vector_in for b in self.vector_out]
                             + [f"scalars->{b}" for b in self.vector_out] + [f"->{b}" for b in self.scalar_out])
        self._build_queries()
        self._controller_config = None

    # -- layout ---------------------------------------------------------------
    @property
    def num_cppn_inputs(self) -> int:
        return len(self.cppn_inputs)

    @property
    def num_cppn_outputs(self) -> int:
        return len(self.cppn_outputs)

    def params(self) -> dict:
        """What re-painting needs besides the task and memory (saved in the champion's metadata)."""
        return {**self.hyper.as_dict(), "cppn_inputs": list(self.cppn_inputs),
                "cppn_outputs": list(self.cppn_outputs)}

    def coordinates(self) -> dict:
        """{"inputs": [(kind, j)], "outputs": [(kind, j)]} in the network's input and output order."""
        return {"inputs": [(n.kind, n.index) for n in self.inputs],
                "outputs": [(n.kind, n.index) for n in self.outputs]}

    def _build_queries(self):
        """The CPPN queries (rows of ``self.queries``) and, for every (output, input) pair and every
        bias, which query row and which CPPN output give its value, and the weight factor (vectorised:
        a 1,000-bit substrate has four million pairs)."""
        V, B = self.vector_size, self.hyper.blocks
        kinds = self.source_kinds
        n_src, n_vi, n_vo = len(kinds), len(self.vector_in), len(self.vector_out)
        # rows 0 .. n_src-1: one per source kind, no vector pair (offset 0, aligned 0); then per vector
        # input kind, source block and target block (one of each with one block), the 2V-1 offsets of a pair
        span = 2 * V - 1
        queries = np.zeros((n_src + n_vi * B * B * span, self.num_cppn_inputs))
        queries[np.arange(n_src), np.arange(n_src)] = 1.0
        offsets = np.arange(-(V - 1), V)
        onehot = self.cppn_inputs.index("src_block0") if self.hyper.block_onehot else -1
        coords = self.cppn_inputs.index("src_block") if "src_block" in self.cppn_inputs else -1
        steps = self.cppn_inputs.index("block_same") if self.hyper.block_steps else -1
        for a in range(n_vi):
            for bs in range(B):
                for bd in range(B):
                    rows = n_src + ((a * B + bs) * B + bd) * span + np.arange(span)
                    queries[rows, a] = 1.0
                    queries[rows, n_src] = offsets
                    queries[rows, n_src + 1] = (offsets == 0)
                    if coords >= 0:
                        queries[rows, coords:coords + 3] = (bs / (B - 1), bd / (B - 1), bs - bd)
                    if steps >= 0:
                        queries[rows, steps:steps + 2] = (bs == bd, bd == bs + 1)
                    if self.hyper.block_onehot:
                        queries[rows, onehot + bs] = 1.0
                        queries[rows, onehot + B + bd] = 1.0
        n_plain = queries.shape[0]
        if self.hyper.element:  # then per source kind and element: the kind one-hot and element = j / (V - 1)
            rows = np.zeros((n_src * V, self.num_cppn_inputs))
            rows[np.arange(n_src * V), np.repeat(np.arange(n_src), V)] = 1.0
            rows[:, self.cppn_inputs.index("element")] = np.tile(np.arange(V) / max(V - 1, 1), n_src)
            queries = np.concatenate([queries, rows])
        self.queries = queries

        in_kind = np.array([kinds.index(n.kind) for n in self.inputs], np.int64)
        in_j = np.array([-1 if n.index is None else n.index for n in self.inputs], np.int64)
        out_j = np.array([-1 if n.index is None else n.index for n in self.outputs], np.int64)
        out_vec = np.array([self.vector_out.index(n.kind) if n.index is not None else -1 for n in self.outputs])
        out_sca = np.array([self.scalar_out.index(n.kind) if n.index is None else -1 for n in self.outputs])
        src_vec = in_j >= 0  # in_kind < n_vi exactly then
        dst_vec = out_j >= 0
        pair = dst_vec[:, None] & src_vec[None, :]  # (O, I)
        offset = in_j[None, :] - out_j[:, None]
        in_b = np.array([n.block for n in self.inputs], np.int64)
        out_b = np.array([n.block for n in self.outputs], np.int64)
        block_pair = (in_kind[None, :] * B + in_b[None, :]) * B + out_b[:, None]
        q = np.where(pair, n_src + block_pair * span + offset + (V - 1), in_kind[None, :])
        if self.hyper.element:  # a vector element and a scalar: the (source kind, element) row
            j = np.where(src_vec[None, :], in_j[None, :], out_j[:, None])
            q = np.where(~pair & (src_vec[None, :] | dst_vec[:, None]), n_plain + in_kind[None, :] * V + j, q)
        c_pair = in_kind[None, :] * n_vo + out_vec[:, None]
        c_vec = n_vi * n_vo + out_vec[:, None]  # (O, 1): np.where broadcasts over the inputs
        c_sca = n_vi * n_vo + n_vo + out_sca[:, None]
        c = np.where(dst_vec[:, None], np.where(src_vec[None, :], c_pair, c_vec), c_sca)
        f = np.where(~dst_vec[:, None] & src_vec[None, :], 1.0 / V, 1.0)  # vector -> scalar: sums keep their size
        # candidates: every pair, except two vectors' elements farther apart than the radius
        self._cand = ~pair | (np.abs(offset) <= (V if self.hyper.radius is None else self.hyper.radius))
        self._q, self._c, self._f = q, c, f
        self._qb = np.full(len(self.outputs), kinds.index("bias"), np.int64)
        if self.hyper.element:
            self._qb = np.where(dst_vec, n_plain + kinds.index("bias") * V + out_j, self._qb)
        self._cb = np.where(dst_vec, n_vi * n_vo + out_vec, n_vi * n_vo + n_vo + out_sca)

    # -- painting -------------------------------------------------------------
    def paint_arrays(self, cppn_out: np.ndarray):
        """CPPN outputs at ``self.queries`` (G, Q, cppn outputs) -> (weights (G, O, I) with 0 where no
        link, expressed (G, O, I) bool, biases (G, O))."""
        y = np.clip(np.nan_to_num(np.asarray(cppn_out, dtype=np.float64), nan=0.0), -1.0, 1.0)
        v = y[:, self._q, self._c]
        hp = self.hyper
        expressed = (np.abs(v) >= hp.threshold) & self._cand
        weights = np.where(expressed, hp.weight_scale * v * self._f, 0.0)
        biases = hp.weight_scale * y[:, self._qb, self._cb]
        return weights, expressed, biases

    def controllers(self, cppn_out: np.ndarray, keys=None) -> list:
        """Painted controllers as :class:`entm.phenotype.GenomeData` (neat-python's genome layout)."""
        weights, expressed, biases = self.paint_arrays(cppn_out)
        out = []
        for g in range(weights.shape[0]):
            o_idx, i_idx = np.nonzero(expressed[g])  # output-major, then input order
            conn_keys = tuple(zip((-(i_idx + 1)).tolist(), o_idx.tolist()))
            nodes = {o: ("sigmoid", "sum", float(b), 1.0) for o, b in enumerate(biases[g].tolist())}
            out.append(GenomeData(int(keys[g]) if keys is not None else g, conn_keys, b"\x01" * len(conn_keys),
                                  np.ascontiguousarray(weights[g][o_idx, i_idx]), nodes))
        return out

    def pack(self, cppn_out: np.ndarray):
        """The painted controllers packed for a batched run (:class:`entm.phenotype.Packed`), straight from
        the painted arrays: the same as ``pack_genomes(self.controllers(cppn_out), ...)``."""
        return pack_painted(*self.paint_arrays(cppn_out), ACTIVATION_CODES["sigmoid"], AGGREGATION_CODES["sum"])

    def controller_config(self):
        """The neat-python config of painted controllers (input/output keys, sigmoid/sum); built once."""
        if self._controller_config is None:
            self._controller_config = load_config(
                CONTROLLER_CONFIG.format(inputs=len(self.inputs), outputs=len(self.outputs)), "hyper controller config")
        return self._controller_config

    def cppn_outputs_of_genomes(self, genomes: list, cppn_genome_config) -> np.ndarray:
        """Query the CPPNs of neat-python genomes (or GenomeData) at ``self.queries``: (G, Q, outputs)."""
        G, Q = len(genomes), self.queries.shape[0]
        stepper = PopulationStepper(pack_genomes(genomes, cppn_genome_config), Q)
        y = np.empty((G * Q, self.num_cppn_outputs))
        stepper.step(np.tile(self.queries, (G, 1)), y)
        return y.reshape(G, Q, -1)

    def paint_genomes(self, genomes: list, cppn_genome_config) -> list:
        """The controllers the CPPN genomes (neat-python genomes or GenomeData) paint, keyed like them."""
        return self.controllers(self.cppn_outputs_of_genomes(genomes, cppn_genome_config),
                                keys=[g.key for g in genomes])

    def cppn_outputs_of_network(self, network) -> np.ndarray:
        """Query one CPPN network (:class:`entm.phenotype.Network`) at ``self.queries``: (1, Q, outputs)."""
        if network.num_inputs != self.num_cppn_inputs or network.num_outputs != self.num_cppn_outputs:
            raise EntmError(f"CPPN has {network.num_inputs} inputs and {network.num_outputs} outputs, but the "
                            f"substrate needs {self.num_cppn_inputs} and {self.num_cppn_outputs}")
        network.reset(self.queries.shape[0])
        return np.asarray(network.activate(self.queries))[None]

    def paint_network(self, cppn_network):
        """The controller :class:`entm.phenotype.Network` one CPPN network paints."""
        gd = self.controllers(self.cppn_outputs_of_network(cppn_network))[0]
        return Network.from_genome(gd.as_genome(), self.controller_config().genome_config)
