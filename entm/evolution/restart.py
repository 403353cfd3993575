"""``restart_every``: an unsolved run starts again from a new random population every G generations
(``entm evolve --restart-every G``; docs/design.md, "The evolution loop")."""

from __future__ import annotations

from entm.errors import EntmError
from entm.evolution.reporters import LoopState


def check_restart_every(every, reproduction: str, what: str = "--restart-every") -> None:
    """A one-line EntmError for a ``restart_every`` that is not a whole number >= 0, or with worker reproduction
    (``what``: the setting named, e.g. a curriculum's ``restart``)."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise EntmError(f"{what} must be a whole number of generations >= 0 (0: never), got {every!r}")
    if every and reproduction != "driver":
        raise EntmError(f"{what} needs --reproduction driver (a restart makes neat-python's first "
                        "population in the driver)")


def restart_due(pop, state: LoopState, every: int) -> bool:
    """An unsolved run at a multiple of ``every`` generations (> 0) that has not restarted there yet (a run
    resumed from the checkpoint written just before a restart makes that restart again, the same way)."""
    g = pop.generation
    return bool(every) and g > 0 and g % every == 0 and not state.solved and g not in (state.restarts or [])


def restart_population(pop, state: LoopState) -> None:
    """Replace the population about to be evaluated with a new random one, made as neat-python makes its
    first (``create_new`` with the run's ``random``; new genome ids), in a new species set (new species ids,
    the config's first compatibility threshold).  The champion, the novelty archive and the curriculum's
    stage stay; ``state.restarts`` records the generation."""
    config = pop.config
    pop.population = pop.reproduction.create_new(config.genome_type, config.genome_config, config.pop_size)
    indexer = pop.species.indexer  # species ids go on counting
    pop.species = config.species_set_type(config.species_set_config, pop.reporters)
    pop.species.indexer = indexer
    pop.species.speciate(config, pop.population, pop.generation)
    state.restarts = [*(state.restarts or []), pop.generation]
