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

Every row also has ``length_name`` (what a length counts: "length" of a
sequence, "rounds", "years" ...), ``training`` (the range of that knob the run
was trained on, ``[low, high]``, see :func:`training_range`; None for a task
without one) and ``group``, the label of its comparison group: runs are only
comparable on the same test, so tables and plots show one group at a time
(:func:`group_rows`): the same task with the same parameters, except those
that only set the training range or the fitness (``shaping``, ``goal_bonus``),
which the group's header lists when its runs differ in them.  Without explicit
``lengths`` every run is evaluated on its own task's sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entm.analysis.common import RunSource, check_positive, open_source

from entm.baseline.evaluate import evaluate_lengths as evaluate_trained
from entm.champion import evaluate_lengths
from entm.errors import EntmError

__all__ = ["Group", "compare_runs", "default_lengths", "evaluate_source", "format_table", "group_rows", "run_cost",
           "run_row", "training_range", "wall_seconds"]

#: per task: the parameters that set the range of the generalisation knob (``length``, what ``entm
#: evaluate --lengths`` sweeps) the run was trained on, as (lowest, highest)
TRAINING_RANGE = {
    "copy": ("min_length", "max_length"),
    "repeat_copy": ("min_length", "max_length"),
    "associative_recall": ("min_items", "max_items"),
    "dynamic_ngrams": ("sequence_length", "sequence_length"),
    "priority_sort": ("num_vectors", "num_vectors"),
    "tmaze": ("rounds", "rounds"),
    "season": ("years", "years"),
}

#: task parameters that change the fitness evolution maximises but neither the episodes nor the score
FITNESS_ONLY = ("shaping", "goal_bonus")


def default_lengths(source) -> list[int]:
    """A source's task's generalisation sweep (what ``entm evaluate`` uses by default)."""
    return list(source.task().generalization_lengths) or [10, 100, 1000]


def training_range(task_name: str, task_params: dict) -> list[int] | None:
    """``[low, high]`` of the generalisation knob in training (copy: ``[min_length, max_length]``; T-maze:
    ``[rounds, rounds]``); None for a task without an entry in :data:`TRAINING_RANGE`."""
    names = TRAINING_RANGE.get(task_name)
    if names is None or not all(isinstance(task_params.get(n), int) for n in names):
        return None
    return [int(task_params[names[0]]), int(task_params[names[1]])]


def _test_params(task_name: str, task_params: dict) -> dict:
    """The task parameters that define the test at a given length (a group's key)."""
    skip = set(TRAINING_RANGE.get(task_name, ())) | set(FITNESS_ONLY)
    return {k: v for k, v in sorted(task_params.items()) if k not in skip}


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def group_label(task_name: str, task_params: dict) -> str:
    """The group a run belongs to: its task and the parameters that define its test, e.g.
    ``copy (vector_size=2)``."""
    params = _test_params(task_name, task_params)
    return f"{task_name} ({_params_text(params)})" if params else task_name


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
        **_group_fields(src, champ.task),
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


def _group_fields(src: RunSource, task) -> dict:
    params = task.params()
    return {"group": group_label(task.name, params), "length_name": getattr(task, "length_name", "length"),
            "training": training_range(task.name, params)}


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
        **_group_fields(src, t.task),
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
    """One row per run (run directories or champion files), in the order given; every run is evaluated
    on the same ``lengths`` (default: each run's own task's sweep), ``episodes`` and ``seed``."""
    if not run_dirs:
        raise EntmError("compare: give at least one run directory or champion file")
    episodes = check_positive("episodes", episodes)
    sources = [open_source(p) for p in run_dirs]
    for s in sources:  # every problem before any long work
        s.model("compare")
    if lengths is None:
        sweeps = [default_lengths(s) for s in sources]
    else:
        lengths = [check_positive("length", L) for L in lengths]
        sweeps = [lengths] * len(sources)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(map(len, sweeps)), unit="length", desc="evaluating", leave=False,
                   dynamic_ncols=True)
    try:
        rows = []
        for s, sweep in zip(sources, sweeps):
            if bar is not None:
                bar.set_postfix_str(s.name, refresh=False)
            rows.append(run_row(s, sweep, episodes, seed, progress=(lambda L: bar.update(1)) if bar else None))
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


def memory_text(row: dict) -> str:
    """A row's memory in a few words: ``discrete``, ``differentiable cells=16``, ``differentiable (ntm)``."""
    if row.get("model"):
        return f"{row['memory']} ({row['model']['model']})"
    text = " ".join([row["memory"]] + [f"{k}={v}" for k, v in sorted((row.get("memory_params") or {}).items())])
    return text + (f", {row['heads']} heads" if (row.get("heads") or 1) > 1 else "")


def range_text(span) -> str:
    lo, hi = span
    return str(lo) if lo == hi else f"{lo}-{hi}"


