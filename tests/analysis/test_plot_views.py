"""Issue 16: what the plots show of reward tasks and hyper champions, their titles, and their file formats.

Real (small) evolution runs; every picture is checked on the data it is drawn from."""

import json
import re
from collections import Counter

import numpy as np
import pytest
from helpers import main_error, run_main

from entm.analysis.common import champion_numbers, plural, verdict
from entm.analysis.deployment import sample_deployments
from entm.analysis.memory_plot import memory_figure, plot_memory
from entm.analysis.network_plot import network_figure, plot_network
from entm.champion import evaluate_lengths, load_champion
from entm.closed_loop import evaluate_deployments
from entm.evolution.loop import EvolveSettings, evolve
from entm.phenotype import Network

PNG = b"\x89PNG\r\n\x1a\n"

#: small reward-task runs: (task, params, generations)
REWARD = {
    "tmaze": ("tmaze", {"variant": "discrete", "maze": "double", "rounds": 8}, 3),
    "ctmaze": ("tmaze", {"variant": "continuous", "maze": "single", "rounds": 4, "max_steps": 60}, 2),
    "season": ("season", {"years": 2, "max_days": 2}, 2),
}


@pytest.fixture(scope="module")
def reward_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("reward")
    out = {}
    for name, (task, params, gens) in REWARD.items():
        evolve(EvolveSettings(task=task, task_params=params, generations=gens, seed=3, episodes=4,
                              evaluator="serial", stop_when_solved=False, run_dir=str(base / name)), progress=False)
        out[name] = base / name
    return out


@pytest.fixture(scope="module")
def hyper_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("hyper") / "hyper"
    evolve(EvolveSettings(task="copy", task_params={"vector_size": 3}, encoding="hyper", generations=2, seed=1,
                          episodes=6, evaluator="serial", stop_when_solved=False, run_dir=str(run)), progress=False)
    return run


def _batch(champ, deployment=0, seed=0, length=None):
    deps = sample_deployments(champ.task, seed, length, deployment)
    return evaluate_deployments(champ.machine, champ.network, deps, record=True)


# -- item 1: plot memory of a reward task shows what the task scores ----------------------------------------

@pytest.mark.parametrize("name", ["tmaze", "ctmaze"])
def test_tmaze_memory_plot_shows_the_rounds(reward_runs, name):
    champ = load_champion(reward_runs[name])
    task = champ.task
    sc, env = _batch(champ)
    deps = sample_deployments(task, 0, None, 0)  # the deployments _batch ran: their goals and switch rounds
    for d in range(env.batch):
        fig, info = memory_figure(champ, deployment=d)
        rounds = info.timeline
        assert len(rounds) == task.rounds
        assert info.errors == int(sc.bit_errors[d]) == sum(not r["right"] for r in rounds)
        assert info.score == pytest.approx(sc.score[d]) and info.perfect == bool(sc.perfect[d])
        assert sum(r["right"] for r in rounds) == int(env.right[d])
        # the title: rounds right and wrong, never bits nor "length"
        right = int(env.right[d])
        assert f"{right} of {task.rounds} rounds right" in info.title
        assert ("perfect (no wrong round)" if sc.perfect[d] else f"not perfect: {plural(info.errors, 'wrong round')}") \
            in info.title
        assert "bit" not in info.title and "length" not in info.title and f"{task.rounds} rounds" in info.title
        # rounds tile the deployment's steps; each ends with a reward step showing its reward
        assert rounds[0]["start"] == 0 and info.steps == rounds[-1]["stop"]
        assert all(a["stop"] == b["start"] for a, b in zip(rounds, rounds[1:]))
        inputs = [im for im in fig.axes[0].images][0].get_array()  # (inputs, T)
        reward_row = task.input_names.index("reward")
        for r in rounds:
            assert r["start"] <= r["end"] < r["stop"] == r["end"] + 2
            assert inputs[reward_row, r["end"] + 1] == pytest.approx(r["reward"])
            assert r["high"] == (deps.first[d] if r["round"] < deps.switch[d] else deps.second[d])
        # the high reward's move is drawn where it happens, and no panel is empty (the old targets panel was)
        moved = [r for a, r in zip(rounds, rounds[1:]) if r["high"] != a["high"]]
        assert [r["round"] for r in moved] == ([int(deps.switch[d])] if deps.switch[d] < task.rounds else [])
        for ax in fig.axes:
            for im in ax.images:
                assert np.isfinite(np.asarray(im.get_array(), dtype=float)).any()
        texts = {t.get_text() for t in fig.axes[1].texts}
        assert any(t.startswith("high reward moves to") for t in texts) == bool(moved)


