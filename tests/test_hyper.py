"""The hyper encoding (entm/hyper.py): substrate coordinates, painting, a hand-made CPPN that copies
at any width, and hyper evolution runs."""

import json

import neat
import numpy as np
import pytest

from entm.errors import EntmError
from entm.neatconfig import default_config_path, fit_sizes, load_config, read_config_text
from entm.hyper import Substrate
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.phenotype import Network
from entm.tasks import make_task


def _substrate(V, mode="discrete", width=None, heads=1):
    task = make_task("copy", {"vector_size": V})
    spec = MemorySpec(mode, width or task.default_memory_width, heads=heads)
    return task, spec, Substrate(task, spec)


def test_coordinates_line_bit_j_up_across_every_vector():
    task, spec, sub = _substrate(3)
    c = sub.coordinates()
    assert c["inputs"] == ([("bits", j) for j in range(3)] + [("start", None), ("delimiter", None)]
                           + [("read0", j) for j in range(3)] + [("read0.extra0", None), ("read0.extra1", None),
                                                                 ("read0.extra2", None)])
    assert c["outputs"] == ([("out", j) for j in range(3)] + [("write0", j) for j in range(3)]
                            + [(f"write0.extra{k}", None) for k in range(3)]
                            + [("write0.w", None), ("jump0", None), ("shift0.left", None), ("shift0.stay", None),
                               ("shift0.right", None)])
    machine = Machine(task, spec)
    assert (len(c["inputs"]), len(c["outputs"])) == (machine.num_inputs, machine.num_outputs)
    # the CPPN's layout does not depend on the width: a champion re-paints at any width
    for V in (1, 8, 64):
        other = _substrate(V)[2]
        assert other.cppn_inputs == sub.cppn_inputs and other.cppn_outputs == sub.cppn_outputs
    assert sub.cppn_inputs == ["src=bits", "src=read0", "src=start", "src=delimiter", "src=read0.extra0",
                               "src=read0.extra1", "src=read0.extra2", "src=bias", "offset", "aligned"]


def test_differentiable_and_two_heads_layouts():
    task, spec, sub = _substrate(4, mode="differentiable", heads=2)
    machine = Machine(task, spec)
    assert (len(sub.inputs), len(sub.outputs)) == (machine.num_inputs, machine.num_outputs)
    kinds = [k for k, _ in sub.coordinates()["outputs"]]
    assert kinds.count("key1") == 4 and kinds.count("erase0") == 4 and "gamma1" in kinds


def test_queries_give_each_link_its_offset():
    """Link (output node, input node) is read from the query with the source's kind and j_src - j_dst."""
    _, _, sub = _substrate(4)
    nin = len(sub.source_kinds)
    outs, ins = sub.outputs, sub.inputs
    for o, dst in enumerate(outs):
        for i, src in enumerate(ins):
            x = sub.queries[sub._q[o, i]]
            assert x[sub.source_kinds.index(src.kind)] == 1.0 and x[:nin].sum() == 1.0
            if src.index is not None and dst.index is not None:
                assert x[nin] == src.index - dst.index and x[nin + 1] == (src.index == dst.index)
                assert sub.cppn_outputs[sub._c[o, i]] == f"{src.kind}->{dst.kind}"
            else:
                assert x[nin] == 0 and x[nin + 1] == 0
                want = f"->{dst.kind}" if dst.index is None else f"scalars->{dst.kind}"
                assert sub.cppn_outputs[sub._c[o, i]] == want
            # a vector element into a scalar output: divided by V
            assert sub._f[o, i] == (0.25 if src.index is not None and dst.index is None else 1.0)


@pytest.mark.parametrize("name", ["copy", "repeat_copy", "associative_recall", "priority_sort"])
def test_bit_vector_tasks_have_a_substrate(name):
    task = make_task(name, {})
    for mode in ("discrete", "differentiable"):
        spec = MemorySpec(mode, task.default_memory_width)
        sub = Substrate(task, spec)
        machine = Machine(task, spec)
        assert (len(sub.inputs), len(sub.outputs)) == (machine.num_inputs, machine.num_outputs)
        assert [n.index for n in sub.inputs[:task.vector_size]] == list(range(task.vector_size))


