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

A hyper-encoding champion (``metadata.entm.encoding == "hyper"``) has three
views (:data:`VIEWS`): ``grouped`` (its default): the painted controller with
one edge per (source vector, target vector) pair of the substrate, labelled
with its number of links and their weights; ``bit``: only the links of one
element j of the vectors (and of the scalars); ``cppn``: the CPPN that was
evolved and paints the controller, its inputs and outputs named as the
substrate names them (``cppn_inputs``, ``cppn_outputs``).  ``links`` (every
link) is the view of direct champions, and of a hyper one on request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from entm.analysis.common import (
    champion_numbers,
    figure_paths,
    input_labels,
    new_figure,
    open_source,
    output_labels,
    save_figure,
)
from entm.analysis.graph_layout import NetworkGraph, cppn_graph, laid_out, network_graph

from entm.budget import check_drawing
from entm.errors import EntmError
from entm.hyper import HyperParams, Substrate
from entm.phenotype import Network

POSITIVE = "#1f5fbf"
NEGATIVE = "#d62728"

_GROUP_COLOURS = {
    "task input": "#d9d9d9",
    "read": "#b7e1b0",
    "hidden": "#ffffff",
    "task output": "#fdc38d",
    "head": "#a9cbe8",
    "unevaluated": "#eeeeee",
    "CPPN input": "#e8d7f1",
    "CPPN output": "#c7e9c0",
}

_GROUP_NAMES = {"read": "read vector", "head": "head parameter", "hidden": "hidden (activation)",
                "unevaluated": "never evaluated (0)"}

#: what ``plot_network`` can draw: every link, links grouped by vector (hyper), one bit's links (hyper), the CPPN
VIEWS = ("links", "grouped", "bit", "cppn")

@dataclass
class NetworkDrawing:
    """What :func:`plot_network` wrote and drew."""

    paths: list
    """The files written ([PNG path, SVG path] without a suffix)."""
    graph: NetworkGraph
    title: str = ""
    """The figure's title."""

    @property
    def nodes(self) -> list:
        return self.graph.nodes

    @property
    def edges(self) -> list:
        return self.graph.edges


def champion_substrate(champ) -> Substrate:
    """The substrate a hyper champion's controller was painted on (EntmError for a direct champion)."""
    meta = champ.data.get("metadata", {}).get("entm", {})
    if meta.get("encoding") != "hyper":
        raise EntmError(f"{champ.path} was evolved with the direct encoding (NEAT evolved this network itself): it "
                        f"has no CPPN and no substrate; --cppn and --bit draw hyper-encoding champions")
    sub = meta.get("substrate") or {}
    try:
        hp = HyperParams.from_dict({k: sub[k] for k in ("weight_scale", "threshold", "radius") if k in sub})
    except (EntmError, TypeError) as e:
        raise EntmError(f"{champ.path}: metadata.entm.substrate: {e}") from None
    return Substrate(champ.task, champ.spec, hp)


