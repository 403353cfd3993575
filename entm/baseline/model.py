"""The gradient-trained baselines: the NTM of Graves et al. (2014) and a plain LSTM.

Source: Graves, Wayne & Danihelka, "Neural Turing Machines", arXiv 1410.5401
(2014), section 3 (the memory, its heads and their addressing) and section 4
(the controllers: LSTM or feedforward; the LSTM baseline).  The addressing,
read and write math is :mod:`entm.memory.soft`, the same functions that the
evolved machines use.

Per time step the NTM

1. runs its controller on the task input and the previous step's read vectors;
2. maps the controller's output to every head's parameters with the usual
   activations (section 3.3.2 and Graves' later practice): key ``k = tanh``,
   key strength ``beta = softplus``, gate ``g = sigmoid``, shift ``s = softmax``
   over (left, stay, right), sharpening ``gamma = 1 + softplus``, erase
   ``e = sigmoid`` and add ``a = tanh`` (write heads only);
3. addresses every head on the memory as it is at the start of the step
   (eq. 5-9), writes with the write heads' weightings (eq. 3-4, in head order),
   then reads with the read heads' weightings from the written memory (eq. 2);
4. emits ``output = W [controller output; reads]`` (logits; the task's outputs
   are their sigmoids).

The memory starts at a small constant (1e-6, Collier & Beel 2018 found it
converges fastest; "learned" and "random" are options), the initial read
vectors are learned and so is the initial weighting (a softmax over cells,
starting close to one-hot on cell 0).

Nothing is allocated on a fixed device: parameters live wherever the module is
moved, every tensor made in ``forward`` follows the input's device and dtype.
Parameters are initialised from an explicit seed (a private ``torch.Generator``);
the global torch RNG is never touched.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from entm.baseline.settings import ModelSettings
from entm.errors import EntmError
from entm.memory.soft import address, read, write

def build_model(settings: ModelSettings, num_inputs: int, num_outputs: int, seed: int = 0) -> nn.Module:
    """The model named by ``settings`` for a task with these input and output sizes."""
    s = settings.resolved()
    # torch's layers draw their default initialisation from the global RNG; every parameter is then
    # redrawn from the seed, and the global RNG is put back as it was
    with torch.random.fork_rng(devices=[]):
        if s.model == "ntm":
            return NTM(s, num_inputs, num_outputs, seed)
        return LSTMBaseline(s, num_inputs, num_outputs, seed)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (the size column of ``entm compare``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _init_uniform(module: nn.Module, gen: torch.Generator) -> None:
    """Every parameter uniform in ±1/sqrt(fan_in) (torch's LSTM and linear default), drawn from ``gen``."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            fan_in = p.shape[-1] if p.dim() > 1 else p.shape[0]
            bound = 1.0 / math.sqrt(fan_in)
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 2 * bound - bound)


class Controller(nn.Module):
    """The NTM's controller: stacked LSTM cells, or one feedforward tanh layer (section 4)."""

    def __init__(self, kind: str, num_inputs: int, hidden: int, layers: int):
        super().__init__()
        self.kind = kind
        self.hidden = hidden
        self.layers = layers
        if kind == "lstm":
            self.cells = nn.ModuleList(nn.LSTMCell(num_inputs if i == 0 else hidden, hidden) for i in range(layers))
        else:
            self.linears = nn.ModuleList(nn.Linear(num_inputs if i == 0 else hidden, hidden) for i in range(layers))

    def initial_state(self, batch: int, like: torch.Tensor):
        if self.kind != "lstm":
            return ()
        z = like.new_zeros(batch, self.hidden)
        return tuple((z, z) for _ in range(self.layers))

    def forward(self, x, state):
        if self.kind == "lstm":
            new = []
            for cell, (h, c) in zip(self.cells, state):
                h, c = cell(x, (h, c))
                new.append((h, c))
                x = h
            return x, tuple(new)
        for lin in self.linears:
            x = torch.tanh(lin(x))
        return x, state


