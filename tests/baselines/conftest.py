"""Shared fixture of the baseline tests: one intra-op thread."""
import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs with one intra-op thread (tests/conftest.py)."""
