"""Reading and writing molecule files.

Supported formats, chosen from the file name (a trailing ``.gz`` means gzip):

* ``.smi`` / ``.smiles`` / ``.txt``: one SMILES per line, optionally followed by
  whitespace and a name. Blank lines and lines starting with ``#`` are ignored, and so
  is a first line that is just the header ``smiles`` (any case, optionally followed by
  a name column header).
* ``.csv`` / ``.tsv``: a header row; the SMILES column is ``smiles`` or
  ``canonical_smiles`` (case-insensitive) unless named explicitly; an optional
  ``name`` / ``id`` / ``title`` column gives the name.
* ``.sdf`` / ``.sd``: read with RDKit; the record number (1-based) stands in for the
  line number and the molecule title (``_Name``) is the name.

Readers stream: records are produced one by one, so files of any size can be read.
A record that cannot be used is never turned into an empty or partial molecule: it is
skipped, logged as a warning (``logging.getLogger("ric.molecules.io")``) with file, line and
SMILES, and counted in an optional :class:`ReadStats`; with ``strict=True`` the first
such record raises :class:`MoleculeFileError` instead.

Writers (:func:`write_molecules`, :class:`SmilesWriter`) write straight to the final
file and flush after every record, so an interrupted run keeps what it wrote.
"""
from __future__ import annotations

import csv
import gzip
import logging
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, NamedTuple, Union

from rdkit import Chem

from ric.molecules.graph import MolGraph
from ric.molecules.rdkit_utils import quiet_rdkit
from ric.molecules.standardise import MoleculeError, standardise

