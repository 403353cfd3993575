"""entm's DefaultSpeciesSet: neat-python's speciation exactly without ``target_species``; with it, a threshold
that moves towards the target, recorded per generation and carried through checkpoints."""

import copy

import neat
import pytest

from entm import runs
from entm.errors import EntmError
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.evolution.species import DefaultSpeciesSet
from entm.neatconfig import load_config
from helpers import (SPECIES_BASE, comparable_champion, comparable_metrics, main_error, species_config_file,
                     species_config_text, spread_population)

BASE = SPECIES_BASE
_config_text, _config_file, _population = species_config_text, species_config_file, spread_population


def test_without_a_target_speciation_is_neat_pythons():
    config = load_config(_config_text())
    assert config.species_set_type is DefaultSpeciesSet and config.species_set_config.target_species == 0
    population = _population(config, 1)
    ours = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    theirs = neat.DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    for generation in range(3):
        ours.speciate(config, population, generation)
        theirs.speciate(config, population, generation)
        assert ours.genome_to_species == theirs.genome_to_species
    assert ours.threshold == config.species_set_config.compatibility_threshold  # never moved


def test_the_threshold_moves_towards_the_target():
    config = load_config(_config_text(target_species=40, threshold_step=0.5, threshold_min=0.2))
    population = _population(config, 2)
    s = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    seen = []
    for generation in range(12):
        before = s.threshold
        s.speciate(config, population, generation)
        n = len(s.species)
        seen.append(n)
        expected = max(0.2, before - 0.5) if n < 40 else before + 0.5 if n > 40 else before
        assert s.threshold == pytest.approx(expected)
        assert config.species_set_config.compatibility_threshold == 3.0  # the config itself is left as it was
    assert seen[0] < 40 and max(seen) > seen[0]  # fewer species than the target at 3.0: the threshold fell, more came


@pytest.mark.parametrize("target", [40, 3])
def test_with_threshold_hold_it_moves_only_while_the_speciation_does_not(target):
    """Up only after a speciation that formed species, down only after one that formed none."""
    config = load_config(_config_text(target_species=target, threshold_step=0.5, threshold_min=0.2,
                                      threshold_hold="true"))
    assert config.species_set_config.threshold_hold is True
    population = _population(config, 2)
    s = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    moves = set()
    for generation in range(12):
        before, known = s.threshold, set(s.species)
        s.speciate(config, population, generation)
        n, formed = len(s.species), bool(set(s.species) - known)
        if n < target:
            expected = before if formed else max(0.2, before - 0.5)
        elif n > target:
            expected = before + 0.5 if formed else before
        else:
            expected = before
        assert s.threshold == pytest.approx(expected)
        moves.add((n < target, n > target, formed, s.threshold != before))
    assert any(m[3] for m in moves) and any(not m[3] and (m[0] or m[1]) for m in moves)  # it moved, and it held


def test_a_run_records_the_threshold_and_resumes_with_it(tmp_path):
    cfg = _config_file(tmp_path, target_species=8, threshold_step=0.3)
    whole = evolve(EvolveSettings(**BASE, config=cfg, generations=8, run_dir=str(tmp_path / "whole")),
                   progress=False)
    rows = runs.read_metrics(whole.run_dir)
    thresholds = [m["compatibility_threshold"] for m in rows]
    assert len(set(thresholds)) > 1  # it moved
    for a, b, m in zip(thresholds, thresholds[1:], rows[1:]):
        assert b == pytest.approx(a - 0.3 if m["species"] < 8 else a + 0.3 if m["species"] > 8 else a) \
            or b == pytest.approx(0.1)
    part = tmp_path / "part"
    evolve(EvolveSettings(**BASE, config=cfg, generations=4, checkpoint_every=2, run_dir=str(part)),
           progress=False)
    resume(part, generations=8, progress=False)
    assert comparable_metrics(part) == comparable_metrics(whole.run_dir)
    assert comparable_champion(part) == comparable_champion(whole.run_dir)


def test_without_a_target_nothing_new_is_recorded(tmp_path):
    r = evolve(EvolveSettings(**BASE, config=_config_file(tmp_path), generations=2, run_dir=str(tmp_path / "r")),
               progress=False)
    assert all("compatibility_threshold" not in m for m in runs.read_metrics(r.run_dir))


@pytest.mark.parametrize("item, value", [("target_species", "-1"), ("target_species", "ten"),
                                         ("threshold_step", "0"), ("threshold_min", "nan"),
                                         ("threshold_hold", "maybe")])
def test_bad_species_items_are_one_line_errors(tmp_path, capsys, item, value):
    with pytest.raises(EntmError, match=rf"\[DefaultSpeciesSet\] {item} = '{value}'"):
        load_config(_config_text(**{item: value}))
    main_error(capsys, "evolve", "--task", "tmaze", "--config", _config_file(tmp_path, **{item: value}),
               "--generations", "1", "--serial", "--run-dir", tmp_path / "x", words=(item,))


def test_a_threshold_fallen_too_far_is_widened_until_the_species_fit():
    """At a threshold near 0 every genome would be a species of its own, more than 150 genomes of at least 2
    per species keep: the speciation is done again from the same state at twice the threshold until they fit,
    exactly as a speciation at that threshold would have been."""
    config = load_config(_config_text(target_species=500, threshold_step=2.9, threshold_min=0.001))
    room = config.pop_size // max(config.reproduction_config.min_species_size, config.reproduction_config.elitism)
    population = _population(config, 3)
    s = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    s.speciate(config, population, 0)  # at 3.0: fewer than 500, so the threshold falls to 0.1
    assert s.threshold == pytest.approx(0.1)
    plain = copy.deepcopy(s)
    plain._speciate_at(config, population, 1, 0.1)
    assert len(plain.species) > room  # what neat-python's reproduction would refuse
    before = copy.deepcopy(s)
    s.speciate(config, population, 1)
    assert len(s.species) <= room
    widened = s.threshold + 2.9  # the threshold that fitted, before the controller moved it down again
    assert widened > 0.1
    again = copy.deepcopy(before)
    again._speciate_at(config, population, 1, widened)
    assert again.genome_to_species == s.genome_to_species
    assert sorted(again.species) == sorted(s.species)


def test_a_run_whose_threshold_falls_too_far_goes_on(tmp_path):
    """Without the widening this run stops in its second generation (more species than pop_size keeps)."""
    cfg = _config_file(tmp_path, target_species=500, threshold_step=2.9, threshold_min=0.001)
    r = evolve(EvolveSettings(**BASE, config=cfg, generations=5, run_dir=str(tmp_path / "r")), progress=False)
    rows = runs.read_metrics(r.run_dir)
    assert len(rows) == 5 and all(m["species"] <= 75 for m in rows)  # 150 genomes, at least 2 per species
