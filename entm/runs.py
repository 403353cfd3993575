"""The run directory: the contract between evolve, train, evaluate and analysis.

::

    runs/<name>/
      run.json        every setting, the seed, package versions, the command line
      config.ini      the neat-python config used (evolution)
      metrics.jsonl   one JSON object per generation (or per training report)
      checkpoints/    written atomically (temporary file, then rename)
      champion.json   the best network (evolution)
      model.pt        the trained model and its hyperparameters (baselines)
      plots/          figures

Files are written atomically (a temporary file in the same directory, fsync,
rename), so an interrupted write never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: run directories are not locked there
    fcntl = None

from entm.errors import EntmError

RUN_FILE = "run.json"
CONFIG_FILE = "config.ini"
METRICS_FILE = "metrics.jsonl"
CHAMPION_FILE = "champion.json"
CHECKPOINT_DIR = "checkpoints"
PLOTS_DIR = "plots"


def atomic_write(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; keep the usual permissions
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, BrokenPipeError):  # name the target, not the temporary
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def list_checkpoints(run_dir, name) -> list[Path]:
    """The run's checkpoint files whose names match ``name`` (a compiled pattern whose group 1 is
    their number), oldest first; temporary files never match."""
    d = Path(run_dir) / CHECKPOINT_DIR
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := name.match(p.name))]
    return [p for _, p in sorted(found)]


def drop_old_checkpoints(run_dir, name, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints matching ``name``; ``keep <= 0`` deletes nothing."""
    if keep <= 0:
        return
    for old in list_checkpoints(run_dir, name)[:-keep]:
        try:
            old.unlink()
        except OSError:
            pass


def read_newest_checkpoint(run_dir, name, read, warn=None):
    """(path, ``read(path)``) of the newest checkpoint that reads; ones that do not (truncated,
    corrupted, wrong format: ``read`` raises) are skipped with a warning."""
    warn = warn or (lambda msg: print(f"entm: warning: {msg}", file=sys.stderr))
    files = list_checkpoints(run_dir, name)
    if not files:
        raise EntmError(f"{run_dir} has no checkpoints to resume from ({CHECKPOINT_DIR}/ is empty or missing)")
    for path in reversed(files):
        try:
            return path, read(path)
        except Exception as e:  # truncated file, bad pickle, wrong format, another architecture ...
            first = str(e).splitlines()[0] if str(e) else ""
            if isinstance(e, ForeignCheckpoint):
                warn(f"skipping checkpoint {path}: {first}")
            else:
                warn(f"skipping unreadable checkpoint {path}: {type(e).__name__}: {first}")
    raise EntmError(f"no valid checkpoint in {Path(run_dir) / CHECKPOINT_DIR} (none of its {len(files)} can be "
                    f"used: see the warnings)")


class ForeignCheckpoint(ValueError):
    """A checkpoint that reads but belongs to another run (another architecture): skipped like a torn one."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def package_versions() -> dict:
    """Versions of Python and of the packages a run depends on."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("entm", "neat-python", "numpy", "torch", "ray", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def task_label(task) -> str:
    """The task's part of a default run name: its name and the parameters that differ from its
    defaults, in the task's order, as ``<name>_<value>`` (``tmaze-variant_continuous``,
    ``copy-vector_size_2-max_length_20``)."""
    from entm.tasks import make_task

    defaults = make_task(task.name, {}).params()
    parts = [f"{k}_{v}" for k, v in task.params().items() if defaults.get(k) != v]
    return "-".join([task.name, *parts])


def free_run_dir(path) -> Path:
    """``path`` itself if it is free, else the first free ``path-2``, ``path-3`` ... (for error messages:
    runs never pick a name silently)."""
    p = Path(path)
    i = 2
    while p.exists() and (not p.is_dir() or any(p.iterdir())):
        p = Path(f"{path}-{i}")
        i += 1
    return p


def check_new_run_dir(path) -> Path:
    """An existing non-empty run directory is an error that names a free one: runs never overwrite
    one, nor pick another name silently."""
    p = Path(path)
    if p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise EntmError(f"run directory {p} already exists and is not empty; continue it with `entm resume {p}`, "
                        f"or start a new run with --run-dir {free_run_dir(p)} (free)")
    return p


