"""``--init-from``: a first population grown from a given network (entm.evolution.seeding)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import comparable_champion, comparable_metrics, main_error, run_main, small_evolution_run, wide_copy_config

from entm import runs
from entm.errors import EntmError
from entm.evolution import worker_repro
from entm.evolution.loop import EvolveSettings, evolve, prepare, resume
from entm.evolution.seeding import genome_network, new_population, read_init
from entm.neatconfig import load_config
from entm.phenotype.network import Network, load_network_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HANDBUILT = FIXTURES / "copy_handbuilt_v2.json"


def _wide_config(tmp_path) -> Path:
    path = tmp_path / "wide.ini"
    path.write_text(wide_copy_config())
    return path


def _settings(tmp_path, name, generations=3, **kw):
    fields = {**read_init(HANDBUILT), "config": str(_wide_config(tmp_path)), **kw}
    return EvolveSettings(task="copy", task_params={"vector_size": 2}, episodes=6, generations=generations, seed=4,
                          evaluator="serial", stop_when_solved=False, run_dir=str(tmp_path / name), **fields)


def _population(settings):
    _, _, _, text = prepare(settings)
    config = worker_repro.configure(load_config(text, "test"), settings.reproduction)
    return config, new_population(config, settings)


def _genes(net: Network):
    """A network's nodes and links, in no particular order (evaluation orders may differ among independent nodes)."""
    d = net.to_json_dict()
    return (sorted(d["nodes"], key=lambda n: n["id"]),
            sorted(d["connections"], key=lambda c: (c["from"], c["to"])))


def _outputs(net: Network, seed=0):
    x = np.random.default_rng(seed).random((64, net.num_inputs))
    return net.activate(x)


def test_the_first_genome_is_the_network_and_the_others_are_mutated_copies(tmp_path):
    evolved = small_evolution_run(tmp_path / "src", task_params={"vector_size": 2}, generations=3)
    settings = _settings(tmp_path, "x", config=None, **read_init(evolved))
    config, pop = _population(settings)
    source, _ = load_network_json(evolved / "champion.json")
    keys = list(pop.population)
    assert len(keys) == config.pop_size and keys == sorted(keys)
    first = Network.from_genome(pop.population[keys[0]], config.genome_config)
    assert _genes(first) == _genes(source)
    assert np.array_equal(_outputs(first), _outputs(source))
    differ = [not np.array_equal(_outputs(Network.from_genome(pop.population[k], config.genome_config)),
                                 _outputs(source)) for k in keys[1:]]
    assert sum(differ) > 0.8 * len(differ)  # mutated once each: nearly every copy computes something else
    members = sorted(k for s in pop.species.species.values() for k in s.members)
    assert members == keys  # speciated, every genome in one species
    # a genome added by mutation gets a node id none of them has (the indexer moved past the network's)
    g = pop.population[keys[1]]
    before = set(g.nodes)
    g.mutate_add_node(config.genome_config)
    new = set(g.nodes) - before
    assert new and min(new) > max(max(h.nodes) for k, h in pop.population.items() if k != keys[1])


def test_a_run_from_a_solution_is_solved_in_its_first_generation_through_the_cli(tmp_path, capsys):
    status, _, err = run_main(capsys, "evolve", "--task", "copy", "--vector-size", "2", "--generations", "20",
                              "--serial", "--seed", "2", "--init-from", HANDBUILT, "--run-dir", tmp_path / "r",
                              "--config", _wide_config(tmp_path))
    assert status == 0, err
    assert "first population from a network of 12 nodes and 10 links (copy, generation 0)" in err
    metrics = runs.read_metrics(tmp_path / "r")
    assert len(metrics) == 1 and metrics[0]["solved"] and metrics[0]["best_score"] == 1.0
    record = runs.read_run_json(tmp_path / "r")
    assert record["init_from"] == str(HANDBUILT)
    assert record["init_network"] == json.loads(HANDBUILT.read_text())
    # a run directory is read as its champion.json
    status, _, err = run_main(capsys, "evolve", "--task", "copy", "--vector-size", "2", "--generations", "1",
                              "--serial", "--init-from", tmp_path / "r", "--run-dir", tmp_path / "s", "--quiet",
                              "--config", _wide_config(tmp_path))
    assert status == 0 and runs.read_metrics(tmp_path / "s")[0]["best_score"] == 1.0


def test_a_seeded_run_is_a_function_of_its_settings_and_resumes_without_the_file(tmp_path):
    whole = evolve(_settings(tmp_path, "whole", 6), progress=False)
    part = evolve(_settings(tmp_path, "part", 3, checkpoint_every=1), progress=False)
    resumed = resume(part.run_dir, generations=6, evaluator="serial", progress=False)
    assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
    assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    random_start = evolve(_settings(tmp_path, "random", 3, init_from=None, init_network=None), progress=False)
    assert runs.read_run_json(random_start.run_dir)["identity"] != runs.read_run_json(part.run_dir)["identity"]
    edited = tmp_path / "edited"
    shutil.copytree(part.run_dir, edited)
    record = json.loads((edited / "run.json").read_text())
    record["init_network"]["connections"][0]["weight"] -= 1.0
    (edited / "run.json").write_text(json.dumps(record))
    with pytest.raises(EntmError, match="run.json or config.ini changed since the run started"):
        resume(edited, generations=6, evaluator="serial", progress=False)
    (tmp_path / "wide.ini").unlink()  # the runs keep their own config.ini, as they keep the network
    assert comparable_metrics(resume(part.run_dir, generations=7, evaluator="serial", progress=False).run_dir)[:6] \
        == comparable_metrics(whole.run_dir)
    assert comparable_metrics(random_start.run_dir) != comparable_metrics(whole.run_dir)[:3]


