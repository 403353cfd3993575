"""The `entm` command line: as a user runs it (subprocesses: the entry point, stdout and stderr), and its
error handling through `entm.cli.main` in this process."""

import json
from importlib import metadata

import numpy as np
import pytest

from entm.champion import evaluate_lengths, load_champion
from entm.closed_loop import evaluate_deployments
from entm.cli import build_parser, main
from entm.cli_analysis import PLOT_KINDS, PLOT_VIEWS
from entm.cli_help import view_prefix
from entm.neatconfig import default_config_path
from helpers import assert_one_line_error, main_error, replace_once, run_main, sub_once


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


def test_evaluate_terms_gives_the_shaping_terms_of_fresh_episodes(capsys, fixtures, tmp_path):
    """--terms: the task's shaping terms beside the score (the hand-built copier earns every one), as columns
    of the table and a "terms" object in the JSON; a reward task gives its fitness terms."""
    champ = fixtures / "copy_handbuilt_v2.json"
    status, out, _ = run_main(capsys, "evaluate", champ, "--lengths", "5,30", "--episodes", "8", "--terms", "--json")
    lengths = json.loads(out)["lengths"]
    assert status == 0 and set(lengths) == {"5", "30"}
    for v in lengths.values():
        assert v["perfect"] == 1.0 and set(v["terms"]) == {"recall", "alignment", "writes", "jumps"}
        assert all(t == pytest.approx(1.0) for t in v["terms"].values())
    status, out, _ = run_main(capsys, "evaluate", champ, "--lengths", "5", "--terms")
    assert status == 0 and out.splitlines()[1].split()[-4:] == ["recall", "alignment", "writes", "jumps"]
    _, out, _ = run_main(capsys, "evaluate", champ, "--lengths", "5", "--json")
    assert "terms" not in json.loads(out)["lengths"]["5"]
    from entm.evolution.loop import EvolveSettings, evolve

    res = evolve(EvolveSettings(task="tmaze", generations=1, seed=0, episodes=4, evaluator="serial",
                                stop_when_solved=False, run_dir=str(tmp_path / "maze")), progress=False)
    # a reward task's terms are its fitness terms (the maze's "reached"), on the same deployments as the score
    status, out, _ = run_main(capsys, "evaluate", res.run_dir, "--lengths", "3", "--episodes", "4", "--seed", "5",
                              "--terms", "--json")
    v = json.loads(out)["lengths"]["3"]
    champ = load_champion(res.run_dir)
    scores, env = evaluate_deployments(champ.machine, champ.network,
                                       champ.task.sample(np.random.default_rng([5, 3]), 4, length=3))
    assert status == 0 and v["score"] == pytest.approx(float(scores.score.mean()))
    assert v["reward"] == pytest.approx(float(scores.reward.mean()))  # the maze's MazeScores.reward
    assert v["terms"] == {"reached": pytest.approx(float(np.mean(env.reached / env.rounds)))}


