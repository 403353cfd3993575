"""Compare saved runs: size, cost and generalisation, one row per run.

A row is a plain dict (JSON-ready)::

    {"run": "runs/copy-a", "name": "copy-a", "kind": "evolved", "task": "copy",
     "task_params": {...}, "memory": "discrete", "memory_params": {...}, "heads": 1,
     "size": {"nodes": 12, "connections": 15},
     "cost": {"generations": 53, "evaluations": 7950, "genome_steps": ..., "wall_seconds": 62.1},
     "champion": {"fitness": ..., "score": ..., "generation": ..., "solved": true},
     "lengths": {"10": {"score", "perfect", "bit_errors", "episodes"}, ...}}

``lengths`` is exactly what ``entm evaluate --json`` prints under "lengths" for
the same run, lengths, episodes and seed (:func:`entm.champion.evaluate_lengths`).
A trained baseline's row has ``kind: "trained"``, ``memory`` ``differentiable``
(NTM) or ``none`` (LSTM), ``heads`` its read plus write heads, ``size:
{"parameters": P}`` (trainable parameters), ``cost: {"sequences",
"wall_seconds"}``, ``model`` its architecture and ``champion: {"step",
"sequences"}`` (the model saved in model.pt); its ``lengths`` are what ``entm
evaluate --json`` prints for the trained run (the same episodes as for an
evolved champion).  A hyper-encoding champion's ``size`` also has ``cppn:
[nodes, connections]``, the CPPN that paints its controller.
"""

from __future__ import annotations

from entm.analysis.common import RunSource, check_positive, open_source

from entm.baseline.evaluate import evaluate_lengths as evaluate_trained
from entm.champion import evaluate_lengths
from entm.errors import EntmError

__all__ = ["compare_runs", "default_lengths", "evaluate_source", "format_table", "run_cost", "run_row",
           "wall_seconds"]


def default_lengths(sources) -> list[int]:
    """The first source's task's generalisation sweep (what ``entm evaluate`` uses by default)."""
    lengths = []
    for s in sources:
        task = s.task()
        lengths = list(task.generalization_lengths)
        if lengths:
            break
    return lengths or [10, 100, 1000]


def evaluate_source(src: RunSource, lengths, episodes: int = 20, seed: int = 0, progress=None) -> dict:
    """``{"<L>": {score, perfect, bit_errors, episodes}}`` of a run (same as ``entm evaluate --json``)."""
    if src.kind == "trained":
        return evaluate_trained(src.trained(), lengths, episodes=episodes, seed=seed, progress=progress)
    champ = src.champion("evaluate")
    return evaluate_lengths(champ.machine, champ.network, lengths, episodes=episodes, seed=seed,
                            progress=progress)


def run_cost(src: RunSource) -> dict | None:
    """What a run cost, from metrics.jsonl; None without a run directory.

    Evolved: generations, evaluations (genomes evaluated, the sum of the
    population sizes), genome_steps (network steps simulated) and
    wall_seconds (summed over resumed segments: a resumed run's clock starts
    again at 0).  Trained: sequences seen and wall_seconds.
    """
    if src.run_dir is None:
        return None
    metrics = src.metrics()
    if src.kind == "trained":
        cost = {"sequences": int(max((m.get("sequences", 0) or 0 for m in metrics), default=0)),
                "wall_seconds": wall_seconds(metrics, "seconds")}
        if (src.run_dir / "model.pt").is_file():  # model.pt also counts the steps after the last report
            info = src.trained().info
            cost = {"sequences": max(cost["sequences"], int(info.get("sequences", 0))),
                    "wall_seconds": max(cost["wall_seconds"], round(float(info.get("seconds", 0.0)), 3))}
        return cost
    return {
        "generations": len(metrics),
        "evaluations": int(sum(m.get("population", 0) or 0 for m in metrics)),
        "genome_steps": int(sum(m.get("genome_steps", 0) or 0 for m in metrics)),
        "wall_seconds": wall_seconds(metrics),
    }


def wall_seconds(metrics, key: str = "wall_seconds") -> float:
    """The sum over segments of a clock that restarts when a run is resumed."""
    total, seg_max, prev = 0.0, 0.0, None
    for m in metrics:
        v = m.get(key)
        if not isinstance(v, (int, float)):
            continue
        if prev is not None and v < prev:
            total += seg_max
            seg_max = 0.0
        seg_max = max(seg_max, float(v))
        prev = v
    return round(total + seg_max, 3)


