"""Rate-card history: every /rates answer kept as a dated Parquet snapshot, and what changed.

Prices change between the day a campaign is priced and the day it is sent; the API only ever
says today's price.  So each /rates answer the client fetches is also written to the
account's data folder (``Settings.account_dir / "rates"``), one Parquet file per answer that
changed something, stamped with the server's time (the ledger's clock, ``core.dates.ServerClock``
for a ``Client``; a notebook's sandbox clock).  Prices are ``decimal128`` columns, exact to the
wire's last digit; a file holds rates and nothing else (never the token: the folder is named by
the account's hash).  An answer whose every row has the price already on record is not stored.

Reading: ``rate_history`` (one row per row of each snapshot), ``rate_changes(since=...)`` (old
and new price of every row that changed, sorted by money at stake), ``at(date)`` (the card as it
stood then, in ``client.rates()``'s shape, for ``reprice(quote, message, rates=at(...))``).
A file that cannot be read is named in a warning (or ``RateHistoryError`` with
``on_error="raise"``); every other file is still read.

A filtered answer (``client.rates(country="Latvia")``) is a snapshot of the rows it holds; a row
an answer does not list keeps its earlier price (the history does not record rows removed).

>>> client.rates()                                                # doctest: +SKIP
>>> sa.rate_changes(client, since="2026-11-01").head()            # doctest: +SKIP
>>> quote.reprice(rates=client.rates_at("2026-11-01"))        # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import threading
import warnings
import weakref
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.config import Settings
from ..core.dates import as_utc, format_instant
from ..core.errors import RateHistoryError, ValidationError
from ..core.money import PLACES
from ..numbers.classify import classify, operator_table
from .rate_table import checked_rates

SNAPSHOT_DIR = "rates"
HISTORY_COLUMNS = ["date", "country", "operator", "mcc", "mnc", "price", "currency"]
CHANGES_COLUMNS = ["country", "operator", "mcc", "mnc", "old", "new", "change", "change_pct", "changed_at",
                   "at_stake", "currency"]
_KEY = ["mcc", "mnc", "country"]
_UTC = "datetime64[us, UTC]"

OnError = Literal["warn", "raise"]


class RateHistoryWarning(UserWarning):
    """A snapshot file could not be read; the history was read without it."""


def _schema(scale: int) -> pa.Schema:
    return pa.schema([("taken_at", pa.timestamp("us", tz="UTC")), ("mcc", pa.string()), ("mnc", pa.string()),
                      ("country", pa.string()), ("rate", pa.decimal128(38, scale)), ("currency", pa.string())])


def _places(value: Decimal) -> int:
    return max(0, -int(value.as_tuple().exponent))


class RateHistory:
    """The snapshots of one account: ``record`` an answer, read them back as frames.

    ``folder`` is the account's snapshot folder; ``clock`` (aware UTC) stamps new snapshots.
    Safe across threads and processes: each snapshot is written to a temporary file and renamed
    into place, under a name no other writer can pick.
    """

    def __init__(self, folder: str | os.PathLike[str], clock: Callable[[], datetime] | None = None) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int, int], ...] | None = None  # the listing the cache below is of
        self._latest: dict[tuple[Any, ...], Decimal] = {}

    def __repr__(self) -> str:
        return f"RateHistory({str(self.folder)!r})"

    @classmethod
    def for_settings(cls, settings: Settings, clock: Callable[[], datetime] | None = None) -> "RateHistory":
        """The history in ``settings.account_dir / "rates"``."""
        return cls(Path(settings.account_dir) / SNAPSHOT_DIR, clock)

    # -- writing ---------------------------------------------------------------------------

    def record(self, rates: pd.DataFrame, *, taken_at: datetime | None = None) -> Path | None:
        """Keep ``rates`` (a ``client.rates()`` frame) as a snapshot unless every row's price is
        the one on record already; returns the new file, or None when nothing changed."""
        if not len(rates):
            return None
        when = as_utc(taken_at if taken_at is not None else (self.clock() if self.clock else datetime.now().astimezone()))
        frame = pd.DataFrame({
            "mcc": rates["mcc"].astype(object), "mnc": rates["mnc"].astype(object).where(rates["mnc"].notna(), None),
            "country": rates["country"].astype(str), "rate": rates["rate"].astype(object),
            "currency": rates["currency"].astype(object).where(rates["currency"].notna(), None)
            if "currency" in rates else None,
        })
        with self._lock:
            latest = self._latest_prices()
            keys = list(zip(frame["mcc"], frame["mnc"], frame["country"], frame["currency"]))
            if all(latest.get(k) == r for k, r in zip(keys, frame["rate"])):
                return None
            scale = max([PLACES] + [_places(r) for r in frame["rate"]])
            table = pa.Table.from_pandas(frame.assign(taken_at=pd.Timestamp(when)), schema=_schema(scale),
                                         preserve_index=False)
            self.folder.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(repr(sorted(zip(keys, map(str, frame["rate"])), key=repr)).encode()).hexdigest()
            name = f"rates-{when:%Y%m%dT%H%M%S%fZ}-{digest[:12]}-{secrets.token_hex(3)}.parquet"
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            pq.write_table(table, temporary)
            os.replace(temporary, self.folder / name)
            for k, r in zip(keys, frame["rate"]):
                latest[k] = r
            return self.folder / name

    # -- reading ---------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """The snapshot files, oldest first (their names start with the time they were taken)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("rates-*.parquet") if p.is_file())

    def snapshots(self, on_error: OnError = "warn") -> pd.DataFrame:
        """Every row of every readable snapshot: DataFrame[taken_at, mcc, mnc, country, rate
        (Decimal), currency]; ``.attrs["unreadable"]`` lists the files that could not be read."""
        frames, unreadable = [], []
        for path in self.files():
            try:
                frames.append(_read(path))
            except RateHistoryError as exc:
                if on_error == "raise":
                    raise
                unreadable.append(str(path))
                warnings.warn(str(exc), RateHistoryWarning, stacklevel=3)
        columns = ["taken_at", "mcc", "mnc", "country", "rate", "currency"]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        out = out.sort_values("taken_at", kind="stable").reset_index(drop=True)
        out["taken_at"] = pd.to_datetime(out["taken_at"], utc=True).astype(_UTC)
        out.attrs["unreadable"] = unreadable
        return out

    def _latest_prices(self) -> dict[tuple[Any, ...], Decimal]:
        """(mcc, mnc, country, currency) -> the price last recorded (cached while no file changes)."""
        listing = tuple((p.name, *_stat(p)) for p in self.files())
        if listing != self._seen:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RateHistoryWarning)  # said when the history is read
                rows = self.snapshots()
            latest: dict[tuple[Any, ...], Decimal] = {}
            for k in zip(rows["mcc"], rows["mnc"], rows["country"], rows["currency"], rows["rate"]):
                latest[k[:4]] = k[4]
            self._latest, self._seen = latest, listing
        return self._latest


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


