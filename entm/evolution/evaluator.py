"""Fitness evaluation of genomes: the work every evaluator (serial or Ray) does.

A :class:`GenomeEvaluator` is built once (per process, per worker) from plain
settings: the config *text*, the task name and parameters, the memory spec and
the run seed.  It draws the generation's episodes itself from a generator
seeded by (run seed, generation), so every genome of a generation sees the
same episodes wherever it is evaluated, and fitness never depends on which
worker evaluated a genome or in which order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from entm.closed_loop import run_closed_loop
from entm.errors import EntmError
from entm.evolution.novelty import HEAD_STEPS, head_behaviour, reads_behaviour
from entm.hyper import Substrate
from entm.machine import Machine, run_stacked
from entm.memory import MemorySpec
from entm.neatconfig import load_config
from entm.phenotype import pack_genomes
from entm.tasks import RewardTask, SequenceTask, make_task

#: genomes per batched machine run: small enough that a chunk's outputs and traces are still in the
#: CPU cache when they are scored (16: ~3 MB for 8-bit copy; in entm bench, 8 and 16 were faster than
#: 32, 64 or 300)
CHUNK = 16
#: genomes per closed-loop run (reward tasks); the tapes of a long deployment can grow by thousands of cells
REWARD_CHUNK = 64


def episode_rng(seed: int, generation: int) -> np.random.Generator:
    """The generator of a generation's episodes: seeded by (run seed, generation)."""
    return np.random.default_rng([int(seed), int(generation)])


def training_validation_batch(task, seed: int):
    """The validation's :attr:`~entm.tasks.base.Task.training_validation` fresh episodes of the training
    distribution, seeded by (run seed, 2**31 - 2): no generation's episodes share the generator (None: the
    task has none)."""
    n = task.training_validation
    return task.sample(np.random.default_rng([int(seed), 2**31 - 2]), n) if n else None


@dataclass
class GenomeResult:
    """What evaluating one genome gives (all means over the generation's episodes)."""

    fitness: float
    score: float
    perfect: float
    bit_errors: float
    nonfinite: bool = False
    terms: dict = field(default_factory=dict)
    behaviour: np.ndarray | None = None
    """The task's behaviour descriptor (only when the run searches for novelty, :mod:`entm.evolution.novelty`), or
    the fitness per episode (lexicase selection's cases, :mod:`entm.evolution.lexicase`)."""


@dataclass(frozen=True)
class EvalSettings:
    """Everything a worker needs to evaluate genomes (plain, picklable data)."""

    config_text: str
    task: str
    task_params: dict
    memory: MemorySpec
    seed: int
    episodes: int
    encoding: str = "direct"
    """``direct`` or ``hyper`` (the genomes are CPPNs; :mod:`entm.hyper` paints the controllers)."""
    hyper: dict = field(default_factory=dict)
    """Hyper encoding: :class:`entm.hyper.HyperParams` fields."""
    behaviour: str = ""
    """Also compute every genome's behaviour descriptor (novelty search): ``task`` (``Task.behaviour``), ``head``
    (:func:`entm.evolution.novelty.head_behaviour`), ``reads`` (:func:`entm.evolution.novelty.reads_behaviour`;
    the season task: ``SeasonTask.reads_behaviour``) or ``lookup`` (``SeasonTask.lookup_behaviour``);
    or ``cases``: its fitness per episode or deployment
    (lexicase selection); "" (the default): none."""
    fixed_episodes: bool = False
    """Every generation gets generation 0's episodes (the C# port's fixed evaluation seed)."""
    replay: tuple = ()
    """Episodes of :func:`training_validation_batch` (indices) that every generation gets besides its own: the
    ones a rejected candidate failed (:mod:`entm.evolution.replay`)."""


