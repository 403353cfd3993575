"""The steps of one generation, each on its own (docs/design.md, "The evolution loop").

neat-python's ``Population.run`` calls the fitness function, then every reporter's
``post_evaluate``, then (unless the config's fitness threshold is reached) reproduces.
entm splits a generation into:

- :class:`Evaluate`, the fitness function: it only evaluates (through the run's evaluator),
  sets every genome's fitness and keeps the generation's :class:`Evaluation`;
- :class:`ChampionReporter`: the solved check (on the loop's validation batch), the champion,
  ``champion.json``;
- :class:`MetricsReporter`: the generation's line of ``metrics.jsonl``;
- :class:`ProgressReporter`: the progress bar;
- :class:`Checkpoints`: the checkpoint of the last completed generation (a step of the driving
  loop in :mod:`entm.evolution.loop`, since neat-python has no reporter call at a generation's
  very end).

The reporters are added in that order and share the run's :class:`LoopState`.  None of them
draws from Python's ``random`` (neat-python's generator): a run stays a pure function of its
settings and seed.
"""

from __future__ import annotations

import copy
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
from neat.reporting import BaseReporter

from entm import runs
from entm.closed_loop import evaluate_deployments
from entm.evolution import checkpoint
from entm.evolution.evaluator import GenomeResult, training_validation_batch
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.phenotype import Network, network_json_from_genome
from entm.progress import BudgetBar
from entm.tasks import RewardTask


@dataclass
class LoopState:
    """What the loop carries from generation to generation; checkpoints hold it (as :meth:`to_dict`)."""

    champion_key: int | None = None
    champion_fitness: float | None = None
    champion_json: dict | None = None
    """The champion's network JSON, as written to ``champion.json``."""
    solved: bool = False
    """A genome was perfect on a generation's episodes and on the validation batch."""
    metrics: int = 0
    """Lines of ``metrics.jsonl`` written: the generations evaluated."""
    threshold: bool = False
    """neat-python stopped at the config's ``fitness_threshold``."""
    novelty: dict | None = None
    """Novelty search's state (:class:`entm.evolution.novelty.NoveltySearch`; None: a fitness search)."""
    curriculum: dict | None = None
    """The curriculum's stage and the generations each stage was left at (:mod:`entm.evolution.curriculum`;
    None: the task has no curriculum)."""
    restarts: list | None = None
    """The generations at which the population was replaced by a new one (``restart_every``; None: none yet)."""
    replay: list | None = None
    """The training-validation episodes (indices) every generation replays (``replay``; None: none yet)."""

    def to_dict(self) -> dict:
        """The checkpoint's ``loop`` entry (``threshold`` only once it is set, ``novelty`` only in a novelty
        search, as checkpoints always had it)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if not d["threshold"]:
            del d["threshold"]
        if d["curriculum"] is None:
            del d["curriculum"]
        for k in ("restarts", "replay"):
            if d[k] is None:
                del d[k]
            else:
                d[k] = list(d[k])
        if d["novelty"] is None:
            del d["novelty"]
        else:
            d["novelty"] = copy.deepcopy(d["novelty"])
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "LoopState":
        return cls(**data)

    def finished(self, generations: int | None, stop_when_solved: bool = True) -> bool:
        """Nothing left to do: solved (where a validated solution stops the run), stopped at the
        threshold, or ``generations`` evaluated (None: no generation budget)."""
        return ((self.solved and stop_when_solved) or self.threshold
                or (generations is not None and self.metrics >= generations))


@dataclass
class Evaluation:
    """One generation's evaluation, as the fitness function leaves it for the reporters."""

    generation: int
    genomes: list
    """(genome id, genome) pairs in neat-python's order."""
    results: dict[int, GenomeResult]
    stats: dict
    """The evaluator's statistics: seconds, genome_steps (workers, nodes)."""
    search: dict | None = None
    """Novelty search's metrics of the generation (None: a fitness search)."""

    @cached_property
    def _best(self) -> tuple:
        """The fittest by the objective (a novelty search's genome.fitness is its search score)."""
        return max(self.genomes, key=lambda kv: (self.results[kv[0]].fitness, -kv[0]))

    @property
    def best_key(self) -> int:
        """The fittest genome's id (the lowest id among equals)."""
        return self._best[0]

    @property
    def best_genome(self):
        return self._best[1]

    @property
    def best(self) -> GenomeResult:
        return self.results[self.best_key]

    @cached_property
    def fitnesses(self) -> np.ndarray:
        return np.array([self.results[gid].fitness for gid, _ in self.genomes])

    @cached_property
    def scores(self) -> np.ndarray:
        return np.array([self.results[gid].score for gid, _ in self.genomes])

    @property
    def steps_per_second(self) -> float | None:
        secs = self.stats["seconds"]
        return self.stats["genome_steps"] / secs if secs > 0 else None


