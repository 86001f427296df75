"""Standardisation used everywhere in ``ric``.

One policy, applied to every molecule that enters the package:

* stereochemistry is removed (no move set preserves it, and stereo left in the data
  would tell the network which states are uncorrupted);
* the molecule must be a single connected component of supported atoms
  (:data:`SUPPORTED_ELEMENTS`, charges in :data:`~ric.molecules.graph.SUPPORTED_CHARGES`),
  with no radicals and no isotope labels;
* its identity is RDKit's canonical SMILES of the result, and its internal form is the
  Kekulé :class:`~ric.molecules.graph.MolGraph` of that canonical SMILES (so the Kekulé
  structure does not depend on how the input was written);
* hydrogens must follow from valence: the graph must write back to the same canonical
  SMILES, otherwise the molecule is rejected rather than silently changed.
"""
from __future__ import annotations

from rdkit import Chem

from ric.molecules.graph import SUPPORTED_CHARGES, MolGraph, max_valence
from ric.molecules.rdkit_utils import quiet_rdkit

__all__ = [
    "MoleculeError",
    "SUPPORTED_ELEMENTS",
    "standardise",
    "canonical_smiles",
]

#: Elements ``ric`` accepts (organic subset plus B, Si, Se).
SUPPORTED_ELEMENTS = frozenset({5, 6, 7, 8, 9, 14, 15, 16, 17, 34, 35, 53})


class MoleculeError(ValueError):
    """A molecule that ``ric`` cannot use.

    Attributes:
        smiles: the offending input.
        reason: short machine-readable reason (``"unparsable"``, ``"empty"``,
            ``"disconnected"``, ``"unsupported_element"``, ``"unsupported_charge"``,
            ``"radical"``, ``"isotope"``, ``"hydrogens"``, ``"unknown_fragment"``,
            ``"unsupported_atom_type"``).
        detail: human-readable explanation.
    """

    def __init__(self, smiles: str, reason: str, detail: str = "") -> None:
        self.smiles = smiles
        self.reason = reason
        self.detail = detail
        msg = f"{reason}: {smiles!r}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


def _parse(smiles: str) -> Chem.Mol:
    if not smiles or not smiles.strip():
        raise MoleculeError(smiles, "empty", "no SMILES given")
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise MoleculeError(smiles, "unparsable", "RDKit cannot parse or sanitise it")
    if mol.GetNumAtoms() == 0:
        raise MoleculeError(smiles, "empty", "no heavy atoms")
    return mol


def _check_atoms(smiles: str, mol: Chem.Mol) -> None:
    for atom in mol.GetAtoms():
        z, c = atom.GetAtomicNum(), atom.GetFormalCharge()
        if z not in SUPPORTED_ELEMENTS:
            raise MoleculeError(smiles, "unsupported_element", f"element {atom.GetSymbol()}")
        if c not in SUPPORTED_CHARGES or max_valence(z, c) < 0:
            raise MoleculeError(smiles, "unsupported_charge", f"{atom.GetSymbol()} with charge {c:+d}")
        if atom.GetNumRadicalElectrons():
            raise MoleculeError(smiles, "radical", f"radical on {atom.GetSymbol()}")
        if atom.GetIsotope():
            raise MoleculeError(smiles, "isotope", f"isotope label {atom.GetIsotope()}{atom.GetSymbol()}")


def canonical_smiles(smiles: str) -> str:
    """Canonical SMILES with stereochemistry removed, or raise :class:`MoleculeError`.

    Only parses and canonicalises; use :func:`standardise` to also enforce the
    supported-atom policy.
    """
    mol = _parse(smiles)
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def standardise(smiles: str) -> tuple[str, MolGraph]:
    """Apply the package's standardisation policy to one SMILES.

    Args:
        smiles: input SMILES (any valid RDKit SMILES).

    Returns:
        ``(canonical_smiles, graph)``: the stereo-free canonical SMILES and the Kekulé
        graph whose atom order is that of the canonical SMILES.

    Raises:
        MoleculeError: with the reason the molecule cannot be used.
    """
    mol = _parse(smiles)
    Chem.RemoveStereochemistry(mol)
    _check_atoms(smiles, mol)
    if len(Chem.GetMolFrags(mol)) > 1:
        raise MoleculeError(smiles, "disconnected", "more than one component (salt or mixture?)")
    canonical = Chem.MolToSmiles(mol)
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(canonical)
        if mol is None:  # RDKit writes a SMILES it cannot read back
            raise MoleculeError(smiles, "unparsable", f"canonical SMILES {canonical!r} does not re-parse")
        try:
            Chem.Kekulize(mol, clearAromaticFlags=True)
        except Exception as exc:
            raise MoleculeError(smiles, "unparsable", f"cannot kekulise: {exc}") from exc
    graph = MolGraph.from_rdkit(mol)
    try:
        roundtrip = graph.smiles()
    except ValueError as exc:
        raise MoleculeError(smiles, "hydrogens", str(exc)) from exc
    if roundtrip != canonical:
        raise MoleculeError(
            smiles,
            "hydrogens",
            f"hydrogen counts are not implied by valence (reads back as {roundtrip})",
        )
    return canonical, graph
