"""entm's DefaultGenome reproduces exactly like neat-python's: whole evolutions compared genome by genome."""

import random
import tempfile
import os

import neat
import pytest

from entm.evolution.genome import DefaultGenome, _CycleCheck
from neat.graphs import creates_cycle

CONFIG = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 1e9
pop_size              = 30
reset_on_extinction   = True
no_fitness_termination = True

[DefaultGenome]
num_inputs              = 4
num_outputs             = 3
num_hidden              = {hidden}
feed_forward            = {ff}
initial_connection      = {initial}
activation_default      = sigmoid
activation_mutate_rate  = 0.1
activation_options      = sigmoid tanh relu
aggregation_default     = sum
aggregation_mutate_rate = 0.0
aggregation_options     = sum
bias_init_mean          = 0.0
bias_init_stdev         = 1.0
bias_init_type          = gaussian
bias_max_value          = 5.0
bias_min_value          = -5.0
bias_mutate_power       = 0.5
bias_mutate_rate        = 0.7
bias_replace_rate       = 0.1
response_init_mean      = 1.0
response_init_stdev     = 0.0
response_max_value      = 1.0
response_min_value      = 1.0
response_mutate_power   = 0.0
response_mutate_rate    = 0.0
response_replace_rate   = 0.0
weight_init_mean        = 0.0
weight_init_stdev       = 1.0
weight_init_type        = {weight_init}
weight_max_value        = 2.0
weight_min_value        = -2.0
weight_mutate_power     = 1.0
weight_mutate_rate      = 0.7
weight_replace_rate     = 0.1
enabled_default         = True
enabled_mutate_rate     = 0.2
enabled_rate_to_false_add = 0.05
enabled_rate_to_true_add  = 0.1
conn_add_prob           = 0.5
conn_delete_prob        = 0.2
node_add_prob           = 0.3
node_delete_prob        = 0.1
single_structural_mutation = {single}
structural_mutation_surer  = default
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient   = 0.5

[DefaultSpeciesSet]
compatibility_threshold = 2.0

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 5
species_elitism      = 1

[DefaultReproduction]
elitism            = 1
survival_threshold = 0.3
"""


def _config(genome_type, extra: str = "", **kw):
    """CONFIG filled in with ``kw``; ``extra`` lines go after ``conn_delete_prob``."""
    text = CONFIG.format(**kw)
    if extra:
        text = text.replace("conn_delete_prob        = 0.2", f"conn_delete_prob        = 0.2\n{extra}")
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    try:
        return neat.Config(genome_type, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                           neat.DefaultStagnation, path)
    finally:
        os.unlink(path)


def _fitness(genomes, config):
    # depends on weights, structure and enabled flags, so that any difference shows in later generations
    for _, g in genomes:
        g.fitness = sum((w.weight if w.enabled else 0.1) * ((k[0] * 7 + k[1]) % 5) for k, w in g.connections.items()) \
            + 0.3 * len(g.nodes)


def _run(genome_type, generations, **kw):
    config = _config(genome_type, **kw)
    pop = neat.Population(config, seed=11)
    pop.run(_fitness, generations)
    state = random.getstate()
    return [(gid, [(k, c.innovation, c.weight, c.enabled) for k, c in g.connections.items()],
             [(k, n.bias, n.activation) for k, n in g.nodes.items()])
            for gid, g in sorted(pop.population.items())], state


@pytest.mark.parametrize("kw", [
    dict(ff=True, hidden=0, initial="full_direct", weight_init="gaussian", single=False),
    dict(ff=True, hidden=2, initial="partial_nodirect 0.5", weight_init="uniform", single=True),
    dict(ff=False, hidden=1, initial="full_direct", weight_init="gaussian", single=False),
])
def test_whole_evolution_equals_neat_python(kw):
    ours, ours_state = _run(DefaultGenome, 25, **kw)
    theirs, theirs_state = _run(neat.DefaultGenome, 25, **kw)
    assert ours == theirs
    assert ours_state == theirs_state  # the same number of draws from Python's random
    hidden = {k for _, _, nodes in ours for k, _, _ in nodes if k >= 3}
    assert hidden, "the evolution should have grown hidden nodes (else cycles were never tested)"


def test_cycle_check_equals_creates_cycle():
    rng = random.Random(5)
    for trial in range(300):
        nodes = list(range(-3, 8))
        graph, conns = _CycleCheck(), []
        for _ in range(rng.randint(1, 25)):
            key = (rng.choice(nodes), rng.choice(nodes[3:]))
            expected = creates_cycle(list(conns), key)
            assert graph.creates(key) == expected, (conns, key)
            if not expected and key not in conns:
                conns.append(key)
                graph.add(key)


def test_distance_equals_neat_python():
    config = _config(DefaultGenome, ff=True, hidden=2, initial="partial_nodirect 0.5", weight_init="gaussian",
                     single=False)
    pop = neat.Population(config, seed=3)
    pop.run(_fitness, 8)
    gs = list(pop.population.values())
    gc = config.genome_config
    pairs = [(a, b) for a in gs[:12] for b in gs[:12]]
    assert any(a.distance(b, gc) > 0 for a, b in pairs)
    for a, b in pairs:
        assert a.distance(b, gc) == neat.DefaultGenome.distance(a, b, gc)


def test_the_compiled_distance_equals_neat_pythons_to_the_bit_and_follows_the_genome():
    """Every pair of a grown population (hidden nodes, disabled links, activations mutated), both orders; a
    genome's arrays are rebuilt after it mutates, and a pickle leaves them out."""
    import pickle

    from entm.evolution import distance

    config = _config(DefaultGenome, ff=True, hidden=2, initial="partial_nodirect 0.5", weight_init="gaussian",
                     single=False)
    pop = neat.Population(config, seed=9)
    pop.run(_fitness, 15)
    gc = config.genome_config
    assert distance.fast_path(gc)
    gs = list(pop.population.values())
    assert any(len(g.nodes) > 3 for g in gs) and any(not c.enabled for g in gs for c in g.connections.values())
    assert len({n.activation for g in gs for n in g.nodes.values()}) > 1
    for a in gs[:40]:
        for b in gs[:40]:
            assert a.distance(b, gc) == neat.DefaultGenome.distance(a, b, gc)
    a, b = gs[0], gs[1]
    before = a.distance(b, gc)
    assert distance.ATTR in a.__dict__ and distance.ATTR not in pickle.loads(pickle.dumps(a)).__dict__
    for _ in range(5):
        a.mutate(gc)
    assert a.distance(b, gc) == neat.DefaultGenome.distance(a, b, gc) != before


