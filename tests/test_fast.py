"""The compiled population kernels against neat-python, and the fused tape kernel against the memory's own step."""

import neat
import numpy as np
import pytest
from helpers import (
    NUM_INPUTS,
    NUM_OUTPUTS,
    make_random_config,
    mutated_population,
    neat_factory,
    neat_run,
    random_genomes,
    random_inputs,
)

from entm.bench.plain import PlainTape
from entm.evolution.loop import EvolveSettings, prepare
from entm.machine import Machine, run_population
from entm.memory import MemorySpec
from entm.memory.tape import TapeMemory, TapeParams
from entm.neatconfig import load_config
from entm.phenotype import GenomeData, Network, Packed, pack_genomes
from entm.phenotype.kernels import population_step
from entm.tasks import make_task


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    d = tmp_path_factory.mktemp("neatcfg-fast")
    return {ff: make_random_config(d / f"ff_{ff}.ini", ff) for ff in (True, False)}


@pytest.mark.parametrize("ff", [True, False])
def test_population_step_matches_neat_activate(configs, ff):
    """Every genome (every built-in function, median included), packed, equals neat-python's activate
    to 1e-9, step after step."""
    config = configs[ff]
    genomes = random_genomes(config, 77 + ff, 120)
    gc = config.genome_config
    ok = range(len(genomes))
    assert any(n.aggregation == "median" for g in genomes for n in g.nodes.values())
    assert pack_genomes(genomes, gc).G == len(genomes)  # no genome is left to another path
    rng = np.random.default_rng(3)
    B, steps = 12, 3 if not ff else 2
    checked = 0
    for i in ok:
        p = pack_genomes([genomes[i]], gc)
        xs = [random_inputs(rng, B, special=(i % 3 == 0)) for _ in range(steps)]
        expected = neat_run(neat_factory(genomes[i], config, ff), xs)
        width = int(p.nslots.max())
        s1, s2 = np.zeros((1, width, B)), np.zeros((1, width, B))
        keep = [b for b, r in enumerate(expected) if r is not None]
        for t, x in enumerate(xs):
            y = np.empty((B, NUM_OUTPUTS))
            population_step(*p.arrays(), s1, s2, np.ascontiguousarray(x), B, y)
            want = np.array([expected[b][t] for b in keep]).reshape(len(keep), NUM_OUTPUTS)
            np.testing.assert_allclose(y[keep], want, rtol=1e-9, atol=1e-9, equal_nan=True)
        checked += 1
    assert checked == len(ok) >= 30


def test_pack_genomes_equals_packing_networks(configs):
    config = configs[True]
    gc = config.genome_config
    genomes = random_genomes(config, 5, 40)
    a = pack_genomes(genomes, gc)
    b = Packed([Network.from_genome(g, gc) for g in genomes])
    assert a is not None
    for name, x, y in zip(("node0", "nslots", "recurrent", "out_slot", "slot", "act", "agg", "bias", "resp",
                           "link0", "link1", "src", "w"), a.arrays(), b.arrays()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    again = pack_genomes(genomes, gc)  # from the structure cache
    for x, y in zip(a.arrays(), again.arrays()):
        np.testing.assert_array_equal(x, y)


def _copy_population(vector_size=3, n=12, seed=0):
    return mutated_population(EvolveSettings(task_params={"vector_size": vector_size}), n, seed, hidden=3,
                              mutations=8)


@pytest.mark.parametrize("vector_size", [3, 8])  # memory width 6 and 11 (numpy sums 8 or more pairwise)
def test_fused_discrete_kernel_equals_numpy_machine(vector_size):
    """Network + tape fused in one compiled loop == networks and tape stepped in numpy."""
    task, spec, machine, config, genomes = _copy_population(vector_size=vector_size)
    eps = task.sample(np.random.default_rng(9), 20).sorted_by_steps()
    nets = [Network.from_genome(g, config.genome_config) for g in genomes]
    fast_runs = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps)
    slow_runs = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps, fast=False)
    for a, b in zip(fast_runs, slow_runs):
        for i in range(eps.batch):
            n = eps.steps[i]
            # the numpy Network sums with numpy (its order differs from neat-python's by ~1e-12 on wide
            # layers); the tape's decisions must still be the same
            np.testing.assert_allclose(a.outputs[i, :n], b.outputs[i, :n], rtol=0, atol=1e-10)
            np.testing.assert_allclose(a.trace.reads[i, :n], b.trace.reads[i, :n], rtol=0, atol=1e-10)
            for f in ("write_pos", "read_pos", "jumps"):
                np.testing.assert_array_equal(getattr(a.trace, f)[i, :n], getattr(b.trace, f)[i, :n])


