"""``entm bench`` on a reward task: the fused closed loop, the numpy closed loop and the plain way.

One generation's population (``initial_connection = full_direct``, the task's
full input/output size) runs the generation's deployments closed-loop,
several times, the ways interleaved so that a busy machine slows them alike:

* ``steps_per_second``: the fused closed loop (:mod:`entm.closed_kernel`:
  environment, network and memory in one compiled loop), chunks of
  :data:`entm.evolution.evaluator.REWARD_CHUNK` genomes, packing included;
* ``evaluation_steps_per_second``: the evaluator's whole work (packing, the
  fused loop, scoring, fitness);
* ``numpy_steps_per_second``: the numpy closed loop (``fused=False``: the
  environment steps in numpy between compiled network and memory steps);
* ``plain_steps_per_second``: neat-python's ``activate``, one deployment and
  one step at a time, with the plain environments (:mod:`entm.bench.plain_env`)
  and memory (:mod:`entm.bench.plain`), on a sample: ``plain_genomes`` genomes
  spread over the population, one whole deployment each in turn, up to
  :data:`PLAIN_STEPS` genome-steps.

A genome-step is one step of one deployment of one genome while it runs (the
evaluator's ``genome_steps``).  Every rate is the best of the repetitions;
``load_average`` is the 1-minute load average at the end.
"""

from __future__ import annotations

import os
import time

import neat

from entm.bench.plain import PlainSoftMemory, PlainTape
from entm.bench.plain_env import plain_environment, run_plain_closed
from entm.closed_loop import run_closed_loop
from entm.evolution.evaluator import REWARD_CHUNK, EvalSettings, GenomeEvaluator
from entm.neatconfig import load_config
from entm.phenotype import clear_structure_cache, pack_genomes

#: the plain way's sample: whole deployments of genomes spread over the population until this many
#: genome-steps (a continuous T-maze deployment is up to 2,020 steps; the plain way runs 10-40k steps/s)
PLAIN_STEPS = 20_000


