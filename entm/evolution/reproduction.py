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

``species_share`` (opt-in, ``[DefaultReproduction]``) decides what a species'
share of the offspring is proportional to.  neat-python (``range``, the
default): its mean fitness less the population's lowest fitness, over the
fitness range (at least 1.0), so with fitnesses in [0, 1] a species at the
population's floor is steered towards its minimum.  SharpNEAT (``mean``, as the ENTM
papers' C# code allots offspring): its mean fitness (negative means count as
0).  Either way neat-python's steps follow: a species moves half-way from its
size towards its share each generation, at least ``min_species_size``.
"""

from __future__ import annotations

from statistics import mean

import neat
from neat.config import ConfigParameter, DefaultClassConfig

from entm.config_checks import SPECIES_SHARES


class _KeptSpecies:
    """The stagnation object during one ``reproduce``: neat-python's own, noting the species it keeps, in the
    order ``reproduce`` lists them (and passes their adjusted fitnesses to ``compute_spawn``)."""

    def __init__(self, stagnation, kept: list):
        self._stagnation, self._kept = stagnation, kept

    def update(self, species_set, generation):
        result = self._stagnation.update(species_set, generation)
        self._kept.extend(s for _, s, stagnant in result if not stagnant)
        return result

    def __getattr__(self, name):
        return getattr(self._stagnation, name)


class DefaultReproduction(neat.DefaultReproduction):
    """``neat.DefaultReproduction``; the spawn counts always fit when the minima do, and ``species_share``
    (see the module docstring)."""

    @classmethod
    def parse_config(cls, param_dict):
        base = super().parse_config({k: v for k, v in param_dict.items() if k != "species_share"})
        params = [*base._params, ConfigParameter("species_share", str, "range")]
        return DefaultClassConfig(param_dict, params, "DefaultReproduction")

    def reproduce(self, config, species, pop_size, generation):
        share = getattr(self.reproduction_config, "species_share", "range")
        if share == "range":
            return super().reproduce(config, species, pop_size, generation)
        if share != "mean":
            raise ValueError(f"[DefaultReproduction] species_share = {share!r}: must be one of "
                             + ", ".join(SPECIES_SHARES))
        stagnation, self._kept = self.stagnation, []
        self.stagnation = _KeptSpecies(stagnation, self._kept)
        try:
            return super().reproduce(config, species, pop_size, generation)
        finally:
            self.stagnation, self._kept = stagnation, None

    def compute_spawn(self, adjusted_fitness, previous_sizes, pop_size, min_species_size):
        kept = getattr(self, "_kept", None)
        if kept is not None:  # species_share = mean: SharpNEAT's shares
            adjusted_fitness = []
            for s in kept:
                s.adjusted_fitness = max(0.0, mean(m.fitness for m in s.members.values()))
                adjusted_fitness.append(s.adjusted_fitness)
        return neat.DefaultReproduction.compute_spawn(adjusted_fitness, previous_sizes, pop_size, min_species_size)

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
