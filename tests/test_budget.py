"""Sizes that cannot fit (issue 22, item 7): estimated before the work and refused in one line naming the
estimate and the limit (``--max-memory``, default half of the machine); every case runs in a child whose address
space is capped, so that a regression fails instead of taking the machine's memory."""

import pytest
from helpers import run_cli_capped, small_evolution_run

from entm.budget import (
    default_limit,
    evaluation_bytes,
    evaluation_pieces,
    parse_memory,
    physical_memory,
)
from entm.champion import evaluate_lengths, load_champion
from entm.errors import EntmError

CAP = 3 * 2**30  # address space of the child: enough for entm's imports, far from the refused sizes


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("budget") / "run", task_params={"vector_size": 2},
                               generations=1, episodes=2)


def _one_line(r, *words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.mark.parametrize("args,words", [
    (["--lengths", "1000000", "--episodes", "1000"], ["1000 episodes at length 1000000", "GiB", "half of this"]),
    (["--lengths", "10,3000000", "--episodes", "200"], ["length 3000000", "limit"]),
    (["--lengths", "100000", "--episodes", "100", "--max-memory", "1G"], ["over the limit of 1.0 GiB", "--max-memory"]),
    (["--lengths", "5000", "--episodes", "50", "--max-memory", "16M"], ["16.0 MiB"]),
])
def test_evaluations_too_large_are_refused_before_starting(run, args, words):
    _one_line(run_cli_capped(CAP, "evaluate", run, *args), *words)


def test_an_evaluation_that_fits_runs_under_the_cap(run):
    r = run_cli_capped(CAP, "evaluate", run, "--lengths", "10,20", "--episodes", "5", "--max-memory", "64M")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("value", ["4X", "", "-1G", "0", "1K", "G", "nan"])
def test_bad_max_memory_values(run, value):
    _one_line(run_cli_capped(CAP, "evaluate", run, "--lengths", "2", "--max-memory", value))


def test_unbounded_and_huge_files_are_refused_before_reading(tmp_path):
    _one_line(run_cli_capped(CAP, "evaluate", "/dev/zero"), "/dev/zero", "not a regular file")
    huge = tmp_path / "champion.json"
    with open(huge, "wb") as f:
        f.truncate(600 * 2**20)  # sparse: takes no disk
    _one_line(run_cli_capped(CAP, "evaluate", huge), "larger than any network file")


def test_parse_memory_and_the_default():
    assert parse_memory("4G") == 4 * 2**30 and parse_memory("512M") == 512 * 2**20
    assert parse_memory("1.5T") == int(1.5 * 2**40) and parse_memory("2GiB") == 2 * 2**30
    assert default_limit() == int(0.5 * physical_memory())
    for bad in ("", "x", "1e9", "-5M", "512K"):
        with pytest.raises(EntmError):
            parse_memory(bad)


def test_the_estimate_bounds_what_evaluation_allocates(run):
    """The estimate grows linearly with episodes and length and is above the arrays actually made."""
    champ = load_champion(run)
    a, b = evaluation_bytes(champ.machine, 100, 10), evaluation_bytes(champ.machine, 200, 10)
    assert evaluation_bytes(champ.machine, 100, 20) == pytest.approx(2 * a)
    assert 1.9 * a < b < 2.1 * a
    import numpy as np

    eps = champ.task.sample(np.random.default_rng(0), 10, length=100)
    arrays = eps.inputs.nbytes + eps.targets.nbytes + eps.mask.nbytes
    out = champ.machine.run(champ.network, eps.inputs).outputs.nbytes
    assert arrays + out < a


@pytest.mark.parametrize("length,episodes,limit", [(2000, 30, "24M"), (500, 64, "9M"), (3000, 7, "8M")])
def test_a_large_evaluation_runs_in_pieces_with_the_same_numbers(run, length, episodes, limit):
    champ = load_champion(run)
    assert evaluation_pieces(champ.machine, length, episodes, parse_memory(limit), True) > 1
    whole = evaluate_lengths(champ.machine, champ.network, [length], episodes=episodes, seed=3)
    pieces = evaluate_lengths(champ.machine, champ.network, [length], episodes=episodes, seed=3, max_memory=limit)
    assert pieces == whole


def test_pieces_from_the_command_line_under_the_cap(run):
    args = ["evaluate", run, "--lengths", "20000", "--episodes", "40", "--json"]
    capped = run_cli_capped(CAP, *args, "--max-memory", "300M")
    free = run_cli_capped(CAP, *args)
    assert capped.returncode == free.returncode == 0, capped.stderr + free.stderr
    assert capped.stdout == free.stdout


@pytest.mark.parametrize("changes,args,words", [
    ({"num_hidden": "200000"}, [], ["population of 150", "genes per genome", "half of this"]),
    ({"pop_size": "10000000"}, [], ["population of 10000000", "smaller population"]),
    ({}, ["--episodes", "100000", "--max-length", "10000"], ["on 100000 episodes"]),
    ({}, ["--max-memory", "10M"], ["over the limit of 10.0 MiB (--max-memory)"]),
    ({"num_hidden": "2000", "initial_connection": "full_direct"}, ["--max-memory", "1G"], ["1.0 GiB"]),
])
def test_evolution_too_large_is_refused_before_the_run_directory_exists(tmp_path, changes, args, words):
    import re

    from entm.neatconfig import default_config_path

    text = default_config_path("copy", "discrete").read_text()
    for key, value in changes.items():
        text = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
    cfg = tmp_path / "big.ini"
    cfg.write_text(text)
    config_args = ["--config", cfg] if changes else []
    r = run_cli_capped(CAP, "evolve", "--serial", *config_args, *args, "--run-dir", tmp_path / "run")
    _one_line(r, "needs about", *words)
    assert not (tmp_path / "run").exists()


def test_plots_too_large_are_refused_and_moderate_ones_drawn(run, tmp_path):
    from helpers import chain_champion

    champion = run / "champion.json"
    huge = chain_champion(champion, tmp_path / "chain20000.json", 20_000)
    _one_line(run_cli_capped(CAP, "plot", "network", huge, "-o", tmp_path / "n.png"),
              "20021 nodes", "20002 columns", "plot a smaller network")
    assert not (tmp_path / "n.png").exists()
    small = chain_champion(champion, tmp_path / "chain30.json", 30)
    r = run_cli_capped(CAP, "plot", "network", small, "-o", tmp_path / "s.png")
    assert r.returncode == 0 and (tmp_path / "s.png").is_file(), r.stderr
    for length in (2_000_000, 50_000):
        _one_line(run_cli_capped(CAP, "plot", "memory", run, "--length", length, "-o", tmp_path / "m.png"),
                  f"recording the memory of an episode at length {length}", "plot a shorter --length")
    r = run_cli_capped(CAP, "plot", "memory", run, "--length", 50, "-o", tmp_path / "m.png")
    assert r.returncode == 0 and (tmp_path / "m.png").is_file(), r.stderr


@pytest.fixture(scope="module")
def hyper_run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("budget") / "hyper", task_params={"vector_size": 2},
                               generations=1, episodes=2, encoding="hyper")


