"""Tests of the differentiable NTM memory (Graves et al. 2014, eq. 2-9).

Expected values are worked out by hand in the comments next to each case.
"""

import numpy as np
import pytest
import torch

from entm.memory.layout import head_layout
from entm.memory.soft import (
    SoftMemory,
    SoftParams,
    SoftState,
    address,
    content_weighting,
    map_head_outputs,
    read,
    write,
)

F64 = torch.float64
# eps = 1e-8 inside the norms perturbs cosines of unit-sized vectors by ~1e-8,
# and SHIFT_EPSILON perturbs "pure" shifts by ~1e-8: hand tables use this tolerance.
TOL = 1e-6


def t(values, dtype=F64):
    return torch.tensor(values, dtype=dtype)


def one_batch(*values):
    """Add a leading batch dimension of 1 to each value."""
    return [t(v).unsqueeze(0) for v in values]


def stay():
    return [0.0, 1.0, 0.0]


def run_address(memory, w_prev, k, beta, g, s, gamma):
    args = one_batch(memory, w_prev, k, beta, g, s, gamma)
    return address(*args)[0]


# ---------------------------------------------------------------------------
# Content weighting (eq. 5-6)
# ---------------------------------------------------------------------------

MEM_3x2 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]

CONTENT_CASES = [
    # k = [1, 0], beta = 1: cosines 1, 0, 1/sqrt(2) = 0.70710678
    # exp: 2.71828183, 1, 2.02811498; sum 5.74639681
    # w = 0.47304109, 0.17402209, 0.35293681
    ([1.0, 0.0], 1.0, [0.47304109, 0.17402209, 0.35293681]),
    # beta = 0: every logit 0 -> uniform 1/3
    ([1.0, 0.0], 0.0, [1 / 3, 1 / 3, 1 / 3]),
    # k = [0, 2] (the norm does not matter), beta = 2: cosines 0, 1, 1/sqrt(2)
    # logits 0, 2, 1.41421356; exp 1, 7.38905610, 4.11325038; sum 12.50230648
    # w = 1/12.50230648, 7.38905610/12.50230648, 4.11325038/12.50230648
    #   = 0.07998524, 0.59101543, 0.32899932
    ([0.0, 2.0], 2.0, [0.07998524, 0.59101543, 0.32899932]),
    # zero key: every cosine 0 -> uniform, no NaN
    ([0.0, 0.0], 5.0, [1 / 3, 1 / 3, 1 / 3]),
]


@pytest.mark.parametrize("k, beta, expected", CONTENT_CASES)
def test_content_weighting_table(k, beta, expected):
    memory, kk, bb = one_batch(MEM_3x2, k, beta)
    w = content_weighting(memory, kk, bb)[0]
    assert torch.allclose(w, t(expected), rtol=0, atol=TOL)


def test_content_weighting_zero_memory_row_has_zero_similarity():
    # rows [0,0], [3,4]; k = [3,4], beta = 1: cosines 0, 1
    # w = 1/(1+e), e/(1+e) = 0.26894142, 0.73105858
    memory, k, beta = one_batch([[0.0, 0.0], [3.0, 4.0]], [3.0, 4.0], 1.0)
    w = content_weighting(memory, k, beta)[0]
    assert torch.allclose(w, t([0.26894142, 0.73105858]), rtol=0, atol=TOL)


# ---------------------------------------------------------------------------
# Addressing, stage by stage (eq. 7-9)
# ---------------------------------------------------------------------------

W4 = [0.1, 0.2, 0.3, 0.4]
MEM_4x2 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]]


def test_interpolation_g0_keeps_previous_weighting():
    # g = 0: w_g = w_prev whatever the content; stay shift, gamma 1 -> w_prev
    w = run_address(MEM_4x2, W4, [1.0, 0.0], 10.0, 0.0, stay(), 1.0)
    assert torch.allclose(w, t(W4), rtol=0, atol=1e-12)


