"""A phenotype's description, and neat-python's network JSON in and out.

A :class:`Network` is what a genome (or a network JSON file) evaluates: input
and output keys, the evaluated nodes in evaluation order with their functions,
bias, response and links (:class:`~entm.phenotype.rules.NodeSpec`), and whether
it is recurrent.  It is evaluated by the compiled kernels, alone
(:meth:`Network.activate`, for a few calls) or packed with many others
(:class:`~entm.phenotype.pack.Packed`, what the machine runs).  The results
are neat-python 2.0's ``FeedForwardNetwork``/``RecurrentNetwork`` ``activate``
to the last bit (:mod:`entm.phenotype.rules`, :mod:`entm.phenotype.kernels`).

The JSON format is neat-python's ``neat.export.export_network_json`` (format
version 1.0); reading it validates everything and reports the first problem in
one line (docs/design.md, "Run directory").
"""

from __future__ import annotations

import json
import math
import os
import types
from datetime import datetime, timezone

import neat
import numpy as np
from neat.export import export_network_json

from entm.budget import check_network_file
from entm.errors import EntmError
from entm.phenotype.functions import ACTIVATION_CODES, AGGREGATION_CODES
from entm.phenotype.pack import Packed, PopulationStepper
from entm.phenotype.rules import NodeSpec, node_specs

FORMAT_VERSION = "1.0"
NETWORK_TYPES = ("feedforward", "recurrent")


class Network:
    """A phenotype: keys, evaluated nodes (in evaluation order) and links."""

    def __init__(self, input_keys, output_keys, nodes: list, recurrent: bool):
        """``nodes``: [NodeSpec] in neat-python's evaluation order."""
        self.input_keys = [int(k) for k in input_keys]
        self.output_keys = [int(k) for k in output_keys]
        self.num_inputs = len(self.input_keys)
        self.num_outputs = len(self.output_keys)
        self.recurrent = bool(recurrent)
        self.nodes = list(nodes)
        self._stepper = None

    # -- construction --------------------------------------------------------

    @classmethod
    def from_genome(cls, genome, genome_config, feed_forward: bool | None = None) -> "Network":
        gc = getattr(genome_config, "genome_config", genome_config)
        if feed_forward is None:
            feed_forward = bool(gc.feed_forward)
        input_keys = list(gc.input_keys)
        output_keys = list(gc.output_keys)
        nodes = node_specs(genome, gc, input_keys, output_keys, feed_forward)
        return cls(input_keys, output_keys, nodes, recurrent=not feed_forward)

    @classmethod
    def from_json(cls, data: dict) -> "Network":
        try:
            return _parse_network(data)
        except _FormatError as e:
            raise EntmError(f"invalid network JSON: {e}") from None

    # -- evaluation (compiled) -------------------------------------------------

    def reset(self, batch: int) -> None:
        """(Re)initialise state for ``batch`` independent rows (recurrent state zeroed)."""
        batch = int(batch)
        if batch < 0:
            raise ValueError(f"batch must be >= 0, got {batch}")
        self._stepper = PopulationStepper(Packed([self]), batch)

    def activate(self, inputs: np.ndarray) -> np.ndarray:
        """``(B, num_inputs)`` -> ``(B, num_outputs)``, float64.  A recurrent
        network advances its state one step per call (call ``reset(B)`` first)."""
        x = np.ascontiguousarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_inputs:
            raise ValueError(f"expected inputs of shape (batch, {self.num_inputs}), got {x.shape}")
        b = x.shape[0]
        if self._stepper is None or self._stepper.B != b:
            if self.recurrent and self._stepper is not None:
                raise ValueError(f"recurrent network holds state for {self._stepper.B} rows, got {b}; "
                                 f"call reset({b}) first")
            self.reset(b)
        y = np.empty((b, self.num_outputs))
        self._stepper.step(x, y)
        return y

    def size(self) -> tuple[int, int]:
        """(evaluated non-input nodes, connections used)."""
        return len(self.nodes), sum(len(nd.links) for nd in self.nodes)

    # -- export --------------------------------------------------------------

    def to_json_dict(self, metadata: dict | None = None) -> dict:
        """The dict ``neat.export.export_network_json`` would write for this network."""
        nodes, conns = [], []
        outs = set(self.output_keys)
        for nd in self.nodes:
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
    return getattr(neat, "__version__", "1.1.0")


def network_json_from_genome(genome, genome_config, metadata=None) -> dict:
    """Build neat-python's own network (FeedForwardNetwork or RecurrentNetwork per
    ``genome_config.feed_forward``), export it with ``neat.export.export_network_json``
    and return the parsed dict."""
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
        act = _function_field(node, "activation", ACTIVATION_CODES, where)
        agg = _function_field(node, "aggregation", AGGREGATION_CODES, where)
        bias = _finite_number(_need(node, "bias", where), f"bias of node {key}")
        resp = _finite_number(_need(node, "response", where), f"response of node {key}")
        specs.append(NodeSpec(key, act, agg, bias, resp, []))

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
    check_network_file(name)  # /dev/zero, a huge file: refused before a byte is read
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
