"""A campaign's statistics: per group success rates with Wilson intervals, cost to solve, champion sizes
and the generalisation sweep across seeds; and its runs as flat CSV rows (docs/campaigns.md).

Per run (:func:`campaign_runs`, read from the run directories, nothing evaluated):

- an evolved run is *solved* when its metrics say so (a genome perfect on its generation's episodes
  and on the validation batch, ``solved`` in metrics.jsonl); ``solve_generations`` counts the
  generations evaluated up to and including the one that solved it, ``solve_seconds`` the wall time
  until then (summed over resumed sessions, :func:`entm.analysis.compare.wall_seconds`);
- a trained run is *solved* when its final test (test.json: fresh sequences of the training
  distribution) is perfect on every sequence; ``solve_sequences`` / ``solve_steps`` / ``solve_seconds``
  are those of its first report with no bit errors.

Per group (:func:`campaign_stats`): runs, done, failed, solved; the success rate with its 95 % Wilson
score interval (:func:`wilson`); median and quartiles (:func:`quartiles`) of the cost to solve over the
solved runs and of the champions' sizes; and, per length of the generalisation sweep (each run
evaluated as ``entm compare`` does), the median and quartiles of score and fraction perfect across
the group's runs, with the group's training range.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from entm.analysis.common import open_source, write_file
from entm.analysis.compare import (
    compare_runs,
    group_label,
    training_range,
    wall_seconds,
)
from entm.analysis.export import columns, flat_metrics, flatten

from entm import runs
from entm.campaign.work import read_campaign, read_status, run_dir, run_state
from entm.errors import EntmError

__all__ = [
    "Z95",
    "campaign_runs",
    "campaign_stats",
    "metrics_csv",
    "quartiles",
    "runs_csv",
    "wilson",
    "write_campaign_csv",
]

#: the standard normal quantile of a two-sided 95 % interval
Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (Wilson 1927): ``(low, high)``; (0, 1) for n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def quartiles(values) -> dict | None:
    """``{"n", "median", "q1", "q3", "min", "max"}`` of the numbers given (linear interpolation between
    order statistics, numpy's default); None for none."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": int(v.size), "median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()),
            "max": float(v.max())}


def campaign_runs(campaign_dir) -> list[dict]:
    """One dict per run of the campaign, in file order (see the module docstring)."""
    campaign_dir = Path(campaign_dir)
    campaign = read_campaign(campaign_dir)
    return [_run_facts(campaign_dir, r) for r in campaign.runs]


def _run_facts(campaign_dir: Path, run) -> dict:
    path = run_dir(campaign_dir, run)
    status = read_status(campaign_dir, run.name)
    s = run.settings
    facts = {"run": run.name, "group": run.group, "seed": run.seed, "kind": run.kind, "run_dir": str(path),
             "state": run_state(status), "task": s.get("task", "copy"),
             "sessions": len(status.get("sessions", [])),
             "resumed_from": [x["from"] for x in status.get("sessions", []) if x.get("kind") == "resume"],
             "failed": status.get("failed"), "solved": False}
    if not (path / runs.RUN_FILE).is_file():
        return facts
    info = runs.read_run_json(path)
    facts.update(task=info.get("task"), task_params=info.get("task_params", {}))
    facts["comparison_group"] = group_label(facts["task"], facts["task_params"])
    facts["training"] = training_range(facts["task"], facts["task_params"])
    metrics = runs.read_metrics(path)
    if run.kind == "evolution":
        facts.update(memory=info.get("memory"), encoding=info.get("encoding"), generations=len(metrics),
                     wall_seconds=wall_seconds(metrics))
        first = next((i for i, m in enumerate(metrics) if m.get("solved")), None)
        if first is not None:
            facts.update(solved=True, solve_generations=first + 1, solve_seconds=wall_seconds(metrics[:first + 1]))
        if (path / runs.CHAMPION_FILE).is_file():
            champ = open_source(path).champion("campaign")
            nodes, conns = champ.network.size()
            facts.update(nodes=int(nodes), connections=int(conns))
            cppn = champ.data.get("metadata", {}).get("entm", {}).get("cppn_size")
            if cppn:
                facts.update(cppn_nodes=int(cppn[0]), cppn_connections=int(cppn[1]))
        return facts
    facts.update(memory=info.get("memory"), model=info.get("model"), parameters=info.get("parameters"),
                 steps=max((m.get("step", 0) for m in metrics), default=0),
                 sequences=max((m.get("sequences", 0) for m in metrics), default=0),
                 wall_seconds=wall_seconds(metrics, "seconds"))
    test_file = path / "test.json"
    if test_file.is_file():
        test = json.loads(test_file.read_text())
        facts.update(test_perfect=test.get("perfect"), test_bit_errors=test.get("bit_errors"),
                     solved=test.get("perfect") == 1.0)
    first = next((i for i, m in enumerate(metrics) if m.get("bit_errors") == 0), None)
    if first is not None and facts["solved"]:
        m = metrics[first]
        facts.update(solve_steps=m.get("step"), solve_sequences=m.get("sequences"),
                     solve_seconds=wall_seconds(metrics[:first + 1], "seconds"))
    return facts


