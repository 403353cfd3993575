"""Differentiable (soft) memory of the Neural Turing Machine.

Source: Graves, Wayne & Danihelka, "Neural Turing Machines", arXiv 1410.5401
(2014), section 3.  Equation numbers below refer to that paper:

- read (eq. 2): ``r = sum_i w_i M_i``;
- write (eq. 3-4): erase ``M_i <- M_i (1 - w_i e)``, then add ``M_i <- M_i + w_i a``;
- content addressing (eq. 5-6): ``w^c_i = softmax_i(beta K(k, M_i))`` with the
  cosine similarity ``K``;
- interpolation (eq. 7): ``w^g = g w^c + (1 - g) w_prev``;
- convolutional shift (eq. 8): ``w~_i = sum_j w^g_j s_{i-j}`` (indices mod N)
  over the three shifts (-1, 0, +1);
- sharpening (eq. 9): ``w_i = w~_i^gamma / sum_j w~_j^gamma``.

The module has two layers:

1. Pure torch functions (:func:`content_weighting`, :func:`address`,
   :func:`read`, :func:`write`).  They never modify their inputs, allocate
   nothing on a fixed device (everything follows the inputs' device and dtype),
   are vectorised over any leading batch dimensions and are differentiable by
   autograd.  They are the single implementation of the memory math, shared by
   evolution and by the gradient-trained NTM baseline.
2. :class:`SoftMemory`, the batched memory used during evolution.  It maps the
   controller's raw [0, 1] outputs into the parameters' domains
   (:func:`map_head_outputs`), runs the functions above under ``torch.no_grad``
   and exposes the same interface as the discrete tape (``reset``,
   ``initial_reads``, ``step``) with an explicit, immutable :class:`SoftState`.

Memory is initialised to a small constant (1e-6), which Collier & Beel,
"Implementing Neural Turing Machines" (ICANN 2018), found to converge fastest;
every head's first weighting is one-hot on cell 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from entm.memory.layout import head_layout

__all__ = [
    "AUTO",
    "DEFAULT_CELLS",
    "SHIFT_EPSILON",
    "SoftMemory",
    "SoftParams",
    "SoftState",
    "address",
    "check_cells",
    "content_weighting",
    "episode_cells",
    "map_head_outputs",
    "read",
    "write",
]


# ---------------------------------------------------------------------------
# 1. The memory math, as pure torch functions
# ---------------------------------------------------------------------------


def content_weighting(
    memory: torch.Tensor, k: torch.Tensor, beta: torch.Tensor, eps: float = 1e-8, cells: torch.Tensor | None = None
) -> torch.Tensor:
    """Content-based weighting (eq. 5-6).

    ``w^c_i = exp(beta K(k, M_i)) / sum_j exp(beta K(k, M_j))`` with the cosine
    similarity (eq. 6) ``K(u, v) = u.v / (||u|| ||v||)``.

    ``eps`` sits inside both norms, ``||u|| = sqrt(sum u^2 + eps)``, so a zero
    key or a zero memory row gives a similarity of 0 (hence no NaN) and finite
    gradients (the square root is never taken at 0).

    ``cells`` (...) int: each memory's own number of cells n <= N (per-episode
    memory size): the softmax runs over cells [0, n) and the rest get weight 0.

    Shapes: ``memory`` (..., N, M), ``k`` (..., M), ``beta`` (...) -> (..., N).
    """
    dot = torch.matmul(memory, k.unsqueeze(-1)).squeeze(-1)  # (..., N)
    memory_norm = torch.sqrt(torch.einsum("...nm,...nm->...n", memory, memory) + eps)  # (..., N)
    key_norm = torch.sqrt((k * k).sum(-1, keepdim=True) + eps)  # (..., 1)
    cosine = dot / (memory_norm * key_norm)
    z = beta.unsqueeze(-1) * cosine
    if cells is not None:
        z = z.masked_fill(~_valid(cells, z.shape[-1]), -torch.inf)
    return torch.softmax(z, dim=-1)


def _valid(cells: torch.Tensor, n: int) -> torch.Tensor:
    """(..., n) bool: cell i is one of each memory's own ``cells`` (...)."""
    return torch.arange(n, device=cells.device) < cells.unsqueeze(-1)


