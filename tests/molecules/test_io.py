"""Tests for ric.molecules.io: reading and writing molecule files."""
from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

import pytest
from rdkit import Chem

from ric.molecules.graph import MolGraph
from ric.molecules.io import (
    MoleculeFileError,
    MoleculeRecord,
    ReadStats,
    SmilesWriter,
    file_format,
    read_molecules,
    read_smiles_records,
    write_molecules,
)

SMI_TEXT = (
    "smiles name\n"  # 1 header, skipped
    "CCO ethanol\n"  # 2
    "\n"  # 3 blank
    "# a comment\n"  # 4
    "C1CC\n"  # 5 unclosed ring: unparsable
    "xyz some name\n"  # 6 unparsable
    "c1ccccc1\tbenzene ring\n"  # 7 tab and a name with a space
    "[Na+].[Cl-]\n"  # 8 parses; standardise rejects (unsupported element)
    "CC.O\n"  # 9 parses; standardise rejects (disconnected)
    "C[C@H](N)C(=O)O alanine\n"  # 10 stereo, fine
)


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _bad_molblock() -> str:
    """A mol block RDKit reads but cannot sanitise (pentavalent carbon)."""
    mol = Chem.MolFromSmiles("CC(C)(C)(C)C", sanitize=False)
    return Chem.MolToMolBlock(mol, kekulize=False)


def _sdf_text() -> str:
    blocks = []
    for smiles, name in [("CCO", "ethanol"), (None, "broken"), ("c1ccncc1", "pyridine")]:
        if smiles is None:
            block = _bad_molblock()
            block = name + block[block.index("\n"):]
        else:
            mol = Chem.MolFromSmiles(smiles)
            mol.SetProp("_Name", name)
            block = Chem.MolToMolBlock(mol)
        blocks.append(block + "$$$$\n")
    return "".join(blocks)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.smi", ("smi", False)),
        ("a.SMILES", ("smi", False)),
        ("a.txt", ("smi", False)),
        ("a.csv.gz", ("csv", True)),
        ("a.tsv", ("tsv", False)),
        ("dir.v2/a.sdf.gz", ("sdf", True)),
    ],
)
def test_file_format(name, expected):
    assert file_format(name) == expected


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown molecule file type"):
        read_smiles_records(tmp_path / "mols.xyz")
    with pytest.raises(FileNotFoundError):
        read_smiles_records(tmp_path / "missing.smi")


# ----------------------------------------------------------------------------- .smi


@pytest.mark.parametrize("suffix", [".smi", ".smi.gz", ".txt"])
def test_read_smi_skips_bad_lines_with_right_line_numbers(tmp_path, caplog, suffix):
    path = _write(tmp_path / f"mols{suffix}", SMI_TEXT)
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="ric.molecules.io"):
        records = list(read_smiles_records(path, stats=stats))
    assert records == [
        MoleculeRecord(2, "CCO", "ethanol"),
        MoleculeRecord(7, "c1ccccc1", "benzene ring"),
        MoleculeRecord(8, "[Na+].[Cl-]", None),
        MoleculeRecord(9, "CC.O", None),
        MoleculeRecord(10, "C[C@H](N)C(=O)O", "alanine"),
    ]
    assert stats.read == 5 and stats.seen == 7 and stats.total_skipped == 2
    assert stats.skipped == {"unparsable": 2}
    assert stats.examples == {"unparsable": [5, 6]}
    assert "unparsable: 2 (line 5, 6)" in stats.summary()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"{path}:5:" in warnings[0] and "C1CC" in warnings[0]
    assert f"{path}:6:" in warnings[1] and "xyz" in warnings[1]


def test_header_only_skipped_on_first_line(tmp_path):
    path = _write(tmp_path / "mols.smi", "# comment first\nSMILES\nCC\n")
    assert [r.line for r in read_smiles_records(path)] == [3]
    path = _write(tmp_path / "no_header.smi", "CC\nCCC\n")
    assert [r.smiles for r in read_smiles_records(path)] == ["CC", "CCC"]


def test_strict_raises_with_file_and_line(tmp_path):
    path = _write(tmp_path / "mols.smi", SMI_TEXT)
    with pytest.raises(MoleculeFileError) as info:
        list(read_smiles_records(path, strict=True))
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.line, err.smiles, err.reason) == (5, "C1CC", "unparsable")
    assert str(err).startswith(f"{path}:5: unparsable: C1CC")


def test_reading_is_lazy(tmp_path):
    # A bad record far down the file must not stop the first records from coming out.
    lines = ["CC"] * 10 + ["C1CC"] + ["CCC"] * 5
    path = _write(tmp_path / "mols.smi", "\n".join(lines) + "\n")
    it = read_smiles_records(path, strict=True)
    assert next(it) == MoleculeRecord(1, "CC", None)
    with pytest.raises(MoleculeFileError, match=r":11: "):
        list(it)


