"""Compiled node evaluation (numba): every network of a packed population, many rows at once.

Inner loops run over the rows of a batch (contiguous, vectorised by the
compiler); per element, every sum is taken in neat-python's link order and every
activation follows neat-python's formula and its clamping quirks (NaN
clamps to the upper bound, as Python's ``max``/``min`` do), so results agree
with neat-python's ``activate`` and do not depend on how genomes are grouped
into chunks.  The function codes are those of :mod:`entm.phenotype.functions`.
One deliberate difference: where neat-python raises ``OverflowError``
(``square``/``cube`` of a huge value) the kernels yield ``inf``.

The sigmoid's exponential is entm's own (:func:`exp_sigmoid`: Cody-Waite reduction and a degree-13
polynomial, IEEE arithmetic only) rather than libm's ``exp``: within 1 ulp of it (equal in ~89 % of
arguments), branch-free, so the row loops vectorise, and the same on every machine whatever its C
library.  A sigmoid therefore agrees with neat-python's to ~1e-16, not always bit for bit.

``median`` is neat-python's ``median2``: the mean of one or two values, else the
middle of the values sorted as CPython's ``list.sort`` sorts a short list (its
first run, then binary insertion), so the result is neat-python's also when
NaN makes the order ill-defined (exactly so for up to 63 links on CPython
3.10-3.12; without NaN, for any number of links on any Python).
"""

from __future__ import annotations

import math

import numpy as np

from numba import types
from numba.extending import intrinsic

from entm.jit import njit
from entm.phenotype.functions import ACTIVATION_CODES

_LN2_HI = 6.93147180369123816490e-01  # ln 2 with 11 trailing zero bits: k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e+00


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def _float_to_bits(typingctx, x):
    """The int64 holding the IEEE bits of the float64 ``x`` (a bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@njit(cache=True, error_model="numpy", inline="always")
def _exp_poly(r):
    """e^r for |r| <= ln 2 / 2: its Taylor polynomial of degree 13 (remainder < 4e-18), Horner's scheme."""
    p = 1.0 / 6227020800.0
    p = 1.0 / 479001600.0 + r * p
    p = 1.0 / 39916800.0 + r * p
    p = 1.0 / 3628800.0 + r * p
    p = 1.0 / 362880.0 + r * p
    p = 1.0 / 40320.0 + r * p
    p = 1.0 / 5040.0 + r * p
    p = 1.0 / 720.0 + r * p
    p = 1.0 / 120.0 + r * p
    p = 1.0 / 24.0 + r * p
    p = 1.0 / 6.0 + r * p
    p = 0.5 + r * p
    p = 1.0 + r * p
    return 1.0 + r * p


@njit(cache=True, error_model="numpy", inline="always")
def exp_ieee(x):
    """exp(x) for x <= 709 (x = -inf gives 0; NaN is not expected), within 1 ulp of libm's, subnormal
    results included: as :func:`exp_sigmoid`, with x clamped to [-746, 709] and 2^k applied as two
    factors (each a normal number).  Branch-free, so loops over it vectorise."""
    v = min(max(x, -746.0), 709.0)
    k = math.floor(v * _INV_LN2 + 0.5)
    p = _exp_poly((v - k * _LN2_HI) - k * _LN2_LO)
    ki = np.int64(k)
    k1 = ki >> 1
    return (p * _bits_to_float((k1 + 1023) << 52)) * _bits_to_float((ki - k1 + 1023) << 52)


