"""Drawing one deployment of a reward task (tasks know nothing of plotting; see docs/design.md).

- :func:`draw_deployment`: one row of a finished ``record=True`` environment,
  drawn the way its task reads best: the continuous T-maze's paths as a PNG
  (one panel per round), a text table of the rounds for the discrete T-maze,
  a text table of foods, actions and feedback for the season task.
  :data:`DRAWINGS` maps each reward task class to its drawing.
- :func:`render_deployment`: run a network on the task's deployments
  (closed-loop, recording) and draw one of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from entm.analysis.common import new_figure, save_figure, write_file
from entm.tasks.maze import GOALS, Maze
from entm.tasks.reward import Environment, RewardTask
from entm.tasks.season import AVOID, EAT, SeasonEnv, SeasonTask
from entm.tasks.tmaze import MazeEnv, TMazeTask

from entm.closed_loop import evaluate_deployments
from entm.errors import EntmError
from entm.machine import Machine


def render_deployment(machine: Machine, network, path, seed: int = 0, length: int | None = None,
                      deployment: int = 0) -> Path:
    """Draw one deployment of a network (:func:`draw_deployment`); the deployments are the task's,
    drawn from ``seed`` (``length``: the task's length knob, None for its training setting)."""
    task = machine.task
    n = max(deployment + 1, task.default_episodes)
    deployments = task.sample(np.random.default_rng([int(seed), 0 if length is None else int(length)]), n,
                              length=length)
    _, env = evaluate_deployments(machine, network, deployments, record=True)
    return draw_deployment(task, env, deployment, path)


def draw_deployment(task: RewardTask, env: Environment, row: int, path) -> Path:
    """Draw row ``row`` of ``env`` (a finished environment of ``task`` built with ``record=True``)
    to ``path``; returns the path."""
    draw = DRAWINGS.get(type(task))
    if draw is None:
        raise EntmError(f"task {task.name!r} has no deployment drawing (drawn: "
                        f"{', '.join(sorted(cls.name for cls in DRAWINGS))})")
    return draw(task, env, row, Path(path))


# -- T-maze ----------------------------------------------------------------------

def draw_tmaze(task: TMazeTask, env: MazeEnv, row: int, path: Path) -> Path:
    """Continuous: a PNG, one panel per round with the agent's path on the maze.  Discrete: a text
    table of the rounds."""
    if env.log is None:
        raise EntmError("drawing a deployment needs an environment built with record=True")
    rounds = env.round_log(row)
    if task.variant == "discrete":
        return write_file(path, rounds_table(rounds))
    return draw_paths(env.maze, rounds, path, title=f"{task.maze} T-maze, deployment row {row}: "
                      f"high reward at goal {int(env.first[row])}, moves to {int(env.second[row])} "
                      f"before round {int(env.switch[row]) + 1}; score {int(env.right[row])}/{env.rounds}")


def rounds_table(rounds: list[dict]) -> str:
    """One line per round (:meth:`MazeEnv.round_log`): high goal, goal reached, reward, right."""
    lines = [f"{'round':>5} {'high':>4} {'goal':>4} {'reward':>6} {'right':>5}"]
    for r in rounds:
        goal = "-" if r["goal"] < 0 else str(r["goal"])
        lines.append(f"{r['round'] + 1:>5} {r['high']:>4} {goal:>4} {r['reward']:>6.1f} "
                     f"{'yes' if r['right'] else 'no':>5}")
    return "\n".join(lines) + "\n"


def draw_paths(mz: Maze, rounds: list[dict], path: Path, title: str) -> Path:
    """The rounds' paths on the maze as a PNG, up to five panels a row (goals numbered, the high one gold)."""
    from matplotlib.patches import (
        Rectangle,  # matplotlib only when drawing (as everywhere in entm.analysis)
    )

    n = len(rounds)
    cols = min(5, n)
    nrows = (n + cols - 1) // cols
    fig = new_figure(2.2 * cols, 2.0 * nrows * mz.height / mz.width + 0.6)
    axes = fig.subplots(nrows, cols, squeeze=False)
    img = np.where(mz.wall, 0.25, 1.0)
    for ax, r in zip(axes.flat, rounds):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, extent=(0, mz.width, mz.height, 0))
        for i, (gx, gy) in enumerate(GOALS[mz.kind]):
            colour = "gold" if i == r["high"] else "lightsteelblue"
            ax.add_patch(Rectangle((gx, gy), 1, 1, color=colour, alpha=0.8))
            ax.text(gx + 0.5, gy + 0.5, str(i), ha="center", va="center", fontsize=7)
        xs, ys = r["x"], r["y"]
        ax.plot(xs, ys, color="tab:red" if not r["right"] else "tab:green", lw=1.5)
        ax.plot(xs[:1], ys[:1], "o", color="black", ms=3)
        end = "crash" if r["goal"] < 0 else f"goal {r['goal']}"
        ax.set_title(f"{r['round'] + 1}: {end}, {'right' if r['right'] else 'wrong'}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, fmt="png")


# -- season task -------------------------------------------------------------------

def season_table(task: SeasonTask, env: SeasonEnv, row: int, path: Path) -> Path:
    """A text table of one deployment: foods, outputs, actions, feedback, and the score."""
    if env.decisions is None:
        raise EntmError("drawing a deployment needs an environment built with record=True")
    d = env.deps
    b = row % d.n
    lines = [f"season task, deployment {b} (row {row}): poisonous per season: "
             + "; ".join(f"season {s + 1}: {', '.join(map(str, np.nonzero(d.poisonous[b, s])[0])) or 'none'}"
                         for s in range(task.seasons)),
             f"{'year':>4} {'season':>6} {'day':>3} {'food':>4} {'poison':>6} {'output':>6} {'action':>9} "
             f"{'feedback':>10} {'scored':>6} {'right':>5}"]
    for i in range(int(d.items[b])):
        y = env.decisions[row, i]
        ate, avoided = y > EAT, y < AVOID
        action = "eat" if ate else "avoid" if avoided else "undecided"
        poison = bool(d.poison[b, i])
        feedback = ("punishment" if poison else "reward") if ate else "-"
        right = (ate and not poison) or (avoided and poison)
        lines.append(f"{d.year[b, i] + 1:>4} {d.season[b, i] + 1:>6} {d.day[b, i] + 1:>3} {d.food[b, i]:>4} "
                     f"{'yes' if poison else 'no':>6} {y:6.3f} {action:>9} {feedback:>10} "
                     f"{'yes' if d.scored[b, i] else 'no':>6} {'yes' if right else 'no':>5}")
    sc = task.score(env)
    lines.append(f"score {sc.score[row]:.4f}: {int(env.right_count[row])} of {int(env.scored_count[row])} "
                 "scored decisions right")
    return write_file(path, "\n".join(lines) + "\n")


#: reward task class -> its drawing ``(task, env, row, path) -> path``
DRAWINGS = {
    TMazeTask: draw_tmaze,
    SeasonTask: season_table,
}
