"""Shared fixture of the baseline tests: one intra-op thread."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The models are tiny: extra intra-op threads only add contention on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
