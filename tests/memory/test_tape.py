"""The discrete tape against the golden traces and hand-worked cases."""

import json

import numpy as np
import pytest

from entm.errors import EntmError
from entm.memory.tape import TapeMemory, TapeParams
from helpers import TAPE_TRACES

SCENARIOS = json.loads(TAPE_TRACES.read_text())["scenarios"]


def _outputs(step, width):
    return np.array([step["a"] + [step["w"], step["j"]] + step["shift"]], dtype=np.float64)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_golden_traces(scenario):
    width = scenario["width"]
    mem = TapeMemory(TapeParams(width=width, write_mode=scenario["write_mode"],
                                min_jump_similarity=scenario["min_jump_similarity"]))
    state = mem.reset(1, capacity=3)  # small buffer: exercises re-allocation too
    assert np.array_equal(mem.initial_reads(state), np.zeros((1, width)))
    for i, (step, expected) in enumerate(zip(scenario["steps"], scenario["after_each_step"])):
        state, read = mem.step(state, _outputs(step, width))
        np.testing.assert_allclose(state.tape(0), np.array(expected["tape"]), atol=1e-12, err_msg=f"step {i}")
        assert state.focus(0) == expected["head"], f"step {i}"
        np.testing.assert_allclose(read[0], expected["read"], atol=1e-12, err_msg=f"step {i}")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_batch_rows_are_independent(scenario):
    """Each golden scenario run in one batch beside the others' inputs gives the same result."""
    width = scenario["width"]
    mem = TapeMemory(TapeParams(width=width, write_mode=scenario["write_mode"],
                                min_jump_similarity=scenario["min_jump_similarity"]))
    rng = np.random.default_rng(0)
    B = 5
    state = mem.reset(B, capacity=3)
    for step, expected in zip(scenario["steps"], scenario["after_each_step"]):
        x = rng.random((B, width + 5))
        x[2] = _outputs(step, width)[0]
        state, read = mem.step(state, x)
        np.testing.assert_allclose(state.tape(2), np.array(expected["tape"]), atol=1e-12)
        assert state.focus(2) == expected["head"]


def _raw(a, w, j, shift):
    return np.array([list(a) + [w, j] + list(shift)], dtype=np.float64)


LEFT, STAY, RIGHT = (1, 0, 0), (0, 1, 0), (0, 0, 1)


def test_jump_tie_goes_to_first_cell():
    mem = TapeMemory(TapeParams(width=2))
    s = mem.reset(1)
    s, _ = mem.step(s, _raw([1, 0], 1, 0, RIGHT))  # cell0 = [1,0]
    s, _ = mem.step(s, _raw([0, 1], 1, 0, RIGHT))  # cell1 = [0,1]
    s, _ = mem.step(s, _raw([1, 0], 1, 0, RIGHT))  # cell2 = [1,0]
    # focus on cell 3 (blank); jump with key [1,0], no write: cells 0 and 2 tie
    s, r = mem.step(s, _raw([1, 0], 0, 1, STAY))
    assert s.focus(0) == 0
    assert r.tolist() == [[1.0, 0.0]]


def test_shift_ties_take_first_maximum():
    mem = TapeMemory(TapeParams(width=1))
    s = mem.reset(1)
    s, _ = mem.step(s, _raw([0], 0, 0, (0.5, 0.5, 0.2)))  # left wins the tie -> grow left
    assert s.tape(0).shape == (2, 1) and s.focus(0) == 0
    s, _ = mem.step(s, _raw([0], 0, 0, (0.2, 0.5, 0.5)))  # stay wins over right
    assert s.focus(0) == 0


def test_overwrite_mode_threshold():
    mem = TapeMemory(TapeParams(width=2, write_mode="overwrite"))
    s = mem.reset(1)
    s, r = mem.step(s, _raw([0.3, 0.9], 0.49, 0, STAY))
    assert r.tolist() == [[0.0, 0.0]]
    s, r = mem.step(s, _raw([0.3, 0.9], 0.5, 0, STAY))
    assert r.tolist() == [[0.3, 0.9]]


def test_max_cells_stops_growth():
    mem = TapeMemory(TapeParams(width=1, max_cells=3))
    s = mem.reset(1)
    for _ in range(5):
        s, _ = mem.step(s, _raw([1], 1, 0, RIGHT))
    assert s.tape(0).shape == (3, 1)
    assert s.focus(0) == 2
    np.testing.assert_allclose(s.tape(0)[:, 0], [1, 1, 1])


def test_blank_constant_and_positions_relative_to_origin():
    mem = TapeMemory(TapeParams(width=2, blank=0.5))
    s = mem.reset(2, capacity=3)
    for _ in range(10):  # forces several re-allocations
        s, r = mem.step(s, np.array([[0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1]], dtype=float))
    assert r.tolist() == [[0.5, 0.5], [0.5, 0.5]]
    assert s.tape(0).shape == (11, 2) and s.focus(0) == 0
    assert s.tape(1).shape == (11, 2) and s.focus(1) == 10
    assert (s.pos[:, 0] - s.origin).tolist() == [-10, 10]


def test_two_heads_share_one_tape():
    mem = TapeMemory(TapeParams(width=1), heads=2)
    s = mem.reset(1)
    # head 0 writes 1 and moves right; head 1 (same cell) then reads the written value
    x = np.array([[1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]], dtype=float)
    s, r = mem.step(s, x)
    assert r.tolist() == [[0.0, 1.0]]  # head 0 reads the new blank cell, head 1 the written one