def grouped_graph(champ) -> NetworkGraph:
    """A hyper champion's painted controller with one node per substrate kind (a vector's elements
    together: ``bit0…bit3``; a scalar alone) and one edge per (source kind, target kind) pair that
    has links, labelled with the number of links and their weights; the edge's weight is their mean."""
    net = champ.network
    sub = champion_substrate(champ)
    full = network_graph(net, champ.task, champ.spec)
    in_kind = {k: n.kind for k, n in zip(net.input_keys, sub.inputs)}
    out_kind = {k: n.kind for k, n in zip(net.output_keys, sub.outputs)}
    kind_of = {**in_kind, **out_kind}
    in_labels = dict(zip(net.input_keys, input_labels(champ.task, champ.spec)))
    out_labels = dict(zip(net.output_keys, output_labels(champ.task, champ.spec)))
    members = {}
    for k in list(net.input_keys) + list(net.output_keys):
        members.setdefault(kind_of[k], []).append(k)
    weights = {}
    for s, d, w in full.edges:
        weights.setdefault((kind_of[s], kind_of[d]), []).append(w)
    used_in = {a for a, _ in weights}
    inputs = [kd for kd in dict.fromkeys(in_kind.values()) if kd in used_in]
    outputs = list(dict.fromkeys(out_kind.values()))
    group, label = {}, {}
    for kd in inputs + outputs:
        ks = members[kd]
        names = in_labels if kd in inputs else out_labels
        label[kd] = names[ks[0]] if len(ks) == 1 else f"{names[ks[0]]}…{names[ks[-1]]} ({len(ks)})"
        group[kd] = full.group.get(ks[0], "task input" if kd in inputs else "task output")
    edges, edge_labels = [], {}
    for (a, b), ws in weights.items():
        edges.append((a, b, float(np.mean(ws))))
        lo, hi = min(ws), max(ws)
        spread = f"{lo:+.2f}" if hi - lo < 0.005 else f"{lo:+.1f}…{hi:+.1f}"
        edge_labels[(a, b)] = f"{len(ws)}× {spread}" if len(ws) > 1 else spread
    return laid_out(inputs + outputs, edges, inputs, outputs, group, label, edge_labels=edge_labels,
                     view="grouped", links=len(full.edges), unused_outputs=full.unused_outputs)


def bit_graph(champ, bit: int) -> NetworkGraph:
    """A hyper champion's painted controller restricted to element ``bit`` of every vector and to the
    scalars: every link between those nodes (what bit j's data path and its control look like)."""
    net = champ.network
    sub = champion_substrate(champ)
    V = sub.vector_size
    if isinstance(bit, bool) or not isinstance(bit, (int, np.integer)) or not 0 <= bit < V:
        raise EntmError(f"--bit must be an element of the vectors, 0 to {V - 1} (vector size {V}), got {bit!r}")
    keep = {k for k, n in zip(net.input_keys, sub.inputs) if n.index in (None, bit)}
    keep |= {k for k, n in zip(net.output_keys, sub.outputs) if n.index in (None, bit)}
    full = network_graph(net, champ.task, champ.spec)
    edges = [(s, d, w) for s, d, w in full.edges if s in keep and d in keep]
    inputs = [k for k in full.nodes if k in keep and k in set(net.input_keys) and any(s == k for s, _, _ in edges)]
    outputs = [k for k in full.nodes if k in keep and k in set(net.output_keys)]
    nodes = inputs + outputs
    return laid_out(nodes, edges, inputs, outputs, {k: full.group[k] for k in nodes},
                     {k: full.label[k] for k in nodes}, view="bit", links=len(full.edges))


def plot_network(champion_or_path, out_base, view: str | None = None, bit: int | None = None) -> NetworkDrawing:
    """Draw a champion (a Champion, a champion.json or a run directory) into ``out_base``: its suffix
    is the format (.png, .svg or .pdf); without one, ``out_base.png`` and ``out_base.svg``.
    ``view``: one of :data:`VIEWS` (None: ``grouped`` for a hyper champion, ``links`` otherwise;
    ``bit`` draws element ``bit`` of the vectors).  Returns the paths and the graph drawn."""
    paths = figure_paths(out_base, ("png", "svg"))
    src = open_source(champion_or_path)
    champ = src.champion("plot network")
    fig, graph = network_figure(champ, title=src.name, view=view, bit=bit)
    return NetworkDrawing(paths=[save_figure(fig, p) for p in paths], graph=graph, title=fig._suptitle.get_text())


def default_view(champ) -> str:
    """``grouped`` for a hyper-encoding champion, ``links`` for a direct one."""
    return "grouped" if champ.data.get("metadata", {}).get("entm", {}).get("encoding") == "hyper" else "links"