def test_pickle_round_trip_keeps_every_gene():
    import pickle

    config = _config(DefaultGenome, ff=True, hidden=2, initial="full_direct", weight_init="gaussian", single=False)
    pop = neat.Population(config, seed=4)
    pop.run(_fitness, 5)
    for g in pop.population.values():
        back = pickle.loads(pickle.dumps(g, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is DefaultGenome and back.fitness == g.fitness
        assert [(k, vars(c)) for k, c in back.connections.items()] == [(k, vars(c)) for k, c in g.connections.items()]
        assert all(type(c) is type(d) for c, d in zip(back.connections.values(), g.connections.values()))
        assert [(k, vars(n)) for k, n in back.nodes.items()] == [(k, vars(n)) for k, n in g.nodes.items()]


def test_connection_keys_are_interned():
    config = _config(DefaultGenome, ff=True, hidden=1, initial="full_direct", weight_init="gaussian", single=False)
    pop = neat.Population(config, seed=6)
    pop.run(_fitness, 6)
    first = {}
    for g in pop.population.values():
        for k, c in g.connections.items():
            assert c.key is k
            assert first.setdefault(k, k) is k  # one object per key across the population


def _skewed_config(max_weight: float, **kw):
    base = dict(ff=True, hidden=0, initial="full_direct", weight_init="gaussian", single=False)
    return _config(DefaultGenome, f"conn_delete_max_weight  = {max_weight}", **{**base, **kw})


def test_the_skewed_removal_is_off_by_default_and_read_from_the_config():
    assert _config(DefaultGenome, ff=True, hidden=0, initial="full_direct", weight_init="gaussian",
                   single=False).genome_config.conn_delete_max_weight == 0.0
    assert _skewed_config(1.5).genome_config.conn_delete_max_weight == 1.5


def test_the_skewed_removal_spares_strong_connections_and_removes_weak_ones_at_anjis_rate():
    """ANJI's skewed strategy: probability conn_delete_prob x ((m - |w|) / m)^2 below m, 0 from m on."""
    config = _skewed_config(2.0)
    gc = config.genome_config
    pop = neat.Population(config, seed=3)
    genome = next(iter(pop.population.values()))
    levels = (0.0, 1.0, -1.0, 2.0, -3.0)
    for i, gene in enumerate(genome.connections.values()):
        gene.weight = levels[i % len(levels)]
    keys = {w: [k for k, g in genome.connections.items() if g.weight == w] for w in levels}
    removed = dict.fromkeys(levels, 0)
    random.seed(5)
    trials = 4000
    for _ in range(trials):
        child = DefaultGenome(1)
        child.connections = {k: g.copy() for k, g in genome.connections.items()}
        child.mutate_delete_weak_connections(gc)
        for w in levels:
            removed[w] += sum(k not in child.connections for k in keys[w])
    rate = {w: removed[w] / (trials * len(keys[w])) for w in levels}
    assert rate[2.0] == 0 and rate[-3.0] == 0  # at or above m: never
    assert abs(rate[0.0] - 0.2) < 0.02  # weight 0: the full rate
    assert abs(rate[1.0] - 0.05) < 0.01 and abs(rate[-1.0] - 0.05) < 0.01  # 0.2 x (1/2)^2


def test_with_the_skewed_removal_neat_pythons_own_deletion_is_off():
    """Strong connections only, 200 mutations: neat-python's deletion (any connection, probability 0.2 per
    mutation here) would remove about 40; the skewed removal removes none."""
    config = _skewed_config(0.5)
    pop = neat.Population(config, seed=4)
    genome = next(iter(pop.population.values()))
    for gene in genome.connections.values():
        gene.weight = 1.9  # within the weight bounds (±2), above m = 0.5
    random.seed(6)
    for _ in range(200):
        child = DefaultGenome(2)
        child.nodes = {k: n.copy() for k, n in genome.nodes.items()}
        child.connections = {k: g.copy() for k, g in genome.connections.items()}
        child.mutate(config.genome_config)
        assert set(child.connections) >= set(genome.connections)


def _parents(ff: bool, seed: int):
    """Two genomes of one evolved population with the most connection genes the other lacks, and their config
    with ``crossover_disjoint_prob`` at 1 (the test sets it where it needs another value)."""
    config = _config(DefaultGenome, "crossover_disjoint_prob = 1", ff=ff, hidden=1, initial="partial_nodirect 0.5",
                     weight_init="gaussian", single=False)
    pop = neat.Population(config, seed=seed)
    pop.run(_fitness, 12)
    genomes = list(pop.population.values())
    _fitness([(g.key, g) for g in genomes], config)
    pairs = [(a, b) for a in genomes for b in genomes if a.fitness > b.fitness]
    fitter, other = max(pairs, key=lambda p: len(set(p[1].connections) - set(p[0].connections)))
    assert len(set(other.connections) - set(fitter.connections)) >= 3
    return config, fitter, other


def test_the_less_fit_parents_own_genes_are_off_by_default():
    assert _config(DefaultGenome, ff=True, hidden=0, initial="full_direct", weight_init="gaussian",
                   single=False).genome_config.crossover_disjoint_prob == 0.0


@pytest.mark.parametrize("ff", [False, True])
def test_at_one_the_child_inherits_every_gene_of_both_parents_and_their_nodes(ff):
    config, fitter, other = _parents(ff, seed=8)
    gc = config.genome_config
    random.seed(2)
    child = DefaultGenome(99)
    child.configure_crossover(other, fitter, gc)  # the order of the arguments does not matter
    both = set(fitter.connections) | set(other.connections)
    only_other = set(other.connections) - set(fitter.connections)
    assert set(fitter.connections) <= set(child.connections)  # matching and the fitter's own genes, as before
    kept = [k for k in only_other if k in child.connections]
    for k in kept:  # the less fit parent's own gene, copied as it was
        assert (child.connections[k].weight, child.connections[k].enabled) == \
            (other.connections[k].weight, other.connections[k].enabled)
    if not ff:
        assert set(child.connections) == both
    else:  # only those that would close a cycle are left out, and then the child is acyclic
        for k in only_other - set(kept):
            assert creates_cycle(list(child.connections), k)
        for k in child.connections:
            assert not creates_cycle([c for c in child.connections if c != k], k)
        assert kept
    endpoints = {n for k in child.connections for n in k if n >= 0}
    assert endpoints <= set(child.nodes)  # every hidden node a link touches is in the child
    assert set(child.nodes) == set(fitter.nodes) | (endpoints & set(other.nodes))
    for n in set(child.nodes) - set(fitter.nodes):
        assert child.nodes[n].bias == other.nodes[n].bias


def test_at_a_half_about_half_of_the_less_fit_parents_own_genes_come_in():
    config, fitter, other = _parents(False, seed=8)
    gc = config.genome_config
    gc.crossover_disjoint_prob = 0.5
    only_other = set(other.connections) - set(fitter.connections)
    random.seed(3)
    got = []
    for i in range(400):
        child = DefaultGenome(i)
        child.configure_crossover(fitter, other, gc)
        got.append(len(only_other & set(child.connections)) / len(only_other))
        assert set(fitter.connections) <= set(child.connections)
    assert abs(sum(got) / len(got) - 0.5) < 0.05


# -- asexual_prob: SharpNEAT's asexual and sexual offspring (opt-in) ------------------------------

def _genes(g) -> tuple:
    return ({k: (c.innovation, c.weight, c.enabled) for k, c in g.connections.items()},
            {k: (n.bias, n.response, n.activation, n.aggregation) for k, n in g.nodes.items()})


def test_sharpneats_offspring_are_off_by_default():
    assert _config(DefaultGenome, ff=True, hidden=0, initial="full_direct", weight_init="gaussian",
                   single=False).genome_config.asexual_prob == 0.0


def test_a_child_is_a_mutated_copy_of_the_first_parent_or_the_unmutated_crossover():
    """Drawn child by child against the same draws made by hand: below q a copy of ``genome1`` (no gene object
    shared) that mutation then changes as neat-python's mutation changes any genome; otherwise neat-python's
    crossover of the two, which mutation leaves alone.  (Structural mutation off: new node ids and innovation
    numbers would differ between the two ways; its draws are still made.)"""
    config, fitter, other = _parents(False, seed=8)
    gc = config.genome_config
    gc.crossover_disjoint_prob = 0.0
    gc.node_add_prob = gc.node_delete_prob = gc.conn_add_prob = gc.conn_delete_prob = 0.0
    saved = (_genes(fitter), _genes(other))
    copies = 0
    for i in range(200):
        parents = (other, fitter) if i % 2 else (fitter, other)
        gc.asexual_prob = 0.5
        random.seed(i)
        child = DefaultGenome(i)
        child.configure_crossover(*parents, gc)
        made = _genes(child)
        child.mutate(gc)
        gc.asexual_prob = 0.0  # the same draws by hand
        random.seed(i)
        asexual = random.random() < 0.5
        ref = DefaultGenome(i)
        if asexual:
            copies += 1
            assert made == _genes(parents[0])
            assert not set(map(id, child.connections.values())) & set(map(id, parents[0].connections.values()))
            ref.nodes = {k: n.copy() for k, n in parents[0].nodes.items()}
            ref.connections = {k: c.copy() for k, c in parents[0].connections.items()}
            ref.mutate(gc)
            assert _genes(child) == _genes(ref) != made
        else:
            ref.configure_crossover(*parents, gc)
            assert made == _genes(ref) == _genes(child)
        assert "_unmutated" not in vars(child)
    assert 70 <= copies <= 130
    assert (_genes(fitter), _genes(other)) == saved  # the parents are untouched


def test_one_genome_as_both_parents_is_always_copied_and_mutated():
    config, fitter, _ = _parents(False, seed=8)
    gc = config.genome_config
    gc.asexual_prob = 0.01
    random.seed(1)
    state = random.getstate()
    child = DefaultGenome(5)
    child.configure_crossover(fitter, fitter, gc)
    assert random.getstate() == state  # no draw: the child is a copy
    assert _genes(child) == _genes(fitter)
    child.mutate(gc)
    assert _genes(child) != _genes(fitter)


def test_a_whole_evolution_with_sharpneats_offspring_makes_both_kinds():
    """neat-python's own reproduction loop with the item read from the config file: a generation's children
    are unmutated crossovers (every weight one of the two parents') beside mutated copies (some weight that no
    parent of the species has), and the run differs from one without the item."""
    kw = dict(ff=True, hidden=1, initial="partial_nodirect 0.5", weight_init="gaussian", single=False)
    config = _config(DefaultGenome, "asexual_prob = 0.5", **kw)
    assert config.genome_config.asexual_prob == 0.5
    pop = neat.Population(config, seed=11)  # _run's seed
    pop.run(_fitness, 8)
    parents = dict(pop.population)
    _fitness(list(parents.items()), config)
    pop.run(_fitness, 1)
    children = [g for k, g in pop.population.items() if k not in parents]
    known = {(k, c.weight) for g in parents.values() for k, c in g.connections.items()}
    crossed = [g for g in children if all((k, c.weight) in known for k, c in g.connections.items())]
    assert 0 < len(crossed) < len(children)
    assert _run(DefaultGenome, 9, **kw)[0] != [
        (gid, [(k, c.innovation, c.weight, c.enabled) for k, c in g.connections.items()],
         [(k, n.bias, n.activation) for k, n in g.nodes.items()]) for gid, g in sorted(pop.population.items())]


# -- node_add_split: SharpNEAT's add-node weights (opt-in) ---------------------------------------

def test_sharpneats_add_node_weights_are_off_by_default():
    assert _config(DefaultGenome, ff=True, hidden=0, initial="full_direct", weight_init="gaussian",
                   single=False).genome_config.node_add_split == "neat"


@pytest.mark.parametrize("ff", [False, True])
def test_sharpneats_split_keeps_the_old_weight_first_and_puts_full_strength_second(ff):
    """The same draws as neat-python's add node (the same link split, the same node and keys, Python's random
    left in the same state); the first half carries the old weight, the second ``weight_max_value``; neat-python
    gives the first 1.0 and the second the old weight; the node's bias is 0 either way."""
    config, genome, _ = _parents(ff, seed=8)
    gc = config.genome_config
    for i in range(30):
        made = {}
        for split in ("neat", "sharpneat"):
            gc.node_add_split = split
            g = DefaultGenome(1)
            g.nodes = {k: n.copy() for k, n in genome.nodes.items()}
            g.connections = {k: c.copy() for k, c in genome.connections.items()}
            random.seed(i)
            gc.node_indexer = None  # new node ids from the genome's largest up, in both
            g.mutate_add_node(gc)
            made[split] = (g, random.getstate())
        (neat_g, neat_state), (sharp_g, sharp_state) = made["neat"], made["sharpneat"]
        assert neat_state == sharp_state
        assert set(neat_g.nodes) == set(sharp_g.nodes) and set(neat_g.connections) == set(sharp_g.connections)
        new = (set(sharp_g.nodes) - set(genome.nodes)).pop()
        (i_key,) = [k for k in sharp_g.connections if k[1] == new]
        (o_key,) = [k for k in sharp_g.connections if k[0] == new]
        split_key = (i_key[0], o_key[1])  # the link split (neat-python draws among enabled and disabled ones)
        assert not sharp_g.connections[split_key].enabled
        old = genome.connections[split_key].weight
        assert (neat_g.connections[i_key].weight, neat_g.connections[o_key].weight) == (1.0, old)
        assert (sharp_g.connections[i_key].weight, sharp_g.connections[o_key].weight) == (old, gc.weight_max_value)
        assert sharp_g.nodes[new].bias == neat_g.nodes[new].bias == 0.0
        for k, c in genome.connections.items():  # nothing else changed
            if k != split_key:
                assert sharp_g.connections[k].weight == c.weight
    gc.node_add_split = "neat"


def test_the_item_from_the_config_file_reaches_mutation():
    """Read from the file and used by ``mutate`` (here with add node the only mutation that changes anything)."""
    kw = dict(ff=True, hidden=0, initial="full_direct", weight_init="gaussian", single=False)
    config = _config(DefaultGenome, "node_add_split = sharpneat", **kw)
    gc = config.genome_config
    assert gc.node_add_split == "sharpneat"
    pop = neat.Population(config, seed=11)  # sets the innovation tracker
    genome = next(iter(pop.population.values()))
    gc.node_add_prob, gc.node_delete_prob, gc.conn_add_prob, gc.conn_delete_prob = 1.0, 0.0, 0.0, 0.0
    gc.weight_mutate_rate = gc.weight_replace_rate = gc.enabled_mutate_rate = 0.0
    before = {k: c.weight for k, c in genome.connections.items()}
    random.seed(3)
    genome.mutate(gc)
    new = [k for k in genome.nodes if k >= 3]  # outputs are 0-2, no hidden nodes at the start
    (node,) = [k for k in new if any(c[1] == k for c in genome.connections)]
    (into,) = [c for k, c in genome.connections.items() if k[1] == node]
    (out,) = [c for k, c in genome.connections.items() if k[0] == node]
    assert into.weight == before[(into.key[0], out.key[1])] and out.weight == gc.weight_max_value
