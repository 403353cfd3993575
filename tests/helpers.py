"""Helpers shared by the tests: the one module test files import from (``from helpers import ...``).

``tests/`` is on ``sys.path`` through ``pythonpath = ["tests"]`` in pyproject.toml's pytest settings, so
this works from the repository root with any selection (``python3 -m pytest -q``, ``-m "not slow"``, one
file). Fixtures built on these (``cli``, ``fixtures``) live in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import neat
import numpy as np
import pytest
from entm.tasks import RewardTask
from neat.innovation import InnovationTracker

from entm import runs
from entm.bench.local_cluster import RAY, LocalCluster, free_port  # noqa: F401  (RAY, free_port: the cluster tests)
from entm.champion import load_champion
from entm.cli import main
from entm.closed_loop import evaluate_deployments
from entm.evolution.evaluator import episode_rng
from entm.evolution.loop import EvolveSettings, prepare
from entm.neatconfig import load_config

ROOT = Path(__file__).resolve().parents[1]
#: files the tests read (hand-built champions, the golden tape traces); nothing is read from outside tests/
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TAPE_TRACES = FIXTURES / "tape_traces.json"


# --- the command line ----------------------------------------------------------------------------------

def subprocess_env(**extra) -> dict:
    """The environment of a child ``python -m entm ...``: this one, with the checkout first on PYTHONPATH."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run the real `entm` command line in a subprocess (where the process itself is the point: the entry
    point, what reaches stderr, signals, Ray processes)."""
    return subprocess.run([sys.executable, "-m", "entm.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env or subprocess_env(), timeout=timeout)


#: ``python -c`` program: ``entm`` with each checkpoint write held half-done (``.<name>.fault.tmp``) for
#: ``argv[1]`` seconds before the real atomic write, so that a test can kill it mid-write (and has time to
#: interrupt a run before it ends). The fault lives here, in the test's child process, not in entm.
_SLOW_CHECKPOINTS = """
import os, sys, time
from pathlib import Path
from entm.cli import main
from entm.evolution import checkpoint

delay, real_write = float(sys.argv[1]), checkpoint.atomic_write