def test_unsupported_task_and_width_are_clear_errors():
    task = make_task("dynamic_ngrams", {})
    with pytest.raises(EntmError, match="no substrate layout"):
        Substrate(task, MemorySpec("discrete", task.default_memory_width))
    task = make_task("copy", {"vector_size": 8})
    with pytest.raises(EntmError, match="at least the vector size"):
        Substrate(task, MemorySpec("discrete", 5))


# -- a hand-made CPPN ------------------------------------------------------------------------------------

#: the copy controller in the substrate's terms (value v; weight 5 v): data written = bits + read
#: (bit j -> slot j, read j -> slot j), output j = read j, a marker (extra 0) written at start and at the
#: delimiter (and kept while read), jump at the delimiter, stay after it, else move right
HAND = {  # output -> {input: weight}, and the output's bias
    "bits->write0": {"aligned": 1.0},
    "read0->write0": {"aligned": 1.0},
    "read0->out": {"aligned": 1.0},
    "scalars->out": {"src=bias": -0.5},
    "scalars->write0": {"src=bias": -0.5},
    "->write0.extra0": {"src=start": 1.0, "src=delimiter": 1.0, "src=read0.extra0": 1.0, "src=bias": -0.5},
    "->write0.extra1": {"src=bias": -0.5},
    "->write0.extra2": {"src=bias": -0.5},
    "->write0.w": {"src=bias": 1.0},
    "->jump0": {"src=delimiter": 1.0, "src=bias": -0.5},
    "->shift0.left": {"src=bias": -1.0},
    "->shift0.stay": {"src=delimiter": 1.0, "src=bias": -0.5},
    "->shift0.right": {"src=delimiter": -1.0, "src=bias": 0.5},
}


def _cppn_config(sub):
    text = fit_sizes(read_config_text(default_config_path("copy", "discrete", "hyper")), sub.num_cppn_inputs,
                     sub.num_cppn_outputs)
    return load_config(text)


def hand_cppn(sub, config):
    """A neat-python genome (identity outputs) encoding HAND."""
    gc = config.genome_config
    g = config.genome_type(1)
    for o in range(sub.num_cppn_outputs):
        node = gc.node_gene_type(o)
        node.bias, node.response, node.activation, node.aggregation = 0.0, 1.0, "identity", "sum"
        node.time_constant = 1.0
        g.nodes[o] = node
    inn = 0
    for out_name, links in HAND.items():
        o = sub.cppn_outputs.index(out_name)
        for in_name, w in links.items():
            i = sub.cppn_inputs.index(in_name)
            inn += 1
            g.add_connection(gc, -(i + 1), o, w, True, innovation=inn)
    return g


@pytest.mark.parametrize("V", [1, 2, 8, 64])
def test_hand_made_cppn_paints_a_perfect_copier_at_every_width(V):
    task, spec, sub = _substrate(V)
    config = _cppn_config(sub)
    cppn = Network.from_genome(hand_cppn(sub, config), config.genome_config)
    controller = sub.paint_network(cppn)
    n_nodes, n_conns = controller.size()
    assert n_conns == 3 * V + 6  # three aligned diagonals, and six links between scalars
    machine = Machine(task, spec)
    for L in (1, 10, 100):
        eps = task.sample(np.random.default_rng(L), 10, length=L)
        sc = task.score(eps, machine.run(controller, eps.inputs).outputs)
        assert sc.perfect.all(), (V, L, sc.bit_errors)


def test_painting_genomes_equals_painting_their_networks():
    """The evaluator's batched path (packed CPPN genomes) paints what one CPPN network paints."""
    task, spec, sub = _substrate(8)
    config = _cppn_config(sub)
    pop = neat.Population(config, seed=3)
    genomes = list(pop.population.values())[:6] + [hand_cppn(sub, config)]
    batched = sub.controllers(sub.cppn_outputs_of_genomes(genomes, config.genome_config))
    for g, gd in zip(genomes, batched):
        net = Network.from_genome(g, config.genome_config)
        one = sub.controllers(sub.cppn_outputs_of_network(net))[0]
        assert one.conn_keys == gd.conn_keys
        np.testing.assert_allclose(one.weights, gd.weights, rtol=0, atol=1e-12)
        assert one.node_genes.keys() == gd.node_genes.keys()


