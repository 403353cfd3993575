"""Curves over a run's history and over sequence length.

- :func:`plot_fitness`: an evolved run's best and mean fitness and best task
  score per generation, with the number of species and the best genome's
  size below; a trained run's loss and bit errors against sequences seen.
- :func:`plot_generalization`: score and fraction of perfect episodes against
  sequence length (log scale), one line per run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from entm.analysis.common import new_figure, open_source, save_figure
from entm.analysis.compare import compare_runs
from entm.analysis.compare import wall_seconds as cost_wall_seconds

from entm.errors import EntmError


def plot_fitness(run_dir, out_path) -> Path:
    """Draw a run's learning curves into ``out_path``; returns the path."""
    fig = fitness_figure(run_dir)
    return save_figure(fig, out_path)


def fitness_figure(run_dir):
    src = open_source(run_dir)
    if src.run_dir is None:
        raise EntmError(f"plot fitness needs a run directory (with metrics.jsonl), got the champion file {src.path}")
    metrics = src.metrics()
    if not metrics:
        raise EntmError(f"{src.run_dir} has no metrics yet (metrics.jsonl is missing or empty)")
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
        size = np.array([m.get("best_size") or [np.nan, np.nan] for m in metrics], dtype=float)
        ax3.plot(gen, size[:, 1], color="#8c564b", lw=1.3, label="connections")
        ax3.plot(gen, size[:, 0], color="#8c564b", lw=1.0, ls=":", label="nodes")
        ax3.set_ylabel("size of the\nfittest")
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
    fig.suptitle(f"{src.name}: {src.info.get('task', '?')}, {src.info.get('memory', '?')} memory — "
                 f"{len(metrics)} generations, {wall:.0f} s{', solved' if solved else ''}", fontsize=10)
    return fig


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


def generalization_figure(rows: list[dict]):
    fig = new_figure(9.0, 4.2)
    ax_s = fig.add_subplot(1, 2, 1)
    ax_p = fig.add_subplot(1, 2, 2, sharex=ax_s)
    names = [r["name"] for r in rows]
    dup = {n for n in names if names.count(n) > 1}
    all_lengths = set()
    markers = "osD^vP*X"
    for i, r in enumerate(rows):
        Ls = sorted(int(L) for L in r["lengths"])
        all_lengths.update(Ls)
        label = r["run"] if r["name"] in dup else r["name"]
        label += f" ({r['kind']}, {r['model']['model'] if r.get('model') else r['memory']})"
        style = "-" if r["kind"] == "evolved" else "--"
        # later runs drawn thinner and on top, so that equal curves stay visible
        kw = dict(marker=markers[i % len(markers)], ms=max(3.0, 7.0 - 1.2 * i), lw=max(0.8, 2.8 - 0.6 * i),
                  alpha=0.9)
        line, = ax_s.plot(Ls, [r["lengths"][str(L)]["score"] for L in Ls], style, label=label, **kw)
        ax_p.plot(Ls, [r["lengths"][str(L)]["perfect"] for L in Ls], style, color=line.get_color(), **kw)
    for ax, what in ((ax_s, "mean score"), (ax_p, "fraction of perfect episodes")):
        ax.set_xscale("log")
        ax.set_xlabel("sequence length")
        ax.set_ylabel(what)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, which="both", alpha=0.3)
    if all_lengths:
        ticks = sorted(all_lengths)
        ax_s.set_xticks(ticks)
        ax_s.set_xticklabels([str(t) for t in ticks])
        for ax in (ax_s, ax_p):
            ax.tick_params(axis="x", labelsize=8)
        ax_s.minorticks_off()
        ax_p.minorticks_off()
        if len(ticks) == 1:
            ax_s.set_xlim(ticks[0] / 2, ticks[0] * 2)
    episodes = {v["episodes"] for r in rows for v in r["lengths"].values()}
    fig.suptitle(f"generalisation: {', '.join(sorted({r['task'] for r in rows}))}, "
                 f"{'/'.join(map(str, sorted(episodes)))} episodes per length", fontsize=10)
    fig.legend(*ax_s.get_legend_handles_labels(), loc="lower center", ncol=min(3, len(rows)), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.045 * ((len(rows) - 1) // 3)), frameon=False)
    fig.subplots_adjust(bottom=0.2 + 0.05 * ((len(rows) - 1) // 3), wspace=0.28)
    return fig
