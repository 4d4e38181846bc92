"""Offline estimates (and exact-quote audiences) of audiences past one machine, on Dask.

The same per-row kernels as the in-memory path (``offline``), run over Dask partitions on
whatever scheduler is active -- the local default, or a ``distributed.Client`` the user has
open -- then aggregated exactly:

1. **prepare** (each input partition): ``phone.normalize_numbers`` -> digits or the refusal;
   SMS parts per row (``segments`` of the one text, or ``templates.fill_template`` +
   ``segment_counts`` of a ``{column}`` template filled from the row's own columns).  Each
   row gets an order key ``pos`` = (partition number << 40) + position in the partition,
   which sorts exactly as the global input order, and keeps its index ``label`` (the file row
   for ``read_audience`` frames) to be named by.
2. **shuffle** the valid rows by normalised number (a hash shuffle: every copy of a number
   lands in the same partition), then in each partition sort by ``pos``: the first copy is
   the recipient, later ones are duplicates with the first one's label -- exactly the rule
   ``normalize_recipients`` applies in memory, across all partitions.
3. **price** the recipients with ``offline.price_numbers`` (``classify`` + the rates table),
   costs as integer units (rate units x SMS parts, int64 with an overflow check).
4. **aggregate**: per partition, the in-memory estimate's sums of integer units per class
   (``offline.class_groups``: one rate per class, so no per-number money is added); on the
   client, Python-int sums of those per (country, operator, mcc, mnc, basis) (exact,
   unbounded) and one ``money.units_to_money`` per group at the end.  Totals, ``by_country()``,
   ``by_operator()`` and the counts are therefore equal to the in-memory estimate to the
   last digit, on the same data.

Everything is computed in one ``dask.compute`` (the file is read once); the per-number rows
(``.rows``), every unplaced row (``.all_unplaced``) and every duplicate (``.all_duplicates``)
stay lazy Dask DataFrames (computing one runs the pipeline again).  Money in ``.rows`` is an
Arrow ``decimal128(38, 4)`` column: exact in memory and in ``rows.to_parquet(path)``.

>>> est = sa.estimate(sa.read_audience("audience.parquet"), "Sale!", rates=rates)   # doctest: +SKIP
>>> est.totals, est.by_country().head()                                            # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import html
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from ..audience.read import audience_column, audience_format, read_audience
from ..core.display import MAX_LISTED, card, readable, warn
from ..core.money import format_money, units_to_money
from ..text.templates import TemplateError, fill_template, placeholders
from .offline import (
    BASES,
    BASIS_DTYPE,
    UNPLACED_COLUMNS,
    OfflineEstimate,
    Totals,
    empty_text_error,
    message_segments,
    order_summary,
)
from .partitions import (
    GROUP_KEYS,
    HOLE,
    duplicates_partition,
    kept_partition,
    mark_partition,
    prepare_partition,
    price_partition,
    priced_meta,
    rows_partition,
    summarise_partition,
    unplaced_partition,
)
from .rate_table import RateTable

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..audience.recipients import Recipients

SAMPLE_ROWS = 1000  # unplaced and duplicate rows kept in memory (the first ones, in input order)


def is_dask(value: Any) -> bool:
    """A Dask DataFrame or Series (checked without importing dask)."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "map_partitions")


def is_lazy_audience(value: Any) -> bool:
    """A Dask collection, or a path ``read_audience`` reads (by its suffix, or a folder)."""
    return is_dask(value) or audience_format(value) is not None


def resolve(numbers: Any, column: str | None = None) -> tuple["dd.Series", "dd.DataFrame | None", str]:
    """(phone Series, the frame it came from or None, where) for a path, a Dask DataFrame or Series."""
    if not is_dask(numbers):
        where = os.fspath(numbers)
        frame = read_audience(numbers, column)
        phone = audience_column(list(frame.columns), column, where)
        return frame[phone], frame, where
    import dask.dataframe as dd

    if isinstance(numbers, dd.DataFrame):
        phone = audience_column(list(numbers.columns), column, "the Dask DataFrame")
        return numbers[phone], numbers, "the Dask DataFrame"
    if column is not None:
        raise TypeError("column= picks a column of a DataFrame or file; a Dask Series is one column already")
    return numbers, None, "the Dask Series"


