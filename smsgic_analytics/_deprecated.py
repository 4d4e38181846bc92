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
    "pricing.segments": "text.segments",  # segment_counts: text.counts; advise: text.advice; smart_encode: text.smart
    "pricing.templates": "text.templates",
    "quote": "pricing.quote",
    "recipients": "audience.recipients",
    "records": "api.frames",
    "report": "lab.report",
    "sendstate": "sending.state",
    "spec": "core.spec",
    "spend": "analytics.spend",
    "tables": "core.display",
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


# Names that left the top level in 0.2 (sa.__all__ is the flow's ~35 names): still reachable
# as ``sa.<name>`` for one release, with a warning that says where they live now.
TOP_LEVEL = {
    "Balance": "api.frames",
    "CacheInfo": "api.http",
    "Recipients": "audience.recipients",
    "AudienceError": "audience.read",
    "normalize_number": "numbers.normalize",
    "Segments": "text.segments",
    "Advice": "text.advice",
    "TemplateError": "text.templates",
    "RateTable": "pricing.rate_table",
    "OfflineEstimate": "pricing.offline",
    "Totals": "pricing.offline",
    "DaskEstimate": "pricing.dask",
    "Preview": "sending.campaign",
    "SendResult": "sending.campaign",
    "NotebookSession": "lab.notebook",
    "APIConnectionError": "core.errors",
    "ConfirmationRequiredError": "core.errors",
    "InvalidRecipientsError": "core.errors",
    "MissingTokenError": "core.errors",
}


def top_level(name: str):
    """``sa.<name>`` for a name that left the top level (AttributeError for any other)."""
    if name not in TOP_LEVEL:
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
    where = f"{PACKAGE}.{TOP_LEVEL[name]}"
    hint = f"sa.errors.{name}" if TOP_LEVEL[name] == "core.errors" else f"{where}.{name}"
    warnings.warn(f"sa.{name} moved to {hint}; the old name goes away in 0.3", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(where), name)


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