def test_season_memory_plot_shows_foods_actions_rewards(reward_runs):
    champ = load_champion(reward_runs["season"])
    task = champ.task
    sc, env = _batch(champ)
    d = int(np.argmax(sc.bit_errors))
    fig, info = memory_figure(champ, deployment=d)
    items = info.timeline
    b = d % env.deps.n
    assert len(items) == int(env.deps.items[b]) and info.steps == len(items) * task.steps_per_food
    assert [it["food"] for it in items] == list(env.deps.food[b, :len(items)])
    assert [it["output"] for it in items] == pytest.approx(list(env.decisions[d, :len(items)]))
    scored = [it for it in items if it["scored"]]
    assert len(scored) == int(env.scored_count[d]) and sum(it["right"] for it in scored) == int(env.right_count[d])
    assert info.errors == int(sc.bit_errors[d])
    assert f"{int(env.right_count[d])} of {len(scored)} scored decisions right" in info.title
    assert "bit" not in info.title and f"{task.years} years" in info.title
    # the feedback the network got is the reward/punishment of the items it ate
    inputs = fig.axes[0].images[0].get_array()
    F = task.foods
    for it in items:
        fb = inputs[F:F + 2, it["decision"] + 1]
        assert list(fb) == [it["feedback"] == "reward", it["feedback"] == "punishment"]
    # wrong scored decisions are crossed on the output at their decision step, nothing else
    crosses = [c for c in fig.axes[2].collections if c.get_label().startswith("wrong decision")]
    marked = sorted(int(x) for x, _ in crosses[0].get_offsets()) if crosses else []
    assert marked == [it["decision"] for it in scored if not it["right"]]


def test_deployments_are_those_entm_evaluate_scores(reward_runs):
    champ = load_champion(reward_runs["tmaze"])
    L = champ.task.rounds
    n = champ.task.default_episodes
    sc, _ = _batch(champ, seed=4, length=L)
    assert len(sc.score) == n
    assert evaluate_lengths(champ.machine, champ.network, [L], episodes=n, seed=4)[str(L)]["score"] == \
        pytest.approx(float(np.mean(sc.score)))
    _, info = memory_figure(champ, seed=4, length=L, deployment=n - 1)
    assert info.score == pytest.approx(sc.score[n - 1])


def test_plot_deployment_command(reward_runs, hyper_run, tmp_path, capsys):
    tm = reward_runs["tmaze"]
    status, out, err = run_main(capsys, "plot", "deployment", tm, "--deployment", "2", "--seed", "1")
    assert status == 0, err
    path = tm / "plots" / "deployment.txt"
    assert out.split() == [str(path)]
    champ = load_champion(tm)
    _, env = _batch(champ, deployment=2, seed=1)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + champ.task.rounds
    assert [ln.split()[-1] == "yes" for ln in lines[1:]] == [r["right"] for r in env.round_log(2)]
    status, out, err = run_main(capsys, "plot", "deployment", reward_runs["ctmaze"], "-o", tmp_path / "paths.svg")
    assert status == 0, err
    assert (tmp_path / "paths.svg").read_text().startswith("<?xml")
    status, out, err = run_main(capsys, "plot", "deployment", reward_runs["season"], "-o", tmp_path / "season")
    assert status == 0, err
    assert (tmp_path / "season.txt").read_text().startswith("season task")
    main_error(capsys, "plot", "deployment", tm, "-o", tmp_path / "t.png", words=("t.png", ".txt"))
    main_error(capsys, "plot", "deployment", hyper_run, words=("sequence task",))
    main_error(capsys, "plot", "deployment", tm, "--deployment", "-1", words=("--deployment",))
    main_error(capsys, "plot", "memory", hyper_run, "--deployment", "1", words=("reward tasks",))
    assert not (tmp_path / "t.png").exists() and not (hyper_run / "plots").exists()


