"""``CopyLab``: message variants side by side, priced on one real audience.

Each variant is a text or a ``{column}`` template filled per recipient.  The lab shows
``compare_copies``'s table (encoding, parts per recipient, SMS, cost, the characters that force
UCS-2 with their code points, the smart-encoded rewrite and what it saves on this audience), a
bar chart of the costs (a plotly Figure, ``.figure``), and per variant its text with every UCS-2
culprit highlighted in place and a numbered marker where each SMS part begins.  **Apply rewrite**
puts a variant's smart-encoded rewrite in the lab and in the sender app (``SenderApp.set_message``).

Pricing: a rates table (``rates=``, the offline expected cost), or an API quote of the audience
(``quote=``, or made once with ``client.calculate`` when only ``client`` is given) re-priced for
every variant with no further API call -- then each total is what ``calculate`` answers for it.

>>> lab = CopyLab(audience, ["Hi {first_name}, it’s on!", "Sale today"], client=client, sender=sender)  # doctest: +SKIP
>>> lab.comparison[["variant", "cost", "rewrite_saves"]]                                               # doctest: +SKIP
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Sequence

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from ..analytics import charts
from ..core.errors import SMSgicError
from ..core.money import format_money
from ..numbers.normalize import numbers_series
from ..pricing.audit import phone_column
from ..pricing.copies import CopyComparison, compare_copies
from ..pricing.quote import Quote
from ..text.breaks import marked_html
from ..text.templates import TemplateError, fill_template, placeholders
from .widgets import App, error_html, frame_html, note_html, show_figure, table_html, tag

if TYPE_CHECKING:
    from ..client import Client
    from .sender import SenderApp

NAME = "copylab"
PRICE_TEXT = "Copy lab"  # the text of the one quote made for the per-number rates: any 1-part text
SHOWN = ["variant", "encoding", "segments_min", "segments_max", "sms", "cost", "ucs2_chars", "rewrite_sms",
         "rewrite_cost", "rewrite_saves", "cheapest"]


def _label(i: int, text: str, width: int = 40) -> str:
    return f"V{i + 1}: " + (text if len(text) <= width else text[:width - 1] + "…")


class CopyLab(App):
    """Variants in, a side-by-side comparison out (see the module docstring).

    ``audience``: a DataFrame (phone column found by name, or ``phone=``; templates fill from its
    columns), a Series or a list of numbers.  Methods ``compare()``, ``set_variants(list)``,
    ``add_variant(text)``, ``apply_rewrite(i)`` do what the controls do.  Properties:
    ``variants``, ``comparison`` (the ``CopyComparison``), ``figure`` (plotly), ``error``.
    """

    def __init__(self, audience: Any, variants: Sequence[str] = (), *, client: "Client | None" = None,
                 rates: pd.DataFrame | None = None, quote: Quote | None = None, sender: "SenderApp | None" = None,
                 phone: Any = None, default_region: str | None = None) -> None:
        if isinstance(audience, pd.DataFrame):
            self.audience = audience
        else:
            series = numbers_series(audience)  # one str is one number; a mapping is refused
            self.audience = pd.DataFrame({"phone": series.astype(object)})
            phone = "phone"
        self.phone = phone_column(self.audience, phone)
        self.client, self.sender, self.default_region = client, sender, default_region
        self._rates, self._quote = rates, quote
        self.error: BaseException | None = None
        self._comparison: CopyComparison | None = None
        self._figure: go.Figure | None = None
        self._build()
        self.set_variants(list(variants) or [""])

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.variants_box = tag(w.VBox([]), NAME, "variants")
        self.add_button = tag(w.Button(description="Add variant", icon="plus", layout=w.Layout(width="auto")),
                              NAME, "add")
        self.compare_button = tag(w.Button(description="Compare", icon="balance-scale", button_style="primary",
                                           layout=w.Layout(width="auto")), NAME, "compare")
        self.status = tag(w.HTML(), NAME, "status")
        self.table_view = tag(table_html(), NAME, "table")
        self.chart = tag(w.Output(), NAME, "chart")
        self.details = tag(w.VBox([]), NAME, "details")
        self.widget = tag(w.VBox([
            self.variants_box,
            w.HBox([self.add_button, self.compare_button, self.status], layout=w.Layout(flex_flow="row wrap")),
            self.table_view, self.chart, self.details,
        ]), NAME, "app")
        self.add_button.on_click(lambda _: self.add_variant(""))
        self.compare_button.on_click(lambda _: self.compare())

    def _variant_input(self, text: str) -> w.Textarea:
        box = tag(w.Textarea(value=text, placeholder="Message text or template, e.g. Hi {first_name}!",
                             continuous_update=False, layout=w.Layout(width="95%", height="4.5em")), NAME, "variant")
        box.observe(lambda _: self.compare(), "value")
        return box

    # -- public methods ----------------------------------------------------------------------

    @property
    def variants(self) -> list[str]:
        return [box.value for box in self.variants_box.children]

    @property
    def comparison(self) -> CopyComparison | None:
        return self._comparison

    @property
    def figure(self) -> go.Figure | None:
        return self._figure

    def set_variants(self, variants: Sequence[str]) -> CopyComparison | None:
        """Replace the variants and compare them."""
        if isinstance(variants, str):
            raise TypeError("set_variants() needs a list of texts, not one str")
        self.variants_box.children = tuple(self._variant_input(v) for v in variants)
        for i, box in enumerate(self.variants_box.children):
            box.description = f"V{i + 1}"
        return self.compare()

    def add_variant(self, text: str = "") -> CopyComparison | None:
        return self.set_variants([*self.variants, text])

    def apply_rewrite(self, i: int) -> str:
        """Put variant ``i``'s (0-based) smart-encoded rewrite in the lab and in the sender; returns it."""
        if self._comparison is None or not 0 <= i < len(self._comparison):
            raise IndexError(f"apply_rewrite: no variant {i} (the lab has {len(self.variants)}; compare first)")
        rewrite = self._comparison["rewrite"].iloc[i]
        if rewrite is None:
            raise ValueError(f"variant V{i + 1} has nothing to rewrite: it is GSM-7 already or has no replacement")
        if self.sender is not None:
            self.sender.set_message(rewrite)
        self.variants_box.children[i].value = rewrite  # compares again
        where = " and in the sender" if self.sender is not None else ""
        self.status.value = note_html(f"V{i + 1}'s rewrite is now V{i + 1}{where}.", "#047857")
        return rewrite

    def compare(self) -> CopyComparison | None:
        """Price every non-empty variant on the audience; None (and the error shown) when that fails."""
        variants = [v for v in self.variants if v.strip()]
        self.error = None
        if not variants:
            self._show(None)
            self.status.value = note_html("Type a message variant to price it.")
            return None
        try:
            self._comparison = compare_copies(self.audience, variants, self._pricing(), phone=self.phone,
                                              default_region=self.default_region)
        except (SMSgicError, TemplateError, TypeError, ValueError) as exc:
            self.error = exc
            self.status.value = error_html(exc)
            self._show(None)
            return None
        self._show(self._comparison)
        basis = ("the API's quote, re-priced per variant" if self._comparison.attrs.get("basis") == "quote"
                 else "offline estimate from the rates table")
        self.status.value = note_html(f"{len(variants)} variant(s) on {len(self.audience):,} rows ({basis}).")
        return self._comparison

    # -- pricing and rendering -----------------------------------------------------------------

    def _pricing(self) -> Any:
        if self._rates is not None:
            return self._rates
        if self._quote is None:
            if self.client is None:
                raise TypeError("CopyLab needs rates= (a rates table), quote= or client= to price the variants")
            self._quote = self.client.calculate(PRICE_TEXT, self.audience[self.phone], progress=False,
                                                on_invalid="report", default_region=self.default_region)
        return self._quote

    def _show(self, comparison: CopyComparison | None) -> None:
        if comparison is None:
            self.table_view.value, self.details.children, self._figure = "", (), None
            show_figure(self.chart, None)
            return
        cur = comparison.attrs.get("currency")
        shown = pd.DataFrame(comparison)[SHOWN].assign(
            variant=[_label(i, v) for i, v in enumerate(comparison["variant"])])
        self.table_view.value = frame_html(shown, currency=cur)
        self._figure = charts.copy_costs(comparison, cur)
        show_figure(self.chart, self._figure)
        self.details.children = tuple(self._detail(i, row, cur) for i, row in enumerate(comparison.to_dict("records")))

    def _detail(self, i: int, row: dict[str, Any], currency: str | None) -> w.Widget:
        variant = row["variant"]
        head = (f"<b>{html.escape(_label(i, variant))}</b> · {row['encoding']} · {row['segments_max']} part(s) at most"
                f" · {row['sms']:,} SMS · {html.escape(format_money(row['cost'], currency))}"
                + (" · <b>cheapest</b>" if row["cheapest"] else ""))
        parts = [head, f"<div>{marked_html(variant)}</div>"]
        longest = self._longest_text(variant)
        if longest is not None:
            parts.append(f"<div><i>Longest personalised text (row {html.escape(str(longest[0]))}):</i> "
                         f"{marked_html(longest[1])}</div>")
        if row["ucs2_chars"]:
            parts.append(f"<div>Forces UCS-2: {html.escape(row['ucs2_chars'])}</div>")
        if row["rewrite"] is not None:
            parts.append(f"<div>Smart-encoded: {marked_html(row['rewrite'])} — {row['rewrite_sms']:,} SMS, "
                         f"{html.escape(format_money(row['rewrite_cost'], currency))}; <b>saves "
                         f"{html.escape(format_money(row['rewrite_saves'], currency))}</b> on this audience</div>")
        text = tag(w.HTML("".join(parts)), NAME, "detail")
        apply = tag(w.Button(description="Apply rewrite", icon="magic", disabled=row["rewrite"] is None,
                             tooltip=("Put the smart-encoded text in this variant"
                                      + (" and in the sender" if self.sender is not None else "")),
                             layout=w.Layout(width="auto")), NAME, "apply")
        apply.on_click(lambda _, i=i: self.apply_rewrite(i))
        return w.VBox([text, apply], layout=w.Layout(border="1px solid #d1d5db", padding="4px", margin="4px 0"))

    def _longest_text(self, variant: str) -> tuple[Any, str] | None:
        """(row label, text) of the filled template with the most characters, for a template."""
        if not placeholders(variant):
            return None
        texts = fill_template(variant, self.audience)
        if not len(texts):
            return None
        label = texts.str.len().idxmax()
        return label, texts[label]
