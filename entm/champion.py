"""Champions: load a shared ``champion.json`` and evaluate it anywhere.

A champion file is neat-python's network JSON (format_version "1.0") with a
``metadata.entm`` block naming the task, its parameters, the memory mode and
its parameters, and the number of heads.  That file alone rebuilds the
machine; nothing is unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from entm import budget
from entm.closed_loop import evaluate_deployments
from entm.errors import EntmError
from entm.hyper import FIELDS as HYPER_FIELDS, HyperParams, Substrate
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.phenotype import Network, load_network_json
from entm.runs import resolve_champion
from entm.tasks import TASKS, RewardTask, make_task

ENTM_KEYS = ("task", "task_params", "memory", "memory_params", "heads")


@dataclass
class Champion:
    path: Path
    data: dict
    network: object
    task: object
    spec: MemorySpec
    machine: Machine


def champion_from_dict(data: dict, path: Path | str = "champion", task_overrides: dict | None = None,
                       max_memory=None) -> Champion:
    """Rebuild the machine of a parsed champion JSON (validated)."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    entm = meta.get("entm") if isinstance(meta, dict) else None
    if not isinstance(entm, dict):
        raise EntmError(f"{path}: no metadata.entm block; is this an entm champion?")
    missing = [k for k in ENTM_KEYS if k not in entm]
    if missing:
        raise EntmError(f"{path}: metadata.entm lacks {', '.join(repr(k) for k in missing)}")
    if not isinstance(entm["task_params"], dict):
        raise EntmError(f"{path}: metadata.entm.task_params must be an object")
    try:
        network = Network.from_json(data)
    except EntmError as e:
        raise EntmError(f"{path}: {e}") from None
    params = dict(entm["task_params"])
    params.update(task_overrides or {})
    cls = TASKS.get(entm["task"])
    if cls is not None and "vector_size" in params and "vector_size" not in {f.name for f in fields(cls)}:
        raise EntmError(f"--vector-size re-paints a hyper champion of a bit-vector task (copy and the NTM paper's "
                        f"tasks); task {entm['task']!r} has no vector size")
    task = make_task(entm["task"], params)
    spec = MemorySpec.from_metadata(entm["memory"], entm["memory_params"], entm["heads"])
    if entm.get("encoding") == "hyper" and params != entm["task_params"]:
        network, spec = _repaint(entm, task, spec, path, max_memory)
    machine = Machine(task, spec)
    try:
        machine.check_sizes(network.num_inputs, network.num_outputs, what=str(path))
    except EntmError as e:
        if params.get("vector_size") != entm["task_params"].get("vector_size"):
            raise EntmError(f"{e} (only a hyper-encoding champion is re-painted for other task sizes; this one "
                            f"was evolved with the direct encoding at {entm['task_params']})") from None
        if params != entm["task_params"]:
            raise EntmError(f"{e} (the task parameters changed from the champion's change its inputs or "
                            f"outputs)") from None
        raise
    return Champion(path=Path(path), data=data, network=network, task=task, spec=spec, machine=machine)


def _repaint(entm: dict, task, spec: MemorySpec, path, max_memory=None):
    """A hyper champion's CPPN re-painted for ``task`` (another vector size): the controller network and the
    memory, whose width keeps the champion's extra values beyond its blocks of the vector (M' = B V' + M - B V,
    B = :attr:`entm.hyper.HyperParams.blocks`)."""
    sub_meta, cppn_json = entm.get("substrate"), entm.get("cppn")
    if not isinstance(sub_meta, dict) or not isinstance(cppn_json, dict):
        raise EntmError(f"{path}: a hyper champion needs metadata.entm.substrate and metadata.entm.cppn")
    old_v = int(entm["task_params"].get("vector_size", 0))
    try:
        cppn = Network.from_json(cppn_json)
        hp = HyperParams.from_dict({k: sub_meta[k] for k in HYPER_FIELDS if k in sub_meta})
    except EntmError as e:
        raise EntmError(f"{path}: CPPN: {e}") from None
    extra = spec.width - hp.blocks * old_v
    spec = MemorySpec(mode=spec.mode, width=hp.blocks * int(task.vector_size) + extra, heads=spec.heads,
                      options=spec.options)
    budget.check_painting(Machine(task, spec), hp.radius is None, max_memory)
    sub = Substrate(task, spec, hp)
    if sub.cppn_inputs != sub_meta.get("cppn_inputs") or sub.cppn_outputs != sub_meta.get("cppn_outputs"):
        raise EntmError(f"{path}: the CPPN's inputs/outputs do not match the substrate of {task.name} {task.params()}")
    return sub.paint_network(cppn), spec


