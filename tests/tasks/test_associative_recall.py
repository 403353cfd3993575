"""Associative recall: encoding, targets and scoring."""

import numpy as np
import pytest

from entm.errors import EntmError
from entm.tasks import make_task


def test_hand_checked_episode():
    task = make_task("associative_recall", {"vector_size": 2, "item_size": 2})
    eps = task.sample(np.random.default_rng(3), 1, length=3)
    x, y, m = eps.inputs[0], eps.targets[0], eps.mask[0]
    assert eps.steps[0] == 3 * 3 + 2 * 2 + 3 == x.shape[0] == 16
    q = int(eps.info["query"][0])
    assert eps.lengths[0] == 3 and q in (0, 1)
    # delimiters before items 0, 1, 2 at steps 0, 3, 6; the items' vectors after them
    for k in range(3):
        assert x[3 * k].tolist() == [0, 0, 1, 0]
        assert not x[3 * k + 1:3 * k + 3, 2:].any()
    items = [x[3 * k + 1:3 * k + 3, :2] for k in range(3)]
    assert x[9].tolist() == [0, 0, 0, 1] and x[12].tolist() == [0, 0, 0, 1]  # query delimiters
    assert np.array_equal(x[10:12, :2], items[q]) and not x[10:12, 2:].any()
    assert not x[13:].any()  # idle step and the output steps
    assert m.tolist() == [False] * 14 + [True] * 2
    assert np.array_equal(y[14:16], items[q + 1])
    assert not y[:14].any()


def test_a_worked_example_by_hand():
    """Seed 3 gives this episode; every number written out."""
    task = make_task("associative_recall", {"vector_size": 2, "item_size": 2})
    eps = task.sample(np.random.default_rng(3), 1, length=3)
    bits = eps.inputs[0, :, :2]
    assert bits[[1, 2, 4, 5, 7, 8]].tolist() == [[1, 0], [0, 0], [0, 1], [1, 1], [0, 0], [0, 0]]
    assert eps.info["query"][0] == 0 and bits[10:12].tolist() == [[1, 0], [0, 0]]
    assert eps.targets[0, 14:16].tolist() == [[0, 1], [1, 1]]


def test_batch_shapes_and_query_positions():
    task = make_task("associative_recall")
    eps = task.sample(np.random.default_rng(0), 500)
    K, q = eps.lengths, eps.info["query"]
    assert eps.inputs.shape[2] == task.num_inputs == 8 and eps.targets.shape[2] == task.num_outputs == 6
    assert K.min() == 2 and K.max() == 6
    assert np.array_equal(eps.steps, 4 * K + 9) and eps.inputs.shape[1] == eps.steps.max()
    assert (q >= 0).all() and (q <= K - 2).all() and (q == K - 2).any() and (q == 0).any()
    assert (eps.mask.sum(axis=1) == 3).all()
    assert np.array_equal(eps.inputs[:, :, 6].sum(axis=1), K)  # one delimiter per item
    assert (eps.inputs[:, :, 7].sum(axis=1) == 2).all()
    for b in range(0, 500, 41):
        item = lambda k: eps.inputs[b, 4 * k + 1:4 * k + 4, :6]  # noqa: E731
        assert np.array_equal(eps.inputs[b, 4 * K[b] + 1:4 * K[b] + 4, :6], item(q[b]))
        assert np.array_equal(eps.targets[b, eps.mask[b]], item(q[b] + 1))


def test_sweep_lengths_and_bad_parameters():
    task = make_task("associative_recall")
    assert task.generalization_lengths == (6, 10, 15, 20)
    eps = task.sample(np.random.default_rng(1), 3, length=20)
    assert (eps.lengths == 20).all() and eps.inputs.shape[1] == 89
    with pytest.raises(EntmError, match="length must be at least 2"):
        task.sample(np.random.default_rng(0), 2, length=1)
    with pytest.raises(EntmError, match="min_items must be at least 2"):
        make_task("associative_recall", {"min_items": 1})
    with pytest.raises(EntmError, match="max_items"):
        make_task("associative_recall", {"min_items": 5, "max_items": 3})


