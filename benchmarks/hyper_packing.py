"""Packing the hyper encoding's painted controllers: straight from the arrays against genome by genome.

A hyper run's evaluation paints every CPPN's controller (weights, expressed
links, biases as arrays) and packs the controllers into the flat arrays the
compiled kernels run.  Painted link sets differ from genome to genome, so the
genome-by-genome packer (``pack_genomes`` of the painted controllers as
genomes) builds a structure per genome; ``Substrate.pack`` builds the same
arrays from the painted arrays at once.  This times both on the same CPPN
outputs of a population in the same process (after checking that they give
identical arrays), and a whole generation's evaluation with each.

    python benchmarks/hyper_packing.py [--task associative_recall] [--population 150] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import neat
import numpy as np

from entm.evolution.evaluator import GenomeEvaluator
from entm.evolution.loop import EvolveSettings, _eval_settings, prepare
from entm.neatconfig import load_config
from entm.phenotype import clear_structure_cache, pack_genomes

SETUPS = {
    "associative_recall": dict(task="associative_recall", encoding="hyper", hyper={"blocks": 5, "block_steps": True},
                               task_params={"shaping": "items"}),
    "copy": dict(task="copy", encoding="hyper", task_params={"vector_size": 8}),
}


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        clear_structure_cache()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(task: str, population: int, repeats: int, seed: int = 0) -> dict:
    settings = EvolveSettings(**SETUPS[task], seed=seed, evaluator="serial")
    t, spec, machine, text = prepare(settings)
    ev = GenomeEvaluator(_eval_settings(settings, t, spec, text))
    config = load_config(text, "benchmark")
    genomes = list(neat.Population(config, seed=seed).population.values())[:population]
    for g in genomes:  # a few mutations: CPPNs of an evolving population, not only the first one's
        for _ in range(5):
            g.mutate(config.genome_config)
    sub = ev.substrate
    y = sub.cppn_outputs_of_genomes(genomes, config.genome_config)
    ctrl = sub.controller_config().genome_config
    for a, b in zip(sub.pack(y).arrays(), pack_genomes(sub.controllers(y), ctrl).arrays()):
        if not np.array_equal(a, b):
            raise SystemExit("the two packers disagree")
    arrays = _best(lambda: sub.pack(y), repeats)
    genome_by_genome = _best(lambda: pack_genomes(sub.controllers(y), ctrl), repeats)
    pairs = list(enumerate(genomes))
    ev.evaluate(pairs, 0)  # compile and warm up
    new = _best(lambda: ev.evaluate(pairs, 0), repeats)
    fast, ev._networks = ev._networks, lambda gs: pack_genomes(ev.phenotypes(gs), ev.net_config.genome_config)
    try:
        old = _best(lambda: ev.evaluate(pairs, 0), repeats)
    finally:
        ev._networks = fast
    links = int(sub.pack(y).link1[-1]) if len(genomes) else 0
    return {"task": task, "population": len(genomes), "links": links, "pack_arrays_s": arrays,
            "pack_genome_by_genome_s": genome_by_genome, "pack_ratio": genome_by_genome / arrays,
            "evaluate_arrays_s": new, "evaluate_genome_by_genome_s": old, "evaluate_ratio": old / new}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=sorted(SETUPS), default="associative_recall")
    ap.add_argument("--population", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.task, args.population, args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['task']}, {r['population']} painted controllers, {r['links']} links (best of {args.repeats})")
    print(f"  packing:    arrays {r['pack_arrays_s'] * 1e3:8.1f} ms   genome by genome "
          f"{r['pack_genome_by_genome_s'] * 1e3:8.1f} ms   {r['pack_ratio']:5.1f}x")
    print(f"  evaluation: arrays {r['evaluate_arrays_s'] * 1e3:8.1f} ms   genome by genome "
          f"{r['evaluate_genome_by_genome_s'] * 1e3:8.1f} ms   {r['evaluate_ratio']:5.2f}x")


if __name__ == "__main__":
    main()
