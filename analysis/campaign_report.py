"""A campaign's report: one self-contained HTML page of its statistics (:mod:`entm.analysis.campaign`).

Sections: the groups (success rate with its 95 % Wilson interval, cost to solve as median and
interquartile range, champion sizes), the ECDFs of the cost to solve, the generalisation sweep per
comparison group (per campaign group the median across seeds and the interquartile band, the
training range shaded), an evolved-against-trained table per task, and every run (how it ended, its
sessions: started fresh or resumed from which checkpoint).  Images are embedded PNGs and the style
sheet is :mod:`entm.analysis.report`'s, so the page is one file.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from matplotlib.patches import Patch
from entm.analysis.campaign import campaign_stats
from entm.analysis.common import new_figure, write_file
from entm.analysis.compare import range_text
from entm.analysis.report import CSS, img_tag

from entm.errors import EntmError

#: shades of the training ranges (as entm plot generalization shades them)
SPAN_COLOURS = ("#999999", "#d9b38c", "#8cb3d9", "#b38cd9")

__all__ = ["ecdf_figure", "generalisation_band_figure", "write_campaign_report"]


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _q(q: dict | None, fmt: str = "{:.0f}") -> str:
    """``median [q1, q3]`` of a :func:`~entm.analysis.campaign.quartiles` dict, or ``-``."""
    if not q:
        return "-"
    return f"{fmt.format(q['median'])} [{fmt.format(q['q1'])}, {fmt.format(q['q3'])}]"


def _rate(g: dict) -> str:
    s = g["success"]
    return f"{g['solved']}/{g['runs']} = {100 * s['rate']:.0f}% [{100 * s['low']:.0f}%, {100 * s['high']:.0f}%]"


def _table(head: list, rows: list) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table>"


def _size_text(g: dict) -> str:
    s = g.get("size", {})
    if "parameters" in s:
        return f"{_q(s['parameters'])} parameters"
    text = f"{_q(s.get('nodes'))} nodes, {_q(s.get('connections'))} connections"
    if "cppn_nodes" in s:
        text += f" (CPPN {_q(s['cppn_nodes'])} nodes, {_q(s['cppn_connections'])} connections)"
    return text


def _cost_to_solve(g: dict) -> str:
    if g["kind"] == "evolution":
        return f"{_q(g.get('generations_to_solve'))} generations"
    return f"{_q(g.get('sequences_to_solve'))} sequences"


def groups_table(stats: dict) -> str:
    head = ["group", "kind", "task", "runs", "done", "failed", "solved (95% Wilson interval)",
            "to solve: median [IQR]", "seconds to solve: median [IQR]", "champion size: median [IQR]"]
    rows = [[g["group"], g["kind"], g["comparison_group"], g["runs"], g["done"], g["failed"], _rate(g),
             _cost_to_solve(g), _q(g["seconds_to_solve"], "{:.1f}"), _size_text(g)] for g in stats["groups"]]
    return _table(head, rows)


def ecdf_figure(stats: dict):
    """Per group, the fraction of its runs solved within x (generations; training: sequences; and wall
    seconds for every group): the empirical distribution of the cost to solve over all the group's runs,
    so a curve ends at the group's success rate."""
    panels = [("generations", "evolution", "solve_generations", "generations evaluated"),
              ("sequences", "training", "solve_sequences", "training sequences seen"),
              ("wall_seconds", None, "solve_seconds", "wall seconds")]
    kinds = {g["kind"] for g in stats["groups"]}
    panels = [p for p in panels if p[1] is None or p[1] in kinds]
    fig = new_figure(4.2 * len(panels), 3.8)
    fig.set_layout_engine("constrained")
    for i, (total, kind, key, xlabel) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for k, g in enumerate(stats["groups"]):
            if kind is not None and g["kind"] != kind:
                continue
            members = [f for f in stats["runs"] if f["group"] == g["group"]]
            xs = sorted(f[key] for f in members if f["solved"] and f.get(key) is not None)
            end = max([*xs, *(f.get(total) or 0 for f in members)], default=0)  # the longest run's end
            n = len(members)
            ys = list(np.arange(1, len(xs) + 1) / n)
            ax.step([0, *xs, end], [0, *ys, ys[-1] if ys else 0], where="post",
                    ls="-" if g["kind"] == "evolution" else "--", color=f"C{k % 10}",
                    label=f"{g['group']} ({len(xs)}/{n})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of runs solved")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"campaign {stats['campaign']}: cost to solve (ECDF over each group's runs)", fontsize=10)
    return fig


