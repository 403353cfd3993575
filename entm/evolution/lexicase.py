"""Lexicase selection (Spector 2012; ε-lexicase: La Cava, Spector & Danai 2016) as a search score.

``--search lexicase``: the generation's episodes (a reward task's deployments) are the *cases*.  A
lexicase selection shuffles the cases and, one case at a time, keeps the genomes within ε of the best
fitness on that case among those still kept, until one genome is left or the cases run out (then one of
those left, at random).  A genome that is best on a few cases -- the two-repeat episodes of repeat copy,
the deployments of one goal order -- is selected whenever those cases come first, however it does on
the rest: specialists stay in the population where a mean fitness would drop them.

ε per case is the median absolute deviation of the population's fitness on it (La Cava et al.'s
automatic ε).  neat-python selects by a number per genome, so each generation draws
``SELECTIONS_PER_GENOME`` x (population) lexicase selections and a genome's search score is the number
of times it was selected, ties broken by the objective (its mean fitness, below 1: one selection more
always counts more), scaled so that the generation's best is 0.99, as novelty search's scores are
(:mod:`entm.evolution.novelty`).  neat-python then keeps, species by species, the genomes selected most.

neat-python's elitism keeps each species' genomes with the highest search score, the ones drawn most,
so the genome best by the objective is kept only if lexicase drew it often: a genome good on every case
but best on none (a generalist among specialists) is drawn rarely and lost.  With ``elites`` E > 0
(opt-in, ``--lexicase-elites``) the E genomes best by the objective are scored above every other genome
(ordered by the objective among themselves), so that elitism and the survivors keep them.

The objective still decides the champion, the solved check and ``best_fitness`` in the metrics.  The
draws come from a generator seeded by (run seed, the search's generation count), computed in the driver
in genome order: a run stays a pure function of its settings and seed, and resumes exactly (the count is
in the checkpoint).
"""

from __future__ import annotations

import numpy as np

from entm.evolution.novelty import TOP, NoveltyParams, NoveltySearch

SELECTIONS_PER_GENOME = 2
"""Lexicase selections drawn per genome and generation (two parents per child)."""
STREAM = 0x1E71CA5E
"""Third word of the draws' seed, apart from every other generator of a run."""


def epsilons(F: np.ndarray) -> np.ndarray:
    """Per case (column of F, genomes x cases): the median absolute deviation of the genomes' fitness."""
    return np.median(np.abs(F - np.median(F, axis=0)), axis=0)


def select(F: np.ndarray, eps: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` ε-lexicase selections from the rows of ``F`` (genomes x cases): the chosen rows' indices."""
    N, C = F.shape
    out = np.empty(n, dtype=np.int64)
    for s in range(n):
        pool = np.arange(N)
        for c in rng.permutation(C):
            v = F[pool, c]
            pool = pool[v >= v.max() - eps[c]]
            if len(pool) == 1:
                break
        out[s] = pool[0] if len(pool) == 1 else pool[rng.integers(len(pool))]
    return out


class Lexicase:
    """Turns a generation's per-case fitness (``GenomeResult.behaviour``) into search scores (genome.fitness);
    its state (the generation count) is plain data in ``state``."""

    def __init__(self, seed: int, state: dict | None = None, elites: int = 0):
        self.seed, self.elites = int(seed), int(elites)
        self.state = state if state is not None else {"generation": 0}

    def reset(self) -> None:
        """A curriculum's new stage: nothing to forget (the draws compare one generation's genomes only, and
        their generator goes on with the run's generation count)."""

    def assign(self, genomes: list, results: dict) -> dict:
        """Set every genome's fitness to its search score; returns the generation's search metrics."""
        objective = np.array([results[gid].fitness for gid, _ in genomes])
        usable = np.array([not results[gid].nonfinite for gid, _ in genomes])
        F = np.stack([np.asarray(results[gid].behaviour, dtype=np.float64).ravel() for gid, _ in genomes])
        rng = np.random.default_rng([self.seed, int(self.state["generation"]), STREAM])
        self.state["generation"] += 1
        count = np.zeros(len(genomes))
        rows = np.nonzero(usable)[0]  # a genome with a NaN or infinite output is never selected
        if len(rows):
            Fu = F[rows]
            picks = rows[select(Fu, epsilons(Fu), SELECTIONS_PER_GENOME * len(genomes), rng)]
            np.add.at(count, picks, 1)
            if self.elites:  # the objective's best above every other genome (no draw: the same picks)
                best = rows[np.argsort(-objective[rows], kind="stable")[:self.elites]]
                count[best] = count.max() + 1
        score = np.where(usable, count + np.clip(objective, 0.0, 1.0) * 0.999, 0.0)
        top = score.max() if len(score) else 0.0
        scaled = TOP * score / top if top > 0 else np.zeros_like(score)
        for (_, g), s in zip(genomes, scaled):
            g.fitness = float(s)
        return {"search": "lexicase", "cases": int(F.shape[1]), "selected": int((count > 0).sum()),
                "most_selected": int(count.max()) if len(count) else 0}


def make_search(search: str, novelty: dict | None, seed: int, state: dict | None):
    """The object that turns a generation's results into search scores for ``search`` (not ``fitness``):
    :class:`Lexicase` (``novelty``'s ``lexicase_elites``), or a :class:`~entm.evolution.novelty.NoveltySearch`
    with the ``novelty`` parameters (checked by ``check_search``: no ``lexicase_elites`` there);
    ``state``: the checkpoint's (None: a new run)."""
    if search == "lexicase":
        return Lexicase(seed, state, (novelty or {}).get("lexicase_elites", 0))
    return NoveltySearch(search, NoveltyParams.from_dict(novelty), state)
