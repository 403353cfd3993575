"""``entm bench``: genome-steps per second, entm's batched evaluation against the plain way.

A genome-step is one network activation and one memory step for one episode of
one genome.  One generation's population (``initial_connection = full_direct``,
the task's full input/output size) is evaluated several times:

* ``steps_per_second``: entm's compiled evaluation (networks packed, network and
  memory run for every genome and episode), this process, one core; the
  structure cache is cleared before each repetition, so packing is paid in full;
  the output buffers are kept from one repetition to the next, as the evaluator
  keeps them from one generation to the next;
* ``evaluation_steps_per_second``: the same plus scoring and fitness shaping
  (what a generation costs);
* ``plain_steps_per_second``: neat-python's own ``FeedForwardNetwork.create`` and
  ``activate``, one sample and one step at a time, with a straightforward
  memory (:mod:`entm.bench.plain`), on a sample of the same genomes and episodes;
  every rate is the best of the repetitions, which interleave the ways so that
  a busy machine slows them alike;
* ``ratio`` = steps_per_second / plain_steps_per_second;
* with ``workers``: the full evaluation on an embedded local Ray with 1 worker
  and with ``workers`` workers, in the same run.

A reward task (``--task tmaze``, ``--task season``) runs closed-loop; its bench
is :mod:`entm.bench.reward` (the fused loop, the numpy loop and the plain way).

``run_dir`` (``entm bench --run RUN``) times a run's own population instead: the genomes of its latest
checkpoint, with its task, memory, config and episodes (those of the checkpoint's generation), which an
evolved population can make slower or faster than a first one (docs/performance.md).
"""

from __future__ import annotations

import re
import statistics
import time
from typing import NamedTuple

import neat
import numpy as np
import torch

from entm.bench.plain import PlainSoftMemory, PlainTape, run_plain
from entm.bench.reward import format_reward_bench, population_line, run_reward_bench
from entm.budget import check_evolution
from entm.errors import EntmError
from entm.evolution.evaluator import CHUNK, EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, prepare
from entm.machine import run_stacked
from entm.memory import MemorySpec
from entm.neatconfig import load_config
from entm.phenotype import clear_structure_cache, pack_genomes
from entm.tasks import RewardTask


class RunPopulation(NamedTuple):
    """A run's latest checkpointed population and what evaluating it takes (:func:`run_population`)."""

    task: object
    spec: MemorySpec
    machine: object
    config_text: str
    genomes: list
    seed: int
    generation: int
    episodes: int
    fixed_episodes: bool


def run_population(run_dir) -> RunPopulation:
    """A run's latest checkpointed population (genome id, genome), with its task, memory, machine, config, seed,
    the checkpoint's generation and the run's episodes per generation."""
    from pathlib import Path

    from entm import runs
    from entm.evolution import checkpoint
    from entm.evolution.loop import settings_from_run

    run_dir = Path(run_dir)
    settings = settings_from_run(run_dir)  # not a run, an edited run.json: one line
    if settings.encoding != "direct":
        raise EntmError(f"{run_dir} is a {settings.encoding}-encoding run: --run benches the direct encoding's "
                        f"populations (a CPPN is not the network the plain way runs)")
    settings.config = str(run_dir / runs.CONFIG_FILE)
    task_obj, spec, machine, text = prepare(settings)
    if not checkpoint.list_checkpoints(run_dir):
        raise EntmError(f"{run_dir} has no checkpoint yet: nothing to bench (a run writes one every few "
                        f"generations)")
    pop = checkpoint.load_latest(run_dir, load_config(text, settings.config)).population
    episodes = int(settings.episodes or task_obj.default_episodes)
    return RunPopulation(task_obj, spec, machine, text, list(pop.population.items()), int(settings.seed),
                         int(pop.generation), episodes, bool(settings.fixed_episodes))