class GenomeEvaluator:
    """Evaluates genomes for a generation; built once per process."""

    def __init__(self, settings: EvalSettings):
        self.settings = settings
        self.config = load_config(settings.config_text, "run config")
        self.task = make_task(settings.task, settings.task_params)
        self.machine = Machine(self.task, settings.memory)
        self.substrate = None
        self.net_config = self.config  # the config of the networks the machine runs
        if settings.encoding == "hyper":
            self.substrate = Substrate(self.task, settings.memory, settings.hyper)
            self.net_config = self.substrate.controller_config()
        self._episodes_cache: tuple[int, object] | None = None
        self._buffers: dict = {}  # the compiled runs' output arrays, reused chunk after chunk
        self._tiled: dict = {}  # (generation, G) -> the generation's episodes tiled G times, for scoring

    def episodes(self, generation: int):
        if not isinstance(self.task, SequenceTask):
            raise EntmError(f"task {self.task.name!r} is a {self.task.kind_name} task: it runs closed-loop and has no "
                            "precomputed episodes (this needs a sequence task)")
        generation = 0 if self.settings.fixed_episodes else generation
        if self._episodes_cache is None or self._episodes_cache[0] != generation:
            eps = self.task.sample(episode_rng(self.settings.seed, generation), self.settings.episodes)
            if self.settings.replay:
                eps = eps.concat(self._replayed)
            eps = eps.sorted_by_steps()  # longest first: the compiled evaluator skips finished episodes
            self._episodes_cache = (generation, eps)
        return self._episodes_cache[1]

    @cached_property
    def _replayed(self):
        """The replayed episodes (``settings.replay``), drawn once: the settings do not change (a retarget
        builds a new evaluator)."""
        return training_validation_batch(self.task, self.settings.seed).take(self.settings.replay)

    def evaluate(self, genomes: list, generation: int) -> tuple[dict, dict]:
        """``genomes``: [(genome_id, genome or GenomeData)]; returns ({genome_id: GenomeResult}, stats)."""
        t0 = time.perf_counter()
        if isinstance(self.task, RewardTask):
            return self._evaluate_reward(genomes, generation)
        eps = self.episodes(generation)
        results: dict = {}
        steps = 0
        for start in range(0, len(genomes), CHUNK):
            chunk = genomes[start:start + CHUNK]
            nets = self._networks([g for _, g in chunk])
            stacked = run_stacked(self.machine, nets, eps.inputs, shaping=True, steps=eps.steps,
                                  buffers=self._buffers)
            for (gid, _), r in zip(chunk, self._results(eps, stacked, len(chunk), generation)):
                results[gid] = r
            steps += len(chunk) * int(eps.steps.sum())
        return results, {"genome_steps": steps, "seconds": time.perf_counter() - t0}

    def phenotypes(self, genomes: list) -> list:
        """The controllers the genomes stand for: themselves (direct encoding), or the controllers
        their CPPNs paint (hyper; :class:`entm.phenotype.GenomeData`)."""
        if self.substrate is None:
            return list(genomes)
        return self.substrate.paint_genomes(genomes, self.config.genome_config)

    def _networks(self, genomes: list):
        """The genomes' controllers packed for a batched run (:func:`entm.phenotype.pack_genomes`; the hyper
        encoding's straight from the painted arrays, :meth:`entm.hyper.Substrate.pack`)."""
        if self.substrate is not None:
            return self.substrate.pack(self.substrate.cppn_outputs_of_genomes(genomes, self.config.genome_config))
        return pack_genomes(self.phenotypes(genomes), self.net_config.genome_config)

    def deployments(self, generation: int):
        """Reward tasks: the generation's deployments (drawn like the episodes of a sequence task)."""
        generation = 0 if self.settings.fixed_episodes else generation
        if self._episodes_cache is None or self._episodes_cache[0] != generation:
            deps = self.task.sample(episode_rng(self.settings.seed, generation), self.settings.episodes)
            self._episodes_cache = (generation, deps)
        return self._episodes_cache[1]

    def _evaluate_reward(self, genomes: list, generation: int) -> tuple[dict, dict]:
        """Reward tasks: the generation's deployments run closed-loop (entm.closed_loop), a chunk at a time."""
        t0 = time.perf_counter()
        deps = self.deployments(generation)
        results: dict = {}
        steps = 0
        task = self.task
        for start in range(0, len(genomes), REWARD_CHUNK):
            chunk = genomes[start:start + REWARD_CHUNK]
            G = len(chunk)
            nets = self._networks([g for _, g in chunk])
            env = task.environment(deps, groups=G)
            head = self.settings.behaviour == "head"
            if self.settings.behaviour in ("reads", "lookup"):
                env.keep_decision_reads(task.BEHAVIOUR_DEPLOYMENTS if self.settings.behaviour == "reads" else
                                        len(deps.items))
            run = run_closed_loop(self.machine, nets, env, head_trace=HEAD_STEPS if head else 0)
            sc = task.score(env)
            per = lambda a: np.asarray(a, dtype=np.float64).reshape(G, -1).mean(axis=1)  # noqa: E731
            rows = np.asarray(task.fitness_rows(env, sc), dtype=np.float64).reshape(G, -1)
            fit = rows.mean(axis=1)
            terms = {k: per(v) for k, v in task.fitness_terms(env).items()}
            score, perfect, bit_errors = per(sc.score), per(sc.perfect), per(sc.bit_errors)
            nonfinite = run.nonfinite.reshape(G, -1).any(axis=1) | ~np.isfinite(fit)
            kind = self.settings.behaviour
            behaviour = task.behaviour(env) if kind == "task" else task.reads_behaviour(env) if kind == "reads" \
                else task.lookup_behaviour(env) if kind == "lookup" \
                else task.lexicase_values(env, rows.reshape(-1)) if kind == "cases" else [None] * G
            if head:
                behaviour = head_behaviour(self.machine.memory.layout, self.machine.heads, run.first_heads,
                                           run.first_steps)
            for g, (gid, _) in enumerate(chunk):
                results[gid] = GenomeResult(fitness=0.0 if nonfinite[g] else float(fit[g]), score=float(score[g]),
                                            perfect=float(perfect[g]), bit_errors=float(bit_errors[g]),
                                            nonfinite=bool(nonfinite[g]),
                                            terms={k: float(v[g]) for k, v in terms.items()}, behaviour=behaviour[g])
            steps += run.row_steps
        return results, {"genome_steps": steps, "seconds": time.perf_counter() - t0}

    def _results(self, eps, stacked, G: int, generation: int | None = None) -> list:
        """Score the stacked run of a chunk's G genomes at once (episodes tiled, one group per genome)."""
        task = self.task
        B = eps.batch
        tiled = self._tiled.get((generation, G)) if generation is not None else None
        if tiled is None:
            tiled = eps.tile(G)
            if generation is not None:
                if len(self._tiled) > 4:  # a generation has at most two chunk sizes
                    self._tiled.clear()
                self._tiled[(generation, G)] = tiled
        outputs, trace = stacked.outputs, stacked.trace
        sc = task.score(tiled, outputs)
        terms = task.shape(tiled, outputs, trace, groups=G)
        rows = task.combine(sc.score, terms).reshape(G, B)
        fit = rows.mean(axis=1)
        finite = np.isfinite(outputs[tiled.mask]).reshape(G, -1).all(axis=1) if tiled.mask.any() else \
            np.ones(G, dtype=bool)
        per = lambda a: a.reshape(G, B).mean(axis=1)  # noqa: E731
        score, perfect, bit_errors = per(sc.score), per(sc.perfect.astype(float)), per(sc.bit_errors)
        term_means = {k: per(v) for k, v in terms.items()}
        kind = self.settings.behaviour
        if kind == "task":
            behaviour = task.behaviour(tiled, outputs, G)
        elif kind == "reads":
            behaviour = reads_behaviour(tiled, trace.reads, G, task.BEHAVIOUR_EPISODES)
        elif kind == "cases":
            behaviour = rows
        else:
            behaviour = [None] * G
        out = []
        for g in range(G):
            f = float(fit[g])
            nonfinite = not bool(finite[g]) or not np.isfinite(f)
            if nonfinite:
                f = 0.0  # a NaN or infinite output or score: the worst fitness, counted in the metrics
            out.append(GenomeResult(fitness=f, score=float(score[g]), perfect=float(perfect[g]),
                                    bit_errors=float(bit_errors[g]), nonfinite=nonfinite,
                                    terms={k: float(v[g]) for k, v in term_means.items()}, behaviour=behaviour[g]))
        return out


class SerialEvaluator:
    """Evaluates a generation in this process (``--serial``)."""

    name = "serial"

    def __init__(self, settings: EvalSettings):
        self.inner = GenomeEvaluator(settings)

    def __call__(self, genomes: list, generation: int) -> tuple[dict, dict]:
        results, stats = self.inner.evaluate(genomes, generation)
        stats.update(workers=1, nodes=1)
        return results, stats

    def retarget(self, **changes) -> None:
        """Evaluate with these :class:`EvalSettings` fields changed from now on (a curriculum's stage's
        ``task_params``, entm.evolution.curriculum; ``replay``, entm.evolution.replay)."""
        self.inner = GenomeEvaluator(replace(self.inner.settings, **changes))

    def close(self):
        pass
