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

The species count lags the threshold: neat-python keeps every species that has a
member, so a higher threshold only stops new species from forming, and the count
falls as old ones stagnate, generations later.  Stepping on while the count lags
winds the threshold far past the point where species form (measured on the season
preset: from 3 to 61 and back, 42 species at once at the bottom, 3 at the top).
``threshold_hold = true`` (opt-in) holds it while the speciation already moves the
count the right way: the threshold rises (more species than K) only after a
speciation that made new species, and falls (fewer than K) only after one that
made none.

A moving threshold can fall far enough that one speciation splits the population
into more species than reproduction can keep (each keeps ``max(min_species_size,
elitism)`` genomes; neat-python then stops the run).  With ``target_species`` such a
speciation is done again from the same state with the threshold doubled, until the
species fit (deterministic: a resumed run does the same); the threshold that fitted
is the one kept and moved on.
"""

from __future__ import annotations

from itertools import count

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
                                   ConfigParameter("threshold_min", float, 0.1),
                                   ConfigParameter("threshold_hold", bool, False)],
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
        rc = config.reproduction_config
        room = config.pop_size // max(rc.min_species_size, rc.elitism)  # neat-python's per-species minimum
        saved = self._state()
        before = set(self.species)
        while True:
            self._speciate_at(config, population, generation, self.threshold)
            if len(self.species) <= room:
                break
            self._restore(saved)  # more species than reproduction keeps: the same speciation, wider
            self.threshold = max(2 * self.threshold, self.threshold + c.threshold_step)
        n = len(self.species)
        formed = bool(set(self.species) - before)
        if n < target and not (c.threshold_hold and formed):
            self.threshold = max(c.threshold_min, self.threshold - c.threshold_step)
        elif n > target and (formed or not c.threshold_hold):
            self.threshold += c.threshold_step
        return None

    def _speciate_at(self, config, population, generation, threshold):
        c = self.species_set_config
        configured = c.compatibility_threshold
        c.compatibility_threshold = threshold
        try:
            super().speciate(config, population, generation)
        finally:
            c.compatibility_threshold = configured

    def _state(self):
        """What a speciation changes: the species (their representative and members), the id counter."""
        following = next(self.indexer)
        self.indexer = count(following)
        return following, dict(self.species), {sid: (s.representative, s.members) for sid, s in self.species.items()}

    def _restore(self, state):
        following, species, kept = state
        self.indexer = count(following)
        self.species = dict(species)
        for sid, (representative, members) in kept.items():
            self.species[sid].update(representative, members)
