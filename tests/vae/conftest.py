"""Shared fixtures of the VAE tests: a tiny token vocabulary and one intra-op thread."""
import pytest
import torch

from ric.vae.tokens import TokenVocabulary

TINY_SMILES = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs with one intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def vocab() -> TokenVocabulary:
    return TokenVocabulary.build(TINY_SMILES)


@pytest.fixture(scope="module")
def x(vocab) -> torch.Tensor:
    """The tiny molecules as a padded batch ``[5, T]``."""
    return torch.from_numpy(vocab.encode_batch(TINY_SMILES))


@pytest.fixture(scope="module")
def batch(x) -> torch.Tensor:
    return x
