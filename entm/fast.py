"""Compiled evaluation of whole populations (numba).

The hot path of evolution is genomes x episodes x steps.  This module packs a
population of :class:`entm.network.Network` phenotypes into flat arrays (nodes
in neat-python's evaluation order, links in neat-python's order) and runs them
in compiled loops:

* :func:`run_discrete` fuses network and ENTM tape: one call evaluates every
  genome of a chunk on every episode for every step, recording the light trace
  the fitness shaping needs.  No Python runs per step or per genome.
* :func:`population_step` evaluates one time step of every network on every
  episode (used with the differentiable memory, whose torch step is batched
  over the whole population).

Inner loops run over the episodes of a batch (contiguous, vectorised by the
compiler); per element, every sum is taken in neat-python's link order and every
activation follows neat-python's formula and its clamping quirks (NaN
clamps to the upper bound, as Python's ``max``/``min`` do), so results agree
with neat-python's ``activate`` and do not depend on how genomes are grouped
into chunks.  Networks with an aggregation the kernel does not cover (median)
are evaluated by :class:`entm.network.Network` instead (see
:func:`supported`).
"""

from __future__ import annotations

import math
import operator

import numpy as np

try:
    from numba import njit
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; keep a clear message if missing
    HAVE_NUMBA = False

ACT_CODES = {name: i for i, name in enumerate((
    "sigmoid", "tanh", "sin", "gauss", "relu", "elu", "lelu", "selu", "softplus", "identity", "clamped",
    "inv", "log", "exp", "abs", "hat", "square", "cube"))}
AGG_CODES = {"sum": 0, "mean": 1, "product": 2, "max": 3, "min": 4, "maxabs": 5}


def supported(network) -> bool:
    """Whether the compiled kernels cover every node of ``network``."""
    return all(nd.aggregation in AGG_CODES and nd.activation in ACT_CODES for nd in network._nodes)


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
        from types import SimpleNamespace as NS

        conns = {k: NS(key=k, enabled=bool(e), weight=float(w))
                 for k, e, w in zip(self.conn_keys, self.enabled, self.weights)}
        nodes = {k: NS(key=k, activation=a, aggregation=g, bias=b, response=r)
                 for k, (a, g, b, r) in self.node_genes.items()}
        return NS(key=self.key, connections=conns, nodes=nodes)


def pack_genomes(genomes: list, genome_config) -> "Packed | None":
    """Pack genomes (neat-python genomes or :class:`GenomeData`) straight into flat arrays.

    The same networks as ``Network.from_genome`` would build (neat-python's
    required nodes, links and evaluation order rules); None when a genome uses
    an aggregation or a custom function the kernels do not cover.
    """
    gc = genome_config
    builtin_act = {name for name, f in gc.activation_defs.functions.items()
                   if getattr(f, "__module__", "") == "neat.activations" and name in ACT_CODES}
    builtin_agg = {name for name, f in gc.aggregation_function_defs.functions.items()
                   if getattr(f, "__module__", "") == "neat.aggregations" and name in AGG_CODES}
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
                return None
            if not packed_data:  # node gene objects -> (activation, aggregation, bias, response)
                genes = list(map(_NODE_FIELDS, genes))
            acts, aggs, biases, resps = zip(*genes)
            if not builtin_act.issuperset(acts) or not builtin_agg.issuperset(aggs):
                return None
            act.extend(map(ACT_CODES.__getitem__, acts))
            agg.extend(map(AGG_CODES.__getitem__, aggs))
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


def compile_networks(genomes: list, genome_config):
    """The genomes' networks for a batched run: :class:`Packed` where the kernels cover them, else a list of
    :class:`entm.network.Network` (the numpy evaluator, same results)."""
    from entm.network import Network

    packed = pack_genomes(genomes, genome_config) if HAVE_NUMBA else None
    if packed is not None:
        return packed
    return [Network.from_genome(g.as_genome() if isinstance(g, GenomeData) else g, genome_config) for g in genomes]


_STRUCTURES: dict = {}
_ENABLED = operator.attrgetter("enabled")
_NODE_FIELDS = operator.attrgetter("activation", "aggregation", "bias", "response")
_WEIGHT = operator.attrgetter("weight")
_STRUCTURE_CACHE = 4096


