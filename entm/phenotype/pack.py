"""Populations as flat arrays: what the compiled kernels evaluate.

A population of networks is packed into flat arrays: per genome its first node,
its number of value slots, recurrent or not and its output slots; per node (in
neat-python's evaluation order) its slot, function codes
(:mod:`entm.phenotype.functions`), bias and response, and its links (source
slots and weights, in neat-python's order).  Slots of a network: its inputs,
then its evaluated nodes, then one slot that always holds 0.0 (what a node that
is never evaluated reads).

:class:`GenomeData` is a genome reduced to what evaluation needs (what Ray
workers receive); :class:`PopulationStepper` steps a packed population one
time step at a time (the differentiable memory and the closed loop).
"""

from __future__ import annotations

import operator
from types import SimpleNamespace

import numpy as np

from entm.errors import EntmError
from entm.phenotype.functions import (
    ACTIVATION_CODES,
    AGGREGATION_CODES,
    builtin_name,
    builtin_names,
)
from entm.phenotype.kernels import population_step
from entm.phenotype.rules import evaluated_links


class GenomeData:
    """A neat-python genome reduced to what evaluation needs, cheap to pickle.

    Connection keys (in the genome's order), enabled flags and weights as
    arrays; node genes as (activation, aggregation, bias, response).  Ray
    workers receive these instead of genome objects (whose pickles are large
    and slow); :meth:`as_genome` rebuilds a genome-like view for the numpy
    evaluator's fallback.
    """

    __slots__ = ("key", "conn_keys", "enabled", "weights", "node_genes")

    def __init__(self, key, conn_keys, enabled, weights, node_genes):
        self.key = key
        self.conn_keys = conn_keys
        self.enabled = enabled
        self.weights = weights
        self.node_genes = node_genes

    @classmethod
    def from_genome(cls, genome) -> "GenomeData":
        if isinstance(genome, GenomeData):
            return genome
        conns = genome.connections
        return cls(int(genome.key), tuple(conns), bytes(map(_ENABLED, conns.values())),
                   np.fromiter(map(_WEIGHT, conns.values()), np.float64, len(conns)),
                   {k: (n.activation, n.aggregation, float(n.bias), float(n.response))
                    for k, n in genome.nodes.items()})

    def __getstate__(self):
        return (self.key, self.conn_keys, self.enabled, self.weights, self.node_genes)

    def __setstate__(self, state):
        self.key, self.conn_keys, self.enabled, self.weights, self.node_genes = state

    def as_genome(self):
        """A genome-like object (key, connections, nodes) for ``Network.from_genome``."""
        conns = {k: SimpleNamespace(key=k, enabled=bool(e), weight=float(w))
                 for k, e, w in zip(self.conn_keys, self.enabled, self.weights)}
        nodes = {k: SimpleNamespace(key=k, activation=a, aggregation=g, bias=b, response=r)
                 for k, (a, g, b, r) in self.node_genes.items()}
        return SimpleNamespace(key=self.key, connections=conns, nodes=nodes)


