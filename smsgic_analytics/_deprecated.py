"""Old import paths (before 0.2's layout by stage) keep working for one release, with a warning.

``import smsgic_analytics.phone`` or ``from smsgic_analytics.pricing.segments import segments``
still work (except ``api``, ``audience`` and ``lab``, which are now the packages of their
stage): a meta path finder answers the old name with the module now in its stage's
package (the same module object, so state and ``isinstance`` agree) and warns once per name
with ``DeprecationWarning``.  Remove in 0.3.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

PACKAGE = __name__.rsplit(".", 1)[0]
MOVED = {  # old module (relative to the package) -> its home since 0.2
    "campaign": "sending.campaign",
    "charts": "analytics.charts",
    "cli": "lab.cli",
    "columns": "audience.columns",
    "config": "core.config",
    "dates": "core.dates",
    "display": "core.display",
    "errors": "core.errors",
    "estimate_cli": "lab.estimate_cli",
    "frames": "api.frames",
    "http": "api.http",
    "ledger": "sending.ledger",
    "money": "core.money",
    "notebook": "lab.notebook",
    "phone": "numbers.normalize",
    "pricing.digitdfa": "numbers.digitdfa",
    "pricing.distributed": "pricing.dask",
    "pricing.mccmnc": "numbers.mccmnc",
    "pricing.numbering": "numbers.classify",
    "pricing.numbering_tables": "numbers.tables",
    "pricing.reconcile": "pricing.compare",
    "pricing.segments": "text.segments",
    "pricing.templates": "text.templates",
    "quote": "pricing.quote",
    "recipients": "audience.recipients",
    "records": "api.records",
    "report": "lab.report",
    "sendstate": "sending.state",
    "spec": "core.spec",
    "spend": "analytics.spend",
    "tables": "core.readable",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):  # the existing module object, not a copy
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``smsgic_analytics.<old path>`` and hands out its new module."""

    def find_spec(self, fullname, path=None, target=None):
        prefix = PACKAGE + "."
        if not fullname.startswith(prefix) or fullname[len(prefix):] not in MOVED:
            return None
        new = f"{PACKAGE}.{MOVED[fullname[len(prefix):]]}"
        warnings.warn(f"{fullname} moved to {new}; the old path goes away in 0.3", DeprecationWarning,
                      stacklevel=2)
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