def run_reward_bench(task_obj, spec, machine, text, memory, population, episodes, repeats, plain_genomes,
                     plain_episodes, seed, say, genomes=None, generation=0, fixed_episodes=False,
                     run_dir=None) -> dict:
    """The reward-task bench (see the module docstring); ``text`` the population's config; ``genomes``: a run's
    population (``run_dir``, its checkpoint's ``generation``) instead of a first one."""
    task = task_obj.name
    es = EvalSettings(config_text=text, task=task, task_params=task_obj.params(), memory=spec, seed=seed,
                      episodes=episodes, fixed_episodes=fixed_episodes)
    ev = GenomeEvaluator(es)
    config = load_config(text, "bench config")
    if genomes is None:
        genomes = list(neat.Population(config, seed=seed).population.items())
    gc = config.genome_config
    deps = ev.deployments(generation)  # the generation's deployments, as the evaluator draws them

    def closed(fused: bool) -> int:
        clear_structure_cache()
        n = 0
        for start in range(0, len(genomes), REWARD_CHUNK):
            chunk = [g for _, g in genomes[start:start + REWARD_CHUNK]]
            env = task_obj.environment(deps, groups=len(chunk))
            n += run_closed_loop(ev.machine, pack_genomes(chunk, gc), env, fused=fused).row_steps
        return n

    sample = genomes[::max(1, len(genomes) // max(1, plain_genomes))][:plain_genomes]
    nets = [neat.nn.FeedForwardNetwork.create(g, config) if gc.feed_forward else
            neat.nn.RecurrentNetwork.create(g, config) for _, g in sample]

    def plain() -> int:
        """Whole deployments, one per sampled genome in turn, until about PLAIN_STEPS genome-steps."""
        n = 0
        for k in range(min(plain_episodes, deps.n)):
            for i, net in enumerate(nets):
                if hasattr(net, "reset"):
                    net.reset()
                mem = PlainTape(spec.width, **spec.options) if memory == "discrete" else \
                    PlainSoftMemory(spec.width, machine.memory.reset(1).memory.shape[1])  # the closed loop's N
                env = plain_environment(task_obj, deps, (k + i) % deps.n)
                n += run_plain_closed(net, env, mem, task_obj.num_outputs)
                if n >= PLAIN_STEPS:
                    return n
        return n

    say("warming up (compiling kernels)")
    ev.evaluate(genomes[:2], generation)
    closed(True)
    times = {"fused": [], "evaluation": [], "numpy": [], "plain": []}
    steps = n_plain = 0
    for r in range(repeats):  # interleaved, so that every way sees the same machine load
        say(f"repetition {r + 1}/{repeats}")
        t0 = time.perf_counter()
        steps = closed(True)
        times["fused"].append(time.perf_counter() - t0)
        clear_structure_cache()
        t0 = time.perf_counter()
        ev.evaluate(genomes, generation)
        times["evaluation"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        numpy_steps = closed(False)
        times["numpy"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_plain = plain()
        times["plain"].append(time.perf_counter() - t0)
    if numpy_steps != steps:
        raise AssertionError(f"the fused loop ran {steps} genome-steps, the numpy loop {numpy_steps}")
    result = {
        "kind": "reward", "task": task, "task_params": task_obj.params(), "memory": memory,
        "population": len(genomes), "episodes": episodes, "genome_steps": steps, "repeats": repeats,
        "network_inputs": machine.num_inputs, "network_outputs": machine.num_outputs,
        "connections_per_genome": sum(sum(cg.enabled for cg in g.connections.values()) for _, g in genomes)
        / len(genomes),
        "steps_per_second": steps / min(times["fused"]),
        "evaluation_steps_per_second": steps / min(times["evaluation"]),
        "numpy_steps_per_second": steps / min(times["numpy"]),
        "plain_steps_per_second": n_plain / min(times["plain"]),
        "plain_genome_steps": n_plain,
        "load_average": os.getloadavg()[0],
        "workers": 1,
    }
    if run_dir is not None:
        result.update(run=str(run_dir), generation=generation)
    result["numpy_ratio"] = result["steps_per_second"] / result["numpy_steps_per_second"]
    result["ratio"] = result["steps_per_second"] / result["plain_steps_per_second"]
    result["evaluation_ratio"] = result["evaluation_steps_per_second"] / result["plain_steps_per_second"]
    return result


def population_line(r: dict) -> list:
    """Which population a bench timed: a run's (``entm bench --run``) as one line, or none for a first one."""
    return [f"the population of generation {r['generation']} of {r['run']}"] if "run" in r else []


def format_reward_bench(r: dict) -> str:
    return "\n".join(population_line(r) + [
        f"task {r['task']} {r['task_params']}, {r['memory']} memory, closed loop: {r['population']} genomes x "
        f"{r['episodes']} deployments = {r['genome_steps']:,} genome-steps per evaluation "
        f"({r['network_inputs']} inputs, {r['network_outputs']} outputs, "
        f"{r['connections_per_genome']:.0f} connections per genome)",
        f"  entm fused (environment + network + memory): {r['steps_per_second']:>12,.0f} steps/s",
        f"  entm fused (+ scoring, fitness):             {r['evaluation_steps_per_second']:>12,.0f} steps/s",
        f"  entm numpy closed loop:                      {r['numpy_steps_per_second']:>12,.0f} steps/s",
        f"  plain neat-python:                           {r['plain_steps_per_second']:>12,.0f} steps/s "
        f"({r['plain_genome_steps']:,} steps sampled)",
        f"  ratios: {r['numpy_ratio']:.1f}x the numpy closed loop, {r['ratio']:.1f}x plain "
        f"(with scoring: {r['evaluation_ratio']:.1f}x); load average {r['load_average']:.2f}",
    ])
