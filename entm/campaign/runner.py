"""Running a campaign on Ray: one Ray task per (group, seed), as many at once as the cluster has CPUs for.

Plain Ray tasks, not Ray Tune (docs/campaigns.md gives the measurements and the reason): each run is
``ray.remote(num_cpus=<group cpus>, max_retries=RETRIES)`` of :func:`entm.campaign.work.execute`.  A
worker or node that dies takes its task with it; Ray runs the task again (on a live node) and
``execute`` resumes the run from its own newest checkpoint.  A run that fails with an EntmError is
recorded as failed; the other runs go on.  The driver holds the campaign directory's lock
(:func:`entm.runs.run_lock`) while it runs, and draws one progress view of the whole campaign on
stderr: per group, runs done / running / failed.

The campaign directory must be on a filesystem every node of the cluster sees (one machine, or a
shared filesystem): the workers write the run directories there.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from entm import runs
from entm.campaign.spec import Campaign
from entm.campaign.work import execute, read_status, run_dir, run_state, write_status
from entm.errors import EntmError

#: times Ray starts a run's task again after its worker or node died
RETRIES = 5
#: seconds between looks at the runs' status files (the progress view)
POLL = 1.0


def _run_task(campaign_dir: str, run) -> dict:
    """What a Ray worker runs: one run of the campaign (its stderr quiet: the driver shows progress)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(run.cpus))
    return execute(campaign_dir, run)


def connect(address: str | None, cpus: int | None, verbose: bool = False) -> bool:
    """Connect to the cluster at ``address``, or start an embedded local Ray with ``cpus`` CPUs (default:
    all local cores); returns whether Ray was started here."""
    import ray

    from entm.evolution.ray_eval import check_address, quiet_stderr

    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    level = logging.WARNING if verbose else logging.ERROR
    if address:
        check_address(address)
        try:
            with quiet_stderr(not verbose):
                ray.init(address=address, log_to_driver=verbose, logging_level=level)
        except Exception as e:  # ConnectionError, version mismatch ...
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EntmError(f"cannot connect to Ray cluster at {address}: {first}") from None
        return False
    with quiet_stderr(not verbose):
        ray.init(address="local", num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False,
                 log_to_driver=verbose, logging_level=level)
    return True


class Progress:
    """One line per change of the campaign's state on ``out``: the totals, then each group's
    ``done/total`` and what is running or failed."""

    def __init__(self, campaign: Campaign, campaign_dir: Path, out, enabled: bool = True):
        self.campaign, self.dir, self.out, self.enabled = campaign, campaign_dir, out, enabled
        self.last = None
        self.t0 = time.monotonic()

    def states(self) -> dict:
        return {r.name: run_state(read_status(self.dir, r.name)) for r in self.campaign.runs}

    def line(self, states: dict) -> str:
        total = {k: sum(1 for v in states.values() if v == k) for k in ("done", "running", "failed")}
        parts = []
        for g in self.campaign.groups:
            members = [states[r.name] for r in self.campaign.group_of(g)]
            text = f"{g} {members.count('done')}/{len(members)}"
            extra = [f"{members.count(k)} {k}" for k in ("running", "failed") if members.count(k)]
            parts.append(text + (f" ({', '.join(extra)})" if extra else ""))
        return (f"campaign {self.campaign.name}: {total['done']}/{len(states)} done, {total['running']} running, "
                f"{total['failed']} failed [{time.monotonic() - self.t0:.0f} s] | " + " | ".join(parts))

    def show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        states = self.states()
        if states != self.last or force:
            self.last = states
            print(self.line(states), file=self.out, flush=True)


def run_campaign(campaign: Campaign, campaign_dir, address: str | None = None, cpus: int | None = None,
                 progress: bool = True, out=None) -> dict:
    """Run every unfinished run of ``campaign`` (whose directory ``open_campaign_dir`` made) on Ray; returns
    ``{run name: state}`` at the end (``done`` or ``failed``)."""
    out = sys.stderr if out is None else out
    campaign_dir = Path(campaign_dir)
    with runs.run_lock(campaign_dir):
        view = Progress(campaign, campaign_dir, out, progress)
        todo = [r for r in campaign.runs if run_state(read_status(campaign_dir, r.name)) != "done"]
        if progress:
            print(f"entm: campaign {campaign.name}: {len(campaign.runs)} runs in {len(campaign.groups)} groups, "
                  f"{len(campaign.runs) - len(todo)} done before; run directories in {campaign_dir / 'runs'}",
                  file=out, flush=True)
        if todo:
            _run_on_ray(todo, campaign_dir, address, cpus, view)
        view.show()
        return view.states()


def _run_on_ray(todo, campaign_dir: Path, address, cpus, view: Progress) -> None:
    import ray

    started = connect(address, cpus)
    try:
        total = ray.cluster_resources().get("CPU", 0)
        for r in todo:
            if r.cpus > total:
                raise EntmError(f"run {r.name} asks for {r.cpus} CPUs; the cluster has {total:g}")
        remote = ray.remote(max_retries=RETRIES, retry_exceptions=False)(_run_task)
        refs = {remote.options(num_cpus=r.cpus, name=f"entm-campaign:{r.name}").remote(str(campaign_dir), r): r
                for r in todo}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL)
            for ref in ready:
                try:
                    ray.get(ref)
                except Exception as e:  # the run's EntmError (recorded in its status), or Ray gave up on it
                    _record_failure(campaign_dir, refs[ref], e)
            view.show()
    finally:
        if started or ray.is_initialized():
            ray.shutdown()


def _record_failure(campaign_dir: Path, run, error: Exception) -> None:
    status = read_status(campaign_dir, run.name)
    if not status.get("failed"):
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        status["failed"] = f"{type(error).__name__}: {first}"
        write_status(campaign_dir, run.name, status)


def campaign_summary(campaign: Campaign, campaign_dir, states: dict, out) -> int:
    """The closing lines; exit status 0 when every run is done, 1 when some failed."""
    failed = [n for n, s in states.items() if s != "done"]
    for name in failed:
        msg = read_status(campaign_dir, name).get("failed", "did not finish")
        print(f"entm: campaign run {name} failed: {msg} ({run_dir(campaign_dir, _spec(campaign, name))})",
              file=out)
    print(f"campaign {campaign.name}: {len(states) - len(failed)} of {len(states)} runs done in {campaign_dir}"
          + (f"; {len(failed)} failed: entm campaign resume {campaign_dir} tries them again" if failed else
             f"; report: entm campaign report {campaign_dir}"), file=out)
    return 1 if failed else 0


def _spec(campaign: Campaign, name: str):
    return next(r for r in campaign.runs if r.name == name)