class NTM(nn.Module):
    """A Neural Turing Machine (Graves et al. 2014) with R read and W write heads.

    ``forward(inputs)`` takes (B, T, I) and returns the output logits (B, T, O);
    with ``record=True`` it also returns a dict of per-step tensors: ``read_weights``
    (B, T, R, N), ``write_weights`` (B, T, W, N), ``reads`` (B, T, R*M),
    ``memory`` (B, T, N, M) after each step's writes.
    """

    def __init__(self, settings: ModelSettings, num_inputs: int, num_outputs: int, seed: int = 0):
        super().__init__()
        s = settings.resolved()
        if s.model != "ntm":
            raise EntmError(f"NTM built with model={s.model!r}")
        self.settings = s
        self.num_inputs, self.num_outputs = int(num_inputs), int(num_outputs)
        R, W, N, M = s.read_heads, s.write_heads, s.cells, s.width
        self.R, self.W, self.N, self.M = R, W, N, M
        self.controller = Controller(s.controller, num_inputs + R * M, s.hidden_size, s.layers)
        # per head: k (M), beta, g, s (3), gamma; write heads add e (M), a (M)
        self.addr_size = M + 6
        self.heads = nn.Linear(s.hidden_size, (R + W) * self.addr_size + W * 2 * M)
        self.output = nn.Linear(s.hidden_size + R * M, num_outputs)
        self.initial_reads = nn.Parameter(torch.zeros(R, M))
        self.initial_weight_logits = nn.Parameter(torch.zeros(R + W, N))
        gen = torch.Generator().manual_seed(int(seed))
        _init_uniform(self, gen)
        with torch.no_grad():
            self.initial_reads.copy_((torch.rand(R, M, generator=gen) * 2 - 1) * 0.1)
            logits = torch.zeros(R + W, N)
            logits[:, 0] = 10.0  # softmax: about 0.994 on cell 0
            self.initial_weight_logits.copy_(logits)
        drawn = torch.rand(N, M, generator=gen) * s.init_scale
        if s.memory_init == "learned":
            self.memory_bias = nn.Parameter(drawn)
        elif s.memory_init == "random":
            self.register_buffer("memory_bias", drawn)
        else:
            self.register_buffer("memory_bias", torch.full((N, M), float(s.init_value)))

    def step(self, x, reads, state, memory, weights):
        """One time step (see the module docstring): returns the controller output, the new read
        vectors (B, R*M), controller state, memory (B, N, M) and weightings (B, R+W, N)."""
        B = x.shape[0]
        R, W, M, A = self.R, self.W, self.M, self.addr_size
        h, state = self.controller(torch.cat([x, reads], dim=-1), state)
        p = self.heads(h)
        addr = p[:, : (R + W) * A].reshape(B, R + W, A)
        k = torch.tanh(addr[..., :M])
        beta = F.softplus(addr[..., M])
        g = torch.sigmoid(addr[..., M + 1])
        shift = torch.softmax(addr[..., M + 2 : M + 5], dim=-1)
        gamma = 1 + F.softplus(addr[..., M + 5])
        weights = address(memory.unsqueeze(1), weights, k, beta, g, shift, gamma)  # (B, R+W, N)
        ea = p[:, (R + W) * A :].reshape(B, W, 2 * M)
        erase = torch.sigmoid(ea[..., :M])
        add = torch.tanh(ea[..., M:])
        for i in range(W):
            memory = write(memory, weights[:, R + i], erase[:, i], add[:, i])
        reads = read(memory.unsqueeze(1), weights[:, :R]).reshape(B, R * M)
        return h, reads, state, memory, weights

    def forward(self, inputs: torch.Tensor, record: bool = False):
        B, T, _ = inputs.shape
        R, W, M = self.R, self.W, self.M
        memory = self.memory_bias.to(inputs.dtype).expand(B, self.N, M)
        weights = torch.softmax(self.initial_weight_logits, dim=-1).to(inputs.dtype).expand(B, R + W, self.N)
        reads = self.initial_reads.reshape(1, R * M).expand(B, R * M)
        state = self.controller.initial_state(B, inputs)
        step = self._compiled_step or self.step
        # (T, B, I) in standard strides (even for B = 1, which .contiguous() leaves alone): every step's
        # input then has the same strides whatever T is, and a compiled step is not recompiled per length
        steps = inputs.transpose(0, 1).clone(memory_format=torch.contiguous_format)
        hs, rs = [], []
        trace = {"read_weights": [], "write_weights": [], "memory": []} if record else None
        for t in range(T):
            h, reads, state, memory, weights = step(steps[t], reads, state, memory, weights)
            hs.append(h)
            rs.append(reads)
            if record:
                trace["read_weights"].append(weights[:, :R])
                trace["write_weights"].append(weights[:, R:])
                trace["memory"].append(memory)
        hs = torch.stack(hs, dim=1)
        rs = torch.stack(rs, dim=1)
        logits = self.output(torch.cat([hs, rs], dim=-1))
        if not record:
            return logits
        out = {name: torch.stack(v, dim=1) for name, v in trace.items()}
        out["reads"] = rs
        return logits, out

    _compiled_step = None

    def compile_step(self, on: bool = True) -> None:
        """Run :meth:`step` through ``torch.compile`` (fuses the step's many small ops: about 3x less CPU
        time per training step on copy; compiles on first use, once per batch size); ``on=False``: eager."""
        self._compiled_step = torch.compile(self.step, dynamic=False) if on else None


class LSTMBaseline(nn.Module):
    """A plain multi-layer LSTM with a linear output layer (logits), Graves et al.'s baseline."""

    def __init__(self, settings: ModelSettings, num_inputs: int, num_outputs: int, seed: int = 0):
        super().__init__()
        s = settings.resolved()
        self.settings = s
        self.num_inputs, self.num_outputs = int(num_inputs), int(num_outputs)
        self.lstm = nn.LSTM(num_inputs, s.hidden_size, num_layers=s.layers, batch_first=True)
        self.output = nn.Linear(s.hidden_size, num_outputs)
        _init_uniform(self, torch.Generator().manual_seed(int(seed)))

    def forward(self, inputs: torch.Tensor, record: bool = False):
        h, _ = self.lstm(inputs)
        logits = self.output(h)
        return (logits, {}) if record else logits
