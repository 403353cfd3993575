"""Drawing one deployment of a reward task (tasks know nothing of plotting; see docs/design.md).

- :func:`draw_deployment`: one row of a finished ``record=True`` environment,
  drawn the way its task reads best: the continuous T-maze's paths as a PNG
  (one panel per round), a text table of the rounds for the discrete T-maze,
  a text table of foods, actions and feedback for the season task.
  :data:`DRAWINGS` maps each reward task class to its drawing.
- :func:`render_deployment`: run a network on the task's deployments
  (closed-loop, recording) and draw one of them; :func:`plot_deployment`
  does it for a run or champion file (``entm plot deployment``).
- :func:`timeline`: what a deployment's steps were, as the task scores them:
  the T-maze's rounds (steps, goal chosen, high goal, reward, right) or the
  season task's food items (steps, food, poison, decision, action, right);
  ``entm plot memory`` draws it above the memory of the same deployment.

The deployments drawn are those ``entm evaluate --seed S --lengths L`` scores
(:func:`sample_deployments`): deployment N of a plot is deployment N there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from entm.analysis.common import (
    check_positive,
    new_figure,
    open_source,
    save_figure,
    write_file,
)
from entm.tasks.maze import GOALS, Maze
from entm.tasks.reward import Environment, RewardTask
from entm.tasks.season import AVOID, EAT, SeasonEnv, SeasonTask
from entm.tasks.tmaze import MazeEnv, TMazeTask

from entm.closed_loop import evaluate_deployments
from entm.errors import EntmError
from entm.machine import Machine


def sample_deployments(task: RewardTask, seed: int = 0, length: int | None = None, deployment: int = 0):
    """The deployments drawn from ``seed`` (``length``: the task's length knob, None for its training
    setting): ``max(deployment + 1, task.default_episodes)`` of them from
    ``default_rng([seed, length or 0])``, the batch ``entm evaluate --seed S --lengths L`` scores."""
    if not isinstance(task, RewardTask):
        raise EntmError(f"task {task.name!r} is a {task.kind_name} task: it has no deployments (reward tasks "
                        f"only: {', '.join(sorted(cls.name for cls in DRAWINGS))}); see entm plot memory")
    if isinstance(deployment, bool) or not isinstance(deployment, (int, np.integer)) or deployment < 0:
        raise EntmError(f"deployment must be a non-negative integer, got {deployment!r}")
    if length is not None:
        length = check_positive("length", length)
    n = max(int(deployment) + 1, task.default_episodes)
    return task.sample(np.random.default_rng([int(seed), 0 if length is None else int(length)]), n,
                       length=length)


def render_deployment(machine: Machine, network, path, seed: int = 0, length: int | None = None,
                      deployment: int = 0) -> Path:
    """Draw one deployment of a network (:func:`draw_deployment`); the deployments are the task's,
    drawn from ``seed`` (:func:`sample_deployments`)."""
    task = machine.task
    deployments = sample_deployments(task, seed, length, deployment)
    _, env = evaluate_deployments(machine, network, deployments, record=True)
    return draw_deployment(task, env, deployment, path)


def deployment_formats(task: RewardTask) -> tuple:
    """The file formats :func:`draw_deployment` writes for ``task``: ("png", "svg", "pdf") for a
    picture (continuous T-maze), ("txt",) for a table (discrete T-maze, season)."""
    return ("png", "svg", "pdf") if isinstance(task, TMazeTask) and task.variant == "continuous" else ("txt",)


def deployment_path(task: RewardTask, path) -> Path:
    """``path`` checked against what the task's drawing is: no suffix gets the default (``.png`` for a
    picture, ``.txt`` for a table); a suffix of another format is a one-line EntmError."""
    p = Path(path)
    formats = deployment_formats(task)
    if not p.suffix:
        return p.with_name(f"{p.name}.{formats[0]}")
    if p.suffix.lstrip(".").lower() not in formats:
        what = "a picture" if formats[0] == "png" else "a text table"
        name = f"{task.variant} {task.name}" if isinstance(task, TMazeTask) else task.name
        raise EntmError(f"{p}: a {name} deployment is drawn as {what}; give a "
                        f"{' or '.join('.' + f for f in formats)} file")
    return p


def plot_deployment(champion_or_path, out_path=None, deployment: int = 0, seed: int = 0,
                    length: int | None = None) -> Path:
    """Draw deployment ``deployment`` of a reward-task champion (a Champion, champion.json or run
    directory) to ``out_path`` (default: the run's ``plots/deployment.png`` or ``.txt``)."""
    src = open_source(champion_or_path)
    champ = src.champion("plot deployment")
    task = champ.task
    deployments = sample_deployments(task, seed, length, deployment)
    out = deployment_path(task, out_path if out_path is not None else src.default_output("deployment", ""))
    _, env = evaluate_deployments(champ.machine, champ.network, deployments, record=True)
    return draw_deployment(task, env, deployment, out)


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
                      f"high reward at goal {int(env.schedule[row, 0])}, {moves_text(env.schedule[row])}; "
                      f"{int(env.right[row])} of {env.rounds} rounds right")


