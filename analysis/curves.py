"""Curves over a run's history and over sequence length.

- :func:`plot_fitness`: an evolved run's best and mean fitness and best task
  score per generation, with the number of species and the best genome's
  size below (a hyper run: its CPPN's size); a trained run's loss and bit errors against sequences seen.
- :func:`plot_generalization`: score and fraction of perfect episodes against
  sequence length (log scale), one line per run, one row of plots per
  comparison group (the same task and test parameters), the training range
  shaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from entm.analysis.common import new_figure, save_figure
from entm.analysis.compare import compare_runs, group_rows, memory_text, mixed_note
from entm.analysis.compare import wall_seconds as cost_wall_seconds
from entm.analysis.export import run_metrics


def plot_fitness(run_dir, out_path) -> Path:
    """Draw a run's learning curves into ``out_path``; returns the path."""
    fig = fitness_figure(run_dir)
    return save_figure(fig, out_path)


def fitness_figure(run_dir):
    src, metrics = run_metrics(run_dir, "plot fitness")
    if src.kind == "trained":
        return _training_figure(src, metrics)
    return _evolution_figure(src, metrics)


def _series(metrics, key):
    return np.array([m.get(key) if isinstance(m.get(key), (int, float)) else np.nan for m in metrics], dtype=float)


def _evolution_figure(src, metrics):
    has_size = any("best_size" in m for m in metrics)
    fig = new_figure(8.0, 7.2 if has_size else 6.0)
    gs = fig.add_gridspec(3 if has_size else 2, 1, height_ratios=[2.4, 0.9, 0.9][:3 if has_size else 2],
                          hspace=0.12)
    ax = fig.add_subplot(gs[0])
    gen = _series(metrics, "generation")
    ax.plot(gen, _series(metrics, "best_fitness"), color="#1f77b4", lw=1.6, label="best fitness")
    ax.plot(gen, _series(metrics, "mean_fitness"), color="#1f77b4", lw=1.0, ls="--", alpha=0.8,
            label="mean fitness")
    ax.plot(gen, _series(metrics, "best_score"), color="#2ca02c", lw=1.4, label="task score of the fittest")
    if any("max_score" in m for m in metrics):
        ax.plot(gen, _series(metrics, "max_score"), color="#2ca02c", lw=0.8, ls=":",
                label="highest task score")
    solved = [m["generation"] for m in metrics if m.get("solved")]
    if solved:
        ax.axvline(solved[0], color="#444444", lw=1.0, ls="-.", label=f"solved (gen {solved[0]})")
    champ = _champion_meta(src)
    if isinstance(champ.get("fitness"), (int, float)) and isinstance(champ.get("generation"), int):
        ax.plot([champ["generation"]], [champ["fitness"]], marker="*", ms=12, ls="", color="#ff7f0e",
                markeredgecolor="#333333", label=f"saved champion (gen {champ['generation']})", zorder=5)
    ax.set_ylabel("fitness / score")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    axes = [ax]

    ax2 = fig.add_subplot(gs[1], sharex=ax)
    ax2.plot(gen, _series(metrics, "species"), color="#9467bd", lw=1.4)
    ax2.set_ylabel("species")
    ax2.yaxis.get_major_locator().set_params(integer=True)
    ax2.grid(True, alpha=0.3)
    axes.append(ax2)
    if has_size:
        ax3 = fig.add_subplot(gs[2], sharex=ax)
        panel = size_panel(metrics)
        ax3.plot(gen, panel["connections"], color="#8c564b", lw=1.3, label=f"{panel['what']}connections")
        ax3.plot(gen, panel["nodes"], color="#8c564b", lw=1.0, ls=":", label=f"{panel['what']}nodes")
        ax3.set_ylabel(panel["ylabel"])
        ax3.yaxis.get_major_locator().set_params(integer=True)
        ax3.grid(True, alpha=0.3)
        ax3.legend(loc="best", fontsize=8, ncol=2)
        axes.append(ax3)
    for a in axes[:-1]:
        a.tick_params(labelbottom=False)
    axes[-1].set_xlabel("generation")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    if len(gen) == 1:
        ax.set_xlim(gen[0] - 0.5, gen[0] + 0.5)
    fig.align_ylabels(axes)
    wall = cost_wall_seconds(metrics)
    hyper = ", hyper encoding (evolves a CPPN)" if any("best_cppn_size" in m for m in metrics) else ""
    fig.suptitle(f"{src.name}: {src.info.get('task', '?')}, {src.info.get('memory', '?')} memory{hyper} — "
                 f"{len(metrics)} generations, {wall:.0f} s{', solved' if solved else ''}", fontsize=10)
    return fig