__all__ = [
    "MoleculeRecord",
    "MoleculeFileError",
    "ReadStats",
    "read_smiles_records",
    "raw_smiles",
    "read_molecules",
    "write_molecules",
    "SmilesWriter",
    "file_format",
    "FORMATS",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: File-name suffix (without ``.gz``) -> format name.
FORMATS: dict[str, str] = {
    ".smi": "smi",
    ".smiles": "smi",
    ".txt": "smi",
    ".csv": "csv",
    ".tsv": "tsv",
    ".sdf": "sdf",
    ".sd": "sdf",
}

_SMILES_COLUMNS = ("smiles", "canonical_smiles")
_NAME_COLUMNS = ("name", "id", "title", "mol_id", "zinc_id")
_DELIMITERS = {"csv": ",", "tsv": "\t"}


class MoleculeRecord(NamedTuple):
    """One molecule as read from a file.

    Attributes:
        line: 1-based line number of the record (for SDF files: the record number).
        smiles: the SMILES as written in the file (for SDF: RDKit's SMILES of the record).
        name: the name/title column, or ``None`` when the file has none.
    """

    line: int
    smiles: str
    name: str | None = None


class MoleculeFileError(ValueError):
    """A record in a molecule file that cannot be used (raised in strict mode).

    Args:
        path: the file.
        line: 1-based line (or SDF record) number.
        smiles: the offending SMILES (empty when the record has none).
        reason: short machine-readable reason, e.g. ``"unparsable"`` or one of the
            :class:`~ric.molecules.standardise.MoleculeError` reasons.
        detail: optional human-readable explanation appended to the message.

    The message reads ``"path:line: reason: SMILES"`` (plus ``" (detail)"``).
    """

    def __init__(self, path: PathLike, line: int, smiles: str, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.smiles = smiles
        self.reason = reason
        self.detail = detail
        msg = f"{self.path}:{line}: {reason}: {smiles if smiles else '<no SMILES>'}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


@dataclass
class ReadStats:
    """Counts filled in by the readers.

    Args:
        max_examples: how many example line numbers to keep per skip reason (default 5).
        max_warnings: how many skipped records per reason are logged one by one as
            warnings (default 5); the rest are only counted, and :meth:`summary` gives the
            totals, so a file that does not fit gives a few lines, not thousands.

    Attributes:
        seen: records examined (accepted plus skipped).
        read: records accepted (yielded).
        skipped: number of skipped records per reason.
        examples: up to ``max_examples`` line numbers per reason, in file order.
        path: the last file read into these stats (``None`` before any).
    """

    max_examples: int = 5
    max_warnings: int = 5
    seen: int = 0
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)
    path: str | None = None

    @property
    def total_skipped(self) -> int:
        """Total number of skipped records over all reasons."""
        return sum(self.skipped.values())

    def add_read(self) -> None:
        """Count one accepted record."""
        self.seen += 1
        self.read += 1

    def add_skip(self, reason: str, line: int) -> None:
        """Count one skipped record.

        Args:
            reason: why it was skipped.
            line: its line (or SDF record) number, kept as an example if there is room.
        """
        self.seen += 1
        self.skipped[reason] += 1
        lines = self.examples.setdefault(reason, [])
        if len(lines) < self.max_examples:
            lines.append(line)

    def add_unusable(self, reason: str, record: "MoleculeRecord", detail: str = "") -> None:
        """Move an accepted record to the skipped ones (e.g. a molecule a move set cannot use).

        Args:
            reason: why it cannot be used (the counting key).
            record: the record, already counted by :meth:`add_read`.
            detail: what was wrong with this one (logged, not counted).
        """
        self.seen -= 1
        self.read -= 1
        self.add_skip(reason, record.line)
        if self.skipped[reason] <= self.max_warnings:
            logger.warning("%s:%d: skipped (%s%s): %s", self.path, record.line, reason,
                           f": {detail}" if detail else "", record.smiles)

    def summary(self) -> str:
        """One human-readable paragraph: records read and skipped, by reason with example lines."""
        where = f"{self.path}: " if self.path else ""
        text = f"{where}read {self.read} of {self.seen} records"
        if not self.skipped:
            return text + "; none skipped"
        parts = []
        for reason, count in self.skipped.most_common():
            lines = ", ".join(str(n) for n in self.examples.get(reason, []))
            more = ", ..." if count > len(self.examples.get(reason, [])) else ""
            parts.append(f"{reason}: {count} (line {lines}{more})")
        return text + f"; skipped {self.total_skipped} ({'; '.join(parts)})"

    @property
    def unusable_fraction(self) -> float:
        """Skipped records over records seen (0 when none were seen)."""
        return self.total_skipped / self.seen if self.seen else 0.0

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------- formats


def file_format(path: PathLike) -> tuple[str, bool]:
    """Format of a molecule file from its name.

    Args:
        path: file name; a final ``.gz`` marks gzip compression.

    Returns:
        ``(format, gzipped)`` with ``format`` one of ``"smi"``, ``"csv"``, ``"tsv"``,
        ``"sdf"``.

    Raises:
        ValueError: for an unknown suffix.
    """
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS)) + " (each optionally .gz)"
        raise ValueError(f"{path}: unknown molecule file type {suffix or '(no suffix)'!r}; expected one of {known}")
    return FORMATS[suffix], gz


def _open_text(path: Path, mode: str, gz: bool) -> IO[str]:
    """Open a (possibly gzipped) text file; universal newlines off for csv handling."""
    encoding = "utf-8-sig" if "r" in mode else "utf-8"
    if gz:
        return gzip.open(path, mode + "t", encoding=encoding, newline="")
    return open(path, mode, encoding=encoding, newline="")


