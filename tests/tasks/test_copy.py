"""The copy task: encoding, scoring and fitness shaping."""

import numpy as np
import pytest

from entm.champion import load_champion
from entm.errors import EntmError
from entm.tasks import TASKS, make_task


def test_registry_entries_build_with_defaults():
    for name, cls in TASKS.items():
        t = make_task(name)
        assert t.name == name
        assert t.num_inputs == len(t.input_names) and t.num_outputs == len(t.output_names)
        assert t.default_memory_width >= 1


def test_episode_encoding_by_hand():
    task = make_task("copy", {"vector_size": 3, "min_length": 1, "max_length": 4})
    eps = task.sample(np.random.default_rng(5), 6)
    for b in range(6):
        L = int(eps.lengths[b])
        x, y, m = eps.inputs[b], eps.targets[b], eps.mask[b]
        assert eps.steps[b] == 2 * L + 3
        assert x[0].tolist() == [0, 0, 0, 1, 0]  # start
        assert x[L + 1].tolist() == [0, 0, 0, 0, 1]  # delimiter
        assert not x[L + 2:].any()  # idle and output steps: zero input
        assert np.array_equal(np.nonzero(m)[0], np.arange(L + 3, 2 * L + 3))
        for i in range(L):
            vec = x[1 + i, :3]
            assert x[1 + i, 3:].tolist() == [0, 0]
            assert np.array_equal(y[L + 3 + i], vec)


def test_fixed_length_and_bad_parameters():
    task = make_task("copy", {"vector_size": 2})
    eps = task.sample(np.random.default_rng(0), 4, length=7)
    assert (eps.lengths == 7).all() and eps.inputs.shape == (4, 17, 4)
    with pytest.raises(EntmError, match="length"):
        task.sample(np.random.default_rng(0), 4, length=0)
    with pytest.raises(EntmError, match="max_length"):
        make_task("copy", {"min_length": 5, "max_length": 2})
    with pytest.raises(EntmError, match="no parameter 'size'"):
        make_task("copy", {"size": 2})
    with pytest.raises(EntmError, match="unknown task"):
        make_task("kopy")


def test_strict_close_score():
    task = make_task("copy", {"vector_size": 2})
    eps = task.sample(np.random.default_rng(1), 50)
    perfect = task.score(eps, eps.targets)
    assert np.allclose(perfect.score, 1.0) and perfect.perfect.all() and (perfect.bit_errors == 0).all()
    zeros = task.score(eps, np.zeros_like(eps.targets))
    # 0 output: full credit on zero bits, none on one bits -> about 0.5
    assert 0.4 < zeros.score.mean() < 0.6
    halves = task.score(eps, np.full_like(eps.targets, 0.5))
    assert np.allclose(halves.score, 0.0)
    # |t - y| = 0.1 -> 1 - 0.1/0.25 = 0.6 per bit, and no wrong bit
    near = task.score(eps, np.abs(eps.targets - 0.1))
    assert np.allclose(near.score, 0.6) and near.perfect.all()
    # one wrong bit in episode 0
    y = eps.targets.copy()
    t0 = np.nonzero(eps.mask[0])[0][0]
    y[0, t0, 0] = 1 - y[0, t0, 0]
    one = task.score(eps, y)
    assert one.bit_errors[0] == 1 and not one.perfect[0] and one.perfect[1:].all()
    nan = task.score(eps, np.full_like(eps.targets, np.nan))
    assert np.allclose(nan.score, 0.0) and not nan.perfect.any()


def test_shaping_terms_of_the_hand_built_copier(fixtures):
    champ = load_champion(fixtures / "copy_handbuilt_v2.json")
    task = champ.task
    eps = task.sample(np.random.default_rng(2), 50)
    run = champ.machine.run(champ.network, eps.inputs, shaping=True)
    sc = task.score(eps, run.outputs)
    terms = task.shaping_terms(eps, run.trace)
    assert set(terms) == {"recall", "alignment", "writes", "jumps"}
    for k, v in terms.items():
        assert v == pytest.approx(1.0, abs=1e-9), k
    assert task.fitness(eps, run.outputs, sc, run.trace).mean() == pytest.approx(1.0, abs=1e-9)