def _read(path: Path) -> pd.DataFrame:
    """One snapshot file as a frame; anything wrong with it is a ``RateHistoryError`` naming it."""
    try:
        table = pq.read_table(path)
        missing = [c for c in ("taken_at", "mcc", "mnc", "country", "rate") if c not in table.column_names]
        if missing:
            raise ValueError(f"missing column(s) {missing}")
        if not pa.types.is_decimal(table.schema.field("rate").type):
            raise ValueError(f"rate is {table.schema.field('rate').type}, not a decimal")
        frame = table.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise RateHistoryError(f"rate-card snapshot {path} cannot be read ({exc}); it is left out of the "
                               "history (delete or move it to silence this)", path=str(path)) from None
    if "currency" not in frame:
        frame["currency"] = None
    frame["rate"] = frame["rate"].astype(object)
    frame["mnc"] = frame["mnc"].astype(object).where(frame["mnc"].notna(), None)
    return frame[["taken_at", "mcc", "mnc", "country", "rate", "currency"]]


# -- whose history ------------------------------------------------------------------------------

_recent: "weakref.ref[Any] | None" = None


def remember(owner: Any) -> None:
    """Make ``owner`` (a ``Client``) the account ``rate_history()`` and friends read when given none."""
    global _recent
    _recent = weakref.ref(owner)


def history_of(source: Any = None) -> RateHistory:
    """The history of ``source``: a ``Client`` (anything with ``.rate_card_history``), a
    ``RateHistory``, ``Settings``, or None -- the client opened last in this process, else the
    account the environment names (``Settings.resolve()``)."""
    if source is None and _recent is not None:
        source = _recent()
    if source is None:
        source = Settings.resolve()
    if isinstance(source, RateHistory):
        return source
    if isinstance(source, Settings):
        return RateHistory.for_settings(source)
    found = getattr(source, "rate_card_history", None)
    if isinstance(found, RateHistory):
        return found
    raise TypeError(f"rate history: expected a Client, Settings or RateHistory, got {type(source).__name__}")