def test_without_the_last_query_only_a_lookup_is_rewarded():
    full = make_task("associative_recall", {"min_items": 3})
    task = make_task("associative_recall", {"min_items": 3, "last_query": False})
    assert full.params() == make_task("associative_recall", {"min_items": 3, "last_query": True}).params()
    assert task.params()["last_query"] is False and "last_query" not in full.params()
    eps = task.sample(np.random.default_rng(0), 2000)
    K, q = eps.lengths, eps.info["query"]
    assert (q >= 0).all() and (q <= K - 3).all() and (q == K - 3).any() and (q == 0).any()
    last = np.stack([eps.inputs[b, 4 * K[b] - 3:4 * K[b], :6] for b in range(len(K))])
    target = np.stack([eps.targets[b, eps.mask[b]] for b in range(len(K))])
    assert not np.array_equal(last, target)  # the last item stored is never the answer (up to equal items)
    assert (last == target).all(axis=(1, 2)).mean() < 0.01
    with pytest.raises(EntmError, match="last_query=false needs min_items >= 3"):
        make_task("associative_recall", {"last_query": False})
    with pytest.raises(EntmError, match="length must be at least 3"):
        task.sample(np.random.default_rng(0), 2, length=2)
    with pytest.raises(EntmError, match="last_query must be true or false"):
        make_task("associative_recall", {"min_items": 3, "last_query": 2})
    staged = make_task("associative_recall", {"stages": "last_query=0 min_items=3"})
    with pytest.raises(EntmError, match="is not true or false"):
        make_task("associative_recall", {"stages": "last_query=maybe min_items=3"})
    from entm.tasks.curriculum import parse
    assert parse(staged).stages == ({"last_query": False, "min_items": 3}, {})


def test_near_outputs_score_partly():
    task = make_task("associative_recall")
    eps = task.sample(np.random.default_rng(2), 10)
    y = eps.targets.copy()
    y[3, eps.mask[3]] = np.abs(y[3, eps.mask[3]] - 0.1)  # |t - y| = 0.1: 0.6 per bit, still right
    near = task.score(eps, y)
    assert near.score[3] == pytest.approx(0.6) and near.perfect[3]
    assert np.allclose(np.delete(near.score, 3), 1.0)


def _whole_item_solver(V: int = 6, I: int = 3) -> tuple[int, dict]:
    """A hand-built associative-recall machine for the discrete tape (network JSON, no hidden node): one
    cell per item, of width (I + 2) V in blocks of V.  Every step writes [bits, read block 0 .. I] (a shift
    register: after an item's vectors its cell holds them newest first); delimiters and query markers shift
    right, after the push.  The second query marker's write is the query item pushed as the items were, so
    its content jump lands on the queried item's cell; the shift moves to the next item, and the outputs read
    the last block while the pushes bring its vectors there in order.  Returns (width, network JSON)."""
    B, BIG = I + 2, 30.0
    M = B * V
    bits, delim, query = [-(1 + j) for j in range(V)], -(V + 1), -(V + 2)
    read = [-(V + 3 + c) for c in range(M)]
    out, a = list(range(V)), [V + c for c in range(M)]
    w, jump, left, stay, right = range(V + M, V + M + 5)
    bias = {**{k: -BIG / 2 for k in out + a + [jump, left, right]}, w: BIG / 2, stay: 0.0}
    links = ([(bits[j], a[j], BIG) for j in range(V)]
             + [(read[k * V + j], a[(k + 1) * V + j], BIG) for k in range(B - 1) for j in range(V)]
             + [(read[(B - 1) * V + j], out[j], BIG) for j in range(V)]
             + [(query, jump, BIG), (delim, right, BIG), (query, right, BIG)])
    inputs, n_out = bits + [delim, query] + read, V + M + 5

    def node(key, kind):
        return {"id": key, "type": kind, "activation": {"name": "identity" if kind == "input" else "sigmoid",
                                                        "custom": False},
                "aggregation": {"name": "none" if kind == "input" else "sum", "custom": False},
                "bias": bias.get(key, 0.0), "response": 1.0}

    return M, {"format_version": "1.0", "network_type": "feedforward",
               "metadata": {"created_timestamp": "2026-12-01T00:00:00Z"},
               "topology": {"num_inputs": len(inputs), "num_outputs": n_out, "input_keys": inputs,
                            "output_keys": list(range(n_out))},
               "nodes": [node(k, "output") for k in range(n_out)] + [node(k, "input") for k in inputs],
               "connections": [{"from": s, "to": d, "weight": x, "enabled": True} for s, d, x in links]}