def load_champion(path, task_overrides: dict | None = None, max_memory=None) -> Champion:
    """Load ``champion.json`` (or a run directory's) and rebuild its machine (``max_memory``: the limit of a
    hyper champion's re-painting, :func:`entm.budget.check_painting`)."""
    p = resolve_champion(path)
    _, data = load_network_json(p)
    return champion_from_dict(data, p, task_overrides, max_memory)


def evaluate_lengths(machine: Machine, network, lengths, episodes: int = 20, seed: int = 0,
                     progress=None, max_memory=None, terms: bool = False, phases: bool = False,
                     probe: bool = False) -> dict:
    """Score one network at each sequence length: ``{"<L>": {score, perfect, bit_errors, episodes}}``.

    ``max_memory`` (bytes or a size like ``4G``; default half of the machine, :mod:`entm.budget`): a length
    that cannot fit is refused before any is evaluated; one whose run would not fit whole runs in pieces of
    episodes, with the same numbers.  ``terms``: also the means of the task's shaping terms on the same
    episodes (``"terms"``, what evolution's fitness averaged besides the score; the run keeps the trace).
    ``phases``: a reward task's rounds grouped by its phases (``"phases"``, e.g. the T-maze's moves of the
    high reward, :meth:`entm.tasks.reward.RewardTask.phases`); an error for a task without them.
    ``probe``: also ``probe_perfect`` and ``probe_bit_errors``, what a linear readout fitted to the run's
    inputs and reads gets on the same episodes (:class:`Probe`)."""
    task = machine.task
    limit, given = budget.limit_of(max_memory), max_memory is not None
    closed = isinstance(task, RewardTask)
    sized = not closed and isinstance(machine, Machine)  # a trained model's runner has no memory spec to size
    if terms and not isinstance(machine, Machine):  # an evolved machine's terms; a trained model has none
        raise EntmError(f"shaping terms are an evolved machine's; task {task.name!r} is run by a trained model")
    if phases and (not closed or type(task).phases is RewardTask.phases):
        raise EntmError(f"task {task.name!r} has no phases to group by (--phases: the T-maze's rounds)")
    pieces = {L: budget.evaluation_pieces(machine, L, episodes, limit, given) if sized else 1 for L in lengths}
    probing = Probe(machine, network, seed) if probe else None
    out = {}
    for L in lengths:
        rng = np.random.default_rng([int(seed), int(L)])
        eps = task.sample(rng, episodes, length=L)
        if closed:  # closed loop; L is the task's length knob (rounds, years)
            sc, env = evaluate_deployments(machine, network, eps)
            if terms:  # the task's fitness terms, e.g. the maze's "reached"
                shaped = {k: float(np.mean(v)) for k, v in task.fitness_terms(env).items()}
            grouped = task.phases(env) if phases else None
        elif terms or probe:  # one run with the light trace serves both
            if pieces[L] > 1:
                raise EntmError(f"{'shaping terms need' if terms else '--probe needs'} length {L}'s {episodes} "
                                f"episodes in memory at once; fewer --episodes, or a larger --max-memory")
            res = machine.run(network, eps.inputs, shaping=True)
            sc = task.score(eps, res.outputs)
            if terms:
                shaped = {k: float(np.mean(v)) for k, v in task.shape(eps, res.outputs, res.trace).items()}
        else:
            sc = task.score(eps, run_in_pieces(machine, network, eps.inputs, pieces[L]))
        out[str(L)] = {
            "score": float(np.mean(sc.score)),
            "perfect": float(np.mean(sc.perfect)),
            "bit_errors": float(np.mean(sc.bit_errors)),
            "episodes": int(episodes),
            **_extra_scores(sc),
            **({"terms": shaped} if terms else {}),
            **({"phases": grouped} if phases else {}),
            **(probing.score(eps, res.trace.reads) if probe else {}),
        }
        if progress is not None:
            progress(L)
    return out