# -- frames ---------------------------------------------------------------------------------------

def _operator_names() -> dict[tuple[str, str], str]:
    """(mcc, mnc) -> one operator name (the first, alphabetically, phonenumbers knows for it)."""
    t = operator_table()
    t = t[t["mcc"].notna() & t["mnc"].notna()].sort_values(["mcc", "mnc", "operator"])
    return {(m, n): o for m, n, o in zip(t["mcc"], t["mnc"], t["operator"]) if (m, n)}


def _tidy(rows: pd.DataFrame) -> pd.DataFrame:
    names = _operator_names()
    operator = [None if n is None else names.get((m, n)) for m, n in zip(rows["mcc"], rows["mnc"])]
    return pd.DataFrame({
        "date": rows["taken_at"].astype(_UTC),
        "country": pd.Series(rows["country"], dtype="string"),
        "operator": pd.Series(operator, dtype="string"),
        "mcc": pd.Series(rows["mcc"], dtype="string"),
        "mnc": pd.Series(rows["mnc"], dtype="string"),
        "price": pd.Series(rows["rate"], dtype=object),
        "currency": pd.Series(rows["currency"], dtype="string"),
    }, columns=HISTORY_COLUMNS).reset_index(drop=True)


def _select(frame: pd.DataFrame, country: str | None, operator: str | None) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if country is not None:
        keep &= frame["country"].str.contains(str(country), case=False, regex=False).fillna(False)
    if operator is not None:
        keep &= frame["operator"].str.contains(str(operator), case=False, regex=False).fillna(False)
    return frame[keep.astype(bool)].reset_index(drop=True)


def rate_history(source: Any = None, *, country: str | None = None, operator: str | None = None,
                 on_error: OnError = "warn") -> pd.DataFrame:
    """Every snapshot's price of every row: DataFrame[date (UTC), country, operator, mcc, mnc,
    price (Decimal), currency], oldest first.  ``country`` / ``operator``: part of the name, any
    case; ``operator`` is the name phonenumbers gives the row's MCC/MNC (None for a country
    default row).  ``source``: see ``history_of``.

    >>> sa.rate_history(client, country="Latvia")       # doctest: +SKIP
    """
    rows = history_of(source).snapshots(on_error)
    out = _select(_tidy(rows), country, operator)
    out.attrs["unreadable"] = rows.attrs.get("unreadable", [])
    return out


def parse_when(value: Any, what: str, *, end_of_day: bool) -> pd.Timestamp:
    """A date or instant (naive means UTC); a bare date is its first or, ``end_of_day``, last moment."""
    bare = (isinstance(value, str) and len(value.strip()) == 10) or (isinstance(value, date) and not isinstance(value, datetime))
    try:  # a number is not read as nanoseconds since 1970: it is refused with the rest
        stamp = (pd.Timestamp(value.strip() if isinstance(value, str) else value)
                 if isinstance(value, (str, date, np.datetime64)) else pd.NaT)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ValidationError(f"{what}: expected a date (YYYY-MM-DD) or an instant, got {value!r}",
                              field_errors={what: ["a date (YYYY-MM-DD) or an instant"]})
    if bare:
        stamp = pd.Timestamp(datetime.combine(stamp.date(), time.max if end_of_day else time.min))
    return pd.Timestamp(as_utc(stamp.to_pydatetime()))


def _card_before(rows: pd.DataFrame, moment: pd.Timestamp) -> pd.DataFrame:
    """Per row key, the last price at or before ``moment``."""
    before = rows[rows["taken_at"] <= moment]
    return before.drop_duplicates(["mcc", "mnc", "country", "currency"], keep="last")


