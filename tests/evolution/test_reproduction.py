"""entm's DefaultReproduction: neat-python's spawn-count adjustment, finished where neat-python gives up."""

import random
import re

import neat
import pytest

from entm.evolution.reproduction import DefaultReproduction
from entm.neatconfig import default_config_path, load_config, read_config_text


def _adjust(cls, amounts, pop_size, min_size):
    return cls.__new__(cls)._adjust_spawn_exact(list(amounts), pop_size, min_size)


def test_many_small_species_fit_where_neat_python_gives_up():
    """118 species of a population of 250, minimum 2 (a season run stopped on this): the counts are brought to
    250 with every species at its minimum or above, the largest losing first."""
    amounts = [2] * 100 + [3] * 10 + [6] * 8
    assert sum(amounts) - 250 > 18  # more to take than one pass over the species above the minimum gives
    with pytest.raises(RuntimeError, match="Internal error adjusting spawn counts"):
        _adjust(neat.DefaultReproduction, amounts, 250, 2)
    out = _adjust(DefaultReproduction, amounts, 250, 2)
    assert sum(out) == 250 and min(out) >= 2
    assert out[:100] == [2] * 100  # the species at the minimum keep it
    # passes over the species largest first (neat-python's order, the earlier of equals first): 18 taken in the
    # first, 8 in the second (the 3s are at the minimum now), 2 in the third
    assert out[100:] == [2] * 10 + [3, 3] + [4] * 6


def test_whatever_neat_python_finishes_comes_out_the_same():
    rng = random.Random(4)
    checked = 0
    for _ in range(3000):
        n = rng.randint(1, 40)
        min_size = rng.randint(1, 3)
        amounts = [rng.randint(min_size, 30) for _ in range(n)]
        pop = rng.randint(n * min_size, sum(amounts) + 20)
        try:
            theirs = _adjust(neat.DefaultReproduction, amounts, pop, min_size)
        except RuntimeError:
            ours = _adjust(DefaultReproduction, amounts, pop, min_size)
            assert sum(ours) == pop and min(ours) >= min_size
            continue
        assert _adjust(DefaultReproduction, amounts, pop, min_size) == theirs
        checked += 1
    assert checked > 300  # and the rest, where neat-python gives up, fit too


def test_minima_that_do_not_fit_are_still_neat_pythons_error():
    with pytest.raises(RuntimeError, match="Configuration conflict"):
        _adjust(DefaultReproduction, [5] * 10, 15, 2)


def test_configs_load_with_it():
    text = read_config_text(default_config_path("copy", "discrete"))
    assert load_config(text).reproduction_type is DefaultReproduction


# -- species_share: SharpNEAT's offspring shares (opt-in) -------------------------------------------

def _two_species(share: str):
    """A real population of 40 made by entm's reproduction, split by hand into two species of 20: A at the
    population's lowest fitness (0.5 each), B a little above (0.6); one reproduction; the children per species
    counted by their first parent (elites by themselves)."""
    text = read_config_text(default_config_path("copy", "discrete"))
    text = re.sub(r"(?m)^pop_size\s*=.*$", "pop_size = 40", text)
    if share:
        text = text.replace("[DefaultReproduction]", f"[DefaultReproduction]\nspecies_share = {share}", 1)
    config = load_config(text)
    reporters = neat.reporting.ReporterSet()
    stagnation = config.stagnation_type(config.stagnation_config, reporters)
    repro = config.reproduction_type(config.reproduction_config, reporters, stagnation)
    genomes = repro.create_new(config.genome_type, config.genome_config, 40)
    species_set = config.species_set_type(config.species_set_config, reporters)
    keys = sorted(genomes)
    groups = {"A": keys[:20], "B": keys[20:]}
    for n, (name, members) in enumerate(groups.items()):
        s = neat.species.Species(n + 1, 0)
        s.update(genomes[members[0]], {k: genomes[k] for k in members})
        species_set.species[n + 1] = s
        for k in members:
            genomes[k].fitness = 0.5 if name == "A" else 0.6
    random.seed(0)
    new = repro.reproduce(config, species_set, 40, 0)
    side = {k: name for name, members in groups.items() for k in members}
    counts = {"A": 0, "B": 0}
    for k in new:
        counts[side[k] if k in side else side[repro.ancestors[k][0]]] += 1
    return counts, species_set


def test_neat_pythons_shares_starve_the_species_at_the_floor():
    """neat-python (the default, and ``range``): A's adjusted fitness is 0, its target the minimum; B's size
    goes half-way towards the whole population."""
    assert _two_species("")[0] == _two_species("range")[0] == {"A": 11, "B": 29}


def test_sharpneats_shares_follow_the_mean_fitness():
    """``mean``: targets 40 x 0.5 / 1.1 = 18.2 and 21.8, half-way from 20 each: 19 and 21; the species'
    adjusted fitness is its mean."""
    counts, species_set = _two_species("mean")
    assert counts == {"A": 19, "B": 21}
    assert sorted(s.adjusted_fitness for s in species_set.species.values()) == [0.5, 0.6]


def test_the_share_is_checked_when_a_config_loads():
    text = read_config_text(default_config_path("copy", "discrete"))
    bad = text.replace("[DefaultReproduction]", "[DefaultReproduction]\nspecies_share = median", 1)
    with pytest.raises(Exception, match=r"\[DefaultReproduction\] species_share = 'median': must be one of range, mean"):
        load_config(bad)