def test_examples_capped(tmp_path):
    path = _write(tmp_path / "mols.smi", "xyz\n" * 8 + "CC\n")
    stats = ReadStats(max_examples=3)
    assert len(list(read_smiles_records(path, stats=stats))) == 1
    assert stats.skipped["unparsable"] == 8
    assert stats.examples["unparsable"] == [1, 2, 3]
    assert "..." in str(stats)


# ----------------------------------------------------------------------------- csv/tsv


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".csv.gz", ","), (".tsv", "\t")])
def test_read_table(tmp_path, suffix, sep):
    rows = [
        ["id", "SMILES", "value"],  # 1
        ["m1", "CCO", "1.0"],  # 2
        ["m2", "C1CC", "2.0"],  # 3 unparsable
        ["m3", "", "3.0"],  # 4 empty cell: never an empty molecule
        [],  # 5 blank line
        ["m4", "c1ccccc1", "4.0"],  # 6
    ]
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    path = _write(tmp_path / f"mols{suffix}", text)
    stats = ReadStats()
    records = list(read_smiles_records(path, stats=stats))
    assert records == [MoleculeRecord(2, "CCO", "m1"), MoleculeRecord(6, "c1ccccc1", "m4")]
    assert stats.skipped == {"unparsable": 1, "empty": 1}
    assert stats.examples == {"unparsable": [3], "empty": [4]}
    with pytest.raises(MoleculeFileError, match=r":3: unparsable: C1CC"):
        list(read_smiles_records(path, strict=True))


def test_csv_column_selection(tmp_path):
    path = _write(tmp_path / "mols.csv", "canonical_smiles,Name\nCCO,eth\n")
    assert list(read_smiles_records(path)) == [MoleculeRecord(2, "CCO", "eth")]
    path = _write(tmp_path / "two.csv", "smiles,product\nCC,CCO\n")
    assert [r.smiles for r in read_smiles_records(path)] == ["CC"]
    assert [r.smiles for r in read_smiles_records(path, smiles_column="product")] == ["CCO"]
    assert [r.smiles for r in read_smiles_records(path, smiles_column="PRODUCT")] == ["CCO"]


def test_csv_missing_column_names_file_and_columns(tmp_path):
    path = _write(tmp_path / "mols.csv", "mol,score\nCCO,1\n")
    with pytest.raises(ValueError) as info:
        read_smiles_records(path)  # raised at call time, before iteration
    msg = str(info.value)
    assert str(path) in msg and "'mol'" in msg and "'score'" in msg
    with pytest.raises(ValueError, match="structure"):
        read_smiles_records(path, smiles_column="structure")


def test_csv_multiline_quoted_field_line_numbers(tmp_path):
    path = _write(tmp_path / "mols.csv", 'smiles,name\nCC,"two\nlines"\nxyz,bad\n')
    stats = ReadStats()
    assert [r.smiles for r in read_smiles_records(path, stats=stats)] == ["CC"]
    assert stats.examples == {"unparsable": [4]}


# ----------------------------------------------------------------------------- sdf


@pytest.mark.parametrize("suffix", [".sdf", ".sdf.gz"])
def test_read_sdf(tmp_path, suffix, caplog):
    path = _write(tmp_path / f"mols{suffix}", _sdf_text())
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="ric.molecules.io"):
        records = list(read_smiles_records(path, stats=stats))
    assert records == [MoleculeRecord(1, "CCO", "ethanol"), MoleculeRecord(3, "c1ccncc1", "pyridine")]
    assert stats.examples == {"unparsable": [2]}
    assert any(f"{path}:2:" in r.getMessage() for r in caplog.records)
    with pytest.raises(MoleculeFileError, match=r":2: unparsable"):
        list(read_smiles_records(path, strict=True))


# ----------------------------------------------------------------------------- read_molecules


def test_read_molecules_standardises_and_skips(tmp_path, caplog):
    path = _write(tmp_path / "mols.smi", SMI_TEXT)
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="ric.molecules.io"):
        out = list(read_molecules(path, stats=stats))
    assert [(rec.line, can) for rec, can, _ in out] == [(2, "CCO"), (7, "c1ccccc1"), (10, "CC(N)C(=O)O")]
    assert all(isinstance(g, MolGraph) and g.smiles() == can for _, can, g in out)
    assert stats.skipped == {"unparsable": 2, "unsupported_element": 1, "disconnected": 1}
    assert stats.examples["unsupported_element"] == [8]
    assert stats.examples["disconnected"] == [9]
    assert stats.read == 3 and stats.seen == 7
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert f"{path}:8:" in messages and "[Na+].[Cl-]" in messages
    assert f"{path}:9:" in messages and "disconnected" in messages