def rates_at(date: Any, source: Any = None, *, on_error: OnError = "warn") -> pd.DataFrame:
    """The rate card as it stood at ``date`` (a bare date: the end of that day, UTC), rebuilt from
    the snapshots: ``client.rates()``'s shape [mcc, mnc, is_default, country, rate, currency];
    ``.attrs["as_of"]`` is the last snapshot it used.  No snapshot that early is a
    ``ValidationError`` naming the first one.

    >>> old = quote.reprice(rates=client.rates_at("2026-11-01"))   # doctest: +SKIP
    """
    moment = parse_when(date, "date", end_of_day=True)
    rows = history_of(source).snapshots(on_error)
    card = _card_before(rows, moment)
    if not len(card):
        first = "none yet" if not len(rows) else f"the first is from {format_instant(rows['taken_at'].iloc[0])} UTC"
        raise ValidationError(f"no rate-card snapshot at or before {format_instant(moment)} UTC ({first}): "
                              "the history starts with the first client.rates() answer kept",
                              field_errors={"date": ["before the first snapshot"]})
    out = pd.DataFrame({
        "mcc": pd.Series(card["mcc"].tolist(), dtype="string"),
        "mnc": pd.Series(card["mnc"].tolist(), dtype="string"),
        "is_default": pd.Series([m is None for m in card["mnc"]], dtype="bool"),
        "country": pd.Series(card["country"].tolist(), dtype="category"),
        "rate": pd.Series(card["rate"].tolist(), dtype=object),
        "currency": pd.Series(card["currency"].tolist(), dtype="string"),
    })
    out.attrs["as_of"] = card["taken_at"].max()
    return out


at = rates_at  # reprice(quote, message, rates=at("2026-11-01")): the spelling


def rate_changes(source: Any = None, *, since: Any, quote: Any = None, on_error: OnError = "warn") -> pd.DataFrame:
    """Every row whose price changed since ``since`` (a bare date: its start, UTC):
    DataFrame[country, operator, mcc, mnc, old, new, change, change_pct, changed_at, at_stake,
    currency].  ``old`` is the price at ``since`` (or, for history that starts later, the first
    one kept), ``new`` the latest; ``change = new - old`` and ``change_pct`` (2 places) are exact
    Decimals; ``changed_at`` is the first snapshot with a price other than ``old``.
    ``at_stake`` is the money the change moves: per SMS, or with ``quote`` the change times
    the SMS of the quote's numbers priced on that row.  Sorted by ``|at_stake|``, biggest first.

    >>> sa.rate_changes(client, since="2026-11-01")    # doctest: +SKIP
    """
    moment = parse_when(since, "since", end_of_day=False)
    rows = history_of(source).snapshots(on_error)
    if not len(rows):
        return pd.DataFrame(columns=CHANGES_COLUMNS)
    base = _card_before(rows, moment)
    later = rows[rows["taken_at"] > moment]
    start = rows.drop_duplicates(["mcc", "mnc", "country", "currency"], keep="first")
    old = pd.concat([base, start]).drop_duplicates(["mcc", "mnc", "country", "currency"], keep="first")
    new = rows.drop_duplicates(["mcc", "mnc", "country", "currency"], keep="last")
    key = ["mcc", "mnc", "country", "currency"]
    both = old[key + ["rate"]].merge(new[key + ["rate"]], on=key, suffixes=("_old", "_new"))
    both = both[both["rate_old"] != both["rate_new"]]
    firsts = []
    for mcc, mnc, country, currency, was in both[key + ["rate_old"]].itertuples(index=False):
        hit = later[(later["mcc"] == mcc) & (later["mnc"].map(lambda m: m == mnc)) & (later["country"] == country)
                    & (later["rate"] != was)]
        firsts.append(hit["taken_at"].iloc[0] if len(hit) else pd.NaT)
    change = [n - o for o, n in zip(both["rate_old"], both["rate_new"])]
    pct = [(c * 100 / o).quantize(Decimal("0.01")) if o else None for c, o in zip(change, both["rate_old"])]
    stake = change if quote is None else _stake(both, change, quote, new)
    names = _operator_names()
    out = pd.DataFrame({
        "country": pd.Series(both["country"].tolist(), dtype="string"),
        "operator": pd.Series([None if n is None else names.get((m, n)) for m, n in zip(both["mcc"], both["mnc"])],
                              dtype="string"),
        "mcc": pd.Series(both["mcc"].tolist(), dtype="string"),
        "mnc": pd.Series(both["mnc"].tolist(), dtype="string"),
        "old": pd.Series(both["rate_old"].tolist(), dtype=object),
        "new": pd.Series(both["rate_new"].tolist(), dtype=object),
        "change": pd.Series(change, dtype=object),
        "change_pct": pd.Series(pct, dtype=object),
        "changed_at": pd.Series(firsts, dtype=object).pipe(pd.to_datetime, utc=True).astype(_UTC),
        "at_stake": pd.Series(stake, dtype=object),
        "currency": pd.Series(both["currency"].tolist(), dtype="string"),
    }, columns=CHANGES_COLUMNS)
    order = sorted(range(len(out)), key=lambda i: (-abs(out["at_stake"].iat[i]), out["country"].iat[i],
                                                  out["mcc"].iat[i], str(out["mnc"].iat[i])))
    out = out.iloc[order].reset_index(drop=True)
    out.attrs["since"] = moment
    return out


