"""The NTM and LSTM baselines as modules: shapes, activations, gradients, devices and dtypes."""

import pytest
import torch

from entm.baseline.model import NTM, build_model, count_parameters
from entm.baseline.settings import ModelSettings
from entm.memory import soft


def _ntm(**kw):
    s = ModelSettings(**{"hidden_size": 10, "cells": 8, "width": 5, **kw})
    return build_model(s, 6, 4, seed=1)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("heads", [(1, 1), (2, 3)])
def test_ntm_shapes_and_trace(controller, heads):
    R, W = heads
    m = _ntm(controller=controller, read_heads=R, write_heads=W)
    x = torch.rand(3, 7, 6)
    logits, trace = m(x, record=True)
    assert logits.shape == (3, 7, 4)
    assert trace["read_weights"].shape == (3, 7, R, 8) and trace["write_weights"].shape == (3, 7, W, 8)
    assert trace["reads"].shape == (3, 7, R * 5) and trace["memory"].shape == (3, 7, 8, 5)
    for w in (trace["read_weights"], trace["write_weights"]):  # weightings are distributions
        assert torch.allclose(w.sum(-1), torch.ones(()), atol=1e-5) and (w >= 0).all()
    assert torch.equal(m(x), logits)


def test_every_parameter_gets_a_gradient():
    m = _ntm(memory_init="learned", layers=2)
    logits = m(torch.rand(2, 6, 6))
    logits.sum().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


def test_initial_state():
    m = _ntm()
    w0 = torch.softmax(m.initial_weight_logits, -1)
    assert (w0[:, 0] > 0.99).all()  # starts (almost) one-hot on cell 0, as the evolved memory does
    assert torch.all(m.memory_bias == 1e-6)  # small constant (Collier & Beel 2018)
    assert not any(n == "memory_bias" for n, _ in m.named_parameters())
    assert any(n == "memory_bias" for n, _ in _ntm(memory_init="learned").named_parameters())
    r = _ntm(memory_init="random").memory_bias
    assert r.min() >= 0 and r.max() < 0.1 and r.std() > 0


def test_the_step_uses_the_soft_memory_functions():
    """One step of the NTM by hand from entm.memory.soft and the issue's activations."""
    F = torch.nn.functional
    m = _ntm(controller="feedforward")
    x = torch.rand(2, 1, 6)
    logits, trace = m(x, record=True)
    M, N = 5, 8
    reads0 = m.initial_reads.reshape(1, -1).expand(2, -1)
    h = torch.tanh(m.controller.linears[0](torch.cat([x[:, 0], reads0], -1)))
    p = m.heads(h)
    w0 = torch.softmax(m.initial_weight_logits, -1)
    mem = m.memory_bias.expand(2, N, M)
    ws = []
    for i in range(2):  # read head, then write head
        a = p[:, i * (M + 6):(i + 1) * (M + 6)]
        ws.append(soft.address(mem, w0[i].expand(2, N), torch.tanh(a[:, :M]), F.softplus(a[:, M]),
                               torch.sigmoid(a[:, M + 1]), torch.softmax(a[:, M + 2:M + 5], -1),
                               1 + F.softplus(a[:, M + 5])))
    ea = p[:, 2 * (M + 6):]
    mem = soft.write(mem, ws[1], torch.sigmoid(ea[:, :M]), torch.tanh(ea[:, M:]))
    r = soft.read(mem, ws[0])
    assert torch.allclose(trace["read_weights"][:, 0, 0], ws[0], atol=1e-6)
    assert torch.allclose(trace["memory"][:, 0], mem, atol=1e-6)
    assert torch.allclose(logits[:, 0], m.output(torch.cat([h, r], -1)), atol=1e-6)


def test_lstm_baseline():
    m = build_model(ModelSettings(model="lstm"), 6, 4, seed=0)
    assert m.lstm.num_layers == 3 and m.lstm.hidden_size == 256  # Graves et al.'s LSTM baseline
    assert m(torch.rand(2, 5, 6)).shape == (2, 5, 4)
    assert count_parameters(m) == sum(p.numel() for p in m.parameters())


def test_seeded_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    a, b, c = (_ntm(), _ntm(), build_model(ModelSettings(hidden_size=10, cells=8, width=5), 6, 4, seed=2))
    assert torch.equal(torch.random.get_rng_state(), state)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_dtype_follows_the_module():
    m = _ntm().double()
    out = m(torch.rand(2, 4, 6, dtype=torch.float64))
    assert out.dtype == torch.float64
    assert isinstance(m, NTM)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda():
    m = _ntm().to("cuda")
    out, trace = m(torch.rand(2, 4, 6, device="cuda"), record=True)
    assert out.device.type == "cuda" and trace["memory"].device.type == "cuda"
    out.sum().backward()