def torn_then_whole(path, data):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.fault.tmp")
    with open(tmp, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(delay)
        f.write(data[len(data) // 2:])
    os.unlink(tmp)
    real_write(path, data)

if delay > 0:
    checkpoint.atomic_write = torn_then_whole
sys.exit(main(sys.argv[2:]))
"""


def start_entm_with_slow_checkpoints(delay: float, *args, **popen) -> subprocess.Popen:
    """Start ``entm *args`` in a new session whose checkpoint writes are each held half-done for ``delay``
    seconds (0: plain entm); stdout and stderr are piped."""
    return subprocess.Popen([sys.executable, "-c", _SLOW_CHECKPOINTS, str(delay), *map(str, args)],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **popen)


def run_main(capsys, *args) -> tuple[int, str, str]:
    """``entm.cli.main`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()  # what was printed before is not this call's
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str, *words: str) -> str:
    """Exit status 2 and exactly one ``entm...`` line on stderr, holding each of ``words``; returns the line."""
    assert status == 2, (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("entm"), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def main_error(capsys, *args, words=()) -> str:
    """``entm.cli.main(args)`` fails with a one-line error holding each of ``words``; returns the line."""
    status, _, err = run_main(capsys, *args)
    return assert_one_line_error(status, err, *words)


# --- small real runs -----------------------------------------------------------------------------------

def small_evolution_run(run_dir, task: str = "copy", task_params=None, generations: int = 1, episodes: int = 4,
                        **settings) -> Path:
    """A real serial evolution run of a few generations and episodes into ``run_dir`` (for the views of
    saved runs); ``settings``: further :class:`entm.evolution.loop.EvolveSettings` fields."""
    from entm.evolution.loop import EvolveSettings, evolve

    evolve(EvolveSettings(task=task, task_params=dict(task_params or {}), generations=generations, seed=1,
                          episodes=episodes, evaluator="serial", stop_when_solved=False, run_dir=str(run_dir),
                          **settings), progress=False)
    return Path(run_dir)


# --- runs compared -------------------------------------------------------------------------------------

#: metrics that may differ between two runs of the same settings (timings, who did the work)
TIMING_KEYS = {"eval_seconds", "steps_per_second", "wall_seconds", "workers", "nodes"}


def comparable_metrics(run_dir):
    """metrics.jsonl without timings and worker counts: equal for equal settings and seed."""
    return [{k: v for k, v in m.items() if k not in TIMING_KEYS} for m in runs.read_metrics(run_dir)]


def comparable_champion(run_dir, name: str = "champion.json"):
    """champion.json (or another champion file of the run, ``name``) without its creation timestamp."""
    data = json.loads((Path(run_dir) / name).read_text())
    data["metadata"].pop("created_timestamp")
    return data


def stage_champions(run_dir) -> dict:
    """The champions of the curriculum stages a run has left (``champion-stage-K.json``), by file name."""
    return {p.name: comparable_champion(run_dir, p.name) for p in sorted(Path(run_dir).glob("champion-stage-*.json"))}


def rescore_champion(run_dir) -> dict:
    """A run's champion.json alone (rebuilt by :mod:`entm.champion`), run again on the episodes of the
    generation it was chosen in (``episode_rng(run seed, generation)``, as the evaluator draws them):
    the means ``{"score", "perfect", "bit_errors"}`` the run recorded for it."""
    champ = load_champion(run_dir)
    run = runs.read_run_json(run_dir)
    gen = champ.data["metadata"]["entm"]["generation"]
    eps = champ.task.sample(episode_rng(run["seed"], gen), run["episodes"])
    if isinstance(champ.task, RewardTask):
        sc, _ = evaluate_deployments(champ.machine, champ.network, eps)
    else:
        sc = champ.task.score(eps, champ.machine.run(champ.network, eps.inputs).outputs)
    return {"score": float(np.mean(sc.score)), "perfect": float(np.mean(sc.perfect)),
            "bit_errors": float(np.mean(sc.bit_errors))}


#: re-running a champion outside the evaluator (the plain network, episodes in their drawn order) may change
#: the last bits of a mean; nothing more
RESCORE_TOLERANCE = 1e-9


def assert_champion_scores_as_recorded(run_dir) -> dict:
    """The champion re-scored from champion.json (:func:`rescore_champion`) is what the run recorded: the
    champion's metadata and the metrics line of its generation, whose best genome it is."""
    meta = json.loads((Path(run_dir) / "champion.json").read_text())["metadata"]["entm"]
    again = rescore_champion(run_dir)
    assert again["score"] == pytest.approx(meta["score"], abs=RESCORE_TOLERANCE), (again, meta)
    assert again["perfect"] == pytest.approx(meta["perfect"], abs=RESCORE_TOLERANCE), (again, meta)
    line = runs.read_metrics(run_dir)[meta["generation"]]
    assert line["best_genome"] == meta["genome_key"] and line["best_fitness"] == meta["fitness"]
    assert line["best_score"] == meta["score"] and line["best_perfect"] == meta["perfect"]
    assert again["bit_errors"] == pytest.approx(line["best_bit_errors"], abs=RESCORE_TOLERANCE), (again, line)
    return again


# --- config edits --------------------------------------------------------------------------------------

def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced; an error when ``old`` is absent or repeated
    (a test must not silently edit nothing)."""
    n = text.count(old)
    if n != 1:
        raise AssertionError(f"expected exactly one {old!r} in the text, found {n}")
    return text.replace(old, new)


def sub_once(pattern: str, repl: str, text: str, flags=re.MULTILINE) -> str:
    """``re.sub`` that must replace exactly one match of ``pattern``."""
    out, n = re.subn(pattern, repl, text, flags=flags)
    if n != 1:
        raise AssertionError(f"expected exactly one match of {pattern!r} in the text, found {n}")
    return out


# --- processes -----------------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def descendants(pid: int) -> list[int]:
    """Process ids of every live descendant of ``pid`` (children, their children, ...)."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def busy_ray_workers(*roots: int) -> list[int]:
    """Ray worker processes below ``roots`` (the processes a test started, whose Ray it is) that are
    evaluating a chunk right now. Only that tree is searched: Ray processes of anyone else on the machine
    are never candidates."""
    pids = []
    for root in roots:
        for p in descendants(root):
            try:
                cmd = Path(f"/proc/{p}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"ray::_evaluate_chunk"):
                pids.append(p)
    return pids


# --- a real Ray cluster on this machine -------------------------------------------------------------------

class Cluster(LocalCluster):
    """A real Ray cluster on this machine (:class:`entm.bench.local_cluster.LocalCluster`), started with the
    checkout first on PYTHONPATH."""

    def __init__(self, nodes=2, cpus=1):
        super().__init__(nodes, cpus, env=subprocess_env())


# -- random neat-python genomes and networks against neat-python (test_network, test_fast) ---------------

ALL_ACTIVATIONS = sorted(neat.activations.ActivationFunctionSet().functions)
ALL_AGGREGATIONS = sorted(neat.aggregations.AggregationFunctionSet().functions)

CONFIG_TEMPLATE = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 1.0
pop_size              = 10
reset_on_extinction   = False
no_fitness_termination = False

[DefaultGenome]
activation_default      = random
activation_mutate_rate  = 0.3
activation_options      = {activations}
aggregation_default     = random
aggregation_mutate_rate = 0.3
aggregation_options     = {aggregations}
bias_init_mean          = 0.0
bias_init_stdev         = 1.0
bias_max_value          = 30.0
bias_min_value          = -30.0
bias_mutate_power       = 0.5
bias_mutate_rate        = 0.7
bias_replace_rate       = 0.1
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient   = 0.5
conn_add_prob           = 0.9
conn_delete_prob        = 0.1
enabled_default         = True
enabled_mutate_rate     = 0.15
feed_forward            = {feed_forward}
initial_connection      = partial_direct 0.5
node_add_prob           = 0.6
node_delete_prob        = 0.1
num_hidden              = 1
num_inputs              = {num_inputs}
num_outputs             = {num_outputs}
response_init_mean      = 1.0
response_init_stdev     = 0.5
response_max_value      = 30.0
response_min_value      = -30.0
response_mutate_power   = 0.5
response_mutate_rate    = 0.3
response_replace_rate   = 0.05
weight_init_mean        = 0.0
weight_init_stdev       = 1.0
weight_max_value        = 30
weight_min_value        = -30
weight_mutate_power     = 0.5
weight_mutate_rate      = 0.8
weight_replace_rate     = 0.1

[DefaultSpeciesSet]
compatibility_threshold = 3.0

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 20
species_elitism      = 2

[DefaultReproduction]
elitism            = 2
survival_threshold = 0.2
min_species_size   = 1
"""

NUM_INPUTS = 3
NUM_OUTPUTS = 3


def make_random_config(path, feed_forward: bool) -> neat.Config:
    path.write_text(CONFIG_TEMPLATE.format(
        activations=" ".join(ALL_ACTIVATIONS), aggregations=" ".join(ALL_AGGREGATIONS),
        feed_forward=feed_forward, num_inputs=NUM_INPUTS, num_outputs=NUM_OUTPUTS))
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                         neat.DefaultStagnation, str(path))
    config.genome_config.innovation_tracker = InnovationTracker()
    return config


def random_genomes(config, seed: int, count: int):
    random.seed(seed)
    gc = config.genome_config
    out = []
    for i in range(count):
        g = neat.DefaultGenome(i)
        g.configure_new(gc)
        for _ in range(random.randint(0, 25)):
            g.mutate(gc)
        out.append(g)
    return out


def random_inputs(rng, batch: int, special: bool) -> np.ndarray:
    x = rng.normal(0.0, 2.0, size=(batch, NUM_INPUTS))
    x[rng.random(x.shape) < 0.15] = 0.0  # exact zeros: inv(0), product of zeros, ...
    x[0] = 0.0
    x[1] = rng.choice([-40.0, 40.0], size=NUM_INPUTS)  # saturating / overflowing values
    if special:
        x[2, 0] = np.nan
        x[3, 1] = np.inf
        x[4, 2] = -np.inf
    return x


def neat_run(make_net, xs: list[np.ndarray]):
    """neat-python, one net per row, over consecutive steps; rows where
    neat-python raises OverflowError (square/cube of a huge value) are None."""
    batch = xs[0].shape[0]
    rows = []
    for b in range(batch):
        net = make_net()
        try:
            rows.append([net.activate([float(v) for v in x[b]]) for x in xs])
        except OverflowError:
            rows.append(None)
    return rows


def neat_factory(genome, config, feed_forward: bool):
    if feed_forward:
        return lambda: neat.nn.FeedForwardNetwork.create(genome, config)
    return lambda: neat.nn.RecurrentNetwork.create(genome, config)


def mutated_population(settings, n: int, seed: int = 0, hidden: int = 2, mutations: int = 6,
                       recurrent: bool = False):
    """``n`` genomes of a run's first population (``settings``: an EvolveSettings), started with ``hidden``
    hidden nodes and mutated ``mutations`` times each (more structure than a fresh population has);
    ``recurrent``: the config's ``feed_forward = False`` (cycles allowed).
    Returns (task, spec, machine, config, genomes)."""
    task, spec, machine, text = prepare(settings)
    text = replace_once(text, "num_hidden            = 0", f"num_hidden            = {hidden}")
    if recurrent:
        text = replace_once(text, "feed_forward          = True", "feed_forward          = False")
    config = load_config(text, "test")
    genomes = [g for _, g in list(neat.Population(config, seed=seed).population.items())[:n]]
    for g in genomes:
        for _ in range(mutations):
            g.mutate(config.genome_config)
    return task, spec, machine, config, genomes



# -- campaigns (tests/campaign) --------------------------------------------------------------------------

#: a small campaign: 2 evolution groups x 3 seeds and one short training (seconds per run)
SMALL_CAMPAIGN = """
name = "small"
seeds = [0, 1, 2]

[groups.direct]
task = "copy"
task_params = { vector_size = 2, max_length = 4 }
generations = 12
episodes = 8
checkpoint_every = 2
stop_when_solved = false

[groups.hyper]
task = "copy"
task_params = { vector_size = 2, max_length = 4 }
encoding = "hyper"
generations = 12
episodes = 8
checkpoint_every = 2
stop_when_solved = false

[groups.ntm]
kind = "training"
seeds = [0]
task = "copy"
task_params = { vector_size = 2, max_length = 4 }
model = "ntm"
architecture = { hidden_size = 8, cells = 8, width = 6 }
steps = 60
report_every = 10
checkpoint_every = 10
test_sequences = 20
compile = false
"""

#: training metrics that may differ between two runs of the same settings
TRAIN_TIMING_KEYS = {"seconds", "cpu_seconds"}


def launch_alone(run, run_dir) -> Path:
    """The run of a campaign (an ``entm.campaign.spec.RunSpec``) launched alone, as ``entm evolve`` /
    ``entm train`` launch it (serial evaluation, one torch thread), into ``run_dir``."""
    import copy

    settings = dict(copy.deepcopy(run.settings), seed=run.seed, run_dir=str(run_dir))
    if run.kind == "evolution":
        from entm.evolution.loop import EvolveSettings, evolve

        evolve(EvolveSettings(**settings, evaluator="serial"), progress=False)
    else:
        import torch

        from entm.baseline.settings import TrainSettings
        from entm.baseline.train import train

        torch.set_num_threads(1)
        train(TrainSettings(**settings, device="cpu"), progress=False)
    return Path(run_dir)


def assert_same_run(kind: str, a, b) -> None:
    """Two run directories hold the same run: metrics (timings aside) and the champion (its creation time
    aside), or a training's metrics and final test (timings aside)."""
    if kind == "evolution":
        assert comparable_metrics(a) == comparable_metrics(b)
        assert comparable_champion(a) == comparable_champion(b)
        assert stage_champions(a) == stage_champions(b)
        return
    strip = lambda rows: [{k: v for k, v in m.items() if k not in TRAIN_TIMING_KEYS} for m in rows]
    assert strip(runs.read_metrics(a)) == strip(runs.read_metrics(b))
    ta, tb = (json.loads((Path(d) / "test.json").read_text()) for d in (a, b))
    assert strip([ta]) == strip([tb])


# --- the environment failing ---------------------------------------------------------------------------

#: ``python -c`` program: ``entm argv[3:]`` where every write under the directory ``argv[2]`` fails as the OS
#: fails it: ``argv[1]`` = ``ENOSPC`` sends the writes to /dev/full (the kernel answers "No space left on
#: device"), ``EROFS`` refuses to open, create, rename or remove anything there (a read-only file system).
#: Only the OS calls are replaced, in the test's child process; entm's own code runs as it is.
_FAULTY_DISK = """
import builtins, errno, io, os, sys
kind, root = sys.argv[1], os.path.realpath(sys.argv[2])
real_open, real_os_open = builtins.open, os.open
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def under(path):
    try:
        p = os.path.realpath(os.fsdecode(path))
    except TypeError:
        return False
    return p == root or p.startswith(root + os.sep)

def refuse(path):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

def os_open(path, flags, mode=0o777, *, dir_fd=None):
    if dir_fd is None and flags & WRITE and under(path):
        if kind == "EROFS":
            refuse(path)
        return real_os_open("/dev/full", flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_APPEND))
    return real_os_open(path, flags, mode, dir_fd=dir_fd)

def open_(file, mode="r", *a, **k):
    if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and under(file):
        if kind == "EROFS":
            refuse(file)
        return real_open("/dev/full", mode.replace("x", "w").replace("a", "w"), *a, **k)
    return real_open(file, mode, *a, **k)

builtins.open = io.open = open_
os.open = os_open
if kind == "EROFS":
    for name in ("mkdir", "rename", "replace", "unlink", "rmdir"):
        def guard(*a, _real=getattr(os, name), **k):
            if any(under(p) for p in a[:2] if isinstance(p, (str, bytes, os.PathLike))):
                refuse(a[0])
            return _real(*a, **k)
        setattr(os, name, guard)
from entm.cli import main
sys.exit(main(sys.argv[3:]))
"""


def run_entm_on_faulty_disk(kind: str, root, *args, timeout=300) -> subprocess.CompletedProcess:
    """``entm *args`` in a child process whose writes under ``root`` fail with ``kind`` (``ENOSPC``: the
    writes go to /dev/full; ``EROFS``: a read-only file system)."""
    return subprocess.run([sys.executable, "-c", _FAULTY_DISK, kind, str(root), *map(str, args)],
                          capture_output=True, text=True, env=subprocess_env(), timeout=timeout)


def run_cli_capped(address_space: int, *args, timeout=300) -> subprocess.CompletedProcess:
    """``entm *args`` in a child whose address space is capped at ``address_space`` bytes (RLIMIT_AS): a size
    check that regresses fails with MemoryError there instead of taking the machine's memory."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return subprocess.run([sys.executable, "-m", "entm", *map(str, args)], capture_output=True, text=True,
                          env=subprocess_env(), timeout=timeout, preexec_fn=cap)


def chain_champion(champion: Path, out: Path, hidden: int) -> Path:
    """``champion`` (a champion.json) with a chain of ``hidden`` hidden nodes added from input -1 to output 0:
    a network as deep as it is long (for the size checks of plots)."""
    data = json.loads(champion.read_text())
    template = next(n for n in data["nodes"] if n["type"] == "output")
    chain = [dict(template, id=10_000 + i, type="hidden") for i in range(hidden)]
    data["nodes"] = chain + data["nodes"]  # evaluated before the outputs
    keys = [-1] + [n["id"] for n in chain] + [0]
    data["connections"] += [{"from": a, "to": b, "weight": 1.0, "enabled": True} for a, b in zip(keys, keys[1:])]
    out.write_text(json.dumps(data))
    return out


def network_json(inputs: list, outputs: int, hidden: list, bias: dict, links: list,
                 activations: dict | None = None, recurrent: bool = False) -> dict:
    """A hand-built network as neat-python network JSON: sigmoid hidden and output nodes (or
    ``activations[key]``) with ``bias`` (0 where not given), ``links`` as (from, to, weight); nodes listed in
    evaluation order.  ``recurrent``: neat-python's ``RecurrentNetwork`` (every node reads the current inputs
    and the previous step's node values)."""
    def node(key, kind):
        act = "identity" if kind == "input" else (activations or {}).get(key, "sigmoid")
        return {"id": key, "type": kind, "activation": {"name": act, "custom": False},
                "aggregation": {"name": "none" if kind == "input" else "sum", "custom": False},
                "bias": bias.get(key, 0.0), "response": 1.0}

    return {"format_version": "1.0", "network_type": "recurrent" if recurrent else "feedforward",
            "metadata": {"created_timestamp": "2026-12-01T00:00:00Z"},
            "topology": {"num_inputs": len(inputs), "num_outputs": outputs, "input_keys": inputs,
                         "output_keys": list(range(outputs))},
            "nodes": [node(h, "hidden") for h in hidden] + [node(k, "output") for k in range(outputs)]
                     + [node(k, "input") for k in inputs],
            "connections": [{"from": a, "to": b, "weight": x, "enabled": True} for a, b, x in links]}


def season_preset_spec(**memory):
    """The season preset's task and memory spec; ``memory``: options that replace the preset's."""
    from entm.memory import MemorySpec
    from entm.presets import PRESETS
    from entm.tasks import make_task

    s = PRESETS["luders2017-season"].settings
    options = {**{k: v for k, v in s["memory_params"].items() if k != "width"}, **memory}
    return make_task(s["task"], s["task_params"]), MemorySpec(s["memory"], s["memory_params"]["width"],
                                                              heads=s["heads"], options=options)


def wide_copy_config() -> str:
    """copy's config for 2-bit vectors with weights in ±30 and biases in ±15, the hand-built copy solver's values
    (``fixtures/copy_handbuilt_v2.json``), and a compatibility threshold to match: copies of a 10-link network
    with weights redrawn in ±30 are far apart by neat-python's distance, which is per gene."""
    from entm.neatconfig import default_config_path, fit_sizes, read_config_text

    text = fit_sizes(read_config_text(default_config_path("copy", "discrete", "direct")), 9, 12)
    for old, new in (("bias_max_value          = 10.0", "bias_max_value = 15.0"),
                     ("bias_min_value          = -10.0", "bias_min_value = -15.0"),
                     ("weight_max_value        = 10.0", "weight_max_value = 30.0"),
                     ("weight_min_value        = -10.0", "weight_min_value = -30.0"),
                     ("compatibility_threshold = 3.0", "compatibility_threshold = 15.0")):
        text = replace_once(text, old, new)
    return text


# -- speciation tests (test_species, test_kmeans): the discrete T-maze's config with chosen species items --

SPECIES_BASE = dict(task="tmaze", task_params={"variant": "discrete", "maze": "double"}, seed=4,
            evaluator="serial", stop_when_solved=False)


def species_config_text(**species) -> str:
    """The T-maze's config with exactly ``species`` besides compatibility_threshold 3.0 in [DefaultSpeciesSet]."""
    _, _, _, text = prepare(EvolveSettings(**SPECIES_BASE))
    text = re.sub(r"(?m)^(target_species|threshold_step|threshold_min)\s*=.*\n", "", text)
    text = re.sub(r"(?m)^compatibility_threshold\s*=.*$", "compatibility_threshold = 3.0", text)
    extra = "".join(f"{k} = {v}\n" for k, v in species.items())
    return text.replace("[DefaultSpeciesSet]\n", "[DefaultSpeciesSet]\n" + extra)


def species_config_file(tmp_path, **species):
    p = tmp_path / "config.ini"
    p.write_text(species_config_text(**species))
    return str(p)


def spread_population(config, seed):
    random.seed(seed)
    pop = neat.Population(config)
    for g in pop.population.values():  # spread them apart: a few weight mutations each
        for _ in range(random.randrange(1, 8)):
            g.mutate(config.genome_config)
    return pop.population
