"""The one table of node functions: neat-python's built-in activations and aggregations.

Every backend reads this table: the compiled kernels (:mod:`entm.phenotype.kernels`)
dispatch on the codes given here, the network JSON reader accepts exactly these
names, and packing a genome maps its function names to these codes.  A name
is listed here only if every backend implements it; the tests check each entry
against neat-python's own function (``tests/test_network.py``), so a backend
that lacks one fails there.

Only neat-python's built-ins are supported: a genome whose config registers a
custom function of the same name is rejected with a one-line error
(:func:`builtin_name`).
"""

from __future__ import annotations

from entm.errors import EntmError

#: Activation names, in kernel-code order (``ACTIVATION_CODES[name]`` is the index).
ACTIVATIONS = ("sigmoid", "tanh", "sin", "gauss", "relu", "elu", "lelu", "selu", "softplus", "identity",
               "clamped", "inv", "log", "exp", "abs", "hat", "square", "cube")

#: Aggregation names, in kernel-code order.
AGGREGATIONS = ("sum", "mean", "product", "max", "min", "maxabs", "median")

ACTIVATION_CODES = {name: i for i, name in enumerate(ACTIVATIONS)}
AGGREGATION_CODES = {name: i for i, name in enumerate(AGGREGATIONS)}

#: Aggregations that are a (scaled) sum of the links: ``sum`` and ``mean``.
LINEAR_AGGREGATIONS = ("sum", "mean")

_KINDS = {
    "activation": (ACTIVATION_CODES, "neat.activations"),
    "aggregation": (AGGREGATION_CODES, "neat.aggregations"),
}


def builtin_name(function_set, name: str, kind: str) -> str:
    """The name a genome's ``kind`` (``activation``/``aggregation``) function ``name`` is exported under,
    checking that it is a neat-python built-in listed in this table (else a one-line EntmError).

    ``function_set``: the genome config's ``activation_defs`` or ``aggregation_function_defs``.
    """
    codes, module = _KINDS[kind]
    try:
        fn = function_set.get(name)
    except Exception:
        raise EntmError(f"genome uses unknown {kind} function {name!r}") from None
    if getattr(fn, "__module__", None) != module:
        raise EntmError(f"genome uses custom {kind} function {name!r}; only neat-python's built-ins are supported")
    exported = fn.__name__.replace(f"_{kind}", "")
    if exported not in codes:
        raise EntmError(f"genome uses {kind} function {name!r}, which entm does not implement")
    return exported


def builtin_names(function_set, kind: str) -> dict:
    """``{config name: exported name}`` for every function of a config's set that :func:`builtin_name` accepts."""
    codes, module = _KINDS[kind]
    out = {}
    for name, fn in function_set.functions.items():
        exported = fn.__name__.replace(f"_{kind}", "")
        if getattr(fn, "__module__", None) == module and exported in codes:
            out[name] = exported
    return out
