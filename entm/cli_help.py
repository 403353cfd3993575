"""Help of the ``entm`` commands beyond argparse's: one view's help (``entm plot network --help``)."""

from __future__ import annotations

import argparse
import copy
import re


class ViewHelp(argparse.Action):
    """``-h/--help`` of a command whose first positional picks a view (``entm plot VIEW``): after a view,
    the help of that view alone (``entm plot network --help``): its description (``views[view]``) and the
    options that apply to it.  An option whose help starts with ``<view>[, <view> ...]: `` applies to those
    views only (shown without that prefix); every other option applies to all."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None,
                 views=None, view_dest="view"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)
        self.views, self.view_dest = dict(views or {}), view_dest

    def __call__(self, parser, namespace, values, option_string=None):
        view = getattr(namespace, self.view_dest, None)
        if view is None:
            parser.print_help()
            parser.exit()
        names = set(self.views)
        for a in parser._actions:
            if a.dest == self.view_dest and a.choices:
                names |= set(a.choices)
        h = argparse.ArgumentParser(prog=f"{parser.prog} {view}", description=self.views.get(view, parser.description),
                                    add_help=False, formatter_class=parser.formatter_class)
        for a in parser._actions:
            if a.dest == self.view_dest:
                continue
            only, rest = view_prefix(a.help, names)
            if only and view not in only:
                continue
            if only:
                a = copy.copy(a)
                a.help = rest
            h._add_action(a)
        h.print_help()
        parser.exit()


def view_prefix(text, names) -> tuple[set, str]:
    """("<view>, <view>: rest" of an option's help) -> ({views}, rest); (empty set, text) without such a prefix."""
    head, sep, rest = (text or "").partition(": ")
    views = {w for w in re.split(r"[,/ ]+|\band\b", head) if w}
    if sep and views and views <= names:
        return views, rest
    return set(), text