def run_row(src: RunSource, lengths, episodes: int = 20, seed: int = 0, progress=None) -> dict:
    """One comparison row (see the module docstring)."""
    if src.kind == "trained":
        return _trained_row(src, lengths, episodes, seed, progress)
    champ = src.champion("compare")
    nodes, conns = champ.network.size()
    meta = champ.data.get("metadata", {}).get("entm", {})
    return {
        "run": str(src.path),
        "name": src.name,
        "kind": src.kind,
        "task": champ.task.name,
        "task_params": champ.task.params(),
        "memory": champ.spec.mode,
        "memory_params": champ.spec.params(),
        "heads": champ.spec.heads,
        "size": {"nodes": int(nodes), "connections": int(conns),
                 **({"cppn": list(meta["cppn_size"])} if meta.get("encoding") == "hyper" and "cppn_size" in meta
                    else {})},
        "cost": run_cost(src),
        "champion": {k: meta.get(k) for k in ("fitness", "score", "generation", "solved") if k in meta},
        "lengths": evaluate_source(src, lengths, episodes, seed, progress),
    }


def _trained_row(src: RunSource, lengths, episodes, seed, progress) -> dict:
    from dataclasses import asdict

    t = src.trained()
    a = t.architecture
    ntm = a.model == "ntm"
    return {
        "run": str(src.path),
        "name": src.name,
        "kind": src.kind,
        "task": t.task.name,
        "task_params": t.task.params(),
        "memory": t.memory,
        "memory_params": {"cells": a.cells, "width": a.width} if ntm else {},
        "heads": a.read_heads + a.write_heads if ntm else 0,
        "model": asdict(a),
        "size": {"parameters": int(t.parameters)},
        "cost": run_cost(src),
        "champion": {"step": t.info.get("step"), "sequences": t.info.get("sequences")},
        "lengths": evaluate_source(src, lengths, episodes, seed, progress),
    }


def compare_runs(run_dirs, lengths=None, episodes: int = 20, seed: int = 0, progress: bool = False) -> list[dict]:
    """One row per run (run directories or champion files); every run is evaluated on the same
    ``lengths`` (default: the first run's task's sweep), ``episodes`` and ``seed``."""
    if not run_dirs:
        raise EntmError("compare: give at least one run directory or champion file")
    episodes = check_positive("episodes", episodes)
    sources = [open_source(p) for p in run_dirs]
    for s in sources:  # every problem before any long work
        s.model("compare")
    if lengths is None:
        lengths = default_lengths(sources)
    lengths = [check_positive("length", L) for L in lengths]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(sources) * len(lengths), unit="length", desc="evaluating", leave=False,
                   dynamic_ncols=True)
    try:
        rows = []
        for s in sources:
            if bar is not None:
                bar.set_postfix_str(s.name, refresh=False)
            rows.append(run_row(s, lengths, episodes, seed, progress=(lambda L: bar.update(1)) if bar else None))
        return rows
    finally:
        if bar is not None:
            bar.close()


def _size_text(size: dict) -> str:
    if "parameters" in size:
        return f"{size['parameters']} params"
    text = f"{size['nodes']} n / {size['connections']} c"
    if "cppn" in size:  # hyper encoding: the painted controller, and the CPPN evolution searched
        text += f" (CPPN {size['cppn'][0]} n / {size['cppn'][1]} c)"
    return text


def _cost_text(cost: dict | None) -> tuple[str, str, str]:
    if not cost:
        return "-", "-", "-"
    if "sequences" in cost:
        return f"{cost['sequences']} seq", "-", f"{cost['wall_seconds']:.0f}"
    return str(cost["generations"]), str(cost["evaluations"]), f"{cost['wall_seconds']:.0f}"


def all_lengths(rows: list[dict]) -> list:
    """Every length any row was evaluated at, in order of first appearance."""
    return list(dict.fromkeys(L for r in rows for L in r["lengths"]))


def format_table(rows: list[dict]) -> str:
    """A readable text table: one line per run, score and fraction perfect per length."""
    lengths = all_lengths(rows)
    head = ["run", "kind", "task", "memory", "size", "gens", "evals", "wall s"] + [f"L={L}" for L in lengths]
    body = []
    for r in rows:
        gens, evals, wall = _cost_text(r.get("cost"))
        cells = [r["name"], r["kind"], r["task"], r["memory"], _size_text(r["size"]), gens, evals, wall]
        for L in lengths:
            v = r["lengths"].get(L)
            cells.append("-" if v is None else f"{v['score']:.3f} ({100 * v['perfect']:.0f}%)")
        body.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    left = 4  # the first columns are text, the rest numbers
    lines = []
    for cells in [head] + body:
        lines.append("  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("L=<length>: mean score (fraction of perfect episodes); size: nodes / connections used "
                 "(evolved), trainable parameters (trained); gens: generations, or sequences seen (trained)")
    return "\n".join(lines)
