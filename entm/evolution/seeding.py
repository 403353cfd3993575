"""``init_from``: a run whose first population grows from a given network (``entm evolve --init-from``).

The file is a network JSON, a champion.json say (or a run directory: its champion.json), read once by the
command line and kept whole in the run's settings (``init_network``, so in run.json and in the run's
identity): a resumed run, and a run started again before its first checkpoint, seed from the same network
without the file.  The genome taken from it is the file's network for the direct encoding and, for the
hyper encoding, the CPPN a hyper champion keeps in ``metadata.entm.cppn`` (a hyper champion's top-level
network, the painted controller, seeds a direct run: paint, then go on link by link).

The first population: neat-python's (made as always, so that every draw after it is the run's own), with
each genome replaced, key for key, by the network's genome; the first is that genome as it is, each other
one mutated once by the config's rules (``mutate``, the run's ``random``).  The genes are the network's
evaluated nodes and links (what a network JSON holds), so the first genome's network is the file's network
exactly.  Its weights, biases and responses must lie in the config's ranges (a value outside is a one-line
error: mutation would clamp it, so the copies would differ by more than their mutations).  Then a new
species set speciates them.  docs/commands.md, "Starting from a network".
"""

from __future__ import annotations

from itertools import count

import neat

from entm import runs
from entm.errors import EntmError
from entm.phenotype.network import Network, load_network_json


def read_init(path) -> dict:
    """The EvolveSettings fields for ``--init-from PATH`` (a network JSON file, or a run directory with a
    champion.json): ``init_from`` (the path given) and ``init_network`` (the file's JSON, whole)."""
    try:
        p = runs.resolve_champion(path)
    except EntmError as e:
        raise EntmError(f"--init-from: {e}") from None
    _, data = load_network_json(p)
    return {"init_from": str(path), "init_network": data}


def _entm_metadata(data) -> dict:
    """The network JSON's ``metadata.entm`` (what entm records with a champion), or {}."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    entm = meta.get("entm") if isinstance(meta, dict) else None
    return entm if isinstance(entm, dict) else {}


def genome_network(data: dict, encoding: str) -> Network:
    """The network whose genome seeds a run of ``encoding`` (module docstring), validated."""
    if encoding == "hyper":
        cppn = _entm_metadata(data).get("cppn")
        if not isinstance(cppn, dict):
            raise EntmError("--init-from: a hyper run starts from a hyper champion's CPPN (metadata.entm.cppn); "
                            "this network has none")
        data = cppn
    return Network.from_json(data)


def check_init(settings, genome_config) -> None:
    """Settings that give ``init_from`` alone (the Python API, a campaign group) get ``init_network`` read
    from it; then a one-line EntmError unless the network fits the run's genomes (``genome_config``): their
    inputs and outputs, no recurrent network for a feed-forward config, values in its ranges (the
    functions are neat-python's built-in ones: the network JSON's own check)."""
    if settings.init_network is None and settings.init_from is not None:
        settings.init_network = read_init(settings.init_from)["init_network"]
    data, encoding = settings.init_network, settings.encoding
    if data is None:
        return
    if not isinstance(data, dict):
        raise EntmError(f"init_network must be a network JSON object, got {type(data).__name__}")
    net = genome_network(data, encoding)
    what = "CPPN" if encoding == "hyper" else "network"
    num_inputs, num_outputs = genome_config.num_inputs, genome_config.num_outputs
    if (net.num_inputs, net.num_outputs) != (num_inputs, num_outputs):
        raise EntmError(f"--init-from: the {what} has {net.num_inputs} inputs and {net.num_outputs} outputs, "
                        f"but this run's genomes have {num_inputs} and {num_outputs}")
    if net.input_keys != list(range(-1, -num_inputs - 1, -1)) or net.output_keys != list(range(num_outputs)):
        raise EntmError(f"--init-from: the {what}'s input and output keys are not neat-python's (-1..-n, 0..m-1)")
    if net.recurrent and genome_config.feed_forward:
        raise EntmError(f"--init-from: the {what} is recurrent but this run's config is feed-forward "
                        f"(--controller recurrent, or feed_forward = False in the config)")
    if outside := _outside(net, genome_config):
        g = genome_config
        raise EntmError(f"--init-from: {len(outside)} of the {what}'s values lie outside the config's ranges "
                        f"(e.g. {outside[0]}; weights {g.weight_min_value:g}..{g.weight_max_value:g}, biases "
                        f"{g.bias_min_value:g}..{g.bias_max_value:g}): give a config (--config) whose ranges hold them")


def _outside(net: Network, genome_config) -> list[str]:
    """The network's weights, biases and responses outside the config's ranges, as ``name value`` strings."""
    values = [("bias", nd.bias) for nd in net.nodes] + [("response", nd.response) for nd in net.nodes]
    values += [("weight", w) for nd in net.nodes for _, w in nd.links]
    return [f"{name} {v:g}" for name, v in values
            if not getattr(genome_config, f"{name}_min_value") <= v <= getattr(genome_config, f"{name}_max_value")]


def genome_from_network(net: Network, key: int, genome_type, genome_config):
    """A ``genome_type`` genome whose network is ``net``: its evaluated nodes (bias, response, functions) and
    links; every output the network does not evaluate gets a node without links, which neat-python leaves
    unevaluated as the network does."""
    genome = genome_type(key)
    for nd in net.nodes:
        gene = genome.create_node(genome_config, nd.key)
        gene.bias, gene.response = float(nd.bias), float(nd.response)
        gene.activation, gene.aggregation = nd.activation, nd.aggregation
        genome.nodes[nd.key] = gene
    for k in net.output_keys:
        if k not in genome.nodes:
            genome.nodes[k] = genome.create_node(genome_config, k)
    for nd in net.nodes:
        for src, w in nd.links:
            genome.add_connection(genome_config, int(src), nd.key, float(w), True)
    return genome


def new_population(config, settings, out=None):
    """The run's first population (module docstring): neat-python's, or grown from ``settings.init_network``
    (said in one line on ``out``, if given)."""
    pop = neat.Population(config, seed=int(settings.seed))
    data = getattr(settings, "init_network", None)
    if data is None:
        return pop
    net = genome_network(data, settings.encoding)
    gc = config.genome_config
    keys = list(pop.population)
    genomes = {k: genome_from_network(net, k, config.genome_type, gc) for k in keys}
    nxt = next(gc.node_indexer) if gc.node_indexer is not None else gc.num_outputs
    gc.node_indexer = count(max(nxt, max(max(g.nodes) for g in genomes.values()) + 1))  # new nodes: new ids
    for k in keys[1:]:
        genomes[k].mutate(gc)
    pop.population = genomes if not hasattr(pop.reproduction, "adopt") else pop.reproduction.adopt(genomes)
    pop.species = config.species_set_type(config.species_set_config, pop.reporters)
    pop.species.speciate(config, pop.population, pop.generation)
    if out is not None:
        print(f"entm: {describe(net, data)}", file=out, flush=True)
    return pop


def describe(net: Network, data: dict) -> str:
    """One line for the start-up output: where the first population came from (``net``, the genome's network
    taken from the file's JSON ``data``)."""
    nodes, links = net.size()
    meta = _entm_metadata(data)
    src = f" ({meta.get('task')}, generation {meta.get('generation')})" if meta.get("task") else ""
    return f"first population from a network of {nodes} nodes and {links} links{src}"
