"""neat-python's ``DefaultReproduction`` with its spawn-count adjustment finished.

neat-python 2.0's ``_adjust_spawn_exact`` brings the species' spawn counts to
the population size.  When the counts (each at least ``min_species_size``,
rounded) sum to more than the population, it takes one from each species
above the minimum, largest first, and gives up after one pass round the
species, raising "Internal error adjusting spawn counts" although the
minima fit.  Many small species make that happen: a season run with 118
species of a population of 250 (minimum 2: 236 of the 250 places taken by
the minima) stopped there.  entm's class makes the same passes in the same
order and goes on until the counts fit, which they always can when the
minima do; whatever neat-python finishes in one pass comes out the same.
The class keeps neat-python's name, so configs keep their
``[DefaultReproduction]`` section.
"""

from __future__ import annotations

import neat


class DefaultReproduction(neat.DefaultReproduction):
    """``neat.DefaultReproduction``; the spawn counts always fit when the minima do (see the module docstring)."""

    def _adjust_spawn_exact(self, spawn_amounts, pop_size, min_species_size):
        excess = sum(spawn_amounts) - pop_size
        if excess <= 0 or len(spawn_amounts) * min_species_size > pop_size:
            return super()._adjust_spawn_exact(spawn_amounts, pop_size, min_species_size)
        indexed = sorted(enumerate(spawn_amounts), key=lambda x: x[1], reverse=True)  # neat-python's order
        i = 0
        while excess > 0:  # one from each species above the minimum, largest first, pass after pass
            idx, val = indexed[i]
            if val > min_species_size:
                spawn_amounts[idx] = val - 1
                indexed[i] = (idx, val - 1)
                excess -= 1
            i = (i + 1) % len(indexed)
        return spawn_amounts