# --- the scheduler ---------------------------------------------------------------------------

def active_client() -> Any:
    """The ``distributed.Client`` Dask computes on now, or None (a local scheduler)."""
    if "distributed" not in sys.modules:  # nobody opened a Client: do not import distributed for nothing
        return None
    import dask

    scheduler = dask.base.get_scheduler()
    owner = getattr(scheduler, "__self__", None)
    from distributed import Client

    return owner if isinstance(owner, Client) else None


def compute(*collections: Any, progress: bool = False) -> tuple[Any, ...]:
    """``dask.compute`` on the active scheduler (shared parts computed once), with a progress
    bar on stderr: ``distributed.progress`` on a cluster, dask's ``ProgressBar`` locally."""
    import dask

    client = active_client()
    if client is not None:
        futures = client.compute(list(collections))
        if progress:
            from distributed import progress as show_progress

            with contextlib.redirect_stdout(sys.stderr):  # distributed's text bar writes to stdout
                show_progress(futures, notebook=False, multi=False)
            print(file=sys.stderr)
        return tuple(client.gather(futures))
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar(out=sys.stderr):
            return dask.compute(*collections)
    return dask.compute(*collections)


# --- the estimate (the kernels that run on the workers are in pricing/partitions.py) --------

@dataclass(frozen=True, eq=False)
class DaskEstimate(OfflineEstimate):
    """An ``OfflineEstimate`` of a Dask audience: the summaries are computed, the rows stay lazy.

    ``rows``: Dask DataFrame of ROWS_COLUMNS indexed by ``row`` (money as exact decimal128);
    ``rows.to_parquet(path)`` writes them.  ``unplaced`` / ``duplicates``: the first
    ``sample`` such rows in input order (pandas, columns as in memory); every one of them is
    in ``all_unplaced`` / ``all_duplicates`` (lazy).  ``unplaced_reasons``: DataFrame[reason,
    rows] over all of them.  ``counts``: input rows, recipients, duplicates, invalid, unplaced.
    """

    groups: pd.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]
    unplaced_reasons: pd.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]
    all_unplaced: Any = field(default=None, repr=False)
    all_duplicates: Any = field(default=None, repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    sms: int = 0
    source: str = "offline (dask)"

    @property
    def sms_count(self) -> int:
        """SMS parts over the placed recipients."""
        return self.sms

    @property
    def unplaced_count(self) -> int:
        """Input rows not priced: invalid ones plus valid numbers the table cannot place."""
        return self.counts["invalid"] + self.counts["unplaced"]

    def __repr__(self) -> str:
        t = self.totals
        return (f"DaskEstimate(rows={self.counts['rows']}, numbers={self.counts['numbers']}, "
                f"unplaced={self.unplaced_count}, duplicates={self.counts['duplicates']}, low={t.low}, "
                f"expected={t.expected}, high={t.high}, currency={self.currency!r})")

    def _grouped(self, keys: list[str]) -> pd.DataFrame:
        g = self.groups
        out = g.groupby(keys, observed=True, dropna=False, sort=False).agg(
            numbers=("numbers", "sum"), sms=("sms", "sum"), low=("low", "sum"), expected=("expected", "sum"),
            high=("high", "sum")).reset_index()
        out = out.astype({"numbers": "int64", "sms": "int64"})
        for column in ("low", "expected", "high"):
            out[column] = out[column].astype(object)
        out = order_summary(out, keys)
        for key in keys:  # categories in use only, in the numbering tables' order (as in memory)
            if key != "basis":
                out[key] = out[key].cat.remove_unused_categories()
        return out

    def by_country(self) -> pd.DataFrame:
        """DataFrame[country, numbers, sms, low, expected, high, operator_rate, country_default,
        country_range], biggest first -- the columns and order of the in-memory estimate."""
        out = self._grouped(["country"])
        per_basis: dict[tuple[str, str], int] = {}
        for country, basis, n in zip(self.groups["country"].tolist(), self.groups["basis"].tolist(),
                                     self.groups["numbers"].tolist()):
            per_basis[(country, basis)] = per_basis.get((country, basis), 0) + int(n)
        countries = out["country"].tolist()
        for basis in BASES[:3]:
            out[basis.replace(" ", "_")] = pd.Series([per_basis.get((c, basis), 0) for c in countries], dtype="int64")
        return out

    def by_operator(self) -> pd.DataFrame:
        """DataFrame[country, operator, mcc, mnc, basis, numbers, sms, low, expected, high], biggest first."""
        return self._grouped(GROUP_KEYS)

    def _repr_html_(self) -> str:
        cur = html.escape(self.currency or "")
        t = self.totals
        c = self.counts
        lines = [
            ("Input rows", f"{c['rows']:,}"),
            ("Recipients (unique valid numbers)", f"{c['numbers']:,}"),
            ("SMS parts (placed)", f"{self.sms_count:,}"),
            ("Low", format_money(t.low, cur)),
            ("<b>Expected</b>", f"<b>{format_money(t.expected, cur)}</b>"),
            ("High", format_money(t.high, cur)),
        ]
        if c["duplicates"]:
            lines.append(("Duplicates merged", f"{c['duplicates']:,}"))
        if self.unplaced_count:
            lines.append((warn("Not priced"), warn(f"{self.unplaced_count:,} (see <code>.unplaced_reasons</code>, "
                                                   f"<code>.unplaced</code>)")))
        return card("Offline estimate", lines, note=" (Dask, from a rates table, not an API quote)",
                    table=readable(self.by_country().head(10), self.currency), table_title="Top countries")


def _sms_plan(message: Any, frame: "dd.DataFrame", where: str) -> tuple[str | None, int | None]:
    """(template, None) for a ``{column}`` template over the frame's columns, else (None, parts)."""
    if message is None:  # the exact quote's audience: no SMS parts needed
        return None, 0
    if not isinstance(message, str):
        raise TypeError("with a Dask audience, message is one text or a '{column}' template filled from the "
                        "audience's own columns (not one text per row)")
    if "{" not in message and "}" not in message:
        return None, message_segments(message)
    names = placeholders(message)
    if not names:  # only {{ }} escapes: one text
        return None, message_segments(fill_template(message, pd.DataFrame(index=[0])).iloc[0])
    columns = list(frame.columns)
    missing = [n for n in names if n not in columns]
    if missing:
        listed = ", ".join(f"{{{m}}}" for m in missing)
        raise TemplateError(f"template placeholder(s) {listed} have no column in {where} (columns: "
                            f"{', '.join(map(str, columns))}); write {{{{ and }}}} for literal braces")
    return message, None


def _prepared(series: "dd.Series", frame: "dd.DataFrame | None", message: Any, where: str,
              default_region: str | None) -> tuple["dd.DataFrame", str | None]:
    """The prepare kernel over the audience's partitions, and the template (None: one text)."""
    phone = series.name if series.name is not None else "__phone__"
    if frame is None:
        frame = series.to_frame(name=phone)
    template, sms = _sms_plan(message, frame, where)
    # only the columns the kernel reads: a wide customer file is not carried along
    source = frame[list(dict.fromkeys([phone] + (placeholders(template) if template else [])))]
    meta = prepare_partition(source._meta, phone, template, sms, default_region, {"number": 0})
    return source.map_partitions(prepare_partition, phone, template, sms, default_region, meta=meta,
                                 enforce_metadata=False), template


def _shuffled(prepared: "dd.DataFrame", npartitions: int | None) -> "dd.DataFrame":
    """Every row hash-shuffled by its key (all copies of a number in one partition), marked."""
    shuffled = prepared.shuffle("bucket", npartitions=npartitions or prepared.npartitions)
    return shuffled.map_partitions(mark_partition, meta=mark_partition(shuffled._meta))


def _category_orders() -> dict[str, list[str]]:
    """Each key's categories in the numbering tables' order: the order the in-memory
    summaries sort equal costs in (classify's categoricals keep that order)."""
    from ..numbers.tables import load_tables

    t = load_tables()
    return {"country": list(dict.fromkeys(t.country_names)), "operator": list(dict.fromkeys(t.operators)),
            "mcc": list(dict.fromkeys(t.mccs)), "mnc": list(dict.fromkeys(t.mncs))}


def _merge_groups(parts: pd.DataFrame, orders: dict[str, list[str]]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Partition group sums -> (one row per group, money as exact Decimal, keys categorical in
    ``orders``; the total units of low / expected / high as Python ints)."""
    if parts.empty:
        frame = pd.DataFrame({k: pd.Categorical([], categories=orders[k]) for k in GROUP_KEYS[:-1]})
        frame["basis"] = pd.Categorical([], dtype=BASIS_DTYPE)
        for c in ("numbers", "sms"):
            frame[c] = pd.Series([], dtype="int64")
        for c in ("low", "expected", "high"):
            frame[c] = pd.Series([], dtype=object)
        return frame, {"low": 0, "expected": 0, "high": 0}
    keys = parts[GROUP_KEYS].astype(object).where(parts[GROUP_KEYS].notna(), None)
    sums: dict[tuple[Any, ...], list[int]] = {}
    for key, numbers, sms, low, expected, high in zip(keys.itertuples(index=False, name=None),
                                                       parts["numbers"].tolist(), parts["sms"].tolist(),
                                                       parts["low"].tolist(), parts["expected"].tolist(),
                                                       parts["high"].tolist()):
        acc = sums.setdefault(key, [0, 0, 0, 0, 0])
        acc[0] += int(numbers)
        acc[1] += int(sms)
        acc[2] += int(low)
        acc[3] += int(expected)
        acc[4] += int(high)
    rows = list(sums.items())
    frame = pd.DataFrame({k: pd.Categorical([key[i] for key, _ in rows], categories=orders[k])
                          for i, k in enumerate(GROUP_KEYS[:-1])})
    for i, k in enumerate(GROUP_KEYS[:-1]):  # classify only writes names its tables hold
        lost = frame[k].isna().to_numpy() & np.array([key[i] is not None for key, _ in rows], dtype=bool)
        if lost.any():
            raise RuntimeError(f"{k} {rows[int(np.flatnonzero(lost)[0])][0][i]!r} is not in the numbering tables")
    frame["basis"] = pd.Categorical.from_codes([int(key[4]) for key, _ in rows], dtype=BASIS_DTYPE)
    frame["numbers"] = pd.Series([acc[0] for _, acc in rows], dtype="int64")
    frame["sms"] = pd.Series([acc[1] for _, acc in rows], dtype="int64")
    for j, c in enumerate(("low", "expected", "high")):
        frame[c] = pd.Series([units_to_money(acc[2 + j]) for _, acc in rows], dtype=object)
    return frame, {c: sum(acc[2 + j] for _, acc in rows) for j, c in enumerate(("low", "expected", "high"))}


def _reasons(*parts: pd.DataFrame) -> pd.DataFrame:
    counts: dict[str, int] = {}
    for part in parts:
        for reason, n in zip(part["reason"].tolist(), part["rows"].tolist()):
            counts[reason] = counts.get(reason, 0) + int(n)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return pd.DataFrame({"reason": pd.Series([r for r, _ in ordered], dtype="string"),
                         "rows": pd.Series([n for _, n in ordered], dtype="int64")})


def _sample(frames: Iterable[pd.DataFrame], k: int | None, columns: list[str]) -> pd.DataFrame:
    """The first ``k`` rows in input order of the partitions' candidates (the ``pos`` column dropped)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype=object if c in ("index", "first_index") else "string")
                             for c in columns})
    every = pd.concat(frames, ignore_index=True).sort_values("pos", kind="stable")
    if k is not None:
        every = every.head(k)
    out = every[columns].reset_index(drop=True)
    for c in ("index", "first_index"):
        if c in out.columns:
            out[c] = out[c].astype(object)
    return out


