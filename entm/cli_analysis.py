"""The analysis commands of ``entm``: ``plot``, ``compare`` and ``report``.

They only parse arguments and call the functions of the ``analysis``
package.  :func:`add_parsers` adds the subcommands to the ``entm`` parser's
subparsers; ``COMMANDS`` maps each name to its ``cmd_x(args) -> int``.  Bad
input raises :class:`entm.errors.EntmError` (one line) before anything is
written.  As in :mod:`entm.cli`, each command imports its analysis module when it
runs (they load matplotlib, torch and the kernels).
"""

from __future__ import annotations

import json
from pathlib import Path

from entm.errors import EntmError

PLOT_KINDS = ("network", "memory", "fitness", "generalization")
PLOT_VIEWS = {
    "network": "The champion's controller network: its nodes and connections (PNG and SVG).",
    "memory": "The memory trace of one episode of the champion (or trained model): inputs, outputs, targets, "
              "the memory's contents and the heads' positions.",
    "fitness": "A run's curves over the generations (or training steps): fitness, task score, network size.",
    "generalization": "Score against sequence length of one or several runs' champions.",
}
"""What ``entm plot VIEW --help`` says about each view."""


def add_parsers(sub) -> None:
    """Add ``plot``, ``compare`` and ``report`` to an argparse subparsers object."""
    p = sub.add_parser("plot", help="plot a run's network, memory trace, fitness curve or generalisation",
                       description="Figures of saved runs. Default output: the run directory's plots/ "
                                   "(next to a bare champion file: <name>.<view>.png). `entm plot VIEW --help`: "
                                   "the options of one view.", add_help=False)
    from entm.cli_help import ViewHelp

    p.add_argument("-h", "--help", action=ViewHelp, views=PLOT_VIEWS,
                   help="show this help message and exit (after a VIEW: that view's help)")
    p.add_argument("view", choices=PLOT_KINDS, help="what to draw")
    p.add_argument("targets", nargs="+", metavar="RUN_OR_CHAMPION", help="run directories or champion.json files")
    p.add_argument("-o", "--output", default=None,
                   help="output file (network: base name, .png and .svg are written); "
                        "required for generalization over several runs")
    p.add_argument("--length", type=int, default=None,
                   help="memory: the episode's sequence length (default: the task's longest training length)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episodes (default 0)")
    p.add_argument("--lengths", default=None, help="generalization: comma-separated lengths (default: the task's)")
    p.add_argument("--episodes", type=int, default=20, help="generalization: episodes per length (default 20)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("compare", help="compare runs: size, cost and score against sequence length")
    c.add_argument("targets", nargs="+", metavar="RUN", help="run directories or champion.json files")
    c.add_argument("--lengths", default=None, help="comma-separated lengths (default: the first run's task's)")
    c.add_argument("--episodes", type=int, default=20)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print one JSON array (one object per run)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("report", help="one self-contained HTML page over several runs")
    r.add_argument("targets", nargs="+", metavar="RUN", help="run directories or champion.json files")
    r.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    r.add_argument("--lengths", default=None, help="comma-separated lengths (default: the first run's task's)")
    r.add_argument("--episodes", type=int, default=20)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--length", type=int, default=None, help="sequence length of the memory traces")
    r.add_argument("--quiet", action="store_true", help="no progress bar")


def _lengths(args):
    from entm.champion import parse_lengths

    return parse_lengths(args.lengths) if args.lengths is not None else None


def _check_counts(args) -> None:
    if getattr(args, "episodes", 1) < 1:
        raise EntmError(f"--episodes must be at least 1, got {args.episodes}")
    if getattr(args, "length", None) is not None and args.length < 1:
        raise EntmError(f"--length must be at least 1, got {args.length}")


def cmd_plot(args) -> int:
    from entm.analysis.common import open_source

    _check_counts(args)
    lengths = _lengths(args)
    sources = [open_source(t) for t in args.targets]
    if args.output is not None and len(sources) > 1 and args.view != "generalization":
        raise EntmError(f"plot {args.view}: -o applies to one run; got {len(sources)} (leave -o out to write "
                        f"into each run's plots/)")
    if args.view == "network":
        for s in sources:  # every champion must load before anything is written
            s.champion("plot network")
    elif args.view == "memory":
        from entm.analysis.memory_plot import trained_spec

        for s in sources:  # every model must load (and have a memory) before anything is written
            model = s.model("plot memory")
            if s.kind == "trained":
                trained_spec(model)
    if args.view == "fitness":
        for s in sources:
            if s.run_dir is None:
                raise EntmError(f"plot fitness needs a run directory (with metrics.jsonl), "
                                f"got the champion file {s.path}")
    written = []
    if args.view == "network":
        from entm.analysis.network_plot import plot_network

        for s in sources:
            base = Path(args.output) if args.output else s.default_output("network", "")
            written += plot_network(s, base).paths
    elif args.view == "memory":
        from entm.analysis.memory_plot import plot_memory

        for s in sources:
            out = Path(args.output) if args.output else s.default_output("memory", ".png")
            written.append(plot_memory(s, out, length=args.length, seed=args.seed).path)
    elif args.view == "fitness":
        from entm.analysis.curves import plot_fitness

        for s in sources:
            out = Path(args.output) if args.output else s.default_output("fitness", ".png")
            written.append(plot_fitness(s, out))
    else:
        from entm.analysis.curves import plot_generalization

        if args.output is None and len(sources) > 1:
            raise EntmError("plot generalization over several runs needs -o OUT.png")
        out = Path(args.output) if args.output else sources[0].default_output("generalization", ".png")
        written.append(plot_generalization(sources, out, lengths=lengths, episodes=args.episodes, seed=args.seed,
                                           progress=not args.quiet))
    for p in written:
        print(p)
    return 0


def cmd_compare(args) -> int:
    from entm.analysis.compare import compare_runs, format_table

    _check_counts(args)
    rows = compare_runs(args.targets, lengths=_lengths(args), episodes=args.episodes, seed=args.seed,
                        progress=not args.quiet)
    if args.json:
        print(json.dumps(rows))
    else:
        print(format_table(rows))
    return 0


def cmd_report(args) -> int:
    from entm.analysis.report import write_report

    _check_counts(args)
    out = write_report(args.targets, args.output, lengths=_lengths(args), episodes=args.episodes, seed=args.seed,
                       length=args.length, progress=not args.quiet)
    print(out)
    return 0


COMMANDS = {"plot": cmd_plot, "compare": cmd_compare, "report": cmd_report}
