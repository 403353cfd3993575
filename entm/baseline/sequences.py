"""Sequence tasks as the trained baselines see them: the task check and batched inference.

Both :mod:`entm.baseline.train` (the end-of-session test) and :mod:`entm.baseline.evaluate`
(loading and scoring trained runs) build on these, so they live below both.
"""

from __future__ import annotations

import numpy as np
import torch

from entm.errors import EntmError
from entm.tasks import SequenceTask, make_task


def sequence_task(name: str, params: dict | None = None):
    """A registered task that gives inputs, targets and masks (EntmError otherwise)."""
    task = make_task(name, params)
    if not isinstance(task, SequenceTask):
        raise EntmError(f"task {name!r} is a {task.kind_name} task; trained baselines need a sequence task "
                        f"(inputs, targets and a mask)")
    return task


@torch.no_grad()
def run_model(model, inputs: np.ndarray, batch: int = 200, record: bool = False):
    """The model's sigmoid outputs (B, T, O) float64 for numpy ``inputs`` (B, T, I), in batches;
    with ``record`` also the NTM's trace (numpy arrays, see :class:`entm.baseline.model.NTM`)."""
    p = next(model.parameters())
    outs, traces = [], []
    for i in range(0, inputs.shape[0], batch):
        x = torch.as_tensor(inputs[i:i + batch], dtype=p.dtype, device=p.device)
        res = model(x, record=record)
        logits, trace = res if record else (res, None)
        outs.append(torch.sigmoid(logits).double().cpu().numpy())
        if record:
            traces.append({k: v.double().cpu().numpy() for k, v in trace.items()})
    y = np.concatenate(outs, axis=0)
    if not record:
        return y
    return y, {k: np.concatenate([t[k] for t in traces], axis=0) for k in traces[0]}
