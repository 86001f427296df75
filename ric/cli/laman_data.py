"""``ric laman-data``: generate random Laman graphs (the paper's Henneberg constructions)."""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_int

REGIMES = ("low", "med", "high")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "laman-data",
        help="generate random Laman graphs as a graph6 file",
        description="Grow Laman graphs from a triangle by random Henneberg moves: about 30 nodes "
        "(Normal(30, 5), at least 4), each added by Henneberg I with a per-graph probability p "
        "(low: U(0, 0.1), med: U(0.4, 0.6), high: U(0.9, 1)), else by Henneberg II. Graph i "
        "depends only on (seed, regime, i). Writes one graph6 line per graph.",
    )
    p.add_argument("--regime", choices=REGIMES, default="low", help="Henneberg I probability range (default low)")
    p.add_argument("-n", "--num-graphs", type=positive_int, required=True, help="number of graphs")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--start", type=nonnegative_int, default=0, help="index of the first graph (default 0)")
    p.add_argument("-o", "--output", required=True, help="graph6 file to write (e.g. FILE.g6)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ric.files import output_file

    output_file(args.output)

    import numpy as np
    from tqdm import tqdm

    from ric.laman.data import make_graph
    from ric.laman.graph import write_graph6

    counts = [0, 0]
    graphs = [
        make_graph(args.regime, args.seed, i, counts)
        for i in tqdm(range(args.start, args.start + args.num_graphs), desc="graphs", unit="graph", disable=None)
    ]
    write_graph6(args.output, graphs)
    sizes = np.array([g.n for g in graphs])
    print(
        f"wrote {args.output}: {len(graphs)} Laman graphs (regime {args.regime}, seed {args.seed}), "
        f"{sizes.min()}-{sizes.max()} nodes (mean {sizes.mean():.1f}), "
        f"Henneberg I fraction {counts[0] / max(1, sum(counts)):.3f}"
    )
    return 0