def generalisation_band_figure(stats: dict):
    """Per comparison group a row of two plots (score, fraction perfect against length): per campaign group
    the median across its evaluated runs and the interquartile band; the training ranges shaded."""
    sweeps = [g for g in stats["groups"] if g.get("generalisation")]
    by_task = {}
    for g in sweeps:
        by_task.setdefault(g["comparison_group"], []).append(g)
    fig = new_figure(9.5, 0.8 + 3.6 * max(1, len(by_task)))
    fig.set_layout_engine("constrained")
    gs = fig.add_gridspec(max(1, len(by_task)), 2)
    colour = {g["group"]: f"C{k % 10}" for k, g in enumerate(stats["groups"])}
    for row, (label, groups) in enumerate(by_task.items()):
        ax_s = fig.add_subplot(gs[row, 0])
        ax_p = fig.add_subplot(gs[row, 1], sharex=ax_s)
        spans: dict = {}
        for g in groups:
            sweep = g["generalisation"]
            Ls = sorted(int(L) for L in sweep["lengths"])
            style = "-" if g["kind"] == "evolution" else "--"
            for ax, key in ((ax_s, "score"), (ax_p, "perfect")):
                q = [sweep["lengths"][str(L)][key] for L in Ls]
                ax.plot(Ls, [x["median"] for x in q], style, marker="o", ms=4, color=colour[g["group"]],
                        label=f"{g['group']} (median of {q[0]['n']})")
                ax.fill_between(Ls, [x["q1"] for x in q], [x["q3"] for x in q], color=colour[g["group"]],
                                alpha=0.2, lw=0)
            if sweep.get("training"):
                spans.setdefault(tuple(sweep["training"]), []).append(g["group"])
        what = groups[0]["generalisation"]["length_name"]
        handles = []
        for k, ((lo, hi), names) in enumerate(sorted(spans.items())):
            shade = SPAN_COLOURS[k % len(SPAN_COLOURS)]
            for ax in (ax_s, ax_p):
                ax.axvspan(lo - 0.5 if lo == hi else lo, hi + 0.5 if lo == hi else hi, color=shade, alpha=0.3,
                           lw=0, zorder=0)
            handles.append(Patch(facecolor=shade, alpha=0.45, label=f"trained on {what} {range_text((lo, hi))}"
                                 + (f" ({', '.join(names)})" if len(spans) > 1 else "")))
        for ax, ylabel in ((ax_s, "mean score"), (ax_p, "fraction of perfect episodes")):
            ax.set_xscale("log")
            ax.set_xlabel(what)
            ax.set_ylabel(ylabel)
            ax.set_ylim(-0.03, 1.03)
            ax.grid(True, which="both", alpha=0.3)
        ticks = sorted({int(L) for g in groups for L in g["generalisation"]["lengths"]} | {v for s in spans for v in s})
        ax_s.set_xticks(ticks)
        ax_s.set_xticklabels([str(t) for t in ticks])
        for ax in (ax_s, ax_p):
            ax.tick_params(axis="x", labelsize=8)
            ax.minorticks_off()
        ax_s.set_title(label, fontsize=8, loc="left")
        ax_p.legend(handles=ax_p.get_legend_handles_labels()[0] + handles, fontsize=7, loc="best")
    fig.suptitle(f"campaign {stats['campaign']}: generalisation, median and interquartile band across seeds",
                 fontsize=10)
    return fig


