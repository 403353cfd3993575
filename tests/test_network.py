"""entm.phenotype against real neat-python 2.0 (no mocks).

Random genomes are grown through neat-python itself (high add-node / add-conn /
toggle-enable rates, every activation and aggregation), then the batched
:class:`entm.phenotype.Network` (the compiled kernels) is compared with neat-python's own
``FeedForwardNetwork`` / ``RecurrentNetwork``, one row (one neat net) at a time.
"""

from __future__ import annotations

import copy
import json
import math
import re

import neat
import numpy as np
import pytest
from helpers import (
    ALL_ACTIVATIONS,
    ALL_AGGREGATIONS,
    NUM_INPUTS,
    NUM_OUTPUTS,
    make_random_config,
    neat_factory,
    neat_run,
    random_genomes,
    random_inputs,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from neat.export import export_network_json

from entm.errors import EntmError
from entm.phenotype import (
    ACTIVATIONS,
    AGGREGATIONS,
    Network,
    load_network_json,
    network_json_from_genome,
)
from entm.phenotype.kernels import activate, activation_value

# -- helpers --------------------------------------------------------------------


def _node(key, act, agg, bias, resp, typ):
    return {"id": key, "type": typ, "activation": {"name": act, "custom": False},
            "aggregation": {"name": agg, "custom": False}, "bias": bias, "response": resp}


def _tiny_json() -> dict:
    return {
        "format_version": "1.0",
        "network_type": "feedforward",
        "metadata": {"created_timestamp": "2025-01-01T00:00:00Z"},
        "topology": {"num_inputs": 1, "num_outputs": 1, "input_keys": [-1], "output_keys": [0]},
        "nodes": [_node(0, "sigmoid", "sum", 0.5, 2.0, "output"), _node(-1, "identity", "none", 0.0, 1.0, "input")],
        "connections": [{"from": -1, "to": 0, "weight": 1.5, "enabled": True}],
    }


def _genome_state(g):
    nodes = [(k, n.key, n.bias, n.response, n.activation, n.aggregation) for k, n in g.nodes.items()]
    conns = [(k, c.key, c.weight, c.enabled, c.innovation) for k, c in g.connections.items()]
    return g.key, nodes, conns, g.fitness


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    d = tmp_path_factory.mktemp("neatcfg")
    return {ff: make_random_config(d / f"ff_{ff}.ini", ff) for ff in (True, False)}


@pytest.fixture(scope="module")
def genomes(configs):
    return {ff: random_genomes(configs[ff], 1234 + int(ff), 45) for ff in (True, False)}


def _compare(net: Network, make_neat_net, xs):
    expected = neat_run(make_neat_net, xs)
    net.reset(xs[0].shape[0])
    got = [net.activate(x) for x in xs]
    keep = [b for b, r in enumerate(expected) if r is not None]
    for t, g in enumerate(got):
        assert g.shape == (xs[0].shape[0], net.num_outputs) and g.dtype == np.float64
        want = np.array([expected[b][t] for b in keep], dtype=np.float64).reshape(len(keep), net.num_outputs)
        np.testing.assert_allclose(g[keep], want, rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=f"step {t}")
    return len(keep)


# ---------------------------------------------------------------------------


def test_random_genomes_are_varied(genomes, configs):
    """The generator really produces what the comparisons are meant to cover."""
    for ff in (True, False):
        gs = genomes[ff]
        hidden = sum(len([k for k in g.nodes if k >= NUM_OUTPUTS]) for g in gs)
        disabled = sum(not c.enabled for g in gs for c in g.connections.values())
        acts = {n.activation for g in gs for n in g.nodes.values()}
        aggs = {n.aggregation for g in gs for n in g.nodes.values()}
        assert hidden > 100 and disabled > 50
        assert acts == set(ALL_ACTIVATIONS)
        assert aggs == set(ALL_AGGREGATIONS)
    assert set(ACTIVATIONS) == set(ALL_ACTIVATIONS)
    assert set(AGGREGATIONS) == set(ALL_AGGREGATIONS)


@pytest.mark.parametrize("genome_ff", [True, False])
@pytest.mark.parametrize("net_ff", [True, False])
def test_from_genome_matches_neat(configs, genomes, genome_ff, net_ff):
    """Batched network == neat-python row by row, feedforward and recurrent
    (also a recurrent genome built as feedforward: nodes on cycles read 0)."""
    config = configs[genome_ff]
    rng = np.random.default_rng(7 + 2 * genome_ff + net_ff)
    steps = 2 if net_ff else 5
    compared = 0
    for i, g in enumerate(genomes[genome_ff]):
        net = Network.from_genome(g, config.genome_config, feed_forward=net_ff)
        assert net.recurrent == (not net_ff)
        assert net.input_keys == config.genome_config.input_keys
        assert net.output_keys == config.genome_config.output_keys
        xs = [random_inputs(rng, 12, special=(i % 3 == 0)) for _ in range(steps)]
        compared += _compare(net, neat_factory(g, config, net_ff), xs)
    assert compared > 0.9 * 12 * len(genomes[genome_ff])


def test_feed_forward_defaults_to_config(configs, genomes):
    for ff in (True, False):
        net = Network.from_genome(genomes[ff][5], configs[ff].genome_config)
        assert net.recurrent == (not ff)
    # a full neat.Config is accepted as well
    net = Network.from_genome(genomes[True][5], configs[True])
    assert not net.recurrent


def test_size_counts_evaluated_nodes_and_used_connections(configs, genomes):
    for ff in (True, False):
        config = configs[ff]
        for g in genomes[ff]:
            net = Network.from_genome(g, config.genome_config)
            neat_net = neat_factory(g, config, ff)()
            assert net.size() == (len(neat_net.node_evals), sum(len(e[5]) for e in neat_net.node_evals))


@pytest.mark.parametrize("ff", [True, False])
def test_json_round_trip(configs, genomes, ff):
    config = configs[ff]
    rng = np.random.default_rng(11 + ff)
    steps = 2 if ff else 4
    for i, g in enumerate(genomes[ff]):
        data = network_json_from_genome(g, config.genome_config, metadata={"fitness": 0.5, "genome_key": g.key})
        assert data["format_version"] == "1.0"
        assert data["network_type"] == ("feedforward" if ff else "recurrent")
        assert data["metadata"]["fitness"] == 0.5
        net = Network.from_json(data)
        xs = [random_inputs(rng, 8, special=(i % 4 == 0)) for _ in range(steps)]
        _compare(net, neat_factory(g, config, ff), xs)

        # from_genome exports what neat-python exports: the same nodes and links; the
        # feedforward node order may differ (any order where sources come first)
        direct = Network.from_genome(g, config.genome_config)
        mine = direct.to_json_dict({"fitness": 0.5, "genome_key": g.key})
        for key in ("format_version", "network_type", "topology"):
            assert mine[key] == data[key], key
        by_id = lambda nodes: {n["id"]: n for n in nodes}  # noqa: E731
        assert by_id(mine["nodes"]) == by_id(data["nodes"])
        by_target = lambda cs: {c["to"]: [x for x in cs if x["to"] == c["to"]] for c in cs}  # noqa: E731
        assert by_target(mine["connections"]) == by_target(data["connections"])  # per node, in link order
        if ff:
            seen = set(direct.input_keys)
            for n in mine["nodes"]:
                if n["type"] != "input":
                    assert all(c["from"] in seen for c in mine["connections"] if c["to"] == n["id"])
                    seen.add(n["id"])
        assert mine["metadata"]["fitness"] == 0.5 and "created_timestamp" in mine["metadata"]

        # to_json_dict -> (text) -> from_json reproduces activate exactly
        again = Network.from_json(json.loads(json.dumps(direct.to_json_dict())))
        assert again.size() == direct.size() and again.recurrent == direct.recurrent
        direct.reset(8)
        again.reset(8)
        for x in xs:
            np.testing.assert_array_equal(again.activate(x), direct.activate(x))


def test_load_network_json_reads_neat_export(tmp_path, configs, genomes):
    config = configs[False]
    g = genomes[False][7]
    path = tmp_path / "champion.json"
    neat_net = neat.nn.RecurrentNetwork.create(g, config)
    export_network_json(neat_net, filepath=str(path), metadata={"entm": {"task": "copy"}})
    net, data = load_network_json(path)
    assert data["metadata"]["entm"] == {"task": "copy"}
    assert net.recurrent
    x = [random_inputs(np.random.default_rng(3), 6, special=False) for _ in range(3)]
    _compare(net, neat_factory(g, config, False), x)


def test_hand_built_network():
    """One sigmoid output, bias 0.5, response 2, weight 1.5 from input -1."""
    data = _tiny_json()
    net = Network.from_json(data)
    assert (net.num_inputs, net.num_outputs, net.input_keys, net.output_keys) == (1, 1, [-1], [0])
    assert net.size() == (1, 1)
    x = np.array([[-1.0], [0.0], [0.25], [3.0]])
    want = 1.0 / (1.0 + np.exp(-5.0 * (0.5 + 2.0 * 1.5 * x)))
    want[3] = 1.0 / (1.0 + math.exp(-60.0))  # neat-python clamps 5z to [-60, 60]
    np.testing.assert_allclose(net.activate(x), want, rtol=1e-12, atol=0)
    for nt in ("feedforward", "recurrent"):
        d = _tiny_json()
        d["network_type"] = nt
        np.testing.assert_allclose(Network.from_json(d).activate(x), want, rtol=1e-12)


def test_hand_built_quirks():
    """Bias neurons (FF), unevaluated outputs, product of nothing, recurrent delay."""
    d = _tiny_json()
    d["topology"].update(num_outputs=3, output_keys=[0, 1, 2])
    # node 1: no incoming connections, product aggregation -> identity(0.25 + 2 * 1.0)
    # node 2 is never evaluated -> 0.0; node 5 reads node 1; node 0 reads node 5
    d["nodes"][:0] = [_node(1, "identity", "product", 0.25, 2.0, "output"),
                      _node(5, "identity", "sum", 0.0, 1.0, "hidden")]
    d["connections"].append({"from": 1, "to": 5, "weight": 3.0, "enabled": True})
    d["connections"].append({"from": 5, "to": 0, "weight": 0.0, "enabled": True})
    x = np.array([[1.0], [-2.0]])
    ff = Network.from_json(d)
    out = ff.activate(x)
    np.testing.assert_allclose(out[:, 1], 2.25)
    np.testing.assert_array_equal(out[:, 2], 0.0)
    d["network_type"] = "recurrent"
    rec = Network.from_json(d)
    rec.reset(2)
    first = rec.activate(x)
    np.testing.assert_allclose(first[:, 1], 2.25)
    second = rec.activate(x)
    np.testing.assert_allclose(second, first)  # weight 0 from node 5: same output
    # recurrent: a source that is never evaluated (absent from "nodes") reads 0.0
    r = _tiny_json()
    r["network_type"] = "recurrent"
    r["topology"].update(num_outputs=2, output_keys=[0, 1])
    r["nodes"].insert(1, _node(1, "identity", "product", 0.5, 1.0, "output"))
    r["connections"] += [{"from": 7, "to": 0, "weight": 2.0, "enabled": True},
                         {"from": 7, "to": 1, "weight": 2.0, "enabled": True},
                         {"from": -1, "to": 1, "weight": 1.0, "enabled": True}]
    rn = Network.from_json(r)
    assert rn.size() == (2, 4)
    out = rn.activate(np.array([[1.0], [-2.0]]))
    np.testing.assert_allclose(out[:, 0], 1.0 / (1.0 + np.exp(-5.0 * (0.5 + 2.0 * 1.5 * np.array([1.0, -2.0])))))
    np.testing.assert_array_equal(out[:, 1], 0.5)  # 0.5 + 1.0 * (0.0 * 2.0) * x
    assert [c["from"] for c in rn.to_json_dict()["connections"]] == [-1, 7, 7, -1]
    with pytest.raises(EntmError, match="unknown node 7"):
        Network.from_json({**r, "network_type": "feedforward"})
    # reset zeroes the state; a recurrent net refuses a different batch without reset
    with pytest.raises(ValueError):
        rec.activate(np.zeros((3, 1)))
    rec.reset(3)
    assert rec.activate(np.zeros((3, 1))).shape == (3, 2 + 1)


def _activate_values(name: str, z: np.ndarray) -> np.ndarray:
    """activation(z) per row, through a compiled network (input -> one node with ``name``, weight 1)."""
    net = Network.from_json({
        "format_version": "1.0", "network_type": "feedforward", "metadata": {},
        "topology": {"num_inputs": 1, "num_outputs": 1, "input_keys": [-1], "output_keys": [0]},
        "nodes": [{"id": 0, "type": "output", "activation": name, "aggregation": "max", "bias": 0.0,
                   "response": 1.0}],
        "connections": [{"from": -1, "to": 0, "weight": 1.0, "enabled": True}]})
    return net.activate(np.asarray(z, dtype=np.float64)[:, None])[:, 0]


def test_registry_is_neat_pythons_builtins():
    """The one function table: exactly neat-python's built-ins, each with a kernel code (an unknown code is NaN)."""
    assert set(ACTIVATIONS) == set(ALL_ACTIVATIONS)
    assert set(AGGREGATIONS) == set(ALL_AGGREGATIONS)
    assert np.isnan(activate(len(ACTIVATIONS), 0.5))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(ACTIVATIONS)),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=6),
)
def test_activations_match_neat(name, values):
    fn = neat.activations.ActivationFunctionSet().get(name)
    z = np.array(values, dtype=np.float64)
    got = _activate_values(name, z)
    for v, g in zip(values, got):
        try:
            want = fn(v)
        except OverflowError:
            assert not np.isfinite(g) or abs(g) > 1e300
            continue
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12, equal_nan=True)