def test_bad_params():
    with pytest.raises(EntmError, match="write_mode"):
        TapeParams(width=2, write_mode="replace")
    with pytest.raises(EntmError, match="width"):
        TapeParams(width=0)
    with pytest.raises(EntmError, match="expand_location"):
        TapeParams(width=2, expand_location="yes")
    with pytest.raises(EntmError, match="did_write_threshold"):
        TapeParams(width=2, did_write_threshold=1.5)


def _head(a, w, j=0.0, shift="stay"):
    """One head's outputs for width 2: a, w, j, then the shift one-hot."""
    return [*a, w, j] + {"left": [1, 0, 0], "stay": [0, 1, 0], "right": [0, 0, 1]}[shift]


def test_expand_location_keeps_a_blank_cell_at_the_end():
    """The C# port's expand location, by hand: a write that changes the last cell (old and new values at
    most 0.9 similar) appends a blank cell and the focus stays; the default jump then lands on the blank."""
    mem = TapeMemory(TapeParams(width=2, blank=0.5, min_jump_similarity=0.6, expand_location=True))
    s = mem.reset(1)
    steps = [  # (head outputs, tape after the step, focus, read)
        (_head((1, 0), 1.0), [[1, 0], [0.5, 0.5]], 0, [1, 0]),  # changed the last cell: a blank appended
        (_head((0, 1), 0.0, j=1.0), [[1, 0], [0.5, 0.5]], 1, [0.5, 0.5]),  # best 0.5 < 0.6: to the last cell
        (_head((0, 1), 1.0), [[1, 0], [0, 1], [0.5, 0.5]], 1, [0, 1]),
        (_head((1, 1), 0.1, shift="right"), [[1, 0], [0.1, 1], [0.5, 0.5]], 2, [0.5, 0.5]),  # not the last cell
        (_head((1, 1), 0.1), [[1, 0], [0.1, 1], [0.55, 0.55]], 2, [0.55, 0.55]),  # similarity 0.95: no new cell
        (_head((1, 1), 0.5), [[1, 0], [0.1, 1], [0.775, 0.775], [0.5, 0.5]], 2, [0.775, 0.775]),  # 0.775
        (_head((0, 1), 0.0, j=1.0), [[1, 0], [0.1, 1], [0.775, 0.775], [0.5, 0.5]], 1, [0.1, 1]),  # 0.95: cell 1
    ]
    for x, tape, focus, read in steps:
        s, r = mem.step(s, np.array([x], dtype=float))
        np.testing.assert_allclose(s.tape(0), tape, atol=1e-12)
        assert s.focus(0) == focus
        np.testing.assert_allclose(r[0], read, atol=1e-12)
    # the cap: a full tape gets no new cell; without the option the tape grows only by moving
    capped = TapeMemory(TapeParams(width=2, blank=0.5, expand_location=True, max_cells=2))
    plain = TapeMemory(TapeParams(width=2, blank=0.5))
    for m, cells in ((capped, 2), (plain, 1)):
        s = m.reset(1)
        for x in (_head((1, 0), 1.0), _head((0, 0), 0.0, shift="right"), _head((0, 1), 1.0)):
            s, _ = m.step(s, np.array([x], dtype=float))
        assert len(s.tape(0)) == cells + (m is plain)


@pytest.mark.parametrize("width", [2, 3])
@pytest.mark.parametrize("params", [{}, {"write_mode": "overwrite"}, {"min_jump_similarity": 0.8},
                                    {"max_cells": 4}, {"expand_location": True, "min_jump_similarity": 0.6},
                                    {"expand_location": True, "max_cells": 5, "write_mode": "overwrite"}])
def test_compiled_tape_equals_the_numpy_tape_with_exact_matches(width, params):
    """The compiled tape step (the fused kernels' and the closed loop's) against the numpy tape, on head
    outputs from a coarse grid: many cells equal the key exactly, so the content jump's leftmost-on-tie
    rule is exercised on exact matches (width 2 is the kernel's unrolled scan)."""
    from entm.phenotype.tape_kernel import tape_rows

    rng = np.random.default_rng(11 + width)
    B, T = 32, 60
    mem = TapeMemory(TapeParams(width=width, **params))
    ref = mem.reset(B, capacity=4 * T + 4)  # room for two cells a step on the right (the expand location)
    fast = mem.reset(B, capacity=4 * T + 4)
    reads = np.empty((B, width))
    args = (width, 1, mem.layout.size, mem.layout.kernel_columns(), *mem.kernel_options()[:4])
    exact = 0
    for _ in range(T):
        x = rng.choice([0.0, 0.5, 1.0], size=(B, mem.layout.size))
        ref, ref_reads = mem.step(ref, x)
        tape_rows(fast.cells, fast.lo, fast.hi, fast.pos, x, *args, reads)
        np.testing.assert_array_equal(fast.pos, ref.pos)
        np.testing.assert_array_equal(fast.lo, ref.lo)
        np.testing.assert_array_equal(fast.hi, ref.hi)
        np.testing.assert_array_equal(fast.cells, ref.cells)
        np.testing.assert_array_equal(reads, ref_reads)
        jumped = x[:, mem.layout.column("j")] >= 0.5
        exact += sum(int((np.abs(fast.cells[b, fast.lo[b]:fast.hi[b]] - x[b, :width]).sum(axis=1) == 0).sum() > 1)
                     for b in np.nonzero(jumped)[0])
    assert exact >= 20  # jumps whose key equalled several cells exactly
