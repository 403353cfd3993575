"""A neat-python genome as flat arrays (``workers`` reproduction, :mod:`entm.evolution.worker_repro`): what the
driver holds instead of gene objects, pickled as one bytes object, with neat-python's genetic distance
computed over the arrays in compiled code."""

from __future__ import annotations

import operator
import zlib

import numpy as np
from neat.attributes import FloatAttribute, StringAttribute
from neat.genes import DefaultConnectionGene, DefaultNodeGene

from entm.evolution.distance import gene_pair
from entm.evolution.genome import DefaultGenome
from entm.jit import njit
from entm.phenotype import GenomeData

SHIFT = 1 << 32
"""A connection key (i, o) as one integer: i * SHIFT + o (its innovation number in ``workers`` mode)."""
_WEIGHT, _ENABLED = operator.attrgetter("weight"), operator.attrgetter("enabled")


def _code(name: str) -> int:
    """A string attribute's value as an integer that every process computes alike (str hashes are salted)."""
    return zlib.crc32(str(name).encode())


def _attribute_columns() -> tuple[list[int], list[int]]:
    """Which of the node gene's attributes are floats (``nfloat``'s columns) and which strings (``nstr``'s)."""
    attrs = DefaultNodeGene._gene_attributes
    return ([i for i, a in enumerate(attrs) if isinstance(a, FloatAttribute)],
            [i for i, a in enumerate(attrs) if isinstance(a, StringAttribute)])


class PackedGenome:
    """A DefaultGenome as flat arrays: what the driver holds in ``workers`` mode.

    Connections in the genome's order (``src``, ``dst``, ``weights``, ``enabled``) with ``order``, their
    indices sorted by key; nodes in the genome's order (``nkeys``, ``nvals``: every attribute in the node
    gene's attribute order), their float attributes (``nfloat``) and string attributes' codes (``nstr``)
    for the distance.  ``nodes`` and ``connections`` rebuild neat-python's genes on demand (the
    champion, the metrics' best genome); nothing else on the driver touches single genes.
    """

    __slots__ = ("key", "fitness", "src", "dst", "weights", "enabled", "order", "nkeys", "nnames", "nfloat",
                 "nstr", "_full", "_blob")

    @classmethod
    def from_genome(cls, genome) -> "PackedGenome":
        p = cls.__new__(cls)
        p.key, p.fitness, p._full, p._blob = genome.key, genome.fitness, genome, None  # _full: while in this process
        conns = genome.connections
        n = len(conns)
        keys = np.array(list(conns), dtype=np.int32).reshape(n, 2)
        p.src, p.dst = keys[:, 0].copy(), keys[:, 1].copy()
        vals = list(conns.values())
        p.weights = np.array(list(map(_WEIGHT, vals)), np.float64)
        p.enabled = np.array(list(map(_ENABLED, vals)), np.bool_)
        p.order = np.argsort(p.src.astype(np.int64) * SHIFT + p.dst, kind="stable").astype(np.int32)
        attrs = DefaultNodeGene._gene_attributes
        nodes = genome.nodes
        p.nkeys = np.fromiter(nodes, np.int64, len(nodes))
        vals = [tuple(getattr(ng, a.name) for a in attrs) for ng in nodes.values()]
        fl, st = _attribute_columns()
        p.nfloat = np.array([[v[i] for i in fl] for v in vals], np.float64).reshape(len(nodes), len(fl))
        p.nstr = np.array([[_code(v[i]) for i in st] for v in vals], np.int64).reshape(len(nodes), len(st))
        # the string attributes as one str: a genome is a few objects for the garbage collector, not hundreds
        p.nnames = "\n".join("\t".join(str(v[i]) for i in st) for v in vals)
        for a in (p.src, p.dst, p.order, p.weights, p.enabled, p.nkeys, p.nfloat, p.nstr):
            a.flags.writeable = False  # as unpickled ones are: one compiled distance for all
        return p

    def genome(self) -> DefaultGenome:
        """The genome as entm's DefaultGenome (new gene objects; the innovation numbers are the keys')."""
        g = DefaultGenome(self.key)
        g.fitness = self.fitness
        attrs = [a.name for a in DefaultNodeGene._gene_attributes]
        for k, vals in zip(self.nkeys.tolist(), self.nvals):
            ng = DefaultNodeGene.__new__(DefaultNodeGene)
            ng.key = k
            for a, v in zip(attrs, vals):
                setattr(ng, a, v)
            g.nodes[k] = ng
        new = DefaultConnectionGene.__new__
        conns = g.connections
        for i, o, w, e in zip(self.src.tolist(), self.dst.tolist(), self.weights.tolist(), self.enabled.tolist()):
            cg = new(DefaultConnectionGene)
            cg.__dict__ = {"key": (i, o), "innovation": i * SHIFT + o, "weight": w, "enabled": e}
            conns[i, o] = cg
        return g

    @property
    def nvals(self) -> list[tuple]:
        """Every node's attributes, in the node gene's attribute order."""
        fl, st = _attribute_columns()
        floats = self.nfloat.tolist()
        names = [line.split("\t") for line in self.nnames.split("\n")] if len(self.nkeys) else []
        out = []
        for fv, sv in zip(floats, names):
            vals = [None] * (len(fl) + len(st))
            for i, v in zip(fl, fv):
                vals[i] = v
            for i, v in zip(st, sv):
                vals[i] = v
            out.append(tuple(vals))
        return out

    def genome_data(self) -> GenomeData:
        """What evaluation needs (:class:`entm.phenotype.GenomeData`), straight from the arrays."""
        names = [a.name for a in DefaultNodeGene._gene_attributes]
        ia, ig, ib, ir = (names.index(x) for x in ("activation", "aggregation", "bias", "response"))
        return GenomeData(self.key, tuple(zip(self.src.tolist(), self.dst.tolist())), self.enabled.tobytes(),
                          np.array(self.weights), {k: (v[ia], v[ig], float(v[ib]), float(v[ir]))
                                                   for k, v in zip(self.nkeys.tolist(), self.nvals)})

    def full(self) -> DefaultGenome:
        """The genome as entm's DefaultGenome, built once per process (the one it was packed from, in the
        process that packed it); with this genome's fitness.  Not to be changed: crossover only reads it."""
        if self._full is None:
            self._full = self.genome()
        self._full.fitness = self.fitness
        return self._full

    @property
    def nodes(self) -> dict:
        return self.full().nodes

    @property
    def connections(self) -> dict:
        return self.full().connections

    def size(self) -> tuple[int, int]:
        """neat-python's ``size()``: (nodes, enabled connections)."""
        return len(self.nkeys), int(self.enabled.sum())

    def distance(self, other: "PackedGenome", config) -> float:
        """neat-python's genetic distance (node part + connection part), computed over the arrays."""
        return _distance(self.nkeys, self.nfloat, self.nstr, other.nkeys, other.nfloat, other.nstr,
                         self.src, self.dst, self.weights, self.enabled, self.order,
                         other.src, other.dst, other.weights, other.enabled, other.order,
                         float(config.compatibility_weight_coefficient),
                         float(config.compatibility_disjoint_coefficient))

    def __getstate__(self):
        """Every array in one bytes object (much cheaper to pickle than arrays one by one)."""
        if self._blob is None:  # the arrays never change (read-only): joined once, kept (unpickled ones view it)
            arrays = (self.src, self.dst, self.order, self.weights, self.enabled, self.nkeys, self.nfloat, self.nstr)
            self._blob = b"".join([a.tobytes() for a in arrays])
        return (self.key, self.fitness, len(self.src), self.nfloat.shape, self.nstr.shape[1], self._blob,
                self.nnames)

    def __setstate__(self, state):
        self.key, self.fitness, n, (m, f), st, blob, self.nnames = state
        self._full, self._blob = None, blob
        b = np.frombuffer(blob, np.uint8)
        i32, f8 = 4 * n, 8 * n
        ends = np.cumsum([i32, i32, i32, f8, n, 8 * m, 8 * m * f, 8 * m * st]).tolist()
        out = [b[:ends[0]].view(np.int32), b[ends[0]:ends[1]].view(np.int32), b[ends[1]:ends[2]].view(np.int32),
               b[ends[2]:ends[3]].view(np.float64), b[ends[3]:ends[4]].view(np.bool_),
               b[ends[4]:ends[5]].view(np.int64), b[ends[5]:ends[6]].view(np.float64).reshape(m, f),
               b[ends[6]:ends[7]].view(np.int64).reshape(m, st)]
        self.src, self.dst, self.order, self.weights, self.enabled, self.nkeys, self.nfloat, self.nstr = out


