"""Trained runs beside evolved ones in the analysis: compare, plots and report over real runs."""

import base64
import json
import re

import pytest

from entm.analysis.common import open_source
from entm.analysis.compare import compare_runs, format_table
from entm.analysis.curves import plot_fitness, plot_generalization
from entm.analysis.memory_plot import plot_memory
from entm.analysis.network_plot import plot_network
from entm.analysis.report import write_report
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.baseline.train import train
from entm.champion import evaluate_lengths, load_champion
from entm.cli import main
from entm.errors import EntmError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A trained NTM and a trained LSTM on 2-bit copy (a few steps each)."""
    base = tmp_path_factory.mktemp("trained")
    out = {}
    for name, arch in (("ntm", ModelSettings(hidden_size=12, cells=10, width=4, read_heads=1, write_heads=2)),
                       ("lstm", ModelSettings(model="lstm", hidden_size=12, layers=2))):
        train(TrainSettings(task="copy", task_params={"vector_size": 2, "max_length": 4}, architecture=arch,
                            batch_size=4, steps=8, report_every=2, checkpoint_every=4, test_sequences=10,
                            compile=False, run_dir=str(base / name)), progress=False)
        out[name] = base / name
    return out


@pytest.fixture
def copier(fixtures):
    return fixtures / "copy_handbuilt_v2.json"


def test_compare_puts_trained_beside_evolved(trained, copier, capsys):
    rows = compare_runs([copier, trained["ntm"], trained["lstm"]], lengths=[2, 6], episodes=3, seed=1)
    evolved, ntm, lstm = rows
    assert evolved["kind"] == "evolved" and ntm["kind"] == lstm["kind"] == "trained"
    assert ntm["memory"] == "differentiable" and lstm["memory"] == "none" and ntm["heads"] == 3
    assert ntm["memory_params"] == {"cells": 10, "width": 4}
    from entm.baseline.evaluate import load_trained

    t = load_trained(trained["ntm"])
    assert ntm["size"] == {"parameters": t.parameters}
    assert ntm["cost"]["sequences"] == 32 and ntm["cost"]["wall_seconds"] > 0
    assert ntm["champion"] == {"step": 8, "sequences": 32}
    # the same lengths block as `entm evaluate --json` for each kind (same episodes for the same seed)
    champ = load_champion(copier)
    assert evolved["lengths"] == evaluate_lengths(champ.machine, champ.network, [2, 6], episodes=3, seed=1)
    for r in rows:
        assert list(r["lengths"]) == ["2", "6"]
        assert all(set(v) == {"score", "perfect", "bit_errors", "episodes"} for v in r["lengths"].values())
    assert main(["evaluate", str(trained["ntm"]), "--lengths", "2,6", "--episodes", "3", "--seed", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lengths"] == ntm["lengths"]
    assert main(["evaluate", str(trained["ntm"]), "--lengths", "2", "--probe"]) == 2
    assert capsys.readouterr().err.strip() == ("entm: error: --probe fits a readout to an evolved machine's reads; "
                                               "a trained model has its own")
    assert main(["evaluate", str(trained["ntm"]), "--lengths", "2", "--terms"]) == 2
    assert capsys.readouterr().err.strip() == ("entm: error: --terms gives an evolved machine's shaping terms; a "
                                               "trained model has none")
    assert main(["evaluate", str(trained["ntm"]), "--lengths", "2", "--phases"]) == 2
    assert capsys.readouterr().err.strip() == ("entm: error: --phases groups a reward task's rounds; a trained "
                                               "model runs sequence tasks")
    table = format_table(rows)
    assert "trained" in table and f"{t.parameters} params" in table and "32 seq" in table
    assert main(["compare", str(copier), str(trained["ntm"]), "--lengths", "2", "--episodes", "2", "--quiet"]) == 0
    assert "32 seq" in capsys.readouterr().out


def test_plots_of_trained_runs(trained, tmp_path):
    info = plot_memory(trained["ntm"], tmp_path / "mem.png", length=3)
    assert info.path.read_bytes().startswith(PNG)
    assert info.mode == "differentiable" and info.steps == 2 * 3 + 3 and 1 <= info.cells <= 10
    assert plot_fitness(trained["ntm"], tmp_path / "fit.png").read_bytes().startswith(PNG)
    out = plot_generalization([trained["ntm"], trained["lstm"]], tmp_path / "gen.png", lengths=[2, 4], episodes=2)
    assert out.read_bytes().startswith(PNG)
    with pytest.raises(EntmError, match="no external memory"):
        plot_memory(trained["lstm"], tmp_path / "x.png")
    with pytest.raises(EntmError, match="no evolved network"):
        plot_network(trained["ntm"], tmp_path / "n")
    assert not (tmp_path / "x.png").exists()
    # the command line: default output in the run's plots/
    assert main(["plot", "memory", str(trained["ntm"]), "--length", "2"]) == 0
    assert (trained["ntm"] / "plots" / "memory.png").read_bytes().startswith(PNG)
    assert main(["plot", "memory", str(trained["lstm"])]) == 2
    assert not (trained["lstm"] / "plots").exists()


def test_report_with_trained_and_evolved(trained, copier, tmp_path):
    out = write_report([copier, trained["ntm"], trained["lstm"]], tmp_path / "r.html", lengths=[2, 4], episodes=2,
                       length=3)
    page = out.read_text()
    srcs = re.findall(r'src="data:image/png;base64,([^"]*)"', page)
    # copier: network + trace; ntm: curve + trace; lstm: curve; generalisation
    assert len(srcs) == 2 + 2 + 1 + 1
    assert all(base64.b64decode(s).startswith(PNG) for s in srcs)
    assert "trainable parameters" in page and "has no external memory" in page and "sequences" in page
    assert open_source(trained["lstm"]).kind == "trained"