# -- item 4: titles say what the numbers are -----------------------------------------------------------------

def test_titles_say_what_the_numbers_are(fixtures, tmp_path):
    data = json.loads((fixtures / "copy_handbuilt_v2.json").read_text())
    data["metadata"]["entm"].update(score=0.634, perfect=1.0, solved=True, fitness=0.91, generation=7)
    path = tmp_path / "perfect.json"
    path.write_text(json.dumps(data))
    champ = load_champion(path)
    title = plot_network(champ, tmp_path / "net.png").title
    assert "task score 0.634 (strict-close margin" in title and "perfect on every episode" in title
    assert "solved" in title and "fitness 0.910 (what evolution maximised)" in title
    data["metadata"]["entm"].update(perfect=0.25, solved=False)
    assert "perfect on 25% of its generation's episodes, not solved" in champion_numbers(
        data["metadata"]["entm"], champ.task)
    info = plot_memory(champ, tmp_path / "m.png", length=4)
    assert info.perfect and "perfect (no wrong bit)" in info.title and "strict-close margin" in info.title
    assert "length 4" in info.title
    assert verdict(champ.task, False, 1) == "not perfect: 1 wrong bit"
    assert verdict(champ.task, False, 3) == "not perfect: 3 wrong bits"
    assert plural(1.0, "wrong round") == "1 wrong round" and plural(0, "wrong round") == "0 wrong rounds"


# -- item 7: the suffix given is the format written ---------------------------------------------------------