def view_graph(champ, view: str | None = None, bit: int | None = None) -> NetworkGraph:
    """The graph of one view of a champion (EntmError for a hyper-only view of a direct champion)."""
    if bit is not None and view in (None, "bit"):
        view = "bit"
    view = view or default_view(champ)
    if view not in VIEWS:
        raise EntmError(f"unknown network view {view!r}; expected one of {', '.join(VIEWS)}")
    if view == "links":
        return network_graph(champ.network, champ.task, champ.spec)
    if view == "grouped":
        return grouped_graph(champ)
    if view == "bit":
        if bit is None:
            raise EntmError("the bit view needs --bit J (an element of the vectors)")
        return bit_graph(champ, bit)
    sub = champion_substrate(champ)
    meta = champ.data["metadata"]["entm"]
    try:
        cppn = Network.from_json(meta.get("cppn"))
    except (EntmError, AttributeError, TypeError, KeyError) as e:
        raise EntmError(f"{champ.path}: metadata.entm.cppn: {e}") from None
    names = meta.get("substrate", {})
    return cppn_graph(cppn, names.get("cppn_inputs", sub.cppn_inputs), names.get("cppn_outputs", sub.cppn_outputs))


def network_title(champ, graph: NetworkGraph, title: str | None = None) -> str:
    """The figure's title: what is drawn, its size, and the champion's numbers said for what they are."""
    meta = champ.data.get("metadata", {}).get("entm", {})
    head = f"{title}: " if title else ""
    what = f"{head}{champ.task.name}, {champ.spec.mode} memory"
    nodes, conns = champ.network.size()
    size = f"{nodes} nodes, {conns} connections used"
    cppn = meta.get("cppn_size") if isinstance(meta.get("cppn_size"), list) else None
    cppn_size = f"a CPPN of {cppn[0]} nodes / {cppn[1]} connections" if cppn else "a CPPN"
    if graph.view == "cppn":
        n_nodes = len([k for k in graph.nodes if graph.group[k] != "CPPN input"])
        lines = [f"{what} — the CPPN that evolution changed (hyper encoding): {n_nodes} nodes, "
                 f"{len(graph.edges)} connections", f"it paints the controller ({size}); its inputs and outputs "
                 f"are named by the substrate"]
    elif graph.view == "grouped":
        lines = [f"{what} — the controller painted by {cppn_size}: {size}",
                 f"grouped by vector: a cell per (from, to) pair with links ({len(graph.edges)}), 'n× w': n links "
                 f"of weight w (a…b: weights a to b)"]
    elif graph.view == "bit":
        bit = {lab for k, lab in graph.label.items() if lab.startswith("bit")}
        lines = [f"{what} — the controller painted by {cppn_size}",
                 f"the links of {', '.join(sorted(bit)) or 'one bit'} and of the scalars: {len(graph.edges)} of its "
                 f"{graph.links} connections"]
    else:
        lines = [f"{what} — {size}" + (f", painted by {cppn_size}" if cppn else "")]
    numbers = champion_numbers(meta, champ.task)
    if numbers:
        lines.append(numbers)
    return "\n".join(lines)