def test_a_tape_of_whole_items_solves_recall_at_any_list_length():
    """With one vector per cell the content jump cannot always find the queried item (docs/results.md);
    with a whole item per cell a 39-link feedforward network is perfect from 2 to 50 items, and the same
    machine one vector per cell narrower is not."""
    from entm.champion import evaluate_lengths
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    task = make_task("associative_recall")
    width, solver = _whole_item_solver()
    net = Network.from_json(solver)
    assert width == 30 and net.size() == (41, 39)
    scores = evaluate_lengths(Machine(task, MemorySpec("discrete", width)), net, [2, 4, 6, 10, 20, 50],
                              episodes=100, seed=5)
    assert all(s["perfect"] == 1.0 and s["bit_errors"] == 0 for s in scores.values())
    _, short = _whole_item_solver(I=2)  # a cell too narrow for the item: the jump key misses its first vector
    narrow = evaluate_lengths(Machine(task, MemorySpec("discrete", 24)), Network.from_json(short), [6], episodes=100,
                              seed=5)
    assert narrow["6"]["perfect"] < 0.5


def test_the_items_shaping_rewards_whole_item_cells_and_the_lookup():
    """``shaping=items``: the whole-item solver earns every term; without its jump on the query markers it
    still stores whole items but no longer finds or reads the answer's cell; jumping without the shift after
    it finds the queried item's cell and reads the wrong one; a head parked on the last item's cell earns
    found and lookup exactly when the queried item is the next-to-last, never by being near; a tape that
    moves on every step holds no item in a cell of its own; the fitness is the mean of the score and the
    four terms."""
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    task = make_task("associative_recall", {"shaping": "items"})
    width, solver = _whole_item_solver()
    machine = Machine(task, MemorySpec("discrete", width))
    eps = task.sample(np.random.default_rng(4), 40)

    def terms(js):
        res = machine.run(Network.from_json(js), eps.inputs, shaping=True)
        t = task.shape(eps, res.outputs, res.trace)
        assert set(t) == {"recall", "items", "found", "lookup"}
        fit = task.combine(task.score(eps, res.outputs).score, t)
        return {k: float(v.mean()) for k, v in t.items()}, float(fit.mean())

    best, fit = terms(solver)
    assert best == {"recall": 1.0, "items": 1.0, "found": 1.0, "lookup": 1.0} and fit == 1.0
    jump = solver["topology"]["output_keys"][6 + width + 1]  # outputs: 6 bits, the write vector, w, jump
    right = jump + 3  # then left, stay, right
    query = -(6 + 2)
    no_jump = {**solver, "connections": [c for c in solver["connections"] if c["to"] != jump]}
    blind, _ = terms(no_jump)
    assert blind["items"] == 1.0 and blind["found"] == blind["lookup"] == 0.0
    no_shift = {**solver, "connections": [c for c in solver["connections"] if (c["from"], c["to"]) != (query, right)]}
    stuck, _ = terms(no_shift)
    assert stuck["items"] == 1.0 and stuck["found"] == 1.0 and stuck["lookup"] == 0.0
    # neither: the head stays on the last item's cell, the answer's exactly when the next-to-last is queried
    kept = [c for c in no_jump["connections"] if (c["from"], c["to"]) != (query, right)]
    parked, _ = terms({**no_jump, "connections": kept})
    shortcut = np.mean(eps.info["query"] == eps.lengths - 2)
    assert parked["items"] == 1.0 and parked["found"] == parked["lookup"] == pytest.approx(shortcut) and shortcut < 0.5
    moving, _ = terms({**solver, "nodes": [dict(n, bias=30.0) if n["id"] == right else n for n in solver["nodes"]]})
    # ... it shifts right on every step: one vector per cell
    assert moving["items"] == moving["found"] == moving["lookup"] == 0.0
    with pytest.raises(EntmError, match="expected one of trace, none, readout, items"):
        make_task("associative_recall", {"shaping": "item"})
    with pytest.raises(EntmError, match="expected one of trace, none, readout$"):
        make_task("repeat_copy", {"shaping": "items"})


