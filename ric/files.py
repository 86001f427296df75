"""Safe file handling shared by every command: check inputs, never lose an output.

The rules, for every file ``ric`` writes:

* every argument and input is checked before an output is touched
  (:func:`input_file`, :func:`output_file`);
* an output is never one of the inputs (:func:`output_file` ``inputs=``);
* a file written in one go goes to a temporary file in the target's directory that is
  then renamed onto the target (:func:`atomic_write`), so a crash leaves the previous
  file or the new one, never a truncated mix;
* a file written record by record as results arrive (``ric generate``, ``ric corrupt``)
  goes to ``<target>.partial``, flushed line by line, and is renamed onto the target
  only when the command succeeds (:class:`PartialOutput`); an interrupted or failed run
  leaves the target as it was and its records in the clearly marked ``.partial`` file;
* new files get the usual mode (``0666`` less the umask; a replaced file keeps its
  mode), not the ``0600`` of :func:`tempfile.mkstemp`;
* a run directory holding a run is not reused unless asked (:func:`check_run_dir`).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable

__all__ = [
    "json_safe",
    "input_file",
    "output_file",
    "atomic_write",
    "PartialOutput",
    "check_run_dir",
    "file_sha256",
    "record_inputs",
    "check_recorded_inputs",
    "relocate_inputs",
    "RUN_FILES",
]

logger = logging.getLogger(__name__)

#: Files whose presence marks a directory as holding a training run.
RUN_FILES = ("checkpoint.pt", "metrics.csv", "config.json")

PathLike = str | os.PathLike


def input_file(path: PathLike, what: str = "input") -> Path:
    """``path`` as a :class:`~pathlib.Path` after checking it is a readable regular file.

    Args:
        path: the file.
        what: how messages name it (default ``"input"``).

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: naming ``path``.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {p}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{what} {p} is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{what} {p} is not readable")
    return p


