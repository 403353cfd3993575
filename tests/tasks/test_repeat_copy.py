"""Repeat copy: encoding, targets, scoring and shaping."""

import numpy as np
import pytest
from helpers import network_json

from entm.errors import EntmError
from entm.tasks import make_task


def test_hand_checked_episode():
    task = make_task("repeat_copy", {"vector_size": 2, "max_repeats": 4})
    eps = task.sample(np.random.default_rng(3), 1, length=2, repeats=3)
    x, y, m = eps.inputs[0], eps.targets[0], eps.mask[0]
    assert eps.steps[0] == (3 + 1) * 2 + 4 == x.shape[0]
    assert eps.lengths[0] == 2 and eps.info["repeats"][0] == 3
    v0, v1 = x[1, :2].copy(), x[2, :2].copy()
    #                 bits      start delim repeats
    assert x[0].tolist() == [0, 0, 1, 0, 0]
    assert x[1, 2:].tolist() == [0, 0, 0] and x[2, 2:].tolist() == [0, 0, 0]
    assert x[3].tolist() == [0, 0, 0, 1, 0.75]  # delimiter and R / max_repeats
    assert not x[4:].any()  # idle and output steps: zero input
    assert m.tolist() == [False] * 5 + [True] * 7
    expect = [v0, v1] * 3
    for k, v in enumerate(expect):
        assert y[5 + k].tolist() == v.tolist() + [0.0]  # the sequence, end marker off
    assert y[11].tolist() == [0, 0, 1]  # then the end marker alone


def test_batch_shapes_and_ranges():
    task = make_task("repeat_copy")
    eps = task.sample(np.random.default_rng(0), 300)
    B, T, _ = eps.inputs.shape
    assert eps.inputs.shape[2] == task.num_inputs == 11 and eps.targets.shape == (B, T, task.num_outputs)
    L, R = eps.lengths, eps.info["repeats"]
    assert L.min() == 1 and L.max() == 10 and R.min() == 1 and R.max() == 10
    assert np.array_equal(eps.steps, (R + 1) * L + 4) and T == eps.steps.max()
    assert np.array_equal(eps.mask.sum(axis=1), R * L + 1)
    assert np.array_equal(eps.targets[:, :, 8].sum(axis=1), np.ones(B))  # one end marker each
    assert not eps.targets[~eps.mask].any()
    rows = np.arange(B)
    assert np.allclose(eps.inputs[rows, L + 1, 10], R / 10)
    # every repetition equals the input sequence
    for b in range(0, B, 37):
        seq = eps.inputs[b, 1:L[b] + 1, :8]
        out = eps.targets[b, L[b] + 3:L[b] + 3 + R[b] * L[b], :8]
        assert np.array_equal(out, np.tile(seq, (R[b], 1)))


def test_sweep_length_sets_both_and_bad_parameters():
    task = make_task("repeat_copy", {"vector_size": 3})
    eps = task.sample(np.random.default_rng(1), 4, length=15)
    assert (eps.lengths == 15).all() and (eps.info["repeats"] == 15).all()
    assert eps.inputs[0, 16, 5] == pytest.approx(1.5)  # beyond training: above 1
    assert task.generalization_lengths[-1] > task.max_length
    with pytest.raises(EntmError, match="max_repeats"):
        make_task("repeat_copy", {"min_repeats": 4, "max_repeats": 2})
    with pytest.raises(EntmError, match="repeats must be at least 1"):
        task.sample(np.random.default_rng(0), 2, repeats=0)
    with pytest.raises(EntmError, match="unknown repeat_copy shaping"):
        make_task("repeat_copy", {"shaping": "lots"})


def test_a_missed_end_marker_is_an_error():
    task = make_task("repeat_copy", {"vector_size": 4})
    eps = task.sample(np.random.default_rng(2), 40)
    y = eps.targets.copy()
    end = eps.steps[0] - 1
    y[0, end, 4] = 0.0  # the end marker missed
    one = task.score(eps, y)
    assert one.bit_errors[0] == 1 and not one.perfect[0] and one.perfect[1:].all()


