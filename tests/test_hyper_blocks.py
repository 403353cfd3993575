"""The hyper encoding's blocks (``HyperParams.blocks``, ``--hyper-blocks``): a memory vector as several
aligned blocks of the task's bits, the CPPN inputs that tell the blocks apart, and a substrate that paints
a whole-item associative-recall machine at any vector size."""

import numpy as np
import pytest

from entm.champion import evaluate_lengths
from entm.errors import EntmError
from entm.hyper import HyperParams, Substrate
from entm.machine import Machine
from entm.memory import MemorySpec
from entm.phenotype import Network
from entm.tasks import make_task


def _recall_substrate(V: int, blocks: int = 5, scale: float = 30.0):
    task = make_task("associative_recall", {"vector_size": V})
    spec = MemorySpec("discrete", blocks * V)
    return task, spec, Substrate(task, spec, HyperParams(weight_scale=scale, blocks=blocks))


def test_one_block_is_the_layout_without_blocks():
    task = make_task("copy", {"vector_size": 4})
    spec = MemorySpec("discrete", 7)
    old, one = Substrate(task, spec), Substrate(task, spec, {"blocks": 1})
    assert one.cppn_inputs == old.cppn_inputs and "block_offset" not in one.cppn_inputs
    assert np.array_equal(one.queries, old.queries) and one.coordinates() == old.coordinates()
    assert HyperParams(blocks=1).as_dict() == HyperParams().as_dict() and "blocks" not in HyperParams().as_dict()
    assert HyperParams.from_dict({"blocks": 3}).as_dict()["blocks"] == 3


def test_blocks_split_memory_vectors_and_their_queries():
    _, _, sub = _recall_substrate(2, blocks=3)
    ins = sub.coordinates()["inputs"]
    assert ins == [("bits", 0), ("bits", 1), ("delimiter", None), ("query", None)] + [("read0", j) for j in (0, 1)] * 3
    assert [n.block for n in sub.inputs] == [0, 0, 0, 0, 0, 0, 1, 1, 2, 2]
    assert sub.vector_in == ["bits", "read0"] and sub.cppn_inputs[-3:] == ["src_block", "dst_block", "block_offset"]
    # one query row per source kind, then per vector kind x source block x target block the 3 offsets
    assert sub.queries.shape[0] == 5 + 2 * 3 * 3 * 3
    rows = sub.queries[5:]
    assert sorted({tuple(r[-3:]) for r in rows}) == sorted({(bs / 2, bd / 2, bs - bd) for bs in range(3)
                                                             for bd in range(3)})


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_blocks_and_a_memory_too_narrow_are_one_line_errors(bad):
    with pytest.raises(EntmError, match="blocks must be a positive integer"):
        HyperParams(blocks=bad)
    task = make_task("associative_recall")
    with pytest.raises(EntmError, match=r"hyper blocks 5: .* width 29 must be at least 30 \(--width\)"):
        Substrate(task, MemorySpec("discrete", 29), {"blocks": 5})


def _emulated_cppn(sub: Substrate, blocks: dict | None = None) -> np.ndarray:
    """What a CPPN that paints the whole-item recall machine outputs at the substrate's queries (1, Q, outputs):
    bits -> write block 0, read block b -> write block b + 1 (block offset -1), the last read block -> the
    outputs, each aligned; the write always on, a jump on the query marker, a right shift on both markers.
    ``blocks``: {"bits0", "push", "out"} -> (input name, value) to read those three block conditions off other
    inputs (default: the blocks' coordinates)."""
    q, col = sub.queries, {n: i for i, n in enumerate(sub.cppn_inputs)}
    src = {k: q[:, col[f"src={k}"]] == 1 for k in sub.source_kinds}
    aligned = q[:, col["aligned"]] == 1
    y = np.zeros((1, len(q), sub.num_cppn_outputs))
    at = {"bits0": ("dst_block", 0), "push": ("block_offset", -1), "out": ("src_block", 1), **(blocks or {})}
    block = {k: q[:, col[name]] == v for k, (name, v) in at.items()}
    values = {"bits->write0": src["bits"] & aligned & block["bits0"],
              "read0->write0": src["read0"] & aligned & block["push"],
              "read0->out": src["read0"] & aligned & block["out"],
              "scalars->write0": -0.5 * src["bias"], "scalars->out": -0.5 * src["bias"],
              "->write0.w": 0.5 * src["bias"], "->jump0": src["query"] - 0.5 * src["bias"],
              "->shift0.left": -0.5 * src["bias"],
              "->shift0.right": src["delimiter"] + src["query"] - 0.5 * src["bias"]}
    for name, v in values.items():
        y[0, :, sub.cppn_outputs.index(name)] = v
    return y


