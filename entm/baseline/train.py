"""Training the baselines on a sequence task: batches, loss, optimiser, NaN guard.

Every registered *sequence* task (a ``SequenceTask``) gives batches of
padded episodes (inputs, targets, mask).  The model emits logits; the loss is
the sigmoid cross-entropy of the scored steps, summed over the bits of a
sequence and averaged over the batch (nats per sequence).  Bit errors per
sequence come from the task's own scoring of the sigmoid outputs.

Optimisers (Graves 2014 / Graves 2013, "Generating sequences with RNNs"):

- ``rmsprop``: Graves' RMSProp — centred, decay 0.95, momentum 0.9, lr 1e-4
  (torch's ``RMSprop(centered=True, alpha=0.95, momentum=0.9)``; ``eps`` 1e-4
  outside the square root, where Graves puts it inside);
- ``adam``: Adam, lr 1e-3.

Gradients are clipped elementwise to ±10 (Graves) or to a global norm.  An
optional length curriculum starts the task's ``max_length`` low and raises it
whenever a report's bit errors per sequence fall below a threshold.

NaN guard: a step whose loss or gradient is not finite is skipped (the
parameters and the optimiser state stay as they were) and counted; a step
whose update would make a parameter non-finite is undone and counted the same
way.  After ``max_nonfinite`` such steps in a row the training stops with a
one-line message; checkpoints and ``model.pt`` only ever hold finite numbers.

A run is a pure function of its settings: the batch of step ``i`` is drawn
from ``numpy.random.default_rng([seed, i])``, the parameters are initialised
from the seed (after a random restart, ``restart_after``, from
:func:`restart_seed`), and a checkpoint holds everything else (parameters, optimiser
state, curriculum, the report being accumulated), so that a resumed run
continues exactly as the uninterrupted one.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from entm import interrupts, runs
from entm.baseline import checkpoint
from entm.baseline.model import build_model, count_parameters
from entm.baseline.sequences import run_model, sequence_task
from entm.baseline.settings import DEFAULT_STEPS, TrainSettings
from entm.errors import EntmError
from entm.progress import BudgetBar

@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    sequences: int
    seconds: float
    stopped: str
    """Why this session stopped: ``steps``, ``minutes``, ``solved`` (``stop_bit_errors``) or ``nonfinite``."""
    test: dict
    """Bit errors and score over ``test_sequences`` fresh sequences at the end of this session."""
    restarts: int = 0
    """Random restarts so far (``restart_after``)."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else as torch understands it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise EntmError(f"unknown device {name!r} (cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EntmError(f"device {name!r} asked for, but CUDA is not available here (torch {torch.__version__})")
    return dev


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sigmoid cross-entropy of the scored steps, summed per sequence, averaged over the batch."""
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    return (bce * mask).sum() / logits.shape[0]


def to_tensors(episodes, device, dtype=torch.float32):
    """(inputs, targets, mask) of an ``Episodes`` batch as tensors on ``device``."""
    return (torch.as_tensor(episodes.inputs, dtype=dtype).to(device),
            torch.as_tensor(episodes.targets, dtype=dtype).to(device),
            torch.as_tensor(episodes.mask, dtype=dtype).to(device))


def make_optimizer(settings: TrainSettings, params):
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr)
    return torch.optim.RMSprop(params, lr=settings.lr, alpha=0.95, momentum=0.9, centered=True, eps=1e-4)


def curriculum_task(task, param: str, value: int | None):
    """The task with ``param`` (a ``max_*`` parameter) lowered to ``value`` for the curriculum, its ``min_*``
    with it (``None``: the task itself); a curriculum stage (:meth:`Task.stage_task`), so inputs mean the same
    (repeat copy's repeats input stays R / the full task's count)."""
    if value is None or value >= getattr(task, param):
        return task
    low = _min_of(param)
    return task.stage_task({param: value, low: min(getattr(task, low), value)})


def _min_of(param: str) -> str | None:
    """The ``min_*`` parameter beside a ``max_*`` one (None for any other name)."""
    return "min_" + param[len("max_"):] if param.startswith("max_") else None


def _curriculum_start(settings, task) -> int | None:
    return min(settings.curriculum_start, getattr(task, settings.curriculum_param)) if settings.curriculum else None


def check_curriculum(settings, task) -> None:
    """A one-line EntmError unless the task has the curriculum's parameter and its ``min_*``."""
    if not settings.curriculum:
        return
    param, low = settings.curriculum_param, _min_of(settings.curriculum_param)
    if low is None or not hasattr(task, param) or not hasattr(task, low):
        have = sorted(f.name for f in fields(task) if _min_of(f.name) and hasattr(task, _min_of(f.name)))
        raise EntmError(f"--curriculum-param {param}: task {task.name!r} has no such max_*/min_* pair "
                        f"({'it has ' + ', '.join(have) if have else 'it has none: no curriculum for this task'})")


# ---------------------------------------------------------------------------
# Starting and resuming


def train(settings: TrainSettings, progress: bool = True, out=None) -> TrainResult:
    """Start a new training run in a new run directory."""
    out = sys.stderr if out is None else out
    task = sequence_task(settings.task, settings.task_params)
    check_curriculum(settings, task)
    device = resolve_device(settings.device)
    if settings.steps is None and settings.minutes is None:
        settings = replace(settings, steps=DEFAULT_STEPS)
    model = build_model(settings.architecture, task.num_inputs, task.num_outputs, settings.seed).to(device)
    label = settings.preset or f"{runs.task_label(task)}-{settings.architecture.model}"
    run_dir = Path(settings.run_dir or Path("runs") / f"{label}-seed{settings.seed}")
    runs.create_run_dir(run_dir)
    settings = replace(settings, run_dir=str(run_dir), task_params=task.params())
    record = settings.record()
    record.update(kind="training", model=settings.architecture.model, parameters=count_parameters(model),
                  memory="differentiable" if settings.architecture.model == "ntm" else "none",
                  network_inputs=task.num_inputs, network_outputs=task.num_outputs)
    with runs.run_lock(run_dir):
        runs.write_run_json(run_dir, record)
        return _start(settings, task, model, run_dir, progress, out)


def _start(settings: TrainSettings, task, model, run_dir: Path, progress: bool, out) -> TrainResult:
    state = {"step": 0, "sequences": 0, "seconds": 0.0, "cpu_seconds": 0.0, "metrics": 0, "nonfinite_total": 0,
             "curriculum_value": _curriculum_start(settings, task),
             "acc": _empty_acc()}
    optimizer = make_optimizer(settings, model.parameters())
    return _loop(settings, task, model, optimizer, state, run_dir, progress, out)


def resume(run_dir, steps: int | None = None, minutes: float | None = None, device: str | None = None,
           progress: bool = True, out=None) -> TrainResult:
    """Continue a training run from its newest valid checkpoint, exactly as if it had never stopped.

    ``minutes`` is this session's wall-time budget; a run without a step budget (started with
    ``minutes`` alone) resumed without ``steps`` or ``minutes`` gets its first session's ``minutes``."""
    run_dir = Path(run_dir)
    with runs.run_lock(run_dir):
        return _resume(run_dir, steps, minutes, device, progress, sys.stderr if out is None else out)


def _resume(run_dir: Path, steps, minutes, device, progress: bool, out) -> TrainResult:
    data = runs.read_run_json(run_dir)
    if data.get("kind") != "training":
        raise EntmError(f"{run_dir} is not a training run (run.json kind is {data.get('kind')!r})")
    try:
        settings = TrainSettings.from_record(data)
    except (TypeError, ValueError, EntmError) as e:  # an edited run.json: one line naming it, nothing written
        raise EntmError(f"{run_dir}/{runs.RUN_FILE}: {e}") from None
    if minutes is None and steps is None and settings.steps is None:
        minutes = settings.minutes  # the run's own time budget, for this session too
    overrides = {"minutes": minutes}
    if steps is not None:
        overrides["steps"] = steps
    if device is not None:
        overrides["device"] = device
    settings = replace(settings, **overrides)
    task = sequence_task(settings.task, settings.task_params)
    dev = resolve_device(settings.device)
    model = build_model(settings.architecture, task.num_inputs, task.num_outputs, settings.seed).to(dev)
    if not checkpoint.list_checkpoints(run_dir):
        # stopped before its first checkpoint: a run is a function of its settings, so it starts again at step 0
        _rewind(run_dir, 0)
        return _start(settings, task, model, run_dir, progress, out)
    restored = checkpoint.load_latest(run_dir, dev, fits=model)
    state = restored["state"]
    if "max_length" in state:  # a checkpoint from before the curriculum could raise other parameters
        state["curriculum_value"] = state.pop("max_length")
    if settings.steps is not None and state["step"] >= settings.steps:
        raise EntmError(f"nothing to resume in {run_dir}: it has run {state['step']} of {settings.steps} steps "
                        f"(raise --steps to go on)")
    if state.get("stopped") == "nonfinite":
        print(f"entm: warning: {run_dir} stopped on non-finite steps; resuming from its last finite state",
              file=out)
    model.load_state_dict(restored["model"])
    optimizer = make_optimizer(settings, model.parameters())
    try:
        optimizer.load_state_dict(restored["optimizer"])
    except (ValueError, KeyError, RuntimeError) as e:
        raise EntmError(f"{run_dir}: the checkpoint's optimiser state does not fit the run's "
                        f"{settings.optimizer} optimiser ({str(e).splitlines()[0]})") from None
    _rewind(run_dir, state["metrics"])
    return _loop(settings, task, model, optimizer, state, run_dir, progress, out)


def _rewind(run_dir: Path, lines: int) -> None:
    """metrics.jsonl cut to the checkpoint's reports."""
    p = run_dir / runs.METRICS_FILE
    have = p.read_text().splitlines(keepends=True) if p.exists() else []
    if len(have) < lines:
        raise EntmError(f"{p} has {len(have)} lines but the checkpoint expects {lines}")
    if len(have) != lines:
        runs.atomic_write(p, "".join(have[:lines]))


# ---------------------------------------------------------------------------
# The loop


def _empty_acc() -> dict:
    return {"loss": 0.0, "bit_errors": 0.0, "sequences": 0, "steps": 0, "skipped": 0}


def _all_finite(tensors) -> bool:
    norms = torch._foreach_norm(list(tensors))
    return bool(torch.isfinite(torch.stack(norms)).all())


def _loop(settings, task, model, optimizer, state, run_dir, progress, out) -> TrainResult:
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    if settings.compile and hasattr(model, "compile_step"):
        model.compile_step()
    t_start, c_start = time.perf_counter(), time.process_time()
    seconds0, cpu0 = state["seconds"], state.get("cpu_seconds", 0.0)
    bar = BudgetBar("steps", total=settings.steps, minutes=settings.minutes, initial=state["step"], out=out,
                    desc=f"train {settings.architecture.model}", disable=not progress)
    budget = float("inf") if settings.steps is None else settings.steps
    run_of_bad = state.get("nonfinite_run", 0)
    stopped = "steps"
    acc = state["acc"]
    try:
        while state["step"] < budget:
            step = state["step"]
            batch_task = curriculum_task(task, settings.curriculum_param, state["curriculum_value"])
            eps = _batch(settings, batch_task, np.random.default_rng([settings.seed, step]))
            x, y, mask = to_tensors(eps, device)
            logits = _forward(model, x, out)
            loss = sequence_loss(logits, y, mask)
            optimizer.zero_grad(set_to_none=False)
            ok = bool(torch.isfinite(loss))
            if ok:
                loss.backward()
                grads = [p.grad for p in params]
                if settings.clip == "norm":
                    ok = bool(torch.isfinite(torch.nn.utils.clip_grad_norm_(params, settings.clip_value)))
                else:
                    ok = _all_finite(grads)
                    if ok and settings.clip == "value":
                        torch._foreach_clamp_min_(grads, -settings.clip_value)
                        torch._foreach_clamp_max_(grads, settings.clip_value)
            if ok:
                if settings.lr_schedule:
                    for group in optimizer.param_groups:
                        group["lr"] = settings.lr_at(step)
                before = ([p.detach().clone() for p in params], copy.deepcopy(optimizer.state_dict()))
                optimizer.step()
                if not _all_finite(params):
                    ok = False
                    with torch.no_grad():
                        torch._foreach_copy_(params, before[0])
                    optimizer.load_state_dict(before[1])
            state["step"] = step + 1
            state["sequences"] += eps.batch
            acc["steps"] += 1
            if ok:
                run_of_bad = 0
                with torch.no_grad():
                    sc = task.score(eps, torch.sigmoid(logits).double().cpu().numpy())
                acc["loss"] += float(loss.detach()) * eps.batch
                acc["bit_errors"] += float(np.sum(sc.bit_errors))
                acc["sequences"] += eps.batch
            else:
                run_of_bad += 1
                state["nonfinite_total"] += 1
                acc["skipped"] += 1
            state["nonfinite_run"] = run_of_bad
            state["seconds"] = seconds0 + time.perf_counter() - t_start
            state["cpu_seconds"] = cpu0 + time.process_time() - c_start
            bar.advance(state["step"])
            interrupts.check()  # a Ctrl-C that landed where Python drops it (entm.interrupts)
            if acc["steps"] >= settings.report_every:
                rec = _report(settings, task, state, acc)
                if rec["loss"] is not None:
                    bar.set_postfix_str(f"loss={rec['loss']:.3g}, bits={rec['bit_errors']:.3g}"
                                        + (f", {settings.curriculum_param}={state['curriculum_value']}"
                                           if state["curriculum_value"] is not None else ""))
                acc = state["acc"] = _empty_acc()
                runs.append_metrics(run_dir, rec)
                state["metrics"] += 1
                if settings.stop_bit_errors is not None:
                    # only the full task's reports count: a curriculum stage's batches are easier
                    below = (rec["bit_errors"] is not None and rec["bit_errors"] < settings.stop_bit_errors
                             and settings.curriculum_param not in rec)
                    state["reports_below"] = state.get("reports_below", 0) + 1 if below else 0
                    if state["reports_below"] >= settings.stop_reports:
                        stopped = "solved"
                        break
                if _wants_restart(settings, state, rec):
                    _restart(settings, task, model, state)
                    optimizer = make_optimizer(settings, model.parameters())
            if run_of_bad >= settings.max_nonfinite:
                stopped = "nonfinite"
                break
            if state["step"] % settings.checkpoint_every == 0:
                _save(run_dir, settings, task, model, optimizer, state)
            if settings.minutes is not None and time.perf_counter() - t_start >= settings.minutes * 60:
                stopped = "minutes" if state["step"] < budget else "steps"
                break
    except KeyboardInterrupt:
        bar.close()
        # the step under way may be half applied: the checkpoints on disk (written whole) are what resumes
        done = checkpoint.list_checkpoints(run_dir)
        print(f"\ninterrupted: continue with: entm resume {run_dir} (from "
              f"{'step ' + str(int(done[-1].stem.split('-')[1])) if done else 'step 0: no checkpoint yet'})",
              file=out)
        raise
    finally:
        bar.close()
    if hasattr(model, "compile_step"):
        model.compile_step(False)  # evaluation batches have other sizes: no recompiling for them
    state["stopped"] = stopped
    state["acc"] = acc
    _save(run_dir, settings, task, model, optimizer, state)
    if acc["steps"]:
        # the steps since the last report get a last line; the checkpoint above was taken before it,
        # so a resumed run drops this line and reports these steps where the uninterrupted run does
        runs.append_metrics(run_dir, _report(settings, task, dict(state), acc))
    if stopped == "nonfinite":
        raise EntmError(f"training stopped at step {state['step']}: {run_of_bad} steps in a row had a non-finite "
                        f"loss or gradient ({state['nonfinite_total']} in all; lower --lr or clip harder); "
                        f"{run_dir} holds the last finite parameters")
    test = evaluate_fresh(model, task, settings.test_sequences, settings.seed)
    test.update(step=state["step"], sequences_seen=state["sequences"], seconds=round(state["seconds"], 3))
    runs.atomic_write(run_dir / TEST_FILE, json.dumps(test, indent=2) + "\n")
    return TrainResult(run_dir=run_dir, steps=state["step"], sequences=state["sequences"],
                       seconds=state["seconds"], stopped=stopped, test=test, restarts=state.get("restarts", 0))


def _forward(model, x, out):
    """The model's logits; a step that torch.compile cannot compile falls back to eager (with a warning)."""
    try:
        return model(x)
    except Exception as e:  # torch._dynamo / inductor errors (no C++ compiler, unsupported platform ...)
        if getattr(model, "_compiled_step", None) is None:
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        print(f"entm: warning: torch.compile failed ({type(e).__name__}: {first[:200]}); training eagerly",
              file=out)
        model.compile_step(False)
        return model(x)


def _batch(settings, task, rng):
    """One training batch: mixed lengths, or (``equal_lengths``) one length drawn for the whole batch."""
    if settings.equal_lengths and hasattr(task, "min_length") and hasattr(task, "max_length"):
        length = int(rng.integers(task.min_length, task.max_length + 1))
        return task.sample(rng, settings.batch_size, length=length)
    return task.sample(rng, settings.batch_size)


TEST_FILE = "test.json"
"""The test at the end of a session (bit errors over fresh training-distribution sequences)."""


def restart_seed(seed: int, restart: int) -> int:
    """The initial parameters' seed of a run's ``restart``-th random restart."""
    return int(np.random.SeedSequence([int(seed), int(restart)]).generate_state(1)[0])


def _wants_restart(settings, state, rec) -> bool:
    return (settings.restart_after is not None and rec["bit_errors"] is not None
            and rec["bit_errors"] >= settings.restart_bit_errors
            and state["sequences"] - state.get("started_at", 0) >= settings.restart_after)


def _restart(settings, task, model, state) -> None:
    """New initial parameters in place (the compiled step keeps its tensors); curriculum and stop count anew."""
    state["restarts"] = state.get("restarts", 0) + 1
    state["started_at"] = state["sequences"]
    state["reports_below"] = 0
    state["curriculum_value"] = _curriculum_start(settings, task)
    fresh = build_model(settings.architecture, task.num_inputs, task.num_outputs,
                        restart_seed(settings.seed, state["restarts"]))
    with torch.no_grad():
        model.load_state_dict(fresh.state_dict())


def _report(settings, task, state, acc) -> dict:
    n = max(acc["sequences"], 1)
    rec = {"step": state["step"], "sequences": state["sequences"],
           "loss": acc["loss"] / n if acc["sequences"] else None,
           "bit_errors": acc["bit_errors"] / n if acc["sequences"] else None,
           "seconds": round(state["seconds"], 3), "cpu_seconds": round(state["cpu_seconds"], 3),
           "skipped": acc["skipped"],
           "nonfinite_total": state["nonfinite_total"]}
    if state.get("restarts"):
        rec["restarts"] = state["restarts"]
    if settings.lr_schedule:
        rec["lr"] = settings.lr_at(state["step"] - 1)
    value, full = state["curriculum_value"], getattr(task, settings.curriculum_param, None)
    if value is not None:
        rec[settings.curriculum_param] = value
        if acc["sequences"] and rec["bit_errors"] < settings.curriculum_threshold:
            value = min(full, value + settings.curriculum_step)
            state["curriculum_value"] = None if value >= full else value
    return rec


def _save(run_dir, settings, task, model, optimizer, state) -> None:
    """A checkpoint and model.pt, both from finite parameters only."""
    if not _all_finite(list(model.state_dict().values())):  # the guard above makes this unreachable
        raise RuntimeError("refusing to checkpoint non-finite parameters")
    checkpoint.write(run_dir, state["step"], model, optimizer, state)
    checkpoint.write_model(run_dir, settings, task, model, state)


def evaluate_fresh(model, task, sequences: int, seed: int, batch: int = 100) -> dict:
    """Mean bit errors, score and fraction perfect over ``sequences`` fresh sequences of the training
    distribution, drawn from ``default_rng([seed, 2**32 + 1])`` (never a training batch)."""
    rng = np.random.default_rng([int(seed), 2**32 + 1])
    errors, score, perfect = [], [], []
    left = sequences
    while left > 0:
        eps = task.sample(rng, min(batch, left))
        sc = task.score(eps, run_model(model, eps.inputs))
        errors.append(sc.bit_errors)
        score.append(sc.score)
        perfect.append(sc.perfect)
        left -= eps.batch
    return {"sequences": int(sequences), "bit_errors": float(np.mean(np.concatenate(errors))),
            "score": float(np.mean(np.concatenate(score))), "perfect": float(np.mean(np.concatenate(perfect)))}
