"""Small pieces the apps share: the display protocol, CSS classes, figures, tables, input parsing.

Figures are shown as plotly's own mime bundle (``application/vnd.plotly.v1+json``) inside an
``ipywidgets.Output``.  Why: plotly >= 6's ``FigureWidget`` needs ``anywidget`` (not a
dependency here), an ``ipywidgets.HTML`` never runs the ``<script>`` a plotly HTML export
needs, and ``include_plotlyjs="cdn"`` needs the network.  The ``jupyterlab-plotly`` mime
renderer ships inside the plotly wheel with plotly.js bundled, and both JupyterLab and Voilà
(>= 0.5 loads federated mime extensions) render the bundle offline.  Setting
``Output.outputs`` directly (instead of ``with output: display(...)``) also works with no
kernel, so tests and scripts can drive the apps.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable, Mapping

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..audience.columns import guess_phone_column  # noqa: F401  (re-exported: the apps import it from here)
from ..audience.tidy import read_sheet
from ..core import errors
from ..core.dates import format_instant
from ..core.display import PERCENT, money_columns, prepare

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_SPLIT = re.compile(r"[\n,;\t]+")
TABLE_STYLE = "max-height:22em;overflow:auto;max-width:100%"
# Cells are padded: in an ipywidgets HTML output no notebook stylesheet separates the columns.
_CELL = "padding:2px 10px;line-height:1.3"
TEXT_CELL_CHARS = 32  # longer text is cut to TEXT_CELL_MAX with an ellipsis; the title shows it whole
TEXT_CELL_MAX = "16em"


class App:
    """Base of the apps: ``.widget`` is the container; displaying the app displays it."""

    widget: w.Widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def tag(widget: w.Widget, app: str, role: str) -> w.Widget:
    """Give ``widget`` the stable CSS class ``smsgic-<app>-<role>`` (browser tests select by it)."""
    widget.add_class(f"smsgic-{app}-{role}")
    return widget


def table_html(**layout: Any) -> w.HTML:
    """An HTML widget for a table: never wider than its app (a wide table scrolls inside it)."""
    return w.HTML(layout=w.Layout(min_width="0", max_width="100%", overflow="auto", **layout))


def figure_bundle(fig: go.Figure) -> dict[str, Any]:
    """The display_data output plotly's mime renderer draws (plain JSON: no numpy, no Decimal)."""
    spec = json.loads(pio.to_json(fig, validate=False))
    title = (fig.layout.title.text or "plotly figure") if fig.layout.title else "plotly figure"
    return {
        "output_type": "display_data",
        "data": {PLOTLY_MIME: {"data": spec.get("data", []), "layout": spec.get("layout", {}),
                               "config": {"displaylogo": False, "responsive": True}},
                 "text/plain": f"<Figure: {title}>"},
        "metadata": {},
    }


def show_figure(output: w.Output, fig: go.Figure | None) -> None:
    """Replace what ``output`` shows with ``fig`` (nothing when None)."""
    output.outputs = (figure_bundle(fig),) if fig is not None else ()


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return format_instant(value)
    return str(value)


def _text_cell(text: str) -> str:
    """A text cell: one line, cut with an ellipsis past ``TEXT_CELL_MAX``, the whole text on hover."""
    escaped = html.escape(text)
    if len(text) <= TEXT_CELL_CHARS:
        return escaped
    return (f"<span title='{escaped}' style='display:inline-block;max-width:{TEXT_CELL_MAX};overflow:hidden;"
            f"text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom'>{escaped}</span>")


