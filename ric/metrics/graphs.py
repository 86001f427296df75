"""Graph benchmark metrics for Laman-graph generation (Seff et al. 2019, GraphRNN 2018).

Everything here works on plain :class:`networkx.Graph` objects (undirected, simple; nodes
are usually ``0..n-1``, any hashable sortable labels work) and depends on no other part of
``ric``.

Definitions:

* **validity** (:func:`is_laman_generic`, :func:`laman_validity`): the graph is Laman
  (minimally rigid in the plane): ``|E| = 2|V| - 3`` and the 2-D rigidity matrix at random
  coordinates has full row rank ``2|V| - 3``. Coordinates are random integers modulo the
  prime ``p = 2**31 - 1`` and the rank is computed exactly by Gaussian elimination over
  GF(p). By Laman's theorem a graph is Laman iff it is generically minimally rigid, so a
  full rank is a proof (a non-zero maximal minor mod ``p`` is a non-zero integer
  polynomial); a deficient rank is wrong with probability at most ``(2|V| - 3) / p``
  (Schwartz–Zippel: the minor has degree ``2|V| - 3``), about 4e-8 for 40 nodes, and a
  second independent draw is made before answering ``False`` (probability squared). This
  check is independent of the pebble game. Graphs with fewer than two nodes are not Laman
  (``|E| = 2|V| - 3`` fails).
* **uniqueness / novelty up to isomorphism** (:func:`fraction_unique`, :func:`novelty`):
  graphs are bucketed by a cheap invariant (node count, edge count, sorted degrees), then
  by :func:`networkx.weisfeiler_lehman_graph_hash` (3 iterations, no attributes), and
  :func:`networkx.is_isomorphic` is run only inside a bucket. Uniqueness is the number of
  isomorphism classes over the number of graphs; novelty the fraction of the distinct
  generated graphs isomorphic to no training graph.
* **node counts** (:func:`node_count_stats`): mean and (population) standard deviation of
  the node counts of both sets and their Wasserstein-1 distance
  (:func:`scipy.stats.wasserstein_distance`).
* **degree and clustering MMD** (:func:`degree_mmd`, :func:`clustering_mmd`), GraphRNN's
  ``eval/stats.py`` and ``eval/mmd.py`` (You et al. 2018): every graph gives a histogram
  normalised to a probability vector, the degree histogram ``nx.degree_histogram`` (bin
  ``k`` = nodes of degree ``k``) or the histogram of the local clustering coefficients
  ``nx.clustering`` on ``[0, 1]`` with 100 equal bins; the kernel is
  ``k(x, y) = exp(-EMD(x, y)**2 / (2 sigma**2))`` with EMD the earth mover's distance
  between the histograms with ground distance ``|i - j|`` times the bin width (1 for
  degrees, ``1/100`` for clustering: GraphRNN's ``distance_scaling=bins``), and
  ``sigma = 1`` for degrees, ``sigma = 0.1`` for clustering. The figure is GraphRNN's
  squared MMD, the biased V-statistic ``mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y)``
  (self-pairs included), not its square root. Empty (0-node) generated graphs are
  dropped as GraphRNN does. For 1-D histograms the EMD is the L1 distance between the
  cumulative sums times the bin width, so all pairs come from one
  :func:`scipy.spatial.distance.cdist` instead of a linear program per pair.
* **degree of decomposability** (:func:`degree_of_decomposability`), the published
  GenRIC code (``genric/laman/decomp.py``, ``get_DoD``): pin one edge chosen at random;
  build the bipartite graph between the unknowns, two coordinates for every node not on
  the pinned edge that lies on some other edge, and the equations, one per edge other
  than the pinned one, each joined to the coordinates of its endpoints (the coordinates
  of a pinned endpoint are known and contribute none); for a Laman graph that is
  ``2n - 4`` unknowns against ``2n - 4`` equations. Take a maximum matching, orient
  matched edges both ways and unmatched edges from equation to unknown, and count the
  strongly connected components of the directed graph (for a perfect matching these are
  the blocks of the Dulmage–Mendelsohn fine decomposition, the same for every perfect
  matching). ``DoD = components / n`` with ``n`` **all** nodes of the graph (the pinned
  ones included), as the published code divides by ``len(G.nodes())``. So a triangle has
  ``1/3``, a graph built only by Henneberg-I moves on adjacent pairs (a 2-tree)
  ``(n - 2)/n`` and an irreducible one ``1/n``. The published code draws the pinned edge
  with Python's global ``random``; here it is drawn from a generator seeded with the
  ``seed`` and a checksum of the edge list, so a graph's DoD does not depend on its
  position in a list and differs in its pin from other graphs of the same size. For a
  graph whose maximum matching is not perfect (not Laman) the count can depend on which
  maximum matching is found (here SciPy's Hopcroft–Karp, networkx's in the published code).
* **DoD KS** (:func:`dod_ks`): the two-sample Kolmogorov–Smirnov statistic
  (:func:`scipy.stats.ks_2samp`) between the DoD values of two sets (the paper's metric).
  Graphs without edges have no DoD and are left out.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import networkx as nx
import numpy as np

from ric.files import json_safe

__all__ = [
    "LAMAN_PRIME",
    "DEGREE_SIGMA",
    "CLUSTERING_SIGMA",
    "CLUSTERING_BINS",
    "is_laman_generic",
    "laman_validity",
    "ValidityResult",
    "isomorphism_classes",
    "fraction_unique",
    "novelty",
    "UniquenessResult",
    "NoveltyResult",
    "uniqueness_result",
    "novelty_result",
    "NodeCountResult",
    "node_count_stats",
    "degree_histograms",
    "clustering_histograms",
    "gaussian_emd_mmd2",
    "MMDResult",
    "degree_mmd",
    "clustering_mmd",
    "degree_of_decomposability",
    "dod_values",
    "dod_ks",
    "DoDResult",
    "dod_distribution",
    "GraphReport",
    "evaluate_graphs",
]

logger = logging.getLogger(__name__)

#: The prime of the exact rank computation (``2**31 - 1``: products of two residues fit in int64).
LAMAN_PRIME = 2**31 - 1
#: GraphRNN's sigma of the Gaussian-EMD kernel on degree histograms (EMD in degree units).
DEGREE_SIGMA = 1.0
#: GraphRNN's sigma of the Gaussian-EMD kernel on clustering histograms (EMD in clustering units).
CLUSTERING_SIGMA = 0.1
#: GraphRNN's number of clustering-coefficient bins on ``[0, 1]``.
CLUSTERING_BINS = 100


def _node_index(graph: nx.Graph) -> dict[Any, int]:
    try:
        nodes = sorted(graph.nodes())
    except TypeError:  # unorderable labels: insertion order
        nodes = list(graph.nodes())
    return {v: i for i, v in enumerate(nodes)}


def _edge_array(graph: nx.Graph, index: dict[Any, int] | None = None) -> np.ndarray:
    """``int64 [m, 2]`` of ``(min, max)`` node indices, sorted lexicographically."""
    index = _node_index(graph) if index is None else index
    if graph.number_of_edges() == 0:
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64)
    edges.sort(axis=1)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    return edges[order]


# --------------------------------------------------------------------------- validity


def _full_row_rank_mod_p(matrix: np.ndarray, p: int) -> bool:
    """Whether the rows of ``matrix`` (int64 residues mod ``p``) are independent over GF(p).

    Row reduction column by column; every product of two residues is below ``p**2 < 2**62``.
    """
    a = matrix.copy()
    rows, cols = a.shape
    r = 0
    for c in range(cols):
        if r == rows:
            break
        nonzero = np.flatnonzero(a[r:, c])
        if nonzero.size == 0:
            continue
        pivot = r + int(nonzero[0])
        if pivot != r:
            a[[r, pivot]] = a[[pivot, r]]
        inverse = pow(int(a[r, c]), p - 2, p)
        a[r, c:] = a[r, c:] * inverse % p
        below = r + 1 + np.flatnonzero(a[r + 1 :, c])
        if below.size:
            a[below, c:] = (a[below, c:] - a[below, c : c + 1] * a[r, c:]) % p
        r += 1
    return r == rows


def is_laman_generic(graph: nx.Graph, seed: int = 0, *, draws: int = 2) -> bool:
    """Whether ``graph`` is a Laman graph, by generic rigidity (exact rank over GF(p)).

    ``|E| = 2|V| - 3`` and the rigidity matrix (one row per edge ``uv``: ``p_u - p_v`` in
    the columns of ``u``, ``p_v - p_u`` in those of ``v``) at random integer coordinates
    modulo :data:`LAMAN_PRIME` has rank ``2|V| - 3``. ``True`` is always right; ``False``
    is wrong with probability at most ``((2|V| - 3) / p) ** draws``.

    Args:
        graph: an undirected graph (a self-loop gives a zero row: not Laman).
        seed: seeds the coordinates (default 0); draw ``k`` uses ``(seed, k)``.
        draws: independent coordinate draws tried before answering ``False`` (default 2).
    """
    n, m = graph.number_of_nodes(), graph.number_of_edges()
    if n < 2 or m != 2 * n - 3:
        return False
    edges = _edge_array(graph)
    u, v = edges[:, 0], edges[:, 1]
    rows = np.arange(m)
    p = LAMAN_PRIME
    for draw in range(max(int(draws), 1)):
        coords = np.random.default_rng([seed, draw]).integers(0, p, size=(n, 2), dtype=np.int64)
        diff = (coords[u] - coords[v]) % p  # [m, 2]
        matrix = np.zeros((m, 2 * n), dtype=np.int64)
        matrix[rows, 2 * u] = diff[:, 0]
        matrix[rows, 2 * u + 1] = diff[:, 1]
        matrix[rows, 2 * v] = (-diff[:, 0]) % p
        matrix[rows, 2 * v + 1] = (-diff[:, 1]) % p
        if _full_row_rank_mod_p(matrix, p):
            return True
    return False


@dataclass
class ValidityResult:
    """Laman validity of a set of graphs.

    Attributes:
        fraction: ``n_valid / n`` (0 for an empty set).
        n_valid: graphs that are Laman.
        n: graphs scored.
    """

    fraction: float
    n_valid: int
    n: int


def _valid_flags(graphs: Sequence[nx.Graph], seed: int) -> np.ndarray:
    return np.array([is_laman_generic(g, seed) for g in graphs], dtype=bool)


def laman_validity(graphs: Sequence[nx.Graph], seed: int = 0) -> ValidityResult:
    """Fraction of ``graphs`` that are Laman (:func:`is_laman_generic`).

    Args:
        graphs: the generated graphs.
        seed: seeds the random coordinates (default 0).
    """
    flags = _valid_flags(graphs, seed)
    return ValidityResult(int(flags.sum()) / max(len(graphs), 1), int(flags.sum()), len(graphs))


# ------------------------------------------------------------- isomorphism classes


def _cheap_key(graph: nx.Graph) -> tuple:
    return (graph.number_of_nodes(), graph.number_of_edges(), tuple(sorted(d for _, d in graph.degree())))


def _wl_hash(graph: nx.Graph) -> str:
    with warnings.catch_warnings():  # networkx >= 3.5 warns that attribute-free hashes changed
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(graph)


class _IsomorphismIndex:
    """Graphs up to isomorphism: cheap-invariant buckets, then WL hashes (computed only
    where a bucket holds two graphs), then exact isomorphism tests."""

    def __init__(self) -> None:
        self._buckets: dict[tuple, list[list]] = {}  # key -> [[graph, wl hash or None, class id]]
        self.n_classes = 0

    def find(self, graph: nx.Graph, key: tuple | None = None) -> int | None:
        """The class id of a stored graph isomorphic to ``graph``, or ``None``."""
        bucket = self._buckets.get(_cheap_key(graph) if key is None else key)
        if not bucket:
            return None
        wl = _wl_hash(graph)
        for entry in bucket:
            if entry[1] is None:
                entry[1] = _wl_hash(entry[0])
            if entry[1] == wl and nx.is_isomorphic(entry[0], graph):
                return entry[2]
        return None

    def add(self, graph: nx.Graph) -> tuple[int, bool]:
        """``(class id, new)``: the class of ``graph``, stored as a new class if none matches."""
        key = _cheap_key(graph)
        found = self.find(graph, key)
        if found is not None:
            return found, False
        class_id = self.n_classes
        self._buckets.setdefault(key, []).append([graph, None, class_id])
        self.n_classes += 1
        return class_id, True


def isomorphism_classes(graphs: Sequence[nx.Graph]) -> list[int]:
    """The isomorphism class of every graph: ids ``0, 1, ...`` in order of first appearance."""
    index = _IsomorphismIndex()
    return [index.add(g)[0] for g in graphs]


@dataclass
class UniquenessResult:
    """Uniqueness up to isomorphism.

    Attributes:
        fraction: ``n_unique / n`` (0 for an empty set).
        n_unique: isomorphism classes among the graphs.
        n: graphs scored.
    """

    fraction: float
    n_unique: int
    n: int


@dataclass
class NoveltyResult:
    """Novelty up to isomorphism.

    Attributes:
        fraction: ``n_novel / n_unique`` (0 when there are no graphs).
        n_novel: distinct generated graphs isomorphic to no training graph.
        n_unique: distinct generated graphs.
        n_train: training graphs.
    """

    fraction: float
    n_novel: int
    n_unique: int
    n_train: int


def uniqueness_result(graphs: Sequence[nx.Graph]) -> UniquenessResult:
    """Isomorphism classes among ``graphs`` (see :func:`fraction_unique`)."""
    classes = isomorphism_classes(graphs)
    n_unique = len(set(classes))
    return UniquenessResult(n_unique / max(len(graphs), 1), n_unique, len(graphs))


def fraction_unique(graphs: Sequence[nx.Graph]) -> float:
    """Number of isomorphism classes among ``graphs`` over ``len(graphs)`` (0 if empty)."""
    return uniqueness_result(graphs).fraction


def _novel_flags(representatives: Sequence[nx.Graph], train_graphs: Iterable[nx.Graph]) -> tuple[list[bool], int]:
    """Whether each (pairwise non-isomorphic) representative is isomorphic to no training
    graph; training graphs whose cheap invariant matches no representative are skipped."""
    wanted = {_cheap_key(g) for g in representatives}
    train_index = _IsomorphismIndex()
    n_train = 0
    for g in train_graphs:
        n_train += 1
        if _cheap_key(g) in wanted:
            train_index.add(g)
    return [train_index.find(g) is None for g in representatives], n_train


def _representatives(graphs: Sequence[nx.Graph], classes: Sequence[int]) -> list[nx.Graph]:
    reps: dict[int, nx.Graph] = {}
    for g, c in zip(graphs, classes):
        reps.setdefault(c, g)
    return [reps[c] for c in sorted(reps)]


def novelty_result(graphs: Sequence[nx.Graph], train_graphs: Iterable[nx.Graph]) -> NoveltyResult:
    """Distinct generated graphs isomorphic to no training graph (see :func:`novelty`)."""
    reps = _representatives(graphs, isomorphism_classes(graphs))
    flags, n_train = _novel_flags(reps, train_graphs)
    n_novel = int(sum(flags))
    return NoveltyResult(n_novel / max(len(reps), 1), n_novel, len(reps), n_train)


def novelty(graphs: Sequence[nx.Graph], train_graphs: Iterable[nx.Graph]) -> float:
    """Fraction of the distinct (up to isomorphism) generated graphs that are isomorphic to
    no training graph (0 if ``graphs`` is empty).

    Args:
        graphs: the generated graphs.
        train_graphs: the training graphs (any number; only those sharing node count,
            edge count and degree sequence with a generated graph are hashed and compared).
    """
    return novelty_result(graphs, train_graphs).fraction


# ------------------------------------------------------------------- node counts


@dataclass
class NodeCountResult:
    """Node-count distributions.

    Attributes:
        generated_mean, generated_std, reference_mean, reference_std: mean and population
            standard deviation (``ddof=0``) of the node counts (NaN for an empty set).
        wasserstein: Wasserstein-1 distance between the two node-count distributions
            (NaN if either set is empty).
    """

    generated_mean: float
    generated_std: float
    reference_mean: float
    reference_std: float
    wasserstein: float


def node_count_stats(generated: Sequence[nx.Graph], reference: Sequence[nx.Graph]) -> NodeCountResult:
    """Mean, standard deviation and Wasserstein-1 distance of the node counts.

    Args:
        generated: the generated graphs.
        reference: the reference graphs.
    """
    from scipy.stats import wasserstein_distance

    gen = np.array([g.number_of_nodes() for g in generated], dtype=np.float64)
    ref = np.array([g.number_of_nodes() for g in reference], dtype=np.float64)

    def stats(x: np.ndarray) -> tuple[float, float]:
        return (float(x.mean()), float(x.std())) if x.size else (math.nan, math.nan)

    w1 = float(wasserstein_distance(gen, ref)) if gen.size and ref.size else math.nan
    return NodeCountResult(*stats(gen), *stats(ref), w1)


# ------------------------------------------------------------------------- MMD


def degree_histograms(graphs: Sequence[nx.Graph], length: int | None = None) -> np.ndarray:
    """Normalised degree histograms (GraphRNN: ``nx.degree_histogram`` over its sum).

    Args:
        graphs: non-empty graphs.
        length: number of bins (default: largest degree plus one).

    Returns:
        float64 ``[len(graphs), length]``; row ``i``, column ``k``: fraction of the nodes of
        graph ``i`` with degree ``k``.
    """
    degrees = [np.fromiter((d for _, d in g.degree()), dtype=np.int64, count=g.number_of_nodes()) for g in graphs]
    if any(d.size == 0 for d in degrees):
        raise ValueError("degree histograms need graphs with at least one node")
    top = max((int(d.max()) for d in degrees), default=0) + 1
    length = top if length is None else int(length)
    if length < top:
        raise ValueError(f"length {length} is shorter than the largest degree plus one ({top})")
    out = np.zeros((len(degrees), length), dtype=np.float64)
    for i, d in enumerate(degrees):
        out[i] = np.bincount(d, minlength=length) / d.size
    return out


def clustering_histograms(graphs: Sequence[nx.Graph], bins: int = CLUSTERING_BINS) -> np.ndarray:
    """Normalised histograms of local clustering coefficients (GraphRNN).

    Same bins as ``np.histogram(nx.clustering(G).values(), bins=bins, range=(0, 1))``
    (the last bin closed), divided by the node count.

    Args:
        graphs: non-empty graphs.
        bins: equal bins on ``[0, 1]`` (default 100).

    Returns:
        float64 ``[len(graphs), bins]``.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    values, owner = [], []
    for i, g in enumerate(graphs):
        if g.number_of_nodes() == 0:
            raise ValueError("clustering histograms need graphs with at least one node")
        c = np.fromiter(nx.clustering(g).values(), dtype=np.float64, count=g.number_of_nodes())
        values.append(c)
        owner.append(np.full(c.size, i, dtype=np.int64))
    if not values:
        return np.zeros((0, bins), dtype=np.float64)
    values_all, owner_all = np.concatenate(values), np.concatenate(owner)
    which = np.clip(np.searchsorted(edges, values_all, side="right") - 1, 0, bins - 1)
    counts = np.bincount(owner_all * bins + which, minlength=len(graphs) * bins).reshape(len(graphs), bins)
    return counts / counts.sum(axis=1, keepdims=True)