@pytest.mark.parametrize("V", [6, 8])
def test_blocks_paint_a_whole_item_recall_machine_at_any_vector_size(V):
    """One set of CPPN values paints the hand-built recall machine (tests/tasks/test_associative_recall.py)
    at 6 and at 8 bits: 3 regularities of the blocks, perfect from 2 to 20 items."""
    task, spec, sub = _recall_substrate(V)
    y = _emulated_cppn(sub)
    net = Network.from_genome(sub.controllers(y)[0].as_genome(), sub.controller_config().genome_config)
    assert net.size()[1] == 6 * V + 3  # bits, 4 pushed blocks and the outputs (V links each), jump, 2 shifts
    scores = evaluate_lengths(Machine(task, spec), net, [2, 6, 10, 20], episodes=60, seed=2)
    assert all(s["perfect"] == 1.0 for s in scores.values())
    # without the block inputs (block_offset read as 0 everywhere) no push: the machine fails
    flat = y.copy()
    flat[0, :, sub.cppn_outputs.index("read0->write0")] = 0
    broken = Network.from_genome(sub.controllers(flat)[0].as_genome(), sub.controller_config().genome_config)
    assert evaluate_lengths(Machine(task, spec), broken, [6], episodes=60, seed=2)["6"]["perfect"] < 0.2


def test_block_onehot_gives_the_cppn_each_block_as_an_input():
    """``block_onehot`` adds src_block0 .. and dst_block0 .. (the link's source and target block, one-hot) after
    the other inputs: "the bits go to write block 0 only" and "the outputs read the last block only" are then
    one input each, and paint the whole-item recall machine; the other inputs stay as they were."""
    task, spec, sub = _recall_substrate(6)
    assert "block_onehot" not in HyperParams(blocks=5).as_dict()
    hot = Substrate(task, spec, HyperParams(weight_scale=30.0, blocks=5, block_steps=True, block_onehot=True))
    names = [f"src_block{b}" for b in range(5)] + [f"dst_block{b}" for b in range(5)]
    assert hot.cppn_inputs == sub.cppn_inputs + ["block_same", "block_next"] + names
    assert HyperParams.from_dict(hot.hyper.as_dict()) == hot.hyper
    q, col = hot.queries, {n: i for i, n in enumerate(hot.cppn_inputs)}
    assert np.array_equal(q[:, :len(sub.cppn_inputs)], sub.queries)
    pair = np.arange(len(q)) >= len(hot.source_kinds)
    for b in range(5):  # exactly one source and one target block per vector pair, none elsewhere
        assert np.array_equal(q[:, col[f"src_block{b}"]] == 1, pair & (q[:, col["src_block"]] == b / 4))
        assert np.array_equal(q[:, col[f"dst_block{b}"]] == 1, pair & (q[:, col["dst_block"]] == b / 4))
    y = _emulated_cppn(hot)
    bits0 = q[:, col["src=bits"]] * q[:, col["aligned"]] * q[:, col["dst_block0"]]
    out4 = q[:, col["src=read0"]] * q[:, col["aligned"]] * q[:, col["src_block4"]]
    assert np.array_equal(y[0, :, hot.cppn_outputs.index("bits->write0")], bits0)
    assert np.array_equal(y[0, :, hot.cppn_outputs.index("read0->out")], out4)
    net = Network.from_genome(hot.controllers(y)[0].as_genome(), hot.controller_config().genome_config)
    scores = evaluate_lengths(Machine(task, spec), net, [3, 10], episodes=40, seed=4)
    assert all(s["perfect"] == 1.0 for s in scores.values())
    with pytest.raises(EntmError, match="block_onehot needs blocks >= 2"):
        HyperParams(block_onehot=True)
    with pytest.raises(EntmError, match="block_onehot must be true or false"):
        HyperParams(blocks=5, block_onehot="yes")


def test_an_evolution_run_with_blocks_widens_the_memory_and_its_champion_repaints(tmp_path):
    """Without --width a run with blocks gets the task's width plus V per extra block; its champion keeps
    the blocks when re-painted at another vector size (M' = B V' + the extras)."""
    from entm.champion import load_champion
    from entm.evolution.loop import EvolveSettings, evolve

    res = evolve(EvolveSettings(task="associative_recall", task_params={"vector_size": 3}, encoding="hyper",
                                hyper={"blocks": 3}, generations=1, seed=1, episodes=5, evaluator="serial",
                                stop_when_solved=False, run_dir=str(tmp_path / "ar")), progress=False)
    meta = res.champion["metadata"]["entm"]
    assert meta["substrate"]["blocks"] == 3 and "block_offset" in meta["substrate"]["cppn_inputs"]
    champ = load_champion(res.run_dir)
    assert champ.spec.width == 3 * 3 + 3
    wide = load_champion(res.run_dir, task_overrides={"vector_size": 5})
    assert wide.spec.width == 3 * 5 + 3 and wide.network.num_inputs == 5 + 2 + 18