def test_the_marker_term_scores_the_end_marker_alone():
    from entm.machine import Trace

    task = make_task("repeat_copy", {"vector_size": 3, "marker_term": True})
    eps = task.sample(np.random.default_rng(5), 30)
    B, T = eps.mask.shape
    trace = Trace(reads=np.zeros((B, T, 6)), write_pos=np.zeros((B, T, 1), dtype=np.int64),
                  write_strength=np.zeros((B, T, 1)), read_pos=np.zeros((B, T, 1), dtype=np.int64))
    right = task.shape(eps, eps.targets, trace)
    assert set(right) == {"recall", "alignment", "writes", "marker"} and np.allclose(right["marker"], 1.0)
    missed = eps.targets.copy()
    missed[:, :, 3] = 0.0  # every vector copied, the end never signalled
    always = eps.targets.copy()
    always[:, :, 3] = 1.0  # the end signalled on every scored step
    assert np.allclose(task.shape(eps, missed, trace)["marker"], 0.5)
    assert np.allclose(task.shape(eps, always, trace)["marker"], 0.5)
    assert task.score(eps, missed).score.min() > 0.85  # the score barely sees it
    # two networks' runs stacked, as the evaluator scores a chunk
    both = np.concatenate([eps.targets, missed])
    stacked = Trace(*(np.concatenate([a, a]) for a in (trace.reads, trace.write_pos, trace.write_strength,
                                                       trace.read_pos)))
    assert np.allclose(task.shape(eps.tile(2), both, stacked, groups=2)["marker"], [1.0] * B + [0.5] * B)
    # off by default and under shaping none; a bad value is one line
    assert "marker" not in make_task("repeat_copy", {"vector_size": 3}).shape(eps, eps.targets, trace)
    assert make_task("repeat_copy", {"vector_size": 3, "marker_term": 1, "shaping": "none"}).shape(
        eps, eps.targets, trace) == {}
    with pytest.raises(EntmError, match="marker_term must be true or false"):
        make_task("repeat_copy", {"marker_term": "maybe"})


@pytest.mark.parametrize("params, length, repeats", [({}, 12, 10), ({"max_length": 4, "max_repeats": 2}, 6, 2)])
def test_validation_is_longer_at_the_trained_repeats(params, length, repeats):
    """The batch that calls a run solved: two vectors longer than training, repeated the most times training
    has, so that the repeats input stays in its trained range and a narrow-range run can be solved."""
    from entm.evolution.reporters import Validator
    from entm.memory import MemorySpec

    task = make_task("repeat_copy", {"vector_size": 3, **params})
    assert task.validation == (length, 10)
    v = Validator(task, MemorySpec("discrete", 6), config=None, seed=0)
    eps = v.episodes
    assert (eps.lengths == length).all() and (eps.info["repeats"] == repeats).all()
    assert np.allclose(eps.inputs[np.arange(10), length + 1, 5], 1.0)  # R / max_repeats
    assert v.training.info["repeats"].max() <= repeats and len(v.training.lengths) == 100
    assert task.score(eps, eps.targets).perfect.all()


def test_sweep_repeats_fixes_the_count_of_episodes_drawn_at_a_length():
    task = make_task("repeat_copy", {"vector_size": 3, "max_repeats": 2, "sweep_repeats": 2})
    eps = task.sample(np.random.default_rng(0), 5, length=7)
    assert (eps.lengths == 7).all() and (eps.info["repeats"] == 2).all() and (eps.steps == 3 * 7 + 4).all()
    assert np.allclose(eps.inputs[:, 8, 5], 1.0)  # R / max_repeats, inside the trained range
    train = task.sample(np.random.default_rng(0), 200)  # training draws are the task's own
    assert set(train.info["repeats"].tolist()) == {1, 2}
    assert "sweep_repeats" not in make_task("repeat_copy").params()  # the default leaves run identities alone
    with pytest.raises(EntmError, match="sweep_repeats must be at least 0"):
        make_task("repeat_copy", {"sweep_repeats": -1})