def size_panel(metrics) -> dict:
    """What the fitness figure's size panel draws: the size of the generation's fittest genome, ``nodes``
    and ``connections`` per generation (NaN where missing).  For a hyper-encoding run that is its CPPN
    (``best_cppn_size``, what evolution searched), labelled as such, not the controller it paints."""
    hyper = any("best_cppn_size" in m for m in metrics)
    key = "best_cppn_size" if hyper else "best_size"
    size = np.array([m.get(key) or [np.nan, np.nan] for m in metrics], dtype=float).reshape(len(metrics), 2)
    return {"key": key, "nodes": size[:, 0], "connections": size[:, 1], "what": "CPPN " if hyper else "",
            "ylabel": "CPPN size of\nthe fittest" if hyper else "size of the\nfittest"}


def _champion_meta(src) -> dict:
    """metadata.entm of the run's champion.json ({} when it cannot be read)."""
    if src.champion_path is None:
        return {}
    try:
        meta = json.loads(src.champion_path.read_text()).get("metadata", {}).get("entm", {})
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _training_figure(src, metrics):
    fig = new_figure(8.0, 5.6)
    gs = fig.add_gridspec(2, 1, hspace=0.12)
    ax = fig.add_subplot(gs[0])
    ax2 = fig.add_subplot(gs[1], sharex=ax)
    seq = _series(metrics, "sequences")
    ax.plot(seq, _series(metrics, "loss"), color="#d62728", lw=1.4, label="loss")
    loss = _series(metrics, "loss")
    if np.all(loss[np.isfinite(loss)] > 0) and np.isfinite(loss).any():
        ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelbottom=False)
    ax2.plot(seq, _series(metrics, "bit_errors"), color="#ff7f0e", lw=1.4, label="bit errors")
    ax2.set_ylabel("bit errors per sequence")
    ax2.set_xlabel("sequences seen")
    ax2.grid(True, alpha=0.3)
    fig.suptitle(f"{src.name}: {src.info.get('task', '?')}, trained {src.info.get('model', '')} — "
                 f"{len(metrics)} reports", fontsize=10)
    return fig


def plot_generalization(run_dirs, out_path, lengths=None, episodes: int = 20, seed: int = 0,
                        rows=None, progress: bool = False) -> Path:
    """Score and fraction perfect against length for every run into ``out_path``; ``rows``
    (from :func:`analysis.compare.compare_runs`) skips the evaluation."""
    if rows is None:
        rows = compare_runs(run_dirs, lengths=lengths, episodes=episodes, seed=seed, progress=progress)
    return save_figure(generalization_figure(rows), out_path)


#: what the x axis of a group's generalisation plots says, by the task's ``length_name``
_LENGTH_AXIS = {"length": "sequence length", "rounds": "rounds per deployment", "years": "years per deployment"}


def generalization_panels(rows: list[dict]) -> list[dict]:
    """What the generalisation figure draws: one panel row per comparison group
    (:func:`entm.analysis.compare.group_rows`), each ``{"title", "header", "length_name", "lines",
    "spans"}``: ``lines`` one per run (``label``, ``kind``, ``lengths``, ``score``, ``perfect``),
    ``spans`` the training ranges marked on it (``range`` [low, high], ``runs``: the run names)."""
    names = [r["name"] for r in rows]
    dup = {n for n in names if names.count(n) > 1}
    panels = []
    for g in group_rows(rows):
        lines = []
        for r in g.rows:
            Ls = sorted(int(L) for L in r["lengths"])
            label = r["run"] if r["name"] in dup else r["name"]
            label += f" ({r['kind']}, {memory_text(r)}{', hyper encoding' if 'cppn' in r['size'] else ''})"
            lines.append({"label": label, "kind": r["kind"], "lengths": Ls,
                          "score": [r["lengths"][str(L)]["score"] for L in Ls],
                          "perfect": [r["lengths"][str(L)]["perfect"] for L in Ls]})
        spans = [{"range": list(span), "runs": runs} for span, runs in g.trainings().items() if span is not None]
        header = g.header()
        panels.append({"title": header[0], "header": header[1:], "length_name": g.length_name, "lines": lines,
                       "spans": spans})
    return panels


