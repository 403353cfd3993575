"""Draw one episode of a champion: what went in, what came out, and the memory.

Every panel has the episode's time steps on the x axis, one column per step
of the episode (padding cropped), in this order:

- inputs, targets (unscored steps blank) and outputs (wrong bits crossed);
  a reward task (closed loop, no targets) has its deployment's timeline in
  place of the targets: the T-maze's rounds (the goal chosen, right or
  wrong, the high-reward goal and where it moved, round boundaries across
  every panel), the season task's food items (the food, the action, right or
  wrong, the season's poisonous foods shaded, season boundaries); its wrong
  rounds or decisions are crossed on the outputs;
- discrete tape: the tape after each step, cells aligned by their position
  relative to the first cell (cells that do not exist yet are blank), each
  cell's M channels stacked inside it; the head's focus after the step as a
  line, writes (w >= 0.5) as squares on the written cell, content jumps as
  stars; then the head's w and j over time;
- differentiable memory: each head's weighting over the cells after the
  step, then the memory's contents (channels stacked per cell), both over
  the smallest circular range of cells that the weightings ever touched.

A trained NTM (a training run directory) is drawn the same way, with one
weighting panel per read head and per write head; the plain LSTM baseline
has no memory to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from entm.analysis.common import (
    check_positive,
    error_unit,
    figure_paths,
    new_figure,
    open_source,
    output_labels,
    plural,
    save_figure,
    score_meaning,
    verdict,
)
from entm.analysis.deployment import sample_deployments, timeline
from entm.analysis.timeline_panels import rounds_panel, season_panel
from entm.tasks import RewardTask, SequenceTask
from entm.tasks.season import SeasonTask
from entm.tasks.tmaze import TMazeTask

from entm.baseline.evaluate import run_model
from entm.budget import check_recording
from entm.closed_loop import evaluate_deployments
from entm.errors import EntmError

CMAP = "viridis"
HEAD_COLOURS = ("#ff4f4f", "#ff9f1c", "#f72585", "#4cc9f0")


@dataclass
class MemoryDrawing:
    """What :func:`plot_memory` drew."""

    path: Path
    steps: int
    """Columns drawn: the episode's steps (2L + 3 for copy of length L)."""
    length: int
    mode: str
    """``discrete`` (tape) or ``differentiable`` (weighting)."""
    cells: int
    """Memory rows drawn (tape cells or soft memory cells)."""
    score: float
    perfect: bool
    errors: int = 0
    """Wrong bits (sequence tasks), wrong rounds (T-maze) or wrong scored decisions (season)."""
    title: str = ""
    """The figure's title."""
    timeline: list | None = None
    """Reward tasks: the deployment's rounds or food items (:func:`entm.analysis.deployment.timeline`)."""
    paths: list = None
    """Every file written (``path`` first)."""


@dataclass
class EpisodeTrace:
    """One recorded episode, cropped to its real steps."""

    inputs: np.ndarray  # (T, task inputs)
    targets: np.ndarray  # (T, task outputs), NaN where not scored
    outputs: np.ndarray  # (T, task outputs)
    wrong: np.ndarray  # (T, task outputs) bool
    steps: list  # the memory's per-step trace, row 0 only
    head_outputs: np.ndarray  # (T, H*P)
    length: int
    score: float
    perfect: bool
    errors: int = 0
    """What the task's scores count as wrong (bits, rounds, decisions)."""
    timeline: list | None = None
    """Reward tasks: the deployment's rounds or items, with their steps."""
    deployment: int = 0
    """Reward tasks: which deployment of the batch (:func:`entm.analysis.deployment.sample_deployments`)."""


@dataclass
class TrainedSpec:
    """The memory of a trained NTM, described as :class:`entm.memory.MemorySpec` describes an evolved one."""

    width: int
    heads: int
    """Read heads plus write heads."""
    head_names: list
    """A label per head: ``read 0`` ..., then ``write 0`` ..."""
    mode: str = "differentiable"