def _check_texts(problems: pd.DataFrame, count: int, template: str | None) -> None:
    """Recipients whose template could not be filled or whose text is empty: the in-memory errors."""
    if not count:
        return
    holes = problems[problems["sms"] == HOLE]
    if len(holes):
        names = ", ".join(f"{{{n}}}" for n in placeholders(template or ""))
        labels = holes["label"].tolist()
        more = f" and {count - len(labels[:MAX_LISTED])} more" if count > MAX_LISTED else ""
        raise TemplateError(f"template placeholder(s) {names}: a value is missing in data rows "
                            f"{labels[:MAX_LISTED]}{more}")
    raise empty_text_error(count, problems["number"].tolist())


def dask_estimate(numbers: Any, message: str, rates: pd.DataFrame | RateTable, *, column: str | None = None,
                  default_region: str | None = None, progress: bool = True, sample: int | None = SAMPLE_ROWS,
                  keep_unplaced: bool = False, npartitions: int | None = None) -> DaskEstimate:
    """Price ``message`` to a Dask audience (a path, a Dask DataFrame with ``column``, or a Dask
    Series) from ``rates``: the in-memory ``offline_estimate``, out of core (module docstring).

    ``message``: one text, or a ``{column}`` template filled from the audience's columns.
    ``sample``: unplaced / duplicate rows kept in memory (the first in input order; None: all);
    ``keep_unplaced=True`` keeps every unplaced row whatever ``sample`` says (the command line
    writes them all, from the same pass over the data).
    ``npartitions``: partitions of the shuffle by number (default: as many as the input).

    >>> est = dask_estimate("audience.parquet", "Hi {first_name}!", rates, column="phone")  # doctest: +SKIP
    """
    import dask
    import dask.dataframe as dd

    table = rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)
    series, frame, where = resolve(numbers, column)
    prepared, template = _prepared(series, frame, message, where, default_region)
    marked = _shuffled(prepared, npartitions)
    unplaced_sample = None if keep_unplaced else sample
    summarise = dask.delayed(summarise_partition, pure=True)
    summaries = [summarise(part, table, sample, unplaced_sample) for part in marked.to_delayed()]
    # the numbering tables' category orders come from a worker: the client never loads the tables
    *summaries, orders = compute(*summaries, dask.delayed(_category_orders, pure=True)(), progress=progress)
    problems = [s.problems_first for s in summaries if len(s.problems_first)]
    n_problems = sum(s.problems for s in summaries)
    if n_problems:
        _check_texts(pd.concat(problems).sort_values("pos"), n_problems, template)
    merged, units = _merge_groups(pd.concat([s.groups for s in summaries], ignore_index=True), orders)
    invalid_reasons = _reasons(*(s.invalid_reasons for s in summaries))
    unplaced_reasons = _reasons(*(s.unplaced_reasons for s in summaries))
    n_invalid, n_unplaced = int(invalid_reasons["rows"].sum()), int(unplaced_reasons["rows"].sum())
    # the lazy frames: computing one runs the pipeline again
    priced = marked.map_partitions(price_partition, table, meta=priced_meta(marked._meta), enforce_metadata=False)
    invalid = marked[marked["reason"].notnull()]
    unplaced_valid = priced[priced["basis"] == 3]
    public = UNPLACED_COLUMNS
    all_unplaced = dd.concat([invalid.map_partitions(unplaced_partition, meta=unplaced_partition(invalid._meta)),
                              unplaced_valid.map_partitions(unplaced_partition,
                                                            meta=unplaced_partition(unplaced_valid._meta))])[public]
    dups = marked.map_partitions(duplicates_partition, meta=duplicates_partition(marked._meta))
    n_rows = sum(s.rows for s in summaries)
    n_numbers = sum(s.numbers for s in summaries)
    n_dups = sum(s.duplicates for s in summaries)
    rows = priced.map_partitions(rows_partition, meta=rows_partition(priced._meta))
    return DaskEstimate(
        message=message,
        rows=rows,
        unplaced=_sample([x.unplaced_first for x in summaries], unplaced_sample, public),
        duplicates=_sample([x.duplicates_first for x in summaries], sample, ["index", "value", "number", "first_index"]),
        totals=Totals(*(units_to_money(units[k]) for k in ("low", "expected", "high"))),
        currency=table.currency,
        groups=merged,
        unplaced_reasons=_reasons(invalid_reasons, unplaced_reasons),
        all_unplaced=all_unplaced,
        all_duplicates=dups[["index", "value", "number", "first_index"]],
        counts={"rows": int(n_rows), "numbers": int(n_numbers), "duplicates": int(n_dups),
                "invalid": n_invalid, "unplaced": n_unplaced},
        sms=int(merged["sms"].sum()) if len(merged) else 0,
    )


