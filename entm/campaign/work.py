"""The campaign directory, and one run of a campaign started or resumed (what a cluster worker does).

::

    <campaign>/
      campaign.toml     the campaign file, as given
      campaign.json     its canonical expansion (every run's settings), where it came from, the runs' names
      runs/<group>-seed<S>/     one ordinary run directory per (group, seed): ``entm resume``, ``entm report``
                                and every other command work on it as on any run
      status/<group>-seed<S>.json   the run's sessions (started fresh or resumed from which checkpoint,
                                where, when) and how it ended; written by the worker that ran it

:func:`execute` is a pure function of the campaign directory and the run: a run with no run directory
starts (:func:`entm.evolution.loop.evolve` / :func:`entm.baseline.train.train`), a run directory with
``run.json`` resumes from its own newest checkpoint (:func:`entm.evolution.loop.resume` /
:func:`entm.baseline.train.resume`, exactly as ``entm resume``), a finished run is left as it is.
Nothing here imports Ray (:mod:`entm.campaign.runner` does).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

from entm import runs
from entm.campaign.spec import Campaign, RunSpec, parse_campaign, read_campaign_text
from entm.errors import EntmError

CAMPAIGN_FILE = "campaign.toml"
CAMPAIGN_JSON = "campaign.json"
RUNS_DIR = "runs"
STATUS_DIR = "status"
#: seconds a worker waits for a run directory still locked by a process that is going away (a killed
#: driver's workers end a moment after it)
LOCK_WAIT = 60.0
_CHECKPOINT_NUMBER = re.compile(r"(\d+)")


def run_dir(campaign_dir, run: RunSpec) -> Path:
    return Path(campaign_dir) / RUNS_DIR / run.name


def status_path(campaign_dir, name: str) -> Path:
    return Path(campaign_dir) / STATUS_DIR / f"{name}.json"


def read_status(campaign_dir, name: str) -> dict:
    """A run's status (``{"sessions": [...], "done": {...} | absent, "failed": "..." | absent}``); {} for a
    run that never started."""
    p = status_path(campaign_dir, name)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_status(campaign_dir, name: str, data: dict) -> None:
    runs.atomic_write(status_path(campaign_dir, name), json.dumps(data, indent=1, sort_keys=True) + "\n")


def run_state(status: dict) -> str:
    """``done``, ``failed``, ``running`` (a session started and did not end: running, or cut short) or
    ``waiting``."""
    if status.get("done"):
        return "done"
    if status.get("failed"):
        return "failed"
    if status.get("sessions"):
        return "running"
    return "waiting"


def open_campaign_dir(campaign_dir, campaign: Campaign | None = None, text: str | None = None,
                      source: str | None = None) -> Campaign:
    """Create a campaign directory for ``campaign`` (from the file ``text``), or check that an existing one
    holds the same campaign; with ``campaign`` None, read the campaign the directory holds."""
    d = Path(campaign_dir)
    meta = d / CAMPAIGN_JSON
    if meta.is_file():
        held = read_campaign(d)
        if campaign is not None and campaign.canonical() != held.canonical():
            raise EntmError(f"{d} holds another campaign (its {CAMPAIGN_FILE} expands to other runs than "
                            f"{source or 'this file'}); give a new --dir, or resume it with its own file: "
                            f"entm campaign resume {d}")
        return held
    if campaign is None:
        raise EntmError(f"{d} is not a campaign directory ({CAMPAIGN_JSON} not found)")
    if d.exists() and not d.is_dir():
        raise EntmError(f"{d} exists and is not a directory")
    if d.is_dir() and any(d.iterdir()):
        raise EntmError(f"{d} exists and is not a campaign directory; give a new or empty --dir")
    (d / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    (d / STATUS_DIR).mkdir(exist_ok=True)
    runs.atomic_write(d / CAMPAIGN_FILE, text)
    record = {"name": campaign.name, "source": source, "base": campaign.base,
              "groups": list(campaign.groups), "runs": [dict(r.record(), name=r.name) for r in campaign.runs],
              "versions": runs.package_versions()}
    runs.atomic_write(meta, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return campaign


def read_campaign(campaign_dir) -> Campaign:
    """The campaign a campaign directory holds (its campaign.toml, paths resolved as when it started)."""
    d = Path(campaign_dir)
    try:
        record = json.loads((d / CAMPAIGN_JSON).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EntmError(f"{d} is not a readable campaign directory ({CAMPAIGN_JSON}: {e})") from None
    text = read_campaign_text(d / CAMPAIGN_FILE)
    return parse_campaign(text, where=str(d / CAMPAIGN_FILE), base=record.get("base", str(d)),
                          default_name=record.get("name", d.name))


def newest_checkpoint(path: Path) -> int:
    """The generation (evolution) or step (training) of a run directory's newest checkpoint file; 0 without."""
    d = path / runs.CHECKPOINT_DIR
    numbers = [int(m.group(1)) for f in (d.iterdir() if d.is_dir() else ())
               if not f.name.startswith(".") and (m := _CHECKPOINT_NUMBER.search(f.name))]
    return max(numbers, default=0)


