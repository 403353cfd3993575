"""Type and range checks of every neat-python config parameter entm uses, before neat-python sees the file.

neat-python 2.0 accepts many values it later dies on (a population of one, elitism beyond the population,
an unknown fitness criterion: a traceback generations into a run) or never checks at all (NaN bounds,
negative probabilities, a minimum above the maximum: a run that silently does something else).
:func:`check_config_text` checks each item of the five sections entm uses (``[NEAT]``, ``[DefaultGenome]``,
``[DefaultSpeciesSet]``, ``[DefaultStagnation]``, ``[DefaultReproduction]``) and the rules that join them;
the first problem is a one-line :class:`~entm.errors.EntmError` naming section, key, value and what is
allowed.  A missing item is left to neat-python's own message.  The list of rules is :data:`RULES` (the
docs' table in docs/commands.md, "Config checks", is written from it).
"""

from __future__ import annotations

import configparser
import math

from entm.errors import EntmError
from entm.phenotype.functions import ACTIVATIONS, AGGREGATIONS

_TRUE = ("1", "yes", "true", "on")
_FALSE = ("0", "no", "false", "off")

#: neat-python's initial_connection kinds; the ``partial*`` kinds take a fraction in [0, 1] after the name
CONNECTIVITY = ("unconnected", "fs_neat_nohidden", "fs_neat", "fs_neat_hidden", "full_nodirect", "full",
                "full_direct", "partial_nodirect", "partial", "partial_direct")
FITNESS_CRITERIA = ("max", "min", "mean")
SPECIES_FITNESS_FUNCS = ("max", "min", "mean", "median", "median2")
INIT_TYPES = ("gaussian", "gauss", "normal", "uniform")
SPECIES_SHARES = ("range", "mean")  # entm.evolution.reproduction's species_share
SPECIATIONS = ("threshold", "kmeans")  # entm.evolution.species' speciation
NODE_ADD_SPLITS = ("neat", "sharpneat")  # entm.evolution.genome's node_add_split
#: what a BoolAttribute's ``*_default`` accepts (neat-python's list)
BOOL_DEFAULTS = _TRUE + _FALSE + ("random", "none")


def _prob(what="a probability in [0, 1]"):
    return ("float", lambda x: 0.0 <= x <= 1.0, what)


_FINITE = ("float", lambda x: True, "a finite number")
_NONNEG = ("float", lambda x: x >= 0, "a finite number >= 0")
_POSITIVE = ("float", lambda x: x > 0, "a finite number > 0")
_BOOL = ("bool", None, "true or false")


def _int(lo, what=None):
    return ("int", lambda x: x >= lo, what or f"an integer >= {lo}")


def _choice(options, what=None, nocase=False):
    """One of ``options``, exactly as written (neat-python compares these names as they are), or in any case
    where neat-python lowercases the value first (``nocase``)."""
    return ("ichoice" if nocase else "choice", options, what or "one of " + ", ".join(options))


def _float_attribute(name) -> dict:
    return {f"{name}_init_mean": _FINITE, f"{name}_init_stdev": _NONNEG,
            f"{name}_init_type": _choice(INIT_TYPES, nocase=True), f"{name}_replace_rate": _prob(),
            f"{name}_mutate_rate": _prob(), f"{name}_mutate_power": _NONNEG,
            f"{name}_max_value": _FINITE, f"{name}_min_value": _FINITE}