def test_a_hyper_run_grows_from_a_hyper_champions_cppn(tmp_path):
    src = evolve(EvolveSettings(task="copy", task_params={"vector_size": 4}, encoding="hyper", episodes=4,
                                generations=2, seed=1, evaluator="serial", stop_when_solved=False,
                                run_dir=str(tmp_path / "src")), progress=False)
    champion = json.loads((src.run_dir / "champion.json").read_text())
    settings = EvolveSettings(task="copy", task_params={"vector_size": 8}, encoding="hyper", episodes=4,
                              generations=1, seed=5, evaluator="serial", run_dir=str(tmp_path / "dst"),
                              **read_init(src.run_dir))
    config, pop = _population(settings)
    first = Network.from_genome(pop.population[min(pop.population)], config.genome_config)
    cppn = genome_network(champion, "hyper")
    assert _genes(first) == _genes(cppn)
    assert np.array_equal(_outputs(first), _outputs(cppn))
    # a direct run from a hyper champion starts from the controller it painted (V = 4: the same layout)
    settings = EvolveSettings(task="copy", task_params={"vector_size": 4}, episodes=4, generations=1, seed=5,
                              evaluator="serial", run_dir=str(tmp_path / "direct"), **read_init(src.run_dir))
    config, pop = _population(settings)
    first = Network.from_genome(pop.population[min(pop.population)], config.genome_config)
    painted = Network.from_json(champion)
    assert np.array_equal(_outputs(first), _outputs(painted))


def test_networks_that_do_not_fit_are_one_line_errors(tmp_path, capsys):
    base = ("evolve", "--task", "copy", "--generations", "1", "--serial")
    main_error(capsys, *base, "--vector-size", "3", "--init-from", HANDBUILT, "--run-dir", tmp_path / "a",
               words=("--init-from", "9 inputs and 12 outputs", "11 and 14"))
    main_error(capsys, *base, "--vector-size", "2", "--init-from", HANDBUILT, "--run-dir", tmp_path / "d",
               words=("--init-from", "21 of the network's values lie outside the config's ranges", "weights -10..10",
                      "--config"))
    main_error(capsys, *base, "--vector-size", "2", "--encoding", "hyper", "--init-from", HANDBUILT,
               "--run-dir", tmp_path / "b", words=("--init-from", "metadata.entm.cppn"))
    main_error(capsys, *base, "--init-from", tmp_path / "nothing",
               words=("--init-from", "no such champion file or run directory"))
    (tmp_path / "empty").mkdir()
    main_error(capsys, *base, "--init-from", tmp_path / "empty", words=("--init-from", "no champion.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    main_error(capsys, *base, "--init-from", bad, words=("bad.json",))
    recurrent = json.loads(HANDBUILT.read_text())
    recurrent["network_type"] = "recurrent"
    (tmp_path / "rec.json").write_text(json.dumps(recurrent))
    main_error(capsys, *base, "--vector-size", "2", "--init-from", tmp_path / "rec.json", "--run-dir", tmp_path / "c",
               words=("recurrent", "feed-forward"))
    odd = json.loads(HANDBUILT.read_text())
    odd["metadata"] = {"entm": "not an object"}
    (tmp_path / "odd.json").write_text(json.dumps(odd))
    main_error(capsys, *base, "--vector-size", "2", "--encoding", "hyper", "--init-from", tmp_path / "odd.json",
               "--run-dir", tmp_path / "e", words=("metadata.entm.cppn",))
    assert not any((tmp_path / d).exists() for d in "abcde")  # refused before any run directory was made


def test_worker_reproduction_grows_from_the_network_too(tmp_path):
    """``--reproduction workers`` keeps packed genomes: the seeded ones are packed, new node ids go on above theirs."""
    run = evolve(_settings(tmp_path, "w", 3, reproduction="workers"), progress=False)
    metrics = runs.read_metrics(run.run_dir)
    assert len(metrics) == 3 and metrics[0]["best_score"] == 1.0  # the hand-built network, unchanged, leads
    config, pop = _population(_settings(tmp_path, "w2", reproduction="workers"))
    assert all(type(g).__name__ == "PackedGenome" for g in pop.population.values())
    assert pop.reproduction.node_base > max(int(g.nkeys.max()) for g in pop.population.values())


def test_settings_with_init_from_alone_read_the_network(tmp_path):
    """The Python API (and a campaign) may give the path only: the run reads the network then, as the CLI does."""
    settings = _settings(tmp_path, "api", 1, init_network=None)
    assert settings.init_from == str(HANDBUILT) and settings.init_network is None
    run = evolve(settings, progress=False)
    assert runs.read_run_json(run.run_dir)["init_network"] == json.loads(HANDBUILT.read_text())
    assert runs.read_metrics(run.run_dir)[0]["best_score"] == 1.0

