"""Opt-in reproduction on the workers (``--reproduction workers``): the driver plans, the workers breed.

In the default mode (``driver``) the driver runs neat-python's whole
reproduction: it creates every child (crossover and mutation of 500+ gene
objects each), which costs several times one core's evaluation of the
generation, so a cluster cannot speed a generation up much (docs/performance.md).

In ``workers`` mode the driver keeps neat-python's *planning*, unchanged and
with its own draws: stagnation, adjusted fitness, spawn amounts per species,
elites, the choice of both parents of every child (``DefaultReproduction.
reproduce`` runs as it is; only the genome class it instantiates is a
placeholder that records the parents).  The children themselves are made on
the workers, with neat-python's own operators (entm's ``DefaultGenome``:
``configure_crossover`` then ``mutate``, the config's rates), and evaluated
there in the same task, on the next generation's episodes; the elites are
re-evaluated in the same tasks.  The driver holds every genome as a
:class:`PackedGenome` (flat arrays: no gene objects) and speciates with
neat-python's ``DefaultSpeciesSet`` over a compiled distance.

What differs from neat-python's evolution (so a run in this mode is not the
default mode's run):

* every child draws from its own generator, ``random.seed`` of (the
  generation's seed, the child's id); the generation's seed is one draw from
  the driver's ``random``; so a run is deterministic per seed and does not
  depend on the number of workers or on how children are grouped;
* a new node's id is ``node_base + child id`` (a child adds at most one node),
  not neat-python's running counter;
* a connection gene's innovation number is a function of its key
  (:func:`innovation`): genes are matched by key in crossover, as
  neat-python did before 2.0, instead of numbering each generation's new
  structures;
* the distance's sums are taken in key order, not in the genome's order
  (the same terms: floating-point rounding may differ in the last bits).

Checkpoints hold the packed genomes and the :class:`WorkerReproduction`
(with its ``node_base``): a run resumes exactly.
"""

from __future__ import annotations

import itertools
import random
import time
import weakref

import neat
from neat.genes import DefaultConnectionGene, DefaultNodeGene

from entm.errors import EntmError
from entm.evolution.gc_pause import gc_paused
from entm.evolution.genome import DefaultGenome
from entm.evolution.packed import SHIFT, PackedGenome
from entm.evolution.reproduction import DefaultReproduction

MODES = ("driver", "workers")
"""``driver``: neat-python's evolution, exactly; ``workers``: this module."""


def innovation(i: int, o: int) -> int:
    """A connection's innovation number in ``workers`` mode: its key as one integer (o < 2**32)."""
    return i * SHIFT + o


class KeyInnovations:
    """An innovation tracker for the workers: the number of a connection is a function of its key."""

    def get_innovation_number(self, i, o, kind=None) -> int:
        return innovation(i, o)


