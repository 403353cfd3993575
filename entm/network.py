"""neat-python genome -> batched phenotype; neat-python network JSON in and out.

A :class:`Network` evaluates a batch of independent input rows per call and
reproduces neat-python 2.0's ``FeedForwardNetwork`` and ``RecurrentNetwork``
exactly (to rounding), quirks included:

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

Activations follow ``neat.activations`` including Python's ``max``/``min``
behaviour on NaN (``max(-60, min(60, nan)) == 60``), aggregations follow
``neat.aggregations`` (``median`` is ``neat.math_util.median2``; ties of
``max``/``min``/``maxabs`` keep the first link).  One deliberate difference:
where neat-python raises ``OverflowError`` (``square``/``cube`` of a huge
value) this module yields ``inf``.

Internally values live node-major, ``(slots, batch)``: inputs, then evaluated
nodes in stage order, then one slot that always holds 0.0.  Each feedforward
layer (and the single recurrent step) is one *stage*: the sum/mean nodes of a
stage are one matrix product, the other aggregations are computed over padded
link tables, and the activation is applied once per group of nodes sharing it.
"""

from __future__ import annotations

import json
import math
import os
import types
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np

from entm.errors import EntmError

FORMAT_VERSION = "1.0"
NETWORK_TYPES = ("feedforward", "recurrent")

__all__ = [
    "ACTIVATIONS",
    "AGGREGATIONS",
    "Network",
    "load_network_json",
    "network_json_from_genome",
]


# ---------------------------------------------------------------------------
# Activations: vectorised versions of neat.activations.
#
# Each kernel ``k(z, out)`` reads the float64 array ``z`` (which it may
# overwrite: it is scratch) and writes the activation into ``out`` (same
# shape), allocating as little as possible: this is the hot path.
# Python's ``max(lo, min(hi, z))`` maps NaN to ``hi`` (the comparisons are
# false); np.fmin/np.fmax ignore NaN in the same way (np.clip would not).


def _clamp_(z, lo, hi):
    np.fmin(z, hi, out=z)
    np.fmax(z, lo, out=z)


def _sigmoid(z, out):
    np.multiply(z, 5.0, out=z)
    _clamp_(z, -60.0, 60.0)
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    np.divide(1.0, z, out=out)


def _tanh(z, out):
    np.multiply(z, 2.5, out=z)
    _clamp_(z, -60.0, 60.0)
    np.tanh(z, out=out)


def _sin(z, out):
    np.multiply(z, 5.0, out=z)
    _clamp_(z, -60.0, 60.0)
    np.sin(z, out=out)


def _gauss(z, out):
    _clamp_(z, -3.4, 3.4)
    np.multiply(z, z, out=z)
    np.multiply(z, -5.0, out=z)
    np.exp(z, out=out)


def _relu(z, out):
    np.fmax(z, 0.0, out=out)  # z if z > 0 else 0.0 (NaN -> 0.0)


def _elu(z, out):
    pos = z > 0.0
    np.exp(z, out=out)
    np.subtract(out, 1.0, out=out)
    np.copyto(out, z, where=pos)


def _lelu(z, out):
    pos = z > 0.0
    np.multiply(z, 0.005, out=out)
    np.copyto(out, z, where=pos)


_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_LAMBDA_ALPHA = _SELU_LAMBDA * 1.6732632423543772848170429916717  # Python: lam * alpha * (...)


def _selu(z, out):
    pos = z > 0.0
    np.exp(z, out=out)
    np.subtract(out, 1.0, out=out)
    np.multiply(out, _SELU_LAMBDA_ALPHA, out=out)
    np.multiply(z, _SELU_LAMBDA, out=z)
    np.copyto(out, z, where=pos)


def _softplus(z, out):
    np.multiply(z, 5.0, out=z)
    _clamp_(z, -60.0, 60.0)
    np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    np.log(z, out=out)
    np.multiply(out, 0.2, out=out)


def _identity(z, out):
    np.copyto(out, z)


def _clamped(z, out):
    np.fmin(z, 1.0, out=z)
    np.fmax(z, -1.0, out=out)


