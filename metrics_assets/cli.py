"""`metrics` command line: one entry point, one module per command family."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = (
    "metrics_assets.cli_up",
    "metrics_assets.cli_oncall",
    "metrics_assets.cli_incidents",
    "metrics_assets.cli_checks",
    "metrics_assets.cli_faults",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metrics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # command family not installed in this checkout
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
