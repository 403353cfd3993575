"""SharpNEAT's k-means speciation (``speciation = kmeans``): its distance against a plain reference, the
clustering's rules, and whole runs that keep K species and resume exactly."""

import random

import neat
import numpy as np
import pytest

from entm import runs
from entm.errors import EntmError
from entm.evolution import kmeans
from entm.evolution.loop import EvolveSettings, evolve, resume
from entm.evolution.packed import PackedGenome
from entm.evolution.species import DefaultSpeciesSet
from entm.neatconfig import load_config
from helpers import SPECIES_BASE as BASE
from helpers import comparable_champion, comparable_metrics
from helpers import species_config_file as _config_file
from helpers import species_config_text as _config_text
from helpers import spread_population as _population


def _point(g) -> dict:
    """A genome's point as a dict, written out from the genes: enabled connections and node biases."""
    out = {("c",) + k: c.weight for k, c in g.connections.items() if c.enabled}
    out.update({("b", k): n.bias for k, n in g.nodes.items()})
    return out


def _reference_distance(point: dict, members: list) -> float:
    """SharpNEAT's Manhattan metric (1, 0, 10) to the members' centroid, the plain way."""
    genes = set().union(*members)
    centroid = {k: sum(m.get(k, 0.0) for m in members) / len(members) for k in genes}
    d = 0.0
    for k in genes | set(point):
        if k in point and k in centroid:
            d += abs(point[k] - centroid[k])
        else:
            d += 10.0
    return d


def _kmeans_config(k=6):
    return load_config(_config_text(target_species=k, speciation="kmeans"))


def test_the_distance_is_sharpneats_manhattan_metric():
    config = _kmeans_config()
    population = _population(config, 2)
    genomes = [population[k] for k in sorted(population)]
    for g in genomes[::7]:  # some disabled connections and hidden nodes: the points differ in their genes
        g.mutate(config.genome_config)
    points = kmeans.Points(genomes)
    rng = random.Random(0)
    groups = [rng.sample(range(len(genomes)), rng.randint(1, 12)) for _ in range(4)]
    got = points.distances([points.centroid(np.array(rows)) for rows in groups])
    plain = [_point(g) for g in genomes]
    for j, rows in enumerate(groups):
        for i in range(0, len(genomes), 5):
            assert got[i, j] == pytest.approx(_reference_distance(plain[i], [plain[r] for r in rows]))
    assert points.distances([points.centroid(np.array([0]))])[0, 0] == 0.0  # a genome alone is its centroid


def test_packed_genomes_are_the_same_points():
    config = _kmeans_config()
    population = _population(config, 3)
    for g in list(population.values())[:20]:
        codes, vals = kmeans.coordinates(g)
        pcodes, pvals = kmeans.coordinates(PackedGenome.from_genome(g))
        assert sorted(zip(codes.tolist(), vals.tolist())) == sorted(zip(pcodes.tolist(), pvals.tolist()))


def test_two_clear_groups_become_two_species_and_an_empty_one_takes_the_outlier():
    config = _kmeans_config()
    population = _population(config, 4)
    genomes = [population[k] for k in sorted(population)][:20]
    for i, g in enumerate(genomes):  # two groups: every weight near +5 or near -5; genome 0 far out at +9
        for c in g.connections.values():
            c.weight = (9.0 if i == 0 else 5.0 if i % 2 else -5.0) + 0.01 * i
    points = kmeans.Points(genomes)
    start = np.full(len(genomes), -1)
    start[[1, 2]] = [0, 1]  # one genome of each group as a species
    two, _ = kmeans.cluster(points, start, 2)
    assert set(two[1::2]) == {0} and set(two[2::2]) == {1} and two[0] == 0
    start3 = start.copy()  # a third species with no member: after the rounds it holds the furthest genome
    three, _ = kmeans.cluster(points, start3, 3)
    assert sorted(set(three)) == [0, 1, 2] and list(three).count(2) >= 1
    assert three[0] == 2  # genome 0 (at +9) is the furthest from its species' centroid


def test_the_species_set_keeps_k_species_every_generation_with_no_random_draws():
    config = _kmeans_config(k=6)
    population = _population(config, 5)
    s = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    state = random.getstate()
    s.speciate(config, population, 0)
    assert random.getstate() == state
    assert len(s.species) == 6
    assert sorted(s.genome_to_species) == sorted(population)
    assert {g for sp in s.species.values() for g in sp.members} == set(population)
    for sp in s.species.values():
        assert sp.representative.key in sp.members
    again = DefaultSpeciesSet(config.species_set_config, neat.reporting.ReporterSet())
    again.speciate(config, population, 0)
    assert again.genome_to_species == s.genome_to_species  # a function of the population


def test_a_run_keeps_k_species_and_resumes_exactly(tmp_path):
    cfg = _config_file(tmp_path, target_species=5, speciation="kmeans")
    whole = evolve(EvolveSettings(**BASE, config=cfg, generations=6, run_dir=str(tmp_path / "whole")),
                   progress=False)
    rows = runs.read_metrics(whole.run_dir)
    assert [m["species"] for m in rows] == [5] * 6
    assert all("compatibility_threshold" not in m for m in rows)  # no threshold to record
    part = tmp_path / "part"
    evolve(EvolveSettings(**BASE, config=cfg, generations=3, checkpoint_every=1, run_dir=str(part)),
           progress=False)
    resume(part, generations=6, progress=False)
    assert comparable_metrics(part) == comparable_metrics(whole.run_dir)
    assert comparable_champion(part) == comparable_champion(whole.run_dir)


@pytest.mark.parametrize("extra, words", [(dict(speciation="kmean"), "speciation = 'kmean'"),
                                          (dict(speciation="kmeans"), "needs target_species")])
def test_bad_kmeans_items_are_one_line_errors(extra, words):
    with pytest.raises(EntmError, match=words):
        load_config(_config_text(**extra))
