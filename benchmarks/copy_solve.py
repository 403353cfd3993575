"""How reliably and how fast the default settings solve copy.

Runs `entm evolve --task copy` (default config; embedded local Ray unless --serial) for several seeds, one
after another, then evaluates each champion at lengths 1..10, 100 and 1000.
Prints one JSON line per seed and a summary.

    python benchmarks/copy_solve.py --vector-size 2 --seeds 0,1,2,3,4 [--memory discrete] [--budget 300]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vector-size", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--memory", default="discrete")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per seed")
    ap.add_argument("--serial", action="store_true", help="evaluate serially (default: embedded local Ray)")
    ap.add_argument("--out", default=None, help="directory for the run directories (default: a temp dir)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="entm-copy-solve-"))
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        run_dir = out / f"copy-v{args.vector_size}-{args.memory}-seed{seed}"
        t0 = time.time()
        cmd = [sys.executable, "-m", "entm", "evolve", "--task", "copy", "--vector-size", str(args.vector_size),
               "--memory", args.memory, "--seed", str(seed), "--generations", "100000", "--run-dir", str(run_dir),
               "--quiet"] + (["--serial"] if args.serial else [])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.budget)
            timed_out = False
            if proc.returncode != 0:
                print(json.dumps({"seed": seed, "error": proc.stderr.strip().splitlines()[-1:]}), flush=True)
                continue
        except subprocess.TimeoutExpired:
            timed_out = True
        wall = time.time() - t0
        metrics = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
        last = metrics[-1]
        ev = subprocess.run([sys.executable, "-m", "entm", "evaluate", str(run_dir), "--lengths",
                             "1,2,3,4,5,6,7,8,9,10,100,1000", "--episodes", "20", "--json"],
                            capture_output=True, text=True)
        lengths = json.loads(ev.stdout)["lengths"] if ev.returncode == 0 else {}
        perfect_1_10 = all(lengths.get(str(L), {}).get("perfect") == 1.0 for L in range(1, 11))
        row = {"seed": seed, "solved": bool(last["solved"]), "timed_out": timed_out,
               "generations": last["generation"] + 1, "wall_seconds": round(wall, 1),
               "best_score": round(last["best_score"], 4), "champion_size": last["best_size"],
               "perfect_1_10": perfect_1_10,
               "perfect_100": lengths.get("100", {}).get("perfect"),
               "perfect_1000": lengths.get("1000", {}).get("perfect")}
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if r["perfect_1_10"] and r["perfect_100"] == 1.0 and r["perfect_1000"] == 1.0]
    print(json.dumps({"seeds": len(rows), "generalising_champions": len(ok),
                      "max_wall_seconds": max(r["wall_seconds"] for r in rows)}))


if __name__ == "__main__":
    main()
