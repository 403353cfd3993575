"""entm's DefaultReproduction: neat-python's spawn-count adjustment, finished where neat-python gives up."""

import random

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