def trained_spec(trained) -> TrainedSpec:
    """The memory layout of a trained model (EntmError for the plain LSTM, which has none)."""
    a = trained.architecture
    if a.model != "ntm":
        raise EntmError(f"plot memory: {trained.path.parent} is a trained {a.model}; it has no external memory")
    names = [f"read {i}" for i in range(a.read_heads)] + [f"write {i}" for i in range(a.write_heads)]
    return TrainedSpec(width=a.width, heads=a.read_heads + a.write_heads, head_names=names)


def _sample_one(task, length, seed):
    if not isinstance(task, SequenceTask):
        raise EntmError(f"plot memory: task {task.name!r} has no episodes to replay (sequence tasks only)")
    if length is None:
        length = int(task.example_length)
    length = check_positive("length", length)
    return task.sample(np.random.default_rng(int(seed)), 1, length=length), length


def _trace(eps, outputs, sc, steps, head_outputs, length) -> EpisodeTrace:
    T = int(eps.steps[0])
    targets = np.where(eps.mask[0, :T, None], eps.targets[0, :T], np.nan)
    outputs = outputs[0, :T]
    wrong = eps.mask[0, :T, None] & (((outputs > 0.5) != (eps.targets[0, :T] > 0.5)) | ~np.isfinite(outputs))
    return EpisodeTrace(inputs=eps.inputs[0, :T], targets=targets, outputs=outputs, wrong=wrong, steps=steps[:T],
                        head_outputs=head_outputs[:T], length=length, score=float(sc.score[0]),
                        perfect=bool(sc.perfect[0]), errors=int(sc.bit_errors[0]))


def record_trained_episode(trained, length: int | None = None, seed: int = 0) -> EpisodeTrace:
    """:func:`record_episode` for a trained NTM: each step's weightings (read heads, then write
    heads) and the memory after the step's writes."""
    trained_spec(trained)
    task = trained.task
    eps, length = _sample_one(task, length, seed)
    outputs, tr = run_model(trained.model, eps.inputs, record=True)
    sc = task.score(eps, outputs)
    weights = np.concatenate([tr["read_weights"][0], tr["write_weights"][0]], axis=1)  # (T, R+W, N)
    steps = [{"weights": weights[t], "memory": tr["memory"][0, t]} for t in range(weights.shape[0])]
    return _trace(eps, outputs, sc, steps, np.zeros((weights.shape[0], 0)), length)


def record_episode(champ, length: int | None = None, seed: int = 0, deployment: int = 0) -> EpisodeTrace:
    """Run the champion on one episode (``task.sample(default_rng(seed), 1, length=L)``) recording
    the memory; ``length`` None: the task's longest training length.  Reward tasks: deployment
    ``deployment`` of :func:`entm.analysis.deployment.sample_deployments` (the batch ``entm evaluate``
    scores; ``length`` None: the training setting), run closed-loop; nothing there has a target,
    the trace has the deployment's timeline instead."""
    task = champ.task
    if isinstance(task, RewardTask):
        return _record_deployment(champ, length, seed, deployment)
    check_recording(champ.machine, int(task.example_length) if length is None else length)
    eps, length = _sample_one(task, length, seed)
    run = champ.machine.run(champ.network, eps.inputs, record=True)
    sc = task.score(eps, run.outputs)
    T = int(eps.steps[0])
    return _trace(eps, run.outputs, sc, [_row0(s) for s in run.trace.steps[:T]], run.head_outputs[0], length)


