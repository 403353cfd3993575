"""The environment failing (issue 22, item 8): a read-only run directory, a full disk, a closed pipe, Ctrl-C at
start-up, a stale Ray address, a killed driver.  One line (or silence for a closed pipe), the documented exit
status (docs/commands.md, "Exit status"), no traceback, every file as it was."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from helpers import (
    descendants,
    run_cli,
    run_entm_on_faulty_disk,
    small_evolution_run,
    subprocess_env,
)

from entm import runs


def _files(d):
    return {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}


def _one_line(r, status, *words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == status, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("entm: error: ") and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("env") / "run", task_params={"vector_size": 2},
                               generations=2, episodes=2)


@pytest.mark.parametrize("kind,words", [("EROFS", ["Read-only file system"]),
                                        ("ENOSPC", ["No space left on device"])])
@pytest.mark.parametrize("command", [["resume", "{run}", "--generations", "4", "--serial", "--quiet"],
                                     ["plot", "fitness", "{run}", "-o", "{run}/plots/f.png"],
                                     ["export", "{run}", "-o", "{run}/metrics.csv"]])
def test_a_failing_disk_is_one_line_and_files_stay_whole(run, tmp_path, kind, words, command):
    import shutil

    d = tmp_path / "run"
    shutil.copytree(run, d)
    before = _files(d)
    args = [a.replace("{run}", str(d)) for a in command]
    r = run_entm_on_faulty_disk(kind, d, *args)
    _one_line(r, 74, str(d), *words)
    assert _files(d) == before


def test_a_full_disk_at_the_start_leaves_a_directory_evolve_reuses(tmp_path):
    d = tmp_path / "new"
    args = ["evolve", "--vector-size", "2", "--generations", "1", "--episodes", "2", "--serial", "--quiet",
            "--run-dir", d]
    _one_line(run_entm_on_faulty_disk("ENOSPC", d, *args), 74, "config.ini", "No space left on device")
    assert not d.exists() or list(d.iterdir()) == []
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr


def _closed_pipe(*args) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # the reader left before the first byte
    try:
        return subprocess.run([sys.executable, "-m", "entm", *map(str, args)], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=subprocess_env(), timeout=300, check=False)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["tasks"], ["evaluate", "{run}", "--lengths", "1,2", "--json"],
                                  ["evaluate", "{run}", "--lengths", "1"], ["compare", "{run}", "--lengths", "1",
                                                                            "--quiet"],
                                  ["export", "{run}"]])
def test_a_closed_pipe_is_silence_and_status_141(run, args):
    r = _closed_pipe(*[str(a).replace("{run}", str(run)) for a in args])
    assert r.returncode == 141, r.stderr
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
@pytest.mark.parametrize("command", [["evolve", "--serial", "--vector-size", "2", "--generations", "500"],
                                     ["train", "--model", "lstm", "--hidden-size", "8", "--layers", "1",
                                      "--vector-size", "2", "--steps", "100000", "--no-compile"]])
def test_ctrl_c_at_start_up_is_one_line_and_130(tmp_path, delay, command):
    d = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "entm", *command, "--quiet", "--run-dir", str(d)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
                         start_new_session=True)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "entm: interrupted", err
    if (d / runs.RUN_FILE).exists():  # it got as far as starting the run: resumable, whatever it had done
        r = run_cli("resume", d, "--quiet", *(["--serial", "--generations", "1"] if command[0] == "evolve"
                                               else ["--steps", "2"]))
        assert r.returncode in (0, 2) and "Traceback" not in r.stderr, r.stderr


_DROPPED = """
import ctypes, os, signal, sys
from entm import interrupts
if sys.argv[1] == "install":
    interrupts.install()

@ctypes.CFUNCTYPE(None)
def callback():  # Python called from C: an exception raised in it is reported and dropped
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(100000):  # the handler runs here, between two bytecodes
        pass

callback()
print("went on", flush=True)
sys.argv = ["entm", *sys.argv[2:]]
from entm.cli import run
run()
"""


def test_a_ctrl_c_python_drops_is_not_lost(tmp_path):
    """SIGINT landing in a callback called from C (numba's loader, importlib's weakref callbacks): Python
    drops the KeyboardInterrupt ("Exception ignored").  Installed (as `python -m entm` does), it is raised
    at the next safe point: the run does not start, one line, 130.  The control shows the drop is real."""
    d = tmp_path / "run"
    cmd = ["evolve", "--serial", "--vector-size", "2", "--generations", "1", "--quiet", "--run-dir", str(d)]
    r = subprocess.run([sys.executable, "-c", _DROPPED, "install", *cmd], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    assert r.returncode == 130 and "went on" in r.stdout, (r.returncode, r.stderr)
    assert r.stderr.strip().splitlines() == ["entm: interrupted"], r.stderr
    assert not d.exists()
    control = subprocess.run([sys.executable, "-c", _DROPPED, "bare", "tasks"], capture_output=True, text=True,
                             env=subprocess_env(), timeout=300)
    assert control.returncode == 0 and "Exception ignored" in control.stderr, (control.returncode, control.stderr)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("how", ["file", "environment"])
def test_ray_address_auto_with_a_stale_address_fails_in_one_line(tmp_path, how):
    env = subprocess_env(RAY_TMPDIR=str(tmp_path))
    env.pop("RAY_ADDRESS", None)
    stale = f"127.0.0.1:{_dead_port()}"
    if how == "file":
        (tmp_path / "ray").mkdir()
        (tmp_path / "ray" / "ray_current_cluster").write_text(stale + "\n")
    else:
        env["RAY_ADDRESS"] = stale
    r = run_cli("evolve", "--ray-address", "auto", "--vector-size", "2", "--generations", "1", "--run-dir",
                tmp_path / "run", "--quiet", env=env, timeout=60)
    _one_line(r, 2, "--ray-address auto resolved to " + stale, "cannot reach")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_killed_driver_leaves_no_ray_processes(tmp_path):
    d = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "entm", "evolve", "--workers", "1", "--vector-size", "2",
                          "--generations", "1000", "--run-dir", str(d), "--quiet"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=subprocess_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not runs.read_metrics(d) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert runs.read_metrics(d), "the run never finished a generation"
        ray_processes = [pid for pid in descendants(p.pid) if _cmdline(pid) and "ray_reaper" not in _cmdline(pid)]
        assert ray_processes
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 60
    while [pid for pid in ray_processes if _cmdline(pid)] and time.monotonic() < deadline:
        time.sleep(1)
    assert [(pid, _cmdline(pid)) for pid in ray_processes if _cmdline(pid)] == []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""
