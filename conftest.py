"""Run-wide pytest hooks (the fixtures live in tests/conftest.py).

``make test`` runs on every core with pytest-xdist, ``--dist loadfile``: each file runs whole
on one worker, in order.  That is what nbval needs (a notebook's cells are separate test items
sharing one kernel, in order) and what a module-scoped server or a module's shared files need.
Not ``--dist loadgroup``: with pytest 9.2 and pytest-xdist 3.8 its ``xdist_group`` marks are
silently ignored (xdist writes the group into ``item._nodeid``, which pytest 9 no longer reads:
pytest-dev/pytest-xdist#1386), so it spreads test by test like ``--dist load``.  This hook
refuses a run that would split a notebook across workers, rather than let its later cells fail
with NameErrors.
"""
from __future__ import annotations

import pytest

KEEPS_FILES_WHOLE = ("no", "loadfile", "loadscope")


def pytest_configure(config: pytest.Config) -> None:
    dist = config.getoption("dist", default="no")
    workers = config.getoption("numprocesses", default=None)
    if workers and config.getoption("nbval", default=False) and dist not in KEEPS_FILES_WHOLE:
        raise pytest.UsageError(
            f"--nbval with --dist {dist} would run a notebook's cells on different workers: use --dist loadfile "
            "(loadgroup does not group on pytest 9 with pytest-xdist 3.8, pytest-dev/pytest-xdist#1386)")