def _record_deployment(champ, length, seed, deployment) -> EpisodeTrace:
    task = champ.task
    deps = sample_deployments(task, seed, length, deployment)
    sc, env, run = evaluate_deployments(champ.machine, champ.network, deps, record=True, run_record=True)
    row = int(deployment)
    events = timeline(task, env, row)
    T = events[-1]["stop"] if events else 0  # the row's own steps (other rows may run longer)
    outputs = run.outputs[row, :T]
    wrong = np.zeros(outputs.shape, dtype=bool)
    for e in events:  # the step whose output decided, of each wrong round or scored decision
        if not e["right"] and e.get("scored", True):
            wrong[e["decision"] if "decision" in e else e["end"], :] = True
    length = length if length is not None else (task.rounds if isinstance(task, TMazeTask) else task.years)
    return EpisodeTrace(inputs=run.inputs[row, :T], targets=np.full(outputs.shape, np.nan), outputs=outputs,
                        wrong=wrong, steps=[_row(s, row) for s in run.memory_trace[:T]],
                        head_outputs=run.head_outputs[row, :T], length=int(length),
                        score=float(sc.score[row]), perfect=bool(sc.perfect[row]), errors=int(sc.bit_errors[row]),
                        timeline=events, deployment=row)


def _row0(step: dict) -> dict:
    return _row(step, 0)


def _row(step: dict, i: int) -> dict:
    """Row ``i`` of one step of a memory trace (every array and list indexed by the row)."""
    out = {}
    for k, v in step.items():
        if isinstance(v, np.ndarray):
            out[k] = v[i]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out[k] = [{kk: (vv[i] if isinstance(vv, np.ndarray) else vv) for kk, vv in d.items()} for d in v]
        elif isinstance(v, list):
            out[k] = v[i]
        else:
            out[k] = v
    return out


def tape_image(steps: list, width: int):
    """(image (cells*M, T) with NaN where no cell exists, first position, number of cells)
    of a discrete trace: column t is the tape after step t, row (p - first)*M + k is channel
    k of the cell at position p."""
    firsts = [int(s["first"]) for s in steps]
    lasts = [int(s["first"]) + len(s["tapes"]) - 1 for s in steps]
    lo, hi = min(firsts), max(lasts)
    n = hi - lo + 1
    img = np.full((n * width, len(steps)), np.nan)
    for t, s in enumerate(steps):
        tape = np.asarray(s["tapes"], dtype=np.float64)
        r0 = (int(s["first"]) - lo) * width
        img[r0:r0 + tape.size, t] = tape.reshape(-1)
    return img, lo, n


def plot_memory(champion_or_path, out_path, length: int | None = None, seed: int = 0,
                deployment: int = 0) -> MemoryDrawing:
    """Draw one episode's trace of a champion (a Champion, champion.json or run directory) or of a
    trained NTM (its run directory) into ``out_path`` (its suffix is the format: .png, .svg or .pdf;
    none: ``out_path.png``); reward tasks: deployment ``deployment``."""
    paths = figure_paths(out_path)
    src = open_source(champion_or_path)
    fig, info = memory_figure(src.model("plot memory"), length=length, seed=seed, title=src.name,
                              deployment=deployment)
    info.paths = [save_figure(fig, p) for p in paths]
    info.path = info.paths[0]
    return info


def memory_title(task, spec, ep: EpisodeTrace, seed: int, title: str | None = None) -> str:
    """What the memory figure's title says: the episode (its length in the task's words, or the
    deployment), the score and what it measures, perfect or how many wrong bits/rounds/decisions."""
    head = f"{title}: " if title else ""
    if isinstance(task, RewardTask):
        name = f"{task.name} ({task.variant}, {task.maze} maze)" if isinstance(task, TMazeTask) else task.name
        what = f"{name}, deployment {ep.deployment} ({plural(ep.length, task.length_name[:-1])}, seed {seed})"
    else:
        size = f"length {ep.length}" if task.length_name == "length" else f"{ep.length} {task.length_name}"
        what = f"{task.name}, {size} (seed {seed})"
    if isinstance(task, TMazeTask):
        right = sum(e["right"] for e in ep.timeline)
        numbers = f"{right} of {len(ep.timeline)} rounds right (task score {ep.score:.3f})"
    elif isinstance(task, SeasonTask):
        scored = [e for e in ep.timeline if e["scored"]]
        numbers = (f"{sum(e['right'] for e in scored)} of {len(scored)} scored decisions right "
                   f"(task score {ep.score:.3f})")
    else:
        numbers = f"task score {ep.score:.3f} ({score_meaning(task)})"
    return f"{head}{what}, {spec.mode} memory\n{numbers}, {verdict(task, ep.perfect, ep.errors)}"


