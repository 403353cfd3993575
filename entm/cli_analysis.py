"""The analysis commands of ``entm``: ``plot``, ``compare``, ``report`` and ``export``.

They only parse arguments and call the functions of the ``analysis``
package.  :func:`add_parsers` adds the subcommands to the ``entm`` parser's
subparsers; ``COMMANDS`` maps each name to its ``cmd_x(args) -> int``.  Bad
input raises :class:`entm.errors.EntmError` (one line) before anything is
written.  As in :mod:`entm.cli`, each command imports its analysis module when it
runs (they load matplotlib, torch and the kernels).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from entm.errors import EntmError
from entm.runs import check_seed

PLOT_KINDS = ("network", "memory", "fitness", "generalization", "deployment")
PLOT_VIEWS = {
    "network": "The champion's controller network: its nodes and connections (PNG and SVG); a hyper champion "
               "grouped by substrate vectors, or its CPPN.",
    "memory": "The memory trace of one episode of the champion (or trained model): inputs, outputs, targets (a "
              "reward task: what it scores), the memory's contents and the heads' positions.",
    "fitness": "A run's curves over the generations (or training steps): fitness, task score, network size.",
    "generalization": "Score against sequence length of one or several runs' champions.",
    "deployment": "One deployment of a reward task as the task draws it: the continuous T-maze's paths, a table "
                  "for the discrete T-maze and the season task.",
}
"""What ``entm plot VIEW --help`` says about each view."""

#: formats written without -o, or with an -o that has no suffix
_DEFAULT_FORMATS = {"network": ("png", "svg")}


def add_parsers(sub) -> None:
    """Add ``plot``, ``compare``, ``report`` and ``export`` to an argparse subparsers object."""
    p = sub.add_parser("plot", help="plot a run's network, memory trace, fitness curve, generalisation or a "
                                    "reward task's deployment",
                       description="Figures of saved runs. Default output: the run directory's plots/ "
                                   "(next to a bare champion file: <name>.<view>.png). `entm plot VIEW --help`: "
                                   "the options of one view.", add_help=False)
    from entm.cli_help import ViewHelp

    p.add_argument("-h", "--help", action=ViewHelp, views=PLOT_VIEWS,
                   help="show this help message and exit (after a VIEW: that view's help)")
    p.add_argument("view", choices=PLOT_KINDS, help="what to draw")
    p.add_argument("targets", nargs="+", metavar="RUN_OR_CHAMPION", help="run directories or champion.json files")
    p.add_argument("-o", "--output", default=None,
                   help="output file; its suffix is the format written (.png, .svg or .pdf; deployment tables: "
                        ".txt); no suffix: .png and .svg (network) or .png (the others); "
                        "required for generalization over several runs")
    p.add_argument("--length", type=int, default=None,
                   help="memory, deployment: the episode's sequence length (default: the task's longest training "
                        "length), for a reward task its rounds or years (default: its training setting)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episodes (default 0)")
    p.add_argument("--deployment", type=int, default=None, metavar="N",
                   help="memory, deployment: (reward tasks) which deployment of the batch entm evaluate --seed S "
                        "scores (default 0)")
    p.add_argument("--cppn", action="store_true",
                   help="network: (hyper encoding) draw the CPPN that was evolved (default output plots/cppn.png)")
    p.add_argument("--bit", type=int, default=None, metavar="J",
                   help="network: (hyper encoding) only the links of element J of the vectors, and the scalars'")
    p.add_argument("--all-links", action="store_true",
                   help="network: (hyper encoding) every painted link (default: links grouped by vector)")
    p.add_argument("--lengths", default=None, help="generalization: comma-separated lengths (default: the task's)")
    p.add_argument("--episodes", type=int, default=20, help="generalization: episodes per length (default 20)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("compare", help="compare runs: size, cost and score against sequence length")
    c.add_argument("targets", nargs="+", metavar="RUN", help="run directories or champion.json files")
    c.add_argument("--lengths", default=None, help="comma-separated lengths (default: each run's own task's sweep)")
    c.add_argument("--episodes", type=int, default=20)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print one JSON array (one object per run)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("report", help="one self-contained HTML page over several runs")
    r.add_argument("targets", nargs="+", metavar="RUN", help="run directories or champion.json files")
    r.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    r.add_argument("--lengths", default=None, help="comma-separated lengths (default: each run's own task's sweep)")
    r.add_argument("--episodes", type=int, default=20)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--length", type=int, default=None, help="sequence length of the memory traces")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    x = sub.add_parser("export", help="a run's metrics.jsonl as CSV (flat columns, for pandas or a spreadsheet)",
                       description="Write a run's metrics.jsonl (evolved or trained) as CSV: one line per "
                                   "generation or training report; nested values flattened with dots "
                                   "(best_terms.recall, best_size.nodes, best_size.connections). "
                                   "In Python: entm.analysis.export.flat_metrics(RUN_DIR).")
    x.add_argument("target", metavar="RUN_DIR", help="a run directory")
    x.add_argument("-o", "--output", default=None, help="CSV file to write (default: standard output)")


def _lengths(args):
    from entm.champion import parse_lengths

    return parse_lengths(args.lengths) if args.lengths is not None else None


def _check_counts(args) -> None:
    if getattr(args, "episodes", 1) < 1:
        raise EntmError(f"--episodes must be at least 1, got {args.episodes}")
    if getattr(args, "length", None) is not None and args.length < 1:
        raise EntmError(f"--length must be at least 1, got {args.length}")


def _network_view(args):
    """(view, default output stem) of ``plot network`` from --cppn, --bit, --all-links."""
    chosen = [o for o, on in (("--cppn", args.cppn), ("--bit", args.bit is not None), ("--all-links", args.all_links))
              if on]
    if len(chosen) > 1:
        raise EntmError(f"plot network: {' and '.join(chosen)} are different drawings; give one")
    if args.cppn:
        return "cppn", "cppn"
    if args.bit is not None:
        return "bit", f"network-bit{args.bit}"
    return ("links" if args.all_links else None), "network"


def _check_view_options(args) -> None:
    network_only = [o for o, on in (("--cppn", args.cppn), ("--bit", args.bit is not None),
                                    ("--all-links", args.all_links)) if on]
    if network_only and args.view != "network":
        raise EntmError(f"plot {args.view}: {network_only[0]} applies to plot network")
    if args.deployment is not None and args.view not in ("memory", "deployment"):
        raise EntmError(f"plot {args.view}: --deployment applies to plot memory and plot deployment")
    if args.deployment is not None and args.deployment < 0:
        raise EntmError(f"--deployment must be at least 0, got {args.deployment}")


def cmd_plot(args) -> int:
    from entm.analysis.common import figure_paths, open_source

    _check_counts(args)
    _check_view_options(args)
    check_seed(args.seed)
    lengths = _lengths(args)
    if args.output is not None and args.view != "deployment":  # a bad suffix before any work
        figure_paths(args.output, _DEFAULT_FORMATS.get(args.view, ("png",)))
    sources = [open_source(t) for t in args.targets]
    if args.output is not None and len(sources) > 1 and args.view != "generalization":
        raise EntmError(f"plot {args.view}: -o applies to one run; got {len(sources)} (leave -o out to write "
                        f"into each run's plots/)")
    if args.view == "network":
        from entm.analysis.network_plot import view_graph

        view, stem = _network_view(args)
        for s in sources:  # every champion (and the view asked for) must load before anything is written
            view_graph(s.champion("plot network"), view, args.bit)
    elif args.view == "deployment":
        from entm.analysis.deployment import deployment_path, sample_deployments

        outs = []
        for s in sources:  # every champion a reward task, every output a format it is drawn in
            task = s.champion("plot deployment").task
            sample_deployments(task, args.seed, args.length, args.deployment or 0)
            outs.append(deployment_path(task, args.output if args.output else s.default_output("deployment", "")))
    elif args.view == "memory":
        from entm.analysis.memory_plot import trained_spec
        from entm.tasks import RewardTask

        for s in sources:  # every model must load (and have a memory) before anything is written
            model = s.model("plot memory")
            if s.kind == "trained":
                trained_spec(model)
            if args.deployment is not None and not isinstance(model.task, RewardTask):
                raise EntmError(f"plot memory: --deployment applies to reward tasks; {s.path} is a "
                                f"{model.task.name} champion (its episode: --seed, --length)")
    if args.view == "fitness":
        for s in sources:
            if s.run_dir is None:
                raise EntmError(f"plot fitness needs a run directory (with metrics.jsonl), "
                                f"got the champion file {s.path}")
    written = []
    if args.view == "network":
        from entm.analysis.network_plot import plot_network

        for s in sources:
            base = Path(args.output) if args.output else s.default_output(stem, "")
            written += plot_network(s, base, view=view, bit=args.bit).paths
    elif args.view == "memory":
        from entm.analysis.memory_plot import plot_memory

        for s in sources:
            out = Path(args.output) if args.output else s.default_output("memory", ".png")
            written += plot_memory(s, out, length=args.length, seed=args.seed, deployment=args.deployment or 0).paths
    elif args.view == "deployment":
        from entm.analysis.deployment import plot_deployment

        for s, out in zip(sources, outs):
            written.append(plot_deployment(s, out, deployment=args.deployment or 0, seed=args.seed,
                                           length=args.length))
    elif args.view == "fitness":
        from entm.analysis.common import save_figures
        from entm.analysis.curves import fitness_figure

        for s in sources:
            out = Path(args.output) if args.output else s.default_output("fitness", ".png")
            written += save_figures(fitness_figure(s), out)
    else:
        from entm.analysis.common import figure_paths
        from entm.analysis.curves import plot_generalization

        if args.output is None and len(sources) > 1:
            raise EntmError("plot generalization over several runs needs -o OUT.png")
        out = Path(args.output) if args.output else sources[0].default_output("generalization", ".png")
        written.append(plot_generalization(sources, figure_paths(out)[0], lengths=lengths, episodes=args.episodes,
                                           seed=args.seed, progress=not args.quiet))
    for p in written:
        print(p)
    return 0


def cmd_compare(args) -> int:
    from entm.analysis.compare import compare_runs, format_table

    _check_counts(args)
    check_seed(args.seed)
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
    check_seed(args.seed)
    out = write_report(args.targets, args.output, lengths=_lengths(args), episodes=args.episodes, seed=args.seed,
                       length=args.length, progress=not args.quiet)
    print(out)
    return 0


def cmd_export(args) -> int:
    from entm.analysis.export import metrics_csv, write_csv

    if args.output is None:
        sys.stdout.write(metrics_csv(args.target))
    else:
        print(write_csv(args.target, args.output))
    return 0


COMMANDS = {"plot": cmd_plot, "compare": cmd_compare, "report": cmd_report, "export": cmd_export}
