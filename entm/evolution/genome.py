"""neat-python's ``DefaultGenome`` with reproduction that costs O(connections), not O(connections²).

Profiling ``entm evolve --task copy --vector-size 8`` (150 genomes of 500+
connections) showed neat-python 2.0's reproduction taking ~85% of a
generation, evaluation ~7%: ``configure_crossover`` checks every inherited
connection of a feed-forward genome with ``neat.graphs.creates_cycle``, which
scans the child's whole connection list (often repeatedly) for each gene, and
the per-gene ``crossover``/``mutate``/``distance`` look every rate up with ``getattr``.

entm's :class:`DefaultGenome` (named like neat-python's, so configs keep their
``[DefaultGenome]`` section) gives exactly the same children (the same genes in the same
order, the same draws from Python's ``random`` in the same order, hence the
same run): the cycle test keeps the child's graph as adjacency lists and only
searches when the source node has incoming connections (an input never does,
so direct genomes never search); the default connection gene's crossover,
mutation and distance are inlined, their rates read once per genome.  Anything
else (custom gene classes or attributes) goes through neat-python's own code.
``tests/evolution/test_genome.py`` runs whole evolutions with both classes and
compares every genome.

Two more things serve evaluation and checkpoints, without changing any value:
connection keys are interned (one tuple object per key, so that comparing two
genomes' key sequences is a pointer compare, see ``entm.phenotype.pack_genomes``),
and a genome pickles its connection genes as flat lists.
"""

from __future__ import annotations

import operator
import random as _random
import warnings

import neat
from neat.attributes import BoolAttribute, FloatAttribute
from neat.config import ConfigParameter
from neat.genes import DefaultConnectionGene

from entm.errors import EntmError
from entm.evolution import distance as _distance


def _default_connection_attrs(gene_type) -> tuple | None:
    """(weight attribute, enabled attribute) when ``gene_type`` is neat-python's default connection
    gene with its default attributes (the fast paths replicate exactly those), else None."""
    if gene_type is not DefaultConnectionGene:
        return None
    attrs = gene_type._gene_attributes
    if (len(attrs) != 2 or type(attrs[0]) is not FloatAttribute or attrs[0].name != "weight"
            or type(attrs[1]) is not BoolAttribute or attrs[1].name != "enabled"):
        return None
    return attrs[0], attrs[1]


class _CycleCheck:
    """The child's connections as adjacency lists: ``creates(i, o)`` answers what
    ``neat.graphs.creates_cycle(list(connections), (i, o))`` answers (is i reachable from o?)."""

    __slots__ = ("succ", "has_in")

    def __init__(self):
        self.succ: dict = {}  # node -> the nodes its connections go to
        self.has_in: set = set()  # nodes some connection goes to

    def add(self, key) -> None:
        self.has_in.add(key[1])
        self.succ.setdefault(key[0], []).append(key[1])

    def creates(self, key) -> bool:
        i, o = key
        if i == o:
            return True
        if i not in self.has_in:  # nothing leads to i (always so for an input): no path o -> i
            return False
        return self.reaches(o, i)

    def reaches(self, o, i) -> bool:
        succ = self.succ
        seen = {o}
        stack = [o]
        while stack:
            for b in succ.get(stack.pop(), ()):
                if b == i:
                    return True
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return False