@pytest.mark.parametrize("view", ["network", "memory", "fitness", "generalization"])
def test_output_suffix_is_the_format(view, hyper_run, tmp_path, capsys):
    extra = ["--lengths", "2", "--episodes", "1", "--length", "2"] if view != "network" else []
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", PNG)):
        out = tmp_path / f"{view}{suffix}"
        status, printed, err = run_main(capsys, "plot", view, hyper_run, "-o", out, *extra, "--quiet")
        assert status == 0, err
        assert printed.split() == [str(out)] and out.read_bytes().startswith(magic)
    status, printed, err = run_main(capsys, "plot", view, hyper_run, "-o", tmp_path / "plain", *extra, "--quiet")
    assert status == 0, err
    defaults = [".png", ".svg"] if view == "network" else [".png"]
    assert printed.split() == [str(tmp_path / f"plain{s}") for s in defaults]
    before = sorted(p.name for p in tmp_path.iterdir())
    main_error(capsys, "plot", view, hyper_run, "-o", tmp_path / "x.jpg", *extra, words=("x.jpg", ".pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- item 10: the CPPN is drawn, the painted controller can be read -----------------------------------------

def test_cppn_drawing_is_the_evolved_cppn(hyper_run, tmp_path, capsys):
    champ = load_champion(hyper_run)
    meta = champ.data["metadata"]["entm"]
    fig, graph = network_figure(champ, view="cppn")
    cppn = Network.from_json(meta["cppn"])
    links = Counter((s, nd.key, w) for nd in cppn.nodes for s, w in nd.links)
    assert Counter(graph.edges) == links
    names = dict(zip(cppn.input_keys, meta["substrate"]["cppn_inputs"]))
    names.update(zip(cppn.output_keys, meta["substrate"]["cppn_outputs"]))
    for k in graph.nodes:
        if k in names:
            assert graph.label[k].split(" ")[0] == names[k]
    assert (len([k for k in graph.nodes if k >= 0]), len(graph.edges)) == tuple(meta["cppn_size"])
    assert "CPPN" in fig._suptitle.get_text()
    status, out, err = run_main(capsys, "plot", "network", hyper_run, "--cppn")
    assert status == 0, err
    assert out.split() == [str(hyper_run / "plots" / f"cppn.{s}") for s in ("png", "svg")]
    assert (hyper_run / "plots" / "cppn.png").read_bytes().startswith(PNG)
    assert "src=bits" in (hyper_run / "plots" / "cppn.svg").read_text()


def test_painted_controller_grouped_by_vector_and_one_bit(hyper_run, fixtures, capsys, tmp_path):
    from entm.analysis.network_plot import champion_substrate, network_graph

    champ = load_champion(hyper_run)
    sub = champion_substrate(champ)
    net = champ.network
    node = dict(zip(net.input_keys, sub.inputs)) | dict(zip(net.output_keys, sub.outputs))
    links = network_graph(net, champ.task, champ.spec).edges
    assert len(links) == net.size()[1]
    # grouped: one edge per (source kind, target kind), its label the count and weights of exactly its links
    _, grouped = network_figure(champ)
    assert grouped.view == "grouped" and grouped.links == len(links)
    expect = {}
    for s, d, w in links:
        expect.setdefault((node[s].kind, node[d].kind), []).append(w)
    assert {(s, d) for s, d, _ in grouped.edges} == set(expect)
    for s, d, w in grouped.edges:
        assert w == pytest.approx(np.mean(expect[(s, d)]))
        n = len(expect[(s, d)])
        assert grouped.edge_labels[(s, d)].startswith(f"{n}× ") == (n > 1)
    assert len(grouped.edges) < len(links)
    # one bit: the links between element J (or a scalar) and element J (or a scalar)
    for j in range(sub.vector_size):
        _, g = network_figure(champ, bit=j)
        want = Counter((s, d, w) for s, d, w in links if node[s].index in (None, j) and node[d].index in (None, j))
        assert Counter(g.edges) == want
        assert all(node[k].index in (None, j) for k in g.nodes)
    status, out, err = run_main(capsys, "plot", "network", hyper_run, "--bit", "1", "-o", tmp_path / "b1.png")
    assert status == 0, err
    assert (tmp_path / "b1.png").read_bytes().startswith(PNG)
    _, every = network_figure(champ, view="links")
    assert Counter(every.edges) == Counter(links)
    main_error(capsys, "plot", "network", hyper_run, "--bit", "3", words=("--bit", "0 to 2"))
    main_error(capsys, "plot", "network", fixtures / "copy_handbuilt_v2.json", "--cppn", words=("direct encoding",))
    main_error(capsys, "plot", "network", hyper_run, "--cppn", "--bit", "0", words=("--cppn", "--bit"))
    main_error(capsys, "plot", "memory", hyper_run, "--cppn", words=("--cppn", "plot network"))


def test_report_draws_the_cppn_of_a_hyper_run(hyper_run, reward_runs, tmp_path, capsys):
    out = tmp_path / "report.html"
    status, _, err = run_main(capsys, "report", hyper_run, reward_runs["tmaze"], "-o", out, "--lengths", "2",
                              "--episodes", "1", "--quiet")
    assert status == 0, err
    page = out.read_text()
    heads = re.findall(r"<h3>([^<]*)</h3>", page)
    assert heads.count("network") == 2 and sum(h.startswith("CPPN") for h in heads) == 1
    assert heads.index("network") + 1 == next(i for i, h in enumerate(heads) if h.startswith("CPPN"))
    assert 'alt="CPPN of hyper"' in page
