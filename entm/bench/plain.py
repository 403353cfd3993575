"""The plain way: neat-python's own ``activate``, one sample and one step at a time,
with a straightforward list-based ENTM tape.

This is the baseline that ``entm bench`` measures entm's batched evaluation
against, and an independent reference implementation of the discrete tape
(docs/design.md, "Discrete tape") for the tests.  It is deliberately simple: no
numpy, no batching.
"""

from __future__ import annotations


class PlainTape:
    """One ENTM tape with one head, as plain Python lists."""

    def __init__(self, width: int, write_mode: str = "interpolate", min_jump_similarity=None,
                 max_cells=None, blank: float = 0.0, expand_location: bool = False,
                 did_write_threshold: float = 0.9):
        self.width = width
        self.expand_location = expand_location
        self.did_write_threshold = did_write_threshold
        self.write_mode = write_mode
        self.min_jump_similarity = min_jump_similarity
        self.max_cells = max_cells
        self.blank = blank
        self.cells = [[blank] * width]
        self.head = 0

    def initial_read(self):
        """The read vector before the first step: the blank cell."""
        return list(self.cells[0])

    def step(self, params):
        """``params``: a (M), w, j, left, stay, right as a list; returns the read vector."""
        M = self.width
        a, w, j, shift = params[:M], params[M], params[M + 1], params[M + 2:M + 5]
        cell = self.cells[self.head]
        if self.write_mode == "interpolate":
            self.cells[self.head] = [w * a[k] + (1.0 - w) * cell[k] for k in range(M)]
        elif w >= 0.5:
            self.cells[self.head] = list(a)
        if self.expand_location and self.head == len(self.cells) - 1 and not self._full():
            new = self.cells[self.head]
            if 1.0 - sum(abs(new[k] - cell[k]) for k in range(M)) / M <= self.did_write_threshold:
                self.cells.append([self.blank] * M)  # the expand location: the last cell stays blank
        if j >= 0.5:
            best, best_i = None, 0
            for i, c in enumerate(self.cells):
                s = 1.0 - sum(abs(a[k] - c[k]) for k in range(M)) / M
                if best is None or s > best:
                    best, best_i = s, i
            if self.min_jump_similarity is not None and best < self.min_jump_similarity:
                best_i = len(self.cells) - 1
            self.head = best_i
        offset = max(range(3), key=lambda i: (shift[i], -i)) - 1
        target = self.head + offset
        full = self._full()
        if target < 0:
            if full:
                target = 0
            else:
                self.cells.insert(0, [self.blank] * M)
                target = 0
        elif target >= len(self.cells):
            if full:
                target = len(self.cells) - 1
            else:
                self.cells.append([self.blank] * M)
        self.head = target
        return list(self.cells[self.head])

    def _full(self) -> bool:
        return self.max_cells is not None and len(self.cells) >= self.max_cells


def run_plain(net, inputs, memory, num_task_outputs: int, steps: int | None = None):
    """Run a neat-python network (``activate``) with a plain memory on one episode.

    ``inputs``: a list of per-step task input lists; ``memory``: a fresh
    :class:`PlainTape` or :class:`PlainSoftMemory`.  Returns the task outputs per step.
    """
    read = memory.initial_read()
    outs = []
    for t, x in enumerate(inputs):
        if steps is not None and t >= steps:
            break
        y = net.activate(list(x) + read)
        outs.append(y[:num_task_outputs])
        read = memory.step(y[num_task_outputs:])
    return outs


class PlainSoftMemory:
    """One NTM memory with one head, the straightforward way (numpy, one episode).

    Same order as the evolved machine: write with the current weighting, address,
    then read (Graves et al. 2014, eq. 2-9), parameters mapped from [0, 1] as in
    :func:`entm.memory.soft.map_head_outputs`.
    """

    def __init__(self, width: int, cells: int = 128, init_value: float = 1e-6, beta_max: float = 20.0,
                 gamma_max: float = 10.0):
        import numpy as np

        self.np = np
        self.M, self.N = width, cells
        self.beta_max, self.gamma_max = beta_max, gamma_max
        self.memory = np.full((cells, width), init_value)
        self.w = np.zeros(cells)
        self.w[0] = 1.0

    def initial_read(self):
        """The read vector before the first step: the initial memory read with the initial weighting."""
        return (self.w @ self.memory).tolist()

    def step(self, params):
        np = self.np
        M = self.M
        x = np.asarray(params, dtype=float)
        k, beta, g = x[:M], self.beta_max * x[M], x[M + 1]
        s = x[M + 2:M + 5] + 1e-8
        s = s / s.sum()
        gamma = 1.0 + self.gamma_max * x[M + 5]
        e, a = x[M + 6:2 * M + 6], x[2 * M + 6:3 * M + 6]
        self.memory = self.memory * (1.0 - np.outer(self.w, e)) + np.outer(self.w, a)
        eps = 1e-8
        cos = self.memory @ k / (np.sqrt((self.memory ** 2).sum(1) + eps) * np.sqrt((k ** 2).sum() + eps))
        z = beta * cos
        wc = np.exp(z - z.max())
        wc /= wc.sum()
        wg = g * wc + (1.0 - g) * self.w
        ws = s[0] * np.roll(wg, -1) + s[1] * wg + s[2] * np.roll(wg, 1)
        ws = ws / max(ws.max(), 1e-300)
        wp = ws ** gamma
        self.w = wp / max(wp.sum(), 1e-300)
        return (self.w @ self.memory).tolist()