def _structure(conn_keys: tuple, enabled: bytes, inputs, outputs, ff):
    """What depends only on a genome's connection keys (their order, which are enabled):
    evaluation order, links (source slots, and the indices of the connections their weights come
    from, in neat-python's order), output slots."""
    from entm.network import evaluated_links

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


class Packed:
    """A population of networks as flat arrays (see the module docstring)."""

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
            for nd in net._nodes:
                slots[nd.key] = nxt
                nxt += 1
            zero = nxt
            nslots[g] = zero + 1
            for nd in net._nodes:
                slot.append(slots[nd.key])
                act.append(ACT_CODES[nd.activation])
                agg.append(AGG_CODES[nd.aggregation])
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


if HAVE_NUMBA:

    @njit(cache=True, inline="always")
    def _py_min(a, b):  # Python's min(a, b): b only if b < a
        return b if b < a else a

    @njit(cache=True, inline="always")
    def _py_max(a, b):  # Python's max(a, b): b only if b > a
        return b if b > a else a

    @njit(cache=True, error_model="numpy")
    def _activate(code, z):
        if code == 0:  # sigmoid
            z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
            return 1.0 / (1.0 + math.exp(-z))
        if code == 1:  # tanh
            z = _py_max(-60.0, _py_min(60.0, 2.5 * z))
            return math.tanh(z)
        if code == 2:  # sin
            z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
            return math.sin(z)
        if code == 3:  # gauss
            z = _py_max(-3.4, _py_min(3.4, z))
            return math.exp(-5.0 * math.pow(z, 2.0))
        if code == 4:  # relu
            return z if z > 0.0 else 0.0
        if code == 5:  # elu
            return z if z > 0.0 else math.exp(z) - 1.0
        if code == 6:  # lelu
            return z if z > 0.0 else 0.005 * z
        if code == 7:  # selu
            lam = 1.0507009873554804934193349852946
            alpha = 1.6732632423543772848170429916717
            return lam * z if z > 0.0 else lam * alpha * (math.exp(z) - 1.0)
        if code == 8:  # softplus
            z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
            return 0.2 * math.log(1.0 + math.exp(z))
        if code == 9:  # identity
            return z
        if code == 10:  # clamped
            return _py_max(-1.0, _py_min(1.0, z))
        if code == 11:  # inv
            if z == 0.0:
                return 0.0
            return 1.0 / z
        if code == 12:  # log
            return math.log(_py_max(1e-7, z))
        if code == 13:  # exp
            return math.exp(_py_max(-60.0, _py_min(60.0, z)))
        if code == 14:  # abs
            return abs(z)
        if code == 15:  # hat
            return _py_max(0.0, 1.0 - abs(z))
        if code == 16:  # square
            return math.pow(z, 2.0)
        return math.pow(z, 3.0)  # cube

    @njit(cache=True, error_model="numpy")
    def _activate_row(code, bs, rs, acc, Vout, dst, nb):
        """Vout[dst, :nb] = activation(bias + response * acc): the common activations in
        branch-free loops the compiler vectorises, the rest element by element."""
        if code == 0:  # sigmoid
            for b in range(nb):
                z = 5.0 * (bs + rs * acc[b])
                z = _py_max(-60.0, _py_min(60.0, z))
                Vout[dst, b] = 1.0 / (1.0 + math.exp(-z))
        elif code == 9:  # identity
            for b in range(nb):
                Vout[dst, b] = bs + rs * acc[b]
        elif code == 1:  # tanh
            for b in range(nb):
                z = 2.5 * (bs + rs * acc[b])
                Vout[dst, b] = math.tanh(_py_max(-60.0, _py_min(60.0, z)))
        else:
            for b in range(nb):
                Vout[dst, b] = _activate(code, bs + rs * acc[b])

    @njit(cache=True, error_model="numpy")
    def _net_eval(Vin, Vout, nb, n0, n1, slot, act, agg, bias, resp, link0, link1, src, w, acc):
        """Evaluate nodes n0..n1 for rows 0..nb: read Vin, write Vout (the same array when feedforward)."""
        for n in range(n0, n1):
            a = agg[n]
            l0 = link0[n]
            l1 = link1[n]
            if a == 0 or a == 1:  # sum, mean: 0 + x0 + x1 ... (left to right)
                for b in range(nb):
                    acc[b] = 0.0
                l = l0
                while l + 4 <= l1:  # four links per pass over the rows, still added one after the other
                    s0, s1, s2, s3 = src[l], src[l + 1], src[l + 2], src[l + 3]
                    w0, w1, w2, w3 = w[l], w[l + 1], w[l + 2], w[l + 3]
                    for b in range(nb):
                        acc[b] = (((acc[b] + Vin[s0, b] * w0) + Vin[s1, b] * w1) + Vin[s2, b] * w2) + Vin[s3, b] * w3
                    l += 4
                while l < l1:
                    s = src[l]
                    wt = w[l]
                    for b in range(nb):
                        acc[b] += Vin[s, b] * wt
                    l += 1
                if a == 1 and l1 > l0:
                    cnt = float(l1 - l0)
                    for b in range(nb):
                        acc[b] = acc[b] / cnt
            elif a == 2:  # product: reduce(mul, x, 1.0)
                for b in range(nb):
                    acc[b] = 1.0
                for l in range(l0, l1):
                    s = src[l]
                    wt = w[l]
                    for b in range(nb):
                        acc[b] = acc[b] * (Vin[s, b] * wt)
            else:  # max, min, maxabs: Python's builtins keep the first on ties; empty -> 0.0
                if l1 == l0:
                    for b in range(nb):
                        acc[b] = 0.0
                else:
                    s = src[l0]
                    wt = w[l0]
                    for b in range(nb):
                        acc[b] = Vin[s, b] * wt
                    for l in range(l0 + 1, l1):
                        s = src[l]
                        wt = w[l]
                        for b in range(nb):
                            x = Vin[s, b] * wt
                            if a == 3:
                                if x > acc[b]:
                                    acc[b] = x
                            elif a == 4:
                                if x < acc[b]:
                                    acc[b] = x
                            elif abs(x) > abs(acc[b]):
                                acc[b] = x
            _activate_row(act[n], bias[n], resp[n], acc, Vout, slot[n], nb)

    @njit(cache=True, error_model="numpy", inline="always")
    def _tape_step(cells, lo, hi, pos, origin, b, h, X, off, M, write_mode, min_sim, max_cells):
        """One head step of episode b's tape (docs/design.md order), head parameters X[off:, b];
        returns (jumped, write strength)."""
        p = pos[b, h]
        wv = X[off + M, b]
        j = X[off + M + 1, b]
        # 1. write
        if write_mode == 0:
            for k in range(M):
                cells[b, p, k] = wv * X[off + k, b] + (1.0 - wv) * cells[b, p, k]
        elif wv >= 0.5:
            for k in range(M):
                cells[b, p, k] = X[off + k, b]
        # 2. content jump
        jumped = j >= 0.5
        if jumped:
            best = -np.inf
            best_i = lo[b]
            for i in range(lo[b], hi[b]):
                d = 0.0
                for k in range(M):
                    d += abs(X[off + k, b] - cells[b, i, k])
                s = 1.0 - d / M
                if s > best:
                    best = s
                    best_i = i
            if min_sim == min_sim and best < min_sim:  # min_sim is NaN when unset
                best_i = hi[b] - 1
            p = best_i
        # 3. shift (first maximum)
        sl = X[off + M + 2, b]
        ss = X[off + M + 3, b]
        sr = X[off + M + 4, b]
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
        return jumped, wv

    @njit(cache=True, error_model="numpy")
    def run_discrete(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
                     inputs, steps, M, H, write_mode, min_sim, max_cells, blank, n_task_out,
                     out, reads_tr, wpos_tr, strength_tr, rpos_tr, jump_tr, zero_tail=True):
        """Every genome on every episode (episodes sorted by ``steps``, longest first).

        Writes every element of ``out`` and the trace arrays (zero past an episode's
        ``steps``), so they may be uninitialised or reused; ``zero_tail=False`` skips
        the zeros past the steps, for buffers whose tails are known to be zero already."""
        G = node0.shape[0] - 1
        B, T, I = inputs.shape
        P = M + 5
        n_out = out_slot.shape[1]
        cap = 2 * T * H + 3
        Bp = (B + 7) // 8 * 8  # rows padded to whole vectors: the row loops run without scalar remainders
        acc = np.empty(Bp)
        X = np.empty((H * P, B))  # head parameters, non-finite values made harmless
        cells = np.full((B, cap, M), blank)  # reused: each genome blanks the cells it used
        lo = np.empty(B, np.int64)
        hi = np.empty(B, np.int64)
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
                while nb > 0 and steps[nb - 1] <= t:
                    nb -= 1
                if nb == 0:
                    break
                for i in range(I):
                    for b in range(nb):
                        V[i, b] = inputs[b, t, i]
                for i in range(H * M):
                    for b in range(nb):
                        V[I + i, b] = reads[b, i]
                nbv = min(Bp, (nb + 7) // 8 * 8)  # the extra rows are finished episodes or padding: never read
                if recurrent[g]:
                    for i in range(I + H * M):
                        for b in range(nb):
                            V2[i, b] = V[i, b]
                    _net_eval(V, V2, nbv, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src,
                              w, acc)
                    V, V2 = V2, V
                else:
                    _net_eval(V, V, nbv, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src,
                              w, acc)
                for o in range(n_task_out):
                    row = out_slot[g, o]
                    for b in range(nb):
                        out[g, b, t, o] = V[row, b]
                for o in range(n_out - n_task_out):
                    row = out_slot[g, n_task_out + o]
                    for b in range(nb):  # non-finite head outputs must not poison the memory
                        v = V[row, b]
                        X[o, b] = 0.0 if v != v else (1.0 if v == np.inf else (0.0 if v == -np.inf else v))
                for b in range(nb):
                    for i in range(H * M):
                        reads_tr[g, b, t, i] = reads[b, i]
                    for h in range(H):
                        wpos_tr[g, b, t, h] = pos[b, h] - origin
                        jumped, strength = _tape_step(cells, lo, hi, pos, origin, b, h, X, h * P, M, write_mode,
                                                      min_sim, max_cells)
                        jump_tr[g, b, t, h] = jumped
                        strength_tr[g, b, t, h] = strength
                        p = pos[b, h]
                        rpos_tr[g, b, t, h] = p - origin
                        for k in range(M):
                            reads[b, h * M + k] = cells[b, p, k]
            for b in range(B if zero_tail else 0):  # the steps past an episode's end: zero
                for t in range(steps[b], T):
                    for o in range(n_task_out):
                        out[g, b, t, o] = 0.0
                    for i in range(H * M):
                        reads_tr[g, b, t, i] = 0.0
                    for h in range(H):
                        wpos_tr[g, b, t, h] = 0
                        strength_tr[g, b, t, h] = 0.0
                        rpos_tr[g, b, t, h] = 0
                        jump_tr[g, b, t, h] = False

    @njit(cache=True, error_model="numpy")
    def population_step(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
                        state, state2, x, B, y):
        """One step of every network on its B rows: x (G*B, I) -> y (G*B, O).

        ``state``/``state2`` (G, max slots, B) hold the node values (two buffers for
        recurrent networks); zero them to reset.
        """
        G = node0.shape[0] - 1
        I = x.shape[1]
        acc = np.empty(B)
        n_out = out_slot.shape[1]
        for g in range(G):
            V = state[g]
            for i in range(I):
                for b in range(B):
                    V[i, b] = x[g * B + b, i]
            if recurrent[g]:
                V2 = state2[g]
                for i in range(I):
                    for b in range(B):
                        V2[i, b] = V[i, b]
                _net_eval(V, V2, B, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
                # swap the buffers' contents: state always holds the latest values
                for i in range(V.shape[0]):
                    for b in range(B):
                        tmp = V[i, b]
                        V[i, b] = V2[i, b]
                        V2[i, b] = tmp
            else:
                _net_eval(V, V, B, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
            for b in range(B):
                for o in range(n_out):
                    y[g * B + b, o] = V[out_slot[g, o], b]
