"""neat-python's genetic distance, compiled: the speciation's cost per pair of genomes in microseconds.

Speciation measures each genome against each species' representative, a walk
over both genomes' genes per pair: for 150 of the hyper encoding's CPPNs (about
200 connection genes each) one speciation took 70 ms in Python
(``benchmarks/speciation.py``, docs/performance.md).  Here each genome's genes
become arrays once (dense ids for the connection keys, the weights, enabled
flags; the node genes' floats and the indices of their activation and
aggregation names), kept on the genome, and a compiled loop sums the same terms
in the same order as neat-python's ``DefaultGenome.distance`` (homologous genes
in the first genome's order, then the disjoint ones), so every distance is equal
to the bit, and every run the same.

The arrays are a snapshot: ``DefaultGenome.mutate`` drops them (:func:`forget`),
and code that changes a genome's genes in any other way after a distance must
call :func:`forget` too.  The lookup tables are module state: one speciation at a
time per process (the evolution loop's way).  Only neat-python's default gene
classes with their default attributes take this path (:func:`fast_path`);
anything else keeps the Python code.
"""

from __future__ import annotations

import operator

import numpy as np
from neat.genes import DefaultConnectionGene, DefaultNodeGene

from entm.jit import njit

#: connection key -> dense id, node key -> dense id, activation / aggregation name -> index (grown as they appear)
_IDS: dict = {}
_NODE_IDS: dict = {}
_NAMES: dict = {}
#: per dense id the position in the second genome during one distance (-1: absent); grown as needed
_SLOTS = {"conn": np.full(1024, -1, np.int64), "node": np.full(1024, -1, np.int64)}

_WEIGHT, _ENABLED = operator.attrgetter("weight"), operator.attrgetter("enabled")
_NODE_ATTRS = ("bias", "response", "time_constant", "activation", "aggregation")
ATTR = "_entm_distance_arrays"
"""The attribute a genome keeps its arrays under (dropped from pickles; reset when the genome changes)."""


def _default_attributes() -> bool:
    names = sorted(a.name for a in DefaultNodeGene._gene_attributes)
    conn = sorted(a.name for a in DefaultConnectionGene._gene_attributes)
    return names == sorted(_NODE_ATTRS) and conn == ["enabled", "weight"]


_DEFAULTS = _default_attributes()


def fast_path(config) -> bool:
    """Whether ``config`` (a genome config) has neat-python's default node and connection genes with their
    default attributes, the only ones this module computes."""
    return (_DEFAULTS and config.node_gene_type is DefaultNodeGene
            and config.connection_gene_type is DefaultConnectionGene)


def _dense(key, table: dict) -> int:
    i = table.get(key)
    if i is None:
        i = table[key] = len(table)
    return i


def arrays(genome) -> tuple:
    """The genome's genes as arrays: (connection ids, weights (n, 1), enabled (n, 1), node ids, node floats
    (m, 3: bias, response, time constant), node names (m, 2: activation, aggregation)); built once per genome
    state."""
    got = genome.__dict__.get(ATTR)
    if got is not None:
        return got
    conns, nodes = genome.connections, genome.nodes
    n, m = len(conns), len(nodes)
    ids = list(map(_IDS.get, conns))
    if None in ids:
        ids = [_dense(k, _IDS) for k in conns]
    vals = conns.values()
    w = np.fromiter(map(_WEIGHT, vals), np.float64, n).reshape(n, 1)
    e = np.fromiter(map(_ENABLED, vals), np.int64, n).reshape(n, 1)
    keys = np.array([_dense(k, _NODE_IDS) for k in nodes], np.int64)
    genes = nodes.values()
    floats = np.array([(g.bias, g.response, g.time_constant) for g in genes], np.float64).reshape(m, 3)
    names = np.array([(_dense(g.activation, _NAMES), _dense(g.aggregation, _NAMES)) for g in genes],
                     np.int64).reshape(m, 2)
    got = (np.array(ids, np.int64), w, e, keys, floats, names)
    genome.__dict__[ATTR] = got
    return got


def forget(genome) -> None:
    """Drop the genome's arrays (it is about to change)."""
    genome.__dict__.pop(ATTR, None)


def _slots(kind: str, top: int) -> np.ndarray:
    s = _SLOTS[kind]
    if top >= s.size:
        s = _SLOTS[kind] = np.full(max(top + 1, 2 * s.size), -1, np.int64)
    return s


def distance(a, b, weight_coefficient: float, disjoint_coefficient: float) -> float:
    """neat-python's ``a.distance(b, config)`` for default genes (see the module docstring)."""
    ca, wa, ea, ka, fa, na = arrays(a)
    cb, wb, eb, kb, fb, nb = arrays(b)
    return (_genes_distance(ka, fa, na, kb, fb, nb, _slots("node", len(_NODE_IDS)), weight_coefficient,
                            disjoint_coefficient)
            + _genes_distance(ca, wa, ea, cb, wb, eb, _slots("conn", len(_IDS)), weight_coefficient,
                              disjoint_coefficient))


@njit(cache=True)
def _genes_distance(ia, fa, ca, ib, fb, cb, slot, coeff, disjoint_coeff):  # pragma: no cover - compiled
    """neat-python's ``(homologous genes' distances in the first genome's order + coefficient x disjoint genes)
    / the larger gene count`` for one kind of gene: ``i`` dense ids, ``f`` (n, kf) float attributes, ``c``
    (n, kc) categorical ones.  A gene pair's distance is (|df_0| + |df_1| + ... + 1 per categorical attribute
    that differs) x coeff, summed in that order: DefaultConnectionGene's (weight; enabled) and
    DefaultNodeGene's (bias, response, time constant; activation, aggregation) to the bit."""
    na, nb = ia.size, ib.size
    if na == 0 and nb == 0:
        return 0.0
    for j in range(nb):
        slot[ib[j]] = j
    total = 0.0
    same = 0
    for i in range(na):
        j = slot[ia[i]]
        if j >= 0:
            total += gene_pair(fa, i, fb, j, ca, cb) * coeff
            same += 1
    for j in range(nb):
        slot[ib[j]] = -1
    disjoint = (na - same) + (nb - same)
    return (total + disjoint_coeff * disjoint) / max(na, nb)


@njit(cache=True)
def gene_pair(fa, i, fb, j, ca, cb):  # pragma: no cover - compiled
    """Homologous genes a[i] and b[j], before the weight coefficient: |df_0| + |df_1| + ... over the float
    attributes ``f`` (n, kf), then 1 per categorical attribute ``c`` (n, kc) that differs, summed in that order
    (neat-python's gene distances; also the worker mode's node genes, :mod:`entm.evolution.packed`)."""
    d = 0.0
    for k in range(fa.shape[1]):
        d += abs(fa[i, k] - fb[j, k])
    for k in range(ca.shape[1]):
        if ca[i, k] != cb[j, k]:
            d += 1.0
    return d
