"""Lets `python -m dashboard.cli` run the command line."""

import sys

from dashboard.cli import main

sys.exit(main())
