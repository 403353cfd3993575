"""Where a generation's time goes, and entm's genome against neat-python's, in the same run.

A whole generation of ``entm evolve --task copy --vector-size 8`` (population
150, 500+ connections per genome, serial evaluation) is evaluation, neat-python's
reproduction (crossover and mutation of every child), speciation and the
per-generation checkpoint snapshot.  This runs the same evolution twice in
this process, once with neat-python's ``DefaultGenome`` and once with entm's
(:mod:`entm.evolution.genome`, which gives the same children), times each
phase per generation and checks that both runs end with identical
populations.  The ratio is neat-python's seconds per generation over entm's.

    python benchmarks/generation.py [--generations 20] [--vector-size 8] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pickle
import random
import tempfile
import time

import neat

from entm.evolution import genome as entm_genome
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, _eval_settings, prepare


def _timed(cls, name, label, totals):
    """Wrap ``cls.name`` to add its seconds to ``totals[label]``; returns an undo function."""
    original = getattr(cls, name)

    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            totals[label] += time.perf_counter() - t0

    setattr(cls, name, wrapper)
    return lambda: setattr(cls, name, original)


def run(genome_type, generations: int, vector_size: int, seed: int = 0) -> dict:
    settings = EvolveSettings(task="copy", task_params={"vector_size": vector_size}, seed=seed, evaluator="serial")
    task, spec, machine, text = prepare(settings)
    es: EvalSettings = _eval_settings(settings, task, spec, text)
    ev = GenomeEvaluator(es)
    path = _write(text)
    try:
        config = neat.Config(genome_type, neat.DefaultReproduction, neat.DefaultSpeciesSet, neat.DefaultStagnation,
                             path)
    finally:
        os.unlink(path)
    totals = collections.Counter()
    undo = [_timed(neat.DefaultReproduction, "reproduce", "reproduction", totals),
            _timed(neat.DefaultSpeciesSet, "speciate", "speciation", totals)]
    pop = neat.Population(config, seed=seed)

    def fitness(genomes, cfg):
        t0 = time.perf_counter()
        results, _ = ev.evaluate(genomes, pop.generation)
        for gid, g in genomes:
            g.fitness = results[gid].fitness
        totals["evaluation"] += time.perf_counter() - t0

    try:
        t0 = time.perf_counter()
        for _ in range(generations):
            pop.run(fitness, 1)
            t1 = time.perf_counter()
            pickle.dumps((pop.population, pop.species), protocol=pickle.HIGHEST_PROTOCOL)  # the loop's snapshot
            totals["snapshot"] += time.perf_counter() - t1
        total = time.perf_counter() - t0
    finally:
        for u in undo:
            u()
    fingerprint = [(gid, [(k, c.weight, c.enabled) for k, c in g.connections.items()])
                   for gid, g in sorted(pop.population.items())]
    per = {k: v / generations for k, v in totals.items()}
    per["other"] = total / generations - sum(per.values())
    return {"seconds_per_generation": total / generations, "phases": per, "fingerprint": fingerprint,
            "random_state": random.getstate()}


def _write(text: str) -> str:
    fd, path = tempfile.mkstemp(suffix=".ini", prefix="entm-bench-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--vector-size", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    run(entm_genome.DefaultGenome, 2, args.vector_size)  # warm-up: compile the kernels
    theirs = run(neat.DefaultGenome, args.generations, args.vector_size)
    ours = run(entm_genome.DefaultGenome, args.generations, args.vector_size)
    same = theirs.pop("fingerprint") == ours.pop("fingerprint") and theirs.pop("random_state") == ours.pop(
        "random_state")
    result = {"generations": args.generations, "vector_size": args.vector_size, "identical_populations": same,
              "neat_python": theirs, "entm": ours,
              "ratio": theirs["seconds_per_generation"] / ours["seconds_per_generation"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"copy, {args.vector_size}-bit, population 150, {args.generations} generations, serial evaluation")
        for name, r in (("neat-python DefaultGenome", theirs), ("entm DefaultGenome", ours)):
            phases = ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in sorted(r["phases"].items(), key=lambda kv: -kv[1]))
            print(f"  {name:26s} {r['seconds_per_generation'] * 1e3:6.0f} ms per generation ({phases})")
        print(f"  ratio {result['ratio']:.2f}x; identical populations at the end: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
