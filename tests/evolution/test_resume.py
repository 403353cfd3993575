"""Exact checkpoint and resume: an interrupted run, resumed, ends where the uninterrupted run ends."""

import os
import signal
import time

import pytest

from entm import runs
from entm.evolution import checkpoint
from helpers import comparable_champion, comparable_metrics, main_error, run_main, start_entm_with_slow_checkpoints

GENS = 12
ARGS = ["--vector-size", "2", "--seed", "5", "--episodes", "20", "--no-stop-when-solved", "--quiet",
        "--checkpoint-every", "2"]


def _start(run_dir, *extra, delay=0.2):
    """The run to interrupt; each checkpoint write is held half-done for ``delay`` seconds
    (fault injection, test-side: helpers.start_entm_with_slow_checkpoints), which also leaves the test time
    to interrupt it before it ends."""
    return start_entm_with_slow_checkpoints(delay, "evolve", *ARGS, "--generations", GENS, "--run-dir", run_dir,
                                            *extra)


def _kill(p):
    """SIGKILL the driver and everything in its process group (an embedded Ray's processes too)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def _run_until(run_dir, until, *extra):
    """Start the run, wait until ``until()`` holds, then SIGKILL it."""
    p = _start(run_dir, *extra)
    assert _wait_for(until)
    _kill(p)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same run, never interrupted (serial)."""
    d = tmp_path_factory.mktemp("ref") / "run"
    p = _start(d, "--serial", delay=0)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    return d


def _wait_for(pred, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def _assert_same(run_dir, reference):
    m = runs.read_metrics(run_dir)
    assert [x["generation"] for x in m] == list(range(GENS))  # no duplicated or missing generation
    assert comparable_metrics(run_dir) == comparable_metrics(reference)
    assert comparable_champion(run_dir) == comparable_champion(reference)


def _resume(cli, run_dir, *extra):
    r = cli("resume", run_dir, "--quiet", *extra, timeout=600)
    assert r.returncode == 0, r.stderr
    return r


def test_sigkill_after_a_checkpoint_then_resume(cli, tmp_path, reference):
    d = tmp_path / "run"
    _run_until(d, lambda: len(checkpoint.list_checkpoints(d)) >= 2 and len(runs.read_metrics(d)) >= 5,
               "--serial")
    assert len(runs.read_metrics(d)) < GENS, "the run finished before it was killed"
    _resume(cli, d, "--serial")
    _assert_same(d, reference)


def test_sigkill_while_writing_a_checkpoint(cli, tmp_path, reference):
    """Killed in the middle of writing a checkpoint (the test holds each write half-done for a while):
    the half-written temporary file is ignored."""
    d = tmp_path / "run"
    p = _start(d, "--serial", delay=0.5)
    ck = d / "checkpoints"

    def mid_write():
        return ck.is_dir() and len(checkpoint.list_checkpoints(d)) >= 1 and \
            any(f.name.endswith(".fault.tmp") for f in ck.iterdir())

    seen = _wait_for(lambda: p.poll() is not None or mid_write(), timeout=300)
    _kill(p)
    assert seen and p.returncode == -signal.SIGKILL
    assert any(f.name.endswith(".tmp") for f in ck.iterdir())  # the torn write is still there
    _resume(cli, d, "--serial")
    _assert_same(d, reference)


@pytest.mark.slow
def test_resume_with_ray_workers(cli, tmp_path, reference):
    d = tmp_path / "run"
    _run_until(d, lambda: len(checkpoint.list_checkpoints(d)) >= 1 and len(runs.read_metrics(d)) >= 3,
               "--workers", "2")
    _resume(cli, d, "--workers", "2")
    _assert_same(d, reference)


def test_corrupted_checkpoint_falls_back_to_the_previous(cli, tmp_path, reference):
    d = tmp_path / "run"
    _run_until(d, lambda: len(checkpoint.list_checkpoints(d)) >= 3, "--serial")
    files = checkpoint.list_checkpoints(d)
    newest = files[-1]
    newest.write_bytes(newest.read_bytes()[:50])  # truncated
    r = _resume(cli, d, "--serial")
    assert f"skipping unreadable checkpoint {newest}" in r.stderr
    _assert_same(d, reference)


def test_no_valid_checkpoint_is_an_error_and_changes_nothing(capsys, tmp_path, reference):
    d = tmp_path / "run"
    _run_until(d, lambda: len(checkpoint.list_checkpoints(d)) >= 2, "--serial")
    for f in checkpoint.list_checkpoints(d):
        f.write_bytes(b"garbage")
    before = {f: f.read_bytes() for f in d.rglob("*") if f.is_file()}
    status, _, err = run_main(capsys, "resume", d, "--serial", "--quiet")  # warnings first, then the error
    assert status == 2 and "no valid checkpoint" in err
    assert len([line for line in err.splitlines() if line.startswith("entm: error")]) == 1
    after = {f: f.read_bytes() for f in d.rglob("*") if f.is_file()}
    assert before == after
    main_error(capsys, "resume", tmp_path / "nope", words=["not a run directory"])


def test_sigint_checkpoints_and_exits_130(cli, tmp_path, reference):
    d = tmp_path / "run"
    p = _start(d, "--serial", "--checkpoint-every", "3")
    assert _wait_for(lambda: len(runs.read_metrics(d)) >= 4)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "entm resume" in err and "Traceback" not in err
    assert checkpoint.list_checkpoints(d)
    _resume(cli, d, "--serial")
    _assert_same(d, reference)


def test_finished_run_has_nothing_to_resume(capsys, reference):
    main_error(capsys, "resume", reference, "--serial", words=["nothing to resume"])


def test_resume_raises_the_budget(cli, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, gens in ((a, 3), (b, 5)):
        r = cli("evolve", *ARGS, "--serial", "--generations", str(gens), "--run-dir", d)
        assert r.returncode == 0, r.stderr
    _resume(cli, a, "--serial", "--generations", "5")
    assert comparable_metrics(a) == comparable_metrics(b)
    assert comparable_champion(a) == comparable_champion(b)


def test_checkpoints_keep_the_living_generations_ancestry_only(reference):
    """neat-python records the parents of every genome it ever made and never reads the record: each
    checkpoint keeps the living generation's entries only, so it does not grow with the generations (the
    runs resumed from these checkpoints above end where the uninterrupted one does)."""
    paths = checkpoint.list_checkpoints(reference)
    assert len(paths) >= 2
    for path in paths:
        payload = checkpoint._read(path)
        assert set(payload["reproduction"].ancestors) == set(payload["population"])
        made = payload["counters"]["genome_indexer"] - 1  # the genome keys handed out so far
        assert payload["generation"] < 2 or made > len(payload["population"])  # so entries were dropped