SPECIAL_VALUES = [0.0, -0.0, 1e-320, -1e-320, 1e-7, 0.5, -0.5, 1.0, -1.0, 3.4, -3.5, 12.0, -12.0, 60.0, 61.0,
                  -61.0, 700.0, -800.0, 1e200, -1e200, 1e300, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_special_values(name):
    """Zero (inv), clamps, NaN (Python's max/min keep the bound), infinities."""
    fn = neat.activations.ActivationFunctionSet().get(name)
    got = _activate_values(name, np.array(SPECIAL_VALUES))
    assert got.shape == (len(SPECIAL_VALUES),)
    assert np.array_equal(got, [activation_value(name, v) for v in SPECIAL_VALUES], equal_nan=True)
    for v, g in zip(SPECIAL_VALUES, got):
        try:
            want = fn(v)
        except OverflowError:
            assert np.isinf(g), (v, g)
            continue
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"{name}({v})")


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(ALL_AGGREGATIONS),
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf])),
             min_size=0, max_size=7),
)
def test_aggregations_match_neat(name, values):
    """An identity output node with bias 0, response 1 and weight-1 links
    computes 0.0 + agg(values)."""
    n = len(values)
    d = _tiny_json()
    d["topology"].update(num_inputs=max(n, 1), input_keys=[-(i + 1) for i in range(max(n, 1))])
    d["nodes"] = [_node(0, "identity", name, 0.0, 1.0, "output")]
    d["connections"] = [{"from": -(i + 1), "to": 0, "weight": 1.0, "enabled": True} for i in range(n)]
    want = 0.0 + 1.0 * neat.aggregations.AggregationFunctionSet().get(name)([v * 1.0 for v in values])
    x = np.array([values if n else [0.0]] * 2, dtype=np.float64)
    for nt in ("feedforward", "recurrent"):
        d["network_type"] = nt
        got = Network.from_json(d).activate(x)
        np.testing.assert_allclose(got[:, 0], [want, want], rtol=1e-12, atol=1e-12, equal_nan=True)


