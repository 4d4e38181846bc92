"""The ``smsgic-analytics`` command line: ``sandbox``, ``lab``, ``report``, ``estimate``."""
from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    """Every sub-command and its options (``smsgic-analytics <command> --help``)."""
    from ..sandbox.server import add_arguments as add_sandbox_arguments
    from . import estimate_cli
    from . import launcher as lab

    root = argparse.ArgumentParser(prog="smsgic-analytics", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    add_sandbox_arguments(sub.add_parser("sandbox", help="run the local SMSgic server"))
    lab.add_arguments(
        sub.add_parser("lab", help="JupyterLab on the notebooks, against a local sandbox"),
        sub.add_parser("report", help="execute the notebooks into HTML reports"),
    )
    estimate_cli.add_arguments(sub.add_parser("estimate", help="offline estimate of an audience file, on Dask"))
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
