"""Write ``moses_filters.csv`` from the MCF and PAINS SMARTS shipped with MOSES.

The MOSES package (``pip install molsets``; it installs the ``moses`` module) carries
``moses/metrics/mcf.csv`` (header ``names,smarts``) and ``moses/metrics/wehi_pains.csv``
(no header; columns ``smarts,name``, the SMARTS padded with spaces after the closing
quote). This script reads both from an installed ``molsets`` distribution (or from a
folder given with ``--moses-metrics``) and writes one CSV with the columns
``set,name,smarts``, ``set`` being ``mcf`` or ``pains``, in the order of the source
files. SMARTS are stripped of surrounding whitespace and checked to parse with RDKit.

Usage::

    python ric/metrics/data/make_moses_filters.py [--moses-metrics DIR] [--out FILE]

The ``moses`` module is never imported (it does not import on current stacks); only
its data files are read.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _installed_metrics_dir() -> Path:
    import importlib.metadata

    dist = importlib.metadata.distribution("molsets")
    return Path(str(dist.locate_file("moses/metrics")))


def read_patterns(metrics_dir: Path) -> list[tuple[str, str, str]]:
    """``(set, name, smarts)`` rows: the MCF patterns, then the PAINS patterns."""
    rows: list[tuple[str, str, str]] = []
    with open(metrics_dir / "mcf.csv", newline="") as handle:
        for record in csv.DictReader(handle):
            rows.append(("mcf", record["names"].strip(), record["smarts"].strip()))
    with open(metrics_dir / "wehi_pains.csv", newline="") as handle:
        for record in csv.reader(handle):
            if not record:
                continue
            smarts, name = record
            rows.append(("pains", name.strip(), smarts.strip()))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moses-metrics", type=Path, default=None, help="folder holding mcf.csv and wehi_pains.csv")
    parser.add_argument("--out", type=Path, default=HERE / "moses_filters.csv")
    args = parser.parse_args(argv)

    metrics_dir = args.moses_metrics or _installed_metrics_dir()
    rows = read_patterns(metrics_dir)

    from rdkit import Chem

    bad = [name for _, name, smarts in rows if Chem.MolFromSmarts(smarts) is None]
    if bad:
        raise SystemExit(f"SMARTS that RDKit cannot parse: {bad}")
    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["set", "name", "smarts"])
        writer.writerows(rows)
    counts = {s: sum(r[0] == s for r in rows) for s in ("mcf", "pains")}
    print(f"wrote {args.out}: {counts['mcf']} MCF and {counts['pains']} PAINS patterns from {metrics_dir}")


if __name__ == "__main__":
    main()
