"""The molecule domain: what the core needs beyond one move (see :mod:`ric.moves.registry`).

* :class:`MoleculeStates`: the state-level members of the move-set protocol shared by the
  fragment and atom move sets (size, validity, text form, the network's features);
* :data:`MOLECULES`: the domain object: move sets for training, and molecule files as states.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Sequence

import numpy as np

from ric.molecules.featurise import ATOM_DIM, BOND_DIM, featurise
from ric.molecules.graph import MolGraph

__all__ = ["MoleculeStates", "MoleculeDomain", "MOLECULES"]

logger = logging.getLogger(__name__)


class MoleculeStates:
    """State-level protocol members of the molecule move sets (states are :class:`MolGraph`)."""

    domain = "molecules"
    node_feature_dim = ATOM_DIM
    edge_feature_dim = BOND_DIM
    num_set_roles = 1

    def size(self, state: MolGraph) -> int:
        """Heavy atoms."""
        return state.num_atoms

    def quick_key(self, state: MolGraph) -> tuple:
        """``(atoms, bonds, sorted (element, charge, degree) of the atoms)``: equal for
        equal canonical SMILES (the same heavy-atom graph, whatever its numbering and
        Kekulé form), and no RDKit call."""
        degrees = state.degrees
        return (state.num_atoms, state.num_bonds,
                tuple(sorted(zip(state.atomic_nums, state.charges, degrees))))

    def is_valid(self, state: MolGraph) -> bool:
        """RDKit sanitises the molecule and it is one connected component."""
        return state.sanitizes() and state.is_connected()

    def featurise(self, state: MolGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`ric.molecules.featurise.featurise`."""
        return featurise(state)

    def format_state(self, state: MolGraph) -> str:
        """Canonical SMILES."""
        return state.smiles()

    def parse_state(self, text: str) -> MolGraph:
        """The standardised molecule of a SMILES.

        Raises:
            ValueError: (:class:`~ric.molecules.standardise.MoleculeError`) naming why it
                cannot be used.
        """
        from ric.molecules.standardise import standardise

        return standardise(text)[1]


