"""Speciation's genetic distances: compiled against Python, on the same population in the same process.

Speciation compares each genome with each species' representative (neat-python's
``DefaultSpeciesSet.speciate``); every distance walks both genomes' genes.
This builds a population of a real setup (the first population, each genome
mutated a few times so that they differ as an evolving population's do), then
times one speciation with each distance: neat-python's own
``DefaultGenome.distance``, entm's Python version (``python_distance``) and the
compiled one (:mod:`entm.evolution.distance`, the genomes' arrays built within
the time, as every generation's new genomes need them), checks that the three give the
same species to every genome, and prints the times and ratios.

    python benchmarks/speciation.py [--setup associative_recall|season] [--mutations 20] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import neat

from entm.evolution.distance import forget
from entm.evolution.genome import DefaultGenome
from entm.evolution.loop import EvolveSettings, prepare
from entm.neatconfig import load_config
from entm.presets import preset_settings

SETUPS = {
    # the hyper encoding's CPPNs (about 100 connection genes each), population 150
    "associative_recall": dict(task="associative_recall", encoding="hyper", hyper={"blocks": 5, "block_steps": True},
                               task_params={"shaping": "items"}),
    # the season preset's direct controllers, population 250
    "season": dict(preset="luders2017-season"),
}


def _speciate(config, population: dict, distance, repeats: int) -> tuple[float, dict]:
    """The best of ``repeats`` times of a fresh speciation of ``population`` with ``distance``, and its species."""
    saved = DefaultGenome.distance
    DefaultGenome.distance = distance
    try:
        best = float("inf")
        for _ in range(repeats):
            species = config.species_set_type(config.species_set_config, neat.reporting.ReporterSet())
            for g in population.values():  # new genomes every generation: the arrays are built in the time
                forget(g)
            t0 = time.perf_counter()
            species.speciate(config, population, 0)
            best = min(best, time.perf_counter() - t0)
        return best, dict(species.genome_to_species)
    finally:
        DefaultGenome.distance = saved


def run(setup: str, mutations: int, repeats: int, seed: int = 0) -> dict:
    kw = dict(SETUPS[setup])
    if "preset" in kw:
        kw = preset_settings(kw["preset"], {})
    settings = EvolveSettings(**kw, seed=seed, evaluator="serial")
    text = prepare(settings)[3]
    config = load_config(text, "benchmark")
    population = neat.Population(config, seed=seed).population
    for g in population.values():
        for _ in range(mutations):
            g.mutate(config.genome_config)
    genes = sum(len(g.connections) for g in population.values()) / len(population)
    out = {"setup": setup, "genomes": len(population), "connection_genes_per_genome": round(genes, 1)}
    times, species = {}, {}
    for name, fn in (("neat-python", neat.DefaultGenome.distance), ("entm python", DefaultGenome.python_distance),
                     ("compiled", DefaultGenome.distance)):
        _speciate(config, population, fn, 1)  # warm: the compiled kernels load
        times[name], species[name] = _speciate(config, population, fn, repeats)
    if not species["neat-python"] == species["entm python"] == species["compiled"]:
        raise SystemExit("the distances gave different species")
    out["species"] = len(set(species["compiled"].values()))
    out["seconds"] = {k: round(v, 5) for k, v in times.items()}
    out["compiled_speedup"] = {k: round(v / times["compiled"], 1) for k, v in times.items() if k != "compiled"}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setup", choices=sorted(SETUPS), action="append")
    p.add_argument("--mutations", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    for setup in args.setup or sorted(SETUPS):
        r = run(setup, args.mutations, args.repeats)
        if args.json:
            print(json.dumps(r))
        else:
            s = r["seconds"]
            print(f"{setup}: {r['genomes']} genomes of {r['connection_genes_per_genome']} connection genes, "
                  f"{r['species']} species; one speciation: neat-python {s['neat-python'] * 1e3:.1f} ms, "
                  f"entm python {s['entm python'] * 1e3:.1f} ms, compiled {s['compiled'] * 1e3:.2f} ms "
                  f"({r['compiled_speedup']['neat-python']}x, {r['compiled_speedup']['entm python']}x)")


if __name__ == "__main__":
    main()
