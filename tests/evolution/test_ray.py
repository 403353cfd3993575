"""Fitness on Ray: embedded local Ray and a real two-node cluster on this machine.

The same settings and seed give the same champion and metrics (timings and
worker counts aside) serially, on 1 or 2 local workers and on the cluster; a
worker killed mid-generation costs time, not results.

Every process these tests kill is one they started, or a Ray worker below one
they started (found by walking that process's children: helpers.busy_ray_workers);
no process is ever picked by its name across the machine, and no `ray stop`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import neat
import pytest

from entm import runs
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, prepare
from entm.neatconfig import load_config
from helpers import busy_ray_workers, comparable_champion, comparable_metrics, main_error, subprocess_env

#: `ray` of this interpreter (a virtual environment made with --system-site-packages has no `ray` script)
RAY = [sys.executable, "-m", "ray.scripts.scripts"]


def _evolve_cli(cli, run_dir, *extra, env=None):
    r = cli("evolve", "--vector-size", "2", "--generations", "4", "--seed", "11", "--episodes", "20",
            "--no-stop-when-solved", "--quiet", "--run-dir", run_dir, *extra, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return run_dir


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A real Ray cluster on this machine: a head and ``nodes - 1`` more nodes, one CPU each.

    Each node is a ``ray start --block`` child process in its own session (dashboard off, token
    authentication off); it is ended by its process id, its session with it (never `ray stop`, which
    would end every Ray process on the machine).
    """

    def __init__(self, nodes=2):
        self.env = subprocess_env(RAY_AUTH_MODE="disabled")
        port = _free_port()
        self.address = f"127.0.0.1:{port}"
        self.procs = []
        try:
            self.procs.append(self._start([*RAY, "start", "--head", "--block", "--port", str(port), "--num-cpus",
                                           "1", "--node-ip-address", "127.0.0.1", "--include-dashboard", "false"]))
            _wait_port(port, 60)
            for _ in range(nodes - 1):
                self.procs.append(self._start([*RAY, "start", "--block", "--address", self.address,
                                               "--num-cpus", "1", "--node-ip-address", "127.0.0.1"]))
            _wait_nodes(self.address, self.env, nodes, 90)
        except BaseException:
            self.stop()
            raise

    def _start(self, cmd):
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def kill(self):
        """The whole cluster goes away at once (SIGKILL to each node's process group)."""
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.wait(timeout=30)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(nodes=2)
    try:
        yield c
    finally:
        c.stop()