#: section -> key -> (kind, check, what is allowed).  Every item neat-python reads for the classes entm uses.
RULES: dict[str, dict[str, tuple]] = {
    "NEAT": {
        "pop_size": _int(2, "an integer >= 2 (two parents to breed)"),
        "fitness_criterion": _choice(FITNESS_CRITERIA),
        "fitness_threshold": _FINITE,
        "reset_on_extinction": _BOOL,
        "no_fitness_termination": _BOOL,
        "seed": ("never", None, "not set here: entm seeds a run with its --seed"),
    },
    "DefaultGenome": {
        "num_inputs": _int(1), "num_outputs": _int(1), "num_hidden": _int(0),
        "feed_forward": _BOOL,
        "compatibility_disjoint_coefficient": _NONNEG, "compatibility_weight_coefficient": _NONNEG,
        "conn_add_prob": _prob(), "conn_delete_prob": _prob(), "node_add_prob": _prob(),
        "conn_delete_max_weight": _NONNEG,  # entm.evolution.genome (opt-in, ANJI's skewed removal)
        "crossover_disjoint_prob": _prob(),  # entm.evolution.genome (opt-in, the less fit parent's own genes)
        "asexual_prob": _prob(),  # entm.evolution.genome (opt-in, SharpNEAT's asexual and sexual offspring)
        "node_add_split": _choice(NODE_ADD_SPLITS),  # entm.evolution.genome (opt-in, SharpNEAT's add node)
        "node_delete_prob": _prob(),
        "single_structural_mutation": _BOOL,
        "structural_mutation_surer": _choice(("default",) + _TRUE + _FALSE, nocase=True),
        "initial_connection": ("connection", None,
                               "one of " + ", ".join(CONNECTIVITY) + " (partial kinds: a fraction in [0, 1] "
                               "after the name)"),
        **_float_attribute("bias"), **_float_attribute("response"), **_float_attribute("weight"),
        "activation_default": _choice(ACTIVATIONS + ("random", "none")),
        "activation_options": ("options", ACTIVATIONS, "activation names entm implements: " + " ".join(ACTIVATIONS)),
        "activation_mutate_rate": _prob(),
        "aggregation_default": _choice(AGGREGATIONS + ("random", "none")),
        "aggregation_options": ("options", AGGREGATIONS,
                                "aggregation names entm implements: " + " ".join(AGGREGATIONS)),
        "aggregation_mutate_rate": _prob(),
        "enabled_default": _choice(BOOL_DEFAULTS, nocase=True),
        "enabled_mutate_rate": _prob(), "enabled_rate_to_true_add": _prob(), "enabled_rate_to_false_add": _prob(),
    },
    "DefaultSpeciesSet": {"compatibility_threshold": _POSITIVE,  # the rest: entm.evolution.species (opt-in)
                          "target_species": _int(0, "an integer >= 0 (0: off)"),
                          "threshold_step": _POSITIVE, "threshold_min": _POSITIVE, "threshold_hold": _BOOL,
                          "speciation": _choice(SPECIATIONS)},
    "DefaultStagnation": {
        "species_fitness_func": _choice(SPECIES_FITNESS_FUNCS),
        "max_stagnation": _int(1),
        "species_elitism": _int(0),
    },
    "DefaultReproduction": {
        "elitism": _int(0),
        "survival_threshold": ("float", lambda x: 0.0 < x <= 1.0, "a fraction in (0, 1]"),
        "min_species_size": _int(1),
        "species_share": _choice(SPECIES_SHARES),  # entm.evolution.reproduction (opt-in, SharpNEAT's shares)
    },
}

#: the rules that join items (checked once each item is valid on its own)
JOINT_RULES = (
    "<attr>_min_value <= <attr>_max_value (bias, response, weight)",
    "<attr>_mutate_rate + <attr>_replace_rate <= 1 (bias, response, weight)",
    "enabled_mutate_rate + enabled_rate_to_true_add <= 1, and + enabled_rate_to_false_add <= 1",
    "activation_default / aggregation_default: one of its _options (or random)",
    "elitism < pop_size (room for offspring); min_species_size <= pop_size",
    "speciation = kmeans needs target_species >= 1",
)


def _fail(section, key, raw, allowed):
    raise EntmError(f"[{section}] {key} = {raw!r}: must be {allowed}")


def _bool(section, key, raw):
    low = raw.strip().lower()
    # neat-python reads [NEAT]'s booleans with configparser (yes/no/on/off/1/0), the other sections' as true/false
    ok = (_TRUE + _FALSE) if section == "NEAT" else ("true", "false")
    if low not in ok:
        _fail(section, key, raw, "true or false" if section != "NEAT" else "true or false (or yes/no, on/off, 1/0)")
    return low in _TRUE