def execute(campaign_dir, run: RunSpec) -> dict:
    """Start, resume or leave as it is the run ``run`` of the campaign in ``campaign_dir``; returns its
    status.  A run that raises an EntmError is recorded as failed and the error raised again."""
    campaign_dir = Path(campaign_dir)
    status = read_status(campaign_dir, run.name)
    if status.get("done"):
        return status
    path = run_dir(campaign_dir, run)
    _wait_unlocked(path)
    status = read_status(campaign_dir, run.name)  # again: the lock's last holder may have finished the run
    if status.get("done"):
        return status
    resuming = (path / runs.RUN_FILE).is_file()
    if path.exists() and not resuming:
        shutil.rmtree(path)  # created, but killed before run.json: nothing in it can be resumed
    session = {"kind": "resume" if resuming else "start", "from": newest_checkpoint(path) if resuming else 0,
               "host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    status.pop("failed", None)
    status.setdefault("sessions", []).append(session)
    write_status(campaign_dir, run.name, status)
    try:
        outcome = _run(run, path, resuming)
    except EntmError as e:
        session["ended"] = time.time()
        status["failed"] = str(e)
        write_status(campaign_dir, run.name, status)
        raise
    session["ended"] = time.time()
    status["done"] = outcome
    write_status(campaign_dir, run.name, status)
    return status


def _run(run: RunSpec, path: Path, resuming: bool) -> dict:
    """Start or resume the run; its outcome (why it stopped, what it reached)."""
    s = copy.deepcopy(run.settings)
    if run.kind == "evolution":
        from entm.evolution.loop import EvolveSettings, evolve, resume

        start = lambda: evolve(EvolveSettings(**s, seed=run.seed, run_dir=str(path), evaluator="serial"),
                               progress=False)
        go_on = lambda: resume(path, evaluator="serial", progress=False, minutes=s.get("minutes"))
        outcome = lambda r: {"stopped": r.stopped, "generations": r.generations, "solved": bool(r.solved)}
    else:
        import torch

        from entm.baseline.settings import TrainSettings
        from entm.baseline.train import resume, train

        torch.set_num_threads(run.cpus)
        start = lambda: train(TrainSettings(**s, seed=run.seed, run_dir=str(path), device="cpu"),
                              progress=False)
        go_on = lambda: resume(path, minutes=s.get("minutes"), device="cpu", progress=False)
        outcome = lambda r: {"stopped": r.stopped, "steps": r.steps, "test": r.test}
    if not resuming:
        r = start()
    else:
        try:
            r = go_on()
        except EntmError as e:  # finished, but killed before its status said so
            if not str(e).startswith("nothing to resume"):
                raise
            return {"stopped": "finished before", "note": str(e)}
    return {**outcome(r), "seconds": round(r.seconds, 3)}


def _wait_unlocked(path: Path) -> None:
    """Wait (up to LOCK_WAIT seconds) while another process still holds the run directory's lock."""
    if not path.is_dir():
        return
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            with runs.run_lock(path):
                return
        except EntmError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
