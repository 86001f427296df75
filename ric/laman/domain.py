"""The Laman-graph domain: what the core needs beyond one move (see :mod:`ric.moves.registry`).

Files hold one graph a line in graph6 (``.g6``). Records that cannot be used (malformed
lines, graphs that are not Laman) are counted and the first few logged with file and
line; a file with none usable, or with more unusable than allowed, is a ``ValueError``
naming it.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any, Sequence

import numpy as np

from ric.laman.graph import LamanGraph, from_graph6

__all__ = ["LamanDomain", "LAMAN"]

logger = logging.getLogger(__name__)

#: Unusable records of each kind logged with file and line before the summary.
MAX_WARNINGS = 5


class LamanDomain:
    """Laman graphs: graph6 files, the Henneberg move set."""

    name = "laman"
    noun = "Laman graphs"
    unit = "graph"
    state_format = "graph6"
    file_suffix = ".g6"

    def build_move_set(self, name: str, *, data: Any = None, vocab: Any = None, max_unusable: float = 1.0) -> Any:
        """The move set ``name`` (``"laman"``); it needs no vocabulary.

        Raises:
            ValueError: another name, or a vocabulary.
        """
        if name != "laman":
            raise ValueError(f"{name!r} is not a Laman move set")
        if vocab:
            raise ValueError("the laman move set takes no vocabulary")
        from ric.laman.moves import HennebergMoveSet

        return HennebergMoveSet()

    def _records(self, path: str | os.PathLike) -> list[tuple[int, str]]:
        """``(line number, text)`` of the non-blank lines (a ``>>graph6<<`` header is dropped)."""
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
        out = []
        for k, line in enumerate(raw.splitlines(), 1):
            text = line.strip().decode("ascii", "replace")
            if k == 1 and text.startswith(">>graph6<<"):
                text = text[len(">>graph6<<"):]
            if text:
                out.append((k, text))
        return out

    def read_texts(self, path: str | os.PathLike) -> list[str]:
        """The graph6 lines of a file, unparsed."""
        return [text for _, text in self._records(path)]

    def load_states(self, path: str | os.PathLike, move_set: Any = None, *, strict: bool = False,
                    max_unusable: float = 1.0, cache_dir: Any = None) -> list[LamanGraph]:
        """The graphs of a graph6 file that ``move_set`` can use (Laman, at least 3 nodes).

        Args:
            path: graph6 file.
            move_set: checks each graph (``check_state``; default: only parsing).
            strict: raise on the first unusable record (default ``False``).
            max_unusable: raise when a larger fraction is unusable (default 1.0: never).
            cache_dir: unused (parsing graph6 needs no cache).

        Raises:
            ValueError: naming the file (and line): no usable graph, too many unusable,
                or (strict) the first unusable record.
        """
        records = self._records(path)
        graphs: list[LamanGraph] = []
        skipped: Counter[str] = Counter()
        for line, text in records:
            try:
                graph = from_graph6(text)
                problem = move_set.check_state(graph) if move_set is not None else None
                reason = "not Laman" if problem else ""
            except ValueError as exc:
                problem, reason = str(exc), "malformed graph6"
            if problem:
                shown = text if len(text) <= 40 else text[:40] + "..."
                if strict:
                    raise ValueError(f"{path}, line {line}: {reason}: {problem} in {shown!r}")
                if skipped[reason] < MAX_WARNINGS:
                    logger.warning("%s, line %d: skipped (%s: %s) %r", path, line, reason, problem, shown)
                skipped[reason] += 1
                continue
            graphs.append(graph)
        total = sum(skipped.values())
        detail = ", ".join(f"{n} {why}" for why, n in skipped.items())
        summary = f"{path}: {len(graphs)} of {len(records)} graphs usable" + (f" ({detail} skipped)" if total else "")
        (logger.warning if total else logger.info)("%s", summary)
        if not graphs:
            raise ValueError(f"{summary}: no usable graphs")
        if total / max(len(records), 1) > max_unusable:
            raise ValueError(f"{summary}: more than the {max_unusable:.0%} allowed are unusable; to use the "
                             f"{len(graphs)} usable ones, pass --max-unusable 1")
        return graphs

    def records(self, path: str | os.PathLike, move_set: Any = None, *, strict: bool = False):
        """``(records, summary)``: an iterator of ``(line, graph6, graph)`` of the usable graphs
        of a file, and the one-line tally (see :meth:`load_states` for what is skipped)."""
        skipped: Counter[str] = Counter()
        seen = [0]

        def usable():
            for line, text in self._records(path):
                seen[0] += 1
                try:
                    graph = from_graph6(text)
                    problem = move_set.check_state(graph) if move_set is not None else None
                    reason = "not Laman"
                except ValueError as exc:
                    problem, reason = str(exc), "malformed graph6"
                if problem:
                    if strict:
                        raise ValueError(f"{path}, line {line}: {reason}: {problem}")
                    if skipped[reason] < MAX_WARNINGS:
                        logger.warning("%s, line %d: skipped (%s: %s)", path, line, reason, problem)
                    skipped[reason] += 1
                    continue
                yield line, text, graph

        def summary() -> str:
            detail = ", ".join(f"{n} {why}" for why, n in skipped.items())
            return f"{path}: {seen[0] - sum(skipped.values())} of {seen[0]} graphs usable" + (
                f" ({detail} skipped)" if detail else "")

        return usable(), summary

    def labelled_text(self, state: LamanGraph) -> tuple[str, list[int]]:
        """graph6 keeps the node order: ``(graph6, identity)``."""
        from ric.laman.graph import to_graph6

        return to_graph6(state), list(range(state.n))

    def parse_labelled(self, text: str) -> LamanGraph:
        """Inverse of :meth:`labelled_text`."""
        return from_graph6(text)

    def find_starts(self, texts: Sequence[str], move_set: Any, count: int, seed: int,
                    scaffold: str | None = None, max_atoms: int | None = None) -> tuple[list[LamanGraph], list[frozenset[int]]]:
        """Up to ``count`` usable starting graphs in a seeded random order (none protected).

        Args:
            texts: graph6 lines.
            move_set: graphs it cannot use are skipped.
            count, seed: how many, and their order.
            scaffold: not supported for graphs (must be ``None``).
            max_atoms: skip graphs with more nodes (default: no cap).

        Raises:
            ValueError: a scaffold, or no usable start.
        """
        if scaffold is not None:
            raise ValueError("--scaffold applies to molecules, not to Laman graphs")
        starts: list[LamanGraph] = []
        for i in np.random.default_rng(seed).permutation(len(texts)).tolist():
            if len(starts) >= count:
                break
            try:
                graph = from_graph6(texts[i])
            except ValueError:
                continue
            if move_set.check_state(graph) is None and (max_atoms is None or graph.n <= max_atoms):
                starts.append(graph)
        if not starts:
            cap = f" with at most {max_atoms} nodes" if max_atoms is not None else ""
            raise ValueError(f"none of the {len(texts)} starting graphs is a usable Laman graph{cap}")
        return starts, [frozenset()] * len(starts)

    def is_valid_text(self, text: str) -> bool:
        """Whether ``text`` is graph6 of a Laman graph, by generic rigidity
        (:func:`ric.metrics.graphs.is_laman_generic`, independent of the pebble game)."""
        from ric.metrics.graphs import is_laman_generic

        try:
            graph = from_graph6(text)
        except ValueError:
            return False
        return graph.n >= 2 and is_laman_generic(graph.to_networkx())

    def draw_grid(self, texts: Sequence[str], path: str | os.PathLike) -> None:
        """Draw graphs as a PNG grid (6 per row, spring layout seeded 0), written atomically."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import networkx as nx

        from ric.files import atomic_write

        cols = min(6, len(texts))
        rows = -(-len(texts) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
        for ax in axes.ravel():
            ax.set_axis_off()
        for ax, text in zip(axes.ravel(), texts):
            graph = from_graph6(text).to_networkx()
            nx.draw_networkx(graph, pos=nx.spring_layout(graph, seed=0), ax=ax, node_size=18, with_labels=False,
                             width=0.7, node_color="#1f77b4")
            ax.set_title(f"{graph.number_of_nodes()} nodes", fontsize=8)
        fig.tight_layout()
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100), binary=True)
        plt.close(fig)


LAMAN = LamanDomain()