def two_head_solver(V: int, max_repeats: int, mark: bool = True) -> tuple[dict, int]:
    """A hand-built repeat copier on the discrete tape with two heads (network JSON, and the tape width V + 6).

    Cell channels: the V bits, then *first* (the first vector's cell), *written* (a vector's cell), *end*
    (the cell after the last vector), *start*, *last* and *count*.  Head 0 writes each vector into a fresh
    cell and moves right (the first one flagged, as head 1 still stands on the start cell), writes the end
    cell on the delimiter, content-jumps to the first vector's cell (key: bits 0.5, first and written set),
    and reads the passes: the outputs are its read bits, the end marker its read of an end cell.  Head 1
    trails it by a cell, so that on the delimiter step it stands on the last vector's cell and marks it:
    *last*, and *count* = R - 1 in units of 1 / max_repeats (the repeats input less one unit).  On that cell
    with a count left, head 0 jumps back to the first vector and head 1 takes one unit off (an identity
    node: exact for any count, so the machine generalises to every R).  4 hidden nodes, 75 links at V = 8.
    ``mark=False``: head 1 does not mark the last vector's cell on the delimiter step.
    """
    Bg, unit = 30.0, 1.0 / max_repeats
    M = V + 6
    F, Wr, E, S, La, C = range(V, V + 6)
    x = [-(1 + j) for j in range(V)]
    start, delim, rep = -(V + 1), -(V + 2), -(V + 3)
    A = [-(V + 4 + k) for k in range(M)]  # head 0's read
    H = [-(V + 4 + M + k) for k in range(M)]  # head 1's read
    end_out, a0 = V, V + 1
    Aa, (Aw, Aj, Asl, Ass, Asr) = list(range(a0, a0 + M)), range(a0 + M, a0 + M + 5)
    b0 = a0 + M + 5
    Ba, (Bw, Bj, Bsl, Bss, Bsr) = list(range(b0, b0 + M)), range(b0 + M, b0 + M + 5)
    n_out = b0 + M + 5
    fresh, counted, again, jump = range(n_out, n_out + 4)  # hidden nodes
    bias, links = {}, []

    def node(key, b, *inputs):
        bias[key] = b
        links.extend((src, key, w) for src, w in inputs)

    node(fresh, 0.5 * Bg, (start, -Bg), (delim, -Bg), (A[Wr], -Bg), (A[E], -Bg))  # an input step
    node(counted, -50.0, (H[C], 100.0 / unit))  # head 1's count above half a unit
    node(again, -1.5 * Bg, (A[La], Bg), (counted, Bg))  # head 0 on the last vector, a pass left
    node(jump, -0.5 * Bg, (A[E], Bg), (again, Bg))  # head 0 jumps to the first vector
    for j in range(V):
        node(j, -0.5 * Bg, (A[j], Bg), (A[E], -Bg))  # the outputs: head 0's read
        node(Aa[j], -0.5 * Bg, (x[j], Bg), (jump, 0.5 * Bg))  # the vector written; 0.5 in the jump key
        node(Ba[j], -0.5 * Bg, (H[j], Bg))  # head 1 keeps what it reads
    node(end_out, -0.5 * Bg, (A[E], Bg))
    node(Aa[F], -0.5 * Bg, (H[S], Bg), (jump, Bg))
    node(Aa[Wr], 0.5 * Bg, (delim, -Bg))
    node(Aa[E], -0.5 * Bg, (delim, Bg))
    for k in (S, La, C):
        node(Aa[k], -Bg)
    node(Aw, -0.5 * Bg, (fresh, Bg), (delim, Bg))
    node(Aj, -0.5 * Bg, (jump, Bg))
    node(Asl, -Bg)
    node(Ass, -0.5 * Bg, (delim, Bg), (jump, Bg))
    node(Asr, 0.5 * Bg, (delim, -Bg), (jump, -Bg))
    for k in (F, Wr):
        node(Ba[k], -0.5 * Bg, (H[k], Bg))
    node(Ba[E], -Bg)
    node(Ba[S], -0.5 * Bg, (start, Bg))
    node(Ba[La], -0.5 * Bg, (delim, Bg if mark else 0.0), (H[La], Bg))
    node(Ba[C], 0.0, (rep, max_repeats * unit), (H[C], 1.0), (delim, -unit), (again, -unit))
    node(Bw, -0.5 * Bg, (start, Bg), (delim, Bg if mark else 0.0), (again, Bg))
    node(Bj, -Bg)
    node(Bsl, -Bg)
    node(Bss, 0.5 * Bg, (fresh, -Bg))
    node(Bsr, -0.5 * Bg, (fresh, Bg))
    net = network_json(x + [start, delim, rep] + A + H, n_out, [fresh, counted, again, jump], bias, links,
                       activations={Ba[C]: "identity"})
    return net, M


@pytest.mark.parametrize("max_repeats", [2, 10])
def test_two_heads_make_every_pass(max_repeats):
    """Two heads repeat-copy perfectly: training episodes, the validation batch, the NTM paper's sweep (L
    vectors L times, to 20 x 20, far past the trained counts) and long sequences at few repeats; without
    head 1's mark on the last vector it makes one pass only (docs/results.md: why one head cannot mark it)."""
    from entm.evolution.reporters import Validator
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    task = make_task("repeat_copy", {"max_repeats": max_repeats})
    net_json, width = two_head_solver(8, max_repeats)
    assert len(net_json["connections"]) == 75
    spec = MemorySpec("discrete", width, heads=2)
    machine, net = Machine(task, spec), Network.from_json(net_json)

    def perfect(eps):
        return task.score(eps, machine.run(net, eps.inputs).outputs).perfect

    assert perfect(task.sample(np.random.default_rng(0), 300)).all()
    assert Validator(task, spec, config=None, seed=0).perfect_network(net)
    for L in (5, 10, 15, 20):
        assert perfect(task.sample(np.random.default_rng(L), 10, length=L)).all()
    assert perfect(task.sample(np.random.default_rng(1), 10, length=60, repeats=2)).all()
    one_pass = Network.from_json(two_head_solver(8, max_repeats, mark=False)[0])
    eps = task.sample(np.random.default_rng(2), 40, length=4, repeats=2)
    assert not task.score(eps, machine.run(one_pass, eps.inputs).outputs).perfect.any()
    eps = task.sample(np.random.default_rng(3), 40, length=4, repeats=1)
    assert task.score(eps, machine.run(one_pass, eps.inputs).outputs).perfect.all()


