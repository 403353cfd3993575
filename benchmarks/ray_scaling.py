"""Ray scaling on the copy task: serial, 1 Ray worker and 2 Ray workers, in the same run.

Evaluates one generation of the default copy population (the shipped config:
150 genomes; 8-bit vectors; 50 episodes) several times with each evaluator and
prints seconds per generation, steps per second, the speedup of 2 workers over
1 and Ray's per-generation overhead against serial evaluation.

    python benchmarks/ray_scaling.py [--vector-size 8] [--repeats 5] [--workers 2] [--json]
"""

import argparse
import json
import time

import neat

from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, prepare
from entm.neatconfig import load_config
from entm.evolution.ray_eval import RayEvaluator


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vector-size", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    task, spec, machine, text = prepare(EvolveSettings(task_params={"vector_size": args.vector_size}))
    es = EvalSettings(config_text=text, task="copy", task_params=task.params(), memory=spec, seed=0, episodes=50)
    config = load_config(text, "benchmark")
    genomes = list(neat.Population(config, seed=0).population.items())
    steps = None
    results = {}

    def timeit(name, fn):
        nonlocal steps
        fn(genomes, 0)  # warm up: compile, build per-worker state
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            _, st = fn(genomes, 0)
            times.append(time.perf_counter() - t0)
            steps = st["genome_steps"]
        results[name] = {"seconds_per_generation": min(times), "steps_per_second": steps / min(times)}

    serial = GenomeEvaluator(es)
    timeit("serial", serial.evaluate)
    for n in (1, args.workers):
        ev = RayEvaluator(es, workers=n)
        try:
            timeit(f"ray_{n}", ev)
        finally:
            ev.close()
    out = {"population": len(genomes), "genome_steps": steps, "results": results,
           "speedup_2_vs_1": results["ray_1"]["seconds_per_generation"] /
           results[f"ray_{args.workers}"]["seconds_per_generation"],
           "ray_overhead_seconds": results["ray_1"]["seconds_per_generation"] -
           results["serial"]["seconds_per_generation"]}
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in results.items():
            print(f"{k:>8}: {v['seconds_per_generation'] * 1000:8.1f} ms per generation, "
                  f"{v['steps_per_second']:12,.0f} steps/s")
        print(f"speedup {args.workers} vs 1 worker: {out['speedup_2_vs_1']:.2f}x; Ray overhead per generation "
              f"(1 worker vs serial): {out['ray_overhead_seconds'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
