"""The Laman-graph benchmark: every generator's samples scored with :mod:`ric.metrics.graphs`.

``ric benchmark`` runs this when the data are graphs (``--train`` a ``.g6`` file, or a
checkpoint of the Laman domain). Generators (``--generator``): ``ric`` (the chain of a
checkpoint, by default the bundled Laman model), ``corruption-only`` (the same chain
with uniformly random legal moves, each reconstruction capped at its corruption length),
``training-set`` (graphs drawn from the training file), ``erdos-renyi``
(:class:`~ric.baselines.erdos_renyi.ErdosRenyiGenerator`), a checkpoint file (a chain or a
GraphRNN), and ``--samples FILE.g6``. Each generator's graphs are written to
``OUT/<name>.g6`` as they are produced; ``results.json`` and ``results.md`` hold the table.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ric.package_data import resource_path

__all__ = ["GraphGeneratorSpec", "make_graph_generator", "run_graph_benchmark", "LAMAN_CHECKPOINT"]

logger = logging.getLogger(__name__)

#: The bundled Laman model (package data ``ric/checkpoints/laman_low.pt``), the default of
#: ``--generator ric`` on graphs.
LAMAN_CHECKPOINT = resource_path("checkpoints", "laman_low.pt")


@dataclass(frozen=True)
class GraphGeneratorSpec:
    """A generator of the graph benchmark: ``kind`` is ``ric``, ``corruption-only``,
    ``training-set``, ``erdos-renyi``, ``checkpoint`` or ``samples``."""

    name: str
    kind: str
    target: str | None = None

    @classmethod
    def parse(cls, text: str, checkpoint: str | None = None) -> "GraphGeneratorSpec":
        """A spec from a ``--generator`` value (``checkpoint``: that of ``ric``/``corruption-only``).

        Raises:
            ValueError: an unknown generator.
        """
        if text in ("ric", "corruption-only"):
            return cls(text, text, checkpoint)
        if text in ("training-set", "erdos-renyi"):
            return cls(text, text)
        if text.endswith(".pt"):
            path = Path(text)
            name = path.parent.name if path.name == "checkpoint.pt" and path.parent.name else path.stem
            return cls(name, "checkpoint", text)
        raise ValueError(f"unknown graph generator {text!r}: use ric, corruption-only, training-set, erdos-renyi "
                         "or a checkpoint.pt")


class _TrainingGraphs:
    """Graphs drawn from the training set (seeded; with replacement only when n exceeds it)."""

    def __init__(self, texts: Sequence[str], seed: int) -> None:
        self.texts, self.seed = list(texts), seed

    def generate(self, n: int) -> list[str]:
        rng = np.random.default_rng(self.seed)
        picks = rng.choice(len(self.texts), size=n, replace=n > len(self.texts))
        return [self.texts[i] for i in picks]


class _ErdosRenyiText:
    """:class:`~ric.baselines.erdos_renyi.ErdosRenyiGenerator` with graph6 output."""

    def __init__(self, train_graphs: Sequence[Any], seed: int) -> None:
        from ric.baselines.erdos_renyi import ErdosRenyiGenerator

        self.inner = ErdosRenyiGenerator(train_graphs, seed=seed)

    def generate(self, n: int) -> list[str]:
        import networkx as nx

        return [nx.to_graph6_bytes(g, header=False).decode().strip() for g in self.inner.generate(n)]


class _SamplesFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def generate(self, n: int) -> list[str]:
        from ric.laman.domain import LAMAN

        texts = LAMAN.read_texts(self.path)
        if len(texts) < n:
            logger.warning("%s holds %d graphs, fewer than the %d asked for: all are scored", self.path, len(texts), n)
        return texts[:n]


def make_graph_generator(spec: GraphGeneratorSpec, *, train_texts: Sequence[str], train_nx: Sequence[Any],
                         seed: int, device: Any = "auto") -> Any:
    """The generator a spec names (anything with ``generate(n) -> list of graph6``)."""
    if spec.kind == "training-set":
        return _TrainingGraphs(train_texts, seed)
    if spec.kind == "erdos-renyi":
        return _ErdosRenyiText(train_nx, seed)
    if spec.kind == "samples":
        return _SamplesFile(spec.target)
    from ric.runtime.checkpoint import load_checkpoint
    from ric.sampling.generator import ChainGenerator

    path = spec.target or str(LAMAN_CHECKPOINT)
    payload = load_checkpoint(path)
    family = payload.get("model_family", "chain")
    if family == "graphrnn":
        if spec.kind == "corruption-only":
            raise ValueError(f"--generator corruption-only needs a chain checkpoint; {path} holds a GraphRNN")
        from ric.baselines.graphrnn import GraphRNNGenerator

        return GraphRNNGenerator.from_checkpoint(path, device=device, seed=seed, payload=payload)
    if family != "chain":
        raise ValueError(f"{path} holds a {family} model, which generates molecules, not graphs")
    options: dict[str, Any] = {}
    if spec.kind == "corruption-only":
        options = {"uniform": True, "match_corruption": True}
    return ChainGenerator.from_checkpoint(path, init=list(train_texts), device=device, seed=seed, payload=payload,
                                          **options)


def _samples(generator: Any, n: int, seed: int, progress: bool) -> list[str]:
    if callable(getattr(generator, "sample", None)) and type(generator).__module__.startswith("ric."):
        return [s.text for s in generator.sample(n, seed=seed, progress=progress)]
    return list(generator.generate(n))


def _parse_all(texts: Sequence[str]) -> list[Any]:
    """networkx graphs of graph6 texts; an unreadable text counts as an empty (invalid) graph."""
    import networkx as nx

    from ric.laman.graph import from_graph6

    out = []
    for text in texts:
        try:
            out.append(from_graph6(text).to_networkx())
        except ValueError:
            out.append(nx.Graph())
    return out


def run_graph_benchmark(specs: Sequence[GraphGeneratorSpec], *, train_texts: Sequence[str],
                        reference_texts: Sequence[str], n: int, seed: int, out_dir: str | Path,
                        device: Any = "auto", progress: bool = False, settings: dict | None = None,
                        provenance: dict | None = None) -> dict[str, Any]:
    """Generate ``n`` graphs from each generator and score them against the reference.

    Args:
        specs: the generators.
        train_texts: training graphs (graph6): novelty, training-set baseline, chain starts,
            Erdős–Rényi parameters.
        reference_texts: reference graphs (graph6), e.g. the test split.
        n: graphs per generator.
        seed: seed of every generator and of the metrics' random choices.
        out_dir: report directory (created).
        device: where networks run (default ``"auto"``).
        progress: show progress bars.
        settings, provenance: recorded in ``results.json``.

    Returns:
        The ``results.json`` payload.
    """
    from ric.files import atomic_write
    from ric.metrics.graphs import evaluate_graphs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_nx, reference_nx = _parse_all(train_texts), _parse_all(reference_texts)
    results = []
    for spec in specs:
        started = time.perf_counter()
        generator = make_graph_generator(spec, train_texts=train_texts, train_nx=train_nx, seed=seed, device=device)
        texts = _samples(generator, n, seed, progress)
        gen_seconds = time.perf_counter() - started
        atomic_write(out / f"{spec.name}.g6", lambda fh: fh.write("".join(t + "\n" for t in texts)))
        report = evaluate_graphs(_parse_all(texts), reference_nx, train=train_nx, seed=seed).to_dict()
        report.update(name=spec.name, kind=spec.kind, target=spec.target, generation_seconds=round(gen_seconds, 2))
        if hasattr(generator, "config"):  # a chain: its sampler settings are part of the result
            report["chain"] = generator.config.to_dict()
        logger.info("%s: validity %.3f, uniqueness %.3f, DoD KS %.3f (%.0f s to generate)", spec.name,
                    report["validity"]["fraction"], report["uniqueness"]["fraction"], report["dod"]["ks"], gen_seconds)
        results.append(report)
    payload = {"domain": "laman", "settings": settings or {}, "provenance": provenance or {}, "results": results}
    atomic_write(out / "results.json", lambda fh: json.dump(payload, fh, indent=2))
    atomic_write(out / "results.md", lambda fh: fh.write(_markdown(payload)))
    return payload


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _markdown(payload: dict[str, Any]) -> str:
    s = payload["settings"]
    lines = [
        "# Laman graph benchmark",
        "",
        f"{s.get('n', '?')} graphs per generator against {s.get('n_reference', '?')} reference graphs "
        f"({s.get('reference', '?')}); novelty against {s.get('train', '?')}; seed {s.get('seed', '?')}.",
        "Validity: generic rigidity (independent of the pebble game); uniqueness and novelty up to isomorphism; "
        "MMD²: GraphRNN's Gaussian-EMD kernel (degree sigma 1, clustering sigma 0.1); DoD KS: two-sample KS "
        "statistic of the degree of decomposability against the reference.",
        "",
        "| generator | validity | uniqueness | novelty | nodes (ref) | node W1 | degree MMD² | clustering MMD² "
        "| DoD KS | DoD KS (valid) | DoD mean (ref) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["results"]:
        nc, dod = r["node_counts"], r["dod"]
        novelty = r["novelty"]["fraction"] if r.get("novelty") else None
        lines.append(
            f"| {r['name']} | {r['validity']['fraction']:.3f} | {r['uniqueness']['fraction']:.3f} | "
            f"{_fmt(novelty, '.3f')} | {nc['generated_mean']:.1f} ({nc['reference_mean']:.1f}) | "
            f"{nc['wasserstein']:.2f} | {_fmt(r['degree_mmd']['mmd2'], '.4f')} | "
            f"{_fmt(r['clustering_mmd']['mmd2'], '.4f')} | {_fmt(dod['ks'], '.3f')} | {_fmt(dod['ks_valid'], '.3f')} | "
            f"{_fmt(dod['generated_mean'], '.3f')} ({_fmt(dod['reference_mean'], '.3f')}) |")
    return "\n".join(lines) + "\n"