def test_from_genome_does_not_modify_genome(configs, genomes):
    for ff in (True, False):
        for g in genomes[ff][:10]:
            before = copy.deepcopy(g)
            Network.from_genome(g, configs[ff].genome_config, feed_forward=True)
            Network.from_genome(g, configs[ff].genome_config, feed_forward=False)
            assert _genome_state(g) == _genome_state(before)


def test_activate_validates_shape(configs, genomes):
    net = Network.from_genome(genomes[True][0], configs[True].genome_config)
    with pytest.raises(ValueError):
        net.activate(np.zeros(NUM_INPUTS))
    with pytest.raises(ValueError):
        net.activate(np.zeros((2, NUM_INPUTS + 1)))
    # feedforward networks take any batch size without reset
    assert net.activate(np.zeros((4, NUM_INPUTS))).shape == (4, NUM_OUTPUTS)
    assert net.activate(np.zeros((7, NUM_INPUTS))).shape == (7, NUM_OUTPUTS)


# -- malformed files ----------------------------------------------------------


def _malformed_cases():
    good = json.dumps(_tiny_json(), indent=2)

    def edit(fn):
        d = _tiny_json()
        fn(d)
        return json.dumps(d)

    return [
        ("invalid", "{not json", r"invalid JSON"),
        ("truncated", good[: len(good) // 2], r"truncated JSON"),
        ("empty", "", r"JSON"),
        ("not_object", "[1, 2]", r"JSON object"),
        ("no_nodes", edit(lambda d: d.pop("nodes")), r"missing key 'nodes'"),
        ("no_topology_key", edit(lambda d: d["topology"].pop("input_keys")), r"missing key 'input_keys'"),
        ("version", edit(lambda d: d.update(format_version="2.0")), r"format_version '2.0'"),
        ("ctrnn", edit(lambda d: d.update(network_type="ctrnn")), r"unsupported network_type 'ctrnn'"),
        ("activation", edit(lambda d: d["nodes"][0]["activation"].update(name="swish")),
         r"unknown activation 'swish'"),
        ("custom", edit(lambda d: d["nodes"][0]["activation"].update(custom=True)), r"custom activation"),
        ("aggregation", edit(lambda d: d["nodes"][0]["aggregation"].update(name="prod")),
         r"unknown aggregation 'prod'"),
        ("from_unknown", edit(lambda d: d["connections"][0].update({"from": 42})), r"unknown node 42"),
        ("to_unknown", edit(lambda d: d["connections"][0].update({"to": 42})), r"unknown node 42"),
        ("into_input", edit(lambda d: d["connections"][0].update({"to": -1})), r"input node -1"),
        ("nan_weight", edit(lambda d: d["connections"][0].update(weight=float("nan"))), r"not finite"),
        ("str_weight", edit(lambda d: d["connections"][0].update(weight="1.5")), r"must be a number"),
        ("dup_node", edit(lambda d: d["nodes"].append(dict(d["nodes"][0]))), r"duplicate node id 0"),
        ("bad_type", edit(lambda d: d["nodes"][0].update(type="magic")), r"invalid node type"),
        ("num_inputs", edit(lambda d: d["topology"].update(num_inputs=3)), r"num_inputs"),
        ("node_not_object", edit(lambda d: d["nodes"].append(5)), r"nodes\[2\] must be an object"),
        ("conn_missing_weight", edit(lambda d: d["connections"][0].pop("weight")), r"missing key 'weight'"),
    ]


@pytest.mark.parametrize("name,text,problem", _malformed_cases(), ids=[c[0] for c in _malformed_cases()])
def test_malformed_files_raise_entm_error(tmp_path, name, text, problem):
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    with pytest.raises(EntmError) as info:
        load_network_json(path)
    msg = str(info.value)
    assert str(path) in msg
    assert re.search(problem, msg), msg
    assert "\n" not in msg


def test_missing_file_and_backward_ff_connection(tmp_path):
    with pytest.raises(EntmError, match="nope.json"):
        load_network_json(tmp_path / "nope.json")
    d = _tiny_json()
    d["nodes"].insert(1, _node(5, "identity", "sum", 0.0, 1.0, "hidden"))
    d["connections"].append({"from": 5, "to": 0, "weight": 1.0, "enabled": True})
    with pytest.raises(EntmError, match="not evaluated before"):
        Network.from_json(d)
    d["network_type"] = "recurrent"
    Network.from_json(d)  # fine for a recurrent network
    with pytest.raises(EntmError, match="invalid network JSON"):
        Network.from_json({"format_version": "1.0"})
