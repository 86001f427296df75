"""Sequence baselines that are not latent-variable models: the SMILES CharRNN.

:mod:`ric.baselines.charrnn` holds the model, :mod:`ric.baselines.training` its training
(``ric train --model charrnn``, on the loop the VAEs use) and
:mod:`ric.baselines.generator` the generator (``generate(n)``). Checkpoints carry
``model_family: "charrnn"``.
"""
from __future__ import annotations

from ric.baselines.charrnn import CharRNN, CharRNNConfig
from ric.baselines.erdos_renyi import ErdosRenyiGenerator

__all__ = ["CharRNN", "CharRNNConfig", "ErdosRenyiGenerator", "MODEL_FAMILY"]

#: ``payload["model_family"]`` of CharRNN checkpoints.
MODEL_FAMILY = "charrnn"
