"""The ``ric`` command line: one console script with subcommands (see :mod:`ric.cli.main`)."""
