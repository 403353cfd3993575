"""``--restart-every G``: an unsolved run starts again from a new random population every G generations."""

import json

import neat
from helpers import comparable_champion, comparable_metrics, main_error, run_main

from entm import runs
from entm.evolution.loop import EvolveSettings, evolve, prepare, resume
from entm.evolution.reporters import LoopState
from entm.evolution.restart import restart_due, restart_population
from entm.neatconfig import load_config


def _settings(tmp_path, name, generations, restart_every=3, **kw):
    return EvolveSettings(task="tmaze", task_params={"variant": "discrete", "rounds": 4}, episodes=4,
                          generations=generations, seed=3, evaluator="serial", restart_every=restart_every,
                          run_dir=str(tmp_path / name), **kw)


def test_a_restart_makes_a_new_first_population_in_new_species(tmp_path):
    _, _, _, text = prepare(_settings(tmp_path, "x", 1))
    config = load_config(text, "test")
    pop = neat.Population(config)
    for generation in range(3):  # three generations bred: ids and species beyond the first population's
        for i, g in enumerate(pop.population.values()):
            g.fitness = i % 7 / 7
        pop.population = pop.reproduction.reproduce(config, pop.species, config.pop_size, generation)
        pop.species.speciate(config, pop.population, generation)
    old_keys, old_species = set(pop.population), set(pop.species.species)
    pop.generation = 3
    state = LoopState()
    assert restart_due(pop, state, 3) and not restart_due(pop, state, 2) and not restart_due(pop, state, 0)
    restart_population(pop, state)
    assert state.restarts == [3] and not restart_due(pop, state, 3)  # once per generation
    assert len(pop.population) == config.pop_size and not set(pop.population) & old_keys
    assert min(pop.population) > max(old_keys)
    assert all(pop.reproduction.ancestors[k] == () for k in pop.population)  # made, not bred
    assert all(len(g.nodes) == config.genome_config.num_outputs for g in pop.population.values())  # no hidden
    assert pop.species.species and not set(pop.species.species) & old_species
    assert sorted(k for s in pop.species.species.values() for k in s.members) == sorted(pop.population)
    assert not restart_due(pop, LoopState(solved=True), 3)


def test_restarts_are_recorded_and_a_resumed_run_equals_the_uninterrupted_one(tmp_path):
    whole = evolve(_settings(tmp_path, "whole", 8), progress=False)
    metrics = runs.read_metrics(whole.run_dir)
    assert [m.get("restarts", 0) for m in metrics] == [0, 0, 0, 1, 1, 1, 2, 2]
    assert min(m["best_genome"] for m in metrics[3:6]) > max(m["best_genome"] for m in metrics[:3])
    for stop in (3, 4):  # the checkpoint before a restart, and the one after
        part = evolve(_settings(tmp_path, f"part{stop}", stop, checkpoint_every=1), progress=False)
        resumed = resume(part.run_dir, generations=8, evaluator="serial", progress=False)
        assert resumed.generations == 8
        assert comparable_metrics(resumed.run_dir) == comparable_metrics(whole.run_dir)
        assert comparable_champion(resumed.run_dir) == comparable_champion(whole.run_dir)
    plain = comparable_metrics(evolve(_settings(tmp_path, "plain", 4, restart_every=0), progress=False).run_dir)
    assert plain[:3] == comparable_metrics(whole.run_dir)[:3]  # the same run up to the first restart
    assert plain[3]["best_genome"] < metrics[3]["best_genome"]


def test_bad_restart_settings_are_one_line_errors(capsys, tmp_path):
    main_error(capsys, "evolve", "--task", "tmaze", "--restart-every", "-1", "--run-dir", tmp_path / "a",
               words=("--restart-every", "-1"))
    main_error(capsys, "evolve", "--task", "tmaze", "--restart-every", "5", "--reproduction", "workers",
               "--run-dir", tmp_path / "b", words=("--restart-every", "--reproduction driver"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    status, out, err = run_main(capsys, "presets", "discrete-double-tmaze", "--json")
    assert status == 0, err
    assert json.loads(out)["settings"]["restart_every"] == 1000


def test_restart_every_is_part_of_the_run_identity_only_when_set():
    record = {"task": "tmaze", "seed": 0}
    assert runs.run_identity({**record, "restart_every": 0}, "c") == runs.run_identity(record, "c")
    assert runs.run_identity({**record, "restart_every": 1000}, "c") != runs.run_identity(record, "c")
