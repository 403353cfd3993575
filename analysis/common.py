"""What every view needs: open a saved run (or a champion file), name the
network's inputs and outputs by role, and save figures.

A *source* is what a user points a view at: a run directory (evolved or
trained) or a bare ``champion.json``.  :func:`open_source` reads it into a
:class:`RunSource` with a ``kind`` column, ``"evolved"`` or ``"trained"``, so
that trained baselines sit beside evolved runs in every table and plot.
Views that need a model call :meth:`RunSource.champion` (an evolved
champion: network drawing, memory trace, evaluation) or
:meth:`RunSource.trained` (a trained baseline's model, from its ``model.pt``:
memory trace, evaluation); :meth:`RunSource.task` is the task of either.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot,
no global state, no display) and written atomically.
"""

from __future__ import annotations

import errno
import io
from dataclasses import dataclass, field
from pathlib import Path

from entm.tasks.season import SeasonTask
from entm.tasks.tmaze import TMazeTask

from entm import runs
from entm.baseline.evaluate import load_trained
from entm.champion import Champion, load_champion
from entm.errors import EntmError
from entm.memory.layout import head_layout
from entm.runs import atomic_write

#: run.json "kind" -> the kind column of every analysis table
KINDS = {"evolution": "evolved", "training": "trained"}


@dataclass
class RunSource:
    """A run directory or a champion file, opened for analysis."""

    path: Path
    """What the user gave (a run directory or a champion file)."""
    kind: str
    """``"evolved"`` or ``"trained"``."""
    run_dir: Path | None
    """The run directory, when there is one (a champion file inside a run directory has one)."""
    info: dict = field(default_factory=dict)
    """run.json ({} for a bare champion file)."""
    champion_path: Path | None = None
    """champion.json (evolved runs)."""
    _champion: object = None
    _trained: object = None

    @property
    def name(self) -> str:
        """A short name for legends and tables: the run directory's name, else the file's stem."""
        if self.run_dir is not None:
            return self.run_dir.resolve().name
        return self.path.stem

    def metrics(self) -> list[dict]:
        """metrics.jsonl (one dict per generation or training report); [] without a run directory."""
        return runs.read_metrics(self.run_dir) if self.run_dir is not None else []

    def champion(self, what: str = "this view"):
        """The evolved champion (loaded once); EntmError for a trained run, which has none."""
        if self.kind == "trained":
            raise EntmError(f"{what}: {self.path} is a trained {self.info.get('model', '')} run; it has no evolved "
                            f"network (its model is dense layers, see model.pt)")
        if self._champion is None:
            self._champion = load_champion(self.champion_path)
        return self._champion

    def trained(self):
        """A trained run's model and task (:class:`entm.baseline.evaluate.Trained`, loaded once)."""
        if self.kind != "trained":
            raise EntmError(f"{self.path} is not a trained run")
        if self._trained is None:
            self._trained = load_trained(self.run_dir)
        return self._trained

    def model(self, what: str = "this view"):
        """The evolved champion or the trained model, whichever the run has (EntmError if unreadable)."""
        return self.trained() if self.kind == "trained" else self.champion(what)

    def task(self):
        """The run's task (rebuilt from champion.json or model.pt)."""
        return self.model("task").task

    def default_output(self, stem: str, suffix: str) -> Path:
        """Where a view of this source goes by default: ``<run>/plots/<stem><suffix>``, or next
        to a bare champion file as ``<file stem>.<stem><suffix>``."""
        if self.run_dir is not None:
            return self.run_dir / runs.PLOTS_DIR / f"{stem}{suffix}"
        return self.path.parent / f"{self.path.stem}.{stem}{suffix}"