def _open_binary(path: Path, gz: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if gz else open(path, "rb")


# ----------------------------------------------------------------------------- raw records


class _Raw(NamedTuple):
    record: MoleculeRecord
    problem: str | None  # a skip reason known before any SMILES parsing


def _raw_smi(path: Path, gz: bool) -> Iterator[_Raw]:
    with _open_text(path, "r", gz) as fh:
        first = True
        for lineno, text in enumerate(fh, start=1):
            text = text.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split(None, 1)
            if first:
                first = False
                if parts[0].lower() == "smiles":
                    continue
            name = parts[1].strip() if len(parts) > 1 else None
            yield _Raw(MoleculeRecord(lineno, parts[0], name or None), None)


def _find_column(header: list[str], wanted: str | None, candidates: tuple[str, ...]) -> int | None:
    cleaned = [h.strip() for h in header]
    if wanted is not None:
        if wanted in cleaned:
            return cleaned.index(wanted)
        lowered = [h.lower() for h in cleaned]
        return lowered.index(wanted.lower()) if wanted.lower() in lowered else None
    lowered = [h.lower() for h in cleaned]
    for cand in candidates:
        if cand in lowered:
            return lowered.index(cand)
    return None


def _table_columns(
    path: Path, header: list[str] | None, smiles_column: str | None, name_column: str | None
) -> tuple[int, int | None]:
    if not header:
        raise ValueError(f"{path}: empty file, expected a header row with a SMILES column")
    col = _find_column(header, smiles_column, _SMILES_COLUMNS)
    if col is None:
        wanted = f"column {smiles_column!r}" if smiles_column else "SMILES column (" + " or ".join(_SMILES_COLUMNS) + ")"
        raise ValueError(f"{path}: no {wanted}; the file has columns {[h.strip() for h in header]}")
    name_col = _find_column(header, name_column, _NAME_COLUMNS)
    if name_column is not None and name_col is None:
        raise ValueError(f"{path}: no name column {name_column!r}; the file has columns {[h.strip() for h in header]}")
    return col, name_col


def _raw_table(
    path: Path, fmt: str, gz: bool, smiles_column: str | None, name_column: str | None
) -> Iterator[_Raw]:
    with _open_text(path, "r", gz) as fh:
        reader = csv.reader(fh, delimiter=_DELIMITERS[fmt])
        header = next(reader, None)
        col, name_col = _table_columns(path, header, smiles_column, name_column)
        for row in reader:
            if not row:  # a blank line; a row of empty cells is reported as "empty"
                continue
            lineno = reader.line_num
            smiles = row[col].strip() if col < len(row) else ""
            name = row[name_col].strip() if name_col is not None and name_col < len(row) else None
            yield _Raw(MoleculeRecord(lineno, smiles, name or None), None if smiles else "empty")


def _raw_sdf(path: Path, gz: bool) -> Iterator[_Raw]:
    with _open_binary(path, gz) as fh:
        with quiet_rdkit():
            supplier = Chem.ForwardSDMolSupplier(fh)
        index = 0
        while True:
            with quiet_rdkit():  # silence only RDKit's own parse messages, not the caller's
                try:
                    mol = next(supplier)
                except StopIteration:
                    return
            index += 1
            if mol is None:
                yield _Raw(MoleculeRecord(index, "", None), "unparsable")
                continue
            name = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
            if mol.GetNumAtoms() == 0:
                yield _Raw(MoleculeRecord(index, "", name or None), "empty")
                continue
            smiles = Chem.MolToSmiles(mol)
            yield _Raw(MoleculeRecord(index, smiles, name or None), None)


def _file_error(path: Path, exc: BaseException, after: int) -> ValueError | None:
    """A message naming the file for a decoding or decompression failure (``None``: not one)."""
    where = f"after line {after}" if after else "at the start"
    if isinstance(exc, UnicodeDecodeError):  # text files decode by chunks: find the line itself
        with _open_binary(path, path.name.lower().endswith(".gz")) as fh:
            for lineno, raw in enumerate(fh, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as bad:
                    return ValueError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[bad.start]:02x} at column "
                                      f"{bad.start + 1}); save the file as UTF-8")
        return ValueError(f"{path}: not UTF-8 text ({exc.reason})")
    if isinstance(exc, gzip.BadGzipFile):
        return ValueError(f"{path}: not a gzip file, though its name ends in .gz")
    if isinstance(exc, EOFError):
        return ValueError(f"{path}: the gzip file ends early {where} (truncated?)")
    if isinstance(exc, zlib.error):
        return ValueError(f"{path}: corrupt gzip data {where} ({exc})")
    if isinstance(exc, csv.Error):
        return ValueError(f"{path}: malformed CSV {where} ({exc})")
    return None


def _named_errors(path: Path, raw: Iterator[_Raw]) -> Iterator[_Raw]:
    """Pass records through; turn decoding/decompression errors into messages naming the file."""
    last = 0
    try:
        for item in raw:
            last = item.record.line
            yield item
    except (UnicodeDecodeError, OSError, EOFError, zlib.error, csv.Error) as exc:
        named = _file_error(path, exc, last)
        if named is None:
            raise
        raise named from exc