def test_evaluate_set_changes_a_task_parameter(capsys, tmp_path):
    """--set PARAM=VALUE: the champion evaluated with that task parameter changed, exactly as the Python API
    with the same override; the JSON's task_params show it; bad items are one-line errors."""
    from entm.evolution.loop import EvolveSettings, evolve

    res = evolve(EvolveSettings(task="tmaze", task_params={"swaps": 3}, generations=1, seed=0, episodes=4,
                                evaluator="serial", stop_when_solved=False, run_dir=str(tmp_path / "maze")),
                 progress=False)
    status, out, _ = run_main(capsys, "evaluate", res.run_dir, "--lengths", "20", "--episodes", "6", "--seed", "5",
                              "--set", "swaps=1", "--set", "switch_spread=2", "--json")
    data = json.loads(out)
    # (a parameter at its default, swaps 1, is left out of task_params, as in run.json)
    assert status == 0 and "swaps" not in data["task_params"] and data["task_params"]["switch_spread"] == 2
    champ = load_champion(res.run_dir, task_overrides={"swaps": 1, "switch_spread": 2})
    scores, _ = evaluate_deployments(champ.machine, champ.network,
                                     champ.task.sample(np.random.default_rng([5, 20]), 6, length=20))
    assert data["lengths"]["20"]["score"] == pytest.approx(float(scores.score.mean()))
    _, out, _ = run_main(capsys, "evaluate", res.run_dir, "--lengths", "20", "--episodes", "6", "--json")
    assert json.loads(out)["task_params"]["swaps"] == 3
    # an empty value for a text parameter: its default (goal_set "": every goal), as the Python API's
    status, out, _ = run_main(capsys, "evaluate", res.run_dir, "--lengths", "20", "--episodes", "6", "--seed", "5",
                              "--set", "goal_set=03", "--json")
    assert status == 0 and json.loads(out)["task_params"]["goal_set"] == "03"
    status, out_all, _ = run_main(capsys, "evaluate", res.run_dir, "--lengths", "20", "--episodes", "6", "--seed",
                                  "5", "--set", "goal_set=", "--json")
    assert status == 0 and "goal_set" not in json.loads(out_all)["task_params"]
    for item, words in (("swaps", ["--set", "'swaps' is not PARAM=VALUE"]),
                        ("swaps=", ["--set", "'swaps=' is not PARAM=VALUE"]),
                        ("goal_set=04", ["goal_set '04' must be two or more different goal digits"]),
                        ("moves=2", ["no parameter 'moves'"]),
                        ("swaps=two", ["--set value 'two' is not an integer"]),
                        ("swaps=0", ["swaps must be at least 1"]),
                        ("maze=single", ["task inputs", "change its inputs or outputs"])):
        main_error(capsys, "evaluate", res.run_dir, "--set", item, words=words)


def test_evaluate_table_and_tasks(capsys, fixtures):
    status, out, _ = run_main(capsys, "evaluate", fixtures / "copy_handbuilt_v2.json", "--lengths", "5")
    assert status == 0 and "length" in out and "1.0000" in out
    status, out, _ = run_main(capsys, "tasks")
    assert status == 0 and "copy:" in out and "vector_size" in out


def test_errors_reach_the_real_command_line_as_one_line(cli, fixtures, tmp_path):
    """The entry point itself: a bad file and a bad option end with one `entm...` line on stderr, exit
    status 2, no traceback (the cases below run `entm.cli.main` in this process)."""
    trunc = tmp_path / "trunc.json"
    trunc.write_text((fixtures / "copy_handbuilt_v2.json").read_text()[:300])
    for args, word in (((trunc,), "trunc.json"), (("--lengths", "0", fixtures / "copy_handbuilt_v2.json"), "length")):
        r = cli("evaluate", *args)
        assert r.stdout == ""
        assert_one_line_error(r.returncode, r.stderr, word)


