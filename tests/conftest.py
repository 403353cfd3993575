import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures():
    return FIXTURES


def run_cli(*args, cwd=None, timeout=600):
    """Run the real `entm` command line in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "entm.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


#: metrics that may differ between two runs of the same settings (timings, who did the work)
TIMING_KEYS = {"eval_seconds", "steps_per_second", "wall_seconds", "workers", "nodes"}


def comparable_metrics(run_dir):
    """metrics.jsonl without timings and worker counts: equal for equal settings and seed."""
    from entm import runs

    return [{k: v for k, v in m.items() if k not in TIMING_KEYS} for m in runs.read_metrics(run_dir)]


def comparable_champion(run_dir):
    """champion.json without its creation timestamp."""
    import json

    data = json.loads((Path(run_dir) / "champion.json").read_text())
    data["metadata"].pop("created_timestamp")
    return data
