"""Runs of different tasks or task parameters are never compared silently: `entm compare`, `entm plot
generalization` and `entm report` group them, say when a view holds several groups, and mark each run's
training range; a hyper run's fitness plot shows its CPPN's size."""

import json
import re

import numpy as np
import pytest
from entm.analysis.compare import compare_runs, format_table, group_rows, training_range
from entm.analysis.curves import (
    fitness_figure,
    generalization_figure,
    generalization_panels,
    size_panel,
)
from entm.analysis.report import comparison_table_html
from helpers import run_main, small_evolution_run

from entm import runs as run_files


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Real runs: 2-bit copy trained on 1-10 and on 1-6, 2-bit copy with the differentiable memory,
    4-bit copy, T-maze."""
    base = tmp_path_factory.mktemp("mixed")
    return {
        "c2": small_evolution_run(base / "c2", task_params={"vector_size": 2}),
        "c2short": small_evolution_run(base / "c2short", task_params={"vector_size": 2, "max_length": 6}),
        "c2soft": small_evolution_run(base / "c2soft", task_params={"vector_size": 2}, memory="differentiable",
                                      memory_params={"cells": 8}),
        "c4": small_evolution_run(base / "c4", task_params={"vector_size": 4}),
        "tmaze": small_evolution_run(base / "tmaze", task="tmaze", episodes=2),
    }


@pytest.fixture(scope="module")
def rows(mixed):
    """Every run on its own task's default sweep, one episode per length."""
    return compare_runs([mixed[k] for k in ("c2", "c4", "tmaze", "c2short", "c2soft")], episodes=1)


def test_rows_carry_their_group_and_training_range(rows):
    by_name = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["c2", "c4", "tmaze", "c2short", "c2soft"]  # the order given
    assert {by_name[n]["group"] for n in ("c2", "c2short", "c2soft")} == {"copy (vector_size=2)"}
    assert by_name["c4"]["group"] == "copy (vector_size=4)"
    assert by_name["tmaze"]["group"].startswith("tmaze (") and "variant=discrete" in by_name["tmaze"]["group"]
    assert by_name["c2"]["training"] == [1, 10] and by_name["c2short"]["training"] == [1, 6]
    assert by_name["tmaze"]["training"] == [20, 20] and by_name["tmaze"]["length_name"] == "rounds"
    # without --lengths every run is evaluated on its own task's sweep: T-maze in rounds, copy in lengths
    assert list(by_name["tmaze"]["lengths"]) == ["20", "40", "100"]
    assert list(by_name["c2"]["lengths"]) == ["10", "20", "50", "100", "200", "1000"]
    assert training_range("season", {"years": 3}) == [3, 3] and training_range("nosuch", {}) is None


def test_groups_and_their_headers(rows):
    groups = group_rows(rows)
    assert [[r["name"] for r in g.rows] for g in groups] == [["c2", "c2short", "c2soft"], ["c4"], ["tmaze"]]
    c2 = groups[0].header()
    assert c2[0] == "copy (vector_size=2): 3 runs"
    assert "trained on different ranges: length 1-10 (c2, c2soft); length 1-6 (c2short)" in c2
    memory = [line for line in c2 if line.startswith("memory differs: ")]
    assert len(memory) == 1 and "differentiable cells=8" in memory[0] and "(c2soft)" in memory[0]
    assert groups[1].header()[1:] == ["trained on length 1-10", "memory: discrete width=7"]
    assert "trained on rounds 20" in groups[2].header()