def test_interpolation_g1_is_content_weighting():
    # g = 1: w_g = w_c, the first content table: 0.47304109, 0.17402209, 0.35293681
    w = run_address(MEM_3x2, [0.0, 0.0, 1.0], [1.0, 0.0], 1.0, 1.0, stay(), 1.0)
    assert torch.allclose(w, t([0.47304109, 0.17402209, 0.35293681]), rtol=0, atol=TOL)


def test_interpolation_half():
    # beta = 0 -> w_c = [1/3, 1/3, 1/3]; w_prev = [1, 0, 0]; g = 0.5
    # w_g = 0.5*[1/3,1/3,1/3] + 0.5*[1,0,0] = [2/3, 1/6, 1/6]
    w = run_address(MEM_3x2, [1.0, 0.0, 0.0], [1.0, 0.0], 0.0, 0.5, stay(), 1.0)
    assert torch.allclose(w, t([2 / 3, 1 / 6, 1 / 6]), rtol=0, atol=1e-12)


SHIFT_CASES = [
    # left, w~_i = w[i+1]: [w1, w2, w3, w0] = [0.2, 0.3, 0.4, 0.1]  (w~_3 wraps to w0)
    ([1.0, 0.0, 0.0], W4, [0.2, 0.3, 0.4, 0.1]),
    # stay: unchanged
    ([0.0, 1.0, 0.0], W4, W4),
    # right, w~_i = w[i-1]: [w3, w0, w1, w2] = [0.4, 0.1, 0.2, 0.3]  (w~_0 wraps to w3)
    ([0.0, 0.0, 1.0], W4, [0.4, 0.1, 0.2, 0.3]),
    # mixed (0.25, 0.5, 0.25):
    # w~_0 = .25*w1 + .5*w0 + .25*w3 = .05 + .05 + .10 = .20
    # w~_1 = .25*w2 + .5*w1 + .25*w0 = .075 + .10 + .025 = .20
    # w~_2 = .25*w3 + .5*w2 + .25*w1 = .10 + .15 + .05 = .30
    # w~_3 = .25*w0 + .5*w3 + .25*w2 = .025 + .20 + .075 = .30
    ([0.25, 0.5, 0.25], W4, [0.2, 0.2, 0.3, 0.3]),
    # one-hot focus moves left from cell 1 to cell 0
    ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]),
    # wrap-around at the low end: left from cell 0 lands on cell 3
    ([1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]),
    # wrap-around at the high end: right from cell 3 lands on cell 0
    ([0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]),
    # right from cell 1 lands on cell 2
    ([0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]),
]


@pytest.mark.parametrize("s, w_prev, expected", SHIFT_CASES)
def test_shift_table(s, w_prev, expected):
    # g = 0 isolates the shift; gamma = 1 leaves it unsharpened
    w = run_address(MEM_4x2, w_prev, [1.0, 0.0], 3.0, 0.0, s, 1.0)
    assert torch.allclose(w, t(expected), rtol=0, atol=1e-12)


SHARPEN_CASES = [
    # gamma = 1: w^1 / sum w = w (W4 sums to 1)
    (1.0, W4, W4),
    # gamma = 2: squares .01, .04, .09, .16; sum .30 -> 1/30, 4/30, 9/30, 16/30
    (2.0, W4, [1 / 30, 4 / 30, 9 / 30, 16 / 30]),
    # gamma = 2 on [0.5, 0.5, 0, 0]: squares .25, .25, 0, 0 -> [.5, .5, 0, 0]
    (2.0, [0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]),
    # gamma = 3 on [0.2, 0.4, 0.4, 0]: cubes .008, .064, .064, 0; sum .136
    # -> 1/17, 8/17, 8/17, 0
    (3.0, [0.2, 0.4, 0.4, 0.0], [1 / 17, 8 / 17, 8 / 17, 0.0]),
]


@pytest.mark.parametrize("gamma, w_prev, expected", SHARPEN_CASES)
def test_sharpen_table(gamma, w_prev, expected):
    w = run_address(MEM_4x2, w_prev, [1.0, 0.0], 3.0, 0.0, stay(), gamma)
    assert torch.allclose(w, t(expected), rtol=0, atol=1e-12)


