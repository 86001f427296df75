"""Benchmark reports: ``results.json``, ``results.md``, property plots and molecule grids.

Files written to the output directory:

* ``results.json``: provenance (versions, command, date, stereo policy, reference source,
  seed and size) and one object per generator with every metric (NaN as ``null``);
* ``results.md``: the generators side by side, then the published MOSES rows, clearly
  labelled as published and not rerun;
* ``properties.png``: logP, QED, SA, molecular weight and ring-count distributions of
  each generator against the reference (matplotlib, Agg backend);
* ``grid_<generator>.png``: the first distinct valid molecules of each generator.

With the MOSES protocol (``ric benchmark --reference moses``) each generator is scored
against MOSES Test and TestSF; ``results.json`` then has ``"protocol": "moses"``, a
``references`` list, each generator's TestSF metrics under ``by_reference`` and its row of
the MOSES table under ``moses`` (the key names of ``moses.get_all_metrics``: ``FCD/Test``,
``FCD/TestSF``, ``SNN/Test``, ...), and ``results.md`` has a MOSES-protocol table.

unique@1k and unique@10k are shown as not computed (``null`` in JSON) for a generator
with fewer valid molecules than ``k``: ``--fast`` scores 1,000 molecules, so it reports
no unique@10k.

Every file is written with :func:`ric.files.atomic_write` (a temporary name renamed, the
usual file mode), so a report is never half-written.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ric.benchmark.reference import ReferenceStats
from ric.benchmark.suite import GeneratorResult
from ric.files import atomic_write

__all__ = ["provenance", "write_report", "moses_row", "STEREO_POLICY", "MOSES_COLUMNS"]

logger = logging.getLogger(__name__)

STEREO_POLICY = (
    "GuacaMol metrics and the reference: canonical SMILES with stereochemistry removed; "
    "FCD and MOSES metrics: RDKit canonical SMILES of the generated strings as written "
    "(stereo kept, as in their published code)"
)

#: Rows of the markdown table: (result key, label, format).
_TABLE = (
    ("validity", "Validity (GuacaMol)", "{:.3f}"),
    ("uniqueness", "Uniqueness", "{:.3f}"),
    ("novelty", "Novelty", "{:.3f}"),
    ("kl_divergence", "KL-divergence score", "{:.3f}"),
    ("fcd", "FCD (lower is better)", "{:.3f}"),
    ("fcd_score", "FCD score exp(-0.2 FCD)", "{:.3f}"),
    ("unique_at_1k", "Unique@1k (MOSES)", "{:.3f}"),
    ("unique_at_10k", "Unique@10k", "{:.3f}"),
    ("int_div1", "IntDiv1", "{:.3f}"),
    ("int_div2", "IntDiv2", "{:.3f}"),
    ("snn", "SNN", "{:.3f}"),
    ("frag", "Frag", "{:.3f}"),
    ("scaf", "Scaf", "{:.3f}"),
    ("filters", "Filters", "{:.3f}"),
    ("wasserstein.logP", "W1 logP", "{:.3f}"),
    ("wasserstein.SA", "W1 SA", "{:.3f}"),
    ("wasserstein.QED", "W1 QED", "{:.4f}"),
    ("wasserstein.weight", "W1 mol. weight", "{:.2f}"),
    ("n_generated", "n generated", "{:d}"),
    ("n_valid", "n valid", "{:d}"),
    ("n_unique", "n distinct valid", "{:d}"),
    ("n_reference", "n reference", "{:d}"),
)


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Versions, platform, date and command line of this run."""
    import rdkit
    import torch

    import ric

    try:
        from importlib.metadata import version

        fcd_version = version("fcd")
    except Exception:  # metadata missing in odd installs: record that rather than fail
        fcd_version = "unknown"
    return {
        "ric": ric.__version__,
        "rdkit": rdkit.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "fcd": fcd_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv if argv is not None else sys.argv),
        "stereo_policy": STEREO_POLICY,
    }


#: Unique@k rows: key -> k.
_UNIQUE_K = {"unique_at_1k": 1000, "unique_at_10k": 10000}

