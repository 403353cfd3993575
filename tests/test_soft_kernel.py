"""The compiled differentiable memory (entm.phenotype.soft_kernel) against entm.memory.soft (torch)."""

import json

import numpy as np
import pytest
import torch
from helpers import main_error, mutated_population, run_main

from entm.champion import champion_from_dict
from entm.errors import EntmError

from entm.evolution.loop import EvolveSettings
from entm.machine import run_population
from entm.memory import MemorySpec
from entm.memory.layout import head_layout
from entm.memory.soft import (
    SoftMemory,
    SoftParams,
    address,
    map_head_outputs,
    read,
    write,
)
from entm.phenotype import Network
from entm.phenotype.soft_kernel import cells_inner, clean, soft_rows, soft_step

F64 = torch.float64


def _population(heads=1, cells=16, vector_size=2, n=10, seed=0):
    settings = EvolveSettings(task_params={"vector_size": vector_size}, memory="differentiable",
                              memory_params={"cells": cells}, heads=heads)
    task, _, machine, config, genomes = mutated_population(settings, n, seed, hidden=2, mutations=6)
    return task, machine, [Network.from_genome(g, config.genome_config) for g in genomes]


@pytest.mark.parametrize("heads,cells", [(1, 16), (2, 8), (1, 128), (1, "auto"), (2, "auto")])
def test_fused_soft_kernel_equals_torch_memory(heads, cells):
    """Networks + differentiable memory in one compiled loop == networks stepped with the torch memory."""
    task, machine, nets = _population(heads=heads, cells=cells)
    eps = task.sample(np.random.default_rng(4), 12)
    fast = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps)
    ref = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps, fast=False)
    # Agreement to 1e-9 except where a machine's own dynamics amplify rounding: sharpening with gamma up
    # to 11 multiplies a relative difference at every step, so a chaotic genome's 1e-17 at step 1 can
    # be 1e-7 at step 20 (whichever of the two is "right").  Every episode agrees to 1e-9 over its first
    # 8 steps, and almost every episode over all of them.
    whole, compared = [], 0
    for a, b in zip(fast, ref):
        for i in range(eps.batch):
            n = eps.steps[i]
            for x, y in ((a.outputs, b.outputs), (a.trace.reads, b.trace.reads),
                         (a.trace.write_strength, b.trace.write_strength)):
                np.testing.assert_allclose(x[i, :min(n, 8)], y[i, :min(n, 8)], rtol=0, atol=1e-9)
            whole.append(max(np.abs(x[i, :n] - y[i, :n]).max() for x, y in (
                (a.outputs, b.outputs), (a.trace.reads, b.trace.reads))) <= 1e-9)
            assert not a.outputs[i, n:].any() and not a.trace.reads[i, n:].any()  # zero past the episode
            compared += n
    assert compared > 100 and np.mean(whole) >= 0.9, np.mean(whole)
    # the peak cells agree within the episodes, but for near-ties (a flat weighting's peak is decided by rounding)
    same = [a.trace.read_pos[i, :eps.steps[i]] == b.trace.read_pos[i, :eps.steps[i]]
            for a, b in zip(fast, ref) for i in range(eps.batch)]
    assert np.concatenate(same).mean() > 0.95


def _torch_step(mem, w, x, M, N):
    """One head's write, address and read with entm.memory.soft (the reference)."""
    hp = map_head_outputs(torch.as_tensor(x[None]), M)
    m = write(torch.as_tensor(mem[None]), torch.as_tensor(w[None]), hp["e"], hp["a"])
    w2 = address(m, torch.as_tensor(w[None]), hp["k"], hp["beta"], hp["g"], hp["s"], hp["gamma"])
    return m[0].numpy(), w2[0].numpy(), read(m, w2)[0].numpy()


@pytest.mark.parametrize("case", range(40))
def test_soft_step_matches_the_torch_functions(case):
    """Random memories, weightings and head outputs, including saturated (0/1) and zero outputs."""
    rng = np.random.default_rng(case)
    M, N = int(rng.integers(1, 6)), int(rng.integers(1, 20))
    layout = head_layout("differentiable", M)
    x = rng.random(layout.size)
    if case % 4 == 1:
        x = np.round(x)  # saturated outputs: one-hot shifts, g 0 or 1, beta 0 or max
    if case % 4 == 2:
        x[:] = 0.0  # uniform shift, beta 0, zero key: similarity 0
    mem = rng.normal(0, 1, (N, M)) if case % 3 else np.full((N, M), 1e-6)
    w = rng.dirichlet(np.ones(N)) if case % 5 else np.eye(N)[0]
    want_mem, want_w, want_r = _torch_step(mem, w, x, M, N)
    mem_k, w_k, reads = cells_inner(mem[None]), w.copy(), np.zeros((1, M))
    soft_step(mem_k, w_k, x[:, None].copy(), 0, 0, M, N, layout.kernel_columns(), 20.0, 10.0, np.empty((3, N)), reads,
              0)
    np.testing.assert_allclose(mem_k[0].T, want_mem, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w_k, want_w, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reads[0], want_r, rtol=0, atol=1e-9)