def moves_text(schedule) -> str:
    """"moves to 2 before round 9" (and ", to 0 before round 15" for each later move) from a row of
    :meth:`MazeDeployments.schedule`."""
    moves = [(r, int(g)) for r, g in enumerate(schedule) if r and g != schedule[r - 1]]
    return ", ".join(f"{'moves ' if i == 0 else ''}to {g} before round {r + 1}" for i, (r, g) in enumerate(moves)) \
        or "never moves"


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
    return save_figure(fig, path)


def goal_name(task: TMazeTask, goal: int) -> str:
    """The turns that lead to a goal, first turn first: ``L``/``R`` (single maze), ``LL`` .. ``RR``."""
    D = task.depth
    return "".join("LR"[(int(goal) >> (D - 1 - i)) & 1] for i in range(D))


def tmaze_timeline(task: TMazeTask, env: MazeEnv, row: int) -> list[dict]:
    """The rounds of row ``row`` of a finished ``record=True`` T-maze environment, each
    :meth:`MazeEnv.round_log`'s entry (round, high, goal (-1: crash or time-out), reward, right)
    with its steps: ``start`` (its first step), ``end`` (the step whose move ended it) and
    ``stop`` (one past its reward step, where the next round starts)."""
    if env.log is None:
        raise EntmError("a deployment's timeline needs an environment built with record=True")
    rounds = env.round_log(row)
    if task.variant == "discrete":  # one step per junction, then the reward step
        ends = [r * (task.depth + 1) + task.depth - 1 for r in range(len(rounds))]
    else:  # one "pos" entry per step (after the first, the start), then that step's "end" entry
        ends, n_pos = [], 0
        for entry in env.log:
            if entry[0] == "pos":
                n_pos += 1
            elif np.any(entry[1] == row):
                ends.append(n_pos - 2)
    start = 0
    for r, end in zip(rounds, ends):
        r.update(start=start, end=end, stop=end + 2)
        start = end + 2
    return rounds


def season_timeline(task: SeasonTask, env: SeasonEnv, row: int) -> list[dict]:
    """The food items of row ``row`` of a finished ``record=True`` season environment: steps
    (``start``, ``decision``, ``stop``), year, season, day, food, poison, the output at the decision
    step, the action (``eat``, ``avoid``, ``undecided``), feedback, scored, right."""
    if env.decisions is None:
        raise EntmError("a deployment's timeline needs an environment built with record=True")
    d, S = env.deps, task.steps_per_food
    b = row % d.n
    items = []
    for i in range(int(d.items[b])):
        y = float(env.decisions[row, i])
        ate, avoided = y > EAT, y < AVOID
        poison = bool(d.poison[b, i])
        items.append({"item": i, "start": i * S, "decision": i * S + task.decision_step, "stop": (i + 1) * S,
                      "year": int(d.year[b, i]), "season": int(d.season[b, i]), "day": int(d.day[b, i]),
                      "food": int(d.food[b, i]), "poison": poison, "output": y,
                      "action": "eat" if ate else "avoid" if avoided else "undecided",
                      "feedback": ("punishment" if poison else "reward") if ate else "-",
                      "scored": bool(d.scored[b, i]), "right": bool((ate and not poison) or (avoided and poison))})
    return items


def timeline(task: RewardTask, env: Environment, row: int) -> list[dict]:
    """Row ``row``'s rounds (T-maze) or food items (season), with their steps; see
    :func:`tmaze_timeline` and :func:`season_timeline`."""
    if isinstance(task, TMazeTask):
        return tmaze_timeline(task, env, row)
    if isinstance(task, SeasonTask):
        return season_timeline(task, env, row)
    raise EntmError(f"task {task.name!r} has no deployment timeline")


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
    for it in season_timeline(task, env, row):
        lines.append(f"{it['year'] + 1:>4} {it['season'] + 1:>6} {it['day'] + 1:>3} {it['food']:>4} "
                     f"{'yes' if it['poison'] else 'no':>6} {it['output']:6.3f} {it['action']:>9} "
                     f"{it['feedback']:>10} {'yes' if it['scored'] else 'no':>6} {'yes' if it['right'] else 'no':>5}")
    sc = task.score(env)
    lines.append(f"score {sc.score[row]:.4f}: {int(env.right_count[row])} of {int(env.scored_count[row])} "
                 "scored decisions right")
    return write_file(path, "\n".join(lines) + "\n")


#: reward task class -> its drawing ``(task, env, row, path) -> path``
DRAWINGS = {
    TMazeTask: draw_tmaze,
    SeasonTask: season_table,
}