def _check_item(section, key, raw, rule):
    kind, check, allowed = rule
    value = raw.strip()
    if kind == "never":
        _fail(section, key, raw, allowed)
    if kind == "bool":
        return _bool(section, key, raw)
    if kind == "int":
        try:
            x = int(value)
        except ValueError:
            _fail(section, key, raw, allowed)
        if not check(x):
            _fail(section, key, raw, allowed)
        return x
    if kind == "float":
        try:
            x = float(value)
        except ValueError:
            _fail(section, key, raw, allowed)
        if not math.isfinite(x) or not check(x):
            _fail(section, key, raw, allowed if "finite" in allowed else allowed + " (finite)")
        return x
    if kind in ("choice", "ichoice"):
        if (value.lower() if kind == "ichoice" else value) not in check:
            _fail(section, key, raw, allowed)
        return value.lower() if kind == "ichoice" else value
    if kind == "options":
        names = value.split()
        bad = [n for n in names if n not in check]
        if not names or bad or value != " ".join(names):
            _fail(section, key, raw, allowed + " (one space between names)")
        return names
    # initial_connection
    parts = value.split()
    if not parts or parts[0] not in CONNECTIVITY or value != " ".join(parts):
        _fail(section, key, raw, allowed)
    if parts[0].startswith("partial"):
        try:
            frac = float(parts[1]) if len(parts) == 2 else math.nan
        except ValueError:
            frac = math.nan
        if not 0.0 <= frac <= 1.0:
            _fail(section, key, raw, f"'{parts[0]} P' with P a fraction in [0, 1]")
    elif len(parts) != 1:
        _fail(section, key, raw, allowed)
    return parts[0]


def check_config_text(text: str, source: str = "config") -> None:
    """Every item of ``text`` that entm's neat-python classes read: type, range and the joint rules.
    A problem is a one-line EntmError ``<source>: [Section] key = 'value': must be ...``."""
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text)
    except configparser.Error as e:
        raise EntmError(f"{source}: invalid neat-python config: {str(e).splitlines()[0]}") from None
    values = {}
    try:
        for section, rules in RULES.items():
            if not cp.has_section(section):
                continue  # neat-python names a missing section
            got = values.setdefault(section, {})
            try:
                items = cp.items(section)
            except configparser.Error as e:
                raise EntmError(f"[{section}]: {str(e).splitlines()[0]}") from None
            for key, raw in items:
                if key not in rules:
                    raise EntmError(f"[{section}] unknown item {key!r}: not a parameter of this section "
                                    f"(a typo?)")
                got[key] = _check_item(section, key, raw, rules[key])
        _check_joint(values)
    except EntmError as e:
        raise EntmError(f"{source}: {e}") from None


def _check_joint(values: dict) -> None:
    g = values.get("DefaultGenome", {})
    for attr in ("bias", "response", "weight"):
        lo, hi = g.get(f"{attr}_min_value"), g.get(f"{attr}_max_value")
        if lo is not None and hi is not None and lo > hi:
            raise EntmError(f"[DefaultGenome] {attr}_min_value = {lo!r} > {attr}_max_value = {hi!r}: "
                            f"the minimum must be at most the maximum")
        m, r = g.get(f"{attr}_mutate_rate"), g.get(f"{attr}_replace_rate")
        if m is not None and r is not None and m + r > 1:
            raise EntmError(f"[DefaultGenome] {attr}_mutate_rate + {attr}_replace_rate = {m!r} + {r!r} > 1: "
                            f"the two are exclusive chances per gene, their sum must be at most 1")
    m = g.get("enabled_mutate_rate")
    for add in ("enabled_rate_to_true_add", "enabled_rate_to_false_add"):
        if m is not None and g.get(add) is not None and m + g[add] > 1:
            raise EntmError(f"[DefaultGenome] enabled_mutate_rate + {add} = {m!r} + {g[add]!r} > 1: "
                            f"a chance, it must be at most 1")
    for kind in ("activation", "aggregation"):
        default, options = g.get(f"{kind}_default"), g.get(f"{kind}_options")
        if default is not None and options is not None and default not in ("random", "none") \
                and default not in options:
            raise EntmError(f"[DefaultGenome] {kind}_default = {default!r}: must be one of {kind}_options "
                            f"({' '.join(options)}) or random")
    sp = values.get("DefaultSpeciesSet", {})
    if sp.get("speciation") == "kmeans" and not sp.get("target_species"):
        raise EntmError("[DefaultSpeciesSet] speciation = 'kmeans': needs target_species >= 1 (the number of "
                        "species k-means keeps)")
    pop = values.get("NEAT", {}).get("pop_size")
    r = values.get("DefaultReproduction", {})
    if pop is not None and r.get("elitism") is not None and r["elitism"] >= pop:
        raise EntmError(f"[DefaultReproduction] elitism = {r['elitism']}: must be less than [NEAT] pop_size = "
                        f"{pop} (the elites of a species are kept; the rest of the population is bred)")
    if pop is not None and r.get("min_species_size") is not None and r["min_species_size"] > pop:
        raise EntmError(f"[DefaultReproduction] min_species_size = {r['min_species_size']}: must be at most "
                        f"[NEAT] pop_size = {pop}")
