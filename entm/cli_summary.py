"""What ``entm evolve``, ``entm train`` and ``entm resume`` print when a run ends, and the score table of
``entm evaluate``.  Imported by the commands when they run (the summaries evaluate champions: kernels)."""

from __future__ import annotations

from entm.champion import champion_from_dict, evaluate_lengths
from entm.runs import read_metrics, read_run_json

STOPPED = {"minutes": "stopped at the --minutes budget; entm resume goes on",
           "threshold": "stopped at the config's fitness_threshold",
           "generations": "the generation budget is used up"}
"""Why a run stopped (``EvolveResult.stopped``), where it is not a solution."""


def evolve_advice(settings) -> str | None:
    """A start-up note where a run as set up cannot solve its task at every length: repeat copy on the
    discrete tape with one head and a feedforward controller (docs/results.md argues why); None otherwise."""
    if settings.task != "repeat_copy" or settings.memory != "discrete" or int(settings.heads) != 1:
        return None
    if settings.controller == "recurrent" or (settings.controller is None and settings.config is not None
                                              and not _feed_forward(settings.config)):
        return None
    return ("note: one head with a feedforward controller cannot make repeat copy's second pass at every length "
            "(docs/results.md); --heads 2, or --controller recurrent with the direct encoding, can")


def _feed_forward(path) -> bool:
    """The config file's ``feed_forward`` (True where it cannot be read: the run's own checks say why)."""
    import configparser

    from entm.errors import EntmError
    from entm.neatconfig import read_config_text

    cp = configparser.ConfigParser()
    try:
        cp.read_string(read_config_text(path))
        return cp.getboolean("DefaultGenome", "feed_forward")
    except (EntmError, configparser.Error, ValueError):  # a bad file is the run's one-line error, a moment later
        return True


def evolve_summary(result, seed) -> int:
    champ = champion_from_dict(result.champion, result.run_dir / "champion.json")
    print(f"run directory: {result.run_dir}")
    print(f"generations: {result.generations}, {result.seconds:.1f} s, "
          + ("solved: stopped at the first validated solution" if result.stopped == "solved" else
             f"{'solved' if result.solved else 'not solved'}; {STOPPED[result.stopped]}"))
    print("\n".join(champion_lines(result, champ)))
    lengths = list(champ.task.generalization_lengths)
    if lengths:
        res = evaluate_lengths(champ.machine, champ.network, lengths, episodes=10, seed=seed)
        print(f"generalisation (10 episodes per {champ.task.length_name}):")
        print(table(res, champ.task))
    from entm.evolution.curriculum import STAGE_CHAMPION

    kept = sorted(result.run_dir.glob(STAGE_CHAMPION.format("*")))
    if kept:
        print(f"champions of the curriculum stages left: {', '.join(str(p) for p in kept)} "
              "(entm evaluate FILE measures one on its stage's episodes)")
    print(f"next: entm evaluate {result.run_dir} --lengths {','.join(map(str, lengths or [1, 10, 100]))}")
    return 0


def champion_lines(result, champ) -> list[str]:
    """Which genome the champion is and why, its fitness taken apart, and the fittest genome of its
    generation where that is another (the progress bar's ``best``)."""
    meta = result.champion["metadata"]["entm"]
    gen, key = meta["generation"], meta["genome_key"]
    nodes, conns = champ.network.size()
    episodes = read_run_json(result.run_dir).get("episodes")
    best = next((m for m in read_metrics(result.run_dir) if m.get("generation") == gen), None)
    replayed = f" (and the {best['replayed']} replayed, --replay)" if best and best.get("replayed") else ""
    of = (f"all {episodes}" if episodes else "all") + replayed
    length, n = getattr(champ.task, "validation", (None, 0))
    if meta.get("solved"):
        name = champ.task.length_name
        val = (f" and on the validation batches ({n} episodes of {name} {length}, {champ.task.training_validation} "
               f"of the training {name}s)") if length else ""
        why = f"a validated solver: perfect on {of} of that generation's episodes{val}"
    else:
        where = "the run" if "stage" not in meta else f"curriculum stage {meta['stage'] + 1} (of the task's --stages)"
        why = (f"the fittest genome of {where} (not a solution: perfect on {100 * meta.get('perfect', 0.0):.0f}% "
               f"of that generation's episodes)")
    size = f"{nodes} nodes and {conns} connections used"
    if "cppn_size" in meta:
        size = f"a CPPN of {meta['cppn_size'][0]} nodes and {meta['cppn_size'][1]} connections painting a " \
               f"controller of {size}"
    lines = [f"champion: genome {key} of generation {gen}, {why}; {size}"]
    score = f"task score {meta.get('score', float('nan')):.4f} ({champ.task.score_name})"
    terms = result.champion_terms
    if terms:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in sorted(terms.items()))
        lines.append(f"  fitness {meta['fitness']:.4f}: the mean of the {score} and the shaping terms {parts} "
                     f"(the terms reward one way of solving the task: a solution's can be below 1)")
    else:
        lines.append(f"  fitness {meta['fitness']:.4f}, {score}")
    if best is not None and best.get("best_genome") not in (None, key):
        lines.append(f"  the fittest genome of generation {gen} (the progress bar's 'best') was genome "
                     f"{best['best_genome']}: fitness {best['best_fitness']:.4f}, perfect on "
                     f"{100 * best['best_perfect']:.0f}% of the episodes; a validated solver is the champion "
                     f"whatever its fitness")
    return lines


