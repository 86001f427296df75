"""Brute-force Laman checks for the tests (counting edges over every node subset)."""
from __future__ import annotations


def brute_violation(n: int, edges) -> list[int] | None:
    """A set of k >= 2 nodes spanning more than 2k - 3 edges, or None."""
    masks = [(1 << a) | (1 << b) for a, b in edges]
    for subset in range(1, 1 << n):
        k = bin(subset).count("1")
        if k >= 2 and sum(1 for m in masks if m & subset == m) > 2 * k - 3:
            return [v for v in range(n) if subset >> v & 1]
    return None


def brute_independent(n: int, edges) -> bool:
    """Every set of k >= 2 nodes spans at most 2k - 3 edges."""
    return brute_violation(n, edges) is None


def brute_laman(n: int, edges) -> bool:
    """2n - 3 distinct edges, independent."""
    edges = [tuple(e) for e in edges]
    if n < 2 or len(edges) != 2 * n - 3 or len({(min(a, b), max(a, b)) for a, b in edges}) != len(edges):
        return False
    return brute_independent(n, edges)