def frame_html(df: pd.DataFrame | None, empty: str = "Nothing to show.", max_rows: int = 500,
               percent: Iterable[str] = PERCENT, currency: str | None = None, money_first: bool = False) -> str:
    """An HTML table of ``df`` for reading (``tables.readable``: money with 4 decimals and the
    currency once, in its header; ``percent`` columns as %), padded columns, scrollable inside
    a box at most 22em tall; long text cut with an ellipsis (the whole text on hover).
    ``money_first``: the money columns lead (they stay in view in a narrow panel).

    Rows past ``max_rows`` are not drawn and a line says how many (the data stays on the app).
    """
    if df is None or len(df) == 0:
        return f"<p><i>{html.escape(empty)}</i></p>"
    if money_first:
        money = money_columns(df)
        df = df[[*money, *(c for c in df.columns if c not in money)]]
    shown, numeric = prepare(df.head(max_rows), currency, percent)
    head = "".join(f"<th style='{_CELL};text-align:{'right' if c in numeric else 'left'};"
                   f"border-bottom:1px solid #9ca3af;position:sticky;top:0;background:inherit'>"
                   f"{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = [f"<td style='{_CELL};text-align:right;white-space:nowrap'>{html.escape(_cell(value))}</td>"
                 if col in numeric else f"<td style='{_CELL};text-align:left'>{_text_cell(_cell(value))}</td>"
                 for col, value in zip(shown.columns, record)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p><i>{len(df) - max_rows:,} more row(s) not drawn; the download has them all</i></p>"
            if len(df) > max_rows else "")
    return (f"<div style='{TABLE_STYLE}'><table class='smsgic-table' style='border-collapse:collapse'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{more}")


def error_text(exc: BaseException) -> str:
    """``ClassName: message`` -- the specific class tells the analyst which rule was broken."""
    return f"{type(exc).__name__}: {exc}"


# What each refusal is, in words (most specific class first); the class name stays on hover for support.
HEADINGS = (
    (errors.InsufficientBalanceError, "Balance too low"),
    (errors.InvalidRecipientsError, "Some recipients are not phone numbers"),
    (errors.ValidationError, "Please check the input"),
    (errors.AuthenticationError, "The API refused this account's token"),
    (errors.DuplicateSendError, "Already sent"),
    (errors.RateLimitError, "The API asks to slow down"),
    (errors.APIConnectionError, "The API could not be reached"),
    (errors.ServerError, "The API answered with an error"),
    (errors.SMSgicError, "Refused"),
)
ERROR_TEXT_MAX = 600  # characters of an error message shown; the rest is in the download or on the app


def error_heading(exc: BaseException) -> str:
    """What went wrong in words: "Balance too low", "Please check the input", ... ("Error" otherwise)."""
    return next((words for cls, words in HEADINGS if isinstance(exc, cls)), "Error")


def error_html(exc: BaseException) -> str:
    """An error for people: a heading in words and the message (cut to ``ERROR_TEXT_MAX``)."""
    text = str(exc)
    if len(text) > ERROR_TEXT_MAX:
        text = text[:ERROR_TEXT_MAX - 1] + "…"
    return (f"<span style='color:#b91c1c' title='{html.escape(type(exc).__name__)}'>"
            f"<b>{html.escape(error_heading(exc))}</b>: {html.escape(text)}</span>")


def note_html(text: str, color: str = "#374151") -> str:
    return f"<span style='color:{color}'>{html.escape(text)}</span>"


def parse_numbers(text: str) -> pd.Series:
    """Numbers pasted one per line or separated by commas/semicolons/tabs, as text.

    The index is the 1-based entry number, so an invalid entry can be named; blank entries
    (empty lines, ``a,,b``) hold no data and are skipped.
    """
    entries = [e.strip() for e in _SPLIT.split(text or "")]
    entries = [e for e in entries if e]
    return pd.Series(entries, index=range(1, len(entries) + 1), dtype=object)


def read_table(name: str, content: bytes) -> pd.DataFrame:
    """A CSV or XLSX upload as a DataFrame whose index is the spreadsheet row (header = row 1).

    ``audience.tidy.read_sheet``: the delimiter and encoding are detected; CSV cells stay text
    (leading zeros kept); XLSX cells keep their type.
    """
    return read_sheet(name, content).frame


def upload_files(value: Any) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file in a ``FileUpload.value`` (ipywidgets 8: a tuple of dicts)."""
    items: Iterable[Any] = value.values() if isinstance(value, Mapping) else value or ()
    out = []
    for item in items:
        content = item["content"]
        out.append((str(item["name"]), content.tobytes() if isinstance(content, memoryview) else bytes(content)))
    return out