def run_bench(task="copy", task_params=None, memory="discrete", population=300, episodes=50, repeats=7,
              workers=None, plain_genomes=10, plain_episodes=10, seed=0, progress=None, memory_params=None,
              heads=1, run_dir=None) -> dict:
    """``memory_params``, ``heads``: the memory's options (``entm bench --preset`` gives a preset's);
    ``run_dir``: a run's population instead of a first one (its task, memory, config, seed and episodes
    replace those given)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core, like a Ray worker (Ray gives each worker one thread)
    try:
        return _run_bench(task, task_params, memory, population, episodes, repeats, workers, plain_genomes,
                          plain_episodes, seed, progress, dict(memory_params or {}), heads, run_dir)
    finally:
        torch.set_num_threads(threads)


def _run_bench(task, task_params, memory, population, episodes, repeats, workers, plain_genomes, plain_episodes,
               seed, progress, memory_params, heads, run_dir) -> dict:
    if population < 2 or episodes < 1 or repeats < 1:
        raise EntmError("population must be at least 2, episodes and repeats at least 1")
    say = progress or (lambda msg: None)
    genomes, generation, fixed = None, 0, False
    if run_dir is None:
        settings = EvolveSettings(task=task, task_params=dict(task_params or {}), memory=memory,
                                  memory_params=memory_params, heads=heads)
        task_obj, spec, machine, text = prepare(settings)
        text = _set(text, "pop_size", population)
        text = _set(text, "initial_connection", "full_direct")
    else:
        task_obj, spec, machine, text, genomes, seed, generation, episodes, fixed = run_population(run_dir)
        task, memory = task_obj.name, spec.mode
        say(f"the population of generation {generation} of {run_dir}")
    if isinstance(task_obj, RewardTask):
        if workers:
            raise EntmError("--workers is not measured on a reward task; leave it out")
        return run_reward_bench(task_obj, spec, machine, text, memory, population, episodes, repeats,
                                plain_genomes, plain_episodes, seed, say, genomes=genomes, generation=generation,
                                fixed_episodes=fixed, run_dir=run_dir)
    es = EvalSettings(config_text=text, task=task, task_params=task_obj.params(), memory=spec, seed=seed,
                      episodes=episodes, fixed_episodes=fixed)
    ev = GenomeEvaluator(es)
    config = load_config(text, "bench config")
    check_evolution(machine, config, episodes, 1, None)  # a population or episodes that cannot fit: one line
    if genomes is None:
        genomes = list(neat.Population(config, seed=seed).population.items())
    eps = ev.episodes(generation)
    steps = len(genomes) * int(eps.steps.sum())
    gc = config.genome_config

    buffers = {}  # kept across repetitions, as the evaluator keeps its buffers across generations

    def raw():
        clear_structure_cache()
        for start in range(0, len(genomes), CHUNK):
            chunk = [g for _, g in genomes[start:start + CHUNK]]
            nets = pack_genomes(chunk, gc)
            run_stacked(ev.machine, nets, eps.inputs, shaping=True, steps=eps.steps, buffers=buffers)

    def plain():
        """neat-python's activate on a sample of the genomes and episodes; returns genome-steps."""
        n = 0
        for gid, g in genomes[:plain_genomes]:
            net = neat.nn.FeedForwardNetwork.create(g, config) if gc.feed_forward else \
                neat.nn.RecurrentNetwork.create(g, config)
            for b in range(min(plain_episodes, eps.batch)):
                if hasattr(net, "reset"):
                    net.reset()
                x = eps.inputs[b].tolist()
                # the differentiable memory: the same N per episode as entm's path (cells auto: its steps)
                mem = PlainTape(spec.width, **spec.options) if memory == "discrete" else \
                    PlainSoftMemory(spec.width, int(machine.memory.episode_cells([eps.steps[b]])[0]))
                n += len(run_plain(net, x, mem, task_obj.num_outputs, steps=int(eps.steps[b])))
        return n

    say("warming up (compiling kernels)")
    ev.evaluate(genomes[:2], generation)
    raw_times, eval_times, plain_times = [], [], []
    n_plain = 0
    for r in range(repeats):  # interleaved, so that both ways see the same machine load
        say(f"repetition {r + 1}/{repeats}")
        t0 = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - t0)
        clear_structure_cache()
        t0 = time.perf_counter()
        ev.evaluate(genomes, generation)
        eval_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_plain = plain()
        plain_times.append(time.perf_counter() - t0)
    t_plain = min(plain_times)
    best_raw = min(raw_times)
    result = {
        "task": task, "task_params": task_obj.params(), "memory": memory, "memory_params": spec.params(),
        "population": len(genomes),
        "episodes": episodes, "genome_steps": steps, "repeats": repeats,
        "network_inputs": machine.num_inputs, "network_outputs": machine.num_outputs,
        "connections_per_genome": float(np.mean([sum(cg.enabled for cg in g.connections.values())
                                                 for _, g in genomes])),
        "steps_per_second": steps / best_raw,
        "steps_per_second_median": steps / statistics.median(raw_times),
        "evaluation_steps_per_second": steps / min(eval_times),
        "plain_steps_per_second": n_plain / t_plain,
        "plain_genome_steps": n_plain,
        "workers": 1,
    }
    if run_dir is not None:
        result.update(run=str(run_dir), generation=generation)
    result["ratio"] = result["steps_per_second"] / result["plain_steps_per_second"]
    result["evaluation_ratio"] = result["evaluation_steps_per_second"] / result["plain_steps_per_second"]
    if workers:
        # imports ray (seconds): only when Ray is measured
        from entm.evolution.ray_eval import RayEvaluator

        scale = {}
        for n in sorted({1, int(workers)}):
            say(f"Ray with {n} worker(s)")
            rev = RayEvaluator(es, workers=n)
            try:
                rev(genomes, 0)  # warm-up: workers build their evaluator and compile
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    rev(genomes, 0)
                    times.append(time.perf_counter() - t0)
            finally:
                rev.close()
            scale[str(n)] = steps / min(times)
        result["ray_steps_per_second"] = scale
        result["workers"] = int(workers)
        if len(scale) == 2:
            result["ray_speedup"] = scale[str(workers)] / scale["1"]
    return result


