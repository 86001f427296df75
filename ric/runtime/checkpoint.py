"""The one-file training checkpoint of ``ric train``.

A checkpoint is a single file written with :func:`torch.save` that loads with
``torch.load(path, weights_only=True, map_location="cpu")`` on any recent torch: it holds
no pickled classes, only ``dict`` (and ``collections.OrderedDict``, as model state dicts
are), ``list``, ``tuple`` (and ``torch.Size``), ``str``, ``int``, ``float``, ``bool``,
``None`` and tensors (``torch.Tensor`` / ``torch.nn.Parameter``). :func:`save_checkpoint`
checks this before writing and names the offending key path otherwise.

Writes are atomic: the data goes to a temporary file in the target directory, is
flushed and fsynced, then moved onto the target with :func:`os.replace`. A crash at any
point (even ``kill -9``) leaves either the previous checkpoint or the new one at the
target path, never a truncated file; at worst a stray ``.checkpoint.*.tmp`` file is left
behind, which is harmless.

By contract the checkpoint of a run lands at ``<run_dir>/checkpoint.pt``
(:data:`CHECKPOINT_NAME`).
"""
from __future__ import annotations

import collections
import logging
import os
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT_VERSION",
    "CheckpointError",
    "load_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

logger = logging.getLogger(__name__)

#: Version of the checkpoint layout written by :func:`save_checkpoint`.
FORMAT_VERSION = 1

#: File name of a run's checkpoint inside its run directory.
CHECKPOINT_NAME = "checkpoint.pt"

# Exact types (no subclasses: numpy.float64 subclasses float but pickles as a numpy
# scalar, which ``weights_only=True`` refuses).
_SCALAR_TYPES = (str, int, float, bool, type(None))
_MAPPING_TYPES = (dict, collections.OrderedDict)
_SEQUENCE_TYPES = (list, tuple, torch.Size)
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_KEY_TYPES = (str, int, float, bool, type(None))


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, of an unknown format or does not match.

    The message always names the file path.
    """


# --------------------------------------------------------------------------- validation


def _type_name(obj: Any) -> str:
    """``module.QualName`` of ``obj``'s type, or just the name for builtins."""
    cls = type(obj)
    module = cls.__module__
    if module in ("builtins", None):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _validate(obj: Any, path: str, active: set[int]) -> None:
    """Raise :class:`TypeError` unless ``obj`` holds only allowed types (recursively)."""
    cls = type(obj)
    if cls in _SCALAR_TYPES or cls in _TENSOR_TYPES:
        return
    if cls in _MAPPING_TYPES or cls in _SEQUENCE_TYPES:
        if id(obj) in active:
            raise TypeError(f"checkpoint payload contains a reference cycle at {path or '<root>'}")
        active.add(id(obj))
        try:
            if cls in _MAPPING_TYPES:
                for key, value in obj.items():
                    if type(key) not in _KEY_TYPES:
                        raise TypeError(
                            f"checkpoint payload has a dict key of a disallowed type at "
                            f"{_join(path, repr(key))}: {_type_name(key)} (keys must be str, "
                            f"int, float, bool or None)"
                        )
                    _validate(value, _join(path, key), active)
            else:
                for index, value in enumerate(obj):
                    _validate(value, _join(path, index), active)
        finally:
            active.discard(id(obj))
        return
    raise TypeError(
        f"checkpoint payload holds a value of a disallowed type at {path or '<root>'}: "
        f"{_type_name(obj)} (only dict, list, tuple, str, int, float, bool, None and "
        f"torch tensors are allowed)"
    )


def _rdkit_version() -> str | None:
    try:
        import rdkit
    except ImportError:  # pragma: no cover - rdkit is a dependency
        return None
    return str(rdkit.__version__)


# --------------------------------------------------------------------------- save / load


