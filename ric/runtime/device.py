"""Devices by name: ``--device auto|cpu|cuda|cuda:N``."""
from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(spec: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` / ``"cuda:N"``.

    Raises:
        ValueError: if CUDA is requested but not available, or the spec is unknown.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {spec}: CUDA is not available on this machine (use --device cpu or auto)")
        return torch.device(spec)
    raise ValueError(f"unknown device {spec!r}: use auto, cpu, cuda or cuda:N")