def test_compare_table_is_one_table_per_group_under_a_note(rows, mixed, capsys):
    text = format_table(rows)
    assert text.startswith("NOTE: runs of 3 different tasks or task parameters: one table each")
    sections = text.split("\n\n")
    assert [s.splitlines()[0] for s in sections[1:4]] == [
        "== copy (vector_size=2): 3 runs", "== copy (vector_size=4): 1 run", f"== {rows[2]['group']}: 1 run"]
    for section, names in zip(sections[1:4], (["c2", "c2short", "c2soft"], ["c4"], ["tmaze"])):
        table = [line for line in section.splitlines() if not line.startswith(("==", "   "))]
        assert table[0].split()[:4] == ["run", "kind", "task", "memory"]
        assert [line.split()[0] for line in table[2:]] == names
    assert "rounds=20" in sections[3] and "L=20" not in sections[3] and "L=1000" in sections[1]
    # one group alone: no note
    single = format_table([r for r in rows if r["name"] == "c4"])
    assert single.startswith("== copy (vector_size=4): 1 run") and "NOTE" not in single
    # the command line, with --json: every row says its group
    status, out, err = run_main(capsys, "compare", mixed["c2"], mixed["tmaze"], "--lengths", "20", "--episodes",
                                "1", "--json", "--quiet")
    assert status == 0, err
    assert [r["group"].split()[0] for r in json.loads(out)] == ["copy", "tmaze"]
    status, out, err = run_main(capsys, "compare", mixed["c2"], mixed["c4"], "--lengths", "20", "--episodes", "1",
                                "--quiet")
    assert status == 0, err
    assert out.startswith("NOTE: runs of 2 different tasks or task parameters")


def test_generalization_plot_has_a_row_per_group_and_marks_training(rows):
    panels = generalization_panels(rows)
    assert [p["title"] for p in panels] == [g.header()[0] for g in group_rows(rows)]
    assert [[line["label"].split()[0] for line in p["lines"]] for p in panels] == [
        ["c2", "c2short", "c2soft"], ["c4"], ["tmaze"]]
    assert panels[0]["spans"] == [{"range": [1, 10], "runs": ["c2", "c2soft"]}, {"range": [1, 6], "runs": ["c2short"]}]
    assert panels[2]["spans"] == [{"range": [20, 20], "runs": ["tmaze"]}]
    assert panels[2]["length_name"] == "rounds" and panels[2]["lines"][0]["lengths"] == [20, 40, 100]
    fig = generalization_figure(rows)
    axes = fig.axes
    assert len(axes) == 2 * len(panels)
    # the copy row: two shaded training spans behind each plot; the T-maze row: a band at 20 rounds
    assert [len(ax.patches) for ax in axes[:2]] == [2, 2]
    assert [tuple(ln.get_xdata()) for ln in axes[4].lines if ln.get_linewidth() == 6] == [(20, 20)]
    assert axes[4].get_xlabel() == "rounds per deployment" and axes[0].get_xlabel() == "sequence length"
    assert "different tasks or task parameters" in fig._suptitle.get_text()
    legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert "trained on length 1-10 (c2, c2soft)" in legend and "trained on length 1-6 (c2short)" in legend
    # drawn data: each run's score line in its group's plot
    c2 = [ln for ln in axes[0].lines if ln.get_label().startswith("c2 ")]
    assert len(c2) == 1 and list(c2[0].get_ydata()) == panels[0]["lines"][0]["score"]


def test_report_table_is_grouped(rows):
    page = comparison_table_html(rows)
    assert page.count("<table>") == 3
    heads = re.findall(r"<h3>(.*?)</h3>", page)
    assert heads[:2] == ["copy (vector_size=2): 3 runs", "copy (vector_size=4): 1 run"]
    assert "runs of 3 different tasks or task parameters" in page
    assert "<th>rounds=20</th>" in page and "trained on different ranges" in page
    assert "wrong rounds)" in page and "bit errors)" in page  # what T-maze and copy count


def test_fitness_size_panel_of_a_hyper_run_is_its_cppn(tmp_path):
    run = small_evolution_run(tmp_path / "hyper", task_params={"vector_size": 2}, generations=2, encoding="hyper")
    metrics = run_files.read_metrics(run)
    assert all(m["best_cppn_size"] != m["best_size"] for m in metrics)
    panel = size_panel(metrics)
    assert panel["key"] == "best_cppn_size"
    assert list(panel["connections"]) == [m["best_cppn_size"][1] for m in metrics]
    fig = fitness_figure(run)
    size_ax = fig.axes[-1]
    assert size_ax.get_ylabel().startswith("CPPN")
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in size_ax.lines}
    assert lines == {"CPPN connections": [m["best_cppn_size"][1] for m in metrics],
                     "CPPN nodes": [m["best_cppn_size"][0] for m in metrics]}
    assert "hyper encoding" in fig._suptitle.get_text()
    # a direct run's panel stays the network's own size
    direct = size_panel([{"best_size": [3, 7]}, {"best_size": [4, 9]}])
    assert direct["key"] == "best_size" and np.array_equal(direct["connections"], [7, 9])
