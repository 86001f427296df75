"""GuacaMol distribution-learning metrics (Brown et al., J. Chem. Inf. Model. 2019).

Definitions follow the published benchmark:

* validity: fraction of the ``n`` generated strings that are non-empty, parse with RDKit
  and have more than zero atoms;
* uniqueness: fraction of distinct canonical SMILES (stereo removed) among the valid;
* novelty: fraction of the distinct valid molecules not in the training set (stereo
  removed on both sides);
* KL-divergence score: mean over ten terms of ``exp(-KL(P_ref || P_gen))``. Continuous
  descriptors (BertzCT, MolLogP, MolWt, TPSA) and the within-set nearest-neighbour
  ECFP4 (radius 2, 4096 bits) maximum Tanimoto similarity use Gaussian KDEs evaluated
  on 1,000 points spanning both sets; integer descriptors (NumHAcceptors, NumHDonors,
  NumRotatableBonds, NumAliphaticRings, NumAromaticRings) use 10-bin histograms on the
  reference's bins; ``1e-10`` is added to both densities.

The nearest-neighbour similarities are computed with bit-packed fingerprints and matrix
products in blocks, not Python double loops.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from ric.molecules.rdkit_utils import quiet_rdkit

__all__ = [
    "canonical_or_none",
    "validity",
    "uniqueness",
    "novelty",
    "KLDivergenceResult",
    "kl_divergence_score",
    "kl_descriptors",
    "kl_divergence_from_descriptors",
    "KL_TERMS",
    "nearest_neighbour_similarity",
]

CONTINUOUS = ("BertzCT", "MolLogP", "MolWt", "TPSA")
DISCRETE = ("NumHAcceptors", "NumHDonors", "NumRotatableBonds", "NumAliphaticRings", "NumAromaticRings")
#: The ten terms of the KL-divergence score, in GuacaMol's order of kinds.
KL_TERMS = CONTINUOUS + DISCRETE + ("internal_similarity",)


def canonical_or_none(smiles: str) -> str | None:
    """Stereo-free canonical SMILES, or ``None`` if the string is not a valid molecule."""
    if not smiles:
        return None
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def validity(smiles: Sequence[str]) -> float:
    """Fraction of ``smiles`` that are valid molecules (GuacaMol validity)."""
    return sum(canonical_or_none(s) is not None for s in smiles) / max(len(smiles), 1)


def uniqueness(smiles: Sequence[str]) -> float:
    """Distinct canonical molecules among the valid ones (GuacaMol uniqueness)."""
    valid = [c for c in map(canonical_or_none, smiles) if c is not None]
    return len(set(valid)) / max(len(valid), 1)


def novelty(smiles: Sequence[str], training: Iterable[str]) -> float:
    """Fraction of distinct valid molecules absent from ``training`` (GuacaMol novelty)."""
    generated = {c for c in map(canonical_or_none, smiles) if c is not None}
    known = {c for c in map(canonical_or_none, training) if c is not None}
    return len(generated - known) / max(len(generated), 1)


def _fingerprints(mols: Sequence[Chem.Mol]) -> np.ndarray:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=4096)
    return np.stack([gen.GetFingerprintAsNumPy(m).astype(bool) for m in mols]) if mols else np.zeros((0, 4096), bool)


def nearest_neighbour_similarity(fps: np.ndarray, block: int = 2048) -> np.ndarray:
    """Max Tanimoto similarity of each fingerprint to any other in the set.

    Args:
        fps: bool ``[n, bits]``.
        block: rows per matrix product (default 2048; bounds memory to ``block * n`` floats).

    Returns:
        float ``[n]``.
    """
    n = fps.shape[0]
    x = fps.astype(np.float32)
    counts = x.sum(1)
    out = np.zeros(n, dtype=np.float64)
    for start in range(0, n, block):
        inter = x[start : start + block] @ x.T
        union = counts[start : start + block, None] + counts[None, :] - inter
        sim = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        rows = np.arange(start, min(start + block, n))
        sim[rows - start, rows] = -1.0  # exclude self
        out[rows] = sim.max(1)
    return out


def kl_descriptors(mols: Sequence[Chem.Mol]) -> dict[str, np.ndarray]:
    """The ten per-molecule quantities of the KL-divergence score.

    Args:
        mols: the distinct valid molecules of one set.

    Returns:
        ``{term: float64 [n]}`` for every name in :data:`KL_TERMS`; ``internal_similarity``
        is each molecule's maximum ECFP4 Tanimoto similarity to the rest of the set.
    """
    table = {name: np.array([getattr(Descriptors, name)(m) for m in mols], dtype=np.float64) for name in CONTINUOUS + DISCRETE}
    table["internal_similarity"] = nearest_neighbour_similarity(_fingerprints(mols))
    return table


def _continuous_kl(reference: np.ndarray, generated: np.ndarray) -> float:
    from scipy.stats import entropy, gaussian_kde

    grid = np.linspace(min(reference.min(), generated.min()), max(reference.max(), generated.max()), 1000)
    p = gaussian_kde(reference)(grid) + 1e-10
    q = gaussian_kde(generated)(grid) + 1e-10
    return float(entropy(p, q))


def _discrete_kl(reference: np.ndarray, generated: np.ndarray) -> float:
    from scipy.stats import entropy

    p, bins = np.histogram(reference, bins=10, density=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        q, _ = np.histogram(generated, bins=bins, density=True)
    # No generated value inside the reference's range gives 0/0 densities: treat as empty.
    q = np.nan_to_num(q, nan=0.0)
    return float(entropy(p + 1e-10, q + 1e-10))


@dataclass
class KLDivergenceResult:
    """KL-divergence benchmark result.

    Attributes:
        score: mean of ``exp(-KL)`` over the ten terms (1 is a perfect match).
        kl: KL divergence of each term.
        n_generated, n_reference: molecules used on each side.
    """

    score: float
    kl: dict[str, float] = field(default_factory=dict)
    n_generated: int = 0
    n_reference: int = 0


def kl_divergence_score(generated: Sequence[str], reference: Sequence[str]) -> KLDivergenceResult:
    """GuacaMol KL-divergence score of ``generated`` against ``reference``.

    Both lists are reduced to their valid, distinct molecules first (as GuacaMol does
    with the generated set).

    Raises:
        ValueError: if either side has fewer than two valid molecules.
    """
    def mols(smiles):
        unique = sorted({c for c in map(canonical_or_none, smiles) if c is not None})
        return [Chem.MolFromSmiles(s) for s in unique]

    gen_mols, ref_mols = mols(generated), mols(reference)
    if len(gen_mols) < 2 or len(ref_mols) < 2:
        raise ValueError("the KL-divergence score needs at least two valid molecules on each side")
    return kl_divergence_from_descriptors(kl_descriptors(gen_mols), kl_descriptors(ref_mols))


def kl_divergence_from_descriptors(
    generated: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> KLDivergenceResult:
    """KL-divergence score from :func:`kl_descriptors` of both sets (e.g. cached reference ones).

    Raises:
        ValueError: if either side has fewer than two molecules.
    """
    n_gen, n_ref = len(generated["MolWt"]), len(reference["MolWt"])
    if n_gen < 2 or n_ref < 2:
        raise ValueError("the KL-divergence score needs at least two valid molecules on each side")
    kl = {}
    for name in CONTINUOUS + ("internal_similarity",):
        kl[name] = _continuous_kl(reference[name], generated[name])
    for name in DISCRETE:
        kl[name] = _discrete_kl(reference[name], generated[name])
    score = float(np.mean([np.exp(-v) for v in kl.values()]))
    return KLDivergenceResult(score, kl, n_gen, n_ref)
