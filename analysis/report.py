"""One self-contained HTML page over several runs.

For each run: a summary, its fitness curve (a trained run: loss and bit
errors against sequences seen), its network (evolved runs; a hyper-encoding
run: its painted controller grouped by vector, and the CPPN that paints it) and one episode's
memory trace (evolved runs and trained NTMs); then, for all runs together, the generalisation plot and the
comparison table.  Every image is embedded as a base64 PNG ``data:`` URI and
the style sheet is inline, so the page is a single file that can be mailed or
attached to an issue.  All text from run files is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from entm.analysis.common import check_positive, figure_bytes, open_source, write_file
from entm.analysis.compare import (
    all_lengths,
    compare_runs,
    group_rows,
    length_heading,
    memory_text,
    mixed_note,
)
from entm.analysis.curves import fitness_figure, generalization_figure
from entm.analysis.memory_plot import memory_figure
from entm.analysis.network_plot import default_view, network_figure
from entm.tasks import TASKS

from entm import runs
from entm.errors import EntmError

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; padding-bottom: .2em;
margin-top: 2em; } h3 { font-size: 1.05em; margin-bottom: .3em; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #666; font-size: .9em; }
code { background: #f6f6f6; padding: 0 .2em; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def img_tag(fig, alt: str) -> str:
    data = base64.b64encode(figure_bytes(fig, "png")).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _kv_table(items) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return f"<table>{rows}</table>"


def _params(d) -> str:
    return json.dumps(d, sort_keys=True) if d else "{}"


def _summary(src, row: dict) -> str:
    items = [("path", row["run"]), ("kind", row["kind"]),
             ("task", f"{row['task']} {_params(row.get('task_params'))}"),
             ("memory", f"{row['memory']} {_params(row.get('memory_params'))}, {row['heads']} head(s)"
              if row["memory"] != "none" else "none")]
    size = row["size"]
    items.append(("size", f"{size['nodes']} nodes, {size['connections']} connections used" if "nodes" in size
                   else f"{size.get('parameters')} trainable parameters"))
    if "cppn" in size:
        items.append(("encoding", f"hyper: a CPPN of {size['cppn'][0]} nodes and {size['cppn'][1]} connections "
                                  "paints this controller"))
    if row.get("model"):
        a = row["model"]
        items.append(("model", f"NTM, {a['controller']} controller {a['layers']}x{a['hidden_size']}, "
                               f"{a['read_heads']} read / {a['write_heads']} write heads"
                      if a["model"] == "ntm" else f"LSTM {a['layers']}x{a['hidden_size']}"))
    cost = row.get("cost")
    if cost:
        if "generations" in cost:
            items.append(("cost", f"{cost['generations']} generations, {cost['evaluations']} genome evaluations, "
                                  f"{cost['genome_steps']:,} network steps, {cost['wall_seconds']:.1f} s"))
        else:
            items.append(("cost", f"{cost['sequences']} sequences, {cost['wall_seconds']:.1f} s"))
    ch = row.get("champion") or {}
    if ch and row["kind"] == "trained":
        items.append(("model.pt", f"step {ch.get('step')}, {ch.get('sequences')} sequences seen"))
    elif ch:
        parts = []
        for k in ("fitness", "score"):
            if isinstance(ch.get(k), (int, float)):
                parts.append(f"{k} {ch[k]:.4f}")
        if ch.get("generation") is not None:
            parts.append(f"generation {ch['generation']}")
        if "solved" in ch:
            parts.append("solved" if ch["solved"] else "not solved")
        items.append(("champion", ", ".join(parts)))
    if src.info.get("seed") is not None:
        items.append(("seed", src.info["seed"]))
    return _kv_table(items)


def comparison_table_html(rows: list[dict]) -> str:
    """One table per comparison group (:func:`entm.analysis.compare.group_rows`) under its header; a note
    first when the runs are of several groups."""
    groups = group_rows(rows)
    out = []
    note = mixed_note(groups)
    if note:
        out.append(f'<p class="note"><strong>{_e(note)}.</strong></p>')
    for g in groups:
        header = g.header()
        out.append(f"<h3>{_e(header[0])}</h3>")
        out.append("<p class=\"note\">" + "<br>".join(_e(line) for line in header[1:]) + "</p>")
        out.append(_group_table_html(g))
    return "".join(out)


#: what a task's ``bit_errors`` count, where that is not wrong bits
_ERRORS = {"tmaze": "wrong rounds", "season": "wrong decisions"}


def _group_table_html(group) -> str:
    rows = group.rows
    lengths = all_lengths(rows)
    head = ["run", "kind", "task", "memory", "nodes", "connections", "parameters", "generations", "evaluations",
            "sequences", "wall s"]
    head += [length_heading(group.length_name, L) for L in lengths]
    errors = _ERRORS.get(rows[0]["task"], "bit errors")
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        size, cost = r["size"], r.get("cost") or {}
        cells = [(r["name"], False), (r["kind"], False), (r["task"], False), (memory_text(r), False),
                 (size.get("nodes", "-"), True), (size.get("connections", "-"), True),
                 (size.get("parameters", "-"), True), (cost.get("generations", "-"), True),
                 (cost.get("evaluations", "-"), True), (cost.get("sequences", "-"), True),
                 (f"{cost['wall_seconds']:.0f}" if "wall_seconds" in cost else "-", True)]
        for L in lengths:
            v = r["lengths"].get(L)
            cells.append(("-" if v is None else f"{v['score']:.3f} ({100 * v['perfect']:.0f}% perfect, "
                                                f"{v['bit_errors']:.1f} {errors})", True))
        out.append("<tr>" + "".join(f'<td class="num">{_e(c)}</td>' if num else f"<td>{_e(c)}</td>"
                                    for c, num in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def write_report(run_dirs, out_html, lengths=None, episodes: int = 20, seed: int = 0, length: int | None = None,
                 progress: bool = False) -> Path:
    """Write the report over ``run_dirs`` (run directories or champion files) to ``out_html``.

    ``lengths``/``episodes``/``seed``: the generalisation sweep (as ``entm compare``);
    ``length``: the episode length of the memory traces (default: the task's longest training length).
    """

    if not run_dirs:
        raise EntmError("report: give at least one run directory or champion file")
    if length is not None:
        check_positive("length", length)
    out = Path(out_html)
    if out.is_dir():
        raise EntmError(f"report: {out} is a directory; give a file name like report.html")
    sources = [open_source(p) for p in run_dirs]
    for s in sources:  # every problem before any long work
        s.model("report")
    rows = compare_runs(sources, lengths=lengths, episodes=episodes, seed=seed, progress=progress)

    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>entm report</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>entm report: {len(sources)} run{'s' if len(sources) != 1 else ''}</h1>"]
    parts.append("<ul>" + "".join(f'<li><a href="#run{i}">{_e(s.name)}</a> ({_e(s.kind)})</li>'
                                  for i, s in enumerate(sources))
                 + '<li><a href="#comparison">comparison</a></li></ul>')
    for i, (src, row) in enumerate(zip(sources, rows)):
        parts.append(f'<h2 id="run{i}">{_e(src.name)}</h2>')
        parts.append(_summary(src, row))
        parts.append("<h3>learning curve</h3>")
        if src.run_dir is not None and runs.read_metrics(src.run_dir):
            parts.append(img_tag(fitness_figure(src), f"fitness of {src.name}"))
        else:
            parts.append('<p class="note">no metrics.jsonl (a champion file on its own)</p>')
        model = src.model("report")
        if src.kind == "evolved":
            parts.append("<h3>network</h3>")
            parts.append(img_tag(network_figure(model, title=src.name)[0], f"network of {src.name}"))
            if default_view(model) == "grouped":  # a hyper champion: the CPPN is what was evolved
                parts.append("<h3>CPPN (what evolution changed; it paints the network above)</h3>")
                parts.append(img_tag(network_figure(model, title=src.name, view="cppn")[0], f"CPPN of {src.name}"))
        parts.append("<h3>memory trace</h3>")
        if src.kind == "trained" and model.architecture.model != "ntm":
            parts.append(f'<p class="note">a plain {_e(model.architecture.model)} has no external memory</p>')
        else:
            parts.append(img_tag(memory_figure(model, length=length, seed=seed, title=src.name)[0],
                              f"memory trace of {src.name}"))
    parts.append('<h2 id="comparison">comparison</h2>')
    ep = sorted({v["episodes"] for r in rows for v in r["lengths"].values()})
    scores = "; ".join(f"{t}: {TASKS[t].score_name}" for t in dict.fromkeys(r["task"] for r in rows) if t in TASKS)
    parts.append(f'<p class="note">runs of a task evaluated on the same episodes: seed {_e(seed)}, '
                 f'{_e("/".join(map(str, ep)))} episodes per length; score = the task\'s mean score '
                 f'({_e(scores)}), perfect = fraction of perfect episodes.</p>')
    parts.append(img_tag(generalization_figure(rows), "generalisation"))
    parts.append(comparison_table_html(rows))
    parts.append("</body></html>\n")
    return write_file(out, "\n".join(parts))
