"""Analysis of saved runs: plots, comparison and report, over real (small) evolution runs."""

import argparse
import base64
import json
import re
from collections import Counter

import numpy as np
import pytest

from entm.analysis.common import open_source
from entm.analysis.compare import compare_runs, format_table
from entm.analysis.curves import fitness_figure, plot_fitness
from entm.analysis.memory_plot import memory_figure, plot_memory
from entm.analysis.network_plot import network_figure, plot_network
from entm.champion import load_champion
from entm.cli_analysis import COMMANDS, add_parsers
from entm.errors import EntmError
from helpers import run_main

PNG = b"\x89PNG\r\n\x1a\n"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise EntmError(f"{self.prog}: {message}")


def run_analysis(*argv) -> int:
    """The analysis commands as `entm` runs them (entm/cli.py registers the same parsers)."""
    p = _Parser(prog="entm")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    add_parsers(sub)
    args = p.parse_args([str(a) for a in argv])
    return COMMANDS[args.command](args)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real evolution runs of 2-bit copy: discrete tape and differentiable memory."""
    from entm.evolution.loop import EvolveSettings, evolve

    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, memory, mp, gens in (("discrete", "discrete", {}, 3), ("soft", "differentiable", {"cells": 16}, 2)):
        evolve(EvolveSettings(task="copy", task_params={"vector_size": 2}, memory=memory, memory_params=mp,
                              generations=gens, seed=1, episodes=10, evaluator="serial", stop_when_solved=False,
                              run_dir=str(base / name)), progress=False)
        out[name] = base / name
    return out


@pytest.fixture
def copier(fixtures):
    return fixtures / "copy_handbuilt_v2.json"


def _png(path):
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 2000, path
    return data


def test_plot_commands_write_their_files(runs, capsys):
    run = runs["discrete"]
    for view in ("network", "memory", "fitness", "generalization"):
        assert run_analysis("plot", view, run, "--lengths", "1,5", "--episodes", "3", "--quiet") == 0
    printed = capsys.readouterr().out.split()
    plots = run / "plots"
    expected = [plots / n for n in ("network.png", "network.svg", "memory.png", "fitness.png", "generalization.png")]
    assert printed == [str(p) for p in expected]
    for p in expected:
        if p.suffix == ".png":
            _png(p)
        else:
            text = p.read_text()
            assert text.startswith("<?xml") and "<svg" in text and "bit0" in text


def test_plots_of_a_champion_file_go_next_to_it_or_to_o(copier, tmp_path, capsys):
    champ = tmp_path / "copier.json"
    champ.write_bytes(copier.read_bytes())
    assert run_analysis("plot", "memory", champ, "--length", "3") == 0
    _png(tmp_path / "copier.memory.png")
    # issue 16 item 7: -o net.png writes net.png only (it used to write net.svg beside it); no suffix: both
    assert run_analysis("plot", "network", champ, "-o", tmp_path / "out" / "net.png") == 0
    _png(tmp_path / "out" / "net.png")
    assert not (tmp_path / "out" / "net.svg").exists()
    assert run_analysis("plot", "network", champ, "-o", tmp_path / "out" / "both") == 0
    _png(tmp_path / "out" / "both.png")
    assert (tmp_path / "out" / "both.svg").read_text().startswith("<?xml")
    assert capsys.readouterr().out.split()[-3:] == [str(tmp_path / "out" / "net.png"),
                                                    str(tmp_path / "out" / "both.png"),
                                                    str(tmp_path / "out" / "both.svg")]


def _json_edges(data):
    return Counter((c["from"], c["to"], c["weight"]) for c in data["connections"] if c.get("enabled", True))


@pytest.mark.parametrize("which", ["copier", "discrete", "soft"])
def test_network_drawing_has_exactly_the_used_network(which, runs, copier, tmp_path):
    path = copier if which == "copier" else runs[which]
    champ = load_champion(path)
    drawing = plot_network(path, tmp_path / "net")
    assert [p.name for p in drawing.paths] == ["net.png", "net.svg"]
    evaluated = {nd.key for nd in champ.network.nodes}
    links = Counter((s, nd.key, w) for nd in champ.network.nodes for s, w in nd.links)
    # the champion JSON (neat-python's export) lists exactly the used nodes and connections
    assert Counter(drawing.edges) == links == _json_edges(champ.data)
    inputs_used = {s for s, _, _ in drawing.edges if s < 0}
    assert set(drawing.nodes) == evaluated | inputs_used
    assert len(drawing.nodes) == len(set(drawing.nodes))
    nodes, conns = champ.network.size()
    assert (len(set(drawing.nodes) - inputs_used), len(drawing.edges)) == (nodes, conns)
    # ... and the figure draws one arrow per connection and one marker per node
    fig, graph = network_figure(champ)
    ax = fig.axes[0]
    assert len(ax.patches) == conns
    assert len(ax.collections) == len(graph.nodes)
    texts = {t.get_text() for t in ax.texts}
    for k in graph.nodes:
        assert graph.label[k] in texts
    assert all(graph.column[k] == 0 for k in inputs_used)
    out_col = max(graph.column.values())
    assert all(graph.column[k] == out_col for k in champ.network.output_keys if k in evaluated)


def test_network_labels_by_role(copier, runs):
    champ = load_champion(copier)
    _, graph = network_figure(champ)
    labels = {graph.label[k] for k in graph.nodes}
    assert {"bit0", "bit1", "start", "delimiter", "r0", "r1", "out0", "out1", "a0", "j"} <= labels
    assert {"shift L = 0.00", "shift S", "w = 1.00"} <= labels  # constant outputs show their value
    _, graph = network_figure(load_champion(runs["soft"]))
    roles = {graph.label[k].split(" =")[0] for k in graph.nodes if k >= 0}
    allowed = {"out0", "out1", "β", "g", "s L", "s S", "s R", "γ"} | {f"{c}{i}" for c in "kea" for i in range(5)}
    assert roles <= allowed


def test_recurrent_network_with_cycles_is_drawn(copier, tmp_path):
    data = json.loads(copier.read_text())
    data["network_type"] = "recurrent"
    hidden = dict(data["nodes"][0], id=20, type="hidden")
    hidden2 = dict(hidden, id=21, activation={"name": "tanh", "custom": False})
    data["nodes"] += [hidden, hidden2]
    data["connections"] += [
        {"from": -1, "to": 20, "weight": 1.5, "enabled": True},
        {"from": 20, "to": 21, "weight": -2.0, "enabled": True},
        {"from": 21, "to": 20, "weight": 0.5, "enabled": True},  # a cycle
        {"from": 21, "to": 21, "weight": 0.7, "enabled": True},  # a self-loop
        {"from": 21, "to": 0, "weight": 1.0, "enabled": True},
        {"from": 0, "to": 21, "weight": 0.3, "enabled": True},  # output -> hidden
        {"from": 20, "to": 1, "weight": 1.0, "enabled": False},  # disabled: not drawn
    ]
    path = tmp_path / "recurrent.json"
    path.write_text(json.dumps(data))
    champ = load_champion(path)
    drawing = plot_network(champ, tmp_path / "rec")
    _png(drawing.paths[0])
    g = drawing.graph
    assert Counter(drawing.edges) == _json_edges(data) - Counter({(20, 1, 1.0): 1})
    assert len(drawing.edges) == champ.network.size()[1]
    assert {(21, 21)} <= g.back_edges and len(g.back_edges) >= 2
    assert 0 < g.column[20] < g.column[21] < g.column[0]
    assert g.label[21] == "tanh"


@pytest.mark.parametrize("L", [1, 4])
def test_memory_trace_has_one_column_per_step(L, copier, runs, tmp_path):
    for src in (copier, runs["discrete"], runs["soft"]):
        info = plot_memory(src, tmp_path / f"m{L}.png", length=L, seed=2)
        _png(info.path)
        assert info.steps == 2 * L + 3 and info.length == L
        fig, _ = memory_figure(load_champion(src), length=L, seed=2)
        images = [im for ax in fig.axes for im in ax.images]
        assert len(images) >= 4  # inputs, targets, outputs, memory
        assert {im.get_array().shape[1] for im in images} == {2 * L + 3}
    info = plot_memory(copier, tmp_path / "perfect.png", length=6)
    assert info.perfect and info.score == 1.0 and info.mode == "discrete" and info.cells >= 7


def test_compare_json_matches_entm_evaluate(runs, copier, capsys):
    targets = [runs["discrete"], runs["soft"], copier]
    assert run_analysis("compare", *targets, "--lengths", "1,5,20", "--episodes", "4", "--seed", "3",
                        "--json", "--quiet") == 0
    rows = json.loads(capsys.readouterr().out)  # exactly one JSON value on stdout
    assert [r["kind"] for r in rows] == ["evolved"] * 3
    assert [r["memory"] for r in rows] == ["discrete", "differentiable", "discrete"]
    for target, row in zip(targets, rows):
        status, out, err = run_main(capsys, "evaluate", target, "--lengths", "1,5,20", "--episodes", "4", "--seed",
                                    "3", "--json")
        assert status == 0, err
        assert row["lengths"] == json.loads(out)["lengths"]
        champ = load_champion(target)
        assert (row["size"]["nodes"], row["size"]["connections"]) == champ.network.size()
    for name, row in zip(("discrete", "soft"), rows):
        metrics = [json.loads(line) for line in (runs[name] / "metrics.jsonl").read_text().splitlines()]
        assert row["cost"]["generations"] == len(metrics)
        assert row["cost"]["evaluations"] == sum(m["population"] for m in metrics)
        assert row["cost"]["genome_steps"] == sum(m["genome_steps"] for m in metrics)
        assert row["cost"]["wall_seconds"] == pytest.approx(metrics[-1]["wall_seconds"], abs=1e-3)
    assert rows[2]["cost"] is None and rows[2]["lengths"]["20"]["perfect"] == 1.0


def test_compare_text_table(runs, copier, capsys):
    assert run_analysis("compare", runs["discrete"], copier, "--lengths", "2,10", "--episodes", "2",
                        "--quiet") == 0
    out = capsys.readouterr().out
    assert "L=2" in out and "L=10" in out and "1.000 (100%)" in out and "evolved" in out
    rows = compare_runs([copier], lengths=[3], episodes=2)
    lines = format_table(rows).splitlines()  # under the group's header: task, training range, memory
    assert lines[0] == "== copy (vector_size=2): 1 run"
    assert lines[3].split()[:4] == ["run", "kind", "task", "memory"]


def test_report_is_one_self_contained_page(runs, copier, tmp_path, capsys):
    odd = tmp_path / "a<b>&c.json"  # text from files is escaped
    odd.write_bytes(copier.read_bytes())
    out = tmp_path / "rep" / "report.html"
    assert run_analysis("report", runs["discrete"], runs["soft"], odd, "-o", out, "--lengths", "1,4",
                        "--episodes", "2", "--length", "3", "--quiet") == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 3 * 2 + 2 + 1  # fitness curves (runs only), networks, traces, generalisation
    for s in srcs:
        assert s.startswith("data:image/png;base64,")
        assert base64.b64decode(s.split(",", 1)[1]).startswith(PNG)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", page)
    assert not re.search(r"<(script|link|iframe|object|embed)\b", text) and "http" not in text
    assert "a&lt;b&gt;&amp;c" in text and "a<b>" not in text
    assert "differentiable" in text and "comparison" in text


def _trained_run(tmp_path):
    run = tmp_path / "trained"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"kind": "training", "task": "copy", "model": "ntm",
                                              "task_params": {"vector_size": 2}}))
    lines = [{"sequences": 100 * (i + 1), "loss": 0.7 / (i + 1), "bit_errors": 10.0 / (i + 1), "seconds": 0.5 * i}
             for i in range(6)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
    return run


def test_trained_runs_have_a_kind_curves_and_clear_errors(tmp_path):
    """A training run without its model.pt (trained runs with a model: tests/baseline/test_analysis_trained.py)."""
    run = _trained_run(tmp_path)
    src = open_source(run)
    assert src.kind == "trained" and src.name == "trained"
    _png(plot_fitness(run, tmp_path / "loss.png"))
    for call in (lambda: plot_memory(run, tmp_path / "m.png"), lambda: compare_runs([run], lengths=[5], episodes=1)):
        with pytest.raises(EntmError, match="has no model.pt"):
            call()
    with pytest.raises(EntmError, match="has no evolved network"):
        plot_network(run, tmp_path / "n")
    with pytest.raises(EntmError, match="has no evolved network"):
        run_analysis("plot", "network", run)
    assert not (run / "plots").exists()


def test_bad_inputs_are_one_line_errors_and_write_nothing(runs, copier, tmp_path):
    run = runs["soft"]
    trunc = tmp_path / "trunc.json"
    trunc.write_text(copier.read_text()[:300])
    notrun = tmp_path / "empty"
    notrun.mkdir()
    cases = [
        (("plot", "network", tmp_path / "missing"), "missing"),
        (("plot", "memory", trunc), "trunc.json"),
        (("compare", trunc), "trunc.json"),
        (("report", notrun, "-o", tmp_path / "r.html"), "not a run directory"),
        (("plot", "memory", run, "--length", "0"), "length"),
        (("compare", run, "--lengths", "0"), "length"),
        (("compare", run, "--lengths", "5,x"), "'x'"),
        (("compare", run, "--episodes", "0"), "episodes"),
        (("plot", "graph", run), "invalid choice"),
        (("plot", "fitness", copier), "run directory"),
        (("plot", "generalization", run, copier), "-o"),
        (("plot", "network", run, copier, "-o", tmp_path / "x"), "-o"),
        (("plot", "network", run, trunc), "trunc.json"),
    ]
    for argv, word in cases:
        with pytest.raises(EntmError) as e:
            run_analysis(*argv)
        msg = str(e.value)
        assert "\n" not in msg and word in msg, (argv, msg)
    assert not (run / "plots").exists()  # a bad call writes nothing
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(EntmError, match="length"):
        plot_memory(copier, tmp_path / "m.png", length=0)
    assert not (tmp_path / "m.png").exists()


def test_fitness_curve_of_a_real_run(runs, tmp_path):
    for name in ("discrete", "soft"):
        p = plot_fitness(runs[name], tmp_path / f"{name}.png")
        _png(p)
    # the generations plotted are the run's
    metrics = open_source(runs["discrete"]).metrics()
    assert [m["generation"] for m in metrics] == list(range(3))
    assert np.isfinite([m["best_fitness"] for m in metrics]).all()
    lines = {line.get_label(): line for line in fitness_figure(runs["discrete"]).axes[0].get_lines()}
    for label, key in (("best fitness", "best_fitness"), ("mean fitness", "mean_fitness"),
                       ("task score of the fittest", "best_score")):
        assert list(lines[label].get_xdata()) == [m["generation"] for m in metrics], label
        assert list(lines[label].get_ydata()) == [m[key] for m in metrics], label