def test_packing_painted_arrays_equals_packing_the_painted_genomes():
    """The evaluator packs painted controllers straight from the arrays (:meth:`Substrate.pack`): the same
    flat arrays as neat-python genomes of those controllers packed link by link (evaluation order: the
    outputs without a link first, then the others descending; each node's links by input), for CPPNs of a
    random population, the hand-made copier, a CPPN that paints no link, and weak random CPPN outputs on
    the multi-block substrate of associative recall (some outputs without a link)."""
    from entm.hyper import HyperParams
    from entm.phenotype import pack_genomes

    task, spec, sub = _substrate(8)
    config = _cppn_config(sub)
    genomes = list(neat.Population(config, seed=5).population.values())[:8] + [hand_cppn(sub, config)]
    y = sub.cppn_outputs_of_genomes(genomes, config.genome_config)
    rng = np.random.default_rng(0)
    ar = make_task("associative_recall", {})
    blocks = Substrate(ar, MemorySpec("discrete", 33), HyperParams.from_dict({"blocks": 5, "block_steps": True}))
    few = rng.uniform(-1, 1, (3,) + blocks.queries.shape[:1] + (blocks.num_cppn_outputs,)) * 0.3
    few[1, :, 0] = 0.9
    assert 0 < blocks.paint_arrays(few)[1].any(axis=2).sum() < few.shape[0] * 44  # some outputs without a link
    for s, out in ((sub, np.concatenate([y, np.zeros_like(y[:1])])), (blocks, few)):
        want = pack_genomes(s.controllers(out), s.controller_config().genome_config).arrays()
        got = s.pack(out).arrays()
        for a, b in zip(got, want):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert sub.pack(y).link1[-1] > 0 and sub.pack(np.zeros_like(y[:1])).w.size == 0


def test_threshold_scale_and_radius():
    task = make_task("copy", {"vector_size": 4})
    spec = MemorySpec("discrete", 7)
    sub = Substrate(task, spec, {"radius": None})
    Q = sub.queries.shape[0]
    y = np.full((1, Q, sub.num_cppn_outputs), 0.1)  # below the threshold: no link; biases 0.5
    w, e, b = sub.paint_arrays(y)
    assert not e.any() and (w == 0).all() and np.allclose(b, 0.5)
    y[:] = 3.0  # clamped to 1: every link, weight 5 (5 / V from a vector element into a scalar)
    w, e, b = sub.paint_arrays(y)
    assert e.all() and set(np.unique(w)) == {1.25, 5.0}
    # radius R: between two vectors, only elements at most R apart
    vec_in = np.array([n.index is not None for n in sub.inputs])
    vec_out = np.array([n.index is not None for n in sub.outputs])
    for radius, per_pair in ((0, 4), (1, 10), (3, 16)):
        e = Substrate(task, spec, {"radius": radius}).paint_arrays(y)[1][0]
        assert e[np.ix_(vec_out, vec_in)].sum() == 2 * 2 * per_pair  # 2 x 2 vector pairs of 4 x 4 elements
        assert e[np.ix_(~vec_out, vec_in)].all() and e[:, ~vec_in].all()


# -- hyper runs --------------------------------------------------------------------------------------------


def _hyper_settings(tmp_path, name, **kw):
    from entm.evolution.loop import EvolveSettings

    base = dict(task="copy", task_params={"vector_size": 3}, generations=2, seed=4, run_dir=str(tmp_path / name),
                episodes=10, stop_when_solved=False, evaluator="serial", encoding="hyper")
    base.update(kw)
    return EvolveSettings(**base)


def test_two_generations_of_a_hyper_run(tmp_path):
    from helpers import comparable_champion, comparable_metrics

    from entm import runs
    from entm.champion import load_champion
    from entm.evolution.loop import evolve

    res = evolve(_hyper_settings(tmp_path, "a"), progress=False)
    d = res.run_dir
    run = json.loads((d / "run.json").read_text())
    assert run["encoding"] == "hyper" and run["hyper"] == {}
    assert "num_inputs            = 10" in (d / "config.ini").read_text()  # the CPPN's sizes
    metrics = runs.read_metrics(d)
    assert [m["generation"] for m in metrics] == [0, 1]
    assert all(m["best_size"][0] == 3 + 3 + 8 and len(m["best_cppn_size"]) == 2 for m in metrics)
    meta = res.champion["metadata"]["entm"]
    assert meta["encoding"] == "hyper" and meta["substrate"]["radius"] == 0
    assert meta["cppn"]["format_version"] == res.champion["format_version"]
    # the saved controller is what the CPPN paints, and re-painting at the same width gives it back
    champ = load_champion(d)
    again = load_champion(d, task_overrides={"vector_size": 5})
    assert champ.network.num_inputs == 2 * 3 + 5 and again.network.num_inputs == 2 * 5 + 5
    assert again.spec.width == 8
    # deterministic, like direct runs
    b = evolve(_hyper_settings(tmp_path, "b"), progress=False)
    assert comparable_metrics(d) == comparable_metrics(b.run_dir)
    assert comparable_champion(d) == comparable_champion(b.run_dir)