def _inv(z, out):
    zero = z == 0.0  # Python raises ZeroDivisionError there (+0.0 and -0.0): 0.0
    np.divide(1.0, z, out=out)
    np.copyto(out, 0.0, where=zero)


def _log(z, out):
    np.fmax(z, 1e-7, out=z)  # max(1e-7, z), NaN -> 1e-7
    np.log(z, out=out)


def _exp(z, out):
    _clamp_(z, -60.0, 60.0)
    np.exp(z, out=out)


def _abs(z, out):
    np.abs(z, out=out)


def _hat(z, out):
    np.abs(z, out=z)
    np.subtract(1.0, z, out=z)
    np.fmax(z, 0.0, out=out)  # max(0.0, 1 - |z|), NaN -> 0.0


def _square(z, out):
    np.multiply(z, z, out=out)


def _cube(z, out):
    np.power(z, 3.0, out=out)


_KERNELS = {
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "sin": _sin,
    "gauss": _gauss,
    "relu": _relu,
    "elu": _elu,
    "lelu": _lelu,
    "selu": _selu,
    "softplus": _softplus,
    "identity": _identity,
    "clamped": _clamped,
    "inv": _inv,
    "log": _log,
    "exp": _exp,
    "abs": _abs,
    "hat": _hat,
    "square": _square,
    "cube": _cube,
}


def _public_activation(kernel):
    def activation(z):
        z = np.array(z, dtype=np.float64)  # a copy: the kernel overwrites it
        out = np.empty_like(z)
        with np.errstate(all="ignore"):
            kernel(z, out)
        return out

    activation.__name__ = kernel.__name__.lstrip("_")
    activation.__doc__ = f"neat-python's {activation.__name__} activation, elementwise on an array."
    return activation


#: name -> elementwise function on arrays (a new array back), as neat.activations
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {n: _public_activation(k) for n, k in _KERNELS.items()}

AGGREGATIONS = ("sum", "product", "max", "min", "maxabs", "median", "mean")
_LINEAR_AGGREGATIONS = ("sum", "mean")
_add_reduce = np.add.reduce


# ---------------------------------------------------------------------------
# The network description shared by the genome and JSON paths.


@dataclass
class _NodeSpec:
    key: int
    activation: str
    aggregation: str
    bias: float
    response: float
    links: list = field(default_factory=list)  # [(source key, weight)] in neat-python's order


