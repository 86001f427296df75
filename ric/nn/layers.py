"""Message-passing layers."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

__all__ = ["BondMessagePassing", "mlp"]


def mlp(sizes: list[int], activation: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """A plain MLP ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers."""
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class BondMessagePassing(MessagePassing):
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
        super().__init__(aggr="add")
        self.bond = nn.Linear(bond_dim, hidden)
        self.update_mlp = mlp([hidden, hidden, hidden])
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        messages = self.propagate(edge_index, x=x, bond=self.bond(edge_attr))
        return self.norm(x + self.update_mlp(x + messages))

    def message(self, x_j: Tensor, bond: Tensor) -> Tensor:
        return torch.nn.functional.silu(x_j + bond)
