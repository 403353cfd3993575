"""The evolution loop: neat-python's Population driven with entm's evaluators.

One generation: every genome is evaluated on the generation's episodes (drawn
from a generator seeded by (run seed, generation)); its fitness is the mean
over them; neat-python then reproduces and speciates.  The run directory gets
a line of ``metrics.jsonl`` per generation and ``champion.json`` whenever the
champion changes.  The run stops at the generation budget, at the wall-time budget (``minutes``;
given alone it is the only budget), at the config's fitness threshold, or
(``stop_when_solved``) as soon as a genome is perfect on the generation's
episodes *and* on a validation batch of long sequences.
The generation's steps after the evaluation (champion, metrics, progress bar)
are neat-python reporters, the checkpoints a step of the driving loop
(:mod:`entm.evolution.reporters`); the loop's state is a
:class:`~entm.evolution.reporters.LoopState`.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from entm import interrupts, runs
from entm.errors import EntmError
from entm.evolution import checkpoint
from entm.evolution.curriculum import CurriculumReporter, Stages, rewind_stage_champions
from entm.evolution import worker_repro
from entm.evolution.evaluator import EvalSettings, SerialEvaluator
from entm.evolution.gc_pause import gc_paused
from entm.evolution.lexicase import make_search
from entm.evolution.novelty import check_search, descriptor_of
from entm.evolution.reporters import (
    ChampionReporter,
    Checkpoints,
    Evaluate,
    LoopState,
    MetricsReporter,
    ProgressReporter,
    RunWriter,
    Validator,
    write_champion,
)
from entm.evolution.replay import ReplayReporter, check_replay
from entm.evolution.restart import check_restart_every, restart_due, restart_population
from entm.evolution.seeding import check_init, new_population
from entm.evolution.settings_check import check_minutes as _check_minutes, check_settings
from entm.hyper import Substrate, default_width
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.neatconfig import config_sizes, default_config_path, fit_sizes, load_config, read_config_text, set_controller
from entm.presets import preset_config_path
from entm.progress import phase
from entm.tasks import make_task
from entm.tasks.curriculum import parse as parse_curriculum


@dataclass
class EvolveSettings:
    """Everything that defines an evolution run (a run is a pure function of these)."""

    task: str = "copy"
    """Task name (see ``entm tasks``)."""
    task_params: dict = field(default_factory=dict)
    """Task parameters, e.g. {"vector_size": 2}; unset ones take the task's defaults."""
    memory: str = "discrete"
    """Memory mode: ``discrete`` (ENTM tape) or ``differentiable`` (NTM memory)."""
    memory_params: dict = field(default_factory=dict)
    """Memory width (default: the task's) and mode options."""
    heads: int = 1
    """Number of combined read/write heads."""
    config: str | None = None
    """neat-python config file; None: the shipped ``evolution_configs/<task>[-differentiable].ini`` with its sizes fitted."""
    generations: int | None = None
    """Generation budget (total, counted from 0).  None: ``DEFAULT_GENERATIONS`` (500) for a run
    without ``minutes``; with ``minutes`` alone no generation budget (the time is the budget).
    With both, the run stops at whichever runs out first."""
    seed: int = 0
    """Run seed: seeds neat-python and, with the generation number, the episodes."""
    episodes: int | None = None
    """Episodes per generation (None: the task's default, 50 for copy)."""
    stop_when_solved: bool = True
    """Stop when a genome is perfect on the generation's episodes and on the validation batch.
    False: go on to the budget; the champion stays that validated solver unless a later generation's
    validated solver is fitter (:class:`~entm.evolution.reporters.ChampionReporter`)."""
    run_dir: str | None = None
    """Run directory (None: ``runs/<name>`` with the name of :func:`run_name`; an existing one is an
    error that names a free one)."""
    evaluator: str = "ray"
    """``ray`` (an embedded local Ray, or the cluster at ``ray_address``) or ``serial`` (this process)."""
    workers: int | None = None
    """Ray: CPUs of the embedded local Ray (default: all local cores), or how many of the cluster's to use."""
    ray_address: str | None = None
    """Ray: an existing cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); entm then starts nothing."""
    ray_verbose: bool = False
    """Ray: show the workers' logs."""
    checkpoint_every: int = 10
    """Checkpoint period in generations."""
    minutes: float | None = None
    """Wall-time budget of this session of the run in minutes (None: none); the run stops after
    the generation during which it ran out, writes its final checkpoint and can be resumed."""
    encoding: str = "direct"
    """``direct`` (genomes are the controllers) or ``hyper`` (genomes are CPPNs that paint the
    controller onto a substrate, :mod:`entm.hyper`)."""
    hyper: dict = field(default_factory=dict)
    """Hyper encoding: the substrate's painting rules (:class:`entm.hyper.HyperParams` fields:
    weight_scale, threshold, radius); unset ones take their defaults."""
    preset: str | None = None
    """The published setup the settings came from (``entm presets``); with ``config`` None its shipped
    config is the run's (sizes fitted)."""
    search: str = "fitness"
    """``fitness`` (the objective), ``novelty``/``hybrid`` (:mod:`entm.evolution.novelty`) or ``lexicase``."""
    novelty: dict = field(default_factory=dict)
    """The search's parameters: novelty search's (``NoveltyParams`` fields) or lexicase's ``lexicase_elites``."""
    fixed_episodes: bool = False
    """Every generation is evaluated on generation 0's episodes (the C# port's fixed seed)."""
    restart_every: int = 0
    """> 0: an unsolved run replaces its population with a new random one (neat-python's first population,
    new species) at every multiple of this many generations; 0: never."""
    replay: int = 0
    """> 0: up to this many fresh training episodes that rejected candidates failed join every later
    generation's episodes (:mod:`entm.evolution.replay`); 0: none."""
    controller: str | None = None
    """``feedforward``/``recurrent``: sets the config's ``feed_forward`` (direct encoding); None: the config's."""
    reproduction: str = "driver"
    """``driver``: neat-python's evolution, exactly; ``workers`` (opt-in): the driver plans and the workers make
    the children (:mod:`entm.evolution.worker_repro`; not neat-python's run, see docs/performance.md)."""
    init_from: str | None = None
    """The path ``--init-from`` was given (a record only; ``init_network`` is what the run uses)."""
    init_network: dict | None = None
    """A network JSON whose genome the first population grows from (:mod:`entm.evolution.seeding`); None: random."""


