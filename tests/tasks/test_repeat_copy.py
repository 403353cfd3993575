"""Repeat copy: encoding, targets, scoring and shaping."""

import numpy as np
import pytest

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
