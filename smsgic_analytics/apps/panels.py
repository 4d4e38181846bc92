"""Pieces the estimator, sender and rates apps share for people, not Python: exports, bounded
problem boxes, warnings to acknowledge, the send-at picker, a message with its part breaks.

Exports are ``data:`` links (``<a download>``): the browser saves the file itself, so they work
offline, in JupyterLab and in Voilà, with no kernel round trip.  XLSX needs openpyxl (a
dependency); money stays exact (Decimal cells are written as numbers by openpyxl, and as
their text in CSV).
"""
from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo, available_timezones

import ipywidgets as w
import pandas as pd

from ..numbers import normalize as rules
from ..sending.risks import Risk
from ..text.segments import part_breaks
from .widgets import frame_html, tag

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOX_MAX_HEIGHT = "600px"  # an error or warning box never grows past this: it scrolls inside
FIRST_ROWS = 20


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a spreadsheet takes it: aware times in UTC without a zone, categories as text."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif isinstance(series.dtype, pd.CategoricalDtype):
            out[column] = series.astype(object)
    return out


def export_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """``frame`` as a CSV (UTF-8 with a BOM: Excel opens it with its accents) or XLSX file."""
    plain = _plain(frame)
    if fmt == "csv":
        return plain.to_csv(index=False).encode("utf-8-sig")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        plain.to_excel(buffer, index=False, engine="openpyxl")
        return buffer.getvalue()
    raise ValueError(f"export format must be 'csv' or 'xlsx', not {fmt!r}")


def export_links(frame: pd.DataFrame | None, stem: str, label: str = "Download") -> str:
    """HTML links that save ``frame`` as ``stem.csv`` / ``stem.xlsx``; "" for an empty frame."""
    if frame is None or len(frame) == 0:
        return ""
    links = []
    for fmt, mime in (("csv", "text/csv"), ("xlsx", XLSX_MIME)):
        data = base64.b64encode(export_bytes(frame, fmt)).decode("ascii")
        links.append(f"<a class='smsgic-export smsgic-export-{fmt}' download='{html.escape(stem)}.{fmt}' "
                     f"href='data:{mime};base64,{data}' style='margin-right:0.8em'>{fmt.upper()}</a>")
    return (f"<div class='smsgic-exports' style='font-size:90%;margin:2px 0'>{html.escape(label)} "
            f"({len(frame):,} row{'s' if len(frame) != 1 else ''}): {''.join(links)}</div>")


def bounded_html(role_app: str, role: str, **layout: Any) -> w.HTML:
    """An HTML box at most ``BOX_MAX_HEIGHT`` tall that scrolls inside (hidden while empty)."""
    box = w.HTML(layout=w.Layout(display="none", max_height=BOX_MAX_HEIGHT, overflow="auto", min_width="0",
                                 max_width="100%", **layout))
    return tag(box, role_app, role)


def show_html(box: w.HTML, value: str) -> None:
    """Set ``box``'s HTML; hide it when there is nothing to say."""
    box.value = value
    box.layout.display = "" if value else "none"


def in_words(reason: str) -> str:
    """A refusal reason as an app user can act on it: the normaliser's advice to scripts
    (``pd.read_csv(dtype=str)``, ``default_region=``) becomes what to press in the app."""
    tidy = "press Tidy above to use its digits"
    words = {
        rules.FLOAT_TEXT: f"written as a number with .0 or an exponent, not as a phone number; {tidy}",
        rules.FLOAT_VALUE: f"stored as a number with decimals, so digits may be lost; {tidy}",
        rules.NATIONAL: ("starts with 0: a national number without its country code; pick its country under "
                         "“National numbers from” and press Tidy"),
        rules.INTEGER_VALUE: ("stored as a whole number whose digits are not a valid international number "
                              "(a leading 0 or + was lost); save the column as text in the spreadsheet"),
    }
    return words.get(str(reason), str(reason))


def problems_html(rows: pd.DataFrame, title: str, stem: str, *, reason: str = "reason") -> str:
    """Refused rows for people: a title, counts by reason, the first rows, a link to download all.

    ``rows`` is DataFrame[row, value, reason, ...] (the app names the columns); never a traceback.
    """
    if rows is None or len(rows) == 0:
        return ""
    rows = rows.assign(**{reason: rows[reason].astype(str).map(in_words)})
    counts = rows.groupby(reason, sort=False).size().sort_values(ascending=False, kind="stable")
    items = "".join(f"<li><b>{n:,}</b> × {html.escape(str(why))}</li>" for why, n in counts.items())
    first = frame_html(rows.head(FIRST_ROWS), max_rows=FIRST_ROWS)
    more = (f"<p style='margin:2px 0'><i>The first {FIRST_ROWS} of {len(rows):,} rows.</i></p>"
            if len(rows) > FIRST_ROWS else "")
    return (f"<div style='color:#92400e'><b>{html.escape(title)}</b></div>"
            f"<ul style='margin:2px 0 4px 1.2em;padding:0'>{items}</ul>"
            f"{export_links(rows, stem, 'Download all')}{first}{more}")