class Evaluate:
    """The fitness function: evaluates a generation, sets every genome's fitness, keeps the :class:`Evaluation`."""

    def __init__(self, evaluator, population, novelty=None):
        """``novelty``: a :class:`entm.evolution.novelty.NoveltySearch` that turns the objective into search
        scores (None: genome.fitness is the objective)."""
        self.evaluator = evaluator
        self.population = population
        self.novelty = novelty
        self.latest: Evaluation | None = None

    def __call__(self, genomes, config) -> None:
        gen = self.population.generation
        # neat-python draws from Python's global `random`; whatever the evaluator (Ray's client
        # code, retries after a lost worker) might draw must not shift neat-python's sequence
        rng_state = random.getstate()
        results, stats = self.evaluator(genomes, gen)
        random.setstate(rng_state)
        for gid, g in genomes:
            g.fitness = results[gid].fitness
        search = self.novelty.assign(genomes, results) if self.novelty is not None else None
        self.latest = Evaluation(generation=gen, genomes=genomes, results=results, stats=stats, search=search)


def phenotype(genome, config, substrate):
    """(genome-like controller, its neat-python config): the genome itself, or the controller its CPPN paints."""
    if substrate is None:
        return genome, config
    return substrate.paint_genomes([genome], config.genome_config)[0].as_genome(), substrate.controller_config()


def champion_json(genome, config, task, spec: MemorySpec, fitness: float, generation: int,
                  extra: dict | None = None, substrate=None) -> dict:
    """neat-python's network JSON of ``genome`` with ``metadata.entm``; with a ``substrate`` (hyper
    encoding) the network is the controller the CPPN ``genome`` paints, and the CPPN's own network
    JSON, its size and the substrate's parameters go into the metadata (``entm evaluate`` re-paints it)."""
    if substrate is None:
        data = network_json_from_genome(genome, config.genome_config)
    else:
        controller, ccfg = phenotype(genome, config, substrate)
        data = network_json_from_genome(controller, ccfg.genome_config)
    entm_meta = {
        "task": task.name,
        "task_params": task.params(),
        "memory": spec.mode,
        "memory_params": spec.params(),
        "heads": spec.heads,
        "fitness": float(fitness),
        "generation": int(generation),
        "genome_key": int(genome.key),
    }
    if substrate is not None:
        cppn = network_json_from_genome(genome, config.genome_config)
        cppn.get("metadata", {}).pop("created_timestamp", None)  # the champion's own says when
        entm_meta.update(encoding="hyper", substrate=substrate.params(), cppn=cppn,
                         cppn_size=list(Network.from_genome(genome, config.genome_config).size()))
    if extra:
        entm_meta.update(extra)
    data.setdefault("metadata", {})["entm"] = entm_meta
    return data