def open_source(path) -> RunSource:
    """Open a run directory or a champion file (EntmError on anything else)."""
    if isinstance(path, RunSource):
        return path
    if isinstance(path, Champion):
        src = RunSource(path=Path(path.path), kind="evolved", run_dir=_enclosing_run(Path(path.path)),
                        champion_path=Path(path.path))
        src._champion = path
        return src
    p = Path(path)
    if p.is_dir():
        if (p / runs.RUN_FILE).is_file():
            info = runs.read_run_json(p)
            kind = _kind(info, p)
            champ = p / runs.CHAMPION_FILE
            if kind == "evolved" and not champ.is_file():
                raise EntmError(f"run directory {p} has no {runs.CHAMPION_FILE} (has the run finished a generation?)")
            return RunSource(path=p, kind=kind, run_dir=p, info=info,
                             champion_path=champ if kind == "evolved" else None)
        if (p / runs.CHAMPION_FILE).is_file():  # a copied folder without run.json
            return RunSource(path=p, kind="evolved", run_dir=p, champion_path=p / runs.CHAMPION_FILE)
        raise EntmError(f"{p} is not a run directory (no {runs.RUN_FILE} or {runs.CHAMPION_FILE} in it)")
    if not p.exists():
        raise EntmError(f"no such run directory or champion file: {p}")
    run_dir = _enclosing_run(p)
    info = runs.read_run_json(run_dir) if run_dir is not None else {}
    return RunSource(path=p, kind="evolved", run_dir=run_dir, info=info, champion_path=p)


def _kind(info: dict, where: Path) -> str:
    kind = info.get("kind")
    if kind not in KINDS:
        raise EntmError(f"{where}/{runs.RUN_FILE}: unknown run kind {kind!r} "
                        f"(expected one of {', '.join(sorted(KINDS))})")
    return KINDS[kind]


def _enclosing_run(champion_file: Path) -> Path | None:
    """The run directory a champion file is the champion of (``<run>/champion.json`` with an
    evolution run.json beside it), else None."""
    parent = champion_file.parent
    if champion_file.name != runs.CHAMPION_FILE or not (parent / runs.RUN_FILE).is_file():
        return None
    try:
        info = runs.read_run_json(parent)
    except EntmError:
        return None
    return parent if info.get("kind") == "evolution" else None


# ---------------------------------------------------------------------------
# Names of the network's inputs and outputs (docs/design.md, "Network input/output layout")


def _per_head(names: list[str], heads: int) -> list[str]:
    if heads == 1:
        return list(names)
    return [f"h{h}:{n}" for h in range(heads) for n in names]


def input_labels(task, spec) -> list[str]:
    """Labels of the network inputs: task inputs by name, then r0.. per head."""
    names = list(task.input_names)
    return names + _per_head([f"r{i}" for i in range(spec.width)], spec.heads)


def output_labels(task, spec) -> list[str]:
    """Labels of the network outputs: task outputs by name, then each head's parameters."""
    names = list(task.output_names)
    return names + _per_head(head_layout(spec.mode, spec.width).labels(), spec.heads)


# ---------------------------------------------------------------------------
# Figures


def new_figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, nothing global)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def figure_bytes(fig, fmt: str = "png") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110 if fmt == "png" else None, bbox_inches="tight",
                metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


#: errors of the environment rather than of the path given (a full disk, a read-only file system, an I/O error)
ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO)


def write_file(path, data: str | bytes) -> Path:
    """Write ``data`` atomically (``entm.runs.atomic_write``: temporary file, fsync, rename,
    permissions as the umask allows); EntmError if it cannot be written."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, data)
    except OSError as e:
        if e.errno in ENVIRONMENT_ERRNOS:  # the machine failed, not the path given: exit status 74 (entm.cli)
            raise
        raise EntmError(f"cannot write {p}: {e.strerror or e}") from None
    return p


#: the figure formats a plot can be written in (the output file's suffix)
FIGURE_FORMATS = ("png", "svg", "pdf")


def save_figure(fig, path, fmt: str | None = None) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix unless given); returns the path."""
    p = Path(path)
    fmt = fmt or (p.suffix.lstrip(".").lower() or "png")
    if fmt not in FIGURE_FORMATS:
        raise EntmError(f"{p}: unsupported figure format {fmt!r} (use .png, .svg or .pdf)")
    return write_file(p, figure_bytes(fig, fmt))


