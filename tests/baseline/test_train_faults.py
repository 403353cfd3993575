"""Training runs that are not what they claim, or never got to a checkpoint (issue 22): a checkpoint of another
architecture is skipped with a warning, a run killed before its first checkpoint resumes from step 0 exactly
as the uninterrupted run, an edited run.json is one line and nothing written."""

import json
import shutil

import pytest
import torch
from helpers import main_error, run_main

from entm import runs
from entm.baseline import checkpoint
from entm.baseline.model import build_model
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.baseline.train import resume, train

COPY = {"vector_size": 4, "min_length": 1, "max_length": 4}
NTM = ModelSettings(model="ntm", controller="lstm", hidden_size=16, cells=12, width=6)
LSTM = ModelSettings(model="lstm", hidden_size=16, layers=2)


def _settings(tmp_path, name, **kw):
    base = dict(task="copy", task_params=COPY, architecture=NTM, batch_size=4, steps=9, report_every=3,
                checkpoint_every=4, test_sequences=20, compile=False, run_dir=str(tmp_path / name))
    base.update(kw)
    return TrainSettings(**base)


def _comparable(run_dir):
    return [{k: v for k, v in m.items() if k not in ("seconds", "cpu_seconds")} for m in runs.read_metrics(run_dir)]


def _params(run_dir):
    return torch.load(run_dir / checkpoint.MODEL_FILE, weights_only=True)["state_dict"]


def _files(run_dir):
    return {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


@pytest.mark.parametrize("arch", [NTM, LSTM])
def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path, arch):
    full = train(_settings(tmp_path, "full", architecture=arch), progress=False)
    # the same run, killed after its first metrics line but before its first checkpoint was written
    killed = train(_settings(tmp_path, "killed", architecture=arch), progress=False).run_dir
    shutil.rmtree(killed / runs.CHECKPOINT_DIR)
    (killed / checkpoint.MODEL_FILE).unlink()
    lines = (killed / runs.METRICS_FILE).read_text().splitlines(keepends=True)
    (killed / runs.METRICS_FILE).write_text(lines[0])
    resumed = resume(killed, progress=False)
    assert resumed.steps == full.steps == 9
    assert _comparable(killed) == _comparable(full.run_dir)
    a, b = _params(full.run_dir), _params(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_of_another_architecture_is_skipped_with_a_warning(tmp_path, capsys):
    own = train(_settings(tmp_path, "own"), progress=False).run_dir
    other = train(_settings(tmp_path, "other", architecture=LSTM, steps=12), progress=False).run_dir
    foreign = checkpoint.list_checkpoints(other)[-1]  # step 12: newer than any of own's
    shutil.copy(foreign, own / runs.CHECKPOINT_DIR / foreign.name)
    warnings = []
    model_of_own = build_model(NTM.resolved(), 6, 4, 0)
    payload = checkpoint.load_latest(own, "cpu", warn=warnings.append, fits=model_of_own)
    assert payload["state"]["step"] == 9
    assert len(warnings) == 1 and "another architecture" in warnings[0] and foreign.name in warnings[0]
    capsys.readouterr()
    r = resume(own, steps=12, progress=False)
    assert r.steps == 12 and "another architecture" in capsys.readouterr().err
    # every checkpoint of another architecture: one line, nothing written
    mixed = tmp_path / "mixed"
    shutil.copytree(other, mixed)
    record = json.loads((own / runs.RUN_FILE).read_text())
    record["run_dir"], record["steps"] = str(mixed), 20
    (mixed / runs.RUN_FILE).write_text(json.dumps(record))
    before = _files(mixed)
    status, _, err = run_main(capsys, "resume", mixed, "--quiet")
    assert status == 2 and "Traceback" not in err
    assert [line.split(":")[1] for line in err.splitlines()] == [" warning"] * 3 + [" error"], err
    assert "of another architecture" in err and "no valid checkpoint" in err
    assert _files(mixed) == before


@pytest.mark.parametrize("field,value,words", [
    ("seed", -1, ["run.json", "--seed", "-1"]), ("seed", "x", ["run.json", "'x'"]),
    ("batch_size", 0, ["run.json", "batch-size"]), ("checkpoint_every", "often", ["run.json", "checkpoint-every"]),
    ("steps", -4, ["run.json", "steps", "-4"]), ("lr", "fast", ["run.json", "--lr"]),
    ("optimizer", "sgd", ["run.json", "optimizer"]), ("architecture", {"model": "ntm", "cells": 0},
                                                     ["run.json", "cells"]),
    ("minutes", "soon", ["run.json"]), ("unexpected", 1, None),
])
def test_an_edited_training_run_json_is_one_line_and_nothing_written(tmp_path, capsys, field, value, words):
    run = train(_settings(tmp_path, "run", steps=4), progress=False).run_dir
    record = json.loads((run / runs.RUN_FILE).read_text())
    record[field] = value
    (run / runs.RUN_FILE).write_text(json.dumps(record))
    before = _files(run)
    if words is None:  # an unknown key is not a setting: resume still reads the run (and finds it finished)
        main_error(capsys, "resume", run, "--quiet", words=["nothing to resume"])
    else:
        main_error(capsys, "resume", run, "--steps", "8", "--quiet", words=words)
    assert _files(run) == before