def _raw_records(
    path: PathLike, smiles_column: str | None, name_column: str | None
) -> Iterator[_Raw]:
    """Check the file eagerly (exists, known type, readable, usable header); return a lazy iterator."""
    p = Path(path)
    try:
        return _open_records(p, smiles_column, name_column)
    except (UnicodeDecodeError, OSError, EOFError, zlib.error, csv.Error) as exc:
        named = _file_error(p, exc, 0)
        if named is None:
            raise
        raise named from exc


def _open_records(
    path: Path, smiles_column: str | None, name_column: str | None
) -> Iterator[_Raw]:
    """Check the file eagerly (exists, known type, usable header) and return a lazy iterator."""
    p = path
    fmt, gz = file_format(p)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a directory, not a molecule file")
    if fmt in _DELIMITERS:
        # Fail at call time, not at first iteration, on a missing column.
        with _open_text(p, "r", gz) as fh:
            header = next(csv.reader(fh, delimiter=_DELIMITERS[fmt]), None)
        _table_columns(p, header, smiles_column, name_column)
        return _named_errors(p, _raw_table(p, fmt, gz, smiles_column, name_column))
    if gz:  # a bad gzip header shows at the first read: fail now, naming the file
        with gzip.open(p, "rb") as fh:
            fh.read(1)
    if fmt == "sdf":
        return _named_errors(p, _raw_sdf(p, gz))
    return _named_errors(p, _raw_smi(p, gz))


def _skip(
    path: PathLike,
    record: MoleculeRecord,
    reason: str,
    detail: str,
    strict: bool,
    stats: ReadStats | None,
) -> None:
    if strict:
        raise MoleculeFileError(path, record.line, record.smiles, reason, detail)
    if stats is not None:
        stats.add_skip(reason, record.line)
        if stats.skipped[reason] > stats.max_warnings:
            return
    logger.warning(
        "%s:%d: skipped (%s%s): %s",
        path,
        record.line,
        reason,
        f", {detail}" if detail else "",
        record.smiles if record.smiles else "<no SMILES>",
    )


# ----------------------------------------------------------------------------- readers