# -- re-pricing at another card ---------------------------------------------------------------------

def _row_keys(quote: Any, card: pd.DataFrame) -> tuple[list[tuple[Any, ...]], list[bool]]:
    """Per quote number: the card row the API prices it on (its operator's MCC/MNC row when the
    card has one, else its country's default row), and whether that is the operator row."""
    numbers = quote.numbers
    placed = classify(list(numbers["number"].astype(str)))
    operators = {(m, n) for m, n in zip(card["mcc"], card["mnc"]) if isinstance(n, str)}
    defaults = {str(c).casefold(): (m, None, str(c)) for m, n, c in zip(card["mcc"], card["mnc"], card["country"])
                if not isinstance(n, str)}
    country_of = {(m, n): str(c) for m, n, c in zip(card["mcc"], card["mnc"], card["country"]) if isinstance(n, str)}
    keys, is_operator, missing = [], [], []
    for i, (country, mcc, mnc, op) in enumerate(zip(numbers["country"].astype(object), placed["mcc"].astype(object),
                                                     placed["mnc"].astype(object), placed["operator"].astype(object))):
        if isinstance(op, str) and isinstance(mnc, str) and (mcc, mnc) in operators \
                and str(country).casefold() in defaults:
            keys.append((mcc, mnc, country_of[(mcc, mnc)]))
            is_operator.append(True)
        elif str(country).casefold() in defaults:
            keys.append(defaults[str(country).casefold()])
            is_operator.append(False)
        else:
            missing.append(i)
            keys.append(None)
            is_operator.append(False)
    if missing:
        countries = sorted({str(numbers["country"].iat[i]) for i in missing})
        raise ValidationError(f"the rate card has no rate for {len(missing)} of the quote's numbers "
                              f"(countries {countries}; first {numbers['number'].iat[missing[0]]})",
                              field_errors={"rates": [f"no rate for {', '.join(countries)}"]})
    return keys, is_operator


def with_rates(quote: Any, card: pd.DataFrame) -> Any:
    """``quote`` with each number's ``rate`` (and destination) taken from ``card`` (a
    ``client.rates()``-shaped frame, e.g. ``rates_at(...)``), as the API prices a number: its
    operator's row, else its country's default.  Totals are not recomputed here:
    ``whatif.reprice(..., rates=card)`` does that."""
    # the card's rates as an offline estimate prices them: checked by row, exact 4-place Decimals
    card = checked_rates(card)
    price = {(m, n, str(c)): r for m, n, c, r in zip(card["mcc"], card["mnc"], card["country"], card["rate"])}
    keys, is_operator = _row_keys(quote, card)
    numbers = quote.numbers
    operator = numbers["operator"].where(np.array(is_operator), None)
    destination = [d if op else f"{c} " for d, c, op in zip(numbers["destination"], numbers["country"], is_operator)]
    new = numbers.assign(rate=pd.Series([price[k] for k in keys], index=numbers.index, dtype=object),
                         operator=operator.astype("string"),
                         destination=pd.Series(destination, index=numbers.index, dtype="category"))
    return dataclasses.replace(quote, numbers=new)


def _stake(both: pd.DataFrame, change: list[Decimal], quote: Any, card: pd.DataFrame) -> list[Decimal]:
    """Per changed row: change x the SMS of the quote's numbers priced on it (at the latest card)."""
    keys, _ = _row_keys(quote, card)
    sms: dict[tuple[Any, ...], int] = {}
    for k, s in zip(keys, quote.numbers["sms"].tolist()):
        sms[k] = sms.get(k, 0) + int(s)
    return [c * sms.get((m, n, str(co)), 0) for c, m, n, co in zip(change, both["mcc"], both["mnc"], both["country"])]


def changed_since(source: Any, when: datetime, countries: Any = None) -> pd.DataFrame:
    """The rows (optionally of ``countries``) whose price changed after ``when`` -- the "rates
    changed since your last quote" check of the apps (``rate_changes`` with an instant)."""
    changes = rate_changes(source, since=pd.Timestamp(as_utc(when)))
    if countries is not None:
        wanted = {str(c).casefold() for c in countries}
        changes = changes[changes["country"].str.casefold().isin(wanted)].reset_index(drop=True)
    return changes[changes["changed_at"] > pd.Timestamp(as_utc(when))].reset_index(drop=True)