def recurrent_one_head_solver(V: int, max_repeats: int, latch: bool = False) -> tuple[dict, int]:
    """A hand-built repeat copier with one tape head and a recurrent controller (network JSON, and the tape
    width V + 4).

    neat-python's recurrent network reads the current inputs and the previous step's node values, so a hidden
    node fed by an input is that input one step late.  That removes what stops a one-head feedforward machine
    (docs/results.md): it writes each vector one step late (bits delayed by hidden nodes D), so that on the
    delimiter step the head still stands on the last vector's cell and writes it with the delimiter's
    *last* flag and the *count* R - 1 (in units of 1 / max_repeats).  Cell channels: the V bits, *start*
    (cell 0), *used* (a vector's cell), *last* and *count*.  Hidden nodes: D (the bits, one step late), P
    (the start step, one step late: on step 1 the head waits, so that vector i goes to cell i), I (the input
    phase, a latch from start to the delimiter), Q (the delimiter, one step late: the idle step) and K (an
    identity node counting the passes made, a unit each time the head reads a *last* cell).  On the idle
    step, and on the last vector's cell while K is below its *count*, the head jumps to the start cell (key:
    *start* alone) and shifts right onto the first vector.  The outputs are the read bits; the end marker is
    a read of a cell no vector used.  V + 4 hidden nodes.  ``latch`` (``max_repeats`` 2): sigmoid nodes only,
    as evolution's configs have: K is a latch set by the first *last* cell, and *count* is 1 for R = 2.
    """
    Bg, unit = 30.0, 1.0 / max_repeats
    G = 2 * Bg / unit
    M = V + 4
    S, U, La, C = range(V, V + 4)
    x = [-(1 + j) for j in range(V)]
    start, delim, rep = -(V + 1), -(V + 2), -(V + 3)
    r = [-(V + 4 + k) for k in range(M)]  # the read
    end_out, a0 = V, V + 1
    a, (w, jump, sl, ss, sr) = list(range(a0, a0 + M)), range(a0 + M, a0 + M + 5)
    n_out = a0 + M + 5
    D = list(range(n_out, n_out + V))
    P, In, Q, K = range(n_out + V, n_out + V + 4)
    bias, links = {}, []

    def node(key, b, *inputs):
        bias[key] = b
        links.extend((src, key, wt) for src, wt in inputs)

    for j in range(V):
        node(D[j], -0.5 * Bg, (x[j], Bg))  # input bit j, read one step late
        node(a[j], -0.5 * Bg, (D[j], Bg))  # the vector is written a step late
        node(j, -0.5 * Bg, (r[j], Bg))  # the outputs: the read bits
    node(P, -0.5 * Bg, (start, Bg))
    node(In, -0.5 * Bg, (start, Bg), (In, Bg), (delim, -2 * Bg))
    node(Q, -0.5 * Bg, (delim, Bg))
    if latch:
        node(K, -0.5 * Bg, (K, Bg), (r[La], Bg))
        node(a[C], -0.75 * Bg, (rep, Bg))  # R = 2: 1 (the repeats input is 1); R = 1: 0 (0.5)
        node(jump, -1.5 * Bg, (Q, 3 * Bg), (r[La], Bg), (r[C], Bg), (K, -Bg))
    else:
        node(K, 0.0, (K, 1.0), (r[La], unit))
        node(a[C], 0.0, (rep, 1.0), (delim, -unit))  # R / max_repeats - 1 / max_repeats on the delimiter step
        # the idle step, or the last cell with a pass left (K below the count)
        node(jump, -Bg - G * unit / 2, (Q, 3 * Bg), (r[La], Bg), (r[C], G), (K, -G))
    node(end_out, 0.5 * Bg, (r[U], -Bg))
    node(a[S], 0.5 * Bg, (In, -Bg), (P, Bg))  # 0 on a vector's write, 1 on the start cell's and as a key
    node(a[U], -0.5 * Bg, (In, Bg), (P, -Bg))
    node(a[La], -0.5 * Bg, (delim, Bg))
    node(w, -0.5 * Bg, (start, Bg), (In, Bg), (P, -Bg))  # the start cell; a vector from step 2 on
    node(sl, -Bg, (start, -Bg))
    node(ss, -0.5 * Bg, (P, Bg))  # step 1 waits
    node(sr, 0.5 * Bg, (P, -Bg))
    net = network_json(x + [start, delim, rep] + r, n_out, D + [P, In, Q, K], bias, links,
                       activations={} if latch else {K: "identity", a[C]: "identity"}, recurrent=True)
    return net, M


