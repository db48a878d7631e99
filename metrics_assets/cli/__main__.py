"""`python -m metrics_assets.cli`: the same as the `metrics` command."""

import sys

from metrics_assets.cli import main

sys.exit(main())
