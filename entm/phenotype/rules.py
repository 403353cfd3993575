"""neat-python's rules for what a phenotype evaluates, in one place.

Feedforward (``neat.nn.FeedForwardNetwork.create``)
    Only enabled connections count.  The evaluated nodes are those of
    ``neat.graphs.feed_forward_layers``: required nodes (nodes from which an
    output can be reached) in layer order.  A required node without any
    incoming enabled connection is a "bias neuron", evaluated as
    ``act(bias + response * agg([]))`` (``sum([]) = 0``, ``product([]) = 1``,
    every other built-in aggregation of nothing is 0).  Nodes that are never
    evaluated (an output nothing reaches, nodes on a cycle) read 0.0.

Recurrent (``neat.nn.RecurrentNetwork.create``)
    The required set is computed over *all* genome connections, disabled ones
    included; a connection is kept when it is enabled and its input or output
    node is required.  Only nodes with at least one kept incoming connection are
    evaluated; every other node (outputs included) stays 0.0.  Each step,
    every evaluated node reads the previous step's values (double buffer) and
    the current inputs.

The packer (:mod:`entm.phenotype.pack`) and the :class:`~entm.phenotype.network.Network`
description both build on :func:`evaluated_links`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neat.graphs import required_for_output

from entm.errors import EntmError
from entm.phenotype.functions import builtin_name


@dataclass
class NodeSpec:
    """One evaluated node: its function names (from :mod:`entm.phenotype.functions`), bias, response and
    incoming links ``[(source key, weight)]`` in neat-python's order."""

    key: int
    activation: str
    aggregation: str
    bias: float
    response: float
    links: list = field(default_factory=list)


def _ff_order(input_keys, output_keys, conns) -> tuple[list, set]:
    """The nodes neat-python's ``FeedForwardNetwork`` evaluates, in an order where every
    node follows its sources, and the required set.

    Same node set as ``neat.graphs.feed_forward_layers`` (required nodes without
    incoming connections first, as "bias neurons"; then every required node
    once all its required sources are done; nodes on a cycle never), in
    linear time instead of its quadratic scan.  Values do not depend on the
    order among ready nodes.
    """
    required = required_for_output(input_keys, output_keys, conns)
    has_input = set()
    pending: dict = {}
    succ: dict = {}
    for a, b in conns:
        has_input.add(b)
        if a in required and b in required:
            pending[b] = pending.get(b, 0) + 1
            succ.setdefault(a, []).append(b)
    order = [n for n in sorted(required) if n not in has_input]  # bias neurons
    ready = [n for n in sorted(required) if n in has_input and pending.get(n, 0) == 0]
    done = set(order)
    for n in order:
        for m in succ.get(n, ()):
            pending[m] -= 1
            if pending[m] == 0 and m in has_input:
                ready.append(m)
    while ready:
        n = ready.pop()
        if n in done:
            continue
        done.add(n)
        order.append(n)
        for m in succ.get(n, ()):
            pending[m] -= 1
            if pending[m] == 0:
                ready.append(m)
    return order, required


def evaluated_links(input_keys, output_keys, conn_keys, enabled_keys, feed_forward: bool) -> tuple[list, dict]:
    """The nodes a phenotype evaluates and their links.

    ``conn_keys``: every connection key of the genome, in its order;
    ``enabled_keys``: the enabled ones, in the same order.  Returns the nodes
    to evaluate (feedforward: an order where sources come first, as
    ``FeedForwardNetwork.create``; recurrent: ``RecurrentNetwork.create``'s
    order) and, per node, its links as connection keys in neat-python's order.
    """
    incoming: dict = {}
    if feed_forward:
        order, required = _ff_order(input_keys, output_keys, enabled_keys)
        usable = set(required) | set(input_keys)
        for i, o in enabled_keys:
            if i in usable:
                incoming.setdefault(o, []).append((i, o))
        return order, incoming
    # required nodes come from every connection, disabled ones included (as neat-python does)
    required = required_for_output(input_keys, output_keys, conn_keys)
    for i, o in enabled_keys:
        if o in required or i in required:
            incoming.setdefault(o, []).append((i, o))
    return list(incoming), incoming


def node_specs(genome, genome_config, input_keys, output_keys, feed_forward: bool) -> list[NodeSpec]:
    """A genome's evaluated nodes, in evaluation order (never touches the genome)."""
    gc = genome_config
    conns = genome.connections
    enabled = [k for k, cg in conns.items() if cg.enabled]
    order, incoming = evaluated_links(input_keys, output_keys, list(conns), enabled, feed_forward)
    specs = []
    for key in order:
        ng = genome.nodes.get(key)
        if ng is None:
            raise EntmError(f"genome {getattr(genome, 'key', '?')} has a connection to node {key}, which it lacks")
        specs.append(NodeSpec(
            int(key),
            builtin_name(gc.activation_defs, ng.activation, "activation"),
            builtin_name(gc.aggregation_function_defs, ng.aggregation, "aggregation"),
            float(ng.bias), float(ng.response),
            [(ck[0], float(conns[ck].weight)) for ck in incoming.get(key, ())]))
    return specs