class DefaultGenome(neat.DefaultGenome):
    """``neat.DefaultGenome``, same children, faster reproduction (see the module docstring)."""

    # -- connection keys are interned: equal keys are one tuple object across the population, so that
    # comparing two genomes' key sequences (entm.phenotype.pack_genomes does, per genome) is a pointer compare
    @staticmethod
    def create_connection(config, input_id, output_id, innovation):
        gene = neat.DefaultGenome.create_connection(config, input_id, output_id, innovation)
        gene.key = _intern(gene.key)
        return gene

    @classmethod
    def parse_config(cls, param_dict):
        """neat-python's genome config plus entm's opt-in ``conn_delete_max_weight``,
        ``crossover_disjoint_prob`` and ``asexual_prob`` (default 0 each: off) and ``node_add_split``
        (default ``neat``)."""
        config = super().parse_config(param_dict)
        extras = [ConfigParameter(name, float, 0.0)
                  for name in ("conn_delete_max_weight", "crossover_disjoint_prob", "asexual_prob")]
        for extra in extras + [ConfigParameter("node_add_split", str, "neat")]:
            config._params.append(extra)
            setattr(config, extra.name, extra.interpret(param_dict, "DefaultGenome"))
        return config

    def mutate_add_node(self, config):
        """neat-python's add-node mutation (the split link's first half weight 1.0, its second the old weight,
        the node's bias 0), or with ``node_add_split = sharpneat`` (opt-in) SharpNEAT's weights on the same
        draws: the first half keeps the old weight, the second gets ``weight_max_value`` (SharpNEAT's
        connection weight range: the new sigmoid node's output at full strength)."""
        before = set(self.nodes)
        super().mutate_add_node(config)
        if getattr(config, "node_add_split", "neat") != "sharpneat":
            return
        added = [k for k in self.nodes if k not in before]
        if not added:  # nothing to split (neat-python may have added a connection instead)
            return
        node = added[0]
        into = next(c for c in self.connections.values() if c.key[1] == node)
        out = next(c for c in self.connections.values() if c.key[0] == node)
        into.weight, out.weight = out.weight, config.weight_max_value

    def add_connection(self, config, input_key, output_key, weight, enabled, innovation=None):
        key = _intern((input_key, output_key))
        existed = key in self.connections
        super().add_connection(config, input_key, output_key, weight, enabled, innovation)
        if not existed:  # a new last entry: put it back under the interned key (same place, same gene)
            gene = self.connections.pop(key)
            gene.key = key
            self.connections[key] = gene

    def configure_crossover(self, genome1, genome2, config):
        """neat-python's crossover (matching genes from either parent at random, disjoint and excess genes from
        the fitter parent), and with ``crossover_disjoint_prob`` p > 0 (opt-in) each gene only the less fit
        parent has inherited with probability p (1: every one; NEAT's original rule at equal fitness takes
        them at random), with the hidden nodes they connect, so that structure found by two lineages can
        meet in one child.  At p = 0 no draw is added: the same children as neat-python.

        With ``asexual_prob`` q > 0 (opt-in) reproduction is SharpNEAT's: with probability q, or always when both
        parents are one genome, the child is a copy of ``genome1`` that :meth:`mutate` then mutates; otherwise it
        is the crossover of the two, which :meth:`mutate` leaves as it is."""
        q = config.asexual_prob
        if q > 0:
            if genome1.key == genome2.key or _random.random() < q:
                self.nodes = {k: n.copy() for k, n in genome1.nodes.items()}
                self.connections = {k: g.copy() for k, g in genome1.connections.items()}
                return
            self._unmutated = True  # a sexual child: mutate() leaves it as the crossover made it
        if genome1.fitness > genome2.fitness:
            parent1, parent2 = genome1, genome2
        else:
            parent1, parent2 = genome2, genome1
        parent1_innovations = {cg.innovation: cg for cg in parent1.connections.values()}
        parent2_innovations = {cg.innovation: cg for cg in parent2.connections.values()}
        all_innovations = set(parent1_innovations.keys()) | set(parent2_innovations.keys())
        ff = config.feed_forward
        graph = _CycleCheck()
        has_in, succ = graph.has_in, graph.succ
        fast = _default_connection_attrs(config.connection_gene_type) is not None
        rnd = _random.random
        conns = self.connections
        p = config.crossover_disjoint_prob
        others = [] if p > 0 else None  # genes only the less fit parent has: kept for the opt-in below
        for innovation_num in all_innovations:  # the same set, iterated in the same order as neat-python
            cg1 = parent1_innovations.get(innovation_num)
            if cg1 is None:  # only in the less fit parent: not inherited, unless p > 0
                if others is not None:
                    others.append(parent2_innovations[innovation_num])
                continue
            cg2 = parent2_innovations.get(innovation_num)
            if cg2 is not None and cg1.key != cg2.key:
                warnings.warn(
                    f"Innovation number collision: innovation {innovation_num} assigned to both "
                    f"{cg1.key} and {cg2.key}. Treating as disjoint genes.", RuntimeWarning)
                cg2 = None
            if cg2 is None:
                new_gene = cg1.copy()
            elif fast:
                new_gene = DefaultConnectionGene.__new__(DefaultConnectionGene)
                new_gene.key = cg1.key
                new_gene.innovation = cg1.innovation
                new_gene.weight = cg1.weight if rnd() > 0.5 else cg2.weight
                new_gene.enabled = cg1.enabled if rnd() > 0.5 else cg2.enabled
                if not cg1.enabled or not cg2.enabled:
                    if rnd() < 0.75:
                        new_gene.enabled = False
            else:
                new_gene = cg1.crossover(cg2)
            if ff:  # graph.creates(key), then graph.add(key), inlined (this loop runs for every gene)
                i, o = new_gene.key
                if i == o or (i in has_in and graph.reaches(o, i)):
                    continue
                has_in.add(o)
                succ_list = succ.get(i)
                if succ_list is None:
                    succ[i] = [o]
                else:
                    succ_list.append(o)
            conns[new_gene.key] = new_gene

        parent2_set = parent2.nodes
        for key, ng1 in parent1.nodes.items():
            ng2 = parent2_set.get(key)
            assert key not in self.nodes
            self.nodes[key] = ng1.copy() if ng2 is None else ng1.crossover(ng2)
        if others is not None:
            self._inherit_others(others, p, parent2_set, graph if ff else None)

    def _inherit_others(self, genes, p: float, nodes: dict, graph: _CycleCheck | None) -> None:
        """``crossover_disjoint_prob`` p: each of ``genes`` (the less fit parent's own, after every gene of the
        fitter parent) inherited with probability p unless its link is already there or (``graph``, a
        feed-forward genome) would close a cycle; with it the hidden nodes it connects (from ``nodes``)."""
        rnd = _random.random
        for gene in genes:
            if (p < 1 and rnd() >= p) or gene.key in self.connections:
                continue
            if graph is not None:
                if graph.creates(gene.key):
                    continue
                graph.add(gene.key)
            self.connections[gene.key] = gene.copy()
            for key in gene.key:
                if key not in self.nodes and key in nodes:
                    self.nodes[key] = nodes[key].copy()

    def mutate(self, config):
        """neat-python's mutation, draw for draw: structural mutations (one at most with
        ``single_structural_mutation``), then every connection gene, then every node gene; nothing for a
        sexual child under ``asexual_prob`` (:meth:`configure_crossover`)."""
        if self.__dict__.pop("_unmutated", False):
            return
        _distance.forget(self)
        attrs = _default_connection_attrs(config.connection_gene_type)
        if attrs is None:
            if config.conn_delete_max_weight > 0:
                raise EntmError("conn_delete_max_weight needs neat-python's default connection gene (weight, enabled)")
            return super().mutate(config)
        rnd = _random.random
        skewed = config.conn_delete_max_weight > 0  # ANJI's removal instead of the structural one below
        structural = ((config.node_add_prob, self.mutate_add_node, (config,)),
                      (config.node_delete_prob, self.mutate_delete_node, (config,)),
                      (config.conn_add_prob, self.mutate_add_connection, (config,)),
                      (0.0 if skewed else config.conn_delete_prob, self.mutate_delete_connection, ()))
        if config.single_structural_mutation:  # one draw against the cumulative probabilities
            total = 0.0
            for prob, _, _ in structural:
                total += prob
            div = max(1, total)
            r = rnd()
            cumulative = 0.0
            for prob, op, args in structural:
                cumulative += prob
                if r < cumulative / div:
                    op(*args)
                    break
        else:  # one draw each
            for prob, op, args in structural:
                if rnd() < prob:
                    op(*args)
        if skewed:
            self.mutate_delete_weak_connections(config)
        _mutate_connections(self.connections.values(), config, *attrs)
        for ng in self.nodes.values():
            ng.mutate(config)

    def mutate_delete_weak_connections(self, config) -> None:
        """ANJI's ``remove.connection.strategy = skewed`` (opt-in: ``conn_delete_max_weight`` m > 0 in
        ``[DefaultGenome]``): every connection, in order, is removed with probability ``conn_delete_prob``
        x ((m - |w|) / m)^2 when its weight's magnitude |w| is below m, never otherwise; one draw from
        ``random`` per connection.  neat-python's own deletion (one random connection, whatever its weight,
        with probability ``conn_delete_prob`` per genome) is off then."""
        m, rate, rnd = config.conn_delete_max_weight, config.conn_delete_prob, _random.random
        doomed = []
        for key, gene in self.connections.items():
            small = max(0.0, (m - abs(gene.weight)) / m)
            if rnd() < rate * small * small:
                doomed.append(key)
        for key in doomed:
            del self.connections[key]

    # -- pickling (checkpoints, the per-generation boundary snapshot) ---------------------------
    def __getstate__(self):
        """Default connection genes (key, innovation, weight, enabled) as flat lists instead of
        500+ gene objects each (much faster to pickle); anything else pickles as neat-python's does."""
        state = self.__dict__.copy()
        state.pop(_distance.ATTR, None)
        conns = state.get("connections")
        if conns and _DEFAULT_GENE_CLASSES.issuperset(map(type, conns.values())):
            vals = conns.values()
            state["connections"] = _PackedConnections(
                list(map(_FIRST, conns)), list(map(_SECOND, conns)), list(map(_INNOVATION, vals)),
                list(map(_WEIGHT, vals)), list(map(_ENABLED, vals)))
        return state

    def __setstate__(self, state):
        conns = state.get("connections")
        if isinstance(conns, _PackedConnections):
            state = dict(state, connections=conns.genes())
        self.__dict__.update(state)

    def distance(self, other, config):
        """neat-python's genetic distance, the same sums in the same order (node part plus connection
        part, each (homologous distances + coefficient x disjoint genes) / the larger gene count): compiled
        for the default genes (:mod:`entm.evolution.distance`), else the default connection gene's
        distance inlined."""
        if _distance.fast_path(config):
            return _distance.distance(self, other, config.compatibility_weight_coefficient,
                                      config.compatibility_disjoint_coefficient)
        return self.python_distance(other, config)

    def python_distance(self, other, config):
        """The same distance in Python (any gene classes; the default connection gene's distance inlined)."""
        if _default_connection_attrs(config.connection_gene_type) is None:
            return super().distance(other, config)
        coeff = config.compatibility_weight_coefficient

        def connection_gene_distance(c1, c2):  # DefaultConnectionGene.distance
            d = abs(c1.weight - c2.weight)
            return (d + 1.0) * coeff if c1.enabled != c2.enabled else d * coeff

        def node_gene_distance(n1, n2):
            return n1.distance(n2, config)

        disjoint = config.compatibility_disjoint_coefficient
        return (_genes_distance(self.nodes, other.nodes, node_gene_distance, disjoint)
                + _genes_distance(self.connections, other.connections, connection_gene_distance, disjoint))


