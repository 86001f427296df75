"""Message-passing layers."""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["BondMessagePassing", "mlp", "scatter_sum", "scatter_mean", "scatter_max"]


def scatter_sum(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Row sums of ``src`` grouped by ``index``.

    Shapes:
        src ``[M, F]``, index ``[M]`` (values in ``[0, size)``) -> ``[size, F]``.
    """
    return src.new_zeros((size, src.shape[1])).index_add_(0, index, src)


def scatter_mean(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Row means of ``src`` grouped by ``index`` (zero for an empty group); shapes as
    :func:`scatter_sum`."""
    count = src.new_zeros(size).scatter_add_(0, index, src.new_ones(src.shape[0])).clamp(min=1)
    return scatter_sum(src, index, size) / count.view(-1, 1)


def scatter_max(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Elementwise row maxima of ``src`` grouped by ``index`` (zero for an empty group);
    shapes as :func:`scatter_sum`."""
    out = src.new_zeros((size, src.shape[1]))
    return out.scatter_reduce_(0, index.view(-1, 1).expand_as(src), src, reduce="amax", include_self=False)


def mlp(sizes: list[int], activation: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """A plain MLP ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers."""
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class BondMessagePassing(nn.Module):
    """GINE-style message passing with bond features and a residual, normalised update.

    ``m_i = Σ_{j→i} SiLU(h_j + W_e e_ji)``, ``h_i' = LayerNorm(h_i + MLP(h_i + m_i))``.

    Why this layer: with bond features folded into every message it distinguishes
    Kekulé single/double/triple, ring and aromatic bonds, which decide which fusions are
    legal; it is as discriminative as the 1-WL test with edge labels (Hu et al. 2020,
    "Strategies for pre-training GNNs"), keeps state on atoms only (the heads score
    atoms, atom pairs and clusters), and costs ``O(E·H)`` per layer, so it runs fast on
    a CPU. A directed-edge D-MPNN carries state on ``2E`` directed bonds instead, for
    roughly twice the memory, with no head that needs it.

    Args:
        hidden: hidden size ``H``.
        bond_dim: bond feature size.

    Shapes:
        x ``[N, H]``, edge_index ``[2, E]``, edge_attr ``[E, bond_dim]`` -> ``[N, H]``.
    """

    def __init__(self, hidden: int, bond_dim: int) -> None:
        super().__init__()
        self.bond = nn.Linear(bond_dim, hidden)
        self.update_mlp = mlp([hidden, hidden, hidden])
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        source, target = edge_index[0], edge_index[1]
        per_edge = torch.nn.functional.silu(x.index_select(0, source) + self.bond(edge_attr))
        messages = scatter_sum(per_edge, target, x.shape[0])
        return self.norm(x + self.update_mlp(x + messages))