class MoleculeDomain:
    """Molecules: SMILES (and SDF, CSV) files, fragment and atom move sets."""

    name = "molecules"
    noun = "molecules"
    unit = "mol"
    state_format = "SMILES"
    file_suffix = ".smi"

    def is_valid_text(self, text: str) -> bool:
        """Whether RDKit reads ``text`` as a molecule with at least one atom (an independent
        check of a sample)."""
        from rdkit import Chem

        from ric.molecules.rdkit_utils import quiet_rdkit

        with quiet_rdkit():
            mol = Chem.MolFromSmiles(text) if text else None
        return mol is not None and mol.GetNumAtoms() > 0

    def draw_grid(self, texts: Sequence[str], path: str | os.PathLike) -> None:
        """Draw valid SMILES as a PNG grid (6 per row), written atomically."""
        from rdkit import Chem
        from rdkit.Chem import Draw

        from ric.files import atomic_write

        mols = [Chem.MolFromSmiles(t) for t in texts]
        image = Draw.MolsToGridImage([m for m in mols if m is not None], molsPerRow=6, subImgSize=(250, 200))
        atomic_write(path, lambda fh: image.save(fh, format="PNG"), binary=True)

    def build_move_set(self, name: str, *, data: str | os.PathLike | None = None,
                       vocab: str | os.PathLike | None = None, max_unusable: float = 1.0) -> Any:
        """A move set for training on ``data``.

        Args:
            name: ``"fragment"`` or ``"atom"``.
            data: the training file; the fragment move set builds its vocabulary from it
                unless ``vocab`` is given (default ``None``).
            vocab: a vocabulary file for the fragment move set (default ``None``).
            max_unusable: as :func:`load_states`, for the vocabulary's molecules (default 1.0).

        Raises:
            ValueError: an unknown name, ``vocab`` with the atom move set, or neither
                ``data`` nor ``vocab`` for the fragment move set.
        """
        from ric.moves import make_move_set

        if name == "fragment":
            from ric.molecules.vocab import Vocabulary

            if vocab:
                return make_move_set("fragment", vocab=Vocabulary.load(vocab))
            if data is None:
                raise ValueError("the fragment move set needs a vocabulary or training data to build one from")
            logger.info("building the fragment vocabulary from %s", data)
            return make_move_set("fragment", vocab=Vocabulary.build(self.load_states(data, max_unusable=max_unusable)))
        if name == "atom":
            if vocab:
                raise ValueError("the atom move set takes no vocabulary")
            return make_move_set("atom")
        raise ValueError(f"{name!r} is not a molecule move set")

    def read_texts(self, path: str | os.PathLike) -> list[str]:
        """The SMILES of a molecule file (SMILES, CSV/TSV or SDF; see
        :func:`ric.molecules.io.read_smiles_records`), unparsed: records that are not
        molecules are skipped later, by :meth:`find_starts` (only the starts it needs are
        parsed, so a large file is read in a fraction of a second)."""
        from ric.molecules.io import raw_smiles

        return raw_smiles(path)

    def find_starts(
        self,
        smiles: Sequence[str],
        move_set: Any,
        count: int,
        seed: int,
        scaffold: str | None = None,
        max_atoms: int | None = None,
    ) -> tuple[list[MolGraph], list[frozenset[int]]]:
        """Pick up to ``count`` usable starting molecules in a seeded random order.

        Args:
            smiles: candidate starting molecules.
            move_set: molecules it cannot use are skipped.
            count: how many to return at most.
            seed: order of the candidates.
            scaffold: SMARTS or SMILES that every start must contain; its matched atoms are
                returned as protected. If no candidate contains it and it is a valid
                molecule, the scaffold itself is the start.
            max_atoms: skip candidates with more heavy atoms (default: no cap), so that a
                chain under a size cap starts inside it.

        Raises:
            ValueError: if the scaffold does not parse or no usable start exists (the
                message says which condition no candidate met).
        """
        from rdkit import Chem

        from ric.molecules.rdkit_utils import quiet_rdkit
        from ric.molecules.standardise import MoleculeError, standardise

        pattern = None
        if scaffold is not None:
            with quiet_rdkit():
                pattern = Chem.MolFromSmarts(scaffold) or Chem.MolFromSmiles(scaffold)
            if pattern is None:
                raise ValueError(f"scaffold {scaffold!r} is neither valid SMARTS nor SMILES")
        starts, protected = [], []
        usable = smallest = 0
        for i in np.random.default_rng(seed).permutation(len(smiles)):
            if len(starts) >= count:
                break
            try:
                _, graph = standardise(smiles[i])
            except MoleculeError:
                continue
            if move_set.check_state(graph) is not None:
                continue
            usable += 1
            if max_atoms is not None and graph.num_atoms > max_atoms:
                smallest = min(smallest or graph.num_atoms, graph.num_atoms)
                continue
            atoms: frozenset[int] = frozenset()
            if pattern is not None:
                match = graph.to_rdkit().GetSubstructMatch(pattern)
                if not match:
                    continue
                atoms = frozenset(match)
            starts.append(graph)
            protected.append(atoms)
        if not starts and scaffold is not None:
            try:
                _, graph = standardise(scaffold)
            except MoleculeError as exc:
                raise ValueError(
                    f"no starting molecule contains the scaffold {scaffold!r}, and it is not a molecule to start from"
                ) from exc
            problem = move_set.check_state(graph)
            if problem is not None:
                raise ValueError(f"scaffold {scaffold!r} cannot be a starting state: {problem}")
            if max_atoms is not None and graph.num_atoms > max_atoms:
                raise ValueError(f"the scaffold {scaffold!r} alone has {graph.num_atoms} heavy atoms, over the cap of {max_atoms}")
            starts, protected = [graph], [frozenset(range(graph.num_atoms))]
            logger.info("no starting molecule contains the scaffold; starting every chain from it")
        if not starts:
            if not usable:
                raise ValueError(f"none of the {len(smiles)} starting molecules is usable with the {move_set.name} move set")
            if smallest:
                raise ValueError(f"no starting molecule has at most {max_atoms} heavy atoms (the smallest usable one "
                                 f"has {smallest}): raise --max-atoms or give smaller starting molecules with --init")
            raise ValueError(f"no starting molecule contains the scaffold {scaffold!r}")
        return starts, protected

    def records(self, path: str | os.PathLike, move_set: Any = None, *, strict: bool = False):
        """Stream the usable states of a file with their line and clean text.

        Returns:
            ``(records, summary)``: a lazy iterator of ``(line, canonical SMILES, graph)`` of
            the molecules ``move_set`` can use (the others are counted and the first few
            logged with file and line), and a function giving the one-line tally.

        Raises:
            ValueError: (strict) the first unusable record, naming file and line.
        """
        from ric.molecules.io import ReadStats, read_molecules

        stats = ReadStats()
        source = read_molecules(path, strict=strict, stats=stats)  # checks the file type and header now

        def usable():
            for record, canonical, graph in source:
                problem = move_set.check_state(graph) if move_set is not None else None
                if problem is not None:
                    if strict:
                        raise ValueError(f"{path}:{record.line}: not usable with the {move_set.name} move set: "
                                         f"{record.smiles}: {problem}")
                    stats.add_unusable(f"not usable with the {move_set.name} move set", record, problem)
                    continue
                yield record.line, canonical, graph

        return usable(), stats.summary

    def labelled_text(self, state: MolGraph) -> tuple[str, list[int]]:
        """A text that keeps the node order moves refer to: the canonical Kekulé SMILES and
        ``new_index`` (atom ``i`` of ``state`` is atom ``new_index[i]`` of the text)."""
        smiles, order = state.kekule_smiles_with_order()
        new_index = [0] * len(order)
        for k, old in enumerate(order):
            new_index[old] = k
        return smiles, new_index

    def parse_labelled(self, text: str) -> MolGraph:
        """Inverse of :meth:`labelled_text` (atoms in the written order)."""
        return MolGraph.from_kekule_smiles(text)

    def load_states(self, path: str | os.PathLike, move_set: Any = None, *, strict: bool = False,
                    max_unusable: float = 1.0, cache_dir: Any = None) -> Any:
        """:func:`ric.molecules.dataset.load_graphs`: the file's standardised molecules that
        ``move_set`` can use, as a packed :class:`~ric.molecules.store.MolStore`."""
        from ric.molecules.dataset import load_graphs

        return load_graphs(str(path), move_set, strict=strict, max_unusable=max_unusable, cache_dir=cache_dir)


MOLECULES = MoleculeDomain()
