"""Spend analytics: pure functions over frames (the ledger's spent sends, /sendings statuses).

The API's sendings carry no cost; the ledger knows what each of its sends was quoted.  A
sending the API lists that no ledger send owns (another notebook, the web dashboard, a send
still unknown) was charged too, at a cost this ledger does not know: it is a row with
``priced=False``, ``cost`` None and its SMS count -- never a cost of 0 -- and
``spend_totals`` shows it on its own "unpriced" line.

A sending is named by its ``server_epoch`` and its id together: a server replaced behind the
same URL hands out ids again, so a send of an earlier server keeps its cost under status
"previous server" and is never joined to a new server's sending of the same id.

>>> sends, destinations = ledger.spent(account)                     # doctest: +SKIP
>>> spend_frame(sends, destinations, client.sendings(), freq="W")    # doctest: +SKIP
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Sequence

import pandas as pd

from ..core.money import allocate, is_missing, money_sum

FREQS = {"D": "day", "W": "week", "M": "month"}
UNKNOWN_STATUS = "unknown"  # /sendings status of a sending the API did not list
PREVIOUS_SERVER_STATUS = "previous server"  # a send of a server since replaced behind the URL: no status here
SPEND_COLUMNS = ["period", "sending_id", "send_id", "created_at", "sender", "status", "destination", "country",
                 "operator", "numbers", "sms_count", "net", "tax", "cost", "currency", "priced", "server_epoch"]
SUMMARY_KEYS = ("period", "country", "operator", "sender", "status", "destination", "sending_id", "server_epoch",
                "currency")
TOTALS_COLUMNS = ["line", "sendings", "sms_count", "cost", "currency"]
# What the row builders make: the derived columns come later; _order keeps a quote's destination order.
_ROW_COLUMNS = [*(c for c in SPEND_COLUMNS if c != "period"), "_order"]


def check_freq(freq: str) -> str:
    """``freq`` when it is one of ``FREQS`` (D, W, M); else a ValueError naming the choices."""
    if freq not in FREQS:
        raise ValueError(f"freq: must be one of {', '.join(FREQS)} (day, week, month), got {freq!r}")
    return freq


def period_start(times: pd.Series, freq: str = "D") -> pd.Series:
    """Start (UTC) of the day, Monday-based week or month each timestamp falls in.

    >>> period_start(pd.Series(pd.to_datetime(["2024-05-15 13:00"], utc=True)), "M").iloc[0]
    Timestamp('2024-05-01 00:00:00+0000', tz='UTC')
    """
    check_freq(freq)
    times = pd.to_datetime(times, utc=True)
    day = times.dt.floor("D")
    if freq == "D":
        return day
    if freq == "W":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return day - pd.to_timedelta(day.dt.day - 1, unit="D")


def spend_frame(sends: pd.DataFrame, destinations: pd.DataFrame, sendings: pd.DataFrame | None = None,
                freq: str = "D", *, server_epoch: int | None = None) -> pd.DataFrame:
    """Tidy spend table: one row per (sending, destination).

    ``sends`` and ``destinations`` are ``Ledger.spent(account)``; ``sendings`` is
    ``client.sendings()`` (None: statuses 'unknown' and no unpriced rows), listed by the server
    of ``server_epoch`` (``Ledger.server_epoch``; None: every send is taken to be of that server).
    A send of an earlier server is never joined to a listed sending: status "previous server".
    ``cost`` = the destination's quoted total plus its exact share of the quote's tax (``net`` +
    ``tax``), so a sending's rows add up to its quote's total -- what the balance was debited.

    Columns: period, sending_id, send_id, created_at, sender, status, destination, country,
    operator, numbers, sms_count, net, tax, cost (exact Decimal), currency, priced, server_epoch.
    """
    check_freq(freq)
    statuses = _status_lookup(sendings)
    by_quote: dict[Any, list[dict[str, Any]]] = {}
    for rec in destinations.to_dict("records"):
        by_quote.setdefault(rec["quote_id"], []).append(rec)
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for send in sends.to_dict("records"):
        sid = int(send["sending_id"])
        epoch = send.get("server_epoch", server_epoch)
        if server_epoch is None or is_missing(epoch) or int(epoch) == server_epoch:
            seen.add(sid)
            status = statuses.get(sid, {}).get("status", UNKNOWN_STATUS)
        else:
            status = PREVIOUS_SERVER_STATUS
        rows.extend({**row, "server_epoch": epoch} for row in _spend_rows(send, by_quote.get(send["quote_id"], []), status))
    for sid, info in statuses.items():
        if sid not in seen:
            rows.append({**_unpriced_row(sid, info), "server_epoch": server_epoch})
    frame = pd.DataFrame(rows, columns=_ROW_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    frame = frame.sort_values(["created_at", "sending_id", "_order"], kind="stable").drop(columns="_order")
    frame.insert(0, "period", period_start(frame["created_at"], freq))
    return frame.astype({"sending_id": "Int64", "send_id": "Int64", "numbers": "Int64",
                         "sms_count": "Int64", "priced": "bool", "server_epoch": "Int64"}).reset_index(drop=True)[SPEND_COLUMNS]


def _status_lookup(sendings: pd.DataFrame | None) -> dict[int, dict[str, Any]]:
    if sendings is None:
        return {}
    missing = [c for c in ("id", "status") if c not in sendings.columns]
    if missing:
        raise ValueError(f"sendings: missing column(s) {', '.join(missing)} (expected client.sendings())")
    lookup: dict[int, dict[str, Any]] = {}
    for i, rec in enumerate(sendings.to_dict("records")):
        if is_missing(rec["id"]):
            raise ValueError(f"sendings row {i}: id is empty")
        lookup[int(rec["id"])] = rec
    return lookup


def _spend_rows(send: dict[str, Any], dests: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    base = {
        "sending_id": send["sending_id"], "send_id": send["send_id"], "created_at": send["created_at"],
        "sender": send["sender"], "status": status, "currency": send["currency"], "priced": True,
    }
    if not dests:
        # A send without a quote breakdown still happened: one row, at the quote total if known.
        cost = send["total"]
        return [{**base, "destination": None, "country": None, "operator": None, "numbers": None,
                 "sms_count": None, "net": cost, "tax": None if cost is None else Decimal(0), "cost": cost,
                 "priced": cost is not None, "_order": 0}]
    nets = [d["total"] for d in dests]
    taxes = allocate(send["tax"], nets)
    return [
        {**base, "destination": d["destination"], "country": d["country"], "operator": d["operator"],
         "numbers": d["numbers"], "sms_count": d["sms_count"], "net": net, "tax": tax, "cost": net + tax,
         "_order": i}
        for i, (d, net, tax) in enumerate(zip(dests, nets, taxes))
    ]


def _unpriced_row(sending_id: int, info: Mapping[str, Any]) -> dict[str, Any]:
    total_sms = info.get("total_sms")
    created = info.get("created_at")
    return {
        "sending_id": sending_id, "send_id": None,
        "created_at": None if is_missing(created) else pd.Timestamp(created).isoformat(),
        "sender": None, "status": info.get("status"), "destination": None, "country": None, "operator": None,
        "numbers": None, "sms_count": None if is_missing(total_sms) else int(total_sms),
        "net": None, "tax": None, "cost": None, "currency": None, "priced": False, "_order": 0,
    }


def _sendings(spend_df: pd.DataFrame) -> pd.Series:
    """Each row's sending as (server epoch, id) -- an id alone repeats across servers; None where
    the row has no sending id (``nunique`` leaves those out)."""
    epochs = spend_df["server_epoch"] if "server_epoch" in spend_df.columns else pd.Series(pd.NA, index=spend_df.index)
    return pd.Series([None if is_missing(sid) else (None if is_missing(epoch) else int(epoch), int(sid))
                      for epoch, sid in zip(epochs, spend_df["sending_id"])], index=spend_df.index, dtype=object)


def _priced_sum(costs: pd.Series) -> Decimal | None:
    # A group with no known cost has an unknown total, not a total of zero.
    known = [c for c in costs if not is_missing(c)]
    return money_sum(known) if known else None


def spend_summary(spend_df: pd.DataFrame, by: str | Sequence[str] = "period") -> pd.DataFrame:
    """Totals of a spend table grouped by period, country, operator, sender or status.

    Always grouped by currency too (amounts in two currencies never add up).  ``cost`` is an
    exact Decimal sum of the priced rows (None when none is priced); ``unpriced`` counts the
    sendings whose cost is unknown and ``unpriced_sms`` their SMS.

    >>> spend_summary(client.spend(), by=["period", "country"])   # doctest: +SKIP
    """
    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in SUMMARY_KEYS]
    if bad or not keys:
        raise ValueError(f"by: must name columns among {', '.join(SUMMARY_KEYS)}, got {by!r}")
    missing = [c for c in (*keys, "cost", "sending_id") if c not in spend_df.columns]
    if missing:
        raise ValueError(f"spend_df: missing column(s) {', '.join(missing)} (expected client.spend())")
    if "sending_id" in keys and "server_epoch" in spend_df.columns and "server_epoch" not in keys:
        keys.insert(keys.index("sending_id"), "server_epoch")  # a sending id names a sending of one server only
    if "currency" not in keys:
        keys.append("currency")
    out_cols = [*keys, "sendings", "numbers", "sms_count", "cost", "unpriced", "unpriced_sms"]
    if spend_df.empty:
        return pd.DataFrame(columns=out_cols)
    df = spend_df.copy()
    if "priced" not in df.columns:
        df["priced"] = df["cost"].map(lambda v: not is_missing(v))
    for col in ("numbers", "sms_count"):
        if col not in df.columns:
            df[col] = pd.NA
    df["_unpriced_sms"] = pd.to_numeric(df["sms_count"], errors="coerce").where(~df["priced"].astype(bool), 0)
    df["_sending"] = _sendings(df)
    grouped = df.groupby(keys, dropna=False, sort=False)
    out = grouped.agg(
        sendings=("_sending", "nunique"),
        numbers=("numbers", lambda s: int(pd.to_numeric(s, errors="coerce").sum())),
        sms_count=("sms_count", lambda s: int(pd.to_numeric(s, errors="coerce").sum())),
        cost=("cost", _priced_sum),
        unpriced=("priced", lambda s: int((~s.astype(bool)).sum())),
        unpriced_sms=("_unpriced_sms", lambda s: int(s.sum())),
    ).reset_index()
    if "period" in keys:
        out = out.sort_values(keys, kind="stable")
    else:  # biggest known cost first, unknown costs last
        out["_cost"] = [Decimal("-1") if c is None else c for c in out["cost"]]
        out = out.sort_values(["_cost", *keys], ascending=[False, *([True] * len(keys))], kind="stable")
    return out[out_cols].reset_index(drop=True)


def spend_totals(spend_df: pd.DataFrame) -> pd.DataFrame:
    """Two lines: what the ledger priced, and what was charged at a cost it does not know.

    DataFrame[line, sendings, sms_count, cost, currency]: "priced" (exact Decimal per currency)
    and, when there are any, "unpriced" (sendings no ledger send owns: cost None, their SMS
    count shown) -- so an unknown cost is visible, never added in as zero.
    """
    rows: list[dict[str, Any]] = []
    if len(spend_df):
        priced = spend_df[spend_df["priced"].astype(bool)]
        for currency, group in priced.groupby("currency", dropna=False, sort=True):
            rows.append({"line": "priced", "sendings": int(_sendings(group).nunique()),
                         "sms_count": int(pd.to_numeric(group["sms_count"], errors="coerce").sum()),
                         "cost": money_sum(group["cost"]), "currency": None if is_missing(currency) else currency})
        unpriced = spend_df[~spend_df["priced"].astype(bool)]
        if len(unpriced):
            rows.append({"line": "unpriced", "sendings": int(_sendings(unpriced).nunique()),
                         "sms_count": int(pd.to_numeric(unpriced["sms_count"], errors="coerce").sum()),
                         "cost": None, "currency": None})
    return pd.DataFrame(rows, columns=TOTALS_COLUMNS)
