"""Sequence VAE baselines (SMILES or SELFIES) on the shared generator interface.

:func:`build_model` makes any model of :data:`~ric.vae.base.MODEL_NAMES` from its
:class:`~ric.vae.base.VAEConfig`.
"""
from __future__ import annotations

import importlib

from ric.vae.base import MODEL_NAMES, SequenceVAE, VAEConfig

__all__ = ["build_model", "MODEL_NAMES", "VAEConfig", "SequenceVAE"]

#: model name -> "module:class" (imported on demand).
_REGISTRY = {
    "vae": "ric.vae.vae:VAE",
    "hvae": "ric.vae.hvae:HVAE",
    "vlae": "ric.vae.vlae:VLAE",
    "iaf": "ric.vae.iaf:IAFVAE",
    "nvae": "ric.vae.nvae:NVAE",
    "lfvi": "ric.vae.implicit:LFVI",
    "dim": "ric.vae.implicit:DIM",
}


def build_model(config: VAEConfig) -> SequenceVAE:
    """The model named by ``config.model``.

    Raises:
        ValueError: the model is not implemented in this installation.
    """
    target = _REGISTRY.get(config.model)
    if target is None:
        raise ValueError(f"model {config.model!r} is not available; implemented: {', '.join(sorted(_REGISTRY))}")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(config)
