"""``python -m ric`` runs the ``ric`` command line."""
from ric.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
