"""Entry point of the ``ric`` console script.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``. Subcommand modules import only :mod:`argparse` at module level;
RDKit, numpy and torch are imported inside ``run`` so that ``ric --help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from ric import __version__

SUBCOMMANDS = ("vocab", "corrupt", "train", "generate", "benchmark", "evaluate", "laman_data")

logger = logging.getLogger("ric")


class CommandError(Exception):
    """A user-facing error: printed as ``ric: error: ...`` with exit status 2."""


def _number(text: str, kind: type, minimum: float, strict: bool) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(f"{text} must be {'>' if strict else '>='} {minimum:g}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (checked at parse time, before any heavy import)."""
    return int(_number(text, int, 1, False))


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return int(_number(text, int, 0, False))


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``nan`` and ``inf`` are refused)."""
    return _number(text, float, 0.0, True)


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _number(text, float, 0.0, False)


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    value = _number(text, float, 0.0, False)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be <= 1")
    return value


class _VersionAction(argparse.Action):
    """``ric --version``: the version, where ``ric`` is installed and where its default model comes from."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import os

        import ric
        from ric.package_data import default_checkpoint

        model = default_checkpoint()
        state = "package data of ric" if model.is_file() else "MISSING from this installation: reinstall ric"
        print(f"ric {__version__} ({os.path.dirname(ric.__file__)})\ndefault model: {model} ({state})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ric",
        description="Valid-by-construction molecule generation by reversible inductive construction.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and the default model's path, and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"ric.cli.{name}").add_parser(sub)
    return parser


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Route ``ric`` loggers to stderr at INFO (DEBUG with ``verbose``, WARNING with ``quiet``)."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ric")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    configure_logging(args.verbose, args.quiet)
    from ric.runtime.gc_tuning import tune_gc

    tune_gc(freeze=False)  # commands build many short-lived objects; see ric.runtime.gc_tuning
    from tqdm.contrib.logging import logging_redirect_tqdm

    try:
        # Log records go through tqdm.write, so a warning never lands inside a progress bar's line.
        with logging_redirect_tqdm(loggers=[logging.getLogger("ric")]):
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("ric: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError) as exc:
        if args.verbose:
            raise
        print(f"ric {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not a user mistake: still one line, with the way to the traceback
        if args.verbose:
            raise
        print(f"ric {args.command}: internal error: {type(exc).__name__}: {exc} "
              f"(rerun with -v for the traceback, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
