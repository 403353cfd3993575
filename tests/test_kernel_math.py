"""entm's own exp and log (entm.phenotype.kernels) against libm (numpy), and the sigmoid against neat-python's."""

from __future__ import annotations

import math

import numpy as np
from neat.activations import sigmoid_activation

from entm.jit import njit
from entm.phenotype.kernels import activate, exp_ieee, exp_sigmoid, log_ieee

ULP = np.finfo(np.float64).eps  # 2^-52: a relative error of one unit in the last place is at most this


@njit(error_model="numpy")
def _map(code, x, out):
    """Apply one of the functions to every element (the loop the kernels vectorise)."""
    for i in range(x.size):
        if code == 0:
            out[i] = exp_ieee(x[i])
        elif code == 1:
            out[i] = log_ieee(x[i])
        else:
            out[i] = exp_sigmoid(x[i])


def _apply(code, x):
    out = np.empty_like(x)
    _map(code, np.ascontiguousarray(x, dtype=np.float64), out)
    return out


def test_exp_within_one_ulp_of_libm_subnormals_and_limits_included():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-50, 0, 100_000), rng.uniform(-800, 709, 100_000),
                        [0.0, -0.0, 1e-300, -1e-300, 709.0, -708.39, -708.4, -745.13, -745.14, -800.0, -np.inf],
                        0.34657359 * np.array([1, -1, 1 + 1e-9, -1 - 1e-9])])
    got, want = _apply(0, x), np.exp(x)
    normal = want >= np.finfo(np.float64).tiny
    assert np.all(np.abs(got - want)[normal] <= ULP * want[normal])
    assert np.all(np.abs(got - want)[~normal] <= 5e-324)  # subnormal results: within one subnormal step
    assert np.all(got[x <= -745.14] == 0.0)  # exp(-800), exp(-inf): 0, as libm
    assert np.mean(got == want) > 0.8  # mostly the same bits as libm


def test_log_within_two_ulp_of_libm_zero_and_subnormals_included():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.random(100_000), np.exp(-rng.uniform(0, 744, 20_000)), rng.uniform(0, 1e300, 1000),
                        [1.0, 0.5, 2.0, math.sqrt(0.5), math.sqrt(2.0), 1 - 1e-16, 1 + 2e-16, 5e-324, 1e-310,
                         np.finfo(np.float64).tiny]])
    got, want = _apply(1, x), np.log(x)
    assert np.all(np.abs(got - want) <= 2 * ULP * np.maximum(np.abs(want), 1e-300) + 1e-300)
    assert _apply(1, np.array([0.0]))[0] == -np.inf
    assert _apply(1, np.array([1.0]))[0] == 0.0


def test_power_as_exp_of_log_within_1e_13_of_libm():
    """The soft memory's sharpening, x^gamma = exp(gamma log x), x in [0, 1], gamma in [1, 21]."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.random(50_000), np.exp(-rng.uniform(0, 700, 5000)), [0.0, 1.0]])
    g = 1.0 + 20.0 * rng.random(x.size)
    got = _apply(0, g * _apply(1, x))
    want = x ** g
    big = want > 1e-300
    assert np.all(np.abs(got - want)[big] <= 1e-13 * want[big])
    assert got[-2] == 0.0 and got[-1] == 1.0


def test_sigmoid_agrees_with_neat_python():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 3, 20_000), [0.0, 12.0, -12.0, 1e3, -1e3, np.inf, -np.inf, np.nan]])
    got = np.array([activate(0, float(v)) for v in z])
    want = np.array([sigmoid_activation(float(v)) for v in z])  # NaN clamps to the upper bound, in both
    assert np.all(np.abs(got - want) <= 2 * ULP * want)
    assert activate(0, 0.0) == 0.5
    x = rng.uniform(-60, 60, 10_000)
    assert np.all(np.abs(_apply(2, x) - np.exp(x)) <= ULP * np.exp(x))
