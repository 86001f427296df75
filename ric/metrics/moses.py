"""MOSES distribution metrics (Polykovskiy et al., Front. Pharmacol. 2020).

ric's own implementation of the metrics of the MOSES benchmark (the ``molsets``
package no longer imports on current numpy/pandas/RDKit). The definitions follow the
MOSES code (``moses/metrics/metrics.py`` and ``moses/metrics/utils.py``, molsets 0.3.1),
since the published tables were computed with it; where the code and the paper differ,
the code is followed and the difference is noted. FCD is not part of this module.

Molecule sets (as in ``moses.get_all_metrics``):

* **valid**: fraction of the ``n`` generated strings that are non-empty and parse with
  RDKit (``Chem.MolFromSmiles`` not ``None``; no atom-count check).
* The valid strings are then replaced by their RDKit canonical SMILES (*isomeric*:
  stereochemistry is kept, unlike ric's GuacaMol metrics), in generation order and with
  duplicates; every other metric is computed on the molecules re-parsed from these
  canonical SMILES, **duplicates included**.
* **unique@k**: distinct canonical SMILES among the first ``k`` valid canonical SMILES,
  divided by how many were taken; with fewer than ``k`` valid molecules all are used
  (MOSES warns and carries on).
* **novelty** (only when training SMILES are given): fraction of the *distinct* valid
  canonical SMILES that are not in the training set.

Metrics (``T`` is the Tanimoto similarity of Morgan fingerprints, radius 2, 1,024 bits,
chirality and features off; ``T(0, 0) = 1`` for two empty fingerprints as in the code):

* **IntDiv_p** (p = 1, 2) of the generated set ``G`` (duplicates included, each
  molecule paired with every molecule including itself)::

      IntDiv_p = 1 - (1/|G|) sum_{x in G} ( (1/|G|) sum_{y in G} T(x, y)^p )^(1/p)

  The paper writes ``1 - ((1/|G|^2) sum_{x,y} T(x, y)^p)^(1/p)``; the code applies the
  ``1/p`` power per molecule before averaging. The two agree for ``p = 1``; for
  ``p = 2`` this module follows the code.
* **SNN**: mean over the generated molecules of the maximum ``T`` to the reference set.
* **Frag**: cosine similarity of the BRICS fragment counts: each molecule is cut with
  ``FragmentOnBRICSBonds`` and the canonical (isomeric) SMILES of the result is split
  on ``"."`` (fragments keep their ``[n*]`` dummy atoms; a molecule without a BRICS
  bond is its own single fragment); counts are summed over all molecules.
* **Scaf**: cosine similarity of the Bemis–Murcko scaffold counts
  (``MurckoScaffold.GetScaffoldForMol``, canonical isomeric SMILES). Scaffolds with
  fewer than **two** rings are dropped, acyclic molecules (empty scaffold) included; the
  paper does not mention this, the code does it (``min_rings=2``).
* Cosine similarity is over the union of the keys (missing keys count 0); it is NaN if
  either side has no keys.
* **Filters**: fraction of the generated molecules that pass ``passes_filters``: no
  ring (SSSR) of 8 or more atoms, no formal charge, only the atoms C, N, S, O, F, Cl,
  Br, H, no match of the 22 MCF and 480 PAINS SMARTS (matched on the molecule with
  explicit hydrogens) and a non-empty non-isomeric SMILES that parses back. The
  paper's text mentions only MCF, PAINS, charges and allowed atoms.
* **logP, SA, QED, weight**: 1-D Wasserstein distances between the generated and the
  reference values of Crippen ``MolLogP``, the synthetic-accessibility score (RDKit
  Contrib ``sascorer``, the same code and fragment table MOSES ships), ``QED.qed`` and
  ``Descriptors.MolWt``.

The reference statistics (``MosesReference``) are computed on the reference SMILES as
given (MOSES parses its test sets without canonicalising or de-duplicating them).

Pairwise similarities use float32 matrix products of the 0/1 fingerprints (exact
integer intersections) in tiles of ``block x block``, so memory is bounded by the block
size and there are no Python loops over molecule pairs.
"""
from __future__ import annotations

import csv
import importlib.util
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, FilterCatalog, rdFingerprintGenerator
from rdkit.Chem.QED import qed
from rdkit.Chem.rdmolops import FragmentOnBRICSBonds
from rdkit.Chem.Scaffolds import MurckoScaffold