class RiskChecks:
    """One checkbox per ``Risk``: ``acknowledged`` is True when every box is ticked (or there
    is no risk).  ``on_change`` is called after a tick or a new list."""

    def __init__(self, app: str, on_change: Callable[[], None]) -> None:
        self._risks: list[Risk] = []
        self._checks: list[w.Checkbox] = []
        self._on_change = on_change
        self.title = w.HTML()
        self.box = w.VBox([], layout=w.Layout(min_width="0"))
        self.widget = tag(w.VBox([self.title, self.box], layout=w.Layout(
            display="none", border="2px solid #f59e0b", padding="4px", max_height=BOX_MAX_HEIGHT,
            overflow="auto", min_width="0")), app, "warnings")

    @property
    def risks(self) -> list[Risk]:
        return list(self._risks)

    @property
    def checks(self) -> list[w.Checkbox]:
        """The checkboxes, one per risk, in order."""
        return list(self._checks)

    @property
    def acknowledged(self) -> bool:
        return all(c.value for c in self._checks)

    def acknowledge(self, keys: Sequence[str] | None = None) -> None:
        """Tick the boxes of these risks (all when None): what a person does by clicking them."""
        for risk, check in zip(self._risks, self._checks):
            if keys is None or risk.key in keys:
                check.value = True

    def set(self, risks: Sequence[Risk]) -> None:
        """Show these risks, every box unticked (a new price is a new decision)."""
        self._risks = list(risks)
        checks, rows = [], []
        for risk in self._risks:
            # The text wraps in an HTML beside the box (a checkbox's own description is one cut line).
            check = w.Checkbox(value=False, description="", indent=False, layout=w.Layout(width="2em", flex="none"))
            check.add_class(f"smsgic-warning-{risk.key}")
            check.observe(lambda _: self._on_change(), "value")
            checks.append(check)
            rows.append(w.HBox([check, w.HTML(html.escape(risk.text), layout=w.Layout(min_width="0", flex="1 1 auto"))],
                               layout=w.Layout(min_width="0", align_items="flex-start")))
        self._checks = checks
        self.box.children = rows
        self.title.value = (f"<b style='color:#92400e'>Check before sending ({len(checks)}): tick each to enable "
                            "Send</b>" if checks else "")
        self.widget.layout.display = "" if checks else "none"
        self._on_change()


def timezone_options() -> list[str]:
    """Every IANA time zone, UTC first."""
    return ["UTC", *sorted(z for z in available_timezones() if z != "UTC" and "/" in z)]


class SendAt:
    """A date-time picker and a time zone: ``value`` is an aware datetime, or None for now."""

    def __init__(self, app: str) -> None:
        self.picker = tag(w.NaiveDatetimePicker(description="Send at", layout=w.Layout(width="auto")),
                          app, "schedule")
        self.zone = tag(w.Dropdown(options=timezone_options(), value="UTC", description="Time zone",
                                   layout=w.Layout(width="auto", max_width="100%")), app, "timezone")
        self.widget = w.HBox([self.picker, self.zone], layout=w.Layout(flex_flow="row wrap", min_width="0"))

    @property
    def value(self) -> datetime | None:
        when = self.picker.value
        if when is None:
            return None
        zone = UTC if self.zone.value == "UTC" else ZoneInfo(self.zone.value)
        return when.replace(tzinfo=zone)

    def set(self, when: datetime | None, zone: str = "UTC") -> None:
        """Pick ``when`` (a naive wall time) in ``zone``; None means send now."""
        self.zone.value = zone
        self.picker.value = when.replace(tzinfo=None) if when is not None else None


def parts_html(text: str) -> str:
    """``text`` with a marker where each SMS part after the first starts ("│2"), bounded."""
    breaks = part_breaks(text) if text else []
    if not breaks:
        return ""
    pieces, start = [], 0
    for number, end in enumerate([*breaks, len(text)], start=1):
        if number > 1:
            pieces.append(f"<span class='smsgic-part-break' title='part {number} starts here' "
                          f"style='background:#fde68a;color:#92400e;font-weight:bold;padding:0 2px'>│{number}</span>")
        pieces.append(html.escape(text[start:end]))
        start = end
    return (f"<div style='font-size:90%;color:#374151'>{len(breaks) + 1} parts; "
            "each <b>│n</b> marks where part n starts:</div>"
            f"<div style='white-space:pre-wrap;word-break:break-word;max-height:8em;overflow:auto;"
            f"border:1px dashed #d1d5db;padding:2px 4px'>{''.join(pieces)}</div>")