def _fsync_dir(directory: Path) -> None:
    """fsync ``directory`` so a rename in it is durable; silently skipped where unsupported."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Atomically write a training checkpoint to ``path``.

    A shallow copy of ``payload`` gets the metadata keys ``format_version``
    (:data:`FORMAT_VERSION`), ``ric_version``, ``rdkit_version``, ``torch_version`` and
    ``saved_at`` (ISO 8601, UTC), overriding same-named keys of ``payload``. The result is
    checked to hold only allowed types, written with :func:`torch.save` to a temporary
    file in the same directory (created if missing), flushed and fsynced, and moved onto
    ``path`` with :func:`os.replace`; the directory is then fsynced where possible. A
    crash mid-write never leaves a truncated file at ``path``.

    Args:
        path: destination file, conventionally ``<run_dir>/checkpoint.pt``.
        payload: the checkpoint content, a dict whose values are (recursively) dicts,
            lists, tuples, str, int, float, bool, None or torch tensors.

    Raises:
        TypeError: ``payload`` is not a dict or holds a disallowed type; the message names
            the key path, e.g. ``optimizer.state.0.step: numpy.int64``.
        OSError: the file could not be written (the previous file at ``path`` is intact).
    """
    import ric

    if not isinstance(payload, dict):
        raise TypeError(f"checkpoint payload must be a dict, not {_type_name(payload)}")
    data = dict(payload)
    data.update(
        format_version=FORMAT_VERSION,
        ric_version=ric.__version__,
        rdkit_version=_rdkit_version(),
        torch_version=str(torch.__version__),
        saved_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _validate(data, "", set())

    target = Path(path)
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".checkpoint.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            # mkstemp creates 0600; keep the mode of the file being replaced, else 0644.
            try:
                mode = target.stat().st_mode & 0o777
            except OSError:
                mode = 0o644
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            torch.save(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    logger.debug("saved checkpoint %s (format %d)", target, FORMAT_VERSION)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > limit:
        first = first[: limit - 3] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    map_location: Any = "cpu",
    expected_vocab_hash: str | None = None,
) -> dict[str, Any]:
    """Load and check a checkpoint written by :func:`save_checkpoint`.

    Always loads with ``torch.load(..., weights_only=True)``.

    Args:
        path: the checkpoint file.
        map_location: passed to :func:`torch.load` (default ``"cpu"``).
        expected_vocab_hash: if given, ``payload["move_set"]["vocab_hash"]`` must equal it
            (default None: not checked).

    Returns:
        The checkpoint dict, metadata keys included.

    Raises:
        CheckpointError: the file is missing, truncated or corrupted, not a ric checkpoint
            (no ``format_version``), of a newer or unknown format, or its vocabulary hash
            differs from ``expected_vocab_hash``. The message names ``path``.
    """
    target = Path(path)
    if not target.exists():
        raise CheckpointError(f"checkpoint {target} does not exist")
    if not target.is_file():
        raise CheckpointError(f"checkpoint {target} is not a regular file")
    try:
        payload = torch.load(target, map_location=map_location, weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "Unsupported global" in text:
            # torch's message suggests weights_only=False: never pass that advice on for a
            # file of unknown origin (unpickling runs arbitrary code).
            raise CheckpointError(
                f"checkpoint {target} is not a ric checkpoint: it holds pickled Python objects, and ric "
                f"only loads plain-data checkpoints (tensors, numbers, strings, lists, dicts)"
            ) from None
        if "weights_only" in text or "Weights only" in text:
            raise CheckpointError(f"checkpoint {target} is not a ric checkpoint (not a plain-data torch file), "
                                  f"or it is truncated or corrupted") from None
        raise CheckpointError(
            f"checkpoint {target} is truncated or corrupted ({_short(exc)})"
        ) from exc

    if not isinstance(payload, dict):
        raise CheckpointError(
            f"checkpoint {target} is not a ric checkpoint: it holds a "
            f"{_type_name(payload)}, not a dict"
        )
    if "format_version" not in payload:
        raise CheckpointError(
            f"checkpoint {target} is not a ric checkpoint: it has no 'format_version' key"
        )
    version = payload["format_version"]
    writer = payload.get("ric_version", "unknown")
    if type(version) is not int:
        raise CheckpointError(
            f"checkpoint {target} has an invalid format_version {version!r} (expected an int)"
        )
    if version > FORMAT_VERSION:
        import ric

        raise CheckpointError(
            f"checkpoint {target} has format_version {version}, written by ric {writer}; "
            f"this ric {ric.__version__} reads format_version <= {FORMAT_VERSION}: "
            f"upgrade ric to load it"
        )
    if version < 1:
        raise CheckpointError(
            f"checkpoint {target} has unknown format_version {version} (written by ric "
            f"{writer}); supported: 1..{FORMAT_VERSION}"
        )

    if expected_vocab_hash is not None:
        move_set = payload.get("move_set")
        found = move_set.get("vocab_hash") if isinstance(move_set, dict) else None
        if found is None:
            raise CheckpointError(
                f"checkpoint {target} records no move_set.vocab_hash to check against the "
                f"expected vocabulary {expected_vocab_hash[:12]}"
            )
        if found != expected_vocab_hash:
            raise CheckpointError(
                f"checkpoint {target} was trained with vocabulary {str(found)[:12]}, but the "
                f"current vocabulary is {expected_vocab_hash[:12]}: vocabulary mismatch"
            )
    logger.debug("loaded checkpoint %s (format %d, ric %s)", target, version, writer)
    return payload


# --------------------------------------------------------------------------- RNG state


def _numpy_to_allowed(obj: Any) -> Any:
    """Convert numpy arrays/scalars nested in dicts/lists/tuples to allowed types."""
    if isinstance(obj, np.ndarray):
        return {"ndarray": torch.from_numpy(obj.astype(np.int64) if obj.dtype.kind in "ui"
                                             else obj.copy()),
                "dtype": obj.dtype.str}
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, dict):
        return {str(k): _numpy_to_allowed(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_numpy_to_allowed(v) for v in obj]
    return obj


def _allowed_to_numpy(obj: Any) -> Any:
    """Inverse of :func:`_numpy_to_allowed`."""
    if isinstance(obj, dict):
        if set(obj) == {"ndarray", "dtype"} and isinstance(obj["ndarray"], torch.Tensor):
            return obj["ndarray"].cpu().numpy().astype(np.dtype(obj["dtype"]))
        return {k: _allowed_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_allowed_to_numpy(v) for v in obj]
    return obj


def rng_state() -> dict[str, Any]:
    """Capture the global RNG states in a checkpoint-safe form.

    Covers Python :mod:`random`, numpy's global RNG (``np.random``), torch's CPU
    generator and, when CUDA is available, every CUDA device's generator. The result holds
    only dicts, lists, ints, floats, str, None and tensors.

    Returns:
        ``{"python": {...}, "numpy": {...}, "torch": ByteTensor, "cuda": [ByteTensor, ...]
        or None}``; pass it to :func:`set_rng_state` to restore.
    """
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
        "numpy": _numpy_to_allowed(np.random.get_state(legacy=False)),
        "torch": torch.get_rng_state(),
        "cuda": None,
    }
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore global RNG states captured by :func:`rng_state`.

    Components missing from ``state`` are left untouched (with a warning). CUDA states are
    restored when CUDA is available; if the device count differs, the common devices are
    restored and a warning is logged.

    Args:
        state: a dict from :func:`rng_state` (possibly after a checkpoint round trip).
    """
    missing = [k for k in ("python", "numpy", "torch") if k not in state]
    if missing:
        logger.warning("RNG state lacks %s; those generators are not restored", missing)

    if "python" in state:
        py = state["python"]
        random.setstate((int(py["version"]), tuple(int(x) for x in py["state"]),
                         py["gauss_next"]))
    if "numpy" in state:
        np.random.set_state(_allowed_to_numpy(state["numpy"]))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu().to(torch.uint8))

    cuda_states = state.get("cuda")
    if cuda_states:
        if not torch.cuda.is_available():
            logger.warning("RNG state has CUDA generator states but CUDA is unavailable; "
                           "they are not restored")
        else:
            count = torch.cuda.device_count()
            if count != len(cuda_states):
                logger.warning("RNG state has %d CUDA generator states but %d devices are "
                               "visible; restoring the first %d", len(cuda_states), count,
                               min(count, len(cuda_states)))
            for device, cuda_state in enumerate(cuda_states[:count]):
                torch.cuda.set_rng_state(cuda_state.cpu().to(torch.uint8), device)


def slim_checkpoint(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Copy a training checkpoint without optimiser, scheduler and RNG state (for inference).

    The result loads with :func:`ric.sampling.generator.load_model` but cannot resume training.
    """
    payload = load_checkpoint(source)
    for key in ("optimizer_state", "scheduler_state", "rng", "format_version", "ric_version",
                "rdkit_version", "torch_version", "saved_at"):
        payload.pop(key, None)
    payload["inference_only"] = True
    save_checkpoint(destination, payload)
