"""Gradient-trained baselines: the NTM of Graves et al. (2014) and a plain LSTM.

- :mod:`entm.baseline.settings`: the architecture and training settings (dataclasses);
- :mod:`entm.baseline.model`: the models (:class:`NTM`, :class:`LSTMBaseline`);
- :mod:`entm.baseline.train`: the training loop (``entm train``, ``entm resume``);
- :mod:`entm.baseline.checkpoint`: checkpoints and ``model.pt``;
- :mod:`entm.baseline.evaluate`: trained runs evaluated like evolved champions.
"""

from entm.baseline.model import LSTMBaseline, NTM, build_model, count_parameters
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.baseline.train import resume, train

__all__ = ["LSTMBaseline", "ModelSettings", "NTM", "TrainSettings", "build_model", "count_parameters", "resume",
           "train"]