def test_unsorted_episodes_give_the_same_results():
    task, spec, machine, config, genomes = _copy_population(n=4)
    eps = task.sample(np.random.default_rng(10), 15)
    srt = eps.sorted_by_steps()
    nets = [Network.from_genome(g, config.genome_config) for g in genomes]
    a = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps)
    b = run_population(machine, nets, srt.inputs, shaping=True, steps=srt.steps)
    order = np.argsort(-eps.steps, kind="stable")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.outputs[order], y.outputs)


def test_reused_buffers_are_fully_rewritten():
    """Output buffers reused across calls (the evaluator's chunks): every element is rewritten,
    padded steps are zero, and the results equal fresh arrays'."""
    from entm.machine import run_stacked

    task, spec, machine, config, genomes = _copy_population(n=6)
    packed = pack_genomes(genomes, config.genome_config)
    long = task.sample(np.random.default_rng(11), 12, length=task.max_length).sorted_by_steps()
    short = task.sample(np.random.default_rng(12), 12).sorted_by_steps()
    buffers = {}
    run_stacked(machine, packed, long.inputs, shaping=True, steps=long.steps, buffers=buffers)
    few = pack_genomes(genomes[:3], config.genome_config)
    rev = pack_genomes(genomes[::-1], config.genome_config)
    # the second (packed, short) and what follows reuse rows whose tails were zeroed for the same steps
    for p, eps in ((few, short), (packed, short), (rev, short), (few, short), (packed, long), (rev, short)):
        pad = np.zeros((eps.batch, long.inputs.shape[1], eps.inputs.shape[2]))
        pad[:, :eps.inputs.shape[1]] = eps.inputs  # the same shapes as the long run: the buffers are reused
        reused = run_stacked(machine, p, pad, shaping=True, steps=eps.steps, buffers=buffers)
        fresh = run_stacked(machine, p, pad, shaping=True, steps=eps.steps)
        assert reused.outputs.base is not None  # a view into the reused buffer
        np.testing.assert_array_equal(reused.outputs, fresh.outputs)
        for f in ("reads", "write_pos", "write_strength", "read_pos", "jumps"):
            np.testing.assert_array_equal(getattr(reused.trace, f), getattr(fresh.trace, f))
        steps = np.tile(eps.steps, p.G)
        for r in range(len(steps)):
            assert not reused.outputs[r, steps[r]:].any() and not reused.trace.reads[r, steps[r]:].any()


def test_differentiable_population_step_equals_networks():
    task = make_task("copy", {"vector_size": 2})
    machine = Machine(task, MemorySpec("differentiable", 5, options={"cells": 8}))
    _, _, _, text = prepare(EvolveSettings(task_params={"vector_size": 2}, memory="differentiable",
                                           memory_params={"cells": 8}))
    config = load_config(text, "test")
    genomes = [g for _, g in list(neat.Population(config, seed=1).population.items())[:5]]
    nets = [Network.from_genome(g, config.genome_config) for g in genomes]
    eps = task.sample(np.random.default_rng(2), 6)
    a = run_population(machine, nets, eps.inputs, shaping=True)
    b = run_population(machine, nets, eps.inputs, shaping=True, fast=False)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.outputs, y.outputs, rtol=0, atol=1e-12)