def _wait_port(port, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("Ray head did not start")


def _wait_nodes(address, env, n, timeout):
    code = ("import ray,sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(1 for x in ray.nodes() if x['Alive']))")
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = subprocess.run([sys.executable, "-c", code, address], env=env, capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout.strip()) >= n:
            return
        time.sleep(1)
    raise RuntimeError(f"cluster did not reach {n} nodes")


@pytest.mark.slow
def test_serial_and_local_ray_agree(cli, tmp_path):
    serial = _evolve_cli(cli, tmp_path / "serial", "--serial")
    one = _evolve_cli(cli, tmp_path / "w1", "--workers", "1")
    two = _evolve_cli(cli, tmp_path / "w2", "--workers", "2")
    ms = runs.read_metrics(serial)
    assert len(ms) == 4
    for other in (one, two):
        assert comparable_metrics(other) == comparable_metrics(serial)
        assert comparable_champion(other) == comparable_champion(serial)
    m2 = runs.read_metrics(two)
    assert all(m["nodes"] == 1 and 1 <= m["workers"] <= 2 for m in m2)
    assert all(m["steps_per_second"] > 0 for m in m2)
    assert json.loads((two / "run.json").read_text())["evaluator"] == "ray"


@pytest.mark.slow
def test_two_node_cluster_agrees_with_serial(cli, tmp_path, cluster):
    serial = _evolve_cli(cli, tmp_path / "serial", "--serial")
    clu = _evolve_cli(cli, tmp_path / "cluster", "--ray-address", cluster.address, env=cluster.env)
    assert comparable_metrics(clu) == comparable_metrics(serial)
    assert comparable_champion(clu) == comparable_champion(serial)
    # both nodes did work in at least one generation
    assert max(m["nodes"] for m in runs.read_metrics(clu)) == 2


def test_unreachable_address_fails_fast(cli, capsys, tmp_path):
    port = _free_port()  # nothing listens there
    t0 = time.time()
    r = cli("evolve", "--vector-size", "2", "--ray-address", f"127.0.0.1:{port}", "--run-dir", tmp_path / "x")
    assert time.time() - t0 < 30
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "cannot reach Ray cluster" in r.stderr
    assert not (tmp_path / "x").exists()
    main_error(capsys, "evolve", "--serial", "--workers", "2", "--run-dir", tmp_path / "y", words=["--serial"])


@pytest.mark.slow
def test_killed_worker_costs_nothing_but_time():
    import ray  # heavy; only the tests that start Ray import it

    from entm.evolution.ray_eval import RayEvaluator

    settings = EvolveSettings(task="copy", task_params={"vector_size": 8, "max_length": 20}, seed=3)
    task, spec, machine, text = prepare(settings)
    es = EvalSettings(config_text=text, task="copy", task_params=task.params(), memory=spec, seed=3, episodes=200)
    serial = GenomeEvaluator(es)
    pop = neat.Population(serial.config, seed=3)
    genomes = list(pop.population.items())[:40]
    expected, _ = serial.evaluate(genomes, 0)

    ev = RayEvaluator(es, workers=2)
    try:
        ev(genomes[:4], 0)  # warm the workers up
        killed = []

        def killer():
            t0 = time.time()
            while time.time() - t0 < 60 and not killed:
                pids = busy_ray_workers(os.getpid())  # the workers of the Ray this process started
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                time.sleep(0.05)

        th = threading.Thread(target=killer)
        th.start()
        got, stats = ev(genomes, 0)
        th.join()
        assert killed, "no worker was seen evaluating"
        assert sorted(got) == sorted(gid for gid, _ in genomes)
        for gid, _ in genomes:
            assert got[gid] == expected[gid]
    finally:
        ev.close()
    assert not ray.is_initialized()


@pytest.mark.slow
def test_cluster_going_away_stops_the_run_cleanly(tmp_path):
    c = Cluster(nodes=1)
    run_dir = tmp_path / "run"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "entm", "evolve", "--vector-size", "8", "--generations",
                                 "100000", "--no-stop-when-solved", "--quiet", "--ray-address", c.address,
                                 "--run-dir", str(run_dir)], env=c.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while len(runs.read_metrics(run_dir)) < 3 and time.time() - t0 < 120:
            time.sleep(0.2)
        assert len(runs.read_metrics(run_dir)) >= 3
        # the cluster goes away while a generation is being evaluated (while its chunks are being submitted, too:
        # entm's task arguments travel inline, so the driver never writes to the dead node's object store,
        # which would make Ray end it on the spot, exit status 1, without a word)
        t1 = time.time()
        while not busy_ray_workers(*(p.pid for p in c.procs)) and time.time() - t1 < 60:
            time.sleep(0.02)
        assert busy_ray_workers(*(p.pid for p in c.procs))
        c.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        c.stop()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "went away" in lines[0] and "Traceback" not in err
    metrics = runs.read_metrics(run_dir)
    raw = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(raw) == len(metrics)  # every line complete
    assert [m["generation"] for m in metrics] == list(range(len(metrics)))
    champ = json.loads((run_dir / "champion.json").read_text())
    assert champ["metadata"]["entm"]["generation"] < len(metrics)


@pytest.mark.slow
def test_worker_killed_during_a_run_leaves_the_result_unchanged(cli, tmp_path):
    """A whole run on 2 local workers, one worker process SIGKILLed mid-generation: same result as serial."""
    args = ["--vector-size", "8", "--episodes", "300", "--generations", "6", "--seed", "2", "--no-stop-when-solved",
            "--quiet"]
    serial = tmp_path / "serial"
    r = cli("evolve", *args, "--serial", "--run-dir", serial, timeout=600)
    assert r.returncode == 0, r.stderr
    run_dir = tmp_path / "ray"
    proc = subprocess.Popen([sys.executable, "-m", "entm", "evolve", *args, "--workers", "2", "--run-dir",
                             str(run_dir)], env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    killed = []
    t0 = time.time()
    while proc.poll() is None and not killed and time.time() - t0 < 300:
        if len(runs.read_metrics(run_dir)) >= 1:  # past the first generation: workers are warm
            pids = busy_ray_workers(proc.pid)  # the workers of that run's embedded Ray
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
        time.sleep(0.005)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert killed, "no worker was caught evaluating"
    assert comparable_metrics(run_dir) == comparable_metrics(serial)
    assert comparable_champion(run_dir) == comparable_champion(serial)


def test_task_arguments_stay_under_rays_inline_limit():
    """A chunk of 8-bit copy genomes is split into task arguments Ray sends inline (< 100 KiB each), so the
    driver never writes to the object store, and the parts hold the chunk in order."""
    import pickle

    from entm.evolution.ray_eval import split_inline
    from entm.phenotype import GenomeData

    settings = EvolveSettings(task="copy", task_params={"vector_size": 8}, seed=1)
    task, spec, machine, text = prepare(settings)
    config = load_config(text)
    chunk = [(gid, GenomeData.from_genome(g)) for gid, g in neat.Population(config, seed=1).population.items()]
    parts = split_inline(chunk)
    assert len(parts) > 1 and [g for p in parts for g in p] == chunk
    assert max(len(pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL)) for p in parts) < 100 * 1024