class ChampionReporter(BaseReporter):
    """The solved check and the champion; a new champion goes to ``champion.json``.

    Until the run is solved, the champion is the fittest genome seen so far (a generation's best
    replaces it only with a higher fitness), and the first validated solver (:meth:`solver`) becomes
    the champion whatever its fitness: being right on every episode and on the validation batch
    counts more than the shaping terms, which reward one way of solving the task (a solver's fitness
    can be lower than an unsolved genome's).  A run that goes on after it is solved
    (``stop_when_solved=False``) keeps that solver unless a later generation's validated solver has a
    higher fitness; unvalidated genomes never replace it.
    """

    CANDIDATES = 3
    """At most this many of a generation's perfect genomes are validated."""

    def __init__(self, evaluate: Evaluate, state: LoopState, validator, task, spec, run_dir: Path, substrate=None,
                 writer: RunWriter | None = None):
        """``validator.perfect(genome)``: whether the genome is perfect on the validation batch; ``writer``:
        where champion.json is written (None: at once)."""
        self.evaluate, self.state, self.validator, self.writer = evaluate, state, validator, writer
        self.task, self.spec, self.run_dir, self.substrate = task, spec, run_dir, substrate
        self.champion_terms: dict | None = None
        """The shaping terms of the champion chosen in this session (None: it was chosen before a resume)."""

    def solver(self, ev: Evaluation):
        """The first genome, best fitness first, perfect on every episode of the generation and on
        the validation batch (None if there is none among the first candidates)."""
        perfect = sorted((gid for gid, _ in ev.genomes if ev.results[gid].perfect == 1.0),
                         key=lambda k: (-ev.results[k].fitness, k))
        genome_by_id = dict(ev.genomes)
        for gid in perfect[:self.CANDIDATES]:
            if self.validator.perfect(genome_by_id[gid]):
                return genome_by_id[gid]
        return None

    def post_evaluate(self, config, population, species, best_genome):
        ev, state = self.evaluate.latest, self.state
        champ = self.solver(ev)
        fitness = lambda g: ev.results[g.key].fitness  # noqa: E731  (the objective, whatever the search)
        if state.solved:  # the run goes on after its solution: only a fitter validated solver replaces it
            if champ is not None and not fitness(champ) > state.champion_fitness:
                champ = None
        elif champ is not None:
            state.solved = True
        elif state.champion_fitness is None or fitness(ev.best_genome) > state.champion_fitness:
            champ = ev.best_genome
        if champ is None:
            return
        r = ev.results[champ.key]
        stage = {"stage": state.curriculum["stage"]} if state.curriculum else {}
        data = champion_json(champ, config, self.task, self.spec, r.fitness, ev.generation,
                             extra={"score": r.score, "perfect": r.perfect, "solved": state.solved, **stage},
                             substrate=self.substrate)
        state.champion_key, state.champion_fitness, state.champion_json = int(champ.key), float(r.fitness), data
        self.champion_terms = dict(r.terms)
        submit_write(self.writer, write_champion, self.run_dir, data)


def write_champion(run_dir: Path, data: dict, name: str = runs.CHAMPION_FILE) -> None:
    """A champion's network JSON as ``name`` in the run directory (``champion.json``; a curriculum's stage
    champions: :mod:`entm.evolution.curriculum`)."""
    runs.atomic_write(Path(run_dir) / name, json.dumps(data, indent=2) + "\n")