def _mean_gaussian_emd_kernel(a: np.ndarray, b: np.ndarray, sigma: float, bin_width: float, block: int) -> float:
    from scipy.spatial.distance import cdist

    total = 0.0
    for start in range(0, a.shape[0], block):
        d = cdist(a[start : start + block], b, metric="cityblock") * bin_width
        total += float(np.exp(-(d * d) / (2.0 * sigma * sigma)).sum())
    return total / (a.shape[0] * b.shape[0])


def gaussian_emd_mmd2(
    x: np.ndarray, y: np.ndarray, *, sigma: float, bin_width: float = 1.0, block: int = 2048
) -> float:
    """GraphRNN's squared MMD between two sets of 1-D histograms, Gaussian kernel on EMD.

    ``k(a, b) = exp(-EMD(a, b)**2 / (2 sigma**2))``, EMD with ground distance ``|i - j| *
    bin_width`` (computed as the L1 distance of the cumulative sums times ``bin_width``);
    returns the biased estimate ``mean k(x, x) + mean k(y, y) - 2 mean k(x, y)``.

    Args:
        x, y: ``[n, bins]`` and ``[m, bins]`` histograms, each row normalised to sum 1
            (pad the shorter with zeros to a common number of bins).
        sigma: kernel width, in the units of ``bin_width``.
        bin_width: ground distance between neighbouring bins (default 1).
        block: rows of ``x`` per distance matrix (default 2048; bounds memory).

    Returns:
        The squared MMD (NaN if either set is empty).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape[0] == 0 or y.shape[0] == 0:
        return math.nan
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"histograms of different lengths: {x.shape[1]} and {y.shape[1]}")
    cx, cy = np.cumsum(x, axis=1), np.cumsum(y, axis=1)
    kxx = _mean_gaussian_emd_kernel(cx, cx, sigma, bin_width, block)
    kyy = _mean_gaussian_emd_kernel(cy, cy, sigma, bin_width, block)
    kxy = _mean_gaussian_emd_kernel(cx, cy, sigma, bin_width, block)
    return kxx + kyy - 2.0 * kxy


@dataclass
class MMDResult:
    """A GraphRNN-style squared MMD.

    Attributes:
        mmd2: the squared MMD (biased V-statistic; NaN if a set is empty).
        sigma: the Gaussian-EMD kernel's width.
        bin_width: the EMD's ground distance between neighbouring bins.
        n_generated, n_reference: non-empty graphs on each side.
    """

    mmd2: float
    sigma: float
    bin_width: float
    n_generated: int
    n_reference: int


def _non_empty(graphs: Sequence[nx.Graph]) -> list[nx.Graph]:
    return [g for g in graphs if g.number_of_nodes() > 0]


def degree_mmd(
    generated: Sequence[nx.Graph], reference: Sequence[nx.Graph], sigma: float = DEGREE_SIGMA
) -> MMDResult:
    """Squared MMD of the degree distributions (GraphRNN ``degree_stats``).

    Kernel ``exp(-EMD**2 / (2 sigma**2))`` on the normalised degree histograms, EMD in
    degree units (bin width 1).

    Args:
        generated: the generated graphs (empty ones dropped).
        reference: the reference graphs (empty ones dropped).
        sigma: kernel width (default 1.0, GraphRNN's).
    """
    gen, ref = _non_empty(generated), _non_empty(reference)
    if not gen or not ref:
        return MMDResult(math.nan, sigma, 1.0, len(gen), len(ref))
    hist = degree_histograms(gen + ref)
    value = gaussian_emd_mmd2(hist[: len(gen)], hist[len(gen) :], sigma=sigma, bin_width=1.0)
    return MMDResult(value, sigma, 1.0, len(gen), len(ref))


def clustering_mmd(
    generated: Sequence[nx.Graph],
    reference: Sequence[nx.Graph],
    sigma: float = CLUSTERING_SIGMA,
    bins: int = CLUSTERING_BINS,
) -> MMDResult:
    """Squared MMD of the clustering-coefficient distributions (GraphRNN ``clustering_stats``).

    Kernel ``exp(-EMD**2 / (2 sigma**2))`` on the normalised histograms of the local
    clustering coefficients (``bins`` equal bins on ``[0, 1]``), EMD in clustering-
    coefficient units (bin width ``1 / bins``: GraphRNN's ``distance_scaling=bins``).

    Args:
        generated: the generated graphs (empty ones dropped).
        reference: the reference graphs (empty ones dropped).
        sigma: kernel width (default 0.1, GraphRNN's).
        bins: histogram bins (default 100, GraphRNN's).
    """
    gen, ref = _non_empty(generated), _non_empty(reference)
    if not gen or not ref:
        return MMDResult(math.nan, sigma, 1.0 / bins, len(gen), len(ref))
    hist = clustering_histograms(gen + ref, bins)
    value = gaussian_emd_mmd2(hist[: len(gen)], hist[len(gen) :], sigma=sigma, bin_width=1.0 / bins)
    return MMDResult(value, sigma, 1.0 / bins, len(gen), len(ref))


# ------------------------------------------------------- degree of decomposability


def degree_of_decomposability(
    graph: nx.Graph, seed: int = 0, *, pinned_edge: tuple[Any, Any] | None = None
) -> float:
    """GenRIC's degree of decomposability: strongly connected components / node count.

    See the module docstring for the construction (pinned edge, bipartite unknowns ×
    equations graph, maximum matching, orientation, strongly connected components).

    Args:
        graph: the graph (meant for Laman graphs; any graph with an edge gets a value).
        seed: with a checksum of the edge list, seeds the choice of the pinned edge
            (default 0); ignored when ``pinned_edge`` is given.
        pinned_edge: the edge to pin (default ``None``: a random edge).

    Returns:
        ``components / n`` in ``[0, 1]``; NaN for a graph without edges.
    """
    from scipy.sparse import coo_matrix, csr_matrix
    from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

    n = graph.number_of_nodes()
    if graph.number_of_edges() == 0:
        return math.nan
    index = _node_index(graph)
    edges = _edge_array(graph, index)
    if pinned_edge is None:
        rng = np.random.default_rng([seed, zlib.crc32(edges.tobytes())])
        pin = int(rng.integers(edges.shape[0]))
    else:
        a, b = sorted((index[pinned_edge[0]], index[pinned_edge[1]]))
        hits = np.flatnonzero((edges[:, 0] == a) & (edges[:, 1] == b))
        if hits.size == 0:
            raise ValueError(f"pinned edge {pinned_edge} is not an edge of the graph")
        pin = int(hits[0])
    pinned = set(edges[pin].tolist())
    equations = np.delete(edges, pin, axis=0)
    # unknowns: two coordinates of every node off the pinned edge that lies on an equation
    var_of = {}
    eq_ids, var_ids = [], []
    for e, (u, v) in enumerate(equations.tolist()):
        for node in {u, v}:
            if node in pinned:
                continue
            if node not in var_of:
                var_of[node] = len(var_of)
            eq_ids += [e, e]
            var_ids += [2 * var_of[node], 2 * var_of[node] + 1]
    n_eq, n_var = equations.shape[0], 2 * len(var_of)
    if n_eq + n_var == 0:
        return 0.0
    eq_ids_a, var_ids_a = np.array(eq_ids, dtype=np.int64), np.array(var_ids, dtype=np.int64)
    if n_eq == 0 or n_var == 0:  # no bipartite edges: every node is its own component
        return (n_eq + n_var) / n
    biadjacency = csr_matrix(
        (np.ones(eq_ids_a.size, dtype=np.int8), (eq_ids_a, var_ids_a)), shape=(n_eq, n_var)
    )
    match = maximum_bipartite_matching(biadjacency, perm_type="column")  # equation -> unknown or -1
    matched = match[eq_ids_a] == var_ids_a
    # directed graph on [unknowns 0..n_var-1, equations n_var..]: equation -> unknown always,
    # unknown -> equation along matched edges
    eq_nodes = n_var + eq_ids_a
    src = np.concatenate([eq_nodes, var_ids_a[matched]])
    dst = np.concatenate([var_ids_a, eq_nodes[matched]])
    size = n_var + n_eq
    directed = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(size, size)).tocsr()
    n_components, _ = connected_components(directed, directed=True, connection="strong")
    return n_components / n


def dod_values(graphs: Sequence[nx.Graph], seed: int = 0) -> np.ndarray:
    """:func:`degree_of_decomposability` of every graph (NaN for graphs without edges).

    Args:
        graphs: the graphs.
        seed: passed to every graph's DoD (default 0).
    """
    return np.array([degree_of_decomposability(g, seed) for g in graphs], dtype=np.float64)


def _ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy.stats import ks_2samp

    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    result = ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


def dod_ks(generated: Sequence[nx.Graph], reference: Sequence[nx.Graph], seed: int = 0) -> float:
    """Two-sample KS statistic between the DoD distributions of two sets of graphs.

    Args:
        generated: the generated graphs (those without edges are left out).
        reference: the reference graphs (likewise).
        seed: seeds the pinned edges (default 0).

    Returns:
        :func:`scipy.stats.ks_2samp` statistic in ``[0, 1]`` (NaN if a side has no DoD).
    """
    return _ks(dod_values(generated, seed), dod_values(reference, seed))[0]


@dataclass
class DoDResult:
    """Degree-of-decomposability distributions compared by the two-sample KS statistic.

    Attributes:
        ks, pvalue: KS statistic and p-value, all generated graphs with an edge against the
            reference.
        generated_mean, reference_mean: mean DoD of each side.
        n_generated, n_reference: graphs with a DoD on each side.
        ks_valid, pvalue_valid, valid_mean, n_valid: the same restricted to the generated
            graphs that are Laman (NaN / 0 when validity was not given or none is valid).
            The paper does not say which of the two it reports; both are given.
    """

    ks: float
    pvalue: float
    generated_mean: float
    reference_mean: float
    n_generated: int
    n_reference: int
    ks_valid: float = math.nan
    pvalue_valid: float = math.nan
    valid_mean: float = math.nan
    n_valid: int = 0


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def dod_distribution(
    generated: Sequence[nx.Graph],
    reference: Sequence[nx.Graph],
    seed: int = 0,
    valid: Sequence[bool] | np.ndarray | None = None,
) -> DoDResult:
    """DoD KS statistic and means; with ``valid`` also restricted to the valid generated graphs.

    Args:
        generated: the generated graphs.
        reference: the reference graphs.
        seed: seeds the pinned edges (default 0).
        valid: per generated graph, whether it is Laman (default ``None``: no restricted figures).
    """
    gen, ref = dod_values(generated, seed), dod_values(reference, seed)
    ks, pvalue = _ks(gen, ref)
    result = DoDResult(
        ks, pvalue, _mean(gen), _mean(ref), int(np.isfinite(gen).sum()), int(np.isfinite(ref).sum())
    )
    if valid is not None:
        flags = np.asarray(valid, dtype=bool)
        if flags.shape != gen.shape:
            raise ValueError("valid needs one flag per generated graph")
        sub = gen[flags]
        result.ks_valid, result.pvalue_valid = _ks(sub, ref)
        result.valid_mean = _mean(sub)
        result.n_valid = int(np.isfinite(sub).sum())
    return result


# ------------------------------------------------------------------------ report


@dataclass
class GraphReport:
    """All graph metrics of one generated set (:func:`evaluate_graphs`).

    Attributes:
        n_generated, n_reference: set sizes.
        validity: Laman validity of the generated graphs.
        uniqueness: isomorphism classes among all generated graphs.
        novelty: distinct generated graphs not isomorphic to a training graph (``None``
            without training graphs).
        node_counts: node-count means, standard deviations and Wasserstein-1 distance.
        degree_mmd: squared MMD of degree histograms (Gaussian-EMD kernel, sigma 1).
        clustering_mmd: squared MMD of clustering histograms (Gaussian-EMD kernel, sigma 0.1).
        dod: DoD KS statistics and means.
        seed: the seed of the Laman check and the pinned edges.
        seconds: wall time of each metric.
    """

    n_generated: int
    n_reference: int
    validity: ValidityResult
    uniqueness: UniquenessResult
    novelty: NoveltyResult | None
    node_counts: NodeCountResult
    degree_mmd: MMDResult
    clustering_mmd: MMDResult
    dod: DoDResult
    seed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (NaN becomes ``None``)."""
        return json_safe(asdict(self))


def evaluate_graphs(
    generated: Sequence[nx.Graph],
    reference: Sequence[nx.Graph],
    train: Sequence[nx.Graph] | None = None,
    seed: int = 0,
) -> GraphReport:
    """Every graph metric of ``generated`` against ``reference`` (and ``train`` for novelty).

    Validity, uniqueness and novelty count all generated graphs (uniqueness: classes over
    all generated graphs; novelty: over the distinct ones); node counts, MMDs and the DoD
    KS use all generated graphs (the MMDs drop empty ones, the DoD graphs without edges);
    :class:`DoDResult` also gives the DoD KS of the valid generated graphs alone.

    Args:
        generated: the generated graphs.
        reference: the reference graphs (e.g. held-out data).
        train: the training graphs (default ``None``: no novelty).
        seed: seeds the Laman check and the pinned edges of the DoD (default 0).
    """
    generated, reference = list(generated), list(reference)
    seconds: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        seconds[name] = time.perf_counter() - start
        return out

    flags = timed("validity", _valid_flags, generated, seed)
    n_valid = int(flags.sum())
    validity = ValidityResult(n_valid / max(len(generated), 1), n_valid, len(generated))

    start = time.perf_counter()
    classes = isomorphism_classes(generated)
    uniqueness = UniquenessResult(len(set(classes)) / max(len(generated), 1), len(set(classes)), len(generated))
    seconds["uniqueness"] = time.perf_counter() - start
    novel = None
    if train is not None:
        start = time.perf_counter()
        reps = _representatives(generated, classes)
        novel_flags, n_train = _novel_flags(reps, train)
        n_novel = int(sum(novel_flags))
        novel = NoveltyResult(n_novel / max(len(reps), 1), n_novel, len(reps), n_train)
        seconds["novelty"] = time.perf_counter() - start

    node_counts = timed("node_counts", node_count_stats, generated, reference)
    deg = timed("degree_mmd", degree_mmd, generated, reference)
    clus = timed("clustering_mmd", clustering_mmd, generated, reference)
    dod = timed("dod", dod_distribution, generated, reference, seed, flags)
    seconds["total"] = sum(seconds.values())
    logger.debug("evaluate_graphs: %d vs %d graphs in %.2f s", len(generated), len(reference), seconds["total"])
    return GraphReport(
        len(generated), len(reference), validity, uniqueness, novel, node_counts, deg, clus, dod, seed, seconds
    )