@njit(cache=True, error_model="numpy", inline="always")
def log_ieee(x):
    """log(x) for 0 <= x < inf (0 gives -inf), within 2 ulp of libm's: x = 2^e m with m in
    [sqrt(1/2), sqrt(2)) (subnormals scaled by 2^54 first), log m = 2 atanh(s), s = (m - 1) / (m + 1),
    by its series to s^23 (|s| <= 0.172: remainder < 1e-19).  Branch-free."""
    small = x < 2.2250738585072014e-308
    b = _float_to_bits(x * 18014398509481984.0 if small else x)
    e = np.float64(((b >> 52) & 0x7FF) - 1023) - (54.0 if small else 0.0)
    m = _bits_to_float((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    q = 1.0 / 23.0
    q = 1.0 / 21.0 + z * q
    q = 1.0 / 19.0 + z * q
    q = 1.0 / 17.0 + z * q
    q = 1.0 / 15.0 + z * q
    q = 1.0 / 13.0 + z * q
    q = 1.0 / 11.0 + z * q
    q = 1.0 / 9.0 + z * q
    q = 1.0 / 7.0 + z * q
    q = 1.0 / 5.0 + z * q
    q = 1.0 / 3.0 + z * q
    r = e * _LN2_HI + (e * _LN2_LO + (2.0 * s + 2.0 * s * (z * q)))
    return -np.inf if x == 0.0 else r


@njit(cache=True, error_model="numpy", inline="always")
def exp_sigmoid(x):
    """exp(x) for -708 <= x <= 708 (the sigmoid clamps its argument to +-60), within 1 ulp of
    libm's: x = k ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite), e^r by its Taylor polynomial of degree 13
    (remainder < 4e-18), times 2^k built from its bits.  No branch and no call, so loops vectorise."""
    k = math.floor(x * _INV_LN2 + 0.5)
    p = _exp_poly((x - k * _LN2_HI) - k * _LN2_LO)
    return p * _bits_to_float((np.int64(k) + 1023) << 52)


@njit(cache=True, inline="always")
def _py_min(a, b):  # Python's min(a, b): b only if b < a
    return b if b < a else a


@njit(cache=True, inline="always")
def _py_max(a, b):  # Python's max(a, b): b only if b > a
    return b if b > a else a


@njit(cache=True, error_model="numpy")
def activate(code, z):
    """neat-python's activation ``code`` (see :data:`entm.phenotype.functions.ACTIVATIONS`) of ``z``;
    NaN for a code it does not know."""
    if code == 0:  # sigmoid
        z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
        return 1.0 / (1.0 + exp_sigmoid(-z))
    if code == 1:  # tanh
        z = _py_max(-60.0, _py_min(60.0, 2.5 * z))
        return math.tanh(z)
    if code == 2:  # sin
        z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
        return math.sin(z)
    if code == 3:  # gauss
        z = _py_max(-3.4, _py_min(3.4, z))
        return math.exp(-5.0 * math.pow(z, 2.0))
    if code == 4:  # relu
        return z if z > 0.0 else 0.0
    if code == 5:  # elu
        return z if z > 0.0 else math.exp(z) - 1.0
    if code == 6:  # lelu
        return z if z > 0.0 else 0.005 * z
    if code == 7:  # selu
        lam = 1.0507009873554804934193349852946
        alpha = 1.6732632423543772848170429916717
        return lam * z if z > 0.0 else lam * alpha * (math.exp(z) - 1.0)
    if code == 8:  # softplus
        z = _py_max(-60.0, _py_min(60.0, 5.0 * z))
        return 0.2 * math.log(1.0 + math.exp(z))
    if code == 9:  # identity
        return z
    if code == 10:  # clamped
        return _py_max(-1.0, _py_min(1.0, z))
    if code == 11:  # inv
        if z == 0.0:
            return 0.0
        return 1.0 / z
    if code == 12:  # log
        return math.log(_py_max(1e-7, z))
    if code == 13:  # exp
        return math.exp(_py_max(-60.0, _py_min(60.0, z)))
    if code == 14:  # abs
        return abs(z)
    if code == 15:  # hat
        return _py_max(0.0, 1.0 - abs(z))
    if code == 16:  # square
        return math.pow(z, 2.0)
    if code == 17:  # cube
        return math.pow(z, 3.0)
    return math.nan


def activation_value(name: str, z: float) -> float:
    """One activation of one value, by name (for plots and tests)."""
    return float(activate(ACTIVATION_CODES[name], float(z)))


@njit(cache=True, error_model="numpy")
def _activate_row(code, bs, rs, acc, Vout, dst, nb):
    """Vout[dst, :nb] = activation(bias + response * acc): the common activations in
    branch-free loops the compiler vectorises, the rest element by element."""
    if code == 0:  # sigmoid
        for b in range(nb):
            z = 5.0 * (bs + rs * acc[b])
            z = _py_max(-60.0, _py_min(60.0, z))
            Vout[dst, b] = 1.0 / (1.0 + exp_sigmoid(-z))
    elif code == 9:  # identity
        for b in range(nb):
            Vout[dst, b] = bs + rs * acc[b]
    elif code == 1:  # tanh
        for b in range(nb):
            z = 2.5 * (bs + rs * acc[b])
            Vout[dst, b] = math.tanh(_py_max(-60.0, _py_min(60.0, z)))
    else:
        for b in range(nb):
            Vout[dst, b] = activate(code, bs + rs * acc[b])


@njit(cache=True, error_model="numpy")
def _median(vals, n):
    """neat-python's ``median2`` of ``vals[:n]`` (sorted in place, as CPython's list.sort sorts a short list)."""
    if n == 0:
        return 0.0
    if n <= 2:
        s = 0.0
        for i in range(n):
            s += vals[i]
        return s / n
    # the first run: strictly descending (then reversed) or non-descending
    run = 2
    if vals[1] < vals[0]:
        while run < n and vals[run] < vals[run - 1]:
            run += 1
        i, j = 0, run - 1
        while i < j:
            vals[i], vals[j] = vals[j], vals[i]
            i += 1
            j -= 1
    else:
        while run < n and not (vals[run] < vals[run - 1]):
            run += 1
    for start in range(run, n):  # binary insertion sort of the rest
        pivot = vals[start]
        lo, hi = 0, start
        while lo < hi:
            mid = lo + ((hi - lo) >> 1)
            if pivot < vals[mid]:
                hi = mid
            else:
                lo = mid + 1
        for p in range(start, lo, -1):
            vals[p] = vals[p - 1]
        vals[lo] = pivot
    if n % 2 == 1:
        return vals[n // 2]
    return (vals[n // 2 - 1] + vals[n // 2]) / 2.0


@njit(cache=True, error_model="numpy")
def net_eval(Vin, Vout, nb, n0, n1, slot, act, agg, bias, resp, link0, link1, src, w, acc):
    """Evaluate nodes n0..n1 for rows 0..nb: read Vin, write Vout (the same array when feedforward)."""
    for n in range(n0, n1):
        a = agg[n]
        l0 = link0[n]
        l1 = link1[n]
        if a == 0 or a == 1:  # sum, mean: 0 + x0 + x1 ... (left to right)
            for b in range(nb):
                acc[b] = 0.0
            l = l0
            while l + 4 <= l1:  # four links per pass over the rows, still added one after the other
                s0, s1, s2, s3 = src[l], src[l + 1], src[l + 2], src[l + 3]
                w0, w1, w2, w3 = w[l], w[l + 1], w[l + 2], w[l + 3]
                for b in range(nb):
                    acc[b] = (((acc[b] + Vin[s0, b] * w0) + Vin[s1, b] * w1) + Vin[s2, b] * w2) + Vin[s3, b] * w3
                l += 4
            while l < l1:
                s = src[l]
                wt = w[l]
                for b in range(nb):
                    acc[b] += Vin[s, b] * wt
                l += 1
            if a == 1 and l1 > l0:
                cnt = float(l1 - l0)
                for b in range(nb):
                    acc[b] = acc[b] / cnt
        elif a == 2:  # product: reduce(mul, x, 1.0)
            for b in range(nb):
                acc[b] = 1.0
            for l in range(l0, l1):
                s = src[l]
                wt = w[l]
                for b in range(nb):
                    acc[b] = acc[b] * (Vin[s, b] * wt)
        elif a == 6:  # median
            vals = np.empty(max(l1 - l0, 1))
            for b in range(nb):
                for l in range(l0, l1):
                    vals[l - l0] = Vin[src[l], b] * w[l]
                acc[b] = _median(vals, l1 - l0)
        else:  # max, min, maxabs: Python's builtins keep the first on ties; empty -> 0.0
            if l1 == l0:
                for b in range(nb):
                    acc[b] = 0.0
            else:
                s = src[l0]
                wt = w[l0]
                for b in range(nb):
                    acc[b] = Vin[s, b] * wt
                for l in range(l0 + 1, l1):
                    s = src[l]
                    wt = w[l]
                    for b in range(nb):
                        x = Vin[s, b] * wt
                        if a == 3:
                            if x > acc[b]:
                                acc[b] = x
                        elif a == 4:
                            if x < acc[b]:
                                acc[b] = x
                        elif abs(x) > abs(acc[b]):
                            acc[b] = x
        _activate_row(act[n], bias[n], resp[n], acc, Vout, slot[n], nb)


@njit(cache=True, error_model="numpy", inline="always")
def clean(v):
    """A head output made harmless for a memory: NaN -> 0, +inf -> 1, -inf -> 0 (as the machine does)."""
    if v != v:
        return 0.0
    if v == np.inf:
        return 1.0
    if v == -np.inf:
        return 0.0
    return v


@njit(cache=True, inline="always")
def active_rows(steps, t, nb):
    """Of the first ``nb`` rows (episodes sorted longest first), how many still run at step ``t``."""
    while nb > 0 and steps[nb - 1] <= t:
        nb -= 1
    return nb


@njit(cache=True, error_model="numpy", inline="always")
def network_step(V, V2, g, n_in, nb, nbv, recurrent, node0, slot, act, agg, bias, resp, link0, link1, src, w, acc):
    """Network g evaluated on columns 0..nbv of ``V`` whose first ``n_in`` slots (inputs) are set for
    columns 0..nb; returns (V, V2) swapped for a recurrent network, so that V holds the latest values."""
    if recurrent[g]:
        for i in range(n_in):
            for b in range(nb):
                V2[i, b] = V[i, b]
        net_eval(V, V2, nbv, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
        return V2, V
    net_eval(V, V, nbv, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
    return V, V2


@njit(cache=True, error_model="numpy", inline="always")
def machine_step(V, V2, g, t, nb, nbv, inputs, reads, recurrent, node0, slot, act, agg, bias, resp, link0, link1,
                 src, w, acc, out_slot, n_task_out, out, X, dest):
    """One time step of network g on rows 0..nb of a machine fused with its memory (the tape and soft
    kernels): task inputs (``inputs[:, t]``) ++ read vectors in, the task outputs of row b to
    ``out[g, dest[b], t]`` (the caller's episode order),
    the head outputs, cleaned, to ``X`` (head parameters x rows).  ``nbv`` rows are evaluated (whole
    SIMD vectors; the extra ones are never read).  Returns (V, V2) swapped for a recurrent network, so
    that V holds the latest values."""
    I = inputs.shape[2]
    R = reads.shape[1]
    for i in range(I):
        for b in range(nb):
            V[i, b] = inputs[b, t, i]
    for i in range(R):
        for b in range(nb):
            V[I + i, b] = reads[b, i]
    V, V2 = network_step(V, V2, g, I + R, nb, nbv, recurrent, node0, slot, act, agg, bias, resp, link0, link1, src,
                         w, acc)
    for o in range(n_task_out):
        row = out_slot[g, o]
        for b in range(nb):
            out[g, dest[b], t, o] = V[row, b]
    for o in range(out_slot.shape[1] - n_task_out):
        row = out_slot[g, n_task_out + o]
        for b in range(nb):  # non-finite head outputs must not poison the memory
            X[o, b] = clean(V[row, b])
    return V, V2


@njit(cache=True, inline="always")
def zero_tails(g, steps, dest, out, reads_tr, wpos_tr, strength_tr, rpos_tr):
    """Network g's outputs and light trace past each episode's steps set to zero (the fused kernels: sorted
    episode b is row ``dest[b]``)."""
    T = out.shape[2]
    for b in range(steps.shape[0]):
        d = dest[b]
        for t in range(steps[b], T):
            for o in range(out.shape[3]):
                out[g, d, t, o] = 0.0
            for i in range(reads_tr.shape[3]):
                reads_tr[g, d, t, i] = 0.0
            for h in range(wpos_tr.shape[3]):
                wpos_tr[g, d, t, h] = 0
                strength_tr[g, d, t, h] = 0.0
                rpos_tr[g, d, t, h] = 0


@njit(cache=True, error_model="numpy")
def population_step(node0, nslots, recurrent, out_slot, slot, act, agg, bias, resp, link0, link1, src, w,
                    state, state2, x, B, y):
    """One step of every network on its B rows: x (G*B, I) -> y (G*B, O).

    ``state``/``state2`` (G, max slots, B) hold the node values (two buffers for
    recurrent networks); zero them to reset.
    """
    G = node0.shape[0] - 1
    I = x.shape[1]
    acc = np.empty(B)
    n_out = out_slot.shape[1]
    for g in range(G):
        V = state[g]
        for i in range(I):
            for b in range(B):
                V[i, b] = x[g * B + b, i]
        if recurrent[g]:
            V2 = state2[g]
            for i in range(I):
                for b in range(B):
                    V2[i, b] = V[i, b]
            net_eval(V, V2, B, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
            # swap the buffers' contents: state always holds the latest values
            for i in range(V.shape[0]):
                for b in range(B):
                    tmp = V[i, b]
                    V[i, b] = V2[i, b]
                    V2[i, b] = tmp
        else:
            net_eval(V, V, B, node0[g], node0[g + 1], slot, act, agg, bias, resp, link0, link1, src, w, acc)
        for b in range(B):
            for o in range(n_out):
                y[g * B + b, o] = V[out_slot[g, o], b]