class MetricsReporter(BaseReporter):
    """The generation's line of ``metrics.jsonl`` (after the champion's update)."""

    def __init__(self, evaluate: Evaluate, state: LoopState, run_dir: Path, t_start: float, substrate=None,
                 writer: RunWriter | None = None):
        self.evaluate, self.state, self.run_dir, self.writer = evaluate, state, run_dir, writer
        self.t_start, self.substrate = t_start, substrate

    def post_evaluate(self, config, population, species, best_genome):
        submit_write(self.writer, runs.append_metrics, self.run_dir,
                     self.record(self.evaluate.latest, config, len(species.species), _moving_threshold(species)))
        self.state.metrics += 1

    def record(self, ev: Evaluation, config, species: int, threshold: float | None = None) -> dict:
        best, best_g, state = ev.best, ev.best_genome, self.state
        best_net, best_cfg = phenotype(best_g, config, self.substrate)
        size = Network.from_genome(best_net, best_cfg.genome_config).size()
        cppn = {"best_cppn_size": list(Network.from_genome(best_g, config.genome_config).size())} \
            if self.substrate else {}
        return {
            "generation": ev.generation,
            "best_fitness": best.fitness,
            "mean_fitness": float(ev.fitnesses.mean()),
            "best_score": best.score,
            "best_perfect": best.perfect,
            "best_bit_errors": best.bit_errors,
            "max_score": float(ev.scores.max()),
            "mean_score": float(ev.scores.mean()),
            "best_terms": best.terms,
            "best_genome": int(ev.best_key),
            "best_size": list(size),
            **cppn,
            "champion_fitness": state.champion_fitness,
            "champion_genome": state.champion_key,
            "solved": state.solved,
            "species": species,
            **({"compatibility_threshold": threshold} if threshold is not None else {}),
            "population": len(ev.genomes),
            "nonfinite": int(sum(ev.results[gid].nonfinite for gid, _ in ev.genomes)),
            "genome_steps": ev.stats["genome_steps"],
            "eval_seconds": ev.stats["seconds"],
            "steps_per_second": ev.steps_per_second,
            "workers": ev.stats.get("workers", 1),
            "nodes": ev.stats.get("nodes", 1),
            "wall_seconds": time.perf_counter() - self.t_start,
            **({"search": ev.search} if ev.search is not None else {}),
            **({"stage": state.curriculum["stage"]} if state.curriculum else {}),
            **({"restarts": len(state.restarts)} if state.restarts else {}),
            **({"replayed": len(state.replay)} if state.replay else {}),
        }


def _moving_threshold(species_set) -> float | None:
    """The next speciation's compatibility threshold when ``target_species`` moves it
    (:mod:`entm.evolution.species`), else None (none with ``speciation = kmeans``)."""
    c = species_set.species_set_config
    if getattr(c, "target_species", 0) and getattr(c, "speciation", "threshold") != "kmeans":
        return float(species_set.threshold)
    return None


class ProgressReporter(BaseReporter):
    """The progress bar (:class:`entm.progress.BudgetBar`): one step per generation against the
    run's budget (generations, minutes or both); its text names whose numbers it shows: the
    generation's fittest genome (``best``: fitness, task score, share of its episodes perfect), the
    generation's mean fitness, and the run's champion (its fitness; ``solved`` once it is a validated
    solver, which may be less fit than the generation's best)."""

    def __init__(self, evaluate: Evaluate, state: LoopState, generations: int | None, out, initial: int = 0,
                 minutes: float | None = None):
        self.evaluate, self.state = evaluate, state
        self.bar = BudgetBar("gen", total=generations, minutes=minutes, initial=initial, out=out)

    def post_evaluate(self, config, population, species, best_genome):
        ev, state = self.evaluate.latest, self.state
        best = ev.best
        champ = "" if state.champion_fitness is None else \
            f" | champion {state.champion_fitness:.3f}{' solved' if state.solved else ''}"
        if state.curriculum:
            champ += f" | stage {state.curriculum['stage'] + 1}"
        self.bar.set_postfix_str(f"best: fit {best.fitness:.3f} score {best.score:.3f} {100 * best.perfect:.0f}% "
                                 f"perfect | mean fit {ev.fitnesses.mean():.3f}{champ} | sp {len(species.species)} "
                                 f"{ev.steps_per_second or 0:,.0f} steps/s")
        self.bar.advance(state.metrics)

    def close(self) -> None:
        self.bar.close()


