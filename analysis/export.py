"""A run's metrics.jsonl as flat rows: one dict (or CSV line) per generation or training report.

``metrics.jsonl`` has one JSON object per line (:class:`entm.evolution.reporters.MetricsReporter`
for evolution runs, the trainer's reports for training runs).  :func:`flat_metrics` flattens each
line for a data frame: nested objects with dots (``best_terms.recall``), the size pairs into named
columns (``best_size.nodes``, ``best_size.connections``, also ``best_cppn_size.*`` of a hyper run),
any other list by position (``x.0``, ``x.1``)::

    import pandas as pd
    from entm.analysis.export import flat_metrics
    df = pd.DataFrame(flat_metrics("runs/copy-..."))

:func:`write_csv` writes the same rows as CSV (``entm export RUN [-o FILE.csv]``): the columns are
every key of any row, the run's identifying column first (``generation``, or ``step`` of a training
run), then in the order they first appear; a value a row lacks is an empty cell.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from entm.analysis.common import open_source, write_file

from entm import runs
from entm.errors import EntmError

__all__ = ["NAMED_LISTS", "columns", "flat_metrics", "flatten", "metrics_csv", "run_metrics", "write_csv"]

#: lists in metrics.jsonl whose entries have names: ``Network.size()`` is (nodes, connections used)
NAMED_LISTS = {
    "best_size": ("nodes", "connections"),
    "best_cppn_size": ("nodes", "connections"),
}

#: the columns that identify a line, put first when present
_FIRST = ("generation", "step", "sequences")


def flatten(record: dict, prefix: str = "") -> dict:
    """One metrics line as a flat dict: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; the lists of
    :data:`NAMED_LISTS` by name, other lists by position."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            labels = NAMED_LISTS.get(name)
            if labels is None or len(labels) != len(value):
                labels = [str(i) for i in range(len(value))]
            out.update(flatten(dict(zip(labels, value)), f"{name}."))
        else:
            out[name] = value
    return out


def run_metrics(run_dir, what: str = "export"):
    """(the opened source, its metrics.jsonl lines); EntmError (naming ``what`` needs it) for a champion
    file outside a run directory, or a run without metrics yet."""
    src = open_source(run_dir)
    if src.run_dir is None:
        raise EntmError(f"{what} needs a run directory (with {runs.METRICS_FILE}), got the champion file {src.path}")
    metrics = src.metrics()
    if not metrics:
        raise EntmError(f"{src.run_dir} has no metrics yet ({runs.METRICS_FILE} is missing or empty)")
    return src, metrics


def flat_metrics(run_dir) -> list[dict]:
    """Every line of a run's metrics.jsonl (evolved or trained), flattened (:func:`flatten`); EntmError
    for something that is not a run directory, or a run without metrics yet."""
    return [flatten(m) for m in run_metrics(run_dir)[1]]


def columns(rows: list[dict]) -> list[str]:
    """Every key of any row: the identifying columns first, then in order of first appearance."""
    seen = list(dict.fromkeys(k for r in rows for k in r))
    return [k for k in _FIRST if k in seen] + [k for k in seen if k not in _FIRST]


def metrics_csv(run_dir) -> str:
    """The run's flattened metrics as CSV text (a header line, then one line per metrics line)."""
    rows = flat_metrics(run_dir)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(run_dir, out_path) -> Path:
    """Write :func:`metrics_csv` to ``out_path`` atomically; returns the path."""
    out = Path(out_path)
    if out.is_dir():
        raise EntmError(f"export: {out} is a directory; give a file name like metrics.csv")
    return write_file(out, metrics_csv(run_dir))