def network_figure(champ, title: str | None = None, view: str | None = None, bit: int | None = None):
    """(matplotlib Figure, NetworkGraph) of a loaded champion (``view``, ``bit``: see :func:`plot_network`)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    graph = view_graph(champ, view, bit)
    if graph.view == "grouped":
        return _matrix_figure(champ, graph, title), graph
    n_cols = max(graph.column.values()) + 1 if graph.column else 1
    height_nodes = max([graph.y[k] for k in graph.nodes] + [0]) + 1
    wide = graph.view == "cppn"
    size = (max(9.0 if wide else 7.0, 2.0 * n_cols + 3.0), max(3.5, 0.36 * height_nodes + 1.8))
    check_drawing(size, len(graph.nodes) + len(graph.edges), f"a network of {len(graph.nodes)} nodes and "
                  f"{len(graph.edges)} links ({n_cols} columns)")
    fig = new_figure(*size)
    ax = fig.add_axes([0.16 if wide else 0.12, 0.08, 0.68 if wide else 0.76, 0.78])
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
        if (s, d) in graph.edge_labels:  # on the edge, a third of the way from its source
            ax.text(x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3, graph.edge_labels[(s, d)], fontsize=6.5,
                    ha="center", va="center", color=colour, zorder=4,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    for k in graph.nodes:
        x, yy = pos(k)
        g = graph.group[k]
        ax.scatter([x], [yy], s=node_size, c=_GROUP_COLOURS[g], edgecolors="#333333",
                   linewidths=0.8 if g != "unevaluated" else 0.6, linestyle="-" if g != "unevaluated" else "--",
                   zorder=3)
        if g in ("task input", "read", "CPPN input"):
            ax.text(x - 0.12, yy, graph.label[k], ha="right", va="center", fontsize=9, zorder=4)
        elif g in ("task output", "head", "CPPN output"):
            ax.text(x + 0.12, yy, graph.label[k], ha="left", va="center", fontsize=9, zorder=4)
        else:
            ax.text(x, yy - 0.32, graph.label[k], ha="center", va="top", fontsize=7.5, color="#333333",
                    zorder=4, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    ys = [pos(k)[1] for k in graph.nodes] or [0.0]
    ax.set_xlim(-0.9, n_cols - 1 + 0.9)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.6)

    fig.suptitle(network_title(champ, graph, title), fontsize=10)
    width_note = "|w|"
    handles = [Line2D([], [], color=POSITIVE, lw=2, label="positive weight"),
               Line2D([], [], color=NEGATIVE, lw=2, label="negative weight"),
               Line2D([], [], color="#777777", lw=0.4, label=f"width ∝ {width_note} (max {max_w:.3g})")]
    for g in _GROUP_COLOURS:
        if g in graph.group.values():
            handles.append(Line2D([], [], marker="o", ls="", markerfacecolor=_GROUP_COLOURS[g],
                                  markeredgecolor="#333333", markersize=8, label=_GROUP_NAMES.get(g, g)))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=min(5, len(handles)),
              fontsize=8, frameon=False)
    if graph.unused_outputs:
        ax.text(1.0, -0.02, "not evaluated (0.0): " + ", ".join(graph.unused_outputs), transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#666666")
    return fig, graph


def _matrix_figure(champ, graph: NetworkGraph, title: str | None = None):
    """The grouped view as a matrix: a row per target (output kind), a column per source (input
    kind); a cell per group of links, coloured by their mean weight (blue positive, red negative)
    and labelled ``n× a…b`` (n links, weights a to b); blank where no link."""
    from matplotlib import colormaps

    sources = [k for k in graph.nodes if graph.column[k] == 0]
    targets = [k for k in graph.nodes if k not in set(sources)]
    mat = np.full((len(targets), len(sources)), np.nan)
    for s, d, w in graph.edges:
        mat[targets.index(d), sources.index(s)] = w
    vmax = max(float(np.nanmax(np.abs(mat))) if np.isfinite(mat).any() else 1.0, 1e-12)
    fig = new_figure(max(7.5, 1.0 * len(sources) + 3.2), max(4.0, 0.42 * len(targets) + 2.4))
    ax = fig.add_axes([0.2, 0.1, 0.68, 0.74])
    im = ax.imshow(mat, cmap=colormaps["RdBu"].with_extremes(bad="#f4f4f4"), vmin=-vmax, vmax=vmax,
                   aspect="auto", interpolation="nearest")
    for s, d, w in graph.edges:
        ax.text(sources.index(s), targets.index(d), graph.edge_labels.get((s, d), f"{w:+.2f}"), ha="center",
                va="center", fontsize=7, color="white" if abs(w) > 0.6 * vmax else "#222222")
    ax.set_xticks(range(len(sources)))
    ax.set_xticklabels([graph.label[k] for k in sources], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(targets)))
    ax.set_yticklabels([graph.label[k] for k in targets], fontsize=8)
    ax.set_xlabel("from (controller inputs; a vector's elements together)", fontsize=9)
    ax.set_ylabel("to (controller outputs)", fontsize=9)
    ax.set_xticks(np.arange(len(sources) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(targets) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1.0)
    ax.tick_params(which="minor", length=0)
    cax = fig.add_axes([0.9, 0.1, 0.02, 0.74])
    fig.colorbar(im, cax=cax).set_label("mean weight of the group's links", fontsize=8)
    fig.suptitle(network_title(champ, graph, title), fontsize=9)
    return fig