def file_sha256(path: PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def output_file(path: PathLike, *, inputs: Iterable[PathLike | None] = (), what: str = "output") -> Path:
    """``path`` as a :class:`~pathlib.Path` after checking that it can be written safely.

    Nothing is created or changed: call this before any output is touched.

    Args:
        path: the file to be written (it may exist; it is replaced only on success).
        inputs: files the command reads; the output may not be any of them (``None``
            entries are ignored).
        what: how messages name the file (default ``"output"``).

    Raises:
        IsADirectoryError: ``path`` is a directory.
        ValueError: ``path`` is one of ``inputs``.
        FileNotFoundError: its directory does not exist.
        PermissionError: its directory is not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{what} {p} is a directory; give a file name")
    for source in inputs:
        if source is not None and p.exists() and Path(source).exists() and _same_file(p, Path(source)):
            raise ValueError(f"{what} {p} is the input {source}: refusing to write over an input")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{what} {p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {p}: directory {parent} is not writable")
    return p


def _new_file_mode(target: Path) -> int:
    """The mode a file written at ``target`` should get: the replaced file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: PathLike, write: Callable[[IO[Any]], None], *, binary: bool = False) -> Path:
    """Write a whole file atomically: a temporary file beside ``path``, fsynced, then renamed.

    Args:
        path: the target (its directory is created if missing).
        write: called with the open temporary file; writes the content.
        binary: open the temporary file in binary mode (default text, UTF-8).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    A crash at any point leaves either the previous file or the new one at ``path``; the
    temporary file is removed when ``write`` raises.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _new_file_mode(target))
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class PartialOutput:
    """A text output written record by record to ``<path>.partial``, renamed onto ``path`` on success.

    Use as a context manager. Writes are line-buffered, so the ``.partial`` file holds
    every whole record produced so far. When the block ends without an exception the
    file is renamed onto ``path`` (replacing it); when it raises (or the process is
    killed) ``path`` is left untouched, and the ``.partial`` file is kept if it holds
    any record beyond the header, else removed.

    Args:
        path: the final file.
        header: text written first and not counted as a record (default none).
        newline: as for :func:`open` (default ``None``; ``""`` for CSV writers).

    Attributes:
        partial: the path written to while the command runs.
        records: ``write`` calls after the header.
    """

    def __init__(self, path: PathLike, header: str = "", newline: str | None = None) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.header = header
        self.newline = newline
        self.records = 0
        self._fh: IO[str] | None = None

    def __enter__(self) -> "PartialOutput":
        self._fh = open(self.partial, "w", buffering=1, encoding="utf-8", newline=self.newline)
        if hasattr(os, "fchmod"):
            os.fchmod(self._fh.fileno(), _new_file_mode(self.path))
        if self.header:
            self._fh.write(self.header)
        return self

    def write(self, text: str) -> int:
        """Write one record (or part of one, e.g. from :func:`csv.writer`)."""
        assert self._fh is not None, "PartialOutput used outside its with-block"
        self.records += 1
        return self._fh.write(text)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        if exc_type is None:
            os.replace(self.partial, self.path)
        elif self.records == 0:
            self.partial.unlink(missing_ok=True)
        else:
            logger.warning("%s left as it was; the %d records written before the failure are in %s",
                           self.path, self.records, self.partial)


def check_run_dir(out: PathLike, overwrite: bool = False) -> Path:
    """Refuse to start a new run in a directory that already holds one.

    Args:
        out: the run directory (it may be missing or empty).
        overwrite: allow replacing the run's files (default ``False``).

    Raises:
        FileExistsError: ``out`` holds a run (any of :data:`RUN_FILES`) and not ``overwrite``;
            the message says how to continue it or start over.
        NotADirectoryError: ``out`` is a file.
    """
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f"run directory {p} is a file")
    found = [name for name in RUN_FILES if (p / name).exists()]
    if found and not overwrite:
        raise FileExistsError(
            f"{p} already holds a run ({', '.join(found)}): continue it with --resume {p}, "
            f"or start a new one there with --overwrite (its files are replaced)"
        )
    return p


def record_inputs(**paths: PathLike | None) -> dict[str, dict[str, str]]:
    """What a run records of its input files: absolute path and SHA-256 of each one given.

    Args:
        paths: name -> file (``None`` entries are left out).

    Returns:
        ``{name: {"path": absolute path, "sha256": hex digest}}``, checkpoint-safe.
    """
    return {
        name: {"path": str(Path(path).resolve()), "sha256": file_sha256(path)}
        for name, path in paths.items()
        if path is not None
    }


def check_recorded_inputs(recorded: dict[str, dict[str, str]], run: PathLike) -> None:
    """Check that the files a run recorded (:func:`record_inputs`) are still there, unchanged.

    Args:
        recorded: what :func:`record_inputs` returned when the run started.
        run: the run directory (for messages).

    Raises:
        FileNotFoundError: a recorded file is gone.
        ValueError: a recorded file's content changed (resuming would train on other data).
    """
    for name, entry in recorded.items():
        path = Path(entry["path"])
        if not path.is_file():
            raise FileNotFoundError(f"the run {run} was started with {name} {path}, which no longer exists")
        if file_sha256(path) != entry["sha256"]:
            raise ValueError(f"{name} {path} has changed since the run {run} started (SHA-256 "
                             f"{entry['sha256'][:12]} then, {file_sha256(path)[:12]} now): resuming would "
                             f"train on other data; restore it, or start a new run")


def relocate_inputs(
    recorded: dict[str, dict[str, str]], given: dict[str, PathLike | None], run: PathLike
) -> dict[str, dict[str, str]]:
    """Point a run's recorded input files at new paths holding the same content.

    For a run moved to another machine or directory: each file given must have the
    SHA-256 the run recorded for it, so the run continues on exactly the same data.

    Args:
        recorded: what :func:`record_inputs` returned when the run started.
        given: name -> new path (``None`` entries keep the recorded path).
        run: the run directory (for messages).

    Returns:
        ``recorded`` with the given files' absolute paths.

    Raises:
        ValueError: a given file's content differs from the recorded one, or the run
            recorded no such file.
    """
    updated = {name: dict(entry) for name, entry in recorded.items()}
    for name, path in given.items():
        if path is None:
            continue
        if name not in recorded:
            raise ValueError(f"the run {run} was started without {name}: it cannot be given on resume")
        digest = file_sha256(input_file(path, name))
        if digest != recorded[name]["sha256"]:
            raise ValueError(f"{name} {path} is not the file the run {run} started with (SHA-256 {digest[:12]}, "
                             f"recorded {recorded[name]['sha256'][:12]}): a resumed run continues on the same data")
        updated[name]["path"] = str(Path(path).resolve())
    return updated


def recorded_path(path: str | None, run: PathLike, what: str) -> str | None:
    """A path stored by an older run (maybe relative to where it ran), checked to exist from here.

    Raises:
        FileNotFoundError: it does not exist from the current directory; the message
            explains that relative paths are resolved against where the run started.
    """
    if path is None or Path(path).is_file():
        return path
    hint = "" if Path(path).is_absolute() else (
        f" (the run recorded it relative to the directory it was started in; run this command there)"
    )
    raise FileNotFoundError(f"the run {run} reads {what} {path}, which is not found from {Path.cwd()}{hint}")


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as ``None``
    (nested dicts, lists and tuples included), ready for :func:`json.dump`."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
