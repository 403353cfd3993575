"""Exact checkpoints: an interrupted run, resumed, ends where the uninterrupted run ends.

neat-python 2.0's own checkpoints do not give this: pickling its config
consumes a node id (``DefaultGenomeConfig.__getstate__`` calls ``next`` on the
node indexer) and restoring re-seeds the RNG after the saved state was
restored.  An entm checkpoint therefore never pickles the config: it holds the
population, the species set, the reproduction object (genome indexer,
the living genomes' ancestors, stagnation, innovation tracker), the node indexer's next value
(read without advancing it), Python's ``random`` state, and entm's own loop
state (champion, metrics line count).  The config is rebuilt from the run's
``config.ini`` text.

Files are ``checkpoints/gen-<NNNNNN>.pkl.gz`` (the number is the next
generation to evaluate), written atomically (temporary file, fsync, rename);
the newest ``keep`` are kept.  A truncated or corrupted file is skipped with a
warning naming it, and the previous one is used.

Security: checkpoints are pickles; loading one runs code from it.  Resume only
your own runs; share ``champion.json``.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import pickle
import random
import re
from dataclasses import dataclass
from pathlib import Path

import neat
from neat.math_util import mean
from neat.reporting import ReporterSet

from entm import runs
from entm.runs import CHECKPOINT_DIR, atomic_write

FORMAT = "entm-checkpoint/1"
NAME = re.compile(r"^gen-(\d{6,})\.pkl\.gz$")


def _peek_count(counter) -> int | None:
    """The next value of an ``itertools.count`` without advancing it."""
    if counter is None:
        return None
    return int(counter.__reduce__()[1][0])


def keep_living_ancestors(pop: neat.Population) -> None:
    """Drop the ancestry of genomes no longer in the population.  neat-python's reproduction records
    (parent, parent) for every genome it ever made and never reads the record; kept whole, it grew by a
    population per generation, into every snapshot (7.6 MB and 0.16 s per generation after 3,250
    generations of 150).  Evolution does not depend on it, so runs are unchanged."""
    ancestors = getattr(pop.reproduction, "ancestors", None)
    if ancestors is not None and len(ancestors) > len(pop.population):
        for key in [k for k in ancestors if k not in pop.population]:
            del ancestors[key]


def snapshot(pop: neat.Population, loop_state: dict, identity: str | None = None) -> bytes:
    """The bytes of a checkpoint of ``pop`` at a generation boundary (nothing is advanced);
    ``loop_state`` is the loop's own state as plain data (:meth:`entm.evolution.reporters.LoopState.to_dict`),
    ``identity`` the run's (:func:`entm.runs.run_identity`)."""
    gc = pop.config.genome_config
    rep, sp = pop.reproduction, pop.species
    counters = {"genome_indexer": _peek_count(rep.genome_indexer), "species_indexer": _peek_count(sp.indexer)}
    payload = {
        "format": FORMAT,
        "generation": pop.generation,
        "population": pop.population,
        "species": sp,
        "reproduction": rep,
        "best_genome": pop.best_genome,
        "counters": counters,
        "node_indexer_next": _peek_count(gc.node_indexer),
        "innovation_tracker": getattr(gc, "innovation_tracker", None),
        "random_state": random.getstate(),
        "loop": loop_state,
        "identity": identity,
    }
    # itertools.count objects are stored as their next value (pickling them is deprecated
    # since Python 3.12), and the run's reporters (progress bar, evaluator ...) stay out: the
    # checkpoint holds an empty ReporterSet; the live objects are put back untouched
    saved = rep.genome_indexer, sp.indexer, rep.reporters, rep.stagnation.reporters, sp.reporters
    rep.genome_indexer = sp.indexer = None
    rep.reporters = rep.stagnation.reporters = sp.reporters = ReporterSet()
    try:
        buf = io.BytesIO()
        pickle.dump(payload, buf, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        rep.genome_indexer, sp.indexer, rep.reporters, rep.stagnation.reporters, sp.reporters = saved
    return buf.getvalue()


def write(run_dir, generation: int, data: bytes, keep: int = 3) -> Path:
    """Write a snapshot atomically as ``checkpoints/gen-<generation>.pkl.gz``; keep the newest ``keep``."""
    d = Path(run_dir) / CHECKPOINT_DIR
    d.mkdir(exist_ok=True)
    path = d / f"gen-{generation:06d}.pkl.gz"
    blob = gzip.compress(data, compresslevel=1)
    atomic_write(path, blob)
    _fsync_dir(d)
    runs.drop_old_checkpoints(run_dir, NAME, keep)
    return path


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def list_checkpoints(run_dir) -> list[Path]:
    """Checkpoint files, oldest first (temporary files ignored)."""
    return runs.list_checkpoints(run_dir, NAME)


@dataclass
class Restored:
    path: Path
    population: neat.Population
    loop: dict
    identity: str | None = None
    """The identity of the run that wrote it (None: a checkpoint written before identities existed)."""


def load_latest(run_dir, config: neat.Config, warn=None) -> Restored:
    """The newest valid checkpoint, restored onto ``config``; corrupted ones are skipped with a warning."""
    path, payload = runs.read_newest_checkpoint(run_dir, NAME, _read, warn)
    return Restored(path=path, population=_restore(payload, config), loop=payload["loop"],
                    identity=payload.get("identity"))


def _read(path: Path) -> dict:
    with gzip.open(path, "rb") as f:
        payload = pickle.load(f)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not an entm checkpoint")
    m = NAME.match(path.name)
    if m and int(m.group(1)) != payload["generation"]:
        raise ValueError("file name and content disagree")
    return payload


def _restore(payload: dict, config: neat.Config) -> neat.Population:
    """A Population exactly as it was at the checkpoint (no re-seeding, no consumed ids)."""
    pop = neat.Population.__new__(neat.Population)
    pop.reporters = ReporterSet()
    pop.config = config
    pop.reproduction = payload["reproduction"]
    pop.reproduction.reporters = pop.reporters
    pop.reproduction.stagnation.reporters = pop.reporters
    if config.fitness_criterion == "max":
        pop.fitness_criterion = max
    elif config.fitness_criterion == "min":
        pop.fitness_criterion = min
    else:
        pop.fitness_criterion = mean
    pop.population = payload["population"]
    pop.species = payload["species"]
    counters = payload["counters"]
    pop.reproduction.genome_indexer = itertools.count(counters["genome_indexer"])
    pop.species.indexer = itertools.count(counters["species_indexer"])
    pop.species.reporters = pop.reporters
    pop.generation = payload["generation"]
    pop.best_genome = payload["best_genome"]
    gc = config.genome_config
    nxt = payload["node_indexer_next"]
    gc.node_indexer = itertools.count(nxt) if nxt is not None else None
    tracker = payload["innovation_tracker"]
    if tracker is not None:
        gc.innovation_tracker = tracker
        pop.reproduction.innovation_tracker = tracker
    random.setstate(payload["random_state"])
    return pop