@njit(cache=True)
def _distance(ak, af, ast, bk, bf, bst, asrc, adst, aw, ae, ao, bsrc, bdst, bw, be, bo, wc, dc):
    node = 0.0
    na, nb = ak.shape[0], bk.shape[0]
    if na or nb:
        total = 0.0
        disjoint = 0
        for i in range(na):
            j = -1
            for m in range(nb):
                if bk[m] == ak[i]:
                    j = m
                    break
            if j < 0:
                disjoint += 1
                continue
            total += gene_pair(af, i, bf, j, ast, bst) * wc
        disjoint += nb - (na - disjoint)
        node = (total + dc * disjoint) / max(na, nb)
    conn = 0.0
    na, nb = asrc.shape[0], bsrc.shape[0]
    if na or nb:
        total = 0.0
        disjoint = 0
        i = j = 0
        while i < na and j < nb:
            x, y = ao[i], bo[j]
            ka = np.int64(asrc[x]) * SHIFT + adst[x]
            kb = np.int64(bsrc[y]) * SHIFT + bdst[y]
            if ka == kb:
                d = abs(aw[x] - bw[y])
                if ae[x] != be[y]:
                    d += 1.0
                total += d * wc
                i += 1
                j += 1
            elif ka < kb:
                disjoint += 1
                i += 1
            else:
                disjoint += 1
                j += 1
        disjoint += (na - i) + (nb - j)
        conn = (total + dc * disjoint) / max(na, nb)
    return node + conn
