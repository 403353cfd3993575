"""``--reproduction workers``: what the opt-in mode keeps (operators and rates, structural mutation counts,
determinism per seed, resume) and its parts (packed genomes, the compiled distance)."""

import copy
import json
import math
import random

import neat
import pytest

from entm import runs
from entm.errors import EntmError
from entm.evolution import worker_repro
from entm.evolution.loop import EvolveSettings, resume
from entm.evolution.packed import PackedGenome
from entm.evolution.worker_repro import make_children
from helpers import comparable_champion, comparable_metrics, main_error, mutated_population, small_evolution_run

WORKERS = dict(reproduction="workers", task_params={"vector_size": 2})


def _population(n=24, seed=3):
    return mutated_population(EvolveSettings(task="copy", task_params={"vector_size": 2}), n, seed=seed)


def test_packed_genome_round_trip_and_distance_agree_with_neat_python():
    _, _, _, config, genomes = _population()
    gc = config.genome_config
    for g in genomes:
        g.fitness = 0.25
        back = PackedGenome.from_genome(g).genome()
        assert list(back.nodes) == list(g.nodes) and list(back.connections) == list(g.connections)
        for k, c in g.connections.items():
            assert (back.connections[k].weight, back.connections[k].enabled) == (c.weight, c.enabled)
        for k, n in g.nodes.items():
            assert vars(back.nodes[k]) == vars(n)
        assert back.fitness == 0.25
    packed = [PackedGenome.from_genome(g) for g in genomes]
    for i in range(len(genomes)):
        for j in range(len(genomes)):
            assert math.isclose(packed[i].distance(packed[j], gc), genomes[i].distance(genomes[j], gc),
                                rel_tol=1e-12, abs_tol=1e-12)
    assert packed[0].distance(packed[0], gc) == 0.0


def _structural_counts(parents, child) -> dict:
    """What mutation did to a child made from ``parents`` (the fitter one first): structure not inherited."""
    p1 = parents[0]
    new_nodes = [k for k in child.nodes if k not in p1.nodes]
    split = {k for n in new_nodes for k in child.connections if n in k}
    return {"add_node": len(new_nodes),
            "delete_node": sum(1 for k in p1.nodes if k not in child.nodes),
            "add_connection": sum(1 for k in child.connections if k not in p1.connections and k not in split),
            "weights_changed": sum(1 for k, c in child.connections.items() if k in p1.connections
                                   and k not in split and c.weight not in (p1.connections[k].weight,
                                                                          parents[1].connections.get(k, c).weight))}


def test_same_operators_and_rates_as_neat_python():
    """Over many children of the same parents, the workers' children show the default mode's structural
    mutation counts (neat-python's own reproduction, its innovation tracker) within sampling error."""
    _, _, _, config, genomes = _population(n=20, seed=7)
    gc = config.genome_config
    gc.node_add_prob, gc.node_delete_prob, gc.conn_add_prob, gc.conn_delete_prob = 0.2, 0.2, 0.6, 0.2
    for i, g in enumerate(genomes):
        g.fitness = float(i)
        for k in list(g.connections)[::2]:  # room for new connections
            del g.connections[k]
    rng = random.Random(11)
    pairs = [tuple(sorted(rng.sample(genomes, 2), key=lambda g: -g.fitness)) for _ in range(1500)]
    # the default mode: neat-python's reproduction code path (DefaultGenome crossover + mutate, its tracker)
    tracker_cfg = copy.deepcopy(config)
    reproduction = neat.DefaultReproduction(tracker_cfg.reproduction_config, neat.reporting.ReporterSet(),
                                            neat.DefaultStagnation(tracker_cfg.stagnation_config,
                                                                   neat.reporting.ReporterSet()))
    tgc = tracker_cfg.genome_config
    tgc.innovation_tracker = reproduction.innovation_tracker
    random.seed(5)
    theirs = {}
    for n, (a, b) in enumerate(pairs):
        child = config.genome_type(10_000 + n)
        child.configure_crossover(a, b, tgc)
        child.mutate(tgc)
        for k, v in _structural_counts((a, b), child).items():
            theirs[k] = theirs.get(k, 0) + v
    packed = {g.key: PackedGenome.from_genome(g) for g in genomes}
    jobs = [(10_000 + n, packed[a.key], packed[b.key]) for n, (a, b) in enumerate(pairs)]
    state = random.getstate()
    made = make_children(jobs, seed=99, node_base=1_000, genome_config=gc)
    assert random.getstate() == state  # the caller's random is left as it was
    ours = {}
    for (a, b), child in zip(pairs, made):
        for k, v in _structural_counts((a, b), child).items():
            ours[k] = ours.get(k, 0) + v
    for k in theirs:
        expected = theirs[k]
        assert expected > 20, (k, theirs)  # enough events for the comparison to mean something
        assert abs(ours[k] - expected) <= 5 * math.sqrt(expected) + 0.05 * expected, (k, ours, theirs)
    # new nodes take node_base + child id: unique, and never an existing key
    new_nodes = [k for (a, _), c in zip(pairs, made) for k in c.nodes if k not in a.nodes]
    assert new_nodes and len(new_nodes) == len(set(new_nodes)) and min(new_nodes) >= 1_000 + 10_000


