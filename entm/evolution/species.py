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

``speciation = kmeans`` (opt-in) replaces the threshold with SharpNEAT's
k-means clustering into ``target_species`` species every generation
(:mod:`entm.evolution.kmeans`); the threshold items are then unused.
"""

from __future__ import annotations

from itertools import count

import neat
import numpy as np
from neat.config import ConfigParameter, DefaultClassConfig

from entm.evolution import kmeans


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
                                   ConfigParameter("threshold_hold", bool, False),
                                   ConfigParameter("speciation", str, "threshold")],
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
        if getattr(c, "speciation", "threshold") == "kmeans":
            return self._kmeans(population, generation, target)
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

    def _kmeans(self, population, generation, target):
        """SharpNEAT's clustering into ``target`` species (:mod:`entm.evolution.kmeans`)."""
        keys = sorted(population)
        genomes = [population[g] for g in keys]
        k = min(target, len(keys))
        sids = sorted(self.species)[:k]
        while len(sids) < k:
            sids.append(next(self.indexer))
        index = {sid: j for j, sid in enumerate(sids)}
        assign = np.array([index.get(self.genome_to_species.get(g), -1) for g in keys], np.int64)
        if not (assign >= 0).any():  # the first clustering: the first k genomes as one-genome species
            assign[:k] = np.arange(k)
        points = kmeans.Points(genomes)
        assign, cents = kmeans.cluster(points, assign, k)
        dist = points.distances(cents)
        species, self.genome_to_species = {}, {}
        for j, sid in enumerate(sids):
            rows = np.flatnonzero(assign == j)
            s = self.species.get(sid) or neat.species.Species(sid, generation)
            rep = keys[rows[np.argmin(dist[rows, j])]]  # the member nearest the centroid
            s.update(population[rep], {keys[r]: population[keys[r]] for r in rows})
            species[sid] = s
            self.genome_to_species.update((keys[r], sid) for r in rows)
        self.species = species
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
