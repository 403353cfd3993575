"""The used part of a network as a graph, laid out in columns (for :mod:`entm.analysis.network_plot`).

Layout (matplotlib only, no Graphviz): columns from inputs (left) to outputs
(right); a hidden node's column is the longest path to it from the inputs,
over the graph without its back edges (so cycles of a recurrent network are
drawn as arcs, never loop the layout); outputs share the last column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from entm.analysis.common import input_labels, output_labels

from entm.phenotype.kernels import activation_value

_ACT_SHORT = {"sigmoid": "sig", "identity": "id", "softplus": "softp", "clamped": "clamp"}


@dataclass
class NetworkGraph:
    """The used part of a network, laid out in columns."""

    nodes: list
    """Node keys drawn (inputs first, then hidden, then outputs)."""
    edges: list
    """(source key, target key, weight) for every link the network evaluates."""
    column: dict
    """key -> column (0: inputs, last: outputs)."""
    y: dict
    """key -> vertical position (0 at the top)."""
    group: dict
    """key -> "task input", "read", "hidden", "task output", "head" or "unevaluated"."""
    label: dict
    """key -> text drawn beside the node."""
    back_edges: set = field(default_factory=set)
    """(source, target) pairs that close a cycle (recurrent networks)."""
    unused_outputs: list = field(default_factory=list)
    """Labels of the outputs that are not evaluated (constant 0.0)."""
    edge_labels: dict = field(default_factory=dict)
    """(source, target) -> text drawn on the edge (the grouped view: how many links, their weights)."""
    view: str = "links"
    """Which of :data:`VIEWS` this graph is."""
    links: int = 0
    """Links of the network this graph stands for (the grouped view: more than its edges)."""


def network_graph(network, task, spec) -> NetworkGraph:
    """The pruned, layered graph of ``network`` (an :class:`entm.phenotype.Network`)."""
    in_labels = dict(zip(network.input_keys, input_labels(task, spec)))
    out_labels = dict(zip(network.output_keys, output_labels(task, spec)))
    n_in, n_out = task.num_inputs, task.num_outputs
    in_group = {k: "task input" if i < n_in else "read" for i, k in enumerate(network.input_keys)}
    out_group = {k: "task output" if i < n_out else "head" for i, k in enumerate(network.output_keys)}
    return _graph(network, in_labels, out_labels, in_group, out_group)


def cppn_graph(network, cppn_inputs: list, cppn_outputs: list) -> NetworkGraph:
    """The graph of a CPPN, its inputs and outputs named by the substrate (``src=bits``, ``offset``,
    ``bits->write0`` ...)."""
    in_labels = dict(zip(network.input_keys, cppn_inputs))
    out_labels = dict(zip(network.output_keys, cppn_outputs))
    graph = _graph(network, in_labels, out_labels, dict.fromkeys(network.input_keys, "CPPN input"),
                   dict.fromkeys(network.output_keys, "CPPN output"))
    graph.view = "cppn"
    return graph


def _graph(network, in_labels: dict, out_labels: dict, in_group: dict, out_group: dict) -> NetworkGraph:
    evaluated = {nd.key: nd for nd in network.nodes}
    edges = [(int(s), int(nd.key), float(w)) for nd in network.nodes for s, w in nd.links]
    inputs = [k for k in network.input_keys if any(s == k for s, _, _ in edges)]
    outputs = [k for k in network.output_keys if k in evaluated]
    input_set, output_set = set(network.input_keys), set(network.output_keys)
    hidden = [k for k in evaluated if k not in output_set]
    ghosts = sorted({s for s, _, _ in edges if s not in evaluated and s not in input_set})
    hidden += ghosts

    group, label = {}, {}
    for k in inputs:
        group[k] = in_group[k]
        label[k] = in_labels[k]
    for k in outputs:
        group[k] = out_group[k]
        nd = evaluated[k]
        label[k] = out_labels[k] + ("" if nd.activation == "sigmoid" else f" ({nd.activation})")
        if not nd.links and not network.recurrent:
            label[k] += f" = {_constant(nd):.2f}"
    for k in hidden:
        if k in evaluated:
            nd = evaluated[k]
            group[k] = "hidden"
            label[k] = _ACT_SHORT.get(nd.activation, nd.activation)
            if not nd.links and not network.recurrent:
                label[k] += f" = {_constant(nd):.2f}"
        else:
            group[k] = "unevaluated"
            label[k] = f"{k}: 0"
    unused = [out_labels[k] for k in network.output_keys if k not in evaluated]
    return laid_out(inputs + hidden + outputs, edges, inputs, outputs, group, label, unused_outputs=unused)


def laid_out(nodes, edges, inputs, outputs, group, label, **kw) -> NetworkGraph:
    back = _back_edges(nodes, edges, inputs)
    column = _columns(nodes, edges, back, inputs, outputs)
    y = _vertical(nodes, edges, column, inputs, outputs)
    kw.setdefault("links", len(edges))
    return NetworkGraph(nodes=nodes, edges=edges, column=column, y=y, group=group, label=label, back_edges=back,
                        **kw)


def _constant(node) -> float:
    """The value of a feedforward node without links (a "bias neuron"): act(bias + response * agg([]))."""
    empty = 1.0 if node.aggregation == "product" else 0.0
    return activation_value(node.activation, node.bias + node.response * empty)


def _back_edges(nodes, edges, roots) -> set:
    """Edges that close a cycle, found by depth-first search from the inputs (then from every
    node not reached yet, in order); self-loops included."""
    succ = {k: [] for k in nodes}
    for s, d, _ in edges:
        succ[s].append(d)
    state = {}  # 1: on the stack, 2: done
    back = set()
    for root in list(roots) + list(nodes):
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return back


def _columns(nodes, edges, back, inputs, outputs) -> dict:
    """Longest path from the inputs over the forward edges; outputs in the last column."""
    preds = {k: [] for k in nodes}
    for s, d, _ in edges:
        if (s, d) not in back:
            preds[d].append(s)
    col = {k: 0 for k in inputs}
    pending = [k for k in nodes if k not in col]
    # the forward graph is acyclic: relax in topological order
    indeg = {k: sum(1 for p in preds[k] if p not in col) for k in pending}
    ready = [k for k in pending if indeg[k] == 0]
    succ = {k: [] for k in nodes}
    for s, d, _ in edges:
        if (s, d) not in back:
            succ[s].append(d)
    done = set(col)
    while ready:
        k = ready.pop(0)
        col[k] = 1 + max((col[p] for p in preds[k]), default=0)
        done.add(k)
        for d in succ[k]:
            if d not in done:
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
    for k in nodes:  # cannot happen for an acyclic forward graph; keep the layout total
        col.setdefault(k, 1)
    out_set = set(outputs)
    last = max([col[k] + 1 for k in nodes if k not in out_set] + [1])
    for k in outputs:
        col[k] = last
    return col


def _vertical(nodes, edges, column, inputs, outputs) -> dict:
    """Inputs and outputs in key order; hidden columns ordered by the mean position of their
    neighbours (a few barycentre sweeps), every column centred on the tallest one."""
    by_col = {}
    for k in nodes:
        by_col.setdefault(column[k], []).append(k)
    height = max(len(v) for v in by_col.values()) if by_col else 1
    y = {}

    def place(keys):
        off = (height - len(keys)) / 2.0
        for i, k in enumerate(keys):
            y[k] = off + i

    for c in sorted(by_col):
        place(by_col[c])
    nbrs = {k: [] for k in nodes}
    for s, d, _ in edges:
        if s != d:
            nbrs[d].append(s)
            nbrs[s].append(d)
    fixed = set(inputs) | set(outputs)
    for _ in range(4):
        for c in sorted(by_col):
            keys = by_col[c]
            if any(k in fixed for k in keys) or len(keys) < 2:
                continue
            keys.sort(key=lambda k: np.mean([y[n] for n in nbrs[k]]) if nbrs[k] else y[k])
            place(keys)
    return y