def test_bad_champions(capsys, fixtures, tmp_path):
    good = (fixtures / "copy_handbuilt_v2.json").read_text()
    trunc = tmp_path / "trunc.json"
    trunc.write_text(good[: len(good) // 2])
    main_error(capsys, "evaluate", trunc, words=["trunc.json"])
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    main_error(capsys, "evaluate", garbage, words=["garbage.json"])
    data = json.loads(good)
    del data["metadata"]["entm"]["memory"]
    nometa = tmp_path / "nometa.json"
    nometa.write_text(json.dumps(data))
    main_error(capsys, "evaluate", nometa, words=["memory"])
    data = json.loads(good)
    data["metadata"]["entm"]["task_params"]["vector_size"] = 3  # sizes no longer fit
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(data))
    main_error(capsys, "evaluate", wrong, words=["needs"])
    main_error(capsys, "evaluate", tmp_path / "missing.json", words=["missing.json"])
    main_error(capsys, "evaluate", tmp_path, words=["champion.json"])
    for f in (trunc, garbage, nometa, wrong):  # nothing was changed
        assert f.exists()
    assert trunc.read_text() == good[: len(good) // 2]


def test_bad_lengths_and_options(capsys, fixtures):
    champ = fixtures / "copy_handbuilt_v2.json"
    main_error(capsys, "evaluate", champ, "--lengths", "0", words=["length"])
    main_error(capsys, "evaluate", champ, "--lengths", "10,x", words=["'x'"])
    main_error(capsys, "evaluate", champ, "--episodes", "0", words=["episodes"])
    main_error(capsys, "evolve", "--task", "kopy", "--run-dir", "/nonexistent/never", words=["unknown task"])
    main_error(capsys, "evolve", "--bogus", words=["--bogus"])
    main_error(capsys, "evolve", "--vector-size", "0", "--run-dir", "/nonexistent/never", words=["vector_size"])


def test_bad_configs(capsys, tmp_path):
    text = default_config_path("copy", "discrete").read_text()
    missing = tmp_path / "missing_key.ini"
    missing.write_text(sub_once(r"^conn_add_prob\s*=.*\n", "", text))
    run_dir = tmp_path / "run"
    main_error(capsys, "evolve", "--config", missing, "--vector-size", "8", "--generations", "1", "--run-dir", run_dir,
               words=["conn_add_prob"])
    assert not run_dir.exists()
    # the shipped file has 8-bit sizes (21 inputs, 24 outputs); 2-bit copy needs 9 and 12
    main_error(capsys, "evolve", "--config", default_config_path("copy", "discrete"), "--vector-size", "2",
               "--run-dir", run_dir, words=["num_inputs = 21", "9 inputs", "12 outputs"])
    assert not run_dir.exists()
    nosection = tmp_path / "nosection.ini"
    nosection.write_text(replace_once(text, "[DefaultSpeciesSet]", "[Nothing]"))
    main_error(capsys, "evolve", "--config", nosection, "--run-dir", run_dir, words=["nosection.ini"])
    main_error(capsys, "evolve", "--config", tmp_path / "absent.ini", "--run-dir", run_dir, words=["absent.ini"])


def test_existing_run_dir_is_not_touched(capsys, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("precious\n")
    main_error(capsys, "evolve", "--vector-size", "2", "--generations", "1", "--run-dir", run_dir,
               words=["already exists"])
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


def test_version_and_error_prefix(cli, capsys):
    """`entm --version` prints the installed version; an argparse error carries `entm: error:` once (with the
    subcommand where it is the subcommand's)."""
    r = cli("--version")
    assert r.returncode == 0 and r.stdout == f"entm {metadata.version('entm')}\n"
    assert main_error(capsys, "--bogus") == "entm: error: unrecognized arguments: --bogus"
    assert main_error(capsys, "evolve", "--generations", "x") == \
        "entm: error: evolve: argument --generations: invalid int value: 'x'"
    assert main_error(capsys, "plot", "graph", "run").startswith("entm: error: plot: argument view: invalid choice")


def _plot_help(capsys, *args) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["plot", *args])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_plot_view_help_is_the_views(capsys):
    """`entm plot VIEW --help` is that view's help: its usage, its description and only the options that apply
    to it (an option whose help starts with "<view>: " belongs to that view); `entm plot --help` lists all."""
    plot = build_parser()._subparsers._group_actions[0].choices["plot"]
    options = [(a.option_strings[-1], view_prefix(a.help, set(PLOT_KINDS))[0]) for a in plot._actions
               if a.option_strings]
    whole = _plot_help(capsys, "--help")
    assert all(opt in whole for opt, _ in options)
    for view in PLOT_KINDS:
        text = _plot_help(capsys, view, "--help")
        assert text.startswith(f"usage: entm plot {view} ")
        assert " ".join(PLOT_VIEWS[view].split()[:4]) in " ".join(text.split())
        for opt, only in options:
            assert (opt in text.split()) == (not only or view in only), (view, opt)
    assert any(only for _, only in options)  # some option is one view's (the test checks something)


def test_evaluate_json_of_a_hyper_champion_names_its_encoding(capsys, tmp_path, fixtures):
    """A hyper champion's `entm evaluate --json` gives the encoding and the evolved CPPN's size beside the size of
    the controller it paints; a direct champion's says `direct`."""
    run = tmp_path / "hyper"
    status, _, err = run_main(capsys, "evolve", "--serial", "--quiet", "--task", "copy", "--vector-size", "2",
                              "--encoding", "hyper", "--generations", "1", "--episodes", "2", "--run-dir", run)
    assert status == 0, err
    status, out, _ = run_main(capsys, "evaluate", run, "--json", "--lengths", "3", "--episodes", "2")
    data = json.loads(out)
    meta = json.loads((run / "champion.json").read_text())["metadata"]["entm"]
    assert data["encoding"] == "hyper"
    assert data["cppn_size"] == {"nodes": meta["cppn_size"][0], "connections": meta["cppn_size"][1]}
    assert data["size"] != data["cppn_size"]  # the painted controller's own size
    status, out, _ = run_main(capsys, "evaluate", fixtures / "copy_handbuilt_v2.json", "--json", "--lengths", "3")
    direct = json.loads(out)
    assert direct["encoding"] == "direct" and "cppn_size" not in direct


def test_train_minutes_alone_is_the_budget(capsys, tmp_path):
    """`entm train --minutes M` alone has no step budget (run.json says none): the bar shows the steps done and
    the time of the budget, not the default 100000 steps; a resumed session gets the run's --minutes again."""
    run = tmp_path / "t"
    small = ["--task", "copy", "--vector-size", "2", "--max-length", "2", "--hidden-size", "8", "--cells", "4",
             "--width", "3", "--batch-size", "2", "--no-compile"]
    status, out, err = run_main(capsys, "train", *small, "--minutes", "0.0001", "--run-dir", run)
    assert status == 0, err
    assert json.loads((run / "run.json").read_text())["steps"] is None
    assert "stopped at the --minutes budget" in out
    bar = err.replace("\r", "\n").strip().splitlines()[-1]
    assert bar.startswith("train ntm 1 steps:") and "of 00:00" in bar and "100000" not in err
    status, out, err = run_main(capsys, "resume", run)
    assert status == 0, err
    assert "steps: 2," in out and "stopped at the --minutes budget" in out


def test_each_plot_view_help_lists_only_its_options(capsys):
    """``entm plot VIEW --help``: a view's own options (network's --cppn), none of another view's."""
    from entm.cli import main

    seen = {}
    for view in ("network", "memory", "fitness", "generalization", "deployment"):
        with pytest.raises(SystemExit) as e:
            main(["plot", view, "--help"])
        assert e.value.code == 0
        seen[view] = capsys.readouterr().out
    assert "--cppn" in seen["network"] and "--bit" in seen["network"]
    assert all("--cppn" not in seen[v] and "--all-links" not in seen[v] for v in seen if v != "network")
    assert "--deployment" in seen["deployment"] and "--deployment" not in seen["fitness"]
    assert "--episodes" in seen["generalization"] and "--episodes" not in seen["network"]


def test_threads_of_the_compute_libraries(tmp_path, capsys):
    """evolve/evaluate set torch's and numba's threads to what the process owns: 1 by default, --threads N."""
    import numba
    import torch

    from entm.cli import main

    before = torch.get_num_threads(), numba.get_num_threads()
    try:
        torch.set_num_threads(2)
        run = tmp_path / "run"
        assert main(["evolve", "--serial", "--quiet", "--vector-size", "2", "--generations", "1",
                     "--run-dir", str(run)]) == 0
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1
        assert main(["evaluate", str(run), "--lengths", "2", "--episodes", "2", "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
        capsys.readouterr()
        assert main(["evolve", "--serial", "--threads", "0", "--run-dir", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--threads must be at least 1" in err
        assert not (tmp_path / "x").exists()
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])


@pytest.mark.parametrize("args,words", [
    (["evolve", "--serial", "--width", "0"], ["memory width must be a positive integer", "0"]),
    (["evolve", "--serial", "--run-dir", ""], ["--run-dir is empty"]),
    (["evolve", "--serial", "--max-cells", "0", "--run-dir", "{tmp}/r"], ["max_cells must be at least 1", "0"]),
    (["evolve", "--serial", "--memory", "differentiable", "--max-cells", "4", "--run-dir", "{tmp}/r"],
     ["differentiable memory has no option 'max_cells'"]),
    (["evolve", "--serial", "--expand-location", "maybe", "--run-dir", "{tmp}/r"], ["expected true or false"]),
    (["evolve", "--serial", "--min-jump-similarity", "1.5", "--run-dir", "{tmp}/r"],
     ["min_jump_similarity must be a number in [0, 1]", "1.5"]),
    (["evolve", "--serial", "--min-jump-similarity", "high", "--run-dir", "{tmp}/r"], ["invalid float value"]),
    (["evolve", "--ray-address", "", "--run-dir", "{tmp}/r"], ["--ray-address is empty"]),
    (["evolve", "--serial", "--seed", "-3", "--run-dir", "{tmp}/r"], ["--seed must be a non-negative integer", "-3"]),
    (["train", "--task", "copy", "--model", "lstm", "--steps", "2", "--seed", "-1", "--run-dir", "{tmp}/r"],
     ["--seed must be a non-negative integer"]),
    (["train", "--task", "copy", "--model", "lstm", "--steps", "2", "--run-dir", ""], ["--run-dir is empty"]),
])
def test_command_line_values_are_never_silently_replaced(args, words, tmp_path, capsys, monkeypatch):
    """A value given is used or refused in one line: never replaced by a default, never a traceback; and
    nothing is created."""
    monkeypatch.chdir(tmp_path)
    main_error(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args], words=words)
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_empty_lengths_and_negative_seeds(tmp_path, capsys):
    from entm.cli import main

    run = tmp_path / "run"
    assert main(["evolve", "--serial", "--quiet", "--vector-size", "2", "--generations", "1", "--run-dir",
                 str(run)]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    main_error(capsys, "evaluate", run, "--lengths", "", words=["--lengths is empty"])
    main_error(capsys, "evaluate", run, "--lengths", "2", "--seed", "-1", words=["--seed must be a non-negative"])
    main_error(capsys, "compare", run, "--lengths", "2", "--seed", "-2", words=["--seed must be a non-negative"])
    assert before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.mark.parametrize("args,words", [
    (["evaluate", ""], ["evaluate: an argument is empty"]),
    (["evaluate", "x", "--lengths="], ["--lengths is empty"]),
    (["evaluate", "x", "--lengths", "1,,2"], ["has an empty item"]),
    (["evaluate", "x", "--lengths", " "], ["--lengths is empty"]),
    (["export", "x", "-o", ""], ["-o is empty"]),
    (["plot", "network", "", "-o", "n.png"], ["plot: an argument is empty"]),
    (["evolve", "--serial", "--task", ""], ["--task is empty"]),
    (["evolve", "--config", " ", "--serial"], ["--config is empty"]),
    (["resume", "x", "--workers", "0"], ["--workers must be at least 1"]),
])
def test_empty_values_are_never_read_as_not_given(args, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main_error(capsys, *args, words=words)
    assert list(tmp_path.iterdir()) == []


def test_max_cells_caps_the_tape_of_the_run(tmp_path, capsys):
    """`--max-cells N`, `--expand-location` and `--min-jump-similarity` reach the run's tape: run.json's
    memory_params (what a resume rebuilds the run from) and the champion's machine (what `entm evaluate` runs)."""
    import json

    from entm.champion import load_champion
    from entm.cli import main

    run = tmp_path / "run"
    assert main(["evolve", "--serial", "--quiet", "--vector-size", "2", "--generations", "1", "--max-cells", "3",
                 "--expand-location", "true", "--min-jump-similarity", "0.7", "--run-dir", str(run)]) == 0
    params = json.loads((run / "run.json").read_text())["memory_params"]
    assert params["max_cells"] == 3 and params["expand_location"] is True and params["min_jump_similarity"] == 0.7
    assert load_champion(run).machine.spec.options == {"max_cells": 3, "expand_location": True,
                                                       "min_jump_similarity": 0.7}
    capsys.readouterr()


def test_evaluate_repeats_fixes_repeat_copys_count_at_every_length(capsys, tmp_path, fixtures):
    """--repeats R: repeat copy's sweep at lengths L with R repeats each (the task's ``sweep_repeats``, in the
    printed task parameters), for an evolved champion and a trained model alike; several counts, one sweep each;
    other tasks, R < 1 and an empty item are one-line errors."""
    small = ["--task", "repeat_copy", "--vector-size", "2", "--max-length", "3", "--max-repeats", "2"]
    evolved, trained = tmp_path / "evolved", tmp_path / "trained"
    status, _, err = run_main(capsys, "evolve", *small, "--serial", "--quiet", "--generations", "1", "--episodes",
                              "2", "--run-dir", evolved)
    assert status == 0, err
    status, _, err = run_main(capsys, "train", *small, "--model", "lstm", "--hidden-size", "8", "--layers", "1",
                              "--steps", "2", "--run-dir", trained)
    assert status == 0, err
    for run in (evolved, trained):
        status, out, _ = run_main(capsys, "evaluate", run, "--repeats", "2", "--lengths", "3,6", "--episodes", "4",
                                  "--json")
        data = json.loads(out)
        assert status == 0 and data["task_params"]["sweep_repeats"] == 2 and set(data["lengths"]) == {"3", "6"}
        status, out, _ = run_main(capsys, "evaluate", run, "--lengths", "3", "--episodes", "4", "--json")
        assert "sweep_repeats" not in json.loads(out)["task_params"]  # the default: L repeats
        # several counts: one sweep each, the same as each count alone
        status, out, _ = run_main(capsys, "evaluate", run, "--repeats", "1,2", "--lengths", "3,6", "--episodes",
                                  "4", "--json")
        both = json.loads(out)
        assert status == 0 and "lengths" not in both and "sweep_repeats" not in both["task_params"]
        assert both["repeats"]["2"] == data["lengths"] and both["repeats"]["1"] != both["repeats"]["2"]
        status, out, _ = run_main(capsys, "evaluate", run, "--repeats", "1,2", "--lengths", "3", "--episodes", "4")
        assert status == 0 and "repeats 1:" in out and "repeats 2:" in out
        main_error(capsys, "evaluate", run, "--repeats", "0", words=["--repeats", "at least 1"])
        main_error(capsys, "evaluate", run, "--repeats", "2,", words=["--repeats", "empty item"])
        # --set changes a task parameter for either kind of run
        status, out, _ = run_main(capsys, "evaluate", run, "--set", "max_repeats=1", "--lengths", "3", "--episodes",
                                  "4", "--json")
        assert status == 0 and json.loads(out)["task_params"]["max_repeats"] == 1
    main_error(capsys, "evaluate", trained, "--set", "vector_size=3",
               words=["the model", "the task parameters changed from the model's change its inputs or outputs"])
    main_error(capsys, "evaluate", trained, "--set", "heads=2", words=["no parameter 'heads'"])
    main_error(capsys, "evaluate", fixtures / "copy_handbuilt_v2.json", "--repeats", "2",
               words=["--repeats", "repeat copy", "copy"])


def test_evolve_notes_a_set_up_that_cannot_solve_repeat_copy(tmp_path, capsys):
    """Repeat copy with one head and a feedforward controller (the default) gets a start-up note naming the set-ups
    that can solve it; those set-ups, other tasks and --quiet get none."""
    from entm.cli_summary import evolve_advice
    from entm.evolution.loop import EvolveSettings

    rc = {"task": "repeat_copy", "task_params": {"vector_size": 2}}
    assert "--heads 2" in evolve_advice(EvolveSettings(**rc)) and "recurrent" in evolve_advice(EvolveSettings(**rc))
    recurrent_ini = tmp_path / "recurrent.ini"
    recurrent_ini.write_text(replace_once(default_config_path("repeat_copy", "discrete").read_text(),
                                          "feed_forward          = True", "feed_forward          = False"))
    for kw in ({"heads": 2}, {"controller": "recurrent"}, {"config": str(recurrent_ini)},
               {"memory": "differentiable"}, {"task": "copy"}):
        assert evolve_advice(EvolveSettings(**{**rc, **kw})) is None, kw
    assert evolve_advice(EvolveSettings(**rc, config=str(recurrent_ini), controller="feedforward")) is not None
    args = ["evolve", "--task", "repeat_copy", "--vector-size", "2", "--generations", "1", "--episodes", "2",
            "--serial"]
    status, _, err = run_main(capsys, *args, "--run-dir", tmp_path / "a")
    assert status == 0 and err.startswith("note: one head with a feedforward controller cannot make repeat copy's")
    status, _, err = run_main(capsys, *args, "--run-dir", tmp_path / "b", "--quiet")
    assert status == 0 and "note:" not in err


def test_evaluate_phases_is_for_tasks_with_phases(capsys, fixtures):
    """--phases groups a reward task's rounds (the T-maze's; tests/test_maze_solver.py): a sequence task has
    none, a one-line error."""
    line = main_error(capsys, "evaluate", fixtures / "copy_handbuilt_v2.json", "--lengths", "5", "--phases")
    assert line == "entm: error: task 'copy' has no phases to group by (--phases: the T-maze's rounds)"