def test_read_molecules_strict(tmp_path):
    path = _write(tmp_path / "mols.smi", "CCO\n[Na+].[Cl-]\nCC\n")
    with pytest.raises(MoleculeFileError) as info:
        list(read_molecules(path, strict=True))
    assert info.value.line == 2 and info.value.reason == "unsupported_element"
    assert str(info.value).startswith(f"{path}:2: unsupported_element: [Na+].[Cl-]")


def test_read_molecules_csv_empty_cell(tmp_path):
    path = _write(tmp_path / "mols.csv", "smiles\n\"\"\nCC\n")
    stats = ReadStats()
    assert [can for _, can, _ in read_molecules(path, stats=stats)] == ["CC"]
    assert stats.skipped == {"empty": 1}


# ----------------------------------------------------------------------------- writers

ROUND_TRIP = ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "N#Cc1ccccc1F"]
NAMES = ["ethanol", "benzene ring", None, "fluoro, nitrile"]


@pytest.mark.parametrize("suffix", [".smi", ".csv", ".tsv", ".sdf", ".smi.gz", ".csv.gz", ".sdf.gz"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    assert write_molecules(path, ROUND_TRIP, names=NAMES) == 4
    back = list(read_smiles_records(path, strict=True))
    assert [r.name for r in back] == NAMES
    assert [Chem.CanonSmiles(r.smiles) for r in back] == [Chem.CanonSmiles(s) for s in ROUND_TRIP]
    # and without names
    path2 = tmp_path / f"plain{suffix}"
    write_molecules(path2, iter(ROUND_TRIP))
    assert [r.name for r in read_smiles_records(path2)] == [None] * 4


def test_csv_header(tmp_path):
    write_molecules(tmp_path / "a.csv", ["CC"])
    assert (tmp_path / "a.csv").read_text() == "smiles\nCC\n"
    write_molecules(tmp_path / "b.csv", ["CC"], names=["x"])
    assert (tmp_path / "b.csv").read_text() == "smiles,name\nCC,x\n"
    write_molecules(tmp_path / "c.csv", [])
    assert (tmp_path / "c.csv").read_text() == "smiles\n"


def test_names_length_mismatch(tmp_path):
    with pytest.raises(ValueError, match="fewer names"):
        write_molecules(tmp_path / "a.smi", ["C", "CC"], names=["x"])
    with pytest.raises(ValueError, match="more names"):
        write_molecules(tmp_path / "b.smi", ["C"], names=["x", "y"])


def test_writer_rejects_bad_records(tmp_path):
    with SmilesWriter(tmp_path / "a.smi") as w:
        for bad in ["", "C C"]:
            with pytest.raises(ValueError):
                w.write(bad)
        with pytest.raises(ValueError):
            w.write("CC", name="two\nlines")
    with SmilesWriter(tmp_path / "a.sdf") as w:
        with pytest.raises(ValueError, match="unparsable"):
            w.write("C1CC")
    with SmilesWriter(tmp_path / "a.csv", names=False) as w:
        with pytest.raises(ValueError, match="no name column"):
            w.write("CC", name="x")


def test_writer_flushes_every_record(tmp_path):
    path = tmp_path / "out.smi"
    w = SmilesWriter(path)
    w.write("CCO", name="ethanol")
    assert path.read_text() == "CCO ethanol\n"  # on disk before close
    w.write("CC")
    assert path.read_text() == "CCO ethanol\nCC\n"
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        w.write("C")


def test_gz_writer_flushes_every_record(tmp_path):
    path = tmp_path / "out.csv.gz"
    with SmilesWriter(path) as w:
        w.write("CCO", name="eth")
        w.write("CC", name="x")
        # the partial gzip stream decompresses to everything written so far
        partial = zlib.decompressobj(wbits=31).decompress(path.read_bytes())
        assert partial == b"smiles,name\nCCO,eth\nCC,x\n"
    assert [r.smiles for r in read_smiles_records(path)] == ["CCO", "CC"]


def test_sdf_writer_flushes_every_record(tmp_path):
    path = tmp_path / "out.sdf"
    w = SmilesWriter(path)
    w.write("CCO", name="ethanol")
    assert path.read_text().count("$$$$") == 1
    w.close()
    assert [r.name for r in read_smiles_records(path)] == ["ethanol"]


def test_csv_writer_decides_names_on_first_write(tmp_path):
    with SmilesWriter(tmp_path / "a.csv") as w:
        w.write("CC", name="x")
        w.write("CCC")
    assert list(read_smiles_records(tmp_path / "a.csv")) == [
        MoleculeRecord(2, "CC", "x"),
        MoleculeRecord(3, "CCC", None),
    ]