def test_children_depend_on_seed_and_id_only():
    _, _, _, config, genomes = _population(n=6)
    for i, g in enumerate(genomes):
        g.fitness = float(i)
    packed = [PackedGenome.from_genome(g) for g in genomes]
    jobs = [(100 + n, packed[n % 6], packed[(n + 1) % 6]) for n in range(12)]
    gc = config.genome_config

    def fingerprint(children):
        return [(c.key, list(c.nodes), [(k, g.weight, g.enabled) for k, g in c.connections.items()])
                for c in children]

    whole = fingerprint(make_children(jobs, 1, 500, gc))
    split = fingerprint(make_children(jobs[7:], 1, 500, gc)) + fingerprint(make_children(jobs[:7], 1, 500, gc))
    assert sorted(whole) == sorted(split)  # grouping and order of the children do not matter
    assert fingerprint(make_children(jobs, 2, 500, gc)) != whole


def test_workers_mode_is_deterministic_and_resumes_exactly(tmp_path):
    a = small_evolution_run(tmp_path / "a", generations=5, **WORKERS)
    b = small_evolution_run(tmp_path / "b", generations=5, **WORKERS)
    assert comparable_metrics(a) == comparable_metrics(b)
    assert comparable_champion(a) == comparable_champion(b)
    default = small_evolution_run(tmp_path / "d", generations=5, task_params={"vector_size": 2})
    assert comparable_metrics(default) != comparable_metrics(a)  # a different evolution (documented)
    assert comparable_metrics(default)[0] == comparable_metrics(a)[0]  # from the same first population
    c = small_evolution_run(tmp_path / "c", generations=3, checkpoint_every=1, **WORKERS)
    resume(c, generations=5, evaluator="serial", progress=False)
    assert comparable_metrics(c) == comparable_metrics(a)
    assert comparable_champion(c) == comparable_champion(a)


def test_resume_refuses_a_checkpoint_of_the_other_mode(tmp_path, capsys):
    run = small_evolution_run(tmp_path / "r", generations=2, **WORKERS)
    record = runs.read_run_json(run)
    record["reproduction"] = "driver"
    (run / runs.RUN_FILE).write_text(json.dumps(record))
    before = sorted(p.name for p in (run / runs.CHECKPOINT_DIR).iterdir())
    main_error(capsys, "resume", run, "--generations", "4", "--serial", words=("--reproduction workers", "driver"))
    assert sorted(p.name for p in (run / runs.CHECKPOINT_DIR).iterdir()) == before


def test_unknown_reproduction_mode_is_one_line(capsys, tmp_path):
    with pytest.raises(EntmError, match="unknown reproduction 'both'"):
        small_evolution_run(tmp_path / "x", reproduction="both")
    main_error(capsys, "evolve", "--reproduction", "both", "--serial", words=("--reproduction", "both"))


@pytest.mark.slow
def test_workers_mode_on_ray_equals_serial(tmp_path):
    from entm.evolution.loop import evolve

    serial = small_evolution_run(tmp_path / "s", generations=4, **WORKERS)
    ray = tmp_path / "r"
    evolve(EvolveSettings(task="copy", generations=4, seed=1, episodes=4, evaluator="ray", workers=2,
                          stop_when_solved=False, run_dir=str(ray), **WORKERS), progress=False)
    assert comparable_metrics(ray) == comparable_metrics(serial)
    assert comparable_champion(ray) == comparable_champion(serial)