def create_run_dir(path) -> Path:
    """Create a new run directory; an existing non-empty one is an error (never overwritten)."""
    p = check_new_run_dir(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EntmError(f"cannot create run directory {p}: {e.strerror}") from None
    return p


def write_run_json(run_dir, settings: dict) -> None:
    data = dict(settings)
    data.setdefault("versions", package_versions())
    data.setdefault("command", sys.argv)
    atomic_write(Path(run_dir) / RUN_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_run_json(run_dir) -> dict:
    p = Path(run_dir) / RUN_FILE
    if not p.is_file():
        raise EntmError(f"{run_dir} is not a run directory ({RUN_FILE} not found)")
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EntmError(f"{p} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise EntmError(f"{p} does not hold a JSON object")
    return data


def append_metrics(run_dir, record: dict) -> None:
    """Append one line to metrics.jsonl and flush it to disk."""
    with open(Path(run_dir) / METRICS_FILE, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_metrics(run_dir) -> list[dict]:
    """Every complete line of metrics.jsonl (a torn last line is ignored)."""
    p = Path(run_dir) / METRICS_FILE
    if not p.is_file():
        return []
    out = []
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def resolve_champion(path) -> Path:
    """A champion.json path from a champion file or a run directory."""
    p = Path(path)
    if p.is_dir():
        c = p / CHAMPION_FILE
        if not c.is_file():
            raise EntmError(f"run directory {p} has no {CHAMPION_FILE} (has the run finished a generation?)")
        return c
    if not p.exists():
        raise EntmError(f"no such champion file or run directory: {p}")
    return p


@contextlib.contextmanager
def run_lock(run_dir):
    """Hold an OS lock on a run directory while this process works in it (``flock`` on the directory
    itself: no file is added, and the lock dies with its holder, however it ends).  A second entm process
    on the same directory gets a one-line EntmError naming the holder's pid (from /proc/locks, where the
    system has it).  On systems without ``fcntl`` (Windows) nothing is locked."""
    p = Path(run_dir)
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError as e:
        raise EntmError(f"cannot open run directory {p}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _lock_holder(fd)
            who = f"another entm process (pid {pid})" if pid else "another entm process"
            raise EntmError(f"run directory {p} is in use by {who}: one process at a time works in a run "
                            f"directory; wait for it to end, or stop it (Ctrl-C checkpoints and ends a run)") \
                from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_holder(fd: int) -> int | None:
    """The pid holding a flock on ``fd``'s file, from /proc/locks (Linux); None where it cannot be told."""
    st = os.fstat(fd)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) >= 6 and f[1] == "FLOCK" and f[5] == ident and f[4].isdigit():
            return int(f[4])
    return None


#: the run.json fields that define what an evolution run computes (budgets, evaluator and paths do not)
IDENTITY_FIELDS = ("task", "task_params", "memory", "memory_params", "heads", "encoding", "hyper", "seed",
                   "episodes", "stop_when_solved")


LATER_IDENTITY_FIELDS = ("search", "novelty", "fixed_episodes", "restart_every", "replay", "init_network")


def run_identity(record: dict, config_text: str) -> str:
    """A run's identity: a hash of the settings that define what it computes (:data:`IDENTITY_FIELDS` of its
    run.json record) and its config text.  Written to run.json and to every checkpoint; ``entm resume``
    refuses a run whose run.json or config.ini no longer give it, or a checkpoint of another run."""
    settings = {k: record.get(k) for k in IDENTITY_FIELDS}
    # settings added later count only where they change what the run computes: earlier runs keep their identity
    settings.update({k: record[k] for k in LATER_IDENTITY_FIELDS if record.get(k) not in (None, False, {}, "fitness")})
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":")) + "\n" + config_text
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_seed(seed) -> int:
    """A run seed: a non-negative integer (numpy's generators take no other), else a one-line EntmError."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise EntmError(f"--seed must be a non-negative integer, got {seed!r}")
    return seed

