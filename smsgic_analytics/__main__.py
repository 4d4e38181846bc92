"""``python -m smsgic_analytics sandbox ...``: the same command line as ``smsgic-analytics``."""
from .lab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
