"""neat-python's speciation, with an opt-in target number of species.

neat-python puts a genome into the closest species whose representative is within
``compatibility_threshold``, a fixed distance: how many species a run keeps depends
on how far its genomes drift apart, and small genomes (the reward tasks' controllers
of ~10 nodes) collapse into 1-5 species of a population of 150, which starves the
search of the diversity that speciation exists for.  SharpNEAT (the ENTM C# port's
base: ``SpecieCount 10``) keeps a fixed number of species instead.

``target_species = K`` (``[DefaultSpeciesSet]``, default 0: off, neat-python's
speciation exactly) moves the threshold after each speciation: down by
``threshold_step`` while there are fewer than K species (to ``threshold_min`` at
the least), up by it while there are more (a dynamic threshold, as several NEAT
implementations have; SharpNEAT clusters into K species instead).  The threshold
in use is part of the species set, so it is in every checkpoint and a resumed run
goes on with it; it is recorded per generation in ``metrics.jsonl``
(``compatibility_threshold``).
"""

from __future__ import annotations

import neat
from neat.config import ConfigParameter, DefaultClassConfig


class DefaultSpeciesSet(neat.DefaultSpeciesSet):
    """``neat.DefaultSpeciesSet`` (same name, so configs keep their ``[DefaultSpeciesSet]`` section) with the
    opt-in ``target_species`` above; with it 0 every call is neat-python's own."""

    @classmethod
    def parse_config(cls, param_dict):
        return DefaultClassConfig(param_dict,
                                  [ConfigParameter("compatibility_threshold", float),
                                   ConfigParameter("target_species", int, 0),
                                   ConfigParameter("threshold_step", float, 0.1),
                                   ConfigParameter("threshold_min", float, 0.1)],
                                  "DefaultSpeciesSet")

    def __init__(self, config, reporters):
        super().__init__(config, reporters)
        self.threshold = config.compatibility_threshold
        """The threshold of the next speciation (moves only with ``target_species``)."""

    def speciate(self, config, population, generation):
        c = self.species_set_config
        target = getattr(c, "target_species", 0)
        if not target:
            return super().speciate(config, population, generation)
        configured = c.compatibility_threshold
        c.compatibility_threshold = self.threshold
        try:
            super().speciate(config, population, generation)
        finally:
            c.compatibility_threshold = configured
        n = len(self.species)
        if n < target:
            self.threshold = max(c.threshold_min, self.threshold - c.threshold_step)
        elif n > target:
            self.threshold += c.threshold_step
        return None