def configure(config, mode: str):
    """``config`` set up for reproduction ``mode`` (``workers``: :class:`WorkerReproduction`); returns it."""
    if mode not in MODES:
        raise EntmError(f"unknown reproduction {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "workers":  # it packs neat-python's default genes' attributes
        gc = config.genome_config
        if (gc.connection_gene_type is not DefaultConnectionGene or gc.node_gene_type is not DefaultNodeGene
                or not issubclass(config.genome_type, neat.DefaultGenome)):
            raise EntmError("--reproduction workers needs a DefaultGenome config with neat-python's default genes")
        config.reproduction_type = WorkerReproduction
    return config


def check_mode(population, mode: str, path) -> None:
    """A checkpoint's population must have been made in the run's reproduction mode."""
    found = "workers" if isinstance(population.reproduction, WorkerReproduction) else "driver"
    if found != mode:
        raise EntmError(f"{path} was written with --reproduction {found}, but the run says {mode}; a run keeps "
                        f"its reproduction mode")


class _Pending:
    """What ``DefaultReproduction.reproduce`` instantiates in ``workers`` mode: a child's id and parents."""

    __slots__ = ("key", "parents")

    def __init__(self, key):
        self.key, self.parents = key, None

    def configure_crossover(self, genome1, genome2, config):
        self.parents = (genome1, genome2)

    def mutate(self, config):
        pass


class WorkerReproduction(DefaultReproduction):
    """neat-python's reproduction with the children made (and evaluated) by ``maker`` (see the module docstring).

    ``maker(jobs, elites, seed, node_base, generation)`` makes ``jobs`` [(child id, parent 1, parent 2)], evaluates
    them and ``elites`` on ``generation``'s episodes, and returns the children {id: PackedGenome}.  The maker is the
    run's (not pickled); the loop attaches it (:func:`attach`).
    """

    def __init__(self, config, reporters, stagnation):
        super().__init__(config, reporters, stagnation)
        self.node_base: int | None = None
        self.maker = None

    def create_new(self, genome_type, genome_config, num_genomes):
        """neat-python's initial population (the same genomes, made in the same order with the same draws as
        ``DefaultReproduction.create_new``), each packed as soon as it is made: the driver never holds a
        population of gene objects."""
        genome_config.innovation_tracker = self.innovation_tracker
        packed = {}
        top = genome_config.num_outputs - 1
        for _ in range(num_genomes):
            key = next(self.genome_indexer)
            g = genome_type(key)
            g.configure_new(genome_config)
            top = max([top, *g.nodes])
            p = PackedGenome.from_genome(g)
            p._full = None  # rebuilt when needed, with this mode's innovation numbers (the keys')
            packed[key] = p
            self.ancestors[key] = tuple()
        self.node_base = max(top + 1, self.node_base or 0)  # kept after an extinction: ids stay unique
        return packed

    def adopt(self, genomes: dict) -> dict:
        """Genomes made in the driver (``--init-from``'s first population), packed as ``create_new`` packs its
        own; new node ids go on above theirs."""
        packed = {}
        for key, g in genomes.items():
            packed[key] = p = PackedGenome.from_genome(g)
            p._full = None
        self.node_base = max(self.node_base or 0, max(max(g.nodes) for g in genomes.values()) + 1)
        return packed

    def reproduce(self, config, species, pop_size, generation):
        if self.maker is None:
            raise RuntimeError("WorkerReproduction has no maker (entm.evolution.worker_repro.attach)")
        genome_type = config.genome_type
        config.genome_type = _Pending
        try:
            planned = super().reproduce(config, species, pop_size, generation)
        finally:
            config.genome_type = genome_type
        seed = random.getrandbits(63)
        jobs = [(gid, g.parents[0], g.parents[1]) for gid, g in planned.items() if isinstance(g, _Pending)]
        elites = [g for g in planned.values() if not isinstance(g, _Pending)]
        children = self.maker(jobs, elites, seed, self.node_base, generation + 1)
        return {gid: children[gid] if isinstance(g, _Pending) else g for gid, g in planned.items()}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["maker"] = None
        return state


def make_children(jobs, seed: int, node_base: int, genome_config) -> list:
    """Runs on a worker (or in the driver's process for ``--serial``): each child of ``jobs`` [(child id,
    parent 1, parent 2)] by crossover and mutation, drawing from ``random`` seeded by (seed, child id);
    returns the children as entm DefaultGenomes.  Python's ``random`` is left as it was."""
    saved = random.getstate()
    saved_tracker, saved_indexer = getattr(genome_config, "innovation_tracker", None), genome_config.node_indexer
    genome_config.innovation_tracker = KeyInnovations()
    out = []
    try:
        for gid, p1, p2 in jobs:
            g1, g2 = p1.full(), p2.full()
            random.seed(seed * 1_000_003 + int(gid))
            genome_config.node_indexer = itertools.count(node_base + int(gid))
            child = DefaultGenome(gid)
            child.configure_crossover(g1, g2, genome_config)
            child.mutate(genome_config)
            out.append(child)
    finally:
        random.setstate(saved)
        genome_config.innovation_tracker, genome_config.node_indexer = saved_tracker, saved_indexer
    return out


def breed_task(evaluator, generation: int, plan: tuple, genomes: list):
    """A worker's task: make the children of ``plan`` = (jobs [(child id, parent 1 id, parent 2 id)], elite ids,
    seed, node_base) from ``genomes`` (the parents and elites, packed), evaluate them and the elites on
    ``generation``'s episodes with ``evaluator`` (a :class:`~entm.evolution.evaluator.GenomeEvaluator`);
    returns (children packed, results, stats with ``make_seconds``)."""
    with gc_paused():  # entm.evolution.gc_pause: the collector costs more than the gene work itself
        return _breed(evaluator, generation, plan, genomes)


def _breed(evaluator, generation: int, plan: tuple, genomes: list):
    jobs, elite_ids, seed, node_base = plan
    by_key = {g.key: g for g in genomes}
    t0 = time.perf_counter()
    made = _MADE.setdefault(evaluator, {})  # this process's genomes of this run, unpacked: not rebuilt again
    for g in genomes:
        hit = made.get(g.key)
        if hit is not None and g._full is None:
            g._full = hit[1]
    children = make_children([(gid, by_key[a], by_key[b]) for gid, a, b in jobs], seed, node_base,
                             evaluator.config.genome_config)
    make_seconds = time.perf_counter() - t0
    todo = [(g.key, g) for g in children] + [(k, by_key[k].full()) for k in elite_ids]
    results, stats = evaluator.evaluate(todo, generation)
    stats["make_seconds"] = make_seconds
    made.update((g.key, (generation, g.full())) for g in genomes)
    made.update((g.key, (generation, g)) for g in children)
    for k in [k for k, (gen, _) in made.items() if gen < generation - 1]:
        del made[k]
    packed = [PackedGenome.from_genome(g) for g in children]
    stats["task_seconds"] = time.perf_counter() - t0
    return packed, results, stats


_MADE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per evaluator (one per run and process): {genome key: (generation, genome)}, the genomes this process made
or rebuilt in the last two generations.  A genome never changes once made and keys are unique in a run, so a
parent made here is used as it is instead of being rebuilt from its arrays (every parent with one worker, a
share of them with several)."""


def plans(jobs, elites, seed: int, node_base: int, parts: int) -> list[tuple]:
    """The tasks of one generation: ``parts`` tasks of about equal numbers of genomes (children and elites),
    each as (plan, the packed genomes it needs), in order."""
    items = [("child", j) for j in jobs] + [("elite", e) for e in elites]
    if not items:
        return []
    parts = max(1, min(parts, len(items)))
    size = -(-len(items) // parts)
    out = []
    for s in range(0, len(items), size):
        chunk = items[s:s + size]
        need: dict = {}
        plan_jobs, elite_ids = [], []
        for kind, x in chunk:
            if kind == "child":
                gid, p1, p2 = x
                need[p1.key], need[p2.key] = p1, p2
                plan_jobs.append((gid, p1.key, p2.key))
            else:
                need[x.key] = x
                elite_ids.append(x.key)
        out.append(((plan_jobs, elite_ids, seed, node_base), list(need.values())))
    return out


class Breeder:
    """The run's evaluator in ``workers`` mode: the maker of :class:`WorkerReproduction` (children made and
    evaluated in the same tasks, serially or on Ray) and the fitness function's evaluator, which returns the
    results computed with the children (and evaluates, through the run's evaluator, whatever it has none for:
    the first generation, the first after a resume)."""

    def __init__(self, evaluator, tasks_per_worker: int = 1):
        self.evaluator = evaluator
        self.name = getattr(evaluator, "name", "serial")
        self.tasks_per_worker = tasks_per_worker
        self.ready: tuple | None = None  # (generation, results, stats)
        self.last: dict = {}

    def __call__(self, genomes: list, generation: int) -> tuple[dict, dict]:
        ready, self.ready = self.ready, None
        if ready is not None and ready[0] == generation and all(gid in ready[1] for gid, _ in genomes):
            return ready[1], ready[2]
        return self.evaluator([(gid, g.genome_data() if isinstance(g, PackedGenome) else g) for gid, g in genomes],
                              generation)

    def make(self, jobs, elites, seed: int, node_base: int, generation: int) -> dict:
        t0 = time.perf_counter()
        workers = getattr(self.evaluator, "workers", 1)
        tasks = plans(jobs, elites, seed, node_base, workers * self.tasks_per_worker)
        if hasattr(self.evaluator, "map"):  # Ray
            outs, driver = self.evaluator.map(breed_task, tasks, generation)
        else:
            inner = self.evaluator.inner
            outs, driver = [breed_task(inner, generation, plan, gs) for plan, gs in tasks], {}
        children, results, steps, make_s, eval_s, task_s = {}, {}, 0, 0.0, 0.0, 0.0
        for made, res, st in outs:
            children.update((g.key, g) for g in made)
            results.update(res)
            steps += st["genome_steps"]
            make_s += st["make_seconds"]
            eval_s += st["seconds"]
            task_s += st["task_seconds"]
        stats = {"genome_steps": steps, "seconds": time.perf_counter() - t0, "workers": driver.get("workers", 1),
                 "nodes": driver.get("nodes", 1)}
        self.last = {"make_seconds": make_s, "worker_eval_seconds": eval_s, "task_seconds": task_s, **driver}
        self.ready = (generation, results, stats)
        return children

    def close(self):
        self.evaluator.close()


def attach(population, evaluator):
    """The evaluator a run uses: ``evaluator`` itself (default mode), or a :class:`Breeder` around it
    attached to the population's :class:`WorkerReproduction` (``workers`` mode)."""
    rep = population.reproduction
    if not isinstance(rep, WorkerReproduction):
        return evaluator
    breeder = Breeder(evaluator)
    rep.maker = breeder.make
    return breeder
