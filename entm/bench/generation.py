"""``entm bench --generation``: where a whole generation's time goes, the driver against the workers.

A generation is evaluation (the workers' share: it divides among workers) and the driver's own work
(which does not): neat-python's reproduction, speciation, the checkpoint snapshot, packing and sending
genomes, gathering results, the reporters.  This runs real evolutions (``entm evolve``'s loop, in a
temporary run directory) and times each phase per generation:

* serially (one core does everything): the driver's phases against one core's evaluation of the same
  generations (``driver_over_evaluation``; with ``--reproduction workers`` the making of the children, which
  also runs on the workers, is reported beside it);
* on an embedded local Ray with 1 and N workers (``workers``): seconds per generation measured, and the
  driver's time on either side of the wait (packing/sending, gathering);
* the Amdahl projection at 2, 16 and 64 workers from the measured parts: a generation takes
  driver + work / n, where ``driver`` is measured with Ray (1 worker; serially without ``workers``) and
  ``work`` is one core's evaluation (+ children) from the serial run;
* with ``scale_to``: the driver's cost per genome at that population against the base one, both with Ray
  and 1 worker (so that the driver's process holds only what a driver holds);
* with ``repeats`` R > 1: the Ray runs R times each, interleaved (1, N, 1, N, ...), because a shared or
  virtual machine's speed drifts between runs: each Ray figure is the run of median seconds per generation,
  ``measured_speedup`` is median against median, and ``speedup_pairs`` the ratio within each back-to-back
  pair (1 worker, then N).

The first generation (compilation, the first evaluation) is left out of every figure.
"""

from __future__ import annotations

import collections
import re
import tempfile
import time
from pathlib import Path

from entm.errors import EntmError
from entm.evolution import reporters, worker_repro
from entm.evolution.loop import EvolveSettings, evolve, prepare
from entm.evolution.reproduction import DefaultReproduction
from entm.evolution.species import DefaultSpeciesSet

PROJECT = (2, 16, 64)
"""Worker counts of the Amdahl projection."""


class _Recorder:
    """Per-generation phase times, from timing wrappers around the loop's steps."""

    def __init__(self):
        self.current: collections.Counter = collections.Counter()
        self.generations: list[dict] = []
        self.t_last: float | None = None

    def close_generation(self) -> None:
        now = time.perf_counter()
        if self.t_last is not None:
            self.current["total"] = now - self.t_last
            self.generations.append(dict(self.current))
        self.current = collections.Counter()
        self.t_last = now


def _wrap(patches: list, cls, name: str, around) -> None:
    original = getattr(cls, name)
    patches.append((cls, name, original))

    def wrapper(self, *a, **k):
        return around(original, self, *a, **k)

    setattr(cls, name, wrapper)