def test_block_steps_give_the_cppn_a_push_as_one_input():
    """``block_steps`` adds block_same and block_next to the CPPN's inputs (1 within a block, 1 from block b to
    b + 1); the push "read block b -> write block b + 1" is then the block_next input as it is, and paints
    the whole-item recall machine.  Without it nothing changes; it needs blocks and a boolean."""
    task, spec, sub = _recall_substrate(6)
    assert "block_steps" not in HyperParams(blocks=5).as_dict() and "block_next" not in sub.cppn_inputs
    stepped = Substrate(task, spec, HyperParams(weight_scale=30.0, blocks=5, block_steps=True))
    assert stepped.cppn_inputs == sub.cppn_inputs + ["block_same", "block_next"]
    assert HyperParams.from_dict(stepped.hyper.as_dict()) == stepped.hyper
    q, col = stepped.queries, {n: i for i, n in enumerate(stepped.cppn_inputs)}
    assert np.array_equal(q[:, :-2], sub.queries)  # the other inputs as without the steps
    offset = q[:, col["block_offset"]]
    pair = np.arange(len(q)) >= len(stepped.source_kinds)  # the rows of a link between two vectors
    assert np.array_equal(q[:, col["block_same"]], pair & (offset == 0))
    assert np.array_equal(q[:, col["block_next"]], pair & (offset == -1))
    y = _emulated_cppn(stepped)  # the same machine, its push read off block_next alone
    push = q[:, col["src=read0"]] * q[:, col["aligned"]] * q[:, col["block_next"]]
    assert np.array_equal(y[0, :, stepped.cppn_outputs.index("read0->write0")], push)
    net = Network.from_genome(stepped.controllers(y)[0].as_genome(), stepped.controller_config().genome_config)
    scores = evaluate_lengths(Machine(task, spec), net, [3, 10], episodes=40, seed=4)
    assert all(s["perfect"] == 1.0 for s in scores.values())
    with pytest.raises(EntmError, match="block_steps needs blocks >= 2"):
        HyperParams(block_steps=True)
    with pytest.raises(EntmError, match="block_steps must be true or false"):
        HyperParams(blocks=5, block_steps=1)


def test_without_the_block_coordinates_the_steps_and_one_hot_inputs_alone_paint_the_machine():
    """``block_coords`` False leaves src_block, dst_block and block_offset out of the CPPN's inputs (recorded in
    the substrate only then); the other inputs keep their values, and the push (block_next), the bits into block
    0 (block_same from the task's single block) and the outputs from the last block (src_block4) paint the
    whole-item recall machine, perfect from 3 to 20 items.  It needs blocks and the steps or the one-hot inputs."""
    task, spec, sub = _recall_substrate(6)
    full = Substrate(task, spec, HyperParams(weight_scale=30.0, blocks=5, block_steps=True, block_onehot=True))
    hp = HyperParams(weight_scale=30.0, blocks=5, block_steps=True, block_onehot=True, block_coords=False)
    local = Substrate(task, spec, hp)
    gone = ["src_block", "dst_block", "block_offset"]
    assert local.cppn_inputs == [n for n in full.cppn_inputs if n not in gone]
    assert hp.as_dict()["block_coords"] is False and "block_coords" not in full.hyper.as_dict()
    assert HyperParams.from_dict(hp.as_dict()) == hp
    keep = [full.cppn_inputs.index(n) for n in local.cppn_inputs]
    assert np.array_equal(local.queries, full.queries[:, keep])
    y = _emulated_cppn(local, {"bits0": ("block_same", 1), "push": ("block_next", 1), "out": ("src_block4", 1)})
    net = Network.from_genome(local.controllers(y)[0].as_genome(), local.controller_config().genome_config)
    scores = evaluate_lengths(Machine(task, spec), net, [3, 10, 20], episodes=40, seed=4)
    assert all(s["perfect"] == 1.0 for s in scores.values())
    with pytest.raises(EntmError, match="block_coords false .* needs blocks >= 2 and block_steps or block_onehot"):
        HyperParams(blocks=5, block_coords=False)
    with pytest.raises(EntmError, match="block_coords must be true or false"):
        HyperParams(blocks=5, block_steps=True, block_coords=0)