def memory_figure(champ, length: int | None = None, seed: int = 0, title: str | None = None, deployment: int = 0):
    """(matplotlib Figure, MemoryDrawing without path) of one recorded episode of an evolved
    champion or a trained NTM (:class:`entm.baseline.evaluate.Trained`); reward tasks: deployment
    ``deployment`` of the batch ``entm evaluate`` scores (:func:`record_episode`)."""
    if hasattr(champ, "architecture"):  # a trained model
        spec = trained_spec(champ)
        ep = record_trained_episode(champ, length, seed)
    else:
        spec = champ.spec
        ep = record_episode(champ, length, seed, deployment)
    task = champ.task
    reward = ep.timeline is not None
    head_names = getattr(spec, "head_names", None)
    T = ep.inputs.shape[0]
    M, H = spec.width, spec.heads
    if spec.mode == "discrete":
        mem_img, first, n_cells = tape_image(ep.steps, M)
        mem_rows = [("tape", n_cells)]
    else:
        weights = np.stack([s["weights"] for s in ep.steps], axis=2)  # (H, N, T)
        memory = np.stack([s["memory"] for s in ep.steps], axis=2)  # (N, M, T)
        cells = _touched_cells(weights)
        n_cells = len(cells)
        mem_rows = [(f"weighting{h}", n_cells) for h in range(H)] + [("memory", n_cells)]

    # panel heights in inches: ~0.22 per input/output row, ~0.3 per memory cell
    n_in, n_out = ep.inputs.shape[1], ep.outputs.shape[1]
    task_rows = (task.goals + (task.variant == "continuous") if isinstance(task, TMazeTask)
                 else task.foods if reward else n_out)
    heights = [0.22 * n_in + 0.35, max(0.22 * task_rows + 0.35, 1.0 if reward else 0.0), 0.22 * n_out + 0.35]
    for _, n in mem_rows:
        heights.append(min(9.0, max(1.4, 0.3 * n + 0.4)))
    if spec.mode == "discrete":
        heights.append(1.3)
    width = float(np.clip(0.28 * T + 3.0, 7.0, 26.0))
    fig = new_figure(width, sum(heights) + 1.4)
    gs = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[1.0, 0.018], hspace=0.45,
                          wspace=0.02, left=0.09, right=0.93, top=1 - 0.9 / (sum(heights) + 1.4),
                          bottom=0.45 / (sum(heights) + 1.4))
    axes = [fig.add_subplot(gs[i, 0]) for i in range(len(heights))]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    cbar_ax = fig.add_subplot(gs[0, 1] if reward else gs[:3, 1])  # reward tasks: the timeline's legend beside it
    extent_x = (-0.5, T - 0.5)

    def channels(ax, data, names, name):
        im = ax.imshow(data.T, aspect="auto", cmap=_cmap(), vmin=0.0, vmax=1.0, interpolation="nearest",
                       extent=(*extent_x, len(names) - 0.5, -0.5))
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        ax.set_ylabel(name, fontsize=9)
        return im

    in_names = list(task.input_names)
    out_names = output_labels(task, spec)[:n_out]
    im = channels(axes[0], ep.inputs, in_names, "inputs")
    if isinstance(task, TMazeTask):
        rounds_panel(axes[1], task, ep.timeline, axes)
    elif reward:
        season_panel(axes[1], task, ep.timeline, axes)
    else:
        channels(axes[1], ep.targets, out_names, "targets")
    channels(axes[2], ep.outputs, out_names, "outputs")
    wt, wc = np.nonzero(ep.wrong)
    if len(wt):
        unit = error_unit(task).split()[-1]
        axes[2].scatter(wt, wc, marker="x", c="#ff2020", s=28, linewidths=1.5,
                        label=f"wrong {unit}" if not reward else f"wrong {unit} (its deciding step)", zorder=3)
        axes[2].legend(loc="upper left", bbox_to_anchor=(1.0, -0.05), fontsize=7, frameon=False,
                       handletextpad=0.2)
    fig.colorbar(im, cax=cbar_ax).ax.tick_params(labelsize=7)
    columns = [im.get_array().shape[1]]

    if spec.mode == "discrete":
        columns.append(_tape_panel(fig, axes[3], gs[3, 1], ep, mem_img, first, n_cells, M, H))
        _head_panel(axes[4], ep, M, H)
    else:
        for h in range(H):
            columns.append(_weighting_panel(fig, axes[3 + h], gs[3 + h, 1], weights[h][cells], cells, h, H,
                                            head_names[h] if head_names else None))
        columns.append(_soft_memory_panel(fig, axes[3 + H], gs[3 + H, 1], memory[cells], cells, M))
    assert len(set(columns)) == 1, columns  # every panel has one column per step
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time step")
    axes[-1].set_xlim(*extent_x)
    axes[-1].xaxis.set_major_locator(_step_locator(T))

    text = memory_title(task, spec, ep, seed, title)
    fig.suptitle(text, fontsize=10)
    info = MemoryDrawing(path=None, steps=columns[0], length=ep.length, mode=spec.mode, cells=n_cells,
                         score=ep.score, perfect=ep.perfect, errors=ep.errors, title=text, timeline=ep.timeline)
    return fig, info