class RunWriter:
    """The run directory's writes (metrics lines, champion.json, checkpoints) in the order they are asked
    for, in one background thread, so that the driver does not wait for the disk (each write fsyncs).
    The order keeps every invariant of the files: a checkpoint reaches the disk after the metrics lines and
    the champion of the generations it holds.  An error of a write is raised by the next :meth:`submit` or
    :meth:`flush`; after it nothing more is written."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, function, *args) -> None:
        self.raise_error()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="entm-writer", daemon=True)
            self._thread.start()
        self._queue.put((function, args))

    def _work(self) -> None:
        while True:
            function, args = self._queue.get()
            try:
                if self._error is None:
                    function(*args)
            except BaseException as e:  # raised in the driver by the next submit() or flush()
                self._error = e
            finally:
                self._queue.task_done()

    def flush(self, raise_errors: bool = True) -> None:
        """Wait until every write asked for is done; raise the first error (``raise_errors``)."""
        if self._thread is not None:
            self._queue.join()
        if raise_errors:
            self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def submit_write(writer: RunWriter | None, function, *args) -> None:
    if writer is None:
        function(*args)
    else:
        writer.submit(function, *args)


class Checkpoints:
    """The checkpoint of the last completed generation: taken after every generation (kept in memory
    for Ctrl-C), written every ``every`` generations, when interrupted and when the run ends.

    The snapshot (the checkpoint's bytes) is taken at the generation boundary; a periodic write
    (compressing and writing the file) goes to the run's :class:`RunWriter` (``writer``; None: written
    at once) while the next generation goes on.  :meth:`write` (the last checkpoint, Ctrl-C) writes after
    every write asked for before it, and returns when it is on disk."""

    def __init__(self, run_dir: Path, population, state: LoopState, every: int, identity: str | None = None,
                 writer: RunWriter | None = None):
        self.run_dir, self.population, self.state, self.identity = run_dir, population, state, identity
        self.every = max(1, int(every))
        self.writer = writer
        self.mark()

    def mark(self) -> None:
        """Snapshot the generation boundary the population is at (the living genomes' ancestry only)."""
        checkpoint.keep_living_ancestors(self.population)
        self.data = checkpoint.snapshot(self.population, self.state.to_dict(), self.identity)
        self.generation = self.population.generation

    def after_generation(self) -> None:
        self.mark()
        if self.generation % self.every == 0:
            submit_write(self.writer, checkpoint.write, self.run_dir, self.generation, self.data)

    def write(self) -> None:
        """Write the last snapshot, after every earlier write; returns when it is on disk."""
        self.wait()
        checkpoint.write(self.run_dir, self.generation, self.data)

    def wait(self, raise_errors: bool = True) -> None:
        """Finish the writes asked for; an error of one is raised here (kept for later without ``raise_errors``)."""
        if self.writer is not None:
            self.writer.flush(raise_errors)


class Validator:
    """Checks a candidate on a fixed batch of long episodes (the generalisation guard) and on
    :attr:`entm.tasks.base.Task.training_validation` fresh episodes of the training distribution; with a
    curriculum (``stages``), no genome passes before the last stage, the full task."""

    def __init__(self, task, spec, config, seed, substrate=None, stages=None):
        self.task, self.stages = task, stages
        self.machine = Machine(task, spec)
        self.config = config
        self.substrate = substrate
        length, n = task.validation
        self.episodes = None
        if n:
            self.episodes = task.validation_sample(np.random.default_rng([int(seed), 2**31 - 1]), n, length)
        self.training = training_validation_batch(task, seed)
        self.failures: list[int] = []
        """The training-batch episodes (indices) that rejected candidates failed, in order, until
        :meth:`take_failures`."""

    def take_failures(self) -> list[int]:
        out, self.failures = self.failures, []
        return out

    def perfect(self, genome) -> bool:
        if self.stages is not None and not self.stages.final:
            return False
        if self.episodes is None:
            return True
        controller, cfg = phenotype(genome, self.config, self.substrate)
        return self.perfect_network(Network.from_genome(controller, cfg.genome_config))

    def perfect_network(self, net: Network) -> bool:
        """Whether the controller ``net`` is perfect on the validation batch (a reward task's deployments
        run closed-loop)."""
        if self.episodes is None:
            return True
        if isinstance(self.task, RewardTask):
            scores, _ = evaluate_deployments(self.machine, net, self.episodes)
            return bool(np.all(scores.perfect))
        if self.training is not None:  # first: short episodes, and the failures are kept
            perfect = self.task.score(self.training, self.machine.run(net, self.training.inputs).outputs).perfect
            if not np.all(perfect):
                self.failures.extend(int(i) for i in np.flatnonzero(~perfect))
                return False
        return bool(np.all(self.task.score(self.episodes, self.machine.run(net, self.episodes.inputs).outputs).perfect))