def test_the_score_weight_lets_the_shaping_terms_lead():
    """``score_weight`` w: the fitness is (w score + the terms) / (w + their number).  At 1 (the default, left
    out of a run's parameters) the plain mean; the whole-item solver with its output links cut still holds
    and reads the answers (every term 1) but outputs nothing right, so the lower w, the closer its fitness
    to 1; w = 0 is the terms alone.  Bad weights are one-line errors."""
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network

    width, solver = _whole_item_solver()
    out_keys = set(solver["topology"]["output_keys"][:6])
    cut = {**solver, "connections": [c for c in solver["connections"] if c["to"] not in out_keys]}
    eps = make_task("associative_recall").sample(np.random.default_rng(7), 40)
    fits = {}
    for w in (1.0, 0.25, 0.0):
        task = make_task("associative_recall", {"shaping": "items", "score_weight": w})
        res = Machine(task, MemorySpec("discrete", width)).run(Network.from_json(cut), eps.inputs, shaping=True)
        score = task.score(eps, res.outputs).score
        terms = task.shape(eps, res.outputs, res.trace)
        assert {k: float(v.mean()) for k, v in terms.items()} == {"recall": 1.0, "items": 1.0, "found": 1.0,
                                                                  "lookup": 1.0}
        assert score.mean() < 0.6
        fit = task.combine(score, terms)
        np.testing.assert_allclose(fit, (w * score + 4.0) / (w + 4.0))
        fits[w] = float(fit.mean())
    plain = make_task("associative_recall", {"shaping": "items"})
    assert fits[1.0] == pytest.approx(float(plain.combine(score, terms).mean()))
    assert fits[1.0] < fits[0.25] < fits[0.0] == 1.0
    assert "score_weight" not in plain.nondefault_dynamics()
    for bad, msg in (({"score_weight": -1}, "finite number >= 0"), ({"score_weight": float("nan")}, "finite"),
                     ({"score_weight": True}, "finite number"), ({"score_weight": 0.5, "shaping": "none"},
                                                                 "needs shaping")):
        with pytest.raises(EntmError, match=msg):
            make_task("associative_recall", bad)


def test_the_probe_finds_the_answer_in_the_reads_of_a_machine_whose_outputs_are_unwired(capsys, tmp_path):
    """``entm evaluate --probe`` (``evaluate_lengths(probe=True)``): a linear readout fitted to the inputs and
    reads.  The whole-item machine is perfect with or without its output links cut (its cells hold the answer
    either way, where its own outputs then get nothing right); with the bits no longer written into its cells
    the reads hold no answer and the probe gets none.  On the command line the probe's two figures are
    columns and JSON keys; a task without bit targets is a one-line error."""
    import json

    from entm.champion import evaluate_lengths
    from entm.machine import Machine
    from entm.memory import MemorySpec
    from entm.phenotype import Network
    from helpers import run_main

    task = make_task("associative_recall")
    width, solver = _whole_item_solver()
    machine = Machine(task, MemorySpec("discrete", width))
    outputs = set(range(6))

    def cut(drop):
        return Network.from_json({**solver, "connections": [c for c in solver["connections"] if not drop(c)]})

    whole = evaluate_lengths(machine, Network.from_json(solver), [6, 20], episodes=40, seed=3, probe=True)
    unwired = evaluate_lengths(machine, cut(lambda c: c["to"] in outputs), [6, 20], episodes=40, seed=3, probe=True)
    blank = evaluate_lengths(machine, cut(lambda c: c["from"] in range(-6, 0)), [6], episodes=40, seed=3, probe=True)
    for L in ("6", "20"):
        assert whole[L]["perfect"] == whole[L]["probe_perfect"] == 1.0 and whole[L]["probe_bit_errors"] == 0
        assert unwired[L]["perfect"] == 0.0 and unwired[L]["probe_perfect"] == 1.0
    assert blank["6"]["probe_perfect"] == 0.0 and blank["6"]["probe_bit_errors"] > 5
    path = tmp_path / "champion.json"
    meta = {"task": "associative_recall", "task_params": task.params(), "memory": "discrete",
            "memory_params": {"width": width}, "heads": 1}
    path.write_text(json.dumps({**solver, "metadata": {**solver["metadata"], "entm": meta}}))
    status, out, _ = run_main(capsys, "evaluate", path, "--lengths", "6", "--episodes", "20", "--probe", "--json")
    v = json.loads(out)["lengths"]["6"]
    assert status == 0 and v["probe_perfect"] == 1.0 and v["probe_bit_errors"] == 0.0
    status, out, _ = run_main(capsys, "evaluate", path, "--lengths", "6", "--episodes", "20", "--probe")
    assert status == 0 and "probe perfect" in out.splitlines()[1]
    ngrams = make_task("dynamic_ngrams")  # its targets are bits, but it is scored in bits of cost, not perfect
    with pytest.raises(EntmError, match="--probe fits a readout of bit targets"):
        evaluate_lengths(Machine(ngrams, MemorySpec("discrete", 4)), None, [10], probe=True)
