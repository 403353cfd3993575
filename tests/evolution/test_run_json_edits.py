"""A resumed evolution run's run.json, edited to a value of the wrong type or range (issue 22, item 6): one
line naming the file and the field, exit status 2, every file of the run byte-identical."""

import json

import pytest
from helpers import main_error, small_evolution_run

from entm import runs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_evolution_run(tmp_path_factory.mktemp("edits") / "run", task_params={"vector_size": 2},
                               generations=1, episodes=2)


@pytest.mark.parametrize("field,value", [
    ("seed", -1), ("seed", "abc"), ("seed", 1.5), ("generations", -5), ("generations", "x"), ("checkpoint_every", 0),
    ("checkpoint_every", "a"), ("workers", -1), ("workers", "many"), ("minutes", -1), ("minutes", "x"),
    ("minutes", "NaN"), ("evaluator", "gpu"), ("ray_address", ""), ("ray_verbose", "x"), ("heads", True),
    ("episodes", 2.5), ("episodes", 0), ("stop_when_solved", "maybe"), ("task_params", [1]), ("config", 5),
    ("controller", "lstm"),
])
def test_an_edited_field_is_one_line_and_nothing_is_written(run, tmp_path, capsys, field, value):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(run, edited)
    record = json.loads((edited / runs.RUN_FILE).read_text())
    record[field] = value
    (edited / runs.RUN_FILE).write_text(json.dumps(record))
    before = {p: p.read_bytes() for p in edited.rglob("*") if p.is_file()}
    main_error(capsys, "resume", edited, "--serial", "--generations", "3", "--quiet",
               words=[str(edited / runs.RUN_FILE), field, repr(value)])
    assert before == {p: p.read_bytes() for p in edited.rglob("*") if p.is_file()}