@pytest.mark.parametrize("vector_size,args,words", [
    (100_000, [], ["re-painting the hyper champion for 200005 inputs", "half of this"]),
    (3000, ["--max-memory", "500M"], ["6005 inputs x 6008 outputs", "500.0 MiB", "smaller --vector-size"]),
])
def test_a_very_wide_repaint_is_refused(hyper_run, vector_size, args, words):
    _one_line(run_cli_capped(CAP, "evaluate", hyper_run, "--vector-size", vector_size, "--lengths", 2, *args), *words)


def test_a_wide_repaint_that_fits_runs(hyper_run):
    r = run_cli_capped(CAP, "evaluate", hyper_run, "--vector-size", 300, "--lengths", 2, "--episodes", 2)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args,words", [
    (["--cells", "100000", "--width", "1000"], ["memory 100000 x 1000", "half of this"]),
    (["--model", "lstm", "--hidden-size", "100000"], ["lstm (hidden 100000 x 3)"]),
    (["--batch-size", "100000", "--max-length", "1000"], ["batches of 100000 episodes"]),
    (["--max-memory", "10M"], ["over the limit of 10.0 MiB (--max-memory)"]),
])
def test_training_too_large_is_refused_before_the_run_directory_exists(tmp_path, args, words):
    _one_line(run_cli_capped(CAP, "train", *args, "--run-dir", tmp_path / "run"), "needs about", *words)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,words", [(["--population", "10000000"], ["population of 10000000"]),
                                        (["--episodes", "10000000", "--population", "4"], ["on 10000000 episodes"])])
def test_bench_too_large_is_refused(args, words):
    _one_line(run_cli_capped(CAP, "bench", "--repeats", "1", *args), "needs about", *words)
