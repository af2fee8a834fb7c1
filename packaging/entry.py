"""The bundle's entry point: the same ``pos_app.cli.main`` the pip-installed ``pos-terminal`` runs."""

import sys

from pos_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