def train_summary(result) -> int:
    last = (read_metrics(result.run_dir) or [{}])[-1]
    print(f"run directory: {result.run_dir}")
    print(f"steps: {result.steps}, sequences seen: {result.sequences}, {result.seconds:.1f} s of training"
          f"{' (stopped at the --minutes budget; entm resume goes on)' if result.stopped == 'minutes' else ''}"
          f"{' (solved: stopped by --stop-bit-errors)' if result.stopped == 'solved' else ''}")
    if result.restarts:
        print(f"random restarts: {result.restarts} (--restart-after; the model is the last start's)")
    if last.get("loss") is not None:
        print(f"last report: loss {last['loss']:.4g} per sequence, {last['bit_errors']:.3g} wrong bits per sequence")
    if result.test:
        t = result.test
        print(f"test: {t['bit_errors']:.4g} wrong bits per sequence over {t['sequences']} fresh sequences "
              f"(score {t['score']:.4f}, {100 * t['perfect']:.1f}% perfect)")
    run = read_run_json(result.run_dir)
    param = run.get("curriculum_param")
    if param is not None and param in last:
        print(f"curriculum: {param} at {last[param]}, below the task's own (the test is the full task's)")
    print(f"next: entm evaluate {result.run_dir} --lengths {_test_lengths(run)}")
    return 0


def _test_lengths(run: dict) -> str:
    """How to test a training run: its preset's lengths (the paper's test), else its task's sweep."""
    from entm.baseline.presets import TRAIN_PRESETS
    from entm.tasks import TASKS

    if run.get("preset") in TRAIN_PRESETS:
        return TRAIN_PRESETS[run["preset"]].evaluate["lengths"]
    lengths = getattr(TASKS.get(run.get("task")), "generalization_lengths", ()) or (10, 20, 50, 100)
    return ",".join(map(str, lengths))


COLUMNS = ("score", "perfect", "bit_errors", "episodes")


def table(res: dict, task) -> str:
    grouped = {L: r["phases"] for L, r in res.items() if "phases" in r}
    res = {L: {**{k: v for k, v in r.items() if k not in ("terms", "phases")}, **r.get("terms", {})}
           for L, r in res.items()}
    extra = [k for k in next(iter(res.values()), {}) if k not in COLUMNS]  # e.g. N-gram costs, shaping terms
    head = "".join(f" {k.replace('_', ' '):>13}" for k in extra)
    lines = [f"  {task.length_name:>8} {'score':>8} {'perfect':>8} {'bit errors':>11} {'episodes':>9}{head}"]
    for L, r in res.items():
        more = "".join(f" {r[k]:13.2f}" if isinstance(r[k], float) else f" {str(r[k]):>13}" for k in extra)
        lines.append(f"  {L:>8} {r['score']:8.4f} {r['perfect']:8.2f} {r['bit_errors']:11.2f} {r['episodes']:9d}"
                     f"{more}")
    for L, found in grouped.items():
        lines += phases_lines(L, task, found)
    return "\n".join(lines)


def phases_lines(length, task, found: dict) -> list[str]:
    """``entm evaluate --phases``: per kind of phase, the share right in every round (and how many)."""
    def cell(key, v):
        return f"{key} {v['right']:.2f} ({v['phases']})"

    lines = [f"  phases at {length} {task.length_name}: the share right in every round (how many)"]
    first = found.get("first", {})
    if first:
        lines.append("    first high goal: " + "  ".join(cell(k, v) for k, v in first.items()))
    by_from: dict = {}
    for key, v in found.get("moves", {}).items():
        by_from.setdefault(key.split(">")[0], []).append(cell(key, v))
    lines += [f"    moves from {a}:     " + "  ".join(cells) for a, cells in by_from.items()]
    return lines