def _instrumented_run(settings: EvolveSettings) -> tuple[list[dict], int]:
    """Run ``settings`` with every phase timed; one dict of seconds per generation, and the most Ray nodes a
    generation's work ran on."""
    rec = _Recorder()
    patches: list = []

    def timed(label):
        def around(original, self, *a, **k):
            t0 = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                rec.current[label] += time.perf_counter() - t0
        return around

    def evaluate(original, self, *a, **k):
        if rec.t_last is None:
            rec.t_last = time.perf_counter()
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            rec.current["evaluate_call"] += time.perf_counter() - t0
            st = self.latest.stats if self.latest is not None else {}
            rec.current["send"] += st.get("send_seconds", 0.0)
            rec.current["gather"] += st.get("gather_seconds", 0.0)
            rec.current["nodes"] = max(rec.current["nodes"], st.get("nodes", 1))

    def make(original, self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            rec.current["make_call"] += time.perf_counter() - t0
            last = self.last
            for key, label in (("send_seconds", "send"), ("gather_seconds", "gather"),
                               ("make_seconds", "making"), ("worker_eval_seconds", "worker_evaluation"),
                               ("task_seconds", "worker_tasks")):
                rec.current[label] += last.get(key, 0.0)
            rec.current["nodes"] = max(rec.current["nodes"], last.get("nodes", 1))

    def after_generation(original, self, *a, **k):
        timed("snapshot")(original, self, *a, **k)
        rec.close_generation()

    repro_cls = worker_repro.WorkerReproduction if settings.reproduction == "workers" else DefaultReproduction
    _wrap(patches, repro_cls, "reproduce", timed("reproduce_call"))
    _wrap(patches, DefaultSpeciesSet, "speciate", timed("speciation"))
    _wrap(patches, reporters.Evaluate, "__call__", evaluate)
    _wrap(patches, worker_repro.Breeder, "make", make)
    _wrap(patches, reporters.Checkpoints, "after_generation", after_generation)
    try:
        evolve(settings, progress=False)
    finally:
        for cls, name, original in reversed(patches):
            setattr(cls, name, original)
    gens = rec.generations[1:]  # the first generation compiles and evaluates outside the pipeline
    return [{k: v for k, v in g.items() if k != "nodes"} for g in gens], max((g.get("nodes", 1) for g in gens),
                                                                            default=1)


def _phases(run: tuple[list[dict], int], serial: bool) -> dict:
    """Mean seconds per generation of each phase, the driver's total and the workers' share (and, on Ray, the
    most nodes a generation ran on)."""
    gens, nodes = run
    n = max(1, len(gens))
    m = collections.Counter()
    for g in gens:
        m.update(g)
    m = {k: v / n for k, v in m.items()}
    get = lambda k: m.get(k, 0.0)  # noqa: E731
    send, gather = get("send"), get("gather")
    make_call, eval_call = get("make_call"), get("evaluate_call")
    wait = make_call + eval_call - send - gather  # waiting for (serially: doing) the workers' work
    phases = {
        "packing_sending": send,
        "reproduction": get("reproduce_call") - make_call,
        "speciation": get("speciation"),
        "snapshot": get("snapshot"),
        "gathering": gather,
    }
    phases["other"] = get("total") - wait - sum(phases.values())
    out = {"seconds_per_generation": get("total"), "driver_seconds": get("total") - wait, "phases": phases,
           "worker_seconds": wait}
    if not serial:
        out["nodes"] = nodes
    if serial:  # one core's evaluation (in workers mode measured inside the tasks) and children made
        out["evaluation_seconds"] = get("worker_evaluation") if make_call else eval_call
        out["making_seconds"] = get("making")
    return out


def _set_pop_size(text: str, population: int) -> str:
    text, n = re.subn(r"(?m)^(\s*pop_size\s*=\s*)\S+", rf"\g<1>{int(population)}", text)
    if n != 1:
        raise EntmError(f"the config has {n} pop_size entries, expected exactly one")
    return text


def run_generation_bench(task: str = "copy", task_params: dict | None = None, memory: str = "discrete",
                         population: int = 150,
                         generations: int = 20, workers: int | None = None, reproduction: str = "driver",
                         seed: int = 0, progress=None, scale_to: int | None = None,
                         scale_generations: int = 3, ray_address: str | None = None, repeats: int = 1) -> dict:
    """Time ``generations`` generations (the first one left out) serially and, with ``workers``, on Ray with 1
    and ``workers`` workers (an embedded local Ray, or the cluster at ``ray_address``); with ``scale_to``,
    also ``scale_generations`` generations at that population, for the driver's cost per genome at both
    sizes; see the module docstring."""
    if population < 2 or generations < 2:
        raise EntmError("--population must be at least 2 and --generations at least 2 (the first one is not "
                        "counted)")
    if scale_to is not None and (scale_to < 2 or scale_generations < 2):
        raise EntmError("--scale-to must be at least 2 (and its generations at least 2)")
    if workers is not None and workers < 1:
        raise EntmError(f"--workers must be at least 1, got {workers}")
    if repeats < 1:
        raise EntmError(f"--repeats must be at least 1, got {repeats}")
    if repeats > 1 and workers is None:
        raise EntmError("--repeats with --generation repeats the Ray runs: give --workers N (or --local-cluster K)")
    say = progress or (lambda msg: None)
    base = EvolveSettings(task=task, task_params=dict(task_params or {}), memory=memory, seed=seed,
                          stop_when_solved=False,
                          reproduction=reproduction, checkpoint_every=10)
    task_obj, _, _, text = prepare(base)
    with tempfile.TemporaryDirectory(prefix="entm-bench-") as tmp:
        cfg = Path(tmp) / "config.ini"
        cfg.write_text(_set_pop_size(text, population))

        def settings(name, gens, **kw):
            return EvolveSettings(**{**base.__dict__, "config": str(cfg), "generations": gens,
                                     "run_dir": str(Path(tmp) / name), **kw})

        say("warming up (compiling kernels)")
        evolve(settings("warm", 2, evaluator="serial"), progress=False)
        say(f"serial, {generations} generations")
        serial = _phases(_instrumented_run(settings("serial", generations, evaluator="serial")), serial=True)
        counts = [] if workers is None else sorted({1, int(workers)})
        runs: dict = {str(n): [] for n in counts}
        for rep in range(repeats):  # interleaved: the machine's drift hits both alike
            for n in counts:
                say(f"Ray with {n} worker(s), {generations} generations"
                    + (f" (run {rep + 1} of {repeats})" if repeats > 1 else ""))
                runs[str(n)].append(_phases(_instrumented_run(settings(
                    f"ray{n}-{rep}", generations, evaluator="ray", workers=n, ray_address=ray_address)), serial=False))
        ray = {n: _median_run(rs) for n, rs in runs.items()}
        scaled = None
        if scale_to is not None:  # the driver on its own (Ray, 1 worker) at both sizes
            if "1" not in ray:
                say(f"Ray with 1 worker, {generations} generations")
                ray["1"] = _phases(_instrumented_run(settings("ray1", generations, evaluator="ray", workers=1,
                                                                     ray_address=ray_address)),
                                   serial=False)
            say(f"Ray with 1 worker, population {scale_to}, {scale_generations} generations")
            big = Path(tmp) / "config-scaled.ini"
            big.write_text(_set_pop_size(text, scale_to))
            scaled = _phases(_instrumented_run(settings("scaled", scale_generations, evaluator="ray", workers=1,
                                                        config=str(big), ray_address=ray_address)), serial=False)
    work = serial["evaluation_seconds"] + serial["making_seconds"]
    driver = ray["1"]["driver_seconds"] if ray else serial["driver_seconds"]
    result = {
        "task": task, "task_params": task_obj.params(), "population": population, "generations": generations,
        "reproduction": reproduction, "ray_address": ray_address, "serial": serial, "ray": ray,
        "driver_seconds": driver, "work_seconds": work,
        "driver_over_evaluation": serial["driver_seconds"] / serial["evaluation_seconds"],  # the same generations
        "projected_speedup": {str(n): (driver + work) / (driver + work / n) for n in PROJECT},
        "driver_seconds_per_genome": driver / population,
        "serial_driver_seconds_per_genome": serial["driver_seconds"] / population,
    }
    if scaled is not None:
        result["scaled"] = {"population": scale_to, "generations": scale_generations, "ray": scaled,
                            "driver_seconds_per_genome": scaled["driver_seconds"] / scale_to}
        result["per_genome_ratio"] = result["scaled"]["driver_seconds_per_genome"] / result["driver_seconds_per_genome"]
    if ray:
        result["ray_driver_over_evaluation"] = ray["1"]["driver_seconds"] / serial["evaluation_seconds"]
    if len(ray) == 2:
        result["measured_speedup"] = ray["1"]["seconds_per_generation"] / ray[str(workers)]["seconds_per_generation"]
        result["repeats"] = repeats
        result["runs_seconds_per_generation"] = {n: [x["seconds_per_generation"] for x in rs]
                                                 for n, rs in runs.items()}
        result["speedup_pairs"] = [a["seconds_per_generation"] / b["seconds_per_generation"]
                                   for a, b in zip(runs["1"], runs[str(workers)])]
    return result


def _median_run(runs: list[dict]) -> dict:
    """The run of median seconds per generation (the lower one of the middle two)."""
    order = sorted(runs, key=lambda x: x["seconds_per_generation"])
    return order[(len(order) - 1) // 2]


def format_generation_bench(r: dict) -> str:
    s = r["serial"]
    ms = lambda x: f"{1e3 * x:.1f} ms"  # noqa: E731
    lines = [f"task {r['task']} {r['task_params']}, population {r['population']}, reproduction {r['reproduction']}, "
             f"{r['generations'] - 1} generations timed"
             + (f"; Ray: the cluster at {r['ray_address']}" if r.get("ray_address") else ""),
             f"  serial: {ms(s['seconds_per_generation'])} per generation; one core's evaluation "
             f"{ms(s['evaluation_seconds'])}" + (f", children made {ms(s['making_seconds'])}"
                                                  if s["making_seconds"] else ""),
             "  driver, serial: " + ", ".join(f"{k} {ms(v)}" for k, v in s["phases"].items())
             + f" = {ms(s['driver_seconds'])}"]
    for n, x in r["ray"].items():
        on = f" on {x['nodes']} nodes" if x.get("nodes", 1) > 1 else ""
        lines.append(f"  Ray, {n} worker(s){on}: {ms(x['seconds_per_generation'])} per generation; driver "
                     + ", ".join(f"{k} {ms(v)}" for k, v in x["phases"].items()) + f" = {ms(x['driver_seconds'])}")
    lines.append(f"  driver, serial: {100 * r['driver_over_evaluation']:.1f}% of one core's evaluation (the same "
                 f"generations)" + (f"; driver with Ray, 1 worker: {100 * r['ray_driver_over_evaluation']:.1f}%"
                                    if "ray_driver_over_evaluation" in r else "")
                 + f"; {1e6 * r['driver_seconds_per_genome']:.0f} us per genome")
    if "measured_speedup" in r:
        n = max(map(int, r["ray"]))
        line = f"  measured speed-up, {n} vs 1 worker: {r['measured_speedup']:.2f}x"
        if r.get("repeats", 1) > 1:
            runs = r["runs_seconds_per_generation"]
            line += (f" (median against median of {r['repeats']} interleaved runs each: 1 worker "
                     + "/".join(f"{1e3 * x:.0f}" for x in runs["1"]) + f" ms, {n} workers "
                     + "/".join(f"{1e3 * x:.0f}" for x in runs[str(n)]) + " ms; back-to-back pairs "
                     + ", ".join(f"{x:.2f}x" for x in r["speedup_pairs"]) + ")")
        lines.append(line)
    if "scaled" in r:
        x = r["scaled"]
        lines.append(f"  population {x['population']}, Ray 1 worker: driver " + ", ".join(
            f"{k} {ms(v)}" for k, v in x["ray"]["phases"].items()) + f" = {ms(x['ray']['driver_seconds'])}; "
            f"{1e6 * x['driver_seconds_per_genome']:.0f} us per genome against "
            f"{1e6 * r['driver_seconds_per_genome']:.0f} at {r['population']} ({r['per_genome_ratio']:.2f}x)")
    lines.append("  projected speed-up (Amdahl): " + ", ".join(f"{n} workers {v:.1f}x"
                                                               for n, v in r["projected_speedup"].items()))
    return "\n".join(lines)
