"""The `entm` command line, run for real in subprocesses."""

import json

import pytest

from entm.champion import evaluate_lengths, load_champion


def test_evaluate_hand_built_copier_is_perfect(cli, fixtures):
    r = cli("evaluate", fixtures / "copy_handbuilt_v2.json", "--lengths", "1,10,100,1000", "--json",
            "--episodes", "10")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # exactly one JSON object
    assert out["task"] == "copy" and out["memory"] == "discrete"
    assert list(out["lengths"]) == ["1", "10", "100", "1000"]
    for L, v in out["lengths"].items():
        assert set(v) == {"score", "perfect", "bit_errors", "episodes"}
        assert v["perfect"] == 1.0 and v["bit_errors"] == 0.0 and v["episodes"] == 10, L
        assert v["score"] == pytest.approx(1.0, abs=1e-12)


def test_evaluate_hand_built_copier_python_api(fixtures):
    for V in (2, 8):
        champ = load_champion(fixtures / f"copy_handbuilt_v{V}.json")
        res = evaluate_lengths(champ.machine, champ.network, [1, 10, 100, 1000], episodes=5, seed=3)
        assert all(v["perfect"] == 1.0 for v in res.values()), res


def test_evaluate_table_and_tasks(cli, fixtures):
    r = cli("evaluate", fixtures / "copy_handbuilt_v2.json", "--lengths", "5")
    assert r.returncode == 0 and "length" in r.stdout and "1.0000" in r.stdout
    r = cli("tasks")
    assert r.returncode == 0 and "copy:" in r.stdout and "vector_size" in r.stdout


def _one_line_error(r, *words):
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and lines[0].startswith("entm")
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_bad_champions(cli, fixtures, tmp_path):
    good = (fixtures / "copy_handbuilt_v2.json").read_text()
    trunc = tmp_path / "trunc.json"
    trunc.write_text(good[: len(good) // 2])
    _one_line_error(cli("evaluate", trunc), "trunc.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    _one_line_error(cli("evaluate", garbage), "garbage.json")
    data = json.loads(good)
    del data["metadata"]["entm"]["memory"]
    nometa = tmp_path / "nometa.json"
    nometa.write_text(json.dumps(data))
    _one_line_error(cli("evaluate", nometa), "memory")
    data = json.loads(good)
    data["metadata"]["entm"]["task_params"]["vector_size"] = 3  # sizes no longer fit
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(data))
    _one_line_error(cli("evaluate", wrong), "needs")
    _one_line_error(cli("evaluate", tmp_path / "missing.json"), "missing.json")
    _one_line_error(cli("evaluate", tmp_path), "champion.json")
    for f in (trunc, garbage, nometa, wrong):  # nothing was changed
        assert f.exists()
    assert trunc.read_text() == good[: len(good) // 2]


def test_bad_lengths_and_options(cli, fixtures):
    champ = fixtures / "copy_handbuilt_v2.json"
    _one_line_error(cli("evaluate", champ, "--lengths", "0"), "length")
    _one_line_error(cli("evaluate", champ, "--lengths", "10,x"), "'x'")
    _one_line_error(cli("evaluate", champ, "--episodes", "0"), "episodes")
    _one_line_error(cli("evolve", "--task", "kopy", "--run-dir", "/nonexistent/never"), "unknown task")
    _one_line_error(cli("evolve", "--bogus"), "--bogus")
    _one_line_error(cli("evolve", "--vector-size", "0", "--run-dir", "/nonexistent/never"), "vector_size")


def test_bad_configs(cli, tmp_path):
    from entm.neatconfig import default_config_path

    text = default_config_path("copy", "discrete").read_text()
    missing = tmp_path / "missing_key.ini"
    import re

    stripped, n = re.subn(r"(?m)^conn_add_prob\s*=.*\n", "", text)
    assert n == 1
    missing.write_text(stripped)
    run_dir = tmp_path / "run"
    _one_line_error(cli("evolve", "--config", missing, "--vector-size", "8", "--generations", "1", "--run-dir",
                        run_dir), "conn_add_prob")
    assert not run_dir.exists()
    # the shipped file has 8-bit sizes (21 inputs, 24 outputs); 2-bit copy needs 9 and 12
    r = cli("evolve", "--config", default_config_path("copy", "discrete"), "--vector-size", "2", "--run-dir", run_dir)
    _one_line_error(r, "num_inputs = 21", "9 inputs", "12 outputs")
    assert not run_dir.exists()
    nosection = tmp_path / "nosection.ini"
    nosection.write_text(text.replace("[DefaultSpeciesSet]", "[Nothing]"))
    _one_line_error(cli("evolve", "--config", nosection, "--run-dir", run_dir), "nosection.ini")
    _one_line_error(cli("evolve", "--config", tmp_path / "absent.ini", "--run-dir", run_dir), "absent.ini")


def test_existing_run_dir_is_not_touched(cli, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("precious\n")
    _one_line_error(cli("evolve", "--vector-size", "2", "--generations", "1", "--run-dir", run_dir), "already exists")
    assert (run_dir / "metrics.jsonl").read_text() == "precious\n"


def test_bench_json_smoke(cli):
    """`entm bench --json` runs end to end on a tiny population (figures, not timing assertions)."""
    for memory in ("discrete", "differentiable"):
        r = cli("bench", "--json", "--population", "4", "--episodes", "3", "--repeats", "1", "--vector-size", "2",
                "--memory", memory)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert {"steps_per_second", "plain_steps_per_second", "ratio", "workers"} <= set(out)
        assert out["memory"] == memory and out["workers"] == 1 and out["genome_steps"] > 0
        assert out["plain_genome_steps"] > 0 and out["ratio"] > 0