def test_hyper_run_on_ray_equals_serial(tmp_path):
    from helpers import comparable_metrics

    from entm.evolution.loop import evolve

    a = evolve(_hyper_settings(tmp_path, "serial"), progress=False)
    b = evolve(_hyper_settings(tmp_path, "ray", evaluator="ray", workers=1), progress=False)
    assert comparable_metrics(a.run_dir) == comparable_metrics(b.run_dir)


def test_hyper_cli_and_repaint(cli, tmp_path):
    run = tmp_path / "h"
    r = cli("evolve", "--task", "copy", "--vector-size", "2", "--encoding", "hyper", "--hyper-radius", "all",
            "--generations", "2", "--episodes", "10", "--serial", "--quiet", "--no-stop-when-solved",
            "--run-dir", run)
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "run.json").read_text())["hyper"] == {"radius": None}
    r = cli("evaluate", run, "--vector-size", "6", "--lengths", "3", "--episodes", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["task_params"]["vector_size"] == 6 and out["memory_params"]["width"] == 9
    assert out["size"]["nodes"] == 6 + 6 + 8


@pytest.mark.parametrize("args, message", [
    (["--hyper-radius", "1"], "need --encoding hyper"),
    (["--encoding", "hyper", "--hyper-radius", "-1"], "radius must be"),
    (["--encoding", "hyper", "--hyper-threshold", "1.5"], "threshold must be"),
    (["--encoding", "hyper", "--task", "dynamic_ngrams"], "no substrate layout"),
])
def test_hyper_option_errors(cli, tmp_path, args, message):
    r = cli("evolve", *args, "--generations", "1", "--serial", "--quiet", "--run-dir", tmp_path / "x")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_direct_champion_cannot_change_width(cli, tmp_path):
    from entm.evolution.loop import EvolveSettings, evolve

    res = evolve(EvolveSettings(task="copy", task_params={"vector_size": 2}, generations=1, run_dir=str(tmp_path / "d"),
                                episodes=5, evaluator="serial"), progress=False)
    r = cli("evaluate", res.run_dir, "--vector-size", "4", "--lengths", "2")
    assert r.returncode == 2 and "direct encoding" in r.stderr and "Traceback" not in r.stderr


def test_hyper_run_with_the_differentiable_memory(tmp_path):
    from entm.champion import load_champion
    from entm.evolution.loop import evolve

    res = evolve(_hyper_settings(tmp_path, "soft", memory="differentiable", memory_params={"cells": 8},
                                 task_params={"vector_size": 2}), progress=False)
    champ = load_champion(res.run_dir, task_overrides={"vector_size": 4})
    assert champ.spec.mode == "differentiable" and champ.spec.width == 7 and champ.spec.params()["cells"] == 8
    assert champ.network.num_outputs == 4 + 3 * 7 + 6


def test_hyper_run_resumes_exactly(tmp_path):
    from helpers import comparable_champion, comparable_metrics

    from entm.evolution.loop import evolve, resume

    full = evolve(_hyper_settings(tmp_path, "full", generations=4), progress=False)
    part = evolve(_hyper_settings(tmp_path, "part", generations=2), progress=False)
    resume(part.run_dir, generations=4, progress=False)
    assert comparable_metrics(full.run_dir) == comparable_metrics(part.run_dir)
    assert comparable_champion(full.run_dir) == comparable_champion(part.run_dir)


def test_hyper_repeat_copy_generation(tmp_path):
    from entm.evolution.loop import evolve

    res = evolve(_hyper_settings(tmp_path, "rc", task="repeat_copy", task_params={"vector_size": 3},
                                 generations=1), progress=False)
    meta = res.champion["metadata"]["entm"]
    assert meta["task"] == "repeat_copy" and "src=repeats" in meta["substrate"]["cppn_inputs"]
    assert "->end" in meta["substrate"]["cppn_outputs"]
