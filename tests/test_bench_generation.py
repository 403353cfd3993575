"""``entm bench --generation``: a generation's phases, the driver against one core's evaluation (figures are
checked for consistency, never for speed)."""

import json
import math

import pytest

from entm.bench.generation import PROJECT, format_generation_bench, run_generation_bench
from helpers import main_error, run_cli, run_main

SMALL = dict(task_params={"vector_size": 2}, population=12, generations=3)
PHASES = {"packing_sending", "reproduction", "speciation", "snapshot", "gathering", "other"}


def _check(r, population):
    s = r["serial"]
    assert set(s["phases"]) == PHASES
    assert math.isclose(sum(s["phases"].values()), s["driver_seconds"], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(s["driver_seconds"] + s["worker_seconds"], s["seconds_per_generation"], rel_tol=1e-9)
    assert s["evaluation_seconds"] > 0 and s["phases"]["packing_sending"] == s["phases"]["gathering"] == 0.0
    d, w = r["driver_seconds"], r["work_seconds"]
    assert math.isclose(r["driver_over_evaluation"], s["driver_seconds"] / s["evaluation_seconds"])
    assert set(r["projected_speedup"]) == {str(n) for n in PROJECT}
    for n, v in r["projected_speedup"].items():
        assert math.isclose(v, (d + w) / (d + w / int(n)))
    assert math.isclose(r["driver_seconds_per_genome"], d / population)


@pytest.mark.parametrize("mode", ["driver", "workers"])
def test_generation_bench_phases_add_up(mode):
    r = run_generation_bench(reproduction=mode, **SMALL)
    _check(r, 12)
    assert r["reproduction"] == mode and r["ray"] == {}
    if mode == "workers":  # the children are made in the tasks: work, not the driver's
        assert r["serial"]["making_seconds"] > 0
        assert r["work_seconds"] > r["serial"]["evaluation_seconds"]
        assert r["serial"]["phases"]["reproduction"] < r["serial"]["making_seconds"]
    else:
        assert r["serial"]["making_seconds"] == 0 and r["work_seconds"] == r["serial"]["evaluation_seconds"]
    text = format_generation_bench(r)
    assert "one core's evaluation" in text and "projected speed-up" in text


@pytest.mark.slow
def test_generation_bench_scales_the_population():
    r = run_generation_bench(reproduction="workers", scale_to=24, **SMALL)
    x = r["scaled"]
    assert x["population"] == 24 and set(x["ray"]["phases"]) == PHASES
    assert set(r["ray"]) == {"1"} and r["driver_seconds"] == r["ray"]["1"]["driver_seconds"]
    assert math.isclose(r["per_genome_ratio"], (x["ray"]["driver_seconds"] / 24) / (r["driver_seconds"] / 12))
    assert "population 24" in format_generation_bench(r)


def test_cli_bench_generation_json(capsys):
    status, out, _ = run_main(capsys, "bench", "--generation", "--json", "--vector-size", "2", "--pop-size", "12",
                              "--generations", "3", "--reproduction", "workers")
    assert status == 0
    r = json.loads(out)
    assert r["population"] == 12 and r["reproduction"] == "workers" and r["generations"] == 3


def test_cli_bench_generation_bad_input(capsys):
    main_error(capsys, "bench", "--generation", "--generations", "1", words=("--generations",))
    main_error(capsys, "bench", "--generation", "--population", "1", words=("--population",))
    main_error(capsys, "bench", "--generation", "--workers", "0", words=("--workers",))
    main_error(capsys, "bench", "--generation", "--scale-to", "1", words=("--scale-to",))
    main_error(capsys, "bench", "--generation", "--workers", "2", "--repeats", "0", words=("--repeats",))
    main_error(capsys, "bench", "--generation", "--repeats", "3", words=("--repeats", "--workers"))


@pytest.mark.slow
def test_generation_bench_on_ray():
    r = run_generation_bench(reproduction="workers", workers=2, **SMALL)
    _check(r, 12)
    assert set(r["ray"]) == {"1", "2"}
    for x in r["ray"].values():
        assert set(x["phases"]) == PHASES and x["phases"]["packing_sending"] > 0 and x["phases"]["gathering"] > 0
    assert r["driver_seconds"] == r["ray"]["1"]["driver_seconds"]
    assert math.isclose(r["ray_driver_over_evaluation"], r["ray"]["1"]["driver_seconds"]
                        / r["serial"]["evaluation_seconds"])
    assert math.isclose(r["measured_speedup"], r["ray"]["1"]["seconds_per_generation"]
                        / r["ray"]["2"]["seconds_per_generation"])
    assert r["ray"]["1"]["nodes"] == r["ray"]["2"]["nodes"] == 1 and r["ray_address"] is None


@pytest.mark.slow
def test_generation_bench_repeats_interleave_the_ray_runs():
    """--repeats 3: three Ray runs of each worker count; the figures are the median run's, the speed-up median
    against median, and each back-to-back pair's ratio is kept."""
    r = run_generation_bench(reproduction="workers", workers=2, repeats=3, **SMALL)
    _check(r, 12)
    runs = r["runs_seconds_per_generation"]
    assert r["repeats"] == 3 and set(runs) == {"1", "2"} and all(len(v) == 3 for v in runs.values())
    for n, times in runs.items():
        assert r["ray"][n]["seconds_per_generation"] == sorted(times)[1]
    assert math.isclose(r["measured_speedup"], sorted(runs["1"])[1] / sorted(runs["2"])[1])
    assert [round(x, 12) for x in r["speedup_pairs"]] == [round(a / b, 12) for a, b in zip(runs["1"], runs["2"])]
    assert "3 interleaved runs" in format_generation_bench(r)


@pytest.mark.slow
def test_cli_bench_generation_on_a_two_node_local_cluster():
    """--local-cluster 2 starts a real two-node cluster (1 CPU each): 2 workers' tasks run on both nodes (tasks
    long enough that the second one cannot wait for the first one's node).  In a process of its own: a Ray
    that another test left running in this process would be used instead of the cluster."""
    r = run_cli("bench", "--generation", "--json", "--vector-size", "2", "--pop-size", "80",
                "--generations", "4", "--reproduction", "workers", "--local-cluster", "2", timeout=600)
    assert r.returncode == 0, r.stderr
    r = json.loads(r.stdout)
    _check(r, 80)
    assert r["local_cluster_nodes"] == 2 and r["ray_address"].startswith("127.0.0.1:")
    assert set(r["ray"]) == {"1", "2"} and r["ray"]["1"]["nodes"] == 1 and r["ray"]["2"]["nodes"] == 2


def test_cli_bench_cluster_options_bad_input(capsys):
    main_error(capsys, "bench", "--generation", "--local-cluster", "0", words=("--local-cluster",))
    main_error(capsys, "bench", "--generation", "--local-cluster", "2", "--ray-address", "127.0.0.1:1",
               words=("--local-cluster", "--ray-address"))
    main_error(capsys, "bench", "--local-cluster", "2", words=("--local-cluster", "--generation"))
