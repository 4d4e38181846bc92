"""The public contract of DESIGN.md: names that code outside the package relies on."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import smsgic_analytics as sa

CONTRACT = ["connect", "Client", "segments", "segment_counts", "classify", "estimate", "compare", "advise",
            "Quote", "Campaign", "EstimatorApp", "RateExplorerApp", "SenderApp", "DashboardApp",
            "SMSgicError", "AuthenticationError", "ValidationError", "NotFoundError", "RateLimitError",
            "InsufficientBalanceError", "ServerError", "DuplicateSendError"]
CLIENT_METHODS = ["status", "balance", "senders", "rates", "calculate", "sendings", "sending", "send",
                  "cache_info", "clear_cache", "spend", "balance_history"]


def test_contract_names_are_exported():
    assert [name for name in CONTRACT if name not in sa.__all__ or not hasattr(sa, name)] == []


def test_everything_in_all_exists():
    assert [name for name in sa.__all__ if not hasattr(sa, name)] == []


def test_every_modules_all_names_what_it_holds():
    # `from module import *` fails on a name __all__ lists but the module does not define
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(sa.__path__, "smsgic_analytics.")
               if ".lab.jupyter" not in m.name and not m.name.endswith("__main__")]
    missing = [f"{module.__name__}.{name}" for module in modules for name in getattr(module, "__all__", [])
               if not hasattr(module, name)]
    assert len(modules) > 60 and missing == []


def test_client_methods_and_signatures():
    assert [m for m in CLIENT_METHODS if not callable(getattr(sa.Client, m, None))] == []
    assert list(inspect.signature(sa.connect).parameters)[:3] == ["token", "base_url", "cache_dir"]
    assert list(inspect.signature(sa.Client.rates).parameters)[1:5] == ["mcc", "mnc", "country", "country_id"]
    send = inspect.signature(sa.Client.send).parameters
    assert list(send)[1:4] == ["message", "recipients", "sender"]
    assert send["scheduled_at"].default is None and send["type"].default == "default"
    assert send["confirm"].default is False


def test_segments_contract():
    s = sa.segments("")
    assert (s.encoding, s.segments, s.units, s.ucs2_chars) == ("GSM-7", 1, 0, [])
    assert list(sa.segment_counts(["a", "ü€"]).columns) == ["encoding", "segments", "units"]
    assert list(sa.classify(["4917612345678"]).columns) == ["number", "valid", "region", "country",
                                                            "operator", "mcc", "mnc", "reason"]


def test_the_surface_is_small_and_every_error_is_in_errors():
    assert len(sa.__all__) <= 42  # 36 + audit, compare_copies, CopyLab (21) + rate_history, rate_changes, forecast (20)
    assert len(set(sa.__all__)) == len(sa.__all__)
    raised = [getattr(sa.errors, n) for n in dir(sa.errors) if isinstance(getattr(sa.errors, n), type)
              and issubclass(getattr(sa.errors, n), Exception) and getattr(sa.errors, n).__module__ == sa.errors.__name__]
    assert all(issubclass(e, sa.SMSgicError) for e in raised if e.__name__ not in ("SMSgicError",))


def test_old_names_and_paths_still_work_for_one_release_with_a_warning():
    import importlib
    import sys

    import pytest

    with pytest.warns(DeprecationWarning, match="sa.errors.UnknownOutcomeError|sa.errors.MissingTokenError"):
        assert sa.MissingTokenError is sa.errors.MissingTokenError
    with pytest.warns(DeprecationWarning, match=r"smsgic_analytics\.sending\.campaign\.SendResult"):
        from smsgic_analytics.sending.campaign import SendResult
        assert sa.SendResult is SendResult
    sys.modules.pop("smsgic_analytics.phone", None)
    with pytest.warns(DeprecationWarning, match=r"smsgic_analytics\.phone moved to smsgic_analytics\.numbers\.normalize"):
        old = importlib.import_module("smsgic_analytics.phone")
    assert old is importlib.import_module("smsgic_analytics.numbers.normalize")
    with pytest.raises(AttributeError):
        sa.no_such_name  # noqa: B018
