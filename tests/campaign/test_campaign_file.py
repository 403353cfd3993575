"""Campaign files, the campaign directory, one run started and resumed, and the statistics (no Ray here;
the cluster tests are in test_campaign_cluster.py)."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from entm.analysis.campaign import quartiles, wilson
from helpers import (
    ROOT,
    SMALL_CAMPAIGN,
    assert_same_run,
    launch_alone,
    main_error,
    run_main,
    subprocess_env,
    wide_copy_config,
)

from entm import runs
from entm.campaign.spec import load_campaign, parse_campaign
from entm.campaign.work import (
    execute,
    newest_checkpoint,
    open_campaign_dir,
    read_status,
    run_dir,
)
from entm.errors import EntmError


def _write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_campaigns_load():
    copy = load_campaign(ROOT / "campaigns" / "copy-evolved-vs-trained.toml")
    assert copy.groups == ("copy2-direct", "copy8-hyper", "copy8-ntm")
    assert len(copy.runs) == 15 and {r.seed for r in copy.runs} == {0, 1, 2, 3, 4}
    assert [r.kind for r in copy.runs].count("training") == 5
    smoke = load_campaign(ROOT / "campaigns" / "smoke.toml")
    assert len(smoke.runs) == 6
    ntm = load_campaign(ROOT / "campaigns" / "ntm-tasks-trained.toml")
    assert len(ntm.runs) == 8 and {r.kind for r in ntm.runs} == {"training"}
    rc = ntm.group_of("repeat-copy")[0].settings
    assert rc["preset"] == "graves2014-repeat-copy" and rc["stop_bit_errors"] == 0.1 and rc["task"] == "repeat_copy"
    reward = load_campaign(ROOT / "campaigns" / "reward-presets.toml")
    assert len(reward.runs) == 15 and {r.kind for r in reward.runs} == {"evolution"}
    for group in reward.groups:  # each group is its preset with the papers' 10,000 generations
        s = reward.group_of(group)[0].settings
        assert s["preset"] == group and s["generations"] == 10000
    assert reward.group_of("luders2017-season")[0].settings["task"] == "season"
    evolved = load_campaign(ROOT / "campaigns" / "ntm-tasks-evolved.toml")
    assert len(evolved.runs) == 20 and {r.kind for r in evolved.runs} == {"evolution"}
    ar = evolved.group_of("associative-recall")[0].settings  # results.md's curriculum command, as run.json has it
    assert ar["novelty"] == {"descriptor": "reads", "switch_score": 1.0, "switch_generations": 1000}
    assert ar["task_params"]["stages"] == "item_size=2 after=1000" and ar["hyper"] == {"blocks": 5, "block_steps": True}
    assert evolved.group_of("repeat-copy")[0].settings["controller"] == "recurrent"


def test_a_preset_group_gets_the_presets_settings_with_its_own_on_top():
    c = parse_campaign('[groups.maze]\nkind = "evolution"\npreset = "greve2016-double-tmaze"\nseeds = [0]\n'
                       'generations = 2\ntask_params = { rounds = 8 }\n')
    s = c.group_of("maze")[0].settings
    assert s["preset"] == "greve2016-double-tmaze" and s["task"] == "tmaze" and s["episodes"] == 12
    assert s["task_params"]["steering"] == "angle" and s["task_params"]["rounds"] == 8
    with pytest.raises(EntmError, match="unknown preset"):
        parse_campaign('[groups.x]\nkind = "evolution"\npreset = "nope"\nseeds = [0]\n')


def test_a_group_started_from_a_network_reads_it_relative_to_the_campaign_file(tmp_path):
    (tmp_path / "nets").mkdir()
    net = ROOT / "tests" / "fixtures" / "copy_handbuilt_v2.json"
    (tmp_path / "nets" / "solver.json").write_text(net.read_text())
    (tmp_path / "wide.ini").write_text(wide_copy_config())
    text = ('[groups.seeded]\nkind = "evolution"\ntask = "copy"\ntask_params = { vector_size = 2 }\nseeds = [0]\n'
            'generations = 2\nconfig = "wide.ini"\ninit_from = "nets/solver.json"\n')
    s = parse_campaign(text, base=tmp_path).group_of("seeded")[0].settings
    assert s["init_from"] == str(tmp_path / "nets" / "solver.json")
    assert s["init_network"] == json.loads(net.read_text())  # the network itself, in the campaign's record
    with pytest.raises(EntmError, match="seeded.*--init-from.*no such champion file or run directory"):
        parse_campaign(text.replace("nets/solver.json", "nets/none.json"), base=tmp_path)


def test_grid_expands_into_named_groups(tmp_path):
    c = parse_campaign(SMALL_CAMPAIGN.replace('encoding = "hyper"', 'encoding = "hyper"\ngrid = { episodes = '
                                              '[4, 6], "task_params.vector_size" = [2, 3] }'))
    assert c.groups == ("direct", "hyper-episodes_4-vector_size_2", "hyper-episodes_4-vector_size_3",
                        "hyper-episodes_6-vector_size_2", "hyper-episodes_6-vector_size_3", "ntm")
    g = c.group_of("hyper-episodes_6-vector_size_3")
    assert [r.seed for r in g] == [0, 1, 2]
    assert g[0].settings["episodes"] == 6 and g[0].settings["task_params"] == {"vector_size": 3, "max_length": 4}
    assert c.group_of("ntm")[0].settings["architecture"]["model"] == "ntm"
    assert [r.name for r in c.group_of("ntm")] == ["ntm-seed0"]


BAD = [
    ("top", SMALL_CAMPAIGN.replace('name = "small"', 'name = "small"\nretries = 3'), ["unknown key 'retries'"]),
    ("group key", SMALL_CAMPAIGN.replace("generations = 12\nepisodes = 8\ncheckpoint_every = 2\nstop_when_solved = "
                                         "false\n\n[groups.hyper]", "generation = 12\n\n[groups.hyper]"),
     ["groups.direct", "unknown key 'generation'"]),
    ("training key", SMALL_CAMPAIGN.replace("steps = 60", "steps = 60\ngenerations = 3"),
     ["groups.ntm", "unknown key 'generations' for a training group"]),
    ("task", SMALL_CAMPAIGN.replace('task = "copy"', 'task = "kopy"', 1), ["groups.direct", "kopy"]),
    ("empty seeds", SMALL_CAMPAIGN.replace("seeds = [0]", "seeds = []"), ["groups.ntm", "seeds"]),
    ("seed twice", SMALL_CAMPAIGN.replace("seeds = [0, 1, 2]", "seeds = [0, 1, 0]"), ["seed twice"]),
    ("negative seed", SMALL_CAMPAIGN.replace("seeds = [0, 1, 2]", "seeds = [0, -1]"), ["non-negative"]),
    ("name twice", SMALL_CAMPAIGN.replace("[groups.direct]\n", '[groups.direct-episodes_4]\ntask = "copy"\n\n'
                                          "[groups.direct]\ngrid = { episodes = [4, 5] }\n"),
     ["direct-episodes_4", "used twice"]),
    ("type", SMALL_CAMPAIGN.replace("generations = 12", 'generations = "twelve"', 1),
     ["groups.direct: generations must be int", "twelve"]),
    ("bool", SMALL_CAMPAIGN.replace("episodes = 8", "episodes = true", 1), ["episodes must be int"]),
    ("kind", SMALL_CAMPAIGN.replace('kind = "training"', 'kind = "train"'), ["unknown kind 'train'"]),
    ("toml", SMALL_CAMPAIGN + "\n[groups.direct]\n", ["not valid TOML"]),
    ("no groups", 'seeds = [0]\n', ["no groups"]),
    ("config", SMALL_CAMPAIGN.replace("generations = 12", 'config = "nowhere.ini"\ngenerations = 12', 1),
     ["groups.direct", "nowhere.ini"]),
    ("evolution cpus", SMALL_CAMPAIGN.replace("generations = 12", "cpus = 2\ngenerations = 12", 1),
     ["cpus = 2", "serially"]),
]


@pytest.mark.parametrize("text,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_campaign_files_are_one_line_errors_before_anything_starts(capsys, tmp_path, text, words):
    f = _write(tmp_path, text)
    main_error(capsys, "campaign", "run", f, "--dir", tmp_path / "out", words=words)
    assert not (tmp_path / "out").exists()


def test_cli_errors(capsys, tmp_path):
    main_error(capsys, "campaign", "run", tmp_path / "missing.toml", words=["no such campaign file"])
    main_error(capsys, "campaign", "resume", tmp_path, words=["not a campaign directory"])
    main_error(capsys, "campaign", "export", tmp_path, words=["--csv"])
    f = _write(tmp_path, SMALL_CAMPAIGN)
    main_error(capsys, "campaign", "run", f, "--cpus", "0", words=["--cpus"])
    assert not (ROOT / "runs" / "campaign-c").exists()


def test_a_campaign_directory_refuses_another_file(capsys, tmp_path):
    a = _write(tmp_path, SMALL_CAMPAIGN, "a.toml")
    b = _write(tmp_path, SMALL_CAMPAIGN.replace("steps = 60", "steps = 70"), "b.toml")
    d = tmp_path / "camp"
    open_campaign_dir(d, load_campaign(a), a.read_text(), str(a))
    before = sorted(p.name for p in d.rglob("*"))
    main_error(capsys, "campaign", "run", b, "--dir", d, words=["holds another campaign", "entm campaign resume"])
    assert sorted(p.name for p in d.rglob("*")) == before
    # the same campaign written differently (comments, order) is the same campaign
    same = _write(tmp_path, "# a comment\n" + SMALL_CAMPAIGN, "same.toml")
    assert open_campaign_dir(d, load_campaign(same), same.read_text()).canonical() == load_campaign(a).canonical()


def test_wilson_interval_and_quartiles():
    assert wilson(0, 5)[0] == 0.0 and wilson(0, 5)[1] == pytest.approx(0.43448, abs=1e-4)
    assert wilson(5, 5)[0] == pytest.approx(0.56552, abs=1e-4) and wilson(5, 5)[1] == 1.0
    assert wilson(8, 10) == pytest.approx((0.49016, 0.94331), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    q = quartiles([4, 1, 3, 2, None])
    assert q == {"n": 4, "median": 2.5, "q1": 1.75, "q3": 3.25, "min": 1.0, "max": 4.0}
    assert quartiles([]) is None


_EXECUTE = """
import sys
from entm.campaign.work import execute, read_campaign
c = read_campaign(sys.argv[1])
execute(sys.argv[1], next(r for r in c.runs if r.name == sys.argv[2]))
"""


def _kill_when_checkpointed(d, run, at_least: int):
    """Start the run in a child process and SIGKILL it once it has a checkpoint of ``at_least`` or more."""
    proc = subprocess.Popen([sys.executable, "-c", _EXECUTE, str(d), run.name], env=subprocess_env(),
                            start_new_session=True)
    path = run_dir(d, run)
    t0 = time.time()
    while newest_checkpoint(path) < at_least and proc.poll() is None and time.time() - t0 < 120:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return newest_checkpoint(path)


def test_a_killed_run_resumes_from_its_own_checkpoint_and_equals_the_run_launched_alone(cli, tmp_path, capsys):
    f = _write(tmp_path, SMALL_CAMPAIGN.replace("generations = 12", "generations = 30", 1))
    d = tmp_path / "camp"
    c = open_campaign_dir(d, load_campaign(f), f.read_text())
    run = c.group_of("direct")[1]
    had = _kill_when_checkpointed(d, run, 4)
    assert read_status(d, run.name)["sessions"][0]["kind"] == "start" and "done" not in read_status(d, run.name)
    status = execute(d, run)
    assert [(s["kind"], s["from"]) for s in status["sessions"]] == [("start", 0), ("resume", had)]
    assert status["done"]["generations"] == 30
    # the same run launched alone: `entm evolve` with the same settings
    alone = tmp_path / "alone"
    r = cli("evolve", "--task", "copy", "--vector-size", "2", "--max-length", "4", "--generations", "30", "--episodes",
            "8", "--checkpoint-every", "2", "--no-stop-when-solved", "--seed", "1", "--serial", "--quiet",
            "--run-dir", alone)
    assert r.returncode == 0, r.stderr
    assert_same_run("evolution", run_dir(d, run), alone)
    assert execute(d, run) == status  # done: left as it is

    # a training run the same way
    ntm = c.group_of("ntm")[0]
    had = _kill_when_checkpointed(d, ntm, 10)
    status = execute(d, ntm)
    assert [s["kind"] for s in status["sessions"]] == ["start", "resume"] and status["sessions"][1]["from"] == had
    assert_same_run("training", run_dir(d, ntm), launch_alone(ntm, tmp_path / "ntm-alone"))

    # report and export of a campaign with runs done and runs not started
    status, out, err = run_main(capsys, "campaign", "export", d, "--csv", "-o", tmp_path / "csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "runs.csv").read_text())))
    assert [r["run"] for r in rows] == [r.name for r in c.runs]
    assert {r["run"]: r["state"] for r in rows}[run.name] == "done"
    assert {r["run"]: r["resumed_from"] for r in rows}[ntm.name] == str(had)
    metrics = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "metrics.csv").read_text())))
    assert len(metrics) == len(runs.read_metrics(run_dir(d, run))) + len(runs.read_metrics(run_dir(d, ntm)))
    status, out, err = run_main(capsys, "campaign", "report", d, "--json", "--lengths", "3,6", "--episodes", "2")
    assert status == 0, err
    stats = json.loads(out)
    direct = next(g for g in stats["groups"] if g["group"] == "direct")
    assert (direct["runs"], direct["done"]) == (3, 1)
    assert set(direct["generalisation"]["lengths"]) == {"3", "6"}
    assert direct["success"]["rate"] == direct["solved"] / 3
    status, out, err = run_main(capsys, "campaign", "report", d, "-o", tmp_path / "r.html", "--lengths", "3",
                                "--episodes", "2")
    assert status == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "Wilson" in page and page.count("<img") == 2 and ntm.name in page


_DIE_AT_RUN_JSON = """
import os, sys
from entm import runs
from entm.campaign.work import execute, read_campaign
runs.write_run_json = lambda *a, **k: os._exit(9)  # the process dies where run.json would be written
c = read_campaign(sys.argv[1])
execute(sys.argv[1], next(r for r in c.runs if r.name == sys.argv[2]))
"""


def test_a_start_killed_before_its_run_json_is_no_run_and_starts_again(capsys, tmp_path):
    f = _write(tmp_path, SMALL_CAMPAIGN)
    d = tmp_path / "camp"
    c = open_campaign_dir(d, load_campaign(f), f.read_text())
    run = c.group_of("direct")[0]
    r = subprocess.run([sys.executable, "-c", _DIE_AT_RUN_JSON, str(d), run.name], env=subprocess_env(), timeout=300)
    assert r.returncode == 9
    path = run_dir(d, run)
    # everything run.json names is written before it: a directory with run.json can be resumed
    assert (path / runs.CONFIG_FILE).is_file() and not (path / runs.RUN_FILE).exists()
    main_error(capsys, "resume", path, "--serial", words=["not a run directory", "run.json"])
    status = execute(d, run)
    assert [s["kind"] for s in status["sessions"]] == ["start", "start"] and status["done"]["generations"] == 12


def test_parse_errors_name_the_file(tmp_path):
    with pytest.raises(EntmError, match=r"c\.toml: groups\.direct"):
        load_campaign(_write(tmp_path, SMALL_CAMPAIGN.replace("episodes = 8", "episodes = 0", 1)))