def test_soft_rows_equals_soft_memory_step():
    """The closed loop's compiled step of every row (two heads, non-finite outputs cleaned) == SoftMemory.step."""
    rng = np.random.default_rng(7)
    M, N, H, B = 3, 10, 2, 6
    memory = SoftMemory(SoftParams(cells=N, width=M), heads=H)
    state = memory.reset(B)
    mem = cells_inner(state.memory.numpy())
    weights = state.weights.numpy().copy()
    for t in range(5):
        hp = rng.random((B, H * memory.head_param_size))
        hp[0, 0], hp[1, 1], hp[2, 2] = np.nan, np.inf, -np.inf
        state, want = memory.step(state, np.nan_to_num(hp, nan=0.0, posinf=1.0, neginf=0.0))
        reads = np.empty((B, H * M))
        soft_rows(mem, weights, hp, M, H, memory.head_param_size, memory.layout.kernel_columns(), 20.0, 10.0, reads)
        np.testing.assert_allclose(reads, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(weights, state.weights.numpy(), rtol=0, atol=1e-9)
    assert clean(np.nan) == 0.0 and clean(np.inf) == 1.0 and clean(-np.inf) == 0.0 and clean(0.25) == 0.25


def test_auto_cells_each_episode_runs_on_as_many_cells_as_its_steps():
    """cells auto: an episode in a mixed batch == that episode alone on a fixed memory of its steps' N,
    in the compiled kernel and in the torch reference alike."""
    task, machine, nets = _population(cells="auto", n=4, seed=2)
    eps = task.sample(np.random.default_rng(5), 6)
    assert len(set(eps.steps.tolist())) > 1
    for fast in (True, False):
        mixed = run_population(machine, nets, eps.inputs, shaping=True, steps=eps.steps, fast=fast)
        for i, n in enumerate(eps.steps):
            _, fixed, _ = _population(cells=int(n), n=4, seed=2)
            alone = run_population(fixed, nets, eps.inputs[i:i + 1, :n], shaping=True, fast=fast)
            for a, b in zip(mixed, alone):
                np.testing.assert_allclose(a.outputs[i, :n], b.outputs[0], rtol=0, atol=1e-12)
                np.testing.assert_array_equal(a.trace.read_pos[i, :n], b.trace.read_pos[0])
                assert a.trace.read_pos[i, :n].max() < n


def test_cells_auto_is_recorded_and_a_recorded_fixed_n_is_kept(tmp_path, capsys):
    """New runs record cells "auto"; a champion that recorded a fixed N (every run before auto: 128)
    keeps it whatever the episode's length; bad values are one-line errors."""
    run = tmp_path / "run"
    status, _, err = run_main(capsys, "evolve", "--memory", "differentiable", "--vector-size", "2", "--generations",
                              "1", "--episodes", "4", "--serial", "--quiet", "--run-dir", run)
    assert status == 0, err
    assert json.loads((run / "run.json").read_text())["memory_params"] == {"width": 5, "cells": "auto"}
    data = json.loads((run / "champion.json").read_text())
    assert data["metadata"]["entm"]["memory_params"]["cells"] == "auto"
    auto = champion_from_dict(data)
    np.testing.assert_array_equal(auto.machine.memory.episode_cells([7, 203]), [7, 203])
    data["metadata"]["entm"]["memory_params"]["cells"] = 128
    old = champion_from_dict(data)
    np.testing.assert_array_equal(old.machine.memory.episode_cells([7, 203]), [128, 128])
    assert old.spec.params()["cells"] == 128
    main_error(capsys, "evolve", "--memory", "discrete", "--cells", "auto", "--run-dir", tmp_path / "x",
               words=["--cells"])
    main_error(capsys, "evolve", "--memory", "differentiable", "--cells", "lots", "--run-dir", tmp_path / "x",
               words=["--cells", "auto"])
    with pytest.raises(EntmError, match="cells"):
        MemorySpec("differentiable", 5, options={"cells": "lots"})
    assert not (tmp_path / "x").exists()
