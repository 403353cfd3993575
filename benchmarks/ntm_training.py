"""Training throughput of the NTM on the copy task, against a plain per-sample loop, in the same run.

Configuration of Graves et al. (2014) and of the popular PyTorch NTM: LSTM
controller of 100 units, memory 128 x 20, one read and one write head, 8-bit
vectors, sequence lengths 1-20.  Measured: training sequences per second (forward,
backward and an Adam step) of

- ``entm``: :class:`entm.baseline.model.NTM` at batch 1 and batch 32, eager and
  with its step compiled (``torch.compile``, the ``entm train`` default), on
  equal-length batches as ``entm train`` draws them;
- ``plain``: the same model (the same parameters, copied) written the plain
  way: one sequence at a time (vectorised over the memory's cells), the heads
  one after the other, the 3-tap shift as a Python loop over the offsets; the
  gradients of a batch accumulated over its sequences.  Before timing, both give the same loss on the same batch.

The ratio is entm's sequences per second over plain's, both measured here.

    python benchmarks/ntm_training.py [--seconds 20] [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.nn import functional as F

from entm.baseline.model import build_model
from entm.baseline.settings import ModelSettings
from entm.baseline.train import sequence_loss, to_tensors
from entm.tasks import make_task

TASK = {"vector_size": 8, "min_length": 1, "max_length": 20}


class PlainNTM:
    """The NTM of entm.baseline.model, one sequence at a time, written without batching."""

    def __init__(self, ntm):
        self.m = ntm

    def _address(self, memory, w_prev, k, beta, g, s, gamma):
        sim = (memory @ k) / (torch.sqrt((memory * memory).sum(1) + 1e-8) * torch.sqrt(k @ k + 1e-8))
        wc = torch.softmax(beta * sim, dim=0)
        wg = g * wc + (1 - g) * w_prev
        shifted = torch.zeros_like(wg)
        for offset, weight in zip((-1, 0, 1), s):  # left moves the focus to the lower index
            shifted = shifted + weight * torch.roll(wg, shifts=offset, dims=0)
        w = (shifted / shifted.max()) ** gamma
        return w / w.sum()

    def forward(self, x):
        """x (T, I) -> logits (T, O)."""
        m = self.m
        R, W, M, A = m.R, m.W, m.M, m.addr_size
        memory = m.memory_bias
        weights = list(torch.softmax(m.initial_weight_logits, dim=-1))
        reads = list(m.initial_reads)
        hc = [(torch.zeros(1, c.hidden_size), torch.zeros(1, c.hidden_size)) for c in m.controller.cells]
        outs = []
        for t in range(x.shape[0]):
            inp = torch.cat([x[t]] + reads).unsqueeze(0)
            for i, cell in enumerate(m.controller.cells):
                hc[i] = cell(inp, hc[i])
                inp = hc[i][0]
            h = inp[0]
            p = m.heads(h)
            params = []
            for j in range(R + W):
                a = p[j * A:(j + 1) * A]
                params.append((torch.tanh(a[:M]), F.softplus(a[M]), torch.sigmoid(a[M + 1]),
                               torch.softmax(a[M + 2:M + 5], 0), 1 + F.softplus(a[M + 5])))
            weights = [self._address(memory, weights[j], *params[j]) for j in range(R + W)]
            for i in range(W):
                ea = p[(R + W) * A + i * 2 * M:(R + W) * A + (i + 1) * 2 * M]
                e, add = torch.sigmoid(ea[:M]), torch.tanh(ea[M:])
                w = weights[R + i].unsqueeze(1)
                memory = memory * (1 - w * e) + w * add
            reads = [weights[j] @ memory for j in range(R)]
            outs.append(m.output(torch.cat([h] + reads)))
        return torch.stack(outs)

    def loss(self, episodes) -> torch.Tensor:
        """The batch loss of entm's trainer (summed per sequence, averaged), one sequence at a time."""
        total = 0.0
        for b in range(episodes.batch):
            T = int(episodes.steps[b])
            x = torch.as_tensor(episodes.inputs[b, :T], dtype=torch.float32)
            y = torch.as_tensor(episodes.targets[b, :T], dtype=torch.float32)
            mask = torch.as_tensor(episodes.mask[b, :T], dtype=torch.float32)
            bce = F.binary_cross_entropy_with_logits(self.forward(x), y, reduction="none").sum(-1)
            total = total + (bce * mask).sum()
        return total / episodes.batch


def _batches(task, batch, seed=0):
    """Equal-length batches, as entm train draws them (lengths uniform in 1-20)."""
    step = 0
    while True:
        rng = np.random.default_rng([seed, step])
        yield task.sample(rng, batch, length=int(rng.integers(task.min_length, task.max_length + 1)))
        step += 1


def measure(step_fn, task, batch, seconds, warmup=2):
    batches = _batches(task, batch)
    for _ in range(warmup):
        step_fn(next(batches))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step_fn(next(batches))
        n += batch
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="timing per configuration (default 20)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as entm train)")
    ap.add_argument("--device", default="cpu", help="device of the entm model (the plain loop runs on the CPU)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = make_task("copy", TASK)
    settings = ModelSettings(model="ntm", controller="lstm", hidden_size=100, cells=128, width=20, read_heads=1,
                             write_heads=1)

    def fresh(device="cpu"):
        return build_model(settings, task.num_inputs, task.num_outputs, seed=0).to(device)

    # the plain loop computes the same model: the same loss on the same batch
    ref = fresh()
    check = next(_batches(task, 4))
    with torch.no_grad():
        a = float(sequence_loss(ref(to_tensors(check, "cpu")[0]), *to_tensors(check, "cpu")[1:]))
        b = float(PlainNTM(ref).loss(check))
    assert abs(a - b) <= 1e-4 * abs(a), (a, b)

    def entm_step(model, opt, device):
        def step(eps):
            x, y, mask = to_tensors(eps, device)
            opt.zero_grad()
            sequence_loss(model(x), y, mask).backward()
            opt.step()
        return step

    def plain_step(model, opt):
        plain = PlainNTM(model)

        def step(eps):
            opt.zero_grad()
            plain.loss(eps).backward()
            opt.step()
        return step

    results = {"config": {"task": TASK, "model": "ntm", "controller": "lstm 100", "memory": "128 x 20",
                          "heads": "1 read, 1 write", "threads": args.threads, "device": args.device,
                          "seconds_per_measurement": args.seconds}}
    for batch in (1, 32):
        row = {}
        for name in ("plain", "entm_eager", "entm_compiled"):
            device = "cpu" if name == "plain" else args.device
            model = fresh(device)
            opt = torch.optim.Adam(model.parameters(), 1e-3)
            if name == "plain":
                fn = plain_step(model, opt)
            else:
                if name == "entm_compiled":
                    model.compile_step()
                fn = entm_step(model, opt, device)
            row[name] = round(measure(fn, task, batch, args.seconds, warmup=3 if name == "entm_compiled" else 1), 2)
        row["ratio_eager"] = round(row["entm_eager"] / row["plain"], 2)
        row["ratio_compiled"] = round(row["entm_compiled"] / row["plain"], 2)
        results[f"batch_{batch}"] = row
        if not args.json:
            print(f"batch {batch:>2}: plain {row['plain']:8.2f} seq/s | entm eager {row['entm_eager']:8.2f} seq/s "
                  f"({row['ratio_eager']:.1f}x) | entm compiled {row['entm_compiled']:8.2f} seq/s "
                  f"({row['ratio_compiled']:.1f}x)", flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
