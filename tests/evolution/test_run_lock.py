"""One process at a time in a run directory: an OS lock on the directory, which dies with its holder."""

import json
import signal
import subprocess
import sys
import time

from helpers import main_error, subprocess_env

from entm import runs


def _start_run(run_dir):
    return subprocess.Popen([sys.executable, "-m", "entm", "evolve", "--serial", "--quiet", "--vector-size", "8",
                             "--minutes", "5", "--no-stop-when-solved", "--checkpoint-every", "1", "--run-dir",
                             str(run_dir)], env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_generations(run_dir, n, proc, timeout=120):
    t0 = time.time()
    while len(runs.read_metrics(run_dir)) < n:
        assert proc.poll() is None and time.time() - t0 < timeout, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.1)


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path, capsys):
    run_dir = tmp_path / "run"
    proc = _start_run(run_dir)
    try:
        _wait_for_generations(run_dir, 2, proc)
        for args in (("resume", run_dir, "--serial"), ("resume", run_dir, "--serial", "--generations", "3")):
            err = main_error(capsys, *args, words=["in use by another entm process", f"pid {proc.pid}"])
            assert str(run_dir) in err
        assert proc.poll() is None  # the run goes on undisturbed
        _wait_for_generations(run_dir, len(runs.read_metrics(run_dir)) + 2, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    gens = [m["generation"] for m in runs.read_metrics(run_dir)]
    assert gens == list(range(len(gens)))  # one writer: no duplicated or lost generations


def test_the_lock_dies_with_its_holder(tmp_path, capsys):
    """A SIGKILLed run leaves no lock behind: resume works at once."""
    run_dir = tmp_path / "run"
    proc = _start_run(run_dir)
    try:
        _wait_for_generations(run_dir, 2, proc)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    from entm.cli import main

    target = len(runs.read_metrics(run_dir)) + 2
    assert main(["resume", str(run_dir), "--serial", "--quiet", "--generations", str(target)]) == 0
    capsys.readouterr()
    gens = [m["generation"] for m in runs.read_metrics(run_dir)]
    assert gens == list(range(target))
    assert json.loads((run_dir / "run.json").read_text())["kind"] == "evolution"
