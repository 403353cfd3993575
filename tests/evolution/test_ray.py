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
import subprocess
import sys
import threading
import time

import neat
import pytest
from helpers import (
    Cluster,
    busy_ray_workers,
    comparable_champion,
    comparable_metrics,
    free_port,
    main_error,
    subprocess_env,
)

from entm import runs
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, prepare
from entm.neatconfig import load_config


def _evolve_cli(cli, run_dir, *extra, env=None):
    r = cli("evolve", "--vector-size", "2", "--generations", "4", "--seed", "11", "--episodes", "20",
            "--no-stop-when-solved", "--quiet", "--run-dir", run_dir, *extra, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return run_dir


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(nodes=2)
    try:
        yield c
    finally:
        c.stop()


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
    port = free_port()  # nothing listens there
    r = cli("evolve", "--vector-size", "2", "--ray-address", f"127.0.0.1:{port}", "--run-dir", tmp_path / "x")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    # the address is probed with one TCP connection before Ray is asked (ray.init would retry for minutes):
    # the refusal comes from that probe
    assert f"cannot reach Ray cluster at 127.0.0.1:{port}: Connection refused" in r.stderr
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