def pack_genomes(genomes: list, genome_config) -> "Packed":
    """Pack genomes (neat-python genomes or :class:`GenomeData`) straight into flat arrays.

    The same networks as ``Network.from_genome`` would build (neat-python's
    required nodes, links and evaluation order rules, :mod:`entm.phenotype.rules`);
    a genome using a function that is not a neat-python built-in gets a one-line EntmError.
    """
    gc = genome_config
    act_code = {name: ACTIVATION_CODES[f] for name, f in builtin_names(gc.activation_defs, "activation").items()}
    agg_code = {name: AGGREGATION_CODES[f] for name, f in builtin_names(gc.aggregation_function_defs,
                                                                         "aggregation").items()}
    inputs = list(gc.input_keys)
    outputs = list(gc.output_keys)
    ni = len(inputs)
    p = Packed.__new__(Packed)
    G = len(genomes)
    p.G, p.num_inputs, p.num_outputs = G, ni, len(outputs)
    node0 = np.zeros(G + 1, np.int64)
    nslots = np.zeros(G, np.int64)
    recurrent = np.full(G, not gc.feed_forward, np.bool_)
    out_slot = np.zeros((G, len(outputs)), np.int64)
    act, agg, bias, resp = [], [], [], []
    structures, bases = [], []  # per genome: its structure, where its weights start in ``weights``
    weights: list = []  # every genome's connection weights, one flat list; links index into it
    ff = bool(gc.feed_forward)
    prev_keys = prev_enabled = st = None
    for g, genome in enumerate(genomes):
        base = len(weights)
        packed_data = isinstance(genome, GenomeData)
        if packed_data:
            keys, enabled, node_genes = genome.conn_keys, genome.enabled, genome.node_genes
            weights.extend(genome.weights.tolist())
        else:  # a neat-python genome, read directly (what GenomeData.from_genome reads, without the copy)
            conns = genome.connections
            vals = conns.values()
            keys, enabled, node_genes = tuple(conns), bytes(map(_ENABLED, vals)), genome.nodes
            weights.extend(map(_WEIGHT, vals))
        # the structure depends on the connection keys (in order) and enabled flags alone; a population's
        # genomes often share them with the previous genome (comparing is cheaper than hashing 500+ keys)
        if not (enabled == prev_enabled and keys == prev_keys):
            skey = (ff, keys, enabled)
            st = _STRUCTURES.get(skey)
            if st is None:
                st = _structure(keys, enabled, inputs, outputs, ff)
                if len(_STRUCTURES) >= _STRUCTURE_CACHE:
                    _STRUCTURES.pop(next(iter(_STRUCTURES)))
                _STRUCTURES[skey] = st
            prev_keys, prev_enabled = keys, enabled
        order, link0, link1, link_src, link_idx, outs, ns = st
        n = len(order)
        if n:
            try:
                genes = list(map(node_genes.__getitem__, order))
            except KeyError:
                missing = next(k for k in order if k not in node_genes)
                raise EntmError(f"genome {genome.key} has a connection to node {missing}, which it lacks") from None
            if not packed_data:  # node gene objects -> (activation, aggregation, bias, response)
                genes = list(map(_NODE_FIELDS, genes))
            acts, aggs, biases, resps = zip(*genes)
            try:
                act.extend(map(act_code.__getitem__, acts))
                agg.extend(map(agg_code.__getitem__, aggs))
            except KeyError:  # not a built-in entm implements: the one-line error names it
                for name in acts:
                    builtin_name(gc.activation_defs, name, "activation")
                for name in aggs:
                    builtin_name(gc.aggregation_function_defs, name, "aggregation")
                raise
            bias.extend(biases)
            resp.extend(resps)
        structures.append(st)
        bases.append(base)
    # per-genome parts joined once, offsets added with one repeat each (no numpy call per genome)
    n_per = np.fromiter((len(st[0]) for st in structures), np.int64, G)
    links_per = np.fromiter((len(st[3]) for st in structures), np.int64, G)
    np.cumsum(n_per, out=node0[1:])
    link_off = np.zeros(G, np.int64)
    np.cumsum(links_per[:-1], out=link_off[1:])
    nslots[:] = [st[6] for st in structures]
    if G:
        out_slot[:] = [st[5] for st in structures]
    cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    slot = ni + np.arange(int(node0[-1]), dtype=np.int64) - np.repeat(node0[:-1], n_per)
    l0 = cat([st[1] for st in structures]) + np.repeat(link_off, n_per)
    l1 = cat([st[2] for st in structures]) + np.repeat(link_off, n_per)
    src = cat([st[3] for st in structures])
    widx = cat([st[4] for st in structures]) + np.repeat(np.asarray(bases, np.int64), links_per)
    w = np.array(weights, np.float64)[widx]
    p._set(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, l0, l1, src, w)
    return p


def pack_painted(weights: np.ndarray, expressed: np.ndarray, biases: np.ndarray, act: int, agg: int) -> "Packed":
    """Pack G one-layer feedforward controllers (inputs straight to outputs, as the hyper encoding paints
    them) from their arrays: ``weights`` and ``expressed`` (G, O, I), ``biases`` (G, O), every node of
    activation code ``act``, aggregation code ``agg`` and response 1.  The same arrays as
    :func:`pack_genomes` of the same controllers as genomes whose connections are (input, output) pairs in
    output-major, input order, built without a per-genome step.

    neat-python's feedforward order for such a network (:func:`entm.phenotype.rules._ff_order`): the
    outputs without a link first (bias neurons, ascending), then those with links, descending; each
    node's links in its connections' order (ascending input)."""
    G, O, ni = expressed.shape
    p = Packed.__new__(Packed)
    p.G, p.num_inputs, p.num_outputs = G, ni, O
    o = np.arange(O)
    has = expressed.any(axis=2)
    perm = np.argsort(np.where(has, 2 * O - 1 - o, o), axis=1, kind="stable")  # (G, O): node k is output perm
    E = np.take_along_axis(expressed, perm[:, :, None], axis=1)
    g_idx, k_idx, i_idx = np.nonzero(E)  # by genome, node, then input: the links in order
    counts = E.sum(axis=2).ravel()
    link1 = np.cumsum(counts)
    W = np.take_along_axis(weights, perm[:, :, None], axis=1)
    out_slot = ni + np.argsort(perm, axis=1)
    n = G * O
    p._set(np.arange(G + 1, dtype=np.int64) * O, np.full(G, ni + O + 1, np.int64), np.zeros(G, np.bool_),
           out_slot, ni + np.tile(o, G), np.full(n, act, np.int64), np.full(n, agg, np.int64),
           np.take_along_axis(biases, perm, axis=1).ravel(), np.ones(n), link1 - counts, link1, i_idx,
           W[g_idx, k_idx, i_idx])
    return p