def figure_paths(path, default: tuple = ("png",)) -> list[Path]:
    """The files a figure asked for as ``path`` is written to: ``path`` itself when its suffix is a
    figure format (``.png``, ``.svg``, ``.pdf``: that format only); without a suffix, one file per
    format of ``default`` (``x`` -> ``x.png``, ``x.svg``); a one-line EntmError for any other suffix
    (checked before anything is computed or written)."""
    p = Path(path)
    if not p.suffix:
        return [p.with_name(f"{p.name}.{f}") for f in default]
    if p.suffix.lstrip(".").lower() not in FIGURE_FORMATS:
        raise EntmError(f"{p}: unknown figure format {p.suffix!r}; give a .png, .svg or .pdf file, or no "
                        f"suffix for {' and '.join('.' + f for f in default)}")
    return [p]


def save_figures(fig, path, default: tuple = ("png",)) -> list[Path]:
    """Write ``fig`` to every file of :func:`figure_paths`; returns the paths."""
    return [save_figure(fig, p) for p in figure_paths(path, default)]


# ---------------------------------------------------------------------------
# What the numbers in titles are


def plural(n, word: str) -> str:
    """``1 wrong bit``, ``2 wrong bits``, ``0 wrong bits`` (``word`` singular; n a count)."""
    n = int(round(float(n)))
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def error_unit(task) -> str:
    """What a task's ``bit_errors`` count, singular: ``wrong bit``, ``wrong round`` (T-maze),
    ``wrong decision`` (season)."""
    if isinstance(task, TMazeTask):
        return "wrong round"
    if isinstance(task, SeasonTask):
        return "wrong decision"
    return "wrong bit"


def score_meaning(task) -> str:
    """What a task's score measures, in a few words for a title."""
    name = getattr(task, "score_name", "score")
    if name == "strict close":
        return "strict-close margin: 1 only for outputs exactly 0/1"
    return f"fraction of {name}" if name in ("logically right rounds", "right scored decisions") else name


def verdict(task, perfect: bool, errors) -> str:
    """``perfect (no wrong bit)`` or ``not perfect: 3 wrong bits`` for one episode."""
    unit = error_unit(task)
    return f"perfect (no {unit})" if perfect else f"not perfect: {plural(errors, unit)}"


def champion_numbers(meta: dict, task) -> str:
    """The numbers champion.json's metadata.entm records, each said for what it is: fitness (what
    NEAT maximised), task score (and its meaning), the fraction of its generation's episodes it
    was perfect on, solved or not."""
    parts = []
    if isinstance(meta.get("fitness"), (int, float)):
        parts.append(f"fitness {meta['fitness']:.3f} (what evolution maximised)")
    if isinstance(meta.get("score"), (int, float)):
        parts.append(f"task score {meta['score']:.3f} ({score_meaning(task)})")
    if isinstance(meta.get("perfect"), (int, float)):
        p = float(meta["perfect"])
        parts.append("perfect on every episode of its generation" if p == 1.0
                     else f"perfect on {100 * p:.0f}% of its generation's episodes")
    if "solved" in meta:
        parts.append("solved" if meta["solved"] else "not solved")
    if meta.get("generation") is not None:
        parts.append(f"generation {meta['generation']}")
    return ", ".join(parts)


def check_positive(name: str, value) -> int:
    """``value`` as an int >= 1, else a one-line EntmError."""
    import operator

    try:
        v = operator.index(value)
    except TypeError:
        v = None
    if isinstance(value, bool) or v is None or v < 1:
        raise EntmError(f"{name} must be a positive integer, got {value!r}")
    return int(v)