@dataclass
class Group:
    """Runs that are compared with each other: the same task and test parameters (:func:`group_label`)."""

    label: str
    rows: list[dict] = field(default_factory=list)

    @property
    def length_name(self) -> str:
        return self.rows[0].get("length_name", "length")

    def trainings(self) -> dict:
        """Each distinct training range (a tuple, or None) -> the names of the runs trained on it."""
        out: dict = {}
        for r in self.rows:
            t = r.get("training")
            out.setdefault(tuple(t) if t else None, []).append(r["name"])
        return out

    def differing(self) -> dict:
        """Fitness-only task parameters the runs differ in: name -> {value: [run names]}."""
        out = {}
        for k in FITNESS_ONLY:
            values: dict = {}
            for r in self.rows:
                if k in r.get("task_params", {}):
                    values.setdefault(r["task_params"][k], []).append(r["name"])
            if len(values) > 1:
                out[k] = values
        return out

    def memories(self) -> dict:
        """Each distinct memory (:func:`memory_text`) -> the names of the runs with it."""
        out: dict = {}
        for r in self.rows:
            out.setdefault(memory_text(r), []).append(r["name"])
        return out

    def header(self) -> list[str]:
        """The lines that say what the group's runs share and where they differ."""
        n = len(self.rows)
        lines = [f"{self.label}: {n} run{'s' if n != 1 else ''}"]
        trainings = self.trainings()
        if len(trainings) == 1:
            (span,) = trainings
            if span is not None:
                lines.append(f"trained on {self.length_name} {range_text(span)}")
        else:
            lines.append("trained on different ranges: " + "; ".join(
                f"{self.length_name} {range_text(span) if span else '?'} ({', '.join(names)})"
                for span, names in trainings.items()))
        for k, values in self.differing().items():
            lines.append(f"{k} differs (changes the fitness, not the test): "
                         + "; ".join(f"{v} ({', '.join(names)})" for v, names in values.items()))
        memories = self.memories()
        if len(memories) == 1:
            lines.append(f"memory: {next(iter(memories))}")
        else:
            evolved = {memory_text(r) for r in self.rows if r["kind"] == "evolved"}
            lines.append("memory differs: " + "; ".join(f"{m} ({', '.join(names)})" for m, names in memories.items())
                         + (" (the evolved networks' sizes count different memory inputs and outputs)"
                            if len(evolved) > 1 else ""))
        return lines


def group_rows(rows: list[dict]) -> list[Group]:
    """The rows by comparison group (``row["group"]``), groups in order of their first run, runs in
    their order."""
    groups: dict[str, Group] = {}
    for r in rows:
        label = r.get("group") or group_label(r["task"], r.get("task_params") or {})
        groups.setdefault(label, Group(label)).rows.append(r)
    return list(groups.values())


def mixed_note(groups: list[Group], each: str = "table") -> str | None:
    """The warning a view over several groups starts with (None for one group); ``each``: what every
    group gets ("table", "row of plots")."""
    if len(groups) < 2:
        return None
    tasks = {g.rows[0]["task"] for g in groups}
    what = "tasks" if len(tasks) == len(groups) else "tasks or task parameters"
    return (f"runs of {len(groups)} different {what}: one {each} each; "
            f"scores are comparable within a {each} only")


def length_heading(length_name: str, L) -> str:
    """A length column's heading: ``L=10`` for sequence lengths, else ``rounds=20``, ``years=3`` ..."""
    return f"{'L' if length_name == 'length' else length_name}={L}"


def all_lengths(rows: list[dict]) -> list:
    """Every length any row was evaluated at, in order of first appearance."""
    return list(dict.fromkeys(L for r in rows for L in r["lengths"]))


def format_table(rows: list[dict]) -> str:
    """A readable text table per comparison group (:func:`group_rows`), each under a header that says what
    its runs share (task, test parameters, training range, memory) and where they differ: one line per
    run, score and fraction perfect per length."""
    groups = group_rows(rows)
    parts = []
    note = mixed_note(groups)
    if note:
        parts.append(f"NOTE: {note}")
    for g in groups:
        header = g.header()
        parts.append("\n".join([f"== {header[0]}"] + [f"   {line}" for line in header[1:]] + [_group_table(g)]))
    parts.append("L=<length> (rounds=, years= ...: the task's own length): mean score (fraction of perfect "
                 "episodes); size: nodes / connections used "
                 "(evolved), trainable parameters (trained); gens: generations, or sequences seen (trained)")
    return "\n\n".join(parts)


def _group_table(group: Group) -> str:
    rows = group.rows
    lengths = all_lengths(rows)
    head = (["run", "kind", "task", "memory", "size", "gens", "evals", "wall s"]
            + [length_heading(group.length_name, L) for L in lengths])
    body = []
    for r in rows:
        gens, evals, wall = _cost_text(r.get("cost"))
        cells = [r["name"], r["kind"], r["task"], memory_text(r), _size_text(r["size"]), gens, evals, wall]
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
    return "\n".join(lines)