def campaign_stats(campaign_dir, lengths=None, episodes: int = 20, seed: int = 0, evaluate: bool = True,
                   progress: bool = False) -> dict:
    """The campaign's statistics (see the module docstring) as a JSON-ready dict: ``campaign``, ``dir``,
    ``runs`` (the facts of :func:`campaign_runs`, each evaluated run with its ``lengths``) and ``groups``.
    ``evaluate`` False leaves out the generalisation sweep."""
    campaign_dir = Path(campaign_dir)
    campaign = read_campaign(campaign_dir)
    facts = [_run_facts(campaign_dir, r) for r in campaign.runs]
    if evaluate:
        ready = [f for f in facts if f["state"] == "done" and _evaluable(f)]
        if ready:
            rows = compare_runs([f["run_dir"] for f in ready], lengths=lengths, episodes=episodes, seed=seed,
                                progress=progress)
            for f, row in zip(ready, rows):
                f["lengths"] = row["lengths"]
                f["length_name"] = row["length_name"]
    groups = [_group_stats(g, [f for f in facts if f["group"] == g]) for g in campaign.groups]
    return {"campaign": campaign.name, "dir": str(campaign_dir), "runs": facts, "groups": groups,
            "evaluation": {"episodes": episodes, "seed": seed} if evaluate else None}


def _evaluable(facts: dict) -> bool:
    p = Path(facts["run_dir"])
    return (p / (runs.CHAMPION_FILE if facts["kind"] == "evolution" else "model.pt")).is_file()


def _group_stats(group: str, facts: list) -> dict:
    n = len(facts)
    done = [f for f in facts if f["state"] == "done"]
    solved = [f for f in facts if f["solved"]]
    low, high = wilson(len(solved), n)
    first = facts[0]
    out = {"group": group, "kind": first["kind"], "task": first["task"],
           "comparison_group": first.get("comparison_group", first["task"]), "training": first.get("training"),
           "runs": n, "done": len(done), "failed": sum(1 for f in facts if f["state"] == "failed"),
           "solved": len(solved), "success": {"rate": len(solved) / n if n else 0.0, "low": low, "high": high},
           "seconds_to_solve": quartiles(f.get("solve_seconds") for f in solved),
           "wall_seconds": quartiles(f.get("wall_seconds") for f in done)}
    if first["kind"] == "evolution":
        out["generations_to_solve"] = quartiles(f.get("solve_generations") for f in solved)
        out["size"] = {k: quartiles(f.get(k) for f in done) for k in ("nodes", "connections", "cppn_nodes",
                                                                       "cppn_connections")}
        out["size"] = {k: v for k, v in out["size"].items() if v is not None}
    else:
        out["sequences_to_solve"] = quartiles(f.get("solve_sequences") for f in solved)
        out["size"] = {"parameters": quartiles(f.get("parameters") for f in done)}
    evaluated = [f for f in done if "lengths" in f]
    if evaluated:
        Ls = sorted({int(L) for f in evaluated for L in f["lengths"]})
        out["generalisation"] = {
            "length_name": evaluated[0].get("length_name", "length"), "training": out["training"],
            "lengths": {str(L): {k: quartiles(f["lengths"][str(L)][k] for f in evaluated if str(L) in f["lengths"])
                                 for k in ("score", "perfect")} for L in Ls}}
    return out


# --- CSV ------------------------------------------------------------------------------------------------

_RUN_FIRST = ("group", "seed", "run", "kind", "state", "solved")


def _csv(rows: list[dict], first: tuple) -> str:
    cols = [c for c in first if any(c in r for r in rows)]
    cols += [c for c in columns(rows) if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def runs_csv(campaign_dir) -> str:
    """One row per run: the facts of :func:`campaign_runs`, flattened (``task_params.vector_size`` ...)."""
    rows = []
    for f in campaign_runs(campaign_dir):
        f = dict(f, resumed_from=" ".join(map(str, f["resumed_from"])))
        rows.append(flatten(f))
    return _csv(rows, _RUN_FIRST)


def metrics_csv(campaign_dir) -> str:
    """One row per (run, line of its metrics.jsonl): the run's group, seed and name, then the line flattened
    as ``entm export`` does (:func:`entm.analysis.export.flat_metrics`)."""
    campaign_dir = Path(campaign_dir)
    rows = []
    for r in read_campaign(campaign_dir).runs:
        path = run_dir(campaign_dir, r)
        if not runs.read_metrics(path):
            continue
        rows += [{"group": r.group, "seed": r.seed, "run": r.name, "kind": r.kind, **m} for m in flat_metrics(path)]
    return _csv(rows, ("group", "seed", "run", "kind", "generation", "step", "sequences"))


def write_campaign_csv(campaign_dir, out_dir) -> list[Path]:
    """``runs.csv`` and ``metrics.csv`` of the campaign into the folder ``out_dir``; returns their paths."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EntmError(f"campaign export: {out} is a file; -o names a folder for runs.csv and metrics.csv")
    out.mkdir(parents=True, exist_ok=True)
    text_runs, text_metrics = runs_csv(campaign_dir), metrics_csv(campaign_dir)  # both read before any write
    return [write_file(out / "runs.csv", text_runs), write_file(out / "metrics.csv", text_metrics)]