def _cmap():
    from matplotlib import colormaps

    return colormaps[CMAP].with_extremes(bad="#f2f2f2")


def _step_locator(T: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=min(T, 25), integer=True)


def _tape_panel(fig, ax, cax_spec, ep, img, first, n_cells, M, H) -> int:
    T = img.shape[1]
    vmax = max(1.0, float(np.nanmax(img)) if np.isfinite(img).any() else 1.0)
    vmin = min(0.0, float(np.nanmin(img)) if np.isfinite(img).any() else 0.0)
    # rows: cell position p spans [p - 0.5, p + 0.5]; its M channels stacked inside, channel 0 on top
    im = ax.imshow(img, aspect="auto", cmap=_cmap(), vmin=vmin, vmax=vmax, interpolation="nearest",
                   extent=(-0.5, T - 0.5, first + n_cells - 0.5, first - 0.5))
    if n_cells <= 60:  # cell borders, where they can be seen
        for p in range(first, first + n_cells - 1):
            ax.axhline(p + 0.5, color="white", lw=0.6, alpha=0.8)
    t = np.arange(T)
    shrink = min(1.0, 40.0 / max(T, n_cells))  # long episodes: smaller markers
    for h in range(H):
        c = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        pos = np.array([s["heads"][h]["pos"] for s in ep.steps])
        wpos = np.array([s["heads"][h]["write_pos"] for s in ep.steps])
        w = np.array([s["heads"][h]["w"] for s in ep.steps])
        jump = np.array([bool(s["heads"][h]["jump"]) for s in ep.steps])
        tag = f"head {h} " if H > 1 else ""
        ax.step(t, pos, where="mid", color=c, lw=1.4 if shrink == 1.0 else 0.9, label=f"{tag}focus after step")
        wr = w >= 0.5
        ax.scatter(t[wr], wpos[wr], marker="s", s=max(4.0, 60 * shrink), facecolors="none", edgecolors=c,
                   linewidths=1.4, label=f"{tag}write (w ≥ 0.5)", zorder=3)
        if jump.any():
            ax.scatter(t[jump], pos[jump], marker="*", s=max(40.0, 120 * shrink), c="white", edgecolors=c,
                       linewidths=1.0, label=f"{tag}content jump", zorder=4)
    ax.set_ylabel(f"tape cell\n({M} channels each)", fontsize=9)
    ax.yaxis.set_major_locator(_step_locator(n_cells))
    ax.set_ylim(first + n_cells - 0.5, first - 0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=7, frameon=False)
    cax = fig.add_subplot(cax_spec)
    fig.colorbar(im, cax=cax).ax.tick_params(labelsize=7)
    return img.shape[1]