class Probe:
    """A linear readout probe: per task output bit, a ridge least-squares fit on the network's inputs and reads
    (the controller's whole input) at the scored steps of :data:`PROBE_EPISODES` training episodes (drawn from
    (seed, 2**31 - 3)), the bit 1 where the fit exceeds 0.5.  Where the probe is perfect and the network's own
    outputs are not, the memory holds the answer and the outputs are not wired to it.  A diagnostic, not a
    bound: a least-squares fit with a ridge does not amplify small differences in the reads, so a network
    whose outputs do (a differentiable memory's soft reads) can be perfect where the probe is not."""

    def __init__(self, machine: Machine, network, seed: int):
        from entm.tasks.common import StrictCloseTask
        from entm.tasks.copy import CopyTask

        task = machine.task
        if not isinstance(task, (CopyTask, StrictCloseTask)) or not isinstance(machine, Machine):
            raise EntmError(f"--probe fits a readout of bit targets from an evolved machine's reads; task "
                            f"{task.name!r} has none")
        train = task.sample(np.random.default_rng([int(seed), 2**31 - 3]), PROBE_EPISODES)
        X = _probe_features(train, machine.run(network, train.inputs, shaping=True).trace.reads)
        Y = train.targets[train.mask].astype(np.float64)
        self.W = np.linalg.solve(X.T @ X + PROBE_RIDGE * np.eye(X.shape[1]), X.T @ Y)

    def score(self, eps, reads: np.ndarray) -> dict:
        """The probe on episodes ``eps`` whose run read ``reads`` (episodes, steps, read width)."""
        wrong = ((_probe_features(eps, reads) @ self.W > 0.5) != (eps.targets[eps.mask] > 0.5)).sum(axis=1)
        per = np.bincount(np.repeat(np.arange(eps.batch), eps.mask.sum(axis=1)), wrong, minlength=eps.batch)
        return {"probe_perfect": float(np.mean(per == 0)), "probe_bit_errors": float(np.mean(per))}


def _probe_features(eps, reads: np.ndarray) -> np.ndarray:
    """The controller's inputs (task inputs and reads) at the scored steps, and a 1 for the bias."""
    x = np.concatenate([eps.inputs, reads], axis=2)[eps.mask]
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


#: the probe's training episodes, and its ridge (on the squared weights; inputs and reads are in [0, 1])
PROBE_EPISODES = 200
PROBE_RIDGE = 1e-2


def run_in_pieces(machine: Machine, network, inputs: np.ndarray, pieces: int) -> np.ndarray:
    """The network's task outputs on every episode of ``inputs``, run ``pieces`` slices of episodes at a time
    (the same array as one run: the episodes do not interact)."""
    if pieces <= 1:
        return machine.run(network, inputs).outputs
    bounds = np.linspace(0, inputs.shape[0], pieces + 1).astype(int)
    return np.concatenate([machine.run(network, inputs[a:b]).outputs for a, b in zip(bounds[:-1], bounds[1:])])


def _extra_scores(sc) -> dict:
    """The means of what a task's Scores carry beyond score, perfect and bit errors (e.g. dynamic
    N-grams' ``cost`` and ``optimal_cost`` in bits per sequence); None where not finite."""
    from dataclasses import fields

    extra = {}
    for f in fields(sc):
        v = getattr(sc, f.name)
        if f.name in ("score", "perfect", "bit_errors") or not isinstance(v, np.ndarray) or v.dtype.kind not in "fiub":
            continue
        m = float(np.mean(v))
        extra[f.name] = m if np.isfinite(m) else None
    return extra


def parse_lengths(text: str, option: str = "--lengths", noun: str = "length") -> list[int]:
    """``"1,10,100"`` -> [1, 10, 100]; every item a positive integer (``option`` and ``noun`` name them in errors)."""
    items = [s.strip() for s in str(text).split(",")]
    like = "10,100,1000" if noun == "length" else "1,2,5"
    if not any(items):
        raise EntmError(f"{option} is empty; give {noun}s like {like}")
    if not all(items):
        raise EntmError(f"{option} {text!r} has an empty item; give {noun}s like {like}")
    out = []
    for s in items:
        try:
            v = int(s)
        except ValueError:
            raise EntmError(f"{option}: {s!r} is not an integer") from None
        if v < 1:
            raise EntmError(f"{option}: {noun} must be at least 1, got {v}")
        out.append(v)
    return out
