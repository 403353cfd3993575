"""Settings of the trained baselines: the architecture and the training run.

Plain dataclasses without torch, so that the command line can show their
defaults without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from entm.errors import EntmError
from entm.runs import check_seed

MODELS = ("ntm", "lstm")
CONTROLLERS = ("lstm", "feedforward")
MEMORY_INITS = ("constant", "learned", "random")


@dataclass(frozen=True)
class ModelSettings:
    """The architecture of a trained baseline (saved in ``run.json`` and ``model.pt``)."""

    model: str = "ntm"
    """``ntm`` (controller + memory) or ``lstm`` (a plain multi-layer LSTM)."""
    controller: str = "lstm"
    """NTM controller: ``lstm`` or ``feedforward`` (one tanh layer)."""
    hidden_size: int | None = None
    """Units per controller layer (NTM, default 100) or per LSTM layer (LSTM, default 256)."""
    layers: int | None = None
    """Controller layers (NTM, default 1) or LSTM layers (LSTM, default 3; Graves et al.'s baseline)."""
    cells: int = 128
    """N, memory cells (NTM)."""
    width: int = 20
    """M, the width of a memory cell (NTM)."""
    read_heads: int = 1
    """R, read heads (NTM)."""
    write_heads: int = 1
    """W, write heads (NTM)."""
    memory_init: str = "constant"
    """``constant`` (every entry ``init_value``), ``learned`` (a trained N x M matrix) or ``random``
    (a fixed matrix drawn uniformly in [0, init_scale) from the model seed, saved with the model)."""
    init_value: float = 1e-6
    """The constant of ``memory_init="constant"``."""
    init_scale: float = 0.1
    """Scale of ``memory_init`` ``random`` and ``learned`` (the learned matrix starts drawn like random)."""

    def __post_init__(self):
        if self.model not in MODELS:
            raise EntmError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.controller not in CONTROLLERS:
            raise EntmError(f"unknown controller {self.controller!r}; expected one of {', '.join(CONTROLLERS)}")
        if self.memory_init not in MEMORY_INITS:
            raise EntmError(f"unknown memory init {self.memory_init!r}; expected one of {', '.join(MEMORY_INITS)}")
        for name in ("cells", "width", "read_heads", "write_heads"):
            _positive(name, getattr(self, name))
        for name in ("hidden_size", "layers"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if not math.isfinite(self.init_value) or not math.isfinite(self.init_scale) or self.init_scale < 0:
            raise EntmError("init_value and init_scale must be finite (init_scale >= 0)")

    def resolved(self) -> "ModelSettings":
        """The same settings with ``hidden_size`` and ``layers`` filled in from the model's defaults."""
        hidden = self.hidden_size or (100 if self.model == "ntm" else 256)
        layers = self.layers or (1 if self.model == "ntm" else 3)
        return ModelSettings(**{**asdict(self), "hidden_size": hidden, "layers": layers})

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSettings":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise EntmError(f"unknown model setting {unknown[0]!r}")
        return cls(**data)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EntmError(f"{name} must be a positive integer, got {value!r}")


def _positive_number(flag, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise EntmError(f"{flag} must be a positive number, got {value!r}")


def _check_schedule(schedule) -> list:
    """``lr_schedule`` as a list of [step, lr] pairs, or a one-line error naming what is wrong."""
    if not isinstance(schedule, (list, tuple)):
        raise EntmError(f"--lr-schedule must be STEP:LR pairs, got {schedule!r}")
    out, last = [], 0
    for pair in schedule:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise EntmError(f"--lr-schedule: {pair!r} is not a STEP:LR pair")
        step, lr = pair
        _positive("--lr-schedule's step", step)
        _positive_number("--lr-schedule's rate", lr)
        if step <= last:
            raise EntmError(f"--lr-schedule's steps must increase, got {step} after {last}")
        out.append([step, float(lr)])
        last = step
    return out


def parse_schedule(text: str) -> list:
    """``"20000:1e-4,30000:3e-5"`` -> ``[[20000, 1e-4], [30000, 3e-5]]`` (checked by TrainSettings)."""
    out = []
    for part in text.split(","):
        step, _, lr = part.strip().partition(":")
        try:  # no colon leaves lr empty, which float() refuses
            out.append([int(step), float(lr)])
        except ValueError:
            raise EntmError(f"--lr-schedule: {part.strip()!r} is not STEP:LR (e.g. 20000:1e-4)") from None
    return out


DEFAULT_STEPS = 100_000
"""The step budget of a training run given neither ``steps`` nor ``minutes``."""

OPTIMIZERS = {"rmsprop": 1e-4, "adam": 3e-3}
"""Optimiser name -> default learning rate."""
CLIPS = {"value": 10.0, "norm": 50.0, "none": None}
"""Clipping -> default bound: elementwise ±10 (Graves 2014), global norm 50 (Collier & Beel 2018)."""


@dataclass
class TrainSettings:
    """Everything a training run depends on (written to ``run.json``)."""

    task: str = "copy"
    """Registered sequence task."""
    task_params: dict = field(default_factory=dict)
    """Task parameters (the task's defaults for the rest)."""
    architecture: ModelSettings = field(default_factory=ModelSettings)
    """The model: NTM (controller, memory, heads) or plain LSTM."""
    batch_size: int = 16
    """Sequences per update."""
    steps: int | None = None
    """Update budget (total, counted from 0).  None: ``DEFAULT_STEPS`` (100000) for a run without
    ``minutes``; with ``minutes`` alone no step budget (the time is the budget).  With both, the run
    stops at whichever runs out first."""
    minutes: float | None = None
    """Wall-time budget of this session: stop after the step that runs out of it (resumable)."""
    optimizer: str = "adam"
    """``adam`` or ``rmsprop`` (Graves')."""
    lr: float | None = None
    """Learning rate (default: 3e-3 for Adam, Graves' 1e-4 for RMSProp).  Adam's usual 1e-3 learns copy
    too, but several times more slowly in the runs measured (docs/baselines.md, "Training")."""
    lr_schedule: list = field(default_factory=list)
    """Learning-rate steps: ``[[step, lr], ...]``, steps increasing; from update ``step`` on the rate is ``lr``
    (before the first step: ``lr``).  [] keeps ``lr`` throughout.  A function of the update count alone, so a
    resumed run follows it as the uninterrupted one does."""
    clip: str = "norm"
    """``norm`` (the global gradient norm to clip_value), ``value`` (every gradient element to
    ±clip_value) or ``none``."""
    clip_value: float | None = None
    """Bound of the clipping (default: 50 for ``norm``, 10 for ``value``)."""
    equal_lengths: bool = True
    """Every episode of a batch has the same length, drawn per batch uniformly in [min_length, max_length]
    (the same lengths overall, without padding: about half the compute on copy 1-20); tasks without
    min_length/max_length get mixed batches."""
    curriculum: bool = False
    """Curriculum: start the task's ``curriculum_param`` at ``curriculum_start`` and raise it."""
    curriculum_param: str = "max_length"
    """The task parameter the curriculum raises: ``max_length`` (a length curriculum) or another ``max_*``
    parameter with a ``min_*`` beside it (repeat copy's ``max_repeats``); its ``min_*`` follows it down."""
    curriculum_start: int = 5
    """The curriculum's first value of ``curriculum_param``."""
    curriculum_step: int = 5
    """How much ``curriculum_param`` grows each time."""
    curriculum_threshold: float = 0.5
    """A report with fewer bit errors per sequence than this raises ``curriculum_param``."""
    compile: bool = True
    """Run the NTM's time step through ``torch.compile`` (about 3x faster on CPU; falls back to eager
    with a warning where it cannot compile)."""
    seed: int = 0
    """Run seed: initial parameters and every batch."""
    device: str = "cpu"
    """``cpu``, ``cuda``, ``cuda:1`` ... (``auto``: cuda when available)."""
    report_every: int = 50
    """Steps per line of ``metrics.jsonl`` (and per curriculum decision)."""
    checkpoint_every: int = 500
    """Steps between checkpoints (also written when the run ends)."""
    stop_bit_errors: float | None = None
    """Stop as solved once ``stop_reports`` reports in a row have fewer wrong bits per sequence than this (the
    training batches' mean; None: never).  Training runs on after a solution otherwise, and a fast learning rate
    can unlearn it (docs/baselines.md)."""
    stop_reports: int = 3
    """Consecutive reports below ``stop_bit_errors`` that stop the run."""
    restart_after: int | None = None
    """Random restarts: a report at least this many sequences after the last start whose training batches
    still average ``restart_bit_errors`` wrong bits per sequence or more starts the model again from new
    initial parameters (seeded by the run's seed and the restart's number) with a new optimiser; the batches
    go on where they were.  None: never."""
    restart_bit_errors: float = 10.0
    """Wrong bits per sequence at or above which ``restart_after`` starts again."""
    max_nonfinite: int = 20
    """Non-finite steps in a row that stop the training."""
    test_sequences: int = 1000
    """Fresh sequences (training distribution) scored when the run ends."""
    run_dir: str | None = None
    """Run directory (default ``runs/<task>-<model>-seed<S>``, ``runs/<preset>-seed<S>`` for a preset run)."""
    preset: str | None = None
    """The training preset the settings came from (``entm train --preset``; :mod:`entm.baseline.presets`),
    recorded for the record: every setting it gave is in these fields."""

    def __post_init__(self):
        if isinstance(self.architecture, dict):
            self.architecture = ModelSettings.from_dict(self.architecture)
        self.architecture = self.architecture.resolved()
        if self.optimizer not in OPTIMIZERS:
            raise EntmError(f"unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        if self.lr is None:
            self.lr = OPTIMIZERS[self.optimizer]
        _positive_number("--lr", self.lr)
        self.lr_schedule = _check_schedule(self.lr_schedule)
        if self.clip not in CLIPS:
            raise EntmError(f"unknown clip {self.clip!r}; expected one of {', '.join(CLIPS)}")
        if self.clip == "none" or self.clip_value is None:
            self.clip_value = CLIPS[self.clip]
        elif not (isinstance(self.clip_value, (int, float)) and math.isfinite(self.clip_value)
                  and self.clip_value > 0):
            raise EntmError(f"--clip-value must be positive, got {self.clip_value!r}")
        check_seed(self.seed)
        if self.preset is not None:
            from entm.baseline.presets import train_preset

            train_preset(self.preset)
        if self.run_dir is not None and not str(self.run_dir).strip():
            raise EntmError("--run-dir is empty; give a directory, or leave it out for the default name")
        if self.stop_bit_errors is not None:
            _positive_number("--stop-bit-errors", self.stop_bit_errors)
        _positive_number("--restart-bit-errors", self.restart_bit_errors)
        _positive_number("--curriculum-threshold", self.curriculum_threshold)
        if not isinstance(self.curriculum_param, str) or not self.curriculum_param.strip():
            raise EntmError(f"--curriculum-param must name a task parameter, got {self.curriculum_param!r}")
        if self.restart_after is not None:
            _positive("--restart-after", self.restart_after)
        for name in ("batch_size", "report_every", "checkpoint_every", "max_nonfinite", "stop_reports",
                     "curriculum_start", "curriculum_step", "test_sequences"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise EntmError(f"{name.replace('_', '-')} must be a positive integer, got {v!r}")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int)
                                       or self.steps < 1):
            raise EntmError(f"steps must be a positive integer, got {self.steps!r}")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise EntmError(f"--minutes must be positive, got {self.minutes!r}")

    def lr_at(self, step: int) -> float:
        """The learning rate of update ``step`` (counted from 0)."""
        lr = self.lr
        for start, value in self.lr_schedule:
            if step < start:
                break
            lr = value
        return lr

    def record(self) -> dict:
        """The JSON-ready settings (``run.json``)."""
        d = asdict(self)
        d["architecture"] = asdict(self.architecture)
        return d

    @classmethod
    def from_record(cls, data: dict) -> "TrainSettings":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


