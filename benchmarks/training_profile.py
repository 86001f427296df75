"""Per-stage cost of one training example, one thread: where the training time goes.

Stages, each timed over the same examples: corruption, featurisation, legal-move
encoding, locating the label among the candidates, collation into batches
(:func:`ric.nn.data.collate`), and the network's forward + backward + Adam step. Also reports the mean
number of atoms, legal candidates and pairs per corrupted molecule.

    python benchmarks/training_profile.py [--molecules 640] [--batch-size 64] [--hidden 128] [--depth 4]
"""
from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="timings of the network stage (median)")
    args = parser.parse_args()

    import numpy as np
    import torch

    from ric.molecules.featurise import featurise
    from ric.molecules.io import read_molecules
    from ric.corruption import CorruptionConfig, corrupt, example_rng
    from ric.data import bundled_dir
    from ric.moves import make_move_set
    from ric.molecules.vocab import Vocabulary
    from ric.nn.data import Example, collate
    from ric.nn.model import ModelConfig, ReconstructionModel

    torch.set_num_threads(1)
    folder = bundled_dir()
    move_set = make_move_set("fragment", vocab=Vocabulary.load(folder / "zinc_vocab.txt"))
    graphs = []
    for _, _, graph in read_molecules(folder / "zinc_train.smi"):
        if move_set.check_state(graph) is None:
            graphs.append(graph)
        if len(graphs) == args.molecules:
            break
    n = len(graphs)

    def timed(f):
        start = time.perf_counter()
        out = f()
        return out, (time.perf_counter() - start) / n * 1e3

    examples, t_corrupt = timed(lambda: [corrupt(move_set, g, example_rng(0, 0, i), CorruptionConfig())
                                         for i, g in enumerate(graphs)])
    features, t_feat = timed(lambda: [featurise(e.corrupted) for e in examples])
    encodings, t_enc = timed(lambda: [move_set.encode_moves(e.corrupted) for e in examples])
    labels, t_data = timed(lambda: [move_set.locate(e.corrupted, enc, e.reverse_move)
                                    for e, enc in zip(examples, encodings)])
    datas = [Example(f, enc, (int(k), int(r))) for f, enc, (k, r) in zip(features, encodings, labels)]
    batches, t_collate = timed(lambda: [collate(datas[k : k + args.batch_size])
                                        for k in range(0, n, args.batch_size)])
    torch.manual_seed(0)
    model = ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=args.hidden, depth=args.depth))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def steps():
        for batch in batches:
            loss = model(batch).nll(batch.target).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    steps()  # warm-up
    t_net = float(np.median([timed(steps)[1] for _ in range(args.repeats)]))
    total = t_corrupt + t_feat + t_enc + t_data + t_collate + t_net
    print(f"{n} examples, batch {args.batch_size}, hidden {args.hidden}, depth {args.depth}, one thread, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| stage | ms per example |\n|---|---|")
    for name, value in [("corruption", t_corrupt), ("featurise", t_feat), ("legal-move encoding", t_enc),
                        ("locate the label", t_data), ("collation", t_collate),
                        ("network forward + backward + Adam", t_net), ("total", total)]:
        print(f"| {name} | {value:.2f} |")
    print(f"mean per corrupted molecule: {np.mean([f[0].shape[0] for f in features]):.1f} atoms, "
          f"{np.mean([e.num_atom_moves for e in encodings]):.0f} atom candidates, "
          f"{np.mean([len(e.pairs) for e in encodings]):.1f} pairs, "
          f"{np.mean([e.num_pair_moves for e in encodings]):.0f} pair candidates "
          f"(classes: {move_set.num_atom_classes} atom, {move_set.num_pair_classes} pair)")


if __name__ == "__main__":
    main()
