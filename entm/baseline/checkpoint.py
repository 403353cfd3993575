"""Checkpoints and ``model.pt`` of a training run.

``checkpoints/step-<NNNNNNNN>.pt`` holds the model's and the optimiser's
state and the loop's state (step, sequences seen, seconds, curriculum, the
report being accumulated); the newest ``keep`` are kept.  ``model.pt`` holds
the trained model with everything needed to rebuild it: its architecture, the
task and its parameters, the step and sequences seen.  Both are written
atomically (``entm.runs.atomic_write``) and read with ``torch.load(...,
weights_only=True)``: plain tensors and Python values, no code is unpickled.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict
from pathlib import Path

import torch

from entm import runs
from entm.errors import EntmError

FORMAT = "entm-training-checkpoint/1"
MODEL_FORMAT = "entm-model/1"
MODEL_FILE = "model.pt"
NAME = re.compile(r"^step-(\d{8,})\.pt$")


def _bytes(payload: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def _cpu(state_dict: dict) -> dict:
    return {k: v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v for k, v in state_dict.items()}


def _optimizer_cpu(sd: dict) -> dict:
    return {"state": {k: _cpu(v) for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}


def write(run_dir, step: int, model, optimizer, state: dict, keep: int = 3) -> Path:
    """``checkpoints/step-<step>.pt``, atomically; the newest ``keep`` are kept."""
    d = Path(run_dir) / runs.CHECKPOINT_DIR
    d.mkdir(exist_ok=True)
    path = d / f"step-{step:08d}.pt"
    payload = {"format": FORMAT, "state": state, "model": _cpu(model.state_dict()),
               "optimizer": _optimizer_cpu(optimizer.state_dict())}
    runs.atomic_write(path, _bytes(payload))
    runs.drop_old_checkpoints(run_dir, NAME, keep)
    return path


def list_checkpoints(run_dir) -> list[Path]:
    """Checkpoint files, oldest first."""
    return runs.list_checkpoints(run_dir, NAME)


def load_latest(run_dir, device, warn=None, fits=None) -> dict:
    """The newest readable checkpoint (tensors on ``device``); corrupted ones, and with ``fits`` (the run's
    model) ones of another architecture (parameter names or shapes differ), are skipped with a warning."""
    def read(path):
        payload = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("not an entm training checkpoint")
        if fits is not None:
            _check_fits(payload.get("model"), fits.state_dict())
        return payload

    return runs.read_newest_checkpoint(run_dir, NAME, read, warn)[1]


def _check_fits(saved, wanted: dict) -> None:
    """ForeignCheckpoint unless ``saved`` holds exactly ``wanted``'s parameters with their shapes."""
    if not isinstance(saved, dict) or set(saved) != set(wanted):
        extra = sorted(set(saved or {}) ^ set(wanted))
        raise runs.ForeignCheckpoint(f"of another architecture (parameters differ: {', '.join(extra[:3])}...)")
    for k, v in wanted.items():
        if not isinstance(saved[k], torch.Tensor) or tuple(saved[k].shape) != tuple(v.shape):
            got = tuple(saved[k].shape) if isinstance(saved[k], torch.Tensor) else type(saved[k]).__name__
            raise runs.ForeignCheckpoint(f"of another architecture ({k} is {got}, the run's model has {tuple(v.shape)})")


def write_model(run_dir, settings, task, model, state: dict) -> Path:
    """``model.pt``: the parameters and what rebuilds the model (architecture, task, sizes)."""
    path = Path(run_dir) / MODEL_FILE
    payload = {"format": MODEL_FORMAT, "architecture": asdict(settings.architecture), "task": task.name,
               "task_params": task.params(), "num_inputs": task.num_inputs, "num_outputs": task.num_outputs,
               "seed": settings.seed, "step": state["step"], "sequences": state["sequences"],
               "seconds": state["seconds"], "state_dict": _cpu(model.state_dict())}
    runs.atomic_write(path, _bytes(payload))
    return path


def read_model(path, device="cpu") -> dict:
    """The payload of a ``model.pt`` (EntmError when it is not one)."""
    p = Path(path)
    if not p.is_file():
        raise EntmError(f"no such model file: {p}")
    try:
        payload = torch.load(p, map_location=device, weights_only=True)
    except Exception as e:
        raise EntmError(f"{p} is not a readable model file ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise EntmError(f"{p} is not an entm model file (format {MODEL_FORMAT} expected)")
    return payload
