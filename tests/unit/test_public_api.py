"""The public contract of DESIGN.md: names that code outside the package relies on."""
from __future__ import annotations

import inspect

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