def _interpolate(w_content: torch.Tensor, w_prev: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Interpolation gate (eq. 7): ``w^g = g w^c + (1 - g) w_prev``."""
    g = g.unsqueeze(-1)
    return g * w_content + (1 - g) * w_prev


def _shift(w: torch.Tensor, s: torch.Tensor, cells: torch.Tensor | None = None) -> torch.Tensor:
    """Circular convolution with a 3-tap shift distribution (eq. 8).

    ``s`` (..., 3) is ordered (left, stay, right); "left" moves the focus to the
    lower index:
    ``w~_i = s_left w[i+1] + s_stay w[i] + s_right w[i-1]`` (indices mod N).
    With ``cells`` (...) the indices wrap around each memory's own n cells (mod n)
    and the cells past n stay at 0.
    """
    if cells is None:
        from_above = torch.roll(w, shifts=-1, dims=-1)  # [i] = w[i+1]
        from_below = torch.roll(w, shifts=1, dims=-1)  # [i] = w[i-1]
        return s[..., 0:1] * from_above + s[..., 1:2] * w + s[..., 2:3] * from_below
    n = cells.unsqueeze(-1)
    i = torch.arange(w.shape[-1], device=w.device).expand(w.shape)
    from_above = torch.gather(w, -1, (i + 1) % n)
    from_below = torch.gather(w, -1, (i - 1 + n) % n)
    shifted = s[..., 0:1] * from_above + s[..., 1:2] * w + s[..., 2:3] * from_below
    return torch.where(i < n, shifted, torch.zeros_like(shifted))


def _sharpen(w: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Sharpening (eq. 9): ``w_i = w~_i^gamma / sum_j w~_j^gamma``, computed stably.

    The weights are first divided by their maximum (which cancels in the ratio),
    so the largest term is exactly 1: ``w~^gamma`` can neither underflow to an
    all-zero sum nor overflow, whatever ``gamma`` is.  Zero weights are fine for
    ``gamma >= 1``: ``0^gamma = 0`` and torch's ``pow`` gives finite gradients
    there (w.r.t. the base: ``gamma 0^(gamma-1)``; w.r.t. the exponent: 0).  The
    maximum and the sum are floored at the dtype's smallest normal number so
    that an all-zero weighting (not a valid weighting, but possible with a
    zero shift distribution) gives zeros rather than NaN.
    """
    tiny = torch.finfo(w.dtype).tiny
    peak = w.amax(dim=-1, keepdim=True).clamp_min(tiny)
    powered = (w / peak).pow(gamma.unsqueeze(-1))
    return powered / powered.sum(-1, keepdim=True).clamp_min(tiny)


def address(
    memory: torch.Tensor,
    w_prev: torch.Tensor,
    k: torch.Tensor,
    beta: torch.Tensor,
    g: torch.Tensor,
    s: torch.Tensor,
    gamma: torch.Tensor,
    cells: torch.Tensor | None = None,
) -> torch.Tensor:
    """The full NTM addressing mechanism (eq. 5-9), returning the new weighting.

    1. content weighting ``w^c = softmax(beta K(k, M_i))`` (eq. 5-6, see
       :func:`content_weighting`);
    2. interpolation ``w^g = g w^c + (1 - g) w_prev`` (eq. 7);
    3. circular shift ``w~_i = s_left w^g[i+1] + s_stay w^g[i] + s_right w^g[i-1]``
       (eq. 8; indices mod N; "left" moves the focus to the lower index);
    4. sharpening ``w_i = w~_i^gamma / sum_j w~_j^gamma`` (eq. 9), computed
       stably (see :func:`_sharpen`).

    Shapes: ``memory`` (B, N, M), ``w_prev`` (B, N), ``k`` (B, M), ``beta`` (B,),
    ``g`` (B,), ``s`` (B, 3), ``gamma`` (B,) -> (B, N).  Any number of leading
    batch dimensions works the same way.  ``beta >= 0``, ``g`` in [0, 1], ``s``
    a distribution and ``gamma >= 1`` are expected, not checked.

    ``cells`` (B,) int, optional: each memory's own number of cells n <= N (the
    per-episode memory size, docs/memory.md): addressing then runs over cells
    [0, n) of each row, as if the row had n cells; ``w_prev`` must be 0 past n.
    """
    w_content = content_weighting(memory, k, beta, cells=cells)
    w_gated = _interpolate(w_content, w_prev, g)
    w_shifted = _shift(w_gated, s, cells)
    return _sharpen(w_shifted, gamma)


def read(memory: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Read vector (eq. 2): ``r = sum_i w_i M_i``.

    Shapes: ``memory`` (..., N, M), ``w`` (..., N) -> (..., M).
    """
    return torch.matmul(w.unsqueeze(-2), memory).squeeze(-2)


def write(memory: torch.Tensor, w: torch.Tensor, e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Erase then add (eq. 3-4); returns a new memory tensor.

    ``M_i <- M_i (1 - w_i e) + w_i a``, elementwise over the M columns.

    Shapes: ``memory`` (..., N, M), ``w`` (..., N), ``e`` and ``a`` (..., M)
    -> (..., N, M).  The input memory is left untouched.
    """
    w = w.unsqueeze(-1)  # (..., N, 1)
    return torch.addcmul(memory * (1 - w * e.unsqueeze(-2)), w, a.unsqueeze(-2))


# ---------------------------------------------------------------------------
# 2. Head interface: raw controller outputs -> head parameters
# ---------------------------------------------------------------------------


SHIFT_EPSILON = 1e-8
"""Added to each raw shift output before normalising, so that three zero
outputs give the uniform shift distribution instead of 0/0."""


def map_head_outputs(
    x: np.ndarray | torch.Tensor,
    width: int,
    beta_max: float = 20.0,
    gamma_max: float = 10.0,
) -> dict:
    """Map one head's raw controller outputs, in [0, 1], to its parameters.

    ``x`` has shape (..., 3M + 6) (typically (B, 3M + 6)) in the differentiable
    :class:`entm.memory.layout.HeadLayout`.  With ``M = width``:

    ========  ===============  ===============================================
    name      columns          mapping
    ========  ===============  ===============================================
    ``k``     ``[0, M)``       ``x`` (key, in [0, 1]^M)
    ``beta``  ``M``            ``beta_max * x`` (key strength, in [0, beta_max])
    ``g``     ``M + 1``        ``x`` (interpolation gate, in [0, 1])
    ``s``     ``M + 2..M + 4`` ``(x + eps) / sum(x + eps)`` over (left, stay,
                               right), ``eps = SHIFT_EPSILON``; three zeros give
                               the uniform distribution
    ``gamma`` ``M + 5``        ``1 + gamma_max * x`` (in [1, 1 + gamma_max])
    ``e``     ``[M+6, 2M+6)``  ``x`` (erase vector, in [0, 1]^M)
    ``a``     ``[2M+6, 3M+6)`` ``x`` (add vector, in [0, 1]^M)
    ========  ===============  ===============================================

    Returns a dict of the same kind as ``x``: numpy arrays for a numpy input,
    torch tensors (same device and dtype) for a torch input.  Shapes: ``k``,
    ``e``, ``a`` (..., M); ``s`` (..., 3); ``beta``, ``g``, ``gamma`` (...).
    """
    layout = head_layout("differentiable", width)
    size = layout.size
    is_numpy = not isinstance(x, torch.Tensor)
    t = torch.as_tensor(np.asarray(x, dtype=np.float64)) if is_numpy else x
    if t.shape[-1] != size:
        raise ValueError(
            f"head outputs have {t.shape[-1]} columns, expected 3*width+6 = {size} for width {width}"
        )
    raw = layout.split(t)
    shift = t[..., layout.shift] + SHIFT_EPSILON
    out = {
        "k": raw["k"],
        "beta": beta_max * raw["beta"],
        "g": raw["g"],
        "s": shift / shift.sum(-1, keepdim=True),
        "gamma": 1 + gamma_max * raw["gamma"],
        "e": raw["e"],
        "a": raw["a"],
    }
    if is_numpy:
        out = {name: value.numpy() for name, value in out.items()}
    return out


# ---------------------------------------------------------------------------
# 3. Batched memory for evolution
# ---------------------------------------------------------------------------


AUTO = "auto"
"""``cells = "auto"``: each episode's memory has as many cells as the episode has steps."""

DEFAULT_CELLS = 128
"""N of an ``auto`` memory whose episode length is not known when it starts (the reward tasks'
closed loop), and the fixed N of runs made before ``auto`` (their run.json records it)."""


def check_cells(cells) -> int | str:
    """A ``cells`` setting: a positive integer (fixed N) or ``"auto"``; else ValueError."""
    if cells == AUTO:
        return AUTO
    if isinstance(cells, bool) or not isinstance(cells, (int, np.integer)) or cells < 1:
        raise ValueError(f"cells={cells!r} must be a positive integer or 'auto'")
    return int(cells)


def episode_cells(cells, steps) -> np.ndarray:
    """(B,) int64: each episode's N for episodes of ``steps`` (B,) steps: the fixed N, or for
    ``auto`` the episode's steps (at least 1): as many cells as its steps can write, so that the
    heads never wrap around onto a cell written earlier in the episode by moving."""
    steps = np.asarray(steps, dtype=np.int64)
    if check_cells(cells) == AUTO:
        return np.maximum(steps, 1)
    return np.full(steps.shape, int(cells), dtype=np.int64)


@dataclass(frozen=True)
class SoftParams:
    """Settings of the differentiable memory."""

    cells: int | str = AUTO
    """N, the number of memory cells (rows); addressing wraps around them.  ``"auto"``: each
    episode's N is its number of steps (:func:`episode_cells`)."""
    width: int = 8
    """M, the length of each cell (and of each read vector)."""
    init_value: float = 1e-6
    """Every memory entry starts at this constant (Collier & Beel 2018)."""
    beta_max: float = 20.0
    """Key strength ``beta = beta_max * x`` for a raw output x in [0, 1]."""
    gamma_max: float = 10.0
    """Sharpening ``gamma = 1 + gamma_max * x`` for a raw output x in [0, 1]."""

    def __post_init__(self):
        check_cells(self.cells)
        if int(self.width) != self.width or self.width < 1:
            raise ValueError(f"width={self.width!r} must be a positive integer")
        if not np.isfinite(self.init_value):
            raise ValueError(f"init_value={self.init_value!r} must be finite")
        if not (np.isfinite(self.beta_max) and self.beta_max >= 0):
            raise ValueError(f"beta_max={self.beta_max!r} must be finite and >= 0")
        if not (np.isfinite(self.gamma_max) and self.gamma_max >= 0):
            raise ValueError(f"gamma_max={self.gamma_max!r} must be finite and >= 0")


@dataclass(frozen=True)
class SoftState:
    """State of a batch of soft memories; :meth:`SoftMemory.step` returns a new one.

    ``memory`` (B, N, M) and ``weights`` (B, heads, N) are torch tensors; ``cells``
    (B,) int64, when the rows' memories have different sizes, each row's own n <= N
    (its cells past n are unused), else None (every row has N cells).  When
    ``record`` is set, ``trace`` holds one dict per step taken so far (see
    :meth:`SoftMemory.step`); otherwise it stays empty.
    """

    memory: torch.Tensor
    weights: torch.Tensor
    record: bool = False
    trace: tuple = ()
    cells: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.memory.shape[0]


class SoftMemory:
    """A batch of NTM memories driven by raw [0, 1] controller outputs.

    Per step and per head, in head order (mirroring the discrete tape):
    write with the head's current weighting (eq. 3-4), address (eq. 5-9, which
    moves the weighting), then read with the new weighting (eq. 2).  A later
    head therefore sees the writes of the earlier heads of the same step.
    """

    mode = "differentiable"

    def __init__(
        self,
        params: SoftParams,
        heads: int = 1,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ):
        if int(heads) != heads or heads < 1:
            raise ValueError(f"heads={heads!r} must be a positive integer")
        self.params = params
        self.heads = int(heads)
        self.width = int(params.width)
        self.cells = check_cells(params.cells)
        """The fixed N, or ``"auto"`` (each episode's N is its steps: :meth:`episode_cells`)."""
        self.layout = head_layout("differentiable", self.width)
        self.head_param_size = self.layout.size
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    def episode_cells(self, steps) -> np.ndarray:
        """(B,) each episode's N for episodes of ``steps`` (B,) steps (:func:`episode_cells`)."""
        return episode_cells(self.cells, steps)

    def reset(self, batch: int, record: bool = False, cells=None) -> SoftState:
        """A fresh state for ``batch`` memories: every entry ``init_value``,
        every head's weighting one-hot on cell 0.  ``cells`` (batch,): each row's N
        (see :meth:`episode_cells`); by default the fixed N, or :data:`DEFAULT_CELLS`
        for an ``auto`` memory."""
        if int(batch) != batch or batch < 1:
            raise ValueError(f"batch={batch!r} must be a positive integer")
        if cells is None:
            cells = np.full(batch, DEFAULT_CELLS if self.cells == AUTO else self.cells, dtype=np.int64)
        cells = np.asarray(cells, dtype=np.int64)
        if cells.shape != (batch,) or cells.min() < 1:
            raise ValueError(f"cells must give a positive N for each of the {batch} rows")
        n = int(cells.max())
        opts = {"dtype": self.dtype, "device": self.device}
        memory = torch.full((batch, n, self.width), self.params.init_value, **opts)
        weights = torch.zeros((batch, self.heads, n), **opts)
        weights[:, :, 0] = 1
        rows = None if cells.min() == n else torch.as_tensor(cells, device=self.device)
        return SoftState(memory=memory, weights=weights, record=bool(record), cells=rows)

    def initial_reads(self, state: SoftState) -> np.ndarray:
        """(B, heads*M) float64: each head's read of the memory with its weighting."""
        with torch.no_grad():
            reads = read(state.memory.unsqueeze(1), state.weights)  # (B, H, M)
        return self._to_numpy(reads.reshape(state.batch, -1))

    def focus(self, state: SoftState) -> np.ndarray:
        """(B, heads) the cell each head's weighting peaks on (first maximum)."""
        return self._to_numpy(state.weights).argmax(axis=2)

    def write_strength(self, state: SoftState, head_outputs: np.ndarray) -> np.ndarray:
        """(B, heads) the peak of each head's current (write) weighting."""
        return self._to_numpy(state.weights).max(axis=2)

    def step(self, state: SoftState, head_outputs: np.ndarray) -> tuple[SoftState, np.ndarray]:
        """One time step for every memory of the batch.

        ``head_outputs`` (B, heads*(3M+6)): raw [0, 1] outputs, heads
        concatenated in order, each laid out as in :attr:`layout` and
        mapped by :func:`map_head_outputs`.  Returns the new state and the read
        vectors (B, heads*M) as float64 numpy.

        When recording, the new state's trace gains one dict of numpy arrays:
        ``memory`` (B, N, M) after this step's writes, ``weights`` (B, heads, N)
        after addressing, ``reads`` (B, heads*M), ``erase`` and ``add``
        (B, heads, M).
        """
        batch = state.batch
        expected = (batch, self.heads * self.head_param_size)
        x = torch.as_tensor(head_outputs)
        if tuple(x.shape) != expected:
            raise ValueError(
                f"head_outputs has shape {tuple(x.shape)}, expected {expected} "
                f"(batch, heads*(3*width+6))"
            )
        x = x.to(device=self.device, dtype=self.dtype)
        p = self.params
        memory = state.memory
        weights, reads, erases, adds = [], [], [], []
        with torch.no_grad():
            for h in range(self.heads):
                chunk = x[:, h * self.head_param_size : (h + 1) * self.head_param_size]
                hp = map_head_outputs(chunk, self.width, p.beta_max, p.gamma_max)
                memory = write(memory, state.weights[:, h], hp["e"], hp["a"])
                w = address(memory, state.weights[:, h], hp["k"], hp["beta"], hp["g"], hp["s"], hp["gamma"],
                            state.cells)
                weights.append(w)
                reads.append(read(memory, w))
                erases.append(hp["e"])
                adds.append(hp["a"])
            new_weights = torch.stack(weights, dim=1)
            read_vectors = torch.cat(reads, dim=-1)
        reads_np = self._to_numpy(read_vectors)
        trace = state.trace
        if state.record:
            entry = {
                "memory": self._to_numpy(memory),
                "weights": self._to_numpy(new_weights),
                "reads": reads_np.copy(),
                "erase": self._to_numpy(torch.stack(erases, dim=1)),
                "add": self._to_numpy(torch.stack(adds, dim=1)),
            }
            trace = trace + (entry,)
        new_state = SoftState(memory=memory, weights=new_weights, record=state.record, trace=trace,
                              cells=state.cells)
        return new_state, reads_np

    @staticmethod
    def _to_numpy(t: torch.Tensor) -> np.ndarray:
        """A float64 numpy copy, owning its data (never a view of the state)."""
        return np.array(t.detach().cpu().numpy(), dtype=np.float64, copy=True)