from ric.molecules.rdkit_utils import quiet_rdkit

__all__ = [
    "ALLOWED_ATOMS",
    "PROPERTIES",
    "MosesReference",
    "MosesResult",
    "cosine_similarity",
    "filter_patterns",
    "filters",
    "fragment_counts",
    "fragments",
    "internal_diversity",
    "molecular_properties",
    "morgan_fingerprints",
    "moses_metrics",
    "murcko_scaffold",
    "nearest_neighbour_similarity_to",
    "passes_filters",
    "sa_score",
    "scaffold_counts",
    "unique_at",
    "wasserstein_distances",
]

logger = logging.getLogger(__name__)

#: Atoms allowed by the MOSES filters (``GetSymbol()`` values).
ALLOWED_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
#: Property names, in MOSES's order.
PROPERTIES = ("logP", "SA", "QED", "weight")

_FILTERS_CSV = Path(__file__).resolve().parent / "data" / "moses_filters.csv"
_STATE_VERSION = 1


# ----------------------------------------------------------------------------- parsing


def _parse(smiles: str) -> Chem.Mol | None:
    """MOSES's parse: ``None`` for an empty string or one RDKit rejects."""
    if not smiles:
        return None
    with quiet_rdkit():
        return Chem.MolFromSmiles(smiles)


# ------------------------------------------------------------------------ fingerprints


def morgan_fingerprints(mols: Sequence[Chem.Mol], radius: int = 2, n_bits: int = 1024) -> np.ndarray:
    """Morgan bit fingerprints as a bool matrix.

    MOSES uses ``radius=2, n_bits=1024`` (no chirality, no features) for SNN and
    IntDiv; the bits equal those of RDKit's ``GetMorganFingerprintAsBitVect``.

    Args:
        mols: RDKit molecules (no ``None``).
        radius: Morgan radius (default 2).
        n_bits: fingerprint length (default 1024).

    Returns:
        bool ``[len(mols), n_bits]``.
    """
    out = np.zeros((len(mols), n_bits), dtype=bool)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    for i, mol in enumerate(mols):
        out[i] = gen.GetFingerprintAsNumPy(mol).astype(bool)
    return out


