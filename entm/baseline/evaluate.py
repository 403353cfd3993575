"""Trained runs, loaded and evaluated like evolved champions.

:func:`load_trained` rebuilds a run's model from its ``model.pt``;
:func:`evaluate_lengths` scores it at several sequence lengths and returns
exactly the shape of :func:`entm.champion.evaluate_lengths` (the same episodes
for the same seed), so that ``entm evaluate --json`` and ``entm compare`` put
trained and evolved runs side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from entm import runs
from entm.baseline.checkpoint import MODEL_FILE, read_model
from entm.baseline.model import ModelSettings, build_model, count_parameters
from entm.baseline.sequences import run_model, sequence_task
from entm.champion import evaluate_lengths as evaluate_network
from entm.errors import EntmError


@dataclass
class Trained:
    """A trained model with its task, as loaded from a run directory."""

    path: Path
    """The ``model.pt`` it came from."""
    model: torch.nn.Module
    task: object
    architecture: ModelSettings
    info: dict
    """model.pt's metadata (step, sequences, seconds, seed ...), without the parameters."""

    @property
    def parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def memory(self) -> str:
        """``differentiable`` for the NTM, ``none`` for the plain LSTM (the memory column)."""
        return "differentiable" if self.architecture.model == "ntm" else "none"


def load_trained(path, device="cpu", task_overrides: dict | None = None) -> Trained:
    """The model of a training run directory (or of a ``model.pt`` file)."""
    p = Path(path)
    if p.is_dir():
        if not (p / MODEL_FILE).is_file():
            raise EntmError(f"training run {p} has no {MODEL_FILE} yet (has it reached its first checkpoint?)")
        p = p / MODEL_FILE
    payload = read_model(p, device)
    try:
        arch = ModelSettings.from_dict(payload["architecture"])
        task = sequence_task(payload["task"], {**payload["task_params"], **(task_overrides or {})})
        if (task.num_inputs, task.num_outputs) != (payload["num_inputs"], payload["num_outputs"]):
            changed = " (the task parameters changed from the model's change its inputs or outputs)" \
                if task_overrides else ""
            raise EntmError(f"task {task.name} has {task.num_inputs} inputs and {task.num_outputs} outputs, "
                            f"the model {payload['num_inputs']} and {payload['num_outputs']}{changed}")
        model = build_model(arch, payload["num_inputs"], payload["num_outputs"], payload.get("seed", 0))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, RuntimeError) as e:
        raise EntmError(f"{p}: not a consistent entm model ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    model.to(device).eval()
    info = {k: v for k, v in payload.items() if k != "state_dict"}
    return Trained(path=p, model=model, task=task, architecture=arch, info=info)


def is_training_run(path) -> bool:
    """Whether ``path`` is a run directory whose run.json says ``kind: training``."""
    p = Path(path)
    if not (p.is_dir() and (p / runs.RUN_FILE).is_file()):
        return False
    return runs.read_run_json(p).get("kind") == "training"


@dataclass
class _Run:
    outputs: np.ndarray


class ModelRunner:
    """A trained model in the place of :class:`entm.machine.Machine` (``task`` and ``run``), so that
    :func:`entm.champion.evaluate_lengths` scores it exactly as it scores an evolved champion."""

    def __init__(self, trained: Trained):
        self.task = trained.task

    def run(self, model, inputs):
        return _Run(outputs=run_model(model, inputs))


def evaluate_lengths(trained: Trained, lengths, episodes: int = 20, seed: int = 0, progress=None) -> dict:
    """``{"<L>": {score, perfect, bit_errors, episodes}}``: :func:`entm.champion.evaluate_lengths`
    itself, on the same episodes as for an evolved champion."""
    return evaluate_network(ModelRunner(trained), trained.model, lengths, episodes=episodes, seed=seed,
                            progress=progress)