def test_shaping_ranks_a_broken_copier_lower(fixtures):
    """The copier without its jump: writes stay perfect, alignment and recall collapse."""
    champ = load_champion(fixtures / "copy_handbuilt_v2.json")
    data = champ.data
    import copy as _copy

    from entm.champion import champion_from_dict

    broken = _copy.deepcopy(data)
    j_out = 2 + 5 + 1  # V task outputs + M write values + w -> j
    broken["connections"] = [c for c in broken["connections"] if c["to"] != j_out]
    bad = champion_from_dict(broken)
    task = champ.task
    eps = task.sample(np.random.default_rng(3), 50)
    run = bad.machine.run(bad.network, eps.inputs, shaping=True)
    terms = task.shaping_terms(eps, run.trace)
    assert terms["writes"] == pytest.approx(1.0)
    assert terms["jumps"] < 0.6 and terms["alignment"] < 0.3 and terms["recall"] < 0.3
    sc = task.score(eps, run.outputs)
    assert task.fitness(eps, run.outputs, sc, run.trace).mean() < 0.7


def test_shaping_none_is_the_score(fixtures):
    champ = load_champion(fixtures / "copy_handbuilt_v2.json", task_overrides={"shaping": "none"})
    eps = champ.task.sample(np.random.default_rng(4), 10)
    run = champ.machine.run(champ.network, eps.inputs, shaping=True)
    sc = champ.task.score(eps, run.outputs)
    assert np.array_equal(champ.task.fitness(eps, run.outputs, sc, run.trace), sc.score)
    noisy = run.outputs * 0.9 + 0.05
    sc2 = champ.task.score(eps, noisy)
    assert np.array_equal(champ.task.fitness(eps, noisy, sc2, run.trace), sc2.score)


def test_outputs_term_of_the_differentiable_memory_is_graded():
    """Without a jump trace (the differentiable memory) the fourth term is `outputs`: the recall measure on
    output j against bit j, rising as the outputs follow the targets, before any bit is right."""
    from entm.machine import Trace

    task = make_task("copy", {"vector_size": 2, "shaping": "outputs"})
    eps = task.sample(np.random.default_rng(5), 20)
    B, T = eps.inputs.shape[:2]
    z = np.zeros((B, T, 1), dtype=np.int64)
    soft = Trace(reads=np.zeros((B, T, 5)), write_pos=z, write_strength=np.zeros((B, T, 1)), read_pos=z)
    hard = Trace(reads=soft.reads, write_pos=z, write_strength=soft.write_strength, read_pos=z,
                 jumps=np.zeros((B, T, 1), dtype=bool))
    assert "outputs" not in task.shape(eps, eps.targets, hard) and "jumps" in task.shape(eps, eps.targets, hard)
    term = {}
    for amp in (0.0, 0.05, 0.2, 1.0):
        outputs = 0.1 + amp * eps.targets  # below 0.5 (every 1 bit wrong) until amp > 0.4
        term[amp] = task.shape(eps, outputs, soft)["outputs"].mean()
    assert term[0.0] == 0.0 and 0 < term[0.05] < term[0.2] < term[1.0] == pytest.approx(1.0)
    swapped = task.shape(eps, eps.targets[:, :, ::-1], soft)["outputs"].mean()
    assert swapped < 0.2  # bit j must come out on output j
    assert task.shape(eps, 1.0 - eps.targets, soft)["outputs"].mean() == 0.0  # ... and not inverted
    assert "outputs" not in make_task("copy", {"vector_size": 2}).shape(eps, eps.targets, soft)  # opt-in


def test_signed_shaping_gives_no_recall_for_bits_stored_inverted():
    """``shaping = "signed"``: the recall term counts a read channel only where it follows the bit; the
    default counts an inverted channel as fully as a plain one."""
    from entm.machine import Trace

    signed, trace = make_task("copy", {"vector_size": 2, "shaping": "signed"}), make_task("copy", {"vector_size": 2})
    eps = signed.sample(np.random.default_rng(6), 20)
    B, T = eps.inputs.shape[:2]
    z = np.zeros((B, T, 1), dtype=np.int64)
    extra = np.full((B, T, 1), 0.7)  # a constant channel beside the bits carries nothing
    for reads, expected in ((eps.targets, 1.0), (1.0 - eps.targets, 0.0)):
        tr = Trace(reads=np.concatenate([reads, extra], axis=2), write_pos=z, write_strength=np.zeros((B, T, 1)),
                   read_pos=z)
        assert signed.shape(eps, eps.targets, tr)["recall"].mean() == pytest.approx(expected)
        assert trace.shape(eps, eps.targets, tr)["recall"].mean() == pytest.approx(1.0)
    mixed = np.concatenate([1.0 - eps.targets[:, :, :1], eps.targets[:, :, 1:]], axis=2)  # bit 0 inverted
    tr = Trace(reads=mixed, write_pos=z, write_strength=np.zeros((B, T, 1)), read_pos=z)
    assert signed.shape(eps, eps.targets, tr)["recall"].mean() == pytest.approx(0.5, abs=0.05)  # chance: bit 1