def test_run_writer_writes_in_order_and_raises_a_failed_write(tmp_path):
    from entm.evolution.reporters import Checkpoints, LoopState, RunWriter

    _, _, _, config, _ = _population(n=2)
    pop = neat.Population(config, seed=0)
    writer = RunWriter()
    order = []
    writer.submit(order.append, 1)
    writer.submit(order.append, 2)
    writer.flush()
    assert order == [1, 2]
    cp = Checkpoints(tmp_path, pop, LoopState(), every=1, writer=writer)
    cp.after_generation()  # written in the background
    cp.wait()
    assert [p.name for p in checkpoint_files(tmp_path)] == ["gen-000000.pkl.gz"]
    (tmp_path / runs.CHECKPOINT_DIR).rename(tmp_path / "moved")
    (tmp_path / runs.CHECKPOINT_DIR).write_text("not a directory")
    cp.after_generation()
    cp.wait(raise_errors=False)  # the loop's finally: waits, keeps the error
    with pytest.raises(OSError):
        cp.wait()
    cp.wait()  # raised once
    writer.submit(order.append, 3)
    writer.flush()
    assert order == [1, 2, 3]


def checkpoint_files(run_dir):
    from entm.evolution import checkpoint

    return checkpoint.list_checkpoints(run_dir)


def test_first_population_is_the_default_modes():
    from entm.evolution.loop import prepare
    from entm.neatconfig import load_config

    text = prepare(EvolveSettings(task="copy", task_params={"vector_size": 2}))[3]
    default = neat.Population(load_config(text, "t"), seed=4).population
    packed = neat.Population(worker_repro.configure(load_config(text, "t"), "workers"), seed=4).population
    assert list(default) == list(packed)
    for k, g in default.items():
        p = packed[k]
        assert isinstance(p, PackedGenome) and p._full is None
        assert [(c.key, c.weight, c.enabled) for c in g.connections.values()] == \
            [(c.key, c.weight, c.enabled) for c in p.connections.values()]
        assert [vars(n) for n in g.nodes.values()] == [vars(n) for n in p.nodes.values()]


def test_genome_data_is_what_evaluation_reads():
    from entm.phenotype import GenomeData

    _, _, _, config, genomes = _population(n=3)
    for g in genomes:
        a, b = PackedGenome.from_genome(g).genome_data(), GenomeData.from_genome(g)
        assert (a.key, a.conn_keys, a.enabled, a.node_genes) == (b.key, b.conn_keys, b.enabled, b.node_genes)
        assert a.weights.tolist() == b.weights.tolist()


def test_pickles_carry_the_current_fitness():
    import pickle

    _, _, _, _, genomes = _population(n=1)
    p = PackedGenome.from_genome(genomes[0])
    for fitness in (1.0, 2.0):
        p.fitness = fitness
        q = pickle.loads(pickle.dumps(p))
        assert q.fitness == fitness and q.weights.tolist() == p.weights.tolist()
        q.fitness = fitness + 5  # an unpickled genome pickles again with its own fitness
        assert pickle.loads(pickle.dumps(q)).fitness == fitness + 5


def test_the_workers_children_follow_asexual_prob():
    """SharpNEAT's offspring (``asexual_prob``, entm's genome) in the workers' children too: at 1 every child is
    a mutated copy of its first parent, the same parent twice included."""
    _, _, _, config, genomes = _population(n=6)
    gc = config.genome_config
    gc.asexual_prob = 1.0
    gc.node_add_prob = gc.node_delete_prob = gc.conn_add_prob = gc.conn_delete_prob = 0.0
    for i, g in enumerate(genomes):
        g.fitness = float(i)
    packed = [PackedGenome.from_genome(g) for g in genomes]
    jobs = [(100 + n, packed[n % 6], packed[(n * 5) % 6]) for n in range(12)]
    for (_, p1, _), child in zip(jobs, make_children(jobs, 1, 500, gc)):
        parent = p1.genome()
        assert list(child.connections) == list(parent.connections) and list(child.nodes) == list(parent.nodes)
        assert any(c.weight != parent.connections[k].weight for k, c in child.connections.items())
