"""Shared fixtures: hand-picked hard molecules and real ZINC molecules."""
from __future__ import annotations

import os
import random

import pytest

#: Hand-picked hard cases: fused, bridged and spiro rings, macrocycles, charges, nitro
#: groups, S/P hypervalence, aromatic heterocycles, triple bonds.
HARD_SMILES = [
    "c1ccc2ccccc2c1",  # fused aromatic
    "c1ccc2cc3ccccc3cc2c1",  # anthracene
    "C1CC2CCC1C2",  # norbornane (bridged)
    "C1CC2CC1CC2",  # bicyclo[2.2.1] variant
    "C12C3C4C1C5C2C3C45",  # cubane
    "C1CC2(CC1)CCCC2",  # spiro
    "C1CCCCCCCCCCC1",  # macrocycle
    "O=C1CCCCCCCCCCCCCCN1",  # macrolactam
    "C[N+](C)(C)C",  # quaternary ammonium
    "O=[N+]([O-])c1ccccc1",  # nitro
    "CS(=O)(=O)Nc1ccccc1",  # sulfonamide (hypervalent S)
    "O=P(O)(O)Oc1ccccc1",  # phosphate (hypervalent P)
    "c1ccncc1",
    "c1cc[nH]c1",  # pyrrole
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    "c1ccsc1",
    "N#Cc1ccc(C#N)cc1",
    "C[n+]1ccccc1",  # pyridinium
    "[O-]c1ccccc1",
    "C[S-]",
    "OC1C2CC3CC1CC(C2)C3",  # adamantanol
    "c1ccc2c(c1)[nH]c1ccccc12",  # carbazole
    "O=c1[nH]c(=O)c2[nH]cnc2[nH]1",  # xanthine
    "CC1(C)OC2COC3(COS(N)(=O)=O)OC(C)(C)OC3C2O1",  # topiramate: spiro + sulfamate
    "C#CC1(O)CCC2C3CCc4cc(O)ccc4C3CCC21C",  # ethinylestradiol (stereo stripped)
    "F",  # single atom
    "CC",  # two atoms
    "C1CC1",  # lone ring
]


def _zinc_lines() -> list[str]:
    from ric.data import load

    return load("bundled", "train")


@pytest.fixture(scope="session")
def hard_smiles() -> list[str]:
    return list(HARD_SMILES)


@pytest.fixture(scope="session")
def zinc_smiles() -> list[str]:
    """600 real ZINC molecules drawn at random (seed 0)."""
    lines = _zinc_lines()
    return random.Random(0).sample(lines, 600)


@pytest.fixture(scope="session")
def zinc_graphs(zinc_smiles):
    from ric.molecules.standardise import standardise

    return [standardise(s)[1] for s in zinc_smiles]


@pytest.fixture(scope="session")
def hard_graphs(hard_smiles):
    from ric.molecules.standardise import standardise

    return [standardise(s)[1] for s in hard_smiles]


@pytest.fixture(scope="session")
def vocab(zinc_graphs, hard_graphs):
    """A vocabulary covering the hard cases and the ZINC sample."""
    from ric.molecules.vocab import Vocabulary

    return Vocabulary.build(list(zinc_graphs) + list(hard_graphs))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Caches (standardised molecules, reference statistics) go to a temporary folder, not ~/.cache."""
    old = os.environ.get("RIC_CACHE_DIR")
    os.environ["RIC_CACHE_DIR"] = str(tmp_path_factory.mktemp("ric-cache"))
    yield
    if old is None:
        os.environ.pop("RIC_CACHE_DIR", None)
    else:
        os.environ["RIC_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a test module: its models are tiny, and extra threads on a
    shared CPU only wait on each other (as ``ric evaluate`` runs by default)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