# --- exact quotes: the audience, de-duplicated across partitions ---------------------------

def _recipients_partition(part: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A marked partition -> (recipients [pos, number], duplicates, refused rows [pos, label, value, reason])."""
    return (kept_partition(part)[["pos", "number"]], duplicates_partition(part),
            part[part["reason"].notna().to_numpy(bool)][["pos", "label", "value", "reason"]])


def dask_recipients(values: Any, *, column: str | None = None, default_region: str | None = None,
                    progress: bool = True) -> "Recipients":
    """``normalize_recipients`` of a Dask audience (``on_invalid="report"``): the unique valid
    numbers in first-seen order (held in memory: they are what the API is asked to price),
    every invalid row and every duplicate -- found across partitions, never from the raw frame
    held whole.  Planning chunks over ``numbers`` gives the in-memory path's chunks exactly."""
    import dask

    from ..audience.recipients import Recipients

    series, _, where = resolve(values, column)
    prepared, _ = _prepared(series, None, None, where, default_region)
    split = dask.delayed(_recipients_partition, pure=True, nout=3)
    pieces = [split(part) for part in _shuffled(prepared, None).to_delayed()]
    done = compute(*pieces, progress=progress)
    kept_frame, dup_frame, invalid_frame = (pd.concat([p[i] for p in done], ignore_index=True) for i in range(3))
    n_rows = len(kept_frame) + len(dup_frame) + len(invalid_frame)
    kept_frame = kept_frame.sort_values("pos", kind="stable")
    invalid_frame = invalid_frame.sort_values("pos", kind="stable")
    dup_frame = dup_frame.sort_values("pos", kind="stable")
    return Recipients.of(
        kept_frame["number"].tolist(),
        invalid=pd.DataFrame({"index": pd.Series(invalid_frame["label"].tolist(), dtype=object),
                              "value": pd.Series(invalid_frame["value"].astype(object).tolist(), dtype=object),
                              "reason": pd.Series(invalid_frame["reason"].tolist(), dtype="string")}),
        duplicates=pd.DataFrame({"index": pd.Series(dup_frame["index"].tolist(), dtype=object),
                                 "value": pd.Series(dup_frame["value"].astype(object).tolist(), dtype=object),
                                 "number": pd.Series(dup_frame["number"].tolist(), dtype="string"),
                                 "first_index": pd.Series(dup_frame["first_index"].tolist(), dtype=object)}),
        total=int(n_rows),
    )