def test_batched_tape_equals_the_plain_reference_tape():
    """entm's batched tape against the plain list-based tape, on random head outputs."""
    rng = np.random.default_rng(4)
    for mode, min_sim, max_cells, expand in (("interpolate", None, None, False), ("overwrite", None, None, False),
                                             ("interpolate", 0.8, None, False), ("interpolate", None, 4, False),
                                             ("interpolate", 0.6, None, True), ("overwrite", None, 5, True)):
        M, B, T = 3, 8, 40
        mem = TapeMemory(TapeParams(width=M, write_mode=mode, min_jump_similarity=min_sim, max_cells=max_cells,
                                    expand_location=expand))
        state = mem.reset(B, capacity=3)
        plains = [PlainTape(M, mode, min_sim, max_cells, expand_location=expand) for _ in range(B)]
        for t in range(T):
            x = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(B, M + 5))  # ties happen
            state, reads = mem.step(state, x)
            for b in range(B):
                r = plains[b].step(list(x[b]))
                np.testing.assert_allclose(reads[b], r, atol=1e-12)
                assert state.focus(b) == plains[b].head
                np.testing.assert_allclose(state.tape(b), np.array(plains[b].cells), atol=1e-12)


def test_genome_data_is_a_faithful_compact_genome(configs):
    import pickle

    config = configs[False]  # recurrent: disabled connections matter for the required set
    gc = config.genome_config
    genomes = random_genomes(config, 21, 30)
    rng = np.random.default_rng(8)
    for g in genomes:
        gd = pickle.loads(pickle.dumps(GenomeData.from_genome(g)))
        a, b = Network.from_genome(g, gc), Network.from_genome(gd.as_genome(), gc)
        x = rng.normal(size=(5, NUM_INPUTS))
        a.reset(5)
        b.reset(5)
        for _ in range(3):
            np.testing.assert_array_equal(a.activate(x), b.activate(x))
        pa, pb = pack_genomes([g], gc), pack_genomes([gd], gc)
        assert (pa is None) == (pb is None)
        if pa is not None:
            for x1, x2 in zip(pa.arrays(), pb.arrays()):
                np.testing.assert_array_equal(x1, x2)


def test_content_jump_sums_the_distance_left_to_right():
    """Near ties of the content jump: the batched tape adds |a - cell| in the same order as the compiled
    kernel and the plain tape (numpy's own sum is pairwise from 8 elements on, which can flip the argmax)."""
    M = 11
    rng = np.random.default_rng(5)
    key = np.ones(M)
    cases = []
    while len(cases) < 5:
        v = rng.random(M)
        w = v[rng.permutation(M)]
        dv, dw = np.abs(key - v), np.abs(key - w)
        seq = [sum(float(x) for x in d) for d in (dv, dw)]  # left to right
        pair = [float(np.sum(d)) for d in (dv, dw)]
        if (seq[0] < seq[1]) != (pair[0] < pair[1]) or (seq[0] == seq[1]) != (pair[0] == pair[1]):
            cases.append((v, w))
    mem = TapeMemory(TapeParams(width=M))
    for v, w in cases:
        steps = [np.r_[v, 1.0, 0.0, 0.0, 0.0, 1.0],  # write v, move right
                 np.r_[w, 1.0, 0.0, 0.0, 0.0, 1.0],  # write w, move right
                 np.r_[key, 0.0, 1.0, 0.0, 1.0, 0.0]]  # no write, jump to the cell most like the key, stay
        state = mem.reset(1)
        plain = PlainTape(M)
        for x in steps:
            state, _ = mem.step(state, x[None, :])
            plain.step(list(x))
        assert state.focus(0) == plain.head
        assert plain.head in (0, 1)