def _tanimoto_tiles(
    a: np.ndarray, b: np.ndarray, block: int, upper_only: bool = False
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(i0, j0, T)`` with ``T`` float64 ``[<=block, <=block]`` Tanimoto tiles.

    ``T[r, c]`` is the similarity of ``a[i0 + r]`` and ``b[j0 + c]``; two empty
    fingerprints have similarity 1 (MOSES replaces the 0/0 by 1). With ``upper_only``
    (``a is b``) only tiles with ``j0 >= i0`` are produced.
    """
    if block < 1:
        raise ValueError(f"block must be positive, got {block}")
    count_a = a.sum(1, dtype=np.float64)
    count_b = count_a if b is a else b.sum(1, dtype=np.float64)
    for i0 in range(0, a.shape[0], block):
        xa = a[i0 : i0 + block].astype(np.float32)
        for j0 in range(i0 if upper_only else 0, b.shape[0], block):
            xb = xa if (b is a and j0 == i0) else b[j0 : j0 + block].astype(np.float32)
            inter = (xa @ xb.T).astype(np.float64)  # exact: integers below 2**24
            union = count_a[i0 : i0 + block, None] + count_b[None, j0 : j0 + block] - inter
            sim = np.ones_like(union)
            np.divide(inter, union, out=sim, where=union > 0)
            yield i0, j0, sim


def internal_diversity(fps: np.ndarray, p: float = 1, block: int = 1024) -> float:
    """MOSES internal diversity ``IntDiv_p`` of a fingerprint set.

    ``1 - mean_x (mean_y T(x, y)^p)^(1/p)`` over all ordered pairs including ``x = y``
    (the MOSES code; the paper puts the ``1/p`` power outside the double mean, which
    differs for ``p != 1``). Duplicates count as separate molecules.

    Args:
        fps: bool ``[n, bits]`` (e.g. from ``morgan_fingerprints``).
        p: power (MOSES reports ``p = 1`` as IntDiv and ``p = 2`` as IntDiv2).
        block: tile side of the pairwise computation (default 1024); memory is about
            ``3 * 8 * block**2`` bytes plus ``4 * block * bits``.

    Returns:
        IntDiv in ``[0, 1]``; NaN for an empty set.
    """
    n = fps.shape[0]
    if n == 0:
        return float("nan")
    row_sums = np.zeros(n, dtype=np.float64)
    for i0, j0, sim in _tanimoto_tiles(fps, fps, block, upper_only=True):
        if p != 1:
            sim = sim**p
        row_sums[i0 : i0 + sim.shape[0]] += sim.sum(1)
        if j0 != i0:  # the mirrored tile below the diagonal
            row_sums[j0 : j0 + sim.shape[1]] += sim.sum(0)
    per_molecule = row_sums / n
    if p != 1:
        per_molecule = per_molecule ** (1.0 / p)
    return float(1.0 - per_molecule.mean())


def nearest_neighbour_similarity_to(generated_fps: np.ndarray, reference_fps: np.ndarray, block: int = 1024) -> float:
    """MOSES SNN: mean over the generated of the maximum Tanimoto to the reference.

    Args:
        generated_fps: bool ``[n, bits]``.
        reference_fps: bool ``[m, bits]``.
        block: tile side (default 1024); memory about ``3 * 8 * block**2`` bytes.

    Returns:
        SNN in ``[0, 1]``; NaN if either set is empty.
    """
    n, m = generated_fps.shape[0], reference_fps.shape[0]
    if n == 0 or m == 0:
        return float("nan")
    best = np.zeros(n, dtype=np.float64)
    for i0, _, sim in _tanimoto_tiles(generated_fps, reference_fps, block):
        rows = slice(i0, i0 + sim.shape[0])
        best[rows] = np.maximum(best[rows], sim.max(1))
    return float(best.mean())


# ---------------------------------------------------------------- fragments, scaffolds


def fragments(mol: Chem.Mol) -> list[str]:
    """BRICS fragments of one molecule as MOSES computes them.

    The molecule is cut at its BRICS bonds (``FragmentOnBRICSBonds``, which adds
    ``[n*]`` dummy atoms labelled with the BRICS environment) and the canonical isomeric
    SMILES of the result is split on ``"."``.
    """
    return Chem.MolToSmiles(FragmentOnBRICSBonds(mol)).split(".")


def fragment_counts(mols: Iterable[Chem.Mol]) -> Counter:
    """Counts of BRICS fragments (``fragments``) summed over ``mols``."""
    counts: Counter = Counter()
    for mol in mols:
        counts.update(fragments(mol))
    return counts


def murcko_scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    """Bemis–Murcko scaffold SMILES as MOSES computes it, or ``None`` if dropped.

    The scaffold is ``MurckoScaffold.GetScaffoldForMol`` written as canonical isomeric
    SMILES. It is dropped (``None``) if it is empty (acyclic molecule), has fewer than
    ``min_rings`` rings (MOSES uses 2, so single-ring scaffolds such as benzene are
    dropped too) or RDKit fails on it.
    """
    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smiles = Chem.MolToSmiles(scaffold)
    if not smiles or scaffold.GetRingInfo().NumRings() < min_rings:
        return None
    return smiles


def scaffold_counts(mols: Iterable[Chem.Mol], min_rings: int = 2) -> Counter:
    """Counts of the kept Bemis–Murcko scaffolds (``murcko_scaffold``) over ``mols``."""
    counts: Counter = Counter()
    for mol in mols:
        scaffold = murcko_scaffold(mol, min_rings)
        if scaffold is not None:
            counts[scaffold] += 1
    return counts


def cosine_similarity(counts_a: Mapping[str, int], counts_b: Mapping[str, int]) -> float:
    """Cosine similarity of two count vectors indexed by the union of their keys.

    Missing keys count 0. NaN if either mapping is empty (as in MOSES). Computed with
    exact integer dot products.
    """
    if not counts_a or not counts_b:
        return float("nan")
    if len(counts_b) < len(counts_a):
        counts_a, counts_b = counts_b, counts_a
    dot = sum(int(v) * int(counts_b.get(k, 0)) for k, v in counts_a.items())
    norm_a = sum(int(v) ** 2 for v in counts_a.values())
    norm_b = sum(int(v) ** 2 for v in counts_b.values())
    if norm_a == 0 or norm_b == 0:
        return float("nan")
    return dot / math.sqrt(norm_a * norm_b)


# ----------------------------------------------------------------------------- filters


def filter_patterns() -> list[tuple[str, str, str]]:
    """The MOSES MCF and PAINS alerts as ``(set, name, smarts)``, ``set`` in {mcf, pains}.

    Read from ``ric/metrics/data/moses_filters.csv`` (see the README there).
    """
    with open(_FILTERS_CSV, newline="") as handle:
        return [(row["set"], row["name"], row["smarts"]) for row in csv.DictReader(handle)]


@lru_cache(maxsize=1)
def _filter_catalog() -> FilterCatalog.FilterCatalog:
    """All MCF and PAINS SMARTS compiled once into one RDKit ``FilterCatalog``.

    ``FilterCatalog.HasMatch`` with ``SmartsMatcher(minCount=1)`` entries is
    ``any(mol.HasSubstructMatch(query))`` over the patterns, run in C++ (about twice as
    fast as the Python loop).
    """
    catalog = FilterCatalog.FilterCatalog()
    for _, name, smarts in filter_patterns():
        matcher = FilterCatalog.SmartsMatcher(name, smarts, 1)
        if not matcher.IsValid():
            raise ValueError(f"cannot parse the filter SMARTS {name}: {smarts}")
        catalog.AddEntry(FilterCatalog.FilterCatalogEntry(name, matcher))
    return catalog


def passes_filters(mol: Chem.Mol | None, allowed: frozenset[str] | set[str] = ALLOWED_ATOMS) -> bool:
    """MOSES ``mol_passes_filters``.

    A molecule passes if it is not ``None`` and: no SSSR ring has 8 or more atoms; no
    atom has a formal charge; every atom symbol is in ``allowed`` (default C, N, S, O,
    F, Cl, Br, H); none of the 22 MCF and 480 PAINS SMARTS matches the molecule with
    explicit hydrogens added; its non-isomeric SMILES is non-empty and parses back.
    """
    if mol is None:
        return False
    if any(len(ring) >= 8 for ring in mol.GetRingInfo().AtomRings()):
        return False
    atoms = mol.GetAtoms()
    if any(atom.GetFormalCharge() != 0 for atom in atoms):
        return False
    if any(atom.GetSymbol() not in allowed for atom in atoms):
        return False
    if _filter_catalog().HasMatch(Chem.AddHs(mol)):
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smiles) and _parse(smiles) is not None


def filters(mols: Sequence[Chem.Mol | None]) -> float:
    """Fraction of ``mols`` passing ``passes_filters`` (NaN for an empty list)."""
    if len(mols) == 0:
        return float("nan")
    return float(np.mean([passes_filters(m) for m in mols]))


# -------------------------------------------------------------------------- properties


@lru_cache(maxsize=1)
def _sascorer() -> ModuleType:
    """RDKit's Contrib ``sascorer`` module, loaded once (with its fragment scores)."""
    from rdkit import RDConfig

    path = Path(RDConfig.RDContribDir) / "SA_Score" / "sascorer.py"
    if not path.is_file():
        raise ImportError(
            f"RDKit's Contrib SA_Score is missing (looked for {path}); the SA score needs an "
            "RDKit build that ships Contrib (the PyPI 'rdkit' wheels and conda-forge do)"
        )
    spec = importlib.util.spec_from_file_location("ric_rdkit_contrib_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.readFragmentScores()
    return module


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic-accessibility score (Ertl & Schuffenhauer 2009), 1 (easy) to 10 (hard).

    RDKit's Contrib ``sascorer.calculateScore``, the same algorithm and fragment table as
    the copy in MOSES. NaN for a molecule without atoms.
    """
    score = _sascorer().calculateScore(mol)
    return float("nan") if score is None else float(score)


_PROPERTY_FUNCTIONS = {
    "logP": Crippen.MolLogP,
    "SA": sa_score,
    "QED": qed,
    "weight": Descriptors.MolWt,
}


def molecular_properties(mols: Sequence[Chem.Mol]) -> dict[str, np.ndarray]:
    """The MOSES properties of each molecule.

    Returns:
        ``{"logP": Crippen MolLogP, "SA": sa_score, "QED": QED.qed, "weight":
        Descriptors.MolWt}``, each float64 ``[len(mols)]``.
    """
    return {
        name: np.fromiter((func(m) for m in mols), dtype=np.float64, count=len(mols))
        for name, func in _PROPERTY_FUNCTIONS.items()
    }


def wasserstein_distances(
    generated_props: Mapping[str, np.ndarray], reference_props: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """1-D Wasserstein distance per property (``scipy.stats.wasserstein_distance``).

    Args:
        generated_props, reference_props: ``{name: float [n]}`` (e.g. from
            ``molecular_properties``); the names of ``reference_props`` are used.

    Returns:
        ``{name: distance}``; NaN where either side is empty.
    """
    from scipy.stats import wasserstein_distance

    out = {}
    for name, ref in reference_props.items():
        gen = np.asarray(generated_props[name], dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        out[name] = float(wasserstein_distance(ref, gen)) if len(gen) and len(ref) else float("nan")
    return out


# ------------------------------------------------------------------------ uniqueness


def unique_at(canonical_valid_smiles: Sequence[str], k: int | None = None, partial: bool = True) -> float:
    """MOSES unique@k: distinct strings among the first ``k``, over how many were taken.

    Args:
        canonical_valid_smiles: canonical SMILES of the valid molecules, in generation
            order, duplicates included.
        k: how many to look at; ``None`` for all. With fewer than ``k`` strings all are
            used and a warning is logged (MOSES warns and does the same), unless
            ``partial`` is false.
        partial: with fewer than ``k`` strings, compute the fraction on all of them
            (default ``True``, MOSES's behaviour); ``False`` returns NaN instead, so that
            no figure labelled unique@k is ever computed on fewer than ``k`` molecules.

    Returns:
        Fraction in ``(0, 1]``; NaN for an empty list (or too short a list without ``partial``).
    """
    if k is not None:
        if len(canonical_valid_smiles) < k and not partial:
            logger.debug("unique@%d not computed: only %d valid molecules", k, len(canonical_valid_smiles))
            return float("nan")
        if len(canonical_valid_smiles) < k:
            logger.warning(
                "unique@%d computed on only %d valid molecules", k, len(canonical_valid_smiles)
            )
        canonical_valid_smiles = canonical_valid_smiles[:k]
    if len(canonical_valid_smiles) == 0:
        return float("nan")
    return len(set(canonical_valid_smiles)) / len(canonical_valid_smiles)


# ------------------------------------------------------------------------- reference


def _encode_counter(counts: Counter) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(counts)
    return np.array(keys, dtype=np.str_), np.array([counts[k] for k in keys], dtype=np.int64)


def _decode_counter(keys: np.ndarray, values: np.ndarray) -> Counter:
    return Counter(dict(zip(keys.tolist(), values.tolist())))


@dataclass(eq=False)
class MosesReference:
    """Precomputed statistics of a reference set (e.g. the MOSES test set).

    Attributes:
        fingerprints: bool ``[m, 1024]`` Morgan (radius 2) fingerprints.
        fragment_counts: BRICS fragment counts (``fragment_counts``).
        scaffold_counts: kept Bemis–Murcko scaffold counts (``scaffold_counts``).
        properties: ``{logP, SA, QED, weight}``, each float64 ``[m]``.
        n_molecules: ``m``, the valid reference molecules.
    """

    fingerprints: np.ndarray
    fragment_counts: Counter
    scaffold_counts: Counter
    properties: dict[str, np.ndarray]
    n_molecules: int

    @classmethod
    def from_mols(cls, mols: Sequence[Chem.Mol]) -> MosesReference:
        """Statistics of parsed reference molecules (no ``None``)."""
        return cls(
            fingerprints=morgan_fingerprints(mols),
            fragment_counts=fragment_counts(mols),
            scaffold_counts=scaffold_counts(mols),
            properties=molecular_properties(mols),
            n_molecules=len(mols),
        )

    @classmethod
    def from_smiles(cls, smiles: Sequence[str]) -> MosesReference:
        """Statistics of reference SMILES, parsed as given (not canonicalised, duplicates
        kept, as MOSES does for its test sets). Invalid strings are dropped with a
        warning (MOSES would fail on them)."""
        mols = [_parse(s) for s in smiles]
        valid = [m for m in mols if m is not None]
        if len(valid) < len(mols):
            logger.warning("dropped %d invalid reference SMILES of %d", len(mols) - len(valid), len(mols))
        return cls.from_mols(valid)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything as numpy arrays (no objects), for ``np.savez``.

        Fingerprints are bit-packed (``np.packbits`` along the bits); counters become a
        sorted string array of keys and an int64 array of counts.
        """
        frag_keys, frag_counts = _encode_counter(self.fragment_counts)
        scaf_keys, scaf_counts = _encode_counter(self.scaffold_counts)
        state = {
            "version": np.array(_STATE_VERSION, dtype=np.int64),
            "n_molecules": np.array(self.n_molecules, dtype=np.int64),
            "n_bits": np.array(self.fingerprints.shape[1], dtype=np.int64),
            "fingerprints_packed": np.packbits(self.fingerprints, axis=1),
            "fragment_keys": frag_keys,
            "fragment_counts": frag_counts,
            "scaffold_keys": scaf_keys,
            "scaffold_counts": scaf_counts,
        }
        for name, values in self.properties.items():
            state[f"property_{name}"] = np.asarray(values, dtype=np.float64)
        return state

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> MosesReference:
        """Inverse of ``state_dict`` (accepts the ``NpzFile`` of ``np.load``)."""
        version = int(state["version"])
        if version != _STATE_VERSION:
            raise ValueError(f"unsupported MosesReference state version {version}")
        n_bits = int(state["n_bits"])
        fingerprints = np.unpackbits(np.asarray(state["fingerprints_packed"]), axis=1, count=n_bits).astype(bool)
        return cls(
            fingerprints=fingerprints,
            fragment_counts=_decode_counter(state["fragment_keys"], state["fragment_counts"]),
            scaffold_counts=_decode_counter(state["scaffold_keys"], state["scaffold_counts"]),
            properties={name: np.asarray(state[f"property_{name}"], dtype=np.float64) for name in PROPERTIES},
            n_molecules=int(state["n_molecules"]),
        )


# ------------------------------------------------------------------------------ result


@dataclass
class MosesResult:
    """MOSES metrics of a generated set (definitions in the module docstring).

    Attributes:
        valid: fraction of the generated strings that parse.
        unique_at_1k, unique_at_10k: unique@1000 and unique@10000.
        novelty: fraction of distinct valid molecules not in the training set, or
            ``None`` when no training set was given.
        int_div1, int_div2: IntDiv with ``p = 1`` and ``p = 2``.
        snn, frag, scaf: SNN, Frag and Scaf against the reference.
        filters: fraction passing the MOSES filters.
        wasserstein: ``{logP, SA, QED, weight}`` Wasserstein distances to the reference.
        n_generated: generated strings.
        n_valid: valid ones; the metrics are computed on their molecules, duplicates
            included (less any whose canonical SMILES does not parse back, which MOSES
            would fail on; a warning is logged).
        properties: the per-molecule ``{logP, SA, QED, weight}`` arrays behind the
            Wasserstein distances (for plots; not part of :meth:`as_dict`).
    """

    valid: float
    unique_at_1k: float
    unique_at_10k: float
    novelty: float | None
    int_div1: float
    int_div2: float
    snn: float
    frag: float
    scaf: float
    filters: float
    wasserstein: dict[str, float] = field(default_factory=dict)
    n_generated: int = 0
    n_valid: int = 0
    properties: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, float | int | None]:
        """Flat dict with the attribute names; Wasserstein distances as ``wasserstein_<name>``."""
        out: dict[str, float | int | None] = {
            "valid": self.valid,
            "unique_at_1k": self.unique_at_1k,
            "unique_at_10k": self.unique_at_10k,
            "novelty": self.novelty,
            "int_div1": self.int_div1,
            "int_div2": self.int_div2,
            "snn": self.snn,
            "frag": self.frag,
            "scaf": self.scaf,
            "filters": self.filters,
        }
        out.update({f"wasserstein_{name}": value for name, value in self.wasserstein.items()})
        out.update(n_generated=self.n_generated, n_valid=self.n_valid)
        return out

    def as_moses_dict(self) -> dict[str, float]:
        """The values under the key names of ``moses.get_all_metrics`` (without the
        ``/Test`` suffixes); ``Novelty`` only when computed."""
        out = {
            "valid": self.valid,
            "unique@1000": self.unique_at_1k,
            "unique@10000": self.unique_at_10k,
            "SNN": self.snn,
            "Frag": self.frag,
            "Scaf": self.scaf,
            "IntDiv": self.int_div1,
            "IntDiv2": self.int_div2,
            "Filters": self.filters,
        }
        out.update(self.wasserstein)
        if self.novelty is not None:
            out["Novelty"] = self.novelty
        return out


# ----------------------------------------------------------------------------- metrics


def _canonical_set(smiles: Iterable[str]) -> set[str]:
    out = set()
    for s in smiles:
        mol = _parse(s)
        if mol is not None:
            out.add(Chem.MolToSmiles(mol))
    return out


def moses_metrics(
    generated: Sequence[str],
    reference: MosesReference,
    training: Iterable[str] | None = None,
    *,
    training_is_canonical: bool = False,
    mols: Sequence[Chem.Mol | None] | None = None,
    block: int = 1024,
    partial_unique: bool = True,
) -> MosesResult:
    """All MOSES metrics (except FCD) of ``generated`` against ``reference``.

    Each string is parsed once. Following MOSES, the metrics are computed on the
    molecules parsed from the canonical SMILES of the valid strings; the second parse
    is skipped when a string is already canonical (the result is then identical).

    Args:
        generated: generated SMILES, in generation order (order matters for unique@k).
        reference: reference statistics (``MosesReference.from_smiles``).
        training: training SMILES for novelty; ``None`` skips novelty. They are
            canonicalised here unless ``training_is_canonical`` (MOSES compares against
            its training strings as they are, which are RDKit canonical SMILES; pass
            ``training_is_canonical=True`` to do exactly that and save the parsing).
        mols: optional molecules already parsed from ``generated`` (``None`` where
            invalid). They are then used directly, without re-parsing their canonical
            SMILES (which MOSES does; the difference matters only in the rare cases where
            RDKit's canonicalisation is not idempotent).
        block: tile side of the pairwise similarity computations (default 1024).
        partial_unique: with fewer valid molecules than ``k``, compute unique@k on all of
            them with a warning (default ``True``, as MOSES); ``False`` leaves it NaN
            (see :func:`unique_at`).

    Returns:
        ``MosesResult``. Metrics that need valid molecules are NaN when there are none.
    """
    n = len(generated)
    if mols is not None and len(mols) != n:
        raise ValueError(f"got {len(mols)} mols for {n} generated strings")

    n_valid = 0
    metric_mols: list[Chem.Mol] = []
    canonical: list[str] = []  # MolToSmiles of each metric molecule, what MOSES uses for unique@k
    for i, s in enumerate(generated):
        if mols is not None:
            mol = mols[i]
            if mol is None:
                continue
            n_valid += 1
            metric_mols.append(mol)
            canonical.append(Chem.MolToSmiles(mol))
            continue
        mol = _parse(s)
        if mol is None:
            continue
        n_valid += 1
        first = Chem.MolToSmiles(mol)
        if first != s:
            mol = _parse(first)
            if mol is None:
                logger.warning("canonical SMILES %r of %r does not parse back; skipped", first, s)
                continue
            first = Chem.MolToSmiles(mol)
        metric_mols.append(mol)
        canonical.append(first)

    fps = morgan_fingerprints(metric_mols, n_bits=reference.fingerprints.shape[1])
    properties = molecular_properties(metric_mols)
    novelty = None
    if training is not None:
        known = set(training) if training_is_canonical else _canonical_set(training)
        distinct = set(canonical)
        novelty = len(distinct - known) / len(distinct) if distinct else float("nan")

    return MosesResult(
        valid=n_valid / n if n else float("nan"),
        unique_at_1k=unique_at(canonical, 1000, partial=partial_unique),
        unique_at_10k=unique_at(canonical, 10000, partial=partial_unique),
        novelty=novelty,
        int_div1=internal_diversity(fps, p=1, block=block),
        int_div2=internal_diversity(fps, p=2, block=block),
        snn=nearest_neighbour_similarity_to(fps, reference.fingerprints, block=block),
        frag=cosine_similarity(reference.fragment_counts, fragment_counts(metric_mols)),
        scaf=cosine_similarity(reference.scaffold_counts, scaffold_counts(metric_mols)),
        filters=filters(metric_mols),
        wasserstein=wasserstein_distances(properties, reference.properties),
        n_generated=n,
        n_valid=n_valid,
        properties=properties,
    )