def _set(text: str, key: str, value) -> str:
    text, n = re.subn(rf"(?m)^(\s*{key}\s*=\s*)\S+", rf"\g<1>{value}", text)
    if n != 1:
        raise EntmError(f"config has {n} '{key}' entries, expected exactly one")
    return text


def format_bench(r: dict) -> str:
    if r.get("kind") == "reward":
        return format_reward_bench(r)
    lines = population_line(r) + [
        f"task {r['task']} {r['task_params']}, {r['memory']} memory {r.get('memory_params', {})}: "
        f"{r['population']} genomes x {r['episodes']} "
        f"episodes = {r['genome_steps']:,} genome-steps per evaluation "
        f"({r['network_inputs']} inputs, {r['network_outputs']} outputs, "
        f"{r['connections_per_genome']:.0f} connections per genome)",
        f"  entm (network + memory):   {r['steps_per_second']:>12,.0f} steps/s",
        f"  entm (+ scoring, shaping): {r['evaluation_steps_per_second']:>12,.0f} steps/s",
        f"  plain neat-python:         {r['plain_steps_per_second']:>12,.0f} steps/s "
        f"({r['plain_genome_steps']:,} steps sampled)",
        f"  ratio: {r['ratio']:.1f}x (with scoring: {r['evaluation_ratio']:.1f}x)",
    ]
    for n, v in r.get("ray_steps_per_second", {}).items():
        lines.append(f"  Ray, {n} worker(s):         {v:>12,.0f} steps/s")
    if "ray_speedup" in r:
        lines.append(f"  Ray speedup {r['workers']} vs 1 worker: {r['ray_speedup']:.2f}x")
    return "\n".join(lines)
