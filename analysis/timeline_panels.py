"""The timeline panels of a reward task's deployment in a memory plot: the T-maze's rounds and the
season task's food items, drawn over the steps (see :mod:`entm.analysis.memory_plot`)."""

from __future__ import annotations

from entm.analysis.deployment import goal_name
from entm.tasks.season import SeasonTask
from entm.tasks.tmaze import TMazeTask
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

RIGHT, WRONG, HIGH = "#2ca02c", "#d62728", "#e6b800"


def boundaries(axes, xs, **kw) -> None:
    """Vertical lines at ``xs`` (between steps) across every panel."""
    for ax in axes:
        for x in xs:
            ax.axvline(x, **kw)


def rounds_panel(ax, task: TMazeTask, rounds: list, axes) -> None:
    """The T-maze's rounds over the steps: each round shaded green (right) or red (wrong), the goal
    it chose (a marker at the step that reached it; crash/time-out on a row of its own), the
    high-reward goal as a gold line (and where it moved), the reward as text when there is room,
    round boundaries across every panel."""
    K = task.goals
    rows = [f"{g} ({goal_name(task, g)})" for g in range(K)]
    crash_row = K if task.variant == "continuous" else None
    if crash_row is not None:
        rows.append("crash / time-out")
    T = rounds[-1]["stop"] if rounds else 1
    room = ax.figure.get_figwidth() * 0.84 / T  # inches per step
    for r in rounds:
        x0, x1 = r["start"] - 0.5, r["stop"] - 0.5
        ax.axvspan(x0, x1, color=RIGHT if r["right"] else WRONG, alpha=0.14, lw=0)
        ax.plot([x0, x1], [r["high"], r["high"]], color=HIGH, lw=4, solid_capstyle="butt", zorder=2)
        y = r["goal"] if r["goal"] >= 0 else crash_row
        ax.scatter([r["end"]], [y], marker="o" if r["right"] else "X", s=46, zorder=4,
                   c=RIGHT if r["right"] else WRONG, edgecolors="#222222", linewidths=0.6)
        if room * (x1 - x0) >= 0.3:
            ax.annotate(f"{r['reward']:g}", (r["end"], y), xytext=(5, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=6.5, zorder=5)
    step = next(k for k in (1, 2, 5, 10, 20, 50, 100) if k * T / max(len(rounds), 1) * room >= 0.22)
    top = ax.secondary_xaxis("top")
    top.set_xticks([(r["start"] + r["stop"] - 1) / 2 for r in rounds if (r["round"] + 1) % step == 0 or step == 1])
    top.set_xticklabels([str(r["round"] + 1) for r in rounds if (r["round"] + 1) % step == 0 or step == 1],
                        fontsize=6.5)
    top.tick_params(length=0, pad=1)
    moves = [r for p, r in zip(rounds, rounds[1:]) if r["high"] != p["high"]]
    for r in moves:
        ax.annotate(f"high reward moves to {r['high']} ({goal_name(task, r['high'])}) before round {r['round'] + 1}",
                    (r["start"] - 0.5, -0.5), xytext=(3, 9), textcoords="offset points", fontsize=7, color="#8a6d00",
                    va="bottom")
    boundaries(axes, [r["start"] - 0.5 for r in rounds[1:]], color="#888888", lw=0.5, alpha=0.6, zorder=1)
    boundaries(axes, [r["start"] - 0.5 for r in moves], color=HIGH, lw=1.6, ls="--", zorder=5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_ylabel("rounds:\ngoal chosen", fontsize=9)
    handles = [Line2D([], [], color=HIGH, lw=4, label="high reward (1.0) here"),
               Line2D([], [], marker="o", ls="", color=RIGHT, markeredgecolor="#222222", label="goal reached, right"),
               Line2D([], [], marker="X", ls="", color=WRONG, markeredgecolor="#222222", label="wrong round"),
               Patch(color=RIGHT, alpha=0.25, label="right round"), Patch(color=WRONG, alpha=0.25, label="wrong round"),
               Line2D([], [], color=HIGH, lw=1.6, ls="--", label="high reward moves")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=7, frameon=False)


def season_panel(ax, task: SeasonTask, items: list, axes) -> None:
    """The season task's food items over the steps: per item a marker on its food's row at the
    decision step (up: ate, down: avoided, dot: undecided; green right, red wrong, hollow when not
    scored), each season's poisonous foods shaded, day boundaries faint and season boundaries
    labelled across every panel."""
    F = task.foods
    T = items[-1]["stop"] if items else 1
    marks = {"eat": "^", "avoid": "v", "undecided": "o"}
    for it in items:
        if it["poison"]:
            ax.add_patch(poison_rect(it["start"] - 0.5, it["food"] - 0.5, it["stop"] - it["start"], 1.0))
    for action, m in marks.items():
        for scored in (True, False):
            sel = [it for it in items if it["action"] == action and it["scored"] == scored]
            if not sel:
                continue
            colours = [RIGHT if it["right"] else WRONG for it in sel]
            ax.scatter([it["decision"] for it in sel], [it["food"] for it in sel], marker=m, s=30, zorder=4,
                       c=colours if scored else "none", edgecolors=colours if not scored else "#222222",
                       linewidths=0.5 if scored else 1.0)
    days = [it["start"] - 0.5 for p, it in zip(items, items[1:]) if (it["day"], it["season"]) != (p["day"], p["season"])]
    seasons = [it for p, it in zip([None] + items, items) if p is None or (it["season"], it["year"]) != (p["season"], p["year"])]
    if T <= 400:
        boundaries([ax], days, color="#bbbbbb", lw=0.4, zorder=1)
    boundaries(axes, [it["start"] - 0.5 for it in seasons[1:]], color="#555555", lw=1.0, zorder=5)
    for it in seasons:
        ax.annotate(f"year {it['year'] + 1} season {it['season'] + 1}", (it["start"] - 0.5, -0.5), xytext=(2, 2),
                    textcoords="offset points", fontsize=6.5, va="bottom", color="#333333")
    ax.set_yticks(range(F))
    ax.set_yticklabels([f"food{f}" for f in range(F)], fontsize=7)
    ax.set_ylim(F - 0.5, -0.5)
    ax.set_ylabel("days:\nfood shown", fontsize=9)
    handles = [Patch(color="#b39ddb", alpha=0.6, label="poisonous this season"),
               Line2D([], [], marker="^", ls="", color="#777777", label="ate"),
               Line2D([], [], marker="v", ls="", color="#777777", label="avoided"),
               Line2D([], [], marker="o", ls="", color="#777777", label="undecided"),
               Patch(color=RIGHT, label="right"), Patch(color=WRONG, label="wrong"),
               Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="#777777",
                      label="not scored (first day)")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=7, frameon=False)


def poison_rect(x, y, w, h):
    return Rectangle((x, y), w, h, color="#b39ddb", alpha=0.45, lw=0, zorder=1)