@dataclass
class EvolveResult:
    run_dir: Path
    champion: dict
    """The champion's network JSON (with ``metadata.entm``)."""
    generations: int
    """Generations evaluated."""
    solved: bool
    seconds: float
    out_of_time: bool = False
    """The run stopped at its wall-time budget (``minutes``)."""
    stopped: str = "generations"
    """Why this session stopped: ``solved``, ``generations``, ``minutes`` or ``threshold`` (the config's
    fitness_threshold)."""
    champion_terms: dict | None = None
    """The champion's shaping terms (means over its generation's episodes; None when it was chosen
    before a resume)."""


DEFAULT_GENERATIONS = 500
"""The generation budget of a run given neither ``generations`` nor ``minutes``."""


def prepare(settings: EvolveSettings):
    """Check every setting before any work; returns (task, spec, machine, config_text)."""
    settings.minutes = _check_minutes(settings.minutes)
    runs.check_seed(settings.seed)
    if settings.run_dir is not None and not str(settings.run_dir).strip():
        raise EntmError("--run-dir is empty; give a directory, or leave it out for the default name")
    if settings.ray_address is not None and not str(settings.ray_address).strip():
        raise EntmError("--ray-address is empty; give auto, HOST:PORT or ray://HOST:PORT, or leave it out for an "
                        "embedded local Ray")
    task = make_task(settings.task, settings.task_params)
    mp = dict(settings.memory_params)
    width = mp.pop("width", None)
    width = default_width(task, settings.hyper if settings.encoding == "hyper" else None) if width is None else width
    spec = MemorySpec(mode=settings.memory, width=int(width), heads=int(settings.heads), options=mp)
    machine = Machine(task, spec)
    if settings.encoding not in ENCODINGS:
        raise EntmError(f"unknown encoding {settings.encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if settings.encoding == "hyper":
        sub = Substrate(task, spec, settings.hyper)
        n_in, n_out, layout = sub.num_cppn_inputs, sub.num_cppn_outputs, (
            f"the hyper encoding's CPPN for task {task.name!r} needs {sub.num_cppn_inputs} inputs "
            f"({', '.join(sub.cppn_inputs)}) and {sub.num_cppn_outputs} outputs")
    else:
        n_in, n_out, layout = machine.num_inputs, machine.num_outputs, machine.layout()
    schedule = parse_curriculum(task)  # a bad curriculum is a one-line error before any work
    check_search(settings.search, task, settings.novelty, spec.mode, bool(settings.fixed_episodes))
    if settings.config is None:
        path = preset_config_path(settings.preset) if settings.preset else \
            default_config_path(settings.task, settings.memory, settings.encoding)
        text = fit_sizes(read_config_text(path), n_in, n_out)
        source = str(path)
    else:
        source = str(settings.config)
        text = read_config_text(settings.config)
        c_in, c_out = config_sizes(text, source)
        if (c_in, c_out) != (n_in, n_out):
            raise EntmError(f"{source}: num_inputs = {c_in}, num_outputs = {c_out}, but {layout}")
    text = set_controller(text, settings.controller, settings.encoding)
    cfg = worker_repro.configure(load_config(text, source), settings.reproduction)  # every other problem, first
    check_init(settings, cfg.genome_config)
    if settings.generations is not None and settings.generations < 1:
        raise EntmError(f"generations must be at least 1, got {settings.generations}")
    check_restart_every(settings.restart_every, settings.reproduction)
    if schedule is not None and schedule.restart:
        check_restart_every(schedule.restart, settings.reproduction, "the curriculum's restart")
    check_replay(settings.replay, task, settings.search)
    if settings.episodes is not None and settings.episodes < 1:
        raise EntmError(f"episodes must be at least 1, got {settings.episodes}")
    return task, spec, machine, text


EVALUATORS = ("serial", "ray")
ENCODINGS = ("direct", "hyper")


def make_evaluator(settings: EvolveSettings, eval_settings: EvalSettings, progress: bool = False, out=None):
    """The evaluator a run asks for: ``serial``, or ``ray`` (embedded local Ray, or ``ray_address``);
    ``progress``: say on ``out`` that Ray starts (it takes seconds)."""
    if settings.evaluator == "serial":
        if settings.workers is not None or settings.ray_address is not None:
            raise EntmError("--serial cannot be combined with --workers or --ray-address")
        return SerialEvaluator(eval_settings)
    if settings.evaluator == "ray":
        from entm.evolution.ray_eval import (  # imports ray: only for Ray runs
            RayEvaluator,
            check_address,
        )

        if settings.workers is not None and settings.workers < 1:
            raise EntmError(f"--workers must be at least 1, got {settings.workers}")
        what = (f"connecting to the Ray cluster at {settings.ray_address}" if settings.ray_address else
                f"starting a local Ray with {_plural(settings.workers or os.cpu_count() or 1, 'worker CPU')}")
        if settings.ray_address:
            check_address(settings.ray_address)  # an unreachable address is one line, before any status line
        with phase(what, out, progress):
            return RayEvaluator(eval_settings, workers=settings.workers, address=settings.ray_address,
                                verbose=settings.ray_verbose)
    raise EntmError(f"unknown evaluator {settings.evaluator!r}; expected one of {', '.join(EVALUATORS)}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _eval_settings(settings: EvolveSettings, task, spec: MemorySpec, config_text: str) -> EvalSettings:
    """What every evaluator needs: config text, task, memory, seed, episodes per generation."""
    episodes = settings.episodes or task.default_episodes
    return EvalSettings(config_text=config_text, task=task.name, task_params=task.params(), memory=spec,
                        seed=int(settings.seed), episodes=int(episodes), encoding=settings.encoding,
                        hyper=dict(settings.hyper), behaviour=descriptor_of(settings.search, settings.novelty),
                        fixed_episodes=bool(settings.fixed_episodes))


def evolve(settings: EvolveSettings, progress: bool = True, out=None) -> EvolveResult:
    """Run evolution as ``settings`` say; writes the run directory.  ``progress``: the start-up lines and
    the progress bar on ``out`` (default: stderr)."""
    out = sys.stderr if out is None else out
    if settings.generations is None and settings.minutes is None:
        settings.generations = DEFAULT_GENERATIONS
    task, spec, machine, config_text = prepare(settings)
    run_dir = Path(settings.run_dir) if settings.run_dir else Path("runs") / run_name(settings, task)
    eval_settings = _eval_settings(settings, task, spec, config_text)
    episodes = eval_settings.episodes
    runs.check_new_run_dir(run_dir)
    evaluator = make_evaluator(settings, eval_settings, progress, out)
    try:
        run_dir = runs.create_run_dir(run_dir)
    except BaseException:
        evaluator.close()
        raise
    record = asdict(settings)
    record.update(kind="evolution", run_dir=str(run_dir), task_params=task.params(),
                  memory_params=spec.params(), episodes=episodes,
                  network_inputs=machine.num_inputs, network_outputs=machine.num_outputs)
    record["identity"] = runs.run_identity(record, config_text)
    try:
        with runs.run_lock(run_dir):
            runs.atomic_write(run_dir / runs.CONFIG_FILE, config_text)  # first: run.json makes it resumable
            runs.write_run_json(run_dir, record)
            config = worker_repro.configure(load_config(config_text, "run config"), settings.reproduction)
            pop = new_population(config, settings, out if progress else None)
            return _loop(settings, task, spec, config, pop, LoopState(), evaluator, run_dir, progress, out,
                         record["identity"])
    finally:
        evaluator.close()


def run_name(settings: EvolveSettings, task=None) -> str:
    """The default run name: what the run is.  ``<task>[-<param>_<value>...]-<memory>[-width_M][-cells_N]
    [-heads_H][-recurrent]-<encoding>[-<search>]-seed<S>``: the task's parameters that differ from its defaults,
    the memory mode and the memory options given, a recurrent controller, the encoding, a search other than
    ``fitness`` and the seed, e.g.
    ``tmaze-variant_continuous-discrete-direct-seed0`` or ``copy-vector_size_2-discrete-hyper-seed3``."""
    if settings.preset:  # a preset's run is named after it (its settings are in run.json)
        extra = [x for x in (settings.search, settings.controller) if x not in ("fitness", "feedforward", None)]
        return "-".join([settings.preset, *extra, f"seed{settings.seed}"])
    task = task or make_task(settings.task, settings.task_params)
    mem = [f"{k}_{v}" for k, v in settings.memory_params.items()]
    if int(settings.heads) != 1:
        mem.append(f"heads_{settings.heads}")
    if settings.controller == "recurrent":
        mem.append("recurrent")
    search = [settings.search] if settings.search != "fitness" else []
    return "-".join([runs.task_label(task), settings.memory, *mem, settings.encoding, *search, f"seed{settings.seed}"])


def settings_from_run(run_dir) -> EvolveSettings:
    """The settings a run was started with (its run.json)."""
    data = runs.read_run_json(run_dir)
    if data.get("kind") != "evolution":
        raise EntmError(f"{run_dir} is not an evolution run (run.json kind is {data.get('kind')!r})")
    check_settings(data, str(Path(run_dir) / runs.RUN_FILE))  # an edited run.json: one line, nothing written
    names = {f.name for f in fields(EvolveSettings)}
    return EvolveSettings(**{k: v for k, v in data.items() if k in names})


def resume(run_dir, generations: int | None = None, evaluator: str | None = None, workers: int | None = None,
           ray_address: str | None = None, progress: bool = True, out=None,
           minutes: float | None = None) -> EvolveResult:
    """Continue a run from its newest valid checkpoint, exactly as if it had never stopped; the run
    directory is locked (:func:`entm.runs.run_lock`) from before its checkpoint is read to the end.

    ``generations`` raises the generation budget (total, counted from 0); the
    evaluator (serial or Ray) is chosen now, not taken from the first start.
    ``minutes`` is this session's wall-time budget.  A run without a generation budget (started
    with ``minutes`` alone) resumed without ``generations`` or ``minutes`` gets its first session's
    ``minutes`` again (it never runs without a budget).
    """
    run_dir = Path(run_dir)
    settings = settings_from_run(run_dir)
    with runs.run_lock(run_dir):
        return _resume(run_dir, settings, generations, evaluator, workers, ray_address, progress,
                       sys.stderr if out is None else out, minutes)


def _resume(run_dir: Path, settings: EvolveSettings, generations, evaluator, workers, ray_address, progress, out,
            minutes) -> EvolveResult:
    if generations is not None:
        if generations < 1:
            raise EntmError(f"generations must be at least 1, got {generations}")
        settings.generations = int(generations)
    if evaluator is not None:
        settings.evaluator, settings.workers, settings.ray_address = evaluator, workers, ray_address
    if minutes is None and settings.generations is None:
        minutes = settings.minutes  # the run's own time budget, for this session too
    settings.minutes = _check_minutes(minutes)
    if settings.generations is None and settings.minutes is None:
        raise EntmError(f"{run_dir}/{runs.RUN_FILE} gives no budget (generations or minutes); resume it with "
                        f"--generations or --minutes")
    cfg_path = run_dir / runs.CONFIG_FILE
    settings.config = str(cfg_path)
    task, spec, machine, config_text = prepare(settings)
    config = worker_repro.configure(load_config(config_text, str(cfg_path)), settings.reproduction)
    if checkpoint.list_checkpoints(run_dir):
        restored = checkpoint.load_latest(run_dir, config)
        worker_repro.check_mode(restored.population, settings.reproduction, restored.path)
        identity = _check_identity(run_dir, config_text, restored.identity, restored.path)
        pop, state = restored.population, LoopState.from_dict(restored.loop)
    else:  # stopped before its first checkpoint: a run is a function of its settings, so it starts again at 0
        identity = _check_identity(run_dir, config_text)
        pop, state = new_population(config, settings), LoopState()
    if state.finished(settings.generations, settings.stop_when_solved):
        why = ("it is solved (it was started to stop at a validated solution)" if state.solved and
               settings.stop_when_solved else "it reached the config's fitness_threshold" if state.threshold
               else f"it has run {state.metrics} of {settings.generations} generations (raise --generations "
                    f"to go on)")
        raise EntmError(f"nothing to resume in {run_dir}: {why}")
    eval_settings = _eval_settings(settings, task, spec, config_text)
    rng_state = random.getstate()  # starting Ray draws from `random`: keep the checkpoint's state
    ev = make_evaluator(settings, eval_settings, progress, out)
    random.setstate(rng_state)
    try:
        # only now, with everything in hand, bring the run directory back to the checkpoint
        _rewind(run_dir, state)
        return _loop(settings, task, spec, config, pop, state, ev, run_dir, progress, out, identity)
    finally:
        ev.close()


def _check_identity(run_dir: Path, config_text: str, checkpoint_identity: str | None = None,
                    checkpoint_path: Path | None = None) -> str:
    """The run's identity, checked before anything is written: run.json and config.ini still give the
    identity the run started with, and the checkpoint was written by this run (runs and checkpoints from
    before identities existed are taken as they are)."""
    record = runs.read_run_json(run_dir)
    identity = runs.run_identity(record, config_text)
    recorded = record.get("identity")
    if recorded is not None and recorded != identity:
        raise EntmError(f"{run_dir}: run.json or config.ini changed since the run started (identity {identity}, "
                        f"recorded {recorded}); a run is a function of the settings it started with: start a new "
                        f"run with the settings you want instead")
    if checkpoint_identity is not None and checkpoint_identity != (recorded or identity):
        raise EntmError(f"{checkpoint_path} belongs to another run (identity {checkpoint_identity}, this run's "
                        f"{recorded or identity}); remove it to resume from an earlier checkpoint of this run")
    return recorded or identity


def _rewind(run_dir: Path, state: LoopState) -> None:
    """metrics.jsonl cut to the checkpoint's generations, champion.json as it was then (none before the
    first generation), the champions of the stages left by then only."""
    p = run_dir / runs.METRICS_FILE
    lines = p.read_text().splitlines(keepends=True) if p.exists() else []
    keep = lines[:state.metrics]
    if len(keep) < state.metrics:
        raise EntmError(f"{p} has {len(lines)} lines but the checkpoint expects {state.metrics}")
    if keep != lines:
        runs.atomic_write(p, "".join(keep))
    if state.champion_json is not None:
        write_champion(run_dir, state.champion_json)
    elif (run_dir / runs.CHAMPION_FILE).exists():
        (run_dir / runs.CHAMPION_FILE).unlink()
    rewind_stage_champions(run_dir, state)


def _loop(settings, task, spec, config, pop, state: LoopState, evaluator, run_dir, progress, out,
          identity: str | None = None) -> EvolveResult:
    """Drive ``pop`` one generation at a time until a stop condition: the generation budget, solved,
    the config's fitness threshold, or the wall-time budget.  The generation's work is in the
    reporters (:mod:`entm.evolution.reporters`); Ctrl-C writes the last completed generation's checkpoint."""
    substrate = Substrate(task, spec, settings.hyper) if settings.encoding == "hyper" else None
    t_start = time.perf_counter()
    novelty = None
    if settings.search != "fitness":  # the objective decides the champion and the solved check, not neat-python
        pop.config.no_fitness_termination = True
        novelty = make_search(settings.search, settings.novelty, settings.seed, state.novelty)
        state.novelty = novelty.state
    evaluate = Evaluate(worker_repro.attach(pop, evaluator), pop, novelty)
    schedule = parse_curriculum(task)
    stages = None if schedule is None else Stages(task, schedule, state, pop.config, novelty)
    writer = RunWriter()  # the run directory's writes, in order, off the driver's path
    validator = Validator(task, spec, config, settings.seed, substrate, stages)
    champion = ChampionReporter(evaluate, state, validator, task, spec, run_dir, substrate, writer)
    pop.add_reporter(champion)
    pop.add_reporter(MetricsReporter(evaluate, state, run_dir, t_start, substrate, writer))
    if settings.replay:  # after the champion's validation, whose failures it takes, and the generation's metrics
        pop.add_reporter(ReplayReporter(settings.replay, state, validator, evaluator))
    if stages is not None:
        pop.add_reporter(CurriculumReporter(evaluate, stages, run_dir, writer))
    bar = None
    if progress:
        where = "in this process" if settings.evaluator == "serial" else "on every worker"
        print(f"entm: generation {pop.generation} first loads the compiled kernels {where} (the first run after "
              f"an install compiles and caches them, which takes seconds)", file=out, flush=True)
        bar = ProgressReporter(evaluate, state, settings.generations, out, initial=state.metrics,
                               minutes=settings.minutes)
        pop.add_reporter(bar)
    checkpoints = Checkpoints(run_dir, pop, state, settings.checkpoint_every, identity, writer)  # for Ctrl-C
    finished = out_of_time = False
    done = lambda: state.finished(settings.generations, settings.stop_when_solved)  # noqa: E731
    try:
        deadline = None if settings.minutes is None else t_start + 60.0 * float(settings.minutes)
        while not done():
            if restart_due(pop, state, settings.restart_every) or (stages and stages.restart_due(pop.generation)):
                restart_population(pop, state)
            if stages is not None:
                stages.retarget(evaluator)
            before = pop.generation
            with gc_paused():  # evaluation, reproduction, speciation: see entm.evolution.gc_pause
                pop.run(evaluate, 1)
            if pop.generation == before:  # neat-python stopped at its fitness threshold
                state.threshold = True
                break
            checkpoints.after_generation()
            interrupts.check()  # a Ctrl-C that landed where Python drops it (entm.interrupts)
            if deadline is not None and time.perf_counter() >= deadline:
                out_of_time = not done()
                break
        finished = True
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        checkpoints.write()
        print(f"\ninterrupted: checkpoint of generation {checkpoints.generation} written; continue with: "
              f"entm resume {run_dir}", file=out)
        raise
    except RuntimeError as e:  # neat-python's reproduction: more species than the population can keep
        if "per-species minima" not in str(e):
            raise
        raise EntmError(f"generation {pop.generation}: {len(pop.species.species)} species, each kept at "
                        f"max(min_species_size, elitism) genomes, no longer fit in pop_size "
                        f"{config.pop_size}: raise pop_size or compatibility_threshold, or lower "
                        f"min_species_size/elitism (the run is kept up to its newest checkpoint)") from None
    finally:
        checkpoints.wait(raise_errors=False)
        if bar is not None:
            bar.close()
    if finished:
        checkpoints.mark()
        checkpoints.write()
    out_of_time = finished and out_of_time
    stopped = ("minutes" if out_of_time else "threshold" if state.threshold else
               "solved" if state.solved and settings.stop_when_solved else "generations")
    return EvolveResult(run_dir=run_dir, champion=json.loads((run_dir / runs.CHAMPION_FILE).read_text()),
                        generations=state.metrics, solved=state.solved, seconds=time.perf_counter() - t_start,
                        out_of_time=out_of_time, stopped=stopped, champion_terms=champion.champion_terms)
