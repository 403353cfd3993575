"""Draw a champion's controller network: the part of it that is used.

The drawing holds exactly what :meth:`entm.phenotype.Network.size` counts: the
network's evaluated nodes and their links (neat-python's ``node_evals``: the
nodes from which an output is reached, and the enabled connections into them),
plus the inputs that feed them.  In a recurrent network a link may come from a
node that is never evaluated (it reads 0.0); such a node is drawn in grey.

Layout (matplotlib only, no Graphviz): columns from inputs (left) to outputs
(right); a hidden node's column is the longest path to it from the inputs,
over the graph without its back edges (so cycles of a recurrent network are
drawn as arcs, never loop the layout); outputs share the last column.
Inputs and outputs are labelled by their role (docs/design.md, "Network
input/output layout"), hidden nodes by their activation; an edge is blue for
a positive weight, red for a negative one, and its width grows with |weight|.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from entm.analysis.common import (
    input_labels,
    new_figure,
    open_source,
    output_labels,
    save_figure,
)

from entm.phenotype.kernels import activation_value

POSITIVE = "#1f5fbf"
NEGATIVE = "#d62728"

_GROUP_COLOURS = {
    "task input": "#d9d9d9",
    "read": "#b7e1b0",
    "hidden": "#ffffff",
    "task output": "#fdc38d",
    "head": "#a9cbe8",
    "unevaluated": "#eeeeee",
}

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


@dataclass
class NetworkDrawing:
    """What :func:`plot_network` wrote and drew."""

    paths: list
    """[PNG path, SVG path]."""
    graph: NetworkGraph

    @property
    def nodes(self) -> list:
        return self.graph.nodes

    @property
    def edges(self) -> list:
        return self.graph.edges


def network_graph(network, task, spec) -> NetworkGraph:
    """The pruned, layered graph of ``network`` (an :class:`entm.phenotype.Network`)."""
    in_labels = dict(zip(network.input_keys, input_labels(task, spec)))
    out_labels = dict(zip(network.output_keys, output_labels(task, spec)))
    n_task_in = task.num_inputs
    n_task_out = task.num_outputs
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
        group[k] = "task input" if network.input_keys.index(k) < n_task_in else "read"
        label[k] = in_labels[k]
    for k in outputs:
        group[k] = "task output" if network.output_keys.index(k) < n_task_out else "head"
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
    nodes = inputs + hidden + outputs

    back = _back_edges(nodes, edges, inputs)
    column = _columns(nodes, edges, back, inputs, outputs)
    y = _vertical(nodes, edges, column, inputs, outputs)
    unused = [out_labels[k] for k in network.output_keys if k not in evaluated]
    return NetworkGraph(nodes=nodes, edges=edges, column=column, y=y, group=group, label=label,
                        back_edges=back, unused_outputs=unused)


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


def plot_network(champion_or_path, out_base) -> NetworkDrawing:
    """Draw a champion (a Champion, a champion.json or a run directory) into
    ``out_base.png`` and ``out_base.svg``; returns the paths and the graph drawn."""
    src = open_source(champion_or_path)
    champ = src.champion("plot network")
    fig, graph = network_figure(champ, title=src.name)
    base = Path(out_base)
    if base.suffix.lower() in (".png", ".svg"):
        base = base.with_suffix("")
    paths = [save_figure(fig, base.with_name(base.name + ".png")),
             save_figure(fig, base.with_name(base.name + ".svg"))]
    return NetworkDrawing(paths=paths, graph=graph)


def network_figure(champ, title: str | None = None):
    """(matplotlib Figure, NetworkGraph) of a loaded champion."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    net = champ.network
    graph = network_graph(net, champ.task, champ.spec)
    n_cols = max(graph.column.values()) + 1 if graph.column else 1
    height_nodes = max([graph.y[k] for k in graph.nodes] + [0]) + 1
    fig = new_figure(max(7.0, 2.0 * n_cols + 3.0), max(3.5, 0.36 * height_nodes + 1.6))
    ax = fig.add_axes([0.12, 0.08, 0.76, 0.8])
    ax.set_axis_off()

    def pos(k):
        return float(graph.column[k]), -float(graph.y[k])

    max_w = max([abs(w) for _, _, w in graph.edges] + [1e-12])
    node_size = 170.0  # points^2
    radius = np.sqrt(node_size) / 2.0 + 1.5
    for s, d, w in graph.edges:
        (x0, y0), (x1, y1) = pos(s), pos(d)
        colour = POSITIVE if w >= 0 else NEGATIVE
        lw = 0.4 + 2.8 * abs(w) / max_w
        if s == d:  # self-loop: a small arc above the node
            style = "arc3,rad=2.2"
            x0, y0 = x0 - 0.07, y0 + 0.05
            x1, y1 = x1 + 0.07, y1 + 0.05
            shrink_a = shrink_b = 0.0
        else:
            backward = (s, d) in graph.back_edges or graph.column[s] >= graph.column[d]
            style = "arc3,rad=-0.35" if backward else "arc3,rad=0.0"
            shrink_a = shrink_b = radius
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=style, arrowstyle="-|>",
                                     mutation_scale=7 + 2 * lw, linewidth=lw, color=colour, alpha=0.75,
                                     shrinkA=shrink_a, shrinkB=shrink_b, zorder=2))
    for k in graph.nodes:
        x, yy = pos(k)
        g = graph.group[k]
        ax.scatter([x], [yy], s=node_size, c=_GROUP_COLOURS[g], edgecolors="#333333",
                   linewidths=0.8 if g != "unevaluated" else 0.6, linestyle="-" if g != "unevaluated" else "--",
                   zorder=3)
        if g in ("task input", "read"):
            ax.text(x - 0.12, yy, graph.label[k], ha="right", va="center", fontsize=9, zorder=4)
        elif g in ("task output", "head"):
            ax.text(x + 0.12, yy, graph.label[k], ha="left", va="center", fontsize=9, zorder=4)
        else:
            ax.text(x, yy - 0.32, graph.label[k], ha="center", va="top", fontsize=7.5, color="#333333",
                    zorder=4, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    ys = [pos(k)[1] for k in graph.nodes] or [0.0]
    ax.set_xlim(-0.9, n_cols - 1 + 0.9)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.6)

    nodes, conns = net.size()
    meta = champ.data.get("metadata", {}).get("entm", {})
    head = f"{title}: " if title else ""
    desc = f"{head}{champ.task.name}, {champ.spec.mode} memory — {nodes} nodes, {conns} connections used"
    extra = []
    if isinstance(meta.get("fitness"), (int, float)):
        extra.append(f"fitness {meta['fitness']:.3f}")
    if isinstance(meta.get("score"), (int, float)):
        extra.append(f"score {meta['score']:.3f}")
    if meta.get("generation") is not None:
        extra.append(f"generation {meta['generation']}")
    if meta.get("encoding") == "hyper" and isinstance(meta.get("cppn_size"), list):
        extra.append(f"painted by a CPPN of {meta['cppn_size'][0]} nodes / {meta['cppn_size'][1]} connections")
    fig.suptitle(desc + ("\n" + ", ".join(extra) if extra else ""), fontsize=10)
    handles = [Line2D([], [], color=POSITIVE, lw=2, label="positive weight"),
               Line2D([], [], color=NEGATIVE, lw=2, label="negative weight"),
               Line2D([], [], color="#777777", lw=0.4, label=f"width ∝ |w| (max {max_w:.3g})")]
    for g in ("task input", "read", "hidden", "task output", "head", "unevaluated"):
        if g in graph.group.values():
            handles.append(Line2D([], [], marker="o", ls="", markerfacecolor=_GROUP_COLOURS[g],
                                  markeredgecolor="#333333", markersize=8,
                                  label={"read": "read vector", "head": "head parameter",
                                         "hidden": "hidden (activation)",
                                         "unevaluated": "never evaluated (0)"}.get(g, g)))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=min(5, len(handles)),
              fontsize=8, frameon=False)
    if graph.unused_outputs:
        ax.text(1.0, -0.02, "not evaluated (0.0): " + ", ".join(graph.unused_outputs), transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#666666")
    return fig, graph