_STRUCTURES: dict = {}
"""Structures of recently packed genomes, keyed by (feed_forward, connection keys, enabled flags)."""
_ENABLED = operator.attrgetter("enabled")
_NODE_FIELDS = operator.attrgetter("activation", "aggregation", "bias", "response")
_WEIGHT = operator.attrgetter("weight")
_STRUCTURE_CACHE = 4096


def _structure(conn_keys: tuple, enabled: bytes, inputs, outputs, ff):
    """What depends only on a genome's connection keys (their order, which are enabled):
    evaluation order, links (source slots, and the indices of the connections their weights come
    from, in neat-python's order), output slots."""
    index = {k: i for i, k in enumerate(conn_keys)}
    on = [k for k, e in zip(conn_keys, enabled) if e]
    order, incoming = evaluated_links(inputs, outputs, conn_keys, on, ff)
    ni = len(inputs)
    slots = {k: i for i, k in enumerate(inputs)}
    for k, key in enumerate(order):
        slots[key] = ni + k
    zero = ni + len(order)
    counts, link_src, link_idx = [], [], []
    for key in order:
        links = incoming.get(key, ())
        counts.append(len(links))
        for ck in links:
            link_src.append(slots.get(ck[0], zero))
            link_idx.append(index[ck])
    counts = np.asarray(counts, np.int64)
    link1 = np.cumsum(counts)
    link0 = link1 - counts
    outs = [slots.get(k, zero) for k in outputs]
    return (tuple(order), link0, link1, np.asarray(link_src, np.int64), np.asarray(link_idx, np.int64), outs,
            zero + 1)


def clear_structure_cache() -> None:
    """Forget the structures of packed genomes (benchmarks measure packing from scratch)."""
    _STRUCTURES.clear()


class Packed:
    """A population of networks as flat arrays (see the module docstring).

    ``Packed(networks)`` packs :class:`entm.phenotype.network.Network` descriptions;
    :func:`pack_genomes` packs genomes directly.
    """

    def __init__(self, networks: list):
        G = len(networks)
        self.G = G
        ni = {n.num_inputs for n in networks}
        no = {n.num_outputs for n in networks}
        if len(ni) > 1 or len(no) > 1:
            raise ValueError("networks of a population must share their input and output sizes")
        self.num_inputs = ni.pop() if networks else 0
        self.num_outputs = no.pop() if networks else 0
        node0 = np.zeros(G + 1, np.int64)
        nslots = np.zeros(G, np.int64)
        recurrent = np.zeros(G, np.bool_)
        out_slot = np.zeros((G, self.num_outputs), np.int64)
        slot, act, agg, bias, resp, link0, link1, src, w = [], [], [], [], [], [], [], [], []
        for g, net in enumerate(networks):
            recurrent[g] = net.recurrent
            slots = {k: i for i, k in enumerate(net.input_keys)}
            nxt = net.num_inputs
            for nd in net.nodes:
                slots[nd.key] = nxt
                nxt += 1
            zero = nxt
            nslots[g] = zero + 1
            for nd in net.nodes:
                slot.append(slots[nd.key])
                act.append(ACTIVATION_CODES[nd.activation])
                agg.append(AGGREGATION_CODES[nd.aggregation])
                bias.append(nd.bias)
                resp.append(nd.response)
                link0.append(len(src))
                for s, wt in nd.links:
                    src.append(slots.get(s, zero))
                    w.append(wt)
                link1.append(len(src))
            node0[g + 1] = len(slot)
            out_slot[g] = [slots.get(k, zero) for k in net.output_keys]
        self._set(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w)

    def _set(self, node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w):
        """Store the per-genome arrays and the flat per-node and per-link lists as arrays."""
        self.node0, self.nslots, self.recurrent, self.out_slot = node0, nslots, recurrent, out_slot
        ints = lambda x: np.array(x, np.int64)  # noqa: E731
        floats = lambda x: np.array(x, np.float64)  # noqa: E731
        self.slot, self.act, self.agg = ints(slot), ints(act), ints(agg)
        self.bias, self.resp = floats(bias), floats(resp)
        self.link0, self.link1, self.src, self.w = ints(link0), ints(link1), ints(src), floats(w)

    def arrays(self):
        return (self.node0, self.nslots, self.recurrent, self.out_slot, self.slot, self.act, self.agg, self.bias,
                self.resp, self.link0, self.link1, self.src, self.w)


class PopulationStepper:
    """Steps a packed population, B rows per network, one time step per call: ``step(x, y)`` maps
    x (G*B, inputs) to y (G*B, outputs), row g*B + b for network g (recurrent state kept between calls)."""

    def __init__(self, packed: Packed, B: int):
        self.B, self.packed = int(B), packed
        width = int(packed.nslots.max()) if packed.G else 1
        self.state = np.zeros((packed.G, width, self.B))
        self.state2 = np.zeros((packed.G, width, self.B))

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        population_step(*self.packed.arrays(), self.state, self.state2, np.ascontiguousarray(x), self.B, y)
