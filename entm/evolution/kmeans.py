"""SharpNEAT's speciation: k-means clustering of the genomes into a fixed number of species.

SharpNEAT, on which the ENTM papers' C# code runs, does not speciate by a
compatibility threshold: it keeps ``SpecieCount`` species and clusters the
genomes into them by k-means, every generation.  A genome is a point whose
coordinates are its genes' weights (here the enabled connections' weights and
the nodes' biases: SharpNEAT's biases are links from a bias node); a species'
centroid is the mean of its members' points, a gene a member lacks counting 0,
and holds every gene some member has.  The distance of a genome to a centroid is
SharpNEAT's Manhattan metric (``ManhattanDistanceMetric(1, 0, 10)``): the
weight difference on a gene both have, 10 on a gene only one has.

A generation: each species' centroid from the genomes that are still in it (the
elites: they keep their ids), each new genome to the species with the nearest
centroid, then up to 5 rounds of k-means (every genome to its nearest centroid,
the centroids recomputed).  A species left empty takes the genome furthest from
its own species' centroid, skipping genomes that are alone in theirs.  The
first clustering starts from the first K genomes (in key order) as one-genome
species.  Ties go to the species listed first.  No random draws: a run stays a
function of its seed.  neat-python's stagnation still removes species (SharpNEAT
removes none; ``max_stagnation`` decides); the next clustering then fills the
count up to K again with new species seeded by outliers.  A species' id stays
while its members change cluster by cluster, so stagnation follows a moving
cluster's best fitness.
"""

from __future__ import annotations

import numpy as np
from neat.attributes import FloatAttribute
from neat.genes import DefaultNodeGene

from entm.jit import njit

MISMATCH = 10.0
"""SharpNEAT's distance for a gene that only one side has (``mismatchDistanceConstant``)."""
MAX_ROUNDS = 5
"""SharpNEAT's k-means rounds per generation (``__MAX_KMEANS_LOOPS``)."""
_BIAS_BASE = np.int64(1) << 62
_SHIFT = np.int64(1) << 32


def _bias_column() -> int:
    floats = [a.name for a in DefaultNodeGene._gene_attributes if isinstance(a, FloatAttribute)]
    return floats.index("bias")


def coordinates(genome) -> tuple[np.ndarray, np.ndarray]:
    """A genome's point: (gene codes, weights), a gene code per enabled connection (i * 2^32 + o) and per node
    (2^62 + key, its bias); for neat-python genomes and entm's packed ones alike."""
    if hasattr(genome, "src"):  # entm.evolution.packed.PackedGenome
        on = genome.enabled
        codes = [genome.src[on].astype(np.int64) * _SHIFT + genome.dst[on], _BIAS_BASE + genome.nkeys]
        vals = [genome.weights[on], genome.nfloat[:, _bias_column()]]
    else:
        conns = [(k, c.weight) for k, c in genome.connections.items() if c.enabled]
        codes = [np.array([np.int64(i) * _SHIFT + o for (i, o), _ in conns], np.int64),
                 _BIAS_BASE + np.fromiter(genome.nodes, np.int64, len(genome.nodes))]
        vals = [np.array([w for _, w in conns], np.float64),
                np.array([n.bias for n in genome.nodes.values()], np.float64)]
    return np.concatenate(codes), np.concatenate(vals)


class Points:
    """The population as a matrix: ``W`` (genomes x genes) weights, 0 where absent, ``P`` where present."""

    def __init__(self, genomes: list):
        pts = [coordinates(g) for g in genomes]
        cols = np.unique(np.concatenate([c for c, _ in pts])) if pts else np.zeros(0, np.int64)
        self.W = np.zeros((len(pts), len(cols)))
        self.P = np.zeros((len(pts), len(cols)), bool)
        for i, (c, v) in enumerate(pts):
            j = np.searchsorted(cols, c)
            self.W[i, j] = v
            self.P[i, j] = True

    def centroid(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.W[rows].mean(axis=0), self.P[rows].any(axis=0)

    def distances(self, centroids: list) -> np.ndarray:
        """(genomes x species): SharpNEAT's Manhattan distance of each genome to each centroid (inf: none)."""
        k, d = len(centroids), self.W.shape[1]
        C, Q = np.zeros((k, d)), np.zeros((k, d), bool)
        valid = np.zeros(k, bool)
        for j, c in enumerate(centroids):
            if c is not None:
                C[j], Q[j], valid[j] = c[0], c[1], True
        return _distances(self.W, self.P, C, Q, valid, MISMATCH)


@njit(cache=True)
def _distances(W, P, C, Q, valid, mismatch):
    n, d = W.shape
    out = np.full((n, C.shape[0]), np.inf)
    for j in range(C.shape[0]):
        if not valid[j]:
            continue
        for i in range(n):
            s = 0.0
            for g in range(d):
                if P[i, g]:
                    s += abs(W[i, g] - C[j, g]) if Q[j, g] else mismatch
                elif Q[j, g]:
                    s += mismatch
            out[i, j] = s
    return out


def cluster(points: Points, assign: np.ndarray, k: int) -> tuple[np.ndarray, list]:
    """SharpNEAT's k-means from ``assign`` (each genome's species index in 0..k-1, -1: not yet placed): the
    unplaced to the nearest centroid, then up to ``MAX_ROUNDS`` rounds; empty species seeded by outliers.
    Returns each genome's species index and the species' centroids."""
    assign = assign.copy()
    cents = _centroids(points, assign, k)
    new = assign < 0
    if new.any():
        assign[new] = points.distances(cents)[new].argmin(axis=1)
        cents = _centroids(points, assign, k)
    for _ in range(MAX_ROUNDS):
        dist = points.distances(cents)
        best = dist.argmin(axis=1)
        moved = int((best != assign).sum())
        assign = best
        _fill_empty(assign, k, dist)
        cents = _centroids(points, assign, k)
        if not moved:
            break
    return assign, cents


def _centroids(points: Points, assign: np.ndarray, k: int) -> list:
    return [points.centroid(np.flatnonzero(assign == j)) if (assign == j).any() else None for j in range(k)]


def _fill_empty(assign: np.ndarray, k: int, dist: np.ndarray) -> None:
    """Each empty species takes the genome furthest from its own species' centroid (the distances of this
    round), skipping genomes that are alone in their species."""
    empty = [j for j in range(k) if not (assign == j).any()]
    if not empty:
        return
    own = dist[np.arange(len(assign)), assign]
    order = np.argsort(-own, kind="stable")
    at = 0
    for j in empty:
        while at < len(order) and (assign == assign[order[at]]).sum() == 1:
            at += 1
        if at == len(order):
            raise RuntimeError("k-means speciation: no genome left to seed an empty species")
        assign[order[at]] = j
        at += 1