def versus_tables(stats: dict) -> str:
    """Per comparison group (a task with the parameters that define its test): its campaign groups side by
    side, evolved and trained: success, cost, size, and the median score [IQR] at each length."""
    out = []
    by_task = {}
    for g in stats["groups"]:
        by_task.setdefault(g["comparison_group"], []).append(g)
    for label, groups in by_task.items():
        Ls = sorted({int(L) for g in groups for L in (g.get("generalisation") or {}).get("lengths", {})})
        head = ["group", "kind", "solved", "to solve", "seconds to solve", "size"] + [f"length {L}" for L in Ls]
        rows = []
        for g in groups:
            lengths = (g.get("generalisation") or {}).get("lengths", {})
            rows.append([g["group"], "evolved" if g["kind"] == "evolution" else "trained", _rate(g),
                         _cost_to_solve(g), _q(g["seconds_to_solve"], "{:.1f}"), _size_text(g)]
                        + [_score_text(lengths.get(str(L), {})) for L in Ls])
        out.append(f"<h3>{_e(label)}</h3>" + _table(head, rows))
    return "".join(out)


def _score_text(at: dict) -> str:
    """``score median [IQR], perfect median [IQR]`` at one length, or ``-``."""
    if not at.get("score"):
        return "-"
    p = at["perfect"]
    return (f"score {_q(at['score'], '{:.3f}')}; perfect {100 * p['median']:.0f}% "
            f"[{100 * p['q1']:.0f}%, {100 * p['q3']:.0f}%]")


def runs_table(stats: dict) -> str:
    head = ["run", "state", "solved", "generations / steps", "wall s", "sessions", "resumed from"]
    rows = []
    for f in stats["runs"]:
        rows.append([f["run"], f["state"] + (f": {f['failed']}" if f.get("failed") else ""),
                     "yes" if f["solved"] else "no", f.get("generations", f.get("steps", "-")),
                     f"{f['wall_seconds']:.1f}" if f.get("wall_seconds") is not None else "-", f["sessions"],
                     ", ".join(map(str, f["resumed_from"])) or "-"])
    return _table(head, rows)


def write_campaign_report(campaign_dir, out_html, lengths=None, episodes: int = 20, seed: int = 0,
                          progress: bool = False) -> Path:
    """Write the campaign's report (see the module docstring) to ``out_html``."""
    out = Path(out_html)
    if out.is_dir():
        raise EntmError(f"campaign report: {out} is a directory; give a file name like report.html")
    stats = campaign_stats(campaign_dir, lengths=lengths, episodes=episodes, seed=seed, progress=progress)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>campaign "
             f"{_e(stats['campaign'])}</title><style>{CSS}</style></head><body>",
             f"<h1>campaign {_e(stats['campaign'])}: {len(stats['runs'])} runs in {len(stats['groups'])} groups</h1>",
             f'<p class="note">{_e(stats["dir"])}. Success: an evolved run found a genome perfect on its '
             "generation's episodes and on the validation batch; a trained run's final test (fresh sequences of its "
             "training distribution) is perfect. Intervals: 95% Wilson score intervals. Costs to solve: over the "
             "solved runs, median [first quartile, third quartile].</p>",
             "<h2>groups</h2>", groups_table(stats),
             "<h2>cost to solve</h2>", img_tag(ecdf_figure(stats), "ECDF of the cost to solve")]
    if any(g.get("generalisation") for g in stats["groups"]):
        parts += ["<h2>generalisation</h2>",
                  f'<p class="note">every finished run evaluated on the same episodes: seed {_e(seed)}, '
                  f"{_e(episodes)} episodes per length (as entm compare).</p>",
                  img_tag(generalisation_band_figure(stats), "generalisation across seeds")]
    parts += ["<h2>evolved against trained</h2>", versus_tables(stats), "<h2>runs</h2>", runs_table(stats),
              "</body></html>\n"]
    return write_file(out, "\n".join(parts))
