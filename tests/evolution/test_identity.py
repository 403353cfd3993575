"""A run knows its identity (settings, config text, seed): resume refuses a run.json or config.ini edited since
the start, or a checkpoint of another run, before anything is written."""

import json
import shutil

from helpers import comparable_champion, comparable_metrics, main_error, replace_once

from entm import runs
from entm.cli import main


def _run(tmp_path, name, seed, generations=2):
    d = tmp_path / name
    assert main(["evolve", "--serial", "--quiet", "--vector-size", "2", "--seed", str(seed), "--generations",
                 str(generations), "--checkpoint-every", "1", "--no-stop-when-solved", "--run-dir", str(d)]) == 0
    return d


def _files(d):
    return {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}


def test_identity_is_recorded_and_resume_accepts_an_unchanged_run(tmp_path, capsys):
    d = _run(tmp_path, "a", seed=1)
    record = json.loads((d / "run.json").read_text())
    assert record["identity"] == runs.run_identity(record, (d / "config.ini").read_text())
    assert main(["resume", str(d), "--serial", "--quiet", "--generations", "3"]) == 0
    capsys.readouterr()
    assert len(runs.read_metrics(d)) == 3


def test_edited_run_json_or_config_is_refused_untouched(tmp_path, capsys):
    d = _run(tmp_path, "a", seed=1)
    for edit in ("seed", "task_params", "config"):
        e = tmp_path / f"edited-{edit}"
        shutil.copytree(d, e)
        if edit == "config":
            p = e / "config.ini"
            p.write_text(replace_once(p.read_text(), "pop_size", "pop_size = 90\n#"))
        else:
            record = json.loads((e / "run.json").read_text())
            if edit == "seed":
                record["seed"] = 7
            else:
                record["task_params"]["max_length"] = 12
            (e / "run.json").write_text(json.dumps(record))
        before = _files(e)
        main_error(capsys, "resume", e, "--serial", "--generations", "4",
                   words=["run.json or config.ini changed since the run started"])
        assert _files(e) == before


def test_a_checkpoint_of_another_run_is_refused_untouched(tmp_path, capsys):
    a = _run(tmp_path, "a", seed=1)
    b = _run(tmp_path, "b", seed=2, generations=4)  # its checkpoints are newer than a's
    newest = sorted((b / "checkpoints").iterdir())[-1]
    shutil.copy(newest, a / "checkpoints" / newest.name)
    before = _files(a)
    main_error(capsys, "resume", a, "--serial", "--generations", "6", words=["belongs to another run", newest.name])
    assert _files(a) == before


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_generation_0(tmp_path, capsys):
    """No dead end: without checkpoints (killed before the first one was written), resume starts the run
    again at generation 0, and the result is exactly the uninterrupted run's."""
    whole = _run(tmp_path, "whole", seed=4, generations=3)
    cut = _run(tmp_path, "cut", seed=4, generations=3)
    shutil.rmtree(cut / "checkpoints")
    lines = (cut / "metrics.jsonl").read_text().splitlines(keepends=True)
    (cut / "metrics.jsonl").write_text("".join(lines[:1]))  # what a run killed during generation 1 leaves
    assert main(["resume", str(cut), "--serial", "--quiet"]) == 0
    capsys.readouterr()
    assert comparable_metrics(cut) == comparable_metrics(whole)
    assert comparable_champion(cut) == comparable_champion(whole)