def test_ones_puts_an_all_ones_vector_into_that_share_of_the_training_episodes():
    """``ones = P`` (opt-in): P of the episodes drawn with random lengths hold one all-ones vector, input and
    target alike; at 0 the draws are the task's own; episodes of a given length are never changed."""
    plain, none = make_task("copy", {"vector_size": 8}), make_task("copy", {"vector_size": 8, "ones": 0.0})
    a, b = plain.sample(np.random.default_rng(3), 40), none.sample(np.random.default_rng(3), 40)
    assert np.array_equal(a.inputs, b.inputs) and "ones" not in none.params()

    def with_ones(eps):
        L = eps.lengths
        hit = np.zeros(eps.batch, dtype=bool)
        for e in range(eps.batch):
            vecs = eps.inputs[e, 1:1 + L[e], :8]
            assert np.array_equal(eps.targets[e, L[e] + 3:2 * L[e] + 3], vecs)  # the targets are the inputs
            hit[e] = (vecs == 1).all(axis=1).any()
        return hit

    always = make_task("copy", {"vector_size": 8, "ones": 1.0})
    assert with_ones(always.sample(np.random.default_rng(3), 200)).all()
    share = with_ones(make_task("copy", {"vector_size": 8, "ones": 0.3}).sample(np.random.default_rng(4), 2000))
    assert 0.29 < share.mean() < 0.37  # 0.3, and random bits' own 11111111 (~2 %)
    assert with_ones(always.sample(np.random.default_rng(3), 200, length=5)).mean() < 0.1
    assert make_task("copy", {"vector_size": 8, "ones": 0.5}).params()["ones"] == 0.5
    for bad in (-0.1, 1.5):
        with pytest.raises(EntmError, match="ones must be a share"):
            make_task("copy", {"ones": bad})


def test_bits_shaping_counts_outputs_on_the_right_side_whatever_their_distance_from_half():
    """``shaping = "bits"``: ``trace``'s terms plus ``bits``, 2a - 1 (at least 0) for the share a of scored bits
    on the right side of 0.5: 1 for outputs a hair on the right side (which strict close scores 0), 0 for
    inverted ones, and a genome right on 98 % of its bits is fitter than a constant-output one with perfect
    trace terms."""
    from entm.machine import Trace

    task = make_task("copy", {"vector_size": 4, "shaping": "bits"})
    eps = task.sample(np.random.default_rng(2), 30)
    near = 0.45 + 0.1 * eps.targets  # right, 0.05 from 0.5
    assert np.array_equal(task.bits(eps, near), np.ones(30)) and not task.score(eps, near).score.any()
    assert not task.bits(eps, 1.0 - eps.targets).any()
    wrong_one = near.copy()
    first = np.nonzero(eps.mask[0])[0][0]
    wrong_one[0, first, 0] = 1.0 - wrong_one[0, first, 0]  # one bit of episode 0 wrong
    assert task.bits(eps, wrong_one)[0] == pytest.approx(2 * (1 - 1 / (4 * eps.lengths[0])) - 1)
    B, T = eps.inputs.shape[:2]
    z = np.zeros((B, T, 1), dtype=np.int64)
    tr = Trace(reads=eps.targets, write_pos=z, write_strength=np.zeros((B, T, 1)), read_pos=z)
    terms = task.shape(eps, near, tr)
    assert set(terms) == {"recall", "alignment", "writes", "bits"} and terms["bits"].mean() == 1.0
    assert "bits" not in make_task("copy", {"vector_size": 4}).shape(eps, near, tr)
