"""``entm campaign``: many runs from one campaign file, on Ray, and their statistics (docs/campaigns.md).

``entm campaign run FILE``, ``resume DIR``, ``report DIR`` and ``export DIR --csv``.  Argument parsing
and calls only; as in :mod:`entm.cli`, each command imports what it runs when it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from entm.errors import EntmError


def add_parser(sub) -> None:
    """Add ``campaign`` and its subcommands to an argparse subparsers object."""
    c = sub.add_parser("campaign", help="run many runs (groups x seeds) from a campaign file on Ray; resume, "
                                        "report and export them",
                       description="A campaign file (TOML) names groups of runs, each an evolution or a training "
                                   "with its settings, and the seeds of each; see docs/campaigns.md.")
    cs = c.add_subparsers(dest="campaign_command", metavar="SUBCOMMAND", parser_class=type(c))
    r = cs.add_parser("run", help="run every (group, seed) of a campaign file; on an existing campaign directory, "
                                  "run what is not done yet")
    r.add_argument("file", help="campaign file (.toml)")
    r.add_argument("--dir", default=None, help="campaign directory (default: runs/campaign-<file name>)")
    _ray_options(r)
    s = cs.add_parser("resume", help="run what is not done yet in a campaign directory (finished runs are kept, "
                                     "unfinished ones resume from their own checkpoints)")
    s.add_argument("dir", help="campaign directory")
    _ray_options(s)
    p = cs.add_parser("report", help="success rates (Wilson 95%% intervals), generations and time to solve, "
                                     "champion sizes, generalisation across seeds, evolved against trained")
    p.add_argument("dir", help="campaign directory")
    p.add_argument("-o", "--output", default=None, help="HTML file (default: <dir>/report.html)")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON on stdout (no HTML)")
    p.add_argument("--lengths", default=None, help="generalisation lengths, comma-separated (default: each "
                                                   "task's sweep)")
    p.add_argument("--episodes", type=int, default=20, help="episodes per length (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation episodes (default 0)")
    e = cs.add_parser("export", help="one CSV row per run (runs.csv) and one per (run, generation or report) "
                                     "(metrics.csv)")
    e.add_argument("dir", help="campaign directory")
    e.add_argument("--csv", action="store_true", required=True, help="write CSV (the one format)")
    e.add_argument("-o", "--output", default=None, help="folder for runs.csv and metrics.csv (default: <dir>)")


def _ray_options(p) -> None:
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (auto, HOST:PORT); default: an "
                                                       "embedded local Ray")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of the embedded local Ray (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress view")


def cmd_campaign(args) -> int:
    if not args.campaign_command:
        raise EntmError("campaign: give a subcommand: run, resume, report or export")
    return {"run": _run, "resume": _resume, "report": _report, "export": _export}[args.campaign_command](args)


def _check_ray_options(args) -> None:
    if args.ray_address is not None and not args.ray_address.strip():
        raise EntmError("campaign: --ray-address is empty; give auto or HOST:PORT, or leave it out")
    if args.cpus is not None and args.cpus < 1:
        raise EntmError(f"campaign: --cpus must be at least 1, got {args.cpus}")
    if args.cpus is not None and args.ray_address:
        raise EntmError("campaign: --cpus sets the embedded local Ray's CPUs; it cannot be combined with "
                        "--ray-address")


def _run(args) -> int:
    from entm.campaign.spec import load_campaign, read_campaign_text
    from entm.campaign.work import open_campaign_dir

    _check_ray_options(args)
    campaign = load_campaign(args.file)  # every problem of the file, before anything is created
    d = Path(args.dir) if args.dir else Path("runs") / f"campaign-{Path(args.file).stem}"
    if args.dir is not None and not args.dir.strip():
        raise EntmError("campaign: --dir is empty; give a directory, or leave it out for the default")
    campaign = open_campaign_dir(d, campaign, read_campaign_text(args.file), source=str(args.file))
    return _go(campaign, d, args)


def _resume(args) -> int:
    from entm.campaign.work import open_campaign_dir

    _check_ray_options(args)
    d = Path(args.dir)
    return _go(open_campaign_dir(d), d, args)


def _go(campaign, d: Path, args) -> int:
    from entm.campaign.runner import campaign_summary, run_campaign

    states = run_campaign(campaign, d, address=args.ray_address, cpus=args.cpus, progress=not args.quiet)
    return campaign_summary(campaign, d, states, sys.stderr)


def _report(args) -> int:
    from entm.analysis.campaign import campaign_stats
    from entm.analysis.campaign_report import write_campaign_report

    lengths = None
    if args.lengths is not None:
        try:
            lengths = [int(x) for x in args.lengths.split(",") if x.strip()]
        except ValueError:
            raise EntmError(f"campaign report: --lengths must be integers separated by commas, got "
                            f"{args.lengths!r}") from None
        if not lengths:
            raise EntmError("campaign report: --lengths is empty")
    if args.json:
        stats = campaign_stats(args.dir, lengths=lengths, episodes=args.episodes, seed=args.seed)
        print(json.dumps(stats, indent=1, sort_keys=True))
        return 0
    out = Path(args.output) if args.output else Path(args.dir) / "report.html"
    path = write_campaign_report(args.dir, out, lengths=lengths, episodes=args.episodes, seed=args.seed)
    print(f"wrote {path}")
    return 0


def _export(args) -> int:
    from entm.analysis.campaign import write_campaign_csv

    for p in write_campaign_csv(args.dir, args.output or args.dir):
        print(f"wrote {p}")
    return 0


COMMANDS = {"campaign": cmd_campaign}
