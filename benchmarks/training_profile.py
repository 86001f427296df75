"""Per-stage cost of one training example, one thread: where the training time goes.

Stages, each timed over the same examples: corruption, featurisation, legal-move
encoding, locating the label among the candidates, collation into batches
(:func:`ric.nn.data.collate`), and the network's forward + backward + Adam step. Also reports the mean
number of atoms, legal candidates and pairs per corrupted molecule.

    python benchmarks/training_profile.py [--molecules 640] [--batch-size 64] [--hidden 128] [--depth 4]
        [--vocab VOCAB] [--data SMILES] [--atoms LO HI] [--steps-mean 5] [--clock wall|cpu]

``--vocab`` and ``--data`` (default: the bundled vocabulary and training split) measure how
the costs grow with the vocabulary, ``--atoms LO HI`` (heavy atoms of the clean molecule)
with molecule size. ``--clock cpu`` times with the process's CPU clock, which other jobs
on a shared machine disturb less than the wall clock (default wall).
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
    parser.add_argument("--vocab", help="fragment vocabulary (default: the bundled one)")
    parser.add_argument("--data", help="molecules (default: the bundled training split)")
    parser.add_argument("--atoms", type=int, nargs=2, metavar=("LO", "HI"), help="only molecules with LO..HI heavy atoms")
    parser.add_argument("--steps-mean", type=float, default=5.0, help="mean corruption length (default 5)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time

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
    move_set = make_move_set("fragment", vocab=Vocabulary.load(args.vocab or folder / "zinc_vocab.txt"))
    graphs = []
    for _, _, graph in read_molecules(args.data or folder / "zinc_train.smi"):
        if args.atoms and not args.atoms[0] <= graph.num_atoms <= args.atoms[1]:
            continue
        if move_set.check_state(graph) is None:
            graphs.append(graph)
        if len(graphs) == args.molecules:
            break
    n = len(graphs)

    def timed(f):
        start = clock()
        out = f()
        return out, (clock() - start) / n * 1e3

    examples, t_corrupt = timed(lambda: [corrupt(move_set, g, example_rng(0, 0, i), CorruptionConfig(steps_mean=args.steps_mean))
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
    import resource

    print(f"{n} examples ({np.mean([g.num_atoms for g in graphs]):.1f} heavy atoms before corruption), batch "
          f"{args.batch_size}, hidden {args.hidden}, depth {args.depth}, one thread, {args.clock} clock, "
          f"load average {os.getloadavg()[0]:.2f}; vocabulary {len(move_set.vocab.fragments)} fragments, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
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