@pytest.mark.parametrize("max_repeats, latch", [(2, False), (10, False), (2, True)])
def test_one_head_and_a_recurrent_controller_make_every_pass(max_repeats, latch):
    """What one head cannot do with a feedforward controller it does with a recurrent one (31 links, 6 hidden
    nodes at V = 2): perfect on training episodes, the validation batch, the NTM paper's sweep to 20 x 20
    (far past the trained counts) and long sequences; without its pass counter it never stops repeating.
    With a latch for at most two repeats it has sigmoid nodes only, as the networks evolution makes."""
    from entm.evolution.reporters import Validator
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    task = make_task("repeat_copy", {"vector_size": 2, "max_repeats": max_repeats})
    net_json, width = recurrent_one_head_solver(2, max_repeats, latch)
    spec = MemorySpec("discrete", width)
    machine, net = Machine(task, spec), Network.from_json(net_json)
    assert net.recurrent

    def perfect(eps, network=net):
        return task.score(eps, machine.run(network, eps.inputs).outputs).perfect

    assert perfect(task.sample(np.random.default_rng(0), 300)).all()
    assert Validator(task, spec, config=None, seed=0).perfect_network(net)
    for L in (5, 10, 15, 20):
        eps = task.sample(np.random.default_rng(L), 10, length=L, repeats=2 if latch else None)
        assert perfect(eps).all()
    assert perfect(task.sample(np.random.default_rng(1), 10, length=60, repeats=2)).all()
    assert len(net_json["connections"]) == (30 if latch else 31)
    assert latch == all(n["activation"]["name"] == "sigmoid" for n in net_json["nodes"] if n["type"] != "input")
    # K is what ends the passes: with its count cut off the head jumps back for ever once R >= 2
    K = max(n["id"] for n in net_json["nodes"])
    for c in net_json["connections"]:
        if c["to"] == K and c["from"] != K:
            c["weight"] = 0.0
    uncounted = Network.from_json(net_json)
    assert perfect(task.sample(np.random.default_rng(4), 20, repeats=1), uncounted).all()
    assert not perfect(task.sample(np.random.default_rng(5), 20, repeats=2), uncounted).any()


def test_store_lag_pays_the_trace_terms_for_writes_a_step_late():
    """The trace terms look for a vector's write on its own input step; the recurrent one-head machine writes
    it a step later, so under the default it earns less than its perfect score deserves, and with
    ``store_lag`` 1 every term in full (the two-head machine, which writes at once, the other way round)."""
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    def terms(net_json, width, heads, lag):
        task = make_task("repeat_copy", {"vector_size": 2, "max_repeats": 2, "marker_term": True, "store_lag": lag})
        eps = task.sample(np.random.default_rng(0), 100)
        res = Machine(task, MemorySpec("discrete", width, heads=heads)).run(Network.from_json(net_json), eps.inputs,
                                                                           shaping=True)
        assert task.score(eps, res.outputs).perfect.all()
        return {k: float(np.mean(v)) for k, v in task.shape(eps, res.outputs, res.trace).items()}

    late = recurrent_one_head_solver(2, 2, latch=True)
    at_once = two_head_solver(2, 2)
    assert terms(*late, 1, 1) == pytest.approx({"recall": 1.0, "alignment": 1.0, "writes": 1.0, "marker": 1.0}, abs=1e-9)  # float sums
    lagless = terms(*late, 1, 0)
    assert lagless["alignment"] < 0.25 and lagless["writes"] < 0.8
    assert terms(*at_once, 2, 0) == pytest.approx({"recall": 1.0, "alignment": 1.0, "writes": 1.0, "marker": 1.0}, abs=1e-9)
    assert terms(*at_once, 2, 1)["alignment"] < 0.5
    assert "store_lag" not in make_task("repeat_copy").params()  # the default leaves run identities alone
    with pytest.raises(EntmError, match="store_lag must be 0 or 1"):
        make_task("repeat_copy", {"store_lag": 2})
