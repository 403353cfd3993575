"""Phenotypes: neat-python genomes and network JSON files turned into networks the compiled kernels run.

=================  ==========================================================
``functions``      the one table of activation and aggregation functions
``rules``          neat-python's rules: which nodes and links a phenotype evaluates
``network``        :class:`Network` (one phenotype) and the network JSON reader/writer
``pack``           :class:`Packed` populations as flat arrays, :class:`GenomeData`, the stepper
``kernels``        compiled node evaluation (numba), the population step
``tape_kernel``    the network fused with the ENTM tape; the closed loop's tape step
=================  ==========================================================
"""

from entm.phenotype.functions import ACTIVATIONS, AGGREGATIONS
from entm.phenotype.network import Network, load_network_json, network_json_from_genome
from entm.phenotype.pack import (
           GenomeData,
           Packed,
           PopulationStepper,
           clear_structure_cache,
           pack_genomes,
           pack_painted,
)

__all__ = ["ACTIVATIONS", "AGGREGATIONS", "GenomeData", "Network", "Packed", "PopulationStepper",
           "clear_structure_cache", "load_network_json", "network_json_from_genome", "pack_genomes",
           "pack_painted"]
