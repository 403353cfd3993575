"""The head parameter layout: which network outputs drive a head, per memory mode.

Network outputs = task outputs ++ for each head its parameters, in this order
(docs/design.md, "Network input/output layout"; saved champions depend on it):

- discrete (the ENTM tape): write vector a (M), write interpolation w, content
  jump j, shift left, shift stay, shift right: M + 5 outputs;
- differentiable (the NTM memory): key k (M), key strength beta, interpolation
  g, shift left, stay, right, sharpening gamma, erase e (M), add a (M): 3M + 6.

:class:`HeadLayout` is the one place this is written down.  The tape, the soft
memory, the compiled tape kernel, the hyper encoding's substrate and the plots'
labels all ask it for sizes, columns and names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from entm.errors import EntmError


@dataclass(frozen=True)
class HeadParam:
    """One parameter of a head."""

    name: str
    """Identifier (``a``, ``w``, ``shift_left``, ``beta`` ...)."""
    vector: bool
    """True: M values, one per memory column; False: one value."""
    label: str
    """Short label for plots (vectors get the column index appended)."""
    kind: str
    """The hyper encoding's substrate kind of head ``{h}`` (saved in hyper champions' metadata)."""


_SHIFTS = (HeadParam("shift_left", False, "shift L", "shift{h}.left"),
           HeadParam("shift_stay", False, "shift S", "shift{h}.stay"),
           HeadParam("shift_right", False, "shift R", "shift{h}.right"))

PARAMS = {
    "discrete": (HeadParam("a", True, "a", "write{h}"),
                 HeadParam("w", False, "w", "write{h}.w"),
                 HeadParam("j", False, "j", "jump{h}"),
                 *_SHIFTS),
    "differentiable": (HeadParam("k", True, "k", "key{h}"),
                       HeadParam("beta", False, "β", "beta{h}"),
                       HeadParam("g", False, "g", "gate{h}"),
                       *(HeadParam(p.name, False, p.label.replace("shift", "s"), p.kind) for p in _SHIFTS),
                       HeadParam("gamma", False, "γ", "gamma{h}"),
                       HeadParam("e", True, "e", "erase{h}"),
                       HeadParam("a", True, "a", "add{h}")),
}
"""Each mode's head parameters, in output order."""

MODES = tuple(PARAMS)

#: the parameters whose columns each mode's compiled kernel reads, in its argument order
KERNEL_COLUMNS = {"discrete": ("a", "w", "j", "shift"),
                  "differentiable": ("k", "beta", "g", "shift", "gamma", "e", "a")}


class HeadLayout:
    """One head's parameters for a memory mode and width M: names, columns, sizes and labels."""

    def __init__(self, mode: str, width: int):
        if mode not in PARAMS:
            raise EntmError(f"unknown memory mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode
        self.width = int(width)
        self.params = PARAMS[mode]
        self.slices: dict[str, slice] = {}
        col = 0
        for p in self.params:
            n = self.width if p.vector else 1
            self.slices[p.name] = slice(col, col + n)
            col += n
        self.size = col
        """Network outputs per head."""
        self.shift = slice(self.slices["shift_left"].start, self.slices["shift_right"].stop)
        """The three shift weights (left, stay, right), contiguous."""

    def column(self, name: str) -> int:
        """The column of a scalar parameter (or the first column of a vector) within the head."""
        return self.slices[name].start

    def split(self, x):
        """One head's outputs ``x`` (..., size) as ``{name: x[..., columns]}``: vectors (..., M), scalars (...)."""
        out = {}
        for p in self.params:
            sl = self.slices[p.name]
            out[p.name] = x[..., sl] if p.vector else x[..., sl.start]
        return out

    def labels(self) -> list[str]:
        """Per-output labels in output order (``a0 .. a{M-1}``, ``w`` ...)."""
        out = []
        for p in self.params:
            out += [f"{p.label}{i}" for i in range(self.width)] if p.vector else [p.label]
        return out

    def kernel_columns(self) -> tuple[int, ...]:
        """The compiled memory kernels' columns within a head: (a, w, j, shift left) for the tape
        (:mod:`entm.phenotype.tape_kernel`), (k, beta, g, shift left, gamma, e, a) for the
        differentiable memory (:mod:`entm.phenotype.soft_kernel`)."""
        names = KERNEL_COLUMNS[self.mode]
        return tuple(self.shift.start if n == "shift" else self.column(n) for n in names)

    def __repr__(self) -> str:
        return f"HeadLayout({self.mode!r}, width={self.width}, size={self.size})"


@lru_cache(maxsize=256)
def head_layout(mode: str, width: int) -> HeadLayout:
    """The (shared, immutable) layout of one head of ``mode`` with width ``width``."""
    return HeadLayout(mode, width)
