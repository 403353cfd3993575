"""The shipped neat-python configs (``*.ini``), one per task; installed as ``entm.evolution_configs``."""