def generalization_figure(rows: list[dict]):
    """Score and fraction perfect against length: a row of two plots per comparison group, each titled
    with the group and its header, the runs' training ranges shaded."""
    panels = generalization_panels(rows)
    n = len(panels)
    fig = new_figure(9.5, 0.8 + 3.8 * n)
    fig.set_layout_engine("constrained")
    gs = fig.add_gridspec(n, 2)
    markers = "osD^vP*X"
    i = 0  # runs over all groups: every run has its own colour and marker
    for row, panel in enumerate(panels):
        ax_s = fig.add_subplot(gs[row, 0])
        ax_p = fig.add_subplot(gs[row, 1], sharex=ax_s)
        handles = []
        all_lengths = set()
        for k, line in enumerate(panel["lines"]):
            Ls = line["lengths"]
            all_lengths.update(Ls)
            style = "-" if line["kind"] == "evolved" else "--"
            # later runs drawn thinner and on top, so that equal curves stay visible
            kw = dict(marker=markers[i % len(markers)], ms=max(3.0, 7.0 - 1.2 * k), lw=max(0.8, 2.8 - 0.6 * k),
                      alpha=0.9, color=f"C{i % 10}")
            handles.append(ax_s.plot(Ls, line["score"], style, label=line["label"], **kw)[0])
            ax_p.plot(Ls, line["perfect"], style, **kw)
            i += 1
        what = panel["length_name"]
        for k, span in enumerate(panel["spans"]):
            lo, hi = span["range"]
            text = f"trained on {what} {lo}" if lo == hi else f"trained on {what} {lo}-{hi}"
            if len(panel["spans"]) > 1:
                text += f" ({', '.join(span['runs'])})"
            color = ("#999999", "#d9b38c", "#8cb3d9", "#b38cd9")[k % 4]
            for ax in (ax_s, ax_p):
                if lo == hi:
                    ax.axvline(lo, color=color, lw=6, alpha=0.35, zorder=0)
                else:
                    ax.axvspan(lo, hi, color=color, alpha=0.25, lw=0, zorder=0)
            handles.append(_span_handle(color, text))
        for ax, ylabel in ((ax_s, "mean score"), (ax_p, "fraction of perfect episodes")):
            ax.set_xscale("log")
            ax.set_xlabel(_LENGTH_AXIS.get(what, what))
            ax.set_ylabel(ylabel)
            ax.set_ylim(-0.03, 1.03)
            ax.grid(True, which="both", alpha=0.3)
        ticks = sorted(all_lengths | {v for sp in panel["spans"] for v in sp["range"]})
        if ticks:
            ax_s.set_xticks(ticks)
            ax_s.set_xticklabels([str(t) for t in ticks])
            for ax in (ax_s, ax_p):
                ax.tick_params(axis="x", labelsize=8)
                ax.minorticks_off()
            if len(ticks) == 1:
                ax_s.set_xlim(ticks[0] / 2, ticks[0] * 2)
            else:
                ax_s.set_xlim(ticks[0] / 1.3, ticks[-1] * 1.3)
        ax_s.set_title("\n".join([panel["title"]] + panel["header"]), fontsize=8, loc="left")
        ax_p.legend(handles=handles, loc="best", fontsize=7, framealpha=0.85)
    episodes = {v["episodes"] for r in rows for v in r["lengths"].values()}
    title = (f"generalisation: {', '.join(dict.fromkeys(r['task'] for r in rows))}, "
             f"{'/'.join(map(str, sorted(episodes)))} episodes per length")
    note = mixed_note(group_rows(rows), each="row of plots")
    if note:
        title += "\n" + note
    fig.suptitle(title, fontsize=10)
    return fig


def _span_handle(color, label):
    from matplotlib.patches import Patch

    return Patch(facecolor=color, alpha=0.35, label=label)