def _genes_distance(mine: dict, theirs: dict, gene_distance, disjoint_coefficient: float) -> float:
    """(sum of homologous genes' distances, in ``mine``'s order, + coefficient x disjoint genes) divided by
    the larger gene count; 0.0 when both are empty."""
    if not mine and not theirs:
        return 0.0
    disjoint = sum(1 for k in theirs if k not in mine)
    total = 0.0
    get = theirs.get
    for k, g1 in mine.items():
        g2 = get(k)
        if g2 is None:
            disjoint += 1
        else:
            total += gene_distance(g1, g2)
    return (total + disjoint_coefficient * disjoint) / max(len(mine), len(theirs))


_DEFAULT_GENE_CLASSES = frozenset([DefaultConnectionGene])
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)
_INNOVATION, _WEIGHT, _ENABLED = (operator.attrgetter(a) for a in ("innovation", "weight", "enabled"))


_KEYS: dict = {}


def _intern(key: tuple) -> tuple:
    """The one tuple object for this connection key (the table is dropped if it ever grows huge)."""
    if len(_KEYS) > 1_000_000:
        _KEYS.clear()
    return _KEYS.setdefault(key, key)


class _PackedConnections:
    """Default connection genes as flat lists (see DefaultGenome.__getstate__)."""

    __slots__ = ("sources", "targets", "innovations", "weights", "enabled")

    def __init__(self, sources, targets, innovations, weights, enabled):
        self.sources, self.targets = sources, targets
        self.innovations, self.weights, self.enabled = innovations, weights, enabled

    def __getstate__(self):
        return self.sources, self.targets, self.innovations, self.weights, self.enabled

    def __setstate__(self, state):
        self.sources, self.targets, self.innovations, self.weights, self.enabled = state

    def genes(self) -> dict:
        out = {}
        new = DefaultConnectionGene.__new__
        for key, inn, w, e in zip(map(_intern, zip(self.sources, self.targets)), self.innovations, self.weights,
                                  self.enabled):
            g = new(DefaultConnectionGene)
            g.key, g.innovation, g.weight, g.enabled = key, inn, w, e
            out[key] = g
        return out


def _mutate_connections(genes, config, wa: FloatAttribute, ea: BoolAttribute) -> None:
    """``gene.mutate(config)`` for each default connection gene, the rates read once
    (FloatAttribute.mutate_value for the weight, BoolAttribute.mutate_value for enabled)."""
    rnd, gauss = _random.random, _random.gauss
    w_rate = getattr(config, wa.mutate_rate_name)
    w_power = getattr(config, wa.mutate_power_name)
    w_replace = getattr(config, wa.replace_rate_name) + w_rate  # neat-python: r < replace_rate + mutate_rate
    w_min = getattr(config, wa.min_value_name)
    w_max = getattr(config, wa.max_value_name)
    e_on = getattr(config, ea.mutate_rate_name) + getattr(config, ea.rate_to_false_add_name)
    e_off = getattr(config, ea.mutate_rate_name) + getattr(config, ea.rate_to_true_add_name)
    for cg in genes:
        r = rnd()
        if r < w_rate:
            cg.weight = max(min(cg.weight + gauss(0.0, w_power), w_max), w_min)
        elif r < w_replace:
            cg.weight = wa.init_value(config)
        rate = e_on if cg.enabled else e_off
        if rate > 0:
            if rnd() < rate:
                cg.enabled = rnd() < 0.5
