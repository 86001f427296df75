"""MolStore: molecules as flat arrays, rebuilt on demand; and the cached loading of training data."""
import numpy as np
import pytest

from ric.molecules.store import MolStore
from ric.moves import make_move_set
from ric.molecules import dataset
from ric.molecules.dataset import load_graphs


def test_store_round_trips_every_molecule(zinc_graphs, hard_graphs):
    graphs = list(zinc_graphs[:200]) + list(hard_graphs)
    store = MolStore.from_graphs(graphs, lines=range(10, 10 + len(graphs)))
    assert len(store) == len(graphs)
    assert all(store[i] == g for i, g in enumerate(graphs))
    assert store[-1] == graphs[-1] and list(store.lines[:2]) == [10, 11]
    picked = [5, 0, len(graphs) - 1, 5]
    sub = store.subset(picked)
    assert [sub[k] for k in range(4)] == [graphs[i] for i in picked] and list(sub.lines) == [15, 10, 10 + len(graphs) - 1, 15]
    again = MolStore.from_arrays(store.arrays())
    assert list(again) == graphs
    assert store.nbytes < 300 * len(graphs)  # a few hundred bytes per molecule, not Python objects
    with pytest.raises(IndexError):
        store[len(graphs)]


def test_second_load_comes_from_the_cache(tmp_path, vocab, zinc_smiles, monkeypatch):
    data = tmp_path / "d.smi"
    data.write_text("\n".join(zinc_smiles[:60] + ["C1CC", "[Xe]"]) + "\n")
    move_set = make_move_set("fragment", vocab=vocab)
    cache = tmp_path / "cache"
    first = load_graphs(str(data), move_set, cache_dir=cache)
    assert sorted(p.name.split("-")[-2] for p in cache.iterdir())  # molecules and usability files written

    def no_parsing(*args, **kwargs):
        raise AssertionError("the cached run parsed the file again")

    monkeypatch.setattr(dataset.MolStore, "from_graphs", no_parsing)
    calls = []
    original = move_set.check_state
    monkeypatch.setattr(move_set, "check_state", lambda g: calls.append(1) or original(g))
    second = load_graphs(str(data), move_set, cache_dir=cache)
    assert list(second) == list(first) and list(second.lines) == list(first.lines)
    assert len(calls) == 0  # usability came from the cache too (no molecule was unusable)


def test_changed_file_or_move_set_misses_the_cache(tmp_path, vocab, zinc_smiles):
    data = tmp_path / "d.smi"
    data.write_text("\n".join(zinc_smiles[:30]) + "\n")
    cache = tmp_path / "cache"
    assert len(load_graphs(str(data), cache_dir=cache)) == 30
    data.write_text("\n".join(zinc_smiles[:20]) + "\n")
    assert len(load_graphs(str(data), cache_dir=cache)) == 20
    atom = load_graphs(str(data), make_move_set("atom"), cache_dir=cache)
    fragment = load_graphs(str(data), make_move_set("fragment", vocab=vocab), cache_dir=cache)
    assert len(atom) == len(fragment) == 20
    assert len(list(cache.glob("*.npz"))) == 4  # two files' molecules, two move sets' usability


def test_unusable_molecules_are_counted_the_same_from_the_cache(tmp_path, zinc_smiles, caplog):
    from ric.molecules.vocab import Vocabulary
    from ric.molecules.standardise import standardise

    small = Vocabulary.build([standardise(s)[1] for s in zinc_smiles[:3]])
    data = tmp_path / "d.smi"
    data.write_text("\n".join(zinc_smiles[:40]) + "\n")
    move_set = make_move_set("fragment", vocab=small)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="ric vocab") as first:
        load_graphs(str(data), move_set, max_unusable=0.05, cache_dir=cache)
    with pytest.raises(ValueError, match="ric vocab") as second:
        load_graphs(str(data), move_set, max_unusable=0.05, cache_dir=cache)
    assert str(first.value) == str(second.value)
    kept = load_graphs(str(data), move_set, cache_dir=cache)
    assert 3 <= len(kept) < 40 and np.all(np.diff(kept.lines) > 0)
