"""ric: valid-by-construction generation of molecules and graphs by reversible inductive construction.

Seff, Zhou, Damani, Doyle, Adams, "Discrete Object Generation with Reversible Inductive
Construction", NeurIPS 2019 (arXiv:1907.08268).

Importing :mod:`ric` is cheap: submodules (RDKit, torch) load when used.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
