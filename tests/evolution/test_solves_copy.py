"""Real evolution: the shipped defaults solve 2-bit copy, and the champion generalises."""

import json

import pytest

from entm.champion import evaluate_lengths, load_champion


@pytest.mark.slow
def test_default_settings_solve_two_bit_copy(cli, tmp_path):
    run_dir = tmp_path / "copy2"
    r = cli("evolve", "--task", "copy", "--vector-size", "2", "--serial", "--seed", "0", "--generations", "400",
            "--run-dir", run_dir, "--quiet", timeout=600)
    assert r.returncode == 0, r.stderr
    assert "solved" in r.stdout and "not solved" not in r.stdout, r.stdout
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["solved"] is True
    champ = load_champion(run_dir)
    assert champ.data["metadata"]["entm"]["solved"] is True
    res = evaluate_lengths(champ.machine, champ.network, list(range(1, 11)) + [100, 1000], episodes=10, seed=1)
    assert all(v["perfect"] == 1.0 for v in res.values()), res
    # the pure task score is recorded beside the fitness
    assert all("best_score" in m and "best_fitness" in m for m in metrics)