#: The columns of the MOSES table, in its order: (label in the table and in ``moses``, how
#: to read it from a generator entry: a key, or (reference, key) with ``None`` for the primary).
MOSES_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("valid", "valid"),
    ("unique@1000", "unique_at_1k"),
    ("unique@10000", "unique_at_10k"),
    ("FCD/Test", (None, "fcd")),
    ("FCD/TestSF", ("TestSF", "fcd")),
    ("SNN/Test", (None, "snn")),
    ("SNN/TestSF", ("TestSF", "snn")),
    ("Frag/Test", (None, "frag")),
    ("Frag/TestSF", ("TestSF", "frag")),
    ("Scaf/Test", (None, "scaf")),
    ("Scaf/TestSF", ("TestSF", "scaf")),
    ("IntDiv", "int_div1"),
    ("IntDiv2", "int_div2"),
    ("Filters", "filters"),
    ("Novelty", "novelty"),
)


def moses_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A generator's row of the MOSES table, under ``moses.get_all_metrics``'s names.

    Args:
        entry: the generator's ``results.json`` entry (scored on Test, with TestSF under
            ``by_reference``).
    """
    row: dict[str, Any] = {}
    for label, where in MOSES_COLUMNS:
        if isinstance(where, tuple):
            ref, key = where
            source = entry if ref is None else entry.get("by_reference", {}).get(ref, {})
            row[label] = source.get(key)
        else:
            row[label] = entry.get(where)
    return row


def _unique_cell(entry: Mapping[str, Any], key: str, fmt: str) -> str:
    """Unique@k, or why it is missing (fewer than k valid molecules)."""
    value = entry.get(key)
    k = _UNIQUE_K[key]
    if value is None and entry.get("n_valid", 0) < k:
        return f"n/a ({entry.get('n_valid', 0)} valid < {k:,})"
    return _cell(value, fmt)


def _value(result: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        result = result.get(part) if isinstance(result, dict) else None
    return result


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _markdown(payload: dict[str, Any]) -> str:
    gens = payload["generators"]
    ref = payload["reference"]
    prov = payload["provenance"]
    lines = [
        "# ric benchmark",
        "",
        f"Reference: {ref['n']} molecules drawn with seed {ref['seed']} from `{ref['source']}`; "
        f"novelty against `{payload['settings']['train']}`. "
        f"ric {prov['ric']}, RDKit {prov['rdkit']}, torch {prov['torch']}, fcd {prov['fcd']}; {prov['date']}.",
        "",
        f"Command: `{prov['command']}`",
        "",
        "| metric | " + " | ".join(g["name"] for g in gens) + " |",
        "|---" * (len(gens) + 1) + "|",
    ]
    for key, label, fmt in _TABLE:
        if key in _UNIQUE_K:
            cells = [_unique_cell(g, key, fmt) for g in gens]
        else:
            cells = [_cell(_value(g, key), fmt) for g in gens]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| time: generation / GuacaMol / FCD / MOSES (s) | "
        + " | ".join(
            " / ".join(f"{g['seconds'].get(k, 0.0):.1f}" for k in ("generation", "guacamol", "fcd", "moses"))
            for g in gens
        )
        + " |"
    )
    lines += ["", f"Stereo policy: {prov['stereo_policy']}.", ""]
    short = [g["name"] for g in gens if g.get("unique_at_10k") is None and g.get("n_valid", 0) < 10000]
    if short:
        lines += [
            f"Unique@10k needs 10,000 valid molecules; not computed for {', '.join(short)} "
            "(with `--fast` only 1,000 molecules are generated).",
            "",
        ]
    if payload.get("protocol") == "moses":
        lines += _moses_section(payload)
    from ric.benchmark.published import MOSES_ROWS

    for title, rows, keys in (
        (
            "MOSES",
            MOSES_ROWS,
            ("validity", "unique_at_1k", "unique_at_10k", "fcd", "snn", "frag", "scaf", "int_div1", "int_div2",
             "filters", "novelty"),
        ),
    ):
        if not rows:
            continue
        lines += [
            f"## Published {title} results (published, not rerun by ric)",
            "",
            "Copied from the publication for context only: other code, other RDKit, other data "
            "(MOSES: its own train/test split of ZINC Clean Leads, FCD/SNN/Frag/Scaf against its Test set). "
            f"Source: {rows[0].source}.",
            "",
            "| model | " + " | ".join(keys) + " |",
            "|---" * (len(keys) + 1) + "|",
        ]
        for row in rows:
            lines.append(f"| {row.model} | " + " | ".join(_cell(row.metrics.get(k), "{}") for k in keys) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _moses_section(payload: dict[str, Any]) -> list[str]:
    gens = payload["generators"]
    refs = payload.get("references", [])
    described = "; ".join(
        f"{r['label']}: {r['n']:,} molecules" + (f" drawn with seed {r['seed']} from the {r['of']:,} of `{r['source']}`"
                                                  if r.get("of") and r["n"] < r["of"] else f" (`{r['source']}`, all)")
        for r in refs
    )  # fmt: skip
    lines = [
        "## MOSES protocol (rerun by ric)",
        "",
        f"Every generator against the MOSES test sets, as in the MOSES table ({described}); "
        f"novelty against `{payload['settings']['train']}` (canonical SMILES, stereo removed). "
        "FCD is the raw distance (lower is better).",
        "",
    ]
    if any(r.get("of") and r["n"] < r["of"] for r in refs):
        lines += [
            "**A subsample of the test sets**: SNN (the nearest neighbour among fewer molecules), FCD, Frag and "
            "Scaf differ from their values against the full sets, so these numbers are not comparable with the "
            "MOSES table; drop `--n-reference`/`--fast` for the full sets.",
            "",
        ]
    lines += ["| metric | " + " | ".join(g["name"] for g in gens) + " |", "|---" * (len(gens) + 1) + "|"]
    rows = [moses_row(g) for g in gens]
    for label, where in MOSES_COLUMNS:
        if where in _UNIQUE_K:
            cells = [_unique_cell(g, where, "{:.4f}") for g in gens]
        else:
            cells = [_cell(row[label], "{:.4f}") for row in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def _plot(results: Sequence[GeneratorResult], reference: ReferenceStats, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_props = dict(reference.moses.properties)
    ref_props["rings"] = reference.rings
    panels = (("logP", "logP"), ("QED", "QED"), ("SA", "SA score"), ("weight", "molecular weight"), ("rings", "rings"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, label) in zip(axes, panels):
        ref = np.asarray(ref_props[key], dtype=float)
        series = [("reference", ref)] + [(r.name, np.asarray(r.plot_data.get(key, []), dtype=float)) for r in results]
        values = np.concatenate([s for _, s in series if len(s)])
        if key == "rings":
            bins = np.arange(-0.5, values.max() + 1.5, 1.0)
        else:
            bins = np.linspace(np.percentile(values, 0.5), np.percentile(values, 99.5), 40)
        for name, data in series:
            if len(data):
                ax.hist(data, bins=bins, density=True, histtype="step", linewidth=2 if name == "reference" else 1.3,
                        color="black" if name == "reference" else None, label=name)
        ax.set_xlabel(label)
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110), binary=True)
    plt.close(fig)


def _grid(result: GeneratorResult, path: Path) -> None:
    from rdkit import Chem
    from rdkit.Chem import Draw

    mols = [Chem.MolFromSmiles(s) for s in result.examples]
    if not mols:
        logger.warning("%s: no valid molecule to draw", result.name)
        return
    image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(250, 200))
    atomic_write(path, lambda fh: image.save(fh, format="PNG"), binary=True)


def write_report(
    out_dir: str | os.PathLike,
    results: Sequence[GeneratorResult],
    reference: ReferenceStats,
    settings: dict[str, Any],
    prov: dict[str, Any] | None = None,
    *,
    protocol: str | None = None,
    references: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Write ``results.json``, ``results.md``, ``properties.png`` and one grid per generator.

    Args:
        out_dir: the report directory (created).
        results: one result per generator.
        reference: the reference they were scored on (the first, with several).
        settings: run settings to record (n, seed, train path, ...).
        prov: provenance (default :func:`provenance`).
        protocol: ``"moses"`` for the MOSES protocol (Test and TestSF; adds each
            generator's ``moses`` row and the MOSES table); default ``None``.
        references: with several references, one ``{label, source, seed, n, of}`` each
            (``of``: the size of the set it was drawn from); default none.

    Returns:
        the JSON payload.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "provenance": prov if prov is not None else provenance(),
        "settings": settings,
        "reference": {"source": reference.source, "seed": reference.seed, "n": reference.n},
        "generators": [r.as_dict() for r in results],
    }
    if references:
        payload["references"] = [dict(r) for r in references]
    if protocol is not None:
        payload["protocol"] = protocol
        if protocol == "moses":
            for entry in payload["generators"]:
                entry["moses"] = moses_row(entry)
    atomic_write(out / "results.json", lambda fh: json.dump(payload, fh, indent=2, allow_nan=False))
    atomic_write(out / "results.md", lambda fh: fh.write(_markdown(payload)))
    _plot(results, reference, out / "properties.png")
    from ric.benchmark.suite import file_stem

    for result in results:
        _grid(result, out / f"grid_{file_stem(result.name)}.png")
    logger.info("report written to %s", out)
    return payload
