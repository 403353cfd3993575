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
from dataclasses import dataclass, field

import numpy as np

from entm.machine import Machine, run_population
from entm.memory import MemorySpec
from entm.network import Network
from tasks import make_task

#: genomes per batched machine run (bounds memory: chunk x episodes rows)
CHUNK = 32


def episode_rng(seed: int, generation: int) -> np.random.Generator:
    """The generator of a generation's episodes: seeded by (run seed, generation)."""
    return np.random.default_rng([int(seed), int(generation)])


@dataclass
class GenomeResult:
    """What evaluating one genome gives (all means over the generation's episodes)."""

    fitness: float
    score: float
    perfect: float
    bit_errors: float
    nonfinite: bool = False
    terms: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EvalSettings:
    """Everything a worker needs to evaluate genomes (plain, picklable data)."""

    config_text: str
    task: str
    task_params: dict
    memory: MemorySpec
    seed: int
    episodes: int


class GenomeEvaluator:
    """Evaluates genomes for a generation; built once per process."""

    def __init__(self, settings: EvalSettings):
        from entm.evolution.neatconfig import load_config

        self.settings = settings
        self.config = load_config(settings.config_text, "run config")
        self.task = make_task(settings.task, settings.task_params)
        self.machine = Machine(self.task, settings.memory)
        self._episodes_cache: tuple[int, object] | None = None

    def episodes(self, generation: int):
        if self._episodes_cache is None or self._episodes_cache[0] != generation:
            eps = self.task.sample(episode_rng(self.settings.seed, generation), self.settings.episodes)
            self._episodes_cache = (generation, eps)
        return self._episodes_cache[1]

    def evaluate(self, genomes: list, generation: int) -> tuple[dict, dict]:
        """``genomes``: [(genome_id, genome)]; returns ({genome_id: GenomeResult}, stats)."""
        t0 = time.perf_counter()
        eps = self.episodes(generation)
        results: dict = {}
        steps = 0
        gc = self.config.genome_config
        for start in range(0, len(genomes), CHUNK):
            chunk = genomes[start:start + CHUNK]
            nets = [Network.from_genome(g, gc) for _, g in chunk]
            runs = run_population(self.machine, nets, eps.inputs, shaping=True)
            for (gid, _), run in zip(chunk, runs):
                results[gid] = self._result(eps, run)
            steps += len(chunk) * int(eps.steps.sum())
        return results, {"genome_steps": steps, "seconds": time.perf_counter() - t0}

    def _result(self, eps, run) -> GenomeResult:
        task = self.task
        nonfinite = not np.all(np.isfinite(run.outputs))
        sc = task.score(eps, run.outputs)
        fit = task.fitness(eps, run.outputs, sc, run.trace)
        fitness = float(np.mean(fit))
        if not np.isfinite(fitness):
            fitness, nonfinite = 0.0, True  # worst possible fitness, counted in the metrics
        terms = task.shaping_terms(eps, run.trace, run.outputs) if hasattr(task, "shaping_terms") else {}
        return GenomeResult(fitness=fitness, score=float(np.mean(sc.score)), perfect=float(np.mean(sc.perfect)),
                            bit_errors=float(np.mean(sc.bit_errors)), nonfinite=nonfinite, terms=terms)


class SerialEvaluator:
    """Evaluates a generation in this process (``--serial``)."""

    name = "serial"

    def __init__(self, settings: EvalSettings):
        self.inner = GenomeEvaluator(settings)

    def __call__(self, genomes: list, generation: int) -> tuple[dict, dict]:
        results, stats = self.inner.evaluate(genomes, generation)
        stats.update(workers=1, nodes=1)
        return results, stats

    def close(self):
        pass