def _head_panel(ax, ep, M, H):
    T = ep.head_outputs.shape[0]
    t = np.arange(T)
    P = M + 5
    marker = "." if T <= 100 else None
    for h in range(H):
        tag = f"h{h} " if H > 1 else ""
        ax.plot(t, ep.head_outputs[:, h * P + M], marker=marker, lw=1.0, label=f"{tag}w (write)")
        ax.plot(t, ep.head_outputs[:, h * P + M + 1], marker=marker, lw=1.0, label=f"{tag}j (jump)")
    ax.axhline(0.5, color="#999999", lw=0.8, ls=":")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("head", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)


def _touched_cells(weights: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cell indices of the smallest circular range holding every cell whose weight ever
    reached ``threshold`` (one cell of margin each side), in circular order."""
    N = weights.shape[1]
    used = np.nonzero((weights >= threshold).any(axis=(0, 2)))[0]
    if len(used) == 0 or len(used) >= N - 2:
        return np.arange(N)
    # the largest circular gap between used cells is what we leave out
    nxt = np.roll(used, -1)
    gaps = (nxt - used) % N
    gaps[gaps == 0] = N
    i = int(np.argmax(gaps))
    start, stop = int(nxt[i]), int(used[i])  # range from start round to stop
    span = (stop - start) % N + 1
    span = min(N, span + 2)
    return (start - 1 + np.arange(span)) % N


def _cell_ticks(ax, cells):
    n = len(cells)
    step = max(1, int(np.ceil(n / 12)))
    if step > 1:  # ticks on round cell numbers (the range may wrap round N - 1 -> 0)
        step = int(next(s for s in (2, 5, 10, 20, 25, 50, 100, 200, 500, 1000) if s >= step))
    idx = [i for i in range(n) if int(cells[i]) % step == 0]
    if n and int(cells[0]) > int(cells[-1]) and 0 not in idx:  # a wrapped range: name its first row too
        idx.insert(0, 0)
    ax.set_yticks(idx)
    ax.set_yticklabels([str(int(cells[i])) for i in idx], fontsize=7)


def _weighting_panel(fig, ax, cax_spec, w, cells, h, H, name: str | None = None) -> int:
    T = w.shape[1]
    im = ax.imshow(w, aspect="auto", cmap=_cmap(), vmin=0.0, vmax=1.0, interpolation="nearest",
                   extent=(-0.5, T - 0.5, len(cells) - 0.5, -0.5))
    _cell_ticks(ax, cells)
    ax.set_ylabel(f"{name or 'weighting'}{f' h{h}' if H > 1 and not name else ''}\n(cell)", fontsize=9)
    cax = fig.add_subplot(cax_spec)
    fig.colorbar(im, cax=cax).ax.tick_params(labelsize=7)
    return T


def _soft_memory_panel(fig, ax, cax_spec, mem, cells, M) -> int:
    n, _, T = mem.shape
    img = mem.reshape(n * M, T)
    vmax = max(1.0, float(np.nanmax(img)))
    im = ax.imshow(img, aspect="auto", cmap=_cmap(), vmin=min(0.0, float(np.nanmin(img))), vmax=vmax,
                   interpolation="nearest", extent=(-0.5, T - 0.5, n - 0.5, -0.5))
    if n <= 60:
        for i in range(n - 1):
            ax.axhline(i + 0.5, color="white", lw=0.4, alpha=0.6)
    _cell_ticks(ax, cells)
    ax.set_ylabel(f"memory (cell,\n{M} channels each)", fontsize=9)
    cax = fig.add_subplot(cax_spec)
    fig.colorbar(im, cax=cax).ax.tick_params(labelsize=7)
    return T
