"""External memories, one interface for both modes.

``discrete``: the ENTM tape (:mod:`entm.memory.tape`).
``differentiable``: the NTM memory of Graves et al. 2014 (:mod:`entm.memory.soft`).

Both present the same interface, with explicit state::

    state = memory.reset(batch, record=False)
    reads = memory.initial_reads(state)               # (B, heads*M)
    state, reads = memory.step(state, head_outputs)   # head_outputs (B, heads*P) in [0, 1]
    memory.focus(state)                               # (B, heads) integer focus
    memory.width, memory.heads, memory.head_param_size
    memory.layout                                     # HeadLayout: one head's parameters (entm.memory.layout)

``MEMORIES`` is the registry (a plain dict) from mode name to a builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entm.errors import EntmError
from entm.memory.tape import TapeMemory, TapeParams

MODES = ("discrete", "differentiable")

#: The options each mode accepts in ``memory_params`` besides ``width``.
MODE_OPTIONS = {
    "discrete": ("write_mode", "min_jump_similarity", "max_cells", "blank", "expand_location", "did_write_threshold"),
    "differentiable": ("cells", "init_value", "beta_max", "gamma_max"),
}


@dataclass(frozen=True)
class MemorySpec:
    """Which memory a machine uses (``metadata.entm.memory``/``memory_params``/``heads``)."""

    mode: str
    """``discrete`` or ``differentiable``."""
    width: int
    """M: values per cell (the read vector width)."""
    heads: int = 1
    """Number of combined read/write heads."""
    options: dict = field(default_factory=dict)
    """Mode options (see MODE_OPTIONS); for ``differentiable``, ``cells`` is a fixed N or ``"auto"``
    (the default: each episode's N is its number of steps; docs/memory.md)."""

    def __post_init__(self):
        if self.mode not in MODES:
            raise EntmError(f"unknown memory mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if not isinstance(self.width, int) or self.width < 1:
            raise EntmError(f"memory width must be a positive integer, got {self.width!r}")
        if not isinstance(self.heads, int) or self.heads < 1:
            raise EntmError(f"number of heads must be a positive integer, got {self.heads!r}")
        unknown = sorted(set(self.options) - set(MODE_OPTIONS[self.mode]))
        if unknown:
            raise EntmError(f"{self.mode} memory has no option {unknown[0]!r}; its options are "
                            f"{', '.join(MODE_OPTIONS[self.mode])}")
        cells = self.options.get("cells", "auto")
        if cells != "auto" and (isinstance(cells, bool) or not isinstance(cells, int) or cells < 1):
            raise EntmError(f"memory cells must be a positive integer or 'auto', got {cells!r}")

    def params(self) -> dict:
        """``metadata.entm.memory_params``: width, plus cells for the differentiable mode, plus options."""
        p = {"width": self.width}
        if self.mode == "differentiable":
            cells = self.options.get("cells", "auto")
            p["cells"] = cells
        p.update({k: v for k, v in self.options.items() if k not in p})
        return p

    @classmethod
    def from_metadata(cls, mode: str, memory_params: dict, heads: int = 1) -> "MemorySpec":
        if not isinstance(memory_params, dict) or "width" not in memory_params:
            raise EntmError("memory_params must be an object with at least 'width'")
        opts = {k: v for k, v in memory_params.items() if k != "width"}
        return cls(mode=mode, width=memory_params["width"], heads=heads, options=opts)


def _discrete(spec: MemorySpec):
    return TapeMemory(TapeParams(width=spec.width, **spec.options), heads=spec.heads)


def _differentiable(spec: MemorySpec):
    from entm.memory.soft import SoftMemory, SoftParams  # imports torch: only for the differentiable memory

    try:
        params = SoftParams(width=spec.width, **spec.options)
    except (TypeError, ValueError) as e:
        raise EntmError(f"differentiable memory: {e}") from None
    return SoftMemory(params, heads=spec.heads)


MEMORIES = {"discrete": _discrete, "differentiable": _differentiable}


def make_memory(spec: MemorySpec):
    """Build the memory a spec describes."""
    return MEMORIES[spec.mode](spec)
