"""Campaigns on a real Ray cluster started on this machine: a node killed mid-campaign, and the driver
killed and the campaign resumed.  Each run must equal the same run launched alone.

Every process these tests kill is one they started or one below it (helpers.descendants), by its pid;
never `ray stop`.
"""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import (
    SMALL_CAMPAIGN,
    Cluster,
    assert_same_run,
    descendants,
    launch_alone,
    run_cli,
)

from entm import runs
from entm.campaign.spec import load_campaign, parse_campaign
from entm.campaign.work import newest_checkpoint, read_status, run_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """Every run of the small campaign launched alone (serial, one process)."""
    d = tmp_path_factory.mktemp("alone")
    return {r.name: launch_alone(r, d / r.name) for r in parse_campaign(SMALL_CAMPAIGN).runs}


def _driver(cluster, tmp_path, *args):
    err = open(tmp_path / "driver.err", "w")
    return subprocess.Popen([sys.executable, "-m", "entm", "campaign", *map(str, args), "--ray-address",
                             cluster.address], env=cluster.env, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)


def _running(d, campaign, pids=None):
    """Runs running now (a session not ended, not done) with a checkpoint past 0, on ``pids`` if given."""
    out = []
    for r in campaign.runs:
        st = read_status(d, r.name)
        s = st.get("sessions") or []
        if s and "ended" not in s[-1] and not st.get("done") and (pids is None or s[-1]["pid"] in pids) \
                and newest_checkpoint(run_dir(d, r)) >= 2:
            out.append(r)
    return out


def _wait_for(cond, proc, timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    return None


def _check_campaign(d, campaign, alone, tmp_path):
    """Every run done and equal to the run launched alone; the CSV and the report hold every run."""
    for r in campaign.runs:
        assert read_status(d, r.name).get("done"), r.name
        assert_same_run(r.kind, run_dir(d, r), alone[r.name])
    r = run_cli("campaign", "export", d, "--csv", "-o", tmp_path / "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "runs.csv").read_text())))
    assert [(x["run"], x["state"]) for x in rows] == [(x.name, "done") for x in campaign.runs]
    metrics = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "metrics.csv").read_text())))
    assert len(metrics) == sum(len(runs.read_metrics(run_dir(d, x))) for x in campaign.runs)
    r = run_cli("campaign", "report", d, "--json", "--lengths", "3", "--episodes", "2")
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert all("lengths" in x for x in stats["runs"]) and len(stats["runs"]) == len(campaign.runs)
    assert [g["done"] for g in stats["groups"]] == [3, 3, 1]


def test_a_node_killed_mid_campaign_costs_time_not_results(tmp_path, alone):
    f = tmp_path / "c.toml"
    f.write_text(SMALL_CAMPAIGN)
    campaign, d = load_campaign(f), tmp_path / "camp"
    cluster = Cluster(nodes=2)
    try:
        proc = _driver(cluster, tmp_path, "run", f, "--dir", d)
        node = cluster.procs[1].pid
        victims = _wait_for(lambda: _running(d, campaign, set(descendants(node))), proc)
        assert victims, (tmp_path / "driver.err").read_text()
        for pid in [node, *descendants(node)]:  # the second node's processes, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert proc.wait(timeout=300) == 0, (tmp_path / "driver.err").read_text()
    finally:
        cluster.stop()
    view = (tmp_path / "driver.err").read_text().splitlines()  # the progress view: one line per change
    assert "campaign small: 7/7 done, 0 running, 0 failed" in view[-2]
    assert view[-2].endswith("| direct 3/3 | hyper 3/3 | ntm 1/1")
    assert any("running" in line and "(1 running)" in line for line in view)
    assert view[-1].startswith("campaign small: 7 of 7 runs done")
    for v in victims:
        sessions = read_status(d, v.name)["sessions"]
        assert sessions[0]["kind"] == "start" and sessions[-1]["kind"] == "resume" and sessions[-1]["from"] >= 2
    _check_campaign(d, campaign, alone, tmp_path)


def test_a_killed_driver_resumed_repeats_no_run_and_misses_none(tmp_path, alone):
    f = tmp_path / "c.toml"
    f.write_text(SMALL_CAMPAIGN)
    campaign, d = load_campaign(f), tmp_path / "camp"
    cluster = Cluster(nodes=1, cpus=2)
    try:
        proc = _driver(cluster, tmp_path, "run", f, "--dir", d)
        done = lambda: any(read_status(d, r.name).get("done") for r in campaign.runs)
        assert _wait_for(lambda: done() and _running(d, campaign), proc), (tmp_path / "driver.err").read_text()
        at_kill = {r.name: newest_checkpoint(run_dir(d, r)) for r in campaign.runs
                   if not read_status(d, r.name).get("done")}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert any(at_kill.values()) and not all(read_status(d, r.name).get("done") for r in campaign.runs)
        r = run_cli("campaign", "resume", d, "--ray-address", cluster.address, env=cluster.env, timeout=300)
        assert r.returncode == 0, r.stderr
    finally:
        cluster.stop()
    resumed, finished_at_kill = [], []
    for run in campaign.runs:
        # a run with a checkpoint when the driver died goes on from it (a run killed before it had a run
        # directory, with nothing to go on from, starts: that is its first session's work, not a repeat).
        # A run in its last generations may finish in its first session in the moment between the
        # snapshot and the kill, or in the moment Ray takes to end a dead driver's tasks; the resume then
        # leaves it as it is (its ended time may come before the kill: it is taken before the status is
        # written, so the snapshot can have read the run unfinished after it ended).
        sessions = read_status(d, run.name)["sessions"]
        if at_kill.get(run.name):
            kinds = [s["kind"] for s in sessions]
            assert kinds in (["start", "resume"], ["start"]), (run.name, kinds)
            if kinds == ["start"]:
                assert sessions[0]["ended"] >= sessions[0]["started"], run.name
                finished_at_kill.append(run.name)
            else:
                assert sessions[-1]["from"] >= at_kill[run.name], run.name
                resumed.append(run.name)
    # the resume went on from a checkpoint at least once, unless every run that had one finished in that moment
    assert resumed or finished_at_kill == [n for n, c in at_kill.items() if c], at_kill
    _check_campaign(d, campaign, alone, tmp_path)