def read_smiles_records(
    path: PathLike,
    *,
    strict: bool = False,
    smiles_column: str | None = None,
    name_column: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[MoleculeRecord]:
    """Stream the records of a molecule file whose SMILES RDKit can parse.

    The file type comes from the name (see :func:`file_format`). Records whose SMILES
    RDKit cannot parse (with sanitisation), and empty SMILES cells, are skipped with a
    warning naming file, line and SMILES, and counted in ``stats``. No standardisation
    is applied: the SMILES is returned as written (see :func:`read_molecules`).

    Args:
        path: ``.smi``/``.smiles``/``.txt``, ``.csv``, ``.tsv`` or ``.sdf`` file,
            optionally gzipped (``.gz``).
        strict: raise :class:`MoleculeFileError` on the first bad record instead of
            skipping it (default ``False``).
        smiles_column: CSV/TSV column holding the SMILES (default ``None``: the first
            of ``smiles``/``canonical_smiles``, case-insensitive). Ignored for other types.
        name_column: CSV/TSV column holding the name (default ``None``: ``name``,
            ``id``, ``title``, ``mol_id`` or ``zinc_id`` if present). Ignored for other types.
        stats: optional :class:`ReadStats` to fill in (default ``None``).

    Returns:
        A lazy iterator of :class:`MoleculeRecord`.

    Raises:
        FileNotFoundError: the file does not exist (at call time).
        ValueError: unknown file type, or no SMILES column in a CSV/TSV (at call time).
        MoleculeFileError: in strict mode, on the first bad record (during iteration).
    """
    raw = _raw_records(path, smiles_column, name_column)
    if stats is not None:
        stats.path = str(path)
    return _checked_records(path, raw, strict, stats)


def raw_smiles(path: PathLike, smiles_column: str | None = None) -> list[str]:
    """The SMILES texts of a molecule file as written, without parsing them (records with
    no SMILES field are left out). Errors as :func:`read_smiles_records`."""
    return [record.smiles for record, problem in _raw_records(path, smiles_column, None) if problem is None]


def _checked_records(
    path: PathLike, raw: Iterator[_Raw], strict: bool, stats: ReadStats | None
) -> Iterator[MoleculeRecord]:
    for record, problem in raw:
        if problem is None:
            with quiet_rdkit():
                mol = Chem.MolFromSmiles(record.smiles)
            if mol is None:
                problem = "unparsable"
            elif mol.GetNumAtoms() == 0:
                problem = "empty"
        if problem is not None:
            _skip(path, record, problem, "", strict, stats)
            continue
        if stats is not None:
            stats.add_read()
        yield record


def read_molecules(
    path: PathLike,
    *,
    strict: bool = False,
    stats: ReadStats | None = None,
    smiles_column: str | None = None,
    name_column: str | None = None,
) -> Iterator[tuple[MoleculeRecord, str, MolGraph]]:
    """Stream the standardised molecules of a file.

    Every record goes through :func:`~ric.molecules.standardise.standardise`; records it
    rejects (unparsable, unsupported element, disconnected, ...) are skipped with a
    warning naming file, line, reason and SMILES, and counted in ``stats`` under the
    :class:`~ric.molecules.standardise.MoleculeError` reason.

    Args:
        path: molecule file, as for :func:`read_smiles_records`.
        strict: raise :class:`MoleculeFileError` on the first unusable record
            (default ``False``).
        stats: optional :class:`ReadStats` to fill in (default ``None``).
        smiles_column: CSV/TSV SMILES column (default ``None``: found automatically).
        name_column: CSV/TSV name column (default ``None``: found automatically).

    Returns:
        A lazy iterator of ``(record, canonical_smiles, graph)``.

    Raises:
        FileNotFoundError, ValueError: as for :func:`read_smiles_records` (at call time).
        MoleculeFileError: in strict mode, on the first unusable record.
    """
    raw = _raw_records(path, smiles_column, name_column)
    if stats is not None:
        stats.path = str(path)
    return _standardised(path, raw, strict, stats)


def _standardised(
    path: PathLike, raw: Iterator[_Raw], strict: bool, stats: ReadStats | None
) -> Iterator[tuple[MoleculeRecord, str, MolGraph]]:
    for record, problem in raw:
        if problem is not None:
            _skip(path, record, problem, "", strict, stats)
            continue
        try:
            canonical, graph = standardise(record.smiles)
        except MoleculeError as exc:
            _skip(path, record, exc.reason, exc.detail, strict, stats)
            continue
        if stats is not None:
            stats.add_read()
        yield record, canonical, graph


# ----------------------------------------------------------------------------- writers


class SmilesWriter:
    """Write molecules one at a time to a ``.smi``, ``.csv``, ``.tsv`` or ``.sdf`` file.

    The file is created (or truncated) on construction and every record is flushed as
    soon as it is written, so an interrupted run keeps everything written so far. Use
    as a context manager, or call :meth:`close`.

    Args:
        path: output file; the type comes from the suffix, ``.gz`` compresses.
        names: whether records carry names. For CSV/TSV this decides whether the header
            has a ``name`` column: ``True`` always, ``False`` never (a name passed to
            :meth:`write` is then an error), ``None`` (default) decided by the first
            :meth:`write` call. For ``.smi`` (name after a space) and ``.sdf`` (title
            line) names are written whenever given.
        flush_every: flush after this many records (default 1: after every record).

    Example::

        with SmilesWriter("out.smi") as w:
            w.write("CCO", name="ethanol")
    """

    def __init__(self, path: PathLike, *, names: bool | None = None, flush_every: int = 1) -> None:
        self.path = Path(path)
        self.format, self._gz = file_format(self.path)
        self._names = names
        self._flush_every = max(1, int(flush_every))
        self._csv: Any = None  # csv writer for CSV/TSV output
        self._sdf: Chem.SDWriter | None = None
        self._header_done = False
        self.count = 0
        self._fh: IO[str] | None = _open_text(self.path, "w", self._gz)
        if self.format in _DELIMITERS:
            self._csv = csv.writer(self._fh, delimiter=_DELIMITERS[self.format], lineterminator="\n")
            if names is not None:
                self._write_header()
        elif self.format == "sdf":
            self._sdf = Chem.SDWriter(self._fh)

    def _write_header(self) -> None:
        assert self._csv is not None
        self._csv.writerow(["smiles", "name"] if self._names else ["smiles"])
        self._header_done = True

    def write(self, smiles: str, name: str | None = None) -> None:
        """Write one molecule.

        Args:
            smiles: the SMILES (must be non-empty and free of whitespace; for SDF it
                must also parse with RDKit).
            name: optional name (single line; default ``None``).

        Raises:
            ValueError: on an empty SMILES, whitespace in it, a multi-line name, a
                name for a CSV opened with ``names=False``, or (SDF) an unparsable SMILES.
        """
        if self._fh is None:
            raise ValueError(f"{self.path}: writer is closed")
        if not smiles or any(ch.isspace() for ch in smiles):
            raise ValueError(f"{self.path}: cannot write SMILES {smiles!r} (empty or contains whitespace)")
        if name is not None and ("\n" in name or "\r" in name):
            raise ValueError(f"{self.path}: name {name!r} spans several lines")
        if self._csv is not None:
            if not self._header_done:
                self._names = name is not None
                self._write_header()
            if self._names:
                self._csv.writerow([smiles, "" if name is None else name])
            elif name is not None:
                raise ValueError(f"{self.path}: this CSV has no name column (opened with names=False)")
            else:
                self._csv.writerow([smiles])
        elif self._sdf is not None:
            with quiet_rdkit():
                mol = Chem.MolFromSmiles(smiles)
            if mol is None:
                raise ValueError(f"{self.path}: cannot write unparsable SMILES {smiles!r} to SDF")
            if name is not None:
                mol.SetProp("_Name", name)
            self._sdf.write(mol)
        else:
            self._fh.write(smiles if not name else f"{smiles} {name}")
            self._fh.write("\n")
        self.count += 1
        if self.count % self._flush_every == 0:
            self.flush()

    def flush(self) -> None:
        """Push everything written so far to the file."""
        if self._sdf is not None:
            self._sdf.flush()
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        """Finish the file (writes a CSV header if nothing was written) and close it."""
        if self._fh is None:
            return
        if self._csv is not None and not self._header_done:
            self._names = bool(self._names)
            self._write_header()
        if self._sdf is not None:
            self._sdf.flush()
            self._sdf.close()
            self._sdf = None
        self._fh.close()
        self._fh = None

    def __enter__(self) -> "SmilesWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; prefer close() / with
        try:
            self.close()
        except Exception:
            pass


def write_molecules(
    path: PathLike,
    smiles_iterable: Iterable[str],
    *,
    names: Iterable[str | None] | None = None,
) -> int:
    """Write SMILES to a ``.smi``, ``.csv``, ``.tsv`` or ``.sdf`` file (``.gz`` optional).

    Records are written and flushed one by one as the iterable yields them.

    Args:
        path: output file (created or overwritten).
        smiles_iterable: the SMILES to write.
        names: optional names, one per SMILES (default ``None``: no names; a CSV then
            has the single column ``smiles``, otherwise ``smiles,name``).

    Returns:
        The number of records written.

    Raises:
        ValueError: when ``names`` and ``smiles_iterable`` differ in length, or on a
            record :meth:`SmilesWriter.write` rejects.
    """
    with SmilesWriter(path, names=names is not None) as writer:
        if names is None:
            for smiles in smiles_iterable:
                writer.write(smiles)
        else:
            sentinel = object()
            name_iter = iter(names)
            for smiles in smiles_iterable:
                name = next(name_iter, sentinel)
                if name is sentinel:
                    raise ValueError(f"{path}: fewer names than SMILES")
                writer.write(smiles, name)  # type: ignore[arg-type]
            if next(name_iter, sentinel) is not sentinel:
                raise ValueError(f"{path}: more names than SMILES")
        return writer.count
