import pytest
import torch

from ric.runtime.device import resolve_device


def test_resolve_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    for spec in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device(spec)
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