def test_address_all_stages_together():
    # beta = 0 -> w_c = [1/3]*3; w_prev = [1,0,0]; g = 0.5 -> w_g = [2/3, 1/6, 1/6]
    # shift right, w~_i = w_g[i-1] -> [1/6, 2/3, 1/6]
    # gamma = 2: [1/36, 16/36, 1/36], sum 18/36 -> [1/18, 16/18, 1/18]
    w = run_address(MEM_3x2, [1.0, 0.0, 0.0], [1.0, 0.0], 0.0, 0.5, [0.0, 0.0, 1.0], 2.0)
    assert torch.allclose(w, t([1 / 18, 16 / 18, 1 / 18]), rtol=0, atol=1e-12)


def test_address_is_batched_row_by_row():
    # two rows of the shift table at once: same answers as one at a time
    memory = t([MEM_4x2, MEM_4x2])
    w_prev = t([W4, [1.0, 0.0, 0.0, 0.0]])
    k = t([[1.0, 0.0], [0.0, 1.0]])
    beta = t([3.0, 3.0])
    g = t([0.0, 0.0])
    s = t([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    gamma = t([1.0, 1.0])
    w = address(memory, w_prev, k, beta, g, s, gamma)
    assert torch.allclose(w, t([[0.2, 0.3, 0.4, 0.1], [0.0, 0.0, 0.0, 1.0]]), rtol=0, atol=1e-12)


def test_functions_follow_input_dtype_and_leave_inputs_untouched():
    gen = torch.Generator().manual_seed(0)
    memory = torch.rand(2, 5, 3, generator=gen, dtype=torch.float32)
    w_prev = torch.softmax(torch.rand(2, 5, generator=gen), -1)
    k = torch.rand(2, 3, generator=gen)
    beta, g, gamma = torch.rand(2, generator=gen), torch.rand(2, generator=gen), 1 + torch.rand(2, generator=gen)
    s = torch.softmax(torch.rand(2, 3, generator=gen), -1)
    e, a = torch.rand(2, 3, generator=gen), torch.rand(2, 3, generator=gen)
    inputs = [memory, w_prev, k, beta, g, s, gamma, e, a]
    before = [x.clone() for x in inputs]
    w = address(memory, w_prev, k, beta, g, s, gamma)
    r = read(memory, w)
    new_memory = write(memory, w, e, a)
    assert w.dtype == r.dtype == new_memory.dtype == torch.float32
    assert new_memory.data_ptr() != memory.data_ptr()
    for x, y in zip(inputs, before):
        assert torch.equal(x, y)


# ---------------------------------------------------------------------------
# Read (eq. 2) and write (eq. 3-4)
# ---------------------------------------------------------------------------

MEM_RW = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]

READ_CASES = [
    # r = .5*[1,2] + .25*[3,4] + .25*[5,6] = [.5+.75+1.25, 1+1+1.5] = [2.5, 3.5]
    ([0.5, 0.25, 0.25], [2.5, 3.5]),
    # one-hot on cell 1 reads that row
    ([0.0, 1.0, 0.0], [3.0, 4.0]),
    # uniform: mean of the rows = [3, 4]
    ([1 / 3, 1 / 3, 1 / 3], [3.0, 4.0]),
]


@pytest.mark.parametrize("w, expected", READ_CASES)
def test_read_table(w, expected):
    memory, ww = one_batch(MEM_RW, w)
    assert torch.allclose(read(memory, ww)[0], t(expected), rtol=0, atol=1e-12)


WRITE_CASES = [
    # w = [1, .5, 0], e = [1, .5], a = [10, 20]; M_i <- M_i * (1 - w_i e) + w_i a
    # row 0: [1*(1-1) + 10, 2*(1-.5) + 20]          = [10, 21]
    # row 1: [3*(1-.5) + .5*10, 4*(1-.25) + .5*20]  = [6.5, 13]
    # row 2: w = 0, unchanged                        = [5, 6]
    ([1.0, 0.5, 0.0], [1.0, 0.5], [10.0, 20.0], [[10.0, 21.0], [6.5, 13.0], [5.0, 6.0]]),
    # e = 0, a = 0: nothing changes
    ([0.2, 0.3, 0.5], [0.0, 0.0], [0.0, 0.0], MEM_RW),
    # w = [0, 0, .5], e = [1, 0], a = [2, 2]
    # row 2: [5*(1-.5) + 1, 6*(1-0) + 1] = [3.5, 7]
    ([0.0, 0.0, 0.5], [1.0, 0.0], [2.0, 2.0], [[1.0, 2.0], [3.0, 4.0], [3.5, 7.0]]),
]


@pytest.mark.parametrize("w, e, a, expected", WRITE_CASES)
def test_write_table(w, e, a, expected):
    memory, ww, ee, aa = one_batch(MEM_RW, w, e, a)
    before = memory.clone()
    new = write(memory, ww, ee, aa)
    assert torch.allclose(new[0], t(expected), rtol=0, atol=1e-12)
    assert torch.equal(memory, before)


@pytest.mark.parametrize("w_tape", [0.0, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("h", [0, 2, 3])
def test_one_hot_soft_write_equals_tape_interpolated_write(w_tape, h):
    rng = np.random.default_rng(7)
    n, m = 4, 3
    memory = torch.as_tensor(rng.random((1, n, m)))
    v = torch.as_tensor(rng.random((1, m)))
    weighting = torch.zeros(1, n, dtype=F64)
    weighting[0, h] = 1.0
    e = w_tape * torch.ones(1, m, dtype=F64)
    a = w_tape * v
    new = write(memory, weighting, e, a)
    # the ENTM tape's interpolated write at the focused cell h
    expected = memory.clone()
    expected[0, h] = w_tape * v[0] + (1 - w_tape) * memory[0, h]
    assert torch.allclose(new, expected, rtol=0, atol=1e-12)
    others = [i for i in range(n) if i != h]
    assert torch.equal(new[0, others], memory[0, others])


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------


def _random_inputs(seed, batch=2, n=5, m=3):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=gen, dtype=F64)

    return {
        "memory": rand(batch, n, m) - 0.5,
        "w_prev": torch.softmax(rand(batch, n) * 3, -1),
        "k": rand(batch, m) - 0.5,
        "beta": 5 * rand(batch),
        "g": 0.1 + 0.8 * rand(batch),
        "s": torch.softmax(rand(batch, 3) * 3, -1),
        "gamma": 1 + 3 * rand(batch),
        "e": rand(batch, m),
        "a": rand(batch, m),
    }


def _leaves(*tensors):
    return tuple(x.detach().clone().requires_grad_(True) for x in tensors)


@pytest.mark.parametrize("seed", [0, 1])
def test_gradcheck_address(seed):
    x = _random_inputs(seed)
    args = _leaves(x["memory"], x["w_prev"], x["k"], x["beta"], x["g"], x["s"], x["gamma"])
    assert torch.autograd.gradcheck(address, args)


def test_gradcheck_read():
    x = _random_inputs(2)
    assert torch.autograd.gradcheck(read, _leaves(x["memory"], x["w_prev"]))


def test_gradcheck_write():
    x = _random_inputs(3)
    assert torch.autograd.gradcheck(write, _leaves(x["memory"], x["w_prev"], x["e"], x["a"]))


# ---------------------------------------------------------------------------
# No NaN / inf at the edges
# ---------------------------------------------------------------------------


def _address_and_grads(memory, w_prev, k, beta, g, s, gamma):
    args = _leaves(memory, w_prev, k, beta, g, s, gamma)
    w = address(*args)
    weights = torch.arange(1, w.shape[-1] + 1, dtype=w.dtype)  # a non-trivial loss
    (w * weights).sum().backward()
    return w, [arg.grad for arg in args]


EDGE_CASES = {
    # zero memory and zero key: content weighting uniform, cosine 0/0 avoided
    "zero memory, zero key": dict(
        memory=torch.zeros(2, 4, 3), w_prev=torch.full((2, 4), 0.25), k=torch.zeros(2, 3),
        beta=t([20.0, 0.0]), g=t([1.0, 0.5]), s=t([[0.0, 1.0, 0.0]] * 2), gamma=t([11.0, 1.0]),
    ),
    # one-hot w_prev, pure shift (exact zeros), very large gamma
    "one-hot, gamma large": dict(
        memory=torch.rand(2, 4, 3, generator=torch.Generator().manual_seed(5)),
        w_prev=t([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]), k=torch.rand(2, 3),
        beta=t([20.0, 20.0]), g=t([0.0, 0.0]), s=t([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        gamma=t([1000.0, 1.0]),
    ),
    # near-uniform weights with a huge gamma: w~^gamma underflows without care
    "tiny weights, gamma large": dict(
        memory=torch.rand(2, 4, 3, generator=torch.Generator().manual_seed(6)),
        w_prev=t([[0.25, 0.25, 0.25, 0.25], [0.3, 0.3, 0.2, 0.2]]), k=torch.rand(2, 3),
        beta=t([0.0, 1.0]), g=t([0.5, 0.5]), s=t([[0.2, 0.6, 0.2]] * 2), gamma=t([5000.0, 400.0]),
    ),
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_no_nan_or_inf_at_the_edges(case, dtype):
    inputs = {name: value.to(dtype) for name, value in EDGE_CASES[case].items()}
    w, grads = _address_and_grads(**inputs)
    assert torch.isfinite(w).all()
    assert torch.allclose(w.sum(-1), torch.ones(2, dtype=dtype), atol=1e-5)
    for grad in grads:
        assert grad is not None and torch.isfinite(grad).all()


def test_zero_memory_zero_key_is_uniform_with_finite_gradients():
    memory, k, beta = _leaves(torch.zeros(1, 3, 2, dtype=F64), torch.zeros(1, 2, dtype=F64), t([7.0]))
    w = content_weighting(memory, k, beta)
    assert torch.allclose(w, torch.full((1, 3), 1 / 3, dtype=F64))
    (w * t([1.0, 2.0, 3.0])).sum().backward()
    for x in (memory, k, beta):
        assert torch.isfinite(x.grad).all()


def test_gamma_large_one_hot_keeps_the_focus():
    w = run_address(MEM_4x2, [0.0, 1.0, 0.0, 0.0], [1.0, 0.0], 20.0, 0.0, [0.0, 0.0, 1.0], 1e4)
    assert torch.allclose(w, t([0.0, 0.0, 1.0, 0.0]))


# ---------------------------------------------------------------------------
# Head interface
# ---------------------------------------------------------------------------


def test_head_param_count():
    assert head_layout("differentiable", 1).size == 9
    assert head_layout("differentiable", 8).size == 30


def test_map_head_outputs_table():
    # M = 2: k (2), beta, g, left, stay, right, gamma, e (2), a (2) = 12 columns
    x = np.array([[0.1, 0.2, 0.5, 0.3, 0.2, 0.6, 0.2, 0.4, 0.7, 0.8, 0.9, 1.0]])
    out = map_head_outputs(x, 2)
    assert isinstance(out["k"], np.ndarray)
    np.testing.assert_allclose(out["k"], [[0.1, 0.2]])
    np.testing.assert_allclose(out["beta"], [10.0])  # 20 * 0.5
    np.testing.assert_allclose(out["g"], [0.3])
    np.testing.assert_allclose(out["s"], [[0.2, 0.6, 0.2]], atol=1e-7)  # sum 1.0 already
    np.testing.assert_allclose(out["gamma"], [5.0])  # 1 + 10 * 0.4
    np.testing.assert_allclose(out["e"], [[0.7, 0.8]])
    np.testing.assert_allclose(out["a"], [[0.9, 1.0]])


def test_map_head_outputs_shift_normalisation_and_bounds():
    # shifts (0.5, 0.25, 0.25) sum to 1; (1, 1, 0) -> (.5, .5, 0); (0, 0, 0) -> uniform
    x = torch.zeros(3, head_layout("differentiable", 1).size, dtype=F64)
    x[0, 3:6] = t([0.5, 0.25, 0.25])
    x[1, 3:6] = t([1.0, 1.0, 0.0])
    x[:, 6] = t([0.0, 1.0, 0.5])  # gamma raw
    x[:, 1] = t([0.0, 1.0, 0.5])  # beta raw
    out = map_head_outputs(x, 1, beta_max=4.0, gamma_max=2.0)
    assert isinstance(out["s"], torch.Tensor) and out["s"].dtype == F64
    assert torch.allclose(out["s"], t([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]), rtol=0, atol=1e-7)
    assert torch.allclose(out["gamma"], t([1.0, 3.0, 2.0]))
    assert torch.allclose(out["beta"], t([0.0, 4.0, 2.0]))


def test_map_head_outputs_rejects_wrong_width():
    with pytest.raises(ValueError, match="expected 3\\*width\\+6 = 12"):
        map_head_outputs(np.zeros((1, 11)), 2)


# ---------------------------------------------------------------------------
# SoftMemory
# ---------------------------------------------------------------------------


def head_row(width, k=None, beta=0.0, g=0.0, shift=(0.0, 1.0, 0.0), gamma=0.0, e=None, a=None):
    """Raw [0, 1] outputs of one head, in the fixed layout."""
    zeros = [0.0] * width
    return [*(k or zeros), beta, g, *shift, gamma, *(e or zeros), *(a or zeros)]


LEFT, STAY, RIGHT = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def test_reset_shapes_and_initial_reads():
    mem = SoftMemory(SoftParams(cells=6, width=3, init_value=1e-6), heads=2)
    assert mem.mode == "differentiable"
    assert (mem.width, mem.heads, mem.head_param_size) == (3, 2, 15)
    state = mem.reset(4)
    assert state.memory.shape == (4, 6, 3) and state.memory.dtype == F64
    assert torch.all(state.memory == 1e-6)
    assert state.weights.shape == (4, 2, 6)
    assert torch.all(state.weights[:, :, 0] == 1) and torch.all(state.weights[:, :, 1:] == 0)
    reads = mem.initial_reads(state)
    assert reads.shape == (4, 6) and reads.dtype == np.float64
    np.testing.assert_allclose(reads, 1e-6)


def test_default_params():
    p = SoftParams()
    assert (p.cells, p.width, p.init_value, p.beta_max, p.gamma_max) == ("auto", 8, 1e-6, 20.0, 10.0)
    for bad in (0, -3, "many", 2.5, True):
        with pytest.raises(ValueError, match="cells"):
            SoftParams(cells=bad)


def test_per_row_cells_address_each_row_as_its_own_memory():
    """Rows of one batch with different N (cells=) == each row alone in a memory of its own N: the
    softmax over its own cells, the shift wrapping around its own N, weight 0 past it."""
    rng = np.random.default_rng(3)
    sizes = [5, 2, 7, 1, 7]
    B, N, M = len(sizes), max(sizes), 3
    memory = torch.as_tensor(rng.normal(0, 1, (B, N, M)))
    w_prev = torch.zeros(B, N, dtype=F64)
    for b, n in enumerate(sizes):
        w_prev[b, :n] = torch.as_tensor(rng.dirichlet(np.ones(n)))
        w_prev[b, n - 1] += 1.0  # mass on the last cell: its right shift must wrap to cell 0
        w_prev[b, :n] /= w_prev[b, :n].sum()
    k = torch.as_tensor(rng.random((B, M)))
    beta, g, gamma = (torch.full((B,), v, dtype=F64) for v in (3.0, 0.5, 1.5))
    s = torch.as_tensor(rng.dirichlet(np.ones(3), B))
    w = address(memory, w_prev, k, beta, g, s, gamma, torch.as_tensor(sizes))
    for b, n in enumerate(sizes):
        alone = address(memory[b:b + 1, :n], w_prev[b:b + 1, :n], k[b:b + 1], beta[b:b + 1], g[b:b + 1],
                        s[b:b + 1], gamma[b:b + 1])
        torch.testing.assert_close(w[b, :n], alone[0], rtol=0, atol=1e-15)
        assert torch.all(w[b, n:] == 0)


def test_auto_memory_sizes_each_episode_by_its_steps():
    mem = SoftMemory(SoftParams(width=2), heads=2)
    np.testing.assert_array_equal(mem.episode_cells([5, 1, 40]), [5, 1, 40])
    np.testing.assert_array_equal(SoftMemory(SoftParams(cells=16, width=2)).episode_cells([5, 40]), [16, 16])
    state = mem.reset(3, cells=[5, 1, 40])
    assert state.memory.shape == (3, 40, 2) and state.cells.tolist() == [5, 1, 40]
    assert mem.reset(2).memory.shape[1] == 128  # no steps known (the closed loop): DEFAULT_CELLS
    assert mem.reset(2, cells=[4, 4]).cells is None  # one size: the plain path
    with pytest.raises(ValueError, match="cells"):
        mem.reset(2, cells=[4, 0])


def test_step_content_lookup_moves_focus_to_matching_row():
    rows = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
            [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    mem = SoftMemory(SoftParams(cells=8, width=4, beta_max=100.0), heads=1)
    start = mem.reset(1)
    state = SoftState(memory=t([rows]), weights=start.weights)
    # key = row 5, beta = 100, g = 1, stay, gamma = 11, no erase, no add
    x = np.array([head_row(4, k=[0.0, 0.0, 1.0, 1.0], beta=1.0, g=1.0, gamma=1.0)])
    new, reads = mem.step(state, x)
    w = new.weights[0, 0]
    assert int(w.argmax()) == 5 and float(w[5]) > 0.999
    np.testing.assert_allclose(reads, [[0.0, 0.0, 1.0, 1.0]], atol=1e-3)
    assert torch.equal(new.memory, state.memory)  # e = a = 0 wrote nothing


def test_step_order_write_then_address_then_read():
    mem = SoftMemory(SoftParams(cells=3, width=2, init_value=0.0), heads=1)
    state = mem.reset(1)
    # step 1: weighting [1,0,0]. write e=0, a=[1,.5] at cell 0 -> M0 = [1, .5]
    #         address: g=0, shift right -> weighting [0,1,0]
    #         read cell 1 = [0, 0]   (reading before moving would give [1, .5])
    x1 = [head_row(2, shift=RIGHT, a=[1.0, 0.5])]
    state, reads1 = mem.step(state, np.array(x1))
    np.testing.assert_allclose(reads1, [[0.0, 0.0]], atol=TOL)
    np.testing.assert_allclose(state.weights[0, 0], [0.0, 1.0, 0.0], atol=TOL)
    # step 2: weighting [0,1,0]. write e=[1,1], a=[.25,.75] at cell 1 -> M1 = [.25, .75]
    #         address: shift left -> weighting [1,0,0]
    #         read cell 0 = [1, .5]  (addressing before writing would have
    #         overwritten cell 0 and read [.25, .75]; reading with the old
    #         weighting would read [.25, .75])
    x2 = [head_row(2, shift=LEFT, e=[1.0, 1.0], a=[0.25, 0.75])]
    state, reads2 = mem.step(state, np.array(x2))
    np.testing.assert_allclose(reads2, [[1.0, 0.5]], atol=TOL)
    np.testing.assert_allclose(state.weights[0, 0], [1.0, 0.0, 0.0], atol=TOL)
    np.testing.assert_allclose(state.memory[0], [[1.0, 0.5], [0.25, 0.75], [0.0, 0.0]], atol=TOL)


def test_step_several_heads_in_head_order():
    mem = SoftMemory(SoftParams(cells=3, width=2, init_value=0.0), heads=2)
    state = mem.reset(1)
    # both heads start on cell 0.
    # head 0: write a=[1,1] (e=0) -> M0 = [1,1]; stay; read M0 = [1,1]
    # head 1: sees head 0's write; e=[1,1], a=[.5,0] -> M0 = [1,1]*0 + [.5,0] = [.5,0];
    #         shift right -> cell 1; read M1 = [0,0]
    x = [head_row(2, shift=STAY, a=[1.0, 1.0]) + head_row(2, shift=RIGHT, e=[1.0, 1.0], a=[0.5, 0.0])]
    state, reads = mem.step(state, np.array(x))
    assert reads.shape == (1, 4)
    np.testing.assert_allclose(reads, [[1.0, 1.0, 0.0, 0.0]], atol=TOL)
    np.testing.assert_allclose(state.weights[0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], atol=TOL)
    np.testing.assert_allclose(state.memory[0], [[0.5, 0.0], [0.0, 0.0], [0.0, 0.0]], atol=TOL)


def test_step_rejects_wrong_shape():
    mem = SoftMemory(SoftParams(cells=3, width=2), heads=2)
    state = mem.reset(2)
    with pytest.raises(ValueError, match=r"expected \(2, 24\)"):
        mem.step(state, np.zeros((2, 12)))


def _random_episode(mem, batch, steps, seed, record=False):
    rng = np.random.default_rng(seed)
    outputs = rng.random((steps, batch, mem.heads * mem.head_param_size))
    state = mem.reset(batch, record=record)
    reads = [mem.initial_reads(state)]
    for x in outputs:
        state, r = mem.step(state, x)
        reads.append(r)
    return outputs, state, np.stack(reads)


def test_trace_only_when_asked():
    mem = SoftMemory(SoftParams(cells=5, width=3), heads=2)
    _, state, _ = _random_episode(mem, batch=3, steps=4, seed=1)
    assert state.trace == ()
    _, state, reads = _random_episode(mem, batch=3, steps=4, seed=1, record=True)
    assert len(state.trace) == 4
    for i, entry in enumerate(state.trace):
        assert entry["memory"].shape == (3, 5, 3)
        assert entry["weights"].shape == (3, 2, 5)
        assert entry["erase"].shape == entry["add"].shape == (3, 2, 3)
        np.testing.assert_array_equal(entry["reads"], reads[i + 1])
    np.testing.assert_array_equal(state.trace[-1]["memory"], state.memory.numpy())
    assert not np.shares_memory(state.trace[-1]["memory"], state.memory.numpy())
    assert not np.array_equal(state.trace[0]["memory"], state.trace[-1]["memory"])


def test_batch_rows_are_independent():
    mem = SoftMemory(SoftParams(cells=6, width=3), heads=2)
    outputs, state, reads = _random_episode(mem, batch=5, steps=6, seed=3)
    for b in range(5):
        alone = mem.reset(1)
        for step, x in enumerate(outputs):
            alone, r = mem.step(alone, x[b : b + 1])
            np.testing.assert_allclose(r[0], reads[step + 1, b], rtol=1e-12, atol=1e-15)
        assert torch.allclose(alone.memory[0], state.memory[b], rtol=1e-12, atol=1e-15)


def test_float32_memory_returns_float64_reads():
    mem = SoftMemory(SoftParams(cells=4, width=2), heads=1, dtype=torch.float32)
    _, state, reads = _random_episode(mem, batch=2, steps=3, seed=4)
    assert state.memory.dtype == torch.float32
    assert reads.dtype == np.float64 and np.isfinite(reads).all()


def test_sharpened_step_sums_to_one_and_stays_finite():
    mem = SoftMemory(SoftParams(cells=16, width=4), heads=1)
    _, state, reads = _random_episode(mem, batch=50, steps=20, seed=5)
    assert np.isfinite(reads).all()
    assert torch.allclose(state.weights.sum(-1), torch.ones(50, 1, dtype=F64))
    assert float(state.weights.min()) >= 0
