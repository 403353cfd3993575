"""`entm export RUN [-o FILE.csv]` and `entm.analysis.export.flat_metrics`: a run's metrics.jsonl as flat
rows (what `pandas.DataFrame(flat_metrics(run))` or `pandas.read_csv` reads), over real runs."""

import csv
import io

import pytest
from entm.analysis.export import flat_metrics, flatten
from helpers import main_error, run_main, small_evolution_run

from entm import runs as run_files
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.baseline.train import train
from entm.errors import EntmError


@pytest.fixture(scope="module")
def hyper(tmp_path_factory):
    """A real hyper-encoding run of 2-bit copy (3 generations)."""
    return small_evolution_run(tmp_path_factory.mktemp("export") / "hyper", task_params={"vector_size": 2},
                               generations=3, encoding="hyper")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real (tiny) trained LSTM on 2-bit copy, reporting every 2 of its 6 steps."""
    run = tmp_path_factory.mktemp("export") / "lstm"
    train(TrainSettings(task="copy", task_params={"vector_size": 2, "max_length": 3},
                        architecture=ModelSettings(model="lstm", hidden_size=8), batch_size=2, steps=6,
                        report_every=2, checkpoint_every=6, test_sequences=4, compile=False, run_dir=str(run)),
          progress=False)
    return run


def _flat_values(rows):
    return [v for r in rows for v in r.values()]


def test_flat_metrics_of_an_evolution_run(hyper):
    metrics = run_files.read_metrics(hyper)
    rows = flat_metrics(hyper)
    assert len(rows) == len(metrics) == 3
    assert not any(isinstance(v, (dict, list, tuple)) for v in _flat_values(rows))
    for m, r in zip(metrics, rows):
        assert (r["best_size.nodes"], r["best_size.connections"]) == tuple(m["best_size"])
        assert (r["best_cppn_size.nodes"], r["best_cppn_size.connections"]) == tuple(m["best_cppn_size"])
        assert {k: r[f"best_terms.{k}"] for k in m["best_terms"]} == m["best_terms"]
        assert "best_terms.recall" in r
        plain = {k: v for k, v in m.items() if not isinstance(v, (dict, list))}
        assert {k: r[k] for k in plain} == plain


def test_lists_without_names_are_split_by_position():
    assert flatten({"a": {"b": [1, 2, 3]}, "best_size": [4, 5], "c": None}) == {
        "a.b.0": 1, "a.b.1": 2, "a.b.2": 3, "best_size.nodes": 4, "best_size.connections": 5, "c": None}
    assert flatten({"best_size": [1, 2, 3]}) == {"best_size.0": 1, "best_size.1": 2, "best_size.2": 3}


def test_export_command_writes_csv_to_stdout_or_a_file(hyper, tmp_path, capsys):
    status, out, err = run_main(capsys, "export", hyper)
    assert status == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    rows = flat_metrics(hyper)
    header = out.splitlines()[0].split(",")
    assert header[0] == "generation" and set(header) == set(rows[0])
    assert len(table) == len(rows)
    for line, row in zip(table, rows):
        for k, v in row.items():
            if isinstance(v, bool):
                assert line[k] == str(v)
            elif isinstance(v, (int, float)):
                assert float(line[k]) == v, k  # floats written exactly (shortest round-trip)
    out_file = tmp_path / "sub" / "m.csv"
    status, out, err = run_main(capsys, "export", hyper, "-o", out_file)
    assert status == 0, err
    assert out.strip() == str(out_file)
    assert list(csv.DictReader(out_file.open())) == table


def test_export_of_a_training_run(trained, capsys):
    metrics = run_files.read_metrics(trained)
    status, out, err = run_main(capsys, "export", trained)
    assert status == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == len(metrics) == 3
    assert out.splitlines()[0].split(",")[:2] == ["step", "sequences"]
    assert [int(r["step"]) for r in table] == [m["step"] for m in metrics]
    assert [float(r["loss"]) for r in table] == [m["loss"] for m in metrics]


def test_export_errors_are_one_line_and_write_nothing(hyper, fixtures, tmp_path, capsys):
    main_error(capsys, "export", fixtures / "copy_handbuilt_v2.json", words=("run directory", "champion file"))
    main_error(capsys, "export", tmp_path / "nothing", words=("no such run directory",))
    main_error(capsys, "export", hyper, "-o", tmp_path, words=("is a directory",))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "run.json").write_text((hyper / "run.json").read_text())
    (empty / "champion.json").write_text((hyper / "champion.json").read_text())
    main_error(capsys, "export", empty, "-o", tmp_path / "x.csv", words=("no metrics",))
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(EntmError, match="no metrics"):
        flat_metrics(empty)