def _median_py(values: list) -> float:
    """neat.aggregations.median_aggregation (neat.math_util.median2), in Python."""
    n = len(values)
    if n == 0:
        return 0.0
    if n <= 2:
        return sum(float(v) for v in values) / n
    vals = sorted(values)  # list.sort, with its own (odd) NaN behaviour
    if n % 2 == 1:
        return vals[n // 2]
    i = n // 2
    return (vals[i - 1] + vals[i]) / 2.0


class _AggGroup:
    """Nodes of one stage sharing a non-linear aggregation (or the exact
    fallback of the linear ones): padded link tables."""

    def __init__(self, kind, cols, links_per_node, zero_slot):
        self.kind = kind
        self.cols = np.asarray(cols, dtype=np.intp)
        n = np.array([len(lk) for lk in links_per_node], dtype=np.intp)
        k = max(1, int(n.max()) if len(n) else 1)
        src = np.full((len(links_per_node), k), zero_slot, dtype=np.intp)
        w = np.zeros((len(links_per_node), k), dtype=np.float64)
        for r, lk in enumerate(links_per_node):
            for c, (s, wt) in enumerate(lk):
                src[r, c] = s
                w[r, c] = wt
        self.n = n
        self.k = k
        self.src = src
        self.w = w[:, :, None]
        self.mask = np.arange(k)[None, :] < n[:, None]  # (L, K)
        # per column k: None when every node has a link there, else (L, 1) mask
        self.col_mask = [None if self.mask[:, c].all() else self.mask[:, c:c + 1] for c in range(k)]
        self.any_empty = bool((n == 0).any())
        self.empty = (n == 0)[:, None]
        self.divisor = np.maximum(n, 1).astype(np.float64)[:, None]
        self.odd = (n % 2 == 1)[:, None]
        self.hi = n // 2
        self.lo = np.maximum(n // 2 - 1, 0)
        self.rows = np.arange(len(n))

    def compute(self, V):
        t = V[self.src] * self.w  # (L, K, B); padding reads the zero slot with weight 0
        kind = self.kind
        if kind in ("sum", "mean"):
            acc = t[:, 0] + 0.0  # Python: 0 + t0 + t1 + ...
            for c in range(1, self.k):
                acc = acc + t[:, c]  # padding adds 0.0
            if kind == "mean":
                acc = acc / self.divisor
            return acc
        if kind == "product":
            acc = t[:, 0]
            if self.col_mask[0] is not None:
                acc = np.where(self.col_mask[0], acc, 1.0)  # product([]) == 1.0
            for c in range(1, self.k):
                m = self.col_mask[c]
                acc = acc * t[:, c] if m is None else np.where(m, acc * t[:, c], acc)
            return acc
        if kind in ("max", "min", "maxabs"):
            acc = t[:, 0]  # empty: 0.0 (zero slot times weight 0)
            for c in range(1, self.k):
                tc = t[:, c]
                if kind == "max":
                    upd = tc > acc
                elif kind == "min":
                    upd = tc < acc
                else:
                    upd = np.abs(tc) > np.abs(acc)
                m = self.col_mask[c]
                if m is not None:
                    upd &= m
                acc = np.where(upd, tc, acc)
            return acc
        if kind == "median":
            masked = np.where(self.mask[:, :, None], t, np.inf)
            s = np.sort(masked, axis=1)
            hi = s[self.rows, self.hi]
            lo = s[self.rows, self.lo]
            res = np.where(self.odd, hi, (lo + hi) / 2.0)
            if self.any_empty:
                res = np.where(self.empty, 0.0, res)
            bad = np.isnan(masked).any(axis=1)  # Python's sort differs with NaN
            if bad.any():
                for r, b in zip(*np.nonzero(bad)):
                    res[r, b] = _median_py([float(x) for x in t[r, : self.n[r], b]])
            return res
        raise AssertionError(kind)  # pragma: no cover


class _Stage:
    """Nodes computed together from one buffer; their output slots are
    ``slot0 .. slot0 + L`` (nodes ordered so activation groups are contiguous)."""

    def __init__(self, nodes: list, slot_of: dict, zero_slot: int, slot0: int):
        self.slot0 = slot0
        self.size = len(nodes)
        self.bias = np.array([nd.bias for nd in nodes], dtype=np.float64)[:, None]
        self.resp = np.array([nd.response for nd in nodes], dtype=np.float64)[:, None]

        links = [[(slot_of.get(s, zero_slot), float(w)) for s, w in nd.links] for nd in nodes]
        lin_cols = [i for i, nd in enumerate(nodes) if nd.aggregation in _LINEAR_AGGREGATIONS]
        self.lin_all = len(lin_cols) == len(nodes)
        self.lin_cols = np.asarray(lin_cols, dtype=np.intp)
        self.lin = None
        if lin_cols:
            # Links from never-evaluated nodes (the zero slot) add exactly 0: left
            # out of the dense matrix (they still count for 'mean').
            live = [[(s, w) for s, w in links[i] if s != zero_slot] for i in lin_cols]
            srcs = sorted({s for lk in live for s, _ in lk})
            pos = {s: j for j, s in enumerate(srcs)}
            wt = np.zeros((len(lin_cols), len(srcs)), dtype=np.float64)
            for r, lk in enumerate(live):
                for s, w in lk:
                    wt[r, pos[s]] = w
            # The same source twice into one node (hand-written JSON only) is
            # summed link by link, as neat-python does.
            self.lin_dups = any(len({s for s, _ in lk}) != len(lk) for lk in live)
            self.lin_src = np.asarray(srcs, dtype=np.intp)
            self.lin_w = wt
            is_mean = np.array([nodes[i].aggregation == "mean" for i in lin_cols])
            counts = np.array([max(1, len(links[i])) for i in lin_cols], dtype=np.float64)
            self.lin_div = np.where(is_mean, counts, 1.0)[:, None] if is_mean.any() else None
            # exact, link-by-link version (used when the matrix product gives NaN)
            self.lin_exact = [
                (np.asarray(rows, dtype=np.intp),
                 _AggGroup(kind, [lin_cols[r] for r in rows], [links[lin_cols[r]] for r in rows], zero_slot))
                for kind, rows in _group_rows([nodes[i].aggregation for i in lin_cols])
            ]
            self.lin = True
        self.others = [
            _AggGroup(kind, [i for i in rows], [links[i] for i in rows], zero_slot)
            for kind, rows in _group_rows([nd.aggregation for nd in nodes])
            if kind not in _LINEAR_AGGREGATIONS
        ]
        # activation groups: contiguous runs of rows
        self.acts = []
        start = 0
        for i in range(1, len(nodes) + 1):
            if i == len(nodes) or nodes[i].activation != nodes[start].activation:
                self.acts.append((_KERNELS[nodes[start].activation], start, i))
                start = i
        self.batch = None

    def alloc(self, batch: int):
        """Work buffers for ``batch`` rows (the hot path allocates next to nothing)."""
        self.batch = batch
        self.agg = np.empty((self.size, batch))
        if self.lin is not None:
            self.lin_agg = self.agg if self.lin_all else np.empty((len(self.lin_cols), batch))
            src = self.lin_src
            contiguous = len(src) > 0 and src[-1] - src[0] + 1 == len(src)
            self.lin_slice = slice(int(src[0]), int(src[-1]) + 1) if contiguous else None
            self.lin_x = None if contiguous else np.empty((len(src), batch))

    def _linear(self, V):
        agg = self.lin_agg
        if self.lin_dups:
            agg[...] = self._linear_exact(V)
            return agg
        if self.lin_slice is not None:
            x = V[self.lin_slice]
        else:
            x = V.take(self.lin_src, axis=0, out=self.lin_x, mode="clip")
        np.matmul(self.lin_w, x, out=agg)
        if self.lin_div is not None:
            np.divide(agg, self.lin_div, out=agg)
        s = _add_reduce(agg, axis=None)
        if s != s:
            # NaN: maybe 0 * inf from the dense product, or a real one; recompute
            # in neat-python's order, link by link.
            agg[...] = self._linear_exact(V)
        return agg

    def _linear_exact(self, V):
        agg = np.empty((len(self.lin_cols), V.shape[1]))
        for rows, g in self.lin_exact:
            agg[rows] = g.compute(V)
        return agg

    def run(self, V):
        """Compute this stage's nodes from buffer V and write them into
        ``V[slot0:slot0 + size]`` (every read of V happens before the first write)."""
        if self.batch != V.shape[1]:
            self.alloc(V.shape[1])
        if self.lin_all:
            agg = self._linear(V)
        else:
            agg = self.agg
            if self.lin is not None:
                agg[self.lin_cols] = self._linear(V)
            for g in self.others:
                agg[g.cols] = g.compute(V)
        np.multiply(agg, self.resp, out=agg)  # bias + response * agg
        np.add(agg, self.bias, out=agg)
        s0 = self.slot0
        for kernel, a, b in self.acts:
            kernel(agg[a:b], V[s0 + a:s0 + b])


def _group_rows(kinds: list):
    groups: dict = {}
    for i, k in enumerate(kinds):
        groups.setdefault(k, []).append(i)
    return list(groups.items())


# ---------------------------------------------------------------------------


class Network:
    """A compiled phenotype that evaluates a batch of input rows per call."""

    def __init__(self, input_keys, output_keys, nodes: list, recurrent: bool):
        """``nodes``: [_NodeSpec] in neat-python's ``node_evals`` order."""
        self.input_keys = [int(k) for k in input_keys]
        self.output_keys = [int(k) for k in output_keys]
        self.num_inputs = len(self.input_keys)
        self.num_outputs = len(self.output_keys)
        self.recurrent = bool(recurrent)
        self._nodes = nodes
        self._n_eval = len(nodes)
        self._compiled = False  # the numpy evaluation plan is built on first use (entm.fast needs none)
        self._buf = None
        self._batch = None

    # -- construction --------------------------------------------------------

    @classmethod
    def from_genome(cls, genome, genome_config, feed_forward: bool | None = None) -> "Network":
        gc = getattr(genome_config, "genome_config", genome_config)
        if feed_forward is None:
            feed_forward = bool(gc.feed_forward)
        input_keys = list(gc.input_keys)
        output_keys = list(gc.output_keys)
        nodes = _node_evals(genome, gc, input_keys, output_keys, feed_forward)
        return cls(input_keys, output_keys, nodes, recurrent=not feed_forward)

    @classmethod
    def from_json(cls, data: dict) -> "Network":
        try:
            return _parse_network(data)
        except _FormatError as e:
            raise EntmError(f"invalid network JSON: {e}") from None

    def _compile(self):
        ni = self.num_inputs
        nodes = self._nodes
        constants, stages_nodes = [], []
        if self.recurrent:
            stages_nodes = [list(nodes)] if nodes else []
        else:
            level = {k: 0 for k in self.input_keys}
            by_level: dict = {}
            for nd in nodes:
                if not nd.links:
                    level[nd.key] = 0
                    constants.append(nd)
                    continue
                lv = 1 + max(level[s] for s, _ in nd.links)  # sources validated earlier
                level[nd.key] = lv
                by_level.setdefault(lv, []).append(nd)
            stages_nodes = [by_level[lv] for lv in sorted(by_level)]
        # order each stage by activation (stable) so activation groups are contiguous
        order = {}
        for st in stages_nodes:
            for nd in st:
                order.setdefault(nd.activation, len(order))
        stages_nodes = [sorted(st, key=lambda nd: order[nd.activation]) for st in stages_nodes]

        slot_of = {k: i for i, k in enumerate(self.input_keys)}
        nxt = ni
        for nd in constants:
            slot_of[nd.key] = nxt
            nxt += 1
        stage_slot0 = []
        for st in stages_nodes:
            stage_slot0.append(nxt)
            for nd in st:
                slot_of[nd.key] = nxt
                nxt += 1
        self._zero = nxt
        self._nslots = nxt + 1
        self._slot_of = slot_of
        self._stages = [
            _Stage(st, slot_of, self._zero, s0) for st, s0 in zip(stages_nodes, stage_slot0)
        ]
        self._out_idx = np.array([slot_of.get(k, self._zero) for k in self.output_keys], dtype=np.intp)
        # constant ("bias neuron") values, feedforward only
        self._const_slot0 = ni
        if constants:
            cst = _Stage(constants, {}, 0, 1)
            scratch = np.zeros((1 + len(constants), 1))
            with np.errstate(all="ignore"):
                cst.run(scratch)
            self._const_vals = scratch[1:]  # (C, 1)
        else:
            self._const_vals = None
        self._n_eval = len(nodes)

    # -- evaluation ----------------------------------------------------------

    def reset(self, batch: int) -> None:
        """(Re)initialise state for ``batch`` independent rows (recurrent state zeroed)."""
        batch = int(batch)
        if batch < 0:
            raise ValueError(f"batch must be >= 0, got {batch}")
        if not self._compiled:
            self._compile()
            self._compiled = True
        self._buf = np.zeros((self._nslots, batch), dtype=np.float64)
        if self._const_vals is not None:
            c0 = self._const_slot0
            self._buf[c0:c0 + len(self._const_vals)] = self._const_vals
        self._obuf = np.empty((self.num_outputs, batch), dtype=np.float64)
        for st in self._stages:
            st.alloc(batch)
        self._batch = batch

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        """``(B, num_inputs)`` -> ``(B, num_outputs)``, float64.  A recurrent
        network advances its state one step per call (call ``reset(B)`` first)."""
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_inputs:
            raise ValueError(f"expected inputs of shape (batch, {self.num_inputs}), got {x.shape}")
        b = x.shape[0]
        if self._batch != b:
            if self.recurrent and self._batch is not None:
                raise ValueError(
                    f"recurrent network holds state for {self._batch} rows, got {b}; call reset({b}) first")
            self.reset(b)
        V = self._buf
        V[: self.num_inputs] = x.T
        with np.errstate(all="ignore"):
            # feedforward: one stage per layer, in order; recurrent: a single stage
            # whose aggregations all read the previous step's values
            for st in self._stages:
                st.run(V)
        V.take(self._out_idx, axis=0, out=self._obuf, mode="clip")
        return self._obuf.T.copy()

    def size(self) -> tuple[int, int]:
        """(evaluated non-input nodes, connections used)."""
        return self._n_eval, sum(len(nd.links) for nd in self._nodes)

    # -- export --------------------------------------------------------------

    def to_json_dict(self, metadata: dict | None = None) -> dict:
        """The dict ``neat.export.export_network_json`` would write for this network."""
        nodes, conns = [], []
        outs = set(self.output_keys)
        for nd in self._nodes:
            nodes.append({
                "id": nd.key,
                "type": "output" if nd.key in outs else "hidden",
                "activation": {"name": nd.activation, "custom": False},
                "aggregation": {"name": nd.aggregation, "custom": False},
                "bias": nd.bias,
                "response": nd.response,
            })
            for s, w in nd.links:
                conns.append({"from": s, "to": nd.key, "weight": w, "enabled": True})
        for k in self.input_keys:
            nodes.append({
                "id": k,
                "type": "input",
                "activation": {"name": "identity", "custom": False},
                "aggregation": {"name": "none", "custom": False},
                "bias": 0.0,
                "response": 1.0,
            })
        meta = {
            "created_timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z",
            "neat_python_version": _neat_version(),
        }
        if metadata:
            meta.update(metadata)
        return {
            "format_version": FORMAT_VERSION,
            "network_type": "recurrent" if self.recurrent else "feedforward",
            "metadata": meta,
            "topology": {
                "num_inputs": self.num_inputs,
                "num_outputs": self.num_outputs,
                "input_keys": list(self.input_keys),
                "output_keys": list(self.output_keys),
            },
            "nodes": nodes,
            "connections": conns,
        }

    def __repr__(self) -> str:
        n, c = self.size()
        kind = "recurrent" if self.recurrent else "feedforward"
        return f"Network({kind}, inputs={self.num_inputs}, outputs={self.num_outputs}, nodes={n}, connections={c})"


def _neat_version() -> str:
    try:
        import neat

        return getattr(neat, "__version__", "1.1.0")
    except Exception:  # pragma: no cover
        return "1.1.0"


# ---------------------------------------------------------------------------
# Genome -> node_evals, as neat-python builds them.


def _function_name(defs, name: str, module: str, what: str) -> str:
    """The exported name of a genome's activation/aggregation, checking it is built in."""
    try:
        fn = defs.get(name)
    except Exception:
        raise EntmError(f"genome uses unknown {what} function {name!r}") from None
    if getattr(fn, "__module__", None) != module:
        raise EntmError(f"genome uses custom {what} function {name!r}; only neat-python's built-ins are supported")
    return fn.__name__.replace(f"_{what}", "")


def _node_spec(genome, gc, key: int, links: list) -> _NodeSpec:
    ng = genome.nodes.get(key)
    if ng is None:
        raise EntmError(f"genome {getattr(genome, 'key', '?')} has a connection to node {key}, which it lacks")
    act = _function_name(gc.activation_defs, ng.activation, "neat.activations", "activation")
    agg = _function_name(gc.aggregation_function_defs, ng.aggregation, "neat.aggregations", "aggregation")
    return _NodeSpec(int(key), act, agg, float(ng.bias), float(ng.response), links)


def _ff_order(input_keys, output_keys, conns) -> tuple[list, set]:
    """The nodes neat-python's ``FeedForwardNetwork`` evaluates, in an order where every
    node follows its sources, and the required set.

    Same node set as ``neat.graphs.feed_forward_layers`` (required nodes without
    incoming connections first, as "bias neurons"; then every required node
    once all its required sources are done; nodes on a cycle never), in
    linear time instead of its quadratic scan.  Values do not depend on the
    order among ready nodes.
    """
    from neat.graphs import required_for_output

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
    """neat-python's rules for what a phenotype evaluates, in one place.

    ``conn_keys``: every connection key of the genome, in its order;
    ``enabled_keys``: the enabled ones, in the same order.  Returns the nodes
    to evaluate (feedforward: an order where sources come first, as
    ``FeedForwardNetwork.create``; recurrent: ``RecurrentNetwork.create``'s
    order) and, per node, its links as connection keys in neat-python's order.
    """
    from neat.graphs import required_for_output

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


def _node_evals(genome, gc, input_keys, output_keys, feed_forward: bool) -> list:
    conns = genome.connections
    enabled = [k for k, cg in conns.items() if cg.enabled]
    order, incoming = evaluated_links(input_keys, output_keys, list(conns), enabled, feed_forward)
    return [_node_spec(genome, gc, node, [(ck[0], float(conns[ck].weight)) for ck in incoming.get(node, ())])
            for node in order]


def network_json_from_genome(genome, genome_config, metadata=None) -> dict:
    """Build neat-python's own network (FeedForwardNetwork or RecurrentNetwork per
    ``genome_config.feed_forward``), export it with ``neat.export.export_network_json``
    and return the parsed dict."""
    import neat
    from neat.export import export_network_json

    gc = getattr(genome_config, "genome_config", genome_config)
    cfg = types.SimpleNamespace(genome_config=gc)
    if gc.feed_forward:
        net = neat.nn.FeedForwardNetwork.create(genome, cfg)
    else:
        net = neat.nn.RecurrentNetwork.create(genome, cfg)
    return json.loads(export_network_json(net, metadata=metadata))


# ---------------------------------------------------------------------------
# JSON -> Network, with validation.


class _FormatError(Exception):
    pass


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite_number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _FormatError(f"{what} must be a number, got {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise _FormatError(f"{what} is not finite ({v!r})")
    return f


def _need(d: dict, key: str, where: str):
    if key not in d:
        raise _FormatError(f"missing key {key!r}{where}")
    return d[key]


def _function_field(node: dict, key: str, names, where: str) -> str:
    f = _need(node, key, where)
    if isinstance(f, str):
        name, custom = f, False
    elif isinstance(f, dict):
        name = _need(f, "name", f" in {key}{where}")
        custom = f.get("custom", False)
    else:
        raise _FormatError(f"{key}{where} must be an object with a 'name', got {f!r}")
    if custom:
        raise _FormatError(f"custom {key} {name!r}{where} is not supported")
    if name not in names:
        raise _FormatError(f"unknown {key} {name!r}{where}")
    return name


def _parse_network(data) -> Network:
    if not isinstance(data, dict):
        raise _FormatError(f"expected a JSON object at the top level, got {type(data).__name__}")
    for key in ("format_version", "network_type", "metadata", "topology", "nodes", "connections"):
        _need(data, key, "")
    if data["format_version"] != FORMAT_VERSION:
        raise _FormatError(f"unsupported format_version {data['format_version']!r} (expected {FORMAT_VERSION!r})")
    ntype = data["network_type"]
    if ntype not in NETWORK_TYPES:
        raise _FormatError(f"unsupported network_type {ntype!r} (expected 'feedforward' or 'recurrent')")
    recurrent = ntype == "recurrent"
    if not isinstance(data["metadata"], dict):
        raise _FormatError("'metadata' must be an object")

    topo = data["topology"]
    if not isinstance(topo, dict):
        raise _FormatError("'topology' must be an object")
    for key in ("num_inputs", "num_outputs", "input_keys", "output_keys"):
        _need(topo, key, " in 'topology'")
    in_keys, out_keys = topo["input_keys"], topo["output_keys"]
    for name, keys in (("input_keys", in_keys), ("output_keys", out_keys)):
        if not isinstance(keys, list) or not all(_is_int(k) for k in keys):
            raise _FormatError(f"topology {name} must be a list of integers")
        if len(set(keys)) != len(keys):
            raise _FormatError(f"topology {name} has duplicates")
    if topo["num_inputs"] != len(in_keys):
        raise _FormatError(f"topology num_inputs {topo['num_inputs']!r} does not match {len(in_keys)} input_keys")
    if topo["num_outputs"] != len(out_keys):
        raise _FormatError(f"topology num_outputs {topo['num_outputs']!r} does not match {len(out_keys)} output_keys")
    in_set, out_set = set(in_keys), set(out_keys)
    if in_set & out_set:
        raise _FormatError(f"keys {sorted(in_set & out_set)} are both inputs and outputs")

    raw_nodes, raw_conns = data["nodes"], data["connections"]
    if not isinstance(raw_nodes, list):
        raise _FormatError("'nodes' must be a list")
    if not isinstance(raw_conns, list):
        raise _FormatError("'connections' must be a list")

    specs: list = []
    seen: set = set()
    for i, node in enumerate(raw_nodes):
        where = f" in nodes[{i}]"
        if not isinstance(node, dict):
            raise _FormatError(f"nodes[{i}] must be an object")
        key = _need(node, "id", where)
        if not _is_int(key):
            raise _FormatError(f"node id {key!r}{where} must be an integer")
        where = f" in node {key}"
        if key in seen:
            raise _FormatError(f"duplicate node id {key}")
        seen.add(key)
        ntype_ = _need(node, "type", where)
        if ntype_ not in ("input", "hidden", "output"):
            raise _FormatError(f"invalid node type {ntype_!r}{where}")
        if ntype_ == "input":
            if key not in in_set:
                raise _FormatError(f"node {key} has type 'input' but is not in topology input_keys")
            continue
        if key in in_set:
            raise _FormatError(f"node {key} is an input key but has type {ntype_!r}")
        if (ntype_ == "output") != (key in out_set):
            raise _FormatError(f"node {key} has type {ntype_!r}, which does not match topology output_keys")
        act = _function_field(node, "activation", ACTIVATIONS, where)
        agg = _function_field(node, "aggregation", AGGREGATIONS, where)
        bias = _finite_number(_need(node, "bias", where), f"bias of node {key}")
        resp = _finite_number(_need(node, "response", where), f"response of node {key}")
        specs.append(_NodeSpec(key, act, agg, bias, resp, []))

    pos = {nd.key: j for j, nd in enumerate(specs)}
    for i, conn in enumerate(raw_conns):
        where = f" in connections[{i}]"
        if not isinstance(conn, dict):
            raise _FormatError(f"connections[{i}] must be an object")
        src = _need(conn, "from", where)
        dst = _need(conn, "to", where)
        if not _is_int(src) or not _is_int(dst):
            raise _FormatError(f"connection endpoints{where} must be integers, got {src!r} -> {dst!r}")
        w = _finite_number(_need(conn, "weight", where), f"weight of connection {src} -> {dst}")
        enabled = conn.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _FormatError(f"'enabled' of connection {src} -> {dst} must be true or false")
        if not enabled:
            continue
        if dst in in_set:
            raise _FormatError(f"connection {src} -> {dst} goes into input node {dst}")
        if dst not in pos:
            raise _FormatError(f"connection {src} -> {dst} goes to unknown node {dst}")
        if src not in in_set:
            if src not in pos:
                if not recurrent:
                    raise _FormatError(f"connection {src} -> {dst} comes from unknown node {src}")
                # recurrent: a node that is never evaluated reads 0.0 (as in neat-python)
            elif not recurrent and pos[src] >= pos[dst]:
                raise _FormatError(
                    f"feedforward connection {src} -> {dst} reads node {src}, which is not evaluated before node {dst}")
        specs[pos[dst]].links.append((src, w))
    return Network(in_keys, out_keys, specs, recurrent)


def load_network_json(path) -> tuple[Network, dict]:
    """Read a neat-python network JSON file (a champion.json, say) and build its
    network.  Returns ``(network, parsed dict)``; any problem raises EntmError
    naming the file."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise EntmError(f"{name}: cannot read network file: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EntmError(f"{name}: not a network JSON file (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        what = "truncated JSON" if e.pos >= len(text.rstrip()) else "invalid JSON"
        raise EntmError(f"{name}: {what} (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise EntmError(f"{name}: invalid JSON (nested too deeply)") from None
    try:
        net = _parse_network(data)
    except _FormatError as e:
        raise EntmError(f"{name}: invalid network JSON: {e}") from None
    return net, data
